use crate::core::config::Config;
use serde_json::{json, Value};

/// A config with two providers, a model on each (one with an alias), a fallback route, a
/// pool route, a capability, and `jobs` as given.
fn config(jobs: Value) -> Result<Config, Vec<crate::core::config::Problem>> {
    let doc = json!({
        "providers": {"a": {"kind": "mock"}, "b": {"kind": "mock"}},
        "models": [
            {"name": "ma", "aliases": ["ma-alias"], "provider": "a", "model": "x"},
            {"name": "mb", "provider": "b", "model": "y"},
        ],
        "routes": [
            {"name": "r-ba", "steps": [{"model": "mb"}, {"model": "ma"}]},
            {"name": "r-pool", "steps": [{"pool": [{"model": "mb", "weight": 0}, {"model": "ma-alias", "weight": 2}, {"model": "mb"}]}]},
        ],
        "capabilities": {"sum": {"user": "{{text}}", "ladder": ["mb", "ma"]}},
        "jobs": jobs,
    });
    Config::parse(&doc.to_string())
}

fn slots(c: &Config, model: &str) -> Vec<(String, u32)> {
    c.job_slots(model)
}

fn slot(name: &str, n: u32) -> (String, u32) {
    (name.to_string(), n)
}

#[test]
fn provider_limits_are_validated_at_load() {
    let problems = config(json!({"provider_concurrency": {"a": 2, "nope": 3}})).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "jobs.provider_concurrency.nope");
    assert_eq!(problems[0].message, "names no provider");
    for bad in [0, 1001] {
        let problems = config(json!({"provider_concurrency": {"a": bad}})).unwrap_err();
        assert_eq!(problems[0].path, "jobs", "{problems:?}");
    }
    assert!(config(json!({"provider_concurrency": {"a": 1, "b": 1000}})).is_ok());
    assert!(config(json!({"provider_concurency": {"a": 1}})).is_err(), "unknown fields are refused");
}

#[test]
fn a_job_holds_its_models_slot_then_its_first_targets_providers() {
    let c =
        config(json!({"concurrency": {"ma": 4, "r-ba": 6}, "default_concurrency": 3, "provider_concurrency": {"a": 2, "b": 5}})).unwrap();
    assert_eq!(slots(&c, "ma"), vec![slot("model:ma", 4), slot("provider:a", 2)]);
    // An alias is its own model name for the model slot, and its model's provider's.
    assert_eq!(slots(&c, "ma-alias"), vec![slot("model:ma-alias", 3), slot("provider:a", 2)]);
    assert_eq!(slots(&c, "mb"), vec![slot("model:mb", 3), slot("provider:b", 5)]);
    // A route: its first step's model's provider, not a later step's.
    assert_eq!(slots(&c, "r-ba"), vec![slot("model:r-ba", 6), slot("provider:b", 5)]);
    // A pool: its first member with a weight.
    assert_eq!(slots(&c, "r-pool"), vec![slot("model:r-pool", 3), slot("provider:a", 2)]);
    // A capability: its ladder's first rung.
    assert_eq!(slots(&c, "cap:sum"), vec![slot("model:cap:sum", 3), slot("provider:b", 5)]);
    // A name that resolves to nothing has only its model slot (the job then fails as a
    // request would).
    assert_eq!(slots(&c, "nothing"), vec![slot("model:nothing", 3)]);
}

#[test]
fn a_provider_not_listed_adds_no_slot() {
    let c = config(json!({"provider_concurrency": {"b": 1}})).unwrap();
    assert_eq!(slots(&c, "ma"), vec![slot("model:ma", 4)]);
    assert_eq!(slots(&c, "r-ba"), vec![slot("model:r-ba", 4), slot("provider:b", 1)]);
    let c = config(json!({})).unwrap();
    assert_eq!(slots(&c, "mb"), vec![slot("model:mb", 4)]);
}

#[test]
fn model_limits_must_name_something_a_job_can_ask_for() {
    let ok = json!({"concurrency": {"ma": 1, "ma-alias": 2, "r-ba": 3, "r-pool": 4, "cap:sum": 5}});
    assert!(config(ok).is_ok(), "models, aliases, routes and capabilities");
    let problems = config(json!({"concurrency": {"ma": 1, "gpt-typo": 2, "cap:nope": 3}})).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["jobs.concurrency.cap:nope", "jobs.concurrency.gpt-typo"], "{problems:?}");
}
