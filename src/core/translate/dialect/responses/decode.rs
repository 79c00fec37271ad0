//! Responses API requests decoded to [`ChatRequest`]: `instructions` and the `input` items
//! become the conversation, the flat function tools and `text.format` their chat
//! counterparts. Every field is checked and named by its path when wrong; a field or item the
//! gateway does not serve is a 400 `unsupported` naming it, and what needs stored state is
//! refused by [`refuse_stateful`] first.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses/create>.

use crate::core::error::GatewayError;
use crate::core::translate::dialect::fields::*;
use crate::core::types::*;
use crate::core::util::vecmap::VecMap;
use serde_json::{Map, Value};

/// Top-level fields the gateway serves; any other is refused by name. Those without a
/// canonical home (`store`, `include`, `service_tier`, ...) are checked, then only echoed.
const SERVED: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "user",
    "stream",
    "stream_options",
    "store",
    "include",
    "truncation",
    "service_tier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "top_logprobs",
    "max_tool_calls",
    "background",
    "previous_response_id",
    "conversation",
];

/// Decode a Responses request body into a chat request with `dialect: Responses`, the body
/// kept as `raw`.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let obj = parse_object(body)?;
    refuse_stateful(&obj)?;
    if let Some(key) = obj.keys().find(|k| !SERVED.contains(&k.as_str())) {
        return Err(unsupported(key, "is not a parameter this gateway serves on /v1/responses"));
    }
    let model = req_str(&obj, "model", "model")?;
    if model.is_empty() {
        return Err(invalid_value("model", "must not be empty"));
    }
    let mut messages = Vec::new();
    if let Some(text) = opt_str(&obj, "instructions", "instructions")? {
        messages.push(Message::new(Role::System, Content::Text(text)));
    }
    let from = messages.len();
    match opt(&obj, "input") {
        None => return Err(missing("input")),
        Some(Value::String(s)) => messages.push(Message::new(Role::User, Content::Text(s.clone()))),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                decode_item(item, i, &mut messages)?;
            }
        }
        Some(_) => return Err(invalid_value("input", "must be a string or an array of input items")),
    }
    if messages.len() == from {
        return Err(invalid_value("input", "must hold at least one message or function call"));
    }
    check_echoed(&obj)?;
    let reasoning_effort = decode_reasoning(&obj)?;
    let tools = match opt_array(&obj, "tools", "tools")? {
        None => Vec::new(),
        Some(list) => list.iter().enumerate().map(|(i, t)| decode_tool(t, i)).collect::<Result<_, _>>()?,
    };
    Ok(ChatRequest {
        model,
        messages,
        tools,
        tool_choice: decode_tool_choice(opt(&obj, "tool_choice"))?,
        parallel_tool_calls: opt_bool(&obj, "parallel_tool_calls", "parallel_tool_calls")?,
        response_format: decode_text(&obj)?,
        sampling: Sampling {
            temperature: opt_f64_in(&obj, "temperature", 0.0, 2.0)?,
            top_p: opt_f64_in(&obj, "top_p", 0.0, 1.0)?,
            ..Sampling::default()
        },
        max_output_tokens: opt_u32(&obj, "max_output_tokens", "max_output_tokens")?,
        max_tokens_field: MaxTokensField::MaxCompletionTokens,
        reasoning_effort,
        stream: opt_bool(&obj, "stream", "stream")?.unwrap_or(false),
        // Usage is part of every Responses stream (in `response.completed`).
        include_usage: true,
        user: opt_str(&obj, "user", "user")?,
        metadata: decode_metadata(&obj)?,
        dialect: Dialect::Responses,
        extra: Map::new(),
        forwarded_headers: Vec::new(),
        raw: Some(obj),
    })
}

