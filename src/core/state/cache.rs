//! The response cache's pure core: the key, the policy, the stored entry, its replay in the
//! caller's dialect, and helpers for similar-prompt lookup. The edge reads and writes KV; every
//! decision about what may be stored and what may be served is made here.
//!
//! Invariants:
//! - Never a wrong answer. The key covers every [`ChatRequest`] field that can change the
//!   answer. It is built by destructuring the canonical types exhaustively, so a new field is a
//!   compile error until it is decided here; fields left out say why. When in doubt a field is
//!   kept: a needless miss costs one upstream call, a false hit serves another prompt's answer.
//! - Keys are scoped by tenant (tenants never share entries), public model and resolved route
//!   (a changed route never serves the old route's answers).
//! - The key hashes a versioned canonical serialisation: compact JSON with object keys sorted
//!   at every depth, whatever serde_json's map order, so the caller's key order and whitespace do
//!   not matter. Every field is always present and strings are JSON-escaped, so two different
//!   requests never serialise alike. Sampling floats are compared as values (`0`, `0.0` and
//!   `-0.0` are one); numbers inside opaque JSON (schemas, pass-through fields) keep their text.
//! - Only complete answers are stored and replayed ([`storable`]): no refusal, no content
//!   filter, no truncation, no empty or unknown finish.
//! - An unreadable entry (another format version, a corrupt value) is a miss, never an error.
//!
//! Request `Cache-Control` directives follow RFC 9111 §5.2.1
//! (<https://www.rfc-editor.org/rfc/rfc9111#section-5.2.1>).

use crate::core::config::RoutePolicy;
use crate::core::translate::dialect::{self, StreamEncoder};
use crate::core::types::*;
use crate::core::util::secret::sha256_hex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Version of the key's canonical form; bump it when the form changes.
const KEY_VERSION: &str = "switchyard-cache-key-v1";
/// Domain tag of [`prefix_hash`], so it can never equal a cache key.
const PREFIX_VERSION: &str = "switchyard-cache-prefix-v1";
/// Version of the stored entry's JSON.
const ENTRY_VERSION: u32 = 1;
/// KV's smallest `expirationTtl`: every TTL is at least this.
pub const MIN_TTL_S: u32 = 60;
/// The header that turns caching on or off for one request.
pub const SWITCH_HEADER: &str = "x-switchyard-cache";

// ---- the key ----

/// What a key is scoped by, beside the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyScope<'a> {
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
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
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
    } = req;
    json!({
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
    })
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
    let bias: Map<String, Value> = logit_bias.iter().map(|(token, b)| (token.clone(), b.as_f64().map(float).into())).collect();
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

// ---- policy ----

/// The caller's cache wishes, from its request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheControl {
    /// `x-switchyard-cache: on` (`Some(true)`) or `off` (`Some(false)`); other values are ignored.
    pub switch: Option<bool>,
    /// `Cache-Control: no-cache` or `max-age=0`: do not answer from the cache.
    pub no_cache: bool,
    /// `Cache-Control: no-store`: do not store this answer.
    pub no_store: bool,
    /// `Cache-Control: max-age=N`, N > 0: opt in, store for N seconds, accept entries at most N s old.
    pub max_age_s: Option<u32>,
}

impl CacheControl {
    /// Read every `x-switchyard-cache` and `Cache-Control` header (names case-insensitive).
    pub fn from_headers(headers: &[(String, String)]) -> CacheControl {
        let mut c = CacheControl::default();
        for (name, value) in headers {
            if name.eq_ignore_ascii_case(SWITCH_HEADER) {
                c.switch = match value.trim().to_ascii_lowercase().as_str() {
                    "on" => Some(true),
                    "off" => Some(false),
                    _ => c.switch,
                };
            } else if name.eq_ignore_ascii_case("cache-control") {
                value.split(',').for_each(|d| c.directive(d));
            }
        }
        c
    }

