//! The JSON Schema to Gemini `Schema` conversion: one table of cases, the refusals, and a
//! property test over the supported vocabulary.
use super::*;
use proptest::prelude::*;
use serde_json::json;

#[test]
fn conversions() {
    let cases = [
        // Type unions with null.
        (
            json!({"type": ["array", "null"], "items": {"type": "string"}}),
            json!({"type": "array", "nullable": true, "items": {"type": "string"}}),
        ),
        (json!({"type": ["string", "integer"]}), json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})),
        (json!({"type": "null"}), json!({"nullable": true})),
        // anyOf / oneOf with a null member.
        (
            json!({"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]}),
            json!({"type": "string", "maxLength": 5, "nullable": true}),
        ),
        (
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}], "description": "d"}),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "d", "nullable": true}),
        ),
        // References are inlined, definitions dropped; keywords beside a $ref apply too.
        (
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A", "description": "an a"}, "b": {"$ref": "#/definitions/B"}},
                   "$defs": {"A": {"type": "integer", "minimum": 1}}, "definitions": {"B": {"type": "boolean"}}}),
            json!({"type": "object", "properties": {"a": {"type": "integer", "minimum": 1, "description": "an a"}, "b": {"type": "boolean"}}}),
        ),
        // const and enums: strings only, so other values become their JSON text.
        (json!({"const": "x"}), json!({"enum": ["x"], "type": "string"})),
        (json!({"type": "integer", "enum": [1, 2]}), json!({"type": "string", "enum": ["1", "2"]})),
        (json!({"const": true}), json!({"type": "string", "enum": ["true"]})),
        (json!({"type": ["string", "null"], "enum": ["a", null]}), json!({"type": "string", "enum": ["a"], "nullable": true})),
        // Rejected keywords go; accepted ones stay.
        (
            json!({"$schema": "x", "type": "object", "additionalProperties": false, "strict": true, "title": "t",
                   "properties": {"n": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 2, "maximum": 9, "examples": [1]}},
                   "required": ["n", "ghost"], "minProperties": 1, "patternProperties": {"^x": {}}}),
            json!({"type": "object", "title": "t", "properties": {"n": {"type": "number", "maximum": 9}}, "required": ["n"], "minProperties": 1}),
        ),
        (
            json!({"type": "array", "items": {"type": "string", "pattern": "^a", "default": "a", "format": "email"}, "minItems": 1, "uniqueItems": true}),
            json!({"type": "array", "items": {"type": "string", "pattern": "^a", "default": "a"}, "minItems": 1}),
        ),
        (json!({"type": "string", "format": "date-time"}), json!({"type": "string", "format": "date-time"})),
        (json!({"type": "integer", "format": "int64"}), json!({"type": "integer", "format": "int64"})),
        // Tuples keep their first item schema; allOf members merge.
        (
            json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]}),
            json!({"type": "array", "items": {"type": "integer"}}),
        ),
        (
            json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                             {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]}),
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a", "b"]}),
        ),
        // Upper-case types (OpenAPI style) are fine, and `true` means anything.
        (json!({"type": "OBJECT", "properties": {"x": true}}), json!({"type": "object", "properties": {"x": {}}})),
    ];
    for (input, want) in cases {
        assert_eq!(to_gemini(&input).unwrap(), want, "{input}");
    }
}

#[test]
fn recursive_or_dangling_references_are_refused() {
    let recursive =
        json!({"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}, "$ref": "#/$defs/Node"});
    let self_root = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
    let dangling = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}});
    let remote = json!({"$ref": "https://example.com/schema.json"});
    for s in [recursive, self_root, dangling, remote] {
        let err = to_gemini(&s).unwrap_err();
        assert_eq!((err.code, err.status), (Code::UnsupportedForProvider, 400), "{s}");
    }
}

#[test]
fn references_that_explode_are_refused() {
    // Each definition uses the next twice: 2^20 nodes once inlined.
    let mut defs = serde_json::Map::new();
    for i in 0..20 {
        let next = json!({"$ref": format!("#/$defs/D{}", i + 1)});
        defs.insert(format!("D{i}"), json!({"type": "object", "properties": {"l": next, "r": next}}));
    }
    defs.insert("D20".into(), json!({"type": "string"}));
    let s = json!({"$defs": defs, "$ref": "#/$defs/D0"});
    assert_eq!(to_gemini(&s).unwrap_err().code, Code::UnsupportedForProvider);
    // A chain within the bound is fine.
    let s = json!({"$defs": {"A": {"type": "array", "items": {"$ref": "#/$defs/B"}}, "B": {"type": "integer"}}, "$ref": "#/$defs/A"});
    assert_eq!(to_gemini(&s).unwrap(), json!({"type": "array", "items": {"type": "integer"}}));
}

/// Every key of a converted schema is accepted by Gemini (property names aside).
fn only_accepted(v: &Value) -> Result<(), String> {
    let Value::Object(o) = v else { return Err(format!("not an object: {v}")) };
    for (k, val) in o {
        if !ACCEPTED.contains(&k.as_str()) {
            return Err(format!("keyword {k}"));
        }
        match k.as_str() {
            "properties" => val.as_object().ok_or("properties")?.values().try_for_each(only_accepted)?,
            "items" => only_accepted(val)?,
            "anyOf" => val.as_array().ok_or("anyOf")?.iter().try_for_each(only_accepted)?,
            "enum" if !val.as_array().ok_or("enum")?.iter().all(Value::is_string) => return Err("enum of non-strings".into()),
            "type" if !matches!(val.as_str(), Some("string" | "number" | "integer" | "boolean" | "array" | "object")) => {
                return Err(format!("type {val}"))
            }
            _ => {}
        }
    }
    Ok(())
}

fn leaf() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(vec!["string", "number", "integer", "boolean", "null", "object", "array"]);
    prop_oneof![
        types.clone().prop_map(|t| json!({"type": t})),
        (types.clone(), types).prop_map(|(a, b)| json!({"type": [a, b]})),
        any::<i32>().prop_map(|n| json!({"const": n})),
        prop::collection::vec(prop_oneof![any::<bool>().prop_map(Value::from), "[a-z]{0,3}".prop_map(Value::from)], 1..4)
            .prop_map(|e| json!({"enum": e})),
        Just(json!({"$ref": "#/$defs/Leaf"})),
        Just(json!({"type": "string", "format": "uuid", "pattern": "^x", "examples": ["x"], "default": "x"})),
        Just(json!({"type": "number", "minimum": 0, "exclusiveMaximum": 3, "multipleOf": 0.5})),
        Just(json!(true)),
    ]
}

fn schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::btree_map("[a-c]", inner.clone(), 0..4)
                .prop_map(|p| json!({"type": "object", "properties": p, "required": ["a", "z"], "additionalProperties": false})),
            inner.clone().prop_map(|i| json!({"type": ["array", "null"], "items": i, "minItems": 1, "uniqueItems": true})),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|m| json!({"anyOf": m})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|m| json!({"oneOf": m, "description": "d"})),
            prop::collection::vec(inner, 1..3).prop_map(|m| json!({"allOf": m})),
        ]
    })
}

proptest! {
    #[test]
    fn supported_vocabulary_converts_to_accepted_keywords_only(s in schema()) {
        let mut root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"Leaf": {"type": "integer"}}});
        root["$ref"] = json!("#/$defs/Top");
        root["$defs"]["Top"] = s;
        let out = to_gemini(&root).unwrap();
        prop_assert!(only_accepted(&out).is_ok(), "{:?} in {}", only_accepted(&out), out);
    }
}
