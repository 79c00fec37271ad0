//! Responses API requests decoded to [`ChatRequest`]: the request is rewritten as a Chat
//! Completions object and read by the chat decoder, so both APIs share one reading of messages,
//! parts, tools and formats (and one copy of that code in the module).
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses/create>. The rewrite:
//! `input` item *i* becomes `messages[i]` (a function call an assistant message with one tool
//! call, a call's output a `tool` message, a reasoning item a placeholder), so the chat
//! decoder's `messages[i]…` paths name `input[i]…`; afterwards placeholders go, each function
//! call joins the assistant turn it follows, and `instructions` leads as a system message.
//! What has no chat counterpart, or a different shape (flat tools, `text.format`, item
//! fields), is checked here first, against tables ([`check`]), and named by its own path. A
//! field or item the gateway does not serve is a 400 `unsupported` naming it; what needs stored
//! state is refused by `stateful::refuse_stateful` before anything else.

use super::encode::quoted;
use super::stateful::refuse_stateful;
use crate::core::error::GatewayError;
use crate::core::translate::dialect::fields::Ty::*;
use crate::core::translate::dialect::fields::*;
use crate::core::translate::dialect::openai::decode_object;
use crate::core::types::*;
use serde_json::{Map, Value};
use std::fmt::Write;

/// Top-level fields checked here, with their types. These, `input`, `tool_choice`, the fields
/// read by the chat decoder (`SHARED`), `previous_response_id` and `conversation` (read by
/// `stateful`) are served; any other field is refused by name. Those without a canonical home
/// (`store`, `include`, `service_tier`, ...) are checked, then only echoed.
const TOP: &[(&str, Ty)] = &[
    ("model", ReqStr),
    ("instructions", Str),
    ("tools", Arr),
    ("text", Obj),
    ("reasoning", Obj),
    ("max_output_tokens", U32),
    ("stream_options", Obj),
    ("store", Bool),
    ("include", Arr),
    ("truncation", Str),
    ("service_tier", Str),
    ("prompt_cache_key", Str),
    ("prompt_cache_retention", Str),
    ("safety_identifier", Str),
    ("top_logprobs", U32),
    ("max_tool_calls", U32),
    ("background", Bool),
    ("client_metadata", Obj),
];

/// Fields the chat decoder reads under the same name and meaning.
const SHARED: [&str; 7] = ["model", "temperature", "top_p", "metadata", "user", "parallel_tool_calls", "stream"];

const CALL: &[(&str, Ty)] = &[("call_id", ReqStr), ("name", ReqStr), ("arguments", ReqStr)];
const TYPE: &[(&str, Ty)] = &[("type", ReqStr)];
const IMAGE: &[(&str, Ty)] = &[("image_url", ReqStr), ("detail", Str)];
const TOOL: &[(&str, Ty)] = &[("name", ReqStr), ("description", Str), ("parameters", Obj), ("strict", Bool)];
const TEXT_CONFIG: &[(&str, Ty)] = &[("format", Obj), ("verbosity", Str)];
const SCHEMA: &[(&str, Ty)] = &[("name", ReqStr), ("schema", ReqObj), ("strict", Bool), ("description", Str)];
const REASONING: &[(&str, Ty)] = &[("effort", Str), ("summary", Str), ("generate_summary", Str)];

fn field<'a>(o: &'a Map<String, Value>, key: &str) -> &'a Value {
    o.get(key).unwrap_or(&Value::Null)
}

