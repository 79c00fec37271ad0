//! `GET /v1/health`, and the `breakers` of `GET /v1/stats`: every configured target's breaker,
//! the shared one its `TargetHealth` Durable Object stores merged into this isolate's view
//! (the rule: [`crate::core::state::health::shared_wins`]). The objects are read in one
//! [`Action::Health`]; when the namespace is not bound or an object does not answer, the
//! entry is this isolate's view alone, never an error.
//!
//! Invariant: the entries are the targets of the config's `models`, in order, as before the
//! read (README, "Routing and resilience").

use crate::core::config::Config;
use crate::core::front::stats::StatsNext;
use crate::core::pipeline::protocol::{Action, Reply};
use crate::core::state::health::{stored_breakers, HealthView};
use crate::json;

/// What the answer needs once the objects have been read.
#[derive(Debug)]
pub struct HealthRead {
    /// The request's id.
    pub request_id: String,
    /// The targets read, in the order of the entries.
    pub targets: Vec<String>,
    /// For `/v1/stats`: its continuation and the tenant object's action, sent once the
    /// breakers are in; `None` for `/v1/health`.
    pub stats: Option<(StatsNext, Action)>,
}

/// Start: read the stored breakers of every configured target.
pub fn start(config: &Config, request_id: &str, stats: Option<(StatsNext, Action)>) -> (HealthRead, Action) {
    let targets: Vec<String> = config.models.iter().map(|m| format!("{}/{}", m.provider, m.model)).collect();
    let action = Action::Health { targets: targets.clone() };
    (HealthRead { request_id: request_id.to_string(), targets, stats }, action)
}

/// The entries, given the driver's answer (`None`: no objects to read): `/v1/health`'s
/// reply, or `/v1/stats`'s continuation with its breakers filled in and its next action.
pub fn answer(read: HealthRead, view: &HealthView, answer: Option<&str>, now_ms: u64) -> (Option<StatsNext>, Action) {
    let stored = stored_breakers(answer, &read.targets);
    let entries: serde_json::Value = read.targets.iter().zip(&stored).map(|(t, s)| view.report(t, s.as_ref(), now_ms)).collect();
    match read.stats {
        Some((mut next, action)) => {
            next.breakers = entries;
            (Some(next), action)
        }
        None => {
            let scope = if answer.is_some() { "shared" } else { "isolate" };
            let body = json!({"object": "list", "scope": scope, "data": entries});
            (None, Action::Respond(Reply::json(&read.request_id, &body)))
        }
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
