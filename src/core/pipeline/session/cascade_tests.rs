//! Cascade scenarios on the host: a passing first rung, a refusal re-prompted then
//! escalated, every rung refused (422), a streaming caller, and a rung that fails outright.

use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::{Action, Reply};
use crate::core::pipeline::session::Session;

const KEY: &str = "Bearer sk-switchyard-dev";

fn gateway() -> Gateway {
    gateway_with(r#"{"model":"strong","max_retries":0}"#)
}

fn gateway_with(last_step: &str) -> Gateway {
    gateway_of(last_step, "")
}

/// With `route_extra` (`,"field":value…`) added to the route.
fn gateway_of(last_step: &str, route_extra: &str) -> Gateway {
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"a":{{"kind":"openai","base_url":"http://a.test/v1","api_key_secret":"A_KEY"}}}},
           "models":[{{"name":"weak","provider":"a","model":"weak-1","prices":{{"input":1,"output":1}}}},
                     {{"name":"strong","provider":"a","model":"strong-1","prices":{{"input":10,"output":30}}}}],
           "routes":[{{"name":"maths","strategy":"cascade","steps":[{{"model":"weak"}},{last_step}],
                      "gates":{{"final_number":true}}{route_extra}}}],
           "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}}]}}"#
    )));
    gw.set_secret("A_KEY", "sk-a-secret-value");
    gw
}

fn start(gw: &Gateway, stream: bool) -> (Session, Action) {
    let h = vec![("authorization".to_string(), KEY.to_string())];
    let body = format!(r#"{{"model":"maths","messages":[{{"role":"user","content":"What is 2+2?"}}],"stream":{stream}}}"#);
    let inb = Inbound::test("POST", "/v1/chat/completions", &h, body.as_bytes());
    let (s, a) = gw.start(&inb);
    (s.into_session().expect("a session"), a)
}

/// The upstream model and body of a fetch.
fn sent(a: &Action) -> (String, serde_json::Value) {
    let Action::Fetch { request, .. } = a else { panic!("expected a fetch, got {a:?}") };
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    (body["model"].as_str().unwrap_or_default().to_string(), body)
}

/// An OpenAI answer with `text`, 100 tokens in and 10 out.
fn answer(s: &mut Session, text: &str) -> Action {
    let body = serde_json::json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
    });
    assert_eq!(s.on_head(200, &[], 10), Action::ReadBody);
    s.on_body(&serde_json::to_vec(&body).unwrap(), 10)
}

