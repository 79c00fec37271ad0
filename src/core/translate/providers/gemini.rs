//! Google's Gemini (Generative Language API) as an upstream.
//!
//! Reference: <https://ai.google.dev/api/generate-content>. Quirks handled: the key goes in
//! the `x-goog-api-key` header, never the URL (URLs get logged); streams use
//! `streamGenerateContent?alt=sse` and have no terminal event, so a stream is complete only
//! if a candidate reported a `finishReason`; assistant turns are role `model`; tool results
//! are `functionResponse` parts that need the function's name (found from the call id) and
//! an object `response`; function calls carry no id, so ids are made from their position, and
//! a call's `thoughtSignature` rides in its id to come back on the next turn (see
//! [`super::gemini_signature`]);
//! JSON Schemas (tool parameters, `responseSchema`) are converted to Gemini's OpenAPI subset
//! (see [`super::gemini_schema`]);
//! `finishReason: STOP` with function calls means tool calls; safety blocks map to
//! `content_filter`; thinking tokens (`thoughtsTokenCount`) bill as output.

use super::gemini_schema::to_gemini;
use super::gemini_signature::{call_id, signature_of};
use super::upstream::{malformed, Cause, ErrorParts, Target, UpstreamRequest};
use crate::core::error::{Code, GatewayError};
use crate::core::translate::wire::gemini as wire;
use crate::core::types::*;
use crate::core::util::json_value::put;
use crate::core::util::vecmap::VecMap;
use crate::json;
use serde_json::{Map, Value};

/// The canonical reason for a Gemini `finishReason`; `has_calls` turns `STOP` into tool calls
/// (Gemini has no reason of its own for them). Unknown values are kept, lowercased.
pub fn finish_from_gemini(reason: &str, has_calls: bool) -> FinishReason {
    match reason {
        "STOP" if has_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" | "LANGUAGE" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_ascii_lowercase()),
    }
}

fn usage_from_wire(u: &wire::UsageMetadata) -> Usage {
    Usage {
        input_tokens: u.prompt_token_count,
        output_tokens: u.candidates_token_count + u.thoughts_token_count,
        cached_input_tokens: u.cached_content_token_count,
        cache_write_tokens: 0,
        reasoning_tokens: u.thoughts_token_count,
        estimated: false,
    }
}

fn image_part(url: &str) -> Value {
    match url.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,")) {
        Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
        None => {
            let ext = url.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            let mime = match ext.as_str() {
                "png" => "image/png",
                "webp" => "image/webp",
                "gif" => "image/gif",
                _ => "image/jpeg",
            };
            json!({"fileData": {"mimeType": mime, "fileUri": url}})
        }
    }
}

fn parts_of(m: &Message) -> Result<Vec<Value>, GatewayError> {
    let mut parts = Vec::new();
    match &m.content {
        Content::None => {}
        Content::Text(t) if t.is_empty() => {}
        Content::Text(t) => parts.push(json!({"text": t})),
        Content::Parts(ps) => {
            for p in ps {
                match p {
                    Part::Text(t) if t.is_empty() => {}
                    Part::Text(t) => parts.push(json!({"text": t})),
                    Part::Image { url, .. } => parts.push(image_part(url)),
                    p if p.is_anthropic_reasoning() => {}
                    Part::Other(v) => {
                        return Err(GatewayError::new(
                            Code::UnsupportedForProvider,
                            format!("Gemini models do not support content parts of type {}", v.get("type").unwrap_or(&Value::Null)),
                        ))
                    }
                }
            }
        }
    }
    Ok(parts)
}

