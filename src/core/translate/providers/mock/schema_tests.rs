//! Tests of the schema value generator: a table of schemas, each answered with a valid value
//! of the expected shape, and property tests that generated values validate against random
//! schemas of the supported subset (checked by the small validator below), that the same
//! seed gives the same value, and that any JSON, however hostile, is answered in bounded work.

use super::*;
use proptest::prelude::*;
use serde_json::json;

/// Check `v` against `s` for the subset the generator supports; `root` resolves `$ref`s.
fn validate(v: &Value, s: &Value, root: &Value, at: &str) -> Result<(), String> {
    let fail = |why: &str| Err(format!("{at}: {why} (value {v}, schema {s})"));
    let s = match s {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return fail("false schema"),
        Value::Object(s) => s,
        _ => return fail("schema is not an object"),
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let target = if r == "#" { Some(root) } else { r.strip_prefix('#').and_then(|p| root.pointer(p)) };
        validate(v, target.ok_or("unresolved $ref")?, root, at)?;
    }
    for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        validate(v, sub, root, at)?;
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        if !any.iter().any(|b| validate(v, b, root, at).is_ok()) {
            return fail("no anyOf branch matches");
        }
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        if one.iter().filter(|b| validate(v, b, root, at).is_ok()).count() != 1 {
            return fail("not exactly one oneOf branch matches");
        }
    }
    if s.get("const").is_some_and(|c| c != v) {
        return fail("const");
    }
    if s.get("enum").and_then(Value::as_array).is_some_and(|e| !e.contains(v)) {
        return fail("enum");
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match (t, v) {
        ("null", Value::Null) | ("boolean", Value::Bool(_)) | ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        ("string", Value::String(_)) | ("array", Value::Array(_)) | ("object", Value::Object(_)) => true,
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        return fail("type");
    }
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            let excl = |k: &str| s.get(k) == Some(&Value::Bool(true));
            if num("minimum").is_some_and(|m| if excl("exclusiveMinimum") { x <= m } else { x < m })
                || num("maximum").is_some_and(|m| if excl("exclusiveMaximum") { x >= m } else { x > m })
                || num("exclusiveMinimum").is_some_and(|m| x <= m)
                || num("exclusiveMaximum").is_some_and(|m| x >= m)
            {
                return fail("range");
            }
            if num("multipleOf").is_some_and(|m| ((x / m) - (x / m).round()).abs() > 1e-9) {
                return fail("multipleOf");
            }
        }
        Value::String(t) => {
            let n = t.chars().count() as f64;
            if num("minLength").is_some_and(|m| n < m) || num("maxLength").is_some_and(|m| n > m) {
                return fail("length");
            }
            if let Some(f) = s.get("format").and_then(Value::as_str) {
                check_format(f, t).map_err(|e| format!("{at}: format {f}: {e}"))?;
            }
        }
        Value::Array(items) => {
            let n = items.len() as f64;
            if num("minItems").is_some_and(|m| n < m) || num("maxItems").is_some_and(|m| n > m) {
                return fail("item count");
            }
            if s.get("uniqueItems") == Some(&Value::Bool(true)) && items.iter().enumerate().any(|(i, a)| items[..i].contains(a)) {
                return fail("uniqueItems");
            }
            let prefix = s.get("prefixItems").and_then(Value::as_array).map_or(&[][..], |p| p.as_slice());
            for (i, item) in items.iter().enumerate() {
                let sub = prefix.get(i).or(s.get("items"));
                if let Some(sub) = sub {
                    validate(item, sub, root, &format!("{at}[{i}]"))?;
                }
            }
        }
        Value::Object(o) => {
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !o.contains_key(r) {
                    return fail(&format!("missing required '{r}'"));
                }
            }
            let n = o.len() as f64;
            if num("minProperties").is_some_and(|m| n < m) || num("maxProperties").is_some_and(|m| n > m) {
                return fail("property count");
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, item) in o {
                match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                    (Some(sub), _) | (None, Some(sub)) => validate(item, sub, root, &format!("{at}.{k}"))?,
                    (None, None) => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Light checks of the formats the generator writes.
fn check_format(f: &str, t: &str) -> Result<(), String> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let date = |d: &str| d.len() == 10 && digits(&d[..4]) && &d[4..5] == "-" && digits(&d[5..7]) && &d[7..8] == "-" && digits(&d[8..]);
    let time = |d: &str| d.len() >= 9 && digits(&d[..2]) && &d[2..3] == ":" && digits(&d[3..5]) && d.ends_with('Z');
    let ok = match f {
        "date-time" => t.split_once('T').is_some_and(|(d, tm)| date(d) && time(tm)),
        "date" => date(t),
        "time" => time(t),
        "email" => t.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.')),
        "uri" => t.starts_with("https://"),
        "uuid" => {
            let groups: Vec<usize> = t.split('-').map(str::len).collect();
            groups == [8, 4, 4, 4, 12] && t.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
        }
        "ipv4" => t.split('.').filter(|p| p.parse::<u8>().is_ok()).count() == 4,
        _ => true,
    };
    ok.then_some(()).ok_or_else(|| format!("'{t}'"))
}

