//! Webhook signing against the Standard Webhooks published vector, and the checks on a
//! submission's `webhook` member.

use super::*;
use crate::core::error::Code;
use crate::core::state::job::apply;
use serde_json::json;

/// The Standard Webhooks reference libraries' test vector.
#[test]
fn signature_matches_the_published_vector() {
    let sig = signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
    assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    let other = signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, r#"{"test": 2432232314}"#);
    assert_ne!(other, sig);
    assert_eq!(signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a", 1, "b"), None);
    assert_eq!(signature("whsec_not*base64", "a", 1, "b"), None);
    assert_eq!(signature("whsec_", "a", 1, "b"), None);
}

fn config(jobs: &str) -> Config {
    Config::parse(&format!(r#"{{"jobs":{jobs}}}"#)).unwrap()
}

fn hook(url: &str) -> Map<String, Value> {
    json!({"url": url}).as_object().unwrap().clone()
}

#[test]
fn only_listed_hosts_with_a_secret() {
    let c = config(r#"{"webhook_hosts":["hooks.example.com","127.0.0.1:8080"],"webhook_secret":"HOOK_KEY"}"#);
    let ok = check(&c, &hook("https://Hooks.example.com/in?x=1")).unwrap();
    assert_eq!(ok, json!({"url": "https://Hooks.example.com/in?x=1", "secret": "HOOK_KEY"}));
    assert!(check(&c, &hook("http://127.0.0.1:8080/hook")).is_ok());
    for bad in [
        "https://hooks.example.com:444/",
        "http://127.0.0.1/x",
        "https://evil.com/hooks.example.com",
        "https://x@hooks.example.com/",
        "ftp://hooks.example.com/",
        "hooks.example.com",
    ] {
        let e = check(&c, &hook(bad)).unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), (Code::InvalidValue, Some("webhook.url")), "{bad}");
    }
    assert_eq!(check(&c, &Map::new()).unwrap_err().param.as_deref(), Some("webhook.url"));
    let extra = json!({"url": "https://hooks.example.com/", "headers": {}});
    assert_eq!(check(&c, extra.as_object().unwrap()).unwrap_err().param.as_deref(), Some("webhook"));
    let e = check(&config(r#"{"webhook_hosts":["hooks.example.com"]}"#), &hook("https://hooks.example.com/")).unwrap_err();
    assert_eq!(e.code, Code::Unsupported);
    assert!(e.message.contains("webhook_secret"), "{}", e.message);
}

#[test]
fn a_finished_job_sends_its_view_once() {
    let job = json!({"id": "job_1", "tenant": "t", "max_attempts": 3, "lease_ms": 1000, "webhook": {"url": "https://h/x", "secret": "K"}});
    let created = apply(None, &json!({"op": "create", "job": job}), 1000);
    assert_eq!(created.webhook, None);
    let cancelled = apply(created.state.as_ref(), &json!({"op": "cancel"}), 5000);
    let w = cancelled.webhook.expect("a webhook on the final state");
    assert_eq!((w["url"].as_str(), w["secret"].as_str(), w["id"].as_str()), (Some("https://h/x"), Some("K"), Some("job_1")));
    let body: Value = serde_json::from_str(w["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, cancelled.reply);
    assert_eq!(body["status"], "cancelled");
    assert_eq!(apply(cancelled.state.as_ref(), &json!({"op": "cancel"}), 6000).webhook, None);
    let dead = apply(created.state.as_ref(), &json!({"op": "dead"}), 5000).webhook.expect("a dead letter's webhook");
    assert!(dead["body"].as_str().unwrap().contains("dead-lettered"), "{dead}");
    let claimed = apply(created.state.as_ref(), &json!({"op": "claim", "token": "t1"}), 2000);
    assert_eq!(claimed.webhook, None);
    let done = apply(claimed.state.as_ref(), &json!({"op": "finish", "token": "t1", "status": 200, "body": "{\"x\":1}"}), 3000);
    let body: Value = serde_json::from_str(done.webhook.expect("a finished job's webhook")["body"].as_str().unwrap()).unwrap();
    assert_eq!((&body["status"], &body["result"]), (&json!("succeeded"), &json!({"status": 200, "body": {"x": 1}})));
    let plain = apply(None, &json!({"op": "create", "job": {"id": "job_2", "tenant": "t"}}), 1000);
    assert_eq!(apply(plain.state.as_ref(), &json!({"op": "dead"}), 2000).webhook, None);
}
