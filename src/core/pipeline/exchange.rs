//! One attempt's exchange with one upstream target, as a pure state machine (no I/O, no
//! clock): the session makes one per attempt, feeds it what happened (the upstream's head,
//! its body, stream chunks, a failure) and hands on the [`Action`] it returns. Because every
//! decision is here, whole request flows are tested on the host without a runtime.
//!
//! Stream invariant: a stream that ends without the upstream's clean end (`[DONE]`,
//! `message_stop`, or a Gemini finish reason), or with a malformed chunk, is closed with an
//! in-band error event, never as a clean finish.

use crate::core::error::{Code, GatewayError};
use crate::core::pipeline::protocol::{base_headers, error_reply, Action, Reply};
use crate::core::translate::assembler::Assembler;
use crate::core::translate::dialect::responses::Echo;
use crate::core::translate::dialect::{self, StreamEncoder};
use crate::core::translate::embeddings::{self, EmbeddingsRequest};
use crate::core::translate::providers::{self, StreamDecoder, UpstreamRequest};
use crate::core::types::{ChatResponse, Dialect, StreamEvent, Usage};
use crate::core::util::decimal::parse_f64;
use crate::core::util::redact::Redactor;
use std::rc::Rc;

/// Where the exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitHead,
    AwaitBody { status: u16 },
    Streaming,
    Done,
}

/// Who is talking to whom: the caller's dialect and what the upstream speaks.
#[derive(Debug, Clone)]
pub struct Route {
    /// The target's provider name in the config, sent back as `x-switchyard-provider`.
    pub provider: String,
    /// The upstream's own model id, sent back as `x-switchyard-model`.
    pub upstream_model: String,
    /// The caller API: what the caller speaks (OpenAI chat completions or Anthropic
    /// messages); the upstream wire is the provider's.
    pub api: Dialect,
    /// What the upstream speaks (its provider kind's wire format).
    pub wire: Dialect,
    /// The caller asked for a stream (never for embeddings).
    pub stream: bool,
    /// The caller asked for usage in its stream (the upstream is always asked).
    pub include_usage: bool,
    /// Set for an embeddings call: its answer is an embedding list, not a chat answer.
    pub embeddings: Option<Box<EmbeddingsRequest>>,
    /// The caller's allowed browser origin: replies carry CORS headers for it.
    pub cors_origin: Option<String>,
    /// The request's time, Unix seconds: the `created` of an answer whose upstream gives
    /// none (Anthropic, Gemini), so an OpenAI caller never sees `created: 0`.
    pub created_s: u64,
    /// For a Responses caller: what its answers repeat of its request.
    pub echo: Option<Rc<Echo>>,
}

impl Route {
    /// Same wire format on both sides: the upstream's own events go out, re-framed but
    /// otherwise untouched (its `error` events excepted), except on OpenAI the usage the caller
    /// did not ask for (the gateway always asks), which the decoder's echo strips.
    fn passthrough_stream(&self) -> bool {
        self.api == self.wire && matches!(self.api, Dialect::OpenAi | Dialect::Anthropic | Dialect::Responses)
    }

    /// Anthropic on both sides: the caller gets the upstream's own answer, which may hold
    /// blocks (thinking, citations, server tools) or a stop sequence that the canonical answer
    /// cannot; such an answer is not collected for the cache, whose replay is re-encoded
    /// from the canonical answer and would lose them.
    fn passthrough_anthropic(&self) -> bool {
        self.api == Dialect::Anthropic && self.wire == Dialect::Anthropic
    }

    /// A passed-through answer holding more than the canonical answer can (for Responses,
    /// always: reasoning items and such are not checked for), so it is not cached.
    fn lossy_passthrough(&self, body: &[u8]) -> bool {
        self.wire == Dialect::Responses || (self.passthrough_anthropic() && providers::anthropic::response_is_lossy(body))
    }
}

