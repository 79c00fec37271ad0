//! The built-in `mock` provider: an OpenAI-compatible upstream that lives inside the gateway.
//! Same prompt, same answer; realistic usage; streaming with chosen chunk spacing; and faults
//! on demand, so clients can test their error handling for free. What it answers (text, JSON
//! valid against a response format's schema, tool calls with arguments valid against the
//! tool's schema, a text answer once tool results are in) is in `answer`; values of a schema
//! come from `schema`, its leaves (strings, numbers) from `values`.
//!
//! Its output is raw upstream bytes (status, headers, body frames) that go through the same
//! OpenAI provider decoding as any real upstream, so faults exercise the real paths.
//!
//! Faults are chosen per request by a directive string, from the `x-switchyard-mock` header or
//! from an upstream model id of the form `fault:<directive>` in config. A directive is a list
//! of `key=value` items separated by `,` or `;`:
//! `status=429`, `retry_after=2`, `delay_ms=300`, `chunk_ms=20`, `cut_after=3`, `malformed`,
//! and `panic` where the provider allows it.

mod answer;
pub mod schema;
pub mod values;

pub use answer::estimate_input_tokens;

use crate::core::error::{Code, GatewayError};
use crate::core::translate::dialect::openai::encode_response;
use crate::core::translate::dialect::openai_stream::OpenAiStreamEncoder;
use crate::core::types::*;
use crate::json;

/// What the mock upstream answers, for the edge to play back with its timers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockReply {
    /// HTTP status of the response head: 200, or the directive's fault status.
    pub status: u16,
    /// Response headers (`content-type`, and `retry-after` with a fault that sets it).
    pub headers: Vec<(String, String)>,
    /// Wait before the response head, in milliseconds.
    pub delay_ms: u32,
    /// Body pieces; a non-streaming answer is one piece.
    pub frames: Vec<Vec<u8>>,
    /// Wait between pieces, in milliseconds.
    pub interval_ms: u32,
    /// After the pieces, the body fails instead of ending cleanly.
    pub cut: bool,
}

/// Faults asked of the mock for one call, parsed from a directive string (see the module
/// docs); the default asks for none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Directive {
    /// `status=N` (200 to 599): answer with this status and an OpenAI-shaped error body;
    /// statuses below 300 answer normally.
    pub status: Option<u16>,
    /// `retry_after=N`: the `retry-after` header, in seconds (up to 86 400), sent with a fault
    /// status.
    pub retry_after: Option<String>,
    /// `delay_ms=N`: wait before the response head, in milliseconds (up to 120 000).
    pub delay_ms: u32,
    /// `chunk_ms=N`: spacing between stream chunks, in milliseconds (up to 10 000), over the
    /// provider's `stream_chunk_ms`.
    pub chunk_ms: Option<u32>,
    /// `cut_after=N`: end a stream with a failure after N frames (a non-streaming body fails
    /// after its one piece).
    pub cut_after: Option<usize>,
    /// `malformed`: send a body (or one stream event) that is not valid JSON.
    pub malformed: bool,
    /// Make the gateway itself panic (only where the mock provider sets `allow_panic`), to
    /// prove recovery: a JSON 500 now, a working gateway on the next request.
    pub panic: bool,
}

const MAX_DELAY_MS: u32 = 120_000;

fn bad(detail: &str) -> GatewayError {
    GatewayError::new(Code::InvalidMockDirective, format!("mock directive: {detail}"))
}

impl Directive {
    /// Parse a directive string; an unknown item or an out-of-range number is a client error
    /// `invalid_mock_directive`.
    pub fn parse(s: &str) -> Result<Directive, GatewayError> {
        let mut d = Directive::default();
        for item in s.split([',', ';']).map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let num = |max: u64| {
                value.parse::<u64>().ok().filter(|v| *v <= max).ok_or_else(|| bad(&format!("'{key}' needs a number up to {max}")))
            };
            match key {
                "status" => {
                    d.status = Some(num(599).and_then(|v| if v >= 200 { Ok(v as u16) } else { Err(bad("status must be 200..599")) })?)
                }
                "retry_after" => d.retry_after = Some(num(86_400)?.to_string()),
                "delay_ms" => d.delay_ms = num(MAX_DELAY_MS as u64)? as u32,
                "chunk_ms" => d.chunk_ms = Some(num(10_000)? as u32),
                "cut_after" => d.cut_after = Some(num(100_000)? as usize),
                "malformed" => d.malformed = true,
                "panic" => d.panic = true,
                _ => return Err(bad(&format!("unknown item '{key}'"))),
            }
        }
        Ok(d)
    }

    /// Combine: items set in `over` win.
    pub fn merged(self, over: Directive) -> Directive {
        Directive {
            status: over.status.or(self.status),
            retry_after: over.retry_after.or(self.retry_after),
            delay_ms: if over.delay_ms > 0 { over.delay_ms } else { self.delay_ms },
            chunk_ms: over.chunk_ms.or(self.chunk_ms),
            cut_after: over.cut_after.or(self.cut_after),
            malformed: over.malformed || self.malformed,
            panic: over.panic || self.panic,
        }
    }
}

