//! The chat history mapping: messages to stored items and back unchanged, answers as
//! assistant messages, and a history spliced into OpenAI and Anthropic requests (and into
//! what an Anthropic upstream receives from an Anthropic caller).

use super::*;
use crate::core::config::ProviderKind;
use crate::core::translate::dialect;
use crate::core::translate::providers::{self, Target};
use crate::core::types::{Choice, FinishReason, ToolCall};

fn openai(body: &str) -> ChatRequest {
    dialect::openai::decode_request(body.as_bytes()).unwrap()
}

fn anthropic_req(body: &str) -> ChatRequest {
    dialect::anthropic::decode_request(body.as_bytes()).unwrap()
}

const CONVERSATION: &str = r#"{"model": "m", "messages": [
    {"role": "system", "content": "be brief"},
    {"role": "developer", "content": "and kind"},
    {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/i.png", "detail": "low"}}], "name": "ann"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "functions.look:0", "type": "function", "function": {"name": "look", "arguments": "{\"at\":1}"}}]},
    {"role": "tool", "tool_call_id": "functions.look:0", "content": "a cat"},
    {"role": "assistant", "content": "A cat.", "refusal": null},
    {"role": "user", "content": "thanks"}
]}"#;

#[test]
fn new_messages_are_stored_and_read_back_unchanged() {
    let req = openai(CONVERSATION);
    assert_eq!(instructions(&req), 2);
    let stored = items(&req);
    assert_eq!(stored.len(), 5, "the instructions are not stored");
    assert_eq!(stored[1]["tool_calls"][0]["id"], "functions.look:0", "ids as their issuer wrote them");
    let text: Vec<String> = stored.iter().map(Value::to_string).collect();
    let back: Vec<Value> = text.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    assert_eq!(decode(back).unwrap(), req.messages[2..].to_vec());
    assert_eq!(decode(Vec::new()).unwrap(), Vec::new());
    assert!(decode(vec![json!({"role": "nobody", "content": "x"})]).is_err(), "a stored item is checked like a request's");
}

#[test]
fn an_answer_is_stored_as_its_first_choice() {
    let choice = |content: Option<&str>, calls: Vec<ToolCall>, refusal: Option<&str>| Choice {
        index: 0,
        content: content.map(str::to_string),
        refusal: refusal.map(str::to_string),
        tool_calls: calls,
        finish_reason: Some(FinishReason::Stop),
    };
    let resp = |choices| ChatResponse { id: "c".into(), model: "m".into(), created: 1, choices, usage: None };
    let call = ToolCall { id: "call_1".into(), name: "f".into(), arguments: "{}".into() };
    let text = answer(&resp(vec![choice(Some("hi"), vec![], None), choice(Some("other"), vec![], None)])).unwrap();
    assert_eq!(text, json!({"role": "assistant", "content": "hi"}));
    let calls = answer(&resp(vec![choice(None, vec![call.clone()], None)])).unwrap();
    assert_eq!(calls, json!({"role": "assistant", "content": null, "tool_calls": [dialect::openai::encode_tool_call(&call)]}));
    let refused = answer(&resp(vec![choice(None, vec![], Some("no"))])).unwrap();
    assert_eq!(refused["refusal"], "no");
    for item in [text, calls, refused] {
        assert_eq!(decode(vec![item]).unwrap()[0].role, Role::Assistant, "every stored answer reads back");
    }
    assert_eq!(answer(&resp(vec![])), None);
}

#[test]
fn an_anthropic_callers_turn_is_stored_as_openai_messages() {
    let req = anthropic_req(
        r#"{"model": "m", "max_tokens": 9, "system": "sys", "messages": [
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}, {"type": "text", "text": "so?"}]}
    ]}"#,
    );
    let stored = items(&req);
    assert_eq!(
        stored[0],
        json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}),
        "thinking is not stored"
    );
    assert_eq!(stored[1], json!({"role": "tool", "content": "42", "tool_call_id": "toolu_1"}));
    assert_eq!(stored[2]["role"], "user");
}

fn history() -> Vec<Message> {
    decode(vec![
        json!({"role": "user", "content": "first"}),
        json!({"role": "assistant", "content": "one"}),
        json!({"role": "system", "content": "later rule"}),
    ])
    .unwrap()
}

#[test]
fn a_history_goes_between_the_instructions_and_the_new_turn() {
    let mut req = openai(r#"{"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "second"}]}"#);
    splice(&mut req, history()).unwrap();
    let texts: Vec<String> = req.messages.iter().map(|m| m.content.text()).collect();
    assert_eq!(texts, ["s", "first", "one", "later rule", "second"]);
    assert!(req.raw.is_none());
    let mut plain = openai(r#"{"model": "m", "messages": [{"role": "user", "content": "x"}]}"#);
    splice(&mut plain, Vec::new()).unwrap();
    assert_eq!(plain.messages.len(), 1);
}

#[test]
fn an_anthropic_upstream_gets_the_history_in_an_anthropic_callers_own_request() {
    let mut req = anthropic_req(
        r#"{"model": "m", "max_tokens": 9, "system": "s", "messages": [{"role": "user", "content": [{"type": "text", "text": "second", "cache_control": {"type": "ephemeral"}}]}]}"#,
    );
    splice(&mut req, history()).unwrap();
    let target = Target {
        kind: ProviderKind::Anthropic,
        base_url: "https://a",
        model: "claude",
        api_key: None,
        api_version: "",
        max_output_tokens: 9,
        responses_api: false,
    };
    let sent = providers::build_request(&req, &target).unwrap();
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["system"], "s\n\nlater rule", "the history's system message is folded into system");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "first"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "one"}]},
            {"role": "user", "content": [{"type": "text", "text": "second", "cache_control": {"type": "ephemeral"}}]}
        ]),
        "the caller's own blocks pass intact after the history"
    );
}
