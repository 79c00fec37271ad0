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
        (503, "UNAVAILABLE", 502, "upstream_error"),
    ];
    for (status, s, want_status, want_code) in cases {
        let e = decode_error(Dialect::Gemini, status, None, &body(status, s), &Default::default());
        assert_eq!((e.status, e.code.as_str()), (want_status, want_code), "{status}");
    }
}
