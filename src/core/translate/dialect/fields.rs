//! Typed reads out of a decoded JSON object, each failure naming the offending field's path
//! so the client's 400 says exactly what was wrong (`param` in OpenAI's error shape).

use crate::core::error::{Code, GatewayError};
use serde_json::{Map, Value};
use std::fmt::{self, Display};

/// A field's path, made into text only when an error names it: a `&str`, or [`At`] and
/// [`Dot`] built from one, so reading a valid request formats no paths at all.
pub trait FieldPath: Copy + Display {}
impl<T: Copy + Display> FieldPath for T {}

/// `list[i]`: an element of a list.
#[derive(Debug, Clone, Copy)]
pub struct At<P>(pub P, pub usize);

impl<P: Display> Display for At<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// `parent.name`: a field of an object.
#[derive(Debug, Clone, Copy)]
pub struct Dot<P>(pub P, pub &'static str);

impl<P: Display> Display for Dot<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

fn type_error(path: &dyn Display, want: &str, got: &Value) -> GatewayError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let path = path.to_string();
    GatewayError::new(Code::InvalidType, format!("'{path}' must be {want}, got {got}")).with_param(path)
}

/// A request body as a JSON object, read strictly (no duplicate keys, bounded depth).
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match crate::core::util::strict_json::parse(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(GatewayError::new(Code::InvalidJson, "request body must be a JSON object")),
        Err(e) => Err(GatewayError::new(Code::InvalidJson, format!("request body is not valid JSON: {e}"))),
    }
}

/// The client error for a required field that is absent or null (code
/// `missing_required_parameter`, `param` = `path`).
pub fn missing(path: &str) -> GatewayError {
    GatewayError::new(Code::MissingRequiredParameter, format!("'{path}' is required")).with_param(path)
}

/// The client error for a field of the right type but a bad value (code `invalid_value`,
/// `param` = `path`, `detail` saying what is allowed).
pub fn invalid_value(path: &str, detail: &str) -> GatewayError {
    GatewayError::new(Code::InvalidValue, format!("'{path}': {detail}")).with_param(path)
}

/// The client error for a field, or a value of it, the gateway does not serve (code
/// `unsupported`, `param` = `path`, `detail` saying what is not served).
pub fn unsupported(path: &str, detail: &str) -> GatewayError {
    GatewayError::new(Code::Unsupported, format!("'{path}': {detail}")).with_param(path)
}

/// A field that may be absent or null.
pub fn opt<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// `obj[key]` as an owned string; `None` when absent or null, a type error naming `path`
/// otherwise.
pub fn opt_str(obj: &Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<String>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(type_error(&path, "a string", v)),
    }
}

/// `obj[key]` as a string that must be present (null counts as absent).
pub fn req_str(obj: &Map<String, Value>, key: &str, path: impl FieldPath) -> Result<String, GatewayError> {
    opt_str(obj, key, path)?.ok_or_else(|| missing(&path.to_string()))
}

/// `obj[key]` as a number (any JSON number, read as `f64`); `None` when absent or null.
pub fn opt_f64(obj: &Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<f64>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(v) => Err(type_error(&path, "a number", v)),
    }
}

/// A number within `[lo, hi]`.
pub fn opt_f64_in(obj: &Map<String, Value>, key: &str, lo: f64, hi: f64) -> Result<Option<f64>, GatewayError> {
    let v = opt_f64(obj, key, key)?;
    match v {
        Some(x) if !(lo..=hi).contains(&x) => Err(invalid_value(key, &format!("must be between {lo} and {hi}"))),
        _ => Ok(v),
    }
}

/// `obj[key]` as an integer that fits `i64` (`1.5` or `1e30` are type errors); `None` when
/// absent or null.
pub fn opt_i64(obj: &Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<i64>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_error(&path, "an integer", &Value::Null)),
        Some(v) => Err(type_error(&path, "an integer", v)),
    }
}

/// `obj[key]` as an integer from 0 to `u32::MAX`; negative, fractional or larger numbers are
/// an invalid value. `None` when absent or null.
pub fn opt_u32(obj: &Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<u32>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) if x <= u32::MAX as u64 => Ok(Some(x as u32)),
            _ => Err(invalid_value(&path.to_string(), "must be a non-negative integer")),
        },
        Some(v) => Err(type_error(&path, "an integer", v)),
    }
}

