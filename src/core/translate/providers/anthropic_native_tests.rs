//! An Anthropic caller at an Anthropic upstream: the request body is the caller's own with
//! the listed edits only; the stream the caller gets is the upstream's own events. Fixtures
//! follow <https://docs.anthropic.com/en/api/messages> and
//! <https://docs.anthropic.com/en/docs/build-with-claude/streaming>.
use crate::core::config::ProviderKind;
use crate::core::translate::dialect::anthropic::{decode_count_request, decode_request};
use crate::core::translate::providers::anthropic::{build_count_request, build_request, response_is_lossy};
use crate::core::translate::providers::{StreamDecoder, Target};
use crate::core::types::{FinishReason, StreamEvent, Usage};
use serde_json::{json, Value};

fn target() -> Target<'static> {
    Target {
        kind: ProviderKind::Anthropic,
        base_url: "https://api.anthropic.com",
        model: "claude-sonnet-4-5-20250929",
        api_key: Some("sk-ant"),
        api_version: "",
        max_output_tokens: 1024,
        responses_api: false,
    }
}

fn sent(body: &Value) -> Value {
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    serde_json::from_slice(&build_request(&req, &target()).unwrap().body).unwrap()
}

/// Every field the canonical form cannot hold, in its published shape.
fn rich_request() -> Value {
    let cache = json!({"type": "ephemeral"});
    json!({
        "model": "claude-public", "max_tokens": 2048, "stream": true, "temperature": 1,
        "system": [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "<long manual>", "cache_control": cache}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "service_tier": "auto",
        "metadata": {"user_id": "u-1"},
        "stop_sequences": ["###"],
        "tools": [{"name": "look", "description": "Look", "input_schema": {"type": "object"}, "cache_control": cache}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": [
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
                 "title": "Facts", "citations": {"enabled": true}},
                {"type": "text", "text": "What colour is the grass?", "cache_control": cache}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "The document says green.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
                {"type": "text", "text": "Green.", "citations": [{"type": "char_location", "cited_text": "The grass is green.",
                    "document_index": 0, "document_title": "Facts", "start_char_index": 0, "end_char_index": 19}]},
                {"type": "tool_use", "id": "toolu_01", "name": "look", "input": {"at": "lawn"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": true, "content": [
                    {"type": "text", "text": "camera offline"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
                {"type": "text", "text": "Try again?"}]}
        ]
    })
}

#[test]
fn an_anthropic_callers_request_reaches_an_anthropic_upstream_with_only_model_changed() {
    let caller = rich_request();
    let mut want = caller.clone();
    want["model"] = "claude-sonnet-4-5-20250929".into();
    assert_eq!(sent(&caller), want);
}

#[test]
fn max_tokens_and_stream_are_the_gateways() {
    let caller = json!({"model": "c", "max_tokens": 7, "stream": false, "messages": [{"role": "user", "content": "hi"}]});
    let b = sent(&caller);
    assert_eq!(b, json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 7, "messages": [{"role": "user", "content": "hi"}]}));
    // A sub-request asks for the whole answer even when the caller streams.
    let mut req = decode_request(rich_request().to_string().as_bytes()).unwrap();
    req.stream = false;
    let b: Value = serde_json::from_slice(&build_request(&req, &target()).unwrap().body).unwrap();
    assert!(b.get("stream").is_none(), "{b}");
}

