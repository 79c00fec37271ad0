//! One request as the driver sees it: a [`Step`] holding the current [`Action`] and what
//! the request is waiting for, moved on by one [`Gateway::resume`] per [`Event`], and closed
//! by one [`Gateway::after`] once the reply went out.
//!
//! Every continuation is one [`Flow`]: a request across its attempts
//! (a [`Session`]), a key lookup or admin operation waiting on KV, a usage query waiting
//! on the tenant's object, or a token count waiting on its sub-request. The driver never needs to know which.
//!
//! Invariant: an event that does not fit what the step is waiting for ends the request with
//! a JSON 500 (a driver bug), never a panic.

use crate::core::error::{Code, GatewayError};
use crate::core::front::converse;
use crate::core::front::count;
use crate::core::front::flow::Flow;
use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::front::isolate::{batches_json, Held, Read, Wake};
use crate::core::front::usage;
use crate::core::pipeline::protocol::{self, error_reply, Action, Event};
use crate::core::pipeline::session::Session;
use crate::core::state::analytics::DataPoint;
use crate::core::state::settle_queue::Batch;
use crate::core::types::Dialect;
use std::fmt::Write;

/// One request in flight: its current action and its continuation.
#[derive(Debug)]
pub struct Step {
    flow: Flow,
    action: Action,
    request_id: String,
    /// The request's id among this isolate's requests in flight.
    id: u64,
    /// What it holds in the isolate's machines (a key it leads or follows for).
    held: Held,
    /// Followers to wake, sent with the next action.
    wake: Option<Wake>,
}

/// The work a finished request leaves for after its response.
#[derive(Debug, Default, PartialEq)]
pub struct After {
    /// The Analytics Engine data point.
    pub analytics: Option<DataPoint>,
    /// `(key, entry, expirationTtl)` to write to the `CACHE` namespace.
    pub cache_put: Option<(String, String, u32)>,
    /// `(index object, insert op)` for the similar-prompt index.
    pub similar_put: Option<(String, String)>,
    /// The request led for the key it stores: the driver reports the write's landing with
    /// this id (`Gateway::cache_written`).
    pub lead: Option<u64>,
    /// Followers to wake.
    pub wake: Option<Wake>,
    /// Settlement batches to send to tenants' objects now.
    pub settle: Vec<Batch>,
    /// Other `(key, value, expirationTtl)` writes to the `CACHE` namespace (conversation
    /// summaries).
    pub kv_puts: Vec<(String, String, u32)>,
}

