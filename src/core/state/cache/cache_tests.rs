//! The key covers every answer-changing field and nothing else; the policy table; entries
//! round-trip; replayed streams read back through the crate's own upstream decoders.
use super::*;
use crate::core::config::RoutePolicy;
use crate::core::translate::dialect;
use crate::core::translate::providers::{assert_split_invariant, StreamDecoder};
use crate::core::types::*;
use crate::core::util::vecmap::VecMap;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SCOPE: KeyScope = KeyScope { tenant: "t1", public_model: "smart", route: r#"[["openai","gpt-4o"]]"# };

fn decode(dialect: Dialect, body: &[u8]) -> ChatRequest {
    dialect::decode_request(dialect, body).unwrap()
}

fn openai(v: Value) -> ChatRequest {
    decode(Dialect::OpenAi, &serde_json::to_vec(&v).unwrap())
}

fn key(req: &ChatRequest) -> String {
    cache_key(&SCOPE, req)
}

/// A request that uses every canonical field (the OpenAI dialect's fixture, plus `top_k`).
fn full() -> ChatRequest {
    let mut v = crate::core::translate::dialect::openai::tests::full_request();
    v["model"] = json!("smart");
    v.as_object_mut().unwrap().remove("prediction");
    let mut req = openai(v);
    req.sampling.top_k = Some(40);
    req
}

fn parts(req: &mut ChatRequest, m: usize) -> &mut Vec<Part> {
    match &mut req.messages[m].content {
        Content::Parts(p) => p,
        _ => unreachable!("message {m} has parts"),
    }
}

#[test]
fn key_is_sha256_hex_and_stable() {
    let k = key(&full());
    assert!(crate::core::util::secret::is_sha256_hex(&k), "{k}");
    assert_eq!(k, key(&full()));
}

/// The key of a request without forwarded headers is the one it had before they existed.
#[test]
fn key_of_a_request_without_forwarded_headers_is_unchanged() {
    let req = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(key(&req), "921f1f22991cf41994a63e0bc3da0d77faded93e8b5eb93c2fc22ded74478018");
}

#[test]
fn json_key_order_and_whitespace_do_not_matter() {
    let a = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0,"logit_bias":{"1":5,"2":-5},
        "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","required":["a"]}}},
        "prediction":{"type":"content","content":"x"},"service_tier":"flex"}"#;
    let b = br#"{ "service_tier" : "flex",
        "prediction" : { "content" : "x", "type" : "content" },
        "response_format" : { "json_schema" : { "schema" : { "required" : [ "a" ], "type" : "object" }, "name" : "s" }, "type" : "json_schema" },
        "logit_bias" : { "2" : -5, "1" : 5 }, "temperature" : 0,
        "messages" : [ { "content" : "hi", "role" : "user" } ], "model" : "m" }"#;
    assert_eq!(key(&decode(Dialect::OpenAi, a)), key(&decode(Dialect::OpenAi, b)));
}

/// The canonical form writes a map's keys in its own order, which is sorted only while
/// serde_json's `preserve_order` feature is off.
#[test]
fn serde_json_maps_iterate_in_key_order() {
    let m: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{"b": 1, "a": 2, "c": 3, "B": 4}"#).unwrap();
    assert_eq!(m.keys().map(String::as_str).collect::<Vec<_>>(), ["B", "a", "b", "c"]);
}

