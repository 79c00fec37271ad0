//! Queued jobs through the gateway's front door, each job object the pure state machine
//! kept in a map: submission, validation, tenant isolation, cancel, and a job's request run
//! as the identity it stored.

use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::{Action, Event, Reply};
use crate::core::state::job;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn config() -> String {
    let key = |k: &str| crate::core::util::secret::sha256_hex(k.as_bytes());
    format!(
        r#"{{"providers":{{"up":{{"kind":"openai","base_url":"http://127.0.0.1:9/v1"}}}},
           "models":[{{"name":"fast","provider":"up","model":"llama-3"}},{{"name":"slow","provider":"up","model":"l2"}}],
           "keys":[{{"name":"dev","sha256":"{}","tenant":"acme"}},{{"name":"o","sha256":"{}","tenant":"globex","models":["slow"]}}],
           "capabilities":{{"sum":{{"user":"Question: {{{{input}}}}","gates":{{"final_number":true}},"ladder":["fast","slow"]}}}},
           "jobs":{{"concurrency":{{"fast":2}},"max_attempts":3}}}}"#,
        key("sk-dev"),
        key("sk-other")
    )
}

struct World {
    gw: Gateway,
    objects: BTreeMap<String, Value>,
    seed: u64,
}

impl World {
    fn new(bound: bool) -> World {
        let mut gw = Gateway::new(Some(&config()));
        gw.set_jobs(bound);
        gw.set_conversations(true);
        World { gw, objects: BTreeMap::new(), seed: 0 }
    }

