//! A conversation's Durable Object, as pure functions: its tables, and for each [`Op`] the
//! statements it runs and the reply it gives. The object (`Conversation` in the edge's
//! `objects.js`) only executes what [`step`] returns.
//!
//! Every op takes two phases within one synchronous call of the object, so no other op can
//! interleave: phase 0 returns only reads; phase 1, given their rows, returns the writes (run
//! in one transaction), the reply, and when to ring the alarm or whether to delete the
//! object's storage. SQL comes from fixed strings; every value is a bound parameter.
//!
//! Invariants:
//! - Items keep their order: `seq` only grows, and a response's parent is always stored
//!   before it, so the history of a response is its chain's items in `seq` order.
//! - A conversation past `max_items`, an item or record over `max_item_bytes`, a record id
//!   already stored or a parent not stored is refused whole: nothing of the turn is written.
//! - The alarm is set to the last append or load plus the idle lifetime; when it rings after
//!   that, the conversation deletes itself.

use crate::core::state::conversation::op::{Item, Op, Side, Turn};
use crate::core::state::ledger::Query;
use serde_json::{json, Value};

/// The object's tables: one `meta` row while the conversation exists, the response records
/// (`parent` is the response each follows), and the items in the order stored.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS meta (one INTEGER PRIMARY KEY CHECK (one = 1), \
conv TEXT NOT NULL, head TEXT, created INTEGER NOT NULL, touched INTEGER NOT NULL, ttl_ms INTEGER NOT NULL);\
CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, parent TEXT, created INTEGER NOT NULL, \
body TEXT NOT NULL) WITHOUT ROWID;\
CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY, resp TEXT NOT NULL, side INTEGER NOT NULL, \
id TEXT NOT NULL, body TEXT NOT NULL);\
CREATE INDEX IF NOT EXISTS items_by_response ON items (resp, side, seq)";

const META: &str = "SELECT conv, head, created, touched, ttl_ms, (SELECT count(*) FROM items) AS count FROM meta";

/// The history of a response (or, for a null id, of the head): its chain's items in order.
const HISTORY: &str = "WITH RECURSIVE chain(id) AS (\
SELECT id FROM responses WHERE id = COALESCE(?, (SELECT head FROM meta)) \
UNION ALL SELECT r.parent FROM responses r JOIN chain c ON r.id = c.id WHERE r.parent IS NOT NULL) \
SELECT body FROM items WHERE resp IN (SELECT id FROM chain) ORDER BY seq";

const PAGE_ASC: &str = "SELECT id, body FROM items WHERE resp = ? AND side = 0 AND (? IS NULL OR seq > \
(SELECT seq FROM items WHERE resp = ? AND side = 0 AND id = ?)) ORDER BY seq ASC LIMIT ?";
const PAGE_DESC: &str = "SELECT id, body FROM items WHERE resp = ? AND side = 0 AND (? IS NULL OR seq < \
(SELECT seq FROM items WHERE resp = ? AND side = 0 AND id = ?)) ORDER BY seq DESC LIMIT ?";

/// What the object does in one phase of an op.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Statements to run in order (phase 1: in one transaction).
    pub sql: Vec<Query>,
    /// The op's answer, JSON (phase 1 only): `{"error": "not_found" | "exists" | "full" |
    /// "too_large" | "invalid"}` or the op's own answer (see [`step`]).
    pub reply: Option<String>,
    /// Set the object's alarm to this time, Unix milliseconds.
    pub alarm_ms: Option<u64>,
    /// Delete all of the object's storage (its alarm too) after the statements.
    pub drop: bool,
}

impl Plan {
    /// As the JSON the object reads: `{"sql": [{"sql", "args"}], "reply"?: string, "alarm"?:
    /// ms, "drop"?: true}`.
    pub fn to_json(&self) -> String {
        let mut v = json!({"sql": self.sql});
        if let Some(r) = &self.reply {
            v["reply"] = r.as_str().into();
        }
        if let Some(a) = self.alarm_ms {
            v["alarm"] = a.into();
        }
        if self.drop {
            v["drop"] = true.into();
        }
        v.to_string()
    }
}

fn q(sql: &str, args: Vec<Value>) -> Query {
    Query { sql: sql.into(), args }
}

fn reply(text: String) -> Plan {
    Plan { reply: Some(text), ..Plan::default() }
}

