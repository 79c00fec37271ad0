//! One queued job's Durable Object (`Job` in the edge's `objects.js`), as a pure state
//! machine: the object loads its state (one JSON document), calls [`apply`] with an op and
//! its clock, and stores, answers, sends and sets the alarm as the [`Outcome`] says.
//!
//! A job is `queued` → `running` → `succeeded` | `failed`, or `cancelled` from either of
//! the first two. Invariants:
//! - Only a queued job, or a running one whose lease ran out, can be claimed; a claim names
//!   a fresh lease token, and only that token's holder may release or finish the job. So a
//!   duplicate delivery never runs a job that is running or finished, and a stale holder's
//!   result is dropped (compare-and-set on the token).
//! - A job claimed `max_attempts` times without an answer fails instead of running again.
//! - While a job is not finished its alarm is set: when it rings and the job is still queued,
//!   or its lease ran out, the queue message is sent again (at-least-once delivery even if a
//!   message is lost). A finished job's alarm rings for its webhook's next try while one is
//!   due, then at the end of its retention.
//! - A job's webhook POSTs the job's view under the job's id; a background response's (its
//!   tenant's `response_events_url`) POSTs OpenAI's `response.*` event instead.
//! - A webhook's tries are counted in the stored state before each is sent, and the next one
//!   is set as the alarm: an object evicted mid-delivery tries again when the alarm rings, and
//!   a webhook is tried at most [`WEBHOOK_TRIES`] times.
//!
//! The job's payload stays here (queue messages carry only `{tenant, id}`: they are capped at
//! 128 KB, <https://developers.cloudflare.com/queues/platform/limits/>).

use crate::core::util::json_value::put;
use crate::json;
use serde_json::{Map, Value};

/// What the object does after an op.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The new state to store, when it changed.
    pub state: Option<Value>,
    /// The answer, JSON (`null`: no such job).
    pub reply: Value,
    /// Set the alarm to this time (Unix ms); `Some(0)`: delete it.
    pub alarm_ms: Option<u64>,
    /// Send the job's queue message (`{tenant, id}`) now.
    pub send: Option<Value>,
    /// The op for the tenant's object, when the job joined the queue (`job_queued`) or left
    /// it for good (`job_done`): the queue depth `/v1/stats` shows.
    pub depth: Option<&'static str>,
    /// The webhook to POST now: `{"url", "secret", "id", "body", "try"}` (`secret` by name;
    /// `body`: the job's view, as sent and signed; `try`: its number, to report with).
    pub webhook: Option<Value>,
    /// The job's retention ran out: delete the object's storage (it answers as unknown then).
    pub drop: bool,
}

impl Outcome {
    /// As the JSON the object reads: `{"state"?: string, "reply", "alarm"?, "send"?,
    /// "tenant"?: {"name", "op"}}` (`tenant`: an op to send to the tenant's object).
    pub fn to_json(&self) -> String {
        let mut o = Map::new();
        if let Some(s) = &self.state {
            put(&mut o, "state", Value::String(s.to_string()));
        }
        put(&mut o, "reply", self.reply.clone());
        if let Some(a) = self.alarm_ms {
            put(&mut o, "alarm", a.into());
        }
        if let Some(m) = &self.send {
            put(&mut o, "send", m.clone());
        }
        if let (Some(op), Some(tenant)) = (self.depth, self.state.as_ref().and_then(|s| s["tenant"].as_str())) {
            put(&mut o, "tenant", json!({"name": tenant, "op": format!("\"{op}\"")}));
        }
        if let Some(w) = &self.webhook {
            put(&mut o, "webhook", w.clone());
        }
        if self.drop {
            put(&mut o, "drop", true.into());
        }
        Value::Object(o).to_string()
    }
}

/// The wait, in seconds, after a webhook's try `n` (1-based) failed before try `n + 1`; after
/// the last try, the last wait is how long its report is awaited before giving up.
pub const WEBHOOK_RETRY_S: [u64; 5] = [5, 30, 120, 600, 3600];

/// How many times a webhook is tried in all.
pub const WEBHOOK_TRIES: u64 = WEBHOOK_RETRY_S.len() as u64 + 1;

