//! OpenAI's legacy Completions (`POST /v1/completions`) as spoken by callers: the request
//! becomes a chat request with one user message (so it goes through the same limits,
//! routing, retries, cache and cost accounting as chat), and the answer goes back as a
//! `text_completion` object.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/completions>. Supported:
//! `prompt` as a string or an array of one string, `max_tokens` (default 16, as the
//! reference says), `temperature`, `top_p`, `stop`, `n` (1 only), `presence_penalty`,
//! `frequency_penalty`, `seed`, `logit_bias`, `stream`, `stream_options.include_usage`,
//! `user`. Refused with a 400 naming the field: several prompts, token-id prompts, `n` above
//! 1, `suffix`, `echo`, `logprobs`, `best_of` above 1, and any field the reference lacks.

use super::fields::*;
use super::openai::{decode_object, encode_usage};
use crate::core::error::GatewayError;
use crate::core::types::{ChatRequest, ChatResponse, Dialect};
use crate::core::util::json_value::put;
use crate::json;
use serde_json::{Map, Value};

/// `max_tokens` when the caller gives none, per the reference.
pub const DEFAULT_MAX_TOKENS: u32 = 16;

/// Fields the reference lists that the gateway serves (through the chat decoder).
const SERVED: &[&str] = &[
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "logit_bias",
    "stream",
    "stream_options",
    "user",
];

/// Decode a Completions request body into a chat request with `dialect: Completions`.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut obj = parse_object(body)?;
    refuse_unsupported(&mut obj)?;
    let prompt = match obj.remove("prompt") {
        None | Some(Value::Null) => return Err(missing("prompt")),
        Some(Value::String(s)) => s,
        Some(Value::Array(mut list)) => match (list.len(), list.first()) {
            (1, Some(Value::String(_))) => match list.pop() {
                Some(Value::String(s)) => s,
                _ => return Err(invalid_value("prompt", "must be a string")),
            },
            (_, Some(Value::Number(_) | Value::Array(_))) => {
                return Err(invalid_value("prompt", "token-id prompts are not supported: send the prompt as text"))
            }
            _ => return Err(invalid_value("prompt", "must be one string: several prompts in one request are not supported")),
        },
        Some(_) => return Err(invalid_value("prompt", "must be a string or an array of one string")),
    };
    if let Some(key) = obj.keys().find(|k| !SERVED.contains(&k.as_str())) {
        return Err(invalid_value(key, "is not a parameter of the completions endpoint"));
    }
    if opt_u32(&obj, "n", "n")?.is_some_and(|n| n > 1) {
        return Err(invalid_value("n", "only 1 is supported"));
    }
    if opt(&obj, "max_tokens").is_none() {
        put(&mut obj, "max_tokens", DEFAULT_MAX_TOKENS.into());
    }
    put(&mut obj, "messages", json!([{"role": "user", "content": prompt}]));
    let req = decode_object(obj)?;
    Ok(ChatRequest { dialect: Dialect::Completions, ..req })
}

/// Refuse the reference's fields the gateway cannot honour through chat, when set to
/// anything but their neutral value; then take them out.
fn refuse_unsupported(obj: &mut Map<String, Value>) -> Result<(), GatewayError> {
    check_unsupported(obj)?;
    for key in ["suffix", "echo", "logprobs", "best_of"] {
        obj.remove(key);
    }
    Ok(())
}

fn check_unsupported(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    let unsupported = |path: &str| Err(invalid_value(path, "is not supported by this gateway"));
    if opt(obj, "suffix").is_some() {
        return unsupported("suffix");
    }
    if opt_bool(obj, "echo", "echo")? == Some(true) {
        return unsupported("echo");
    }
    if opt(obj, "logprobs").is_some() {
        return unsupported("logprobs");
    }
    if opt_u32(obj, "best_of", "best_of")?.is_some_and(|n| n > 1) {
        return unsupported("best_of");
    }
    Ok(())
}

/// A completion id: the upstream's chat id with `chatcmpl-` made `cmpl-`, else `cmpl-` and
/// the id.
pub fn completion_id(id: &str) -> String {
    format!("cmpl-{}", id.strip_prefix("chatcmpl-").unwrap_or(id))
}

/// A complete answer as a `text_completion` object.
pub fn encode_response(r: &ChatResponse) -> Vec<u8> {
    let choices: Vec<Value> = r
        .choices
        .iter()
        .map(|c| {
            json!({"text": c.content.as_deref().unwrap_or_default(), "index": c.index, "logprobs": null,
                   "finish_reason": c.finish_reason.as_ref().map(|f| f.as_str())})
        })
        .collect();
    let mut body =
        json!({"id": completion_id(&r.id), "object": "text_completion", "created": r.created, "model": r.model, "choices": choices});
    if let Some(u) = &r.usage {
        body["usage"] = encode_usage(u);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
#[path = "completions_tests.rs"]
mod tests;
