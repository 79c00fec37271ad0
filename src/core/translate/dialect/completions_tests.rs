//! Legacy Completions: request decoding (and its refusals), answer and stream encoding, with
//! the shapes of <https://platform.openai.com/docs/api-reference/completions/object>.
use super::*;
use crate::core::translate::dialect::StreamEncoder;
use crate::core::types::{Choice, Content, FinishReason, Role, StreamEvent, ToolCall, Usage};
use crate::core::util::sse::SseParser;

fn decode(body: Value) -> Result<ChatRequest, GatewayError> {
    decode_request(body.to_string().as_bytes())
}

#[test]
fn a_prompt_becomes_one_user_message_with_the_defaults() {
    let r = decode(json!({"model": "m", "prompt": "Say this is a test"})).unwrap();
    assert_eq!(r.messages.len(), 1);
    assert_eq!((r.messages[0].role, &r.messages[0].content), (Role::User, &Content::Text("Say this is a test".into())));
    assert_eq!(r.max_output_tokens, Some(DEFAULT_MAX_TOKENS));
    assert_eq!((r.dialect, r.stream, r.include_usage), (Dialect::Completions, false, false));
    assert!(r.extra.is_empty());
}

#[test]
fn served_fields_are_read() {
    let r = decode(json!({"model": "m", "prompt": ["once"], "max_tokens": 7, "temperature": 0.5, "top_p": 0.9,
        "stop": "\n", "n": 1, "stream": true, "stream_options": {"include_usage": true}, "user": "u1",
        "echo": false, "best_of": 1, "suffix": null, "logprobs": null}))
    .unwrap();
    assert_eq!(r.messages[0].content, Content::Text("once".into()));
    assert_eq!((r.max_output_tokens, r.sampling.temperature, r.sampling.top_p), (Some(7), Some(0.5), Some(0.9)));
    assert_eq!((r.sampling.stop.as_slice(), r.sampling.stop_was_string), (&["\n".to_string()][..], true));
    assert_eq!((r.stream, r.include_usage, r.user.as_deref()), (true, true, Some("u1")));
}

#[test]
fn what_cannot_be_served_is_a_400_naming_the_field() {
    let cases = [
        (json!({"model": "m"}), "prompt"),
        (json!({"model": "m", "prompt": ["a", "b"]}), "prompt"),
        (json!({"model": "m", "prompt": [1, 2, 3]}), "prompt"),
        (json!({"model": "m", "prompt": [[1, 2]]}), "prompt"),
        (json!({"model": "m", "prompt": []}), "prompt"),
        (json!({"model": "m", "prompt": 5}), "prompt"),
        (json!({"model": "m", "prompt": "x", "n": 2}), "n"),
        (json!({"model": "m", "prompt": "x", "suffix": "end"}), "suffix"),
        (json!({"model": "m", "prompt": "x", "echo": true}), "echo"),
        (json!({"model": "m", "prompt": "x", "logprobs": 2}), "logprobs"),
        (json!({"model": "m", "prompt": "x", "best_of": 3}), "best_of"),
        (json!({"model": "m", "prompt": "x", "tools": []}), "tools"),
        (json!({"model": "m", "prompt": "x", "temperature": 3}), "temperature"),
        (json!({"prompt": "x"}), "model"),
    ];
    for (body, param) in cases {
        let e = decode(body.clone()).unwrap_err();
        assert_eq!((e.status, e.param.as_deref()), (400, Some(param)), "{body}: {}", e.message);
        let v: Value = serde_json::from_slice(&e.body_for(Dialect::Completions)).unwrap();
        assert_eq!(v["error"]["param"], param, "OpenAI's error shape");
    }
    let e = decode(json!({"model": "m", "prompt": [1, 2]})).unwrap_err();
    assert!(e.message.contains("token-id"), "{}", e.message);
}

fn answer() -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-abc".into(),
        model: "gpt-x".into(),
        created: 1_700_000_000,
        choices: vec![Choice {
            index: 0,
            content: Some("This is a test.".into()),
            refusal: None,
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::Length),
        }],
        usage: Some(Usage { input_tokens: 5, output_tokens: 7, ..Default::default() }),
    }
}

#[test]
fn an_answer_is_a_text_completion() {
    let v: Value = serde_json::from_slice(&encode_response(&answer())).unwrap();
    assert_eq!(
        v,
        json!({"id": "cmpl-abc", "object": "text_completion", "created": 1_700_000_000u64, "model": "gpt-x",
            "choices": [{"text": "This is a test.", "index": 0, "logprobs": null, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12,
                "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}})
    );
    let mut silent = answer();
    silent.choices[0].content = None;
    silent.id = "msg_1".into();
    let v: Value = serde_json::from_slice(&encode_response(&silent)).unwrap();
    assert_eq!((v["id"].as_str(), v["choices"][0]["text"].as_str()), (Some("cmpl-msg_1"), Some("")));
}

fn stream(include_usage: bool) -> Vec<String> {
    let events = [
        StreamEvent::Start { id: "chatcmpl-s".into(), model: "gpt-x".into(), created: 9 },
        StreamEvent::TextDelta { index: 0, text: "Hel".into() },
        StreamEvent::ToolCallDelta { index: 0, call_index: 0, id: Some("c".into()), name: Some("f".into()), arguments: "{}".into() },
        StreamEvent::TextDelta { index: 0, text: "lo".into() },
        StreamEvent::Finish { index: 0, reason: FinishReason::Stop },
        StreamEvent::Usage(Usage { input_tokens: 2, output_tokens: 2, ..Default::default() }),
        StreamEvent::Done,
    ];
    let mut enc = StreamEncoder::new(Dialect::Completions, include_usage, None);
    let bytes: Vec<u8> = events.iter().flat_map(|e| enc.push(e)).collect();
    SseParser::default().push(&bytes).unwrap().into_iter().map(|e| e.data).collect()
}

#[test]
fn a_stream_is_text_completion_frames_ending_in_done() {
    let frames = stream(false);
    let want = [
        json!({"id": "cmpl-s", "object": "text_completion", "created": 9, "model": "gpt-x",
            "choices": [{"text": "Hel", "index": 0, "logprobs": null, "finish_reason": null}]}),
        json!({"id": "cmpl-s", "object": "text_completion", "created": 9, "model": "gpt-x",
            "choices": [{"text": "lo", "index": 0, "logprobs": null, "finish_reason": null}]}),
        json!({"id": "cmpl-s", "object": "text_completion", "created": 9, "model": "gpt-x",
            "choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": "stop"}]}),
    ];
    assert_eq!(frames.len(), 4, "{frames:?}");
    for (got, want) in frames.iter().zip(&want) {
        assert_eq!(&serde_json::from_str::<Value>(got).unwrap(), want);
    }
    assert_eq!(frames[3], "[DONE]");
    let with_usage = stream(true);
    let usage: Value = serde_json::from_str(&with_usage[3]).unwrap();
    assert_eq!(
        (usage["object"].as_str(), &usage["choices"], &usage["usage"]["total_tokens"]),
        (Some("text_completion"), &json!([]), &json!(4))
    );
    assert_eq!(with_usage[4], "[DONE]");
}

#[test]
fn tool_calls_never_reach_a_completions_answer() {
    let mut r = answer();
    r.choices[0].tool_calls.push(ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() });
    let v: Value = serde_json::from_slice(&encode_response(&r)).unwrap();
    assert!(v["choices"][0].get("tool_calls").is_none());
}
