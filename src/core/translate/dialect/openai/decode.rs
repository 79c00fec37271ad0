//! Caller requests in OpenAI's Chat Completions shape, decoded to [`ChatRequest`]: every
//! field the gateway models is checked and named by its path when wrong; the rest is kept in
//! `extra` and passed through.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat/create>.

use crate::core::error::GatewayError;
use crate::core::translate::dialect::fields::*;
use crate::core::types::*;
use serde_json::{Map, Value};

/// Keys this decoder interprets; anything else lands in `ChatRequest::extra`.
const KNOWN: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "stop",
    "logit_bias",
    "n",
    "max_tokens",
    "max_completion_tokens",
    "reasoning_effort",
    "stream",
    "stream_options",
    "user",
    "metadata",
];

/// Decode a Chat Completions request body.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let obj = parse_object(body)?;
    decode_object(obj)
}

/// Decode a Chat Completions request already parsed as a JSON object.
pub fn decode_object(mut obj: Map<String, Value>) -> Result<ChatRequest, GatewayError> {
    let model = req_str(&obj, "model", "model")?;
    if model.is_empty() {
        return Err(invalid_value("model", "must not be empty"));
    }
    let messages = match opt_array(&obj, "messages", "messages")? {
        None => return Err(missing("messages")),
        Some(list) if list.is_empty() => return Err(invalid_value("messages", "must contain at least one message")),
        Some(list) => list.iter().enumerate().map(|(i, m)| decode_message(m, i)).collect::<Result<Vec<_>, _>>()?,
    };
    let (stop, stop_was_string) = decode_stop(&obj)?;
    let sampling = Sampling {
        temperature: opt_f64_in(&obj, "temperature", 0.0, 2.0)?,
        top_p: opt_f64_in(&obj, "top_p", 0.0, 1.0)?,
        top_k: None,
        presence_penalty: opt_f64_in(&obj, "presence_penalty", -2.0, 2.0)?,
        frequency_penalty: opt_f64_in(&obj, "frequency_penalty", -2.0, 2.0)?,
        seed: opt_i64(&obj, "seed", "seed")?,
        stop,
        stop_was_string,
        logit_bias: decode_logit_bias(&obj)?,
        n: opt_u32(&obj, "n", "n")?,
    };
    if sampling.n == Some(0) {
        return Err(invalid_value("n", "must be at least 1"));
    }
    let (max_output_tokens, max_tokens_field) =
        match (opt_u32(&obj, "max_completion_tokens", "max_completion_tokens")?, opt_u32(&obj, "max_tokens", "max_tokens")?) {
            (Some(_), Some(_)) => return Err(invalid_value("max_tokens", "give max_tokens or max_completion_tokens, not both")),
            (Some(m), None) => (Some(m), MaxTokensField::MaxCompletionTokens),
            (None, m) => (m, MaxTokensField::MaxTokens),
        };
    let stream = opt_bool(&obj, "stream", "stream")?.unwrap_or(false);
    let include_usage = match opt_obj(&obj, "stream_options", "stream_options")? {
        Some(o) => opt_bool(o, "include_usage", "stream_options.include_usage")?.unwrap_or(false),
        None => false,
    };
    let reasoning_effort = match opt_str(&obj, "reasoning_effort", "reasoning_effort")? {
        None => None,
        Some(s) => Some(
            ReasoningEffort::parse(&s).ok_or_else(|| invalid_value("reasoning_effort", "must be none, minimal, low, medium or high"))?,
        ),
    };
    let tools = match opt_array(&obj, "tools", "tools")? {
        None => Vec::new(),
        Some(list) => list.iter().enumerate().map(|(i, t)| decode_tool(t, i)).collect::<Result<_, _>>()?,
    };
    let request = ChatRequest {
        model,
        messages,
        tool_choice: decode_tool_choice(opt(&obj, "tool_choice"))?,
        parallel_tool_calls: opt_bool(&obj, "parallel_tool_calls", "parallel_tool_calls")?,
        response_format: decode_response_format(opt_obj(&obj, "response_format", "response_format")?)?,
        tools,
        sampling,
        max_output_tokens,
        max_tokens_field,
        reasoning_effort,
        stream,
        include_usage,
        user: opt_str(&obj, "user", "user")?,
        metadata: decode_metadata(&obj)?,
        dialect: Dialect::OpenAi,
        extra: Map::new(),
        forwarded_headers: Vec::new(),
        raw: None,
    };
    for key in KNOWN {
        obj.remove(*key);
    }
    Ok(ChatRequest { extra: obj, ..request })
}

