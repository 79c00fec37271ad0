//! The provider conformance suite: one test per fixture file under `tests/fixtures/<vendor>/`
//! (its README gives the format and each vendor's reference). A fixture's upstream reply goes
//! through a real [`Exchange`] for an OpenAI caller and for an Anthropic caller; what the
//! caller receives is read back with that caller API's own decoder and compared with the
//! fixture's `expect`, and the usage the exchange bills with `expect.usage`. A streamed reply
//! must give the same caller bytes however its upstream bytes are split (errors included), and
//! the upstream decoder the same events. A fixture file without a test here fails
//! `every_fixture_file_has_a_test`; the e2e mock upstream serves the same files.

use super::*;
use crate::core::translate::providers::{assert_split_invariant, StreamDecoder};
use serde_json::{json, Value};

/// One test per fixture, `vendor: [case, ...]`, each reading `tests/fixtures/vendor/case.json`
/// at compile time, and [`LISTED`], the list of them all.
macro_rules! conformance {
    ($($vendor:ident: [$($case:ident),* $(,)?];)*) => {
        $(mod $vendor {
            $(#[test]
            fn $case() {
                super::check(
                    concat!(stringify!($vendor), "/", stringify!($case)),
                    include_str!(concat!("../../../tests/fixtures/", stringify!($vendor), "/", stringify!($case), ".json")),
                );
            })*
        })*
        /// Every fixture with a test, as `vendor/case`.
        const LISTED: &[&str] = &[$($(concat!(stringify!($vendor), "/", stringify!($case)),)*)*];
    };
}

conformance! {
    openai: [
        text, tool_calls_parallel, usage_cache_reasoning, stream_text, stream_tool_calls, stream_error,
        error_auth_401, error_forbidden_403, error_rate_limit_429, error_insufficient_quota_429,
        error_context_length_400, error_invalid_request_400, error_server_500, error_overloaded_503,
        deepseek_reasoning, groq_usage, stream_finish_reason_empty,
    ];
    anthropic: [
        text, tool_calls_parallel, usage_cache, stream_text, stream_tool_calls, stream_error,
        error_auth_401, error_permission_403, error_billing_402, error_rate_limit_429,
        error_context_length_400, error_invalid_request_400, error_api_500, error_overloaded_529, max_tokens,
    ];
    gemini: [
        text, tool_calls_parallel, usage_cache, stream_text, stream_tool_calls, stream_error,
        safety_finish, prompt_blocked, stream_safety,
        error_api_key_invalid_400, error_permission_403, error_rate_limit_429, error_quota_daily_429,
        error_billing_400, error_context_length_400, error_invalid_argument_400, error_internal_500,
        error_unavailable_503, max_tokens,
    ];
}

/// Each caller API and the `expect` key it is checked against (a Responses caller sees what an
/// OpenAI one does, in its own shapes).
const CALLERS: [(Dialect, &str); 3] = [(Dialect::OpenAi, "openai"), (Dialect::Anthropic, "anthropic"), (Dialect::Responses, "openai")];

/// Check one fixture, `name` being `vendor/case`, against every caller API.
fn check(name: &str, text: &str) {
    let f: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
    let wire = match name.split('/').next() {
        Some("openai") => Dialect::OpenAi,
        Some("anthropic") => Dialect::Anthropic,
        Some("gemini") => Dialect::Gemini,
        other => panic!("{name}: unknown vendor {other:?}"),
    };
    let expect = &f["expect"];
    assert!(f["description"].is_string(), "{name}: a description");
    for (api, key) in CALLERS {
        let (mut got, ex) = match (f.get("response"), f.get("stream")) {
            (Some(r), None) => run_response(api, wire, r),
            (None, Some(s)) => run_stream(name, api, wire, s),
            _ => panic!("{name}: exactly one of `response` and `stream`"),
        };
        let mut want = expect[key].clone();
        // A Responses caller reads an OpenAI caller's expectations, except that its answer
        // carries the usage the gateway read, which an OpenAI SDK may not see (Groq's `x_groq`).
        if api == Dialect::Responses && want.get("usage").is_some() {
            want["usage"] = expect["usage"].clone();
        }
        let want = &want;
        if let (Some(got_msg), Some(want_msg)) = (got.get("stream_error").and_then(Value::as_str), want["stream_error"].as_str()) {
            if got_msg.contains(want_msg) {
                got["stream_error"] = want_msg.into();
            }
        }
        assert_eq!(got, *want, "{name}: what a {key} caller gets (left: got, right: expect.{key})");
        assert_eq!(usage_json(ex.usage.as_ref()), expect["usage"], "{name}: the usage billed ({key} caller)");
    }
}