/// What the exchange knows once a route is chosen.
#[derive(Debug)]
pub struct Exchange {
    pub(crate) request_id: String,
    route: Route,
    phase: Phase,
    retry_after: Option<String>,
    /// Cleans upstream error text (bodies and in-band errors) of the isolate's secrets.
    redactor: Redactor,
    decoder: StreamDecoder,
    encoder: StreamEncoder,
    saw_done: bool,
    stream_failed: bool,
    /// Usage reported by the upstream, once known.
    pub usage: Option<Usage>,
    /// Why this attempt failed, once it has (before or after the commit point).
    pub failure: Option<GatewayError>,
    /// The upstream's `retry-after-ms`, or `retry-after` in seconds, as milliseconds (at most
    /// a day; an HTTP-date `retry-after` is not read).
    pub retry_after_ms: Option<u64>,
    /// The reply head went to the client: from here a failure can only be reported in-band.
    pub committed: bool,
    /// Characters of answer text and tool arguments seen, for estimating missing usage.
    pub output_chars: u64,
    /// The stream ended with the upstream's clean end.
    pub completed: bool,
    /// The upstream's `x-ratelimit-remaining-requests` or `-tokens` said 0: how long until it
    /// resets, in milliseconds (the later of the two; 1000 when the reset is absent or
    /// unreadable).
    pub quota_exhausted_ms: Option<u64>,
    /// Collecting the whole answer (for the cache): the stream's events so far.
    assembler: Option<Assembler>,
    /// The whole answer, once complete, when collecting.
    pub answer: Option<ChatResponse>,
    /// Anthropic on both sides, and the answer held what the canonical one cannot (thinking,
    /// citations, server tools): `answer` is then not the caller's whole answer, and is not
    /// cached (a replay would lose those blocks).
    pub lossy: bool,
    /// Gemini embeddings past the first batch: the calls still to make (last first), and
    /// the vectors of the batches answered so far.
    batches: Batches,
}

/// An embeddings request sent in several upstream calls, one after another, within one
/// attempt: a failed call fails the attempt (a retry starts again from the first batch).
#[derive(Debug, Default)]
struct Batches {
    pending: Vec<UpstreamRequest>,
    timeout_ms: u32,
    ttfb_ms: u32,
    vectors: Vec<Vec<f32>>,
}

/// The upstream response headers `Exchange::on_head` reads (lowercase). The edge may pass
/// only these: the rest never changes what the exchange does.
pub const UPSTREAM_HEADERS: [&str; 7] = [
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
];

impl Exchange {
    /// An attempt at `route`; upstream error text is cleaned with `redactor`.
    pub(crate) fn new(request_id: String, route: Route, redactor: Redactor) -> Self {
        let mut decoder = StreamDecoder::new(route.wire, redactor.clone());
        if route.passthrough_stream() && !route.include_usage {
            decoder.strip_usage();
        }
        Exchange {
            request_id,
            phase: Phase::AwaitHead,
            retry_after: None,
            decoder,
            redactor,
            encoder: StreamEncoder::new(route.api, route.include_usage, route.echo.clone()),
            route,
            saw_done: false,
            stream_failed: false,
            usage: None,
            failure: None,
            retry_after_ms: None,
            committed: false,
            output_chars: 0,
            completed: false,
            quota_exhausted_ms: None,
            assembler: None,
            answer: None,
            lossy: false,
            batches: Batches::default(),
        }
    }

    /// Calls to make after the first, in order, each once the previous one answered (Gemini
    /// embeddings over one batch); each gets the first call's timeouts.
    pub(crate) fn then_fetch(&mut self, mut calls: Vec<UpstreamRequest>, timeout_ms: u32, ttfb_ms: u32) {
        calls.reverse();
        self.batches = Batches { pending: calls, timeout_ms, ttfb_ms, vectors: Vec::new() };
    }

    /// The id of the request this attempt belongs to.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Keep the whole answer (`answer`) once it is complete.
    pub fn collect(&mut self) {
        self.assembler = Some(Assembler::default());
    }

    /// True once nothing more will be produced (reply sent, or stream closed).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    fn headers(&self, content_type: &str) -> Vec<(String, String)> {
        let mut h = base_headers(&self.request_id, content_type);
        h.push(("x-switchyard-provider".into(), self.route.provider.clone()));
        h.push(("x-switchyard-model".into(), self.route.upstream_model.clone()));
        h.extend(self.route.cors_origin.as_deref().map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
        h
    }

    pub(crate) fn fail_now(&mut self, err: GatewayError) -> Action {
        self.fail(err)
    }

