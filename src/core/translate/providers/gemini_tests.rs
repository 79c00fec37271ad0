//! Fixtures follow the Gemini API reference for generateContent, streams and errors.
use super::*;
use crate::core::config::ProviderKind;
use crate::core::translate::dialect::openai::decode_request;
use crate::core::translate::providers::decode_error;

fn target() -> Target<'static> {
    Target {
        kind: ProviderKind::Gemini,
        base_url: "https://generativelanguage.googleapis.com",
        model: "gemini-2.5-flash",
        api_key: Some("AIza-test"),
        api_version: "",
        max_output_tokens: 4096,
        responses_api: false,
    }
}

#[test]
fn request_mapping_and_key_in_header_not_url() {
    let req = decode_request(
        br#"{"model":"g","messages":[
        {"role":"system","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4"}}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"look","arguments":"{\"q\":1}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"a cat"}],
        "temperature":0.5,"top_p":0.9,"max_tokens":100,"stop":["END"],"seed":3,"n":2,
        "tools":[{"type":"function","function":{"name":"look","parameters":{"type":"object","additionalProperties":false,"properties":{"q":{"type":"integer"}}}}}],
        "tool_choice":{"type":"function","function":{"name":"look"}},
        "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","additionalProperties":false}}},
        "stream":true}"#,
    )
    .unwrap();
    let up = build_request(&req, &target()).unwrap();
    assert_eq!(up.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert!(!up.url.contains("AIza"));
    assert!(up.headers.contains(&("x-goog-api-key".into(), "AIza-test".into())));
    let b: Value = serde_json::from_slice(&up.body).unwrap();
    assert_eq!(b["systemInstruction"], json!({"parts": [{"text": "be brief"}]}));
    assert_eq!(b["contents"][0]["parts"][1], json!({"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4"}}));
    assert_eq!(b["contents"][1], json!({"role": "model", "parts": [{"functionCall": {"name": "look", "args": {"q": 1}}}]}));
    assert_eq!(b["contents"][2]["parts"][0], json!({"functionResponse": {"name": "look", "response": {"content": "a cat"}}}));
    assert_eq!(b["tools"][0]["functionDeclarations"][0]["parameters"], json!({"type": "object", "properties": {"q": {"type": "integer"}}}));
    assert_eq!(b["toolConfig"]["functionCallingConfig"], json!({"mode": "ANY", "allowedFunctionNames": ["look"]}));
    let g = &b["generationConfig"];
    assert_eq!((g["temperature"].as_f64(), g["maxOutputTokens"].as_u64(), g["candidateCount"].as_u64()), (Some(0.5), Some(100), Some(2)));
    assert_eq!(g["stopSequences"], json!(["END"]));
    assert_eq!(g["responseMimeType"], "application/json");
    assert_eq!(g["responseSchema"], json!({"type": "object"}));
}

const RESPONSE: &str = r#"{"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},{"text":"Hello"},{"functionCall":{"name":"get_weather","args":{"city":"Oslo"}}}],"role":"model"},
  "finishReason":"STOP","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]}],
  "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":27,"cachedContentTokenCount":4,"thoughtsTokenCount":12},
  "modelVersion":"gemini-2.5-flash","responseId":"resp-1"}"#;

#[test]
fn response_mapping() {
    let r = decode_response(RESPONSE.as_bytes()).unwrap();
    let c = &r.choices[0];
    assert_eq!(c.content.as_deref(), Some("Hello"), "thought summaries are not answer text");
    assert_eq!(c.tool_calls[0].name, "get_weather");
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    let u = r.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens), (10, 17, 4, 12));
    assert_eq!(r.model, "gemini-2.5-flash");
}