fn route(api: Dialect, wire: Dialect, stream: bool) -> Route {
    super::tests::test_route(api, wire, stream, true)
}

fn head(reply: &Value) -> (u16, Vec<(String, String)>) {
    let status = reply["status"].as_u64().expect("a status") as u16;
    let headers =
        reply["headers"].as_object().map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect());
    (status, headers.unwrap_or_default())
}

/// A non-streamed request answered with the fixture's `response`.
fn run_response(api: Dialect, wire: Dialect, resp: &Value) -> (Value, Exchange) {
    let mut ex = Exchange::new("req_1".into(), route(api, wire, false), Default::default());
    let (status, headers) = head(resp);
    assert!(matches!(ex.on_head(status, &headers), Action::ReadBody));
    let body = match resp["body_text"].as_str() {
        Some(t) => t.as_bytes().to_vec(),
        None => serde_json::to_vec(&resp["body"]).unwrap(),
    };
    let Action::Respond(reply) = ex.on_body(&body) else { panic!("a whole body is answered at once") };
    if reply.status != 200 {
        return (error_view(api, &reply, &ex), ex);
    }
    let bytes = if reply.body_from_upstream { &body } else { &reply.body };
    let answer = providers::decode_response(api, bytes).unwrap_or_else(|e| panic!("the caller cannot read its answer: {e:?}"));
    let c = answer.choices.first();
    let calls = c.map(|c| c.tool_calls.iter().map(|t| call_json(&t.name, &t.arguments)).collect::<Vec<_>>()).unwrap_or_default();
    let view = json!({
        "text": c.and_then(|c| c.content.clone()).unwrap_or_default(),
        "tool_calls": calls,
        "finish": c.and_then(|c| c.finish_reason.as_ref()).map(|f| f.as_str().to_string()),
        "usage": usage_json(answer.usage.as_ref()),
    });
    (view, ex)
}

/// An error reply in the caller's own shape: its code, status, type and retry-after.
fn error_view(api: Dialect, reply: &Reply, ex: &Exchange) -> Value {
    let body: Value = serde_json::from_slice(&reply.body).expect("an error body is JSON");
    let code = ex.failure.as_ref().map(|f| f.code.as_str()).expect("a failed exchange says why");
    match api {
        Dialect::OpenAi | Dialect::Responses => assert_eq!(body["error"]["code"], code, "the OpenAI error body carries the code"),
        _ => assert_eq!(body["type"], "error", "an Anthropic error body is typed `error`"),
    }
    let mut e = json!({"code": code, "status": reply.status, "type": body["error"]["type"]});
    if let Some(v) = reply.header("retry-after") {
        e["retry_after"] = v.into();
    }
    json!({ "error": e })
}

/// Feed `chunks` to a streaming exchange; the bytes the caller receives.
fn stream_through(api: Dialect, wire: Dialect, status: u16, headers: &[(String, String)], chunks: &[&[u8]]) -> (Vec<u8>, Exchange) {
    let mut ex = Exchange::new("req_1".into(), route(api, wire, true), Default::default());
    assert!(matches!(ex.on_head(status, headers), Action::Stream(_)), "a 200 event stream is streamed");
    let mut out = Vec::new();
    for c in chunks {
        match ex.on_chunk(c) {
            Some(bytes) => out.extend(bytes),
            None => out.extend_from_slice(c),
        }
    }
    out.extend(ex.on_end());
    (out, ex)
}

