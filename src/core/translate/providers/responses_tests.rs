//! Tests of the Responses upstream wire (passthrough): the request is the caller's own with
//! its model set, and answers and streams in the reference's shapes read as their canonical
//! meaning (<https://platform.openai.com/docs/api-reference/responses-streaming>).

use super::*;
use crate::core::config::ProviderKind;
use crate::core::translate::providers::{assert_split_invariant, StreamDecoder as Decoder};
use serde_json::json;

/// A stream with text, then a function call, ending `completed`, as the reference shows it.
pub const STREAM: &str = "event: response.created\n\
data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_up\",\"object\":\"response\",\"created_at\":1741487325,\"status\":\"in_progress\",\"model\":\"gpt-4.1-2025-04-14\",\"output\":[],\"usage\":null}}\n\n\
event: response.in_progress\n\
data: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_up\",\"object\":\"response\",\"created_at\":1741487325,\"status\":\"in_progress\",\"model\":\"gpt-4.1-2025-04-14\",\"output\":[],\"usage\":null}}\n\n\
event: response.output_item.added\n\
data: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"msg_up\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n\n\
event: response.output_text.delta\n\
data: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"item_id\":\"msg_up\",\"output_index\":0,\"content_index\":0,\"delta\":\"Let me \",\"logprobs\":[]}\n\n\
event: response.output_text.delta\n\
data: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"item_id\":\"msg_up\",\"output_index\":0,\"content_index\":0,\"delta\":\"check.\",\"logprobs\":[]}\n\n\
event: response.output_item.added\n\
data: {\"type\":\"response.output_item.added\",\"sequence_number\":5,\"output_index\":1,\"item\":{\"id\":\"fc_up\",\"type\":\"function_call\",\"status\":\"in_progress\",\"arguments\":\"\",\"call_id\":\"call_up\",\"name\":\"get_weather\"}}\n\n\
event: response.function_call_arguments.delta\n\
data: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":6,\"item_id\":\"fc_up\",\"output_index\":1,\"delta\":\"{\\\"city\\\":\"}\n\n\
event: response.function_call_arguments.delta\n\
data: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":7,\"item_id\":\"fc_up\",\"output_index\":1,\"delta\":\"\\\"Paris\\\"}\"}\n\n\
event: response.completed\n\
data: {\"type\":\"response.completed\",\"sequence_number\":8,\"response\":{\"id\":\"resp_up\",\"object\":\"response\",\"created_at\":1741487325,\"status\":\"completed\",\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{\"id\":\"msg_up\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Let me check.\",\"annotations\":[]}]},{\"id\":\"fc_up\",\"type\":\"function_call\",\"status\":\"completed\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\",\"call_id\":\"call_up\",\"name\":\"get_weather\"}],\"usage\":{\"input_tokens\":36,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":87,\"output_tokens_details\":{\"reasoning_tokens\":16},\"total_tokens\":123}}}\n\n";

/// A whole answer: a reasoning item (no canonical form), a message, a function call.
pub const RESPONSE: &str = r#"{"id":"resp_up","object":"response","created_at":1741476542,"status":"completed","model":"gpt-4.1-2025-04-14",
"output":[{"id":"rs_up","type":"reasoning","summary":[]},
{"id":"msg_up","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"In a shimmering forest.","annotations":[]}]},
{"id":"fc_up","type":"function_call","status":"completed","arguments":"{}","call_id":"call_up","name":"f"}],
"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":0},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123}}"#;

fn events(bytes: &[u8]) -> Vec<StreamEvent> {
    let mut d = Decoder::new(Dialect::Responses, Default::default());
    let mut evs = d.push(bytes).unwrap();
    evs.extend(d.finish().unwrap());
    evs
}