/// One `input` item into the conversation: a message (typed `message`, or untyped with a
/// `role`), a function call (joining the assistant turn it follows), a function call's
/// output, or a reasoning item (dropped: the canonical form has no place for it).
fn decode_item(v: &Value, i: usize, out: &mut Vec<Message>) -> Result<(), GatewayError> {
    let path = At("input", i);
    let o = as_obj(v, path)?;
    match opt_str(o, "type", Dot(path, "type"))?.as_deref() {
        None | Some("message") => out.push(decode_message(o, path)?),
        Some("function_call") => {
            let call = ToolCall {
                id: req_str(o, "call_id", Dot(path, "call_id"))?,
                name: req_str(o, "name", Dot(path, "name"))?,
                arguments: req_str(o, "arguments", Dot(path, "arguments"))?,
            };
            match out.last_mut() {
                Some(m) if m.role == Role::Assistant => m.tool_calls.push(call),
                _ => out.push(Message { tool_calls: vec![call], ..Message::new(Role::Assistant, Content::None) }),
            }
        }
        Some("function_call_output") => {
            let call_id = req_str(o, "call_id", Dot(path, "call_id"))?;
            let content = Content::Text(decode_output(o, Dot(path, "output"))?);
            out.push(Message { tool_call_id: Some(call_id), ..Message::new(Role::Tool, content) });
        }
        Some("reasoning") => {}
        Some(_) => {
            return Err(unsupported(
                &Dot(path, "type").to_string(),
                "only message, function_call, function_call_output and reasoning items are served",
            ))
        }
    }
    Ok(())
}

fn decode_message(o: &Map<String, Value>, path: At<&str>) -> Result<Message, GatewayError> {
    let role_path = Dot(path, "role");
    let role = match req_str(o, "role", role_path)?.as_str() {
        "user" => Role::User,
        "system" => Role::System,
        "developer" => Role::Developer,
        "assistant" => Role::Assistant,
        _ => return Err(invalid_value(&role_path.to_string(), "must be user, assistant, system or developer")),
    };
    let content_path = Dot(path, "content");
    let mut refusal = None;
    let content = match opt(o, "content") {
        None => return Err(missing(&content_path.to_string())),
        Some(Value::String(s)) => Content::Text(s.clone()),
        Some(Value::Array(parts)) => {
            let mut kept = Vec::with_capacity(parts.len());
            for (j, p) in parts.iter().enumerate() {
                kept.extend(decode_part(p, At(content_path, j), &mut refusal)?);
            }
            Content::Parts(kept)
        }
        Some(_) => return Err(invalid_value(&content_path.to_string(), "must be a string or an array of content parts")),
    };
    // The model's own turns go back as plain text, which every upstream takes.
    let content = match content {
        Content::Parts(parts) if role == Role::Assistant && parts.iter().all(|p| matches!(p, Part::Text(_))) => {
            let text = Content::Parts(parts).text();
            if text.is_empty() && refusal.is_some() {
                Content::None
            } else {
                Content::Text(text)
            }
        }
        other => other,
    };
    Ok(Message { refusal, ..Message::new(role, content) })
}

/// One content part: text (`input_text`, or `output_text` in the model's own turns), an
/// image by URL or data URL, or a refusal (kept as the message's refusal).
fn decode_part(v: &Value, path: At<Dot<At<&str>>>, refusal: &mut Option<String>) -> Result<Option<Part>, GatewayError> {
    let p = as_obj(v, path)?;
    let type_path = Dot(path, "type");
    match req_str(p, "type", type_path)?.as_str() {
        "input_text" | "output_text" => Ok(Some(Part::Text(req_str(p, "text", Dot(path, "text"))?))),
        "refusal" => {
            *refusal = Some(req_str(p, "refusal", Dot(path, "refusal"))?);
            Ok(None)
        }
        "input_image" => {
            if opt(p, "file_id").is_some() {
                return Err(unsupported(&Dot(path, "file_id").to_string(), "file ids need a file store: send image_url"));
            }
            let url = req_str(p, "image_url", Dot(path, "image_url"))?;
            Ok(Some(Part::Image { url, detail: opt_str(p, "detail", Dot(path, "detail"))? }))
        }
        "input_file" | "input_audio" => Err(unsupported(&type_path.to_string(), "only text and image parts are served")),
        _ => Err(invalid_value(&type_path.to_string(), "must be input_text, input_image, output_text or refusal")),
    }
}

