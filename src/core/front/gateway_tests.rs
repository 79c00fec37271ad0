//! The front door from inbound request to first action, over the default config and small
//! ones made here: routing, authentication (keys, runtime keys, browser tokens), CORS, the
//! body and header caps, errors in each dialect, upstream and mock flows, probes, and the
//! cost and analytics a finished request reports.

use super::*;
use crate::core::pipeline::protocol::Event;
use crate::core::pipeline::session::Session;
use crate::core::state::keystore::KvOp;

const KEY: &str = "Bearer sk-switchyard-dev";

fn hdrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn inbound<'a>(method: &'a str, path: &'a str, headers: &'a [(String, String)], body: &'a str) -> Inbound<'a> {
    Inbound { now_ms: 1_700_000_000_000, seed: 0xabc, ..Inbound::test(method, path, headers, body.as_bytes()) }
}

fn run(gw: &Gateway, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (Flow, Action) {
    let h = hdrs(headers);
    gw.start(&inbound(method, path, &h, body))
}

fn reply(a: Action) -> Reply {
    match a {
        Action::Respond(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn err_code(r: &Reply) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["error"]["code"].as_str().unwrap().to_string()
}

const CHAT: &str = r#"{"model":"mock","messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn healthz_needs_no_key() {
    let r = reply(run(&Gateway::new(None), "GET", "/healthz", &[], "").1);
    assert_eq!(r.status, 200);
    assert!(r.header("x-request-id").unwrap().starts_with("req_"));
}

#[test]
fn routing_errors() {
    let gw = Gateway::new(None);
    let r = reply(run(&gw, "GET", "/nope", &[], "").1);
    assert_eq!((r.status, err_code(&r).as_str()), (404, "unknown_route"));
    let r = reply(run(&gw, "GET", "/v1/chat/completions", &[("authorization", KEY)], "").1);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = reply(run(&gw, "DELETE", "/v1/models", &[], "").1);
    assert_eq!(r.status, 405);
}

#[test]
fn paths_under_messages_answer_in_anthropics_shape() {
    let gw = Gateway::new(None);
    for path in ["/v1/messages/batches", "/v1/messages/nope/deeper"] {
        let r = reply(run(&gw, "POST", path, &[("x-api-key", "sk-switchyard-dev")], "{}").1);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((r.status, v["type"].as_str(), v["error"]["type"].as_str()), (404, Some("error"), Some("not_found_error")), "{path}");
    }
    let r = reply(run(&gw, "GET", "/v1/messages", &[], "").1);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((r.status, v["type"].as_str()), (405, Some("error")));
    // Elsewhere unknown paths keep OpenAI's shape.
    let r = reply(run(&gw, "GET", "/v1/messagesx", &[], "").1);
    assert_eq!((r.status, err_code(&r).as_str()), (404, "unknown_route"));
    let crash = reply(crate::core::front::step::crash_reply("/v1/messages/count_tokens", "r"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&crash.body).unwrap()["error"]["type"], "api_error");
}

fn anthropic_upstream() -> Gateway {
    anthropic_upstream_with("")
}

/// The same, with more top-level config members (`extra` starts with a comma).
fn anthropic_upstream_with(extra: &str) -> Gateway {
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"anth":{{"kind":"anthropic","base_url":"http://127.0.0.1:9","api_key_secret":"ANTH_KEY"}}}},
            "models":[{{"name":"claude","provider":"anth","model":"claude-x"}}],
            "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3","tenant":"t"}}]{extra}}}"#,
    )));
    gw.set_secret("ANTH_KEY", "sk-ant-up");
    gw
}

#[test]
fn anthropic_beta_reaches_an_anthropic_upstream_and_no_credential_does() {
    let gw = anthropic_upstream();
    let messages = r#"{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let h = [
        ("x-api-key", "sk-switchyard-dev"),
        ("anthropic-beta", "files-api-2025-04-14"),
        ("cookie", "a=b"),
        ("anthropic-version", "2023-06-01"),
    ];
    let (_, action) = run(&gw, "POST", "/v1/messages", &h, messages);
    let Action::Fetch { request, .. } = action else { panic!("{action:?}") };
    assert!(request.headers.contains(&("anthropic-beta".into(), "files-api-2025-04-14".into())), "{:?}", request.headers);
    assert!(request.headers.contains(&("x-api-key".into(), "sk-ant-up".into())), "the provider's key, not the caller's");
    assert!(!request.headers.iter().any(|(k, v)| k == "cookie" || v == "sk-switchyard-dev"));
    let chat = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#;
    let (_, action) = run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY), ("anthropic-beta", "b1")], chat);
    let Action::Fetch { request, .. } = action else { panic!("{action:?}") };
    assert!(request.headers.contains(&("anthropic-beta".into(), "b1".into())), "an OpenAI caller's beta flags reach Anthropic too");
}

#[test]
fn an_openai_caller_served_by_anthropic_gets_the_requests_time_as_created() {
    let gw = anthropic_upstream();
    let chat = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#;
    let mut s = run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], chat).0.into_session().unwrap();
    s.on_head(200, &hdrs(&[("content-type", "application/json")]), 0);
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"yo"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
    let r = reply(s.on_body(body, 0));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((v["object"].as_str(), v["created"].as_u64()), (Some("chat.completion"), Some(1_700_000_000)));
}

#[test]
fn an_overloaded_upstream_is_529_overloaded_error_for_anthropic_callers() {
    // No retries, so the first 529 is the answer.
    let gw = anthropic_upstream_with(r#","retry":{"max_retries":0}"#);
    let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let messages = r#"{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut s = run(&gw, "POST", "/v1/messages", &[("x-api-key", "sk-switchyard-dev")], messages).0.into_session().unwrap();
    s.on_head(529, &[], 0);
    let r = reply(s.on_body(overloaded, 0));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((r.status, v["type"].as_str(), v["error"]["type"].as_str()), (529, Some("error"), Some("overloaded_error")));
    // An OpenAI caller of the same model gets a 502 in OpenAI's shape.
    let chat = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#;
    let mut s = run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], chat).0.into_session().unwrap();
    s.on_head(529, &[], 0);
    let r = reply(s.on_body(overloaded, 0));
    assert_eq!((r.status, err_code(&r).as_str()), (502, "upstream_overloaded"));
}