/// Canonical messages as Gemini `contents` plus the system instruction text.
fn encode_contents(req: &ChatRequest) -> Result<(Vec<String>, Vec<Value>), GatewayError> {
    let names: VecMap<&str, &str> = req.messages.iter().flat_map(|m| &m.tool_calls).map(|c| (c.id.as_str(), c.name.as_str())).collect();
    let mut system = Vec::new();
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for m in &req.messages {
        let (role, parts) = match m.role {
            Role::System | Role::Developer => {
                system.push(m.content.text());
                continue;
            }
            Role::User => ("user", parts_of(m)?),
            Role::Assistant => {
                let mut p = parts_of(m)?;
                for c in &m.tool_calls {
                    let args: Value =
                        serde_json::from_slice(c.arguments.as_bytes()).ok().filter(Value::is_object).unwrap_or_else(|| json!({}));
                    let mut part = json!({"functionCall": {"name": c.name, "args": args}});
                    if let Some(sig) = signature_of(&c.id) {
                        part["thoughtSignature"] = sig.into();
                    }
                    p.push(part);
                }
                ("model", p)
            }
            Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or_default();
                let name = names.get(id).copied().unwrap_or(id);
                let text = m.content.text();
                let response = serde_json::from_slice::<Value>(text.as_bytes())
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({"content": text}));
                ("user", vec![json!({"functionResponse": {"name": name, "response": response}})])
            }
        };
        if parts.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(parts),
            _ => turns.push((role, parts)),
        }
    }
    Ok((system, turns.into_iter().map(|(role, parts)| json!({"role": role, "parts": parts})).collect()))
}

fn generation_config(req: &ChatRequest) -> Result<Map<String, Value>, GatewayError> {
    let s = &req.sampling;
    let mut g = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            g.insert(k.into(), v);
        }
    };
    put("temperature", s.temperature.map(Value::from));
    put("topP", s.top_p.map(Value::from));
    put("topK", s.top_k.map(Value::from));
    put("maxOutputTokens", req.max_output_tokens.map(Value::from));
    put("candidateCount", s.n.map(Value::from));
    put("seed", s.seed.map(Value::from));
    put("presencePenalty", s.presence_penalty.map(Value::from));
    put("frequencyPenalty", s.frequency_penalty.map(Value::from));
    put("stopSequences", (!s.stop.is_empty()).then(|| json!(s.stop)));
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => put("responseMimeType", Some("application/json".into())),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            put("responseMimeType", Some("application/json".into()));
            if let Some(schema) = schema {
                put("responseSchema", Some(to_gemini(schema).map_err(|e| e.with_param("response_format"))?));
            }
        }
        _ => {}
    }
    Ok(g)
}

/// The `generateContent` (or, for streams, `streamGenerateContent?alt=sse`) call for `req`,
/// the key in `x-goog-api-key`. Fails (client error) for content parts Gemini cannot take and
/// when no user or assistant message is left once system messages are lifted out.
pub fn build_request(req: &ChatRequest, t: &Target) -> Result<UpstreamRequest, GatewayError> {
    let (system, contents) = encode_contents(req)?;
    if contents.is_empty() {
        return Err(
            GatewayError::new(Code::InvalidValue, "Gemini models need at least one user or assistant message").with_param("messages")
        );
    }
    let mut o = if req.dialect == Dialect::Gemini { req.extra.clone() } else { Map::new() };
    put(&mut o, "contents", Value::Array(contents));
    if !system.is_empty() {
        put(&mut o, "systemInstruction", json!({"parts": [{"text": system.join("\n\n")}]}));
    }
    if !req.tools.is_empty() {
        let mut decls = Vec::new();
        for tool in &req.tools {
            let mut d = json!({"name": tool.name});
            if let Some(desc) = &tool.description {
                d["description"] = desc.as_str().into();
            }
            if let Some(p) = &tool.parameters {
                d["parameters"] = to_gemini(p).map_err(|e| e.with_param("tools"))?;
            }
            decls.push(d);
        }
        put(&mut o, "tools", json!([{"functionDeclarations": decls}]));
    }
    let mode = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({"mode": "AUTO"})),
        Some(ToolChoice::None) => Some(json!({"mode": "NONE"})),
        Some(ToolChoice::Required) => Some(json!({"mode": "ANY"})),
        Some(ToolChoice::Function(name)) => Some(json!({"mode": "ANY", "allowedFunctionNames": [name]})),
    };
    if let Some(m) = mode {
        put(&mut o, "toolConfig", json!({"functionCallingConfig": m}));
    }
    let g = generation_config(req)?;
    if !g.is_empty() {
        put(&mut o, "generationConfig", Value::Object(g));
    }
    let base = t.base_url.trim_end_matches('/');
    let url = if req.stream {
        format!("{base}/v1beta/models/{}:streamGenerateContent?alt=sse", t.model)
    } else {
        format!("{base}/v1beta/models/{}:generateContent", t.model)
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(key) = t.api_key {
        headers.push(("x-goog-api-key".into(), key.to_string()));
    }
    headers.extend(super::upstream::headers_for(req, Dialect::Gemini));
    Ok(UpstreamRequest { url, headers, body: serde_json::to_vec(&o).unwrap_or_default() })
}