/// A function call's output: a string, or text parts joined.
fn decode_output(o: &Map<String, Value>, path: Dot<At<&str>>) -> Result<String, GatewayError> {
    match opt(o, "output") {
        None => Err(missing(&path.to_string())),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (j, p) in parts.iter().enumerate() {
                let part = as_obj(p, At(path, j))?;
                if req_str(part, "type", Dot(At(path, j), "type"))? != "input_text" {
                    return Err(unsupported(&format!("{path}[{j}].type"), "only input_text parts are served in a function call's output"));
                }
                text.push_str(&req_str(part, "text", Dot(At(path, j), "text"))?);
            }
            Ok(text)
        }
        Some(_) => Err(invalid_value(&path.to_string(), "must be a string or an array of content parts")),
    }
}

/// A function tool, in the Responses API's flat shape (`name`, `description`, `parameters`
/// and `strict` beside `type`); hosted tools are not served.
fn decode_tool(v: &Value, i: usize) -> Result<Tool, GatewayError> {
    let path = At("tools", i);
    let t = as_obj(v, path)?;
    if req_str(t, "type", Dot(path, "type"))? != "function" {
        return Err(unsupported(&Dot(path, "type").to_string(), "only function tools are served (hosted tools need OpenAI)"));
    }
    let parameters = match opt(t, "parameters") {
        None => None,
        Some(p @ Value::Object(_)) => Some(p.clone()),
        Some(_) => return Err(invalid_value(&Dot(path, "parameters").to_string(), "must be a JSON Schema object")),
    };
    Ok(Tool {
        name: req_str(t, "name", Dot(path, "name"))?,
        description: opt_str(t, "description", Dot(path, "description"))?,
        parameters,
        strict: opt_bool(t, "strict", Dot(path, "strict"))?,
    })
}

fn decode_tool_choice(v: Option<&Value>) -> Result<Option<ToolChoice>, GatewayError> {
    Ok(Some(match v {
        None => return Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "none" => ToolChoice::None,
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            _ => return Err(invalid_value("tool_choice", "must be none, auto, required or a function")),
        },
        Some(Value::Object(o)) => match req_str(o, "type", "tool_choice.type")?.as_str() {
            "function" => ToolChoice::Function(req_str(o, "name", "tool_choice.name")?),
            _ => return Err(unsupported("tool_choice.type", "only function tools are served")),
        },
        Some(_) => return Err(invalid_value("tool_choice", "must be a string or an object")),
    }))
}

/// `text.format` (flat: `name`, `schema`, `strict`, `description` beside `type`) and
/// `text.verbosity` (checked, then only echoed).
fn decode_text(obj: &Map<String, Value>) -> Result<Option<ResponseFormat>, GatewayError> {
    let Some(text) = opt_obj(obj, "text", "text")? else { return Ok(None) };
    if let Some(key) = text.keys().find(|k| !matches!(k.as_str(), "format" | "verbosity")) {
        return Err(unsupported(&format!("text.{key}"), "is not served"));
    }
    if !matches!(opt_str(text, "verbosity", "text.verbosity")?.as_deref(), None | Some("low" | "medium" | "high")) {
        return Err(invalid_value("text.verbosity", "must be low, medium or high"));
    }
    let Some(f) = opt_obj(text, "format", "text.format")? else { return Ok(None) };
    Ok(Some(match req_str(f, "type", "text.format.type")?.as_str() {
        "text" => ResponseFormat::Text,
        "json_object" => ResponseFormat::JsonObject,
        "json_schema" => ResponseFormat::JsonSchema {
            name: req_str(f, "name", "text.format.name")?,
            schema: Some(Value::Object(opt_obj(f, "schema", "text.format.schema")?.ok_or_else(|| missing("text.format.schema"))?.clone())),
            strict: opt_bool(f, "strict", "text.format.strict")?,
            description: opt_str(f, "description", "text.format.description")?,
        },
        _ => return Err(invalid_value("text.format.type", "must be text, json_object or json_schema")),
    }))
}

