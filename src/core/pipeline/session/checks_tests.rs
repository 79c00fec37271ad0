//! The regex gates and the judge on the host: the driver's regex step answered by the test as
//! the driver would, the judge's call answered with scores, garbage and silence.

use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::{Action, Reply};
use crate::core::pipeline::session::Session;

const KEY: &str = "Bearer sk-switchyard-dev";

fn gateway(gates: &str) -> Gateway {
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"a":{{"kind":"openai","base_url":"http://a.test/v1","api_key_secret":"A_KEY"}}}},
           "models":[{{"name":"weak","provider":"a","model":"weak-1","prices":{{"input":1,"output":1}}}},
                     {{"name":"strong","provider":"a","model":"strong-1","prices":{{"input":10,"output":30}}}},
                     {{"name":"grader","provider":"a","model":"judge-1","prices":{{"input":2,"output":2}}}}],
           "routes":[{{"name":"maths","strategy":"cascade","steps":[{{"model":"weak"}},{{"model":"strong","max_retries":0}}],
                      "gates":{gates}}}],
           "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}}]}}"#
    )));
    gw.set_secret("A_KEY", "sk-a-secret-value");
    gw
}

fn start(gw: &Gateway) -> Session {
    let h = vec![("authorization".to_string(), KEY.to_string())];
    let body = r#"{"model":"maths","messages":[{"role":"user","content":"What is 2+2?"}]}"#;
    let inb = Inbound::test("POST", "/v1/chat/completions", &h, body.as_bytes());
    let (s, _) = gw.start(&inb);
    s.into_session().expect("a session")
}

fn completion(text: &str, tokens: (u32, u32)) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens.0, "completion_tokens": tokens.1, "total_tokens": tokens.0 + tokens.1}
    }))
    .unwrap()
}

/// A rung's answer with `text`, 100 tokens in and 10 out.
fn answer(s: &mut Session, text: &str) -> Action {
    assert_eq!(s.on_head(200, &[], 10), Action::ReadBody);
    s.on_body(&completion(text, (100, 10)), 10)
}

