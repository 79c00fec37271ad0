//! Tests of the Responses API dialect: every input item kind and parameter decodes to its
//! canonical meaning (and reaches an OpenAI-family upstream as the chat request it means),
//! bad requests are 400s naming the field, and answers encode as the reference's `response`
//! object, exactly.

use super::*;
use crate::core::error::{Code, GatewayError};
use crate::core::translate::dialect::openai::encode_request;
use crate::core::types::*;
use serde_json::{json, Value};

fn decode(v: &Value) -> Result<ChatRequest, GatewayError> {
    decode_request(&serde_json::to_vec(v).unwrap())
}

/// A request with every item kind and every served parameter.
pub(crate) fn full_request() -> Value {
    json!({
        "model": "gpt-4.1",
        "instructions": "be brief",
        "input": [
            {"role": "developer", "content": "json only"},
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "sys"}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "what is this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}], "encrypted_content": "e"},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Let me look.", "annotations": [], "logprobs": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "look", "arguments": "{\"q\":1}", "status": "completed"},
            {"type": "function_call", "call_id": "call_2", "name": "look", "arguments": "{\"q\":2}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a cat"},
            {"type": "function_call_output", "call_id": "call_2", "output": [
                {"type": "input_text", "text": "a "}, {"type": "input_text", "text": "dog"}]},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
            {"role": "user", "content": "thanks"}
        ],
        "tools": [{"type": "function", "name": "look", "description": "d",
                   "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}}, "strict": true}],
        "tool_choice": {"type": "function", "name": "look"},
        "parallel_tool_calls": false,
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": true,
                            "description": "an s"}, "verbosity": "low"},
        "reasoning": {"effort": "low", "summary": "auto"},
        "max_output_tokens": 300, "temperature": 0.2, "top_p": 0.9,
        "metadata": {"run": "r1"}, "user": "u-1", "stream": true, "store": false,
        "include": ["reasoning.encrypted_content"], "truncation": "disabled", "service_tier": "flex",
        "prompt_cache_key": "k", "prompt_cache_retention": "24h", "safety_identifier": "s1",
        "stream_options": {"include_obfuscation": false}, "top_logprobs": 0, "max_tool_calls": 3,
        "background": false, "previous_response_id": null, "conversation": null
    })
}

fn text(role: Role, t: &str) -> Message {
    Message::new(role, Content::Text(t.into()))
}

fn call(id: &str, args: &str) -> ToolCall {
    ToolCall { id: id.into(), name: "look".into(), arguments: args.into() }
}

#[test]
fn every_item_kind_becomes_its_message() {
    let r = decode(&full_request()).unwrap();
    let user = Content::Parts(vec![
        Part::Text("what is this?".into()),
        Part::Image { url: "data:image/png;base64,AAAA".into(), detail: Some("low".into()) },
    ]);
    let want = vec![
        text(Role::System, "be brief"),
        text(Role::Developer, "json only"),
        Message::new(Role::System, Content::Parts(vec![Part::Text("sys".into())])),
        Message::new(Role::User, user),
        // The reasoning item is dropped; the two calls join the turn they follow.
        Message { tool_calls: vec![call("call_1", "{\"q\":1}"), call("call_2", "{\"q\":2}")], ..text(Role::Assistant, "Let me look.") },
        Message { tool_call_id: Some("call_1".into()), ..text(Role::Tool, "a cat") },
        Message { tool_call_id: Some("call_2".into()), ..text(Role::Tool, "a dog") },
        Message { refusal: Some("no".into()), ..Message::new(Role::Assistant, Content::None) },
        text(Role::User, "thanks"),
    ];
    assert_eq!(r.messages, want);
}

#[test]
fn every_parameter_has_its_canonical_meaning() {
    let original = full_request();
    let r = decode(&original).unwrap();
    let params = json!({"type": "object", "properties": {"q": {"type": "integer"}}});
    let tool = Tool { name: "look".into(), description: Some("d".into()), parameters: Some(params), strict: Some(true) };
    assert_eq!(r.tools, [tool]);
    assert_eq!((r.tool_choice, r.parallel_tool_calls), (Some(ToolChoice::Function("look".into())), Some(false)));
    let format = ResponseFormat::JsonSchema {
        name: "s".into(),
        schema: Some(json!({"type": "object"})),
        strict: Some(true),
        description: Some("an s".into()),
    };
    assert_eq!(r.response_format, Some(format));
    assert_eq!(
        (r.reasoning_effort, r.max_output_tokens, r.max_tokens_field),
        (Some(ReasoningEffort::Low), Some(300), MaxTokensField::MaxCompletionTokens)
    );
    assert_eq!((r.sampling.temperature, r.sampling.top_p), (Some(0.2), Some(0.9)));
    assert_eq!((r.user.as_deref(), r.metadata.get("run").map(String::as_str)), (Some("u-1"), Some("r1")));
    assert_eq!((r.model.as_str(), r.stream, r.include_usage, r.dialect), ("gpt-4.1", true, true, Dialect::Responses));
    assert!(r.extra.is_empty(), "nothing Responses-only reaches a chat upstream");
    assert_eq!(r.raw, original.as_object().cloned(), "the request is kept as sent");
}