/// `reasoning.effort` (`xhigh` and `max` read as high, as for Anthropic callers);
/// `reasoning.summary` is checked and echoed, and no summary is produced.
fn decode_reasoning(obj: &Map<String, Value>) -> Result<Option<ReasoningEffort>, GatewayError> {
    let Some(r) = opt_obj(obj, "reasoning", "reasoning")? else { return Ok(None) };
    if let Some(key) = r.keys().find(|k| !matches!(k.as_str(), "effort" | "summary" | "generate_summary")) {
        return Err(unsupported(&format!("reasoning.{key}"), "is not served"));
    }
    for (key, path) in [("summary", "reasoning.summary"), ("generate_summary", "reasoning.generate_summary")] {
        if !matches!(opt_str(r, key, path)?.as_deref(), None | Some("auto" | "concise" | "detailed")) {
            return Err(invalid_value(path, "must be auto, concise or detailed"));
        }
    }
    match opt_str(r, "effort", "reasoning.effort")?.as_deref() {
        None => Ok(None),
        Some("xhigh" | "max") => Ok(Some(ReasoningEffort::High)),
        Some(s) => ReasoningEffort::parse(s)
            .map(Some)
            .ok_or_else(|| invalid_value("reasoning.effort", "must be none, minimal, low, medium, high or xhigh")),
    }
}

/// The fields only echoed: right types, and values the gateway can honour.
fn check_echoed(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    opt_bool(obj, "store", "store")?;
    opt_bool(obj, "background", "background")?;
    for key in ["service_tier", "prompt_cache_key", "prompt_cache_retention", "safety_identifier"] {
        opt_str(obj, key, key)?;
    }
    opt_u32(obj, "max_tool_calls", "max_tool_calls")?;
    if let Some(list) = opt_array(obj, "include", "include")? {
        for (i, v) in list.iter().enumerate() {
            as_str(v, At("include", i))?;
        }
    }
    if let Some(o) = opt_obj(obj, "stream_options", "stream_options")? {
        opt_bool(o, "include_obfuscation", "stream_options.include_obfuscation")?;
    }
    match opt_str(obj, "truncation", "truncation")?.as_deref() {
        None | Some("disabled") => {}
        Some("auto") => return Err(unsupported("truncation", "only 'disabled' is served: the gateway does not drop input")),
        Some(_) => return Err(invalid_value("truncation", "must be auto or disabled")),
    }
    if opt_u32(obj, "top_logprobs", "top_logprobs")?.unwrap_or(0) > 0 {
        return Err(unsupported("top_logprobs", "log probabilities are not served"));
    }
    Ok(())
}

fn decode_metadata(obj: &Map<String, Value>) -> Result<VecMap<String, String>, GatewayError> {
    let Some(o) = opt_obj(obj, "metadata", "metadata")? else { return Ok(Default::default()) };
    o.iter().map(|(k, v)| as_str(v, &format!("metadata.{k}")).map(|s| (k.clone(), s.to_string()))).collect()
}

/// Refuse a request that needs stored responses or conversations: a `previous_response_id`,
/// a `conversation`, `background: true`, or an `item_reference` input item (400 `unsupported`
/// naming it). The gateway keeps no responses, so a caller sends the whole conversation as
/// `input` (as `store: false` callers do).
pub fn refuse_stateful(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    let refuse = |param: &str| {
        Err(unsupported(
            param,
            "needs stored responses or conversations, which this gateway does not keep: send the whole conversation as input",
        ))
    };
    for key in ["previous_response_id", "conversation"] {
        if opt(obj, key).is_some() {
            return refuse(key);
        }
    }
    if obj.get("background") == Some(&Value::Bool(true)) {
        return refuse("background");
    }
    if let Some(Value::Array(items)) = obj.get("input") {
        if let Some(i) = items.iter().position(|v| v.get("type").and_then(Value::as_str) == Some("item_reference")) {
            return refuse(&format!("input[{i}]"));
        }
    }
    Ok(())
}