    fn directive(&mut self, d: &str) {
        let (name, arg) = d.split_once('=').unwrap_or((d, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-cache" => self.no_cache = true,
            "no-store" => self.no_store = true,
            "max-age" => match delta_seconds(arg) {
                Some(0) => self.no_cache = true,
                Some(n) => self.max_age_s = Some(n),
                None => {}
            },
            _ => {}
        }
    }
}

/// RFC 9111 delta-seconds, quoted or not; a value too large counts as 2^31.
fn delta_seconds(arg: &str) -> Option<u32> {
    let digits = arg.trim().trim_matches('"');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u32>().map_or(1 << 31, |n| n.min(1 << 31)))
}

/// Whether to read and write the cache for one request, and for how long to keep the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub read: bool,
    pub write: bool,
    pub ttl_s: u32,
    pub max_stale_s: u32,
    /// The oldest entry the caller accepts, when it sent `max-age`.
    pub max_age_s: Option<u32>,
    /// Short stable code: why the cache is used or bypassed.
    pub reason: &'static str,
}

/// Neither read nor write.
pub const BYPASS: Decision = Decision { read: false, write: false, ttl_s: 0, max_stale_s: 0, max_age_s: None, reason: "not_cacheable" };

impl Decision {
    /// Freshness of `entry` for this caller: past the caller's `max-age` it is stale at best.
    pub fn judge(&self, entry: &Entry, now_ms: u64) -> Freshness {
        // Older than the caller accepts: never a hit, but (like `stale-if-error`, RFC 5861)
        // still an answer when every target fails, if the route keeps stale entries.
        match fresh(entry, now_ms, self.max_stale_s) {
            Freshness::Fresh { age_s } if self.max_age_s.is_some_and(|m| age_s > m) && self.max_stale_s > 0 => Freshness::Stale { age_s },
            Freshness::Fresh { age_s } if self.max_age_s.is_some_and(|m| age_s > m) => Freshness::Expired,
            f => f,
        }
    }

    /// KV `expirationTtl` for the write: the TTL plus the stale window.
    pub fn kv_ttl_s(&self) -> u32 {
        self.ttl_s.saturating_add(self.max_stale_s).max(MIN_TTL_S)
    }
}

/// Sampling that gives the same answer again: temperature 0, or a fixed seed.
fn deterministic(s: &Sampling) -> bool {
    s.temperature == Some(0.0) || s.seed.is_some()
}

/// Decide the cache's part in one request. `x-switchyard-cache: off` always wins; otherwise the
/// request is cached when the caller opts in, the route enables caching, or sampling is
/// deterministic. `no-cache` and `no-store` then switch off reading and writing.
pub fn decide(req: &ChatRequest, control: &CacheControl, route: &RoutePolicy) -> Decision {
    if control.switch == Some(false) {
        return Decision { reason: "client_off", ..BYPASS };
    }
    let reason = if control.switch == Some(true) || control.max_age_s.is_some() {
        "client_opt_in"
    } else if route.enabled {
        "route_enabled"
    } else if deterministic(&req.sampling) {
        "deterministic"
    } else {
        return BYPASS;
    };
    if control.no_cache && control.no_store {
        return Decision { reason: "client_no_cache_no_store", ..BYPASS };
    }
    Decision {
        read: !control.no_cache,
        write: !control.no_store,
        ttl_s: control.max_age_s.unwrap_or(route.ttl_s).max(MIN_TTL_S),
        max_stale_s: route.max_stale_s,
        max_age_s: control.max_age_s,
        reason,
    }
}

// ---- the entry ----

/// A stored answer, with what the hit's headers and analytics need.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub response: ChatResponse,
    pub created_ms: u64,
    pub ttl_s: u32,
    pub provider: String,
    pub upstream_model: String,
    /// What the answer cost when it was made (a hit costs nothing).
    pub cost_nano_usd: u64,
}

/// How old an entry is against its TTL and a stale window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Fresh {
        age_s: u32,
    },
    /// Past its TTL, within the stale window: fit as a fallback when no upstream answers.
    Stale {
        age_s: u32,
    },
    Expired,
}

