//! The cache key: SHA-256 of a versioned, canonical serialisation of the request and its
//! scope, built by destructuring the canonical types exhaustively (the invariants it keeps
//! are listed in [`super`]); and the prefix hash that buckets similar prompts.

use crate::core::types::*;
use crate::core::util::secret::sha256_hex;
use crate::json;
use serde_json::{Map, Value};

/// Version of the key's canonical form; bump it when the form changes.
const KEY_VERSION: &str = "switchyard-cache-key-v1";
/// Domain tag of [`prefix_hash`], so it can never equal a cache key.
const PREFIX_VERSION: &str = "switchyard-cache-prefix-v1";

/// What a key is scoped by, beside the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyScope<'a> {
    /// The caller's tenant: tenants never share entries.
    pub tenant: &'a str,
    /// The public model the request resolved to.
    pub public_model: &'a str,
    /// The resolved route's targets, from [`route_fingerprint`].
    pub route: &'a str,
}

/// A route's targets in order, as a string no other target list gives.
pub fn route_fingerprint<'a>(targets: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let pairs: Vec<[&str; 2]> = targets.into_iter().map(|(provider, model)| [provider, model]).collect();
    serde_json::to_string(&pairs).unwrap_or_default()
}

/// The cache key of `req` in `scope`: SHA-256 hex of its versioned canonical form.
pub fn cache_key(scope: &KeyScope, req: &ChatRequest) -> String {
    hash(KEY_VERSION, &canonical_request(scope, req, None))
}

fn hash(tag: &str, v: &Value) -> String {
    let mut text = format!("{tag}\n");
    write_canonical(v, &mut text);
    sha256_hex(text.as_bytes())
}

/// Compact JSON with object keys sorted at every depth; scalars as serde_json writes them.
/// serde_json's `Map` is a `BTreeMap` (its `preserve_order` feature is off; a test checks), so
/// its keys come sorted.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, value)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The canonical form; `elide` names a message whose content is replaced by a marker.
fn canonical_request(scope: &KeyScope, req: &ChatRequest, elide: Option<usize>) -> Value {
    let KeyScope { tenant, public_model, route } = scope;
    let ChatRequest {
        model: _, // the scope's public model stands for it
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format,
        sampling,
        max_output_tokens,
        max_tokens_field: _, // spelling only (provider quirks rename it where needed); the cap is keyed
        reasoning_effort,
        stream: _,        // one entry replays as a stream or as one body
        include_usage: _, // usage is stored, and sent or not at replay
        user: _,          // an end-user id for the upstream's abuse monitoring: no effect on the answer
        metadata: _,      // the caller's bookkeeping: no effect on the answer
        dialect,          // keyed only when the request carries dialect-specific data, see below
        extra,
        forwarded_headers, // beta flags change the answer; keyed only when present, see below
        raw,               // block-level fields only an Anthropic upstream sees: keyed for an Anthropic caller (see below)
    } = req;
    let mut v = json!({
        "scope": {"tenant": tenant, "public_model": public_model, "route": route},
        "messages": messages.iter().enumerate().map(|(i, m)| message_value(m, elide == Some(i))).collect::<Vec<_>>(),
        "tools": tools.iter().map(tool_value).collect::<Vec<_>>(),
        "tool_choice": tool_choice.as_ref().map(tool_choice_value),
        "parallel_tool_calls": parallel_tool_calls,
        "response_format": response_format.as_ref().map(response_format_value),
        "sampling": sampling_value(sampling),
        "max_output_tokens": max_output_tokens,
        "reasoning_effort": reasoning_effort.map(ReasoningEffort::as_str),
        "dialect": dialect_specific(req).then(|| dialect_name(*dialect)),
        "extra": extra,
    });
    // Absent rather than empty, so keys of requests without them stay as they were.
    if !forwarded_headers.is_empty() {
        v["forwarded_headers"] = json!(forwarded_headers);
    }
    // A Responses caller's own object reaches only a Responses upstream, whose answers are not
    // stored (the canonical fields hold everything any other upstream is sent).
    if let (Dialect::Anthropic, Some(raw)) = (dialect, raw) {
        v["raw"] = raw_value(raw, elide.is_some());
    }
    v
}

/// An Anthropic caller's own request object, which an Anthropic upstream receives nearly as
/// is: `cache_control`, `is_error`, images in tool results, citations and signatures all
/// change what the upstream is asked, so they are keyed. Left out like their canonical
/// counterparts: `model` (the scope's public model stands for it), `stream` (one entry replays
/// either way) and `metadata` (an end-user id: no effect on the answer). With `elide`, the last
/// user message's content is replaced by the marker, as in the canonical messages.
fn raw_value(raw: &Map<String, Value>, elide: bool) -> Value {
    let mut o = raw.clone();
    for field in ["model", "stream", "metadata"] {
        o.remove(field);
    }
    if let (true, Some(Value::Array(messages))) = (elide, o.get_mut("messages")) {
        if let Some(last) = messages.iter_mut().rev().find(|m| m["role"] == "user") {
            last["content"] = json!({"elided": true});
        }
    }
    Value::Object(o)
}

