//! The response cache's pure core: the key, the policy, the stored entry, its replay in the
//! caller's dialect, and helpers for similar-prompt lookup. The edge reads and writes KV; every
//! decision about what may be stored and what may be served is made here.
//!
//! Invariants:
//! - Never a wrong answer. The key covers every
//!   [`ChatRequest`](crate::core::types::ChatRequest) field that can change the answer. It is
//!   built by destructuring the canonical types exhaustively, so a new field is a compile
//!   error until it is decided here; fields left out say why. When in doubt a field is kept:
//!   a needless miss costs one upstream call, a false hit serves another prompt's answer.
//! - Keys are scoped by tenant (tenants never share entries), public model and resolved route
//!   (a changed route never serves the old route's answers).
//! - The key hashes a versioned canonical serialisation: compact JSON with object keys sorted
//!   at every depth (serde_json's map is ordered by key), so the caller's key order and
//!   whitespace do not matter. Every field is always present and strings are JSON-escaped, so two different
//!   requests never serialise alike. Sampling floats are compared as values (`0`, `0.0` and
//!   `-0.0` are one); numbers inside opaque JSON (schemas, pass-through fields) keep their text.
//! - Only complete answers are stored and replayed ([`storable`]): no refusal, no content
//!   filter, no truncation, no empty or unknown finish.
//! - An unreadable entry (another format version, a corrupt value) is a miss, never an error.
//!
//! Request `Cache-Control` directives follow RFC 9111 §5.2.1
//! (<https://www.rfc-editor.org/rfc/rfc9111#section-5.2.1>).
//!
//! Files: `key` (the key and the prefix hash), `policy` (whether to read and write),
//! `entry` (the stored answer and its JSON), `replay` (a hit sent in the caller's dialect),
//! `similar` (helpers for the similar-prompt lookup).

mod entry;
mod key;
mod policy;
mod replay;
mod similar;

pub use entry::{fresh, storable, Entry, Freshness};
pub use key::{cache_key, messages_hash, prefix_hash, route_fingerprint, KeyScope};
pub use policy::{decide, CacheControl, Decision, BYPASS, MIN_TTL_S, SWITCH_HEADER};
pub use replay::{replay, stream_events};
pub use similar::{cosine, last_user_text};

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
