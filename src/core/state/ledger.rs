//! The exact ledger: one row per (UTC day, key, public model, run tag) in each tenant's
//! Durable Object (SQLite), summed as requests settle, and `GET /v1/usage` over it.
//!
//! All SQL lives here; the object only runs the statements it is handed. Column names
//! come from fixed strings, never from a request, and every value is a bound parameter.
//!
//! Invariant: the ledger counts every settled request exactly once (a row's counters only
//! ever grow by one request's numbers); Analytics Engine, which samples, is never the
//! source of a total.

use crate::core::error::{Code, GatewayError, Kind};
use crate::core::state::cost::usd_string;
use crate::core::util::calendar::{day_string, month_start_string, parse_day, DAY_MS};
use crate::json;
use serde::Serialize;
use serde_json::Value;

/// The table, created by the object before its first statement.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ledger (\
day TEXT NOT NULL, key TEXT NOT NULL, model TEXT NOT NULL, run TEXT NOT NULL, \
calls INTEGER NOT NULL, errors INTEGER NOT NULL, input_tokens INTEGER NOT NULL, \
output_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, cost_nusd INTEGER NOT NULL, \
cache_hits INTEGER NOT NULL, saved_nusd INTEGER NOT NULL, \
PRIMARY KEY (day, key, model, run)) WITHOUT ROWID";

/// Gate outcomes per UTC day, cascade route (a capability's is `cap:NAME`) and rung model:
/// one row a day per pair the config names, so it stays small, and a rung's record can be
/// read over recent days only (see [`PASS_RATE_DAYS`]).
pub const GATES_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS gate_days (\
day TEXT NOT NULL, route TEXT NOT NULL, model TEXT NOT NULL, calls INTEGER NOT NULL, passes INTEGER NOT NULL, \
cost_nusd INTEGER NOT NULL, PRIMARY KEY (day, route, model)) WITHOUT ROWID";

/// The days (today included) over which a rung's pass rate decides whether a cascade skips
/// it: a skipped rung gets no new records, so once its old ones age out it is tried again
/// and earns its place anew.
pub const PASS_RATE_DAYS: u64 = 7;

/// One checked answer of a cascade rung, as a settlement carries it: `[route, model, passed
/// (0 or 1), cost in nano-USD]` (a JSON array, read without a derived deserializer).
pub fn gate_row(route: &str, model: &str, passed: bool, cost_nusd: u64) -> Value {
    json!([route, model, u64::from(passed), cost_nusd])
}

/// Add one checked answer (a [`gate_row`]) to its rung's record of `day` (`YYYY-MM-DD`).
pub fn gate_upsert(r: &Value, day: &str) -> Query {
    let sql = "INSERT INTO gate_days (day, route, model, calls, passes, cost_nusd) VALUES (?, ?, ?, 1, ?, ?) \
               ON CONFLICT (day, route, model) \
               DO UPDATE SET calls = calls + 1, passes = passes + excluded.passes, cost_nusd = cost_nusd + excluded.cost_nusd";
    let at = |i: usize| r.get(i).cloned().unwrap_or_else(|| json!(0));
    Query { sql: sql.into(), args: vec![json!(day), json!(r[0].as_str().unwrap_or("")), json!(r[1].as_str().unwrap_or("")), at(2), at(3)] }
}

/// The usage query a cascade asks before choosing its rungs: its tenant's gate records of
/// the last [`PASS_RATE_DAYS`] days.
pub fn recent_gates(now_ms: u64) -> UsageQuery {
    let today = now_ms / DAY_MS;
    let from = day_string(today.saturating_sub(PASS_RATE_DAYS - 1));
    UsageQuery { from, to: day_string(today), group_by: Some(GroupBy::Capability), run: None }
}

/// One settled request's numbers (or, summed, a group's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    /// UTC day, `YYYY-MM-DD`; empty in a settlement (the object's clock fills it in).
    pub day: String,
    /// The key's name (config or runtime), as in analytics.
    pub key: String,
    /// The public model or route name the caller asked for.
    pub model: String,
    /// The caller's run tag (`x-switchyard-run`); empty when none.
    pub run: String,
    /// Requests settled.
    pub calls: u64,
    /// Of those, requests that failed (a status of 400 or more, or a failure not saved by the
    /// cache).
    pub errors: u64,
    /// Input tokens charged, cached ones included.
    pub input_tokens: u64,
    /// Output tokens charged, reasoning ones included.
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache.
    pub cached_tokens: u64,
    /// Cost, nano-USD.
    pub cost_nusd: u64,
    /// Requests answered from the gateway's response cache.
    pub cache_hits: u64,
    /// What cache hits would have cost upstream.
    pub saved_nusd: u64,
}