fn reply(a: Action) -> Reply {
    match a {
        Action::Respond(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn a_passing_first_rung_is_the_only_call() {
    let gw = gateway();
    let (mut s, first) = start(&gw, false);
    assert_eq!(sent(&first).0, "weak-1");
    let r = reply(answer(&mut s, "2 + 2 = 4\n#### 4"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-switchyard-route-reason"), Some("cascade: rung 1 of 2"));
    assert_eq!(r.header("x-switchyard-attempts"), Some("1"));
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.000110000"), "100 + 10 tokens at $1/M");
}

#[test]
fn a_refused_answer_is_re_prompted_then_escalated_and_every_rung_is_billed() {
    let gw = gateway();
    let (mut s, _) = start(&gw, false);
    let again = answer(&mut s, "It is four.");
    let (model, body) = sent(&again);
    assert_eq!(model, "weak-1", "the re-prompt goes to the same rung");
    let msgs = body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!((msgs[1]["role"].as_str(), msgs[1]["content"].as_str()), (Some("assistant"), Some("It is four.")));
    let note = msgs[2]["content"].as_str().unwrap();
    assert!(note.starts_with("Your answer failed validation: it has no line \"#### <number>\"") && note.ends_with("Answer again."));
    let next = answer(&mut s, "Four.");
    let (model, body) = sent(&next);
    assert_eq!(model, "strong-1", "then the next rung, with the request as sent");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    let r = reply(answer(&mut s, "#### 4"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-switchyard-route-reason"),
        Some("cascade: rung 2 of 2, rung 1 failed final_number, rung 1 re-prompt failed final_number")
    );
    assert_eq!(r.header("x-switchyard-attempts"), Some("3"));
    // Two weak calls at $1/M (220 tokens), one strong: 100 in at $10/M, 10 out at $30/M.
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.001520000"));
    assert_eq!(r.header("x-switchyard-rung-costs-usd"), Some("rung 1 0.000110000, rung 1 0.000110000, rung 2 0.001300000"));
    assert_eq!(r.header("x-switchyard-input-tokens"), Some("300"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert!(r.body_from_upstream || v["choices"][0]["message"]["content"] == "#### 4");
    let (_, settle) = s.settlement(0).expect("settled");
    assert!(settle.contains("\"cost_nusd\":1520000"), "{settle}");
}

#[test]
fn when_every_rung_fails_the_reply_is_a_422_with_the_verdicts() {
    let gw = gateway();
    let (mut s, _) = start(&gw, false);
    for _ in 0..3 {
        let next = answer(&mut s, "no idea");
        assert!(matches!(next, Action::Fetch { .. }), "{next:?}");
    }
    let r = reply(answer(&mut s, "still no idea"));
    assert_eq!(r.status, 422);
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(text.contains("gates_failed") && text.contains("(4 attempts)"), "{text}");
    assert_eq!(text.matches("has no line").count(), 4, "{text}");
    assert!(text.contains("a/weak-1: it has no line") && text.contains("a/strong-1: it has no line"), "{text}");
    assert_eq!(r.header("x-switchyard-attempts"), Some("4"));
    assert_eq!(
        r.header("x-switchyard-route-reason"),
        Some("cascade: no rung of 2 passed, rung 1 failed final_number, rung 1 re-prompt failed final_number, rung 2 failed final_number, rung 2 re-prompt failed final_number")
    );
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.002820000"), "every answer is billed: two weak, two strong");
    assert_eq!(s.cache_put(0), None);
}

#[test]
fn a_streaming_caller_gets_the_accepted_answer_replayed_as_a_stream() {
    let gw = gateway();
    let (mut s, first) = start(&gw, true);
    assert_ne!(sent(&first).1["stream"], serde_json::json!(true), "rungs are asked for whole answers");
    let r = reply(answer(&mut s, "#### 4"));
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("chat.completion.chunk") && text.contains("#### 4") && text.ends_with("data: [DONE]\n\n"), "{text}");
}

#[test]
fn a_rung_that_fails_outright_after_refusals_ends_in_a_422() {
    let gw = gateway();
    let (mut s, _) = start(&gw, false);
    answer(&mut s, "four");
    let next = answer(&mut s, "four");
    assert_eq!(sent(&next).0, "strong-1");
    let r = reply(s.on_fetch_error(true, 20));
    assert_eq!(r.status, 422);
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(text.contains("a/strong-1: upstream_timeout"), "{text}");
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.000220000"));
    assert_eq!(r.header("x-switchyard-rung-costs-usd"), Some("rung 1 0.000110000, rung 1 0.000110000"), "the failed call cost nothing");
    assert_eq!(
        r.header("x-switchyard-route-reason"),
        Some("cascade: no rung of 2 passed, rung 1 failed final_number, rung 1 re-prompt failed final_number, rung 2 failed upstream_timeout")
    );
}

#[test]
fn a_trusted_rung_is_not_checked() {
    let gw = gateway_with(r#"{"model":"strong","gates":false}"#);
    let (mut s, _) = start(&gw, false);
    answer(&mut s, "four");
    let next = answer(&mut s, "four");
    assert_eq!(sent(&next).0, "strong-1");
    let r = reply(answer(&mut s, "Four, with no final line."));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-switchyard-route-reason"),
        Some("cascade: rung 2 of 2 (unchecked), rung 1 failed final_number, rung 1 re-prompt failed final_number")
    );
    assert_eq!(r.header("x-switchyard-attempts"), Some("3"));
}

#[test]
fn a_cascade_route_skips_a_rung_below_its_pass_rate_floor() {
    let mut gw = gateway_of(r#"{"model":"strong"}"#, r#","min_pass_rate":0.5,"min_samples":4"#);
    gw.set_ledger(true);
    let (mut s, first) = start(&gw, false);
    let Action::Tenant { op, .. } = &first else { panic!("the gate records are read first: {first:?}") };
    assert!(op.contains("capability"), "{op}");
    let rows = r#"[{"route":"maths","model":"weak","calls":8,"passes":1,"cost_nusd":9}]"#;
    let next = s.on_admit(Some(rows), 0);
    assert_eq!(sent(&next).0, "strong-1", "weak passed 1 of 8, below 0.5");
    let r = reply(answer(&mut s, "#### 4"));
    assert_eq!(r.header("x-switchyard-route-reason"), Some("cascade: rung 1 of 1, weak skipped: pass rate 0.13 < 0.50"));
    // Without the ledger there is nothing to read: no rung is skipped.
    let (_, first) = start(&gateway_of(r#"{"model":"strong"}"#, r#","min_pass_rate":0.5"#), false);
    assert_eq!(sent(&first).0, "weak-1");
    // The floor is a rate.
    let gw = gateway_of(r#"{"model":"strong"}"#, r#","min_pass_rate":1.5"#);
    let err = gw.config().err().map(|e| e.message).unwrap_or_default();
    assert!(err.contains("routes[0].min_pass_rate"), "{err}");
}
