//! OpenAI's Responses API as an upstream wire, for passthrough only: a Responses caller whose
//! target is an OpenAI provider with `responses_api` sends its own request to the upstream's
//! `/responses` with only `model` set to the upstream id, and gets the upstream's answer body
//! and stream events as they came (an upstream `error` or `response.failed` event excepted: the
//! caller gets the gateway's sanitised `error` event). They are read here for usage (cost),
//! the clean end, and the canonical answer.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses> (the `response`
//! object and the streaming events). Error bodies are OpenAI's (`openai::error_parts`).

use super::anthropic_native::reframe;
use super::upstream::{malformed, Target, UpstreamRequest};
use crate::core::error::{Code, GatewayError};
use crate::core::types::*;
use crate::core::util::json_value::put;
use crate::core::util::sse::SseEvent;
use crate::core::util::strict_json::parse;
use serde_json::Value;

/// The caller's own request, with `model` set to the upstream's id, for `POST {base}/responses`;
/// its `previous_response_id` and `conversation` name the gateway's store (whose history is
/// in its `input` by now), so they are not sent.
pub fn build_request(req: &ChatRequest, t: &Target) -> UpstreamRequest {
    let mut body = req.raw.clone().unwrap_or_default();
    body.remove("previous_response_id");
    body.remove("conversation");
    put(&mut body, "model", t.model.into());
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if req.stream {
        headers.push(("accept".into(), "text/event-stream".into()));
    }
    if let Some(key) = t.api_key {
        headers.push(("authorization".into(), format!("Bearer {key}")));
    }
    let url = format!("{}/responses", t.base_url.trim_end_matches('/'));
    UpstreamRequest { url, headers, body: serde_json::to_vec(&body).unwrap_or_default() }
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Usage in the Responses API's shape (`None` when absent).
fn usage(u: &Value) -> Option<Usage> {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    u.is_object().then(|| Usage {
        input_tokens: n("/input_tokens"),
        output_tokens: n("/output_tokens"),
        cached_input_tokens: n("/input_tokens_details/cached_tokens"),
        cache_write_tokens: n("/input_tokens_details/cache_write_tokens"),
        reasoning_tokens: n("/output_tokens_details/reasoning_tokens"),
        ..Usage::default()
    })
}

/// A `response` object as a canonical answer: its messages' text and refusal, its function
/// calls, the finish its status means, and its usage. Other output items (reasoning, hosted
/// tool calls) have no canonical form.
fn answer(r: &Value) -> ChatResponse {
    let (mut content, mut refusal, mut tool_calls) = (None::<String>, None, Vec::new());
    for item in r["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    match part["type"].as_str() {
                        Some("output_text") => content.get_or_insert_with(String::new).push_str(part["text"].as_str().unwrap_or_default()),
                        Some("refusal") => refusal = Some(text(part, "/refusal")),
                        _ => {}
                    }
                }
            }
            Some("function_call") => {
                tool_calls.push(ToolCall { id: text(item, "/call_id"), name: text(item, "/name"), arguments: text(item, "/arguments") })
            }
            _ => {}
        }
    }
    let finish_reason = Some(match (r["status"].as_str(), text(r, "/incomplete_details/reason").as_str()) {
        (Some("incomplete"), "content_filter") => FinishReason::ContentFilter,
        (Some("incomplete"), _) => FinishReason::Length,
        _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    });
    ChatResponse {
        id: text(r, "/id"),
        model: text(r, "/model"),
        created: r["created_at"].as_f64().unwrap_or(0.0) as u64,
        choices: vec![Choice { index: 0, content, refusal, tool_calls, finish_reason }],
        usage: usage(&r["usage"]),
    }
}

/// Decode a non-streaming `response` body.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    match parse(body) {
        Ok(v) if v["object"] == "response" => Ok(answer(&v)),
        _ => Err(malformed("response")),
    }
}

/// SSE events from a Responses upstream to canonical stream events, each echoed as received.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Every complete event but errors, re-framed with its name and data untouched: what the
    /// Responses caller receives.
    pub echo: Vec<u8>,
    /// Function calls seen so far.
    calls: u32,
    /// The sequence number after the upstream's last event: the gateway's own `error`
    /// event's.
    next_seq: u64,
}

impl StreamDecoder {
    pub(super) fn decode(&mut self, events: Vec<SseEvent>) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        for ev in events {
            let v = parse(ev.data.as_bytes()).map_err(|_| malformed("stream event"))?;
            self.next_seq = v["sequence_number"].as_u64().map_or(self.next_seq, |n| n + 1);
            let kind = v["type"].as_str().unwrap_or_default();
            match kind {
                "error" | "response.failed" => {
                    let message = if kind == "error" { text(&v, "/message") } else { text(&v, "/response/error/message") };
                    out.push(StreamEvent::Error { message });
                    continue;
                }
                "response.created" => {
                    let r = answer(&v["response"]);
                    out.push(StreamEvent::Start { id: r.id, model: r.model, created: r.created });
                }
                "response.output_text.delta" => out.push(StreamEvent::TextDelta { index: 0, text: text(&v, "/delta") }),
                "response.output_item.added" if v["item"]["type"] == "function_call" => {
                    let (id, name) = (Some(text(&v, "/item/call_id")), Some(text(&v, "/item/name")));
                    out.push(StreamEvent::ToolCallDelta {
                        index: 0,
                        call_index: self.calls,
                        id,
                        name,
                        arguments: text(&v, "/item/arguments"),
                    });
                    self.calls += 1;
                }
                "response.function_call_arguments.delta" => {
                    let call_index = self.calls.saturating_sub(1);
                    out.push(StreamEvent::ToolCallDelta { index: 0, call_index, id: None, name: None, arguments: text(&v, "/delta") });
                }
                "response.completed" | "response.incomplete" => {
                    let r = answer(&v["response"]);
                    let reason = r.choices.into_iter().next().and_then(|c| c.finish_reason).unwrap_or(FinishReason::Stop);
                    out.push(StreamEvent::Finish { index: 0, reason });
                    out.extend(r.usage.map(StreamEvent::Usage));
                    out.push(StreamEvent::Done);
                }
                _ => {}
            }
            reframe(&ev, &mut self.echo);
        }
        Ok(out)
    }

    /// The `error` event that ends a broken stream, numbered after the upstream's last event.
    pub fn error_event(&self, message: &str) -> Vec<u8> {
        let data = format!(
            r#"{{"type":"error","code":"{}","message":{},"param":null,"sequence_number":{}}}"#,
            Code::StreamError.as_str(),
            serde_json::to_string(message).unwrap_or_default(),
            self.next_seq
        );
        format!("event: error\ndata: {data}\n\n").into_bytes()
    }
}

#[cfg(test)]
#[path = "responses_tests.rs"]
pub(crate) mod tests;