#[test]
fn an_openai_upstream_gets_the_chat_request_it_means() {
    let r = decode(&full_request()).unwrap();
    let body = Value::Object(encode_request(&r, "gpt-4.1-2025"));
    let want = json!({
        "model": "gpt-4.1-2025",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "json only"},
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"q\":1}"}},
                {"id": "call_2", "type": "function", "function": {"name": "look", "arguments": "{\"q\":2}"}}]},
            {"role": "tool", "content": "a cat", "tool_call_id": "call_1"},
            {"role": "tool", "content": "a dog", "tool_call_id": "call_2"},
            {"role": "assistant", "content": null, "refusal": "no"},
            {"role": "user", "content": "thanks"}
        ],
        "tools": [{"type": "function", "function": {"name": "look", "description": "d",
                   "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "look"}},
        "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": true,
                            "description": "an s"}},
        "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 300, "reasoning_effort": "low",
        "stream": true, "stream_options": {"include_usage": true}, "user": "u-1", "metadata": {"run": "r1"}
    });
    assert_eq!(body, want);
}

#[test]
fn a_string_input_is_one_user_message_and_defaults_hold() {
    let r = decode(&json!({"model": "m", "input": "Hello"})).unwrap();
    assert_eq!(r.messages, [text(Role::User, "Hello")]);
    assert_eq!((r.stream, r.tools.len(), r.tool_choice, r.response_format), (false, 0, None, None));
    assert_eq!((r.reasoning_effort, r.max_output_tokens, r.sampling.temperature), (None, None, None));
}