type Mutation = (&'static str, fn(&mut ChatRequest));

/// Each changes something the upstream sees, so each must change the key.
const ANSWER_CHANGING: &[Mutation] = &[
    ("message text", |r| r.messages[0].content = Content::Text("be verbose".into())),
    ("message role", |r| r.messages[0].role = Role::User),
    ("string vs parts", |r| r.messages[4].content = Content::Parts(vec![Part::Text("a cat".into())])),
    ("part text", |r| parts(r, 2)[0] = Part::Text("what is that?".into())),
    ("image url", |r| parts(r, 2)[1] = Part::Image { url: "https://x.test/dog.png".into(), detail: Some("low".into()) }),
    ("image detail", |r| parts(r, 2)[1] = Part::Image { url: "https://x.test/cat.png".into(), detail: Some("high".into()) }),
    ("image no detail", |r| parts(r, 2)[1] = Part::Image { url: "https://x.test/cat.png".into(), detail: None }),
    ("other part", |r| parts(r, 2)[2] = Part::Other(json!({"type": "input_audio", "input_audio": {"data": "BBB", "format": "wav"}}))),
    ("text vs other part", |r| parts(r, 2)[0] = Part::Other(json!({"text": "what is this?"}))),
    ("name", |r| r.messages[2].name = None),
    ("tool call id", |r| r.messages[3].tool_calls[0].id = "call_2".into()),
    ("tool call name", |r| r.messages[3].tool_calls[0].name = "peek".into()),
    ("tool call arguments", |r| r.messages[3].tool_calls[0].arguments = "{\"q\": 1}".into()),
    ("tool_call_id", |r| r.messages[4].tool_call_id = Some("call_9".into())),
    ("refusal", |r| r.messages[5].refusal = None),
    ("message order", |r| r.messages.swap(0, 1)),
    ("one message fewer", |r| drop(r.messages.pop())),
    ("tool name", |r| r.tools[0].name = "peek".into()),
    ("tool description", |r| r.tools[0].description = None),
    ("tool parameters", |r| r.tools[0].parameters = Some(json!({"type": "object"}))),
    ("tool strict", |r| r.tools[0].strict = Some(false)),
    ("no tools", |r| r.tools.clear()),
    ("tool_choice none", |r| r.tool_choice = Some(ToolChoice::None)),
    ("tool_choice auto", |r| r.tool_choice = Some(ToolChoice::Auto)),
    ("tool_choice required", |r| r.tool_choice = Some(ToolChoice::Required)),
    ("tool_choice absent", |r| r.tool_choice = None),
    ("parallel_tool_calls", |r| r.parallel_tool_calls = Some(true)),
    ("parallel_tool_calls absent", |r| r.parallel_tool_calls = None),
    ("response_format text", |r| r.response_format = Some(ResponseFormat::Text)),
    ("response_format json_object", |r| r.response_format = Some(ResponseFormat::JsonObject)),
    ("response_format absent", |r| r.response_format = None),
    ("schema", |r| {
        r.response_format = Some(ResponseFormat::JsonSchema {
            name: "s".into(),
            schema: Some(json!({"type": "array"})),
            strict: Some(true),
            description: None,
        })
    }),
    ("schema name", |r| {
        r.response_format = Some(ResponseFormat::JsonSchema {
            name: "t".into(),
            schema: Some(json!({"type": "object"})),
            strict: Some(true),
            description: None,
        })
    }),
    ("schema description", |r| {
        r.response_format = Some(ResponseFormat::JsonSchema {
            name: "s".into(),
            schema: Some(json!({"type": "object"})),
            strict: Some(true),
            description: Some("d".into()),
        })
    }),
    ("temperature", |r| r.sampling.temperature = Some(0.3)),
    ("temperature absent", |r| r.sampling.temperature = None),
    ("top_p", |r| r.sampling.top_p = Some(0.8)),
    ("top_k", |r| r.sampling.top_k = None),
    ("presence_penalty", |r| r.sampling.presence_penalty = Some(0.0)),
    ("frequency_penalty", |r| r.sampling.frequency_penalty = Some(0.1)),
    ("seed", |r| r.sampling.seed = Some(43)),
    ("stop", |r| r.sampling.stop = vec!["END".into()]),
    ("stop order", |r| r.sampling.stop.reverse()),
    ("logit_bias value", |r| r.sampling.logit_bias = VecMap::from_iter([("50256".into(), (-99).into())])),
    ("logit_bias token", |r| r.sampling.logit_bias = VecMap::from_iter([("50257".into(), (-100).into())])),
    ("n", |r| r.sampling.n = Some(3)),
    ("max_output_tokens", |r| r.max_output_tokens = Some(301)),
    ("reasoning_effort", |r| r.reasoning_effort = Some(ReasoningEffort::High)),
    ("extra value", |r| drop(r.extra.insert("service_tier".into(), json!("auto")))),
    ("extra key", |r| drop(r.extra.insert("store".into(), json!(true)))),
    ("dialect with extra", |r| r.dialect = Dialect::Anthropic),
    ("forwarded header", |r| r.forwarded_headers = vec![("anthropic-beta".into(), "context-1m-2025-08-07".into())]),
    ("forwarded header value", |r| r.forwarded_headers = vec![("anthropic-beta".into(), "files-api-2025-04-14".into())]),
];

#[test]
fn every_answer_changing_field_changes_the_key() {
    let base = key(&full());
    let mut seen = BTreeMap::from([(base, "base")]);
    for (name, mutate) in ANSWER_CHANGING {
        let mut req = full();
        mutate(&mut req);
        if let Some(prev) = seen.insert(key(&req), name) {
            panic!("{name} gives the same key as {prev}");
        }
    }
}

#[test]
fn every_scope_field_changes_the_key() {
    let req = full();
    let scopes = [
        SCOPE,
        KeyScope { tenant: "t2", ..SCOPE },
        KeyScope { public_model: "fast", ..SCOPE },
        KeyScope { route: &route_fingerprint([("anthropic", "claude")]), ..SCOPE },
    ];
    let keys: std::collections::BTreeSet<_> = scopes.iter().map(|s| cache_key(s, &req)).collect();
    assert_eq!(keys.len(), scopes.len());
}

/// Each leaves the answer unchanged, so each must keep the key.
const ANSWER_KEEPING: &[Mutation] = &[
    ("stream", |r| r.stream = !r.stream),
    ("include_usage", |r| r.include_usage = !r.include_usage),
    ("user", |r| r.user = None),
    ("metadata", |r| r.metadata.clear()),
    ("model name", |r| r.model = "alias".into()),
    ("max_tokens field", |r| r.max_tokens_field = MaxTokensField::MaxTokens),
    ("stop spelling", |r| r.sampling.stop_was_string = !r.sampling.stop_was_string),
    ("negative zero", |r| r.sampling.presence_penalty = Some(-0.0)),
    ("logit_bias as float", |r| {
        r.sampling.logit_bias = VecMap::from_iter([("50256".into(), serde_json::Number::from_f64(-100.0).unwrap())])
    }),
];

#[test]
fn fields_that_do_not_change_the_answer_keep_the_key() {
    let mut base = full();
    base.sampling.presence_penalty = Some(0.0);
    for (name, mutate) in ANSWER_KEEPING {
        let mut req = base.clone();
        mutate(&mut req);
        assert_eq!(key(&req), key(&base), "{name}");
    }
}

#[test]
fn spellings_of_one_request_share_a_key() {
    let same = [
        (r#""stop":"END","max_tokens":9,"temperature":0"#, r#""stop":["END"],"max_completion_tokens":9,"temperature":0.0"#),
        (r#""n":1,"temperature":-0.0"#, r#""temperature":0"#),
        (r#""user":"a","metadata":{"x":"1"},"stream":true"#, r#""user":"b","stream_options":{"include_usage":true}"#),
    ];
    for (a, b) in same {
        let body = |extra: &str| format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],{extra}}}"#);
        assert_eq!(key(&decode(Dialect::OpenAi, body(a).as_bytes())), key(&decode(Dialect::OpenAi, body(b).as_bytes())), "{a} vs {b}");
    }
}

#[test]
fn dialect_counts_only_with_dialect_specific_data() {
    let oa = br#"{"model":"m","max_tokens":10,"temperature":0,"messages":[{"role":"user","content":"hi"}]}"#;
    let an = br#"{"model":"m","max_tokens":10,"temperature":0,"messages":[{"role":"user","content":"hi"}]}"#;
    let (oa, an) = (decode(Dialect::OpenAi, oa), decode(Dialect::Anthropic, an));
    let without_raw = ChatRequest { raw: None, ..an.clone() };
    assert_eq!(key(&oa), key(&without_raw), "the canonical part alone does not depend on the dialect");
    assert_ne!(key(&oa), key(&an), "an Anthropic caller's own object is keyed: it is what an Anthropic upstream receives");
    let with_extra = |mut r: ChatRequest| {
        r.extra.insert("top_logprobs".into(), json!(2));
        key(&r)
    };
    assert_ne!(with_extra(oa.clone()), with_extra(an.clone()));
    let with_other = |mut r: ChatRequest| {
        r.messages[0].content = Content::Parts(vec![Part::Other(json!({"type": "document"}))]);
        key(&r)
    };
    assert_ne!(with_other(oa), with_other(an));
}

#[test]
fn a_responses_request_shares_the_key_of_the_chat_request_it_means() {
    let chat = br#"{"model":"m","max_completion_tokens":10,"temperature":0,"messages":[{"role":"system","content":"be brief"},
        {"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#;
    let resp = br#"{"model":"m","max_output_tokens":10,"temperature":0,"instructions":"be brief","input":"hi","store":false,
        "tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"metadata":{"run":"x"},"include":[]}"#;
    let (chat, resp) = (decode(Dialect::OpenAi, chat), decode(Dialect::Responses, resp));
    assert_eq!(key(&chat), key(&resp), "its own object reaches only a Responses upstream, whose answers are not stored");
}

#[test]
fn a_responses_replay_is_a_response_object_or_its_stream() {
    let mut r = response();
    r.choices.truncate(1);
    let e = entry(r);
    let echo = std::rc::Rc::new(dialect::responses::Echo::new("req_9", None));
    let body: Value = serde_json::from_slice(&replay(&e, Dialect::Responses, false, true, Some(&echo)).unwrap()).unwrap();
    assert_eq!((&body["id"], &body["object"], &body["status"]), (&json!("resp_req_9"), &json!("response"), &json!("completed")));
    let bytes = replay(&e, Dialect::Responses, true, true, Some(&echo)).unwrap();
    assert_eq!(hear(Dialect::Responses, &bytes), expected(&e.response, 1, e.response.usage));
    assert_split_invariant(Dialect::Responses, &bytes);
}

#[test]
fn route_fingerprints_do_not_collide() {
    assert_ne!(route_fingerprint([("a/b", "c")]), route_fingerprint([("a", "b/c")]));
    assert_ne!(route_fingerprint([("a", "b"), ("c", "d")]), route_fingerprint([("c", "d"), ("a", "b")]));
    assert_eq!(route_fingerprint([("openai", "gpt-4o")]), SCOPE.route);
}

fn body_with_extra(fields: &[(String, i64)]) -> Vec<u8> {
    let extra: String = fields.iter().map(|(k, v)| format!(",\"x_{k}\": {v}")).collect();
    format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}]{extra}}}"#).into_bytes()
}

