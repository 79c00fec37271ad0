//! Anthropic's Messages API as spoken by callers (`POST /v1/messages`): request JSON to
//! [`ChatRequest`], canonical responses and errors back to Anthropic's JSON.
//!
//! Reference: <https://docs.anthropic.com/en/api/messages> and
//! <https://docs.anthropic.com/en/api/errors>. Quirks handled: `system` as a string or text
//! blocks; `role: "system"` messages inside `messages` (sent by current SDKs and Claude Code;
//! <https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages>)
//! folded, in order, into the one leading system message, so every upstream gets them (the
//! position within the conversation is not kept); `max_tokens` required; a user turn's `tool_result` blocks become canonical tool
//! messages (in order, before the turn's other content); `tool_use.input` objects become
//! argument JSON text; `tool_choice.disable_parallel_tool_use`; `metadata.user_id`; the
//! whole request object is kept as `raw`, which an Anthropic upstream receives with surgical
//! edits only (so block kinds and fields the gateway does not model reach it intact);
//! `output_config` is read into the canonical answer format and reasoning effort and also
//! kept whole for Anthropic upstreams (see `decode_output_config`); a tool with
//! `defer_loading: true` is left out until a `tool_reference` block in a `tool_result` names
//! it, as the model sees it (Claude Code sends such tools, and a placeholder never to be
//! called; <https://platform.claude.com/docs/en/agents-and-tools/tool-use/tool-search-tool>).

use super::fields::*;
use crate::core::error::GatewayError;
use crate::core::translate::providers::anthropic::stop_reason_from_finish;
use crate::core::translate::tool_id;
use crate::core::types::*;
use crate::json;
use serde_json::{Map, Value};

const KNOWN: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
];

/// Decode a Messages request body (`POST /v1/messages`). `system`, then the text of any
/// `role: "system"` messages, becomes a leading system message; `tool_result` blocks become
/// tool messages, `metadata.user_id` the `user`; fields not modelled go to `extra`. Always
/// `include_usage`: Anthropic streams carry usage.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    decode(body, true)
}

/// Decode a token count request body (`POST /v1/messages/count_tokens`): a Messages request
/// without `max_tokens`, read as [`decode_request`] reads one.
/// Reference: <https://platform.claude.com/docs/en/api/messages/count_tokens>
pub fn decode_count_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    decode(body, false)
}

fn decode(body: &[u8], needs_max_tokens: bool) -> Result<ChatRequest, GatewayError> {
    let mut obj = parse_object(body)?;
    let model = req_str(&obj, "model", "model")?;
    let max_tokens = opt_u32(&obj, "max_tokens", "max_tokens")?;
    match max_tokens {
        None if needs_max_tokens => return Err(missing("max_tokens")),
        Some(0) => return Err(invalid_value("max_tokens", "must be at least 1")),
        _ => {}
    }
    let messages = decode_messages(&obj)?;
    let stop = match opt_array(&obj, "stop_sequences", "stop_sequences")? {
        None => Vec::new(),
        Some(a) => a.iter().enumerate().map(|(i, s)| as_str(s, At("stop_sequences", i)).map(str::to_string)).collect::<Result<_, _>>()?,
    };
    let tools = match opt_array(&obj, "tools", "tools")? {
        None => Vec::new(),
        Some(list) => {
            let found = found_tools(&obj);
            let decoded = list.iter().enumerate().map(|(i, t)| decode_tool(t, i, &found)).collect::<Result<Vec<_>, _>>()?;
            decoded.into_iter().flatten().collect()
        }
    };
    let (tool_choice, parallel_tool_calls) = decode_tool_choice(opt_obj(&obj, "tool_choice", "tool_choice")?)?;
    let user = match opt_obj(&obj, "metadata", "metadata")? {
        Some(m) => opt_str(m, "user_id", "metadata.user_id")?,
        None => None,
    };
    let (response_format, reasoning_effort) = decode_output_config(opt_obj(&obj, "output_config", "output_config")?)?;
    let sampling = Sampling {
        temperature: opt_f64_in(&obj, "temperature", 0.0, 1.0)?,
        top_p: opt_f64_in(&obj, "top_p", 0.0, 1.0)?,
        top_k: opt_u32(&obj, "top_k", "top_k")?,
        stop,
        ..Default::default()
    };
    let request = ChatRequest {
        model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format,
        sampling,
        max_output_tokens: max_tokens,
        max_tokens_field: MaxTokensField::MaxTokens,
        reasoning_effort,
        stream: opt_bool(&obj, "stream", "stream")?.unwrap_or(false),
        include_usage: true,
        user,
        metadata: Default::default(),
        dialect: Dialect::Anthropic,
        extra: Map::new(),
        forwarded_headers: Vec::new(),
        raw: Some(obj.clone()),
    };
    for key in KNOWN {
        obj.remove(*key);
    }
    Ok(ChatRequest { extra: obj, ..request })
}

