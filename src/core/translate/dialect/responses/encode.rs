//! Canonical answers to the Responses API's `response` object: its output items (an
//! assistant `message` with `output_text` parts, `function_call` items), its status, its usage,
//! and the request's parameters echoed as the reference shows them, defaults filled in.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses/object>. Ids derive
//! from the request id, so the same request id always gives the same ids: `resp_<id>`, and per
//! output item `msg_<id>_<index>` or `fc_<id>_<index>`. Only the first choice is carried (the
//! API has no `n`).

use crate::core::types::{ChatResponse, FinishReason, ToolCall, Usage};
use serde_json::{json, Map, Value};

/// What a Responses answer repeats of its request: the request id its ids derive from, and
/// the request's parameters (made once per request, shared by every attempt and replay).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Echo {
    request_id: String,
    params: Map<String, Value>,
}

/// Parameters echoed as sent, and the value each has when the request leaves it out (the
/// reference's defaults).
fn defaults() -> [(&'static str, Value); 16] {
    [
        ("instructions", Value::Null),
        ("max_output_tokens", Value::Null),
        ("max_tool_calls", Value::Null),
        ("metadata", json!({})),
        ("parallel_tool_calls", true.into()),
        ("prompt_cache_key", Value::Null),
        ("safety_identifier", Value::Null),
        ("service_tier", "auto".into()),
        ("store", true.into()),
        ("temperature", 1.0.into()),
        ("tool_choice", "auto".into()),
        ("tools", json!([])),
        ("top_logprobs", 0.into()),
        ("top_p", 1.0.into()),
        ("truncation", "disabled".into()),
        ("user", Value::Null),
    ]
}

impl Echo {
    /// The echo for request `request_id` whose Responses body was `raw` (`None`: defaults only).
    pub fn new(request_id: &str, raw: Option<&Map<String, Value>>) -> Self {
        let get = |o: Option<&Map<String, Value>>, key: &str| o.and_then(|o| o.get(key)).filter(|v| !v.is_null()).cloned();
        let mut params = Map::new();
        for (key, default) in defaults() {
            params.insert(key.into(), get(raw, key).unwrap_or(default));
        }
        let sub = |key: &str| raw.and_then(|r| r.get(key)).and_then(Value::as_object);
        let reasoning = sub("reasoning");
        params.insert("reasoning".into(), json!({"effort": get(reasoning, "effort"), "summary": get(reasoning, "summary")}));
        let text = sub("text");
        let format = get(text, "format").unwrap_or_else(|| json!({"type": "text"}));
        params.insert("text".into(), json!({"format": format, "verbosity": get(text, "verbosity").unwrap_or_else(|| "medium".into())}));
        Echo { request_id: request_id.to_string(), params }
    }

    /// The id of output item `index`: `prefix`, the request id and the index.
    pub(crate) fn item_id(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}_{index}", self.request_id)
    }

    /// A `response` object: the parameters, then what this answer says.
    pub(crate) fn response(&self, head: &Head, status: &Status, output: Vec<Value>, usage: Option<&Usage>) -> Value {
        let mut o = self.params.clone();
        let (status, incomplete, error) = match status {
            Status::InProgress => ("in_progress", Value::Null, Value::Null),
            Status::Completed => ("completed", Value::Null, Value::Null),
            Status::Incomplete(reason) => ("incomplete", json!({"reason": reason}), Value::Null),
            Status::Failed(message) => ("failed", Value::Null, json!({"code": "server_error", "message": message})),
        };
        for (key, v) in [
            ("id", Value::from(format!("resp_{}", self.request_id))),
            ("object", "response".into()),
            ("created_at", head.created.into()),
            ("model", head.model.as_str().into()),
            ("status", status.into()),
            ("incomplete_details", incomplete),
            ("error", error),
            ("output", Value::Array(output)),
            ("usage", usage.map_or(Value::Null, encode_usage)),
            ("previous_response_id", Value::Null),
            ("background", false.into()),
        ] {
            o.insert(key.into(), v);
        }
        Value::Object(o)
    }
}

/// The model and creation time of an answer, as its `response` object gives them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Head {
    /// The upstream model that answered.
    pub model: String,
    /// Creation time, Unix seconds.
    pub created: u64,
}

/// A response's status, with an incomplete one's reason or a failed one's message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Status {
    InProgress,
    Completed,
    Incomplete(&'static str),
    Failed(String),
}

impl Status {
    /// The status an answer that stopped for `reason` ends with: cut by the output cap or a
    /// content filter, `incomplete`; else `completed`.
    pub(crate) fn of(reason: Option<&FinishReason>) -> Status {
        match reason {
            Some(FinishReason::Length) => Status::Incomplete("max_output_tokens"),
            Some(FinishReason::ContentFilter) => Status::Incomplete("content_filter"),
            _ => Status::Completed,
        }
    }

    /// An output item's status within a response of this status.
    pub(crate) fn item(&self) -> &'static str {
        if matches!(self, Status::Incomplete(_)) {
            "incomplete"
        } else {
            "completed"
        }
    }
}

/// An `output_text` content part.
pub(crate) fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// An assistant `message` output item; with no text and no refusal, one empty text part.
pub(crate) fn message_item(id: &str, status: &str, text: &str, refusal: Option<&str>) -> Value {
    let mut content = Vec::new();
    if !text.is_empty() || refusal.is_none() {
        content.push(text_part(text));
    }
    if let Some(r) = refusal {
        content.push(json!({"type": "refusal", "refusal": r}));
    }
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

/// A `function_call` output item; `call_id` is the id the upstream gave the call, which the
/// caller's `function_call_output` sends back.
pub(crate) fn call_item(id: &str, status: &str, call: &ToolCall) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "call_id": call.id, "name": call.name, "arguments": call.arguments})
}

/// Usage in the Responses API's shape, cached input and reasoning tokens in their details.
pub fn encode_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

/// A complete answer as a `response` object (`completed`, or `incomplete` with its reason):
/// the first choice's text (and refusal) as one message, unless it only called tools, then
/// each call as a `function_call` item.
pub fn encode_response(r: &ChatResponse, echo: &Echo) -> Vec<u8> {
    let choice = r.choices.first();
    let status = Status::of(choice.and_then(|c| c.finish_reason.as_ref()));
    let mut output = Vec::new();
    if let Some(c) = choice {
        let text = c.content.as_deref().unwrap_or_default();
        if !text.is_empty() || c.refusal.is_some() || c.tool_calls.is_empty() {
            output.push(message_item(&echo.item_id("msg", 0), status.item(), text, c.refusal.as_deref()));
        }
        for call in &c.tool_calls {
            output.push(call_item(&echo.item_id("fc", output.len()), "completed", call));
        }
    }
    let head = Head { model: r.model.clone(), created: r.created };
    serde_json::to_vec(&echo.response(&head, &status, output, r.usage.as_ref())).unwrap_or_default()
}
