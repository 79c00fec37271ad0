//! Anthropic's Messages API as an upstream.
//!
//! Reference: <https://docs.anthropic.com/en/api/messages>. Quirks handled: system and
//! developer messages are lifted into `system`; `max_tokens` is required (the model's
//! configured cap fills it); tool results travel as `tool_result` blocks in a user turn;
//! consecutive turns of one role are merged (the API wants them alternating); empty text
//! blocks are dropped (the API rejects them); `temperature` is capped at 1; JSON output modes
//! of other callers become a system instruction, while an Anthropic caller's own
//! `output_config` passes through unchanged
//! (<https://platform.claude.com/docs/en/build-with-claude/structured-outputs>); usage
//! `input_tokens` excludes cache reads and writes, so canonical input adds them back.
//!
//! An Anthropic caller's request is not re-encoded: the upstream gets the caller's own object
//! with surgical edits, and a streaming caller the upstream's own events (see
//! `anthropic_native`).

use super::upstream::{malformed, Cause, ErrorParts, Target, UpstreamRequest};
use crate::core::error::{Code, GatewayError};
use crate::core::translate::tool_id;
use crate::core::translate::wire::anthropic as wire;
use crate::core::types::*;
use crate::core::util::json_value::put;
use crate::core::util::vecmap::VecMap;
use crate::json;
use serde_json::{Map, Value};

/// The `anthropic-version` header sent with every request.
/// Reference: <https://docs.anthropic.com/en/api/versioning>
pub const API_VERSION: &str = "2023-06-01";

/// The canonical reason for an Anthropic `stop_reason` (`end_turn`, `stop_sequence` and
/// `pause_turn` are stops; `refusal` is a content filter; unknown values are kept).
pub fn finish_from_stop_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

/// The Anthropic `stop_reason` for a canonical reason (stops become `end_turn`).
pub fn stop_reason_from_finish(f: &FinishReason) -> &str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(s) => s,
    }
}

/// Canonical usage from Anthropic's: cache reads and writes are added back into the input
/// count, absent counts are 0.
pub fn usage_from_wire(u: &wire::Usage) -> Usage {
    let cache_read = u.cache_read_input_tokens.unwrap_or(0);
    let cache_write = u.cache_creation_input_tokens.unwrap_or(0);
    Usage {
        input_tokens: u.input_tokens.unwrap_or(0) + cache_read + cache_write,
        output_tokens: u.output_tokens.unwrap_or(0),
        cached_input_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: 0,
        estimated: false,
    }
}

fn unsupported(what: &str) -> GatewayError {
    GatewayError::new(Code::UnsupportedForProvider, format!("Anthropic models do not support {what}"))
}

/// An image part as an Anthropic image block: `data:` URIs inline, other URLs by reference.
pub fn image_block(url: &str) -> Value {
    match url.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,")) {
        Some((media_type, data)) => json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
        None => json!({"type": "image", "source": {"type": "url", "url": url}}),
    }
}

fn content_blocks(m: &Message, native: bool) -> Result<Vec<Value>, GatewayError> {
    let mut blocks = Vec::new();
    match &m.content {
        Content::None => {}
        Content::Text(t) if t.is_empty() => {}
        Content::Text(t) => blocks.push(json!({"type": "text", "text": t})),
        Content::Parts(parts) => {
            for p in parts {
                match p {
                    Part::Text(t) if t.is_empty() => {}
                    Part::Text(t) => blocks.push(json!({"type": "text", "text": t})),
                    Part::Image { url, .. } => blocks.push(image_block(url)),
                    Part::Other(v) if native => blocks.push(v.clone()),
                    Part::Other(v) => return Err(unsupported(&format!("content parts of type {}", v.get("type").unwrap_or(&Value::Null)))),
                }
            }
        }
    }
    Ok(blocks)
}

fn tool_use_block(c: &ToolCall) -> Value {
    let input: Value = serde_json::from_slice(c.arguments.as_bytes()).ok().filter(Value::is_object).unwrap_or_else(|| json!({}));
    json!({"type": "tool_use", "id": tool_id::to_anthropic(&c.id), "name": c.name, "input": input})
}

