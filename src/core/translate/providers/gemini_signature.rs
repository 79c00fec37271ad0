//! Where a Gemini thought signature travels between turns: inside the tool call id.
//!
//! Gemini 3 (and 2.5 with thinking) puts a `thoughtSignature` on the first `functionCall` part
//! of a step, and the next turn must send it back on that same part or the call fails with 400
//! (<https://ai.google.dev/gemini-api/docs/thought-signatures>). OpenAI and Anthropic callers
//! have no field for it, but they echo tool call ids back unchanged (on the assistant turn's
//! `tool_calls` and the tool result's `tool_call_id` / `tool_use_id`). So the id of such a call
//! is `{base}__ts_{signature}`, the signature in URL-safe base64 without padding: the id stays
//! within `[A-Za-z0-9_-]`, which Anthropic requires of tool ids, should the caller switch
//! provider. A signature that is not base64 or longer than [`MAX_SIGNATURE`] is not carried.
//! Signatures on text parts have no carrier and are dropped (Gemini does not require them).

use crate::core::translate::tool_id::id_char;

/// Separates an id's base from the signature it carries.
const MARKER: &str = "__ts_";
/// The longest signature carried in an id, in base64 characters.
pub const MAX_SIGNATURE: usize = 16 * 1024;

/// The tool call id for a Gemini function call: `base` (Gemini's own id, or `fallback` when
/// it has none or one outside `[A-Za-z0-9_-]`), with `signature` appended when it is carried.
pub fn call_id(own: Option<&str>, fallback: impl FnOnce() -> String, signature: Option<&str>) -> String {
    let mut id = match own {
        Some(id) if !id.is_empty() && id.bytes().all(id_char) && !id.contains(MARKER) => id.to_string(),
        _ => fallback(),
    };
    let Some(sig) = signature.filter(|s| !s.is_empty() && s.len() <= MAX_SIGNATURE) else { return id };
    if !sig.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
        return id;
    }
    id.push_str(MARKER);
    id.extend(sig.chars().filter(|c| *c != '=').map(|c| match c {
        '+' => '-',
        '/' => '_',
        c => c,
    }));
    id
}

/// The thought signature a tool call id carries, back in standard padded base64.
pub fn signature_of(id: &str) -> Option<String> {
    let (_, url_safe) = id.split_once(MARKER)?;
    if url_safe.is_empty() || url_safe.len() > MAX_SIGNATURE || !url_safe.bytes().all(id_char) {
        return None;
    }
    let mut sig: String = url_safe
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !sig.len().is_multiple_of(4) {
        sig.push('=');
    }
    Some(sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn signatures_round_trip_through_anthropic_safe_ids() {
        let id = call_id(None, || "call_0_0".into(), Some("Ab+/cd=="));
        assert_eq!(id, "call_0_0__ts_Ab-_cd");
        assert_eq!(signature_of(&id).as_deref(), Some("Ab+/cd=="));
        assert_eq!(call_id(Some("g-1"), || unreachable!(), None), "g-1");
        assert_eq!(call_id(Some("bad id!"), || "call_0_1".into(), None), "call_0_1");
        assert_eq!(signature_of("call_0_0"), None);
        // Not base64, or too long: not carried.
        assert_eq!(call_id(None, || "c".into(), Some("a b")), "c");
        assert_eq!(call_id(None, || "c".into(), Some(&"A".repeat(MAX_SIGNATURE + 4))), "c");
        assert_eq!(signature_of("c__ts_a.b"), None);
    }

    proptest! {
        #[test]
        fn any_base64_signature_round_trips(bytes in prop::collection::vec(any::<u8>(), 1..300), n in 0u32..50) {
            let sig = crate::core::util::b64::encode(&bytes);
            let id = call_id(None, || format!("call_0_{n}"), Some(&sig));
            prop_assert!(id.bytes().all(id_char), "{}", id);
            prop_assert_eq!(signature_of(&id), Some(sig));
        }
    }
}
