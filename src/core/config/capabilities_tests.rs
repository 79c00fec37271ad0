use super::*;
use crate::core::config::Config;
use serde_json::json;

fn cap(v: Value) -> Capability {
    serde_json::from_str(&v.to_string()).unwrap()
}

#[test]
fn templates_render_named_inputs() {
    let input = json!({"text": "hi", "n": 3, "tags": ["a"]});
    let input = input.as_object().unwrap();
    assert_eq!(render("Say {{text}} {{ n }} times: {{tags}}", input), "Say hi 3 times: [\"a\"]");
    assert_eq!(render("{{missing}}|{{not a field}}|{{open", input), "|{{not a field}}|{{open");
    let c = cap(json!({"system": "{{b}} {{a}}", "user": "{{a}} {{c}}", "ladder": ["m"]}));
    assert_eq!(c.fields(), vec!["b", "a", "c"]);
}

#[test]
fn a_capability_compiles_into_a_cascade_route() {
    let schema = json!({"type": "object", "required": ["name"]});
    let c = cap(json!({"user": "{{x}}", "ladder": ["a", "b"], "output": {"json_schema": schema}, "gates": {"max_chars": 9}}));
    let r = c.route("ex");
    assert_eq!(r.name, "cap:ex");
    assert_eq!(r.strategy, Strategy::Cascade);
    assert_eq!(r.models().iter().map(|(_, m)| *m).collect::<Vec<_>>(), vec!["a", "b"]);
    let g = r.gates.unwrap();
    assert_eq!((g.json, g.max_chars), (Some(schema), Some(9)));
    assert!(cap(json!({"user": "u", "ladder": ["a"]})).route("t").gates.unwrap().is_empty());
}

#[test]
fn bad_capabilities_are_named() {
    for (v, field) in [
        (json!({"user": "{{x}}", "ladder": ["a"], "input_schema": {"properties": {"y": {}}}}), "user"),
        (json!({"user": "u", "ladder": ["a"], "input_schema": 3}), "input_schema"),
        (json!({"user": "u", "ladder": ["a"], "output": "json"}), "output"),
        (json!({"user": "u", "ladder": []}), "ladder"),
        (json!({"user": "u", "ladder": ["a"], "max_attempts": 0}), "max_attempts"),
        (json!({"user": "u", "ladder": ["a"], "max_cost_usd": -1.0}), "max_cost_usd"),
    ] {
        let c = cap(v.clone());
        assert!(c.problems().iter().any(|(f, _)| *f == field), "{v}: {:?}", c.problems());
    }
    assert!(cap(json!({"user": "u", "ladder": ["a"], "output": "text"})).problems().is_empty());
}

#[test]
fn the_config_validates_capabilities_and_adds_their_routes() {
    let base = r#""providers":{"m":{"kind":"mock"}},"models":[{"name":"a","provider":"m","model":"x"}]"#;
    let ok = Config::parse(&format!(
        r#"{{{base},"capabilities":{{"sum":{{"user":"{{{{text}}}}","ladder":["a"]}}}},"keys":[{{"name":"k","sha256":"{}","tenant":"t","models":["cap:sum"]}}]}}"#,
        "0".repeat(64)
    ))
    .unwrap();
    assert_eq!(ok.route("cap:sum").unwrap().strategy, Strategy::Cascade);
    assert!(ok.capability("cap:sum").is_some() && ok.capability("sum").is_none());
    let bad = Config::parse(&format!(
        r#"{{{base},"capabilities":{{"s":{{"user":"u","ladder":["nope"]}}}},"routes":[{{"name":"cap:x","steps":[{{"model":"a"}}]}}]}}"#
    ))
    .unwrap_err();
    let paths: Vec<&str> = bad.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"capabilities.s.ladder[0]") && paths.contains(&"routes[0].name"), "{bad:?}");
}