/// Text and tool calls of one candidate's parts; ids are made from positions and carry the
/// calls' thought signatures.
fn candidate_parts(c: &wire::Candidate, first_call: usize) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for p in c.content.iter().flat_map(|c| &c.parts) {
        if let (Some(t), None | Some(false)) = (&p.text, p.thought) {
            text.push_str(t);
        }
        if let Some(f) = &p.function_call {
            let n = first_call + calls.len();
            let id = call_id(f.id.as_deref(), || format!("call_{}_{n}", c.index), p.thought_signature.as_deref());
            let args = if f.args.is_null() { "{}".to_string() } else { f.args.to_string() };
            calls.push(ToolCall { id, name: f.name.clone(), arguments: args });
        }
    }
    (text, calls)
}

/// Decode a `GenerateContentResponse`, one choice per candidate; a blocked prompt becomes one
/// `content_filter` choice, and no candidates without a block reason is malformed.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let r: wire::Response = serde_json::from_slice(body).map_err(|_| malformed("response"))?;
    if r.candidates.is_empty() && r.prompt_feedback.as_ref().and_then(|f| f.block_reason.as_ref()).is_none() {
        return Err(malformed("response (no candidates)"));
    }
    let mut choices: Vec<Choice> = r
        .candidates
        .iter()
        .map(|c| {
            let (text, tool_calls) = candidate_parts(c, 0);
            let finish_reason = c.finish_reason.as_deref().map(|f| finish_from_gemini(f, !tool_calls.is_empty()));
            let content = (!text.is_empty() || tool_calls.is_empty()).then_some(text);
            Choice { index: c.index, content, refusal: None, tool_calls, finish_reason }
        })
        .collect();
    if choices.is_empty() {
        // The prompt itself was blocked.
        choices.push(Choice {
            index: 0,
            content: None,
            refusal: None,
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::ContentFilter),
        });
    }
    Ok(ChatResponse {
        id: r.response_id,
        model: r.model_version,
        created: 0,
        choices,
        usage: r.usage_metadata.as_ref().map(usage_from_wire),
    })
}

/// The cause and message of a Gemini error body, from its `status` and `details`.
pub fn error_parts(body: &[u8]) -> ErrorParts {
    let Ok(e) = serde_json::from_slice::<wire::ErrorEnvelope>(body) else { return ErrorParts::default() };
    let retry_after_s = e
        .error
        .details
        .iter()
        .filter(|d| d["@type"].as_str().is_some_and(|t| t.ends_with("google.rpc.RetryInfo")))
        .find_map(|d| retry_delay_s(d["retryDelay"].as_str()?));
    ErrorParts { cause: cause_of(&e.error), message: e.error.message, retry_after_s }
}

/// A `google.protobuf.Duration` in its JSON form (`"43s"`, `"1.5s"`) as whole seconds,
/// rounded up; at most a day. Reference:
/// <https://protobuf.dev/reference/protobuf/google.protobuf/#duration>
fn retry_delay_s(d: &str) -> Option<u64> {
    let (whole, frac) = d.strip_suffix('s')?.split_once('.').unwrap_or((d.strip_suffix('s')?, ""));
    let secs: u64 = whole.parse().ok()?;
    let up = frac.bytes().all(|b| b.is_ascii_digit()).then_some(frac.bytes().any(|b| b != b'0'))?;
    Some((secs + u64::from(up)).min(86_400))
}

