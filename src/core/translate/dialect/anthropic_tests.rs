//! Tests of the Anthropic Messages dialect: a full request decodes, bad fields are named by
//! their `param`, and answers encode in Anthropic's `message` shape.

use super::*;
use serde_json::json;

fn decode(v: Value) -> Result<ChatRequest, GatewayError> {
    decode_request(&serde_json::to_vec(&v).unwrap())
}

#[test]
fn full_request_decodes() {
    let r = decode(json!({
        "model": "claude", "max_tokens": 300,
        "system": [{"type": "text", "text": "be brief"}, {"type": "text", "text": "no jokes"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}}]},
            {"role": "assistant", "content": [{"type": "text", "text": "checking"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]},
                {"type": "text", "text": "and tomorrow?"}]}
        ],
        "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "temperature": 0.5, "top_k": 40, "stop_sequences": ["END"], "metadata": {"user_id": "u1"},
        "stream": true, "thinking": {"type": "enabled", "budget_tokens": 1024}
    }))
    .unwrap();
    assert_eq!(r.dialect, Dialect::Anthropic);
    assert_eq!(r.messages[0], Message::new(Role::System, Content::Text("be brief\n\nno jokes".into())));
    assert!(
        matches!(&r.messages[1].content, Content::Parts(p) if matches!(&p[1], Part::Image { url, .. } if url == "data:image/png;base64,iVBOR") && matches!(p[2], Part::Other(_)))
    );
    assert_eq!(r.messages[2].tool_calls[0].arguments, r#"{"city":"Oslo"}"#);
    assert_eq!(
        (r.messages[3].role, r.messages[3].tool_call_id.as_deref(), r.messages[3].content.text()),
        (Role::Tool, Some("toolu_1"), "sunny".into())
    );
    assert_eq!(r.messages[4].content.text(), "and tomorrow?");
    assert_eq!((r.tool_choice.clone(), r.parallel_tool_calls), (Some(ToolChoice::Required), Some(false)));
    assert_eq!((r.max_output_tokens, r.sampling.top_k, r.user.as_deref()), (Some(300), Some(40), Some("u1")));
    assert!(r.stream && r.include_usage);
    assert!(r.extra.contains_key("thinking"));
}

#[test]
fn system_role_messages_fold_into_the_system_prompt_in_order() {
    let r = decode(json!({
        "model": "claude", "max_tokens": 300, "system": "top",
        "messages": [
            {"role": "system", "content": "first"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "third", "cache_control": {"type": "ephemeral"}}]},
            {"role": "system", "content": ""},
            {"role": "user", "content": "go on"}
        ]
    }))
    .unwrap();
    assert_eq!(r.messages[0], Message::new(Role::System, Content::Text("top\n\nfirst\n\nsecond\n\nthird".into())));
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::User]);
    // Without a top-level `system`, the first system message makes the system prompt.
    let r = decode(
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "late"}]}),
    )
    .unwrap();
    assert_eq!(r.messages[0], Message::new(Role::System, Content::Text("late".into())));
    assert_eq!(r.messages[1].role, Role::User);
}

#[test]
fn output_config_sets_the_answer_format_and_effort_and_is_kept() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
    let r = decode(json!({
        "model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}, "effort": "medium"}
    }))
    .unwrap();
    assert_eq!(
        r.response_format,
        Some(ResponseFormat::JsonSchema { name: OUTPUT_SCHEMA_NAME.into(), schema: Some(schema.clone()), strict: None, description: None })
    );
    assert_eq!(r.reasoning_effort, Some(ReasoningEffort::Medium));
    assert_eq!(r.extra["output_config"]["format"]["schema"], schema, "kept for Anthropic upstreams");
    for (effort, want) in
        [("low", ReasoningEffort::Low), ("high", ReasoningEffort::High), ("xhigh", ReasoningEffort::High), ("max", ReasoningEffort::High)]
    {
        let r = decode(
            json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "output_config": {"effort": effort}}),
        )
        .unwrap();
        assert_eq!((r.reasoning_effort, r.response_format), (Some(want), None), "{effort}");
    }
}

