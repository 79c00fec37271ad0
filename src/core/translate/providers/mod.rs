//! Canonical requests to and from what each upstream speaks, one file per wire format.
//! Each provider has four narrow conversions: request out, response in, stream in, error in.
//!
//! Invariant: upstream error text (error bodies, in-band stream errors) leaves this module
//! only through [`sanitize_upstream_message`], with the isolate's [`Redactor`]: each wire's
//! own decoders yield it raw, and [`decode_error`] and [`StreamDecoder`] sanitise it.

pub mod anthropic;
pub(crate) mod anthropic_native;
pub mod gemini;
pub mod gemini_schema;
pub mod gemini_signature;
pub mod mock;
pub mod openai;
pub mod responses;
mod upstream;

pub(crate) use upstream::malformed;
pub use upstream::{forwarded_headers, wire_for, Cause, ErrorParts, Target, UpstreamRequest, FORWARDED_HEADERS};

use crate::core::error::{sanitize_upstream_message, Code, GatewayError, Kind};
use crate::core::types::{ChatRequest, ChatResponse, Dialect, StreamEvent};
use crate::core::util::redact::Redactor;
use crate::core::util::sse::{SseEvent, SseParser};

/// Build the upstream call for `req`. Fails only for requests the upstream cannot express.
pub fn build_request(req: &ChatRequest, t: &Target) -> Result<UpstreamRequest, GatewayError> {
    match wire_for(t.kind, t.responses_api, req.dialect) {
        Dialect::OpenAi | Dialect::Completions => Ok(openai::build_request(req, t)),
        Dialect::Responses => Ok(responses::build_request(req, t)),
        Dialect::Anthropic => anthropic::build_request(req, t),
        Dialect::Gemini => gemini::build_request(req, t),
    }
}

/// Decode a successful (2xx) non-streaming answer in the upstream's wire format; a body that
/// does not parse is `upstream_malformed`.
pub fn decode_response(wire: Dialect, body: &[u8]) -> Result<ChatResponse, GatewayError> {
    match wire {
        Dialect::OpenAi | Dialect::Completions => openai::decode_response(body),
        Dialect::Responses => responses::decode_response(body),
        Dialect::Anthropic => anthropic::decode_response(body),
        Dialect::Gemini => gemini::decode_response(body),
    }
}

/// The gateway error for an upstream's failure response: its status, its `retry-after` header
/// value (kept only on rate limits, and only if numeric) and its error body in the wire's
/// shape (an unparsable body just loses the upstream's cause and message). The message is
/// sanitised with `redactor`.
pub fn decode_error(wire: Dialect, status: u16, retry_after: Option<&str>, body: &[u8], redactor: &Redactor) -> GatewayError {
    let parts = match wire {
        Dialect::OpenAi | Dialect::Completions | Dialect::Responses => openai::error_parts(body),
        Dialect::Anthropic => anthropic::error_parts(body),
        Dialect::Gemini => gemini::error_parts(body),
    };
    let from_body = parts.retry_after_s.map(|s| s.to_string());
    classify_error(status, parts.cause, &sanitize_upstream_message(&parts.message, redactor), retry_after.or(from_body.as_deref()))
}

/// An upstream's stream, by wire format: SSE framing here, each wire's events in its file.
/// In-band error messages are sanitised here, with the redactor it was made with.
#[derive(Debug)]
pub struct StreamDecoder {
    sse: SseParser,
    wire: WireStream,
    redactor: Redactor,
}

#[derive(Debug)]
enum WireStream {
    OpenAi(openai::StreamDecoder),
    Anthropic(anthropic::StreamDecoder),
    Gemini(gemini::StreamDecoder),
    Responses(responses::StreamDecoder),
}

impl StreamDecoder {
    /// A decoder for a stream in the upstream's wire format, with SSE lines capped at 4 MiB;
    /// `redactor` cleans the messages of in-band errors.
    pub fn new(wire: Dialect, redactor: Redactor) -> Self {
        let wire = match wire {
            Dialect::OpenAi | Dialect::Completions => WireStream::OpenAi(Default::default()),
            Dialect::Responses => WireStream::Responses(Default::default()),
            Dialect::Anthropic => WireStream::Anthropic(Default::default()),
            Dialect::Gemini => WireStream::Gemini(Default::default()),
        };
        StreamDecoder { sse: SseParser::default(), wire, redactor }
    }