/// What a Google API error says beyond its HTTP status. An `ErrorInfo` reason decides first
/// (<https://github.com/googleapis/googleapis/blob/master/google/api/error_reason.proto>):
/// Gemini answers a bad key with 400 `INVALID_ARGUMENT` and reason `API_KEY_INVALID`, which is
/// the gateway's fault, not the caller's. Then the status, per the table at
/// <https://ai.google.dev/gemini-api/docs/troubleshooting>: `PERMISSION_DENIED` (403) is the
/// key's permissions; `FAILED_PRECONDITION` (400) asks for billing to be enabled;
/// `RESOURCE_EXHAUSTED` (429) is a rate limit unless a quota it names is per day (those reset
/// at midnight Pacific time: <https://ai.google.dev/gemini-api/docs/rate-limits>). A prompt
/// over the model's input limit is a 400 `INVALID_ARGUMENT` whose message says "The input
/// token count (N) exceeds the maximum number of tokens allowed (M)". `UNAVAILABLE` (503) is
/// "The service may be temporarily overloaded or down": overloaded.
fn cause_of(e: &wire::ErrorBody) -> Cause {
    let per_day = |v: &serde_json::Value| v.as_str().is_some_and(|q| q.contains("PerDay"));
    let daily = e.details.iter().any(|d| {
        per_day(&d["metadata"]["quota_limit"]) || d["violations"].as_array().is_some_and(|vs| vs.iter().any(|v| per_day(&v["quotaId"])))
    });
    for reason in e.details.iter().filter_map(|d| d["reason"].as_str()) {
        match reason {
            r if r.starts_with("API_KEY_") => return Cause::Credentials,
            "SERVICE_DISABLED" | "ACCESS_TOKEN_EXPIRED" | "CONSUMER_INVALID" | "CONSUMER_SUSPENDED" | "USER_PROJECT_DENIED" => {
                return Cause::Credentials
            }
            "BILLING_DISABLED" | "RESOURCE_QUOTA_EXCEEDED" => return Cause::Quota,
            "RATE_LIMIT_EXCEEDED" if daily => return Cause::Quota,
            "RATE_LIMIT_EXCEEDED" => return Cause::RateLimit,
            _ => {}
        }
    }
    if e.message.contains("exceeds the maximum number of tokens") {
        return Cause::ContextLength;
    }
    match e.status.as_str() {
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => Cause::Credentials,
        "FAILED_PRECONDITION" => Cause::Quota,
        "RESOURCE_EXHAUSTED" if daily => Cause::Quota,
        "RESOURCE_EXHAUSTED" => Cause::RateLimit,
        "UNAVAILABLE" => Cause::Overloaded,
        _ => Cause::Unstated,
    }
}

/// Gemini's SSE stream (`alt=sse`, one `GenerateContentResponse` per event) to canonical events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    finished: bool,
    usage: Option<wire::UsageMetadata>,
    /// Tool calls seen so far per candidate.
    calls: VecMap<u32, usize>,
}

impl StreamDecoder {
    /// The stream ended: it is complete only if a candidate finished.
    pub(super) fn end(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if self.finished {
            if let Some(u) = self.usage.take() {
                out.push(StreamEvent::Usage(usage_from_wire(&u)));
            }
            out.push(StreamEvent::Done);
        }
        out
    }

    pub(super) fn decode(&mut self, events: Vec<crate::core::util::sse::SseEvent>) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        for ev in events {
            if let Ok(err) = serde_json::from_slice::<wire::ErrorEnvelope>(ev.data.as_bytes()) {
                if !err.error.message.is_empty() {
                    out.push(StreamEvent::Error { message: format!("{}: {}", err.error.status, err.error.message) });
                    continue;
                }
            }
            let r: wire::Response = serde_json::from_slice(ev.data.as_bytes()).map_err(|_| malformed("stream chunk"))?;
            self.chunk(r, &mut out);
        }
        Ok(out)
    }

    fn chunk(&mut self, r: wire::Response, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start { id: r.response_id.clone(), model: r.model_version.clone(), created: 0 });
        }
        if r.usage_metadata.is_some() {
            self.usage = r.usage_metadata;
        }
        if r.candidates.is_empty() && r.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some()) {
            self.finished = true;
            out.push(StreamEvent::Finish { index: 0, reason: FinishReason::ContentFilter });
        }
        for c in &r.candidates {
            let seen = self.calls.get_or_insert_with(c.index, usize::default);
            let (text, calls) = candidate_parts(c, *seen);
            if !text.is_empty() {
                out.push(StreamEvent::TextDelta { index: c.index, text });
            }
            for call in calls {
                out.push(StreamEvent::ToolCallDelta {
                    index: c.index,
                    call_index: *seen as u32,
                    id: Some(call.id),
                    name: Some(call.name),
                    arguments: call.arguments,
                });
                *seen += 1;
            }
            if let Some(f) = &c.finish_reason {
                self.finished = true;
                out.push(StreamEvent::Finish { index: c.index, reason: finish_from_gemini(f, *seen > 0) });
            }
        }
    }
}

#[cfg(test)]
#[path = "gemini_tests.rs"]
pub(crate) mod tests;