crate::de_struct!(
    LedgerRow,
    required,
    skip { day: default, key, model, run, calls, errors, input_tokens, output_tokens, cached_tokens, cost_nusd, cache_hits, saved_nusd }
);

/// A statement and its bound parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    /// SQL text with `?` placeholders; never built from request data.
    pub sql: String,
    /// The values bound to the placeholders, in order.
    pub args: Vec<Value>,
}

crate::de_struct!(Query, required, skip { sql, args });

const COUNTERS: [&str; 8] = ["calls", "errors", "input_tokens", "output_tokens", "cached_tokens", "cost_nusd", "cache_hits", "saved_nusd"];

/// Add one row's numbers to its group.
pub fn upsert(row: &LedgerRow) -> Query {
    let sums: Vec<String> = COUNTERS.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
    let sql = format!(
        "INSERT INTO ledger (day, key, model, run, {}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (day, key, model, run) DO UPDATE SET {}",
        COUNTERS.join(", "),
        sums.join(", ")
    );
    let args = vec![
        json!(row.day),
        json!(row.key),
        json!(row.model),
        json!(row.run),
        json!(row.calls),
        json!(row.errors),
        json!(row.input_tokens),
        json!(row.output_tokens),
        json!(row.cached_tokens),
        json!(row.cost_nusd),
        json!(row.cache_hits),
        json!(row.saved_nusd),
    ];
    Query { sql, args }
}

/// Rows summed per group (day, key, model, run), in the order each group first appears: one
/// upsert per group instead of one per request.
pub fn merge(rows: impl IntoIterator<Item = LedgerRow>) -> Vec<LedgerRow> {
    let mut out: Vec<LedgerRow> = Vec::new();
    for row in rows {
        let same = |o: &&mut LedgerRow| o.day == row.day && o.key == row.key && o.model == row.model && o.run == row.run;
        match out.iter_mut().find(same) {
            Some(o) => {
                o.calls = o.calls.saturating_add(row.calls);
                o.errors = o.errors.saturating_add(row.errors);
                o.input_tokens = o.input_tokens.saturating_add(row.input_tokens);
                o.output_tokens = o.output_tokens.saturating_add(row.output_tokens);
                o.cached_tokens = o.cached_tokens.saturating_add(row.cached_tokens);
                o.cost_nusd = o.cost_nusd.saturating_add(row.cost_nusd);
                o.cache_hits = o.cache_hits.saturating_add(row.cache_hits);
                o.saved_nusd = o.saved_nusd.saturating_add(row.saved_nusd);
            }
            None => out.push(row),
        }
    }
    out
}

/// How `/v1/usage` groups its rows (`group_by=`); without it only the total is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// Per public model or route name.
    Model,
    /// Per key name.
    Key,
    /// Per UTC day.
    Day,
    /// Per run tag.
    Run,
    /// Per cascade route (or capability) and rung, from the gate records of the query's days.
    Capability,
}

crate::de_enum!(GroupBy { Model = "model", Key = "key", Day = "day", Run = "run", Capability = "capability" });

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Key => "key",
            GroupBy::Day => "day",
            GroupBy::Run => "run",
            GroupBy::Capability => "capability",
        }
    }
}

/// `GET /v1/usage?from=&to=&group_by=&run=`: days inclusive, UTC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (default: the first of this month).
    pub from: String,
    /// Last day, `YYYY-MM-DD`, inclusive (default: today).
    pub to: String,
    /// The grouping, if any.
    pub group_by: Option<GroupBy>,
    /// Only rows of this run tag (1 to 64 characters).
    pub run: Option<String>,
}

crate::de_struct!(UsageQuery, required, skip { from, to, group_by: default, run: default });

/// Sum the ledger per group over the query's days.
pub fn select(q: &UsageQuery) -> Query {
    if q.group_by == Some(GroupBy::Capability) {
        let sql = "SELECT route, model, SUM(calls) AS calls, SUM(passes) AS passes, SUM(cost_nusd) AS cost_nusd FROM gate_days \
                   WHERE day >= ? AND day <= ? GROUP BY route, model ORDER BY route, model";
        return Query { sql: sql.into(), args: vec![json!(q.from), json!(q.to)] };
    }
    let group = q.group_by.map_or("''", GroupBy::column);
    let sums: Vec<String> = COUNTERS.iter().map(|c| format!("SUM({c}) AS {c}")).collect();
    let sql = format!(
        "SELECT {group} AS g, {} FROM ledger WHERE day >= ? AND day <= ? AND (? = '' OR run = ?) GROUP BY g ORDER BY g",
        sums.join(", ")
    );
    let run = q.run.clone().unwrap_or_default();
    Query { sql, args: vec![json!(q.from), json!(q.to), json!(run), json!(run)] }
}