/// Two mock models and an Anthropic one; the dev key may use them all, `sk-narrow` only `a`.
fn scoped_config() -> Gateway {
    let narrow = crate::core::util::secret::sha256_hex(b"sk-narrow");
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"mock":{{"kind":"mock"}},"anth":{{"kind":"anthropic","base_url":"http://127.0.0.1:9","api_key_secret":"ANTH_KEY"}}}},
            "models":[{{"name":"a","aliases":["a-alias"],"provider":"mock","model":"mock-1"}},{{"name":"b","provider":"mock","model":"mock-2"}},
                      {{"name":"claude","provider":"anth","model":"claude-x"}},{{"name":"has/slash","provider":"mock","model":"mock-3"}}],
            "routes":[{{"name":"r-claude","steps":[{{"model":"claude"}},{{"model":"a"}}]}}],
            "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3","tenant":"t"}},
                    {{"name":"narrow","sha256":"{narrow}","tenant":"t","models":["a"]}}]}}"#
    )));
    gw.set_secret("ANTH_KEY", "sk-ant-up");
    gw
}

#[test]
fn a_model_by_id_is_an_openai_model_object_within_the_keys_scope() {
    let gw = scoped_config();
    let get = |key: &str, id: &str| reply(run(&gw, "GET", &format!("/v1/models/{id}"), &[("authorization", key)], "").1);
    let r = get(KEY, "a-alias");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((r.status, v), (200, serde_json::json!({"id": "a-alias", "object": "model", "created": 0, "owned_by": "mock"})));
    let r = get(KEY, "has%2Fslash");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["id"], "has/slash");
    assert_eq!(get(KEY, "has/slash").status, 200, "an unescaped slash is part of the id");
    for (key, id) in [(KEY, "ghost"), (KEY, ""), (KEY, "%zz"), ("Bearer sk-narrow", "b"), ("Bearer sk-narrow", "claude")] {
        let r = get(key, id);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (r.status, v["error"]["code"].as_str(), v["error"]["param"].as_str()),
            (404, Some("model_not_found"), Some("model")),
            "{id}"
        );
    }
    assert_eq!(get("Bearer sk-narrow", "a").status, 200);
    assert_eq!(get("Bearer wrong", "a").status, 401);
    assert_eq!(reply(run(&gw, "POST", "/v1/models/a", &[("authorization", KEY)], "").1).status, 405);
}

const COUNT: &str = r#"{"model":"a","system":"be brief","messages":[{"role":"user","content":"how many tokens is this?"}],
    "tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}]}"#;

fn json_of(r: &Reply) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn count_tokens_estimates_for_targets_without_a_count_endpoint() {
    let gw = scoped_config();
    let r = reply(run(&gw, "POST", "/v1/messages/count_tokens", &[("x-api-key", "sk-switchyard-dev")], COUNT).1);
    let v = json_of(&r);
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(v.as_object().unwrap().len(), 1, "only input_tokens: {v}");
    let req = crate::core::translate::dialect::anthropic::decode_count_request(COUNT.as_bytes()).unwrap();
    assert_eq!(v["input_tokens"], crate::core::front::count::estimate(&req));
    assert!(v["input_tokens"].as_u64().unwrap() > 10);
    assert_eq!((r.header("x-switchyard-usage-estimated"), r.header("x-switchyard-provider")), (Some("true"), Some("mock")));
    // A longer conversation counts more.
    let longer = COUNT.replace("how many tokens is this?", &"word ".repeat(100));
    let more = json_of(&reply(run(&gw, "POST", "/v1/messages/count_tokens", &[("x-api-key", "sk-switchyard-dev")], &longer).1));
    assert!(more["input_tokens"].as_u64() > v["input_tokens"].as_u64());
}

