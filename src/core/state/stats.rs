//! Recent traffic of one tenant, for `GET /v1/stats` and the dashboard: bounded buckets in the
//! tenant's Durable Object (SQLite, next to the ledger), written with each settlement batch.
//!
//! The table `stats` holds one row per (scale, bucket, dimension, name):
//! - scale 0: minutes (the bucket is the Unix minute), the last [`MINUTES`] kept; scale 1:
//!   hours (the Unix hour), the last [`HOURS`] kept; scale 2: gauges (the jobs queue's depth,
//!   in `requests` of the row named `queue`).
//! - dim 0: the bucket's total (name `''`); dim 1: per public model or route name; dim 2: per
//!   key name. At most [`TOP_N`] names per dimension and bucket: the names that come later go
//!   to [`OTHER`], so a bucket holds at most `1 + 2 × (TOP_N + 1)` rows.
//! - counters, summed: requests, errors, cache hits, saved and spent nano-USD, then the
//!   latency histogram `l0`…`l12` (request counts per bin of [`LATENCY_BOUNDS_MS`]).
//!
//! Invariants: each settled request counts once in its minute's and its hour's totals and in
//! one name row of each dimension there, so a bucket's name rows sum to its total; a bucket is
//! the one in which the object settled the request (a batch is settled within seconds of its
//! requests). Every write first deletes the buckets that fell out of the window, so the table
//! stays bounded whatever the traffic. SQL text is fixed; every value is a bound parameter.

use crate::core::error::{Code, GatewayError, Kind};
use crate::core::state::ledger::{LedgerRow, Query};
use crate::core::util::json_value::put;
use serde_json::{Map, Value};

/// The table, created by the tenant's object with the ledger's: the key, then the counters
/// in [`COLUMNS`] order (untyped: SQLite keeps integers as integers).
pub fn schema() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS stats (scale, t, dim, name, {} DEFAULT 0, PRIMARY KEY (scale, t, dim, name)) WITHOUT ROWID",
        COLUMNS.join(" DEFAULT 0, ")
    )
}

/// Minute buckets kept.
pub const MINUTES: u64 = 60;
/// Hour buckets kept.
pub const HOURS: u64 = 48;
/// Names kept per dimension and bucket before the rest go to [`OTHER`].
pub const TOP_N: u64 = 8;
/// The name that sums what comes after the first [`TOP_N`] names of a bucket.
pub const OTHER: &str = "(other)";
/// The latency histogram's upper bounds, milliseconds (1-2.5-5 steps); a 13th bin holds what
/// is slower than the last.
pub const LATENCY_BOUNDS_MS: [u64; 12] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;
const BINS: usize = LATENCY_BOUNDS_MS.len() + 1;
const N: usize = 5 + BINS;
const COLUMNS: [&str; N] = [
    "requests",
    "errors",
    "cache_hits",
    "saved_nusd",
    "cost_nusd",
    "l0",
    "l1",
    "l2",
    "l3",
    "l4",
    "l5",
    "l6",
    "l7",
    "l8",
    "l9",
    "l10",
    "l11",
    "l12",
];

/// One group's counters: a bucket's total or one name of it, in [`COLUMNS`] order.
type Counters = [u64; N];