proptest! {
    #[test]
    fn key_ignores_pass_through_field_order(
        fields in proptest::collection::btree_map("[a-z]{1,6}", any::<i64>(), 1..8)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>())
            .prop_shuffle()
    ) {
        let mut sorted = fields.clone();
        sorted.sort();
        let a = decode(Dialect::OpenAi, &body_with_extra(&fields));
        let b = decode(Dialect::OpenAi, &body_with_extra(&sorted));
        prop_assert_eq!(key(&a), key(&b));
    }

    #[test]
    fn key_equal_exactly_when_text_equal(a in "\\PC{0,12}", b in "\\PC{0,12}") {
        let req = |t: &str| openai(json!({"model": "m", "messages": [{"role": "user", "content": t}]}));
        prop_assert_eq!(key(&req(&a)) == key(&req(&b)), a == b);
    }

    #[test]
    fn key_equal_exactly_when_temperature_equal(a in 0.0f64..2.0, b in 0.0f64..2.0) {
        let req = |t: f64| openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": t}));
        prop_assert_eq!(key(&req(a)) == key(&req(b)), a == b);
    }
}

// ---- policy ----

fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn cache_control_parsing() {
    let cc = |list: &[(&str, &str)]| CacheControl::from_headers(&headers(list));
    let d = CacheControl::default();
    let cases: &[(&[(&str, &str)], CacheControl)] = &[
        (&[], d),
        (&[("X-Switchyard-Cache", " ON ")], CacheControl { switch: Some(true), ..d }),
        (&[("x-switchyard-cache", "off")], CacheControl { switch: Some(false), ..d }),
        (&[("x-switchyard-cache", "maybe")], d),
        (&[("Cache-Control", "no-cache")], CacheControl { no_cache: true, ..d }),
        (&[("cache-control", "No-Store, max-age=300")], CacheControl { no_store: true, max_age_s: Some(300), ..d }),
        (&[("cache-control", "max-age=\"120\"")], CacheControl { max_age_s: Some(120), ..d }),
        (&[("cache-control", "max-age=0")], CacheControl { no_cache: true, ..d }),
        (&[("cache-control", "max-age=99999999999")], CacheControl { max_age_s: Some(1 << 31), ..d }),
        (&[("cache-control", "max-age=-5, max-age=1e3, max-age")], d),
        (&[("cache-control", "no-cache"), ("cache-control", "no-store")], CacheControl { no_cache: true, no_store: true, ..d }),
        (&[("cache-control", "private, no-transform")], d),
    ];
    for (list, want) in cases {
        assert_eq!(cc(list), *want, "{list:?}");
    }
}

