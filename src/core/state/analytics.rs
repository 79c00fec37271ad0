//! One Workers Analytics Engine data point per answered request: who, what, how it went,
//! what it cost. The schema is README's ("Analytics"); keep the two in step.
//!
//! Limits respected: one index of at most 96 bytes, at most 20 blobs and 20 doubles, blobs
//! together well under 16 KB (each is cut to 256 bytes).

use crate::core::types::Usage;
use serde::Serialize;

/// Analytics Engine's limit on a data point's index, in bytes; the tenant id is cut to it (at
/// a UTF-8 character boundary).
pub const MAX_INDEX_BYTES: usize = 96;
const MAX_BLOB_BYTES: usize = 256;

/// The shape `writeDataPoint` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataPoint {
    /// The one index (sampling key): the tenant id, at most [`MAX_INDEX_BYTES`] bytes.
    pub indexes: Vec<String>,
    /// The ten string columns `blob1`…`blob10`, in the README's order, each at most 256 bytes.
    pub blobs: Vec<String>,
    /// The ten number columns `double1`…`double10`, in the README's order (cost in USD, the
    /// one place the core writes money as a float).
    pub doubles: Vec<f64>,
}

/// Everything a data point records.
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    /// The tenant the request spent for: the index.
    pub tenant: &'a str,
    /// The name of the key (or the key behind the token) that authenticated the request.
    pub key_name: &'a str,
    /// The model or route name the caller asked for.
    pub public_model: &'a str,
    /// The provider id of the target that answered last (config `providers.<id>`).
    pub provider: &'a str,
    /// The upstream model id of that target.
    pub upstream_model: &'a str,
    /// The HTTP status sent to the caller; written both as a class (`2xx`) and as a number.
    pub status: u16,
    /// The gateway error's stable code (e.g. `upstream_timeout`); empty on success.
    pub error_code: &'a str,
    /// The response cache's verdict, as in `x-switchyard-cache` (`HIT`, `MISS`, `STALE`,
    /// `SIMILAR`, `BYPASS`), or `none`.
    pub cache: &'a str,
    /// The caller's run tag (`x-switchyard-run`, up to 64 bytes); empty when none.
    pub run: &'a str,
    /// The caller's dialect: `openai`, `anthropic` or `completions` (legacy `/v1/completions`).
    pub dialect: &'a str,
    /// Whether the caller asked for a stream (written as `stream` or `once`).
    pub stream: bool,
    /// Tokens charged for the request (reported, or estimated and flagged so).
    pub usage: Usage,
    /// What the request cost, in nano-USD: the answer's price plus any embedding made for a
    /// similar-prompt lookup; nothing for an error reply or an exact cache hit.
    pub cost_nano_usd: u64,
    /// From the request's arrival to the data point, in milliseconds.
    pub latency_ms: u64,
    /// Upstream attempts made, retries and fallbacks included (0 when none was needed).
    pub attempts: u32,
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The data point for one request, in the column order the README documents; strings are
/// cut to the engine's limits.
pub fn data_point(r: &Record) -> DataPoint {
    let class = format!("{}xx", r.status / 100);
    let blobs = [
        r.key_name,
        r.public_model,
        r.provider,
        r.upstream_model,
        &class,
        r.error_code,
        r.cache,
        r.run,
        r.dialect,
        if r.stream { "stream" } else { "once" },
    ];
    let u = &r.usage;
    DataPoint {
        indexes: vec![cut(r.tenant, MAX_INDEX_BYTES)],
        blobs: blobs.iter().map(|b| cut(b, MAX_BLOB_BYTES)).collect(),
        doubles: vec![
            u.input_tokens as f64,
            u.output_tokens as f64,
            u.cached_input_tokens as f64,
            r.cost_nano_usd as f64 / 1e9,
            r.latency_ms as f64,
            r.attempts as f64,
            r.status as f64,
            if u.estimated { 1.0 } else { 0.0 },
            u.reasoning_tokens as f64,
            u.cache_write_tokens as f64,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_fields_to_their_documented_places_within_limits() {
        let tenant = "t".repeat(200);
        let r = Record {
            tenant: &tenant,
            key_name: "web",
            public_model: "smart",
            provider: "anthropic",
            upstream_model: "claude",
            status: 200,
            cache: "MISS",
            run: "nightly",
            dialect: "openai",
            stream: true,
            usage: Usage { input_tokens: 10, output_tokens: 5, cached_input_tokens: 2, estimated: true, ..Default::default() },
            cost_nano_usd: 1_500_000,
            latency_ms: 321,
            attempts: 2,
            ..Default::default()
        };
        let p = data_point(&r);
        assert_eq!(p.indexes, vec!["t".repeat(96)]);
        assert_eq!(p.blobs, ["web", "smart", "anthropic", "claude", "2xx", "", "MISS", "nightly", "openai", "stream"]);
        assert_eq!(p.doubles, [10.0, 5.0, 2.0, 0.0015, 321.0, 2.0, 200.0, 1.0, 0.0, 0.0]);
        assert!(p.blobs.len() <= 20 && p.doubles.len() <= 20);
        assert_eq!(cut("é".repeat(200).as_str(), 255).len(), 254, "cuts at a character boundary");
    }
}