/// Canonical messages as Anthropic's `system` texts and alternating `messages`; `native`
/// (an Anthropic caller's) keeps parts only Anthropic reads, which otherwise refuse.
pub fn encode_messages(messages: &[Message], native: bool) -> Result<(Vec<String>, Vec<Value>), GatewayError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for m in messages {
        let (role, blocks) = match m.role {
            Role::System | Role::Developer => {
                system.push(m.content.text());
                continue;
            }
            Role::User => ("user", content_blocks(m, native)?),
            Role::Assistant => {
                let mut b = content_blocks(m, native)?;
                b.extend(m.tool_calls.iter().map(tool_use_block));
                ("assistant", b)
            }
            Role::Tool => {
                let result = json!({"type": "tool_result", "tool_use_id": tool_id::to_anthropic(m.tool_call_id.as_deref().unwrap_or_default()), "content": m.content.text()});
                ("user", vec![result])
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns.into_iter().map(|(role, content)| json!({"role": role, "content": content})).collect();
    Ok((system, messages))
}

fn json_instruction(rf: &ResponseFormat) -> Option<String> {
    match rf {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some("Respond with a single JSON object and nothing else.".into()),
        ResponseFormat::JsonSchema { schema, .. } => Some(format!(
            "Respond with a single JSON value that matches this JSON Schema, and nothing else: {}",
            schema.as_ref().map(Value::to_string).unwrap_or_else(|| "{}".into())
        )),
    }
}

/// The `POST {base}/v1/messages` call for `req`, with `x-api-key` and `anthropic-version`.
/// Fails (client error) for `n` > 1, for content parts Anthropic cannot take, and when no
/// user or assistant message is left once system messages are lifted out.
pub fn build_request(req: &ChatRequest, t: &Target) -> Result<UpstreamRequest, GatewayError> {
    Ok(call(t, "/v1/messages", req, request_body(req, t)?))
}

/// The request fields `count_tokens` accepts; it refuses the others a Messages request has
/// (`max_tokens`, `stream`, sampling, `metadata`, ...).
/// Reference: <https://platform.claude.com/docs/en/api/messages/count_tokens>
const COUNT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "cache_control",
    "context_management",
    "mcp_servers",
    "speed",
];

/// The `POST {base}/v1/messages/count_tokens` call counting `req`'s input: the body
/// [`build_request`] would send, cut to the fields the endpoint accepts.
pub fn build_count_request(req: &ChatRequest, t: &Target) -> Result<UpstreamRequest, GatewayError> {
    let mut body = request_body(req, t)?;
    body.retain(|k, _| COUNT_FIELDS.contains(&k.as_str()));
    Ok(call(t, "/v1/messages/count_tokens", req, body))
}

/// A POST of `body` to `path` under the target's base URL, with its key and API version,
/// and the caller's headers forwarded to Anthropic (`anthropic-beta`).
fn call(t: &Target, path: &str, req: &ChatRequest, body: Map<String, Value>) -> UpstreamRequest {
    let mut headers =
        vec![("content-type".to_string(), "application/json".to_string()), ("anthropic-version".to_string(), API_VERSION.to_string())];
    if let Some(key) = t.api_key {
        headers.push(("x-api-key".into(), key.to_string()));
    }
    headers.extend(super::upstream::headers_for(req, Dialect::Anthropic));
    let url = format!("{}{path}", t.base_url.trim_end_matches('/'));
    UpstreamRequest { url, headers, body: serde_json::to_vec(&body).unwrap_or_default() }
}

fn request_body(req: &ChatRequest, t: &Target) -> Result<Map<String, Value>, GatewayError> {
    if req.sampling.n.unwrap_or(1) > 1 {
        return Err(unsupported("n > 1").with_param("n"));
    }
    if let (Dialect::Anthropic, Some(raw)) = (req.dialect, &req.raw) {
        return super::anthropic_native::request_body(req, raw, t.model, t.max_output_tokens);
    }
    let mut o: Map<String, Value> = if req.dialect == Dialect::Anthropic { req.extra.clone() } else { Map::new() };
    let (mut system, messages) = encode_messages(&req.messages, req.dialect == Dialect::Anthropic)?;
    if messages.is_empty() {
        return Err(
            GatewayError::new(Code::InvalidValue, "Anthropic models need at least one user or assistant message").with_param("messages")
        );
    }
    if !o.contains_key("output_config") {
        system.extend(req.response_format.as_ref().and_then(json_instruction));
    }
    put(&mut o, "model", t.model.into());
    put(&mut o, "max_tokens", req.max_output_tokens.unwrap_or(t.max_output_tokens).into());
    put(&mut o, "messages", Value::Array(messages));
    if !system.is_empty() {
        put(&mut o, "system", system.join("\n\n").into());
    }
    let s = &req.sampling;
    if let Some(temp) = s.temperature {
        put(&mut o, "temperature", temp.min(1.0).into());
    }
    if let Some(p) = s.top_p {
        put(&mut o, "top_p", p.into());
    }
    if let Some(k) = s.top_k {
        put(&mut o, "top_k", k.into());
    }
    if !s.stop.is_empty() {
        put(&mut o, "stop_sequences", json!(s.stop));
    }
    encode_tools(req, &mut o);
    if let Some(user) = &req.user {
        put(&mut o, "metadata", json!({"user_id": user}));
    }
    if req.stream {
        put(&mut o, "stream", true.into());
    }
    Ok(o)
}

/// `tools` and `tool_choice` (with `disable_parallel_tool_use` when parallel calls are off).
fn encode_tools(req: &ChatRequest, o: &mut Map<String, Value>) {
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|tool| {
                let mut d =
                    json!({"name": tool.name, "input_schema": tool.parameters.clone().unwrap_or_else(|| json!({"type": "object"}))});
                if let Some(desc) = &tool.description {
                    d["description"] = desc.as_str().into();
                }
                d
            })
            .collect();
        put(o, "tools", Value::Array(tools));
    }
    let mut choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Required) => Some(json!({"type": "any"})),
        Some(ToolChoice::Function(name)) => Some(json!({"type": "tool", "name": name})),
    };
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        choice.get_or_insert_with(|| json!({"type": "auto"}))["disable_parallel_tool_use"] = true.into();
    }
    if let Some(c) = choice {
        put(o, "tool_choice", c);
    }
}

