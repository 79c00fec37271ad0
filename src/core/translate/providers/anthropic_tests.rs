//! Fixtures follow Anthropic's published examples for messages, streams and errors.
use super::*;
use crate::core::config::ProviderKind;
use crate::core::translate::dialect::openai::decode_request;
use crate::core::translate::providers::decode_error;

fn target() -> Target<'static> {
    Target {
        kind: ProviderKind::Anthropic,
        base_url: "https://api.anthropic.com",
        model: "claude-sonnet-4-5",
        api_key: Some("sk-ant"),
        api_version: "",
        max_output_tokens: 1024,
        responses_api: false,
    }
}

fn body_of(req: &str) -> Value {
    let up = build_request(&decode_request(req.as_bytes()).unwrap(), &target()).unwrap();
    serde_json::from_slice(&up.body).unwrap()
}

#[test]
fn request_mapping() {
    let b = body_of(
        r#"{"model":"c","messages":[
        {"role":"system","content":"be brief"},{"role":"developer","content":"no jokes"},
        {"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"look","arguments":"{\"q\":1}"}}]},
        {"role":"tool","tool_call_id":"toolu_1","content":"a cat"},
        {"role":"user","content":"thanks"}],
        "temperature":1.5,"top_p":0.9,"stop":["END"],"user":"u1","stream":true,"parallel_tool_calls":false,
        "tools":[{"type":"function","function":{"name":"look","description":"d","parameters":{"type":"object","properties":{"q":{"type":"integer"}}}}}],
        "tool_choice":"required","service_tier":"flex"}"#,
    );
    assert_eq!(b["model"], "claude-sonnet-4-5");
    assert_eq!(b["max_tokens"], 1024, "filled from config");
    assert_eq!(b["system"], "be brief\n\nno jokes");
    assert_eq!(b["temperature"], 1.0);
    assert_eq!(b["stop_sequences"], json!(["END"]));
    assert_eq!(b["metadata"]["user_id"], "u1");
    assert_eq!(b["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    assert_eq!(b["tools"][0]["input_schema"]["properties"]["q"]["type"], "integer");
    assert!(b.get("service_tier").is_none(), "OpenAI-only fields do not cross");
    let msgs = b["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "tool result and following user text merge into one user turn: {msgs:?}");
    assert_eq!(msgs[0]["content"][1], json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}));
    assert_eq!(msgs[1]["content"][0], json!({"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"q": 1}}));
    assert_eq!(msgs[2]["content"][0], json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"}));
    assert_eq!(msgs[2]["content"][1], json!({"type": "text", "text": "thanks"}));
}

#[test]
fn headers_and_url() {
    let up = build_request(&decode_request(br#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#).unwrap(), &target()).unwrap();
    assert_eq!(up.url, "https://api.anthropic.com/v1/messages");
    assert!(up.headers.contains(&("x-api-key".into(), "sk-ant".into())));
    assert!(up.headers.contains(&("anthropic-version".into(), "2023-06-01".into())));
}

#[test]
fn only_allow_listed_caller_headers_are_forwarded_and_only_to_their_wire() {
    let inbound: Vec<(String, String)> = [
        ("Anthropic-Beta", "context-1m-2025-08-07,interleaved-thinking-2025-05-14"),
        ("authorization", "Bearer sk-caller"),
        ("x-api-key", "sk-caller"),
        ("cookie", "session=1"),
        ("anthropic-version", "2099-01-01"),
        ("openai-organization", "org-caller"),
        ("openai-project", "proj-caller"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let forwarded = crate::core::translate::providers::forwarded_headers(&inbound);
    assert_eq!(forwarded, [("anthropic-beta".to_string(), "context-1m-2025-08-07,interleaved-thinking-2025-05-14".to_string())]);
    let mut req = decode_request(br#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    req.forwarded_headers = forwarded;
    let headers = |t: &Target| crate::core::translate::providers::build_request(&req, t).unwrap().headers;
    let up = headers(&target());
    assert!(up.contains(&("anthropic-beta".into(), "context-1m-2025-08-07,interleaved-thinking-2025-05-14".into())), "{up:?}");
    assert!(up.contains(&("anthropic-version".into(), API_VERSION.into())), "the gateway's version, not the caller's");
    assert!(!up.iter().any(|(k, v)| k == "authorization" || k == "cookie" || v.contains("caller")), "{up:?}");
    assert_eq!(build_count_request(&req, &target()).unwrap().headers, up, "count_tokens gets them too");
    for kind in [ProviderKind::Openai, ProviderKind::Gemini] {
        let other = headers(&Target { kind, ..target() });
        assert!(!other.iter().any(|(k, _)| k.starts_with("anthropic") || k.starts_with("openai-")), "{kind:?}: {other:?}");
    }
}

#[test]
fn json_modes_become_a_system_instruction_and_n_is_refused() {
    let b = body_of(r#"{"model":"c","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"#);
    assert!(b["system"].as_str().unwrap().contains("JSON"));
    let r = decode_request(br#"{"model":"c","messages":[{"role":"user","content":"hi"}],"n":2}"#).unwrap();
    assert_eq!(build_request(&r, &target()).unwrap_err().status, 400);
}

#[test]
fn an_anthropic_callers_output_config_passes_through_unchanged() {
    let body = json!({
        "model": "c", "max_tokens": 50, "system": "be brief", "messages": [{"role": "user", "content": "hi"}],
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "additionalProperties": false}}, "effort": "xhigh"}
    });
    let req = crate::core::translate::dialect::anthropic::decode_request(body.to_string().as_bytes()).unwrap();
    let up = build_request(&req, &target()).unwrap();
    let b: Value = serde_json::from_slice(&up.body).unwrap();
    assert_eq!(b["output_config"], body["output_config"]);
    assert_eq!(b["system"], "be brief", "no JSON instruction beside the native format");
    // Toward an OpenAI-family upstream: response_format and reasoning_effort.
    let openai = Target { kind: ProviderKind::Openai, base_url: "https://api.openai.com/v1", ..target() };
    let o: Value = serde_json::from_slice(&crate::core::translate::providers::build_request(&req, &openai).unwrap().body).unwrap();
    assert_eq!(o["response_format"]["type"], "json_schema");
    assert_eq!(o["response_format"]["json_schema"]["name"], "output");
    assert_eq!(o["response_format"]["json_schema"]["schema"], body["output_config"]["format"]["schema"]);
    assert_eq!(o["reasoning_effort"], "high");
    assert!(o.get("output_config").is_none());
}

const MESSAGE: &str = r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
  "content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"San Francisco, CA"}}],
  "stop_reason":"tool_use","stop_sequence":null,
  "usage":{"input_tokens":100,"output_tokens":50,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"service_tier":"standard"}}"#;

#[test]
fn response_mapping_with_cache_usage() {
    let r = decode_response(MESSAGE.as_bytes()).unwrap();
    let c = &r.choices[0];
    assert_eq!(c.content.as_deref(), Some("Let me check."));
    assert_eq!(c.tool_calls[0].name, "get_weather");
    assert_eq!(serde_json::from_str::<Value>(&c.tool_calls[0].arguments).unwrap(), json!({"location": "San Francisco, CA"}));
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    let u = r.usage.unwrap();
    assert_eq!((u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens), (150, 30, 20, 50));
}

#[test]
fn new_block_types_and_stop_reasons_are_tolerated() {
    let r = decode_response(br#"{"id":"m","model":"c","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"hi"}],"stop_reason":"brand_new"}"#).unwrap();
    assert_eq!(r.choices[0].content.as_deref(), Some("hi"));
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Other("brand_new".into())));
    assert!(decode_response(b"{\"type\":\"error\"}").is_err());
}

pub const STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":5}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T\",\"name\":\"get_weather\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"Paris\\\"}\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#[test]
fn stream_transcript() {
    let evs =
        crate::core::translate::providers::StreamDecoder::new(Dialect::Anthropic, Default::default()).push(STREAM.as_bytes()).unwrap();
    assert_eq!(evs[0], StreamEvent::Start { id: "msg_1".into(), model: "claude-sonnet-4-5".into(), created: 0 });
    assert_eq!(evs[1], StreamEvent::TextDelta { index: 0, text: "Okay".into() });
    assert_eq!(
        evs[2],
        StreamEvent::ToolCallDelta {
            index: 0,
            call_index: 0,
            id: Some("toolu_01T".into()),
            name: Some("get_weather".into()),
            arguments: String::new()
        }
    );
    assert_eq!(evs[3], StreamEvent::ToolCallDelta { index: 0, call_index: 0, id: None, name: None, arguments: "{\"location\":".into() });
    assert_eq!(evs[5], StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls });
    assert!(matches!(evs[6], StreamEvent::Usage(Usage { input_tokens: 30, output_tokens: 89, cached_input_tokens: 5, .. })));
    assert_eq!(evs[7], StreamEvent::Done);
}

#[test]
fn stream_error_event_and_split_invariance() {
    let evs = crate::core::translate::providers::StreamDecoder::new(Dialect::Anthropic, Default::default())
        .push(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
        .unwrap();
    assert!(matches!(&evs[0], StreamEvent::Error { message } if message.contains("overloaded_error")));
    crate::core::translate::providers::assert_split_invariant(Dialect::Anthropic, STREAM.as_bytes());
}

#[test]
fn error_shapes() {
    let body = |t: &str| format!(r#"{{"type":"error","error":{{"type":"{t}","message":"boom"}}}}"#).into_bytes();
    let cases = [
        (400, "invalid_request_error", 400, "upstream_rejected_request"),
        (401, "authentication_error", 502, "upstream_auth_failed"),
        (429, "rate_limit_error", 429, "upstream_rate_limited"),
        (500, "api_error", 502, "upstream_error"),
        (503, "api_error", 502, "upstream_error"),
        (529, "overloaded_error", 502, "upstream_overloaded"),
    ];
    for (status, kind, want_status, want_code) in cases {
        let e = decode_error(Dialect::Anthropic, status, Some("4"), &body(kind), &Default::default());
        assert_eq!((e.status, e.code.as_str()), (want_status, want_code), "{status}");
    }
    assert_eq!(
        decode_error(Dialect::Anthropic, 429, Some("4"), &body("rate_limit_error"), &Default::default()).retry_after.as_deref(),
        Some("4")
    );
    let e = decode_error(
        Dialect::Anthropic,
        400,
        None,
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        &Default::default(),
    );
    assert_eq!(e.code, "context_length_exceeded");
}

/// Every error type of <https://docs.anthropic.com/en/api/errors>, in its published shape: the
/// key's and the account's errors move on to the next target (502 if none), an overload and a
/// rate limit are retried, the caller's own mistakes return.
#[test]
fn published_error_types() {
    use crate::core::error::Disposition::{NextTarget, Retry, Return};
    let body = |kind: &str, message: &str| {
        serde_json::json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
            .to_string()
    };
    let cases = [
        (400, "invalid_request_error", "messages: roles must alternate", 400, "upstream_rejected_request", Return),
        (401, "authentication_error", "invalid x-api-key", 502, "upstream_auth_failed", NextTarget),
        (402, "billing_error", "Your credit balance is too low", 502, "upstream_quota_exhausted", NextTarget),
        (
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
            502,
            "upstream_auth_failed",
            NextTarget,
        ),
        // The type decides over the status: a billing error is the account's, whatever it comes with.
        (403, "billing_error", "Your credit balance is too low", 502, "upstream_quota_exhausted", NextTarget),
        (404, "not_found_error", "model: claude-9", 502, "upstream_not_found", NextTarget),
        (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", 400, "upstream_rejected_request", Return),
        (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", 429, "upstream_rate_limited", Retry),
        (500, "api_error", "Internal server error", 502, "upstream_error", Retry),
        (504, "timeout_error", "Request timeout", 504, "upstream_timeout", Retry),
        (529, "overloaded_error", "Overloaded", 502, "upstream_overloaded", Retry),
        (500, "overloaded_error", "Overloaded", 502, "upstream_overloaded", Retry),
    ];
    for (status, kind, message, want_status, want_code, want_next) in cases {
        let e = decode_error(Dialect::Anthropic, status, None, body(kind, message).as_bytes(), &Default::default());
        assert_eq!((e.status, e.code.as_str(), e.disposition()), (want_status, want_code, want_next), "{status} {kind}");
    }
}
