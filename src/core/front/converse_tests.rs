//! Stored conversations through the whole gateway, driven as the edge drives a request, with
//! each conversation object a real SQLite store: turns that carry the whole history upstream,
//! streams whose end waits for the store, OpenAI and Anthropic callers and upstreams, tenant
//! isolation, the limits and the store's failures.

use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::{Action, Event, Reply};
use crate::core::state::conversation::store::tests::Object;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DEV: &str = "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3";

fn config(sessions: &str) -> String {
    format!(
        r#"{{"providers":{{"up":{{"kind":"openai","base_url":"http://127.0.0.1:9/v1"}},
                         "anth":{{"kind":"anthropic","base_url":"http://127.0.0.1:9"}},
                         "oai":{{"kind":"openai","base_url":"http://127.0.0.1:9/v1","responses_api":true}}}},
           "models":[{{"name":"fast","provider":"up","model":"llama-3"}},{{"name":"gpt","provider":"oai","model":"gpt-x"}},{{"name":"claude","provider":"anth","model":"claude-x","max_output_tokens":50}}],
           "keys":[{{"name":"dev","sha256":"{DEV}","tenant":"acme"}},{{"name":"o","sha256":"{}","tenant":"globex"}}]{sessions}}}"#,
        crate::core::util::secret::sha256_hex(b"sk-other")
    )
}

/// What the upstream answers: an OpenAI body, an Anthropic body, or an OpenAI stream.
#[derive(Clone, Copy)]
pub(crate) enum Upstream {
    OpenAi(&'static str),
    /// An OpenAI body as is.
    Raw(&'static str),
    Anthropic(&'static str),
    Stream(&'static str),
    Fails,
}

/// A gateway with the conversations bound, its objects, and what the upstream was sent.
pub(crate) struct World {
    pub(crate) gw: Gateway,
    objects: BTreeMap<String, Object>,
    pub(crate) sent: Vec<Value>,
    /// The objects cannot be reached.
    down: bool,
    /// The objects cannot be reached for appends (loads still answer).
    fail_appends: bool,
    now_ms: u64,
    seed: u64,
    /// The method and query string of the next request (`POST`, none by default).
    pub(crate) method: &'static str,
    pub(crate) query: &'static str,
}

/// What the caller got: the reply (a stream's head and all its bytes as the body).
pub(crate) struct Got {
    pub(crate) reply: Reply,
    /// The conversation ops the request sent, in order (`load`, `append`).
    pub(crate) ops: Vec<String>,
}

impl Got {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.reply.body).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&self.reply.body)))
    }
    fn session(&self) -> Option<&str> {
        self.reply.header("x-switchyard-session")
    }
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"].as_str().map_or_else(|| self.json()["error"]["type"].to_string(), str::to_string)
    }
}

fn openai_answer(text: &str) -> String {
    format!(
        r#"{{"id":"c1","object":"chat.completion","created":1,"model":"llama-3","choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}}}"#
    )
}

