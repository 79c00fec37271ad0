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
//! The object's side is [`store`]: its tables and, per op, its statements and reply.

pub mod answer;
pub mod op;
pub mod store;

pub use op::{
    conversation_of, is_conversation_id, new_conversation_id, new_response_id, object_name, parse_page, Item, Limits, Op, Page, Record,
    Side, Turn,
};