/// The histogram bin of a latency.
fn bin(latency_ms: u64) -> usize {
    LATENCY_BOUNDS_MS.iter().position(|&b| latency_ms <= b).unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// One settled request's counters.
fn counters(row: &LedgerRow, latency_ms: u64) -> Counters {
    let mut c = [0u64; N];
    c[..5].copy_from_slice(&[row.calls, row.errors, row.cache_hits, row.saved_nusd, row.cost_nusd]);
    c[5 + bin(latency_ms)] = row.calls;
    c
}

/// The statements recording settled requests (each a ledger row and its latency) at
/// `now_ms`: the deletion of expired buckets, then one upsert per group of the batch in its
/// minute and in its hour.
pub fn record<'a>(settled: impl IntoIterator<Item = (&'a LedgerRow, u64)>, now_ms: u64) -> Vec<Query> {
    let mut groups: Vec<(u64, &str, Counters)> = Vec::new();
    for (row, latency_ms) in settled {
        let c = counters(row, latency_ms);
        for (dim, name) in [(0, ""), (1, row.model.as_str()), (2, row.key.as_str())] {
            match groups.iter_mut().find(|g| g.0 == dim && g.1 == name) {
                Some(g) => g.2.iter_mut().zip(&c).for_each(|(a, b)| *a = a.saturating_add(*b)),
                None => groups.push((dim, name, c)),
            }
        }
    }
    let mut out = vec![prune(now_ms)];
    for (scale, t) in [(0, now_ms / MINUTE_MS), (1, now_ms / HOUR_MS)] {
        for (dim, name, c) in &groups {
            let mut args = vec![Value::from(scale), Value::from(t), Value::from(*dim), Value::from(*name)];
            args.extend(c.iter().map(|&n| Value::from(n)));
            out.push(Query { sql: UPSERT.to_string(), args });
        }
    }
    out
}

/// Delete the buckets older than the windows.
fn prune(now_ms: u64) -> Query {
    let sql = "DELETE FROM stats WHERE (scale = 0 AND t <= ?) OR (scale = 1 AND t <= ?)".to_string();
    Query { sql, args: windows(now_ms) }
}

/// The last minute and the last hour before the windows at `now_ms`.
fn windows(now_ms: u64) -> Vec<Value> {
    vec![Value::from((now_ms / MINUTE_MS).saturating_sub(MINUTES)), Value::from((now_ms / HOUR_MS).saturating_sub(HOURS))]
}

/// Add a group's counters to its row (arguments: scale, bucket, dimension, name, then the
/// counters in [`COLUMNS`] order); a name past the first [`TOP_N`] (8) of its bucket and
/// dimension goes to [`OTHER`].
const UPSERT: &str = "INSERT INTO stats SELECT v.scale, v.t, v.dim, CASE WHEN v.dim = 0 \
OR EXISTS (SELECT 1 FROM stats s WHERE s.scale = v.scale AND s.t = v.t AND s.dim = v.dim AND s.name = v.name) \
OR (SELECT COUNT(*) FROM stats s WHERE s.scale = v.scale AND s.t = v.t AND s.dim = v.dim AND s.name <> '(other)') < 8 \
THEN v.name ELSE '(other)' END, v.requests, v.errors, v.cache_hits, v.saved_nusd, v.cost_nusd, v.l0, v.l1, v.l2, \
v.l3, v.l4, v.l5, v.l6, v.l7, v.l8, v.l9, v.l10, v.l11, v.l12 FROM (SELECT ? AS scale, ? AS t, ? AS dim, ? AS name, \
? AS requests, ? AS errors, ? AS cache_hits, ? AS saved_nusd, ? AS cost_nusd, ? AS l0, ? AS l1, ? AS l2, ? AS l3, \
? AS l4, ? AS l5, ? AS l6, ? AS l7, ? AS l8, ? AS l9, ? AS l10, ? AS l11, ? AS l12) v WHERE true \
ON CONFLICT (scale, t, dim, name) DO UPDATE SET requests = requests + excluded.requests, \
errors = errors + excluded.errors, cache_hits = cache_hits + excluded.cache_hits, \
saved_nusd = saved_nusd + excluded.saved_nusd, cost_nusd = cost_nusd + excluded.cost_nusd, l0 = l0 + excluded.l0, \
l1 = l1 + excluded.l1, l2 = l2 + excluded.l2, l3 = l3 + excluded.l3, l4 = l4 + excluded.l4, l5 = l5 + excluded.l5, \
l6 = l6 + excluded.l6, l7 = l7 + excluded.l7, l8 = l8 + excluded.l8, l9 = l9 + excluded.l9, l10 = l10 + excluded.l10, \
l11 = l11 + excluded.l11, l12 = l12 + excluded.l12";