/// The most a job's request, and apart from it its answer, may hold (bytes). The object keeps
/// both in one stored value, which a SQLite-backed Durable Object caps at 2 MB
/// (<https://developers.cloudflare.com/durable-objects/platform/limits/>): a larger answer
/// fails the job rather than the store.
pub const MAX_JOB_BYTES: usize = 1 << 20;

/// Whether a status is final.
fn is_final(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

fn num(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_default()
}

/// The job as its owner sees it (`GET /v1/jobs/{id}`): `{"id", "object": "job", "status",
/// "url", "model", "created_at", "attempts", "metadata", "result"?, "error"?, "completed_at"?}`.
pub fn view(s: &Value) -> Value {
    let mut o = Map::new();
    for k in ["id", "object", "status", "url", "model", "created_at", "attempts", "metadata", "result", "error", "completed_at"] {
        if !s[k].is_null() {
            o.insert(k.into(), s[k].clone());
        }
    }
    Value::Object(o)
}

/// The queue message that runs the job.
fn message(s: &Value) -> Value {
    json!({"tenant": s["tenant"], "id": s["id"]})
}

/// The job back in the queue: no lease, an alarm to send its message again later.
fn requeue(s: &mut Value, now_ms: u64, delay_ms: u64) -> u64 {
    s["status"] = "queued".into();
    s["lease"] = Value::Null;
    now_ms + delay_ms + num(s, "redeliver_ms")
}

/// The job finished with `status` (and `result` or `error`): its webhook, if it asked for
/// one, is sent with the job's id as `webhook-id` (a job finishes once, so every try of that
/// one message carries the same id), and its alarm set for the webhook's next try or the end
/// of its retention (deleted for a job stored without one).
fn close(mut s: Value, status: &str, now_ms: u64, reply: impl Fn(&Value) -> Value) -> Outcome {
    s["status"] = status.into();
    s["lease"] = Value::Null;
    s["completed_at"] = (now_ms / 1000).into();
    let webhook = s["webhook"].is_object().then(|| webhook_try(&mut s, now_ms));
    let alarm = finished_alarm(&s);
    Outcome { reply: reply(&s), state: Some(s), alarm_ms: Some(alarm), send: None, depth: Some("job_done"), webhook, drop: false }
}

/// One more try of the finished job's webhook: counted, and the next one's time set
/// (`hook: {"tries", "next"}`), before it is sent.
fn webhook_try(s: &mut Value, now_ms: u64) -> Value {
    let tries = num(&s["hook"], "tries") + 1;
    let wait = WEBHOOK_RETRY_S[(tries as usize - 1).min(WEBHOOK_RETRY_S.len() - 1)];
    s["hook"] = json!({"tries": tries, "next": now_ms + wait * 1000});
    let (id, body) = match s["webhook"]["event"] == "response" {
        true => response_event(s),
        false => (s["id"].clone(), view(s)),
    };
    let w = &s["webhook"];
    json!({"url": w["url"], "secret": w["secret"], "id": id, "body": body.to_string(), "try": tries})
}

/// A background response's end as OpenAI's webhook event (`response.completed`,
/// `response.incomplete`, `response.failed` or `response.cancelled`, with `data.id` the
/// response's id), and its id, made from the response's so that every try carries the same.
/// Reference: <https://platform.openai.com/docs/api-reference/webhook-events>.
fn response_event(s: &Value) -> (Value, Value) {
    let kind = match (s["status"].as_str(), s["result"]["body"]["status"].as_str()) {
        (Some("succeeded"), Some(k @ ("incomplete" | "failed"))) => k,
        (Some("succeeded"), _) => "completed",
        (Some("cancelled"), _) => "cancelled",
        _ => "failed",
    };
    let response = s["id"].as_str().unwrap_or_default();
    let id = format!("evt_{}", &crate::core::util::secret::sha256_hex(response.as_bytes())[..32]);
    let event =
        json!({"id": id, "object": "event", "type": format!("response.{kind}"), "created_at": s["completed_at"], "data": {"id": response}});
    (id.into(), event)
}

/// The webhook is done with: `delivered`, or given up on.
fn webhook_done(mut s: Value, delivered: bool) -> Outcome {
    s["hook"] = json!({"tries": s["hook"]["tries"], "delivered": delivered});
    Outcome { reply: json!({"ok": true, "delivered": delivered}), alarm_ms: Some(expiry(&s)), state: Some(s), ..Outcome::default() }
}

/// A finished job's alarm: its webhook's next try while one is pending, else when its
/// retention runs out (0: none).
fn finished_alarm(s: &Value) -> u64 {
    match num(&s["hook"], "next") {
        0 => expiry(s),
        next => next,
    }
}

/// When a finished job's object goes (Unix ms; 0: never, for a job stored without a
/// retention).
fn expiry(s: &Value) -> u64 {
    match num(s, "retention_ms") {
        0 => 0,
        keep => num(s, "completed_at") * 1000 + keep,
    }
}

/// The job's lease token matches `op.token` and has not been taken over.
fn holds(s: &Value, op: &Value) -> bool {
    s["status"] == "running" && !op["token"].is_null() && s["lease"]["token"] == op["token"]
}

/// Apply one op (JSON, `{"op": ...}`) to the stored state (`None`: no job here). Ops, and
/// what they answer:
/// - `create {"job": {...}}`: the job as the front built it (id, tenant, url, body,
///   metadata, who, created_at, redeliver_ms, lease_ms, max_attempts), queued and sent; its
///   view (an existing job's, unchanged, when the id is taken).
/// - `get`: the view; `cancel`: a job not finished is cancelled; the view.
/// - `claim {"token"}`: `{"claimed": true, "url", "model", "body", "who", "attempts",
///   "lease_ms"}`, or
///   `{"claimed": false, "status"}` when the job is not queued (nor its lease expired).
/// - `release {"token", "delay_ms", "counted"}`: the holder puts it back in the queue (a
///   full concurrency slot, not `counted` as an attempt; or a 429); `{"ok"}`.
/// - `finish {"token", "status", "body"}`: the holder's result (2xx: succeeded, else
///   failed); `{"ok"}`, false for a stale holder (the result is dropped).
/// - `dead`: the dead-letter queue's verdict: a job not finished fails.
/// - `webhook {"try", "ok", "fatal"?}`: how a webhook try went. A 2xx (`ok`) ends the
///   webhook, from any try; a failure of the latest try ends it when it was the last try or
///   `fatal` (retrying cannot help), else the alarm tries again. `{"ok", "delivered"?}`.
/// - `alarm`: a queued job, or a running one whose lease ran out, is sent again; a finished
///   one's webhook is tried again when due (given up after the last try); a finished one
///   past its retention is dropped (its storage deleted).
pub fn apply(stored: Option<&Value>, op: &Value, now_ms: u64) -> Outcome {
    let name = op["op"].as_str().unwrap_or_default();
    let Some(s) = stored.filter(|s| s.is_object()) else {
        let job = &op["job"];
        if name != "create" || !job.is_object() {
            return Outcome { reply: Value::Null, ..Outcome::default() };
        }
        let mut s = job.clone();
        s["object"] = "job".into();
        s["attempts"] = 0.into();
        let alarm = requeue(&mut s, now_ms, 0);
        return Outcome {
            reply: view(&s),
            send: Some(message(&s)),
            state: Some(s),
            alarm_ms: Some(alarm),
            depth: Some("job_queued"),
            webhook: None,
            drop: false,
        };
    };
    let mut s = s.clone();
    let status = s["status"].as_str().unwrap_or_default().to_string();
    let lease_out = num(&s["lease"], "until") <= now_ms;
    let unchanged = |reply| Outcome { reply, ..Outcome::default() };
    match name {
        "cancel" if !is_final(&status) => close(s, "cancelled", now_ms, view),
        "claim" if status == "queued" || status == "running" && lease_out => {
            let attempts = num(&s, "attempts");
            if attempts >= num(&s, "max_attempts").max(1) {
                s["error"] = format!("no answer after {attempts} attempts").into();
                return close(s, "failed", now_ms, |_| json!({"claimed": false, "status": "failed"}));
            }
            let until = now_ms + num(&s, "lease_ms");
            s["status"] = "running".into();
            s["attempts"] = (attempts + 1).into();
            s["lease"] = json!({"token": op["token"], "until": until});
            let reply = json!({"claimed": true, "url": s["url"], "model": s["model"], "body": s["body"], "who": s["who"], "attempts": attempts + 1, "lease_ms": s["lease_ms"]});
            Outcome { reply, state: Some(s), alarm_ms: Some(until), send: None, depth: None, webhook: None, drop: false }
        }
        "claim" => unchanged(json!({"claimed": false, "status": status})),
        "release" if holds(&s, op) => {
            if op["counted"] == false {
                s["attempts"] = num(&s, "attempts").saturating_sub(1).into();
            }
            let alarm = requeue(&mut s, now_ms, num(op, "delay_ms"));
            Outcome {
                reply: json!({"ok": true}),
                state: Some(s),
                alarm_ms: Some(alarm),
                send: None,
                depth: None,
                webhook: None,
                drop: false,
            }
        }
        "finish" if holds(&s, op) => {
            let code = num(op, "status");
            let text = op["body"].as_str().unwrap_or_default();
            if text.len() > MAX_JOB_BYTES {
                s["error"] = format!("the answer ({} bytes) is larger than a job keeps ({MAX_JOB_BYTES} bytes)", text.len()).into();
                s["result"] = json!({"status": code, "body": null});
                return close(s, "failed", now_ms, |_| json!({"ok": true}));
            }
            let body = serde_json::from_slice::<Value>(text.as_bytes()).unwrap_or_else(|_| text.into());
            s["result"] = json!({"status": code, "body": body});
            let done = if (200..300).contains(&code) { "succeeded" } else { "failed" };
            close(s, done, now_ms, |_| json!({"ok": true}))
        }
        "release" | "finish" => unchanged(json!({"ok": false})),
        "dead" if !is_final(&status) => {
            s["error"] = format!("dead-lettered after {} attempts", num(&s, "attempts")).into();
            close(s, "failed", now_ms, view)
        }
        "alarm" if status == "queued" || status == "running" && lease_out => {
            let alarm = requeue(&mut s, now_ms, 0);
            Outcome {
                reply: Value::Null,
                send: Some(message(&s)),
                state: Some(s),
                alarm_ms: Some(alarm),
                depth: None,
                webhook: None,
                drop: false,
            }
        }
        "alarm" if status == "running" => Outcome { alarm_ms: Some(num(&s["lease"], "until")), ..unchanged(Value::Null) },
        "webhook" if is_final(&status) && num(&s["hook"], "next") > 0 => {
            let latest = op["try"] == s["hook"]["tries"];
            match op["ok"] == true {
                true => webhook_done(s, true),
                false if latest && (op["fatal"] == true || num(&s["hook"], "tries") >= WEBHOOK_TRIES) => webhook_done(s, false),
                false => unchanged(json!({"ok": true})),
            }
        }
        "alarm" if is_final(&status) && num(&s["hook"], "next") > 0 => match num(&s["hook"], "next") {
            at if at > now_ms => Outcome { alarm_ms: Some(at), ..unchanged(Value::Null) },
            _ if num(&s["hook"], "tries") >= WEBHOOK_TRIES => Outcome { reply: Value::Null, ..webhook_done(s, false) },
            _ => {
                let webhook = Some(webhook_try(&mut s, now_ms));
                Outcome { alarm_ms: Some(finished_alarm(&s)), webhook, state: Some(s), ..unchanged(Value::Null) }
            }
        },
        "alarm" if is_final(&status) && expiry(&s) > 0 => match expiry(&s) {
            at if at <= now_ms => Outcome { drop: true, ..unchanged(Value::Null) },
            at => Outcome { alarm_ms: Some(at), ..unchanged(Value::Null) },
        },
        _ => unchanged(view(&s)),
    }
}

#[cfg(test)]
#[path = "job_tests.rs"]
mod tests;