/// Decode a Responses request body into a chat request with `dialect: Responses`, the body
/// kept as `raw`.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let obj = parse_object(body)?;
    refuse_stateful(&obj)?;
    let served = |k: &str| {
        TOP.iter().any(|(t, _)| *t == k)
            || SHARED.contains(&k)
            || matches!(k, "input" | "tool_choice" | "previous_response_id" | "conversation")
    };
    if let Some(key) = obj.keys().find(|k| !served(k)) {
        return Err(unsupported(key, "is not a parameter this gateway serves on /v1/responses"));
    }
    check(&obj, &"", TOP)?;
    check_values(&obj)?;
    let mut chat = String::from("{");
    for key in SHARED {
        if let Some(v) = obj.get(key) {
            let _ = write!(chat, "\"{key}\":{v},");
        }
    }
    let _ = write!(
        chat,
        r#""max_completion_tokens":{},"reasoning_effort":{},"response_format":{},"tools":{},"tool_choice":{},"#,
        field(&obj, "max_output_tokens"),
        effort(&obj)?.map_or_else(|| "null".into(), |e| format!("\"{e}\"")),
        format(&obj)?,
        tools(&obj)?,
        tool_choice(&obj)?,
    );
    messages(&obj, &mut chat)?;
    chat.push('}');
    let chat = parse_object(chat.as_bytes())?;
    let mut req = decode_object(chat).map_err(|mut e| {
        // `messages[i]` is `input[i]`.
        if let Some(p) = e.param.as_mut().and_then(|p| p.strip_prefix("messages").map(|rest| format!("input{rest}"))) {
            e.message = e.message.replacen("messages[", "input[", 1);
            e.param = Some(p);
        }
        e
    })?;
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    messages.extend(get_str(&obj, "instructions").map(|t| Message::new(Role::System, Content::Text(t.into()))));
    for m in std::mem::take(&mut req.messages) {
        // A function call's message, or a reasoning item's placeholder: only calls.
        let calls_only = m.role == Role::Assistant && matches!(m.content, Content::None) && m.refusal.is_none();
        match messages.last_mut() {
            Some(last) if calls_only && last.role == Role::Assistant => last.tool_calls.extend(m.tool_calls),
            _ if calls_only && m.tool_calls.is_empty() => {}
            _ => messages.push(own_turn_as_text(m)),
        }
    }
    if messages.iter().all(|m| m.role == Role::System) {
        return Err(invalid_value("input", "must hold at least one message or function call"));
    }
    req.messages = messages;
    req.dialect = Dialect::Responses;
    // Usage is part of every Responses stream (in `response.completed`).
    req.include_usage = true;
    req.extra = Map::new();
    req.raw = Some(obj);
    Ok(req)
}

/// The model's own turns go back as plain text, which every upstream takes.
fn own_turn_as_text(mut m: Message) -> Message {
    if let (Role::Assistant, Content::Parts(parts)) = (m.role, &m.content) {
        if parts.iter().all(|p| matches!(p, Part::Text(_))) {
            let text = m.content.text();
            m.content = if text.is_empty() && m.refusal.is_some() { Content::None } else { Content::Text(text) };
        }
    }
    m
}

/// `input` as chat `messages`, one per item (a reasoning item as an empty assistant message),
/// appended to `chat`.
fn messages(obj: &Map<String, Value>, chat: &mut String) -> Result<(), GatewayError> {
    chat.push_str("\"messages\":[");
    match opt(obj, "input") {
        None => return Err(missing("input")),
        Some(Value::String(s)) => {
            let _ = write!(chat, r#"{{"role":"user","content":{}}}"#, quoted(s));
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    chat.push(',');
                }
                if !item_message(item, i, chat)? {
                    chat.push_str(r#"{"role":"assistant"}"#);
                }
            }
        }
        Some(_) => return Err(invalid_value("input", "must be a string or a non-empty array of input items")),
    }
    chat.push(']');
    Ok(())
}

