//! The gateway's one JSON config document: providers, models, client keys, limits.
//!
//! Parsed with `deny_unknown_fields`, then validated as a whole: [`Config::parse`] returns
//! every problem with its JSON path, never just the first. Provider API keys are never in the
//! config: a provider names the Worker secret that holds its key.
//! Prices are given in USD per million tokens and held as integer micro-USD per million.
//!
//! This layer holds only the schema and its validation; what the gateway does with a
//! setting (planning a route, applying limits, running a breaker) lives in the layers
//! above. The schema types live in one file per section and are all re-exported here.

use crate::core::util::vecmap::VecMap;

mod cache;
mod capabilities;
mod context;
mod gates;
mod health;
mod jobs;
mod judge;
mod keys;
mod limits;
mod model;
mod provider;
mod routes;
mod sessions;
mod validate;

pub use cache::{CacheConfig, RoutePolicy, SimilarConfig};
pub use capabilities::{render, Capability, CAP_PREFIX};
pub use context::{ContextConfig, Fit};
pub use gates::{Gates, Strategy, DEFAULT_SCRIPT_SHARE};
pub use health::{BreakerConfig, HealthChecks};
pub use jobs::{authority, JobsConfig};
pub use judge::{Judge, OnError};
pub use keys::{ClientKey, TenantConfig, TokensConfig};
pub use limits::{usd_to_nano, BodyLimits, Limits, DEFAULT_MAX_BODY_BYTES};
pub use model::{Capabilities, Model, Prices, PricesUsd, Quota};
pub use provider::{Provider, ProviderKind, Quirks};
pub use routes::{PoolMember, RetryPolicy, RouteConfig, StepConfig};
pub use sessions::{SessionsConfig, MAX_ITEM_BYTES};

/// The embedded default config: the mock provider and a development key.
pub const DEFAULT_CONFIG: &str = include_str!("../../config.default.json");

/// The whole config document. Every field is optional (absent: its default) and unknown
/// fields are errors; a value from [`Config::parse`] has passed validation, so every name one
/// section gives another (a model's provider, a route's or a key's models) resolves.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Upstreams by provider id (the key under `providers`, which `models[].provider` names).
    pub providers: VecMap<String, Provider>,
    /// The public models, each served by one provider.
    pub models: Vec<Model>,
    /// Client keys from the config, each stored as the SHA-256 of its value.
    pub keys: Vec<ClientKey>,
    /// Caps on every request.
    pub limits: BodyLimits,
    /// Browser tokens; absent: minting is off.
    pub tokens: Option<TokensConfig>,
    /// Fallback chains under public names of their own.
    pub routes: Vec<RouteConfig>,
    /// How a plain model (a public model name, not a route) is retried.
    pub retry: RetryPolicy,
    /// Circuit breaker settings for every target.
    pub breaker: BreakerConfig,
    /// Models to probe on the Cron Trigger (opt-in: probes spend a few tokens).
    pub health_checks: Option<HealthChecks>,
    /// Limits and budgets per tenant, by tenant id.
    pub tenants: VecMap<String, TenantConfig>,
    /// Response cache defaults (routes may override).
    pub cache: CacheConfig,
    /// Stored conversations (`x-switchyard-session`): idle lifetime and size limits.
    pub sessions: SessionsConfig,
    /// Queued jobs (`POST /v1/jobs`): concurrency per model, attempts, leases.
    pub jobs: JobsConfig,
    /// Named capabilities, by name (README, "Capabilities"); each is also a hidden cascade
    /// route `cap:NAME` in `routes`, added by validation.
    pub capabilities: VecMap<String, Capability>,
    /// Public name or alias → index into `models`.
    index: VecMap<String, usize>,
}

crate::de_struct!(
    Config,
    default,
    deny { providers, models, keys, limits, tokens, routes, retry, breaker, health_checks, tenants, cache, sessions, jobs, capabilities }
);

/// One problem found in a config, with the JSON path where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the problem is, as a JSON path (`models[1].prices.input`); `$` for the whole document.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Config {
    /// Parse and validate; on failure, every problem found.
    pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
        let mut cfg: Config =
            serde_json::from_slice(text.as_bytes()).map_err(|e| vec![Problem { path: "$".into(), message: e.to_string() }])?;
        let problems = cfg.validate();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(problems)
        }
    }

    /// The route with this public name.
    pub fn route(&self, name: &str) -> Option<&RouteConfig> {
        self.routes.iter().find(|r| r.name == name)
    }

    /// The capability a public name `cap:NAME` names.
    pub fn capability(&self, name: &str) -> Option<&Capability> {
        self.capabilities.get(name.strip_prefix(CAP_PREFIX)?)
    }

    /// The semaphores a job naming `model` (a public model name, alias, route or `cap:NAME`)
    /// must hold while it runs, each with its limit, in the order they are taken:
    /// `model:NAME`, then `provider:P` when `jobs.provider_concurrency` lists the provider of
    /// the first target `model` resolves to (a route's first step; a pool's first member
    /// with a weight). A name that resolves to no model has only its model slot.
    pub fn job_slots(&self, model: &str) -> Vec<(String, u32)> {
        let jobs = &self.jobs;
        let mut slots = vec![(format!("model:{model}"), jobs.limit(model))];
        let first = self.route(model).and_then(|r| r.first_model()).unwrap_or(model);
        let provider = self.model(first).map(|m| m.provider.as_str());
        if let Some((p, &n)) = provider.and_then(|p| Some((p, jobs.provider_concurrency.get(p)?))) {
            slots.push((format!("provider:{p}"), n));
        }
        slots
    }

    /// The model entry for a public name or alias.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.index.get(name).map(|&i| &self.models[i])
    }

    /// Names of the Worker secrets the config refers to.
    pub fn secret_names(&self) -> Vec<String> {
        // Sorted and each once, kept so by inserting in place (a sort would add a sort's code).
        let mut names: Vec<String> = Vec::new();
        let all = self.providers.values().filter_map(|p| p.api_key_secret.as_ref()).chain(self.tokens.as_ref().map(|t| &t.secret));
        for name in all {
            if let Err(i) = names.binary_search(name) {
                names.insert(i, name.clone());
            }
        }
        names
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