/// Change the jobs queue's depth by `delta` (+1 queued, −1 done); it never goes below zero.
pub fn queue(delta: i64) -> Query {
    let sql = "INSERT INTO stats (scale, t, dim, name, requests) VALUES (2, 0, 0, 'queue', MAX(?, 0)) \
               ON CONFLICT (scale, t, dim, name) DO UPDATE SET requests = MAX(requests + ?, 0)";
    Query { sql: sql.to_string(), args: vec![Value::from(delta), Value::from(delta)] }
}

/// Read the buckets in the windows at `now_ms`, and the gauges.
pub fn select(now_ms: u64) -> Query {
    let sql = "SELECT * FROM stats WHERE (scale = 0 AND t > ?) OR (scale = 1 AND t > ?) OR scale = 2 \
               ORDER BY scale, t, dim, name";
    Query { sql: sql.to_string(), args: windows(now_ms) }
}

/// The latency at percentile `p` (1 to 100) of a histogram: the upper bound of the bin that
/// holds it (for the last bin, the last bound: "at least"); `None` when it is empty.
pub fn percentile(hist: &[u64], p: u64) -> Option<u64> {
    let total: u64 = hist.iter().sum();
    let rank = (total * p).div_ceil(100).max(1);
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if total > 0 && seen >= rank {
            return Some(LATENCY_BOUNDS_MS[i.min(LATENCY_BOUNDS_MS.len() - 1)]);
        }
    }
    None
}

/// The `/v1/stats` body from the rows the object returned. Only the buckets that saw requests
/// are listed, oldest first, as arrays of integers (README, "/v1/stats"): `minutes` and
/// `hours` hold `[start_ms, requests, errors, cache_hits, saved_nano_usd, cost_nano_usd,
/// p50_ms, p95_ms, p99_ms]`, the `*_by_model` and `*_by_key` lists `[start_ms, name,
/// requests, errors, cache_hits, saved_nano_usd, cost_nano_usd]`. With them, the isolate's
/// `breakers` and the jobs queue's depth.
pub fn reply(tenant: &str, rows: &str, now_ms: u64, breakers: Value) -> Result<Value, GatewayError> {
    // Rows that do not parse are the gateway's own fault: a 500, where no answer is a 503.
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(rows.as_bytes()).map_err(|_| GatewayError {
        kind: Kind::Internal,
        status: 500,
        ..GatewayError::new(Code::LedgerUnavailable, "the usage ledger did not answer")
    })?;
    let num = |r: &Map<String, Value>, c: &str| r.get(c).and_then(Value::as_f64).unwrap_or(0.0) as u64;
    let mut lists: [Vec<Value>; 6] = Default::default();
    let mut queue_depth = 0;
    for r in &rows {
        let (scale, t, dim) = (num(r, "scale"), num(r, "t"), num(r, "dim"));
        let mut c = [0u64; N];
        for (v, col) in c.iter_mut().zip(COLUMNS) {
            *v = num(r, col);
        }
        if scale > 1 {
            queue_depth = c[0];
            continue;
        }
        let mut out = vec![Value::from(t * if scale == 0 { MINUTE_MS } else { HOUR_MS })];
        if dim > 0 {
            out.push(r.get("name").cloned().unwrap_or_default());
        }
        out.extend(c[..5].iter().map(|&n| Value::from(n)));
        if dim == 0 {
            out.extend([50, 95, 99].map(|p| Value::from(percentile(&c[5..], p))));
        }
        if let Some(list) = lists.get_mut((scale * 3 + dim) as usize) {
            list.push(Value::Array(out));
        }
    }
    let mut body = Map::new();
    put(&mut body, "object", "stats".into());
    put(&mut body, "tenant", tenant.into());
    put(&mut body, "now_ms", now_ms.into());
    for (name, list) in LISTS.iter().zip(lists.iter_mut()) {
        body.insert(name.to_string(), Value::Array(std::mem::take(list)));
    }
    put(&mut body, "breakers", breakers);
    put(&mut body, "queue_depth", queue_depth.into());
    Ok(Value::Object(body))
}

/// The reply's lists of buckets, by `scale × 3 + dim`.
const LISTS: [&str; 6] = ["minutes", "minutes_by_model", "minutes_by_key", "hours", "hours_by_model", "hours_by_key"];

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
