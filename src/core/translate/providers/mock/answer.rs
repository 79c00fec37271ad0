//! The mock's answer to a request, derived only from the upstream model id and the messages,
//! so the same prompt always gets the same answer.
//!
//! What it answers, in order:
//! - a tool call when tools are offered and the model may call one: with `tool_choice` naming
//!   a function, that function; otherwise the first tool. Its arguments are a value of the
//!   tool's parameter schema;
//! - with `response_format` `json_schema`, a value of the schema, never cut by the output cap;
//!   `json_object` (or a schema-less `json_schema`) gets `{"answer": …}`;
//! - otherwise 8 to 31 of the mock's words.
//!
//! Text is cut at the output cap (`length`); usage is about four characters a token for
//! JSON and arguments, a token a word for text.

use super::schema;
use super::values::WORDS;
use crate::core::types::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Input tokens as a tokenizer would roughly count them: text plus per-message overhead.
pub fn estimate_input_tokens(req: &ChatRequest) -> u64 {
    req.messages.iter().map(|m| 4 + estimate_tokens(&m.content.text())).sum::<u64>() + 3
}

/// What one choice says.
struct Turn {
    content: Option<String>,
    tool_calls: Vec<ToolCall>,
    finish: FinishReason,
    tokens: u64,
}

/// The deterministic answer for a request (see the module docs).
pub fn answer(req: &ChatRequest, upstream_model: &str, now_s: u64) -> ChatResponse {
    let mut h = Sha256::new();
    h.update(upstream_model.as_bytes());
    for m in &req.messages {
        h.update(m.role.as_str().as_bytes());
        h.update([0]);
        h.update(m.content.text().as_bytes());
        h.update([0]);
    }
    let digest: [u8; 32] = h.finalize().into();
    let seed = u64::from_le_bytes(digest[24..32].try_into().unwrap_or_default());
    let turn = match pick_tool(req) {
        Some(tool) => {
            let arguments =
                tool.parameters.as_ref().map(|p| schema::generate(p, seed)).filter(Value::is_object).unwrap_or_else(|| json!({}));
            let arguments = arguments.to_string();
            let tokens = estimate_tokens(&arguments) + 5;
            let call = ToolCall { id: format!("call_{}", hex::encode(&digest[12..20])), name: tool.name.clone(), arguments };
            Turn { content: None, tool_calls: vec![call], finish: FinishReason::ToolCalls, tokens }
        }
        None => {
            let text = words(&digest);
            match &req.response_format {
                Some(ResponseFormat::JsonSchema { schema: Some(s), .. }) => json_turn(schema::generate(s, seed)),
                Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. }) => json_turn(json!({ "answer": text })),
                _ => text_turn(text, req.max_output_tokens),
            }
        }
    };
    let n = req.sampling.n.unwrap_or(1).min(8);
    let choices = (0..n)
        .map(|index| Choice {
            index,
            content: turn.content.clone(),
            refusal: None,
            tool_calls: turn.tool_calls.clone(),
            finish_reason: Some(turn.finish.clone()),
        })
        .collect();
    let usage = Usage { input_tokens: estimate_input_tokens(req), output_tokens: turn.tokens * n as u64, ..Default::default() };
    let id = format!("chatcmpl-mock-{}", hex::encode(&digest[..12]));
    ChatResponse { id, model: upstream_model.to_string(), created: now_s, choices, usage: Some(usage) }
}

fn json_turn(v: Value) -> Turn {
    let text = v.to_string();
    Turn { tokens: estimate_tokens(&text), content: Some(text), tool_calls: Vec::new(), finish: FinishReason::Stop }
}

/// Text, a token a word, cut to the output cap.
fn text_turn(text: String, cap: Option<u32>) -> Turn {
    let words: Vec<&str> = text.split(' ').collect();
    let keep = cap.map_or(words.len(), |c| (c.max(1) as usize).min(words.len()));
    let finish = if keep < words.len() { FinishReason::Length } else { FinishReason::Stop };
    Turn { content: Some(words[..keep].join(" ")), tool_calls: Vec::new(), finish, tokens: keep as u64 }
}

/// 8 to 31 of the mock's words, chosen by the digest.
fn words(digest: &[u8; 32]) -> String {
    let n = 8 + digest[0] as usize % 24;
    (0..n).map(|i| WORDS[digest[(i + 1) % 32] as usize % WORDS.len()]).collect::<Vec<_>>().join(" ")
}

/// The tool to call, if any (see the module docs).
fn pick_tool(req: &ChatRequest) -> Option<&Tool> {
    match &req.tool_choice {
        Some(ToolChoice::None) => None,
        Some(ToolChoice::Function(name)) => req.tools.iter().find(|t| &t.name == name),
        _ => req.tools.first(),
    }
}
