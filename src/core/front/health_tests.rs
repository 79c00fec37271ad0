//! `/v1/health` and `/v1/stats` through the gateway's step machine: the targets' objects are
//! read, the stored breakers merged into the isolate's entries, and a missing answer falls
//! back to the isolate's view.

use super::*;
use crate::core::config::BreakerConfig;
use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::Event;
use crate::core::state::health::apply_outcome;
use serde_json::Value;

const NOW: u64 = 1_700_000_000_000;

fn begin(gw: &Gateway, path: &str) -> crate::core::front::step::Step {
    let headers = vec![("authorization".to_string(), "Bearer sk-switchyard-dev".to_string())];
    let inb =
        Inbound { method: "GET", path, query: "", headers: &headers, body: b"", declared_len: None, now_ms: NOW, seed: 7, entropy: &[] };
    gw.begin(&inb)
}

fn targets(step: &crate::core::front::step::Step) -> Vec<String> {
    let Action::Health { targets } = step.action().clone() else { panic!("{:?}", step.action()) };
    targets
}

fn body(step: &crate::core::front::step::Step) -> Value {
    let Action::Respond(r) = step.action() else { panic!("{:?}", step.action()) };
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

/// A stored breaker for `target`, opened at `at` by consecutive failures.
fn opened(target: &str, at: u64) -> String {
    let cfg = BreakerConfig::default();
    let mut stored = None;
    for _ in 0..cfg.consecutive_failures {
        stored = Some(apply_outcome(stored.as_deref(), target, &cfg, at, false, 5));
    }
    stored.unwrap()
}

#[test]
fn health_shows_the_stored_breaker_and_keeps_the_isolates_numbers() {
    let gw = Gateway::new(None);
    let mut step = begin(&gw, "/v1/health");
    let t = targets(&step);
    assert!(t.len() >= 2, "one read per configured target: {t:?}");
    // This isolate saw one quick success of the first target and nothing of the others.
    assert_eq!(gw.probe_result(&t[0], 200, 42, NOW - 10), None);
    let answer =
        Value::Array(t.iter().enumerate().map(|(i, n)| if i == 0 { Value::from(opened(n, NOW - 1_000)) } else { Value::Null }).collect());
    gw.resume(&mut step, Event::Answer(Some(&answer.to_string())), NOW);
    let v = body(&step);
    assert_eq!(v["scope"], "shared");
    let first = &v["data"][0];
    assert_eq!(
        (first["target"].as_str(), first["state"].as_str(), first["state_from"].as_str()),
        (Some(t[0].as_str()), Some("open"), Some("shared"))
    );
    assert_eq!((first["shared_state"].as_str(), first["half_open_in_ms"].as_u64()), (Some("open"), Some(29_000)));
    assert_eq!((first["latency_p50_ms"].as_u64(), first["recent_calls"].as_u64()), (Some(42), Some(1)), "the isolate's own numbers");
    let second = &v["data"][1];
    assert_eq!((second["state"].as_str(), second["state_from"].as_str()), (Some("closed"), Some("isolate")));
    assert!(second["shared_state"].is_null(), "no stored breaker");
    assert_eq!(v["data"].as_array().unwrap().len(), t.len());
}

#[test]
fn without_an_answer_or_with_a_foreign_state_the_isolates_view_stands() {
    let gw = Gateway::new(None);
    for answer in [None, Some("not json"), Some("[]")] {
        let mut step = begin(&gw, "/v1/health");
        gw.resume(&mut step, Event::Answer(answer), NOW);
        let v = body(&step);
        assert_eq!(v["scope"], if answer.is_none() { "isolate" } else { "shared" });
        assert!(v["data"].as_array().unwrap().iter().all(|e| e["state"] == "closed" && e["state_from"] == "isolate"), "{v}");
    }
    // A state stored under another target's name is never shown for this one.
    let mut step = begin(&gw, "/v1/health");
    let t = targets(&step);
    let answer = Value::Array(t.iter().map(|_| Value::from(opened("someone/else", NOW))).collect());
    gw.resume(&mut step, Event::Answer(Some(&answer.to_string())), NOW);
    assert!(body(&step)["data"].as_array().unwrap().iter().all(|e| e["state"] == "closed" && e["shared_state"].is_null()));
}

#[test]
fn stats_reads_the_objects_then_the_tenant() {
    let mut gw = Gateway::new(None);
    gw.set_ledger(true);
    let mut step = begin(&gw, "/v1/stats");
    let t = targets(&step);
    let answer = Value::Array(t.iter().map(|n| Value::from(opened(n, NOW - 40_000))).collect());
    gw.resume(&mut step, Event::Answer(Some(&answer.to_string())), NOW);
    let Action::Tenant { tenant, .. } = step.action() else { panic!("{:?}", step.action()) };
    assert_eq!(tenant, "dev");
    gw.resume(&mut step, Event::Answer(Some("[]")), NOW);
    let v = body(&step);
    let b = &v["breakers"][0];
    assert_eq!((b["state"].as_str(), b["half_open_in_ms"].as_u64(), b["state_from"].as_str()), (Some("open"), Some(0), Some("shared")));
    // Without a ledger the request is refused before any object is read.
    let gw = Gateway::new(None);
    let step = begin(&gw, "/v1/stats");
    assert!(matches!(step.action(), Action::Respond(r) if r.status != 200), "{:?}", step.action());
}