#[test]
fn smaller_shapes_of_each_parameter() {
    let base = |extra: Value| {
        let mut v = json!({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        decode(&v).unwrap()
    };
    // A call with no assistant turn before it opens one.
    let r = base(json!({}));
    assert_eq!(
        r.messages,
        [Message {
            tool_calls: vec![ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() }],
            ..Message::new(Role::Assistant, Content::None)
        }]
    );
    for (choice, want) in [("auto", ToolChoice::Auto), ("none", ToolChoice::None), ("required", ToolChoice::Required)] {
        assert_eq!(base(json!({"tool_choice": choice})).tool_choice, Some(want));
    }
    for (effort, want) in [
        ("none", ReasoningEffort::None),
        ("minimal", ReasoningEffort::Minimal),
        ("medium", ReasoningEffort::Medium),
        ("high", ReasoningEffort::High),
        ("xhigh", ReasoningEffort::High),
    ] {
        assert_eq!(base(json!({"reasoning": {"effort": effort}})).reasoning_effort, Some(want), "{effort}");
    }
    assert_eq!(base(json!({"text": {"format": {"type": "json_object"}}})).response_format, Some(ResponseFormat::JsonObject));
    assert_eq!(base(json!({"text": {"format": {"type": "text"}}})).response_format, Some(ResponseFormat::Text));
    assert_eq!(base(json!({"text": {"verbosity": "high"}})).response_format, None);
    let no_strict = base(json!({"tools": [{"type": "function", "name": "f"}]}));
    assert_eq!((no_strict.tools[0].strict, &no_strict.tools[0].parameters), (None, &None));
}

#[test]
fn bad_requests_are_400s_naming_the_field() {
    let with = |extra: Value| {
        let mut v = json!({"model": "m", "input": "x"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let item = |item: Value| with(json!({"input": [item]}));
    let part = |part: Value| item(json!({"role": "user", "content": [part]}));
    use Code::*;
    let cases = [
        (json!({"input": "x"}), MissingRequiredParameter, "model"),
        (json!({"model": "", "input": "x"}), InvalidValue, "model"),
        (json!({"model": "m"}), MissingRequiredParameter, "input"),
        (with(json!({"input": 5})), InvalidValue, "input"),
        (with(json!({"input": []})), InvalidValue, "input"),
        (with(json!({"input": [5]})), InvalidType, "input[0]"),
        (with(json!({"input": [{"type": "reasoning", "summary": []}]})), InvalidValue, "input"),
        (item(json!({"type": "message", "content": "x"})), MissingRequiredParameter, "input[0].role"),
        (item(json!({"role": "tool", "content": "x"})), InvalidValue, "input[0].role"),
        (item(json!({"role": "user"})), MissingRequiredParameter, "input[0].content"),
        (item(json!({"role": "user", "content": 5})), InvalidValue, "input[0].content"),
        (part(json!({"type": "input_text"})), MissingRequiredParameter, "input[0].content[0].text"),
        (part(json!({"text": "x"})), MissingRequiredParameter, "input[0].content[0].type"),
        (part(json!({"type": "input_file", "file_id": "f"})), Unsupported, "input[0].content[0].type"),
        (part(json!({"type": "input_image", "file_id": "f"})), Unsupported, "input[0].content[0].file_id"),
        (part(json!({"type": "input_image", "detail": "low"})), MissingRequiredParameter, "input[0].content[0].image_url"),
        (part(json!({"type": "video"})), InvalidValue, "input[0].content[0].type"),
        (item(json!({"type": "function_call", "name": "f", "arguments": "{}"})), MissingRequiredParameter, "input[0].call_id"),
        (item(json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": {}})), InvalidType, "input[0].arguments"),
        (item(json!({"type": "function_call_output", "call_id": "c"})), MissingRequiredParameter, "input[0].output"),
        (
            item(json!({"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "u"}]})),
            Unsupported,
            "input[0].output[0].type",
        ),
        (item(json!({"type": "web_search_call", "id": "ws_1"})), Unsupported, "input[0].type"),
        (item(json!({"type": "item_reference", "id": "msg_1"})), Unsupported, "input[0].type"),
        (with(json!({"background": true})), Unsupported, "background"),
        (with(json!({"prompt": {"id": "pmpt_1"}})), Unsupported, "prompt"),
        (with(json!({"tools": [{"type": "web_search"}]})), Unsupported, "tools[0].type"),
        (with(json!({"tools": [{"type": "function"}]})), MissingRequiredParameter, "tools[0].name"),
        (with(json!({"tools": [{"type": "function", "name": "f", "parameters": "x"}]})), InvalidType, "tools[0].parameters"),
        (with(json!({"tool_choice": "sometimes"})), InvalidValue, "tool_choice"),
        (with(json!({"tool_choice": {"type": "file_search"}})), Unsupported, "tool_choice.type"),
        (with(json!({"tool_choice": {"type": "function"}})), MissingRequiredParameter, "tool_choice.name"),
        (with(json!({"text": {"format": {"type": "json_schema", "name": "s"}}})), MissingRequiredParameter, "text.format.schema"),
        (with(json!({"text": {"format": {"type": "xml"}}})), InvalidValue, "text.format.type"),
        (with(json!({"text": {"verbosity": "loud"}})), InvalidValue, "text.verbosity"),
        (with(json!({"text": {"color": "red"}})), Unsupported, "text.color"),
        (with(json!({"reasoning": {"effort": "extreme"}})), InvalidValue, "reasoning.effort"),
        (with(json!({"reasoning": {"summary": "long"}})), InvalidValue, "reasoning.summary"),
        (with(json!({"temperature": 3})), InvalidValue, "temperature"),
        (with(json!({"top_p": "x"})), InvalidType, "top_p"),
        (with(json!({"max_output_tokens": -1})), InvalidType, "max_output_tokens"),
        (with(json!({"metadata": {"a": 1}})), InvalidType, "metadata.a"),
        (with(json!({"truncation": "auto"})), Unsupported, "truncation"),
        (with(json!({"top_logprobs": 5})), Unsupported, "top_logprobs"),
        (with(json!({"include": [1]})), InvalidType, "include[0]"),
        (with(json!({"stream": "yes"})), InvalidType, "stream"),
        (with(json!({"store": "no"})), InvalidType, "store"),
        (with(json!({"instructions": 5})), InvalidType, "instructions"),
    ];
    for (body, code, param) in cases {
        let e = decode(&body).unwrap_err();
        assert_eq!((e.status, e.code, e.param.as_deref()), (400, code, Some(param)), "{body}: {}", e.message);
        assert!(e.message.contains(param), "{body}: the message names {param}: {}", e.message);
        let v: Value = serde_json::from_slice(&e.body_for(Dialect::Responses)).unwrap();
        assert_eq!((&v["error"]["param"], &v["error"]["code"]), (&json!(param), &json!(code.as_str())), "OpenAI's error shape");
    }
    let e = decode_request(b"{not json").unwrap_err();
    assert_eq!((e.status, e.code), (400, Code::InvalidJson));
}

/// A request of the Agents SDK's shape, for the echo.
fn echoed_request() -> Value {
    json!({"model": "m", "input": "hi", "instructions": "be brief", "tools": [{"type": "function", "name": "f",
           "parameters": {"type": "object"}, "strict": true}], "tool_choice": "required", "temperature": 0.5,
           "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "low"}, "metadata": {"k": "v"}, "store": false,
           "max_output_tokens": 50, "user": "u"})
}

fn answer(content: Option<&str>, calls: Vec<ToolCall>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-x".into(),
        created: 1_700_000_000,
        choices: vec![Choice { index: 0, content: content.map(Into::into), refusal: None, tool_calls: calls, finish_reason: Some(finish) }],
        usage: Some(Usage { input_tokens: 20, output_tokens: 7, cached_input_tokens: 4, reasoning_tokens: 2, ..Default::default() }),
    }
}

#[test]
fn an_answer_is_the_references_response_object_exactly() {
    let raw = echoed_request();
    let echo = Echo::new("req_1", raw.as_object());
    let calls = vec![ToolCall { id: "call_9".into(), name: "f".into(), arguments: "{\"a\":1}".into() }];
    let got: Value = serde_json::from_slice(&encode_response(&answer(Some("Hello."), calls, FinishReason::ToolCalls), &echo)).unwrap();
    let want = json!({
        "id": "resp_req_1", "object": "response", "created_at": 1_700_000_000, "status": "completed",
        "error": null, "incomplete_details": null, "model": "gpt-x",
        "output": [
            {"id": "msg_req_1_0", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hello.", "annotations": [], "logprobs": []}]},
            {"id": "fc_req_1_1", "type": "function_call", "status": "completed", "arguments": "{\"a\":1}", "call_id": "call_9", "name": "f"}
        ],
        "instructions": "be brief", "max_output_tokens": 50, "max_tool_calls": null, "metadata": {"k": "v"},
        "parallel_tool_calls": true, "prompt_cache_key": null, "safety_identifier": null, "service_tier": "auto", "store": false,
        "temperature": 0.5, "tool_choice": "required",
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": true}],
        "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled", "user": "u",
        "reasoning": {"effort": "low", "summary": null}, "text": {"format": {"type": "json_object"}, "verbosity": "medium"},
        "previous_response_id": null, "background": false,
        "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0}, "output_tokens": 7,
                  "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 27}
    });
    assert_eq!(got, want);
}

#[test]
fn a_cut_answer_is_incomplete_with_its_reason() {
    let echo = Echo::new("r", None);
    for (finish, reason) in [(FinishReason::Length, "max_output_tokens"), (FinishReason::ContentFilter, "content_filter")] {
        let v: Value = serde_json::from_slice(&encode_response(&answer(Some("Hel"), vec![], finish), &echo)).unwrap();
        assert_eq!((&v["status"], &v["incomplete_details"]), (&json!("incomplete"), &json!({"reason": reason})));
        assert_eq!(v["output"][0]["status"], "incomplete");
    }
    // Only calls: no message item. No text at all: one empty message.
    let calls = vec![ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() }];
    let v: Value = serde_json::from_slice(&encode_response(&answer(None, calls, FinishReason::ToolCalls), &echo)).unwrap();
    assert_eq!((v["output"].as_array().unwrap().len(), &v["output"][0]["type"]), (1, &json!("function_call")));
    let v: Value = serde_json::from_slice(&encode_response(&answer(None, vec![], FinishReason::Stop), &echo)).unwrap();
    assert_eq!(v["output"][0]["content"], json!([{"type": "output_text", "text": "", "annotations": [], "logprobs": []}]));
    // A refusal is its own part; defaults fill what the request left out.
    let mut r = answer(None, vec![], FinishReason::ContentFilter);
    r.choices[0].refusal = Some("I can't.".into());
    r.usage = None;
    let v: Value = serde_json::from_slice(&encode_response(&r, &echo)).unwrap();
    assert_eq!(v["output"][0]["content"], json!([{"type": "refusal", "refusal": "I can't."}]));
    assert_eq!(
        (&v["usage"], &v["tools"], &v["store"], &v["text"]["format"]),
        (&Value::Null, &json!([]), &json!(true), &json!({"type": "text"}))
    );
}

#[test]
fn the_same_request_id_gives_the_same_ids() {
    let r = answer(Some("x"), vec![], FinishReason::Stop);
    let a = encode_response(&r, &Echo::new("req_7", None));
    assert_eq!(a, encode_response(&r, &Echo::new("req_7", None)));
    assert_ne!(a, encode_response(&r, &Echo::new("req_8", None)));
}
