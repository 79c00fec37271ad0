//! A strict JSON reader for request bodies: one pass into a `serde_json::Value` that also
//! refuses what a permissive parser lets through. Duplicate keys in an object are an error
//! (parsers disagree on which one wins, which is how validation gets bypassed), and nesting
//! deeper than [`MAX_DEPTH`] is an error (bounded work and stack; serde_json's own limit of
//! 128 stays as a second guard). Invalid UTF-8 is refused
//! by serde_json itself.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Deepest nesting [`parse`] accepts, counting each array or object level: `[]` is depth 1.
pub const MAX_DEPTH: usize = 64;

struct Seed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Seed { depth })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(de::Error::custom(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Seed { depth })?;
            if out.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("duplicate field '{key}'")));
            }
        }
        Ok(Value::Object(out))
    }
}

/// Parse `bytes` as exactly one JSON value (whitespace around it allowed), refusing
/// duplicate object keys and nesting deeper than [`MAX_DEPTH`].
/// The error's message names the problem and its position.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Seed { depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_serde_json_for_ordinary_input() {
        let text = br#"{"a": [1, -2, 3.5, true, null, "x\u00e9"], "b": {"c": {}}}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_slice::<Value>(text).unwrap());
    }

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        assert!(parse(br#"{"model": "a", "model": "b"}"#).unwrap_err().to_string().contains("duplicate field 'model'"));
        assert!(parse(br#"{"messages": [{"role": "user", "role": "system"}]}"#).is_err());
    }

    #[test]
    fn depth_is_bounded_without_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(deep.as_bytes()).unwrap_err().to_string().contains("nesting"));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn invalid_utf8_and_trailing_garbage_are_refused() {
        assert!(parse(b"{\"a\": \"\xff\"}").is_err());
        assert!(parse(b"{} x").is_err());
    }
}
