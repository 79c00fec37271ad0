//! Quality gates: deterministic checks of an answer, for cascade routes (README, "Cascade").
//! Pure and cheap: no model call, no regex engine (the `regex` gates are run by the driver); each gate reads the first choice's text
//! (an answer with only tool calls has the empty text).
//!
//! The `json` gate's schema subset: `type` (a name or a list), `enum`, `const`, `required`,
//! `properties`, `additionalProperties` (`false` or a schema), `items`, `minItems`,
//! `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`
//! (<https://json-schema.org/draft/2020-12/json-schema-validation>). Other keywords (`$ref`,
//! `anyOf`, `pattern`, `format`, ...) are not checked. Validation stops at depth
//! [`MAX_DEPTH`].

use crate::core::config::{Gates, DEFAULT_SCRIPT_SHARE};
use crate::core::types::ChatResponse;
use crate::core::util::script;
use serde_json::Value;

/// Nesting past which the schema check looks no deeper.
pub const MAX_DEPTH: u32 = 64;

/// One gate's refusal: the gate's config name and why, in words a model can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The gate (its config field: `json`, `min_chars`, `final_number`, ...).
    pub gate: &'static str,
    /// Why the answer failed it.
    pub reason: String,
}

/// Every gate `answer` fails, in the order of the config's fields; empty: it passes.
pub fn check(gates: &Gates, answer: &ChatResponse) -> Vec<Verdict> {
    let choice = answer.choices.first();
    let text = choice.and_then(|c| c.content.as_deref()).unwrap_or("");
    let mut out = Vec::new();
    let mut fail = |gate, reason: String| out.push(Verdict { gate, reason });
    if let Some(want) = gates.finish_reason.as_deref() {
        let got = choice.and_then(|c| c.finish_reason.as_ref()).map_or("none", |f| f.as_str());
        if got != want {
            fail("finish_reason", format!("it stopped with '{got}', not '{want}'"));
        }
    }
    let chars = text.chars().count() as u64;
    if let Some(min) = gates.min_chars.filter(|&m| chars < m as u64) {
        fail("min_chars", format!("it has {chars} characters, fewer than {min}"));
    }
    if let Some(max) = gates.max_chars.filter(|&m| chars > m as u64) {
        fail("max_chars", format!("it has {chars} characters, more than {max}"));
    }
    if let Some(s) = gates.contains.iter().find(|s| !text.contains(s.as_str())) {
        fail("contains", format!("it does not contain \"{s}\""));
    }
    if let Some(s) = gates.forbidden.iter().find(|s| text.contains(s.as_str())) {
        fail("forbidden", format!("it contains \"{s}\", which is not allowed"));
    }
    if !gates.labels.is_empty() && !gates.labels.iter().any(|l| l == text.trim()) {
        fail("labels", format!("it must be exactly one of: {}", gates.labels.join(", ")));
    }
    if let Some(spec) = gates.script.as_deref() {
        let want = gates.script_min_share.unwrap_or(DEFAULT_SCRIPT_SHARE);
        let (hits, letters) = script::count(text, &script::parse(spec).unwrap_or_default());
        if letters > 0 && (hits as f64) < want * letters as f64 {
            let pct = |n: f64| (n * 100.0).round() as u32;
            fail("script", format!("{}% of its letters are {spec}, fewer than {}%", pct(hits as f64 / letters as f64), pct(want)));
        }
    }
    if let Some(schema @ (Value::Bool(true) | Value::Object(_))) = &gates.json {
        match serde_json::from_slice::<Value>(text.trim().as_bytes()) {
            Ok(v) => {
                if let Err(why) = conforms(&v, schema, "$", 0) {
                    fail("json", format!("its JSON does not fit the schema: {why}"));
                }
            }
            Err(_) => fail("json", "it is not valid JSON".into()),
        }
    }
    if gates.final_number && !text.lines().any(is_final_number) {
        fail("final_number", "it has no line \"#### <number>\" giving the final answer".into());
    }
    out
}

/// The patterns the driver runs for the `regex` and `not_regex` gates, in this order.
pub fn patterns(gates: &Gates) -> Vec<String> {
    gates.regex.iter().chain(&gates.not_regex).cloned().collect()
}

