//! Route planning: one request's chain of targets from a route's config
//! ([`crate::core::config::RouteConfig`]), with its weighted pools drawn from a seed.

use crate::core::config::{PoolMember, RouteConfig, StepConfig};

/// One target of a planned chain: a model name with its overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTarget {
    /// A configured model's public name or alias, as the route names it (not the upstream's
    /// id).
    pub model: String,
    /// Retries at this target after its first attempt: the step's own, else the route's
    /// `retry.max_retries` (a pool member always takes the route's).
    pub max_retries: u32,
    /// The step's upstream timeout override in milliseconds; `None`: the provider's.
    pub timeout_ms: Option<u32>,
}

/// A deterministic stream of pseudo-random numbers from a seed (splitmix64).
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Planning a request's chain from a route.
pub trait Plan {
    /// The chain for one request: pools become all their members in a weighted random order
    /// (the pick first, the others as its fallbacks), so a pool spreads load and still
    /// falls back within itself.
    fn plan(&self, seed: u64) -> Vec<PlannedTarget>;
}

impl Plan for RouteConfig {
    fn plan(&self, seed: u64) -> Vec<PlannedTarget> {
        let mut state = seed;
        let mut out = Vec::new();
        for step in &self.steps {
            match step {
                StepConfig::Model { model, max_retries, timeout_ms, .. } => out.push(PlannedTarget {
                    model: model.clone(),
                    max_retries: max_retries.unwrap_or(self.retry.max_retries),
                    timeout_ms: *timeout_ms,
                }),
                StepConfig::Pool { pool } => {
                    let mut left: Vec<&PoolMember> = pool.iter().filter(|m| m.weight > 0).collect();
                    while !left.is_empty() {
                        let total: u64 = left.iter().map(|m| m.weight as u64).sum();
                        let mut pick = splitmix(&mut state) % total;
                        let i = left.iter().position(|m| {
                            let hit = pick < m.weight as u64;
                            pick = pick.saturating_sub(m.weight as u64);
                            hit
                        });
                        let m = left.remove(i.unwrap_or(0));
                        out.push(PlannedTarget { model: m.model.clone(), max_retries: self.retry.max_retries, timeout_ms: None });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{Config, RetryPolicy};
    use proptest::prelude::*;

    fn route(json: &str) -> RouteConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn plans_chains_with_overrides() {
        let r = route(r#"{"name":"r","steps":[{"model":"a","max_retries":0,"timeout_ms":500},{"model":"b"}],"retry":{"max_retries":3}}"#);
        let p = r.plan(1);
        assert_eq!(p[0], PlannedTarget { model: "a".into(), max_retries: 0, timeout_ms: Some(500) });
        assert_eq!(p[1].max_retries, 3);
    }

    #[test]
    fn pools_follow_their_weights() {
        let r = route(r#"{"name":"r","steps":[{"pool":[{"model":"a","weight":3},{"model":"b","weight":1}]},{"model":"z"}]}"#);
        let firsts = (0..4000u64).filter(|s| r.plan(s.wrapping_mul(7919)).first().unwrap().model == "a").count();
        assert!((2700..3300).contains(&firsts), "{firsts} of 4000 should be near 3000");
        let p = r.plan(5);
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].model, "z");
    }

    #[test]
    fn a_validated_route_plans_every_step() {
        let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x"}]"#;
        let ok = Config::parse(&format!(
            r#"{{{base},"routes":[{{"name":"r","steps":[{{"model":"a"}},{{"pool":[{{"model":"a","weight":2}}]}}]}}]}}"#
        ))
        .unwrap();
        assert_eq!(ok.route("r").unwrap().plan(0).len(), 2);
    }

    proptest! {
        #[test]
        fn a_pool_plans_each_member_once(seed in any::<u64>(), weights in prop::collection::vec(1u32..10, 1..6)) {
            let pool: Vec<PoolMember> = weights.iter().enumerate().map(|(i, w)| PoolMember { model: format!("m{i}"), weight: *w }).collect();
            let r = RouteConfig { name: "r".into(), steps: vec![StepConfig::Pool { pool }], retry: RetryPolicy::default(), cache: None, context: None, deadline_ms: 1000, strategy: Default::default(), gates: None, max_price: None, min_pass_rate: None, min_samples: 10 };
            let mut names: Vec<String> = r.plan(seed).into_iter().map(|t| t.model).collect();
            names.sort();
            let mut want: Vec<String> = (0..weights.len()).map(|i| format!("m{i}")).collect();
            want.sort();
            prop_assert_eq!(names, want);
        }
    }
}
