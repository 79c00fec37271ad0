//! What callers speak, to and from the canonical types. A caller speaks OpenAI Chat
//! Completions or Anthropic Messages; Gemini is only an upstream wire format, and a
//! `Dialect::Gemini` caller is answered in OpenAI's shapes.

pub mod anthropic;
pub mod anthropic_stream;
pub mod fields;
pub mod openai;
pub mod openai_stream;

use crate::core::error::GatewayError;
use crate::core::types::{ChatRequest, ChatResponse, Dialect, StreamEvent};
use anthropic_stream::AnthropicStreamEncoder;
use openai_stream::OpenAiStreamEncoder;

pub fn decode_request(dialect: Dialect, body: &[u8]) -> Result<ChatRequest, GatewayError> {
    match dialect {
        Dialect::Anthropic => anthropic::decode_request(body),
        _ => openai::decode_request(body),
    }
}

pub fn encode_response(dialect: Dialect, r: &ChatResponse) -> Vec<u8> {
    match dialect {
        Dialect::Anthropic => anthropic::encode_response(r),
        _ => openai::encode_response(r),
    }
}

/// Canonical stream events to the caller's frames.
#[derive(Debug)]
pub enum StreamEncoder {
    OpenAi(OpenAiStreamEncoder),
    Anthropic(AnthropicStreamEncoder),
}

impl StreamEncoder {
    pub fn new(dialect: Dialect, include_usage: bool) -> Self {
        match dialect {
            Dialect::Anthropic => StreamEncoder::Anthropic(AnthropicStreamEncoder::new()),
            _ => StreamEncoder::OpenAi(OpenAiStreamEncoder::new(include_usage)),
        }
    }

    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        match self {
            StreamEncoder::OpenAi(e) => e.push(ev),
            StreamEncoder::Anthropic(e) => e.push(ev),
        }
    }

    /// The in-band error that ends a broken stream, in the caller's form.
    pub fn error(&mut self, message: &str) -> Vec<u8> {
        self.push(&StreamEvent::Error { message: message.to_string() })
    }
}