/// `system` and `messages` as canonical messages, the system prompt first.
fn decode_messages(obj: &Map<String, Value>) -> Result<Vec<Message>, GatewayError> {
    let mut messages = Vec::new();
    if let Some(system) = opt(obj, "system") {
        messages.push(Message::new(Role::System, Content::Text(system_text(system, "system")?)));
    }
    match opt_array(obj, "messages", "messages")? {
        None => Err(missing("messages")),
        Some(list) if list.is_empty() => Err(invalid_value("messages", "must contain at least one message")),
        Some(list) => {
            for (i, m) in list.iter().enumerate() {
                decode_message(m, i, &mut messages)?;
            }
            Ok(messages)
        }
    }
}

/// The text of a system prompt given as a string or an array of text blocks (blocks joined
/// by a blank line); `path` names the field for errors.
fn system_text(v: &Value, path: impl FieldPath) -> Result<String, GatewayError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => Ok(blocks
            .iter()
            .enumerate()
            .map(|(i, b)| as_obj(b, At(path, i)).and_then(|o| req_str(o, "text", Dot(At(path, i), "text"))))
            .collect::<Result<Vec<_>, _>>()?
            .join("\n\n")),
        _ => Err(invalid_value(&path.to_string(), "must be a string or an array of text blocks")),
    }
}

/// Fold system text into the leading system message, after what it already holds.
fn fold_system(messages: &mut Vec<Message>, text: String) {
    if text.is_empty() {
        return;
    }
    match messages.first_mut() {
        Some(first) if first.role == Role::System => {
            let mut joined = first.content.text();
            if !joined.is_empty() {
                joined.push_str("\n\n");
            }
            joined.push_str(&text);
            first.content = Content::Text(joined);
        }
        _ => messages.insert(0, Message::new(Role::System, Content::Text(text))),
    }
}

fn decode_image(b: &Map<String, Value>, path: impl FieldPath) -> Result<Part, GatewayError> {
    let src_path = Dot(path, "source");
    let src = opt_obj(b, "source", src_path)?.ok_or_else(|| missing(&src_path.to_string()))?;
    let url = match req_str(src, "type", Dot(src_path, "type"))?.as_str() {
        "base64" => format!(
            "data:{};base64,{}",
            req_str(src, "media_type", Dot(src_path, "media_type"))?,
            req_str(src, "data", Dot(src_path, "data"))?
        ),
        "url" => req_str(src, "url", Dot(src_path, "url"))?,
        _ => return Err(invalid_value(&format!("{src_path}.type"), "must be base64 or url")),
    };
    Ok(Part::Image { url, detail: None })
}