#[test]
fn count_tokens_asks_an_anthropic_target_and_falls_back_to_the_estimate() {
    let gw = scoped_config();
    let count = |model: &str, status: u16, body: &[u8]| {
        let headers = hdrs(&[("x-api-key", "sk-switchyard-dev"), ("anthropic-version", "2023-06-01")]);
        let text = COUNT.replace(r#""model":"a""#, &format!(r#""model":"{model}""#));
        let mut step = gw.begin(&inbound("POST", "/v1/messages/count_tokens", &headers, &text));
        let Action::Call { request, .. } = step.action().clone() else { panic!("{:?}", step.action()) };
        assert_eq!(request.url, "http://127.0.0.1:9/v1/messages/count_tokens");
        let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!((sent["model"].as_str(), sent["system"].as_str(), sent.get("max_tokens")), (Some("claude-x"), Some("be brief"), None));
        gw.resume(&mut step, Event::Called { status, body }, 0);
        reply(step.action().clone())
    };
    let r = count("claude", 200, br#"{"input_tokens":37}"#);
    assert_eq!((r.status, json_of(&r)["input_tokens"].as_u64()), (200, Some(37)));
    assert_eq!((r.header("x-switchyard-usage-estimated"), r.header("x-switchyard-model")), (None, Some("claude-x")));
    let r = count("r-claude", 529, br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
    assert_eq!((r.status, r.header("x-switchyard-usage-estimated")), (200, Some("true")), "a route counts at its first target");
    assert!(json_of(&r)["input_tokens"].as_u64().unwrap() > 10);
    assert_eq!(count("claude", 0, b"").header("x-switchyard-usage-estimated"), Some("true"));
}

#[test]
fn count_tokens_errors_are_anthropic_shaped() {
    let gw = scoped_config();
    let cases: &[(&str, &str, u16, &str)] = &[
        ("sk-switchyard-dev", r#"{"model":"a"}"#, 400, "invalid_request_error"),
        ("sk-switchyard-dev", r#"{"model":"ghost","messages":[{"role":"user","content":"hi"}]}"#, 404, "not_found_error"),
        ("sk-narrow", r#"{"model":"b","messages":[{"role":"user","content":"hi"}]}"#, 403, "permission_error"),
        ("sk-narrow", r#"{"model":"r-claude","messages":[{"role":"user","content":"hi"}]}"#, 403, "permission_error"),
        ("sk-wrong", COUNT, 401, "authentication_error"),
    ];
    for (key, body, status, kind) in cases {
        let r = reply(run(&gw, "POST", "/v1/messages/count_tokens", &[("x-api-key", key)], body).1);
        let v = json_of(&r);
        assert_eq!((r.status, v["type"].as_str(), v["error"]["type"].as_str()), (*status, Some("error"), Some(*kind)), "{body}");
    }
    let r = reply(run(&gw, "GET", "/v1/messages/count_tokens", &[("x-api-key", "sk-switchyard-dev")], "").1);
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
}

#[test]
fn auth_is_required() {
    let gw = Gateway::new(None);
    for h in [vec![], vec![("authorization", "Bearer wrong")], vec![("authorization", "sk-switchyard-dev")]] {
        let r = reply(run(&gw, "POST", "/v1/chat/completions", &h, CHAT).1);
        assert_eq!((r.status, err_code(&r).as_str()), (401, "invalid_api_key"));
    }
}

#[test]
fn models_lists_names_and_aliases() {
    let r = reply(run(&Gateway::new(None), "GET", "/v1/models", &[("authorization", KEY)], "").1);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"mock") && ids.contains(&"gpt-4o-mini"), "{ids:?}");
}

#[test]
fn the_default_config_serves_embeddings_from_the_mock() {
    let body = r#"{"model":"mock-embed","input":["hello","world"],"dimensions":8}"#;
    let (flow, action) = run(&Gateway::new(None), "POST", "/v1/embeddings", &[("authorization", KEY)], body);
    let Action::Mock(m) = action else { panic!("expected the mock, got {action:?}") };
    let mut s = flow.into_session().unwrap();
    assert_eq!(s.on_head(m.status, &m.headers, 0), Action::ReadBody);
    let r = reply(s.on_body(&m.frames.concat(), 0));
    let body = if r.body_from_upstream { m.frames.concat() } else { r.body };
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((r.status, v["data"].as_array().unwrap().len()), (200, 2), "{v}");
    assert_eq!(v["data"][1]["embedding"].as_array().unwrap().len(), 8);
}

#[test]
fn client_errors_have_right_status() {
    let gw = Gateway::new(None);
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, u16, &'a str);
    let cases: &[Case] = &[
        (&[("authorization", KEY)], "{", 400, "invalid_json"),
        (&[("authorization", KEY)], r#"{"model":"ghost","messages":[{"role":"user","content":"hi"}]}"#, 404, "model_not_found"),
        (&[("authorization", KEY), ("content-type", "text/plain")], CHAT, 415, "unsupported_content_type"),
        (&[("authorization", KEY), ("x-switchyard-mock", "explode")], CHAT, 400, "invalid_mock_directive"),
    ];
    for (h, body, status, code) in cases {
        let r = reply(run(&gw, "POST", "/v1/chat/completions", h, body).1);
        assert_eq!((r.status, err_code(&r).as_str()), (*status, *code), "{body}");
    }
}

#[test]
fn oversized_body_is_413_before_decoding() {
    let gw = Gateway::new(None);
    let h = hdrs(&[("authorization", KEY)]);
    let big = vec![b' '; 2 << 20];
    let r = reply(gw.start(&Inbound { seed: 1, ..Inbound::test("POST", "/v1/chat/completions", &h, &big) }).1);
    assert_eq!(r.status, 413);
    let r = reply(gw.start(&Inbound { declared_len: Some(5 << 20), seed: 1, ..Inbound::test("POST", "/v1/chat/completions", &h, b"") }).1);
    assert_eq!(r.status, 413);
}

#[test]
fn bad_config_reports_problems_on_requests_not_panics() {
    let gw = Gateway::new(Some(r#"{"models":[{"name":"a","provider":"x","model":"m"}]}"#));
    assert!(gw.config_problems().is_some());
    let r = reply(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], CHAT).1);
    assert_eq!(r.status, 500);
    assert!(String::from_utf8_lossy(&r.body).contains("models[0].provider"));
    assert_eq!(reply(run(&gw, "GET", "/healthz", &[], "").1).status, 200);
}

/// A plain chat request to the `fast` model of `upstream_config`.
fn chat_fast(gw: &Gateway) -> (Flow, Action) {
    run(gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], r#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#)
}

fn upstream_config(secret: bool) -> String {
    let key = if secret { r#","api_key_secret":"UP_KEY""# } else { "" };
    format!(
        r#"{{"providers":{{"up":{{"kind":"openai","base_url":"http://127.0.0.1:9/v1"{key},"timeout_ms":5000}}}},
           "models":[{{"name":"fast","provider":"up","model":"llama-3","capabilities":{{"tools":false}}}}],
           "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3","tenant":"t"}}]}}"#
    )
}

#[test]
fn openai_upstream_flow_non_streaming() {
    let mut gw = Gateway::new(Some(&upstream_config(true)));
    gw.set_secret("UP_KEY", "sk-up-secret");
    let (ex, action) = chat_fast(&gw);
    let Action::Fetch { request, timeout_ms, .. } = action else { panic!("{action:?}") };
    assert_eq!(request.url, "http://127.0.0.1:9/v1/chat/completions");
    assert_eq!(timeout_ms, 5000);
    assert!(request.headers.contains(&("authorization".into(), "Bearer sk-up-secret".into())));
    let mut ex = ex.into_session().unwrap();
    assert_eq!(ex.on_head(200, &hdrs(&[("content-type", "application/json")]), 0), Action::ReadBody);
    let body = br#"{"id":"x","object":"chat.completion","created":1,"model":"llama-3","choices":[{"index":0,"message":{"role":"assistant","content":"yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"system_fingerprint":"fp"}"#;
    let r = reply(ex.on_body(body, 0));
    assert_eq!(r.status, 200);
    assert!(r.body_from_upstream && r.body.is_empty(), "same-dialect bodies pass through untouched");
    assert_eq!(r.header("x-switchyard-provider"), Some("up"));
    assert_eq!(r.header("x-switchyard-model"), Some("llama-3"));
    assert_eq!(ex.exchange().usage.unwrap().input_tokens, 3);
}

#[test]
fn missing_provider_secret_is_a_gateway_error_naming_the_secret() {
    let gw = Gateway::new(Some(&upstream_config(true)));
    let r = reply(chat_fast(&gw).1);
    assert_eq!(r.status, 500);
    assert!(String::from_utf8_lossy(&r.body).contains("UP_KEY"));
}

#[test]
fn capability_mismatch_is_400() {
    let gw = Gateway::new(Some(&upstream_config(false)));
    let body = r#"{"model":"fast","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#;
    let r = reply(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], body).1);
    assert_eq!((r.status, err_code(&r).as_str()), (400, "unsupported_capability"));
}

