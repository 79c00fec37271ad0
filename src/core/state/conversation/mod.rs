//! Stored conversations: one Durable Object per conversation (`Conversation`, SQLite),
//! addressed by tenant and conversation id, holding an ordered list of JSON items and the
//! response records that group them into turns. The store is generic: the chat flow
//! (`x-switchyard-session`) stores OpenAI chat messages, the Responses API its input and
//! output items; neither the object nor this module reads an item.
//!
//! A response record names its parent, so chains may branch: the history of a response is
//! the history of its parent, then its input items, then its output items. The conversation's
//! head is the response appended last.
//!
//! The API for a flow, all pure (README, "Sessions"):
//! - ids: [`new_conversation_id`] (from the edge's random bytes), [`new_response_id`] (which
//!   embeds the conversation), [`conversation_of`] (a response id to its conversation) and
//!   [`object_name`] (tenant and conversation to the object's name);
//! - op builders: the [`Op`] variants, each sent as [`Op::to_json`] in the driver action
//!   `conversation` (`Action::Conversation` in the pipeline); [`parse_page`] reads OpenAI's
//!   list parameters into a [`Page`];
//! - answers: [`answer::history`] decodes a load's items, [`answer::check`] any other answer,
//!   and [`answer::StoreError::to_error`] turns a refusal into the gateway error to send.
//!
//! How the Responses API maps onto it (the chat flow is `front::converse` with
//! `pipeline::session`'s conversation steps):
//! - `store: true`, no `previous_response_id`: `conv = new_conversation_id(entropy)`, `id =
//!   new_response_id(&conv, seed)`; once answered, `Op::Append` of a [`Turn`] with `create:
//!   true`, no parent, the input and output items (ids the flow gives, unique within the
//!   response) and the response object as the [`Record`]'s body;
//! - `previous_response_id: p`: the object is `object_name(tenant, &conversation_of(p)?)`
//!   (`None`: answer 404); `Op::Load { response: Some(p) }` gives p's history
//!   ([`answer::history`]) to put before the new input; then `Op::Append` with parent `p`;
//! - `conversation: c` (an id [`is_conversation_id`] accepts): `Op::Load { response: None }`
//!   gives the head's history and the head (`History::response`), the new turn's parent;
//!   `Op::Create` makes an empty conversation, `Op::Delete` removes one;
//! - `GET /v1/responses/{id}`: `Op::Get`, the record's `body` is the response object;
//!   `GET …/input_items`: `Op::List` with [`parse_page`]'s [`Page`], whose answer is already
//!   OpenAI's list object; `DELETE`: `Op::DeleteResponse`, whose answer is OpenAI's.
//!
//! Each answer is read with [`answer::check`], whose [`answer::StoreError`] becomes the
//! client's error. The object's side is [`store`]: its tables and, per op, its statements and
//! reply.

pub mod answer;
pub mod op;
pub mod store;

pub use op::{
    conversation_of, is_conversation_id, new_conversation_id, new_response_id, object_name, parse_page, response_origin, Item, Limits, Op,
    Page, Record, Turn,
};