/// Decode a `message` body into one choice: text blocks concatenated, `tool_use` blocks as calls
/// with their `input` as JSON text; `created` is 0 (Anthropic gives no time).
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let m: wire::Message = serde_json::from_slice(body).map_err(|_| malformed("response"))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in m.content {
        match block {
            wire::Block::Text { text: t } => text.push_str(&t),
            wire::Block::ToolUse { id, name, input } => tool_calls.push(ToolCall { id, name, arguments: input.to_string() }),
            wire::Block::Other => {}
        }
    }
    let finish_reason = m.stop_reason.as_deref().map(finish_from_stop_reason);
    let content = (!text.is_empty() || tool_calls.is_empty()).then_some(text);
    let choice = Choice { index: 0, content, refusal: None, tool_calls, finish_reason };
    Ok(ChatResponse { id: m.id, model: m.model, created: 0, choices: vec![choice], usage: Some(usage_from_wire(&m.usage)) })
}

/// Whether a `message` body holds something its canonical decoding drops, so that the answer
/// re-encoded from it would differ: a block kind other than text and tool use (thinking,
/// server tools, documents, ...), a text block's `citations`, or a `stop_sequence` stop.
pub fn response_is_lossy(body: &[u8]) -> bool {
    let Ok(m) = serde_json::from_slice::<Value>(body) else { return true };
    let block_lossy = |b: &Value| match b["type"].as_str() {
        Some("text") => !b["citations"].is_null(),
        Some("tool_use") => false,
        _ => true,
    };
    m["stop_reason"] == "stop_sequence" || m["content"].as_array().is_some_and(|c| c.iter().any(block_lossy))
}