#[test]
fn upstream_errors_and_failures() {
    // One attempt each: how a failure maps to the caller's status, without retries.
    let gw = Gateway::new(Some(&upstream_config(false).replacen('{', r#"{"retry":{"max_retries":0},"#, 1)));
    let start = || chat_fast(&gw).0.into_session().unwrap();
    let mut ex = start();
    ex.on_head(429, &hdrs(&[("retry-after", "7")]), 0);
    let r = reply(ex.on_body(br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#, 0));
    assert_eq!((r.status, r.header("retry-after")), (429, Some("7")));
    let mut ex = start();
    ex.on_head(200, &[], 0);
    assert_eq!(reply(ex.on_body(b"<html>", 0)).status, 502);
    assert_eq!(reply(start().on_fetch_error(true, 0)).status, 504);
    assert_eq!(reply(start().on_fetch_error(false, 0)).status, 502);
}

fn stream_exchange(gw: &Gateway) -> Session {
    let body = r#"{"model":"fast","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#;
    let mut ex = run(gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], body).0.into_session().unwrap();
    let Action::Stream(head) = ex.on_head(200, &hdrs(&[("content-type", "text/event-stream; charset=utf-8")]), 0) else { panic!() };
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    ex
}

#[test]
fn stream_passes_chunks_through_and_observes_usage() {
    let gw = Gateway::new(Some(&upstream_config(false)));
    let mut ex = stream_exchange(&gw);
    let c1 = b"data: {\"id\":\"c\",\"model\":\"llama-3\",\"created\":1,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n";
    assert_eq!(ex.on_chunk(c1).unwrap(), c1.to_vec(), "complete events pass through as sent");
    let usage = b"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}\n\n";
    let mut second = usage.to_vec();
    second.extend_from_slice(b"data: [DO");
    assert_eq!(ex.on_chunk(&second).unwrap(), usage.to_vec(), "half an event waits for the rest");
    assert_eq!(ex.on_chunk(b"NE]\n\n").unwrap(), b"data: [DONE]\n\n".to_vec());
    let tail = String::from_utf8(ex.on_end()).unwrap();
    assert!(tail.starts_with(": switchyard cost_usd=") && tail.contains("input_tokens=2 output_tokens=1 estimated=false"), "{tail}");
    assert_eq!(ex.exchange().usage.unwrap().input_tokens, 2);
}

#[test]
fn cut_or_malformed_stream_ends_with_in_band_error() {
    let gw = Gateway::new(Some(&upstream_config(false)));
    let mut ex = stream_exchange(&gw);
    ex.on_chunk(b"data: {\"id\":\"c\",\"choices\":[]}\n\n");
    let tail = String::from_utf8(ex.on_end()).unwrap();
    assert!(tail.starts_with("data: {\"error\""), "{tail}");
    let mut ex = stream_exchange(&gw);
    let out = String::from_utf8(ex.on_chunk(b"data: {garbage\n\n").unwrap()).unwrap();
    assert!(out.contains("\"error\""));
    assert_eq!(ex.on_chunk(b"data: [DONE]\n\n"), Some(Vec::new()), "nothing after the error");
    assert!(ex.on_end().is_empty());
    let mut ex = stream_exchange(&gw);
    assert!(String::from_utf8(ex.on_stream_error()).unwrap().contains("interrupted"));
}

#[test]
fn mock_flow_with_header_fault() {
    let gw = Gateway::new(None);
    let (_, action) = run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY), ("x-switchyard-mock", "status=503")], CHAT);
    let Action::Mock(m) = action else { panic!() };
    assert_eq!(m.status, 503);
    let (_, action) = run(
        &gw,
        "POST",
        "/v1/chat/completions",
        &[("authorization", KEY)],
        r#"{"model":"mock-rate-limited","messages":[{"role":"user","content":"hi"}]}"#,
    );
    let Action::Mock(m) = action else { panic!() };
    assert_eq!(m.status, 429);
}

#[test]
fn client_request_id_is_kept_when_plain() {
    let gw = Gateway::new(None);
    let r = reply(run(&gw, "GET", "/healthz", &[("x-request-id", "abc-123")], "").1);
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let r = reply(run(&gw, "GET", "/healthz", &[("x-request-id", "a b\nc")], "").1);
    assert!(r.header("x-request-id").unwrap().starts_with("req_"));
}

fn token_config() -> Gateway {
    let mut gw = Gateway::new(Some(
        r#"{"providers":{"mock":{"kind":"mock"}},
            "models":[{"name":"mock","provider":"mock","model":"mock-1"},{"name":"other","provider":"mock","model":"mock-2"}],
            "keys":[{"name":"backend","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3","tenant":"acme",
                     "origins":["https://app.example"]}],
            "tokens":{"secret":"TOKEN_KEY","max_ttl_seconds":600}}"#,
    ));
    gw.set_secret("TOKEN_KEY", "signing-secret");
    gw
}