fn valid(v: &Value, s: &Value) {
    validate(v, s, s, "$").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_table_of_schemas_gets_valid_values_of_the_right_shape() {
    type Shape = fn(&Value) -> bool;
    let cases: Vec<(&str, Value, Shape)> = vec![
        (
            "every property, required or not",
            json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "ok": {"type": "boolean"}},
                   "required": ["name"]}),
            |v| v["name"].is_string() && v["age"].is_i64() && v["ok"].is_boolean(),
        ),
        ("required names beyond properties", json!({"type": "object", "required": ["a", "b"]}), |v| {
            v.get("a").is_some() && v.get("b").is_some()
        }),
        ("enum", json!({"type": "string", "enum": ["red", "green", "blue"]}), |v| ["red", "green", "blue"].contains(&v.as_str().unwrap())),
        ("enum of mixed values, null avoided", json!({"enum": [null, 3, "x"]}), |v| !v.is_null()),
        ("const", json!({"const": {"kind": "fixed"}}), |v| v == &json!({"kind": "fixed"})),
        ("minItems", json!({"type": "array", "items": {"type": "integer"}, "minItems": 5}), |v| v.as_array().unwrap().len() >= 5),
        ("maxItems", json!({"type": "array", "items": {"type": "string"}, "maxItems": 1}), |v| v.as_array().unwrap().len() <= 1),
        (
            "uniqueItems from a small enum",
            json!({"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": true}),
            |v| v.as_array().unwrap().len() == 3,
        ),
        (
            "nested objects",
            json!({"type": "object", "properties": {"address": {"type": "object", "properties": {"city": {"type": "string"},
                   "geo": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]}}, "required": ["city", "geo"]}},
                   "required": ["address"]}),
            |v| v["address"]["geo"]["lat"].is_number(),
        ),
        (
            "$ref to $defs",
            json!({"$defs": {"Step": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 10}}, "required": ["n"]}},
                   "type": "object", "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 2}},
                   "required": ["steps"]}),
            |v| v["steps"][1]["n"].as_i64().unwrap() >= 10,
        ),
        (
            "$ref to definitions, with a sibling description",
            json!({"definitions": {"Color": {"enum": ["red"]}}, "type": "object",
                   "properties": {"c": {"$ref": "#/definitions/Color", "description": "a color"}}}),
            |v| v["c"] == "red",
        ),
        ("anyOf: the first non-null branch", json!({"anyOf": [{"type": "null"}, {"type": "integer"}, {"type": "string"}]}), |v| v.is_i64()),
        (
            "oneOf over refs",
            json!({"$defs": {"Cat": {"type": "object", "properties": {"meow": {"const": true}}, "required": ["meow"]}, "Nil": {"type": "null"}},
                   "oneOf": [{"$ref": "#/$defs/Nil"}, {"$ref": "#/$defs/Cat"}]}),
            |v| v["meow"] == true,
        ),
        ("type list", json!({"type": ["null", "integer"], "minimum": 3, "maximum": 3}), |v| v == &json!(3)),
        (
            "allOf merged",
            json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                             {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]}),
            |v| v["a"].is_string() && v["b"].is_i64(),
        ),
        ("minLength", json!({"type": "string", "minLength": 120}), |v| v.as_str().unwrap().len() >= 120),
        ("maxLength", json!({"type": "string", "maxLength": 2}), |v| v.as_str().unwrap().len() <= 2),
        ("minLength = maxLength", json!({"type": "string", "minLength": 7, "maxLength": 7}), |v| v.as_str().unwrap().len() == 7),
        ("integer range", json!({"type": "integer", "minimum": -5, "maximum": -3}), |v| (-5..=-3).contains(&v.as_i64().unwrap())),
        ("exclusive bounds", json!({"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3}), |v| v == &json!(2)),
        ("draft-4 exclusive bounds", json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1}), |v| {
            v.as_f64().unwrap() > 0.0
        }),
        ("number range", json!({"type": "number", "minimum": 0.25, "maximum": 0.5}), |v| (0.25..=0.5).contains(&v.as_f64().unwrap())),
        ("multipleOf", json!({"type": "integer", "minimum": 11, "maximum": 19, "multipleOf": 5}), |v| v == &json!(15)),
        ("number multipleOf", json!({"type": "number", "minimum": 1, "multipleOf": 0.25}), |v| v.as_f64().unwrap() >= 1.0),
        ("date-time", json!({"type": "string", "format": "date-time"}), |v| v.as_str().unwrap().ends_with('Z')),
        ("uuid", json!({"type": "string", "format": "uuid"}), |v| v.as_str().unwrap().len() == 36),
        ("email", json!({"type": "string", "format": "email"}), |v| v.as_str().unwrap().contains('@')),
        ("tuple", json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": false, "minItems": 2}), |v| {
            v[0].is_i64() && v[1].is_string() && v.as_array().unwrap().len() == 2
        }),
        (
            "minProperties filled from additionalProperties",
            json!({"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2}),
            |v| v.as_object().unwrap().len() == 2 && v.as_object().unwrap().values().all(Value::is_i64),
        ),
        (
            "maxProperties drops optional properties",
            json!({"type": "object", "properties": {"a": {"type": "null"}, "b": {"type": "null"}, "c": {"type": "null"}},
                   "required": ["c"], "maxProperties": 1}),
            |v| v == &json!({"c": null}),
        ),
        ("keywords imply the type", json!({"properties": {"x": {"minItems": 1}}}), |v| v["x"].as_array().is_some_and(|a| !a.is_empty())),
        ("true schema", json!(true), |v| v.is_string()),
        ("empty schema", json!({}), |v| v.is_string()),
        (
            "a recursive tree ends",
            json!({"$defs": {"Node": {"type": "object", "properties": {"name": {"type": "string"},
                   "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}, "required": ["name", "children"]}},
                   "$ref": "#/$defs/Node"}),
            |v| v["children"].is_array(),
        ),
        (
            "a required recursive link ends on its null branch",
            json!({"$defs": {"L": {"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#/$defs/L"}, {"type": "null"}]}},
                   "required": ["next"], "additionalProperties": false}}, "$ref": "#/$defs/L"}),
            |v| v["next"].is_object(),
        ),
        (
            "an OpenAI strict schema from a Pydantic model",
            json!({"type": "object", "additionalProperties": false, "required": ["title", "rating", "tags", "when", "author"],
                   "properties": {"title": {"type": "string", "title": "Title"}, "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                     "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                     "when": {"type": "string", "format": "date-time"},
                     "author": {"anyOf": [{"$ref": "#/$defs/Author"}, {"type": "null"}]}},
                   "$defs": {"Author": {"type": "object", "additionalProperties": false, "required": ["name", "kind"],
                     "properties": {"name": {"type": "string"}, "kind": {"type": "string", "enum": ["human", "bot"]}}}}}),
            |v| v["author"]["kind"].is_string() && v["tags"].as_array().unwrap().len() >= 2,
        ),
    ];
    for (name, schema, shape) in &cases {
        for seed in 0..20 {
            let v = generate(schema, seed);
            validate(&v, schema, schema, "$").unwrap_or_else(|e| panic!("{name}, seed {seed}: {e}"));
            assert!(shape(&v), "{name}, seed {seed}: unexpected shape {v}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_value_and_seeds_vary_it() {
    let s = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "number"}}});
    assert_eq!(generate(&s, 7), generate(&s, 7));
    let distinct: std::collections::BTreeSet<String> = (0..20).map(|seed| generate(&s, seed).to_string()).collect();
    assert!(distinct.len() > 10, "{distinct:?}");
}