/// `obj[key]` as a boolean; `None` when absent or null.
pub fn opt_bool(obj: &Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<bool>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(type_error(&path, "a boolean", v)),
    }
}

/// `obj[key]` as a JSON object, borrowed; `None` when absent or null.
pub fn opt_obj<'a>(obj: &'a Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<&'a Map<String, Value>>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(v) => Err(type_error(&path, "an object", v)),
    }
}

/// `obj[key]` as a JSON array, borrowed; `None` when absent or null.
pub fn opt_array<'a>(obj: &'a Map<String, Value>, key: &str, path: impl FieldPath) -> Result<Option<&'a Vec<Value>>, GatewayError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(v) => Err(type_error(&path, "an array", v)),
    }
}

/// What [`check`] expects of a field: its JSON type, and for `Req*` that it is present (null
/// counts as absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string, if present.
    Str,
    /// A string, required.
    ReqStr,
    /// A boolean, if present.
    Bool,
    /// An integer from 0 to `u32::MAX`, if present.
    U32,
    /// Any number, if present.
    Num,
    /// An object, if present.
    Obj,
    /// An object, required.
    ReqObj,
    /// An array, if present.
    Arr,
}

/// Check the fields of object `o` (at `at`; `""` for the top level) against a table, in its
/// order: the first one absent but required is `missing`, the first of the wrong type a type
/// error, each naming its path. One table-driven pass costs far less code than one typed read
/// per field, and after it the fields can be read without error paths.
pub fn check(o: &Map<String, Value>, at: &dyn Display, fields: &[(&str, Ty)]) -> Result<(), GatewayError> {
    for &(key, ty) in fields {
        let path = || {
            let at = at.to_string();
            if at.is_empty() {
                key.to_string()
            } else {
                format!("{at}.{key}")
            }
        };
        let Some(v) = opt(o, key) else {
            if matches!(ty, Ty::ReqStr | Ty::ReqObj) {
                return Err(missing(&path()));
            }
            continue;
        };
        let (ok, want) = match ty {
            Ty::Str | Ty::ReqStr => (v.is_string(), "a string"),
            Ty::Bool => (v.is_boolean(), "a boolean"),
            Ty::U32 => (v.as_u64().is_some_and(|n| n <= u32::MAX as u64), "a non-negative integer"),
            Ty::Num => (v.is_number(), "a number"),
            Ty::Obj | Ty::ReqObj => (v.is_object(), "an object"),
            Ty::Arr => (v.is_array(), "an array"),
        };
        if !ok {
            return Err(type_error(&path(), want, v));
        }
    }
    Ok(())
}

/// `o[key]` as a string, when it is one (for fields [`check`] has seen).
pub fn get_str<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// `v` as a JSON object, or a type error naming `path` (for list elements).
pub fn as_obj(v: &Value, path: impl FieldPath) -> Result<&Map<String, Value>, GatewayError> {
    v.as_object().ok_or_else(|| type_error(&path, "an object", v))
}

/// `v` as a string, or a type error naming `path` (for list elements).
pub fn as_str(v: &Value, path: impl FieldPath) -> Result<&str, GatewayError> {
    v.as_str().ok_or_else(|| type_error(&path, "a string", v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn type_errors_name_the_path() {
        let o = obj(json!({"t": "hot"}));
        let e = opt_f64(&o, "t", "temperature").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("temperature"));
        assert!(e.message.contains("must be a number, got a string"));
    }

    #[test]
    fn null_is_absent() {
        let o = obj(json!({"a": null}));
        assert_eq!(opt_str(&o, "a", "a").unwrap(), None);
        assert!(req_str(&o, "a", "a").is_err());
    }

    #[test]
    fn ranges_and_integers() {
        let o = obj(json!({"temperature": 3.5, "n": -1, "seed": 1.5}));
        assert!(opt_f64_in(&o, "temperature", 0.0, 2.0).is_err());
        assert!(opt_u32(&o, "n", "n").is_err());
        assert!(opt_i64(&o, "seed", "seed").is_err());
    }
}
