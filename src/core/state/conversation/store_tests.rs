//! The conversation object's statements run on a real SQLite engine (an in-memory database
//! standing in for the object's storage), driven exactly as `objects.js` drives them: phase
//! 0's reads, their rows as JSON, phase 1's writes in one transaction, the reply, the alarm.
//! Every op, branching chains, deletion, expiry, the limits, and paging against a model.

use super::*;
use crate::core::state::conversation::op::{new_conversation_id, new_response_id, object_name, Item, Limits, Op, Page, Record, Turn};
use crate::core::state::ledger::Query;
use proptest::prelude::*;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::json;

const DAY: u64 = 86_400_000;
const LIMITS: Limits = Limits { max_items: 50, max_item_bytes: 4096, ttl_ms: DAY };

/// Statements as the object reads them from a plan's JSON.
fn queries(sql: &Value) -> Vec<Query> {
    serde_json::from_value(sql.clone()).expect("statements are [{sql, args}]")
}

/// One conversation object: its storage and its alarm.
pub(crate) struct Object {
    db: Connection,
    alarm: Option<u64>,
}

fn bind(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Value::Null => S::Null,
        Value::Bool(b) => S::Integer(i64::from(*b)),
        Value::Number(n) => n.as_i64().map_or_else(|| S::Real(n.as_f64().unwrap()), S::Integer),
        Value::String(s) => S::Text(s.clone()),
        other => panic!("a statement binds only scalars, not {other}"),
    }
}

impl Object {
    pub(crate) fn new() -> Object {
        let db = Connection::open_in_memory().unwrap();
        // objects.js runs the schema's statements one by one.
        for s in SCHEMA.split(';') {
            db.execute(s, []).unwrap();
        }
        Object { db, alarm: None }
    }

    /// Rows as the object's cursor gives them: one JSON object per row, by column name.
    fn exec(&self, q: &Query) -> Value {
        assert_eq!(q.sql.matches('?').count(), q.args.len(), "every value is bound: {}", q.sql);
        let mut st = self.db.prepare(&q.sql).unwrap_or_else(|e| panic!("{e}: {}", q.sql));
        let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
        let args: Vec<rusqlite::types::Value> = q.args.iter().map(bind).collect();
        let mut rows = st.query(rusqlite::params_from_iter(args)).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let mut o = serde_json::Map::new();
            for (i, name) in names.iter().enumerate() {
                let v = match row.get_ref(i).unwrap() {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(f) => f.into(),
                    ValueRef::Text(t) => String::from_utf8(t.to_vec()).unwrap().into(),
                    ValueRef::Blob(_) => panic!("no blobs"),
                };
                o.insert(name.clone(), v);
            }
            out.push(Value::Object(o));
        }
        Value::Array(out)
    }

    /// One call, as the object makes it: the op and the plans cross as JSON text.
    fn call(&mut self, op: &Op, now_ms: u64) -> Value {
        self.run(&serde_json::from_str(&op.to_json()).unwrap(), now_ms)
    }

    fn run(&mut self, op: &Value, now_ms: u64) -> Value {
        let reads = step(op, None, now_ms);
        assert!(reads.reply.is_none() && !reads.drop && reads.alarm_ms.is_none(), "phase 0 only reads");
        for r in queries(&serde_json::from_str(&reads.sql.to_json()).unwrap()) {
            assert!(r.sql.starts_with("SELECT") || r.sql.starts_with("WITH"), "phase 0 only reads: {}", r.sql);
        }
        let rows: Vec<Value> = queries(&serde_json::from_str(&reads.sql.to_json()).unwrap()).iter().map(|q| self.exec(q)).collect();
        let rows: Value = serde_json::from_str(&Value::Array(rows).to_string()).unwrap();
        let plan: Value = serde_json::from_str(&step(op, Some(&rows), now_ms).to_json()).unwrap();
        let statements = queries(&plan["sql"]);
        let tx = self.db.transaction().unwrap();
        for s in &statements {
            assert_eq!(s.sql.matches('?').count(), s.args.len(), "every value is bound: {}", s.sql);
            tx.execute(&s.sql, rusqlite::params_from_iter(s.args.iter().map(bind))).unwrap_or_else(|e| panic!("{e}: {}", s.sql));
        }
        tx.commit().unwrap();
        if plan["drop"] == true {
            // deleteAll(): every table and the alarm; the object then makes its tables again.
            for t in ["items", "responses", "meta"] {
                self.db.execute(&format!("DROP TABLE {t}"), []).unwrap();
            }
            *self = Object::new();
        } else if let Some(a) = plan["alarm"].as_u64() {
            self.alarm = Some(a);
        }
        serde_json::from_str(plan["reply"].as_str().expect("phase 1 replies")).unwrap()
    }

    /// An op as the gateway sends it, answered as the object answers it.
    pub(crate) fn call_json(&mut self, op: &str, now_ms: u64) -> String {
        self.run(&serde_json::from_str(op).expect("the gateway's op is JSON"), now_ms).to_string()
    }

    pub(crate) fn count(&self, table: &str) -> i64 {
        self.db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }
}

