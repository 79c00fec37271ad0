//! Values that satisfy a JSON Schema: the mock's structured outputs and tool arguments.
//!
//! [`generate`] builds one value valid against a schema, the same one for the same seed. It
//! honours the subset that OpenAI structured outputs
//! (<https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>), tool
//! input schemas and Pydantic's generated schemas use:
//! - `type` (a name, or a list: the first that is not `null`), `const`, `enum`;
//! - objects: every property of `properties` (required or not), any other `required` name,
//!   `minProperties` (filled from `additionalProperties`), `maxProperties`;
//! - arrays: `items`, `prefixItems` (and draft-4 tuple `items`), `minItems`, `maxItems`,
//!   `uniqueItems`;
//! - strings and numbers: their lengths, formats, bounds and steps, as `values` makes them;
//! - `$ref` to any JSON pointer into the root (`#/$defs/…`, `#/definitions/…`, `#`), its
//!   sibling keywords kept; `allOf` (merged); `anyOf`/`oneOf` (the first branch that is not
//!   `null`).
//!
//! Not honoured: `pattern`, `not`, `if`/`then`/`else`, `patternProperties`, refs to other
//! documents; `oneOf` branches are not checked to be exclusive.
//!
//! Work is bounded whatever the schema: past depth [`SHALLOW_DEPTH`] a value grows no further
//! than it must (required properties only, `minItems` items, the `null` branch or type where
//! one is allowed), nothing nests past [`MAX_DEPTH`], and one call builds at most
//! [`MAX_VALUES`] values, arrays of at most [`MAX_ITEMS`] items, strings of at most
//! [`MAX_CHARS`](super::values::MAX_CHARS) characters and
//! [`MAX_TOTAL_CHARS`](super::values::MAX_TOTAL_CHARS) in all. A schema that asks for more (or
//! recurses with no way to stop) gets a value cut there, which it may not accept.

use super::values::Leaves;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Depth from which values grow no further than the schema requires.
pub const SHALLOW_DEPTH: u32 = 8;
/// Depth past which every value is `null`.
pub const MAX_DEPTH: u32 = 32;
/// Values (and schema merges) one call may build.
pub const MAX_VALUES: u32 = 10_000;
/// The most items an array (or properties an object) gets, whatever `minItems` says.
pub const MAX_ITEMS: u64 = 1_000;

/// A value valid against `schema` (for the subset in the module docs), the same for the same
/// schema and seed. `$ref`s resolve against `schema` itself.
pub fn generate(schema: &Value, seed: u64) -> Value {
    Gen { root: schema, leaves: Leaves::new(seed), budget: MAX_VALUES }.value(schema, 0)
}

/// Any value: what `true`, `{}` and unresolvable refs allow.
const ANY: &Value = &Value::Bool(true);

/// Keywords resolved by [`Gen::flatten`]; never copied by a merge.
const COMBINATORS: &[&str] = &["$ref", "allOf", "anyOf", "oneOf", "$defs", "definitions"];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

struct Gen<'a> {
    root: &'a Value,
    leaves: Leaves,
    /// Values and merges left to make.
    budget: u32,
}

impl<'a> Gen<'a> {
    fn spend(&mut self) -> bool {
        let ok = self.budget > 0;
        self.budget = self.budget.saturating_sub(1);
        ok
    }

