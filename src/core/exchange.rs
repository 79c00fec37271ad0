//! One request's way through the gateway, as a pure state machine (no I/O, no clock).
//!
//! The edge feeds it what happened (the inbound request, the upstream's head, body bytes,
//! stream chunks, a failure) and performs the [`Action`] it returns. Because every decision
//! is here, whole request flows are tested on the host without a runtime.
//!
//! Stream invariant: a stream that ends without the upstream's clean end (`[DONE]`), or
//! with a malformed chunk, is closed with an in-band error event, never as a clean finish.

use crate::core::dialect::openai_stream::OpenAiStreamEncoder;
use crate::core::error::{GatewayError, Kind};
use crate::core::providers::mock::MockReply;
use crate::core::providers::{openai, UpstreamRequest};
use crate::core::types::{StreamEvent, Usage};

/// A complete response for the client (or, for `Action::Stream`, its head).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body is the upstream's body exactly as received (same dialect, validated): the
    /// edge sends the bytes it already holds instead of copying them through the core.
    pub body_from_upstream: bool,
}

impl Reply {
    /// A 200 JSON reply made by the gateway itself.
    pub fn json(request_id: &str, value: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            headers: base_headers(request_id, "application/json"),
            body: value.to_string().into_bytes(),
            body_from_upstream: false,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the edge must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this response; the exchange is over.
    Respond(Reply),
    /// Call the upstream, then report with `on_head` (or `on_fetch_error`).
    Fetch { request: UpstreamRequest, timeout_ms: u32 },
    /// Play back the built-in mock upstream's reply, then report it like a fetched one.
    Mock(MockReply),
    /// Read the whole upstream body and pass it to `on_body`.
    ReadBody,
    /// Send this head, then pipe upstream chunks through `on_chunk` and finish with `on_end`
    /// (or `on_stream_error` if reading failed).
    Stream(Reply),
}

/// Where the exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitHead,
    AwaitBody { status: u16 },
    Streaming,
    Done,
}

/// What the exchange knows once a route is chosen.
#[derive(Debug)]
pub struct Exchange {
    pub(crate) request_id: String,
    pub(crate) provider: String,
    pub(crate) upstream_model: String,
    pub(crate) stream: bool,
    phase: Phase,
    retry_after: Option<String>,
    decoder: openai::StreamDecoder,
    saw_done: bool,
    stream_failed: bool,
    /// Usage reported by the upstream, once known.
    pub usage: Option<Usage>,
}

/// Headers every response carries.
pub fn base_headers(request_id: &str, content_type: &str) -> Vec<(String, String)> {
    vec![("content-type".into(), content_type.into()), ("x-request-id".into(), request_id.into())]
}

/// An error response in OpenAI's shape.
pub fn error_reply(request_id: &str, err: &GatewayError) -> Reply {
    let mut headers = base_headers(request_id, "application/json");
    if let Some(ra) = &err.retry_after {
        headers.push(("retry-after".into(), ra.clone()));
    }
    Reply { status: err.status, headers, body: err.to_openai_json(), body_from_upstream: false }
}

impl Exchange {
    pub(crate) fn new(request_id: String, provider: &str, upstream_model: &str, stream: bool) -> Self {
        Exchange {
            request_id,
            provider: provider.to_string(),
            upstream_model: upstream_model.to_string(),
            stream,
            phase: Phase::AwaitHead,
            retry_after: None,
            decoder: openai::StreamDecoder::default(),
            saw_done: false,
            stream_failed: false,
            usage: None,
        }
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// True once nothing more will be produced (reply sent, or stream closed).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    fn headers(&self, content_type: &str) -> Vec<(String, String)> {
        let mut h = base_headers(&self.request_id, content_type);
        h.push(("x-switchyard-provider".into(), self.provider.clone()));
        h.push(("x-switchyard-model".into(), self.upstream_model.clone()));
        h
    }

