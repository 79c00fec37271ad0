//! OpenAI's Responses API (`POST /v1/responses`) as spoken by callers: the request becomes a chat request (so it goes through the same limits, routing, retries,
//! fallbacks, cache and cost accounting as chat, to any upstream), and the answer goes back
//! as a `response` object, or as the API's named stream events (`responses_stream`).
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses>. Stored state
//! (`store`, `previous_response_id`, `conversation`) is read in `stateful.rs` and kept by the
//! conversation store (`front::stored`); `background` is refused there ([`refuse_stateful`]).
//!
//! Files: `decode` (the request to the canonical request), `stateful` (what needs stored
//! state) and `encode` (the canonical answer to a `response` object, and the pieces the stream
//! encoder shares).

mod decode;
mod encode;
mod stateful;

pub use decode::decode_request;
pub(crate) use encode::{call_item, message_item, quoted, text_part, Head, Status};
pub use encode::{encode_response, encode_usage, Echo};
pub use stateful::{input_items, link, refuse_stateful, stores, with_history, Link};

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