fn tool_result_text(b: &Map<String, Value>, path: impl FieldPath) -> Result<String, GatewayError> {
    match opt(b, "content") {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => Ok(parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")),
        Some(_) => Err(invalid_value(&format!("{path}.content"), "must be a string or an array of blocks")),
    }
}

fn decode_message(v: &Value, i: usize, out: &mut Vec<Message>) -> Result<(), GatewayError> {
    let path = At("messages", i);
    let m = as_obj(v, path)?;
    let role = match req_str(m, "role", Dot(path, "role"))?.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => {
            let content = opt(m, "content").ok_or_else(|| missing(&format!("{path}.content")))?;
            fold_system(out, system_text(content, Dot(path, "content"))?);
            return Ok(());
        }
        _ => return Err(invalid_value(&format!("{path}.role"), "must be user, assistant or system")),
    };
    let blocks = match opt(m, "content") {
        None => return Err(missing(&format!("{path}.content"))),
        Some(Value::String(s)) => {
            out.push(Message::new(role, Content::Text(s.clone())));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        Some(_) => return Err(invalid_value(&format!("{path}.content"), "must be a string or an array of content blocks")),
    };
    let mut msg = Message::new(role, Content::Parts(Vec::new()));
    let mut parts = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        let bp = At(Dot(path, "content"), j);
        let bo = as_obj(b, bp)?;
        match req_str(bo, "type", Dot(bp, "type"))?.as_str() {
            "text" => parts.push(Part::Text(req_str(bo, "text", Dot(bp, "text"))?)),
            "image" => parts.push(decode_image(bo, bp)?),
            "tool_use" if role == Role::Assistant => msg.tool_calls.push(ToolCall {
                id: tool_id::from_anthropic(&req_str(bo, "id", Dot(bp, "id"))?),
                name: req_str(bo, "name", Dot(bp, "name"))?,
                arguments: opt(bo, "input").map(Value::to_string).unwrap_or_else(|| "{}".into()),
            }),
            "tool_result" if role == Role::User => {
                let mut tm = Message::new(Role::Tool, Content::Text(tool_result_text(bo, bp)?));
                tm.tool_call_id = Some(tool_id::from_anthropic(&req_str(bo, "tool_use_id", Dot(bp, "tool_use_id"))?));
                out.push(tm);
            }
            "tool_use" | "tool_result" => {
                return Err(invalid_value(&format!("{bp}.type"), "tool_use belongs to assistant turns, tool_result to user turns"))
            }
            _ => parts.push(Part::Other(b.clone())),
        }
    }
    if !parts.is_empty() || !msg.tool_calls.is_empty() {
        msg.content = if parts.is_empty() { Content::None } else { Content::Parts(parts) };
        out.push(msg);
    }
    Ok(())
}

/// The names of the tools a tool search has found so far: `tool_reference` blocks inside the
/// conversation's `tool_result` blocks.
fn found_tools(obj: &Map<String, Value>) -> Vec<&str> {
    fn blocks(v: Option<&Value>) -> impl Iterator<Item = &Value> {
        v.and_then(Value::as_array).into_iter().flatten()
    }
    let messages = blocks(obj.get("messages"));
    let results = messages.flat_map(|m| blocks(m.get("content"))).filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"));
    let found = results.flat_map(|r| blocks(r.get("content"))).filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_reference"));
    found.filter_map(|b| b.get("tool_name").and_then(Value::as_str)).collect()
}

/// One tool; `None` for a deferred one (`defer_loading: true`) that no tool search has found
/// yet: the model does not see it, so no upstream gets it.
fn decode_tool(v: &Value, i: usize, found: &[&str]) -> Result<Option<Tool>, GatewayError> {
    let path = At("tools", i);
    let t = as_obj(v, path)?;
    if let Some(kind) = opt_str(t, "type", Dot(path, "type"))? {
        if kind != "custom" {
            return Err(invalid_value(&format!("{path}.type"), "only custom (client) tools are supported"));
        }
    }
    let name = req_str(t, "name", Dot(path, "name"))?;
    if opt_bool(t, "defer_loading", Dot(path, "defer_loading"))? == Some(true) && !found.contains(&name.as_str()) {
        return Ok(None);
    }
    Ok(Some(Tool {
        name,
        description: opt_str(t, "description", Dot(path, "description"))?,
        parameters: Some(opt(t, "input_schema").cloned().ok_or_else(|| missing(&format!("{path}.input_schema")))?),
        strict: None,
    }))
}

/// The name given to a JSON schema from `output_config.format`, which has none; OpenAI
/// requires one (`json_schema.name`).
pub const OUTPUT_SCHEMA_NAME: &str = "output";

