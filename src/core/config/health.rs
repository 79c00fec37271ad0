//! Target health settings: the circuit breaker every target gets (`breaker`) and the
//! scheduled probes (`health_checks`). The breaker itself is a state machine elsewhere; this
//! is only what the config says.

use serde::Serialize;

/// Breaker settings (config `breaker`; every field optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerConfig {
    /// The sliding window the failure rate is measured over, in milliseconds (default 60 s).
    pub window_ms: u64,
    /// The fewest calls in the window for the failure rate to open the breaker.
    pub min_calls: u32,
    /// The failure rate, in percent, that opens the breaker.
    pub failure_rate_pct: u32,
    /// Failures in a row that open the breaker, whatever the rate.
    pub consecutive_failures: u32,
    /// How long the breaker stays open before it admits probes, in milliseconds (default
    /// 30 s).
    pub cooldown_ms: u64,
    /// Probes admitted while half-open; as many successes close the breaker.
    pub probes: u32,
    /// A call at least this slow counts as a failure, in milliseconds (default 60 s).
    pub slow_call_ms: u64,
}

crate::de_struct!(
    BreakerConfig,
    default,
    deny { window_ms, min_calls, failure_rate_pct, consecutive_failures, cooldown_ms, probes, slow_call_ms }
);

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window_ms: 60_000,
            min_calls: 10,
            failure_rate_pct: 50,
            consecutive_failures: 5,
            cooldown_ms: 30_000,
            probes: 2,
            slow_call_ms: 60_000,
        }
    }
}

impl BreakerConfig {
    /// What is wrong with these settings, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        let b = self;
        (b.probes == 0 || b.consecutive_failures == 0 || b.failure_rate_pct == 0 || b.failure_rate_pct > 100 || b.min_calls == 0)
            .then_some("probes, consecutive_failures and min_calls must be at least 1, failure_rate_pct 1..100")
    }
}

/// Scheduled health probes.
#[derive(Debug, Clone)]
pub struct HealthChecks {
    /// Public model names whose targets are probed with a one-token request.
    pub models: Vec<String>,
}

crate::de_struct!(HealthChecks, required, deny { models });
