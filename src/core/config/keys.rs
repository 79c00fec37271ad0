//! Who may call: client keys (`keys[]`), the tenants they spend for (`tenants`), and
//! browser tokens minted from them (`tokens`).
//!
//! A key is stored only as the SHA-256 of its value; a signing key is only named, as a
//! Worker secret.

use super::limits::Limits;

/// A client key (`keys[]`), known only by its hash.
#[derive(Debug, Clone)]
pub struct ClientKey {
    /// A name for the key, as it appears in the ledger and analytics.
    pub name: String,
    /// SHA-256 of the key's value, as 64 lowercase hex digits; the key itself is never stored.
    pub sha256: String,
    /// The tenant the key spends for (default `default`).
    pub tenant: String,
    /// Public model names this key may use; absent means all.
    pub models: Option<Vec<String>>,
    /// Browser origins this key (and tokens minted with it) may be used from, or `["*"]`.
    /// Absent: a server-side key; a request that carries an `Origin` is refused.
    pub origins: Option<Vec<String>>,
    /// Rate limits and budgets of this key (and of the tokens minted with it).
    pub limits: Limits,
}

/// Limits and budgets shared by every key of a tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantConfig {
    /// The tenant's rate limits and budgets.
    pub limits: Limits,
    /// Where the tenant's background responses send OpenAI's `response.*` webhook events
    /// when they end (README, "Background responses"); a host of `jobs.webhook_hosts`.
    pub response_events_url: Option<String>,
}

/// Browser tokens (`POST /v1/tokens`).
#[derive(Debug, Clone)]
pub struct TokensConfig {
    /// Name of the Worker secret holding the signing key.
    pub secret: String,
    /// Longest lifetime a token may be minted with, in seconds (default 900).
    pub max_ttl_seconds: u64,
}

fn default_max_ttl() -> u64 {
    900
}

fn default_tenant() -> String {
    "default".into()
}

crate::de_struct!(
    ClientKey,
    required,
    deny { name, sha256, tenant: default(default_tenant()), models: default, origins: default, limits: default }
);

crate::de_struct!(TenantConfig, required, deny { limits: default, response_events_url: default });

crate::de_struct!(TokensConfig, required, deny { secret, max_ttl_seconds: default(default_max_ttl()) });
