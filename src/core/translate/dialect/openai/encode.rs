//! Canonical requests and responses to OpenAI's JSON: the request an OpenAI-family upstream
//! receives, and the `chat.completion` body and usage a caller receives.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat/object>.

use crate::core::types::*;
use crate::core::util::json_value::put;
use crate::json;
use serde_json::{Map, Value};

/// Encode a canonical request as an OpenAI request for `upstream_model`, with `extra` merged in.
pub fn encode_request(r: &ChatRequest, upstream_model: &str) -> Map<String, Value> {
    let mut o = if r.dialect == Dialect::OpenAi { r.extra.clone() } else { Map::new() };
    put(&mut o, "model", upstream_model.into());
    let foreign = r.dialect != Dialect::OpenAi;
    put(&mut o, "messages", r.messages.iter().map(|m| encode_message(m, foreign)).collect());
    if !r.tools.is_empty() {
        put(&mut o, "tools", r.tools.iter().map(encode_tool).collect());
    }
    if let Some(tc) = &r.tool_choice {
        put(&mut o, "tool_choice", encode_tool_choice(tc));
    }
    put_some(&mut o, "parallel_tool_calls", r.parallel_tool_calls.map(Value::from));
    if let Some(rf) = &r.response_format {
        put(&mut o, "response_format", encode_response_format(rf));
    }
    let s = &r.sampling;
    put_some(&mut o, "temperature", s.temperature.map(Value::from));
    put_some(&mut o, "top_p", s.top_p.map(Value::from));
    put_some(&mut o, "presence_penalty", s.presence_penalty.map(Value::from));
    put_some(&mut o, "frequency_penalty", s.frequency_penalty.map(Value::from));
    put_some(&mut o, "seed", s.seed.map(Value::from));
    put_some(&mut o, "n", s.n.map(Value::from));
    if !s.stop.is_empty() {
        let stop = if s.stop_was_string && s.stop.len() == 1 { json!(s.stop[0]) } else { json!(s.stop) };
        put(&mut o, "stop", stop);
    }
    if !s.logit_bias.is_empty() {
        put(&mut o, "logit_bias", json!(s.logit_bias));
    }
    let max_key = match r.max_tokens_field {
        MaxTokensField::MaxTokens => "max_tokens",
        MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
    };
    put_some(&mut o, max_key, r.max_output_tokens.map(Value::from));
    put_some(&mut o, "reasoning_effort", r.reasoning_effort.map(|e| Value::from(e.as_str())));
    if r.stream {
        put(&mut o, "stream", Value::Bool(true));
        if r.include_usage {
            put(&mut o, "stream_options", json!({"include_usage": true}));
        }
    }
    put_some(&mut o, "user", r.user.clone().map(Value::from));
    if !r.metadata.is_empty() {
        put(&mut o, "metadata", json!(r.metadata));
    }
    o
}

fn put_some(o: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        put(o, key, v);
    }
}

/// One message in OpenAI's shape; `foreign` (a caller of another dialect) leaves out its
/// reasoning blocks.
pub fn encode_message(m: &Message, foreign: bool) -> Value {
    let mut o = Map::new();
    put(&mut o, "role", m.role.as_str().into());
    let content = match &m.content {
        Content::None => Value::Null,
        Content::Text(t) => Value::String(t.clone()),
        Content::Parts(parts) => {
            let dropped = |p: &&Part| foreign && p.is_anthropic_reasoning();
            let kept: Vec<Value> = parts.iter().filter(|p| !dropped(p)).map(encode_part).collect();
            // A turn that was only reasoning has no content left (an assistant's is null).
            if kept.is_empty() && parts.iter().any(|p| dropped(&p)) {
                Value::Null
            } else {
                Value::Array(kept)
            }
        }
    };
    if !content.is_null() || m.role == Role::Assistant {
        put(&mut o, "content", content);
    }
    put_some(&mut o, "name", m.name.clone().map(Value::from));
    if !m.tool_calls.is_empty() {
        put(&mut o, "tool_calls", m.tool_calls.iter().map(encode_tool_call).collect());
    }
    put_some(&mut o, "tool_call_id", m.tool_call_id.clone().map(Value::from));
    put_some(&mut o, "refusal", m.refusal.clone().map(Value::from));
    Value::Object(o)
}

fn encode_part(p: &Part) -> Value {
    match p {
        Part::Text(t) => json!({"type": "text", "text": t}),
        Part::Image { url, detail: Some(d) } => json!({"type": "image_url", "image_url": {"url": url, "detail": d}}),
        Part::Image { url, detail: None } => json!({"type": "image_url", "image_url": {"url": url}}),
        Part::Other(v) => v.clone(),
    }
}

/// One tool call in OpenAI's shape (`{"id", "type": "function", "function": {...}}`).
pub fn encode_tool_call(c: &ToolCall) -> Value {
    json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
}

fn encode_tool(t: &Tool) -> Value {
    let mut f = Map::new();
    put(&mut f, "name", t.name.clone().into());
    put_some(&mut f, "description", t.description.clone().map(Value::from));
    put_some(&mut f, "parameters", t.parameters.clone());
    put_some(&mut f, "strict", t.strict.map(Value::from));
    json!({"type": "function", "function": f})
}

fn encode_tool_choice(tc: &ToolChoice) -> Value {
    match tc {
        ToolChoice::None => "none".into(),
        ToolChoice::Auto => "auto".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn encode_response_format(rf: &ResponseFormat) -> Value {
    match rf {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema, strict, description } => {
            let mut s = Map::new();
            put(&mut s, "name", name.clone().into());
            put_some(&mut s, "schema", schema.clone());
            put_some(&mut s, "strict", strict.map(Value::from));
            put_some(&mut s, "description", description.clone().map(Value::from));
            json!({"type": "json_schema", "json_schema": s})
        }
    }
}

/// Usage in OpenAI's shape, with cached input and reasoning tokens in their details.
pub fn encode_usage(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    })
}

/// Encode a canonical response as an OpenAI `chat.completion` object.
pub fn encode_response(r: &ChatResponse) -> Vec<u8> {
    let choices: Vec<Value> = r
        .choices
        .iter()
        .map(|c| {
            let mut msg = json!({"role": "assistant", "content": c.content, "refusal": c.refusal});
            if !c.tool_calls.is_empty() {
                msg["tool_calls"] = c.tool_calls.iter().map(encode_tool_call).collect();
            }
            json!({"index": c.index, "message": msg, "logprobs": null,
                   "finish_reason": c.finish_reason.as_ref().map(|f| f.as_str())})
        })
        .collect();
    let mut body = json!({"id": r.id, "object": "chat.completion", "created": r.created, "model": r.model, "choices": choices});
    if let Some(u) = &r.usage {
        body["usage"] = encode_usage(u);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}
