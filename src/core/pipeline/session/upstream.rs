//! The session's side of one attempt: the upstream request (or the built-in mock's reply)
//! for the current target, and the upstream's head, body and stream handed to its exchange.

use super::Session;
use crate::core::config::ProviderKind;
use crate::core::error::{Code, GatewayError};
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::target::{target_of, Payload, TargetSpec};
use crate::core::state::cost::usd_string;
use crate::core::translate::embeddings;
use crate::core::translate::providers;
use crate::core::translate::providers::mock::{self, Directive, MockCall, MockReply};

impl Session {
    /// The first action of an attempt at target `index`; embeddings that take several
    /// upstream calls leave the others with the attempt's exchange.
    pub(super) fn action_for(&mut self, index: usize, delay_ms: u32) -> Result<Action, GatewayError> {
        let t = &self.targets[index];
        if t.kind == ProviderKind::Mock {
            return self.mock_action(t, delay_ms);
        }
        let target = target_of(t)?;
        let request = match &self.payload {
            Payload::Chat(req) => providers::build_request(req, &target)?,
            Payload::Embeddings(req) => {
                let mut calls = embeddings::build_requests(req, &target)?.into_iter();
                let first = calls.next().ok_or_else(|| GatewayError::new(Code::InternalError, "no embeddings call to make"))?;
                self.exchange.then_fetch(calls.collect(), t.timeout_ms, t.ttfb_timeout_ms);
                first
            }
        };
        Ok(Action::Fetch { request, timeout_ms: t.timeout_ms, ttfb_ms: t.ttfb_timeout_ms, delay_ms })
    }

    pub(super) fn mock_action(&self, t: &TargetSpec, delay_ms: u32) -> Result<Action, GatewayError> {
        let from_model = t.model.strip_prefix("fault:").map(Directive::parse).transpose()?.unwrap_or_default();
        let from_header = self.caller.mock_header.as_deref().map(Directive::parse).transpose()?.unwrap_or_default();
        let directive = from_model.merged(from_header);
        if directive.panic {
            if !t.allow_panic {
                return Err(GatewayError::new(Code::InvalidMockDirective, "mock directive: panic is not enabled for this provider"));
            }
            panic!("panic requested by a mock directive (request {})", self.caller.request_id);
        }
        let mut reply = match &self.payload {
            Payload::Chat(req) => {
                let call =
                    MockCall { upstream_model: &t.model, directive, default_chunk_ms: t.stream_chunk_ms, now_s: self.caller.now_ms / 1000 };
                mock::respond(req, call)
            }
            Payload::Embeddings(req) => {
                let headers = vec![("content-type".into(), "application/json".into())];
                MockReply {
                    status: 200,
                    headers,
                    delay_ms: 0,
                    frames: vec![embeddings::mock_response(req, &t.model)],
                    interval_ms: 0,
                    cut: false,
                }
            }
        };
        reply.delay_ms += delay_ms;
        Ok(Action::Mock(reply))
    }

    /// The upstream's response head (`status`, and the headers named in
    /// [`UPSTREAM_HEADERS`](crate::core::pipeline::exchange::UPSTREAM_HEADERS)): the stream's
    /// head, a body read, or, for a failure before anything went out, the next attempt or the
    /// error.
    pub fn on_head(&mut self, status: u16, headers: &[(String, String)], now_ms: u64) -> Action {
        let a = self.exchange.on_head(status, headers);
        self.finish(a, now_ms)
    }

    /// The whole upstream body of a non-streamed or failed response: the reply, or for a
    /// failure, the next attempt or the error.
    pub fn on_body(&mut self, body: &[u8], now_ms: u64) -> Action {
        let a = self.exchange.on_body(body);
        self.finish(a, now_ms)
    }

    /// The upstream could not be reached or its body could not be read, or (`timed_out`) it
    /// did not answer within the attempt's timeouts: the next attempt, or the error.
    pub fn on_fetch_error(&mut self, timed_out: bool, now_ms: u64) -> Action {
        let a = self.exchange.on_fetch_error(timed_out);
        self.finish(a, now_ms)
    }

    /// One chunk of the upstream stream, split anywhere: the bytes to send the caller (see
    /// [`Exchange::on_chunk`](crate::core::pipeline::exchange::Exchange::on_chunk)). Past the
    /// commit point, so a failure here is reported in-band and never retried.
    pub fn on_chunk(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        let out = self.exchange.on_chunk(chunk);
        self.hold_tail(out)
    }

    /// The end of the upstream stream: the exchange's closing bytes, then (for a clean end)
    /// an SSE comment with the usage and cost, which SSE parsers ignore. With a stored
    /// conversation, a clean end's bytes wait for the turn to be stored ([`Session::store_op`]).
    pub fn on_end(&mut self) -> Vec<u8> {
        let mut out = self.exchange.on_end();
        if self.exchange.completed {
            if let Some((usage, nano)) = self.usage_and_cost() {
                out.extend(
                    format!(
                        ": switchyard cost_usd={} input_tokens={} output_tokens={} estimated={}\n\n",
                        usd_string(nano + self.lookup_nusd),
                        usage.input_tokens,
                        usage.output_tokens,
                        usage.estimated
                    )
                    .into_bytes(),
                );
            }
        }
        self.end_turn(out)
    }

    /// Reading the upstream stream failed midway: the in-band error to send the caller (empty
    /// when the stream had already ended or failed).
    pub fn on_stream_error(&mut self) -> Vec<u8> {
        self.exchange.on_stream_error()
    }
}