/// Stream events for a response, as OpenAI would send them.
fn stream_events(r: &ChatResponse) -> Vec<StreamEvent> {
    let mut evs = vec![StreamEvent::Start { id: r.id.clone(), model: r.model.clone(), created: r.created }];
    for c in &r.choices {
        if let Some(text) = &c.content {
            let mut words = text.split_inclusive(' ');
            evs.extend(words.by_ref().map(|w| StreamEvent::TextDelta { index: c.index, text: w.to_string() }));
        }
        for (i, call) in c.tool_calls.iter().enumerate() {
            let (head, tail) = call.arguments.split_at(call.arguments.len() / 2);
            evs.push(StreamEvent::ToolCallDelta {
                index: c.index,
                call_index: i as u32,
                id: Some(call.id.clone()),
                name: Some(call.name.clone()),
                arguments: head.into(),
            });
            evs.push(StreamEvent::ToolCallDelta { index: c.index, call_index: i as u32, id: None, name: None, arguments: tail.into() });
        }
        if let Some(f) = &c.finish_reason {
            evs.push(StreamEvent::Finish { index: c.index, reason: f.clone() });
        }
    }
    if let Some(u) = r.usage {
        evs.push(StreamEvent::Usage(u));
    }
    evs.push(StreamEvent::Done);
    evs
}

/// Context the mock needs besides the request.
pub struct MockCall<'a> {
    /// The configured upstream model id; part of what the answer is derived from, and its
    /// `model`.
    pub upstream_model: &'a str,
    /// The faults to inject: from a `fault:` model id, merged for caller requests with the
    /// `x-switchyard-mock` header's.
    pub directive: Directive,
    /// Spacing between stream chunks, in milliseconds, when the directive sets none.
    pub default_chunk_ms: u32,
    /// Current time, Unix seconds: the answer's `created`.
    pub now_s: u64,
}

/// The mock upstream's reply to `req`: the fault the directive asks for, else the answer for
/// the request's messages, as one JSON body or as OpenAI stream frames. The same messages
/// and model always get the same answer.
pub fn respond(req: &ChatRequest, call: MockCall) -> MockReply {
    let d = call.directive;
    let json_head = vec![("content-type".to_string(), "application/json".to_string())];
    let mut reply = MockReply { status: 200, headers: json_head, delay_ms: d.delay_ms, frames: Vec::new(), interval_ms: 0, cut: false };
    if let Some(status) = d.status.filter(|s| *s >= 300) {
        reply.status = status;
        if let Some(ra) = d.retry_after {
            reply.headers.push(("retry-after".into(), ra));
        }
        let body = json!({"error": {"message": format!("mock fault: status {status}"), "type": "mock_fault", "code": "mock_fault", "param": null}});
        reply.frames.push(body.to_string().into_bytes());
        return reply;
    }
    let response = answer::answer(req, call.upstream_model, call.now_s);
    if !req.stream {
        reply.frames.push(if d.malformed { br#"{"id":"chatcmpl-mock","choices":[{"#.to_vec() } else { encode_response(&response) });
        reply.cut = d.cut_after.is_some();
        return reply;
    }
    reply.headers = vec![("content-type".into(), "text/event-stream".into())];
    reply.interval_ms = d.chunk_ms.unwrap_or(call.default_chunk_ms);
    let mut enc = OpenAiStreamEncoder::new(req.include_usage);
    reply.frames = stream_events(&response).iter().map(|e| enc.push(e)).filter(|f| !f.is_empty()).collect();
    if d.malformed {
        reply.frames.insert(reply.frames.len().min(1), b"data: {\"id\": oops\n\n".to_vec());
    }
    if let Some(n) = d.cut_after {
        reply.frames.truncate(n);
        reply.cut = true;
    }
    reply
}

#[cfg(test)]
#[path = "mock_tests.rs"]
mod tests;