fn at(gw: &Gateway, now_ms: u64, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Action {
    let h = hdrs(headers);
    gw.start(&Inbound { method, path, query: "", headers: &h, body: body.as_bytes(), declared_len: None, now_ms, seed: 1, entropy: &[] }).1
}

#[test]
fn browser_token_flow() {
    let gw = token_config();
    let minted = reply(at(
        &gw,
        1_000_000,
        "POST",
        "/v1/tokens",
        &[("authorization", KEY)],
        r#"{"origin":"https://app.example","models":["mock"],"ttl_seconds":60}"#,
    ));
    assert_eq!(minted.status, 200, "{}", String::from_utf8_lossy(&minted.body));
    let v: serde_json::Value = serde_json::from_slice(&minted.body).unwrap();
    let bearer = format!("Bearer {}", v["token"].as_str().unwrap());
    assert_eq!(v["expires_at"], 1_060);
    let chat = |now, origin: Option<&str>, model: &str| {
        let mut h = vec![("authorization", bearer.as_str())];
        h.extend(origin.map(|o| ("origin", o)));
        at(&gw, now, "POST", "/v1/chat/completions", &h, &format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#))
    };
    assert!(matches!(chat(1_010_000, Some("https://app.example"), "mock"), Action::Mock(_)));
    let r = reply(chat(1_010_000, Some("https://evil.example"), "mock"));
    assert_eq!((r.status, err_code(&r).as_str(), r.header("access-control-allow-origin")), (403, "origin_not_allowed", None));
    assert_eq!(reply(chat(1_010_000, None, "mock")).status, 403, "tokens are bound to an origin");
    assert_eq!(err_code(&reply(chat(1_010_000, Some("https://app.example"), "other"))), "model_not_allowed");
    let r = reply(chat(1_060_000, Some("https://app.example"), "mock"));
    assert_eq!((r.status, err_code(&r).as_str()), (401, "token_expired"));
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"), "the page can read that it must refresh");
    let r = reply(at(
        &gw,
        1_010_000,
        "POST",
        "/v1/tokens",
        &[("authorization", &bearer), ("origin", "https://app.example")],
        r#"{"origin":"https://app.example"}"#,
    ));
    assert_eq!(err_code(&r), "token_cannot_mint");
}

#[test]
fn minting_is_scoped_and_validated() {
    let gw = token_config();
    let mint = |body: &str| reply(at(&gw, 0, "POST", "/v1/tokens", &[("authorization", KEY)], body));
    assert_eq!(err_code(&mint(r#"{"origin":"https://evil.example"}"#)), "origin_not_allowed");
    assert_eq!(mint(r#"{"origin":"https://app.example","ttl_seconds":9999}"#).status, 400);
    assert_eq!(mint(r#"{"origin":"app.example"}"#).status, 400);
    assert_eq!(err_code(&mint(r#"{"origin":"https://app.example","models":["ghost"]}"#)), "model_not_found");
    let off = Gateway::new(None);
    assert_eq!(
        err_code(&reply(at(&off, 0, "POST", "/v1/tokens", &[("authorization", KEY)], r#"{"origin":"https://a.b"}"#))),
        "tokens_disabled"
    );
}

#[test]
fn cors_for_keys_and_preflight() {
    let gw = token_config();
    let r = reply(at(
        &gw,
        0,
        "OPTIONS",
        "/v1/chat/completions",
        &[("origin", "https://x.example"), ("access-control-request-headers", "authorization, content-type")],
        "",
    ));
    assert_eq!((r.status, r.header("access-control-allow-origin")), (204, Some("https://x.example")));
    let body = r#"{"model":"mock","messages":[{"role":"user","content":"hi"}]}"#;
    let models = reply(at(&gw, 0, "GET", "/v1/models", &[("authorization", KEY), ("origin", "https://app.example")], ""));
    assert_eq!(models.header("access-control-allow-origin"), Some("https://app.example"));
    assert!(models.header("access-control-expose-headers").unwrap().contains("x-request-id"));
    let r = reply(at(&gw, 0, "POST", "/v1/chat/completions", &[("authorization", KEY), ("origin", "https://evil.example")], body));
    assert_eq!(err_code(&r), "origin_not_allowed");
    // A server-side key (no origins) is refused from a browser.
    let dev = Gateway::new(None);
    let r = reply(at(&dev, 0, "POST", "/v1/chat/completions", &[("authorization", KEY), ("origin", "https://app.example")], body));
    assert_eq!(r.status, 403);
}

#[test]
fn panic_directive_needs_the_providers_permission() {
    let gw = Gateway::new(None);
    let r = reply(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY), ("x-switchyard-mock", "panic")], CHAT).1);
    assert_eq!((r.status, err_code(&r).as_str()), (400, "invalid_mock_directive"));
}

#[test]
fn duplicate_fields_and_deep_json_are_400() {
    let gw = Gateway::new(None);
    let dup = r#"{"model":"mock","model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(reply(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], dup).1).status, 400);
    let deep =
        format!(r#"{{"model":"mock","messages":[{{"role":"user","content":"hi"}}],"metadata":{}1{}}}"#, "[".repeat(80), "]".repeat(80));
    assert_eq!(reply(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], &deep).1).status, 400);
}

#[test]
fn runtime_keys_are_looked_up_in_kv_by_hash() {
    let mut gw = Gateway::new(None);
    gw.set_keystore(true);
    let (_, action) = run(&gw, "POST", "/v1/chat/completions", &[("authorization", "Bearer sk-sy-runtime")], CHAT);
    let Action::Kv(op) = action else { panic!("{action:?}") };
    assert_eq!(op, KvOp::Get { key: format!("key:{}", crate::core::util::secret::sha256_hex(b"sk-sy-runtime")), cache_ttl_s: 60 });
    let record = r#"{"name":"rt","tenant":"acme","models":["mock"],"created":1}"#;
    let looked_up = |answer: Option<&str>| {
        let headers = [("authorization".to_string(), "Bearer sk-sy-runtime".to_string())];
        let mut step = gw.begin(&inbound("POST", "/v1/chat/completions", &headers, CHAT));
        gw.resume(&mut step, Event::Answer(answer), 0);
        step.action().clone()
    };
    assert!(matches!(looked_up(Some(record)), Action::Mock(_)));
    let r = reply(looked_up(None));
    assert_eq!((r.status, err_code(&r).as_str()), (401, "invalid_api_key"));
    // Config keys never touch KV; without the namespace nothing is looked up.
    assert!(matches!(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], CHAT).1, Action::Mock(_)));
    let off = Gateway::new(None);
    assert_eq!(reply(run(&off, "POST", "/v1/chat/completions", &[("authorization", "Bearer sk-sy-runtime")], CHAT).1).status, 401);
}

#[test]
fn admin_routes_need_the_admin_secret_and_the_namespace() {
    let mut gw = Gateway::new(None);
    let admin = [("authorization", "Bearer admin-secret")];
    assert_eq!(err_code(&reply(run(&gw, "GET", "/admin/keys", &admin, "").1)), "admin_disabled");
    gw.set_secret("SWITCHYARD_ADMIN_KEY", "admin-secret");
    assert_eq!(err_code(&reply(run(&gw, "GET", "/admin/keys", &admin, "").1)), "keystore_disabled");
    gw.set_keystore(true);
    assert!(matches!(run(&gw, "GET", "/admin/keys", &admin, "").1, Action::Kv(KvOp::List { .. })));
    assert_eq!(reply(run(&gw, "GET", "/admin/keys", &[("authorization", KEY)], "").1).status, 401);
}

#[test]
fn probes_are_one_token_requests_to_the_listed_targets() {
    let mut gw = Gateway::new(Some(
        r#"{"providers":{"up":{"kind":"openai","base_url":"http://up.test/v1","api_key_secret":"K"},"mock":{"kind":"mock"}},
            "models":[{"name":"a","provider":"up","model":"a-1"},{"name":"m","provider":"mock","model":"m-1"}],
            "health_checks":{"models":["a","m"]}}"#,
    ));
    gw.set_secret("K", "sk-k");
    let probes = gw.probes();
    assert_eq!(probes.len(), 1, "the mock is not probed");
    let (target, request, _) = &probes[0];
    assert_eq!((target.as_str(), request.url.as_str()), ("up/a-1", "http://up.test/v1/chat/completions"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["max_tokens"], 1);
    assert!(gw.probe_result("up/a-1", 200, 30, 1000).is_none(), "a healthy answer is not news");
    assert!(!gw.probe_result("up/a-1", 503, 30, 1001).unwrap().ok);
    assert!(!gw.probe_result("up/a-1", 0, 30, 1002).unwrap().ok, "no answer at all is a failure");
}

#[test]
fn answers_carry_their_cost_and_tokens() {
    let gw = Gateway::new(None);
    let (ex, action) = run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], CHAT);
    let (mut ex, Action::Mock(m)) = (ex.into_session().unwrap(), action) else { panic!() };
    ex.on_head(200, &m.headers, 0);
    let r = reply(ex.on_body(&m.frames[0], 0));
    let v: serde_json::Value = serde_json::from_slice(&m.frames[0]).unwrap();
    let (input, output) = (v["usage"]["prompt_tokens"].as_u64().unwrap(), v["usage"]["completion_tokens"].as_u64().unwrap());
    // The default mock model costs $0.15 / $0.60 per million tokens.
    let nano = input * 150 + output * 600;
    assert_eq!(r.header("x-switchyard-cost-usd"), Some(crate::core::state::cost::usd_string(nano).as_str()));
    assert_eq!(r.header("x-switchyard-input-tokens"), Some(input.to_string().as_str()));
    assert!(r.header("x-switchyard-usage-estimated").is_none());
}

#[test]
fn missing_usage_is_estimated_and_flagged() {
    let gw = Gateway::new(Some(&upstream_config(false)));
    let (ex, _) = run(
        &gw,
        "POST",
        "/v1/chat/completions",
        &[("authorization", KEY)],
        r#"{"model":"fast","messages":[{"role":"user","content":"hello there"}]}"#,
    );
    let mut ex = ex.into_session().unwrap();
    ex.on_head(200, &[], 0);
    let r = reply(ex.on_body(
        br#"{"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"abcdefgh"},"finish_reason":"stop"}]}"#,
        0,
    ));
    assert_eq!(r.header("x-switchyard-usage-estimated"), Some("true"));
    assert_eq!(r.header("x-switchyard-output-tokens"), Some("2"));
}

#[test]
fn an_answered_request_yields_one_analytics_point() {
    let gw = Gateway::new(None);
    let (ex, action) = run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY), ("x-switchyard-run", "nightly")], CHAT);
    let (mut ex, Action::Mock(m)) = (ex.into_session().unwrap(), action) else { panic!() };
    assert!(ex.analytics(0).is_none(), "nothing answered yet");
    ex.on_head(200, &m.headers, 5);
    ex.on_body(&m.frames[0], 5);
    let p = ex.analytics(1_700_000_000_042).unwrap();
    assert_eq!(p.indexes, ["dev"]);
    assert_eq!(&p.blobs[..5], ["dev", "mock", "mock", "mock-1", "2xx"]);
    assert_eq!(p.blobs[7], "nightly");
    assert_eq!((p.doubles[4], p.doubles[5]), (42.0, 1.0), "latency and attempts");
    assert!(p.doubles[3] > 0.0, "cost in USD");
}

#[test]
fn a_runtime_keys_token_keeps_that_keys_models_and_limits() {
    let mut gw = token_config();
    gw.set_keystore(true);
    gw.set_ledger(true);
    let record = r#"{"name":"rt","tenant":"acme","models":["mock"],"origins":["https://app.example"],"created":1,
                     "limits":{"requests_per_minute":7}}"#;
    let headers = [("authorization".to_string(), "Bearer sk-sy-runtime".to_string())];
    let mint = inbound("POST", "/v1/tokens", &headers, r#"{"origin":"https://app.example","ttl_seconds":60}"#);
    let mut step = gw.begin(&Inbound { now_ms: 1_000_000, ..mint });
    assert!(matches!(step.action(), Action::Kv(KvOp::Get { .. })), "{:?}", step.action());
    gw.resume(&mut step, Event::Answer(Some(record)), 1_000_000);
    let minted = reply(step.action().clone());
    assert_eq!(minted.status, 200, "{}", String::from_utf8_lossy(&minted.body));
    let token = serde_json::from_slice::<serde_json::Value>(&minted.body).unwrap()["token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let chat = |model: &str| {
        let h = [("authorization", bearer.as_str()), ("origin", "https://app.example")];
        at(
            &gw,
            1_010_000,
            "POST",
            "/v1/chat/completions",
            &h,
            &format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#),
        )
    };
    assert_eq!(err_code(&reply(chat("other"))), "model_not_allowed", "the key's model list holds for its tokens");
    let Action::Tenant { op, .. } = chat("mock") else { panic!("the key's limits need admission") };
    let op: serde_json::Value = serde_json::from_str(&op).unwrap();
    let subjects = op["admit"]["subjects"].as_array().unwrap();
    assert!(subjects.iter().any(|s| s["id"] == "key:rt" && s["rpm"] == 7), "{op}");
}

#[test]
fn settlements_are_queued_only_when_the_ledger_is_bound() {
    let settled = |bound: bool| {
        let mut gw = Gateway::new(None);
        gw.set_ledger(bound);
        let h = hdrs(&[("authorization", KEY)]);
        let mut step = gw.begin(&inbound("POST", "/v1/chat/completions", &h, CHAT));
        let Action::Mock(m) = step.action().clone() else { panic!("{:?}", step.action()) };
        gw.resume(&mut step, Event::Head { status: m.status, headers: &m.headers }, 0);
        let body = m.frames.concat();
        gw.resume(&mut step, Event::Body(&body), 0);
        assert!(matches!(step.action(), Action::Respond(_)), "{:?}", step.action());
        gw.after(&mut step, 0).settle.len()
    };
    assert_eq!(settled(true), 1, "one settlement, sent at once");
    assert_eq!(settled(false), 0, "nothing to send it to, so nothing queued");
}

#[test]
fn legacy_completions_ride_the_chat_path() {
    let gw = Gateway::new(Some(&upstream_config(false)));
    let body = r#"{"model":"fast","prompt":"Say hi","stop":["\n"]}"#;
    let (flow, action) = run(&gw, "POST", "/v1/completions", &[("authorization", KEY)], body);
    let Action::Fetch { request, .. } = action else { panic!("{action:?}") };
    assert_eq!(request.url, "http://127.0.0.1:9/v1/chat/completions");
    let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(sent["messages"], serde_json::json!([{"role": "user", "content": "Say hi"}]));
    assert_eq!((sent["max_tokens"].as_u64(), &sent["stop"]), (Some(16), &serde_json::json!(["\n"])));
    let mut s = flow.into_session().unwrap();
    s.on_head(200, &hdrs(&[("content-type", "application/json")]), 0);
    let answer = br#"{"id":"chatcmpl-7","object":"chat.completion","created":1,"model":"llama-3","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
    let r = reply(s.on_body(answer, 0));
    let v = json_of(&r);
    assert_eq!((r.status, v["object"].as_str(), v["id"].as_str()), (200, Some("text_completion"), Some("cmpl-7")));
    assert_eq!((v["choices"][0]["text"].as_str(), v["usage"]["total_tokens"].as_u64()), (Some("hi"), Some(4)));
    assert_eq!(s.exchange().usage.unwrap().input_tokens, 3, "counted like chat");

    let r = reply(run(&gw, "POST", "/v1/completions", &[("authorization", KEY)], r#"{"model":"fast","prompt":["a","b"]}"#).1);
    let v = json_of(&r);
    assert_eq!((r.status, v["error"]["param"].as_str(), v["error"]["code"].as_str()), (400, Some("prompt"), Some("invalid_value")));
    let r = reply(run(&gw, "GET", "/v1/completions", &[("authorization", KEY)], "").1);
    assert_eq!(r.status, 405);
}

#[test]
fn the_default_config_serves_legacy_completions_from_the_mock() {
    let gw = Gateway::new(None);
    let (flow, action) = run(&gw, "POST", "/v1/completions", &[("authorization", KEY)], r#"{"model":"mock","prompt":"hello"}"#);
    let Action::Mock(m) = action else { panic!("{action:?}") };
    let mut s = flow.into_session().unwrap();
    s.on_head(m.status, &m.headers, 0);
    let r = reply(s.on_body(&m.frames.concat(), 0));
    let v = json_of(&r);
    assert_eq!((r.status, v["object"].as_str()), (200, Some("text_completion")), "{v}");
    assert!(v["choices"][0]["text"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
}

/// A route whose upstream has a 2,000-token window, fitted by `fit`, with the mock as the
/// summarizer.
fn context_config(fit: &str) -> String {
    format!(
        r#"{{"providers":{{"up":{{"kind":"openai","base_url":"http://127.0.0.1:9/v1"}},"m":{{"kind":"mock"}}}},
           "models":[{{"name":"small","provider":"up","model":"small-1","context_window":2000,"max_output_tokens":200}},
                     {{"name":"cheap","provider":"m","model":"mock"}}],
           "routes":[{{"name":"chat","steps":[{{"model":"small"}}],"context":{{"fit":"{fit}","summarizer":"cheap","keep_last_turns":2}}}}],
           "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3","tenant":"t"}}]}}"#
    )
}

/// A chat body of `turns` turns of about 150 tokens each (too long for 2,000 tokens from 12).
fn long_chat(turns: usize) -> String {
    let mut messages = vec![serde_json::json!({"role": "system", "content": "Be brief."})];
    for i in 0..turns {
        messages.push(serde_json::json!({"role": "user", "content": format!("question {i} {}", "q".repeat(200))}));
        messages.push(serde_json::json!({"role": "assistant", "content": format!("answer {i} {}", "a".repeat(200))}));
    }
    messages.push(serde_json::json!({"role": "user", "content": "and now?"}));
    serde_json::json!({"model": "chat", "messages": messages}).to_string()
}

/// The body sent upstream, once the step reaches its fetch.
fn upstream_body(step: &crate::core::front::step::Step) -> serde_json::Value {
    let Action::Fetch { request, .. } = step.action() else { panic!("expected the upstream call, got {:?}", step.action()) };
    serde_json::from_slice(&request.body).unwrap()
}

#[test]
fn a_conversation_that_fits_goes_upstream_unchanged() {
    let gw = Gateway::new(Some(&context_config("error")));
    let h = hdrs(&[("authorization", KEY)]);
    let body = long_chat(3);
    let step = gw.begin(&inbound("POST", "/v1/chat/completions", &h, &body));
    assert_eq!(upstream_body(&step)["messages"].as_array().unwrap().len(), 8);
}

#[test]
fn fit_error_refuses_before_any_upstream_call() {
    let gw = Gateway::new(Some(&context_config("error")));
    let r = reply(run(&gw, "POST", "/v1/chat/completions", &[("authorization", KEY)], &long_chat(20)).1);
    assert_eq!((r.status, err_code(&r).as_str()), (400, "context_length_exceeded"));
}

#[test]
fn truncation_sends_the_first_and_latest_turns() {
    let gw = Gateway::new(Some(&context_config("truncate_middle")));
    let h = hdrs(&[("authorization", KEY)]);
    let body = long_chat(20);
    let step = gw.begin(&inbound("POST", "/v1/chat/completions", &h, &body));
    let sent = upstream_body(&step);
    let messages = sent["messages"].as_array().unwrap();
    assert!(messages.len() < 42);
    assert_eq!(messages[0]["content"], "Be brief.");
    assert!(messages[1]["content"].as_str().unwrap().starts_with("question 0 "));
    assert_eq!(messages.last().unwrap()["content"], "and now?");
}

#[test]
fn summaries_are_written_once_and_read_back_on_the_next_turn() {
    let mut gw = Gateway::new(Some(&context_config("summarize")));
    gw.set_cache(true);
    let h = hdrs(&[("authorization", KEY)]);
    // First request: every summary read misses, so the mock summarizer writes them in order.
    let body = long_chat(20);
    let mut step = gw.begin(&inbound("POST", "/v1/chat/completions", &h, &body));
    let mut reads = Vec::new();
    while let Action::CacheGet { key, .. } = step.action().clone() {
        reads.push(key.clone());
        gw.resume(&mut step, Event::Answer(None), 0);
    }
    assert!(reads.iter().all(|k| k.starts_with("summary:")), "{reads:?}");
    assert_eq!(reads.len(), 2, "the last cut's summary, then the one before it");
    let sent = upstream_body(&step);
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages[0]["content"], "Be brief.");
    assert!(messages[1]["content"].as_str().unwrap().starts_with(crate::core::pipeline::context::SUMMARY_PREFIX));
    assert_eq!(messages.last().unwrap()["content"], "and now?");
    gw.resume(&mut step, Event::Head { status: 200, headers: &hdrs(&[("content-type", "application/json")]) }, 0);
    let answer = br#"{"id":"x","object":"chat.completion","created":1,"model":"small-1","choices":[{"index":0,"message":{"role":"assistant","content":"yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
    gw.resume(&mut step, Event::Body(answer), 0);
    let Action::Respond(r) = step.action().clone() else { panic!("{:?}", step.action()) };
    assert_eq!(r.header("x-switchyard-context"), Some("summarized"));
    let puts = gw.after(&mut step, 0).kv_puts;
    assert!(!puts.is_empty());
    assert_eq!(puts.last().unwrap().0, reads[0], "the summary read first is the one written last");
    // The next turn finds the last summary stored and calls no summarizer.
    let mut next: serde_json::Value = serde_json::from_str(&body).unwrap();
    next["messages"]
        .as_array_mut()
        .unwrap()
        .extend([serde_json::json!({"role": "assistant", "content": "yo"}), serde_json::json!({"role": "user", "content": "more?"})]);
    let next = next.to_string();
    let mut step = gw.begin(&inbound("POST", "/v1/chat/completions", &h, &next));
    let Action::CacheGet { key, .. } = step.action().clone() else { panic!("{:?}", step.action()) };
    assert_eq!(key, reads[0], "the same cut, so the same summary");
    let stored = puts.last().unwrap().1.clone();
    gw.resume(&mut step, Event::Answer(Some(&stored)), 0);
    let sent = upstream_body(&step);
    assert_eq!(sent["messages"][1]["content"].as_str().unwrap(), format!("{}{stored}", crate::core::pipeline::context::SUMMARY_PREFIX));
}

#[test]
fn summaries_are_scoped_by_tenant() {
    assert_ne!(crate::core::pipeline::session::summary_kv_key("a", "k"), crate::core::pipeline::session::summary_kv_key("b", "k"));
}

#[test]
fn responses_ride_the_chat_path_and_echo_the_request() {
    let gw = Gateway::new(Some(&upstream_config(false)));
    let body = r#"{"model":"fast","input":"Say hi","instructions":"Be brief.","max_output_tokens":20,"store":false}"#;
    let headers = [("authorization", KEY), ("x-request-id", "rq-1")];
    let (flow, action) = run(&gw, "POST", "/v1/responses", &headers, body);
    let Action::Fetch { request, .. } = action else { panic!("{action:?}") };
    assert_eq!(request.url, "http://127.0.0.1:9/v1/chat/completions", "a compatible server gets chat");
    let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(sent["messages"], serde_json::json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]));
    let mut s = flow.into_session().unwrap();
    s.on_head(200, &hdrs(&[("content-type", "application/json")]), 0);
    let answer = br#"{"id":"chatcmpl-7","object":"chat.completion","created":1,"model":"llama-3","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
    let r = reply(s.on_body(answer, 0));
    let v = json_of(&r);
    assert_eq!(
        (r.status, v["object"].as_str(), v["id"].as_str(), v["output_text"].as_str()),
        (200, Some("response"), Some("resp_rq-1"), None)
    );
    assert_eq!(
        (v["output"][0]["content"][0]["text"].as_str(), v["instructions"].as_str(), &v["store"]),
        (Some("hi"), Some("Be brief."), &serde_json::json!(false))
    );
    assert_eq!(v["usage"]["total_tokens"].as_u64(), Some(4));

    let r = reply(
        run(&gw, "POST", "/v1/responses", &[("authorization", KEY)], r#"{"model":"fast","input":"x","previous_response_id":"resp_1"}"#).1,
    );
    let v = json_of(&r);
    assert_eq!(
        (r.status, v["error"]["param"].as_str(), v["error"]["code"].as_str()),
        (404, Some("previous_response_id"), Some("sessions_disabled")),
        "a link needs the conversation store, which this gateway has not bound"
    );
    let r = reply(run(&gw, "GET", "/v1/responses", &[("authorization", KEY)], "").1);
    assert_eq!(r.status, 405);
}
