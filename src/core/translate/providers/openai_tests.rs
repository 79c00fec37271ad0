//! Fixtures follow OpenAI's published examples for chat completions, chunks and errors.
use super::*;
use crate::core::translate::providers::decode_error as decode_any_error;
use serde_json::json;

fn decode_error(status: u16, retry_after: Option<&str>, body: &[u8]) -> GatewayError {
    decode_any_error(Dialect::OpenAi, status, retry_after, body, &Default::default())
}

fn target(kind: ProviderKind, base_url: &'static str, key: Option<&'static str>) -> Target<'static> {
    Target { kind, base_url, model: "llama", api_key: key, api_version: "2024-10-21", max_output_tokens: 4096, responses_api: false }
}

const COMPLETION: &str = r#"{
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4.1-2025-04-14",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I assist you today?",
      "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 0}},
  "service_tier": "default"
}"#;

pub const TOOL_STREAM: &str = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_X\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"loc\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n\
data: [DONE]\n\n";

#[test]
fn decodes_completion_with_usage_details() {
    let r = decode_response(COMPLETION.as_bytes()).unwrap();
    assert_eq!(r.model, "gpt-4.1-2025-04-14");
    assert_eq!(r.choices[0].content.as_deref(), Some("Hello! How can I assist you today?"));
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    let u = r.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens), (19, 10, 4, 2));
}

#[test]
fn malformed_response_is_502() {
    for body in [&b"{\"choices\": 5}"[..], b"not json", b"", b"{}", b"{\"error\": {\"message\": \"x\"}}"] {
        let e = decode_response(body).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (502, "upstream_malformed"));
    }
}

#[test]
fn stream_decodes_tool_calls_finish_usage_done() {
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default());
    let evs = d.push(TOOL_STREAM.as_bytes()).unwrap();
    assert!(matches!(&evs[0], StreamEvent::Start { model, .. } if model == "gpt-4o"));
    assert!(matches!(&evs[1], StreamEvent::ToolCallDelta { id: Some(id), name: Some(n), .. } if id == "call_X" && n == "get_weather"));
    assert!(matches!(&evs[2], StreamEvent::ToolCallDelta { id: None, arguments, .. } if arguments == "{\"loc"));
    assert_eq!(evs[3], StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls });
    assert!(matches!(evs[4], StreamEvent::Usage(Usage { input_tokens: 9, output_tokens: 3, .. })));
    assert_eq!(evs[5], StreamEvent::Done);
}

#[test]
fn stream_split_anywhere_gives_same_events() {
    crate::core::translate::providers::assert_split_invariant(Dialect::OpenAi, TOOL_STREAM.as_bytes());
}

#[test]
fn malformed_chunk_is_an_error() {
    assert_eq!(
        crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default())
            .push(b"data: {oops\n\n")
            .unwrap_err()
            .code,
        "upstream_malformed"
    );
}

#[test]
fn request_carries_key_and_url() {
    let r = crate::core::translate::dialect::openai::decode_request(
        br#"{"model":"fast","messages":[{"role":"user","content":"hi"}],"stream":true}"#,
    )
    .unwrap();
    let up = build_request(&r, &target(ProviderKind::Openai, "https://api.groq.com/openai/v1/", Some("k")));
    assert_eq!(up.url, "https://api.groq.com/openai/v1/chat/completions");
    assert!(up.headers.contains(&("authorization".into(), "Bearer k".into())));
    let body: serde_json::Value = serde_json::from_slice(&up.body).unwrap();
    assert_eq!(body["model"], "llama");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true, "usage is always asked for on streams");
    let none = build_request(&r, &target(ProviderKind::Ollama, "http://localhost:11434/v1", None));
    assert!(!none.headers.iter().any(|(k, _)| k == "authorization"));
}