#[test]
fn policy_table() {
    let req = |temperature: Option<f64>, seed: Option<i64>| {
        let mut r = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 3}));
        r.sampling.temperature = temperature;
        r.sampling.seed = seed;
        r
    };
    let on = RoutePolicy { enabled: true, ttl_s: 600, max_stale_s: 30 };
    let off = RoutePolicy { enabled: false, ttl_s: 0, max_stale_s: 0 };
    let h = |list: &[(&str, &str)]| CacheControl::from_headers(&headers(list));
    // (case, temperature, seed, headers, route, read, write, ttl_s, reason)
    type Row<'a> = (&'a str, Option<f64>, Option<i64>, &'a [(&'a str, &'a str)], RoutePolicy, bool, bool, u32, &'a str);
    let rows: &[Row] = &[
        ("random sampling", Some(0.7), None, &[], off, false, false, 0, "not_cacheable"),
        ("default sampling", None, None, &[], off, false, false, 0, "not_cacheable"),
        ("temperature 0", Some(0.0), None, &[], off, true, true, 60, "deterministic"),
        ("seed", Some(1.0), Some(7), &[], off, true, true, 60, "deterministic"),
        ("route enabled", Some(0.7), None, &[], on, true, true, 600, "route_enabled"),
        ("client on", Some(0.7), None, &[("x-switchyard-cache", "on")], off, true, true, 60, "client_opt_in"),
        ("client max-age", None, None, &[("cache-control", "max-age=3600")], off, true, true, 3600, "client_opt_in"),
        ("max-age under KV minimum", None, None, &[("cache-control", "max-age=5")], on, true, true, 60, "client_opt_in"),
        ("client off beats route", Some(0.0), Some(1), &[("x-switchyard-cache", "off")], on, false, false, 0, "client_off"),
        ("no-cache", Some(0.0), None, &[("cache-control", "no-cache")], on, false, true, 600, "route_enabled"),
        ("max-age=0 is no-cache", Some(0.0), None, &[("cache-control", "max-age=0")], off, false, true, 60, "deterministic"),
        ("no-store", None, None, &[("cache-control", "no-store")], on, true, false, 600, "route_enabled"),
        ("no-cache no-store", Some(0.0), None, &[("cache-control", "no-cache, no-store")], on, false, false, 0, "client_no_cache_no_store"),
        ("no-cache alone does not opt in", Some(0.7), None, &[("cache-control", "no-cache")], off, false, false, 0, "not_cacheable"),
    ];
    for (case, temperature, seed, list, route, read, write, ttl_s, reason) in rows {
        let d = decide(&req(*temperature, *seed), &h(list), route);
        assert_eq!((d.read, d.write, d.ttl_s, d.reason), (*read, *write, *ttl_s, *reason), "{case}");
    }
}