/// A streamed request answered with the fixture's `stream`; every split of its bytes in two
/// must give the caller the same bytes.
fn run_stream(name: &str, api: Dialect, wire: Dialect, s: &Value) -> (Value, Exchange) {
    let (status, headers) = head(s);
    let events: Vec<&str> = s["events"].as_array().expect("events").iter().map(|e| e.as_str().expect("raw event text")).collect();
    let bytes = events.concat().into_bytes();
    let per_event: Vec<&[u8]> = events.iter().map(|e| e.as_bytes()).collect();
    let (whole, ex) = stream_through(api, wire, status, &headers, &[&bytes]);
    assert_eq!(stream_through(api, wire, status, &headers, &per_event).0, whole, "{name}: one chunk per event");
    for cut in 0..=bytes.len() {
        let (split, _) = stream_through(api, wire, status, &headers, &[&bytes[..cut], &bytes[cut..]]);
        assert!(split == whole, "{name}: split at byte {cut}, the caller's bytes differ");
    }
    assert_split_invariant(wire, &bytes);
    (stream_view(api, &whole), ex)
}

/// What the caller's own SDK reads from its stream: text, tool calls, finish, usage, error.
fn stream_view(api: Dialect, bytes: &[u8]) -> Value {
    let mut d = StreamDecoder::new(api, Default::default());
    // An OpenAI SDK reads only the standard members: a vendor's (Groq's `x_groq` usage) is
    // invisible to it, though the gateway reads it for billing.
    let standard: Vec<u8>;
    let bytes = if api == Dialect::OpenAi {
        let text = String::from_utf8_lossy(bytes);
        let lines = text.split('\n').map(|l| match l.strip_prefix("data: ").and_then(|d| serde_json::from_str::<Value>(d).ok()) {
            Some(Value::Object(mut o)) => {
                o.remove("x_groq");
                format!("data: {}", Value::Object(o))
            }
            _ => l.to_string(),
        });
        standard = lines.collect::<Vec<_>>().join("\n").into_bytes();
        &standard[..]
    } else {
        bytes
    };
    let mut evs = d.push(bytes).unwrap_or_else(|e| panic!("the caller cannot read its stream: {e:?}"));
    evs.extend(d.finish().unwrap());
    let (mut text, mut calls, mut finish, mut usage, mut error) = (String::new(), Vec::<(u32, String, String)>::new(), None, None, None);
    for ev in evs {
        match ev {
            StreamEvent::TextDelta { text: t, .. } => text.push_str(&t),
            StreamEvent::ToolCallDelta { call_index, name, arguments, .. } => match calls.iter_mut().find(|c| c.0 == call_index) {
                Some(c) => c.2.push_str(&arguments),
                None => calls.push((call_index, name.unwrap_or_default(), arguments)),
            },
            StreamEvent::Finish { reason, .. } => finish = Some(reason.as_str().to_string()),
            StreamEvent::Usage(u) => usage = Some(u),
            StreamEvent::Error { message } => error = Some(message),
            StreamEvent::Start { .. } | StreamEvent::Done => {}
        }
    }
    let mut view = json!({
        "text": text,
        "tool_calls": calls.iter().map(|(_, n, a)| call_json(n, a)).collect::<Vec<_>>(),
        "finish": finish,
        "usage": usage_json(usage.as_ref()),
    });
    if let Some(message) = error {
        view["stream_error"] = message.into();
    }
    view
}

fn call_json(name: &str, arguments: &str) -> Value {
    json!({"name": name, "arguments": serde_json::from_str::<Value>(arguments).unwrap_or_else(|_| arguments.into())})
}

fn usage_json(u: Option<&Usage>) -> Value {
    let Some(u) = u else { return Value::Null };
    assert!(!u.estimated, "reported usage is never marked estimated");
    json!({
        "input": u.input_tokens,
        "output": u.output_tokens,
        "cached": u.cached_input_tokens,
        "cache_write": u.cache_write_tokens,
        "reasoning": u.reasoning_tokens,
    })
}

/// The fixture directory and the macro's list agree: a new file needs its test.
#[test]
fn every_fixture_file_has_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found = Vec::new();
    for vendor in std::fs::read_dir(&root).expect("tests/fixtures").map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
        for file in std::fs::read_dir(&vendor).unwrap().map(|e| e.unwrap().path()) {
            let (Some(v), Some(case)) = (vendor.file_name().and_then(|v| v.to_str()), file.file_stem().and_then(|c| c.to_str())) else {
                continue;
            };
            assert_eq!(file.extension().and_then(|e| e.to_str()), Some("json"), "only JSON fixtures: {}", file.display());
            found.push(format!("{v}/{case}"));
        }
    }
    found.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "every file in tests/fixtures has its line in the conformance! list, and every line a file");
}