/// One `input` item as a chat message appended to `chat` (`false` for a reasoning item,
/// which appends nothing): a message (typed `message`, or untyped with a `role`), a function
/// call, or a function call's output.
fn item_message(v: &Value, i: usize, chat: &mut String) -> Result<bool, GatewayError> {
    let path = At("input", i);
    let o = as_obj(v, path)?;
    check(o, &path, &[("type", Str)])?;
    match get_str(o, "type") {
        None | Some("message") => message(o, path, chat)?,
        Some("function_call") => {
            check(o, &path, CALL)?;
            let _ = write!(
                chat,
                r#"{{"role":"assistant","content":null,"tool_calls":[{{"id":{},"type":"function","function":{{"name":{},"arguments":{}}}}}]}}"#,
                field(o, "call_id"),
                field(o, "name"),
                field(o, "arguments")
            );
        }
        Some("function_call_output") => {
            check(o, &path, &CALL[..1])?;
            let content = quoted(&output(o, Dot(path, "output"))?);
            let _ = write!(chat, r#"{{"role":"tool","tool_call_id":{},"content":{content}}}"#, field(o, "call_id"));
        }
        Some("reasoning") => return Ok(false),
        Some(_) => {
            return Err(unsupported(
                &Dot(path, "type").to_string(),
                "only message, function_call, function_call_output and reasoning items are served",
            ))
        }
    }
    Ok(true)
}

fn message(o: &Map<String, Value>, path: At<&str>, chat: &mut String) -> Result<(), GatewayError> {
    check(o, &path, &[("role", ReqStr)])?;
    let role = field(o, "role");
    if !matches!(role.as_str(), Some("user" | "system" | "developer" | "assistant")) {
        return Err(invalid_value(&Dot(path, "role").to_string(), "must be user, assistant, system or developer"));
    }
    let _ = write!(chat, r#"{{"role":{role},"content":"#);
    let Value::Array(parts) = field(o, "content") else {
        let _ = write!(chat, "{}}}", field(o, "content"));
        return Ok(());
    };
    let mut refusal = &Value::Null;
    chat.push('[');
    let mut first = true;
    for (j, p) in parts.iter().enumerate() {
        let path = At(Dot(path, "content"), j);
        let p = as_obj(p, path)?;
        check(p, &path, TYPE)?;
        let unserved = |key: &str, why| Err(unsupported(&format!("{path}.{key}"), why));
        let kind = get_str(p, "type").unwrap_or_default();
        if kind == "refusal" {
            check(p, &path, &[("refusal", ReqStr)])?;
            refusal = field(p, "refusal");
            continue;
        }
        if !std::mem::replace(&mut first, false) {
            chat.push(',');
        }
        let _ = match kind {
            "input_text" | "output_text" => write!(chat, r#"{{"type":"text","text":{}}}"#, field(p, "text")),
            "input_image" if opt(p, "file_id").is_some() => return unserved("file_id", "file ids need a file store: send image_url"),
            "input_image" => {
                check(p, &path, IMAGE)?;
                write!(chat, r#"{{"type":"image_url","image_url":{{"url":{},"detail":{}}}}}"#, field(p, "image_url"), field(p, "detail"))
            }
            "input_file" | "input_audio" => return unserved("type", "only text and image parts are served"),
            _ => return Err(invalid_value(&format!("{path}.type"), "must be input_text, input_image, output_text or refusal")),
        };
    }
    let _ = write!(chat, r#"],"refusal":{refusal}}}"#);
    Ok(())
}

/// A function call's output: a string, or `input_text` parts joined.
fn output(o: &Map<String, Value>, path: Dot<At<&str>>) -> Result<String, GatewayError> {
    match opt(o, "output") {
        None => Err(missing(&path.to_string())),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (j, p) in parts.iter().enumerate() {
                let path = At(path, j);
                let part = as_obj(p, path)?;
                check(part, &path, TYPE)?;
                if get_str(part, "type") != Some("input_text") {
                    return Err(unsupported(&format!("{path}.type"), "only input_text parts are served in a function call's output"));
                }
                check(part, &path, &[("text", ReqStr)])?;
                text.push_str(get_str(part, "text").unwrap_or_default());
            }
            Ok(text)
        }
        Some(_) => Err(invalid_value(&path.to_string(), "must be a string or an array of content parts")),
    }
}

/// Function tools, from the Responses API's flat shape (`name`, `description`, `parameters`
/// and `strict` beside `type`) to chat's; hosted tools are not served.
fn tools(obj: &Map<String, Value>) -> Result<String, GatewayError> {
    let Some(list) = obj.get("tools").and_then(Value::as_array) else { return Ok("null".into()) };
    let mut out = String::from("[");
    for (i, t) in list.iter().enumerate() {
        let path = At("tools", i);
        let t = as_obj(t, path)?;
        check(t, &path, TYPE)?;
        if get_str(t, "type") != Some("function") {
            return Err(unsupported(&Dot(path, "type").to_string(), "only function tools are served (hosted tools need OpenAI)"));
        }
        check(t, &path, TOOL)?;
        let _ = write!(
            out,
            r#"{}{{"type":"function","function":{{"name":{},"description":{},"parameters":{},"strict":{}}}}}"#,
            if i > 0 { "," } else { "" },
            field(t, "name"),
            field(t, "description"),
            field(t, "parameters"),
            field(t, "strict")
        );
    }
    out.push(']');
    Ok(out)
}

/// `tool_choice`: the chat values, except a function named flat (`{"type": "function",
/// "name"}`).
fn tool_choice(obj: &Map<String, Value>) -> Result<String, GatewayError> {
    let v = field(obj, "tool_choice");
    let Value::Object(o) = v else { return Ok(v.to_string()) };
    check(o, &"tool_choice", TYPE)?;
    if get_str(o, "type") != Some("function") {
        return Err(unsupported("tool_choice.type", "only function tools are served"));
    }
    check(o, &"tool_choice", &TOOL[..1])?;
    Ok(format!(r#"{{"type":"function","function":{{"name":{}}}}}"#, field(o, "name")))
}

/// `text.format` (flat: `name`, `schema`, `strict`, `description` beside `type`) as chat's
/// `response_format`; `text.verbosity` is checked, then only echoed.
fn format(obj: &Map<String, Value>) -> Result<String, GatewayError> {
    let null = || Ok("null".into());
    let Some(text) = obj.get("text").and_then(Value::as_object) else { return null() };
    refuse_others(text, "text", TEXT_CONFIG)?;
    check(text, &"text", TEXT_CONFIG)?;
    if !matches!(get_str(text, "verbosity"), None | Some("low" | "medium" | "high")) {
        return Err(invalid_value("text.verbosity", "must be low, medium or high"));
    }
    let Some(f) = text.get("format").and_then(Value::as_object) else { return null() };
    check(f, &"text.format", TYPE)?;
    Ok(match get_str(f, "type").unwrap_or_default() {
        kind @ ("text" | "json_object") => format!(r#"{{"type":"{kind}"}}"#),
        "json_schema" => {
            check(f, &"text.format", SCHEMA)?;
            format!(
                r#"{{"type":"json_schema","json_schema":{{"name":{},"schema":{},"strict":{},"description":{}}}}}"#,
                field(f, "name"),
                field(f, "schema"),
                field(f, "strict"),
                field(f, "description")
            )
        }
        _ => return Err(invalid_value("text.format.type", "must be text, json_object or json_schema")),
    })
}

/// `reasoning.effort` as chat's `reasoning_effort` (`xhigh` and `max` read as high, as for
/// Anthropic callers); `reasoning.summary` is checked and echoed, and no summary is produced.
fn effort(obj: &Map<String, Value>) -> Result<Option<&'static str>, GatewayError> {
    let Some(r) = obj.get("reasoning").and_then(Value::as_object) else { return Ok(None) };
    refuse_others(r, "reasoning", REASONING)?;
    check(r, &"reasoning", REASONING)?;
    for key in ["summary", "generate_summary"] {
        if !matches!(get_str(r, key), None | Some("auto" | "concise" | "detailed")) {
            return Err(invalid_value(&format!("reasoning.{key}"), "must be auto, concise or detailed"));
        }
    }
    match get_str(r, "effort") {
        None => Ok(None),
        Some("xhigh" | "max") => Ok(Some("high")),
        Some(s) => ReasoningEffort::parse(s)
            .map(|e| Some(e.as_str()))
            .ok_or_else(|| invalid_value("reasoning.effort", "must be none, minimal, low, medium, high or xhigh")),
    }
}

/// Keys of `o` outside `allowed`: the first is refused by name.
fn refuse_others(o: &Map<String, Value>, at: &str, allowed: &[(&str, Ty)]) -> Result<(), GatewayError> {
    match o.keys().find(|k| !allowed.iter().any(|(a, _)| a == k)) {
        Some(key) => Err(unsupported(&format!("{at}.{key}"), "is not served")),
        None => Ok(()),
    }
}

/// Values the gateway cannot honour, among fields whose types `check` has seen.
fn check_values(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    for (i, v) in obj.get("include").and_then(Value::as_array).into_iter().flatten().enumerate() {
        as_str(v, At("include", i))?;
    }
    if let Some(o) = obj.get("stream_options").and_then(Value::as_object) {
        check(o, &"stream_options", &[("include_obfuscation", Bool)])?;
    }
    match get_str(obj, "truncation") {
        None | Some("disabled") => {}
        Some("auto") => return Err(unsupported("truncation", "only 'disabled' is served: the gateway does not drop input")),
        Some(_) => return Err(invalid_value("truncation", "must be auto or disabled")),
    }
    if obj.get("top_logprobs").and_then(Value::as_u64).unwrap_or(0) > 0 {
        return Err(unsupported("top_logprobs", "log probabilities are not served"));
    }
    Ok(())
}