#[test]
fn bad_inputs_name_their_param() {
    let m = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (json!({"messages": m, "max_tokens": 5}), "model"),
        (json!({"model": "c", "messages": m}), "max_tokens"),
        (json!({"model": "c", "max_tokens": 5}), "messages"),
        (json!({"model": "c", "max_tokens": 5, "messages": []}), "messages"),
        (json!({"model": "c", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]}), "messages[0].role"),
        (json!({"model": "c", "max_tokens": 5, "messages": [{"role": "system"}, {"role": "user", "content": "x"}]}), "messages[0].content"),
        (
            json!({"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": [{"type": "text"}]}, {"role": "user", "content": "x"}]}),
            "messages[0].content[0].text",
        ),
        (
            json!({"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": 7}, {"role": "user", "content": "x"}]}),
            "messages[0].content",
        ),
        (json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user"}]}), "messages[0].content"),
        (json!({"model": "c", "max_tokens": "5", "messages": m}), "max_tokens"),
        (json!({"model": "c", "max_tokens": 5, "messages": m, "temperature": 1.5}), "temperature"),
        (json!({"model": "c", "max_tokens": 5, "messages": m, "tool_choice": {"type": "maybe"}}), "tool_choice.type"),
        (json!({"model": "c", "max_tokens": 5, "messages": m, "output_config": "high"}), "output_config"),
        (json!({"model": "c", "max_tokens": 5, "messages": m, "output_config": {"effort": "extreme"}}), "output_config.effort"),
        (json!({"model": "c", "max_tokens": 5, "messages": m, "output_config": {"format": {"type": "xml"}}}), "output_config.format.type"),
        (
            json!({"model": "c", "max_tokens": 5, "messages": m, "output_config": {"format": {"type": "json_schema"}}}),
            "output_config.format.schema",
        ),
        (json!({"model": "c", "max_tokens": 5, "messages": m, "tools": [{"name": "f"}]}), "tools[0].input_schema"),
        (
            json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}]}),
            "messages[0].content[0].source.type",
        ),
    ];
    for (body, param) in cases {
        let e = decode(body.clone()).unwrap_err();
        assert_eq!((e.status, e.param.as_deref()), (400, Some(param)), "{body}: {}", e.message);
    }
}

#[test]
fn response_encoding() {
    let r = ChatResponse {
        id: "msg_1".into(),
        model: "gpt-4o".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            content: Some("hi".into()),
            refusal: None,
            tool_calls: vec![ToolCall { id: "c1".into(), name: "f".into(), arguments: "{\"a\":1}".into() }],
            finish_reason: Some(FinishReason::ToolCalls),
        }],
        usage: Some(Usage { input_tokens: 100, cached_input_tokens: 30, cache_write_tokens: 10, output_tokens: 5, ..Default::default() }),
    };
    let v: Value = serde_json::from_slice(&encode_response(&r)).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"], json!([{"type": "text", "text": "hi"}, {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}}]));
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 60, "output_tokens": 5, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 30})
    );
    // It reads back as the same answer.
    let back = crate::core::translate::providers::anthropic::decode_response(&encode_response(&r)).unwrap();
    assert_eq!(
        back.choices[0].tool_calls,
        r.choices[0].tool_calls.iter().map(|c| ToolCall { arguments: r#"{"a":1}"#.into(), ..c.clone() }).collect::<Vec<_>>()
    );
    assert_eq!(back.usage, r.usage);
}

fn upstream_body(req: &ChatRequest, kind: crate::core::config::ProviderKind) -> Value {
    let t = crate::core::translate::providers::Target {
        kind,
        base_url: "https://upstream.example",
        model: "m",
        api_key: None,
        api_version: "",
        max_output_tokens: 1024,
        responses_api: false,
    };
    serde_json::from_slice(&crate::core::translate::providers::build_request(req, &t).unwrap().body).unwrap()
}

/// Ids such as Kimi's `functions.Bash:0` do not match Anthropic's id pattern: everything
/// Anthropic-facing gets them rewritten, everything else gets them back as issued.
#[test]
fn tool_call_ids_are_mapped_both_ways() {
    use crate::core::config::ProviderKind;
    let kimi = "functions.Bash:0";
    let mapped = crate::core::translate::tool_id::to_anthropic(kimi);
    // An OpenAI upstream's answer, encoded for an Anthropic caller, whole and streamed.
    let answer = ChatResponse {
        id: "msg_1".into(),
        model: "kimi".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            content: None,
            refusal: None,
            tool_calls: vec![ToolCall { id: kimi.into(), name: "Bash".into(), arguments: "{}".into() }],
            finish_reason: Some(FinishReason::ToolCalls),
        }],
        usage: None,
    };
    let v: Value = serde_json::from_slice(&encode_response(&answer)).unwrap();
    assert_eq!(v["content"][0]["id"], mapped.as_str());
    let mut enc = crate::core::translate::dialect::StreamEncoder::new(Dialect::Anthropic, true, None);
    let mut sse = enc.push(&StreamEvent::Start { id: "msg_1".into(), model: "kimi".into(), created: 0 });
    sse.extend(enc.push(&StreamEvent::ToolCallDelta {
        index: 0,
        call_index: 0,
        id: Some(kimi.into()),
        name: Some("Bash".into()),
        arguments: "{}".into(),
    }));
    let text = String::from_utf8(sse).unwrap();
    assert!(text.contains(&format!(r#""id":"{mapped}""#)) && !text.contains(kimi), "{text}");
    // The caller sends the mapped id back: the OpenAI upstream gets the id it issued, an
    // Anthropic upstream the mapped one.
    let next = decode(json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "ls"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": mapped, "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": mapped, "content": "a.txt"}]}
    ]}))
    .unwrap();
    let o = upstream_body(&next, ProviderKind::Openai);
    assert_eq!(o["messages"][1]["tool_calls"][0]["id"], kimi);
    assert_eq!(o["messages"][2]["tool_call_id"], kimi);
    let a = upstream_body(&next, ProviderKind::Anthropic);
    assert_eq!(a["messages"][1]["content"][0]["id"], mapped.as_str());
    assert_eq!(a["messages"][2]["content"][0]["tool_use_id"], mapped.as_str());
    // An OpenAI caller's own history, sent to Anthropic, is mapped too.
    let openai = crate::core::translate::dialect::openai::decode_request(
        br#"{"model":"m","messages":[{"role":"user","content":"ls"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"functions.Bash:0","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"functions.Bash:0","content":"a.txt"}]}"#,
    )
    .unwrap();
    let a = upstream_body(&openai, ProviderKind::Anthropic);
    assert_eq!(a["messages"][1]["content"][0]["id"], mapped.as_str());
    assert_eq!(a["messages"][2]["content"][0]["tool_use_id"], mapped.as_str());
}

