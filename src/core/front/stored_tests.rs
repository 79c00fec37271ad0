//! The Responses API's stored state through the whole gateway, each conversation object a
//! real SQLite store: stored responses and their ids, chains by `previous_response_id` to
//! OpenAI and Anthropic upstreams (tool calls across turns included), `store: false`,
//! `conversation`, the stored-response endpoints, and tenant isolation.

use crate::core::front::converse::tests::{Got, Upstream, World};
use serde_json::{json, Value};

const DEV: &str = "sk-switchyard-dev";

fn respond(w: &mut World, key: &str, body: Value, upstream: Upstream) -> Got {
    w.method = "POST";
    w.request(key, "/v1/responses", None, &body.to_string(), upstream)
}

fn call(w: &mut World, key: &str, method: &'static str, path: &str, query: &'static str) -> Got {
    (w.method, w.query) = (method, query);
    let got = w.request(key, path, None, "", Upstream::Fails);
    (w.method, w.query) = ("POST", "");
    got
}

/// The roles and texts of the chat messages the upstream was sent last.
fn sent_texts(w: &World) -> Vec<String> {
    let sent = w.sent.last().unwrap();
    let list = sent["messages"].as_array().unwrap();
    list.iter()
        .map(|m| {
            let text = match &m["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
                _ => String::new(),
            };
            format!("{}:{text}", m["role"].as_str().unwrap_or_default())
        })
        .collect()
}