fn decode_role(s: &str, path: impl FieldPath) -> Result<Role, GatewayError> {
    Ok(match s {
        "system" => Role::System,
        "developer" => Role::Developer,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        _ => return Err(invalid_value(&path.to_string(), "must be system, developer, user, assistant or tool")),
    })
}

fn decode_message(v: &Value, i: usize) -> Result<Message, GatewayError> {
    let path = At("messages", i);
    let m = as_obj(v, path)?;
    let role = decode_role(&req_str(m, "role", Dot(path, "role"))?, Dot(path, "role"))?;
    let content = match opt(m, "content") {
        None => Content::None,
        Some(Value::String(s)) => Content::Text(s.clone()),
        Some(Value::Array(parts)) => {
            Content::Parts(parts.iter().enumerate().map(|(j, p)| decode_part(p, At(Dot(path, "content"), j))).collect::<Result<_, _>>()?)
        }
        Some(_) => return Err(invalid_value(&format!("{path}.content"), "must be a string or an array of content parts")),
    };
    let tool_calls = match opt_array(m, "tool_calls", Dot(path, "tool_calls"))? {
        None => Vec::new(),
        Some(list) => {
            list.iter().enumerate().map(|(j, c)| decode_tool_call(c, At(Dot(path, "tool_calls"), j))).collect::<Result<_, _>>()?
        }
    };
    let tool_call_id = opt_str(m, "tool_call_id", Dot(path, "tool_call_id"))?;
    if role == Role::Tool && tool_call_id.is_none() {
        return Err(missing(&format!("{path}.tool_call_id")));
    }
    if matches!(content, Content::None) && tool_calls.is_empty() && role != Role::Assistant {
        return Err(missing(&format!("{path}.content")));
    }
    Ok(Message {
        role,
        content,
        name: opt_str(m, "name", Dot(path, "name"))?,
        tool_calls,
        tool_call_id,
        refusal: opt_str(m, "refusal", Dot(path, "refusal"))?,
    })
}

fn decode_part(v: &Value, path: impl FieldPath) -> Result<Part, GatewayError> {
    let p = as_obj(v, path)?;
    let kind = req_str(p, "type", Dot(path, "type"))?;
    match kind.as_str() {
        "text" => Ok(Part::Text(req_str(p, "text", Dot(path, "text"))?)),
        "image_url" => {
            let img_path = Dot(path, "image_url");
            let img = opt_obj(p, "image_url", img_path)?.ok_or_else(|| missing(&img_path.to_string()))?;
            let url = req_str(img, "url", Dot(img_path, "url"))?;
            Ok(Part::Image { url, detail: opt_str(img, "detail", Dot(img_path, "detail"))? })
        }
        _ => Ok(Part::Other(v.clone())),
    }
}

fn decode_tool_call(v: &Value, path: impl FieldPath) -> Result<ToolCall, GatewayError> {
    let c = as_obj(v, path)?;
    let f_path = Dot(path, "function");
    let f = opt_obj(c, "function", f_path)?.ok_or_else(|| missing(&f_path.to_string()))?;
    Ok(ToolCall {
        id: req_str(c, "id", Dot(path, "id"))?,
        name: req_str(f, "name", Dot(f_path, "name"))?,
        arguments: opt_str(f, "arguments", Dot(f_path, "arguments"))?.unwrap_or_default(),
    })
}