/// Freshness of `entry` at `now_ms`. A creation time in the future (clock skew) counts as age 0.
pub fn fresh(entry: &Entry, now_ms: u64, max_stale_s: u32) -> Freshness {
    let age_ms = now_ms.saturating_sub(entry.created_ms);
    let age_s = u32::try_from(age_ms / 1000).unwrap_or(u32::MAX);
    let ttl_ms = u64::from(entry.ttl_s) * 1000;
    if age_ms < ttl_ms {
        Freshness::Fresh { age_s }
    } else if age_ms < ttl_ms + u64::from(max_stale_s) * 1000 {
        Freshness::Stale { age_s }
    } else {
        Freshness::Expired
    }
}

/// Whether an answer is complete enough to store: every choice, in index order, ends in `stop`
/// with text or tool calls, or in `tool_calls` with named calls, and carries no refusal.
/// Missing or estimated usage is fine.
pub fn storable(resp: &ChatResponse) -> bool {
    !resp.choices.is_empty() && resp.choices.iter().enumerate().all(|(i, c)| complete(i, c))
}

fn complete(position: usize, c: &Choice) -> bool {
    let Choice { index, content, refusal, tool_calls, finish_reason } = c;
    let has_text = content.as_deref().is_some_and(|t| !t.is_empty());
    let calls_named = tool_calls.iter().all(|t| !t.name.is_empty());
    let finished = match finish_reason {
        Some(FinishReason::Stop) => has_text || !tool_calls.is_empty(),
        Some(FinishReason::ToolCalls) => !tool_calls.is_empty(),
        _ => false,
    };
    *index as usize == position && refusal.is_none() && calls_named && finished
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryWire {
    v: u32,
    created_ms: u64,
    ttl_s: u32,
    provider: String,
    upstream_model: String,
    cost_nano_usd: u64,
    id: String,
    model: String,
    created: u64,
    choices: Vec<ChoiceWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageWire>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoiceWire {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<String>,
    tool_calls: Vec<[String; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageWire {
    input: u64,
    output: u64,
    cached_input: u64,
    cache_write: u64,
    reasoning: u64,
    estimated: bool,
}

impl Entry {
    /// Compact JSON for KV.
    pub fn to_json(&self) -> String {
        let Entry { response, created_ms, ttl_s, provider, upstream_model, cost_nano_usd } = self;
        let ChatResponse { id, model, created, choices, usage } = response;
        let wire = EntryWire {
            v: ENTRY_VERSION,
            created_ms: *created_ms,
            ttl_s: *ttl_s,
            provider: provider.clone(),
            upstream_model: upstream_model.clone(),
            cost_nano_usd: *cost_nano_usd,
            id: id.clone(),
            model: model.clone(),
            created: *created,
            choices: choices.iter().map(choice_to_wire).collect(),
            usage: usage.as_ref().map(usage_to_wire),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// An entry from KV; `None` (a miss) for anything not written by this version.
    pub fn from_json(text: &str) -> Option<Entry> {
        let w: EntryWire = serde_json::from_slice(text.as_bytes()).ok().filter(|w: &EntryWire| w.v == ENTRY_VERSION)?;
        let response = ChatResponse {
            id: w.id,
            model: w.model,
            created: w.created,
            choices: w.choices.into_iter().map(choice_from_wire).collect(),
            usage: w.usage.map(usage_from_wire),
        };
        let (provider, upstream_model) = (w.provider, w.upstream_model);
        Some(Entry { response, created_ms: w.created_ms, ttl_s: w.ttl_s, provider, upstream_model, cost_nano_usd: w.cost_nano_usd })
    }
}

fn choice_to_wire(c: &Choice) -> ChoiceWire {
    let Choice { index, content, refusal, tool_calls, finish_reason } = c;
    ChoiceWire {
        index: *index,
        content: content.clone(),
        refusal: refusal.clone(),
        tool_calls: tool_calls.iter().map(|ToolCall { id, name, arguments }| [id.clone(), name.clone(), arguments.clone()]).collect(),
        finish_reason: finish_reason.as_ref().map(|f| f.as_str().to_string()),
    }
}

fn choice_from_wire(c: ChoiceWire) -> Choice {
    Choice {
        index: c.index,
        content: c.content,
        refusal: c.refusal,
        tool_calls: c.tool_calls.into_iter().map(|[id, name, arguments]| ToolCall { id, name, arguments }).collect(),
        finish_reason: c.finish_reason.as_deref().map(FinishReason::parse),
    }
}

fn usage_to_wire(u: &Usage) -> UsageWire {
    let Usage { input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, estimated } = *u;
    UsageWire {
        input: input_tokens,
        output: output_tokens,
        cached_input: cached_input_tokens,
        cache_write: cache_write_tokens,
        reasoning: reasoning_tokens,
        estimated,
    }
}

fn usage_from_wire(u: UsageWire) -> Usage {
    Usage {
        input_tokens: u.input,
        output_tokens: u.output,
        cached_input_tokens: u.cached_input,
        cache_write_tokens: u.cache_write,
        reasoning_tokens: u.reasoning,
        estimated: u.estimated,
    }
}

// ---- replay ----

/// The reply body for a hit, in `dialect`: one JSON body, or with `stream` a complete SSE
/// stream through the dialect's own stream encoder. `None` for an entry [`storable`] rejects.
pub fn replay(entry: &Entry, dialect: Dialect, stream: bool, include_usage: bool) -> Option<Vec<u8>> {
    if !storable(&entry.response) {
        return None;
    }
    if !stream {
        return Some(dialect::encode_response(dialect, &entry.response));
    }
    let mut encoder = StreamEncoder::new(dialect, include_usage);
    Some(stream_events(&entry.response).iter().flat_map(|ev| encoder.push(ev)).collect())
}

/// A complete answer as the canonical events of a clean stream: each choice's text in one
/// delta, each tool call in one delta, its finish; then usage (when known) and the end.
pub fn stream_events(r: &ChatResponse) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start { id: r.id.clone(), model: r.model.clone(), created: r.created }];
    for c in &r.choices {
        if let Some(text) = c.content.as_ref().filter(|t| !t.is_empty()) {
            events.push(StreamEvent::TextDelta { index: c.index, text: text.clone() });
        }
        events.extend(c.tool_calls.iter().enumerate().map(|(i, t)| StreamEvent::ToolCallDelta {
            index: c.index,
            call_index: i as u32,
            id: Some(t.id.clone()),
            name: Some(t.name.clone()),
            arguments: t.arguments.clone(),
        }));
        if let Some(reason) = &c.finish_reason {
            events.push(StreamEvent::Finish { index: c.index, reason: reason.clone() });
        }
    }
    events.extend(r.usage.map(StreamEvent::Usage));
    events.push(StreamEvent::Done);
    events
}

// ---- similar prompts ----

/// The last user message's position, when there is one.
fn last_user(req: &ChatRequest) -> Option<usize> {
    req.messages.iter().rposition(|m| m.role == Role::User)
}

/// A hash of everything in the key except the last user message's content: requests that
/// differ only there share it (the bucket for a similar-prompt lookup).
pub fn prefix_hash(scope: &KeyScope, req: &ChatRequest) -> String {
    hash(PREFIX_VERSION, &canonical_request(scope, req, last_user(req)))
}

/// The last user message's text, when its content is text only and not blank. Content with
/// images or other parts gives `None`: text alone cannot tell such prompts apart.
pub fn last_user_text(req: &ChatRequest) -> Option<String> {
    let content = &req.messages[last_user(req)?].content;
    let text_only = match content {
        Content::None => false,
        Content::Text(_) => true,
        Content::Parts(parts) => parts.iter().all(|p| matches!(p, Part::Text(_))),
    };
    let text = content.text();
    (text_only && !text.trim().is_empty()).then_some(text)
}

/// Cosine similarity of two embeddings; 0 for different lengths, a zero vector or non-finite input.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b).map(|(x, y)| (f64::from(*x), f64::from(*y))) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let c = dot / (na.sqrt() * nb.sqrt());
    if c.is_finite() {
        c.clamp(-1.0, 1.0) as f32
    } else {
        0.0
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
