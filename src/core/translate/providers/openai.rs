//! OpenAI-compatible upstreams (OpenAI, Groq, Mistral, DeepSeek, Together, vLLM, Ollama, and
//! the built-in mock): canonical request out, canonical response, stream events and errors in.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat>. Error bodies follow
//! <https://platform.openai.com/docs/guides/error-codes>; `insufficient_quota` arrives as a 429
//! but is not a rate limit (no retry helps).
//!
//! Quirks handled: `message.content` (and `delta.content`) as an array of parts, as Mistral's
//! reasoning models send it (<https://docs.mistral.ai/capabilities/reasoning/>): `text` parts
//! are the answer, `thinking` parts are not; a `finish_reason` of `""` (some compatible
//! servers send it on every chunk) means no finish yet.

use super::upstream::{malformed, Cause, ErrorParts, Target, UpstreamRequest};
use crate::core::config::ProviderKind;
use crate::core::error::GatewayError;
use crate::core::translate::dialect::openai::encode_request;
use crate::core::translate::wire::openai as wire;
use crate::core::types::*;
use crate::core::util::json_value::put;
use crate::json;
use serde_json::Value;

/// Build the upstream call, applying the preset's quirks. The gateway always asks for usage
/// on streams (cost accounting needs it); the exchange strips it if the caller did not ask.
pub fn build_request(req: &ChatRequest, t: &Target) -> UpstreamRequest {
    let mut body = encode_request(req, t.model);
    let quirks = t.kind.quirks();
    if req.stream {
        if quirks.no_stream_options {
            body.remove("stream_options");
        } else {
            put(&mut body, "stream_options", json!({"include_usage": true}));
        }
    }
    if quirks.legacy_max_tokens {
        if let Some(v) = body.remove("max_completion_tokens") {
            put(&mut body, "max_tokens", v);
        }
    }
    if quirks.developer_as_system {
        if let Some(Value::Array(messages)) = body.get_mut("messages") {
            for m in messages.iter_mut().filter(|m| m["role"] == "developer") {
                m["role"] = "system".into();
            }
        }
    }
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if req.stream {
        headers.push(("accept".into(), "text/event-stream".into()));
    }
    let base = t.base_url.trim_end_matches('/');
    let url = if t.kind == ProviderKind::AzureOpenai {
        if let Some(key) = t.api_key {
            headers.push(("api-key".into(), key.to_string()));
        }
        format!("{base}/openai/deployments/{}/chat/completions?api-version={}", t.model, t.api_version)
    } else {
        if let Some(key) = t.api_key {
            headers.push(("authorization".into(), format!("Bearer {key}")));
        }
        format!("{base}/chat/completions")
    };
    headers.extend(super::upstream::headers_for(req, Dialect::OpenAi));
    UpstreamRequest { url, headers, body: serde_json::to_vec(&body).unwrap_or_default() }
}

/// The cause and message of an OpenAI-shaped error body, from its `code` or `type`
/// (<https://platform.openai.com/docs/guides/error-codes>): `invalid_api_key` is the gateway's
/// key (compatible servers send it with other statuses than 401), `insufficient_quota` its
/// account (a 429 that no retry helps), `rate_limit_exceeded` a rate limit,
/// `context_length_exceeded` a request too long for the model.
pub fn error_parts(body: &[u8]) -> ErrorParts {
    let Ok(e) = serde_json::from_slice::<wire::ErrorEnvelope>(body) else { return ErrorParts::default() };
    let code = e.error.code.as_ref().and_then(Value::as_str).unwrap_or_default();
    let says = |name: &str| code == name || e.error.kind.as_deref() == Some(name);
    let cause = if says("invalid_api_key") {
        Cause::Credentials
    } else if says("insufficient_quota") {
        Cause::Quota
    } else if says("context_length_exceeded") {
        Cause::ContextLength
    } else if says("rate_limit_exceeded") {
        Cause::RateLimit
    } else {
        Cause::Unstated
    };
    ErrorParts { cause, message: e.error.message, retry_after_s: None }
}

