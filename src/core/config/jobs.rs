//! Queued jobs (config `jobs`; README, "Jobs"): how many of one model's jobs may call
//! upstream at once, how often a job is tried, and how long a claim holds. The job store is
//! [`crate::core::state::job`]; this is only what the config says.
//!
//! [`super::Config::job_slots`] names the semaphores a job holds while it runs: its model's, then its
//! provider's when `provider_concurrency` lists it. The provider is the one of the first target
//! the model resolves to (a route's or capability's first step), so a job that falls back to
//! another provider mid-run still holds the first one's slot: an approximation, stated in
//! README ("Jobs").

use crate::core::util::vecmap::VecMap;

/// Queued job settings (every field optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// The most jobs naming a model (by the body's `model`) that run at once, by model name.
    pub concurrency: VecMap<String, u32>,
    /// The same for a model not listed (1..1000, default 4).
    pub default_concurrency: u32,
    /// The most jobs served by a provider that run at once, by provider name (1..1000); a
    /// provider not listed has no limit of its own. A job counts against the provider of the
    /// first target its model resolves to ([`super::Config::job_slots`]).
    pub provider_concurrency: VecMap<String, u32>,
    /// A job claimed this many times without an answer fails (1..100, default 5).
    pub max_attempts: u32,
    /// How long a claim (and its concurrency slot) holds before another delivery may take the
    /// job over (10..3600 s, default 300): longer than the slowest request.
    pub lease_seconds: u32,
    /// A queued job whose message has not been taken within this many seconds is sent again
    /// (1..3600, default 60).
    pub redeliver_seconds: u32,
    /// The hosts (`host`, or `host:port` for a URL naming a port) a job's webhook may go to.
    pub webhook_hosts: Vec<String>,
    /// The Worker secret holding the Standard Webhooks key (`whsec_` + base64) that signs
    /// webhooks; absent: a job cannot ask for one.
    pub webhook_secret: Option<String>,
    /// How long a finished job's object is kept, so `GET /v1/jobs/{id}` still answers, before
    /// its alarm deletes it (1..365 days, default 7).
    pub retention_days: u32,
}

crate::de_struct!(
    JobsConfig,
    default,
    deny {
        concurrency,
        default_concurrency,
        provider_concurrency,
        max_attempts,
        lease_seconds,
        redeliver_seconds,
        webhook_hosts,
        webhook_secret,
        retention_days
    }
);

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            concurrency: VecMap::new(),
            default_concurrency: 4,
            provider_concurrency: VecMap::new(),
            max_attempts: 5,
            lease_seconds: 300,
            redeliver_seconds: 60,
            webhook_hosts: Vec::new(),
            webhook_secret: None,
            retention_days: 7,
        }
    }
}

/// The URL's authority (`host` or `host:port`, lowercased) when it is `http(s)://` with
/// neither user info nor an empty host.
pub fn authority(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    (!auth.is_empty() && !auth.contains(['@', ' ', '\\'])).then(|| auth.to_ascii_lowercase())
}

impl JobsConfig {
    /// Whether a webhook may go to `authority` (see [`authority`]): it is in `webhook_hosts`.
    pub fn allows(&self, authority: &str) -> bool {
        self.webhook_hosts.iter().any(|h| h.eq_ignore_ascii_case(authority))
    }

    /// The concurrency limit of jobs naming `model`.
    pub fn limit(&self, model: &str) -> u32 {
        self.concurrency.get(model).copied().unwrap_or(self.default_concurrency)
    }

    /// What is wrong with these settings, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        let bad = |n: u32, lo, hi| !(lo..=hi).contains(&n);
        (bad(self.default_concurrency, 1, 1000)
            || self.concurrency.values().chain(self.provider_concurrency.values()).any(|&n| bad(n, 1, 1000))
            || bad(self.max_attempts, 1, 100)
            || bad(self.lease_seconds, 10, 3600)
            || bad(self.redeliver_seconds, 1, 3600)
            || bad(self.retention_days, 1, 365)
            || self.webhook_secret.as_ref().is_some_and(|s| s.is_empty()))
        .then_some("concurrency values must be 1..1000, max_attempts 1..100, lease_seconds 10..3600, redeliver_seconds 1..3600, retention_days 1..365, and webhook_secret must name a Worker secret")
    }
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
