//! Retry and fallback scenarios with a numeric clock: what each attempt does and when.
use crate::core::front::flow::Flow;
use crate::core::front::gateway::Gateway;
use crate::core::front::inbound::Inbound;
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::session::Session;

const KEY: &str = "Bearer sk-switchyard-dev";
const OK: &[u8] = br#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;

/// A chat completion request as the edge would hand it over.
fn chat_inbound<'a>(h: &'a [(String, String)], body: &'a [u8], now_ms: u64, seed: u64) -> Inbound<'a> {
    Inbound { now_ms, seed, ..Inbound::test("POST", "/v1/chat/completions", h, body) }
}

fn gateway(steps: &str, retry: &str, deadline_ms: u32) -> Gateway {
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"a":{{"kind":"openai","base_url":"http://a.test/v1","api_key_secret":"A_KEY"}},
                          "b":{{"kind":"anthropic","base_url":"http://b.test","api_key_secret":"B_KEY"}}}},
           "models":[{{"name":"ma","provider":"a","model":"a-1"}},{{"name":"mb","provider":"b","model":"b-1"}}],
           "routes":[{{"name":"smart","steps":{steps},"retry":{retry},"deadline_ms":{deadline_ms}}}],
           "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}}]}}"#
    )));
    gw.set_secret("A_KEY", "sk-a-secret-value");
    gw.set_secret("B_KEY", "sk-b-secret-value");
    gw
}