fn reply(a: Action) -> Reply {
    match a {
        Action::Respond(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// The last message of a fetch's request (the re-prompt's note).
fn last_message(a: &Action) -> String {
    let Action::Fetch { request, .. } = a else { panic!("expected a fetch, got {a:?}") };
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string()
}

const REGEX: &str = r#"{"regex":["/^#### \\d+$/m"],"not_regex":["/sorry/i"]}"#;

#[test]
fn the_driver_runs_the_patterns_on_the_answer_text() {
    let gw = gateway(REGEX);
    let mut s = start(&gw);
    let mut step = answer(&mut s, "2 + 2 = 4\n#### 4");
    assert_eq!(step.to_json(""), r#"{"do":"regex","patterns":["/^#### \\d+$/m","/sorry/i"]}"#);
    assert_eq!(step.take_bytes(), b"2 + 2 = 4\n#### 4");
    let r = reply(s.on_regex(Some("10"), 20));
    assert_eq!((r.status, r.header("x-switchyard-route-reason")), (200, Some("cascade: rung 1 of 2")));
}

#[test]
fn regex_verdicts_re_prompt_and_name_the_pattern() {
    let gw = gateway(REGEX);
    let mut s = start(&gw);
    answer(&mut s, "Sorry, four.");
    let again = s.on_regex(Some("01"), 20);
    let note = last_message(&again);
    assert!(note.contains("it does not match the pattern /^#### \\d+$/m; it matches the pattern /sorry/i, which is not allowed"), "{note}");
    assert!(matches!(answer(&mut s, "#### 4"), Action::Regex { .. }));
    let r = reply(s.on_regex(Some("10"), 30));
    assert_eq!(r.header("x-switchyard-route-reason"), Some("cascade: rung 1 of 2 after a re-prompt, rung 1 failed regex+not_regex"));
}

#[test]
fn a_pattern_the_engine_refuses_or_a_silent_driver_fails_the_gate() {
    let gw = gateway(REGEX);
    let mut s = start(&gw);
    answer(&mut s, "#### 4");
    let note = last_message(&s.on_regex(Some("!Invalid regular expression: /(?<=x/: Unterminated group"), 20));
    assert!(note.contains("a pattern could not be compiled: Invalid regular expression"), "{note}");
    answer(&mut s, "#### 4");
    let next = s.on_regex(None, 30);
    let Action::Fetch { request, .. } = &next else { panic!("{next:?}") };
    assert!(String::from_utf8_lossy(&request.body).contains("strong-1"), "then the next rung");
    answer(&mut s, "#### 4");
    let next = s.on_regex(Some("1"), 40);
    assert!(last_message(&next).contains("the patterns could not be run"), "an answer of the wrong length is no answer");
}

const JUDGE: &str =
    r#####"{"min_chars":1,"judge":{"model":"grader","rubric":"Ends with a line #### <number>.","threshold":0.7,"on_error":"fail"}}"#####;

/// The judge's call: its upstream model and user message.
fn judge_call(a: &Action) -> (String, String) {
    let Action::Call { request, .. } = a else { panic!("expected the judge's call, got {a:?}") };
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    (body["model"].as_str().unwrap().into(), body["messages"][1]["content"].as_str().unwrap().into())
}

#[test]
fn a_judge_score_at_the_threshold_passes_and_its_call_is_billed() {
    let gw = gateway(JUDGE);
    let mut s = start(&gw);
    let call = answer(&mut s, "#### 4");
    let (model, user) = judge_call(&call);
    assert_eq!(model, "judge-1");
    assert!(user.contains("What is 2+2?") && user.contains("#### 4"), "{user}");
    let r = reply(s.on_called(200, &completion(r#"{"score":0.7,"reason":"fine"}"#, (50, 10)), 20));
    assert_eq!(r.status, 200);
    // The rung: 110 tokens at $1/M; the judge: 60 tokens at $2/M.
    assert_eq!(r.header("x-switchyard-cost-usd"), Some("0.000230000"));
    let (_, settle) = s.settlement(0).expect("settled");
    assert!(settle.contains("\"cost_nusd\":230000"), "{settle}");
}

#[test]
fn a_low_score_fails_with_the_judges_reason() {
    let gw = gateway(JUDGE);
    let mut s = start(&gw);
    answer(&mut s, "four");
    let again = s.on_called(200, &completion(r#"{"score":0.1,"reason":"no final line"}"#, (50, 10)), 20);
    let note = last_message(&again);
    assert!(note.contains("the judge scored it 0.1, below the threshold: no final line"), "{note}");
    let call = answer(&mut s, "#### 4");
    assert!(judge_call(&call).1.contains("What is 2+2?"), "the judge reads the question, not the re-prompt");
}

#[test]
fn a_judge_without_a_score_follows_on_error() {
    let gw = gateway(JUDGE);
    let mut s = start(&gw);
    answer(&mut s, "four");
    let note = last_message(&s.on_called(200, &completion("I think it is good.", (50, 10)), 20));
    assert!(note.contains("the judge gave no score"), "fail closed: {note}");

    let gw = gateway(&JUDGE.replace(r#""on_error":"fail""#, r#""on_error":"pass""#));
    let mut s = start(&gw);
    answer(&mut s, "four");
    let r = reply(s.on_called(0, &[], 20));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-switchyard-route-reason"), Some("cascade: rung 1 of 2, rung 1 judge gave no score (passed)"));
}

#[test]
fn the_judge_comes_after_the_regex_gates_and_only_when_they_pass() {
    let both = r#####"{"regex":["####"],"judge":{"model":"grader","rubric":"r","on_error":"fail"}}"#####;
    let gw = gateway(both);
    let mut s = start(&gw);
    answer(&mut s, "four");
    assert!(matches!(s.on_regex(Some("0"), 20), Action::Fetch { .. }), "no judge for a failed answer");
    answer(&mut s, "#### 4");
    let call = s.on_regex(Some("1"), 30);
    judge_call(&call);
    let r = reply(s.on_called(200, &completion(r#"{"score":1}"#, (1, 1)), 40));
    assert_eq!(r.status, 200);
}