/// Whether the upstream request depends on the caller's dialect. Upstream encoders read
/// `dialect` only to pass `extra` and verbatim `Part::Other` blocks to a same-format upstream;
/// without those, one canonical request makes one upstream request whatever the caller spoke.
fn dialect_specific(req: &ChatRequest) -> bool {
    let other_part = |m: &Message| matches!(&m.content, Content::Parts(ps) if ps.iter().any(|p| matches!(p, Part::Other(_))));
    !req.extra.is_empty() || req.messages.iter().any(other_part)
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::OpenAi => "openai",
        Dialect::Completions => "completions",
        Dialect::Responses => "responses",
        Dialect::Anthropic => "anthropic",
        Dialect::Gemini => "gemini",
    }
}

fn message_value(m: &Message, elide: bool) -> Value {
    let Message { role, content, name, tool_calls, tool_call_id, refusal } = m;
    // Content is null, a string or an array, so the elision marker (an object) is distinct.
    let content = if elide { json!({"elided": true}) } else { content_value(content) };
    json!({
        "role": role.as_str(), "content": content, "name": name,
        "tool_calls": tool_calls.iter().map(call_value).collect::<Vec<_>>(),
        "tool_call_id": tool_call_id, "refusal": refusal,
    })
}

/// A bare string and a list of parts stay apart (upstreams receive them differently).
fn content_value(c: &Content) -> Value {
    match c {
        Content::None => Value::Null,
        Content::Text(t) => Value::from(t.as_str()),
        Content::Parts(parts) => parts.iter().map(part_value).collect(),
    }
}

/// Each kind has its own key set, so no two kinds serialise alike.
fn part_value(p: &Part) -> Value {
    match p {
        Part::Text(t) => json!({"text": t}),
        Part::Image { url, detail } => json!({"image": url, "detail": detail}),
        Part::Other(v) => json!({"other": v}),
    }
}

fn call_value(c: &ToolCall) -> Value {
    let ToolCall { id, name, arguments } = c;
    json!({"id": id, "name": name, "arguments": arguments})
}

fn tool_value(t: &Tool) -> Value {
    let Tool { name, description, parameters, strict } = t;
    json!({"name": name, "description": description, "parameters": parameters, "strict": strict})
}

fn tool_choice_value(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::None => json!("none"),
        ToolChoice::Auto => json!("auto"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"function": name}),
    }
}

fn response_format_value(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!("text"),
        ResponseFormat::JsonObject => json!("json_object"),
        ResponseFormat::JsonSchema { name, schema, strict, description } => {
            json!({"json_schema": {"name": name, "schema": schema, "strict": strict, "description": description}})
        }
    }
}

fn sampling_value(s: &Sampling) -> Value {
    let Sampling {
        temperature,
        top_p,
        top_k,
        presence_penalty,
        frequency_penalty,
        seed,
        stop,
        stop_was_string: _, // a bare string and a one-element list are the same stop sequence
        logit_bias,
        n,
    } = s;
    let mut bias = Map::new();
    for (token, b) in logit_bias {
        bias.insert(token.clone(), b.as_f64().map(float).into());
    }
    json!({
        "temperature": temperature.map(float), "top_p": top_p.map(float), "top_k": top_k,
        "presence_penalty": presence_penalty.map(float), "frequency_penalty": frequency_penalty.map(float),
        "seed": seed, "stop": stop, "logit_bias": bias,
        "n": n.unwrap_or(1), // absent means one choice
    })
}

/// A sampling number by value: `-0.0` is `0.0`, and `0` and `0.0` already decode alike.
fn float(x: f64) -> Value {
    Value::from(if x == 0.0 { 0.0 } else { x })
}

/// A hash of a run of messages alone (its tag versions and separates the uses): equal runs
/// hash alike whatever request they came in.
pub fn messages_hash(tag: &str, messages: &[Message]) -> String {
    hash(tag, &Value::Array(messages.iter().map(|m| message_value(m, false)).collect()))
}

// ---- similar prompts ----

/// The last user message's position, when there is one.
pub(super) fn last_user(req: &ChatRequest) -> Option<usize> {
    req.messages.iter().rposition(|m| m.role == Role::User)
}

/// A hash of everything in the key except the last user message's content: requests that
/// differ only there share it (the bucket for a similar-prompt lookup).
pub fn prefix_hash(scope: &KeyScope, req: &ChatRequest) -> String {
    hash(PREFIX_VERSION, &canonical_request(scope, req, last_user(req)))
}