    fn value(&mut self, schema: &Value, depth: u32) -> Value {
        if depth > MAX_DEPTH || !self.spend() {
            return Value::Null;
        }
        let s = match schema {
            Value::Object(s) => self.flatten(s, depth),
            Value::Bool(false) => return Value::Null,
            _ => Cow::Owned(Map::new()),
        };
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(options)) = s.get("enum") {
            let n = options.iter().filter(|v| !v.is_null()).count() as u64;
            let pick = self.leaves.rng.below(n) as usize;
            return options.iter().filter(|v| !v.is_null()).nth(pick).cloned().unwrap_or(Value::Null);
        }
        match kind_of(&s, depth >= SHALLOW_DEPTH) {
            Kind::Null => Value::Null,
            Kind::Boolean => Value::Bool(self.leaves.rng.below(2) == 1),
            Kind::Integer => self.leaves.number(&s, true),
            Kind::Number => self.leaves.number(&s, false),
            Kind::String => Value::String(self.leaves.string(&s)),
            Kind::Array => self.array(&s, depth),
            Kind::Object => self.object(&s, depth),
        }
    }

    /// The schema with its `$ref`, `allOf`, `anyOf` and `oneOf` resolved into one map of
    /// plain keywords; the schema's own keywords win over those merged in.
    fn flatten<'s>(&mut self, schema: &'s Map<String, Value>, depth: u32) -> Cow<'s, Map<String, Value>>
    where
        'a: 's,
    {
        if !COMBINATORS[..4].iter().any(|k| schema.contains_key(*k)) {
            return Cow::Borrowed(schema);
        }
        let mut out = Map::new();
        for (k, v) in schema {
            if !COMBINATORS.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
        if depth > MAX_DEPTH || !self.spend() {
            return Cow::Owned(out);
        }
        let mut parts: Vec<&Value> = Vec::new();
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            parts.push(self.resolve(target).unwrap_or(ANY));
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            let Some(Value::Array(branches)) = schema.get(key) else { continue };
            if key == "allOf" {
                for b in branches {
                    parts.push(b);
                }
            } else if let Some(b) = self.branch(branches, depth >= SHALLOW_DEPTH) {
                parts.push(b);
            }
        }
        for part in parts {
            if let Value::Object(p) = part {
                let flat = self.flatten(p, depth + 1);
                merge(&mut out, &flat);
            }
        }
        Cow::Owned(out)
    }

    /// The branch of an `anyOf`/`oneOf` to follow: the first that is not `null`, or past the
    /// shallow depth a `null` one where there is one.
    fn branch<'v>(&self, branches: &'v [Value], shallow: bool) -> Option<&'v Value> {
        let is_null = |b: &Value| {
            let b = b.get("$ref").and_then(Value::as_str).and_then(|r| self.resolve(r)).unwrap_or(b);
            b.get("type").and_then(Value::as_str) == Some("null") || b.get("const").is_some_and(Value::is_null)
        };
        if shallow {
            if let Some(b) = branches.iter().find(|b| is_null(b)) {
                return Some(b);
            }
        }
        branches.iter().find(|b| !is_null(b)).or(branches.first())
    }

    /// The target of a `$ref` within the root document: `#`, or a JSON pointer after it
    /// (RFC 6901: `~1` is `/`, `~0` is `~`).
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let mut at = self.root;
        let mut rest = reference.strip_prefix('#')?;
        while let Some(tail) = rest.strip_prefix('/') {
            let (raw, next) = match tail.find('/') {
                Some(i) => (&tail[..i], &tail[i..]),
                None => (tail, ""),
            };
            // `~`, `/`, `0` and `1` are ASCII, never part of a longer UTF-8 sequence.
            let key = if raw.contains('~') { String::from_utf8(unescape(raw.as_bytes())).ok()? } else { raw.to_string() };
            at = match at {
                Value::Object(m) => m.get(&key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
            rest = next;
        }
        rest.is_empty().then_some(at)
    }

    fn object(&mut self, s: &Map<String, Value>, depth: u32) -> Value {
        let shallow = depth >= SHALLOW_DEPTH;
        let required = s.get("required").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let is_required = |name: &str| required.iter().any(|r| r == name);
        let extra = match s.get("additionalProperties") {
            Some(v @ Value::Object(_)) => v,
            _ => ANY,
        };
        let mut out = Map::new();
        for (name, sub) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if !shallow || is_required(name) {
                out.insert(name.clone(), self.value(sub, depth + 1));
            }
        }
        for name in required.iter().filter_map(Value::as_str) {
            if !out.contains_key(name) {
                out.insert(name.to_string(), self.value(extra, depth + 1));
            }
        }
        let min = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0).min(MAX_ITEMS) as usize;
        let mut n = 0;
        while out.len() < min {
            n += 1;
            if !out.contains_key(&format!("key{n}")) {
                out.insert(format!("key{n}"), self.value(extra, depth + 1));
            }
        }
        let max = s.get("maxProperties").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
        while out.len() > max {
            let Some(name) = out.keys().find(|k| !is_required(k)).cloned() else { break };
            out.remove(&name);
        }
        Value::Object(out)
    }

    fn array(&mut self, s: &Map<String, Value>, depth: u32) -> Value {
        let (prefix, rest): (&[Value], Option<&Value>) = match (s.get("prefixItems"), s.get("items")) {
            (Some(Value::Array(p)), items) => (p, items),
            (None, Some(Value::Array(p))) => (p, s.get("additionalItems")),
            (_, items) => (&[], items),
        };
        let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0).min(MAX_ITEMS);
        let mut n = if depth >= SHALLOW_DEPTH { min } else { min.max(1 + self.leaves.rng.below(2)) };
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            n = n.min(max).max(min);
        }
        if matches!(rest, Some(Value::Bool(false))) {
            n = n.min(prefix.len() as u64);
        }
        let unique = matches!(s.get("uniqueItems"), Some(Value::Bool(true)));
        let mut out: Vec<Value> = Vec::new();
        // With uniqueItems, the JSON text of each value so far (a generated value prints one way).
        let mut seen: Vec<String> = Vec::new();
        let mut tries = 0;
        while (out.len() as u64) < n && tries < n * 4 + 8 {
            tries += 1;
            let sub = prefix.get(out.len()).or(rest).unwrap_or(ANY);
            let v = self.value(sub, depth + 1);
            if unique {
                let text = v.to_string();
                if seen.contains(&text) {
                    continue;
                }
                seen.push(text);
            }
            out.push(v);
        }
        Value::Array(out)
    }
}

