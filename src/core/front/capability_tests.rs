//! Capabilities on the host: the input checked before any upstream call, the rendered
//! prompt and JSON response format sent, the capability-shaped reply, `cap:NAME` on chat,
//! key scopes, and the `max_attempts` and `max_cost_usd` limits.

use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::{Action, Reply};
use crate::core::pipeline::session::Session;
use serde_json::{json, Value};

const KEY: &str = "Bearer sk-switchyard-dev";
const DEV_SHA: &str = "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3";

fn gateway(cap_extra: &str, key_models: &str) -> Gateway {
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"a":{{"kind":"openai","base_url":"http://a.test/v1","api_key_secret":"A_KEY"}}}},
           "models":[{{"name":"weak","provider":"a","model":"weak-1","prices":{{"input":1,"output":1}}}},
                     {{"name":"strong","provider":"a","model":"strong-1","prices":{{"input":10,"output":30}}}}],
           "capabilities":{{"extract":{{"system":"Extract from the text.","user":"Text: {{{{text}}}} ({{{{n}}}})",
              "input_schema":{{"type":"object","required":["text"],"properties":{{"text":{{"type":"string"}},"n":{{}}}}}},
              "output":{{"json_schema":{{"type":"object","required":["name"]}}}},
              "ladder":["weak","strong"]{cap_extra}}}}},
           "keys":[{{"name":"dev","sha256":"{DEV_SHA}"{key_models}}}]}}"#
    )));
    gw.set_secret("A_KEY", "sk-a");
    gw
}

fn go(gw: &Gateway, path: &str, body: &str) -> (Option<Session>, Action) {
    let h = vec![("authorization".to_string(), KEY.to_string())];
    let inb = Inbound::test("POST", path, &h, body.as_bytes());
    let (s, a) = gw.start(&inb);
    (s.into_session(), a)
}

fn sent(a: &Action) -> Value {
    let Action::Fetch { request, .. } = a else { panic!("expected a fetch, got {a:?}") };
    serde_json::from_slice(&request.body).unwrap()
}

fn answer(s: &mut Session, text: &str) -> Action {
    let body = json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
    });
    s.on_head(200, &[], 10);
    s.on_body(&serde_json::to_vec(&body).unwrap(), 10)
}

