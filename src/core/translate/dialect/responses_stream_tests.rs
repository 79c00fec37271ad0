//! Tests of the Responses stream encoder: an exact transcript in the reference's order, the
//! incomplete and failed endings, and (property-tested) the sequence and pairing invariants
//! for any order of canonical events.

use super::*;
use crate::core::types::{FinishReason, StreamEvent, ToolCall, Usage};
use crate::core::util::sse::SseParser;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Each event as (its SSE name, its data), checking the name equals the data's `type`.
fn events(bytes: &[u8]) -> Vec<(String, Value)> {
    let parsed = SseParser::default().push(bytes).unwrap();
    parsed
        .into_iter()
        .map(|e| {
            let data: Value = serde_json::from_str(&e.data).unwrap();
            let name = e.event.unwrap_or_default();
            assert_eq!(data["type"].as_str(), Some(name.as_str()), "{}", e.data);
            (name, data)
        })
        .collect()
}

fn encode(evs: &[StreamEvent]) -> Vec<(String, Value)> {
    let mut enc = ResponsesStreamEncoder::new(Rc::new(Echo::new("req_1", json!({"model": "m", "input": "x"}).as_object())));
    events(&evs.iter().flat_map(|e| enc.push(e)).collect::<Vec<u8>>())
}

fn start() -> StreamEvent {
    StreamEvent::Start { id: "chatcmpl-1".into(), model: "gpt-x".into(), created: 7 }
}

fn delta(call_index: u32, first: bool, arguments: &str) -> StreamEvent {
    StreamEvent::ToolCallDelta {
        index: 0,
        call_index,
        id: first.then(|| format!("call_{call_index}")),
        name: first.then(|| "f".to_string()),
        arguments: arguments.into(),
    }
}