    fn call(&mut self, key: &str, method: &str, path: &str, body: &str) -> (Reply, Vec<String>) {
        let h = vec![("authorization".to_string(), format!("Bearer {key}"))];
        self.seed += 1;
        let entropy = self.seed.to_le_bytes().repeat(2);
        let inb = Inbound { now_ms: 5_000_000, seed: self.seed, entropy: &entropy, ..Inbound::test(method, path, &h, body.as_bytes()) };
        let mut step = self.gw.begin(&inb);
        let mut names = Vec::new();
        loop {
            match step.action().clone() {
                Action::Respond(r) => return (r, names),
                Action::Job { name, op } => {
                    let op: Value = serde_json::from_str(&op).unwrap();
                    let out = job::apply(self.objects.get(&name), &op, 5_000_000);
                    if let Some(s) = out.state {
                        self.objects.insert(name.clone(), s);
                    }
                    names.push(name);
                    let answer = out.reply.to_string();
                    self.gw.resume(&mut step, Event::Answer(Some(&answer)), 5_000_001);
                }
                Action::Conversation { .. } => {
                    names.push("conversation".into());
                    self.gw.resume(&mut step, Event::Answer(Some(r#"{"error":"not_found"}"#)), 5_000_001);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn body(r: &Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

const CHAT: &str =
    r#"{"url":"/v1/chat/completions","body":{"model":"fast","messages":[{"role":"user","content":"hi"}]},"metadata":{"n":"1"}}"#;

#[test]
fn a_submission_is_queued_in_its_own_object_and_read_back() {
    let mut w = World::new(true);
    let (r, names) = w.call("sk-dev", "POST", "/v1/jobs", CHAT);
    let v = body(&r);
    assert_eq!((r.status, v["status"].as_str(), v["object"].as_str()), (202, Some("queued"), Some("job")), "{v}");
    let id = v["id"].as_str().unwrap();
    assert!(crate::core::front::jobs::is_job_id(id), "{id}");
    assert_eq!(names, [json!(["acme", id]).to_string()]);
    let stored = &w.objects[&names[0]];
    assert_eq!(stored["who"]["name"], "dev");
    assert_eq!(stored["who"]["config"], true);
    assert!(!stored.to_string().contains("sk-dev"), "the credential is never kept");
    assert_eq!((stored["lease_ms"].as_u64(), stored["max_attempts"].as_u64()), (Some(300_000), Some(3)));
    let (got, _) = w.call("sk-dev", "GET", &format!("/v1/jobs/{id}"), "");
    assert_eq!((got.status, body(&got)["metadata"]["n"].as_str()), (200, Some("1")));
    let (other, _) = w.call("sk-other", "GET", &format!("/v1/jobs/{id}"), "");
    assert_eq!((other.status, body(&other)["error"]["code"].as_str()), (404, Some("job_not_found")));
    let (c, _) = w.call("sk-dev", "POST", &format!("/v1/jobs/{id}/cancel"), "");
    assert_eq!(body(&c)["status"], "cancelled");
}

#[test]
fn bad_submissions_are_refused() {
    let mut w = World::new(true);
    for (b, code, param) in [
        (r#"{"url":"/v1/models","body":{"model":"fast"}}"#, "invalid_value", "url"),
        (r#"{"url":"/v1/embeddings"}"#, "missing_required_parameter", "body"),
        (r#"{"url":"/v1/embeddings","body":[]}"#, "invalid_type", "body"),
        (r#"{"url":"/v1/chat/completions","body":{"model":"fast","stream":true}}"#, "invalid_value", "body.stream"),
        (r#"{"url":"/v1/chat/completions","body":{"messages":[]}}"#, "missing_required_parameter", "body.model"),
        (r#"{"url":"/v1/chat/completions","body":{"model":"fast"},"webhook":{"url":"x"}}"#, "unsupported", "webhook"),
    ] {
        let (r, names) = w.call("sk-dev", "POST", "/v1/jobs", b);
        let e = &body(&r)["error"];
        assert_eq!((r.status, e["code"].as_str(), e["param"].as_str()), (400, Some(code), Some(param)), "{b}: {e}");
        assert!(names.is_empty());
    }
    let (r, _) = w.call("sk-dev", "GET", "/v1/jobs/job_nothex", "");
    assert_eq!(r.status, 404);
    let (r, _) = w.call("sk-dev", "DELETE", "/v1/jobs/job_1", "");
    assert_eq!(r.status, 405);
    let (r, _) = World::new(false).call("sk-dev", "POST", "/v1/jobs", CHAT);
    assert_eq!(body(&r)["error"]["code"], "jobs_disabled");
}

#[test]
fn a_job_runs_as_its_stored_identity_through_the_normal_path() {
    let mut w = World::new(true);
    let (_, names) = w.call("sk-dev", "POST", "/v1/jobs", CHAT);
    let claim = job::apply(w.objects.get(&names[0]), &json!({"op": "claim", "token": "t"}), 5_000_002).reply;
    let who = claim["who"].to_string();
    let body = claim["body"].to_string();
    let h = vec![("x-request-id".to_string(), "job_1".to_string())];
    let inb = Inbound { now_ms: 1, seed: 1, ..Inbound::test("POST", "/v1/chat/completions", &h, body.as_bytes()) };
    let mut step = w.gw.begin_job(&who, &inb);
    let Action::Fetch { request, .. } = step.action().clone() else { panic!("{:?}", step.action()) };
    assert!(request.url.ends_with("/chat/completions"));
    assert_eq!(step.request_id(), "job_1");
    // A config key no longer in the config answers 401; a non-job path is refused.
    let gone = who.replace("\"dev\"", "\"gone\"");
    let Action::Respond(r) = w.gw.begin_job(&gone, &inb).action().clone() else { panic!() };
    assert_eq!(r.status, 401);
    let admin = Inbound { path: "/v1/jobs", ..inb };
    let Action::Respond(r) = w.gw.begin_job(&who, &admin).action().clone() else { panic!() };
    assert_eq!(r.status, 404);
    let _ = &mut step;
}

#[test]
fn a_scoped_key_keeps_its_scope_in_the_job() {
    let mut w = World::new(true);
    let (r, names) = w.call("sk-other", "POST", "/v1/jobs", CHAT);
    assert_eq!(r.status, 202);
    let who = w.objects[&names[0]]["who"].to_string();
    let p = crate::core::front::jobs::principal_of(w.gw.config().unwrap(), &who).unwrap();
    assert_eq!((p.tenant.as_str(), p.models), ("globex", Some(vec!["slow".to_string()])));
}

#[test]
fn a_background_response_is_a_job_under_the_responses_own_id() {
    let mut w = World::new(true);
    let (r, names) = w.call("sk-dev", "POST", "/v1/responses", r#"{"model":"fast","input":"hi","background":true}"#);
    let v = body(&r);
    assert_eq!(
        (r.status, v["status"].as_str(), v["object"].as_str(), v["background"].as_bool()),
        (200, Some("queued"), Some("response"), Some(true)),
        "{v}"
    );
    let id = v["id"].as_str().unwrap();
    let stored = &w.objects[&names[0]];
    assert_eq!((stored["id"].as_str(), stored["url"].as_str()), (Some(id), Some("/v1/responses")));
    assert!(stored["body"].get("background").is_none(), "the job runs the body without background");
    // The run makes the same id: its conversation from the id's randomness, its seed inverted.
    let (conv, seed) = crate::core::state::conversation::response_origin(id).unwrap();
    let conv = crate::core::state::conversation::new_conversation_id(&conv).unwrap();
    assert_eq!(crate::core::state::conversation::new_response_id(&conv, seed), id);
    // Not stored yet: GET finds the store empty, then answers from the job.
    let (got, names) = w.call("sk-dev", "GET", &format!("/v1/responses/{id}"), "");
    assert_eq!(names.len(), 2);
    assert_eq!((got.status, body(&got)["status"].as_str()), (200, Some("queued")));
    let (c, _) = w.call("sk-dev", "POST", &format!("/v1/responses/{id}/cancel"), "");
    assert_eq!(body(&c)["status"], "cancelled");
    let (other, _) = w.call("sk-other", "GET", &format!("/v1/responses/{id}"), "");
    assert_eq!((other.status, body(&other)["error"]["code"].as_str()), (404, Some("session_not_found")));
    for (b, param) in [
        (r#"{"model":"fast","input":"hi","background":true,"store":false}"#, "store"),
        (r#"{"model":"fast","input":"hi","background":true,"stream":true}"#, "stream"),
        (r#"{"model":"fast","input":"hi","background":true,"previous_response_id":"resp_x"}"#, "previous_response_id"),
    ] {
        let (r, _) = w.call("sk-dev", "POST", "/v1/responses", b);
        assert_eq!(body(&r)["error"]["param"], param, "{b}");
    }
    let (r, _) = World::new(false).call("sk-dev", "POST", "/v1/responses", r#"{"model":"fast","input":"hi","background":true}"#);
    assert_eq!(body(&r)["error"]["code"], "unsupported");
}

#[test]
fn a_capability_runs_as_a_job_counted_under_its_own_name() {
    let mut w = World::new(true);
    let (r, names) = w.call("sk-dev", "POST", "/v1/jobs", r#"{"url":"/v1/capabilities/sum","body":{"input":{"input":"6*7?"}}}"#);
    assert_eq!(r.status, 202, "{}", body(&r));
    let claim = job::apply(w.objects.get(&names[0]), &json!({"op": "claim", "token": "t"}), 5_000_002).reply;
    assert_eq!((claim["model"].as_str(), claim["url"].as_str()), (Some("cap:sum"), Some("/v1/capabilities/sum")));
    let (who, sent) = (claim["who"].to_string(), claim["body"].to_string());
    let inb = Inbound { now_ms: 1, seed: 1, ..Inbound::test("POST", "/v1/capabilities/sum", &[], sent.as_bytes()) };
    let step = w.gw.begin_job(&who, &inb);
    let Action::Fetch { request, .. } = step.action().clone() else { panic!("{:?}", step.action()) };
    assert!(String::from_utf8_lossy(&request.body).contains("Question: 6*7?"));
    let (r, names) = w.call("sk-dev", "POST", "/v1/jobs", r#"{"url":"/v1/capabilities/none","body":{"input":"x"}}"#);
    assert_eq!((r.status, body(&r)["error"]["param"].as_str(), names.len()), (400, Some("url"), 0));
}

#[test]
fn a_token_keeps_its_own_subject_and_limits_in_the_job() {
    use crate::core::config::Limits;
    use crate::core::front::principal::Principal;
    let w = World::new(true);
    let own = Limits { requests_per_minute: Some(3), total_usd: Some(0.5), ..Limits::default() };
    let token = Principal {
        tenant: "acme".into(),
        key_name: "dev".into(),
        models: Some(vec!["fast".into()]),
        origins: Some(vec!["https://app.example".into()]),
        is_token: true,
        limits: Limits { daily_usd: Some(9.0), ..Limits::default() },
        runtime: false,
        token: Some(("token:00ff".into(), own)),
    };
    let who = super::who_json(&token).to_string();
    let p = super::principal_of(w.gw.config().unwrap(), &who).unwrap();
    assert_eq!(p.token, Some(("token:00ff".to_string(), own)), "{who}");
    assert_eq!((p.tenant.as_str(), p.limits.daily_usd, p.models), ("acme", Some(9.0), Some(vec!["fast".to_string()])));
    // A key's job has no token part.
    let key = Principal { token: None, is_token: false, runtime: true, ..token };
    assert_eq!(super::principal_of(w.gw.config().unwrap(), &super::who_json(&key).to_string()).unwrap().token, None);
}

#[test]
fn a_job_request_over_the_job_limit_is_refused_whatever_the_body_limit() {
    let text = config().replace(r#""jobs":"#, r#""limits":{"max_body_bytes":4194304},"jobs":"#);
    let mut gw = Gateway::new(Some(&text));
    gw.set_jobs(true);
    gw.set_conversations(true);
    let mut w = World { gw, objects: BTreeMap::new(), seed: 0 };
    let pad = "a".repeat(crate::core::state::job::MAX_JOB_BYTES);
    let job = format!(r#"{{"url":"/v1/chat/completions","body":{{"model":"fast","messages":[{{"role":"user","content":"{pad}"}}]}}}}"#);
    let (r, names) = w.call("sk-dev", "POST", "/v1/jobs", &job);
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("a job's request may hold at most"));
    assert!(names.is_empty(), "no job object was called");
    let background = format!(r#"{{"model":"fast","input":"{pad}","background":true}}"#);
    assert_eq!(w.call("sk-dev", "POST", "/v1/responses", &background).0.status, 413);
    // Under the limit, the same request is queued.
    let small = job.replace(&pad, "hi");
    assert_eq!(w.call("sk-dev", "POST", "/v1/jobs", &small).0.status, 202);
}