#[test]
fn a_chain_by_previous_response_id_sends_the_whole_history_and_no_old_instructions() {
    let mut w = World::new("");
    let first = respond(&mut w, DEV, json!({"model": "fast", "input": "hi", "instructions": "Be brief."}), Upstream::OpenAi("hello"));
    let v = first.json();
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!((id.len(), &id[..5], first.ops.len()), (53, "resp_", 1), "{v}");
    assert!(first.ops[0].contains(r#""op":"append""#) && first.ops[0].contains(r#""create":true"#));
    assert!(v["output"][0]["id"].as_str().unwrap().contains(&id[5..]), "item ids are the stored response's");
    let second = respond(&mut w, DEV, json!({"model": "fast", "input": "more", "previous_response_id": id}), Upstream::OpenAi("sure"));
    let v2 = second.json();
    assert_eq!(sent_texts(&w), ["user:hi", "assistant:hello", "user:more"], "instructions are not inherited");
    assert_eq!((v2["previous_response_id"].as_str(), second.ops.len()), (Some(id.as_str()), 2), "{v2}");
    let id2 = v2["id"].as_str().unwrap().to_string();
    assert_eq!(&id2[..37], &id[..37], "the chain stays in one conversation");
    respond(
        &mut w,
        DEV,
        json!({"model": "claude", "input": "last", "instructions": "New.", "previous_response_id": id2}),
        Upstream::Anthropic("ok"),
    );
    let sent = w.sent.last().unwrap();
    assert_eq!(sent["system"].as_str().or(sent["system"][0]["text"].as_str()), Some("New."), "{sent}");
    let turns: Vec<&str> = sent["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(turns, ["user", "assistant", "user", "assistant", "user"], "an Anthropic upstream gets the whole chain");

    // A branch from the first response sees only that response's history.
    respond(&mut w, DEV, json!({"model": "fast", "input": "other", "previous_response_id": id}), Upstream::OpenAi("x"));
    assert_eq!(sent_texts(&w), ["user:hi", "assistant:hello", "user:other"]);
}

#[test]
fn a_tool_call_and_its_output_cross_turns() {
    let mut w = World::new("");
    let call_answer = r#"{"id":"c1","object":"chat.completion","created":1,"model":"llama-3","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
    let tools =
        json!([{"type": "function", "name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let first = respond(&mut w, DEV, json!({"model": "fast", "input": "weather?", "tools": tools}), Upstream::Raw(call_answer));
    let v = first.json();
    assert_eq!(v["output"][0]["type"], "function_call", "{v}");
    let input = json!([{"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]);
    let body = json!({"model": "fast", "input": input, "tools": tools, "previous_response_id": v["id"]});
    let second = respond(&mut w, DEV, body, Upstream::OpenAi("It is sunny."));
    assert_eq!(second.reply.status, 200, "{}", second.json());
    let msgs = w.sent.last().unwrap()["messages"].as_array().unwrap().clone();
    assert_eq!((msgs.len(), &msgs[1]["tool_calls"][0]["id"], &msgs[2]["role"]), (3, &json!("call_1"), &json!("tool")), "{msgs:?}");
}

#[test]
fn stored_responses_are_retrieved_listed_and_deleted_by_their_tenant_only() {
    let mut w = World::new("");
    let first = respond(&mut w, DEV, json!({"model": "fast", "input": [{"role": "user", "content": "hi"}]}), Upstream::OpenAi("hello"));
    let v = first.json();
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/v1/responses/{id}");
    let got = call(&mut w, DEV, "GET", &path, "");
    assert_eq!((got.reply.status, got.json()), (200, v.clone()));
    let items = call(&mut w, DEV, "GET", &format!("{path}/input_items"), "order=asc&limit=5&include=x");
    let list = items.json();
    assert_eq!(
        (list["object"].as_str(), list["data"][0]["type"].as_str(), list["data"][0]["role"].as_str()),
        (Some("list"), Some("message"), Some("user")),
        "{list}"
    );
    assert_eq!((list["first_id"].clone(), list["has_more"].clone()), (list["data"][0]["id"].clone(), json!(false)));

    for (method, p) in [("GET", path.clone()), ("GET", format!("{path}/input_items")), ("DELETE", path.clone())] {
        let other = call(&mut w, "sk-other", method, &p, "");
        assert_eq!((other.reply.status, other.code()), (404, "session_not_found".to_string()), "{method} {p}");
    }
    let linked = respond(&mut w, "sk-other", json!({"model": "fast", "input": "x", "previous_response_id": id}), Upstream::OpenAi("x"));
    let e = linked.json();
    assert_eq!((linked.reply.status, e["error"]["param"].as_str()), (404, Some("previous_response_id")), "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("not found"));

    let del = call(&mut w, DEV, "DELETE", &path, "");
    assert_eq!(del.json(), json!({"id": id, "object": "response", "deleted": true}));
    assert_eq!(call(&mut w, DEV, "GET", &path, "").reply.status, 404);
    for bad in ["/v1/responses/resp_1", "/v1/responses/nope/input_items"] {
        assert_eq!(call(&mut w, DEV, "GET", bad, "").reply.status, 404, "{bad}");
    }
    assert_eq!(call(&mut w, DEV, "GET", &format!("{path}/input_items"), "limit=0").reply.status, 400);
    assert_eq!(call(&mut w, DEV, "PUT", &path, "").reply.status, 405);
}

#[test]
fn store_false_keeps_nothing_but_may_continue_a_chain() {
    let mut w = World::new("");
    let got = respond(&mut w, DEV, json!({"model": "fast", "input": "hi", "store": false}), Upstream::OpenAi("hello"));
    let id = got.json()["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("resp_") && got.ops.is_empty(), "{id}");
    assert_eq!(call(&mut w, DEV, "GET", &format!("/v1/responses/{id}"), "").reply.status, 404);
    let stored = respond(&mut w, DEV, json!({"model": "fast", "input": "hi"}), Upstream::OpenAi("hello")).json();
    let unstored = respond(
        &mut w,
        DEV,
        json!({"model": "fast", "input": "more", "store": false, "previous_response_id": stored["id"]}),
        Upstream::OpenAi("y"),
    );
    assert_eq!(unstored.ops.len(), 1, "only the load");
    assert_eq!(sent_texts(&w), ["user:hi", "assistant:hello", "user:more"]);
    let both = respond(
        &mut w,
        DEV,
        json!({"model": "fast", "input": "x", "previous_response_id": stored["id"], "conversation": "conv_1"}),
        Upstream::OpenAi("y"),
    );
    assert_eq!(both.reply.status, 400);
    let bg = respond(&mut w, DEV, json!({"model": "fast", "input": "x", "background": true}), Upstream::OpenAi("y"));
    assert_eq!((bg.reply.status, bg.code()), (400, "unsupported".to_string()));
    assert!(bg.json()["error"]["message"].as_str().unwrap().contains("job queue"));
}

#[test]
fn a_streamed_response_completes_only_once_stored() {
    let mut w = World::new("");
    let got = respond(&mut w, DEV, json!({"model": "fast", "input": "hi", "stream": true}), Upstream::Stream("hello"));
    let body = String::from_utf8_lossy(&got.reply.body).to_string();
    assert_eq!(got.ops.len(), 1, "{body}");
    let completed = body.split("\n\n").find(|e| e.contains("response.completed")).expect("a completed event");
    let data: Value = serde_json::from_str(completed.split("data: ").nth(1).unwrap()).unwrap();
    let id = data["response"]["id"].as_str().unwrap().to_string();
    let stored = call(&mut w, DEV, "GET", &format!("/v1/responses/{id}"), "").json();
    assert_eq!((stored["id"].as_str(), stored["output"][0]["content"][0]["text"].as_str()), (Some(id.as_str()), Some("hello")));
}

#[test]
fn a_conversation_id_continues_its_head() {
    let mut w = World::new("");
    let first = respond(&mut w, DEV, json!({"model": "fast", "input": "hi"}), Upstream::OpenAi("hello")).json();
    let conv = format!("conv_{}", &first["id"].as_str().unwrap()[5..37]);
    respond(&mut w, DEV, json!({"model": "fast", "input": "more", "conversation": {"id": conv}}), Upstream::OpenAi("sure"));
    respond(&mut w, DEV, json!({"model": "fast", "input": "last", "conversation": conv}), Upstream::OpenAi("ok"));
    assert_eq!(sent_texts(&w), ["user:hi", "assistant:hello", "user:more", "assistant:sure", "user:last"]);
    let other = respond(&mut w, "sk-other", json!({"model": "fast", "input": "x", "conversation": conv}), Upstream::OpenAi("x"));
    assert_eq!((other.reply.status, other.json()["error"]["param"].as_str()), (404, Some("conversation")));
}

#[test]
fn the_conversations_api_creates_lists_and_deletes() {
    let mut w = World::new("");
    let body = json!({"items": [{"type": "message", "role": "user", "content": "I am Ada."}], "metadata": {"k": "v"}}).to_string();
    let created = w.request(DEV, "/v1/conversations", None, &body, Upstream::Fails).json();
    let conv = created["id"].as_str().unwrap().to_string();
    assert_eq!((&created["object"], &created["metadata"]), (&json!("conversation"), &json!({"k": "v"})), "{created}");
    let empty = w.request(DEV, "/v1/conversations", None, "", Upstream::Fails).json();
    assert!(empty["id"].as_str().unwrap().starts_with("conv_") && empty["id"] != created["id"]);

    let first = respond(&mut w, DEV, json!({"model": "fast", "input": "who am I?", "conversation": conv}), Upstream::OpenAi("Ada"));
    assert_eq!(first.reply.status, 200, "{}", first.json());
    assert_eq!(sent_texts(&w), ["user:I am Ada.", "user:who am I?"]);
    respond(&mut w, DEV, json!({"model": "fast", "input": "again", "conversation": empty["id"]}), Upstream::OpenAi("x"));
    assert_eq!(sent_texts(&w), ["user:again"], "an empty conversation has no history");

    let got = call(&mut w, DEV, "GET", &format!("/v1/conversations/{conv}"), "").json();
    assert_eq!((got["id"].as_str(), got["created_at"].as_u64()), (Some(conv.as_str()), created["created_at"].as_u64()), "{got}");
    let items = call(&mut w, DEV, "GET", &format!("/v1/conversations/{conv}/items"), "order=asc&limit=2").json();
    let texts: Vec<&str> = items["data"].as_array().unwrap().iter().map(|i| i["content"][0]["text"].as_str().unwrap()).collect();
    assert_eq!((texts, &items["has_more"]), (vec!["I am Ada.", "who am I?"], &json!(true)), "{items}");
    let after = items["last_id"].as_str().unwrap();
    let path = format!("/v1/conversations/{conv}/items");
    (w.method, w.query) = ("GET", Box::leak(format!("order=asc&after={after}").into_boxed_str()));
    let rest = w.request(DEV, &path, None, "", Upstream::Fails).json();
    (w.method, w.query) = ("POST", "");
    assert_eq!((rest["data"][0]["content"][0]["text"].as_str(), &rest["has_more"]), (Some("Ada"), &json!(false)), "{rest}");

    assert_eq!(call(&mut w, "sk-other", "GET", &format!("/v1/conversations/{conv}"), "").reply.status, 404);
    assert_eq!(call(&mut w, "sk-other", "DELETE", &format!("/v1/conversations/{conv}"), "").reply.status, 404);
    let del = call(&mut w, DEV, "DELETE", &format!("/v1/conversations/{conv}"), "").json();
    assert_eq!(del, json!({"id": conv, "object": "conversation.deleted", "deleted": true}));
    assert_eq!(call(&mut w, DEV, "GET", &format!("/v1/conversations/{conv}"), "").reply.status, 404);
    assert_eq!(call(&mut w, DEV, "GET", "/v1/conversations/nope", "").reply.status, 404);
}

#[test]
fn a_stored_turn_is_never_passed_through_so_its_id_is_the_gateways() {
    let mut w = World::new("");
    let stored = respond(&mut w, DEV, json!({"model": "gpt", "input": "hi"}), Upstream::OpenAi("hello"));
    let sent = w.sent.last().unwrap();
    assert!(sent.get("messages").is_some() && sent.get("input").is_none(), "translated to chat: {sent}");
    let id = stored.json()["id"].as_str().unwrap().to_string();
    assert_eq!((id.len(), stored.ops.len()), (53, 1), "stored under the gateway's id");
    let got = call(&mut w, DEV, "GET", &format!("/v1/responses/{id}"), "");
    assert_eq!(
        (got.reply.status, got.json()["output_text"].as_str().or(got.json()["output"][0]["content"][0]["text"].as_str())),
        (200, Some("hello"))
    );

    respond(&mut w, DEV, json!({"model": "gpt", "input": "hi", "store": false}), Upstream::OpenAi("hello"));
    let sent = w.sent.last().unwrap();
    assert_eq!((sent["input"].as_str(), sent.get("messages")), (Some("hi"), None), "store: false passes through: {sent}");
}
