//! What callers speak, to and from the canonical types. A caller speaks OpenAI Chat
//! Completions, OpenAI's legacy Completions, OpenAI's Responses API or Anthropic Messages;
//! Gemini is only an upstream wire format, and a `Dialect::Gemini` caller is answered in
//! OpenAI's shapes.

pub mod anthropic;
pub mod anthropic_stream;
pub mod completions;
pub mod fields;
pub mod openai;
pub mod openai_stream;
pub mod responses;
pub mod responses_stream;

use crate::core::error::GatewayError;
use crate::core::types::{ChatRequest, ChatResponse, Dialect, StreamEvent};
use anthropic_stream::AnthropicStreamEncoder;
use openai_stream::OpenAiStreamEncoder;
use responses::Echo;
use responses_stream::ResponsesStreamEncoder;
use std::rc::Rc;

/// Decode a caller's request body in its dialect (Anthropic Messages, legacy Completions, the
/// Responses API, else
/// OpenAI Chat Completions). A bad body is a client error, naming the offending field as `param` where
/// there is one.
pub fn decode_request(dialect: Dialect, body: &[u8]) -> Result<ChatRequest, GatewayError> {
    match dialect {
        Dialect::Anthropic => anthropic::decode_request(body),
        Dialect::Completions => completions::decode_request(body),
        Dialect::Responses => responses::decode_request(body),
        _ => openai::decode_request(body),
    }
}

/// A complete answer as the JSON body the caller's dialect expects (an Anthropic `message`, a
/// `text_completion`, a `response` echoing `echo`'s request, else an OpenAI `chat.completion`).
pub fn encode_response(dialect: Dialect, r: &ChatResponse, echo: Option<&Echo>) -> Vec<u8> {
    match dialect {
        Dialect::Anthropic => anthropic::encode_response(r),
        Dialect::Completions => completions::encode_response(r),
        Dialect::Responses => responses::encode_response(r, echo.unwrap_or(&Echo::default())),
        _ => openai::encode_response(r),
    }
}

/// Canonical stream events to the caller's frames.
#[derive(Debug)]
pub enum StreamEncoder {
    /// `chat.completion.chunk` (or, for a Completions caller, `text_completion`) frames ending
    /// in `data: [DONE]`.
    OpenAi(OpenAiStreamEncoder),
    /// Anthropic's named events, `message_start` to `message_stop`.
    Anthropic(AnthropicStreamEncoder),
    /// The Responses API's named events, `response.created` to `response.completed`.
    Responses(Box<ResponsesStreamEncoder>),
}

impl StreamEncoder {
    /// An encoder for the caller's dialect. `include_usage` is the caller's
    /// `stream_options.include_usage` (OpenAI only; Anthropic and Responses streams always
    /// carry usage); `echo`, a Responses caller's request as its events repeat it.
    pub fn new(dialect: Dialect, include_usage: bool, echo: Option<Rc<Echo>>) -> Self {
        match dialect {
            Dialect::Anthropic => StreamEncoder::Anthropic(AnthropicStreamEncoder::new()),
            Dialect::Responses => StreamEncoder::Responses(Box::new(ResponsesStreamEncoder::new(echo.unwrap_or_default()))),
            Dialect::Completions => StreamEncoder::OpenAi(OpenAiStreamEncoder::text_completion(include_usage)),
            _ => StreamEncoder::OpenAi(OpenAiStreamEncoder::new(include_usage)),
        }
    }

    /// The bytes to send the caller for one event, in order; empty when the event has no frame
    /// of its own yet (e.g. OpenAI's `Start`, Anthropic's `Usage`).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        match self {
            StreamEncoder::OpenAi(e) => e.push(ev),
            StreamEncoder::Anthropic(e) => e.push(ev),
            StreamEncoder::Responses(e) => e.push(ev),
        }
    }

    /// The in-band error that ends a broken stream, in the caller's form.
    pub fn error(&mut self, message: &str) -> Vec<u8> {
        self.push(&StreamEvent::Error { message: message.to_string() })
    }
}