fn error(kind: &str) -> Plan {
    reply(format!(r#"{{"error":"{kind}"}}"#))
}

/// The statements and reply for one phase of `op`: `rows` is `None` for phase 0, then the
/// rows each phase-0 statement read (`[[{column: value}]]`, as the object's SQL cursor gives
/// them). `now_ms` is the object's clock. Answers, besides errors:
/// - create: `{"id", "object": "conversation", "created_at"}`;
/// - append: `{"count"}`, the items the conversation then holds;
/// - load: `{"response", "head", "count", "items": [...]}`, the response whose history it is
///   (`null` for a conversation with none yet), the head, the items held, the history;
/// - get: `{"id", "parent", "created_ms", "body"}`;
/// - list: `{"object": "list", "data", "first_id", "last_id", "has_more"}`;
/// - delete_response: `{"id", "object": "response", "deleted": true}`;
/// - delete: `{"id", "object": "conversation.deleted", "deleted": true}`;
/// - expire: `null`.
pub fn step(op: &Op, rows: Option<&Value>, now_ms: u64) -> Plan {
    let Some(rows) = rows else { return Plan { sql: reads(op), ..Plan::default() } };
    let table = |i: usize| rows.get(i).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let meta = table(0).first();
    match op {
        Op::Create { conv, ttl_ms } => match meta {
            Some(_) => error("exists"),
            None => Plan {
                sql: vec![create(conv, now_ms, *ttl_ms)],
                reply: Some(json!({"id": conv, "object": "conversation", "created_at": now_ms / 1000}).to_string()),
                alarm_ms: Some(now_ms + ttl_ms),
                drop: false,
            },
        },
        Op::Append(turn) => append(turn, meta, table(1), now_ms),
        Op::Load { response, ttl_ms } => {
            let (Some(m), found) = (meta, table(1).first()) else { return error("not_found") };
            if response.is_some() && found.is_none() {
                return error("not_found");
            }
            let mut o = String::from(r#"{"response":"#);
            o.push_str(&found.map_or(Value::Null, |r| r["id"].clone()).to_string());
            o.push_str(&format!(r#","head":{},"count":{},"items":"#, m["head"], m["count"]));
            bodies(&mut o, table(2));
            o.push('}');
            Plan {
                sql: vec![q("UPDATE meta SET touched = ?, ttl_ms = ?", vec![now_ms.into(), (*ttl_ms).into()])],
                reply: Some(o),
                alarm_ms: Some(now_ms + ttl_ms),
                drop: false,
            }
        }
        Op::Get { .. } => match table(0).first() {
            None => error("not_found"),
            Some(r) => {
                let mut o = format!(r#"{{"id":{},"parent":{},"created_ms":{},"body":"#, r["id"], r["parent"], r["created"]);
                o.push_str(r["body"].as_str().unwrap_or("null"));
                o.push('}');
                reply(o)
            }
        },
        Op::List { page, .. } => match table(0).first() {
            None => error("not_found"),
            Some(_) => list(table(1), page.limit as usize),
        },
        Op::DeleteResponse { response } => match table(0).first() {
            Some(r) => delete_response(response, &r["parent"]),
            None => error("not_found"),
        },
        Op::Delete => match meta {
            None => error("not_found"),
            Some(m) => Plan {
                sql: ["DELETE FROM items", "DELETE FROM responses", "DELETE FROM meta"].iter().map(|s| q(s, vec![])).collect(),
                reply: Some(json!({"id": m["conv"], "object": "conversation.deleted", "deleted": true}).to_string()),
                alarm_ms: None,
                drop: true,
            },
        },
        Op::Expire => {
            let until = meta.map(|m| m["touched"].as_u64().unwrap_or(0).saturating_add(m["ttl_ms"].as_u64().unwrap_or(0)));
            match until {
                Some(t) if t > now_ms => Plan { reply: Some("null".into()), alarm_ms: Some(t), ..Plan::default() },
                _ => Plan { reply: Some("null".into()), drop: true, ..Plan::default() },
            }
        }
    }
}

/// Phase 0: what each op reads.
fn reads(op: &Op) -> Vec<Query> {
    let meta = || q(META, vec![]);
    match op {
        Op::Create { .. } | Op::Delete | Op::Expire => vec![meta()],
        Op::Append(t) => vec![
            meta(),
            q("SELECT id FROM responses WHERE id = ? OR id = ?", vec![t.record.id.clone().into(), t.record.parent.clone().into()]),
        ],
        Op::Load { response, .. } => vec![
            meta(),
            q("SELECT id FROM responses WHERE id = COALESCE(?, (SELECT head FROM meta))", vec![response.clone().into()]),
            q(HISTORY, vec![response.clone().into()]),
        ],
        Op::Get { response } => vec![q("SELECT id, parent, created, body FROM responses WHERE id = ?", vec![response.clone().into()])],
        Op::List { response, page } => {
            let after: Value = page.after.clone().into();
            let r: Value = response.clone().into();
            vec![
                q("SELECT id FROM responses WHERE id = ?", vec![r.clone()]),
                q(if page.ascending { PAGE_ASC } else { PAGE_DESC }, vec![r.clone(), after.clone(), r, after, (page.limit + 1).into()]),
            ]
        }
        Op::DeleteResponse { response } => vec![q("SELECT id, parent FROM responses WHERE id = ?", vec![response.clone().into()])],
    }
}

fn create(conv: &str, now_ms: u64, ttl_ms: u64) -> Query {
    q(
        "INSERT INTO meta (one, conv, head, created, touched, ttl_ms) VALUES (1, ?, NULL, ?, ?, ?)",
        vec![conv.into(), now_ms.into(), now_ms.into(), ttl_ms.into()],
    )
}

/// Phase 1 of an append: every check, then every write.
fn append(t: &Turn, meta: Option<&Value>, found: &[Value], now_ms: u64) -> Plan {
    let stored = |id: &str| found.iter().any(|r| r["id"] == id);
    match (meta, t.create) {
        (None, false) => return error("not_found"),
        (Some(_), true) => return error("exists"),
        _ => {}
    }
    if stored(&t.record.id) {
        return error("exists");
    }
    if t.record.parent.as_deref().is_some_and(|p| !stored(p)) {
        return error("not_found");
    }
    let items: Vec<(Side, &Item)> = t.input.iter().map(|i| (Side::Input, i)).chain(t.output.iter().map(|i| (Side::Output, i))).collect();
    let mut ids: Vec<&str> = items.iter().map(|(_, i)| i.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return error("invalid");
    }
    let count = meta.and_then(|m| m["count"].as_u64()).unwrap_or(0) + items.len() as u64;
    if count > u64::from(t.limits.max_items) {
        return error("full");
    }
    let record = t.record.body.to_string();
    let bodies: Vec<String> = items.iter().map(|(_, i)| i.body.to_string()).collect();
    let max = t.limits.max_item_bytes as usize;
    if record.len() > max || bodies.iter().any(|b| b.len() > max) {
        return error("too_large");
    }
    let mut sql = Vec::with_capacity(items.len() + 3);
    if t.create {
        sql.push(create(&t.conv, now_ms, t.limits.ttl_ms));
    }
    let id: Value = t.record.id.clone().into();
    sql.push(q(
        "INSERT INTO responses (id, parent, created, body) VALUES (?, ?, ?, ?)",
        vec![id.clone(), t.record.parent.clone().into(), now_ms.into(), record.into()],
    ));
    for ((side, item), body) in items.iter().zip(bodies) {
        sql.push(q(
            "INSERT INTO items (resp, side, id, body) VALUES (?, ?, ?, ?)",
            vec![id.clone(), (*side as u8).into(), item.id.clone().into(), body.into()],
        ));
    }
    sql.push(q("UPDATE meta SET head = ?, touched = ?, ttl_ms = ?", vec![id, now_ms.into(), t.limits.ttl_ms.into()]));
    Plan { sql, reply: Some(format!(r#"{{"count":{count}}}"#)), alarm_ms: Some(now_ms + t.limits.ttl_ms), drop: false }
}

/// `[body, ...]` of the rows; a body is stored JSON text, written as is.
fn bodies(o: &mut String, rows: &[Value]) {
    o.push('[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(r["body"].as_str().unwrap_or("null"));
    }
    o.push(']');
}

/// A page from the rows read (one more than `limit`, to know whether more follow).
fn list(rows: &[Value], limit: usize) -> Plan {
    let page = &rows[..rows.len().min(limit)];
    let id = |r: Option<&Value>| r.map_or(Value::Null, |r| r["id"].clone());
    let mut o = String::from(r#"{"object":"list","data":"#);
    bodies(&mut o, page);
    o.push_str(&format!(r#","first_id":{},"last_id":{},"has_more":{}}}"#, id(page.first()), id(page.last()), rows.len() > limit));
    reply(o)
}

/// Phase 1 of deleting a response: its children follow its parent, the head moves back to
/// the parent if it was the head, and its items and record go.
fn delete_response(response: &str, parent: &Value) -> Plan {
    let r: Value = response.into();
    Plan {
        sql: vec![
            q("UPDATE responses SET parent = ? WHERE parent = ?", vec![parent.clone(), r.clone()]),
            q("UPDATE meta SET head = ? WHERE head = ?", vec![parent.clone(), r.clone()]),
            q("DELETE FROM items WHERE resp = ?", vec![r.clone()]),
            q("DELETE FROM responses WHERE id = ?", vec![r.clone()]),
        ],
        reply: Some(json!({"id": r, "object": "response", "deleted": true}).to_string()),
        ..Plan::default()
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
pub(crate) mod tests;
