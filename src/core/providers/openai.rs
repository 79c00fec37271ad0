//! OpenAI-compatible upstreams (OpenAI, Groq, Mistral, DeepSeek, Together, vLLM, Ollama, and
//! the built-in mock): canonical request out, canonical response, stream events and errors in.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat>. Error bodies follow
//! <https://platform.openai.com/docs/guides/error-codes>; `insufficient_quota` arrives as a 429
//! but is not a rate limit (no retry helps).

use super::UpstreamRequest;
use crate::core::dialect::openai::encode_request;
use crate::core::error::{sanitize_upstream_message, GatewayError, Kind};
use crate::core::sse::SseParser;
use crate::core::types::*;
use crate::core::wire::openai as wire;

/// Build the upstream call. `api_key` is `None` for servers that need none (Ollama, vLLM).
pub fn build_request(req: &ChatRequest, base_url: &str, upstream_model: &str, api_key: Option<&str>) -> UpstreamRequest {
    let body = serde_json::to_vec(&encode_request(req, upstream_model)).unwrap_or_default();
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if req.stream {
        headers.push(("accept".into(), "text/event-stream".into()));
    }
    if let Some(key) = api_key {
        headers.push(("authorization".into(), format!("Bearer {key}")));
    }
    UpstreamRequest { url: format!("{}/chat/completions", base_url.trim_end_matches('/')), headers, body }
}

fn malformed(what: &str) -> GatewayError {
    GatewayError::new(Kind::UpstreamError, "upstream_malformed", format!("the upstream sent a malformed {what}"))
}

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
                content: ch.message.content,
                refusal: ch.message.refusal,
                tool_calls: ch
                    .message
                    .tool_calls
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| ToolCall { id: t.id, name: t.function.name, arguments: t.function.arguments })
                    .collect(),
                finish_reason: ch.finish_reason.as_deref().map(FinishReason::parse),
            })
            .collect(),
        usage: c.usage.as_ref().map(usage_from_wire),
    })
}

/// Turn an upstream error status and body into the gateway error the client sees.
pub fn decode_error(status: u16, retry_after: Option<&str>, body: &[u8]) -> GatewayError {
    let parsed: Option<wire::ErrorEnvelope> = serde_json::from_slice(body).ok();
    let upstream_code = parsed.as_ref().and_then(|e| e.error.code.as_ref()).and_then(|c| c.as_str()).unwrap_or("");
    let upstream_type = parsed.as_ref().and_then(|e| e.error.kind.as_deref()).unwrap_or("");
    let message = parsed.as_ref().map(|e| sanitize_upstream_message(&e.error.message)).unwrap_or_default();
    let quota = upstream_code == "insufficient_quota" || upstream_type == "insufficient_quota";
    let mut err = match status {
        429 if quota => GatewayError::new(Kind::UpstreamError, "upstream_quota_exhausted", "the upstream provider's quota is exhausted"),
        429 => GatewayError::new(Kind::RateLimited, "upstream_rate_limited", format!("the upstream provider is rate limiting: {message}")),
        400 | 413 | 422 => {
            let code = if upstream_code == "context_length_exceeded" { "context_length_exceeded" } else { "upstream_rejected_request" };
            GatewayError::invalid(code, format!("the upstream rejected the request: {message}"))
        }
        401 | 403 => GatewayError::new(
            Kind::UpstreamError,
            "upstream_auth_failed",
            "the gateway's credentials were rejected by the upstream provider",
        ),
        404 => GatewayError::new(
            Kind::UpstreamError,
            "upstream_not_found",
            format!("the upstream does not know this model or route: {message}"),
        ),
        408 | 504 => GatewayError::new(Kind::UpstreamTimeout, "upstream_timeout", format!("the upstream timed out ({status})")),
        _ => GatewayError::new(Kind::UpstreamError, "upstream_error", format!("the upstream failed with status {status}: {message}")),
    };
    if err.kind == Kind::RateLimited {
        err.retry_after = retry_after.filter(|v| v.len() <= 16 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')).map(str::to_string);
    }
    if message.is_empty() {
        err.message = err.message.trim_end_matches(": ").to_string();
    }
    err
}

/// SSE bytes from an OpenAI-compatible upstream to canonical stream events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
}

impl StreamDecoder {
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, GatewayError> {
        let events = self.sse.push(bytes).map_err(|_| malformed("stream line"))?;
        self.decode(events)
    }

    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, GatewayError> {
        let events = self.sse.finish();
        self.decode(events)
    }

    fn decode(&mut self, events: Vec<crate::core::sse::SseEvent>) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        for ev in events {
            if ev.data == "[DONE]" {
                out.push(StreamEvent::Done);
                continue;
            }
            let chunk: wire::Chunk = serde_json::from_str(&ev.data).map_err(|_| malformed("stream chunk"))?;
            self.chunk_events(chunk, &mut out);
        }
        Ok(out)
    }

    fn chunk_events(&mut self, chunk: wire::Chunk, out: &mut Vec<StreamEvent>) {
        if let Some(err) = chunk.error {
            out.push(StreamEvent::Error { message: sanitize_upstream_message(&err.message) });
            return;
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start { id: chunk.id, model: chunk.model, created: chunk.created });
        }
        for ch in chunk.choices {
            if let Some(text) = ch.delta.content.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::TextDelta { index: ch.index, text });
            }
            for call in ch.delta.tool_calls.unwrap_or_default() {
                let (name, arguments) = call.function.map(|f| (f.name, f.arguments.unwrap_or_default())).unwrap_or_default();
                out.push(StreamEvent::ToolCallDelta { index: ch.index, call_index: call.index, id: call.id, name, arguments });
            }
            if let Some(reason) = ch.finish_reason {
                out.push(StreamEvent::Finish { index: ch.index, reason: FinishReason::parse(&reason) });
            }
        }
        if let Some(u) = chunk.usage {
            out.push(StreamEvent::Usage(usage_from_wire(&u)));
        }
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
