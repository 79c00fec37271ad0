//! JSON Schema (what OpenAI and Anthropic callers send in tool `parameters` and
//! `response_format.json_schema.schema`) to Gemini's `Schema` object, a subset of OpenAPI 3.0.
//!
//! Reference: <https://ai.google.dev/api/caching#Schema>. Gemini rejects any keyword outside
//! that object, so the conversion keeps only [`ACCEPTED`] and rewrites what it can:
//! - a type list `["array","null"]` becomes `type: array, nullable: true`; a list of several
//!   non-null types becomes `anyOf` of one schema per type;
//! - `anyOf` / `oneOf` with a `{"type":"null"}` member lose it and gain `nullable: true`; one
//!   member left is inlined, several stay as Gemini's `anyOf` (`oneOf` is not accepted);
//!   `allOf` members are merged into the schema (properties and `required` united);
//! - `$ref` to `#/$defs/…`, `#/definitions/…` (or any JSON pointer into the root) is inlined,
//!   and `$defs` / `definitions` dropped. A recursive reference cannot be inlined: it is a
//!   client error `unsupported_for_provider`, as is a schema deeper than [`MAX_DEPTH`] or
//!   larger than [`MAX_NODES`] once inlined;
//! - `const: v` becomes `enum: [v]`. Gemini's `enum` holds strings only ("only allowed for
//!   STRING type"), so an `enum` of other values becomes their JSON text with `type: string`,
//!   and a `null` among them becomes `nullable: true`;
//! - `format` is kept only where Gemini documents it: `enum` and `date-time` for strings,
//!   `float` / `double` for numbers, `int32` / `int64` for integers;
//! - `required` keeps only names that are in `properties`.
//!
//! Why `parameters` / `responseSchema` and not `parametersJsonSchema` / `responseJsonSchema`
//! (<https://ai.google.dev/api/caching#FunctionDeclaration>): the JSON Schema fields are newer,
//! documented as mutually exclusive with the OpenAPI ones, and not taken by every model and
//! API version the gateway may route to; the OpenAPI subset works everywhere, so the
//! conversion is done once here, where it is tested.

use crate::core::error::{Code, GatewayError};
use crate::core::util::json_value::put;
use serde_json::{Map, Value};

/// The keywords of Gemini's `Schema` object; nothing else is ever sent.
pub const ACCEPTED: [&str; 22] = [
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// Nesting deeper than this (after inlining references) is refused.
pub const MAX_DEPTH: usize = 32;
/// More schema nodes than this (after inlining references) are refused.
pub const MAX_NODES: usize = 5000;

fn unsupported(why: &str) -> GatewayError {
    GatewayError::new(Code::UnsupportedForProvider, format!("Gemini models cannot take this JSON Schema: {why}"))
}

struct Ctx<'a> {
    root: &'a Value,
    /// References being inlined, outermost first: one seen again is a cycle.
    refs: Vec<&'a str>,
    nodes: usize,
}

/// Gemini's `Schema` for a JSON Schema; see the module doc for what is rewritten and refused.
pub fn to_gemini(schema: &Value) -> Result<Value, GatewayError> {
    let mut cx = Ctx { root: schema, refs: Vec::new(), nodes: 0 };
    Ok(Value::Object(convert(&mut cx, schema, 0)?))
}

fn resolve<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    let pointer = r.strip_prefix('#')?;
    root.pointer(pointer)
}

fn convert<'a>(cx: &mut Ctx<'a>, v: &'a Value, depth: usize) -> Result<Map<String, Value>, GatewayError> {
    cx.nodes += 1;
    if depth > MAX_DEPTH || cx.nodes > MAX_NODES {
        return Err(unsupported("it is nested too deeply or too large once references are inlined"));
    }
    let Value::Object(o) = v else {
        // `true` (anything) or a malformed schema: no constraint Gemini can express.
        return Ok(Map::new());
    };
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        if cx.refs.contains(&r) {
            return Err(unsupported(&format!("'{r}' refers to itself (recursive schemas cannot be inlined)")));
        }
        let target = resolve(cx.root, r).ok_or_else(|| unsupported(&format!("'{r}' does not resolve within the schema")))?;
        cx.refs.push(r);
        let mut out = convert(cx, target, depth + 1)?;
        cx.refs.pop();
        // Keywords beside `$ref` (a description, say) apply too.
        let mut rest = o.clone();
        rest.remove("$ref");
        for (k, val) in convert_object(cx, &rest, v, depth)? {
            out.insert(k, val);
        }
        return Ok(out);
    }
    convert_object(cx, o, v, depth)
}