#[test]
fn hostile_schemas_are_answered_in_bounded_work() {
    let wide = json!({"type": "array", "minItems": 1_000_000_000u64,
                      "items": {"type": "array", "minItems": 1_000_000, "items": {"type": "string", "minLength": 1_000_000_000u64}}});
    let v = generate(&wide, 1);
    assert!(v.to_string().len() < 2_000_000);
    let cycle = json!({"$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"});
    generate(&cycle, 1);
    let forced = json!({"$defs": {"A": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/$defs/A"}},
                         "required": ["a", "b"]}}, "$ref": "#/$defs/A"});
    let v = generate(&forced, 1);
    assert!(v.to_string().len() < 1_000_000);
    let escaped = json!({"$defs": {"a/b": {"const": 1}, "c~d": {"const": 2}, "list": [{"const": 3}]},
                         "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#/$defs/c~0d"}, "z": {"$ref": "#/$defs/list/0"}}});
    assert_eq!(generate(&escaped, 1), json!({"x": 1, "y": 2, "z": 3}), "JSON pointers unescape ~1 and ~0 and index arrays");
    for broken in [
        json!({"$ref": "#/nowhere"}),
        json!({"$ref": "#/$defs/list/9"}),
        json!({"$ref": "#$defs"}),
        json!({"$ref": "http://x/y"}),
        json!({"type": 7}),
        json!([1]),
        json!({"anyOf": []}),
    ] {
        generate(&broken, 1);
    }
}

