//! Limits as written in config: per-subject rate limits and budgets (`keys[].limits`,
//! `tenants.<id>.limits`, and the same shape in runtime key records and browser tokens), and
//! the gateway-wide cap on request bodies (`limits`).
//!
//! Money is written in USD and held as integer nano-USD once checked ([`usd_to_nano`]).

use serde::Serialize;

/// The largest request body accepted when the config does not say.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Limits as written in config, runtime key records and tokens (money in USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    /// Requests admitted per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Input plus output tokens; a request counts its estimate (input estimate plus its
    /// output cap) at admission and is corrected to its real usage when it settles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// Requests in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent_requests: Option<u32>,
    /// Spend cap in USD per UTC day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_usd: Option<f64>,
    /// Spend cap in USD per UTC calendar month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_usd: Option<f64>,
    /// Spend cap in USD over the subject's whole life (meant for short-lived browser tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_usd: Option<f64>,
}

crate::de_struct!(
    Limits,
    required,
    deny {
        requests_per_minute: default,
        tokens_per_minute: default,
        concurrent_requests: default,
        daily_usd: default,
        monthly_usd: default,
        total_usd: default,
    }
);

impl Limits {
    /// Whether no limit at all is set.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// What is wrong with these limits, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        let rates = [self.requests_per_minute.map(u64::from), self.tokens_per_minute, self.concurrent_requests.map(u64::from)];
        if rates.iter().flatten().any(|&v| v == 0 || v > 1_000_000_000) {
            return Some("requests_per_minute, tokens_per_minute and concurrent_requests must be 1..1000000000");
        }
        if [self.daily_usd, self.monthly_usd, self.total_usd].iter().flatten().any(|&v| usd_to_nano(v).is_none()) {
            return Some("daily_usd, monthly_usd and total_usd must be between 0 and 1000000000");
        }
        None
    }
}

/// USD to nano-USD, for amounts from 0 to a billion dollars; `None` outside that range.
pub fn usd_to_nano(usd: f64) -> Option<u64> {
    (0.0..=1e9).contains(&usd).then(|| (usd * 1e9).round() as u64)
}

/// Caps on every request, whoever sends it (config `limits`).
#[derive(Debug, Clone)]
pub struct BodyLimits {
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

crate::de_struct!(BodyLimits, required, deny { max_body_bytes: default(default_max_body()) });

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits { max_body_bytes: DEFAULT_MAX_BODY_BYTES }
    }
}