/// `output_config` as the canonical answer format and reasoning effort. `format` is
/// `{"type": "json_schema", "schema": {...}}`
/// (<https://platform.claude.com/docs/en/build-with-claude/structured-outputs>); Anthropic
/// decodes constrained to the schema but its rules differ from OpenAI's strict mode (not
/// every property need be required), so other upstreams get it non-strict. `effort` is `low`,
/// `medium`, `high`, `xhigh` or `max`
/// (<https://platform.claude.com/docs/en/build-with-claude/effort>); the two above `high`
/// have no canonical level and read as `high`. The object itself stays in `extra`, so an
/// Anthropic upstream receives it unchanged.
fn decode_output_config(o: Option<&Map<String, Value>>) -> Result<(Option<ResponseFormat>, Option<ReasoningEffort>), GatewayError> {
    let Some(o) = o else { return Ok((None, None)) };
    let format = match opt_obj(o, "format", "output_config.format")? {
        None => None,
        Some(f) => match req_str(f, "type", "output_config.format.type")?.as_str() {
            "json_schema" => Some(ResponseFormat::JsonSchema {
                name: OUTPUT_SCHEMA_NAME.into(),
                schema: Some(Value::Object(
                    opt_obj(f, "schema", "output_config.format.schema")?.cloned().ok_or_else(|| missing("output_config.format.schema"))?,
                )),
                strict: None,
                description: None,
            }),
            _ => return Err(invalid_value("output_config.format.type", "must be json_schema")),
        },
    };
    let effort = match opt_str(o, "effort", "output_config.effort")?.as_deref() {
        None => None,
        Some("low") => Some(ReasoningEffort::Low),
        Some("medium") => Some(ReasoningEffort::Medium),
        Some("high" | "xhigh" | "max") => Some(ReasoningEffort::High),
        Some(_) => return Err(invalid_value("output_config.effort", "must be low, medium, high, xhigh or max")),
    };
    Ok((format, effort))
}

fn decode_tool_choice(o: Option<&Map<String, Value>>) -> Result<(Option<ToolChoice>, Option<bool>), GatewayError> {
    let Some(o) = o else { return Ok((None, None)) };
    let choice = match req_str(o, "type", "tool_choice.type")?.as_str() {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Function(req_str(o, "name", "tool_choice.name")?),
        _ => return Err(invalid_value("tool_choice.type", "must be auto, any, tool or none")),
    };
    let parallel = opt_bool(o, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use")?.map(|d| !d);
    Ok((Some(choice), parallel))
}

/// Anthropic's usage object from canonical usage (its `input_tokens` excludes cache traffic).
pub fn encode_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens.saturating_sub(u.cached_input_tokens + u.cache_write_tokens),
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cached_input_tokens,
    })
}

/// A tool call's argument text as a `tool_use.input` object.
pub fn tool_input(arguments: &str) -> Value {
    serde_json::from_slice::<Value>(arguments.as_bytes()).ok().filter(Value::is_object).unwrap_or_else(|| json!({}))
}

/// Encode a canonical response as an Anthropic `message` (the first choice: the API has no `n`).
pub fn encode_response(r: &ChatResponse) -> Vec<u8> {
    let empty = Choice { index: 0, content: None, refusal: None, tool_calls: Vec::new(), finish_reason: None };
    let c = r.choices.first().unwrap_or(&empty);
    let mut content = Vec::new();
    if let Some(text) = c.content.as_ref().or(c.refusal.as_ref()).filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": text}));
    }
    content.extend(
        c.tool_calls
            .iter()
            .map(|t| json!({"type": "tool_use", "id": tool_id::to_anthropic(&t.id), "name": t.name, "input": tool_input(&t.arguments)})),
    );
    let body = json!({
        "id": r.id, "type": "message", "role": "assistant", "model": r.model, "content": content,
        "stop_reason": c.finish_reason.as_ref().map(stop_reason_from_finish), "stop_sequence": null,
        "usage": encode_usage(&r.usage.unwrap_or_default()),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