/// A satisfiable leaf schema of the supported subset.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..30, 0u64..30).prop_map(|(min, extra)| json!({"type": "string", "minLength": min, "maxLength": min + extra})),
        (-1000i64..1000, 0i64..50).prop_map(|(min, width)| json!({"type": "integer", "minimum": min, "maximum": min + width})),
        (-1000i64..1000, 2i64..50)
            .prop_map(|(min, width)| json!({"type": "integer", "exclusiveMinimum": min, "exclusiveMaximum": min + width})),
        (1i64..6, -100i64..100, 0i64..4)
            .prop_map(|(step, min, k)| json!({"type": "integer", "multipleOf": step, "minimum": min, "maximum": min + step * (k + 1)})),
        (-1e6f64..1e6, 0.001f64..1e3).prop_map(|(min, width)| json!({"type": "number", "minimum": min, "maximum": min + width})),
        (-1e6f64..1e6, 0.001f64..1e3)
            .prop_map(|(min, width)| json!({"type": "number", "exclusiveMinimum": min, "exclusiveMaximum": min + width})),
        (-1e6f64..1e6).prop_map(|min| json!({"type": "number", "exclusiveMinimum": min})),
        (-1e6f64..1e6).prop_map(|max| json!({"type": ["number", "null"], "maximum": max})),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": "null"})),
        prop::collection::vec("[a-z]{1,6}", 1..5).prop_map(|e| json!({"type": "string", "enum": e})),
        any::<i32>().prop_map(|c| json!({"const": c})),
        prop::sample::select(vec!["date-time", "date", "time", "email", "uri", "uuid", "ipv4"])
            .prop_map(|f| json!({"type": "string", "format": f})),
        Just(json!({"$ref": "#/$defs/Leaf"})),
        Just(json!({"$ref": "#/definitions/Old"})),
    ]
}