#[test]
fn the_callers_own_request_goes_to_responses_with_its_model_set() {
    let raw = json!({"model": "smart", "input": "hi", "stream": true, "reasoning": {"effort": "low", "summary": "auto"},
                     "include": ["reasoning.encrypted_content"]});
    let req = ChatRequest {
        stream: true,
        raw: raw.as_object().cloned(),
        ..crate::core::translate::dialect::responses::decode_request(raw.to_string().as_bytes()).unwrap()
    };
    let t = Target {
        kind: ProviderKind::Openai,
        base_url: "https://api.openai.com/v1/",
        model: "gpt-5",
        api_key: Some("sk-1"),
        api_version: "",
        max_output_tokens: 1,
        responses_api: true,
    };
    let call = crate::core::translate::providers::build_request(&req, &t).unwrap();
    assert_eq!(call.url, "https://api.openai.com/v1/responses");
    assert!(call.headers.contains(&("authorization".into(), "Bearer sk-1".into())));
    let mut want = raw.clone();
    want["model"] = "gpt-5".into();
    assert_eq!(serde_json::from_slice::<Value>(&call.body).unwrap(), want);
    // Without the option, the same request is translated to chat.
    let call = crate::core::translate::providers::build_request(&req, &Target { responses_api: false, ..t }).unwrap();
    assert_eq!(call.url, "https://api.openai.com/v1/chat/completions");
}

#[test]
fn a_stream_reads_as_its_canonical_events_split_anywhere() {
    let evs = events(STREAM.as_bytes());
    let call = |arguments: &str, first: bool| StreamEvent::ToolCallDelta {
        index: 0,
        call_index: 0,
        id: first.then(|| "call_up".into()),
        name: first.then(|| "get_weather".into()),
        arguments: arguments.into(),
    };
    let want = vec![
        StreamEvent::Start { id: "resp_up".into(), model: "gpt-4.1-2025-04-14".into(), created: 1741487325 },
        StreamEvent::TextDelta { index: 0, text: "Let me ".into() },
        StreamEvent::TextDelta { index: 0, text: "check.".into() },
        call("", true),
        call("{\"city\":", false),
        call("\"Paris\"}", false),
        StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
        StreamEvent::Usage(Usage {
            input_tokens: 36,
            output_tokens: 87,
            cached_input_tokens: 4,
            reasoning_tokens: 16,
            ..Default::default()
        }),
        StreamEvent::Done,
    ];
    assert_eq!(evs, want);
    assert_split_invariant(Dialect::Responses, STREAM.as_bytes());
    let mut d = Decoder::new(Dialect::Responses, Default::default());
    d.push(STREAM.as_bytes()).unwrap();
    assert_eq!(d.take_echo(), STREAM.as_bytes(), "every event echoed as received");
}

#[test]
fn errors_and_failures_are_error_events_not_echoed() {
    let failed = "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":4,\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n";
    let error = "event: error\ndata: {\"type\":\"error\",\"code\":\"x\",\"message\":\"bad\",\"sequence_number\":5}\n\n";
    let mut d = Decoder::new(Dialect::Responses, Default::default());
    let evs = d.push(format!("{failed}{error}").as_bytes()).unwrap();
    assert_eq!(evs, [StreamEvent::Error { message: "boom".into() }, StreamEvent::Error { message: "bad".into() }]);
    assert!(d.take_echo().is_empty());
    let frame = String::from_utf8(d.error_event("cut").unwrap()).unwrap();
    assert_eq!(
        frame,
        "event: error\ndata: {\"type\":\"error\",\"code\":\"stream_error\",\"message\":\"cut\",\"param\":null,\"sequence_number\":6}\n\n"
    );
    assert!(Decoder::new(Dialect::Responses, Default::default()).push(b"data: {not json\n\n").is_err());
}

#[test]
fn an_answer_reads_as_its_canonical_answer() {
    let r = decode_response(RESPONSE.as_bytes()).unwrap();
    assert_eq!((r.id.as_str(), r.model.as_str(), r.created), ("resp_up", "gpt-4.1-2025-04-14", 1741476542));
    let c = &r.choices[0];
    assert_eq!((c.content.as_deref(), c.finish_reason.clone()), (Some("In a shimmering forest."), Some(FinishReason::ToolCalls)));
    assert_eq!(c.tool_calls, [ToolCall { id: "call_up".into(), name: "f".into(), arguments: "{}".into() }]);
    assert_eq!(r.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((36, 87)));
    let cut =
        RESPONSE.replace("\"completed\",\"model\"", "\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"model\"");
    assert_eq!(decode_response(cut.as_bytes()).unwrap().choices[0].finish_reason, Some(FinishReason::Length));
    assert!(decode_response(b"{\"object\":\"chat.completion\"}").is_err());
}