/// Anthropic `thinking` and `redacted_thinking` blocks in history reach Anthropic upstreams
/// only: OpenAI-compatible and Gemini upstreams reject them.
#[test]
fn reasoning_blocks_in_history_reach_only_anthropic_upstreams() {
    use crate::core::config::ProviderKind;
    let req = decode(json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "the user greets", "signature": "EqQBCgIYAh"},
            {"type": "redacted_thinking", "data": "EmwKAhgB"},
            {"type": "text", "text": "hello"}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "call it", "signature": "s2"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}
    ]}))
    .unwrap();
    let o = upstream_body(&req, ProviderKind::Openai);
    assert_eq!(o["messages"][1]["content"], json!([{"type": "text", "text": "hello"}]));
    assert_eq!(o["messages"][2]["content"], Value::Null, "only reasoning and a tool call: no content");
    assert_eq!(o["messages"][2]["tool_calls"][0]["id"], "toolu_1");
    let g = upstream_body(&req, ProviderKind::Gemini);
    assert_eq!(g["contents"][1]["parts"], json!([{"text": "hello"}, {"functionCall": {"name": "f", "args": {}}}]));
    let a = upstream_body(&req, ProviderKind::Anthropic);
    assert_eq!(a["messages"][1]["content"][0], json!({"type": "thinking", "thinking": "the user greets", "signature": "EqQBCgIYAh"}));
    assert_eq!(a["messages"][1]["content"][1]["type"], "redacted_thinking");
}

#[test]
fn deferred_tools_are_left_out_until_a_tool_search_finds_them() {
    let schema = json!({"type": "object", "properties": {}});
    let tools = json!([
        {"name": "Placeholder", "description": "never call this tool", "input_schema": schema, "defer_loading": true},
        {"name": "Read", "input_schema": schema},
        {"name": "WebFetch", "input_schema": schema, "defer_loading": true},
        {"name": "Cron", "input_schema": schema, "defer_loading": false}
    ]);
    let names = |r: &ChatRequest| r.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let first = decode(json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "tools": tools}));
    assert_eq!(names(&first.unwrap()), ["Read", "Cron"]);
    // A tool search's result names WebFetch: from then on the model sees it.
    let later = decode(json!({"model": "c", "max_tokens": 5, "tools": tools, "messages": [
        {"role": "user", "content": "fetch it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {"query": "fetch"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "tool_reference", "tool_name": "WebFetch"}]}]}
    ]}));
    assert_eq!(names(&later.unwrap()), ["Read", "WebFetch", "Cron"]);
    let bad = decode(json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "x", "input_schema": schema, "defer_loading": "yes"}]}));
    assert_eq!(bad.unwrap_err().param.as_deref(), Some("tools[0].defer_loading"));
}
