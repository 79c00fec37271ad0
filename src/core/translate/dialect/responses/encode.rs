//! Canonical answers to the Responses API's `response` object: its output items (an
//! assistant `message` with `output_text` parts, `function_call` items), its status, its usage,
//! and the request's parameters echoed as the reference shows them, defaults filled in.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses/object>. Ids derive
//! from the request id, so the same request id always gives the same ids: `resp_<id>`, and per
//! output item `msg_<id>_<index>` or `fc_<id>_<index>`. Only the first choice is carried (the
//! API has no `n`).
//!
//! The JSON is written as text from fixed templates (members in the reference's order), not
//! built as `serde_json::Value` trees: the same bytes for a fraction of the module's code.

use crate::core::types::{ChatResponse, FinishReason, ToolCall, Usage};
use serde_json::{Map, Value};
use std::fmt::Write;

/// What a Responses answer repeats of its request: the request id its ids derive from, and
/// the request's parameters as JSON members (made once per request, shared by every attempt
/// and replay).
#[derive(Debug, Clone, PartialEq)]
pub struct Echo {
    request_id: String,
    params: String,
}

impl Default for Echo {
    /// The echo of no request: the defaults, ids from an empty request id.
    fn default() -> Self {
        Echo::new("", None)
    }
}

/// Parameters echoed as sent, and (as JSON text) the value each has when the request leaves
/// it out: the reference's defaults.
const DEFAULTS: [(&str, &str); 17] = [
    ("previous_response_id", "null"),
    ("instructions", "null"),
    ("max_output_tokens", "null"),
    ("max_tool_calls", "null"),
    ("metadata", "{}"),
    ("parallel_tool_calls", "true"),
    ("prompt_cache_key", "null"),
    ("safety_identifier", "null"),
    ("service_tier", "\"auto\""),
    ("store", "true"),
    ("temperature", "1.0"),
    ("tool_choice", "\"auto\""),
    ("tools", "[]"),
    ("top_logprobs", "0"),
    ("top_p", "1.0"),
    ("truncation", "\"disabled\""),
    ("user", "null"),
];

/// `o[key]` as JSON text, when present and not null.
fn member(o: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    o.and_then(|o| o.get(key)).filter(|v| !v.is_null()).map(Value::to_string)
}

/// A string as a JSON string literal.
pub(crate) fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Echo {
    /// The echo for request `request_id` whose Responses body was `raw` (`None`: defaults only).
    pub fn new(request_id: &str, raw: Option<&Map<String, Value>>) -> Self {
        let mut params = String::new();
        for (key, default) in DEFAULTS {
            let _ = write!(params, "\"{key}\":{},", member(raw, key).as_deref().unwrap_or(default));
        }
        let sub = |key: &str| raw.and_then(|r| r.get(key)).and_then(Value::as_object);
        let (reasoning, text) = (sub("reasoning"), sub("text"));
        let or_null = |v: Option<String>| v.unwrap_or_else(|| "null".into());
        let _ = write!(
            params,
            r#""reasoning":{{"effort":{},"summary":{}}},"text":{{"format":{},"verbosity":{}}}"#,
            or_null(member(reasoning, "effort")),
            or_null(member(reasoning, "summary")),
            member(text, "format").unwrap_or_else(|| r#"{"type":"text"}"#.into()),
            member(text, "verbosity").unwrap_or_else(|| "\"medium\"".into()),
        );
        Echo { request_id: request_id.to_string(), params }
    }

    /// The id of output item `index`: `prefix`, the request id and the index.
    pub(crate) fn item_id(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}_{index}", self.request_id)
    }

    /// A `response` object: what this answer says, with the request's parameters; `output`
    /// holds the output items' JSON.
    pub(crate) fn response(&self, head: &Head, status: &Status, output: &[String], usage: Option<&Usage>) -> String {
        let (status, incomplete, error) = match status {
            Status::InProgress => ("in_progress", "null".into(), "null".into()),
            Status::Completed => ("completed", "null".into(), "null".into()),
            Status::Incomplete(reason) => ("incomplete", format!(r#"{{"reason":"{reason}"}}"#), "null".into()),
            Status::Failed(message) => ("failed", "null".into(), format!(r#"{{"code":"server_error","message":{}}}"#, quoted(message))),
        };
        format!(
            r#"{{"id":"resp_{}","object":"response","created_at":{},"status":"{status}","error":{error},"incomplete_details":{incomplete},"model":{},"output":[{}],{},"background":false,"usage":{}}}"#,
            self.request_id,
            head.created,
            quoted(&head.model),
            output.join(","),
            self.params,
            usage.map_or_else(|| "null".into(), encode_usage),
        )
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
    /// Still streaming.
    InProgress,
    /// Finished normally.
    Completed,
    /// Cut short: `max_output_tokens` or `content_filter`.
    Incomplete(&'static str),
    /// Broken off by an error, with its message.
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
pub(crate) fn text_part(text: &str) -> String {
    format!(r#"{{"type":"output_text","text":{},"annotations":[],"logprobs":[]}}"#, quoted(text))
}

/// An assistant `message` output item; with no text and no refusal, one empty text part.
pub(crate) fn message_item(id: &str, status: &str, text: &str, refusal: Option<&str>) -> String {
    let mut content = if !text.is_empty() || refusal.is_none() { text_part(text) } else { String::new() };
    if let Some(r) = refusal {
        if !content.is_empty() {
            content.push(',');
        }
        let _ = write!(content, r#"{{"type":"refusal","refusal":{}}}"#, quoted(r));
    }
    format!(r#"{{"id":"{id}","type":"message","status":"{status}","role":"assistant","content":[{content}]}}"#)
}

/// A `function_call` output item; `call_id` is the id the upstream gave the call, which the
/// caller's `function_call_output` sends back.
pub(crate) fn call_item(id: &str, status: &str, call: &ToolCall) -> String {
    format!(
        r#"{{"id":"{id}","type":"function_call","status":"{status}","arguments":{},"call_id":{},"name":{}}}"#,
        quoted(&call.arguments),
        quoted(&call.id),
        quoted(&call.name)
    )
}

/// Usage in the Responses API's shape (JSON text), cached, cache-written and reasoning tokens
/// in their details.
pub fn encode_usage(u: &Usage) -> String {
    format!(
        r#"{{"input_tokens":{},"input_tokens_details":{{"cached_tokens":{},"cache_write_tokens":{}}},"output_tokens":{},"output_tokens_details":{{"reasoning_tokens":{}}},"total_tokens":{}}}"#,
        u.input_tokens,
        u.cached_input_tokens,
        u.cache_write_tokens,
        u.output_tokens,
        u.reasoning_tokens,
        u.input_tokens + u.output_tokens
    )
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
    echo.response(&head, &status, &output, r.usage.as_ref()).into_bytes()
}
