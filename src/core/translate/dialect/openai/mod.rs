//! OpenAI Chat Completions as spoken by callers: request JSON to
//! [`ChatRequest`](crate::core::types::ChatRequest), and
//! canonical responses, stream events and errors back to OpenAI's JSON and SSE frames.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat/create> and
//! <https://platform.openai.com/docs/api-reference/chat-streaming>.
//! Quirks handled: `content` as string or parts; `stop` as string or array; `max_tokens` vs
//! `max_completion_tokens` (kept as sent); the deprecated `functions`/`function_call` are left
//! in `extra` and passed through; fields the gateway does not model pass through untouched.
//!
//! Files: `decode` (request JSON to the canonical request) and `encode` (canonical requests
//! and responses to OpenAI's JSON).

mod decode;
mod encode;

pub use decode::{decode_object, decode_request};
pub use encode::{encode_message, encode_request, encode_response, encode_tool_call, encode_usage};

#[cfg(test)]
#[path = "openai_tests.rs"]
pub(crate) mod tests;
