//! One request as the driver sees it: a [`Step`] holding the current [`Action`] and what
//! the request is waiting for, moved on by one [`Gateway::resume`] per [`Event`], and closed
//! by one [`Gateway::after`] once the reply went out.
//!
//! Every continuation is one [`Flow`]: a request across its attempts
//! (a [`Session`]), a key lookup or admin operation waiting on KV, or a usage query waiting
//! on the tenant's object. The driver never needs to know which.
//!
//! Invariant: an event that does not fit what the step is waiting for ends the request with
//! a JSON 500 (a driver bug), never a panic.

use crate::core::error::{Code, GatewayError};
use crate::core::front::flow::Flow;
use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::front::usage;
use crate::core::pipeline::protocol::{self, error_reply, Action, Event};
use crate::core::pipeline::session::Session;
use crate::core::state::analytics::DataPoint;
use crate::core::types::Dialect;
use std::fmt::Write;

/// One request in flight: its current action and its continuation.
#[derive(Debug)]
pub struct Step {
    flow: Flow,
    action: Action,
    request_id: String,
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
    /// `(tenant, settlement)` for the tenant's ledger.
    pub settlement: Option<(String, String)>,
}

impl After {
    /// As one JSON object for the driver: `{"analytics"?, "cache_put"?: {"key","value","ttl"},
    /// "similar_put"?: {"name","op"}, "settlement"?: {"tenant","settle"}}`.
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
            let _ = write!(o, r#","ttl":{ttl}}}"#);
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
        if let Some((tenant, settle)) = &self.settlement {
            let _ = write!(o, r#"{sep}"settlement":{{"tenant":"#);
            protocol::string(&mut o, tenant);
            let _ = write!(o, r#","settle":{settle}}}"#);
        }
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
        let request_id = match (&flow, &action) {
            (Flow::Session(s), _) => s.request_id().to_string(),
            (_, Action::Respond(r)) => r.header("x-request-id").unwrap_or_default().to_string(),
            _ => crate::core::front::gateway::request_id(inb),
        };
        Step { flow, action, request_id }
    }

    /// Carry a step on with what happened to its action.
    pub fn resume(&self, step: &mut Step, event: Event, now_ms: u64) {
        let flow = std::mem::replace(&mut step.flow, Flow::Done);
        let waited = std::mem::replace(&mut step.action, Action::ReadBody);
        let (flow, action) = match (flow, event) {
            (Flow::Session(mut s), event) => match session_event(&mut s, &waited, event, now_ms) {
                Some(a) => (Flow::Session(s), a),
                None => (Flow::Session(s), misuse(&step.request_id)),
            },
            (Flow::Keys(pending), Event::Answer(v)) => self.resume_keys(pending, v),
            (Flow::Usage(next), Event::Answer(v)) => (Flow::Done, usage::answer(*next, v)),
            (flow, _) => (flow, misuse(&step.request_id)),
        };
        step.flow = flow;
        step.action = action;
    }

    /// The work left once the reply went out (or its stream ended).
    pub fn after(&self, step: &Step, now_ms: u64) -> After {
        let Some(s) = step.session() else { return After::default() };
        let cache_put = s.cache_put(now_ms);
        let similar_put = cache_put.as_ref().and_then(|_| s.similar_put(now_ms));
        After { analytics: s.analytics(now_ms), cache_put, similar_put, settlement: s.settlement() }
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
