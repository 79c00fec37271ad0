//! Chat conversations kept by the gateway (`x-switchyard-session`; README, "Sessions"): the
//! one mapping between canonical messages and the items stored for them, and a stored
//! history put into a request.
//!
//! A stored item is an OpenAI chat message, written by the OpenAI dialect's own encoder and
//! read back by its own decoder, so a conversation can move between callers (OpenAI or
//! Anthropic) and upstreams like any request. Tool-call ids are stored as their issuer wrote
//! them (see `tool_id`). Only an answer's first choice is kept, as text, refusal and tool
//! calls: what the canonical answer holds (an Anthropic answer's thinking blocks are not).

use crate::core::error::GatewayError;
use crate::core::translate::dialect::openai;
use crate::core::translate::providers::anthropic;
use crate::core::types::{ChatRequest, ChatResponse, Content, Dialect, Message, Role};
use crate::core::util::json_value::put;
use crate::json;
use serde_json::{Map, Value};

/// How many of the request's first messages are its own instructions (system or developer):
/// a stored history goes after them, and they are not stored.
pub fn instructions(req: &ChatRequest) -> usize {
    req.messages.iter().take_while(|m| matches!(m.role, Role::System | Role::Developer)).count()
}

/// The request's new messages (those after its instructions), as the items to store. A
/// caller of another dialect's reasoning blocks are left out, as an OpenAI upstream would not
/// get them.
pub fn items(req: &ChatRequest) -> Vec<Value> {
    let foreign = req.dialect != Dialect::OpenAi;
    req.messages[instructions(req)..].iter().map(|m| openai::encode_message(m, foreign)).collect()
}

/// The answer's first choice as the assistant message to store (`None`: no choice).
pub fn answer(resp: &ChatResponse) -> Option<Value> {
    let c = resp.choices.first()?;
    let m = Message {
        content: c.content.clone().map_or(Content::None, Content::Text),
        tool_calls: c.tool_calls.clone(),
        refusal: c.refusal.clone(),
        ..Message::new(Role::Assistant, Content::None)
    };
    Some(openai::encode_message(&m, false))
}

/// The response record stored with a turn: the upstream's id for the answer, as a JSON
/// string (the answer itself is the turn's output item).
pub fn record(resp: &ChatResponse) -> Value {
    Value::from(resp.id.as_str())
}

/// Stored items back to canonical messages, checked as a request's messages are.
pub fn decode(items: Vec<Value>) -> Result<Vec<Message>, GatewayError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut o = Map::new();
    put(&mut o, "model", "history".into());
    put(&mut o, "messages", Value::Array(items));
    Ok(openai::decode_object(o)?.messages)
}

/// Put `history` after the request's instructions and before its new messages. An Anthropic
/// caller's own request object (`raw`, what an Anthropic upstream receives) gets it too, as
/// Anthropic turns before its `messages`; the history's system messages go there as
/// `role: "system"` messages, which that upstream's encoding folds into `system`.
pub fn splice(req: &mut ChatRequest, history: Vec<Message>) -> Result<(), GatewayError> {
    if history.is_empty() {
        return Ok(());
    }
    if let Some(raw) = req.raw.as_mut() {
        let (system, turns) = anthropic::encode_messages(&history, true)?;
        let mut list: Vec<Value> = system.into_iter().map(|t| json!({"role": "system", "content": t})).collect();
        list.extend(turns);
        if let Some(Value::Array(own)) = raw.get_mut("messages") {
            list.append(own);
        }
        put(raw, "messages", Value::Array(list));
    }
    let new = req.messages.split_off(instructions(req));
    req.messages.extend(history);
    req.messages.extend(new);
    Ok(())
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