#[test]
fn safety_blocks_and_new_values() {
    let r = decode_response(br#"{"candidates":[{"finishReason":"SAFETY","index":0}]}"#).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ContentFilter));
    let r = decode_response(br#"{"promptFeedback":{"blockReason":"SAFETY"}}"#).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ContentFilter));
    let r =
        decode_response(br#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"SOMETHING_NEW","index":0}],"newField":1}"#)
            .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Other("something_new".into())));
    assert!(decode_response(b"{}").is_err());
}

pub const STREAM: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 1},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n\
data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 2,\"totalTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n";

#[test]
fn stream_transcript_ends_cleanly_only_after_a_finish_reason() {
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::Gemini, Default::default());
    let mut evs = d.push(STREAM.as_bytes()).unwrap();
    evs.extend(d.finish().unwrap());
    assert_eq!(evs[0], StreamEvent::Start { id: "r1".into(), model: "gemini-2.5-flash".into(), created: 0 });
    assert_eq!(evs[1], StreamEvent::TextDelta { index: 0, text: "Hel".into() });
    assert_eq!(evs[3], StreamEvent::Finish { index: 0, reason: FinishReason::Stop });
    assert!(matches!(evs[4], StreamEvent::Usage(Usage { input_tokens: 8, output_tokens: 2, .. })));
    assert_eq!(evs[5], StreamEvent::Done);
    let first = STREAM.split("\r\n\r\n").next().unwrap();
    let mut cut = crate::core::translate::providers::StreamDecoder::new(Dialect::Gemini, Default::default());
    let mut evs = cut.push(first.as_bytes()).unwrap();
    evs.extend(cut.finish().unwrap());
    assert!(!evs.contains(&StreamEvent::Done), "no finishReason: not a clean end");
}

#[test]
fn stream_split_invariance() {
    crate::core::translate::providers::assert_split_invariant(Dialect::Gemini, STREAM.as_bytes());
}

#[test]
fn error_shapes() {
    let body = |code: u16, status: &str| format!(r#"{{"error":{{"code":{code},"message":"boom","status":"{status}"}}}}"#).into_bytes();
    let cases = [
        (400, "INVALID_ARGUMENT", 400, "upstream_rejected_request"),
        (401, "UNAUTHENTICATED", 502, "upstream_auth_failed"),
        (403, "PERMISSION_DENIED", 502, "upstream_auth_failed"),
        (429, "RESOURCE_EXHAUSTED", 429, "upstream_rate_limited"),
        (500, "INTERNAL", 502, "upstream_error"),
        (503, "UNAVAILABLE", 502, "upstream_overloaded"),
    ];
    for (status, s, want_status, want_code) in cases {
        let e = decode_error(Dialect::Gemini, status, None, &body(status, s), &Default::default());
        assert_eq!((e.status, e.code.as_str()), (want_status, want_code), "{status}");
    }
}

/// Google's error details, as the Gemini API sends them.
/// ErrorInfo: <https://ai.google.dev/gemini-api/docs/troubleshooting> (a bad key);
/// QuotaFailure and RetryInfo: <https://ai.google.dev/gemini-api/docs/rate-limits>.
const API_KEY_INVALID: &str = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
  "status": "INVALID_ARGUMENT", "details": [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
     "metadata": {"service": "generativelanguage.googleapis.com"}},
    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
     "message": "API key not valid. Please pass a valid API key."}]}}"#;

fn exhausted(quota_id: &str) -> String {
    format!(
        r#"{{"error": {{"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.",
  "status": "RESOURCE_EXHAUSTED", "details": [
    {{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
      {{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "{quota_id}",
        "quotaDimensions": {{"location": "global", "model": "gemini-2.5-flash"}}, "quotaValue": "250"}}]}},
    {{"@type": "type.googleapis.com/google.rpc.Help", "links": [{{"description": "Learn more about Gemini API quotas",
      "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}}]}},
    {{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "22s"}}]}}}}"#
    )
}

fn with_reason(status: u16, name: &str, reason: &str) -> String {
    format!(
        r#"{{"error": {{"code": {status}, "message": "refused", "status": "{name}", "details": [
  {{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "{reason}", "domain": "googleapis.com",
   "metadata": {{"consumer": "projects/123", "service": "generativelanguage.googleapis.com"}}}}]}}}}"#
    )
}