/// The `regex` and `not_regex` verdicts from the driver's answer to [`patterns`] (see
/// [`crate::core::pipeline::protocol::Action::Regex`]; `None`: no answer).
pub fn regex_verdicts(gates: &Gates, answer: Option<&str>) -> Vec<Verdict> {
    let bits = answer.unwrap_or_default();
    let one = |reason: String| vec![Verdict { gate: "regex", reason }];
    if let Some(why) = bits.strip_prefix('!') {
        return one(format!("a pattern could not be compiled: {why}"));
    }
    if bits.len() != gates.regex.len() + gates.not_regex.len() || bits.bytes().any(|b| b != b'0' && b != b'1') {
        return one("the patterns could not be run".into());
    }
    let (must, must_not) = bits.as_bytes().split_at(gates.regex.len());
    let mut out = Vec::new();
    if let Some((p, _)) = gates.regex.iter().zip(must).find(|(_, &b)| b == b'0') {
        out.push(Verdict { gate: "regex", reason: format!("it does not match the pattern {p}") });
    }
    if let Some((p, _)) = gates.not_regex.iter().zip(must_not).find(|(_, &b)| b == b'1') {
        out.push(Verdict { gate: "not_regex", reason: format!("it matches the pattern {p}, which is not allowed") });
    }
    out
}

/// The gate names of `verdicts`, joined with `+` (for headers and failure lists).
pub fn names(verdicts: &[Verdict]) -> String {
    verdicts.iter().map(|v| v.gate).collect::<Vec<_>>().join("+")
}

/// The reasons of `verdicts`, joined with `; ` (for the re-prompt and the 422).
pub fn reasons(verdicts: &[Verdict]) -> String {
    verdicts.iter().map(|v| v.reason.as_str()).collect::<Vec<_>>().join("; ")
}

/// A line `#### <number>`: `####`, then (spaces allowed) an optional `-`, an optional `$`,
/// digits with optional thousands commas, an optional fraction, and nothing else.
pub fn is_final_number(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix("####") else { return false };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let rest = rest.strip_prefix('$').unwrap_or(rest);
    let (int, frac) = rest.split_once('.').unwrap_or((rest, "0"));
    let int_ok = int.starts_with(|c: char| c.is_ascii_digit()) && int.bytes().all(|b| b.is_ascii_digit() || b == b',');
    int_ok && !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `v` fits `schema` (the subset in the module docs); the first misfit, with its
/// path (`at` names `v`), otherwise.
pub fn conforms(v: &Value, schema: &Value, at: &str, depth: u32) -> Result<(), String> {
    let s = match schema {
        Value::Object(s) if depth < MAX_DEPTH => s,
        Value::Bool(false) => return Err(format!("{at}: no value is allowed here")),
        _ => return Ok(()),
    };
    let misfit = |why: &str| Err(format!("{at}: {why}"));
    if s.get("const").is_some_and(|c| c != v) {
        return misfit("not the constant value");
    }
    if s.get("enum").and_then(Value::as_array).is_some_and(|e| !e.contains(v)) {
        return misfit("not one of the enum values");
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| is_type(v, t)) {
        return misfit(&format!("expected {}", types.join(" or ")));
    }
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    let out_of = |n: f64, lo: &str, hi: &str| num(lo).is_some_and(|m| n < m) || num(hi).is_some_and(|m| n > m);
    match v {
        Value::Number(n) if out_of(n.as_f64().unwrap_or(0.0), "minimum", "maximum") => misfit("out of range"),
        Value::String(t) if out_of(t.chars().count() as f64, "minLength", "maxLength") => misfit("length out of range"),
        Value::Array(items) => {
            if out_of(items.len() as f64, "minItems", "maxItems") {
                return misfit("item count out of range");
            }
            let Some(sub) = s.get("items") else { return Ok(()) };
            items.iter().enumerate().try_for_each(|(i, item)| conforms(item, sub, &format!("{at}[{i}]"), depth + 1))
        }
        Value::Object(o) => {
            let required = s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
            if let Some(r) = required.into_iter().find(|r| !o.contains_key(*r)) {
                return misfit(&format!("missing required property '{r}'"));
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, item) in o {
                match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                    (Some(sub), _) | (None, Some(sub)) => conforms(item, sub, &format!("{at}.{k}"), depth + 1)?,
                    (None, None) => {}
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match (t, v) {
        ("null", Value::Null) | ("boolean", Value::Bool(_)) | ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        ("string", Value::String(_)) | ("array", Value::Array(_)) | ("object", Value::Object(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
#[path = "gates_tests.rs"]
mod tests;