fn reply(a: Action) -> Reply {
    match a {
        Action::Respond(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn code(r: &Reply) -> String {
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

const PATH: &str = "/v1/capabilities/extract";

#[test]
fn input_that_does_not_fit_is_400_before_any_upstream_call() {
    let gw = gateway("", "");
    for body in [r#"{"input":{"n":1}}"#, r#"{"input":{"text":3}}"#, r#"{"input":"x"}"#, r#"{}"#] {
        let (s, a) = go(&gw, PATH, body);
        let r = reply(a);
        assert!(s.is_none() && r.status == 400, "{body}: {}", String::from_utf8_lossy(&r.body));
    }
    let r = reply(go(&gw, PATH, r#"{"input":{"n":1}}"#).1);
    assert_eq!(code(&r), "input_invalid");
    assert!(String::from_utf8_lossy(&r.body).contains("missing required property 'text'"));
    let r = reply(go(&gw, "/v1/capabilities/nope", r#"{"input":{}}"#).1);
    assert_eq!((r.status, code(&r).as_str()), (404, "capability_not_found"));
}

#[test]
fn the_endpoint_sends_the_rendered_prompt_and_answers_in_the_capability_shape() {
    let gw = gateway("", "");
    let (s, first) = go(&gw, PATH, r#"{"input":{"text":"Ada wrote it","n":[1]}}"#);
    let mut s = s.unwrap();
    let body = sent(&first);
    assert_eq!(body["model"], "weak-1");
    assert_eq!(body["messages"][0], json!({"role": "system", "content": "Extract from the text."}));
    assert_eq!(body["messages"][1], json!({"role": "user", "content": "Text: Ada wrote it ([1])"}));
    assert_eq!(body["response_format"]["json_schema"]["schema"], json!({"type": "object", "required": ["name"]}));
    let again = answer(&mut s, "Ada");
    assert_eq!(sent(&again)["model"], "weak-1", "a re-prompt first");
    let next = answer(&mut s, "{\"nom\":1}");
    assert_eq!(sent(&next)["model"], "strong-1");
    let r = reply(answer(&mut s, "{\"name\":\"Ada\"}"));
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["output"], json!({"name": "Ada"}));
    assert_eq!((v["model"].as_str(), v["attempts"].as_u64()), (Some("strong"), Some(3)));
    let gates = v["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 3);
    assert_eq!((gates[0]["model"].as_str(), gates[0]["passed"].as_bool()), (Some("weak"), Some(false)));
    assert_eq!(gates[0]["verdicts"][0]["gate"], "json");
    assert_eq!(gates[2], json!({"model": "strong", "passed": true, "verdicts": []}));
    // Two weak calls at $1/M (220 tokens), one strong: 100 in at $10/M, 10 out at $30/M.
    assert_eq!(v["cost"]["usd"].as_f64(), Some(0.00152));
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.001520000"));
    assert!(r.header("x-switchyard-route-reason").unwrap().starts_with("cascade: rung 2 of 2"));
    // Every checked answer goes to the rungs' gate records with the settlement.
    let (_, settle) = s.settlement(0).unwrap();
    let rows: Vec<(String, u64, u64)> = serde_json::from_str::<Value>(&settle).unwrap()["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g[1].as_str().unwrap().to_string(), g[2].as_u64().unwrap(), g[3].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, vec![("weak".into(), 0, 110_000), ("weak".into(), 0, 110_000), ("strong".into(), 1, 1_300_000)]);
    assert!(settle.contains(r#"["cap:extract","weak",0,110000]"#), "{settle}");
}

#[test]
fn cap_names_on_chat_take_the_last_user_message_as_input() {
    let gw = gateway("", "");
    let chat = |content: &str| json!({"model": "cap:extract", "messages": [{"role": "user", "content": content}]}).to_string();
    let (s, first) = go(&gw, "/v1/chat/completions", &chat(r#"{"text":"hi"}"#));
    assert_eq!(sent(&first)["messages"][1]["content"], "Text: hi ()");
    let r = reply(answer(&mut s.unwrap(), "{\"name\":\"x\"}"));
    let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert!(r.body_from_upstream || v["choices"][0]["message"]["content"] == "{\"name\":\"x\"}", "a chat completion");
    let r = reply(go(&gw, "/v1/chat/completions", &chat("plain text")).1);
    assert_eq!(code(&r), "input_invalid", "plain text is {{\"input\": text}}, which lacks 'text'");
}

#[test]
fn a_keys_scope_names_the_capability_not_its_rungs() {
    let body = r#"{"input":{"text":"t"}}"#;
    assert!(go(&gateway("", r#","models":["cap:extract"]"#), PATH, body).0.is_some());
    let r = reply(go(&gateway("", r#","models":["weak","strong"]"#), PATH, body).1);
    assert_eq!((r.status, code(&r).as_str()), (403, "model_not_allowed"));
}

#[test]
fn limits_stop_the_ladder_with_a_422() {
    let gw = gateway(r#","max_attempts":2"#, "");
    let (s, _) = go(&gw, PATH, r#"{"input":{"text":"t"}}"#);
    let mut s = s.unwrap();
    answer(&mut s, "no");
    let r = reply(answer(&mut s, "still no"));
    assert_eq!((r.status, code(&r).as_str()), (422, "gates_failed"));
    assert!(String::from_utf8_lossy(&r.body).contains("stopped: max_attempts (2) reached"));
    // 110 tokens at $1/M is 0.00011 USD: the first refusal reaches the limit.
    let gw = gateway(r#","max_cost_usd":0.0001"#, "");
    let (s, _) = go(&gw, PATH, r#"{"input":{"text":"t"}}"#);
    let r = reply(answer(&mut s.unwrap(), "no"));
    assert_eq!(r.status, 422);
    assert!(String::from_utf8_lossy(&r.body).contains("stopped: max_cost_usd reached (0.000110000 USD spent)"));
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.000110000"));
}

#[test]
fn a_rung_whose_recorded_pass_rate_is_below_the_floor_is_skipped() {
    let mut gw = gateway(r#","min_pass_rate":0.5,"min_samples":4"#, "");
    gw.set_ledger(true);
    let rows = |calls: u32, passes: u32| {
        format!(
            r#"[{{"route":"cap:extract","model":"weak","calls":{calls},"passes":{passes},"cost_nusd":9}},{{"route":"other","model":"strong","calls":9,"passes":0,"cost_nusd":1}}]"#
        )
    };
    let (s, first) = go(&gw, PATH, r#"{"input":{"text":"t"}}"#);
    let mut s = s.unwrap();
    let Action::Tenant { op, .. } = &first else { panic!("the gate records are read first: {first:?}") };
    assert!(op.contains("capability"), "{op}");
    let next = s.on_admit(Some(&rows(8, 1)), 0);
    assert_eq!(sent(&next)["model"], "strong-1", "weak passed 1 of 8, below 0.5");
    let r = reply(answer(&mut s, "{\"name\":\"x\"}"));
    assert_eq!(r.header("x-switchyard-route-reason"), Some("cascade: rung 1 of 1, weak skipped: pass rate 0.13 < 0.50"));
    for (calls, passes) in [(3, 0), (8, 4)] {
        let (s, _) = go(&gw, PATH, r#"{"input":{"text":"t"}}"#);
        let next = s.unwrap().on_admit(Some(&rows(calls, passes)), 0);
        assert_eq!(sent(&next)["model"], "weak-1", "{calls} calls, {passes} passes: kept");
    }
    let (s, _) = go(&gw, PATH, r#"{"input":{"text":"t"}}"#);
    assert_eq!(sent(&s.unwrap().on_admit(None, 0))["model"], "weak-1", "no records: nothing skipped");
}