/// Canonical usage from OpenAI's: cached and reasoning tokens from the details (0 when
/// absent); OpenAI reports no cache writes.
pub fn usage_from_wire(u: &wire::WireUsage) -> Usage {
    Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
        cached_input_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0),
        cache_write_tokens: 0,
        reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens).unwrap_or(0),
        estimated: false,
    }
}

/// Decode a non-streaming `chat.completion` body.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let c: wire::Completion = serde_json::from_slice(body).map_err(|_| malformed("response"))?;
    Ok(ChatResponse {
        id: c.id,
        model: c.model,
        created: c.created,
        choices: c
            .choices
            .into_iter()
            .map(|ch| Choice {
                index: ch.index,
                content: wire::content_text(ch.message.content),
                refusal: ch.message.refusal,
                tool_calls: ch
                    .message
                    .tool_calls
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| ToolCall { id: t.id, name: t.function.name, arguments: t.function.arguments })
                    .collect(),
                finish_reason: ch.finish_reason.as_deref().filter(|r| !r.is_empty()).map(FinishReason::parse),
            })
            .collect(),
        usage: c.usage.as_ref().map(usage_from_wire),
    })
}

/// SSE bytes from an OpenAI-compatible upstream to canonical stream events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// Every complete event, re-framed with its data untouched: what a same-dialect caller
    /// receives, so a cut never leaves it half an event.
    pub echo: Vec<u8>,
    /// The caller did not ask for usage (the gateway did): the echo leaves out the usage-only
    /// final chunk and the non-null `usage` of any other chunk, every other byte unchanged.
    pub strip_usage: bool,
}

impl StreamDecoder {
    pub(super) fn decode(&mut self, events: Vec<crate::core::util::sse::SseEvent>) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        for ev in events {
            if ev.data == "[DONE]" {
                self.echo.extend(crate::core::util::sse::frame(&ev.data));
                out.push(StreamEvent::Done);
                continue;
            }
            let chunk: wire::Chunk = serde_json::from_slice(ev.data.as_bytes()).map_err(|_| malformed("stream chunk"))?;
            // Upstream error events are not echoed: the caller gets the sanitised one
            // (`providers::StreamDecoder` sanitises every error event's message).
            if chunk.error.is_none() {
                self.echo_chunk(&ev.data, &chunk);
            }
            self.chunk_events(chunk, &mut out);
        }
        Ok(out)
    }

    /// Echo one chunk's data, without the usage the caller did not ask for.
    fn echo_chunk(&mut self, data: &str, chunk: &wire::Chunk) {
        if !self.strip_usage || chunk.usage.is_none() {
            self.echo.extend(crate::core::util::sse::frame(data));
        } else if !chunk.choices.is_empty() {
            let edited = crate::core::util::json_member::without_member(data, "usage");
            self.echo.extend(crate::core::util::sse::frame(edited.as_deref().unwrap_or(data)));
        }
    }

    fn chunk_events(&mut self, chunk: wire::Chunk, out: &mut Vec<StreamEvent>) {
        if let Some(err) = chunk.error {
            out.push(StreamEvent::Error { message: err.message });
            return;
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start { id: chunk.id, model: chunk.model, created: chunk.created });
        }
        for ch in chunk.choices {
            if let Some(text) = wire::content_text(ch.delta.content).filter(|t| !t.is_empty()) {
                out.push(StreamEvent::TextDelta { index: ch.index, text });
            }
            for call in ch.delta.tool_calls.unwrap_or_default() {
                let (name, arguments) = call.function.map(|f| (f.name, f.arguments.unwrap_or_default())).unwrap_or_default();
                out.push(StreamEvent::ToolCallDelta { index: ch.index, call_index: call.index, id: call.id, name, arguments });
            }
            if let Some(reason) = ch.finish_reason.filter(|r| !r.is_empty()) {
                out.push(StreamEvent::Finish { index: ch.index, reason: FinishReason::parse(&reason) });
            }
        }
        if let Some(u) = chunk.usage.or_else(|| chunk.x_groq.and_then(|x| x.usage)) {
            out.push(StreamEvent::Usage(usage_from_wire(&u)));
        }
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
pub(crate) mod tests;