fn start(gw: &Gateway, stream: bool) -> (Session, Action) {
    let h = vec![("authorization".to_string(), KEY.to_string())];
    let body = format!(r#"{{"model":"smart","messages":[{{"role":"user","content":"hi"}}],"stream":{stream}}}"#);
    let inb = chat_inbound(&h, body.as_bytes(), 0, 9);
    let (s, a) = gw.start(&inb);
    (s.into_session().expect("a session"), a)
}

/// The URL and delay of a fetch action.
fn fetch(a: &Action) -> (&str, u32) {
    match a {
        Action::Fetch { request, delay_ms, .. } => (request.url.as_str(), *delay_ms),
        other => panic!("expected a fetch, got {other:?}"),
    }
}

fn error_body(status: u16) -> Vec<u8> {
    format!(r#"{{"error":{{"message":"status {status}","type":"x","code":null}}}}"#).into_bytes()
}

/// Feed one failed upstream answer; return the next action.
fn fail_with(s: &mut Session, status: u16, headers: &[(&str, &str)], now: u64) -> Action {
    let h: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(s.on_head(status, &h, now), Action::ReadBody);
    s.on_body(&error_body(status), now)
}

fn reply(a: Action) -> crate::core::pipeline::protocol::Reply {
    match a {
        Action::Respond(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn rate_limit_with_retry_after_is_retried_no_sooner_than_it_says() {
    let gw = gateway(r#"[{"model":"ma"}]"#, r#"{"max_retries":2,"base_ms":10,"max_backoff_ms":20}"#, 60_000);
    let (mut s, first) = start(&gw, false);
    assert_eq!(fetch(&first), ("http://a.test/v1/chat/completions", 0));
    a_429_then_success(&mut s, 50);
}

/// A 429 with `retry-after: 1` at `now`: the retry waits at least that long, and its answer
/// is the reply, on the second attempt.
fn a_429_then_success(s: &mut Session, now: u64) {
    let retry = fail_with(s, 429, &[("retry-after", "1")], now);
    assert_eq!(fetch(&retry).0, "http://a.test/v1/chat/completions");
    assert!(fetch(&retry).1 >= 1000, "retry-after is a floor: {:?}", fetch(&retry));
    s.on_head(200, &[], 1100);
    let r = reply(s.on_body(OK, 1100));
    assert_eq!((r.status, r.header("x-switchyard-attempts")), (200, Some("2")));
}

#[test]
fn repeated_5xx_exhausts_retries_then_falls_back_across_dialects() {
    let gw = gateway(r#"[{"model":"ma"},{"model":"mb"}]"#, r#"{"max_retries":2,"base_ms":100,"max_backoff_ms":400}"#, 60_000);
    let (mut s, _) = start(&gw, false);
    for (n, now) in [(1, 10), (2, 600)] {
        let a = fail_with(&mut s, 503, &[], now);
        let (url, delay) = fetch(&a);
        assert_eq!(url, "http://a.test/v1/chat/completions", "retry {n}");
        assert!(delay <= 100 << (n - 1), "full jitter below the doubling ceiling: {delay}");
    }
    let fallback = fail_with(&mut s, 503, &[], 1500);
    assert_eq!(fetch(&fallback), ("http://b.test/v1/messages", 0));
    s.on_head(200, &[], 1600);
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"b-1","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
    let r = reply(s.on_body(body, 1600));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "hello", "an OpenAI caller served by the Anthropic fallback");
    assert_eq!((r.header("x-switchyard-attempts"), r.header("x-switchyard-provider")), (Some("4"), Some("b")));
}

#[test]
fn provider_auth_failure_moves_on_at_once_and_client_errors_return() {
    let gw = gateway(r#"[{"model":"ma"},{"model":"mb"}]"#, r#"{"max_retries":3}"#, 60_000);
    let (mut s, _) = start(&gw, false);
    assert_eq!(fetch(&fail_with(&mut s, 401, &[], 10)), ("http://b.test/v1/messages", 0));
    let (mut s, _) = start(&gw, false);
    let r = reply(fail_with(&mut s, 400, &[], 10));
    assert_eq!((r.status, r.header("x-switchyard-attempts")), (400, Some("1")));
}

#[test]
fn timeouts_fall_back_and_all_down_is_a_clear_503() {
    let gw = gateway(r#"[{"model":"ma","max_retries":0},{"model":"mb","max_retries":0}]"#, "{}", 60_000);
    let (mut s, _) = start(&gw, false);
    assert_eq!(fetch(&s.on_fetch_error(true, 10)).0, "http://b.test/v1/messages");
    let r = reply(s.on_fetch_error(false, 20));
    assert_eq!(r.status, 503);
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.contains("all_targets_failed") && text.contains("a/a-1: upstream_timeout") && text.contains("b/b-1: upstream_unreachable"),
        "{text}"
    );
    assert!(!text.contains("secret-value"));
}

/// Every secret the gateway was given (a provider key, the admin key, the token signing
/// secret) is cut out of upstream error text, in a body and in a stream's in-band error.
#[test]
fn the_gateways_secrets_never_come_back_in_upstream_error_text() {
    let mut gw = gateway(r#"[{"model":"ma"}]"#, "{}", 60_000);
    gw.set_secret("SWITCHYARD_ADMIN_KEY", "adm-Q7w2E9r4T1y6U3i8");
    gw.set_secret("TOKEN_SIGNING_KEY", "tok-Z5x1C8v3B6n9M2a4");
    let echo = "bad credentials key=sk-a-secret-value; also seen adm-Q7w2E9r4 and ...C8v3B6n9M2a4";
    let body = serde_json::json!({"error": {"message": echo, "type": "invalid_request_error", "code": null}});
    let (mut s, _) = start(&gw, false);
    s.on_head(400, &[], 10);
    let r = reply(s.on_body(&serde_json::to_vec(&body).unwrap(), 10));
    let text = String::from_utf8(r.body).unwrap();
    assert!(r.status == 400 && text.contains("bad credentials key=[redacted]"), "{text}");
    let (mut s, _) = start(&gw, true);
    s.on_head(200, &[("content-type".into(), "text/event-stream".into())], 10);
    let mut out = s.on_chunk(format!("data: {}\n\n", body).as_bytes()).unwrap_or_default();
    out.extend(s.on_end());
    let stream = String::from_utf8(out).unwrap();
    assert!(stream.contains("[redacted]"), "{stream}");
    for text in [text, stream] {
        for piece in ["secret-value", "adm-Q7w2E9", "C8v3B6n9M2a4"] {
            assert!(!text.contains(piece), "{piece} in {text}");
        }
    }
}

#[test]
fn retry_after_beyond_the_deadline_moves_to_the_next_target() {
    let gw = gateway(r#"[{"model":"ma"},{"model":"mb"}]"#, r#"{"max_retries":2}"#, 5_000);
    let (mut s, _) = start(&gw, false);
    assert_eq!(fetch(&fail_with(&mut s, 429, &[("retry-after", "30")], 10)), ("http://b.test/v1/messages", 0));
}

#[test]
fn after_the_stream_head_a_cut_is_in_band_and_never_retried() {
    let gw = gateway(r#"[{"model":"ma"},{"model":"mb"}]"#, r#"{"max_retries":2}"#, 60_000);
    let (mut s, _) = start(&gw, true);
    let head = s.on_head(200, &[("content-type".into(), "text/event-stream".into())], 10);
    assert!(matches!(head, Action::Stream(ref r) if r.header("x-switchyard-attempts") == Some("1")));
    let tail = String::from_utf8(s.on_end()).unwrap();
    assert!(tail.contains("\"error\""), "{tail}");
}

/// A gateway with a plain OpenAI model `ma` and the plain mock `mock`, and `extra` top-level
/// config (such as `"retry"`).
fn plain_gateway(extra: &str) -> Gateway {
    let mut gw = Gateway::new(Some(&format!(
        r#"{{"providers":{{"a":{{"kind":"openai","base_url":"http://a.test/v1","api_key_secret":"A_KEY"}},"m":{{"kind":"mock"}}}},
           "models":[{{"name":"ma","provider":"a","model":"a-1"}},{{"name":"mock","provider":"m","model":"mock-1"}}],
           "keys":[{{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}}]{extra}}}"#
    )));
    gw.set_secret("A_KEY", "sk-a-secret-value");
    gw
}

/// A request for a plain model, with extra request headers.
fn start_plain(gw: &Gateway, model: &str, headers: &[(&str, &str)]) -> (Session, Action) {
    let mut h = vec![("authorization".to_string(), KEY.to_string())];
    h.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let body = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#);
    let (s, a) = gw.start(&chat_inbound(&h, body.as_bytes(), 0, 1));
    (s.into_session().expect("a session"), a)
}

/// The status, `retry-after` and delay of a mock playback action.
fn mock_play(a: &Action) -> (u16, Option<&str>, u32) {
    match a {
        Action::Mock(m) => (m.status, m.headers.iter().find(|(k, _)| k == "retry-after").map(|(_, v)| v.as_str()), m.delay_ms),
        other => panic!("expected a mock playback, got {other:?}"),
    }
}

/// Feed a mock playback to the session as the driver would; return the next action.
fn play_mock(s: &mut Session, a: &Action, now: u64) -> Action {
    let Action::Mock(m) = a else { panic!("expected a mock playback, got {a:?}") };
    assert_eq!(s.on_head(m.status, &m.headers, now), Action::ReadBody);
    s.on_body(&m.frames.concat(), now)
}

#[test]
fn plain_models_are_retried_by_the_default_policy() {
    let gw = plain_gateway("");
    let (mut s, first) = start_plain(&gw, "ma", &[]);
    assert_eq!(fetch(&first), ("http://a.test/v1/chat/completions", 0));
    for (n, now) in [(1, 10), (2, 300)] {
        let a = fail_with(&mut s, 503, &[], now);
        let (url, delay) = fetch(&a);
        assert_eq!(url, "http://a.test/v1/chat/completions", "retry {n}");
        assert!(delay <= 250 << (n - 1), "full jitter below the default base of 250 ms, doubling: {delay}");
    }
    let r = reply(fail_with(&mut s, 503, &[], 900));
    assert_eq!((r.status, r.header("x-switchyard-attempts")), (502, Some("3")), "two retries by default, then the error");
}

#[test]
fn a_plain_model_429_with_retry_after_is_retried_then_succeeds() {
    let gw = plain_gateway("");
    let (mut s, _) = start_plain(&gw, "ma", &[]);
    a_429_then_success(&mut s, 20);
}

#[test]
fn the_top_level_retry_policy_applies_to_plain_models() {
    let (mut s, _) = start_plain(&plain_gateway(r#","retry":{"max_retries":0}"#), "ma", &[]);
    let r = reply(fail_with(&mut s, 503, &[], 5));
    assert_eq!((r.status, r.header("x-switchyard-attempts")), (502, Some("1")));
    let (mut s, _) = start_plain(&plain_gateway(r#","retry":{"max_retries":1,"base_ms":10,"max_backoff_ms":10}"#), "ma", &[]);
    assert!(fetch(&fail_with(&mut s, 503, &[], 5)).1 <= 10);
    assert_eq!(reply(fail_with(&mut s, 503, &[], 20)).header("x-switchyard-attempts"), Some("2"));
}

#[test]
fn a_rate_limited_plain_mock_is_retried_after_its_retry_after() {
    let gw = plain_gateway("");
    let (mut s, first) = start_plain(&gw, "mock", &[("x-switchyard-mock", "status=429,retry_after=1")]);
    assert_eq!(mock_play(&first), (429, Some("1"), 0));
    // The directive holds for every attempt: each retry waits out the retry-after again.
    let second = play_mock(&mut s, &first, 0);
    assert_eq!(mock_play(&second).0, 429);
    assert!(mock_play(&second).2 >= 1000, "the second attempt waits for retry-after: {:?}", mock_play(&second));
    let third = play_mock(&mut s, &second, 1000);
    assert!(mock_play(&third).2 >= 1000);
    let r = reply(play_mock(&mut s, &third, 2000));
    assert_eq!((r.status, r.header("x-switchyard-attempts"), r.header("retry-after")), (429, Some("3"), Some("1")));
    // Had the second attempt answered, the caller would have had its answer.
    let (mut s, first) = start_plain(&gw, "mock", &[("x-switchyard-mock", "status=429,retry_after=1")]);
    play_mock(&mut s, &first, 0);
    s.on_head(200, &[("content-type".into(), "application/json".into())], 1000);
    let r = reply(s.on_body(OK, 1000));
    assert_eq!((r.status, r.header("x-switchyard-attempts")), (200, Some("2")));
}

#[test]
fn an_open_circuit_is_skipped_until_its_cooldown_then_probed() {
    let gw = gateway(r#"[{"model":"ma","max_retries":0},{"model":"mb","max_retries":0}]"#, "{}", 60_000);
    let succeed_on_b = |s: &mut Session, now| {
        s.on_head(200, &[], now);
        let body = br#"{"id":"m","type":"message","role":"assistant","model":"b-1","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
        assert_eq!(reply(s.on_body(body, now)).status, 200);
    };
    // Five requests in a row find `a` failing and fall back to `b`.
    for i in 0..5 {
        let (mut s, first) = start(&gw, false);
        assert_eq!(fetch(&first).0, "http://a.test/v1/chat/completions", "request {i} still tries a");
        assert_eq!(fetch(&fail_with(&mut s, 503, &[], 100)).0, "http://b.test/v1/messages");
        succeed_on_b(&mut s, 110);
    }
    // Now a's circuit is open: requests go straight to b.
    let (mut s, first) = start(&gw, false);
    assert_eq!(fetch(&first).0, "http://b.test/v1/messages");
    succeed_on_b(&mut s, 200);
}

#[test]
fn a_429_parks_its_target_for_other_requests_until_retry_after() {
    let gw = gateway(r#"[{"model":"ma","max_retries":0},{"model":"mb","max_retries":0}]"#, "{}", 60_000);
    let (mut s, _) = start(&gw, false);
    assert_eq!(fetch(&fail_with(&mut s, 429, &[("retry-after", "30")], 0)).0, "http://b.test/v1/messages");
    let (_, first) = start(&gw, false);
    assert_eq!(fetch(&first).0, "http://b.test/v1/messages", "a is parked");
}

mod spend {
    use super::*;
    use crate::core::state::spend::{apply, Op, TenantState};

    fn limited_gateway(ledger: bool) -> Gateway {
        let mut gw = Gateway::new(Some(
            r#"{"providers":{"m":{"kind":"mock"}},
                "models":[{"name":"mock","provider":"m","model":"echo","max_output_tokens":100,"prices":{"input":1,"output":2}}],
                "tenants":{"acme":{"limits":{"daily_usd":1}}},
                "keys":[{"name":"dev","tenant":"acme","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3",
                         "limits":{"requests_per_minute":2}}]}"#,
        ));
        gw.set_ledger(ledger);
        gw
    }

    fn chat(gw: &Gateway, seed: u64) -> (Flow, Action) {
        let h = vec![("authorization".to_string(), KEY.to_string())];
        let body = br#"{"model":"mock","messages":[{"role":"user","content":"hello there"}]}"#;
        let inb = chat_inbound(&h, body, 0, seed);
        gw.start(&inb)
    }

    /// Drive a request through a real tenant state: admission, the mock, settlement.
    fn through(gw: &Gateway, state: &mut TenantState, seed: u64) -> crate::core::pipeline::protocol::Reply {
        let (s, a) = chat(gw, seed);
        let mut s = s.into_session().unwrap();
        let Action::Tenant { tenant, op } = a else { panic!("{a:?}") };
        assert_eq!(tenant, "acme");
        let applied = apply(state, serde_json::from_str(&op).unwrap(), 0);
        if let Some(next) = applied.state {
            *state = next;
        }
        let a = s.on_admit(Some(&applied.reply.to_string()), 0);
        let a = match a {
            Action::Mock(m) => {
                let h = m.headers.clone();
                assert_eq!(s.on_head(m.status, &h, 0), Action::ReadBody);
                s.on_body(&m.frames[0], 0)
            }
            other => other,
        };
        if let Some((_, settle)) = s.settlement(0) {
            let applied = apply(state, Op::Settle(serde_json::from_str(&settle).unwrap()), 0);
            *state = applied.state.unwrap();
        }
        reply(a)
    }

    #[test]
    fn limits_are_checked_before_the_upstream_and_reported_in_headers() {
        let gw = limited_gateway(true);
        let mut state = TenantState::default();
        let r = through(&gw, &mut state, 1);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit-requests"), Some("2"));
        assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("1"));
        assert_eq!(through(&gw, &mut state, 2).status, 200);
        let r = through(&gw, &mut state, 3);
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("30"));
        assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));
    }

    #[test]
    fn unreachable_spend_control_refuses_rather_than_admits() {
        let gw = limited_gateway(true);
        let (s, _) = chat(&gw, 1);
        let mut s = s.into_session().unwrap();
        let r = reply(s.on_admit(None, 0));
        assert_eq!(r.status, 503);
        assert!(s.settlement(0).is_none());
    }

    #[test]
    fn limits_without_the_binding_are_a_config_error_not_a_free_pass() {
        let (_, a) = chat(&limited_gateway(false), 1);
        assert_eq!(reply(a).status, 500);
    }

    /// Embeddings are billed for the input tokens the upstream reports, and count against a
    /// budget like chat: a key cannot embed for free past its tenant's daily limit.
    #[test]
    fn embeddings_are_metered_and_stop_at_the_budget() {
        let mut gw = Gateway::new(Some(
            r#"{"providers":{"m":{"kind":"mock"}},
                "models":[{"name":"emb","provider":"m","model":"emb-1","prices":{"input":10000,"output":0}}],
                "tenants":{"acme":{"limits":{"daily_usd":1}}},
                "keys":[{"name":"dev","tenant":"acme","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}]}"#,
        ));
        gw.set_ledger(true);
        let h = vec![("authorization".to_string(), KEY.to_string())];
        let body = br#"{"model":"emb","input":["one two three four five six seven eight"]}"#;
        let mut state = TenantState::default();
        let mut answered = 0u64;
        let mut per_call = 0u64;
        for seed in 1..=200 {
            let inb = Inbound { path: "/v1/embeddings", ..chat_inbound(&h, body, 0, seed) };
            let (s, a) = gw.start(&inb);
            let mut s = s.into_session().unwrap();
            let Action::Tenant { op, .. } = a else { panic!("{a:?}") };
            let applied = apply(&state, serde_json::from_str(&op).unwrap(), 0);
            if let Some(next) = applied.state {
                state = next;
            }
            let Action::Mock(m) = s.on_admit(Some(&applied.reply.to_string()), 0) else {
                assert_eq!(reply(s.on_admit(Some(&applied.reply.to_string()), 0)).status, 402);
                break;
            };
            assert_eq!(s.on_head(m.status, &m.headers.clone(), 0), Action::ReadBody);
            let r = reply(s.on_body(&m.frames[0], 0));
            assert_eq!(r.status, 200);
            let tokens: u64 = r.header("x-switchyard-input-tokens").unwrap().parse().unwrap();
            assert!(tokens > 0);
            // $10,000 per million input tokens: 10,000,000 nano-USD a token.
            per_call = tokens * 10_000_000;
            assert_eq!(r.header("x-switchyard-cost-usd"), Some(crate::core::state::cost::usd_string(per_call).as_str()));
            let (_, settle) = s.settlement(0).unwrap();
            state = apply(&state, Op::Settle(serde_json::from_str(&settle).unwrap()), 0).state.unwrap();
            answered += 1;
        }
        assert!(answered > 0 && answered < 200, "embeddings were never refused ({answered} answered)");
        assert!(answered * per_call <= 1_000_000_000, "spent past the budget");
    }

    #[test]
    fn the_reservation_is_the_worst_case() {
        let (_, a) = chat(&limited_gateway(true), 1);
        let Action::Tenant { op, .. } = a else { panic!() };
        let Op::Admit(admit) = serde_json::from_str(&op).unwrap() else { panic!() };
        // "hello there": 11 chars → 3 tokens + 4 per message + 3; output at the model's cap.
        assert_eq!(admit.tokens, 10 + 100);
        // $1/M input and $2/M output: 1,000 and 2,000 nano-USD a token.
        assert_eq!(admit.reserve_nusd, 10 * 1_000 + 100 * 2_000);
        assert_eq!(admit.subjects.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["key:dev", "tenant"]);
    }
}

mod caching {
    use super::*;
    use crate::core::state::cache::Entry;

    const DEV_SHA: &str = "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3";
    const OTHER_SHA: &str = "e9bf1996e064596015b082a89ea76788bf4fee8de46926593e7e65f7064423c6";

    fn gw() -> Gateway {
        let mut gw = Gateway::new(Some(&format!(
            r#"{{"providers":{{"m":{{"kind":"mock"}}}},
                "models":[{{"name":"mock","provider":"m","model":"echo"}}],
                "routes":[{{"name":"cached","steps":[{{"model":"mock"}}],"cache":{{"enabled":true,"ttl_seconds":60,"max_stale_seconds":600}}}}],
                "keys":[{{"name":"dev","tenant":"a","sha256":"{DEV_SHA}"}},{{"name":"other","tenant":"b","sha256":"{OTHER_SHA}"}}]}}"#
        )));
        gw.set_cache(true);
        gw
    }

    fn start(gw: &Gateway, key: &str, body: &str, extra: &[(&str, &str)], now_ms: u64) -> (Session, Action) {
        let mut h = vec![("authorization".to_string(), format!("Bearer {key}"))];
        h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let inb = chat_inbound(&h, body.as_bytes(), now_ms, 3);
        let (s, a) = gw.start(&inb);
        (s.into_session().unwrap(), a)
    }

    fn key_of(a: &Action) -> String {
        match a {
            Action::CacheGet { key, .. } => key.clone(),
            other => panic!("expected a cache read, got {other:?}"),
        }
    }

    /// Play the mock's reply through the session (a whole body, or a stream).
    fn play(s: &mut Session, a: Action, now: u64) -> (crate::core::pipeline::protocol::Reply, Vec<u8>) {
        let m = match a {
            Action::Mock(m) => m,
            Action::Respond(r) => {
                let body = r.body.clone();
                return (r, body);
            }
            other => panic!("{other:?}"),
        };
        match s.on_head(m.status, &m.headers, now) {
            Action::ReadBody => match s.on_body(&m.frames.concat(), now) {
                Action::Respond(r) => {
                    let body = if r.body_from_upstream { m.frames.concat() } else { r.body.clone() };
                    (r, body)
                }
                next => play(s, next, now),
            },
            Action::Stream(r) => {
                let mut body = Vec::new();
                for f in &m.frames {
                    body.extend(s.on_chunk(f).unwrap_or_else(|| f.clone()));
                }
                body.extend(s.on_end());
                (r, body)
            }
            other => panic!("{other:?}"),
        }
    }

    const T0: &str = r#"{"model":"mock","temperature":0,"messages":[{"role":"user","content":"cache me"}]}"#;

    #[test]
    fn a_second_identical_request_is_a_hit_in_either_dialect_and_mode() {
        let gw = gw();
        let (mut s, a) = start(&gw, "sk-switchyard-dev", T0, &[], 1_000);
        let key = key_of(&a);
        let miss = s.on_cache(None, 1_000);
        let (r, body) = play(&mut s, miss, 1_000);
        assert_eq!((r.status, r.header("x-switchyard-cache")), (200, Some("MISS")));
        let (put_key, value, ttl) = s.cache_put(1_000).expect("a storable answer");
        assert_eq!((put_key.as_str(), ttl), (key.as_str(), 3600));

        let (mut s2, a2) = start(&gw, "sk-switchyard-dev", T0, &[], 6_000);
        assert_eq!(key_of(&a2), key);
        let hit = reply(s2.on_cache(Some(&value), 6_000));
        assert_eq!((hit.header("x-switchyard-cache"), hit.header("age")), (Some("HIT"), Some("5")));
        assert_eq!(hit.header("x-switchyard-cost-usd"), Some("0.000000000"));
        let text = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap()["choices"][0]["message"]["content"].clone();
        assert_eq!(text(&hit.body), text(&body));
        assert!(s2.cache_put(6_000).is_none(), "a hit is not written again");

        let streamed = T0.replace(r#""temperature":0"#, r#""temperature":0,"stream":true"#);
        let (mut s3, a3) = start(&gw, "sk-switchyard-dev", &streamed, &[], 7_000);
        assert_eq!(key_of(&a3), key, "the stream flag is not part of the key");
        let hit = reply(s3.on_cache(Some(&value), 7_000));
        assert!(String::from_utf8_lossy(&hit.body).ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn tenants_never_share_entries_and_sampled_requests_bypass() {
        let gw = gw();
        let (_, a) = start(&gw, "sk-switchyard-dev", T0, &[], 0);
        let (_, b) = start(&gw, "other-key-for-tests", T0, &[], 0);
        assert_ne!(key_of(&a), key_of(&b));
        let sampled = T0.replace(r#""temperature":0"#, r#""temperature":0.7"#);
        let (mut s, a) = start(&gw, "sk-switchyard-dev", &sampled, &[], 0);
        assert!(matches!(a, Action::Mock(_)));
        let (r, _) = play(&mut s, a, 0);
        assert_eq!(r.header("x-switchyard-cache"), Some("BYPASS"));
        assert!(s.cache_put(0).is_none());
        let (_, a) = start(&gw, "sk-switchyard-dev", &sampled, &[("x-switchyard-cache", "on")], 0);
        assert!(matches!(a, Action::CacheGet { .. }));
    }

    #[test]
    fn a_stale_entry_answers_only_when_every_target_fails() {
        let gw = gw();
        let body = r#"{"model":"cached","temperature":0.9,"messages":[{"role":"user","content":"stale?"}]}"#;
        let (mut s, a) = start(&gw, "sk-switchyard-dev", body, &[], 0);
        key_of(&a);
        let miss = s.on_cache(None, 0);
        play(&mut s, miss, 0);
        let (_, value, ttl) = s.cache_put(0).unwrap();
        assert_eq!(ttl, 660);
        let old = Entry::from_json(&value).unwrap();
        // 100 s later the entry is past its 60 s TTL but within 600 s of stale.
        let now = 100_000;
        let (mut s, _) = start(&gw, "sk-switchyard-dev", body, &[], now);
        let a = s.on_cache(Some(&value), now);
        let (r, _) = play(&mut s, a, now);
        assert_eq!(r.header("x-switchyard-cache"), Some("MISS"), "a healthy target answers fresh");
        let (mut s, _) = start(&gw, "sk-switchyard-dev", body, &[("x-switchyard-mock", "status=503")], now);
        let a = s.on_cache(Some(&value), now);
        let (r, body) = play(&mut s, a, now);
        assert_eq!((r.status, r.header("x-switchyard-cache")), (200, Some("STALE")));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"].as_str(), old.response.choices[0].content.as_deref());
    }
}

mod quotas {
    use super::*;

    fn gw() -> Gateway {
        let mut gw = Gateway::new(Some(
            r#"{"providers":{"a":{"kind":"openai","base_url":"http://a.test/v1","api_key_secret":"A_KEY"},
                            "b":{"kind":"openai","base_url":"http://b.test/v1","api_key_secret":"A_KEY"}},
               "models":[{"name":"ma","provider":"a","model":"a-1","quota":{"requests_per_minute":2}},
                         {"name":"mb","provider":"b","model":"b-1"}],
               "routes":[{"name":"smart","steps":[{"model":"ma"},{"model":"mb"}]}],
               "keys":[{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}]}"#,
        ));
        gw.set_secret("A_KEY", "sk-a-secret-value");
        gw
    }

    fn target_at(gw: &Gateway, now_ms: u64) -> String {
        let h = vec![("authorization".to_string(), KEY.to_string())];
        let body = br#"{"model":"smart","messages":[{"role":"user","content":"hi"}]}"#;
        let inb = chat_inbound(&h, body, now_ms, 1);
        let (_, a) = gw.start(&inb);
        fetch(&a).0.to_string()
    }

    #[test]
    fn a_target_out_of_quota_yields_to_the_next_until_it_refills() {
        let gw = gw();
        assert!(target_at(&gw, 0).starts_with("http://a.test"));
        assert!(target_at(&gw, 0).starts_with("http://a.test"));
        assert!(target_at(&gw, 0).starts_with("http://b.test"), "a's two requests a minute are used");
        assert!(target_at(&gw, 30_000).starts_with("http://a.test"), "half a minute refills one");
    }

    #[test]
    fn an_upstream_saying_its_quota_is_spent_is_avoided_until_reset() {
        let gw = gw();
        let h = vec![("authorization".to_string(), KEY.to_string())];
        let body = br#"{"model":"smart","messages":[{"role":"user","content":"hi"}]}"#;
        let inb = chat_inbound(&h, body, 0, 1);
        let (s, _) = gw.start(&inb);
        let mut s = s.into_session().unwrap();
        let head = [("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "20s"), ("content-type", "application/json")];
        let h: Vec<(String, String)> = head.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(s.on_head(200, &h, 0), Action::ReadBody);
        assert_eq!(reply(s.on_body(OK, 0)).status, 200);
        assert!(target_at(&gw, 10_000).starts_with("http://b.test"));
        assert!(target_at(&gw, 30_000).starts_with("http://a.test"));
    }
}

mod similar_prompts {
    use super::*;
    use crate::core::state::similar::IndexOp;

    fn gw() -> Gateway {
        let mut gw = Gateway::new(Some(
            r#"{"providers":{"m":{"kind":"mock"}},
                "models":[{"name":"mock","provider":"m","model":"echo"},{"name":"emb","provider":"m","model":"embed"}],
                "routes":[{"name":"faq","steps":[{"model":"mock"}],
                           "cache":{"enabled":true,"similar":{"embedding_model":"emb","threshold":0.9}}}],
                "keys":[{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}]}"#,
        ));
        gw.set_cache(true);
        gw.set_similar_index(true);
        gw
    }

    fn start(gw: &Gateway, messages: &str) -> (Session, Action) {
        let h = vec![("authorization".to_string(), KEY.to_string())];
        let body = format!(r#"{{"model":"faq","messages":{messages}}}"#);
        let inb = chat_inbound(&h, body.as_bytes(), 0, 1);
        let (s, a) = gw.start(&inb);
        (s.into_session().unwrap(), a)
    }

    fn lookup_prefix(a: &Action) -> String {
        let Action::Index { op, .. } = a else { panic!("{a:?}") };
        let IndexOp::Lookup { prefix, vector, .. } = serde_json::from_str(op).unwrap() else { panic!() };
        assert!(!vector.is_empty());
        prefix
    }

    #[test]
    fn a_miss_asks_the_index_and_a_match_is_served_as_similar() {
        let gw = gw();
        let (mut s, _) = start(&gw, r#"[{"role":"user","content":"What is the capital of France?"}]"#);
        let a = s.on_cache(None, 0);
        let prefix = lookup_prefix(&a);
        let a = s.on_index(None, 0);
        let Action::Mock(m) = a else { panic!("{a:?}") };
        assert_eq!(s.on_head(m.status, &m.headers, 0), Action::ReadBody);
        assert_eq!(reply(s.on_body(&m.frames.concat(), 0)).header("x-switchyard-cache"), Some("MISS"));
        let (key, value, _) = s.cache_put(0).unwrap();
        let (_, insert) = s.similar_put(0).unwrap();
        assert!(matches!(serde_json::from_str(&insert).unwrap(), IndexOp::Insert { key: k, prefix: p, .. } if k == key && p == prefix));

        let (mut s, _) = start(&gw, r#"[{"role":"user","content":"what's the capital of france"}]"#);
        assert_eq!(lookup_prefix(&s.on_cache(None, 0)), prefix, "same earlier turns and settings: same prefix");
        let a = s.on_index(Some(&format!(r#"{{"key":"{key}","score":0.97}}"#)), 0);
        assert_eq!(a, Action::CacheGet { key: key.clone(), join: false, coalesce: false });
        let r = reply(s.on_cache(Some(&value), 1_000));
        assert_eq!((r.header("x-switchyard-cache"), r.header("x-switchyard-similarity")), (Some("SIMILAR"), Some("0.9700")));
        assert!(s.similar_put(1_000).is_none() && s.cache_put(1_000).is_none());
    }

    #[test]
    fn other_earlier_turns_are_another_prefix() {
        let gw = gw();
        let (mut a, _) = start(&gw, r#"[{"role":"user","content":"What is the capital of France?"}]"#);
        let (mut b, _) = start(
            &gw,
            r#"[{"role":"user","content":"Talk like a pirate."},{"role":"assistant","content":"Arr."},{"role":"user","content":"What is the capital of France?"}]"#,
        );
        assert_ne!(lookup_prefix(&a.on_cache(None, 0)), lookup_prefix(&b.on_cache(None, 0)));
    }

    /// The lookup's embedding call is paid for: its cost (the upstream's reported tokens at
    /// the embedding model's price) is in the request's cost, on a miss and on a hit alike.
    #[test]
    fn the_lookups_embedding_is_billed_with_the_request() {
        let mut gw = Gateway::new(Some(
            r#"{"providers":{"m":{"kind":"mock"},"e":{"kind":"openai","base_url":"http://e.test/v1"}},
                "models":[{"name":"mock","provider":"m","model":"echo","prices":{"input":1,"output":1}},
                          {"name":"emb","provider":"e","model":"embed","prices":{"input":1000,"output":0}}],
                "routes":[{"name":"faq","steps":[{"model":"mock"}],
                           "cache":{"enabled":true,"similar":{"embedding_model":"emb","threshold":0.9}}}],
                "keys":[{"name":"dev","tenant":"acme","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}]}"#,
        ));
        gw.set_cache(true);
        gw.set_similar_index(true);
        gw.set_ledger(true);
        let embedded = br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"usage":{"prompt_tokens":7,"total_tokens":7}}"#;
        // $1,000 per million input tokens: 1,000,000 nano-USD a token, 7 tokens.
        let lookup = 7_000_000;
        let row_cost = |s: &Session| {
            let (_, settle) = s.settlement(0).unwrap();
            serde_json::from_str::<crate::core::state::spend::Settle>(&settle).unwrap().row.cost_nusd
        };

        let (mut s, _) = start(&gw, r#"[{"role":"user","content":"What is the capital of France?"}]"#);
        assert!(matches!(s.on_cache(None, 0), Action::Call { .. }));
        lookup_prefix(&s.on_called(200, embedded, 0));
        let Action::Mock(m) = s.on_index(None, 0) else { panic!() };
        assert_eq!(s.on_head(m.status, &m.headers, 0), Action::ReadBody);
        let r = reply(s.on_body(&m.frames.concat(), 0));
        let (_, answer) = s.usage_and_cost().unwrap();
        assert!(answer > 0);
        assert_eq!(r.header("x-switchyard-cost-usd"), Some(crate::core::state::cost::usd_string(answer + lookup).as_str()));
        assert_eq!(row_cost(&s), answer + lookup);
        let (key, value, _) = s.cache_put(0).unwrap();

        let (mut s, _) = start(&gw, r#"[{"role":"user","content":"what's the capital of france"}]"#);
        assert!(matches!(s.on_cache(None, 0), Action::Call { .. }));
        lookup_prefix(&s.on_called(200, embedded, 0));
        s.on_index(Some(&format!(r#"{{"key":"{key}","score":0.97}}"#)), 0);
        let r = reply(s.on_cache(Some(&value), 1_000));
        assert_eq!(r.header("x-switchyard-cache"), Some("SIMILAR"));
        assert_eq!(r.header("x-switchyard-cost-usd"), Some(crate::core::state::cost::usd_string(lookup).as_str()));
        assert_eq!(row_cost(&s), lookup);
    }

    #[test]
    fn a_vanished_match_goes_upstream() {
        let gw = gw();
        let (mut s, _) = start(&gw, r#"[{"role":"user","content":"hello"}]"#);
        s.on_cache(None, 0);
        s.on_index(Some(r#"{"key":"gone","score":0.99}"#), 0);
        assert!(matches!(s.on_cache(None, 0), Action::Mock(_)));
    }
}

/// Gemini embeds at most 100 inputs a call: 250 inputs take three calls in turn within one
/// attempt, and the caller gets 250 vectors indexed in input order.
#[test]
fn gemini_embeddings_over_100_inputs_go_in_batches() {
    let mut gw = Gateway::new(Some(
        r#"{"providers":{"g":{"kind":"gemini","base_url":"http://g.test","api_key_secret":"G_KEY"}},
            "models":[{"name":"emb","provider":"g","model":"text-embedding-004"}],
            "keys":[{"name":"dev","sha256":"8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"}]}"#,
    ));
    gw.set_secret("G_KEY", "g-secret");
    let h = vec![("authorization".to_string(), KEY.to_string())];
    let inputs: Vec<String> = (0..250).map(|i| format!("text {i}")).collect();
    let body = serde_json::to_vec(&serde_json::json!({"model": "emb", "input": inputs})).unwrap();
    let inb = Inbound { path: "/v1/embeddings", ..chat_inbound(&h, &body, 0, 3) };
    let (s, mut a) = gw.start(&inb);
    let mut s = s.into_session().unwrap();
    let json = [("content-type".to_string(), "application/json".to_string())];
    for (n, size) in [(0, 100), (1, 100), (2, 50)] {
        let Action::Fetch { request, .. } = &a else { panic!("call {n}: {a:?}") };
        assert_eq!(request.url, "http://g.test/v1beta/models/text-embedding-004:batchEmbedContents");
        let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let requests = sent["requests"].as_array().unwrap();
        assert_eq!(requests.len(), size, "call {n}");
        assert_eq!(requests[0]["content"]["parts"][0]["text"], format!("text {}", n * 100));
        // Each vector says which input it embeds.
        let answer: Vec<serde_json::Value> = (0..size).map(|i| serde_json::json!({"values": [(n * 100 + i) as f32]})).collect();
        assert_eq!(s.on_head(200, &json, 10), Action::ReadBody);
        a = s.on_body(&serde_json::to_vec(&serde_json::json!({"embeddings": answer})).unwrap(), 10);
    }
    let r = reply(a);
    assert_eq!((r.status, r.header("x-switchyard-attempts")), (200, Some("1")));
    let out: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let data = out["data"].as_array().unwrap();
    assert_eq!(data.len(), 250);
    for (i, d) in data.iter().enumerate() {
        assert_eq!((d["index"].as_u64(), d["embedding"][0].as_f64()), (Some(i as u64), Some(i as f64)));
    }
}