#[test]
fn decision_carries_stale_window_and_kv_ttl() {
    let req = openai(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}));
    let d = decide(&req, &CacheControl::default(), &RoutePolicy { enabled: false, ttl_s: 300, max_stale_s: 120 });
    assert_eq!((d.ttl_s, d.max_stale_s, d.max_age_s, d.kv_ttl_s()), (300, 120, None, 420));
    assert_eq!(BYPASS.kv_ttl_s(), MIN_TTL_S);
}

// ---- entries ----

fn response() -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o-2024-08-06".into(),
        created: 1_700_000_000,
        choices: vec![
            Choice {
                index: 0,
                content: Some("Hello \"world\"\n".into()),
                refusal: None,
                tool_calls: vec![],
                finish_reason: Some(FinishReason::Stop),
            },
            Choice {
                index: 1,
                content: None,
                refusal: None,
                tool_calls: vec![
                    ToolCall { id: "call_a".into(), name: "look".into(), arguments: "{\"q\":1}".into() },
                    ToolCall { id: "call_b".into(), name: "peek".into(), arguments: "{}".into() },
                ],
                finish_reason: Some(FinishReason::ToolCalls),
            },
        ],
        usage: Some(Usage { input_tokens: 20, output_tokens: 9, cached_input_tokens: 4, reasoning_tokens: 3, ..Default::default() }),
    }
}

fn entry(response: ChatResponse) -> Entry {
    Entry { response, created_ms: 1_000_000, ttl_s: 60, provider: "openai".into(), upstream_model: "gpt-4o".into(), cost_nano_usd: 12_345 }
}