/// Gemini's published error shapes: a bad or blocked key, a disabled API and missing billing
/// are the gateway's fault (the next target, 502 if none), never the caller's 400; a per-day
/// quota is exhausted (no retry helps before midnight Pacific), a per-minute one is a rate
/// limit.
#[test]
fn published_error_details_decide_over_the_status() {
    use crate::core::error::Disposition::{NextTarget, Retry, Return};
    let minute = exhausted("GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
    let day = exhausted("GenerateRequestsPerDayPerProjectPerModel-FreeTier");
    let precondition = r#"{"error": {"code": 400, "message": "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.", "status": "FAILED_PRECONDITION"}}"#;
    let field = r#"{"error": {"code": 400, "message": "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.", "status": "INVALID_ARGUMENT",
      "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"description": "Invalid JSON payload received."}]}]}}"#;
    let cases: &[(u16, &str, u16, &str, _)] = &[
        (400, API_KEY_INVALID, 502, "upstream_auth_failed", NextTarget),
        (400, &with_reason(400, "INVALID_ARGUMENT", "API_KEY_INVALID"), 502, "upstream_auth_failed", NextTarget),
        (403, &with_reason(403, "PERMISSION_DENIED", "API_KEY_SERVICE_BLOCKED"), 502, "upstream_auth_failed", NextTarget),
        (403, &with_reason(403, "PERMISSION_DENIED", "SERVICE_DISABLED"), 502, "upstream_auth_failed", NextTarget),
        (403, &with_reason(403, "PERMISSION_DENIED", "BILLING_DISABLED"), 502, "upstream_quota_exhausted", NextTarget),
        (429, &with_reason(429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"), 429, "upstream_rate_limited", Retry),
        (429, &minute, 429, "upstream_rate_limited", Retry),
        (429, &day, 502, "upstream_quota_exhausted", NextTarget),
        (400, precondition, 502, "upstream_quota_exhausted", NextTarget),
        (400, field, 400, "upstream_rejected_request", Return),
        (
            404,
            r#"{"error": {"code": 404, "message": "models/gemini-9 is not found", "status": "NOT_FOUND"}}"#,
            502,
            "upstream_not_found",
            NextTarget,
        ),
        (504, r#"{"error": {"code": 504, "message": "Deadline expired", "status": "DEADLINE_EXCEEDED"}}"#, 504, "upstream_timeout", Retry),
    ];
    for &(status, body, want_status, want_code, want_next) in cases {
        let e = decode_error(Dialect::Gemini, status, Some("7"), body.as_bytes(), &Default::default());
        assert_eq!((e.status, e.code.as_str(), e.disposition()), (want_status, want_code, want_next), "{status} {body}");
        if want_code == "upstream_auth_failed" || want_code == "upstream_quota_exhausted" {
            assert!(!e.message.contains("refused") && !e.message.contains("API key"), "no upstream text: {}", e.message);
        }
    }
    let e = decode_error(Dialect::Gemini, 429, Some("7"), minute.as_bytes(), &Default::default());
    assert_eq!(e.retry_after.as_deref(), Some("7"));
}

/// A call's thought signature comes back in its id, and goes back on the same part next turn
/// (<https://ai.google.dev/gemini-api/docs/thought-signatures>); a tool result still finds its
/// function's name.
#[test]
fn thought_signatures_round_trip_through_tool_call_ids() {
    let body = br#"{"candidates":[{"content":{"role":"model","parts":[
        {"functionCall":{"name":"look","args":{"q":1}},"thoughtSignature":"Zm9v+/8="},
        {"functionCall":{"name":"look","args":{"q":2}}}]},"finishReason":"STOP","index":0}]}"#;
    let r = decode_response(body).unwrap();
    let ids: Vec<&str> = r.choices[0].tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_0_0__ts_Zm9v-_8", "call_0_1"]);
    let next = format!(
        r#"{{"model":"g","messages":[{{"role":"user","content":"hi"}},
        {{"role":"assistant","tool_calls":[{{"id":"{0}","type":"function","function":{{"name":"look","arguments":"{{\"q\":1}}"}}}},
                                       {{"id":"{1}","type":"function","function":{{"name":"look","arguments":"{{\"q\":2}}"}}}}]}},
        {{"role":"tool","tool_call_id":"{0}","content":"a"}},{{"role":"tool","tool_call_id":"{1}","content":"b"}}]}}"#,
        ids[0], ids[1]
    );
    let up = build_request(&decode_request(next.as_bytes()).unwrap(), &target()).unwrap();
    let b: Value = serde_json::from_slice(&up.body).unwrap();
    assert_eq!(
        b["contents"][1]["parts"],
        json!([{"functionCall": {"name": "look", "args": {"q": 1}}, "thoughtSignature": "Zm9v+/8="},
               {"functionCall": {"name": "look", "args": {"q": 2}}}])
    );
    assert_eq!(b["contents"][2]["parts"][0]["functionResponse"]["name"], "look");
    assert_eq!(b["contents"][2]["parts"][1]["functionResponse"]["name"], "look");
    // Streams carry it the same way.
    let sse = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"look\",\"args\":{}},\"thoughtSignature\":\"QUJD\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n";
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::Gemini, Default::default());
    let evs = d.push(sse).unwrap();
    assert!(evs.iter().any(|e| matches!(e, StreamEvent::ToolCallDelta { id: Some(id), .. } if id == "call_0_0__ts_QUJD")), "{evs:?}");
}

