//! Routes: a public name mapped to an ordered fallback chain of targets, where any step may
//! be a weighted pool, with a retry policy and a deadline. A plain model is a route of one
//! target, retried by the config's top-level `retry` policy (the same schema and defaults).
//! This is the schema; planning one request's chain from it is the pipeline's work.
//!
//! ```json
//! "routes": [{
//!   "name": "smart",
//!   "steps": [ {"model": "gpt-4o", "max_retries": 1},
//!              {"pool": [{"model": "claude-sonnet", "weight": 3}, {"model": "gemini-pro", "weight": 1}]},
//!              {"model": "mock"} ],
//!   "retry": {"max_retries": 2, "base_ms": 250, "max_backoff_ms": 8000},
//!   "deadline_ms": 60000
//! }]
//! ```

use super::cache::CacheConfig;
use super::context::ContextConfig;
use super::gates::{Gates, Strategy};

/// How a route (or, at the config's top level, a plain model) retries a target, and backs off
/// between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries on the same target after a retryable failure (then the next target).
    pub max_retries: u32,
    /// First backoff ceiling; doubles per retry (full jitter: a uniform draw below it).
    pub base_ms: u32,
    /// The highest a backoff ceiling grows.
    pub max_backoff_ms: u32,
}

crate::de_struct!(
    RetryPolicy,
    required,
    deny { max_retries: default(default_retries()), base_ms: default(default_base()), max_backoff_ms: default(default_max_backoff()) }
);

fn default_retries() -> u32 {
    2
}
fn default_base() -> u32 {
    250
}
fn default_max_backoff() -> u32 {
    8_000
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: default_retries(), base_ms: default_base(), max_backoff_ms: default_max_backoff() }
    }
}

impl RetryPolicy {
    /// What is wrong with the policy, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        (self.max_retries > 10 || self.base_ms > self.max_backoff_ms || self.max_backoff_ms > 600_000)
            .then_some("max_retries must be at most 10, and base_ms at most max_backoff_ms, itself at most 600000")
    }
}

/// One model of a weighted pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolMember {
    /// A public model name.
    pub model: String,
    /// Its share of the pool's first picks (default 1).
    pub weight: u32,
}

crate::de_struct!(PoolMember, required, deny { model, weight: default(one()) });

fn one() -> u32 {
    1
}

/// One step of a route's chain: a model with its overrides, or a weighted pool.
#[derive(Debug, Clone, PartialEq)]
pub enum StepConfig {
    /// One model; `max_retries` overrides the route's, `timeout_ms` the provider's.
    Model {
        /// A public model name or alias (validated against `models`; not another route).
        model: String,
        /// Retries on this target, in place of the route's `retry.max_retries` (absent: the
        /// route's).
        max_retries: Option<u32>,
        /// Bound on one upstream call to this target, in milliseconds, in place of the
        /// provider's `timeout_ms` (absent: the provider's).
        timeout_ms: Option<u32>,
        /// On a cascade route, whether this rung's answer is checked by the route's gates
        /// (default `true`; `false`: a trusted rung whose answer is returned as it is).
        gates: bool,
    },
    /// A pool, tried in a weighted random order: its first pick takes the load and the
    /// others stand in for it.
    Pool {
        /// The members, each a public model name with a weight; validation requires at least
        /// one member with weight > 0.
        pool: Vec<PoolMember>,
    },
}

/// A step as written: either `model` (with its overrides) or `pool`. Read flat and then
/// checked, rather than as an untagged enum, which would buffer every step and carry a second
/// deserializer.
struct RawStep {
    model: Option<String>,
    max_retries: Option<u32>,
    timeout_ms: Option<u32>,
    gates: Option<bool>,
    pool: Option<Vec<PoolMember>>,
}

crate::de_struct!(RawStep, required, deny { model: default, max_retries: default, timeout_ms: default, gates: default, pool: default });

impl<'de> serde::Deserialize<'de> for StepConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawStep::deserialize(d)?.try_into().map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawStep> for StepConfig {
    type Error = &'static str;
    fn try_from(r: RawStep) -> Result<Self, Self::Error> {
        match (r.model, r.pool) {
            (Some(model), None) => {
                Ok(StepConfig::Model { model, max_retries: r.max_retries, timeout_ms: r.timeout_ms, gates: r.gates.unwrap_or(true) })
            }
            (None, Some(pool)) if r.max_retries.is_none() && r.timeout_ms.is_none() && r.gates.is_none() => Ok(StepConfig::Pool { pool }),
            _ => Err("a step is either {\"model\", \"max_retries\"?, \"timeout_ms\"?, \"gates\"?} or {\"pool\"}"),
        }
    }
}

/// A route as written in config (`routes[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteConfig {
    /// The route's public name, distinct from every model name and alias.
    pub name: String,
    /// The chain, tried in order.
    pub steps: Vec<StepConfig>,
    /// How each target is retried (a step may override `max_retries`).
    pub retry: RetryPolicy,
    /// The whole request's budget (default 120 s): no retry or fallback starts past it.
    pub deadline_ms: u32,
    /// Response cache settings for this route (default: the config's `cache`).
    pub cache: Option<CacheConfig>,
    /// Context fitting for conversations longer than the targets' windows (default: none;
    /// an over-long request goes upstream as it is).
    pub context: Option<ContextConfig>,
    /// How the steps are used: `fallback` (default) or `cascade` (README, "Cascade").
    pub strategy: Strategy,
    /// A cascade route's quality gates, checked on every rung's answer.
    pub gates: Option<Gates>,
    /// A `cheapest_capable` route's price cap: candidates whose input plus output price (USD
    /// per million tokens) is above it are left out.
    pub max_price: Option<f64>,
    /// A cascade route's floor: a rung whose recorded gate pass rate is below it, over at
    /// least `min_samples` checked answers, is skipped (the last rung never is).
    pub min_pass_rate: Option<f64>,
    /// The checked answers a rung needs before `min_pass_rate` applies to it (default 10).
    pub min_samples: u32,
}

crate::de_struct!(
    RouteConfig,
    required,
    deny {
        name,
        steps,
        retry: default,
        deadline_ms: default(default_deadline()),
        cache: default,
        context: default,
        strategy: default,
        gates: default,
        max_price: default,
        min_pass_rate: default,
        min_samples: default(10)
    }
);

fn default_deadline() -> u32 {
    120_000
}

impl RouteConfig {
    /// Whether step `i`'s answers are checked by a cascade's gates (a step without
    /// `"gates": false`).
    pub fn checked(&self, i: usize) -> bool {
        !matches!(self.steps.get(i), Some(StepConfig::Model { gates: false, .. }))
    }

    /// The model the route tries first when nothing is skipped: its first step's model, or
    /// for a pool its first member with a weight (the draw may pick another).
    pub fn first_model(&self) -> Option<&str> {
        match self.steps.first()? {
            StepConfig::Model { model, .. } => Some(model),
            StepConfig::Pool { pool } => pool.iter().find(|m| m.weight > 0).map(|m| m.model.as_str()),
        }
    }

    /// Every model a route names, with its JSON path, for validation.
    pub fn models(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                StepConfig::Model { model, .. } => out.push((format!("steps[{i}].model"), model.as_str())),
                StepConfig::Pool { pool } => {
                    out.extend(pool.iter().enumerate().map(|(j, m)| (format!("steps[{i}].pool[{j}].model"), m.model.as_str())))
                }
            }
        }
        out
    }
}
