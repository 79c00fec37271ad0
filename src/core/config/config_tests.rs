//! Tests of parsing and validating the config document: the embedded default parses, every
//! problem is reported with its JSON path, prices become integers, presets resolve.

use super::*;
use crate::core::types::Dialect;

#[test]
fn embedded_default_config_is_valid() {
    let cfg = Config::parse(DEFAULT_CONFIG).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(cfg.model("gpt-4o-mini").unwrap().name, "mock");
    assert_eq!(cfg.model("mock").unwrap().price.input, 150_000);
    assert_eq!(cfg.model("mock-embed").unwrap().provider, "mock", "embeddings work out of the box");
    assert!(cfg.model("nope").is_none());
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let text = r#"{
      "providers": {"up": {"kind": "openai", "base_url": "ftp://x", "api_key_secret": "bad name", "timeout_ms": 5},
                    "g": {"kind": "groq", "responses_api": true},
                    "nourl": {"kind": "azure-openai", "api_version": "2024-10-21"}, "x": {"kind": "groq", "api_version": "1"}},
      "models": [
        {"name": "a", "provider": "missing", "model": ""},
        {"name": "b", "aliases": ["a"], "provider": "up", "model": "m", "prices": {"input": -1}}
      ],
      "keys": [{"name": "k", "sha256": "xyz", "tenant": "", "models": ["ghost"]}],
      "limits": {"max_body_bytes": 10}
    }"#;
    let problems = Config::parse(text).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "providers.up.base_url",
        "providers.up.api_key_secret",
        "providers.up.timeout_ms",
        "providers.nourl.base_url",
        "providers.g.responses_api",
        "models[0].provider",
        "models[0].model",
        "models[1].name",
        "models[1].prices.input",
        "keys[0].sha256",
        "keys[0].tenant",
        "keys[0].models[0]",
        "limits.max_body_bytes",
    ] {
        assert!(paths.contains(&want), "missing {want} in {paths:?}");
    }
}

