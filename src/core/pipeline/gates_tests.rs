//! Tests of the quality gates: a table of answers against gate sets, the `#### <number>`
//! line, the schema subset, and a property that a gate check never panics.

use super::*;
use crate::core::types::{Choice, FinishReason};
use proptest::prelude::*;
use serde_json::json;

fn answer(text: Option<&str>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "a".into(),
        model: "m".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            content: text.map(str::to_string),
            refusal: None,
            tool_calls: Vec::new(),
            finish_reason: Some(finish),
        }],
        usage: None,
    }
}

fn gates(v: serde_json::Value) -> Gates {
    serde_json::from_value(v).unwrap()
}

fn failed(g: &Gates, text: &str) -> String {
    names(&check(g, &answer(Some(text), FinishReason::Stop)))
}

#[test]
fn each_gate_passes_and_fails_on_its_own() {
    let cases: &[(serde_json::Value, &str, &str)] = &[
        (json!({"min_chars": 3}), "abc", ""),
        (json!({"min_chars": 3}), "ab", "min_chars"),
        (json!({"max_chars": 3}), "abé", ""),
        (json!({"max_chars": 3}), "abcd", "max_chars"),
        (json!({"contains": ["42", "yes"]}), "yes, 42", ""),
        (json!({"contains": ["42", "yes"]}), "yes, 41", "contains"),
        (json!({"forbidden": ["As an AI"]}), "Sure.", ""),
        (json!({"forbidden": ["As an AI"]}), "As an AI, no.", "forbidden"),
        (json!({"labels": ["spam", "ham"]}), "  ham\n", ""),
        (json!({"labels": ["spam", "ham"]}), "Ham", "labels"),
        (json!({"json": true}), " {\"a\": 1} ", ""),
        (json!({"json": true}), "```json\n{}\n```", "json"),
        (json!({"final_number": true}), "2 + 2 = 4\n#### 4", ""),
        (json!({"final_number": true}), "The answer is 4.", "final_number"),
        (json!({"final_number": true, "min_chars": 100}), "4", "min_chars+final_number"),
        (json!({"script": "Cyrillic"}), "Столица Франции — Париж.", ""),
        (json!({"script": "Cyrillic"}), "The capital of France is Paris.", "script"),
        (json!({"script": "Cyrillic", "script_min_share": 0.5}), "Ответ: столица — Paris.", ""),
        (json!({"script": "Han+Hiragana+Katakana"}), "フランスの首都はパリです。", ""),
        (json!({"script": "Latin"}), "42 = 6 × 7", ""),
    ];
    for (g, text, want) in cases {
        assert_eq!(failed(&gates(g.clone()), text), *want, "{g} on {text:?}");
    }
}

#[test]
fn the_finish_reason_gate_reads_the_first_choice() {
    let g = gates(json!({"finish_reason": "stop"}));
    assert!(check(&g, &answer(Some("x"), FinishReason::Stop)).is_empty());
    let v = check(&g, &answer(Some("x"), FinishReason::Length));
    assert_eq!(v, vec![Verdict { gate: "finish_reason", reason: "it stopped with 'length', not 'stop'".into() }]);
    let tools_only = answer(None, FinishReason::ToolCalls);
    assert_eq!(names(&check(&gates(json!({"min_chars": 1})), &tools_only)), "min_chars");
}

#[test]
fn the_script_gate_says_how_much_was_off() {
    let g = gates(json!({"script": "Latin"}));
    let v = check(&g, &answer(Some("Paris — Париж"), FinishReason::Stop));
    assert_eq!(v, vec![Verdict { gate: "script", reason: "50% of its letters are Latin, fewer than 90%".into() }]);
}

#[test]
fn final_number_lines() {
    for ok in ["#### 18", "####18", "  #### -3.5 ", "#### $1,200", "#### -$7", "#### 0.25"] {
        assert!(is_final_number(ok), "{ok:?}");
    }
    for bad in ["### 18", "#### 60 minutes", "#### 24 2/3", "#### ", "#### 1.", "#### .5", "#### $", "answer: #### 4", "#### 10%"] {
        assert!(!is_final_number(bad), "{bad:?}");
    }
}

#[test]
fn the_json_gate_checks_its_schema_subset() {
    let schema = json!({
        "type": "object",
        "required": ["label", "score"],
        "properties": {
            "label": {"enum": ["a", "b"]},
            "score": {"type": "integer", "minimum": 0, "maximum": 10},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2}
        },
        "additionalProperties": false
    });
    let g = gates(json!({ "json": schema }));
    let why = |text: &str| reasons(&check(&g, &answer(Some(text), FinishReason::Stop)));
    assert_eq!(why(r#"{"label":"a","score":3,"tags":["x"]}"#), "");
    assert!(why(r#"{"label":"a"}"#).contains("$: missing required property 'score'"));
    assert!(why(r#"{"label":"c","score":3}"#).contains("$.label: not one of the enum values"));
    assert!(why(r#"{"label":"a","score":3.5}"#).contains("$.score: expected integer"));
    assert!(why(r#"{"label":"a","score":11}"#).contains("$.score: out of range"));
    assert!(why(r#"{"label":"a","score":1,"tags":["long!"]}"#).contains("$.tags[0]: length out of range"));
    assert!(why(r#"{"label":"a","score":1,"extra":1}"#).contains("$.extra: no value is allowed here"));
    assert!(why("[1]").contains("$: expected object"));
    assert_eq!(why("not json"), "it is not valid JSON");
}

proptest! {
    #[test]
    fn any_text_is_checked_without_panicking(text in ".{0,200}", n in 0u32..50) {
        let g = gates(json!({"min_chars": n, "max_chars": n + 10, "json": {"type": "object"}, "final_number": true, "labels": ["x"]}));
        let v = check(&g, &answer(Some(&text), FinishReason::Stop));
        prop_assert!(v.iter().all(|v| !v.reason.is_empty()));
    }
}
