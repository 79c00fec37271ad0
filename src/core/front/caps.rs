//! Structural caps on what a caller may send, checked after decoding and before anything
//! else happens, so hostile input costs little and never reaches an upstream. The body size
//! cap is in config (`limits.max_body_bytes`); JSON depth and duplicate keys are refused by
//! the strict reader.

use crate::core::error::{Code, GatewayError};
use crate::core::translate::dialect::fields::invalid_value;
use crate::core::types::{ChatRequest, Content};

/// Most messages in one request.
pub const MAX_MESSAGES: usize = 2048;
/// Most tools a request may declare, and most tool calls one message may carry.
pub const MAX_TOOLS: usize = 256;
/// Most content parts in one message.
pub const MAX_PARTS: usize = 256;
/// Longest model name and tool name, in bytes (a tool name must also be non-empty).
pub const MAX_NAME_BYTES: usize = 256;
/// Most stop sequences.
pub const MAX_STOP: usize = 16;
/// Most `metadata` entries.
pub const MAX_METADATA: usize = 64;
/// All request headers together, in bytes: each header counts its name, its value and 4 for
/// the `: ` and line end.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

fn too_many(param: &str, max: usize) -> GatewayError {
    invalid_value(param, &format!("at most {max} allowed"))
}

/// A decoded chat request within every count and length cap above; else `invalid_value`
/// (400) naming the first field over its cap.
pub fn check_request(req: &ChatRequest) -> Result<(), GatewayError> {
    if req.model.len() > MAX_NAME_BYTES {
        return Err(invalid_value("model", "name too long"));
    }
    if req.messages.len() > MAX_MESSAGES {
        return Err(too_many("messages", MAX_MESSAGES));
    }
    if req.tools.len() > MAX_TOOLS {
        return Err(too_many("tools", MAX_TOOLS));
    }
    if req.sampling.stop.len() > MAX_STOP {
        return Err(too_many("stop", MAX_STOP));
    }
    if req.metadata.len() > MAX_METADATA {
        return Err(too_many("metadata", MAX_METADATA));
    }
    for (i, t) in req.tools.iter().enumerate() {
        if t.name.is_empty() || t.name.len() > MAX_NAME_BYTES {
            return Err(invalid_value(&format!("tools[{i}].name"), "must be 1 to 256 bytes"));
        }
    }
    for (i, m) in req.messages.iter().enumerate() {
        if matches!(&m.content, Content::Parts(p) if p.len() > MAX_PARTS) {
            return Err(too_many(&format!("messages[{i}].content"), MAX_PARTS));
        }
        if m.tool_calls.len() > MAX_TOOLS {
            return Err(too_many(&format!("messages[{i}].tool_calls"), MAX_TOOLS));
        }
    }
    Ok(())
}

/// Request headers over the cap get 431.
pub fn check_headers(headers: &[(String, String)]) -> Result<(), GatewayError> {
    let total: usize = headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    if total > MAX_HEADER_BYTES {
        return Err(GatewayError::new(Code::HeadersTooLarge, format!("request headers exceed {MAX_HEADER_BYTES} bytes")).with_status(431));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::translate::dialect::openai::decode_request;

    fn req(extra: &str) -> ChatRequest {
        decode_request(format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}]{extra}}}"#).as_bytes()).unwrap()
    }

    #[test]
    fn caps_name_the_field() {
        let mut r = req("");
        r.messages = vec![r.messages[0].clone(); MAX_MESSAGES + 1];
        assert_eq!(check_request(&r).unwrap_err().param.as_deref(), Some("messages"));
        let mut r = req("");
        r.model = "x".repeat(300);
        assert_eq!(check_request(&r).unwrap_err().param.as_deref(), Some("model"));
        assert!(check_request(&req("")).is_ok());
    }

    #[test]
    fn headers_cap_is_431() {
        let big = vec![("x-big".to_string(), "a".repeat(MAX_HEADER_BYTES))];
        assert_eq!(check_headers(&big).unwrap_err().status, 431);
    }
}
