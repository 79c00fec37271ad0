//! A conversation's Durable Object, as pure functions: its tables, and for each op (an
//! [`Op`](crate::core::state::conversation::Op) as its JSON) the
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

use serde_json::Value;
use std::fmt::Write;

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
    pub sql: Statements,
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
        let mut o = String::from(r#"{"sql":"#);
        o.push_str(&self.sql.to_json());
        if let Some(r) = &self.reply {
            o.push_str(r#","reply":"#);
            o.push_str(&Value::from(r.as_str()).to_string());
        }
        if let Some(a) = self.alarm_ms {
            o.push_str(&format!(r#","alarm":{a}"#));
        }
        if self.drop {
            o.push_str(r#","drop":true"#);
        }
        o.push('}');
        o
    }
}

/// Statements with their bound values, kept as the JSON array the object runs
/// (`[{"sql", "args"}]`). The SQL texts are this module's constants, free of characters JSON
/// would escape (a test checks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statements(String);

impl Statements {
    fn of(sql: &str, args: &[&Value]) -> Statements {
        let mut s = Statements::default();
        s.push(sql, args);
        s
    }

    fn push(&mut self, sql: &str, args: &[&Value]) {
        let o = &mut self.0;
        o.push_str(if o.is_empty() { r#"[{"sql":""# } else { r#",{"sql":""# });
        o.push_str(sql);
        o.push_str(r#"","args":["#);
        for (i, a) in args.iter().enumerate() {
            let _ = write!(o, "{}{a}", if i == 0 { "" } else { "," });
        }
        o.push_str("]}");
    }

    /// The JSON array, `[{"sql", "args"}]`.
    pub fn to_json(&self) -> String {
        if self.0.is_empty() {
            return "[]".into();
        }
        format!("{}]", self.0)
    }
}

fn reply(text: String) -> Plan {
    Plan { reply: Some(text), ..Plan::default() }
}

fn error(kind: &str) -> Plan {
    reply(format!(r#"{{"error":"{kind}"}}"#))
}

/// The statements and reply for one phase of `op` (an
/// [`Op`](crate::core::state::conversation::Op) as its `to_json` wrote it): `rows` is `None`
/// for phase 0, then the rows each phase-0 statement read (`[[{column: value}]]`, as the
/// object's SQL cursor gives them). `now_ms` is the object's clock. Answers, besides errors:
/// - create: `{"id", "object": "conversation", "created_at"}`;
/// - append: `{"count"}`, the items the conversation then holds;
/// - load: `{"response", "head", "count", "created_ms", "items": [...]}`, the response whose
///   history it is (`null` for a conversation with none yet), the head, the items held, when
///   the conversation was created, the history;
/// - get: `{"id", "parent", "created_ms", "body"}`;
/// - list: `{"object": "list", "data", "first_id", "last_id", "has_more"}`;
/// - delete_response: `{"id", "object": "response", "deleted": true}`;
/// - delete: `{"id", "object": "conversation.deleted", "deleted": true}`;
/// - expire: `null`.
pub fn step(op: &Value, rows: Option<&Value>, now_ms: u64) -> Plan {
    let kind = op["op"].as_str().unwrap_or_default();
    let Some(rows) = rows else { return Plan { sql: reads(kind, op), ..Plan::default() } };
    let table = |i: usize| rows.get(i).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let (first, meta) = (table(0).first(), table(0).first().filter(|_| !matches!(kind, "get" | "list" | "delete_response")));
    let ttl = &op["ttl_ms"];
    let now = Value::from(now_ms);
    let touched =
        |sql: Statements, reply: String| Plan { sql, reply: Some(reply), alarm_ms: Some(now_ms + ttl.as_u64().unwrap_or(0)), drop: false };
    match (kind, meta, first) {
        ("create", None, _) => touched(
            create(&op["conv"], &now, ttl),
            format!(r#"{{"id":{},"object":"conversation","created_at":{}}}"#, op["conv"], now_ms / 1000),
        ),
        ("create", Some(_), _) => error("exists"),
        ("append", ..) => append(op, meta, table(1), now_ms),
        ("load", Some(m), _) => match table(1).first() {
            None if !op["id"].is_null() => error("not_found"),
            found => {
                let mut o = String::from(r#"{"response":"#);
                o.push_str(&found.map_or(Value::Null, |r| r["id"].clone()).to_string());
                o.push_str(&format!(r#","head":{},"count":{},"created_ms":{},"items":"#, m["head"], m["count"], m["created"]));
                bodies(&mut o, table(2));
                o.push('}');
                touched(Statements::of("UPDATE meta SET touched = ?, ttl_ms = ?", &[&now, ttl]), o)
            }
        },
        ("get", _, Some(r)) => {
            let mut o = format!(r#"{{"id":{},"parent":{},"created_ms":{},"body":"#, r["id"], r["parent"], r["created"]);
            o.push_str(r["body"].as_str().unwrap_or("null"));
            o.push('}');
            reply(o)
        }
        ("list", _, Some(_)) => list(table(1), op["limit"].as_u64().unwrap_or(20) as usize),
        ("delete_response", _, Some(r)) => delete_response(&op["id"], &r["parent"]),
        ("delete", Some(m), _) => Plan {
            sql: ["DELETE FROM items", "DELETE FROM responses", "DELETE FROM meta"].iter().fold(Statements::default(), |mut s, d| {
                s.push(d, &[]);
                s
            }),
            reply: Some(format!(r#"{{"id":{},"object":"conversation.deleted","deleted":true}}"#, m["conv"])),
            alarm_ms: None,
            drop: true,
        },
        ("expire", ..) => {
            let until = meta.map(|m| m["touched"].as_u64().unwrap_or(0).saturating_add(m["ttl_ms"].as_u64().unwrap_or(0)));
            match until {
                Some(t) if t > now_ms => Plan { reply: Some("null".into()), alarm_ms: Some(t), ..Plan::default() },
                _ => Plan { reply: Some("null".into()), drop: true, ..Plan::default() },
            }
        }
        ("load" | "get" | "list" | "delete_response" | "delete", ..) => error("not_found"),
        _ => error("invalid"),
    }
}

/// Phase 0: what each op reads (the conversation's `meta` row first, for those that need it).
fn reads(kind: &str, op: &Value) -> Statements {
    let id = &op["id"];
    let mut s = Statements::default();
    match kind {
        "get" | "delete_response" => s.push("SELECT id, parent, created, body FROM responses WHERE id = ?", &[id]),
        "list" => {
            let (after, limit) = (&op["after"], Value::from(op["limit"].as_u64().unwrap_or(20) + 1));
            s.push("SELECT id FROM responses WHERE id = ?", &[id]);
            s.push(if op["asc"] == true { PAGE_ASC } else { PAGE_DESC }, &[id, after, id, after, &limit]);
        }
        _ => s.push(META, &[]),
    }
    match kind {
        "append" => s.push("SELECT id FROM responses WHERE id = ? OR id = ?", &[id, &op["parent"]]),
        "load" => {
            s.push("SELECT id FROM responses WHERE id = COALESCE(?, (SELECT head FROM meta))", &[id]);
            s.push(HISTORY, &[id]);
        }
        _ => {}
    }
    s
}

fn create(conv: &Value, now: &Value, ttl: &Value) -> Statements {
    Statements::of("INSERT INTO meta (one, conv, head, created, touched, ttl_ms) VALUES (1, ?, NULL, ?, ?, ?)", &[conv, now, now, ttl])
}

/// Phase 1 of an append: every check, then every write.
fn append(op: &Value, meta: Option<&Value>, found: &[Value], now_ms: u64) -> Plan {
    let (id, parent) = (&op["id"], &op["parent"]);
    let stored = |v: &Value| found.iter().any(|r| &r["id"] == v);
    let create = op["create"] == true;
    match (meta, create) {
        (None, false) => return error("not_found"),
        (Some(_), true) => return error("exists"),
        _ => {}
    }
    if stored(id) {
        return error("exists");
    }
    if !parent.is_null() && !stored(parent) {
        return error("not_found");
    }
    let side = |k: &str| op[k].as_array().map(Vec::as_slice).unwrap_or_default();
    let items: Vec<(u8, &Value)> = side("input").iter().map(|i| (0, i)).chain(side("output").iter().map(|i| (1, i))).collect();
    // Quadratic, but a turn holds a few items, and no sort is pulled into the module for it.
    if items.iter().enumerate().any(|(n, (_, i))| !i["id"].is_string() || items[..n].iter().any(|(_, j)| j["id"] == i["id"])) {
        return error("invalid");
    }
    let count = meta.and_then(|m| m["count"].as_u64()).unwrap_or(0) + items.len() as u64;
    if count > op["max_items"].as_u64().unwrap_or(0) {
        return error("full");
    }
    let record = op["body"].to_string();
    let bodies: Vec<String> = items.iter().map(|(_, i)| i["body"].to_string()).collect();
    let max = op["max_item_bytes"].as_u64().unwrap_or(0) as usize;
    if record.len() > max || bodies.iter().any(|b| b.len() > max) {
        return error("too_large");
    }
    let (ttl, now) = (&op["ttl_ms"], &Value::from(now_ms));
    let mut sql = if create { self::create(&op["conv"], now, ttl) } else { Statements::default() };
    sql.push("INSERT INTO responses (id, parent, created, body) VALUES (?, ?, ?, ?)", &[id, parent, now, &record.into()]);
    for ((side, item), body) in items.iter().zip(bodies) {
        sql.push("INSERT INTO items (resp, side, id, body) VALUES (?, ?, ?, ?)", &[id, &(*side).into(), &item["id"], &body.into()]);
    }
    sql.push("UPDATE meta SET head = ?, touched = ?, ttl_ms = ?", &[id, now, ttl]);
    let alarm_ms = Some(now_ms + ttl.as_u64().unwrap_or(0));
    Plan { sql, reply: Some(format!(r#"{{"count":{count}}}"#)), alarm_ms, drop: false }
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
fn delete_response(r: &Value, parent: &Value) -> Plan {
    let mut sql = Statements::of("UPDATE responses SET parent = ? WHERE parent = ?", &[parent, r]);
    sql.push("UPDATE meta SET head = ? WHERE head = ?", &[parent, r]);
    sql.push("DELETE FROM items WHERE resp = ?", &[r]);
    sql.push("DELETE FROM responses WHERE id = ?", &[r]);
    Plan { sql, reply: Some(format!(r#"{{"id":{r},"object":"response","deleted":true}}"#)), ..Plan::default() }
}

#[cfg(test)]
#[path = "store_tests.rs"]
pub(crate) mod tests;