#[test]
fn error_classification() {
    let body =
        |code: &str, msg: &str| serde_json::to_vec(&json!({"error": {"message": msg, "type": "x", "code": code, "param": null}})).unwrap();
    let cases: &[(u16, &str, u16, &str)] = &[
        (400, "context_length_exceeded", 400, "context_length_exceeded"),
        (400, "invalid_value", 400, "upstream_rejected_request"),
        (401, "invalid_api_key", 502, "upstream_auth_failed"),
        (403, "", 502, "upstream_auth_failed"),
        (404, "model_not_found", 502, "upstream_not_found"),
        (429, "rate_limit_exceeded", 429, "upstream_rate_limited"),
        (429, "insufficient_quota", 502, "upstream_quota_exhausted"),
        (500, "", 502, "upstream_error"),
        (503, "", 502, "upstream_error"),
        (504, "", 504, "upstream_timeout"),
        (529, "", 502, "upstream_overloaded"),
    ];
    for &(status, code, want_status, want_code) in cases {
        let e = decode_error(status, Some("3"), &body(code, "boom"));
        assert_eq!((e.status, e.code.as_str()), (want_status, want_code), "{status} {code}");
    }
    assert_eq!(decode_error(429, Some("3"), &body("rate_limit_exceeded", "slow")).retry_after.as_deref(), Some("3"));
}

/// OpenAI's published errors (<https://platform.openai.com/docs/guides/error-codes>) and what
/// compatible servers send: a key refused is the gateway's fault, with any status; quota is
/// the account's (no retry helps); a rate limit is retried.
#[test]
fn published_error_codes() {
    use crate::core::error::Disposition::{NextTarget, Retry, Return};
    let body = |kind: &str, code: Option<&str>, message: &str| {
        serde_json::to_vec(&json!({"error": {"message": message, "type": kind, "param": null, "code": code}})).unwrap()
    };
    let key = "Incorrect API key provided: sk-proj-****1234. You can find your API key at https://platform.openai.com/account/api-keys.";
    let quota = "You exceeded your current quota, please check your plan and billing details.";
    let rpm = "Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1.";
    let cases = [
        (401, body("invalid_request_error", Some("invalid_api_key"), key), 502, "upstream_auth_failed", NextTarget),
        (400, body("invalid_request_error", Some("invalid_api_key"), "Invalid API Key"), 502, "upstream_auth_failed", NextTarget),
        (
            403,
            body("invalid_request_error", Some("unsupported_country_region_territory"), "Country not supported"),
            502,
            "upstream_auth_failed",
            NextTarget,
        ),
        (429, body("insufficient_quota", Some("insufficient_quota"), quota), 502, "upstream_quota_exhausted", NextTarget),
        (429, body("insufficient_quota", None, quota), 502, "upstream_quota_exhausted", NextTarget),
        (429, body("requests", Some("rate_limit_exceeded"), rpm), 429, "upstream_rate_limited", Retry),
        (
            400,
            body("invalid_request_error", Some("context_length_exceeded"), "maximum context length is 128000 tokens"),
            400,
            "context_length_exceeded",
            NextTarget,
        ),
        (400, body("invalid_request_error", None, "Invalid value for 'temperature'"), 400, "upstream_rejected_request", Return),
        (503, body("server_error", None, "The engine is currently overloaded, please try again later"), 502, "upstream_error", Retry),
    ];
    for (status, body, want_status, want_code, want_next) in cases {
        let e = decode_error(status, Some("3"), &body);
        assert_eq!((e.status, e.code.as_str(), e.disposition()), (want_status, want_code, want_next), "{status} {want_code}");
    }
}

#[test]
fn upstream_key_echo_never_reaches_client() {
    let body = br#"{"error":{"message":"Incorrect API key provided: sk-canary-1234567890abcdef. Find your key.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
    for status in [400, 401, 429, 500] {
        let e = decode_error(status, None, body);
        assert!(!e.message.contains("canary"), "{status}: {}", e.message);
    }
}