    fn decode(&mut self, events: Vec<SseEvent>) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = match &mut self.wire {
            WireStream::OpenAi(d) => d.decode(events),
            WireStream::Anthropic(d) => d.decode(events),
            WireStream::Gemini(d) => d.decode(events),
            WireStream::Responses(d) => d.decode(events),
        }?;
        for ev in &mut out {
            if let StreamEvent::Error { message } = ev {
                *message = sanitize_upstream_message(message, &self.redactor);
            }
        }
        Ok(out)
    }

    /// Feed the next bytes of the body, split anywhere; the events they complete. An unparsable
    /// event or an overlong line is `upstream_malformed`; the stream has then failed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, GatewayError> {
        let events = self.sse.push(bytes).map_err(|_| malformed("stream line"))?;
        self.decode(events)
    }

    /// The upstream's body ended: the events of a last, unterminated SSE event. A Gemini
    /// stream, which has no end event, gets its usage and `Done` here, and only if a
    /// candidate reported a finish reason.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, GatewayError> {
        let events = self.sse.finish();
        let mut out = self.decode(events)?;
        if let WireStream::Gemini(d) = &mut self.wire {
            out.extend(d.end());
        }
        Ok(out)
    }

    /// Leave the usage the gateway asked for (and the caller did not) out of the echo
    /// (OpenAI wire only).
    pub fn strip_usage(&mut self) {
        if let WireStream::OpenAi(d) = &mut self.wire {
            d.strip_usage = true;
        }
    }

    /// Complete upstream events re-framed as received (OpenAI, Anthropic and Responses wires;
    /// upstream `error` events excepted).
    pub fn take_echo(&mut self) -> Vec<u8> {
        match &mut self.wire {
            WireStream::OpenAi(d) => std::mem::take(&mut d.echo),
            WireStream::Anthropic(d) => std::mem::take(&mut d.echo),
            WireStream::Responses(d) => std::mem::take(&mut d.echo),
            WireStream::Gemini(_) => Vec::new(),
        }
    }

    /// For an echoed Responses stream: the gateway's `error` event, numbered after the
    /// upstream's events (the caller's own encoder would start a response of its own).
    pub fn error_event(&self, message: &str) -> Option<Vec<u8>> {
        match &self.wire {
            WireStream::Responses(d) => Some(d.error_event(message)),
            _ => None,
        }
    }

    /// Whether the stream so far held something its canonical events cannot carry, so that a
    /// replay of the assembled answer would differ from it (Anthropic wire only: thinking,
    /// server tool and citation blocks, a stop sequence).
    pub fn lossy(&self) -> bool {
        matches!(&self.wire, WireStream::Anthropic(d) if d.lossy)
    }
}

/// The gateway error for an upstream failure status. `cause` is what the body said (see
/// [`Cause`]): it decides over the status, so that a provider's 400 for the gateway's own bad
/// key is never passed off as the caller's mistake. `message` must already be sanitised; it is
/// left out where it would tell the caller about the gateway's credentials or account.
pub fn classify_error(status: u16, cause: Cause, message: &str, retry_after: Option<&str>) -> GatewayError {
    let context = cause == Cause::ContextLength || message.contains("context length") || message.contains("prompt is too long");
    let detail = |prefix: &str| if message.is_empty() { prefix.to_string() } else { format!("{prefix}: {message}") };
    let auth = || GatewayError::new(Code::UpstreamAuthFailed, "the gateway's credentials were rejected by the upstream provider");
    let quota = || GatewayError::new(Code::UpstreamQuotaExhausted, "the upstream provider's quota or billing does not allow the request");
    let overloaded = || GatewayError::new(Code::UpstreamOverloaded, detail("the upstream is overloaded"));
    let rate_limited = || GatewayError::new(Code::UpstreamRateLimited, detail("the upstream provider is rate limiting"));
    let mut err = match (cause, status) {
        (Cause::Credentials, _) => auth(),
        (Cause::Quota, _) => quota(),
        (Cause::Overloaded, _) => overloaded(),
        (Cause::RateLimit, _) => rate_limited(),
        (_, 400 | 413 | 422) | (Cause::ContextLength, 400..=499) if context => {
            GatewayError::new(Code::ContextLengthExceeded, detail("the request exceeds the model's context window"))
        }
        (_, 401 | 403) => auth(),
        (_, 402) => quota(),
        (_, 429) => rate_limited(),
        (_, 529) => overloaded(),
        (_, 400 | 413 | 422) => GatewayError::new(Code::UpstreamRejectedRequest, detail("the upstream rejected the request")),
        (_, 404) => GatewayError::new(Code::UpstreamNotFound, detail("the upstream does not know this model or route")),
        (_, 408 | 504) => GatewayError::new(Code::UpstreamTimeout, format!("the upstream timed out ({status})")),
        _ => GatewayError::new(Code::UpstreamError, detail(&format!("the upstream failed with status {status}"))),
    };
    if err.kind == Kind::RateLimited {
        err.retry_after = retry_after.filter(|v| v.len() <= 16 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')).map(str::to_string);
    }
    err
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod errors_tests;

/// Test helper: decoding `bytes` split at every offset gives the same events as in one piece.
#[cfg(test)]
pub(crate) fn assert_split_invariant(wire: Dialect, bytes: &[u8]) {
    let run = |parts: &[&[u8]]| {
        let mut d = StreamDecoder::new(wire, Redactor::default());
        let mut evs: Vec<StreamEvent> = parts.iter().flat_map(|p| d.push(p).unwrap()).collect();
        evs.extend(d.finish().unwrap());
        evs
    };
    let whole = run(&[bytes]);
    for cut in 0..bytes.len() {
        assert_eq!(run(&[&bytes[..cut], &bytes[cut..]]), whole, "{wire:?} cut at {cut}");
    }
}