fn openai_stream(text: &str) -> String {
    let chunk = |delta: &str, finish: &str| {
        format!(
            r#"data: {{"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
        )
    };
    format!(
        "{}\n\n{}\n\ndata: [DONE]\n\n",
        chunk(&format!(r#"{{"role":"assistant","content":"{text}"}}"#), "null"),
        chunk("{}", r#""stop""#)
    )
}

impl World {
    pub(crate) fn new(sessions: &str) -> World {
        let mut gw = Gateway::new(Some(&config(sessions)));
        gw.set_conversations(true);
        World {
            gw,
            objects: BTreeMap::new(),
            sent: Vec::new(),
            down: false,
            fail_appends: false,
            now_ms: 1_700_000_000_000,
            seed: 1,
            method: "POST",
            query: "",
        }
    }

    /// One request, every action performed as the edge performs it.
    pub(crate) fn request(&mut self, key: &str, path: &str, session: Option<&str>, body: &str, upstream: Upstream) -> Got {
        let mut h = vec![("authorization".to_string(), format!("Bearer {key}"))];
        h.extend(session.map(|s| ("x-switchyard-session".to_string(), s.to_string())));
        self.seed += 1;
        let entropy = self.seed.to_le_bytes().repeat(2);
        let inb = Inbound {
            query: self.query,
            now_ms: self.now_ms,
            seed: self.seed,
            entropy: &entropy,
            ..Inbound::test(self.method, path, &h, body.as_bytes())
        };
        let mut step = self.gw.begin(&inb);
        let mut ops = Vec::new();
        let mut upstream_body = Vec::new();
        loop {
            self.now_ms += 1;
            let event_body;
            match step.action().clone() {
                Action::Respond(mut r) => {
                    if r.body_from_upstream {
                        r.body = upstream_body;
                    }
                    return Got { reply: r, ops };
                }
                Action::Stream(head) => return self.stream(step, head, upstream, ops),
                Action::Fetch { request, .. } => {
                    self.sent.push(serde_json::from_slice(&request.body).unwrap());
                    let (status, ct) = match upstream {
                        Upstream::Stream(_) => (200, "text/event-stream"),
                        Upstream::Fails => (500, "application/json"),
                        _ => (200, "application/json"),
                    };
                    let headers = vec![("content-type".to_string(), ct.to_string())];
                    self.gw.resume(&mut step, Event::Head { status, headers: &headers }, self.now_ms);
                }
                Action::ReadBody => {
                    upstream_body = match upstream {
                        Upstream::OpenAi(t) => openai_answer(t).into_bytes(),
                        Upstream::Anthropic(t) => format!(
                            r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{{"type":"text","text":"{t}"}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{{"input_tokens":3,"output_tokens":1}}}}"#
                        )
                        .into_bytes(),
                        Upstream::Raw(b) => b.as_bytes().to_vec(),
                        Upstream::Fails => br#"{"error":{"message":"down","type":"server_error"}}"#.to_vec(),
                        Upstream::Stream(_) => unreachable!(),
                    };
                    event_body = upstream_body.clone();
                    self.gw.resume(&mut step, Event::Body(&event_body), self.now_ms);
                }
                Action::CacheGet { .. } => self.gw.resume(&mut step, Event::Answer(None), self.now_ms),
                Action::Conversation { name, op } => {
                    let answer = self.store(name, &op);
                    ops.push(op);
                    self.gw.resume(&mut step, Event::Answer(answer.as_deref()), self.now_ms);
                }
                other => panic!("unexpected action {other:?}"),
            }
        }
    }

    /// A stream: its chunks through the core, then (after a clean end) the store, then the tail.
    fn stream(&mut self, mut step: crate::core::front::step::Step, head: Reply, upstream: Upstream, mut ops: Vec<String>) -> Got {
        let Upstream::Stream(text) = upstream else { panic!("a stream from a non-stream upstream") };
        let s = step.session_mut().unwrap();
        let mut body = Vec::new();
        for chunk in openai_stream(text).split_inclusive("\n\n") {
            body.extend(s.on_chunk(chunk.as_bytes()).unwrap_or_else(|| chunk.as_bytes().to_vec()));
        }
        match step.end_stream() {
            Some(end) => body.extend(end),
            None => {
                assert!(!String::from_utf8_lossy(&body).contains("[DONE]"), "nothing of the end went out before the store");
                let Action::Conversation { name, op } = step.action().clone() else { panic!("{:?}", step.action()) };
                let answer = self.store(name, &op);
                ops.push(op);
                body.extend(step.session_mut().unwrap().on_stream_stored(answer.as_deref()));
            }
        }
        Got { reply: Reply { body, ..head }, ops }
    }

    /// An op to the object `name`, answered (`None`: it could not be reached).
    fn store(&mut self, name: String, op: &str) -> Option<String> {
        let append = serde_json::from_str::<Value>(op).unwrap()["op"] == "append";
        if self.down || self.fail_appends && append {
            return None;
        }
        Some(self.objects.entry(name).or_insert_with(Object::new).call_json(op, self.now_ms))
    }

    fn chat(&mut self, session: Option<&str>, body: &str, upstream: Upstream) -> Got {
        self.request("sk-switchyard-dev", "/v1/chat/completions", session, body, upstream)
    }
}

fn user(model: &str, system: Option<&str>, text: &str) -> String {
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(json!({"role": "system", "content": s}));
    }
    messages.push(json!({"role": "user", "content": text}));
    json!({"model": model, "messages": messages}).to_string()
}

fn texts(sent: &Value) -> Vec<String> {
    sent["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn three_turns_each_send_the_whole_history_upstream() {
    let mut w = World::new("");
    let first = w.chat(Some("new"), &user("fast", Some("be brief"), "hi"), Upstream::OpenAi("hello"));
    assert_eq!(first.reply.status, 200);
    let id = first.session().expect("the new conversation's id").to_string();
    assert!(id.starts_with("conv_") && id.len() == 37, "{id}");
    assert_eq!(first.json()["choices"][0]["message"]["content"], "hello", "the upstream's answer, untouched");
    let second = w.chat(Some(&id), &user("fast", Some("be kind"), "how are you?"), Upstream::OpenAi("fine"));
    assert_eq!((second.reply.status, second.session()), (200, Some(id.as_str())));
    w.chat(Some(&id), &user("fast", None, "bye"), Upstream::OpenAi("ciao"));
    assert_eq!(texts(&w.sent[0]), ["be brief", "hi"]);
    assert_eq!(texts(&w.sent[1]), ["be kind", "hi", "hello", "how are you?"], "history after the request's own instructions");
    assert_eq!(texts(&w.sent[2]), ["hi", "hello", "how are you?", "fine", "bye"]);
    let object = &w.objects[&crate::core::state::conversation::object_name("acme", &id)];
    assert_eq!((object.count("responses"), object.count("items")), (3, 6), "instructions are not stored");
}

#[test]
fn a_session_id_is_the_tenants_own() {
    let mut w = World::new("");
    let id = w.chat(Some("new"), &user("fast", None, "secret"), Upstream::OpenAi("ok")).session().unwrap().to_string();
    let other = w.request("sk-other", "/v1/chat/completions", Some(&id), &user("fast", None, "tell me"), Upstream::OpenAi("x"));
    assert_eq!((other.reply.status, other.code().as_str()), (404, "session_not_found"));
    assert_eq!(w.sent.len(), 1, "nothing went upstream for the other tenant");
    for unknown in [format!("conv_{}", "0".repeat(32)), "conv_nope".into(), "New".into()] {
        let got = w.chat(Some(&unknown), &user("fast", None, "x"), Upstream::OpenAi("x"));
        assert_eq!((got.reply.status, got.code().as_str()), (404, "session_not_found"), "{unknown}");
    }
    assert_eq!(w.sent.len(), 1);
}

#[test]
fn a_turn_over_the_limits_is_refused_before_the_upstream() {
    let mut w = World::new(r#","sessions":{"max_items":4,"max_item_bytes":1024}"#);
    let id = w.chat(Some("new"), &user("fast", None, "one"), Upstream::OpenAi("1")).session().unwrap().to_string();
    w.chat(Some(&id), &user("fast", None, "two"), Upstream::OpenAi("2"));
    let full = w.chat(Some(&id), &user("fast", None, "three"), Upstream::OpenAi("3"));
    assert_eq!((full.reply.status, full.code().as_str()), (400, "session_full"));
    let big = w.chat(Some("new"), &user("fast", None, &"x".repeat(1100)), Upstream::OpenAi("x"));
    assert_eq!((big.reply.status, big.code().as_str()), (413, "session_item_too_large"));
    assert_eq!(big.json()["error"]["param"], "messages[0]");
    let two_messages = json!({"model": "fast", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]});
    let too_many = w.chat(Some("new"), &two_messages.to_string(), Upstream::OpenAi("x"));
    assert_eq!(too_many.code(), "session_full", "4 new messages and the answer are over 4");
    assert_eq!(w.sent.len(), 2, "no refused turn reached the upstream");
}

#[test]
fn a_turn_the_store_cannot_take_is_not_answered() {
    let mut w = World::new("");
    let id = w.chat(Some("new"), &user("fast", None, "one"), Upstream::OpenAi("1")).session().unwrap().to_string();
    w.down = true;
    let load = w.chat(Some(&id), &user("fast", None, "two"), Upstream::OpenAi("2"));
    assert_eq!((load.reply.status, load.code().as_str()), (503, "session_unavailable"));
    assert_eq!(w.sent.len(), 1, "no history, no upstream call");
    let new = w.chat(Some("new"), &user("fast", None, "x"), Upstream::OpenAi("answered"));
    assert_eq!((new.reply.status, new.code().as_str(), new.session()), (503, "session_unavailable", None));
    assert_eq!(w.sent.len(), 2, "answered upstream, but the answer is not sent: the conversation does not hold it");
    w.down = false;
    let failed = w.chat(Some(&id), &user("fast", None, "two"), Upstream::Fails);
    assert_eq!(failed.reply.status, 502);
    assert_eq!(failed.ops.len(), 1, "a failed answer stores no turn: only the load");
    let next = w.chat(Some(&id), &user("fast", None, "again"), Upstream::OpenAi("2"));
    assert_eq!(texts(w.sent.last().unwrap()), ["one", "1", "again"]);
    assert_eq!(next.reply.status, 200);
}

#[test]
fn a_streamed_turn_ends_only_once_stored() {
    let mut w = World::new("");
    let mut body: Value = serde_json::from_str(&user("fast", None, "stream it")).unwrap();
    body["stream"] = true.into();
    let first = w.chat(Some("new"), &body.to_string(), Upstream::Stream("streamed"));
    let id = first.session().expect("the stream's head names the conversation").to_string();
    let out = String::from_utf8(first.reply.body.clone()).unwrap();
    assert!(out.contains("\"content\":\"streamed\"") && out.contains("data: [DONE]\n\n"), "{out}");
    assert_eq!(first.ops.len(), 1, "one append, before the end");
    w.chat(Some(&id), &user("fast", None, "and?"), Upstream::OpenAi("more"));
    assert_eq!(texts(w.sent.last().unwrap()), ["stream it", "streamed", "and?"], "the streamed answer is in the history");
    w.fail_appends = true;
    let lost = w.chat(Some(&id), &body.to_string(), Upstream::Stream("lost"));
    let out = String::from_utf8(lost.reply.body.clone()).unwrap();
    assert!(!out.contains("[DONE]") && out.contains("could not be read or stored"), "an in-band error instead of the end: {out}");
    assert!(out.contains("\"content\":\"lost\""), "what went out before the end stays out");
    w.fail_appends = false;
    w.chat(Some(&id), &user("fast", None, "still there?"), Upstream::OpenAi("yes"));
    assert_eq!(texts(w.sent.last().unwrap()), ["stream it", "streamed", "and?", "more", "still there?"], "the lost turn is not in it");
}

#[test]
fn an_anthropic_caller_continues_a_conversation_on_either_upstream() {
    let mut w = World::new("");
    let messages = |model: &str, text: &str| {
        json!({"model": model, "max_tokens": 20, "system": "sys", "messages": [{"role": "user", "content": [
            {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}]})
        .to_string()
    };
    let first = w.request("sk-switchyard-dev", "/v1/messages", Some("new"), &messages("claude", "hi"), Upstream::Anthropic("hello"));
    assert_eq!((first.reply.status, first.json()["content"][0]["text"].as_str()), (200, Some("hello")));
    let id = first.session().unwrap().to_string();
    let second = w.request("sk-switchyard-dev", "/v1/messages", Some(&id), &messages("claude", "more"), Upstream::Anthropic("sure"));
    assert_eq!(second.reply.status, 200);
    let sent = w.sent.last().unwrap();
    assert_eq!(sent["system"], "sys");
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
               {"role": "user", "content": [{"type": "text", "text": "more", "cache_control": {"type": "ephemeral"}}]}])
    );
    // The same conversation from an OpenAI caller, on an OpenAI upstream.
    w.chat(Some(&id), &user("fast", None, "and you?"), Upstream::OpenAi("fine"));
    let sent = w.sent.last().unwrap();
    assert_eq!(sent["messages"][0], json!({"role": "user", "content": [{"type": "text", "text": "hi"}]}), "as OpenAI parts");
    assert_eq!(texts(sent), ["", "hello", "", "sure", "and you?"]);
    // And back on Anthropic for an OpenAI caller.
    let third = w.chat(Some(&id), &user("claude", None, "last"), Upstream::Anthropic("done"));
    assert_eq!(third.json()["choices"][0]["message"]["content"], "done");
    assert_eq!(w.sent.last().unwrap()["messages"].as_array().unwrap().len(), 7);
}

#[test]
fn requests_that_cannot_have_a_session() {
    let mut w = World::new("");
    let embed = w.request("sk-switchyard-dev", "/v1/embeddings", Some("new"), r#"{"model":"fast","input":"x"}"#, Upstream::OpenAi("x"));
    assert_eq!((embed.reply.status, embed.code().as_str()), (400, "invalid_value"));
    let legacy = w.request("sk-switchyard-dev", "/v1/completions", Some("new"), r#"{"model":"fast","prompt":"x"}"#, Upstream::OpenAi("x"));
    assert_eq!((legacy.reply.status, legacy.json()["error"]["param"].as_str()), (400, Some("x-switchyard-session")));
    w.gw.set_conversations(false);
    let unbound = w.chat(Some("new"), &user("fast", None, "x"), Upstream::OpenAi("x"));
    assert_eq!((unbound.reply.status, unbound.code().as_str()), (404, "sessions_disabled"));
    let plain = w.chat(None, &user("fast", None, "x"), Upstream::OpenAi("x"));
    assert_eq!((plain.reply.status, plain.session(), plain.ops.len()), (200, None, 0), "no header, no conversation");
}

#[test]
fn a_sessions_turn_skips_the_response_cache() {
    let mut w = World::new(r#","cache":{"enabled":true}"#);
    w.gw.set_cache(true);
    let plain = w.chat(None, &user("fast", None, "x"), Upstream::OpenAi("x"));
    assert_eq!(plain.reply.header("x-switchyard-cache"), Some("MISS"), "the cache is on");
    let kept = w.chat(Some("new"), &user("fast", None, "x"), Upstream::OpenAi("x"));
    assert_eq!((kept.reply.status, kept.reply.header("x-switchyard-cache")), (200, None));
}

#[test]
fn a_tool_call_answer_is_stored_whole() {
    let mut w = World::new("");
    let id = w.chat(Some("new"), &user("fast", None, "weather?"), Upstream::OpenAi("x")).session().unwrap().to_string();
    let object = crate::core::state::conversation::object_name("acme", &id);
    let stored = w.objects.get_mut(&object).unwrap().call_json(r#"{"op":"load","id":null,"ttl_ms":1000}"#, 0);
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["items"][1], json!({"role": "assistant", "content": "x"}));
}