/// The keywords of one schema object (without `$ref`). `this` is the same object as it sits in
/// the root, so references inside it resolve and borrow from the root.
fn convert_object<'a>(cx: &mut Ctx<'a>, o: &Map<String, Value>, this: &'a Value, depth: usize) -> Result<Map<String, Value>, GatewayError> {
    let mut out = Map::new();
    let mut nullable = false;
    for (k, val) in o {
        let child = move |key: &str| &this[key];
        match k.as_str() {
            "type" => match val {
                Value::String(t) if t == "null" => nullable = true,
                Value::String(t) => {
                    put(&mut out, "type", t.to_ascii_lowercase().into());
                }
                Value::Array(ts) => {
                    let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                    nullable |= names.contains(&"null");
                    let kept: Vec<&str> = names.into_iter().filter(|t| *t != "null").collect();
                    match kept.as_slice() {
                        [] => {}
                        [one] => {
                            put(&mut out, "type", one.to_ascii_lowercase().into());
                        }
                        many => {
                            let alts = many.iter().map(|t| crate::json!({"type": t.to_ascii_lowercase()})).collect();
                            put(&mut out, "anyOf", Value::Array(alts));
                        }
                    }
                }
                _ => {}
            },
            "properties" => {
                let Some(props) = child("properties").as_object() else { continue };
                let mut m = Map::new();
                for (name, s) in props {
                    m.insert(name.clone(), Value::Object(convert(cx, s, depth + 1)?));
                }
                put(&mut out, "properties", Value::Object(m));
            }
            "items" | "prefixItems" => {
                // A tuple (`prefixItems`, or draft-4 `items: [...]`) keeps its first member's
                // schema: Gemini's arrays have one item schema.
                let item = match child(k) {
                    Value::Array(a) => a.first(),
                    other => Some(other),
                };
                if let (Some(item), false) = (item, out.contains_key("items") && k == "prefixItems") {
                    put(&mut out, "items", Value::Object(convert(cx, item, depth + 1)?));
                }
            }
            "anyOf" | "oneOf" => {
                let Some(members) = child(k).as_array() else { continue };
                let mut alts = Vec::new();
                for m in members {
                    if m.get("type").and_then(Value::as_str) == Some("null") && m.as_object().is_some_and(|o| o.len() == 1) {
                        nullable = true;
                    } else {
                        alts.push(convert(cx, m, depth + 1)?);
                    }
                }
                if alts.len() == 1 {
                    for (ak, av) in alts.pop().unwrap_or_default() {
                        out.entry(ak).or_insert(av);
                    }
                } else if !alts.is_empty() {
                    put(&mut out, "anyOf", Value::Array(alts.into_iter().map(Value::Object).collect()));
                }
            }
            "allOf" => {
                for m in child("allOf").as_array().into_iter().flatten() {
                    merge(&mut out, convert(cx, m, depth + 1)?);
                }
            }
            "const" => {
                put(&mut out, "enum", Value::Array(vec![val.clone()]));
            }
            "enum" => {
                put(&mut out, "enum", val.clone());
            }
            "nullable" => nullable |= val.as_bool() == Some(true),
            "required" | "propertyOrdering" => {
                out.insert(k.clone(), Value::Array(val.as_array().into_iter().flatten().filter(|n| n.is_string()).cloned().collect()));
            }
            key if ACCEPTED.contains(&key) => {
                out.insert(k.clone(), val.clone());
            }
            _ => {}
        }
    }
    finish(&mut out, nullable);
    Ok(out)
}

/// Fold an `allOf` member into the schema: properties and `required` are united, any other
/// keyword is kept where the schema has none.
fn merge(out: &mut Map<String, Value>, member: Map<String, Value>) {
    for (k, v) in member {
        match (k.as_str(), out.get_mut(&k), v) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (name, s) in theirs {
                    mine.entry(name).or_insert(s);
                }
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.contains(&name) {
                        mine.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                out.insert(k, v);
            }
        }
    }
}

/// The fix-ups that need the whole object: `nullable`, string-only enums, formats Gemini
/// documents, `required` names that exist.
fn finish(out: &mut Map<String, Value>, nullable: bool) {
    let mut nullable = nullable;
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        // A null among the values is `nullable`, not a value.
        let before = values.len();
        values.retain(|v| !v.is_null());
        nullable |= values.len() < before;
    }
    if nullable {
        put(out, "nullable", true.into());
    }
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        if values.iter().any(|v| !v.is_string()) {
            for v in values.iter_mut() {
                if !v.is_string() {
                    *v = Value::String(serde_json::to_string(v).unwrap_or_default());
                }
            }
            put(out, "type", "string".into());
        } else if !out.contains_key("type") {
            put(out, "type", "string".into());
        }
    }
    let format_ok = match (out.get("type").and_then(Value::as_str), out.get("format").and_then(Value::as_str)) {
        (_, None) => true,
        (Some("string"), Some(f)) => matches!(f, "enum" | "date-time"),
        (Some("number"), Some(f)) => matches!(f, "float" | "double"),
        (Some("integer"), Some(f)) => matches!(f, "int32" | "int64"),
        _ => false,
    };
    if !format_ok {
        out.remove("format");
    }
    let names: Vec<String> = out.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
    if let Some(Value::Array(req)) = out.get_mut("required") {
        req.retain(|n| n.as_str().is_some_and(|n| names.iter().any(|p| p == n)));
        if req.is_empty() {
            out.remove("required");
        }
    }
}

#[cfg(test)]
#[path = "gemini_schema_tests.rs"]
mod tests;
