//! The conversation object's answers as the gateway reads them: a refusal becomes a
//! [`StoreError`] (and that the error the client gets), a load's history its items.

use crate::core::error::{Code, GatewayError};
use serde_json::Value;

/// Why the store did not do what it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// No such conversation (for this tenant) or response.
    NotFound,
    /// The turn would take the conversation past `sessions.max_items`.
    Full,
    /// An item or the response record is over `sessions.max_item_bytes`.
    TooLarge,
    /// The object did not answer, answered something unreadable, or refused the op as
    /// malformed (`invalid`) or as storing an id it holds already (`exists`: a new random id
    /// met an old one, never in practice).
    Unavailable,
}

impl StoreError {
    /// The error the client gets; `id` is the conversation or response asked for.
    pub fn to_error(self, id: &str) -> GatewayError {
        match self {
            StoreError::NotFound => GatewayError::new(Code::SessionNotFound, format!("no stored conversation or response '{id}'")),
            StoreError::Full => GatewayError::new(
                Code::SessionFull,
                format!("the conversation '{id}' cannot take this turn: it would hold more messages than allowed (sessions.max_items)"),
            ),
            StoreError::TooLarge => GatewayError::new(
                Code::SessionItemTooLarge,
                "a message of this turn is larger than one stored message may be (sessions.max_item_bytes)",
            ),
            StoreError::Unavailable => {
                GatewayError::new(Code::SessionUnavailable, format!("the conversation '{id}' could not be read or stored; try again"))
                    .with_status(503)
            }
        }
    }
}

/// An answer (`None`: the object could not be reached) as JSON, or the refusal it carries.
pub fn check(answer: Option<&str>) -> Result<Value, StoreError> {
    let v: Value = answer.and_then(|a| serde_json::from_slice(a.as_bytes()).ok()).ok_or(StoreError::Unavailable)?;
    Err(match v.get("error").and_then(Value::as_str) {
        None => return Ok(v),
        Some("not_found") => StoreError::NotFound,
        Some("full") => StoreError::Full,
        Some("too_large") => StoreError::TooLarge,
        Some(_) => StoreError::Unavailable,
    })
}

/// A loaded history.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The response whose history it is (`None`: the conversation has no response yet).
    pub response: Option<String>,
    /// How many items the whole conversation holds (every branch).
    pub count: u64,
    /// The items, oldest first.
    pub items: Vec<Value>,
}

/// A load's answer as a [`History`].
pub fn history(answer: Option<&str>) -> Result<History, StoreError> {
    let mut v = check(answer)?;
    let Value::Array(items) = v["items"].take() else { return Err(StoreError::Unavailable) };
    Ok(History { response: v["response"].as_str().map(str::to_string), count: v["count"].as_u64().unwrap_or(0), items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_become_client_errors_and_silence_a_503() {
        let cases = [
            (r#"{"error":"not_found"}"#, Code::SessionNotFound, 404),
            (r#"{"error":"full"}"#, Code::SessionFull, 400),
            (r#"{"error":"too_large"}"#, Code::SessionItemTooLarge, 413),
            (r#"{"error":"exists"}"#, Code::SessionUnavailable, 503),
            (r#"{"error":"what"}"#, Code::SessionUnavailable, 503),
            ("not json", Code::SessionUnavailable, 503),
        ];
        for (answer, code, status) in cases {
            let e = check(Some(answer)).unwrap_err().to_error("conv_x");
            assert_eq!((e.code, e.status), (code, status), "{answer}");
        }
        assert_eq!(check(None), Err(StoreError::Unavailable));
        assert_eq!(check(Some(r#"{"count":3}"#)).unwrap()["count"], 3);
    }

    #[test]
    fn a_history_keeps_its_items_in_order() {
        let h = history(Some(r#"{"response":"resp_1","head":"resp_2","count":4,"items":[{"a":1},{"b":2}]}"#)).unwrap();
        assert_eq!(h.response.as_deref(), Some("resp_1"));
        assert_eq!((h.count, h.items.len(), &h.items[1]["b"]), (4, 2, &Value::from(2)));
        assert_eq!(history(Some(r#"{"count":1}"#)), Err(StoreError::Unavailable));
    }
}
