//! The Responses API's stored state as the request carries it: `previous_response_id` or
//! `conversation` (a [`Link`] to a stored history), the new `input` as the items stored for
//! it ([`input_items`]), and the request with a loaded history put before its input
//! ([`with_history`]). `background: true` is a queued job (`front::jobs::background`), taken
//! before decoding when the jobs' and conversations' bindings are there; without them it is
//! refused here ([`refuse_stateful`]) before anything else is read.
//!
//! Invariants: `instructions` are never stored nor inherited (the reference: "the
//! instructions from a previous response will not be carried over"); `previous_response_id`
//! and `conversation` together are refused, as OpenAI refuses them.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses/create>
//! (`previous_response_id`, `conversation`, `store`, `background`) and
//! <https://platform.openai.com/docs/guides/conversation-state>.

use crate::core::error::GatewayError;
use crate::core::translate::dialect::fields::{invalid_value, opt, unsupported};
use crate::core::util::json_value::put;
use serde_json::{Map, Value};

/// Refuse `background: true` (400 `unsupported`) when it reaches decoding: a background
/// response is a job the caller polls, which needs the job queue's bindings.
pub fn refuse_stateful(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    match obj.get("background") == Some(&Value::Bool(true)) {
        true => Err(unsupported(
            "background",
            "needs the job queue (the JOB, SEMAPHORES and JOBS bindings) and the CONVERSATIONS binding: send the request without it",
        )),
        false => Ok(()),
    }
}

/// What stored history a request continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// `previous_response_id`: that response's history.
    Previous(String),
    /// `conversation`: the conversation's head history.
    Conversation(String),
}

impl Link {
    /// The request parameter naming it.
    pub fn param(&self) -> &'static str {
        match self {
            Link::Previous(_) => "previous_response_id",
            Link::Conversation(_) => "conversation",
        }
    }

    /// The id it names.
    pub fn id(&self) -> &str {
        match self {
            Link::Previous(id) | Link::Conversation(id) => id,
        }
    }
}

/// The request's link to a stored history: `previous_response_id` (a string), or
/// `conversation` (a string id or `{"id": ...}`); `None` when neither is given (or null).
pub fn link(obj: &Map<String, Value>) -> Result<Option<Link>, GatewayError> {
    let prev = opt(obj, "previous_response_id");
    let conv = opt(obj, "conversation");
    match (prev, conv) {
        (Some(_), Some(_)) => Err(invalid_value("conversation", "cannot be used with previous_response_id")),
        (Some(Value::String(p)), None) => Ok(Some(Link::Previous(p.clone()))),
        (Some(_), None) => Err(invalid_value("previous_response_id", "must be a response id")),
        (None, Some(c)) => match c.as_str().or_else(|| c.get("id").and_then(Value::as_str)) {
            Some(id) => Ok(Some(Link::Conversation(id.to_string()))),
            None => Err(invalid_value("conversation", "must be a conversation id or an object with its id")),
        },
        (None, None) => Ok(None),
    }
}

/// Whether the response is to be stored (`store`, default true).
pub fn stores(obj: &Map<String, Value>) -> bool {
    obj.get("store") != Some(&Value::Bool(false))
}

/// The request's `input` as the items stored for it, as OpenAI lists them: a string is one
/// user message; an item without a `type` is a `message`; a message's string content is one
/// `input_text` part (`output_text` for the assistant's); an item without an `id` gets
/// `msg_<hex>_in<i>`, where `response` is `resp_<hex>`. Call after the request was decoded
/// (its input is then known to be well formed).
pub fn input_items(obj: &Map<String, Value>, response: &str) -> Vec<Value> {
    let hex = response.strip_prefix("resp_").unwrap_or(response);
    let items = match obj.get("input") {
        Some(Value::String(s)) => {
            // Built by insertion: `Map::from_iter` would add a sort's code to the module.
            let mut m = Map::new();
            put(&mut m, "role", "user".into());
            put(&mut m, "content", s.as_str().into());
            vec![Value::Object(m)]
        }
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, mut item) in items.into_iter().enumerate() {
        if let Value::Object(o) = &mut item {
            if !o.contains_key("type") {
                put(o, "type", "message".into());
            }
            if let Some(Value::String(text)) = o.get("content") {
                let kind = if o.get("role").and_then(Value::as_str) == Some("assistant") { "output_text" } else { "input_text" };
                let mut part = Map::new();
                put(&mut part, "type", kind.into());
                put(&mut part, "text", text.as_str().into());
                put(o, "content", Value::Array(vec![Value::Object(part)]));
            }
            if !o.get("id").is_some_and(Value::is_string) {
                put(o, "id", format!("msg_{hex}_in{i}").into());
            }
        }
        out.push(item);
    }
    out
}

/// The request body again, with `history` (stored items, oldest first) and then `input`
/// (what [`input_items`] made of its own input) as its `input`: what is decoded, echoed and
/// (without its link, which names the gateway's own store) passed through upstream.
pub fn with_history(obj: &Map<String, Value>, history: Vec<Value>, input: &[Value]) -> Vec<u8> {
    let mut o = obj.clone();
    let mut items = history;
    items.extend(input.iter().cloned());
    put(&mut o, "input", Value::Array(items));
    Value::Object(o).to_string().into_bytes()
}