fn decode_tool(v: &Value, i: usize) -> Result<Tool, GatewayError> {
    let path = At("tools", i);
    let t = as_obj(v, path)?;
    let kind = req_str(t, "type", Dot(path, "type"))?;
    if kind != "function" {
        return Err(invalid_value(&format!("{path}.type"), "only 'function' tools are supported"));
    }
    let f_path = Dot(path, "function");
    let f = opt_obj(t, "function", f_path)?.ok_or_else(|| missing(&f_path.to_string()))?;
    Ok(Tool {
        name: req_str(f, "name", Dot(f_path, "name"))?,
        description: opt_str(f, "description", Dot(f_path, "description"))?,
        parameters: opt(f, "parameters").cloned(),
        strict: opt_bool(f, "strict", Dot(f_path, "strict"))?,
    })
}

fn decode_tool_choice(v: Option<&Value>) -> Result<Option<ToolChoice>, GatewayError> {
    let Some(v) = v else { return Ok(None) };
    match v {
        Value::String(s) => match s.as_str() {
            "none" => Ok(Some(ToolChoice::None)),
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" => Ok(Some(ToolChoice::Required)),
            _ => Err(invalid_value("tool_choice", "must be none, auto, required or a function")),
        },
        Value::Object(o) => {
            let f = opt_obj(o, "function", "tool_choice.function")?.ok_or_else(|| missing("tool_choice.function"))?;
            Ok(Some(ToolChoice::Function(req_str(f, "name", "tool_choice.function.name")?)))
        }
        _ => Err(invalid_value("tool_choice", "must be a string or an object")),
    }
}

fn decode_response_format(o: Option<&Map<String, Value>>) -> Result<Option<ResponseFormat>, GatewayError> {
    let Some(o) = o else { return Ok(None) };
    match req_str(o, "type", "response_format.type")?.as_str() {
        "text" => Ok(Some(ResponseFormat::Text)),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => {
            let s = opt_obj(o, "json_schema", "response_format.json_schema")?.ok_or_else(|| missing("response_format.json_schema"))?;
            Ok(Some(ResponseFormat::JsonSchema {
                name: req_str(s, "name", "response_format.json_schema.name")?,
                schema: opt(s, "schema").cloned(),
                strict: opt_bool(s, "strict", "response_format.json_schema.strict")?,
                description: opt_str(s, "description", "response_format.json_schema.description")?,
            }))
        }
        _ => Err(invalid_value("response_format.type", "must be text, json_object or json_schema")),
    }
}

fn decode_stop(obj: &Map<String, Value>) -> Result<(Vec<String>, bool), GatewayError> {
    match opt(obj, "stop") {
        None => Ok((Vec::new(), false)),
        Some(Value::String(s)) => Ok((vec![s.clone()], true)),
        Some(Value::Array(a)) => {
            let stops = a.iter().enumerate().map(|(i, s)| as_str(s, At("stop", i)).map(str::to_string)).collect::<Result<Vec<_>, _>>()?;
            if stops.len() > 4 {
                return Err(invalid_value("stop", "at most 4 stop sequences"));
            }
            Ok((stops, false))
        }
        Some(_) => Err(invalid_value("stop", "must be a string or an array of strings")),
    }
}

fn decode_logit_bias(obj: &Map<String, Value>) -> Result<crate::core::util::vecmap::VecMap<String, serde_json::Number>, GatewayError> {
    let Some(o) = opt_obj(obj, "logit_bias", "logit_bias")? else { return Ok(Default::default()) };
    o.iter()
        .map(|(k, v)| match v {
            Value::Number(n) if n.as_f64().is_some_and(|x| (-100.0..=100.0).contains(&x)) => Ok((k.clone(), n.clone())),
            _ => Err(invalid_value(&format!("logit_bias.{k}"), "must be a number between -100 and 100")),
        })
        .collect()
}

fn decode_metadata(obj: &Map<String, Value>) -> Result<crate::core::util::vecmap::VecMap<String, String>, GatewayError> {
    let Some(o) = opt_obj(obj, "metadata", "metadata")? else { return Ok(Default::default()) };
    o.iter().map(|(k, v)| as_str(v, &format!("metadata.{k}")).map(|s| (k.clone(), s.to_string()))).collect()
}