fn bad(param: &str, message: &str) -> GatewayError {
    GatewayError::new(Code::InvalidQuery, message.to_string()).with_param(param)
}

/// Parse the query string of `/v1/usage`. Defaults: from the first of this month to today.
pub fn parse_query(query: &str, now_ms: u64) -> Result<UsageQuery, GatewayError> {
    let today = now_ms / DAY_MS;
    let mut q = UsageQuery { from: month_start_string(today), to: day_string(today), group_by: None, run: None };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = crate::core::util::percent::decode_query(raw).ok_or_else(|| bad(name, "is not valid percent-encoded UTF-8"))?;
        match name {
            "from" => q.from = parse_day(&value).ok_or_else(|| bad("from", "must be a date YYYY-MM-DD"))?,
            "to" => q.to = parse_day(&value).ok_or_else(|| bad("to", "must be a date YYYY-MM-DD"))?,
            "group_by" => {
                q.group_by = Some(match value.as_str() {
                    "model" => GroupBy::Model,
                    "key" => GroupBy::Key,
                    "day" => GroupBy::Day,
                    "run" => GroupBy::Run,
                    "capability" => GroupBy::Capability,
                    _ => return Err(bad("group_by", "must be one of model, key, day, run, capability")),
                })
            }
            "run" if (1..=64).contains(&value.len()) => q.run = Some(value),
            "run" => return Err(bad("run", "must be 1 to 64 characters")),
            _ => return Err(bad(name, &format!("unknown query parameter '{}'", name.chars().take(40).collect::<String>()))),
        }
    }
    if q.from > q.to {
        return Err(bad("from", "must not be after 'to'"));
    }
    Ok(q)
}

/// The `/v1/usage` body from the rows the object returned (`[{"g", <counters>}]`).
pub fn usage_reply(tenant: &str, q: &UsageQuery, rows: &str) -> Result<Value, GatewayError> {
    // Rows that do not parse are the gateway's own fault: a 500, where no answer is a 503.
    let rows: Vec<serde_json::Map<String, Value>> = serde_json::from_slice(rows.as_bytes()).map_err(|_| GatewayError {
        kind: Kind::Internal,
        status: 500,
        ..GatewayError::new(Code::LedgerUnavailable, "the usage ledger did not answer")
    })?;
    if q.group_by == Some(GroupBy::Capability) {
        return Ok(gate_reply(tenant, &rows));
    }
    let mut total = [0u64; COUNTERS.len()];
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            let nums: Vec<u64> = COUNTERS.iter().map(|c| r.get(*c).and_then(Value::as_f64).unwrap_or(0.0) as u64).collect();
            for (t, n) in total.iter_mut().zip(&nums) {
                *t += n;
            }
            let mut entry = entry(&nums);
            if let (Some(g), Some(obj)) = (q.group_by, entry.as_object_mut()) {
                obj.insert(g.column().into(), r.get("g").cloned().unwrap_or(Value::Null));
            }
            entry
        })
        .collect();
    Ok(json!({
        "object": "usage",
        "tenant": tenant,
        "from": q.from,
        "to": q.to,
        "group_by": q.group_by,
        "run": q.run,
        "data": if q.group_by.is_some() { data } else { Vec::new() },
        "total": entry(&total),
    }))
}

/// `group_by=capability`: each rung's record, with its pass rate.
fn gate_reply(tenant: &str, rows: &[serde_json::Map<String, Value>]) -> Value {
    let num = |r: &serde_json::Map<String, Value>, k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(0.0) as u64;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            let (calls, passes, cost) = (num(r, "calls"), num(r, "passes"), num(r, "cost_nusd"));
            json!({
                "capability": r.get("route"),
                "model": r.get("model"),
                "calls": calls,
                "passes": passes,
                "pass_rate": if calls == 0 { 0.0 } else { passes as f64 / calls as f64 },
                "cost_usd": usd_string(cost),
            })
        })
        .collect();
    json!({"object": "usage", "tenant": tenant, "group_by": "capability", "data": data})
}