/// Tool schemas and response schemas are converted; one that cannot be is a client error
/// naming the field.
#[test]
fn schemas_are_converted_or_refused() {
    let req = decode_request(
        br##"{"model":"g","messages":[{"role":"user","content":"hi"}],
        "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"$ref":"#/$defs/B"},"c":{"const":"x"}},"$defs":{"B":{"type":"integer"}}}}}]}"##,
    )
    .unwrap();
    let b: Value = serde_json::from_slice(&build_request(&req, &target()).unwrap().body).unwrap();
    assert_eq!(
        b["tools"][0]["functionDeclarations"][0]["parameters"],
        json!({"type": "object", "properties": {"a": {"type": "string", "nullable": true}, "b": {"type": "integer"}, "c": {"type": "string", "enum": ["x"]}}})
    );
    let recursive = br##"{"model":"g","messages":[{"role":"user","content":"hi"}],
        "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"kid":{"$ref":"#"}}}}}}"##;
    let err = build_request(&decode_request(recursive).unwrap(), &target()).unwrap_err();
    assert_eq!((err.code, err.status, err.param.as_deref()), (Code::UnsupportedForProvider, 400, Some("response_format")));
}

/// Gemini gives its retry delay only in the body (`RetryInfo.retryDelay`, a protobuf
/// Duration): it becomes the error's `retry-after`, rounded up to whole seconds.
#[test]
fn retry_info_becomes_retry_after() {
    let body = |delay: &str| {
        format!(
            r#"{{"error":{{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{delay}"}}]}}}}"#
        )
    };
    for (delay, want) in [("43s", Some("43")), ("1.5s", Some("2")), ("2.000s", Some("2")), ("0s", Some("0")), ("soon", None), ("-1s", None)]
    {
        let e = crate::core::translate::providers::decode_error(Dialect::Gemini, 429, None, body(delay).as_bytes(), &Default::default());
        assert_eq!(e.retry_after.as_deref(), want, "{delay}");
    }
    let header =
        crate::core::translate::providers::decode_error(Dialect::Gemini, 429, Some("7"), body("43s").as_bytes(), &Default::default());
    assert_eq!(header.retry_after.as_deref(), Some("7"), "a header takes precedence");
}