#[test]
fn azure_uses_deployment_url_api_version_and_api_key_header() {
    let r =
        crate::core::translate::dialect::openai::decode_request(br#"{"model":"gpt","messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    let up = build_request(&r, &target(ProviderKind::AzureOpenai, "https://res.openai.azure.com", Some("az-key")));
    assert_eq!(up.url, "https://res.openai.azure.com/openai/deployments/llama/chat/completions?api-version=2024-10-21");
    assert!(up.headers.contains(&("api-key".into(), "az-key".into())));
    assert!(!up.headers.iter().any(|(k, _)| k == "authorization"));
}

#[test]
fn preset_quirks_rewrite_roles_and_token_fields() {
    let r = crate::core::translate::dialect::openai::decode_request(
        br#"{"model":"m","messages":[{"role":"developer","content":"be terse"},{"role":"user","content":"hi"}],"max_completion_tokens":9,"stream":true}"#,
    )
    .unwrap();
    let body =
        |kind| -> serde_json::Value { serde_json::from_slice(&build_request(&r, &target(kind, "https://x/v1", None)).body).unwrap() };
    let openai = body(ProviderKind::Openai);
    assert_eq!((openai["messages"][0]["role"].as_str(), openai["max_completion_tokens"].as_u64()), (Some("developer"), Some(9)));
    let groq = body(ProviderKind::Groq);
    assert_eq!((groq["messages"][0]["role"].as_str(), groq["max_tokens"].as_u64()), (Some("system"), Some(9)));
    assert!(groq.get("max_completion_tokens").is_none());
    assert!(body(ProviderKind::Mistral).get("stream_options").is_none());
}

#[test]
fn unknown_fields_and_new_enum_values_are_tolerated() {
    let body = br#"{"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi","audio":null,"new_field":1},"finish_reason":"brand_new_reason"}],"brand_new":{"a":1}}"#;
    let r = decode_response(body).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Other("brand_new_reason".into())));
}

/// Mistral's reasoning models answer with `content` as parts
/// (<https://docs.mistral.ai/capabilities/reasoning/>).
const PARTS_COMPLETION: &str = r#"{"id":"x","object":"chat.completion","created":1,"model":"magistral-medium-2509",
  "choices":[{"index":0,"message":{"role":"assistant","content":[
    {"type":"thinking","thinking":[{"type":"text","text":"Let me think."}]},{"type":"text","text":"The answer "},{"type":"text","text":"is 4."}]},"finish_reason":"stop"}],
  "usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}"#;

#[test]
fn content_parts_give_their_text_and_not_their_thinking() {
    let r = decode_response(PARTS_COMPLETION.as_bytes()).unwrap();
    assert_eq!(r.choices[0].content.as_deref(), Some("The answer is 4."));
    let only_thinking = PARTS_COMPLETION.replace(r#",{"type":"text","text":"The answer "},{"type":"text","text":"is 4."}"#, "");
    assert_eq!(decode_response(only_thinking.as_bytes()).unwrap().choices[0].content, None);
}

#[test]
fn stream_deltas_with_content_parts_give_their_text() {
    let stream = "data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"hmm\"}]}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"Four\"}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\".\"},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default());
    let texts: Vec<String> = d
        .push(stream.as_bytes())
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["Four", "."]);
}

/// Some compatible servers send `finish_reason: ""` on every chunk until the last.
pub const EMPTY_FINISH_STREAM: &str = "data: {\"id\":\"e\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":\"\"}]}\n\n\
data: {\"id\":\"e\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":\"\"}]}\n\n\
data: {\"id\":\"e\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":\"\"}]}\n\n\
data: {\"id\":\"e\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n\
data: [DONE]\n\n";

#[test]
fn an_empty_finish_reason_is_no_finish() {
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default());
    let finishes: Vec<StreamEvent> =
        d.push(EMPTY_FINISH_STREAM.as_bytes()).unwrap().into_iter().filter(|e| matches!(e, StreamEvent::Finish { .. })).collect();
    assert_eq!(finishes, [StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls }]);
    let body = COMPLETION.replace(r#""finish_reason": "stop""#, r#""finish_reason": """#);
    assert_eq!(decode_response(body.as_bytes()).unwrap().choices[0].finish_reason, None);
}
