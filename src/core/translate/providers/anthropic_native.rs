//! Anthropic caller to Anthropic upstream: the request is the caller's own object with
//! surgical edits, and the stream is the upstream's own events re-framed. Block-level fields
//! the canonical form cannot hold (`cache_control` on system blocks, tools and content;
//! `system` as blocks; `is_error` and images in `tool_result`; citations; documents; thinking
//! blocks with their `signature`; top-level fields the gateway does not model) so reach the
//! upstream, and its answer the caller, intact.
//!
//! The edits are exactly those the canonical encoding (`anthropic::request_body`) makes for
//! an Anthropic caller, and no others:
//! - `model` becomes the target's upstream model id;
//! - `max_tokens` is the caller's, or the target's configured cap when absent (a count
//!   request, whose endpoint refuses the field anyway);
//! - `stream` is the gateway's choice (a sub-request asks for the whole answer);
//! - `role: "system"` messages inside `messages` are folded, in order, into the top-level
//!   `system` (as the decoder folds them for every upstream), as blocks with their fields
//!   when any part of it is blocks;
//! - empty text blocks are dropped, and messages left with no content (the API rejects both:
//!   <https://docs.anthropic.com/en/api/messages>).
//!
//! Not repeated here: merging consecutive turns of one role (the API combines them itself,
//! per the same reference) and the cap of `temperature` at 1 (the Anthropic decoder refuses
//! a larger one).

use crate::core::error::{Code, GatewayError};
use crate::core::types::ChatRequest;
use crate::core::util::json_value::put;
use crate::core::util::sse::{frame, SseEvent};
use crate::json;
use serde_json::{Map, Value};

/// The upstream body for an Anthropic caller's `raw` request object (see the module doc).
pub(super) fn request_body(
    req: &ChatRequest,
    raw: &Map<String, Value>,
    model: &str,
    max_tokens: u32,
) -> Result<Map<String, Value>, GatewayError> {
    let mut o = raw.clone();
    put(&mut o, "model", model.into());
    put(&mut o, "max_tokens", req.max_output_tokens.unwrap_or(max_tokens).into());
    o.remove("stream");
    if req.stream {
        put(&mut o, "stream", true.into());
    }
    fold_system_messages(&mut o);
    if let Some(Value::Array(messages)) = o.get_mut("messages") {
        messages.iter_mut().for_each(drop_empty_text);
        messages.retain(has_content);
        if !messages.is_empty() {
            return Ok(o);
        }
    }
    Err(GatewayError::new(Code::InvalidValue, "Anthropic models need at least one user or assistant message").with_param("messages"))
}

/// Moves `role: "system"` messages out of `messages`, appending their content to `system`:
/// joined by a blank line when all of it is plain strings (as the canonical encoding joins
/// it), else as an array of blocks, each block kept with its fields.
fn fold_system_messages(o: &mut Map<String, Value>) {
    let Some(Value::Array(messages)) = o.get_mut("messages") else { return };
    let (folded, rest): (Vec<Value>, Vec<Value>) = std::mem::take(messages).into_iter().partition(|m| m["role"] == "system");
    *messages = rest;
    if folded.is_empty() {
        return;
    }
    let mut parts: Vec<Value> = o.remove("system").into_iter().chain(folded.into_iter().map(|mut m| m["content"].take())).collect();
    parts.retain(|p| p != "");
    if parts.iter().all(Value::is_string) {
        let texts: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
        if !texts.is_empty() {
            put(o, "system", texts.join("\n\n").into());
        }
        return;
    }
    let mut blocks = Vec::new();
    for part in parts {
        match part {
            Value::String(s) => blocks.push(json!({"type": "text", "text": s})),
            Value::Array(more) => blocks.extend(more.into_iter().filter(|b| !is_empty_text(b))),
            _ => {}
        }
    }
    put(o, "system", Value::Array(blocks));
}

fn is_empty_text(b: &Value) -> bool {
    b["type"] == "text" && b["text"] == ""
}

fn drop_empty_text(m: &mut Value) {
    if let Some(Value::Array(blocks)) = m.get_mut("content") {
        blocks.retain(|b| !is_empty_text(b));
    }
}

fn has_content(m: &Value) -> bool {
    match &m["content"] {
        Value::String(s) => !s.is_empty(),
        Value::Array(blocks) => !blocks.is_empty(),
        _ => false,
    }
}

/// One upstream SSE event framed again, its event name and data unchanged.
pub(super) fn reframe(ev: &SseEvent, out: &mut Vec<u8>) {
    if let Some(name) = &ev.event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend(frame(&ev.data));
}

#[cfg(test)]
#[path = "anthropic_native_tests.rs"]
pub(crate) mod tests;
