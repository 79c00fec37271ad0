//! The mock's answer to a request, derived only from the upstream model id and the messages,
//! so the same prompt always gets the same answer.
//!
//! What it answers, in order:
//! - a tool call when tools are offered and the model may call one: with `tool_choice` naming
//!   a function, that function; with `required`, the first tool (after tool results, the first
//!   not yet called in the conversation, so a loop that forces a call can still reach its
//!   final tool); with `auto` or none, the first tool, unless the turn already carries tool
//!   results. Its arguments are a value of the tool's parameter schema;
//! - with `response_format` `json_schema`, a value of the schema, never cut by the output cap;
//!   `json_object` (or a schema-less `json_schema`) gets `{"answer": …}`;
//! - after tool results (OpenAI `tool` messages, Anthropic `tool_result` blocks, since the last
//!   assistant turn), text that reports each result, so agent loops end with `stop`;
//! - otherwise 8 to 31 of the mock's words.
//!
//! Text is cut at the output cap (`length`); usage is about four characters a token for
//! JSON and arguments, a token a word for text.

use super::schema;
use super::values::WORDS;
use crate::core::types::*;
use crate::json;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Characters of one tool result repeated in the answer after it.
const RESULT_CHARS: usize = 200;

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
    let results = tool_results(req);
    let turn = match pick_tool(req, !results.is_empty()) {
        Some(tool) => {
            let arguments =
                tool.parameters.as_ref().map(|p| schema::generate(p, seed)).filter(Value::is_object).unwrap_or_else(|| json!({}));
            let arguments = arguments.to_string();
            let tokens = estimate_tokens(&arguments) + 5;
            let call = ToolCall { id: format!("call_{}", hex::encode(&digest[12..20])), name: tool.name.clone(), arguments };
            Turn { content: None, tool_calls: vec![call], finish: FinishReason::ToolCalls, tokens }
        }
        None => {
            let text = if results.is_empty() { words(&digest) } else { report(req, &results) };
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
fn text_turn(mut text: String, cap: Option<u32>) -> Turn {
    let words = text.split(' ').count();
    let keep = cap.map_or(words, |c| (c.max(1) as usize).min(words));
    let mut finish = FinishReason::Stop;
    if let Some((at, _)) = text.match_indices(' ').nth(keep - 1).filter(|_| keep < words) {
        text.truncate(at);
        finish = FinishReason::Length;
    }
    Turn { content: Some(text), tool_calls: Vec::new(), finish, tokens: keep as u64 }
}

/// 8 to 31 of the mock's words, chosen by the digest.
fn words(digest: &[u8; 32]) -> String {
    let mut text = String::new();
    for i in 0..8 + digest[0] as usize % 24 {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[digest[(i + 1) % 32] as usize % WORDS.len()]);
    }
    text
}

/// The tool results of the turn being answered: tool messages after the last assistant turn.
fn tool_results(req: &ChatRequest) -> Vec<&Message> {
    let start = req.messages.iter().rposition(|m| m.role == Role::Assistant).map_or(0, |i| i + 1);
    req.messages[start..].iter().filter(|m| m.role == Role::Tool).collect()
}

/// A sentence reporting each tool result, by the name of the call it answers.
fn report(req: &ChatRequest, results: &[&Message]) -> String {
    let mut out = String::from("Based on the tool results: ");
    for (i, r) in results.iter().enumerate() {
        let id = r.tool_call_id.as_deref();
        let call = req.messages.iter().flat_map(|m| &m.tool_calls).find(|c| Some(c.id.as_str()) == id);
        let text = r.content.text();
        let text = text.trim();
        out.push_str(if i > 0 { "; " } else { "" });
        out.push_str(call.map_or("the tool", |c| c.name.as_str()));
        out.push_str(" returned ");
        out.extend(text.chars().take(RESULT_CHARS));
        out.push_str(match text.chars().nth(RESULT_CHARS) {
            Some(_) => "…",
            None if text.is_empty() => "nothing",
            None => "",
        });
    }
    out.push('.');
    out
}

/// The tool to call, if any (see the module docs); `answered`: the turn carries tool results.
fn pick_tool(req: &ChatRequest, answered: bool) -> Option<&Tool> {
    match &req.tool_choice {
        Some(ToolChoice::None) => None,
        Some(ToolChoice::Function(name)) => req.tools.iter().find(|t| &t.name == name),
        Some(ToolChoice::Required) if answered => {
            let called = |t: &&Tool| req.messages.iter().flat_map(|m| &m.tool_calls).any(|c| c.name == t.name);
            req.tools.iter().find(|t| !called(t)).or(req.tools.first())
        }
        Some(ToolChoice::Required) => req.tools.first(),
        _ if answered => None,
        _ => req.tools.first(),
    }
}