fn entry(n: &[u64]) -> Value {
    json!({
        "calls": n[0],
        "errors": n[1],
        "input_tokens": n[2],
        "output_tokens": n[3],
        "cached_input_tokens": n[4],
        "cost_usd": usd_string(n[5]),
        "cost_nano_usd": n[5],
        "cache_hits": n[6],
        "saved_usd": usd_string(n[7]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_defaults_and_errors() {
        let now = 20_420 * 86_400_000 + 5;
        let q = parse_query("", now).unwrap();
        assert_eq!((q.from.as_str(), q.to.as_str(), q.group_by, q.run), ("2025-11-01", "2025-11-28", None, None));
        let q = parse_query("group_by=model&run=ci%2042&from=2025-01-01", now).unwrap();
        assert_eq!((q.group_by, q.run.as_deref(), q.from.as_str()), (Some(GroupBy::Model), Some("ci 42"), "2025-01-01"));
        for (qs, param) in [
            ("group_by=tenant", "group_by"),
            ("from=yesterday", "from"),
            ("to=2025-01-01", "from"),
            ("limit=3", "limit"),
            ("run=%zz", "run"),
            ("run=", "run"),
        ] {
            let e = parse_query(qs, now).unwrap_err();
            assert_eq!((e.status, e.param.as_deref()), (400, Some(param)), "{qs}");
        }
    }

    #[test]
    fn statements_bind_every_value() {
        let row = LedgerRow { day: "2025-11-28".into(), key: "k'; DROP TABLE ledger".into(), calls: 1, ..Default::default() };
        let up = upsert(&row);
        assert_eq!(up.sql.matches('?').count(), up.args.len());
        assert!(!up.sql.contains("DROP"));
        let sel = select(&UsageQuery { from: "a".into(), to: "b".into(), group_by: Some(GroupBy::Key), run: Some("x".into()) });
        assert_eq!(sel.sql.matches('?').count(), sel.args.len());
        assert!(sel.sql.starts_with("SELECT key AS g"));
    }

    #[test]
    fn reply_sums_groups() {
        let q = UsageQuery { from: "a".into(), to: "b".into(), group_by: Some(GroupBy::Model), run: None };
        let rows = r#"[{"g":"m1","calls":2,"errors":0,"input_tokens":10,"output_tokens":5,"cached_tokens":0,"cost_nusd":1500,"cache_hits":1,"saved_nusd":700},
                       {"g":"m2","calls":1,"errors":1,"input_tokens":3,"output_tokens":0,"cached_tokens":0,"cost_nusd":0,"cache_hits":0,"saved_nusd":0}]"#;
        let v = usage_reply("acme", &q, rows).unwrap();
        assert_eq!(v["data"][0]["model"], "m1");
        assert_eq!(v["total"]["calls"], 3);
        assert_eq!(v["total"]["cost_usd"], "0.000001500");
        assert_eq!(v["total"]["saved_usd"], "0.000000700");
        assert!(usage_reply("acme", &q, "not json").is_err());
    }

    #[test]
    fn gate_records_are_upserted_and_read_with_their_pass_rates() {
        let up = gate_upsert(&gate_row("cap:x", "m", true, 5), "2025-11-28");
        assert_eq!(up.args, vec![json!("2025-11-28"), json!("cap:x"), json!("m"), json!(1), json!(5)]);
        assert_eq!(up.sql.matches('?').count(), up.args.len());
        let q = parse_query("group_by=capability", 20_420 * 86_400_000).unwrap();
        let s = select(&q);
        assert!(s.sql.contains("FROM gate_days"));
        assert_eq!((s.sql.matches('?').count(), &s.args), (2, &vec![json!(q.from), json!(q.to)]), "over the query's days");
        let recent = recent_gates(20_420 * 86_400_000 + 5);
        assert_eq!((recent.from.as_str(), recent.to.as_str(), recent.group_by), ("2025-11-22", "2025-11-28", Some(GroupBy::Capability)));
        let rows = r#"[{"route":"cap:x","model":"m","calls":4,"passes":1,"cost_nusd":2500}]"#;
        let v = usage_reply("acme", &q, rows).unwrap();
        assert_eq!(
            v["data"][0],
            json!({"capability": "cap:x", "model": "m", "calls": 4, "passes": 1, "pass_rate": 0.25, "cost_usd": "0.000002500"})
        );
    }

    #[test]
    fn unreadable_rows_are_the_gateways_fault() {
        let q = UsageQuery { from: "a".into(), to: "b".into(), group_by: None, run: None };
        let e = usage_reply("acme", &q, "not json").unwrap_err();
        assert_eq!((e.status, e.type_str(), e.code), (500, "server_error", Code::LedgerUnavailable));
    }
}
