//! OpenAI Chat Completions as spoken by callers: request JSON to [`ChatRequest`], and
//! canonical responses, stream events and errors back to OpenAI's JSON and SSE frames.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat/create> and
//! <https://platform.openai.com/docs/api-reference/chat-streaming>.
//! Quirks handled: `content` as string or parts; `stop` as string or array; `max_tokens` vs
//! `max_completion_tokens` (kept as sent); the deprecated `functions`/`function_call` are left
//! in `extra` and passed through; fields the gateway does not model pass through untouched.

use super::fields::*;
use crate::core::error::GatewayError;
use crate::core::types::*;
use serde_json::{json, Map, Value};

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
        Some(s) => {
            Some(ReasoningEffort::parse(&s).ok_or_else(|| invalid_value("reasoning_effort", "must be minimal, low, medium or high"))?)
        }
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

// ---- canonical → OpenAI JSON (also what OpenAI-family upstreams receive) ----

/// Encode a canonical request as an OpenAI request for `upstream_model`, with `extra` merged in.
pub fn encode_request(r: &ChatRequest, upstream_model: &str) -> Map<String, Value> {
    let mut o = if r.dialect == Dialect::OpenAi { r.extra.clone() } else { Map::new() };
    o.insert("model".into(), upstream_model.into());
    o.insert("messages".into(), r.messages.iter().map(encode_message).collect());
    if !r.tools.is_empty() {
        o.insert("tools".into(), r.tools.iter().map(encode_tool).collect());
    }
    if let Some(tc) = &r.tool_choice {
        o.insert("tool_choice".into(), encode_tool_choice(tc));
    }
    put(&mut o, "parallel_tool_calls", r.parallel_tool_calls.map(Value::from));
    if let Some(rf) = &r.response_format {
        o.insert("response_format".into(), encode_response_format(rf));
    }
    let s = &r.sampling;
    put(&mut o, "temperature", s.temperature.map(Value::from));
    put(&mut o, "top_p", s.top_p.map(Value::from));
    put(&mut o, "presence_penalty", s.presence_penalty.map(Value::from));
    put(&mut o, "frequency_penalty", s.frequency_penalty.map(Value::from));
    put(&mut o, "seed", s.seed.map(Value::from));
    put(&mut o, "n", s.n.map(Value::from));
    if !s.stop.is_empty() {
        let stop = if s.stop_was_string && s.stop.len() == 1 { json!(s.stop[0]) } else { json!(s.stop) };
        o.insert("stop".into(), stop);
    }
    if !s.logit_bias.is_empty() {
        o.insert("logit_bias".into(), json!(s.logit_bias));
    }
    let max_key = match r.max_tokens_field {
        MaxTokensField::MaxTokens => "max_tokens",
        MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
    };
    put(&mut o, max_key, r.max_output_tokens.map(Value::from));
    put(&mut o, "reasoning_effort", r.reasoning_effort.map(|e| Value::from(e.as_str())));
    if r.stream {
        o.insert("stream".into(), Value::Bool(true));
        if r.include_usage {
            o.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    put(&mut o, "user", r.user.clone().map(Value::from));
    if !r.metadata.is_empty() {
        o.insert("metadata".into(), json!(r.metadata));
    }
    o
}

fn put(o: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        o.insert(key.into(), v);
    }
}

fn encode_message(m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("role".into(), m.role.as_str().into());
    let content = match &m.content {
        Content::None => Value::Null,
        Content::Text(t) => Value::String(t.clone()),
        Content::Parts(parts) => parts.iter().map(encode_part).collect(),
    };
    if !content.is_null() || m.role == Role::Assistant {
        o.insert("content".into(), content);
    }
    put(&mut o, "name", m.name.clone().map(Value::from));
    if !m.tool_calls.is_empty() {
        o.insert("tool_calls".into(), m.tool_calls.iter().map(encode_tool_call).collect());
    }
    put(&mut o, "tool_call_id", m.tool_call_id.clone().map(Value::from));
    put(&mut o, "refusal", m.refusal.clone().map(Value::from));
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

pub fn encode_tool_call(c: &ToolCall) -> Value {
    json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
}

fn encode_tool(t: &Tool) -> Value {
    let mut f = Map::new();
    f.insert("name".into(), t.name.clone().into());
    put(&mut f, "description", t.description.clone().map(Value::from));
    put(&mut f, "parameters", t.parameters.clone());
    put(&mut f, "strict", t.strict.map(Value::from));
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
            s.insert("name".into(), name.clone().into());
            put(&mut s, "schema", schema.clone());
            put(&mut s, "strict", strict.map(Value::from));
            put(&mut s, "description", description.clone().map(Value::from));
            json!({"type": "json_schema", "json_schema": s})
        }
    }
}

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

#[cfg(test)]
#[path = "openai_tests.rs"]
pub(crate) mod tests;
