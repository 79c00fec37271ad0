//! Tests of the OpenAI Chat Completions dialect: requests decode and re-encode exactly, bad
//! fields are named by their `param`, and answers encode in OpenAI's `chat.completion` shape.

use super::*;
use crate::core::error::GatewayError;
use crate::core::types::*;
use serde_json::{json, Value};

fn decode(v: Value) -> Result<ChatRequest, GatewayError> {
    decode_request(&serde_json::to_vec(&v).unwrap())
}

pub(crate) fn full_request() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "json only"},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"q\":1}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            {"role": "assistant", "content": "x", "refusal": "no"}
        ],
        "tools": [{"type": "function", "function": {"name": "look", "description": "d",
                   "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "look"}},
        "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": true}},
        "temperature": 0.2, "top_p": 0.9, "presence_penalty": 0.1, "frequency_penalty": -0.1,
        "seed": 42, "stop": ["END", "STOP"], "logit_bias": {"50256": -100}, "n": 2,
        "max_completion_tokens": 300, "reasoning_effort": "low",
        "stream": true, "stream_options": {"include_usage": true},
        "user": "u-1", "metadata": {"run": "r1"},
        "service_tier": "flex", "prediction": {"type": "content", "content": "x"}
    })
}

#[test]
fn full_request_round_trips_exactly() {
    let original = full_request();
    let r = decode(original.clone()).unwrap();
    let encoded = Value::Object(encode_request(&r, "gpt-4o-mini"));
    assert_eq!(encoded, original);
}

#[test]
fn decodes_every_standard_field() {
    let r = decode(full_request()).unwrap();
    assert_eq!(r.messages.len(), 6);
    assert_eq!(r.messages[1].role, Role::Developer);
    assert!(matches!(&r.messages[2].content, Content::Parts(p) if p.len() == 3));
    assert_eq!(r.messages[3].tool_calls[0].name, "look");
    assert_eq!(r.messages[4].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(r.tool_choice, Some(ToolChoice::Function("look".into())));
    assert!(matches!(r.response_format, Some(ResponseFormat::JsonSchema { .. })));
    assert_eq!(r.sampling.seed, Some(42));
    assert_eq!(r.sampling.n, Some(2));
    assert_eq!(r.max_output_tokens, Some(300));
    assert_eq!(r.max_tokens_field, MaxTokensField::MaxCompletionTokens);
    assert_eq!(r.reasoning_effort, Some(ReasoningEffort::Low));
    assert!(r.stream && r.include_usage);
    assert_eq!(r.extra.len(), 2, "unknown fields kept: {:?}", r.extra);
}

#[test]
fn upstream_model_replaces_public_name() {
    let r = decode(json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]})).unwrap();
    let o = encode_request(&r, "llama-3.1-8b");
    assert_eq!(o["model"], "llama-3.1-8b");
    assert!(!o.contains_key("stream"));
}

#[test]
fn legacy_max_tokens_and_string_stop_are_kept() {
    let r = decode(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stop": "\n"})).unwrap();
    let o = encode_request(&r, "m");
    assert_eq!(o["max_tokens"], 5);
    assert_eq!(o["stop"], "\n");
}

#[test]
fn bad_inputs_name_their_param() {
    let m = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (json!({"messages": m}), "model"),
        (json!({"model": "x"}), "messages"),
        (json!({"model": "x", "messages": []}), "messages"),
        (json!({"model": "x", "messages": m, "temperature": "hot"}), "temperature"),
        (json!({"model": "x", "messages": m, "temperature": 9}), "temperature"),
        (json!({"model": "x", "messages": m, "top_p": 2}), "top_p"),
        (json!({"model": "x", "messages": m, "n": 0}), "n"),
        (json!({"model": "x", "messages": m, "max_tokens": -1}), "max_tokens"),
        (json!({"model": "x", "messages": m, "max_tokens": 1, "max_completion_tokens": 1}), "max_tokens"),
        (json!({"model": "x", "messages": m, "stream": "yes"}), "stream"),
        (json!({"model": "x", "messages": m, "reasoning_effort": "max"}), "reasoning_effort"),
        (json!({"model": "x", "messages": m, "stop": [1]}), "stop[0]"),
        (json!({"model": "x", "messages": m, "tool_choice": "sometimes"}), "tool_choice"),
        (json!({"model": "x", "messages": m, "response_format": {"type": "yaml"}}), "response_format.type"),
        (json!({"model": "x", "messages": [{"role": "wizard", "content": "hi"}]}), "messages[0].role"),
        (json!({"model": "x", "messages": [{"role": "user"}]}), "messages[0].content"),
        (json!({"model": "x", "messages": [{"role": "tool", "content": "r"}]}), "messages[0].tool_call_id"),
        (json!({"model": "x", "messages": [{"role": "user", "content": [{"type": "text"}]}]}), "messages[0].content[0].text"),
        (json!({"model": "x", "messages": [{"role": "user", "content": 5}]}), "messages[0].content"),
        (json!({"model": "x", "messages": m, "tools": [{"type": "function", "function": {}}]}), "tools[0].function.name"),
        (json!({"model": "x", "messages": m, "logit_bias": {"1": 500}}), "logit_bias.1"),
    ];
    for (body, param) in cases {
        let e = decode(body.clone()).unwrap_err();
        assert_eq!(e.status, 400, "{body}");
        assert_eq!(e.param.as_deref(), Some(param), "{body}: {}", e.message);
    }
}

#[test]
fn not_json_and_not_object_are_400() {
    for body in [&b"{"[..], b"[]", b"\"x\"", b"\xff\xfe"] {
        let e = decode_request(body).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (400, "invalid_json"));
    }
}

#[test]
fn response_encoding_has_openai_shape() {
    let r = ChatResponse {
        id: "c1".into(),
        model: "m".into(),
        created: 7,
        choices: vec![Choice {
            index: 0,
            content: None,
            refusal: None,
            tool_calls: vec![ToolCall { id: "t".into(), name: "f".into(), arguments: "{}".into() }],
            finish_reason: Some(FinishReason::ToolCalls),
        }],
        usage: Some(Usage { input_tokens: 3, output_tokens: 4, ..Default::default() }),
    };
    let v: Value = serde_json::from_slice(&encode_response(&r)).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "f");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["usage"]["total_tokens"], 7);
}