#[test]
fn unknown_fields_and_bad_json_are_reported() {
    let p = Config::parse(r#"{"providers": {}, "modles": []}"#).unwrap_err();
    assert!(p[0].message.contains("unknown field"), "{p:?}");
    assert!(Config::parse("{").is_err());
    let p = Config::parse(r#"{"providers": {"x": {"kind": "carrier-pigeon"}}}"#).unwrap_err();
    assert!(p[0].message.contains("unknown variant"));
}

#[test]
fn prices_are_integer_micro_usd_per_million() {
    let cfg = Config::parse(r#"{"providers":{"m":{"kind":"mock"}},"models":[{"name":"x","provider":"m","model":"y","prices":{"input":2.5,"output":10,"cached_input":1.25}}]}"#).unwrap();
    let p = cfg.model("x").unwrap().price;
    assert_eq!((p.input, p.output, p.cached_input, p.cache_write), (2_500_000, 10_000_000, 1_250_000, 2_500_000));
}

#[test]
fn secret_names_are_collected() {
    let cfg = Config::parse(r#"{"providers":{"a":{"kind":"openai","base_url":"https://a","api_key_secret":"A_KEY"},"b":{"kind":"openai","base_url":"https://b","api_key_secret":"A_KEY"}}}"#).unwrap();
    assert_eq!(cfg.secret_names(), ["A_KEY"]);
}

#[test]
fn presets_have_default_urls_and_wires() {
    let cfg = Config::parse(
        r#"{"providers":{"g":{"kind":"groq"},"a":{"kind":"anthropic"},"o":{"kind":"openai","base_url":"http://127.0.0.1:1/v1"}}}"#,
    )
    .unwrap();
    assert_eq!(cfg.providers["g"].base_url(), "https://api.groq.com/openai/v1");
    assert_eq!(cfg.providers["o"].base_url(), "http://127.0.0.1:1/v1");
    assert_eq!(cfg.providers["a"].kind.wire(), Dialect::Anthropic);
    assert!(cfg.providers["g"].kind.quirks().developer_as_system);
}

#[test]
fn routes_are_validated() {
    let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x"}]"#;
    // A valid route parses (its plan is checked with the planner, in the pipeline's routes).
    Config::parse(&format!(r#"{{{base},"routes":[{{"name":"r","steps":[{{"model":"a"}},{{"pool":[{{"model":"a","weight":2}}]}}]}}]}}"#))
        .unwrap();
    let bad = Config::parse(&format!(
        r#"{{{base},"routes":[{{"name":"a","steps":[{{"model":"ghost"}}],"deadline_ms":5}},{{"name":"e","steps":[]}}]}}"#
    ))
    .unwrap_err();
    let paths: Vec<&str> = bad.iter().map(|p| p.path.as_str()).collect();
    for want in ["routes[0].name", "routes[0].steps[0].model", "routes[0].deadline_ms", "routes[1].steps"] {
        assert!(paths.contains(&want), "missing {want} in {paths:?}");
    }
}

#[test]
fn a_step_is_a_model_or_a_pool_never_both() {
    let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x"}]"#;
    let parse = |step: &str| Config::parse(&format!(r#"{{{base},"routes":[{{"name":"r","steps":[{step}]}}]}}"#));
    let cfg = parse(r#"{"model":"a","max_retries":1,"timeout_ms":500}"#).unwrap();
    assert_eq!(cfg.routes[0].steps[0], StepConfig::Model { model: "a".into(), max_retries: Some(1), timeout_ms: Some(500), gates: true });
    for bad in
        [r#"{"model":"a","pool":[{"model":"a"}]}"#, r#"{"pool":[{"model":"a"}],"max_retries":1}"#, r#"{}"#, r#"{"model":"a","wait":1}"#]
    {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn plain_models_retry_by_the_top_level_policy() {
    let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x"}]"#;
    let cfg = Config::parse(&format!("{{{base}}}")).unwrap();
    assert_eq!(cfg.retry, RetryPolicy { max_retries: 2, base_ms: 250, max_backoff_ms: 8000 });
    let cfg = Config::parse(&format!(r#"{{{base},"retry":{{"max_retries":0}}}}"#)).unwrap();
    assert_eq!(cfg.retry, RetryPolicy { max_retries: 0, base_ms: 250, max_backoff_ms: 8000 });
    let p = Config::parse(&format!(r#"{{{base},"retry":{{"max_retries":1,"jitter":true}}}}"#)).unwrap_err();
    assert!(p[0].message.contains("unknown field `jitter`"), "{p:?}");
    for bad in [r#"{"max_retries":11}"#, r#"{"base_ms":9000}"#, r#"{"base_ms":1,"max_backoff_ms":700000}"#] {
        let p = Config::parse(&format!(r#"{{{base},"retry":{bad}}}"#)).unwrap_err();
        assert_eq!(p.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["retry"], "{bad}");
    }
    let p = Config::parse(&format!(r#"{{{base},"routes":[{{"name":"r","steps":[{{"model":"a"}}],"retry":{{"max_retries":99}}}}]}}"#))
        .unwrap_err();
    assert_eq!(p[0].path, "routes[0].retry");
}

#[test]
fn sessions_have_defaults_and_ranges() {
    let base = r#""providers":{"m":{"kind":"mock"}}"#;
    let cfg = Config::parse(&format!("{{{base}}}")).unwrap();
    assert_eq!(cfg.sessions, SessionsConfig { ttl_days: 30, max_items: 1000, max_item_bytes: 1 << 20 });
    assert_eq!(cfg.sessions.ttl_ms(), 30 * 86_400_000);
    let cfg = Config::parse(&format!(r#"{{{base},"sessions":{{"ttl_days":1,"max_items":6}}}}"#)).unwrap();
    assert_eq!(cfg.sessions, SessionsConfig { ttl_days: 1, max_items: 6, max_item_bytes: 1 << 20 });
    for (bad, path) in [
        (r#"{"ttl_days":0}"#, "sessions"),
        (r#"{"max_items":100001}"#, "sessions"),
        (r#"{"max_item_bytes":1900001}"#, "sessions"),
        (r#"{"max_item_bytes":"big"}"#, "$"),
        (r#"{"ttl":5}"#, "$"),
    ] {
        let p = Config::parse(&format!(r#"{{{base},"sessions":{bad}}}"#)).unwrap_err();
        assert_eq!(p.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), [path], "{bad}");
    }
}

#[test]
fn a_route_context_is_validated() {
    let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x","context_window":8192}]"#;
    let route = |ctx: &str| format!(r#"{{{base},"routes":[{{"name":"r","steps":[{{"model":"a"}}],"context":{ctx}}}]}}"#);
    let ok = Config::parse(&route(r#"{"fit":"summarize","summarizer":"a","keep_last_turns":2}"#)).unwrap();
    let c = ok.route("r").and_then(|r| r.context.clone()).unwrap();
    assert_eq!((c.fit, c.summarizer.as_deref(), c.keep_last_turns), (Fit::Summarize, Some("a"), 2));
    assert_eq!(Config::parse(&route(r#"{"fit":"error"}"#)).unwrap().route("r").unwrap().context.as_ref().unwrap().keep_last_turns, 4);
    for (ctx, path) in [
        (r#"{"fit":"summarize"}"#, "routes[0].context"),
        (r#"{"fit":"summarize","summarizer":"ghost"}"#, "routes[0].context.summarizer"),
        (r#"{"fit":"truncate_middle","keep_last_turns":5000}"#, "routes[0].context"),
    ] {
        let bad = Config::parse(&route(ctx)).unwrap_err();
        assert!(bad.iter().any(|p| p.path == path), "{ctx}: {bad:?}");
    }
    for ctx in [r#"{"fit":"shorten"}"#, r#"{"fit":"error","extra":1}"#, r#"{}"#] {
        assert!(Config::parse(&route(ctx)).is_err(), "{ctx}");
    }
}

#[test]
fn responses_passthrough_is_on_for_openais_own_api_only_unless_set() {
    let cfg = Config::parse(
        r#"{"providers": {"oa": {"kind": "openai"}, "compat": {"kind": "openai", "base_url": "http://127.0.0.1:8000/v1"},
            "on": {"kind": "openai", "base_url": "https://gw.example/v1", "responses_api": true},
            "off": {"kind": "openai", "responses_api": false}, "groq": {"kind": "groq"}},
            "models": [{"name": "m", "provider": "oa", "model": "gpt-5"}]}"#,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let on: Vec<bool> = ["oa", "compat", "on", "off", "groq"].iter().map(|p| cfg.providers[*p].responses_api()).collect();
    assert_eq!(on, [true, false, true, false, false]);
}

#[test]
fn a_cascade_route_is_validated() {
    let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x"}]"#;
    let route = |fields: &str| format!(r#"{{{base},"routes":[{{"name":"r",{fields}}}]}}"#);
    let ok =
        Config::parse(&route(r#""strategy":"cascade","steps":[{"model":"a"},{"model":"a","gates":false}],"gates":{"final_number":true}"#))
            .unwrap();
    let r = ok.route("r").unwrap();
    assert_eq!((r.strategy, r.checked(0), r.checked(1)), (Strategy::Cascade, true, false));
    assert_eq!(Config::parse(&route(r#""steps":[{"model":"a"}]"#)).unwrap().route("r").unwrap().strategy, Strategy::Fallback);
    for (fields, path) in [
        (r#""strategy":"cascade","steps":[{"model":"a"}]"#, "routes[0].gates"),
        (r#""strategy":"cascade","steps":[{"model":"a"}],"gates":{}"#, "routes[0].gates"),
        (r#""strategy":"cascade","steps":[{"model":"a"}],"gates":{"min_chars":9,"max_chars":1}"#, "routes[0].gates"),
        (r#""strategy":"cascade","steps":[{"pool":[{"model":"a"}]}],"gates":{"final_number":true}"#, "routes[0].steps"),
        (r#""steps":[{"model":"a"}],"gates":{"final_number":true}"#, "routes[0].gates"),
        (r#""steps":[{"model":"a","gates":false}]"#, "routes[0].steps"),
        (
            r#""strategy":"cascade","steps":[{"model":"a"}],"gates":{"judge":{"model":"ghost","rubric":"r","on_error":"pass"}}"#,
            "routes[0].gates.judge.model",
        ),
        (r#""strategy":"cascade","steps":[{"model":"a"}],"gates":{"regex":[""]}"#, "routes[0].gates"),
    ] {
        let bad = Config::parse(&route(fields)).unwrap_err();
        assert!(bad.iter().any(|p| p.path == path), "{fields}: {bad:?}");
    }
    for fields in [r#""strategy":"cheapest","steps":[{"model":"a"}]"#, r#""steps":[{"pool":[{"model":"a"}],"gates":false}]"#] {
        assert!(Config::parse(&route(fields)).is_err(), "{fields}");
    }
}

#[test]
fn a_tenants_response_events_go_only_to_a_listed_host_with_a_secret() {
    let cfg = |events: &str, jobs: &str| {
        format!(
            r#"{{"providers": {{"m": {{"kind": "mock"}}}}, "models": [{{"name": "mock", "provider": "m", "model": "x"}}],
                "tenants": {{"acme": {{"response_events_url": "{events}"}}}}, "jobs": {jobs}}}"#
        )
    };
    let listed = r#"{"webhook_hosts": ["hooks.example"], "webhook_secret": "HOOK"}"#;
    let ok = Config::parse(&cfg("https://hooks.example/openai", listed)).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(ok.tenants.get("acme").unwrap().response_events_url.as_deref(), Some("https://hooks.example/openai"));
    for (events, jobs) in [
        ("https://elsewhere.example/x", listed),
        ("ftp://hooks.example/x", listed),
        ("https://user@hooks.example/x", listed),
        ("https://hooks.example/x", r#"{"webhook_hosts": ["hooks.example"]}"#),
    ] {
        let p = Config::parse(&cfg(events, jobs)).unwrap_err();
        assert_eq!(p[0].path, "tenants.acme.response_events_url", "{events} {jobs}: {p:?}");
    }
}