    fn fail(&mut self, err: GatewayError) -> Action {
        self.phase = Phase::Done;
        self.failure = Some(err.clone());
        let mut reply = error_reply(&self.request_id, &err, self.route.api);
        reply.headers.push(("x-switchyard-provider".into(), self.route.provider.clone()));
        reply.headers.extend(self.route.cors_origin.as_deref().map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
        Action::Respond(reply)
    }

    /// The upstream answered with a head. Only the headers named in [`UPSTREAM_HEADERS`] are
    /// read.
    pub fn on_head(&mut self, status: u16, headers: &[(String, String)]) -> Action {
        if self.phase != Phase::AwaitHead {
            return self.fail(GatewayError::new(Code::ExchangeOutOfOrder, "response head arrived out of order"));
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
        self.retry_after = header("retry-after").map(str::to_string);
        self.retry_after_ms = header("retry-after-ms")
            .and_then(parse_f64)
            .or_else(|| header("retry-after").and_then(parse_f64).map(|s| s * 1000.0))
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map(|ms| ms.min(86_400_000.0) as u64);
        self.quota_exhausted_ms = [
            ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
            ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
        ]
        .iter()
        .filter(|(remaining, _)| header(remaining).and_then(|v| v.parse::<u64>().ok()) == Some(0))
        .map(|(_, reset)| header(reset).and_then(crate::core::util::duration::parse_duration_ms).unwrap_or(1000))
        .max();
        let is_sse = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.starts_with("text/event-stream"));
        if status == 200 && self.route.stream && is_sse {
            self.phase = Phase::Streaming;
            self.committed = true;
            let mut h = self.headers("text/event-stream");
            h.push(("cache-control".into(), "no-cache".into()));
            return Action::Stream(Reply { status: 200, headers: h, body: Vec::new(), body_from_upstream: false });
        }
        self.phase = Phase::AwaitBody { status };
        Action::ReadBody
    }

    /// The whole upstream body of a non-streamed (or failed) response.
    pub fn on_body(&mut self, body: &[u8]) -> Action {
        let Phase::AwaitBody { status } = self.phase else {
            return self.fail(GatewayError::new(Code::ExchangeOutOfOrder, "response body arrived out of order"));
        };
        let route = &self.route;
        if !(200..300).contains(&status) {
            let err = providers::decode_error(route.wire, status, self.retry_after.as_deref(), body, &self.redactor);
            if self.retry_after_ms.is_none() {
                // A delay given only in the body (Gemini's `RetryInfo`) paces retries too.
                self.retry_after_ms = err.retry_after.as_deref().and_then(|s| s.parse::<u64>().ok()).map(|s| s * 1000);
            }
            return self.fail(err);
        }
        if route.stream {
            return self.fail(GatewayError::new(Code::UpstreamMalformed, "the upstream answered a stream request without a stream"));
        }
        if let Some(req) = &route.embeddings {
            if route.wire == Dialect::OpenAi {
                self.usage = Some(embeddings::usage(req, Some(body)));
                return self.respond(None);
            }
            match embeddings::gemini_vectors(body) {
                Ok(v) => self.batches.vectors.extend(v),
                Err(e) => return self.fail(e),
            }
            if let Some(request) = self.batches.pending.pop() {
                self.phase = Phase::AwaitHead;
                return Action::Fetch { request, timeout_ms: self.batches.timeout_ms, ttfb_ms: self.batches.ttfb_ms, delay_ms: 0 };
            }
            let vectors = std::mem::take(&mut self.batches.vectors);
            return match embeddings::gemini_to_openai(&vectors, req, &route.upstream_model) {
                Ok(body) => {
                    self.usage = Some(embeddings::usage(req, None));
                    self.respond(Some(body))
                }
                Err(e) => self.fail(e),
            };
        }
        let mut resp = match providers::decode_response(route.wire, body) {
            Ok(resp) => resp,
            Err(e) => return self.fail(e),
        };
        if resp.created == 0 {
            resp.created = route.created_s;
        }
        self.usage = resp.usage;
        if self.assembler.take().is_some() {
            self.lossy = route.lossy_passthrough(body);
            self.answer = Some(resp.clone());
        }
        self.output_chars = resp
            .choices
            .iter()
            .map(|c| c.content.as_deref().map_or(0, |t| t.chars().count()) + c.tool_calls.iter().map(|t| t.arguments.len()).sum::<usize>())
            .sum::<usize>() as u64;
        if self.route.api == self.route.wire {
            // Same dialect on both sides: the validated upstream body goes out untouched,
            // keeping fields the gateway does not model (system_fingerprint, logprobs, ...).
            return self.respond(None);
        }
        self.respond(Some(dialect::encode_response(self.route.api, &resp, self.route.echo.as_deref())))
    }

    /// A 200 answer: `body`, or (`None`) the upstream's body exactly as received.
    fn respond(&mut self, body: Option<Vec<u8>>) -> Action {
        self.phase = Phase::Done;
        let headers = self.headers("application/json");
        let body_from_upstream = body.is_none();
        Action::Respond(Reply { status: 200, headers, body: body.unwrap_or_default(), body_from_upstream })
    }

    /// The upstream could not be reached, or did not answer in time.
    pub fn on_fetch_error(&mut self, timed_out: bool) -> Action {
        let err = if timed_out {
            GatewayError::new(Code::UpstreamTimeout, "the upstream did not answer in time")
        } else {
            GatewayError::new(Code::UpstreamUnreachable, "the upstream could not be reached")
        };
        self.fail(err)
    }

    /// One chunk of an upstream stream: the bytes to send the caller. (`None` would mean
    /// "forward the chunk unchanged"; it is not used while passthrough re-frames events and
    /// strips unasked usage.)
    pub fn on_chunk(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        if self.stream_failed || self.phase != Phase::Streaming {
            return Some(Vec::new());
        }
        match self.decoder.push(chunk) {
            Ok(mut events) => {
                self.stamp(&mut events);
                let out = self.translate(&events);
                Some(self.with_echo(out))
            }
            Err(e) => Some(self.stream_error(&e.message)),
        }
    }

    /// A stream's start without a creation time gets the request's.
    fn stamp(&self, events: &mut [StreamEvent]) {
        for ev in events {
            if let StreamEvent::Start { created: created @ 0, .. } = ev {
                *created = self.route.created_s;
            }
        }
    }

    /// Observe events (usage, clean end, errors) and encode them for the caller.
    fn translate(&mut self, events: &[StreamEvent]) -> Vec<u8> {
        let mut out = Vec::new();
        for ev in events {
            match ev {
                StreamEvent::Usage(u) => self.usage = Some(*u),
                StreamEvent::Done => self.saw_done = true,
                StreamEvent::TextDelta { text, .. } => self.output_chars += text.chars().count() as u64,
                StreamEvent::ToolCallDelta { arguments, .. } => self.output_chars += arguments.chars().count() as u64,
                StreamEvent::Error { message } => {
                    // What came before the error in the same chunk goes out first.
                    out.extend(self.stream_error(message));
                    return out;
                }
                _ => {}
            }
            if let Some(a) = &mut self.assembler {
                a.push(ev);
            }
            if !self.route.passthrough_stream() {
                out.extend(self.encoder.push(ev));
            }
        }
        out
    }

    /// In passthrough, the upstream's own complete events go first (then any error).
    fn with_echo(&mut self, translated: Vec<u8>) -> Vec<u8> {
        if !self.route.passthrough_stream() {
            return translated;
        }
        let mut out = self.decoder.take_echo();
        out.extend(translated);
        out
    }

    fn stream_error(&mut self, message: &str) -> Vec<u8> {
        self.stream_failed = true;
        self.phase = Phase::Done;
        match self.decoder.error_event(message) {
            Some(event) if self.route.passthrough_stream() => event,
            _ => self.encoder.error(message),
        }
    }

    /// The upstream stream ended. Returns bytes to append (an error event if it was cut).
    pub fn on_end(&mut self) -> Vec<u8> {
        if self.stream_failed || self.phase != Phase::Streaming {
            return Vec::new();
        }
        let mut out = match self.decoder.finish() {
            Ok(mut events) => {
                self.stamp(&mut events);
                self.translate(&events)
            }
            Err(e) => return self.stream_error(&e.message),
        };
        out = self.with_echo(out);
        if self.stream_failed {
            return out;
        }
        if !self.saw_done {
            out.extend(self.stream_error("the upstream stream ended before completion"));
            return out;
        }
        self.phase = Phase::Done;
        self.completed = true;
        self.lossy = self.route.wire == Dialect::Responses || (self.route.passthrough_anthropic() && self.decoder.lossy());
        self.answer = self.assembler.take().and_then(Assembler::finish);
        out
    }

    /// Whether the stream has carried the upstream's clean end (`[DONE]`, `message_stop`, a
    /// Gemini finish reason).
    pub fn saw_done(&self) -> bool {
        self.saw_done
    }

    /// End a stream whose bytes were all sent with an in-band error in the caller's form (a
    /// failure of the gateway's own after the upstream's clean end).
    pub(crate) fn in_band_error(&mut self, message: &str) -> Vec<u8> {
        self.stream_failed = true;
        self.encoder.error(message)
    }

    /// Reading the upstream stream failed midway.
    pub fn on_stream_error(&mut self) -> Vec<u8> {
        if self.stream_failed || self.phase != Phase::Streaming {
            return Vec::new();
        }
        self.stream_error("the upstream stream was interrupted")
    }
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "conformance_tests.rs"]
mod conformance;
