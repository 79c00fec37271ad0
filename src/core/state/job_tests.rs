use super::*;

const T0: u64 = 1_000_000;

fn created() -> Value {
    let job = json!({"id": "job_1", "tenant": "t", "url": "/v1/chat/completions", "body": {"model": "m"},
        "who": {"key": "k"}, "created_at": 1000, "redeliver_ms": 60_000, "lease_ms": 300_000, "max_attempts": 2});
    let out = apply(None, &json!({"op": "create", "job": job}), T0);
    assert_eq!(out.send, Some(json!({"tenant": "t", "id": "job_1"})));
    assert_eq!(out.alarm_ms, Some(T0 + 60_000));
    assert_eq!(out.reply["status"], "queued");
    out.state.unwrap()
}

fn run(s: &Value, op: Value, now: u64) -> (Value, Outcome) {
    let out = apply(Some(s), &op, now);
    (out.state.clone().unwrap_or_else(|| s.clone()), out)
}

#[test]
fn unknown_job_answers_null_and_stores_nothing() {
    for op in ["get", "cancel", "claim", "alarm"] {
        let out = apply(None, &json!({"op": op}), T0);
        assert_eq!((out.reply, out.state, out.send), (Value::Null, None, None), "{op}");
    }
}

#[test]
fn view_hides_the_payload_and_the_caller() {
    let s = created();
    let v = view(&s);
    assert_eq!(v["object"], "job");
    assert!(v.get("body").is_none() && v.get("who").is_none() && v.get("lease").is_none());
}

#[test]
fn a_claim_is_exclusive_until_its_lease_runs_out() {
    let s = created();
    let (s, out) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    assert_eq!(out.reply["claimed"], true);
    assert_eq!(out.reply["body"], json!({"model": "m"}));
    assert_eq!(out.alarm_ms, Some(T0 + 300_000));
    let (_, dup) = run(&s, json!({"op": "claim", "token": "b"}), T0 + 1);
    assert_eq!(dup.reply, json!({"claimed": false, "status": "running"}));
    assert!(dup.state.is_none());
    let (s2, taken) = run(&s, json!({"op": "claim", "token": "b"}), T0 + 300_000);
    assert_eq!(taken.reply["attempts"], 2);
    // The stale holder's result is dropped; the new holder's is kept.
    let (_, stale) = run(&s2, json!({"op": "finish", "token": "a", "status": 200, "body": "{}"}), T0 + 300_001);
    assert_eq!((stale.reply, stale.state), (json!({"ok": false}), None));
    let (done, fresh) = run(&s2, json!({"op": "finish", "token": "b", "status": 200, "body": "{\"x\":1}"}), T0 + 300_002);
    assert_eq!(fresh.reply, json!({"ok": true}));
    assert_eq!(fresh.alarm_ms, Some(0));
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["result"], json!({"status": 200, "body": {"x": 1}}));
    let (_, again) = run(&done, json!({"op": "claim", "token": "c"}), T0 + 900_000);
    assert_eq!(again.reply, json!({"claimed": false, "status": "succeeded"}));
}

#[test]
fn attempts_run_out() {
    let s = created();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (s, _) = run(&s, json!({"op": "claim", "token": "b"}), T0 + 300_000);
    let (s, out) = run(&s, json!({"op": "claim", "token": "c"}), T0 + 600_000);
    assert_eq!(out.reply, json!({"claimed": false, "status": "failed"}));
    assert_eq!(s["error"], "no answer after 2 attempts");
}

#[test]
fn release_requeues_and_an_uncounted_one_gives_the_attempt_back() {
    let s = created();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (q, out) = run(&s, json!({"op": "release", "token": "a", "delay_ms": 1000, "counted": false}), T0 + 5);
    assert_eq!(out.reply, json!({"ok": true}));
    assert_eq!((q["status"].as_str(), q["attempts"].as_u64()), (Some("queued"), Some(0)));
    assert_eq!(out.alarm_ms, Some(T0 + 5 + 1000 + 60_000));
    let (q, _) = run(&s, json!({"op": "release", "token": "a", "delay_ms": 1000, "counted": true}), T0 + 5);
    assert_eq!(q["attempts"], 1);
    let (_, other) = run(&s, json!({"op": "release", "token": "z", "delay_ms": 0}), T0 + 5);
    assert_eq!(other.reply, json!({"ok": false}));
}

