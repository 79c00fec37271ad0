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
            let some: Vec<&Value> = options.iter().filter(|v| !v.is_null()).collect();
            return match some.len() {
                0 => Value::Null,
                n => some[self.leaves.rng.below(n as u64) as usize].clone(),
            };
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
        let mut out: Map<String, Value> =
            schema.iter().filter(|(k, _)| !COMBINATORS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        if depth > MAX_DEPTH || !self.spend() {
            return Cow::Owned(out);
        }
        let mut parts: Vec<&Value> = Vec::new();
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            parts.push(self.resolve(target).unwrap_or(ANY));
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            parts.extend(all);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = schema.get(key) {
                parts.extend(self.branch(branches, depth >= SHALLOW_DEPTH));
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

    /// The target of a `$ref` within the root document (`#` or a JSON pointer after it).
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            Some(self.root)
        } else {
            self.root.pointer(pointer)
        }
    }

    fn object(&mut self, s: &Map<String, Value>, depth: u32) -> Value {
        let shallow = depth >= SHALLOW_DEPTH;
        let required: Vec<&str> = s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let extra = match s.get("additionalProperties") {
            Some(v @ Value::Object(_)) => v,
            _ => ANY,
        };
        let mut out = Map::new();
        for (name, sub) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if !shallow || required.contains(&name.as_str()) {
                out.insert(name.clone(), self.value(sub, depth + 1));
            }
        }
        for &name in &required {
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
        let optional: Vec<String> = out.keys().filter(|k| !required.contains(&k.as_str())).cloned().collect();
        for name in optional.iter().take(out.len().saturating_sub(max)) {
            out.remove(name);
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
        if rest == Some(&Value::Bool(false)) {
            n = n.min(prefix.len() as u64);
        }
        let unique = s.get("uniqueItems") == Some(&Value::Bool(true));
        let mut out: Vec<Value> = Vec::new();
        let mut tries = 0;
        while (out.len() as u64) < n && tries < n * 4 + 8 {
            tries += 1;
            let sub = prefix.get(out.len()).or(rest).unwrap_or(ANY);
            let v = self.value(sub, depth + 1);
            if !(unique && out.contains(&v)) {
                out.push(v);
            }
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
            let kinds: Vec<Kind> = types.iter().filter_map(Value::as_str).map(named).collect();
            if shallow && kinds.contains(&Kind::Null) {
                return Kind::Null;
            }
            return kinds.iter().copied().find(|k| *k != Kind::Null).unwrap_or(Kind::Null);
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
                    if !mine.contains(name) {
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