/// The cause and message of an Anthropic error body, from its error `type`
/// (<https://docs.anthropic.com/en/api/errors>): `authentication_error` (401) and
/// `permission_error` (403) are about the gateway's key, `billing_error` (402) its account,
/// `rate_limit_error` (429) a rate limit, `overloaded_error` (529) an overload.
pub fn error_parts(body: &[u8]) -> ErrorParts {
    let Ok(e) = serde_json::from_slice::<wire::ErrorEnvelope>(body) else { return ErrorParts::default() };
    let cause = match e.error.kind.as_str() {
        "authentication_error" | "permission_error" => Cause::Credentials,
        "billing_error" => Cause::Quota,
        "rate_limit_error" => Cause::RateLimit,
        "overloaded_error" => Cause::Overloaded,
        _ => Cause::Unstated,
    };
    ErrorParts { cause, message: e.error.message, retry_after_s: None }
}

/// Anthropic SSE events to canonical stream events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    start_usage: wire::Usage,
    /// Content block index → tool call index.
    tool_blocks: VecMap<u32, u32>,
    /// Every complete event up to an `error` one, re-framed with its name and data untouched:
    /// what an Anthropic caller receives. An `error` event is not echoed: the caller gets the
    /// sanitised one (`providers::StreamDecoder` sanitises every error event's message).
    pub echo: Vec<u8>,
    errored: bool,
    /// The stream held something the canonical answer cannot (a block or delta kind not
    /// modelled, such as thinking or citations, or a stop sequence): replaying the canonical
    /// answer would not give the same stream.
    pub lossy: bool,
}

impl StreamDecoder {
    pub(super) fn decode(&mut self, events: Vec<crate::core::util::sse::SseEvent>) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        for ev in events {
            let event: wire::Event = serde_json::from_slice(ev.data.as_bytes()).map_err(|_| malformed("stream event"))?;
            self.errored |= matches!(event, wire::Event::Error { .. });
            if !self.errored {
                super::anthropic_native::reframe(&ev, &mut self.echo);
            }
            self.event(event, &mut out);
        }
        Ok(out)
    }

    fn event(&mut self, event: wire::Event, out: &mut Vec<StreamEvent>) {
        match event {
            wire::Event::MessageStart { message } => {
                self.start_usage = message.usage;
                out.push(StreamEvent::Start { id: message.id, model: message.model, created: 0 });
            }
            wire::Event::ContentBlockStart { index, content_block } => match content_block {
                wire::Block::Text { text } if !text.is_empty() => out.push(StreamEvent::TextDelta { index: 0, text }),
                wire::Block::ToolUse { id, name, .. } => {
                    let call_index = self.tool_blocks.len() as u32;
                    self.tool_blocks.insert(index, call_index);
                    out.push(StreamEvent::ToolCallDelta { index: 0, call_index, id: Some(id), name: Some(name), arguments: String::new() });
                }
                wire::Block::Text { .. } => {}
                wire::Block::Other => self.lossy = true,
            },
            wire::Event::ContentBlockDelta { index, delta } => match delta {
                wire::Delta::TextDelta { text } => out.push(StreamEvent::TextDelta { index: 0, text }),
                wire::Delta::InputJsonDelta { partial_json } => {
                    if let Some(&call_index) = self.tool_blocks.get(&index) {
                        out.push(StreamEvent::ToolCallDelta { index: 0, call_index, id: None, name: None, arguments: partial_json });
                    }
                }
                wire::Delta::Other => self.lossy = true,
            },
            wire::Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.lossy |= reason == "stop_sequence";
                    out.push(StreamEvent::Finish { index: 0, reason: finish_from_stop_reason(&reason) });
                }
                let merged = wire::Usage {
                    input_tokens: usage.input_tokens.or(self.start_usage.input_tokens),
                    output_tokens: usage.output_tokens.or(self.start_usage.output_tokens),
                    cache_creation_input_tokens: usage.cache_creation_input_tokens.or(self.start_usage.cache_creation_input_tokens),
                    cache_read_input_tokens: usage.cache_read_input_tokens.or(self.start_usage.cache_read_input_tokens),
                };
                out.push(StreamEvent::Usage(usage_from_wire(&merged)));
            }
            wire::Event::MessageStop => out.push(StreamEvent::Done),
            wire::Event::Error { error } => out.push(StreamEvent::Error { message: format!("{}: {}", error.kind, error.message) }),
            wire::Event::ContentBlockStop { .. } | wire::Event::Ping | wire::Event::Other => {}
        }
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
pub(crate) mod tests;
