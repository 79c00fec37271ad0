//! The stats' statements run on a real SQLite engine (an in-memory database standing in for
//! the tenant object's storage), driven as `objects.js` drives them: the ops through
//! `spend::apply`, every statement in order, the last one's rows handed to [`reply`].

use super::*;
use crate::core::state::ledger::{self, UsageQuery};
use crate::core::state::spend::{apply, Op, Settle, SettleMany, TenantState};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::json;

const T0: u64 = 1_764_590_400_000; // 2025-12-01T12:00:00Z, on an hour's start

struct Object {
    db: Connection,
    state: TenantState,
}

fn bind(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Value::Number(n) => n.as_i64().map_or_else(|| S::Real(n.as_f64().unwrap()), S::Integer),
        Value::String(s) => S::Text(s.clone()),
        Value::Null => S::Null,
        other => panic!("a statement binds only scalars, not {other}"),
    }
}

impl Object {
    fn new() -> Object {
        let db = Connection::open_in_memory().unwrap();
        for s in [ledger::SCHEMA, &schema()] {
            db.execute(s, []).unwrap();
        }
        Object { db, state: TenantState::default() }
    }

    fn exec(&self, q: &Query) -> String {
        assert_eq!(q.sql.matches('?').count(), q.args.len(), "every value is bound: {}", q.sql);
        let mut st = self.db.prepare(&q.sql).unwrap_or_else(|e| panic!("{e}: {}", q.sql));
        let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
        let mut rows = st.query(rusqlite::params_from_iter(q.args.iter().map(bind))).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let mut o = Map::new();
            for (i, name) in names.iter().enumerate() {
                let v = match row.get_ref(i).unwrap() {
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(f) => f.into(),
                    ValueRef::Text(t) => String::from_utf8(t.to_vec()).unwrap().into(),
                    _ => Value::Null,
                };
                o.insert(name.clone(), v);
            }
            out.push(Value::Object(o));
        }
        Value::Array(out).to_string()
    }

    /// One call as the object makes it (the op crossing as JSON): the last statement's rows.
    fn call(&mut self, op: &Op, now_ms: u64) -> String {
        let op: Op = serde_json::from_str(&serde_json::to_string(op).unwrap()).unwrap();
        let applied = apply(&self.state, op, now_ms);
        if let Some(s) = applied.state {
            self.state = s;
        }
        applied.sql.iter().map(|q| self.exec(q)).last().unwrap_or_default()
    }

    fn stats(&mut self, now_ms: u64) -> Value {
        let rows = self.call(&Op::Stats, now_ms);
        reply("acme", &rows, now_ms, json!([])).unwrap()
    }

    fn count(&self) -> i64 {
        self.db.query_row("SELECT COUNT(*) FROM stats", [], |r| r.get(0)).unwrap()
    }
}

fn settle(model: &str, key: &str, latency_ms: u64, errors: u64, cache_hits: u64, cost_nusd: u64) -> Settle {
    let row = LedgerRow {
        key: key.into(),
        model: model.into(),
        calls: 1,
        errors,
        cache_hits,
        cost_nusd,
        saved_nusd: cache_hits * 700,
        input_tokens: 10,
        ..Default::default()
    };
    Settle { lease: None, subjects: vec!["tenant".into()], tokens: 10, row, gates: serde_json::Value::Null, latency_ms }
}

fn many(settles: Vec<Settle>) -> Op {
    Op::SettleMany(SettleMany { settles })
}

/// Column `i` of every array in `list`, summed.
fn sum(list: &Value, i: usize) -> u64 {
    list.as_array().unwrap().iter().map(|e| e[i].as_u64().unwrap()).sum()
}

/// The arrays of `list` whose bucket starts at `start`.
fn at(list: &Value, start: u64) -> Value {
    list.as_array().unwrap().iter().filter(|e| e[0] == start).cloned().collect()
}

#[test]
fn a_batch_lands_in_its_minute_and_hour_with_names_summing_to_the_total() {
    let mut o = Object::new();
    let batch = vec![
        settle("fast", "web", 3, 0, 0, 1_000),
        settle("fast", "cli", 40, 0, 1, 0),
        settle("smart", "web", 2_000, 1, 0, 0),
        settle("smart", "web", 60_000, 0, 0, 5_000),
    ];
    o.call(&many(batch), T0 + 5_000);
    let v = o.stats(T0 + 10_000);
    for scale in ["minutes", "hours"] {
        // [start_ms, requests, errors, cache_hits, saved, cost, p50, p95, p99]
        assert_eq!(v[scale], json!([[T0, 4, 1, 1, 700, 6_000, 50, 30_000, 30_000]]), "{scale}");
        for dim in ["_by_model", "_by_key"] {
            let names = at(&v[format!("{scale}{dim}")], T0);
            for (i, field) in [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5)] {
                assert_eq!(sum(&names, i), v[scale][0][field].as_u64().unwrap(), "{scale}{dim} column {i}");
            }
        }
        assert_eq!(v[format!("{scale}_by_model")][1], json!([T0, "smart", 2, 1, 0, 0, 5_000]));
        assert_eq!(v[format!("{scale}_by_key")][1], json!([T0, "web", 3, 1, 0, 0, 6_000]));
    }
    assert_eq!(v["queue_depth"], 0);
}