/// What a flattened schema describes: its `type` (past the shallow depth, `null` where a list
/// allows it), else what its keywords imply; a schema that says nothing gets a string.
fn kind_of(s: &Map<String, Value>, shallow: bool) -> Kind {
    let named = |t: &str| match t {
        "null" => Kind::Null,
        "boolean" => Kind::Boolean,
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "array" => Kind::Array,
        "object" => Kind::Object,
        _ => Kind::String,
    };
    match s.get("type") {
        Some(Value::String(t)) => return named(t),
        Some(Value::Array(types)) => {
            let mut kinds = types.iter().filter_map(Value::as_str).map(named);
            let null = kinds.clone().any(|k| k == Kind::Null);
            return if shallow && null { Kind::Null } else { kinds.find(|k| *k != Kind::Null).unwrap_or(Kind::Null) };
        }
        _ => {}
    }
    let has = |keys: &[&str]| keys.iter().any(|k| s.contains_key(*k));
    if has(&["properties", "required", "additionalProperties", "minProperties"]) {
        Kind::Object
    } else if has(&["items", "prefixItems", "minItems", "maxItems", "uniqueItems"]) {
        Kind::Array
    } else if has(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]) {
        Kind::Number
    } else {
        Kind::String
    }
}

/// A JSON pointer segment's bytes with `~1` read as `/` and `~0` as `~` (RFC 6901).
fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1)) {
            (b'~', Some(b'1')) => out.push(b'/'),
            (b'~', Some(b'0')) => out.push(b'~'),
            (b, _) => {
                out.push(b);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    out
}

/// Merge `from` into `into`: `properties` and `required` are united, other keywords fill in
/// only where `into` has none.
fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match (k.as_str(), into.get_mut(k), v) {
            (c, ..) if COMBINATORS.contains(&c) => {}
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (name, sub) in theirs {
                    mine.entry(name.clone()).or_insert_with(|| sub.clone());
                }
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.iter().any(|m| m.as_str() == name.as_str()) {
                        mine.push(name.clone());
                    }
                }
            }
            (_, None, _) => {
                into.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