impl After {
    /// As one JSON object for the driver: `{"analytics"?, "cache_put"?: {"key", "value",
    /// "ttl", "lead"?}, "similar_put"?: {"name", "op"}, "wake"?, "value"?, "kv_puts"?: [{"key",
    /// "value", "ttl"}], "settle": [{"tenant", "chain", "op"}]}`.
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        let mut sep = "";
        if let Some(p) = &self.analytics {
            let _ = write!(o, r#""analytics":{}"#, serde_json::to_string(p).unwrap_or_else(|_| "null".into()));
            sep = ",";
        }
        if let Some((key, value, ttl)) = &self.cache_put {
            let _ = write!(o, r#"{sep}"cache_put":{{"key":"#);
            protocol::string(&mut o, key);
            o.push_str(r#","value":"#);
            protocol::string(&mut o, value);
            let _ = write!(o, r#","ttl":{ttl}"#);
            if let Some(id) = self.lead {
                let _ = write!(o, r#","lead":{id}"#);
            }
            o.push('}');
            sep = ",";
        }
        if let Some((name, op)) = &self.similar_put {
            let _ = write!(o, r#"{sep}"similar_put":{{"name":"#);
            protocol::string(&mut o, name);
            o.push_str(r#","op":"#);
            protocol::string(&mut o, op);
            o.push('}');
            sep = ",";
        }
        if let Some(w) = &self.wake {
            o.push_str(&w.members()[usize::from(sep.is_empty())..]);
            sep = ",";
        }
        if !self.kv_puts.is_empty() {
            let _ = write!(o, r#"{sep}"kv_puts":["#);
            for (i, (key, value, ttl)) in self.kv_puts.iter().enumerate() {
                o.push_str(if i == 0 { r#"{"key":"# } else { r#",{"key":"# });
                protocol::string(&mut o, key);
                o.push_str(r#","value":"#);
                protocol::string(&mut o, value);
                let _ = write!(o, r#","ttl":{ttl}}}"#);
            }
            o.push(']');
            sep = ",";
        }
        let _ = write!(o, r#"{sep}"settle":{}"#, batches_json(&self.settle));
        o.push('}');
        o
    }
}

impl Step {
    /// The current action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The current action as JSON for the driver; a reply also carries the attempts'
    /// outcomes (`"outcomes": [...]`, taken once) for the targets' Durable Objects.
    pub fn action_json(&mut self) -> String {
        let mut extra = String::new();
        if let Some(w) = self.wake.take() {
            extra.push_str(&w.members());
        }
        if let (true, Flow::Session(s)) = (self.action.replies(), &mut self.flow) {
            let outcomes = s.take_outcomes();
            if !outcomes.is_empty() {
                let _ = write!(extra, r#","outcomes":{}"#, serde_json::to_string(&outcomes).unwrap_or_else(|_| "[]".into()));
            }
            if let Action::Stream(_) = self.action {
                let _ = write!(extra, r#","idle_ms":{}"#, s.idle_timeout_ms());
            }
        }
        self.action.to_json(&extra)
    }

    /// The bytes the current action carries (moved out: call once per action).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        self.action.take_bytes()
    }

    /// The request's id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The request across its attempts, when it is one.
    pub fn session(&self) -> Option<&Session> {
        match &self.flow {
            Flow::Session(s) => Some(s),
            _ => None,
        }
    }

    /// A stream's upstream ended: the closing bytes to send, or `None` when a stored
    /// conversation's turn must be stored first. The step's action is then that store
    /// ([`Action::Conversation`]); its answer goes to the session's
    /// [`on_stream_stored`](Session::on_stream_stored), which gives the closing bytes.
    pub fn end_stream(&mut self) -> Option<Vec<u8>> {
        let s = self.session_mut()?;
        let out = s.on_end();
        let (name, op) = s.store_op().map_or((String::new(), None), |(n, o)| (n, Some(o)));
        match op {
            None => Some(out),
            Some(op) => {
                self.action = Action::Conversation { name, op };
                None
            }
        }
    }

    /// The same, mutable (the stream calls go straight to it).
    pub fn session_mut(&mut self) -> Option<&mut Session> {
        match &mut self.flow {
            Flow::Session(s) => Some(s),
            _ => None,
        }
    }
}

impl Gateway {
    /// Handle an inbound request up to its first action.
    pub fn begin(&self, inb: &Inbound) -> Step {
        let (flow, action) = self.start(inb);
        self.step_of(flow, action, inb)
    }

    /// A queued job's request, as the identity it stored (see [`Gateway::job_start`]).
    pub fn begin_job(&self, who: &str, inb: &Inbound) -> Step {
        let (flow, action) = self.job_start(who, inb);
        self.step_of(flow, action, inb)
    }

    fn step_of(&self, flow: Flow, action: Action, inb: &Inbound) -> Step {
        let request_id = match (&flow, &action) {
            (Flow::Session(s), _) => s.request_id().to_string(),
            (_, Action::Respond(r)) => r.header("x-request-id").unwrap_or_default().to_string(),
            _ => crate::core::front::gateway::request_id(inb),
        };
        let id = self.isolate.borrow_mut().next_id();
        let mut step = Step { flow, action, request_id, id, held: Held::default(), wake: None };
        self.read_cache(&mut step, inb.now_ms);
        step
    }

    /// Carry a step on with what happened to its action.
    pub fn resume(&self, step: &mut Step, event: Event, now_ms: u64) {
        let flow = std::mem::replace(&mut step.flow, Flow::Done);
        let waited = std::mem::replace(&mut step.action, Action::ReadBody);
        if let (Action::CacheGet { .. } | Action::Follow { .. }, Event::Answer(v)) = (&waited, event) {
            let key = match &waited {
                Action::CacheGet { key, .. } => key.as_str(),
                _ => "",
            };
            step.wake = self.isolate.borrow_mut().cache_answer(key, step.id, &mut step.held, v);
        }
        let (flow, action) = match (flow, event) {
            (Flow::Session(mut s), event) => match session_event(&mut s, &waited, event, now_ms) {
                Some(a) => (Flow::Session(s), a),
                None => (Flow::Session(s), misuse(&step.request_id)),
            },
            (Flow::Keys(pending), Event::Answer(v)) => self.resume_keys(pending, v),
            (Flow::Usage(next), Event::Answer(v)) => (Flow::Done, usage::answer(*next, v)),
            (Flow::Health(read), Event::Answer(v)) => {
                let (next, action) = crate::core::front::health::answer(*read, &self.health_view(), v, now_ms);
                (next.map_or(Flow::Done, |n| Flow::Stats(Box::new(n))), action)
            }
            (Flow::Stats(next), Event::Answer(v)) => (Flow::Done, crate::core::front::stats::answer(*next, v, now_ms)),
            (Flow::Count(next), Event::Called { status, body }) => (Flow::Done, count::answer(*next, status, body)),
            (Flow::Stored(next), Event::Answer(v)) => match next.background_lookup(v).filter(|_| self.jobs) {
                Some((name, job)) => (Flow::Job(Box::new(job)), Action::Job { name, op: r#"{"op":"get"}"#.into() }),
                None => (Flow::Done, crate::core::front::stored::answer(*next, v)),
            },
            (Flow::Job(next), Event::Answer(v)) => (Flow::Done, crate::core::front::jobs::answer(*next, v)),
            (Flow::Conversation(l), Event::Answer(v)) => match self.config() {
                Ok(config) => match converse::loaded(&self.planner(config), l, v) {
                    Ok((s, a)) => (Flow::Session(Box::new(s)), a),
                    Err(a) => (Flow::Done, a),
                },
                Err(_) => (Flow::Done, misuse(&step.request_id)),
            },
            (flow, _) => (flow, misuse(&step.request_id)),
        };
        step.flow = flow;
        step.action = action;
        self.read_cache(step, now_ms);
    }

    /// While the session asks for a cache read: answer it from the isolate's recent entries
    /// or an identical request's entry, or turn it into what the driver must do (a KV read
    /// as the leader, or a wait for the leader).
    fn read_cache(&self, step: &mut Step, now_ms: u64) {
        while let (Action::CacheGet { key, join, coalesce }, Flow::Session(s)) = (&step.action, &mut step.flow) {
            let read = self.isolate.borrow_mut().cache_read(key, *join, *coalesce, step.id, &mut step.held, now_ms);
            match read {
                Read::Answer(value) => step.action = s.on_cache(Some(&value), now_ms),
                Read::Perform(action) => {
                    step.action = action;
                    return;
                }
            }
        }
    }

    /// The driver gave up on a step (an exception of its own): release what it holds.
    /// Returns the followers to wake, as JSON members (see [`Wake::members`]), or "".
    pub fn abort(&self, step: &mut Step) -> String {
        let (wake, _) = self.isolate.borrow_mut().finished(step.id, &mut step.held, None);
        wake.map(|w| w.members()).unwrap_or_default()
    }

    /// The leader `id`'s cache write of `key` landed.
    pub fn cache_written(&self, key: &str, id: u64) {
        self.isolate.borrow_mut().written(key, id);
    }

    /// A tenant's settlement call of `chain` returned: the batches to send next, as JSON.
    pub fn settled(&self, tenant: &str, chain: u64, now_ms: u64) -> String {
        batches_json(&self.isolate.borrow_mut().settled(tenant, chain, now_ms))
    }

    /// The work left once the reply went out (or its stream ended).
    pub fn after(&self, step: &mut Step, now_ms: u64) -> After {
        let Step { flow: Flow::Session(s), held, id, .. } = step else { return After::default() };
        let cache_put = s.cache_put(now_ms);
        let similar_put = cache_put.as_ref().and_then(|_| s.similar_put(now_ms));
        let mut isolate = self.isolate.borrow_mut();
        let put = cache_put.as_ref().map(|(k, v, _)| (k.as_str(), v.as_str()));
        let (wake, report) = isolate.finished(*id, held, put);
        // Without the TENANTS namespace there is no one to send settlements to: queueing them
        // would only grow the isolate's memory.
        let settlement = s.settlement(now_ms).filter(|_| self.ledger);
        let settle = settlement.and_then(|(tenant, settle)| isolate.settle(&tenant, settle, now_ms));
        After {
            analytics: s.analytics(now_ms),
            cache_put,
            similar_put,
            lead: report.then_some(*id),
            wake,
            settle: settle.into_iter().collect(),
            kv_puts: s.summary_puts(),
        }
    }
}

/// Hand a session the event for the action it waited on; `None` when they do not fit.
fn session_event(s: &mut Session, waited: &Action, event: Event, now_ms: u64) -> Option<Action> {
    Some(match (waited, event) {
        (Action::Fetch { .. } | Action::Mock(_), Event::Head { status, headers }) => s.on_head(status, headers, now_ms),
        (Action::ReadBody, Event::Body(body)) => s.on_body(body, now_ms),
        (Action::Fetch { .. } | Action::ReadBody, Event::Failed { timed_out }) => s.on_fetch_error(timed_out, now_ms),
        (Action::Tenant { .. }, Event::Answer(v)) => s.on_admit(v, now_ms),
        (Action::CacheGet { .. } | Action::Follow { .. }, Event::Answer(v)) => s.on_cache(v, now_ms),
        (Action::Index { .. }, Event::Answer(v)) => s.on_index(v, now_ms),
        (Action::Call { .. }, Event::Called { status, body }) => s.on_called(status, body, now_ms),
        (Action::Conversation { .. }, Event::Answer(v)) => s.on_stored(v),
        (Action::Regex { .. }, Event::Answer(v)) => s.on_regex(v, now_ms),
        _ => return None,
    })
}

/// The driver reported something the step was not waiting for: a bug on its side.
fn misuse(request_id: &str) -> Action {
    let err = GatewayError::new(Code::InternalError, format!("internal gateway error (request {request_id})"));
    Action::Respond(error_reply(request_id, &err, Dialect::OpenAi))
}

/// The reply to a request the gateway crashed on, in the caller's dialect (chosen by path).
pub fn crash_reply(path: &str, request_id: &str) -> Action {
    let dialect = crate::core::front::gateway::dialect_of(path);
    let err = GatewayError::new(Code::InternalError, format!("internal gateway error (request {request_id})"));
    Action::Respond(error_reply(request_id, &err, dialect))
}