#[test]
fn stats_totals_equal_the_ledgers() {
    let mut o = Object::new();
    for i in 0..30u64 {
        let batch =
            (0..(i % 4 + 1)).map(|j| settle(["a", "b", "c"][(j % 3) as usize], "k", i * 7, j % 2, i % 3 / 2, i * 100 + j)).collect();
        o.call(&many(batch), T0 + i * 20_000);
    }
    let v = o.stats(T0 + 30 * 20_000);
    let q = UsageQuery { from: "2025-12-01".into(), to: "2025-12-01".into(), group_by: None, run: None };
    let usage = ledger::usage_reply("acme", &q, &o.call(&Op::Usage(q.clone()), T0)).unwrap();
    for (i, field) in [(1, "calls"), (2, "errors"), (3, "cache_hits"), (5, "cost_nano_usd")] {
        assert_eq!(sum(&v["minutes"], i), usage["total"][field].as_u64().unwrap(), "minutes {field}");
        assert_eq!(sum(&v["hours"], i), usage["total"][field].as_u64().unwrap(), "hours {field}");
        assert_eq!(sum(&v["minutes_by_model"], i + 1), usage["total"][field].as_u64().unwrap(), "by model {field}");
    }
    assert_eq!(v["minutes"].as_array().unwrap().len(), 10, "0 to 580 s: ten minutes");
}

#[test]
fn old_buckets_are_deleted_so_the_table_stays_bounded() {
    let mut o = Object::new();
    o.call(&many(vec![settle("m", "k", 1, 0, 0, 1)]), T0);
    o.call(&many(vec![settle("m", "k", 1, 0, 0, 1)]), T0 + 60 * 60_000);
    let v = o.stats(T0 + 60 * 60_000);
    assert_eq!(v["minutes"].as_array().unwrap().len(), 1, "the first minute fell out of the window");
    assert_eq!(v["hours"].as_array().unwrap().len(), 2);
    assert_eq!(sum(&v["hours"], 1), 2);
    // Every minute for 50 hours: at most 60 minutes and 48 hours are kept, 3 rows each.
    for m in 0..50 * 60 {
        o.call(&many(vec![settle("m", "k", 1, 0, 0, 1)]), T0 + 61 * 60_000 + m * 60_000);
    }
    assert_eq!(o.count(), (60 + 48) * 3);
    let v = o.stats(T0 + 61 * 60_000 + (50 * 60 - 1) * 60_000);
    assert_eq!(v["minutes"].as_array().unwrap().len(), 60);
    assert_eq!(v["hours"].as_array().unwrap().len(), 48);
    assert_eq!(o.stats(T0 + 1000 * 3_600_000)["hours"], json!([]), "nothing recent: nothing shown");
}

#[test]
fn names_past_the_top_n_go_to_other() {
    let mut o = Object::new();
    let first: Vec<Settle> = (0..12).map(|i| settle(&format!("m{i:02}"), "k", 1, 0, 0, 10)).collect();
    o.call(&many(first), T0);
    o.call(&many(vec![settle("m03", "k", 1, 0, 0, 5), settle("m11", "k", 1, 0, 0, 5)]), T0 + 1000);
    let list = &o.stats(T0 + 2000)["minutes_by_model"];
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|e| e[1].as_str().unwrap()).collect();
    assert_eq!(names, ["(other)", "m00", "m01", "m02", "m03", "m04", "m05", "m06", "m07"]);
    assert_eq!(list[0][2], 5, "m08 to m11, and m11 again");
    assert_eq!(list[4][6], 15, "a kept name goes on counting");
    assert_eq!(sum(list, 2), 14);
}

#[test]
fn the_queue_depth_counts_jobs_and_never_goes_below_zero() {
    let mut o = Object::new();
    let op = |s: &str| serde_json::from_str::<Op>(s).unwrap();
    o.call(&op(r#""job_done""#), T0);
    assert_eq!(o.stats(T0)["queue_depth"], 0);
    for _ in 0..3 {
        o.call(&op(r#""job_queued""#), T0);
    }
    o.call(&Op::JobDone, T0);
    assert_eq!(o.stats(T0)["queue_depth"], 2);
    for _ in 0..5 {
        o.call(&Op::JobDone, T0);
    }
    assert_eq!(o.stats(T0)["queue_depth"], 0);
    o.call(&Op::JobQueued, T0 + 100 * 3_600_000);
    assert_eq!(o.stats(T0 + 100 * 3_600_000)["queue_depth"], 1, "a gauge does not expire");
}

#[test]
fn percentiles_are_the_upper_bound_of_their_bin() {
    let mut h = [0u64; 13];
    assert_eq!(percentile(&h, 50), None);
    h[0] = 50;
    h[3] = 45;
    h[12] = 5;
    assert_eq!(
        (percentile(&h, 50), percentile(&h, 51), percentile(&h, 95), percentile(&h, 96)),
        (Some(5), Some(50), Some(50), Some(30_000))
    );
    assert_eq!([bin(0), bin(5), bin(6), bin(30_000), bin(30_001)], [0, 0, 1, 11, 12]);
}

#[test]
fn unreadable_rows_are_the_gateways_fault() {
    let e = reply("acme", "not json", 0, json!([])).unwrap_err();
    assert_eq!((e.status, e.code), (500, Code::LedgerUnavailable));
}

#[test]
fn the_upsert_names_every_counter_and_the_limits() {
    for c in COLUMNS {
        assert!(UPSERT.contains(&format!("v.{c},")) || UPSERT.contains(&format!("v.{c} FROM")), "{c}");
        assert!(UPSERT.contains(&format!("{c} = {c} + excluded.{c}")), "{c}");
    }
    assert_eq!(UPSERT.matches('?').count(), 4 + COLUMNS.len());
    assert!(UPSERT.contains(&format!("'{OTHER}') < {TOP_N} ")) && UPSERT.contains(&format!("ELSE '{OTHER}' END")));
}
