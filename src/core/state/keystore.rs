//! Gateway keys managed at runtime, stored in Workers KV (binding `KEYS`) only as SHA-256
//! hashes: KV key `key:<sha256 hex>`, value and metadata both the [`KeyRecord`] as JSON (the
//! metadata lets one `list` return every record).
//!
//! Lookups happen only for credentials that are neither a config key nor a token, and are
//! read with KV's edge cache (`cacheTtl` [`LOOKUP_CACHE_TTL_S`]): a revoked key stops working
//! within that TTL plus KV's propagation delay (about a minute), so within about two minutes.
//!
//! The core cannot wait, so a KV step is an `Action::Kv` from the pipeline plus a pending
//! continuation (the admin API's `Pending`) that the edge hands back with the result.

use crate::core::config::Limits;
use serde::Serialize;

/// Prefix of every runtime key's KV key; listing it lists every runtime key.
pub const KEY_PREFIX: &str = "key:";
/// KV edge-cache TTL for key lookups, in seconds (KV's minimum): how stale a lookup may be.
pub const LOOKUP_CACHE_TTL_S: u32 = 60;

/// One KV operation for the edge to perform on the `KEYS` namespace.
#[derive(Debug, Clone, PartialEq)]
pub enum KvOp {
    /// Result: the value, or nothing.
    Get {
        /// The KV key, `key:<sha256 hex>`.
        key: String,
        /// KV's `cacheTtl` for the read, in seconds: how long an edge may reuse it.
        cache_ttl_s: u32,
    },
    /// Result: nothing.
    Put {
        /// The KV key, `key:<sha256 hex>`.
        key: String,
        /// The [`KeyRecord`] as JSON.
        value: String,
        /// The same JSON, stored as KV metadata so `list` returns it.
        metadata: String,
    },
    /// Result: nothing.
    Delete {
        /// The KV key, `key:<sha256 hex>`.
        key: String,
    },
    /// Result: a JSON array of `{"name", "metadata"}` for every key with the prefix.
    List {
        /// The key prefix to list ([`KEY_PREFIX`]).
        prefix: String,
    },
}

/// A runtime-managed key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRecord {
    /// A label for the key, as it appears in the ledger and analytics (like config `keys[].name`).
    pub name: String,
    /// The tenant the key spends for.
    pub tenant: String,
    /// Public model names the key may use; absent means all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Browser origins the key may be used from, or `["*"]`; absent: server-side only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
    /// Unix seconds.
    pub created: u64,
    /// The key's rate limits and budgets (omitted from the JSON when none).
    #[serde(skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
}

crate::de_struct!(KeyRecord, required, skip { name, tenant, models: default, origins: default, created, limits: default });

/// The KV key of the runtime key whose SHA-256 hex is `hash`: `key:<hash>`.
pub fn kv_key(hash: &str) -> String {
    format!("{KEY_PREFIX}{hash}")
}