#[test]
fn entry_round_trips() {
    let mut odd = response();
    odd.choices[0].refusal = Some("no".into());
    odd.choices[0].finish_reason = Some(FinishReason::Other("weird".into()));
    odd.choices[1].finish_reason = None;
    odd.usage = Some(Usage { cache_write_tokens: 5, estimated: true, ..Default::default() });
    let mut no_usage = response();
    no_usage.usage = None;
    for r in [response(), odd, no_usage] {
        let e = entry(r);
        let text = e.to_json();
        assert!(!text.contains('\n') && !text.contains(": "), "compact: {text}");
        assert_eq!(Entry::from_json(&text), Some(e));
    }
}

#[test]
fn unreadable_entries_are_misses() {
    let good: Value = serde_json::from_str(&entry(response()).to_json()).unwrap();
    let mut newer = good.clone();
    newer["v"] = json!(2);
    let mut unknown = good.clone();
    unknown["surprise"] = json!(1);
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("choices");
    for bad in ["", "null", "{}", "not json", &newer.to_string(), &unknown.to_string(), &missing.to_string()] {
        assert_eq!(Entry::from_json(bad), None, "{bad}");
    }
}

#[test]
fn only_complete_answers_are_storable() {
    let with = |f: fn(&mut ChatResponse)| {
        let mut r = response();
        f(&mut r);
        storable(&r)
    };
    type Case = (&'static str, fn(&mut ChatResponse), bool);
    let cases: &[Case] = &[
        ("text and tool calls", |_| {}, true),
        ("no usage", |r| r.usage = None, true),
        ("estimated usage", |r| r.usage = Some(Usage { estimated: true, ..Default::default() }), true),
        ("text with tool calls, stop", |r| r.choices[0].tool_calls = r.choices[1].tool_calls.clone(), true),
        ("no choices", |r| r.choices.clear(), false),
        ("refusal", |r| r.choices[0].refusal = Some("I can't".into()), false),
        ("content filter", |r| r.choices[0].finish_reason = Some(FinishReason::ContentFilter), false),
        ("truncated", |r| r.choices[0].finish_reason = Some(FinishReason::Length), false),
        ("unknown finish", |r| r.choices[0].finish_reason = Some(FinishReason::Other("pause".into())), false),
        ("no finish", |r| r.choices[0].finish_reason = None, false),
        ("empty text", |r| r.choices[0].content = Some(String::new()), false),
        ("tool_calls finish without calls", |r| r.choices[1].tool_calls.clear(), false),
        ("unnamed tool call", |r| r.choices[1].tool_calls[0].name.clear(), false),
        ("index out of order", |r| r.choices.swap(0, 1), false),
    ];
    for (case, f, want) in cases {
        assert_eq!(with(*f), *want, "{case}");
    }
}

#[test]
fn freshness_boundaries() {
    let e = entry(response()); // created at 1_000_000 ms, TTL 60 s
    let cases = [
        (999_000, 30, Freshness::Fresh { age_s: 0 }),
        (1_000_000, 30, Freshness::Fresh { age_s: 0 }),
        (1_059_999, 30, Freshness::Fresh { age_s: 59 }),
        (1_060_000, 30, Freshness::Stale { age_s: 60 }),
        (1_089_999, 30, Freshness::Stale { age_s: 89 }),
        (1_090_000, 30, Freshness::Expired),
        (1_060_000, 0, Freshness::Expired),
        (u64::MAX, u32::MAX, Freshness::Expired),
    ];
    for (now_ms, max_stale_s, want) in cases {
        assert_eq!(fresh(&e, now_ms, max_stale_s), want, "{now_ms} {max_stale_s}");
    }
}

#[test]
fn callers_max_age_limits_what_it_is_served() {
    let e = entry(response());
    let d = Decision { read: true, write: true, ttl_s: 60, max_stale_s: 30, max_age_s: Some(10), reason: "client_opt_in" };
    assert_eq!(d.judge(&e, 1_010_999), Freshness::Fresh { age_s: 10 });
    assert_eq!(d.judge(&e, 1_011_000), Freshness::Stale { age_s: 11 }, "kept only as a fallback");
    assert_eq!(Decision { max_stale_s: 0, ..d }.judge(&e, 1_011_000), Freshness::Expired);
    let lax = Decision { max_age_s: None, ..d };
    assert_eq!(lax.judge(&e, 1_070_000), Freshness::Stale { age_s: 70 });
}

// ---- replay ----

/// What a decoded stream said: text and tool calls per choice, finishes, usage, clean end.
#[derive(Debug, Default, PartialEq)]
struct Heard {
    text: BTreeMap<u32, String>,
    calls: BTreeMap<(u32, u32), (String, String, String)>,
    finish: BTreeMap<u32, FinishReason>,
    usage: Option<Usage>,
    done: bool,
}

fn hear(wire: Dialect, bytes: &[u8]) -> Heard {
    let mut d = StreamDecoder::new(wire, Default::default());
    let mut events = d.push(bytes).unwrap();
    events.extend(d.finish().unwrap());
    let mut h = Heard::default();
    for ev in events {
        match ev {
            StreamEvent::TextDelta { index, text } => h.text.entry(index).or_default().push_str(&text),
            StreamEvent::ToolCallDelta { index, call_index, id, name, arguments } => {
                let c = h.calls.entry((index, call_index)).or_default();
                c.0 += &id.unwrap_or_default();
                c.1 += &name.unwrap_or_default();
                c.2 += &arguments;
            }
            StreamEvent::Finish { index, reason } => drop(h.finish.insert(index, reason)),
            StreamEvent::Usage(u) => h.usage = Some(u),
            StreamEvent::Done => h.done = true,
            StreamEvent::Start { .. } => {}
            StreamEvent::Error { message } => panic!("error event: {message}"),
        }
    }
    h
}

/// What a stream of `r` should say (choices beyond `choices` are not carried).
fn expected(r: &ChatResponse, choices: usize, usage: Option<Usage>) -> Heard {
    let mut h = Heard { usage, done: true, ..Default::default() };
    for c in r.choices.iter().take(choices) {
        if let Some(t) = &c.content {
            h.text.insert(c.index, t.clone());
        }
        for (i, t) in c.tool_calls.iter().enumerate() {
            h.calls.insert((c.index, i as u32), (t.id.clone(), t.name.clone(), t.arguments.clone()));
        }
        h.finish.insert(c.index, c.finish_reason.clone().unwrap());
    }
    h
}

#[test]
fn replay_once_is_the_dialects_own_body() {
    let e = entry(response());
    for d in [Dialect::OpenAi, Dialect::Anthropic] {
        assert_eq!(replay(&e, d, false, true, None), Some(dialect::encode_response(d, &e.response, None)));
    }
    let body: Value = serde_json::from_slice(&replay(&e, Dialect::OpenAi, false, false, None).unwrap()).unwrap();
    assert_eq!(body["choices"][1]["message"]["tool_calls"][1]["function"]["name"], "peek");
}

#[test]
fn replayed_openai_stream_decodes_to_the_same_answer() {
    let e = entry(response());
    let bytes = replay(&e, Dialect::OpenAi, true, true, None).unwrap();
    assert_eq!(hear(Dialect::OpenAi, &bytes), expected(&e.response, 2, e.response.usage));
    assert!(bytes.ends_with(b"data: [DONE]\n\n"));
    assert_split_invariant(Dialect::OpenAi, &bytes);
    let quiet = replay(&e, Dialect::OpenAi, true, false, None).unwrap();
    assert_eq!(hear(Dialect::OpenAi, &quiet), expected(&e.response, 2, None));
}

#[test]
fn replayed_anthropic_stream_decodes_to_the_same_answer() {
    let mut r = response();
    let calls = r.choices.remove(1).tool_calls;
    r.choices[0].tool_calls = calls;
    r.usage = Some(Usage { input_tokens: 30, output_tokens: 9, cached_input_tokens: 4, cache_write_tokens: 6, ..Default::default() });
    let e = entry(r);
    let bytes = replay(&e, Dialect::Anthropic, true, false, None).unwrap();
    assert_eq!(hear(Dialect::Anthropic, &bytes), expected(&e.response, 1, e.response.usage));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("event: message_start\n") && text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert_split_invariant(Dialect::Anthropic, &bytes);
}

#[test]
fn unstorable_entries_are_not_replayed() {
    let mut r = response();
    r.choices[0].finish_reason = Some(FinishReason::Length);
    for stream in [false, true] {
        assert_eq!(replay(&entry(r.clone()), Dialect::OpenAi, stream, true, None), None);
    }
}

// ---- similar prompts ----

fn chat(system: &str, user: &str, temperature: f64) -> ChatRequest {
    openai(json!({"model": "m", "temperature": temperature,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}))
}

#[test]
fn prefix_hash_ignores_only_the_last_user_text() {
    let base = prefix_hash(&SCOPE, &chat("be brief", "capital of France?", 0.0));
    assert_eq!(base, prefix_hash(&SCOPE, &chat("be brief", "France's capital?", 0.0)));
    assert_ne!(base, prefix_hash(&SCOPE, &chat("be verbose", "capital of France?", 0.0)));
    assert_ne!(base, prefix_hash(&SCOPE, &chat("be brief", "capital of France?", 0.5)));
    assert_ne!(base, prefix_hash(&KeyScope { tenant: "t2", ..SCOPE }, &chat("be brief", "capital of France?", 0.0)));
    assert_ne!(base, cache_key(&SCOPE, &chat("be brief", "capital of France?", 0.0)));
}

#[test]
fn last_user_text_only_for_text_prompts() {
    assert_eq!(last_user_text(&chat("s", "hello", 0.0)).as_deref(), Some("hello"));
    let mut req = full();
    assert_eq!(last_user_text(&req), None, "an image and audio in the last user turn");
    parts(&mut req, 2).truncate(1);
    assert_eq!(last_user_text(&req).as_deref(), Some("what is this?"));
    assert_eq!(last_user_text(&chat("s", "  ", 0.0)), None);
    let system_only = openai(json!({"model": "m", "messages": [{"role": "system", "content": "s"}]}));
    assert_eq!(last_user_text(&system_only), None);
}

#[test]
fn cosine_cases() {
    let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
    assert!(close(cosine(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), 1.0));
    assert!(close(cosine(&[1.0, 0.0], &[0.0, 5.0]), 0.0));
    assert!(close(cosine(&[1.0, 1.0], &[-1.0, -1.0]), -1.0));
    assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
    assert_eq!(cosine(&[], &[]), 0.0);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    assert_eq!(cosine(&[f32::NAN, 1.0], &[1.0, 1.0]), 0.0);
}

/// An Anthropic caller's block-level fields reach an Anthropic upstream untouched, so they
/// are keyed: two requests differing only in one of them never share an entry, while fields
/// with no effect on the answer still do not count.
#[test]
fn anthropic_block_fields_are_keyed() {
    let req = |tool_result: Value, extra: &str| {
        let body = format!(
            r#"{{"model":"m","max_tokens":10,"temperature":0,{extra}"messages":[
            {{"role":"user","content":"look"}},
            {{"role":"assistant","content":[{{"type":"tool_use","id":"toolu_1","name":"look","input":{{}}}}]}},
            {{"role":"user","content":[{tool_result},{{"type":"text","text":"and now?"}}]}}]}}"#
        );
        decode(Dialect::Anthropic, body.as_bytes())
    };
    let plain = json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "no cat"});
    let mut is_error = plain.clone();
    is_error["is_error"] = true.into();
    let image = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}});
    let with_image = json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "no cat"}, image]});
    let mut cached = plain.clone();
    cached["cache_control"] = json!({"type": "ephemeral"});
    let base = key(&req(plain.clone(), ""));
    // The canonical forms agree (tool result text "no cat" in each): only the raw object tells them apart.
    assert_eq!(req(plain.clone(), "").messages, req(is_error.clone(), "").messages);
    for (name, variant) in [("is_error", is_error), ("image in tool_result", with_image), ("cache_control", cached)] {
        assert_ne!(key(&req(variant, "")), base, "{name}");
    }
    for same in [r#""stream":true,"#, r#""metadata":{"user_id":"u2"},"#] {
        assert_eq!(key(&req(plain.clone(), same)), base, "{same}");
    }
    // The prefix hash still ignores the last user message's content, raw object included.
    let last = |text: &str| {
        let body = format!(
            r#"{{"model":"m","max_tokens":10,"system":[{{"type":"text","text":"s","cache_control":{{"type":"ephemeral"}}}}],"messages":[{{"role":"user","content":"{text}"}}]}}"#
        );
        prefix_hash(&SCOPE, &decode(Dialect::Anthropic, body.as_bytes()))
    };
    assert_eq!(last("capital of France?"), last("France's capital?"));
    assert_ne!(
        key(&decode(Dialect::Anthropic, br#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"}]}"#)),
        key(&decode(Dialect::Anthropic, br#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"b"}]}"#))
    );
}