fn conv() -> String {
    new_conversation_id(&[0x5a; 16]).unwrap()
}

fn msg(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

/// A turn of response `id` after `parent`, one input and one output item named after it.
fn turn(id: &str, parent: Option<&str>, create: bool) -> Op {
    Op::Append(Box::new(Turn {
        conv: conv(),
        create,
        record: Record { id: id.into(), parent: parent.map(str::to_string), body: json!({"id": id}) },
        input: vec![Item { id: format!("{id}.in"), body: msg(&format!("{id} asks")) }],
        output: vec![Item { id: format!("{id}.out"), body: json!({"role": "assistant", "content": format!("{id} answers")}) }],
        limits: LIMITS,
    }))
}

fn load(obj: &mut Object, response: Option<&str>, now_ms: u64) -> Value {
    obj.call(&Op::Load { response: response.map(str::to_string), ttl_ms: DAY }, now_ms)
}

/// The history's texts.
fn texts(history: &Value) -> Vec<String> {
    history["items"].as_array().unwrap().iter().map(|i| i["content"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_sql_texts_need_no_escaping_in_json() {
    for sql in [SCHEMA, META, HISTORY, PAGE_ASC, PAGE_DESC] {
        assert!(sql.chars().all(|c| c != '"' && c != '\\' && !c.is_control()), "{sql}");
    }
    let plan = step(&json!({"op": "get", "id": "a\"b"}), None, 1);
    assert_eq!(queries(&serde_json::from_str(&plan.sql.to_json()).unwrap())[0].args, [json!("a\"b")]);
    assert_eq!(Statements::default().to_json(), "[]");
}

#[test]
fn every_statement_binds_all_its_values() {
    let page = Page { after: Some("a".into()), limit: 3, ascending: false };
    let ops = [
        Op::Create { conv: conv(), ttl_ms: DAY },
        turn("r1", Some("r0"), false),
        Op::Load { response: None, ttl_ms: DAY },
        Op::Get { response: "r1".into() },
        Op::List { response: "r1".into(), page },
        Op::DeleteResponse { response: "r1".into() },
        Op::Delete,
        Op::Expire,
    ];
    for op in &ops {
        let op: Value = serde_json::from_str(&op.to_json()).unwrap();
        for q in queries(&serde_json::from_str(&step(&op, None, 1).sql.to_json()).unwrap()) {
            assert_eq!(q.sql.matches('?').count(), q.args.len(), "{}", q.sql);
        }
    }
}

#[test]
fn a_conversation_grows_turn_by_turn_and_loads_its_history_in_order() {
    let mut obj = Object::new();
    assert_eq!(load(&mut obj, None, 1)["error"], "not_found", "nothing before the first turn");
    assert_eq!(obj.call(&turn("r1", None, true), 10), json!({"count": 2}));
    assert_eq!(obj.call(&turn("r2", Some("r1"), false), 20), json!({"count": 4}));
    assert_eq!(obj.call(&turn("r3", Some("r2"), false), 30), json!({"count": 6}));
    let h = load(&mut obj, None, 40);
    assert_eq!((h["response"].as_str(), h["head"].as_str(), h["count"].as_u64()), (Some("r3"), Some("r3"), Some(6)));
    assert_eq!(texts(&h), ["r1 asks", "r1 answers", "r2 asks", "r2 answers", "r3 asks", "r3 answers"]);
    let h = load(&mut obj, Some("r2"), 50);
    assert_eq!(texts(&h), ["r1 asks", "r1 answers", "r2 asks", "r2 answers"], "a response's history stops at it");
    assert_eq!(load(&mut obj, Some("r9"), 60)["error"], "not_found");
}

#[test]
fn an_empty_conversation_has_an_empty_history() {
    let mut obj = Object::new();
    let created = obj.call(&Op::Create { conv: conv(), ttl_ms: DAY }, 5_000);
    assert_eq!(created, json!({"id": conv(), "object": "conversation", "created_at": 5}));
    assert_eq!(obj.call(&Op::Create { conv: conv(), ttl_ms: DAY }, 6_000)["error"], "exists");
    assert_eq!(load(&mut obj, None, 7_000), json!({"response": null, "head": null, "count": 0, "created_ms": 5_000, "items": []}));
    assert_eq!(obj.call(&turn("r1", None, false), 8_000), json!({"count": 2}), "a created conversation takes turns");
}

#[test]
fn chains_branch_and_each_branch_keeps_its_own_history() {
    let mut obj = Object::new();
    obj.call(&turn("r1", None, true), 1);
    obj.call(&turn("a2", Some("r1"), false), 2);
    obj.call(&turn("b2", Some("r1"), false), 3);
    obj.call(&turn("a3", Some("a2"), false), 4);
    assert_eq!(texts(&load(&mut obj, Some("b2"), 5)), ["r1 asks", "r1 answers", "b2 asks", "b2 answers"]);
    let head = load(&mut obj, None, 6);
    assert_eq!(head["head"], "a3", "the head is the response appended last");
    assert_eq!(texts(&head), ["r1 asks", "r1 answers", "a2 asks", "a2 answers", "a3 asks", "a3 answers"]);
    assert_eq!(head["count"], 8, "the count is every branch's");
}

#[test]
fn a_refused_turn_writes_nothing() {
    let mut obj = Object::new();
    assert_eq!(obj.call(&turn("r1", None, false), 1)["error"], "not_found", "no conversation, no create");
    assert_eq!(obj.count("meta"), 0);
    obj.call(&turn("r1", None, true), 2);
    let refused =
        [(turn("r2", None, true), "exists"), (turn("r1", Some("r1"), false), "exists"), (turn("r2", Some("gone"), false), "not_found")];
    for (op, why) in refused {
        assert_eq!(obj.call(&op, 3)["error"], why);
    }
    let mut twice = turn("r2", Some("r1"), false);
    if let Op::Append(t) = &mut twice {
        t.output[0].id = t.input[0].id.clone();
    }
    assert_eq!(obj.call(&twice, 4)["error"], "invalid", "two items of a turn with one id");
    let mut big = turn("r2", Some("r1"), false);
    if let Op::Append(t) = &mut big {
        t.input.push(Item { id: "big".into(), body: msg(&"x".repeat(4096)) });
    }
    assert_eq!(obj.call(&big, 5)["error"], "too_large");
    let mut big_record = turn("r2", Some("r1"), false);
    if let Op::Append(t) = &mut big_record {
        t.record.body = json!("y".repeat(5000));
    }
    assert_eq!(obj.call(&big_record, 5)["error"], "too_large", "the record counts too");
    assert_eq!((obj.count("responses"), obj.count("items")), (1, 2), "nothing of a refused turn was stored");
}

#[test]
fn a_full_conversation_refuses_the_turn_that_would_overflow_it() {
    let mut obj = Object::new();
    let small = |id: &str, parent: Option<&str>, create| match turn(id, parent, create) {
        Op::Append(mut t) => {
            t.limits.max_items = 5;
            Op::Append(t)
        }
        _ => unreachable!(),
    };
    obj.call(&small("r1", None, true), 1);
    obj.call(&small("r2", Some("r1"), false), 2);
    assert_eq!(obj.call(&small("r3", Some("r2"), false), 3)["error"], "full", "4 held + 2 > 5");
    assert_eq!(load(&mut obj, None, 4)["count"], 4);
}

#[test]
fn a_record_reads_back_with_its_parent_and_time() {
    let mut obj = Object::new();
    obj.call(&turn("r1", None, true), 1_000);
    obj.call(&turn("r2", Some("r1"), false), 2_000);
    let got = obj.call(&Op::Get { response: "r2".into() }, 3_000);
    assert_eq!(got, json!({"id": "r2", "parent": "r1", "created_ms": 2000, "body": {"id": "r2"}}));
    assert_eq!(obj.call(&Op::Get { response: "r1".into() }, 3_000)["parent"], Value::Null);
    assert_eq!(obj.call(&Op::Get { response: "r9".into() }, 3_000)["error"], "not_found");
}

#[test]
fn deleting_a_response_reconnects_its_children_to_its_parent() {
    let mut obj = Object::new();
    obj.call(&turn("r1", None, true), 1);
    obj.call(&turn("r2", Some("r1"), false), 2);
    obj.call(&turn("r3", Some("r2"), false), 3);
    let deleted = obj.call(&Op::DeleteResponse { response: "r2".into() }, 4);
    assert_eq!(deleted, json!({"id": "r2", "object": "response", "deleted": true}));
    assert_eq!(texts(&load(&mut obj, Some("r3"), 5)), ["r1 asks", "r1 answers", "r3 asks", "r3 answers"]);
    assert_eq!(obj.call(&Op::Get { response: "r2".into() }, 6)["error"], "not_found");
    assert_eq!(obj.call(&Op::DeleteResponse { response: "r2".into() }, 6)["error"], "not_found");
    obj.call(&Op::DeleteResponse { response: "r3".into() }, 7);
    let h = load(&mut obj, None, 8);
    assert_eq!((h["head"].as_str(), h["count"].as_u64()), (Some("r1"), Some(2)), "the head moves back to the parent");
    obj.call(&Op::DeleteResponse { response: "r1".into() }, 9);
    let h = load(&mut obj, None, 10);
    assert_eq!((&h["response"], &h["head"], &h["count"], &h["items"]), (&json!(null), &json!(null), &json!(0), &json!([])));
}

#[test]
fn deleting_the_conversation_drops_everything() {
    let mut obj = Object::new();
    assert_eq!(obj.call(&Op::Delete, 1)["error"], "not_found");
    obj.call(&turn("r1", None, true), 1);
    assert_eq!(obj.call(&Op::Delete, 2), json!({"id": conv(), "object": "conversation.deleted", "deleted": true}));
    assert_eq!((obj.count("meta"), obj.alarm), (0, None));
    assert_eq!(load(&mut obj, None, 3)["error"], "not_found");
    assert_eq!(obj.call(&Op::Get { response: "r1".into() }, 3)["error"], "not_found");
}

#[test]
fn an_idle_conversation_expires_and_a_used_one_does_not() {
    let mut obj = Object::new();
    obj.call(&turn("r1", None, true), 1_000);
    assert_eq!(obj.alarm, Some(1_000 + DAY), "an append sets the alarm");
    load(&mut obj, None, 5_000);
    assert_eq!(obj.alarm, Some(5_000 + DAY), "a load renews it");
    // An alarm that rings early (set before the last use) is set again for the right time.
    assert_eq!(obj.call(&Op::Expire, 1_000 + DAY), Value::Null);
    assert_eq!((obj.alarm, obj.count("items")), (Some(5_000 + DAY), 2));
    obj.call(&Op::Get { response: "r1".into() }, 6_000);
    obj.call(&Op::Expire, 5_000 + DAY);
    assert_eq!((obj.count("meta"), obj.count("items"), obj.alarm), (0, 0, None), "idle past its lifetime: gone");
    assert_eq!(load(&mut obj, None, 6_000 + DAY)["error"], "not_found");
    assert_eq!(obj.call(&Op::Expire, 1), Value::Null, "an alarm on an empty object only clears it");
}

#[test]
fn another_tenants_object_knows_none_of_the_ids() {
    // Objects are addressed by tenant and id: the same id under another tenant is a fresh
    // object, and answers as an unknown id does.
    let mut objects = std::collections::BTreeMap::new();
    let id = conv();
    objects.entry(object_name("acme", &id)).or_insert_with(Object::new).call(&turn("r1", None, true), 1);
    let other = objects.entry(object_name("globex", &id)).or_insert_with(Object::new);
    assert_eq!(load(other, None, 2)["error"], "not_found");
    assert_eq!(other.call(&Op::Get { response: "r1".into() }, 2)["error"], "not_found");
    assert_eq!(other.call(&turn("r2", Some("r1"), false), 2)["error"], "not_found");
    assert_eq!(objects.len(), 2);
}

#[test]
fn plans_are_decided_from_the_rows_alone() {
    // Phase 1 without an engine: rows as the object would pass them.
    let rows = json!([[{"conv": conv(), "head": "r1", "created": 1, "touched": 1, "ttl_ms": DAY, "count": 49}], [{"id": "r1"}]]);
    let append: Value = serde_json::from_str(&turn("r2", Some("r1"), false).to_json()).unwrap();
    assert_eq!(step(&append, Some(&rows), 2).reply.as_deref(), Some(r#"{"error":"full"}"#));
    let rows = json!([[{"conv": conv(), "head": "r1", "created": 1, "touched": 1, "ttl_ms": DAY, "count": 48}], [{"id": "r1"}]]);
    let plan = step(&append, Some(&rows), 2);
    let sql = queries(&serde_json::from_str(&plan.sql.to_json()).unwrap());
    assert_eq!((plan.reply.as_deref(), plan.alarm_ms, sql.len()), (Some(r#"{"count":50}"#), Some(2 + DAY), 4));
    let rows = json!([[{"touched": 10, "ttl_ms": 5}]]);
    let expire = json!({"op": "expire"});
    assert_eq!(step(&expire, Some(&rows), 14), Plan { reply: Some("null".into()), alarm_ms: Some(15), ..Plan::default() });
    assert!(step(&expire, Some(&rows), 15).drop);
    assert_eq!(step(&json!({"op": "nope"}), Some(&json!([[]])), 1).reply.as_deref(), Some(r#"{"error":"invalid"}"#));
}

/// A conversation whose response `r` has `n` input items `i0..`, with output items and a
/// second response's input items around them that no page of `r` may show.
fn listed(n: usize) -> Object {
    let mut obj = Object::new();
    let item = |id: String| Item { body: json!({"id": id}), id };
    let append = |id: &str, parent: Option<&str>, input: Vec<Item>, create| {
        Op::Append(Box::new(Turn {
            conv: conv(),
            create,
            record: Record { id: id.into(), parent: parent.map(str::to_string), body: json!({}) },
            input,
            output: vec![item(format!("{id}.out"))],
            limits: Limits { max_items: 1000, ..LIMITS },
        }))
    };
    obj.call(&append("r0", None, vec![item("i0".into())], true), 1);
    obj.call(&append("r", Some("r0"), (0..n).map(|i| item(format!("i{i}"))).collect(), false), 2);
    obj.call(&append("r2", Some("r"), vec![item("i0".into()), item("z".into())], false), 3);
    obj
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every page is the model's: the items after `after` in `order`, at most `limit`, and
    /// `has_more` exactly when more follow.
    #[test]
    fn pages_follow_openai_paging(n in 0usize..30, limit in 1u32..=100, after in prop::option::of(0usize..34), ascending: bool) {
        let mut obj = listed(n);
        let ids: Vec<String> = (0..n).map(|i| format!("i{i}")).collect();
        let mut ordered = ids.clone();
        if !ascending {
            ordered.reverse();
        }
        let after = after.map(|a| format!("i{a}"));
        let rest: Vec<String> = match &after {
            None => ordered,
            Some(a) => match ordered.iter().position(|x| x == a) {
                Some(p) => ordered[p + 1..].to_vec(),
                None => Vec::new(),
            },
        };
        let want: Vec<String> = rest.iter().take(limit as usize).cloned().collect();
        let page = obj.call(&Op::List { response: "r".into(), page: Page { after, limit, ascending } }, 4);
        let got: Vec<String> = page["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(page["object"].as_str(), Some("list"));
        prop_assert_eq!(page["has_more"].as_bool(), Some(rest.len() > limit as usize));
        prop_assert_eq!(page["first_id"].as_str(), want.first().map(String::as_str));
        prop_assert_eq!(page["last_id"].as_str(), want.last().map(String::as_str));
    }
}

#[test]
fn paging_walks_every_item_once_and_knows_unknown_responses() {
    let mut obj = listed(45);
    for ascending in [true, false] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = obj.call(&Op::List { response: "r".into(), page: Page { after, limit: 10, ascending } }, 5);
            seen.extend(page["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()));
            if page["has_more"] != true {
                break;
            }
            after = page["last_id"].as_str().map(str::to_string);
        }
        let mut want: Vec<String> = (0..45).map(|i| format!("i{i}")).collect();
        if !ascending {
            want.reverse();
        }
        assert_eq!(seen, want);
    }
    let page = Page { after: None, limit: 20, ascending: true };
    assert_eq!(obj.call(&Op::List { response: "nope".into(), page }, 6)["error"], "not_found");
}

#[test]
fn response_ids_made_for_a_conversation_name_it() {
    let id = new_response_id(&conv(), 99);
    assert_eq!(crate::core::state::conversation::op::conversation_of(&id), Some(conv()));
}