    fn fail(&mut self, err: GatewayError) -> Action {
        self.phase = Phase::Done;
        let mut reply = error_reply(&self.request_id, &err);
        reply.headers.push(("x-switchyard-provider".into(), self.provider.clone()));
        Action::Respond(reply)
    }

    /// The upstream answered with a head.
    pub fn on_head(&mut self, status: u16, headers: &[(String, String)]) -> Action {
        if self.phase != Phase::AwaitHead {
            return self.fail(GatewayError::new(Kind::Internal, "exchange_out_of_order", "response head arrived out of order"));
        }
        self.retry_after = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).map(|(_, v)| v.clone());
        let is_sse = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.starts_with("text/event-stream"));
        if status == 200 && self.stream && is_sse {
            self.phase = Phase::Streaming;
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
            return self.fail(GatewayError::new(Kind::Internal, "exchange_out_of_order", "response body arrived out of order"));
        };
        if !(200..300).contains(&status) {
            let err = openai::decode_error(status, self.retry_after.as_deref(), body);
            return self.fail(err);
        }
        if self.stream {
            return self.fail(GatewayError::new(
                Kind::UpstreamError,
                "upstream_malformed",
                "the upstream answered a stream request without a stream",
            ));
        }
        match openai::decode_response(body) {
            Ok(resp) => {
                self.usage = resp.usage;
                self.phase = Phase::Done;
                // Same dialect on both sides: the validated upstream body goes out untouched,
                // keeping fields the gateway does not model (system_fingerprint, logprobs, ...).
                Action::Respond(Reply {
                    status: 200,
                    headers: self.headers("application/json"),
                    body: Vec::new(),
                    body_from_upstream: true,
                })
            }
            Err(e) => self.fail(e),
        }
    }

    /// The upstream could not be reached, or did not answer in time.
    pub fn on_fetch_error(&mut self, timed_out: bool) -> Action {
        let err = if timed_out {
            GatewayError::new(Kind::UpstreamTimeout, "upstream_timeout", "the upstream did not answer in time")
        } else {
            GatewayError::new(Kind::UpstreamError, "upstream_unreachable", "the upstream could not be reached")
        };
        self.fail(err)
    }

    /// One chunk of an upstream stream. `None`: forward the chunk unchanged.
    pub fn on_chunk(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        if self.stream_failed || self.phase != Phase::Streaming {
            return Some(Vec::new());
        }
        match self.decoder.push(chunk) {
            Ok(events) => {
                self.observe(&events);
                None
            }
            Err(e) => Some(self.stream_error(&e.message)),
        }
    }

    fn observe(&mut self, events: &[StreamEvent]) {
        for ev in events {
            match ev {
                StreamEvent::Usage(u) => self.usage = Some(*u),
                StreamEvent::Done => self.saw_done = true,
                _ => {}
            }
        }
    }

    fn stream_error(&mut self, message: &str) -> Vec<u8> {
        self.stream_failed = true;
        self.phase = Phase::Done;
        let mut enc = OpenAiStreamEncoder::new(false);
        enc.push(&StreamEvent::Error { message: message.to_string() })
    }

    /// The upstream stream ended. Returns bytes to append (an error event if it was cut).
    pub fn on_end(&mut self) -> Vec<u8> {
        if self.stream_failed || self.phase != Phase::Streaming {
            return Vec::new();
        }
        match self.decoder.finish() {
            Ok(events) => self.observe(&events),
            Err(e) => return self.stream_error(&e.message),
        }
        if !self.saw_done {
            return self.stream_error("the upstream stream ended before completion");
        }
        self.phase = Phase::Done;
        Vec::new()
    }

    /// Reading the upstream stream failed midway.
    pub fn on_stream_error(&mut self) -> Vec<u8> {
        if self.stream_failed || self.phase != Phase::Streaming {
            return Vec::new();
        }
        self.stream_error("the upstream stream was interrupted")
    }
}