#[test]
fn a_non_2xx_result_fails_the_job_and_keeps_it() {
    let s = created();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (s, _) = run(&s, json!({"op": "finish", "token": "a", "status": 400, "body": "not json"}), T0 + 1);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["result"], json!({"status": 400, "body": "not json"}));
}

#[test]
fn cancel_stops_a_job_and_discards_a_running_result() {
    let s = created();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (c, out) = run(&s, json!({"op": "cancel"}), T0 + 1);
    assert_eq!(out.reply["status"], "cancelled");
    assert_eq!(out.alarm_ms, Some(0));
    let (_, late) = run(&c, json!({"op": "finish", "token": "a", "status": 200, "body": "{}"}), T0 + 2);
    assert_eq!(late.reply, json!({"ok": false}));
    let (_, again) = run(&c, json!({"op": "cancel"}), T0 + 3);
    assert!(again.state.is_none());
}

#[test]
fn the_alarm_resends_a_queued_or_abandoned_job_only() {
    let s = created();
    let (_, out) = run(&s, json!({"op": "alarm"}), T0 + 60_000);
    assert!(out.send.is_some());
    assert_eq!(out.alarm_ms, Some(T0 + 120_000));
    let (r, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (_, early) = run(&r, json!({"op": "alarm"}), T0 + 10);
    assert_eq!((early.send, early.alarm_ms), (None, Some(T0 + 300_000)));
    let (q, late) = run(&r, json!({"op": "alarm"}), T0 + 300_000);
    assert!(late.send.is_some());
    assert_eq!(q["status"], "queued");
}

#[test]
fn the_dead_letter_verdict_fails_an_unfinished_job() {
    let s = created();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (d, out) = run(&s, json!({"op": "dead"}), T0);
    assert_eq!(out.reply["error"], "dead-lettered after 1 attempts");
    assert_eq!(d["status"], "failed");
    let (_, again) = run(&d, json!({"op": "dead"}), T0);
    assert!(again.state.is_none());
}

#[test]
fn create_keeps_an_existing_job() {
    let s = created();
    let (_, out) = run(&s, json!({"op": "create", "job": {"id": "job_1"}}), T0);
    assert!(out.state.is_none() && out.send.is_none());
    assert_eq!(out.reply["status"], "queued");
}

#[test]
fn the_tenant_counts_a_job_once_in_and_once_out_of_the_queue() {
    let job = json!({"id": "job_1", "tenant": "t", "url": "/v1/chat/completions", "body": {"model": "m"},
        "who": {"key": "k"}, "created_at": 1000, "redeliver_ms": 60_000, "lease_ms": 300_000, "max_attempts": 2});
    let first = apply(None, &json!({"op": "create", "job": job}), T0);
    let sent: Value = serde_json::from_str(&first.to_json()).unwrap();
    assert_eq!(sent["tenant"], json!({"name": "t", "op": "\"job_queued\""}));
    let s = first.state.unwrap();
    // A claim, a release for a full slot and a second claim move nothing.
    let (s, out) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (s, released) = run(&s, json!({"op": "release", "token": "a", "delay_ms": 1000, "counted": false}), T0);
    let (s, again) = run(&s, json!({"op": "claim", "token": "b"}), T0 + 2000);
    assert_eq!((out.depth, released.depth, again.depth), (None, None, None));
    let (s, done) = run(&s, json!({"op": "finish", "token": "b", "status": 200, "body": "{}"}), T0 + 3000);
    let sent: Value = serde_json::from_str(&done.to_json()).unwrap();
    assert_eq!(sent["tenant"], json!({"name": "t", "op": "\"job_done\""}));
    // A finished job leaves nothing more to count: cancel and dead are no-ops.
    for op in ["cancel", "dead", "get"] {
        assert_eq!(run(&s, json!({"op": op}), T0 + 4000).1.depth, None, "{op}");
    }
}

#[test]
fn a_finished_job_is_kept_for_its_retention_then_dropped() {
    const DAY: u64 = 86_400_000;
    let job = json!({"id": "job_1", "tenant": "t", "url": "/v1/chat/completions", "body": {"model": "m"},
        "who": {"key": "k"}, "created_at": 1000, "redeliver_ms": 60_000, "lease_ms": 300_000, "max_attempts": 2,
        "retention_ms": DAY});
    let s = apply(None, &json!({"op": "create", "job": job}), T0).state.unwrap();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let (s, done) = run(&s, json!({"op": "finish", "token": "a", "status": 200, "body": "{}"}), T0 + 5_000);
    let expires = (T0 + 5_000) / 1000 * 1000 + DAY;
    assert_eq!(done.alarm_ms, Some(expires), "the alarm waits for the retention");
    let early = apply(Some(&s), &json!({"op": "alarm"}), expires - 1);
    assert_eq!((early.drop, early.alarm_ms), (false, Some(expires)), "an early alarm is set again");
    let due = apply(Some(&s), &json!({"op": "alarm"}), expires);
    assert!(due.drop && due.state.is_none());
    assert_eq!(serde_json::from_str::<Value>(&due.to_json()).unwrap()["drop"], true);
    // A job stored without a retention is kept, as before.
    let (old, _) = run(&created(), json!({"op": "cancel"}), T0);
    let kept = apply(Some(&old), &json!({"op": "alarm"}), T0 + 400 * DAY);
    assert!(!kept.drop);
}

/// A finished job with a webhook, and the outcome that finished it.
fn finished_with_webhook(retention_ms: u64) -> (Value, Outcome) {
    let job = json!({"id": "job_1", "tenant": "t", "url": "/v1/chat/completions", "body": {"model": "m"},
        "who": {"key": "k"}, "created_at": 1000, "redeliver_ms": 60_000, "lease_ms": 300_000, "max_attempts": 2,
        "retention_ms": retention_ms, "webhook": {"url": "https://h.example/x", "secret": "HOOK"}});
    let s = apply(None, &json!({"op": "create", "job": job}), T0).state.unwrap();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    run(&s, json!({"op": "finish", "token": "a", "status": 200, "body": "{}"}), T0 + 1_000)
}

#[test]
fn a_webhook_is_tried_again_by_the_alarm_until_a_2xx() {
    let (s, done) = finished_with_webhook(86_400_000);
    let hook = done.webhook.clone().unwrap();
    assert_eq!((hook["id"].as_str(), hook["try"].as_u64(), hook["secret"].as_str()), (Some("job_1"), Some(1), Some("HOOK")));
    assert_eq!(hook["body"], view(&s).to_string());
    assert_eq!(done.alarm_ms, Some(T0 + 1_000 + 5_000), "the alarm is set for the second try before the first is sent");
    // The first try fails: nothing changes, the alarm stands.
    let (s, failed) = run(&s, json!({"op": "webhook", "try": 1, "ok": false}), T0 + 1_200);
    assert_eq!((failed.state, failed.alarm_ms, failed.webhook), (None, None, None));
    // An early alarm sets itself again; a due one sends try 2 and sets the third's time.
    let (_, early) = run(&s, json!({"op": "alarm"}), T0 + 5_999);
    assert_eq!((early.webhook, early.alarm_ms), (None, Some(T0 + 6_000)));
    let (s, second) = run(&s, json!({"op": "alarm"}), T0 + 6_000);
    assert_eq!(second.webhook.unwrap()["try"], 2);
    assert_eq!(second.alarm_ms, Some(T0 + 6_000 + 30_000));
    // A 2xx ends it: the alarm goes back to the retention, and later alarms send nothing.
    let (s, ok) = run(&s, json!({"op": "webhook", "try": 2, "ok": true}), T0 + 6_100);
    assert_eq!(ok.reply, json!({"ok": true, "delivered": true}));
    assert_eq!(ok.alarm_ms, Some((T0 + 1_000) / 1000 * 1000 + 86_400_000));
    let (_, later) = run(&s, json!({"op": "alarm"}), T0 + 100_000);
    assert_eq!((later.webhook, later.drop), (None, false));
    assert_eq!(s["status"], "succeeded", "a webhook never changes the job");
}

#[test]
fn a_webhook_is_given_up_after_its_last_try_or_a_fatal_failure() {
    let (mut s, _) = finished_with_webhook(0);
    let mut now = T0 + 1_000;
    for n in 2..=WEBHOOK_TRIES {
        let (_, failed) = run(&s, json!({"op": "webhook", "try": n - 1, "ok": false}), now);
        assert!(failed.state.is_none(), "try {} failed, one more to come", n - 1);
        now += WEBHOOK_RETRY_S[n as usize - 2] * 1000;
        let (next, out) = run(&s, json!({"op": "alarm"}), now);
        assert_eq!(out.webhook.unwrap()["try"], n);
        s = next;
    }
    // The last try's failure ends it; with no retention, the alarm is deleted.
    let (end, out) = run(&s, json!({"op": "webhook", "try": WEBHOOK_TRIES, "ok": false}), now + 10);
    assert_eq!((out.reply, out.alarm_ms), (json!({"ok": true, "delivered": false}), Some(0)));
    assert_eq!(run(&end, json!({"op": "alarm"}), now + 10_000_000).1.webhook, None);
    // A last try that never reports is given up when its wait runs out.
    let (_, silent) = run(&s, json!({"op": "alarm"}), now + 3_600_000);
    assert_eq!((silent.webhook, silent.alarm_ms, silent.reply), (None, Some(0), Value::Null));
    // A stale try's failure counts for nothing; a fatal one on the latest try ends it at once.
    let (s, _) = finished_with_webhook(0);
    let (s, _) = run(&s, json!({"op": "alarm"}), T0 + 6_000);
    assert!(run(&s, json!({"op": "webhook", "try": 1, "ok": false, "fatal": true}), T0 + 6_001).1.state.is_none());
    let (_, fatal) = run(&s, json!({"op": "webhook", "try": 2, "ok": false, "fatal": true}), T0 + 6_001);
    assert_eq!(fatal.reply["delivered"], false);
}

#[test]
fn a_background_response_sends_openai_events() {
    let job = json!({"id": "resp_1", "tenant": "t", "url": "/v1/responses", "body": {"model": "m"},
        "who": {"key": "k"}, "created_at": 1000, "redeliver_ms": 60_000, "lease_ms": 300_000, "max_attempts": 2,
        "webhook": {"url": "https://h.example/e", "secret": "HOOK", "event": "response"}});
    let s = apply(None, &json!({"op": "create", "job": job}), T0).state.unwrap();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let event = |answer: &str, status: u64| {
        let (_, done) = run(&s, json!({"op": "finish", "token": "a", "status": status, "body": answer}), T0 + 2_000);
        let hook = done.webhook.unwrap();
        let body: Value = serde_json::from_str(hook["body"].as_str().unwrap()).unwrap();
        assert_eq!(hook["id"], body["id"], "webhook-id is the event's id");
        assert!(body["id"].as_str().unwrap().starts_with("evt_") && body["id"].as_str().unwrap().len() == 36);
        assert_eq!((&body["object"], &body["created_at"], &body["data"]), (&json!("event"), &json!(1002), &json!({"id": "resp_1"})));
        body["type"].as_str().unwrap().to_string()
    };
    assert_eq!(event(r#"{"id":"resp_1","status":"completed"}"#, 200), "response.completed");
    assert_eq!(event(r#"{"id":"resp_1","status":"incomplete"}"#, 200), "response.incomplete");
    assert_eq!(event(r#"{"error":{"message":"no"}}"#, 500), "response.failed");
    let (_, cancelled) = run(&s, json!({"op": "cancel"}), T0 + 2_000);
    let body: Value = serde_json::from_str(cancelled.webhook.unwrap()["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "response.cancelled");
}

#[test]
fn an_answer_larger_than_a_job_keeps_fails_the_job() {
    let s = created();
    let (s, _) = run(&s, json!({"op": "claim", "token": "a"}), T0);
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_JOB_BYTES));
    let (done, out) = run(&s, json!({"op": "finish", "token": "a", "status": 200, "body": big}), T0 + 1);
    assert_eq!(out.reply, json!({"ok": true}));
    assert_eq!((done["status"].as_str(), &done["result"]), (Some("failed"), &json!({"status": 200, "body": null})));
    assert!(done["error"].as_str().unwrap().contains("larger than a job keeps"), "{}", done["error"]);
    assert!(done.to_string().len() < 4096, "nothing of the answer is stored");
    // One that fits is kept whole.
    let fits = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_JOB_BYTES - 16));
    let (done, _) = run(&s, json!({"op": "finish", "token": "a", "status": 200, "body": fits}), T0 + 1);
    assert_eq!(done["status"], "succeeded");
}
