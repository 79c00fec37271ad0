//! The one place where a Responses request that needs stored state is answered: the gateway
//! keeps no responses or conversations (yet), so `previous_response_id`, `conversation`,
//! `background: true` and `item_reference` input items are refused here, before anything else
//! is read. A conversation store would be wired in here.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses/create>
//! (`previous_response_id`, `conversation`, `background`) and
//! <https://platform.openai.com/docs/guides/conversation-state>.

use crate::core::error::GatewayError;
use crate::core::translate::dialect::fields::{opt, unsupported};
use serde_json::{Map, Value};

/// Refuse a request that needs stored responses or conversations: a `previous_response_id`,
/// a `conversation`, `background: true`, or an `item_reference` input item (400 `unsupported`
/// naming it). The gateway keeps no responses, so a caller sends the whole conversation as
/// `input` (as `store: false` callers do).
pub fn refuse_stateful(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    let refuse = |param: &str| {
        Err(unsupported(
            param,
            "needs stored responses or conversations, which this gateway does not keep: send the whole conversation as input",
        ))
    };
    for key in ["previous_response_id", "conversation"] {
        if opt(obj, key).is_some() {
            return refuse(key);
        }
    }
    if obj.get("background") == Some(&Value::Bool(true)) {
        return refuse("background");
    }
    if let Some(Value::Array(items)) = obj.get("input") {
        if let Some(i) = items.iter().position(|v| v.get("type").and_then(Value::as_str) == Some("item_reference")) {
            return refuse(&format!("input[{i}]"));
        }
    }
    Ok(())
}