#[test]
fn text_then_a_call_is_the_references_transcript() {
    let usage = Usage { input_tokens: 5, output_tokens: 3, ..Default::default() };
    let got = encode(&[
        start(),
        StreamEvent::TextDelta { index: 0, text: "Hi".into() },
        StreamEvent::TextDelta { index: 0, text: "!".into() },
        delta(0, true, ""),
        delta(0, false, "{\"a\":"),
        delta(0, false, "1}"),
        StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
        StreamEvent::Usage(usage),
        StreamEvent::Done,
    ]);
    let msg = json!({"id": "msg_req_1_0", "type": "message", "status": "completed", "role": "assistant",
                     "content": [{"type": "output_text", "text": "Hi!", "annotations": [], "logprobs": []}]});
    let call = json!({"id": "fc_req_1_1", "type": "function_call", "status": "completed", "arguments": "{\"a\":1}",
                      "call_id": "call_0", "name": "f"});
    let at = |i: u64, item: &str| json!({"item_id": item, "output_index": i});
    let with = |a: Value, b: Value| {
        let mut a = a;
        a.as_object_mut().unwrap().extend(b.as_object().unwrap().clone());
        a
    };
    let want = [
        ("response.created", json!({})),
        ("response.in_progress", json!({})),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": {"id": "msg_req_1_0", "type": "message",
            "status": "in_progress", "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added",
            with(
                at(0, "msg_req_1_0"),
                json!({"content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
            ),
        ),
        ("response.output_text.delta", with(at(0, "msg_req_1_0"), json!({"content_index": 0, "delta": "Hi", "logprobs": []}))),
        ("response.output_text.delta", with(at(0, "msg_req_1_0"), json!({"content_index": 0, "delta": "!", "logprobs": []}))),
        ("response.output_text.done", with(at(0, "msg_req_1_0"), json!({"content_index": 0, "text": "Hi!", "logprobs": []}))),
        (
            "response.content_part.done",
            with(
                at(0, "msg_req_1_0"),
                json!({"content_index": 0,
            "part": {"type": "output_text", "text": "Hi!", "annotations": [], "logprobs": []}}),
            ),
        ),
        ("response.output_item.done", json!({"output_index": 0, "item": msg})),
        (
            "response.output_item.added",
            json!({"output_index": 1, "item": {"id": "fc_req_1_1", "type": "function_call",
            "status": "in_progress", "arguments": "", "call_id": "call_0", "name": "f"}}),
        ),
        ("response.function_call_arguments.delta", with(at(1, "fc_req_1_1"), json!({"delta": "{\"a\":"}))),
        ("response.function_call_arguments.delta", with(at(1, "fc_req_1_1"), json!({"delta": "1}"}))),
        ("response.function_call_arguments.done", with(at(1, "fc_req_1_1"), json!({"name": "f", "arguments": "{\"a\":1}"}))),
        ("response.output_item.done", json!({"output_index": 1, "item": call})),
        ("response.completed", json!({})),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (i, ((name, data), (want_name, want_data))) in got.iter().zip(&want).enumerate() {
        assert_eq!(name, want_name);
        assert_eq!(data["sequence_number"], i, "{name}");
        if name.starts_with("response.") && data.get("response").is_some() {
            continue;
        }
        let mut data = data.clone();
        let o = data.as_object_mut().unwrap();
        o.remove("type");
        o.remove("sequence_number");
        assert_eq!(&data, want_data, "{name}");
    }
    let created = &got[0].1["response"];
    assert_eq!(
        (&created["id"], &created["status"], &created["output"], &created["usage"]),
        (&json!("resp_req_1"), &json!("in_progress"), &json!([]), &Value::Null)
    );
    assert_eq!((&created["model"], &created["created_at"]), (&json!("gpt-x"), &json!(7)));
    let done = &got[14].1["response"];
    assert_eq!((&done["id"], &done["status"], &done["output"]), (&json!("resp_req_1"), &json!("completed"), &json!([msg, call])));
    assert_eq!(
        done["usage"],
        json!({"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": 3,
                                     "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 8})
    );
}

#[test]
fn the_stream_ends_as_the_whole_answer_would_be_encoded() {
    use crate::core::state::cache::stream_events;
    use crate::core::types::{ChatResponse, Choice};
    let echo = Echo::new("req_1", json!({"model": "m", "input": "x"}).as_object());
    for (content, calls, finish) in [
        (Some("Hello"), vec![], FinishReason::Stop),
        (None, vec![ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() }], FinishReason::ToolCalls),
        (Some("Hel"), vec![], FinishReason::Length),
        (None, vec![], FinishReason::Stop),
    ] {
        let r = ChatResponse {
            id: "x".into(),
            model: "gpt-x".into(),
            created: 3,
            choices: vec![Choice {
                index: 0,
                content: content.map(Into::into),
                refusal: None,
                tool_calls: calls,
                finish_reason: Some(finish.clone()),
            }],
            usage: Some(Usage { input_tokens: 1, output_tokens: 1, ..Default::default() }),
        };
        let mut enc = ResponsesStreamEncoder::new(Rc::new(echo.clone()));
        let got = events(&stream_events(&r).iter().flat_map(|e| enc.push(e)).collect::<Vec<u8>>());
        let (name, last) = got.last().unwrap();
        let whole: Value = serde_json::from_slice(&crate::core::translate::dialect::responses::encode_response(&r, &echo)).unwrap();
        assert_eq!(&last["response"], &whole, "{finish:?}");
        let want = if finish == FinishReason::Length { "response.incomplete" } else { "response.completed" };
        assert_eq!(name, want);
    }
}

#[test]
fn a_broken_stream_ends_in_response_failed_with_its_error() {
    let got = encode(&[
        start(),
        StreamEvent::TextDelta { index: 0, text: "Hi".into() },
        StreamEvent::Error { message: "cut".into() },
        StreamEvent::Done,
    ]);
    let (name, last) = got.last().unwrap();
    assert_eq!(name, "response.failed");
    assert_eq!(
        (&last["response"]["status"], &last["response"]["error"]),
        (&json!("failed"), &json!({"code": "server_error", "message": "cut"}))
    );
    assert!(!got.iter().any(|(n, _)| n == "response.completed"), "never a clean finish");
    // An error before anything was sent still opens the response first.
    let got = encode(&[StreamEvent::Error { message: "cut".into() }]);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["response.created", "response.in_progress", "response.failed"]);
}

fn any_event() -> impl Strategy<Value = StreamEvent> {
    prop_oneof![
        "[a-z ]{0,4}".prop_map(|text| StreamEvent::TextDelta { index: 0, text }),
        (0u32..3, any::<bool>(), "[{}a:1]{0,3}").prop_map(|(i, first, a)| delta(i, first, &a)),
        Just(StreamEvent::Finish { index: 0, reason: FinishReason::Stop }),
        Just(StreamEvent::Finish { index: 0, reason: FinishReason::Length }),
        Just(StreamEvent::Usage(Usage { input_tokens: 1, output_tokens: 2, ..Default::default() })),
        Just(StreamEvent::TextDelta { index: 1, text: "other choice".into() }),
    ]
}

proptest! {
    #[test]
    fn sequence_numbers_count_up_and_every_added_is_done(
        body in proptest::collection::vec(any_event(), 0..12),
        ending in 0usize..3,
    ) {
        let mut evs = vec![start()];
        evs.extend(body);
        evs.extend(match ending {
            0 => vec![StreamEvent::Done],
            1 => vec![StreamEvent::Error { message: "cut".into() }, StreamEvent::Done],
            _ => vec![StreamEvent::Done, StreamEvent::Done, StreamEvent::Error { message: "late".into() }],
        });
        let got = encode(&evs);
        for (i, (_, data)) in got.iter().enumerate() {
            prop_assert_eq!(&data["sequence_number"], &json!(i));
        }
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        prop_assert_eq!(&names[..2], &["response.created", "response.in_progress"]);
        let last = *names.last().unwrap();
        let ends = ["response.completed", "response.incomplete", "response.failed"];
        prop_assert!(ends.contains(&last));
        prop_assert_eq!(names.iter().filter(|n| ends.contains(n)).count(), 1);
        if last != "response.failed" {
            for (added, done) in [("response.output_item.added", "response.output_item.done"),
                                  ("response.content_part.added", "response.content_part.done")] {
                prop_assert_eq!(names.iter().filter(|n| **n == added).count(), names.iter().filter(|n| **n == done).count());
            }
            // Each item's .done comes before the next item's .added, and the final output
            // lists exactly the items done, in order.
            let mut open = false;
            let mut items = Vec::new();
            for (name, data) in &got {
                match name.as_str() {
                    "response.output_item.added" => { prop_assert!(!open); open = true; }
                    "response.output_item.done" => { prop_assert!(open); open = false; items.push(data["item"].clone()); }
                    _ => {}
                }
            }
            prop_assert!(!open);
            prop_assert_eq!(&got.last().unwrap().1["response"]["output"], &Value::Array(items));
        }
    }
}