/// An object schema with any of its properties required; `closed` adds
/// `additionalProperties: false` (never inside an `allOf`, whose branches must stay open).
fn object(inner: BoxedStrategy<Value>, prefix: &'static str, closed: bool) -> impl Strategy<Value = Value> {
    prop::collection::vec((inner, any::<bool>()), 0..4).prop_map(move |props| {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (i, (s, req)) in props.into_iter().enumerate() {
            properties.insert(format!("{prefix}{i}"), s);
            if req {
                required.push(json!(format!("{prefix}{i}")));
            }
        }
        let mut o = json!({"type": "object", "properties": properties, "required": required});
        if closed {
            o["additionalProperties"] = json!(false);
        }
        o
    })
}

fn schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 4, |inner| {
        let inner = inner.boxed();
        prop_oneof![
            object(inner.clone(), "p", true),
            (inner.clone(), 0u64..4, 0u64..3).prop_map(|(items, min, extra)| json!({"type": "array", "items": items, "minItems": min,
                                                                                      "maxItems": min + extra})),
            (inner.clone(), any::<bool>()).prop_map(|(s, null_first)| if null_first {
                json!({"anyOf": [{"type": "null"}, s]})
            } else {
                json!({"anyOf": [s, {"type": "null"}]})
            }),
            object(inner.clone(), "q", false).prop_map(|o| json!({"oneOf": [{"type": "null"}, o]})),
            (object(inner.clone(), "a", false), object(inner.clone(), "b", false)).prop_map(|(a, b)| json!({"allOf": [a, b]})),
            inner.prop_map(|s| json!({"type": "array", "prefixItems": [s, {"type": "boolean"}], "items": false, "minItems": 2})),
        ]
    })
}

/// Arbitrary JSON built from schema keywords and odd values: what a hostile caller might send.
fn wild() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "type",
        "properties",
        "required",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "multipleOf",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "$defs",
        "format",
        "additionalProperties",
        "minProperties",
        "uniqueItems",
        "x",
    ]);
    let scalar = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec!["object", "array", "string", "integer", "number", "null", "#", "#/$defs/a", "#/properties", "uuid"])
            .prop_map(Value::from),
    ];
    scalar.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_values_validate(tree in schema(), def in leaf(), old in leaf(), seed in any::<u64>()) {
        // The definitions are leaves that do not refer back to themselves.
        let def = if def.get("$ref").is_some() { json!({"type": "boolean"}) } else { def };
        let old = if old.get("$ref").is_some() { json!({"type": "integer"}) } else { old };
        let mut root = json!({"type": "object", "properties": {"value": tree}, "required": ["value"]});
        root["$defs"] = json!({"Leaf": def});
        root["definitions"] = json!({"Old": old});
        let v = generate(&root, seed);
        prop_assert!(validate(&v, &root, &root, "$").is_ok(), "{}", validate(&v, &root, &root, "$").unwrap_err());
        prop_assert_eq!(&v, &generate(&root, seed));
    }

    #[test]
    fn any_json_as_a_schema_is_answered(s in wild(), seed in any::<u64>()) {
        let v = generate(&s, seed);
        prop_assert!(v.to_string().len() < 50_000_000);
    }
}

#[test]
fn validator_rejects_what_it_should() {
    let s =
        json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"], "additionalProperties": false});
    valid(&json!({"n": 1}), &s);
    for bad in [json!({}), json!({"n": 0}), json!({"n": "1"}), json!({"n": 1, "m": 2}), json!([])] {
        assert!(validate(&bad, &s, &s, "$").is_err(), "{bad}");
    }
}
