//! Tests of the mock upstream: deterministic answers in OpenAI's shape, streams that decode
//! to the same answer, tool calls, the output cap, and fault directives.

use super::*;
use crate::core::translate::dialect::openai::decode_request;
use crate::core::translate::providers::openai::decode_response;

fn req(body: &str) -> ChatRequest {
    decode_request(body.as_bytes()).unwrap()
}

fn call(directive: &str) -> MockCall<'static> {
    MockCall { upstream_model: "mock-1", directive: Directive::parse(directive).unwrap(), default_chunk_ms: 0, now_s: 1_700_000_000 }
}

const HELLO: &str = r#"{"model":"mock","messages":[{"role":"user","content":"hello"}]}"#;

#[test]
fn same_prompt_same_answer_different_prompt_different_answer() {
    let a = respond(&req(HELLO), call(""));
    let b = respond(&req(HELLO), call(""));
    let c = respond(&req(r#"{"model":"mock","messages":[{"role":"user","content":"goodbye"}]}"#), call(""));
    assert_eq!(a, b);
    assert_ne!(a.frames, c.frames);
}

#[test]
fn answer_is_a_valid_openai_completion_with_usage() {
    let r = respond(&req(HELLO), call(""));
    assert_eq!(r.status, 200);
    let resp = decode_response(&r.frames[0]).unwrap();
    let u = resp.usage.unwrap();
    assert!(u.input_tokens >= 5 && u.output_tokens >= 8, "{u:?}");
    assert_eq!(resp.model, "mock-1");
}

#[test]
fn stream_decodes_to_same_text_and_usage() {
    let whole = decode_response(&respond(&req(HELLO), call("")).frames[0]).unwrap();
    let r = respond(
        &req(r#"{"model":"mock","messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true}}"#),
        call("chunk_ms=20"),
    );
    assert_eq!(r.interval_ms, 20);
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default());
    let evs: Vec<StreamEvent> = r.frames.iter().flat_map(|f| d.push(f).unwrap()).collect();
    let text: String = evs
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(Some(text), whole.choices[0].content);
    assert!(evs.contains(&StreamEvent::Usage(whole.usage.unwrap())));
    assert_eq!(evs.last(), Some(&StreamEvent::Done));
}

#[test]
fn tools_produce_a_tool_call_with_schema_arguments() {
    let r = respond(
        &req(r#"{"model":"mock","messages":[{"role":"user","content":"weather?"}],
        "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}}]}"#),
        call(""),
    );
    let resp = decode_response(&r.frames[0]).unwrap();
    let c = &resp.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(c.tool_calls[0].name, "get_weather");
    let args: Value = serde_json::from_str(&c.tool_calls[0].arguments).unwrap();
    assert_eq!(args, json!({"city": "mock", "days": 1}));
}

#[test]
fn max_tokens_bounds_output_and_sets_length() {
    let r = respond(&req(r#"{"model":"mock","messages":[{"role":"user","content":"hello"}],"max_tokens":3}"#), call(""));
    let c = decode_response(&r.frames[0]).unwrap();
    assert_eq!(c.usage.unwrap().output_tokens, 3);
    assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Length));
}

#[test]
fn faults() {
    let r = respond(&req(HELLO), call("status=429,retry_after=2,delay_ms=50"));
    assert_eq!((r.status, r.delay_ms), (429, 50));
    assert!(r.headers.contains(&("retry-after".into(), "2".into())));
    let r = respond(&req(HELLO), call("malformed"));
    assert!(decode_response(&r.frames[0]).is_err());
    let r = respond(&req(r#"{"model":"mock","messages":[{"role":"user","content":"hello"}],"stream":true}"#), call("cut_after=2"));
    assert_eq!(r.frames.len(), 2);
    assert!(r.cut);
}

#[test]
fn bad_directives_are_client_errors() {
    for d in ["status=99", "status=abc", "delay_ms=999999999", "explode"] {
        assert_eq!(Directive::parse(d).unwrap_err().status, 400, "{d}");
    }
}

#[test]
fn header_directive_overrides_model_directive() {
    let m = Directive::parse("status=503").unwrap().merged(Directive::parse("status=429").unwrap());
    assert_eq!(m.status, Some(429));
}
