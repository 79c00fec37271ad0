//! Gateway keys managed at runtime, stored in Workers KV (binding `KEYS`) only as SHA-256
//! hashes: KV key `key:<sha256 hex>`, value and metadata both the [`KeyRecord`] as JSON (the
//! metadata lets one `list` return every record).
//!
//! Lookups happen only for credentials that are neither a config key nor a token, and are
//! read with KV's edge cache (`cacheTtl` [`LOOKUP_CACHE_TTL_S`]): a revoked key stops working
//! within that TTL plus KV's propagation delay (about a minute), so within about two minutes.
//!
//! The core cannot wait, so a KV step is an [`Action::Kv`](crate::core::pipeline::exchange::Action)
//! plus a [`Pending`] continuation that the edge hands back with the result.

use crate::core::config::Limits;
use serde::{Deserialize, Serialize};

pub const KEY_PREFIX: &str = "key:";
pub const LOOKUP_CACHE_TTL_S: u32 = 60;

/// One KV operation for the edge to perform on the `KEYS` namespace.
#[derive(Debug, Clone, PartialEq)]
pub enum KvOp {
    /// Result: the value, or nothing.
    Get { key: String, cache_ttl_s: u32 },
    /// Result: nothing.
    Put { key: String, value: String, metadata: String },
    /// Result: nothing.
    Delete { key: String },
    /// Result: a JSON array of `{"name", "metadata"}` for every key with the prefix.
    List { prefix: String },
}

/// A runtime-managed key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub name: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
    /// Unix seconds.
    pub created: u64,
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
}

pub fn kv_key(hash: &str) -> String {
    format!("{KEY_PREFIX}{hash}")
}
