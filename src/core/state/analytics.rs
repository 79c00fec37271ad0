//! One Workers Analytics Engine data point per answered request: who, what, how it went,
//! what it cost. The schema is README's ("Analytics"); keep the two in step.
//!
//! Limits respected: one index of at most 96 bytes, at most 20 blobs and 20 doubles, blobs
//! together well under 16 KB (each is cut to 256 bytes).

use crate::core::types::Usage;
use serde::Serialize;

pub const MAX_INDEX_BYTES: usize = 96;
const MAX_BLOB_BYTES: usize = 256;

/// The shape `writeDataPoint` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataPoint {
    pub indexes: Vec<String>,
    pub blobs: Vec<String>,
    pub doubles: Vec<f64>,
}

/// Everything a data point records.
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    pub tenant: &'a str,
    pub key_name: &'a str,
    pub public_model: &'a str,
    pub provider: &'a str,
    pub upstream_model: &'a str,
    pub status: u16,
    pub error_code: &'a str,
    pub cache: &'a str,
    pub run: &'a str,
    pub dialect: &'a str,
    pub stream: bool,
    pub usage: Usage,
    pub cost_nano_usd: u64,
    pub latency_ms: u64,
    pub attempts: u32,
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

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