#[test]
fn system_messages_fold_into_system_blocks_and_empty_text_is_dropped() {
    let cache = json!({"type": "ephemeral"});
    let caller = json!({"model": "c", "max_tokens": 9, "system": "Be terse.", "messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi", "cache_control": cache}]},
        {"role": "system", "content": [{"type": "text", "text": "Now in French.", "cache_control": cache}, {"type": "text", "text": ""}]},
        {"role": "assistant", "content": ""},
        {"role": "system", "content": "Briefly."},
        {"role": "user", "content": [{"type": "text", "text": ""}]},
        {"role": "user", "content": "encore"}]});
    let b = sent(&caller);
    assert_eq!(
        b["system"],
        json!([{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Now in French.", "cache_control": cache}, {"type": "text", "text": "Briefly."}])
    );
    assert_eq!(
        b["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": cache}]}, {"role": "user", "content": "encore"}])
    );
    // All plain strings: one string, as the canonical encoding writes it.
    let b = sent(&json!({"model": "c", "max_tokens": 9, "system": "Be terse.", "messages": [
        {"role": "system", "content": ""}, {"role": "user", "content": "hi"}, {"role": "system", "content": "Briefly."}]}));
    assert_eq!(b["system"], "Be terse.\n\nBriefly.");
    assert_eq!(b["messages"], json!([{"role": "user", "content": "hi"}]));
    // Without system messages, a block system prompt stays as sent.
    let blocks = json!([{"type": "text", "text": "S", "cache_control": cache}]);
    let b = sent(&json!({"model": "c", "max_tokens": 9, "system": blocks, "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(b["system"], blocks);
    // Nothing left to send: the caller's mistake, a 400.
    let only_empty = json!({"model": "c", "max_tokens": 9, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]});
    let e = build_request(&decode_request(only_empty.to_string().as_bytes()).unwrap(), &target()).unwrap_err();
    assert_eq!((e.status, e.param.as_deref()), (400, Some("messages")));
}

#[test]
fn temperature_above_one_never_reaches_the_passthrough() {
    let body = json!({"model": "c", "max_tokens": 9, "temperature": 1.5, "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(decode_request(body.to_string().as_bytes()).unwrap_err().status, 400);
}

#[test]
fn token_counts_send_the_callers_own_blocks() {
    let req = decode_count_request(rich_request().to_string().as_bytes()).unwrap();
    let b: Value = serde_json::from_slice(&build_count_request(&req, &target()).unwrap().body).unwrap();
    let caller = rich_request();
    let mut want = json!({"model": "claude-sonnet-4-5-20250929"});
    for field in ["system", "messages", "tools", "tool_choice", "thinking", "context_management"] {
        want[field] = caller[field].clone();
    }
    assert_eq!(b, want);
}

/// A stream with every event kind the canonical events cannot carry, framed exactly as the
/// published streaming examples are.
pub const RICH_STREAM: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01R\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"The grass is green.\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3pzix\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_01\",\"name\":\"web_search\",\"input\":{}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \\\"grass\\\"}\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_01\",\"content\":[{\"type\":\"web_search_result\",\"title\":\"Grass\",\"url\":\"https://en.wikipedia.org/wiki/Poaceae\",\"encrypted_content\":\"Eo8B\",\"page_age\":null}]}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"text\",\"text\":\"\",\"citations\":[]}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"type\":\"web_search_result_location\",\"cited_text\":\"Grass is green\",\"url\":\"https://en.wikipedia.org/wiki/Poaceae\",\"title\":\"Grass\",\"encrypted_index\":\"Eo8B\"}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"text_delta\",\"text\":\"Green\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":4}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"###\"},\"usage\":{\"output_tokens\":42}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

const ERROR_EVENT: &str =
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

/// Decodes `parts` in turn: the canonical events, and the echo taken after each part.
fn run(parts: &[&[u8]]) -> (Vec<StreamEvent>, Vec<u8>, bool) {
    let mut d = StreamDecoder::new(crate::core::types::Dialect::Anthropic, Default::default());
    let (mut evs, mut echo) = (Vec::new(), Vec::new());
    for p in parts {
        evs.extend(d.push(p).unwrap());
        echo.extend(d.take_echo());
    }
    evs.extend(d.finish().unwrap());
    echo.extend(d.take_echo());
    (evs, echo, d.lossy())
}

#[test]
fn the_echo_is_the_upstreams_stream_while_usage_and_finish_are_still_decoded() {
    let (evs, echo, lossy) = run(&[RICH_STREAM.as_bytes()]);
    assert_eq!(String::from_utf8(echo).unwrap(), RICH_STREAM);
    assert!(lossy, "thinking, citations and a stop sequence have no canonical home");
    let usage = Usage { input_tokens: 2060, output_tokens: 42, cached_input_tokens: 2048, ..Default::default() };
    assert_eq!(
        evs,
        [
            StreamEvent::Start { id: "msg_01R".into(), model: "claude-sonnet-4-5-20250929".into(), created: 0 },
            StreamEvent::TextDelta { index: 0, text: "Green".into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::Stop },
            StreamEvent::Usage(usage),
            StreamEvent::Done,
        ]
    );
    let (_, _, lossy) = run(&[super::super::anthropic::tests::STREAM.as_bytes()]);
    assert!(!lossy, "text and tool calls only: the canonical answer replays it");
}

#[test]
fn an_error_event_is_decoded_but_not_echoed() {
    let stream = format!("{}{ERROR_EVENT}", &RICH_STREAM[..RICH_STREAM.find("event: message_delta").unwrap()]);
    let (evs, echo, _) = run(&[stream.as_bytes()]);
    assert_eq!(String::from_utf8(echo).unwrap(), stream.trim_end_matches(ERROR_EVENT));
    assert_eq!(evs.last(), Some(&StreamEvent::Error { message: "overloaded_error: Overloaded".into() }));
}

#[test]
fn the_echo_is_split_invariant() {
    let stream = format!("{RICH_STREAM}{ERROR_EVENT}");
    let bytes = stream.as_bytes();
    let whole = run(&[bytes]);
    for cut in 0..bytes.len() {
        assert_eq!(run(&[&bytes[..cut], &bytes[cut..]]), whole, "cut at {cut}");
    }
    // CRLF framing and a missing space after the colon are re-framed to the canonical form.
    let loose = RICH_STREAM.replace("\n", "\r\n").replace("data: ", "data:");
    assert_eq!(run(&[loose.as_bytes()]).1, RICH_STREAM.as_bytes());
}

#[test]
fn a_non_streamed_answer_is_lossy_exactly_when_re_encoding_would_change_it() {
    let body = |content: Value, stop: &str| {
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "c",
        "content": content, "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}})
        .to_string()
    };
    let text = json!({"type": "text", "text": "hi"});
    let tool = json!({"type": "tool_use", "id": "toolu_1", "name": "look", "input": {}});
    assert!(!response_is_lossy(body(json!([text, tool]), "tool_use").as_bytes()));
    assert!(response_is_lossy(body(json!([text]), "stop_sequence").as_bytes()));
    assert!(response_is_lossy(body(json!([{"type": "thinking", "thinking": "t", "signature": "s"}, text]), "end_turn").as_bytes()));
    assert!(response_is_lossy(body(json!([{"type": "text", "text": "hi", "citations": []}]), "end_turn").as_bytes()));
}
