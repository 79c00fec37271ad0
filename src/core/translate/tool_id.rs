//! Tool-call ids across vendors. Anthropic requires `tool_use.id` and `tool_result.tool_use_id`
//! to match `^[a-zA-Z0-9_-]+$` (<https://docs.anthropic.com/en/api/messages>), while
//! OpenAI-compatible servers issue ids such as `functions.Bash:0` (Kimi, some vLLM parsers).
//!
//! Invariant: canonical messages always carry the id as its issuer wrote it. Everything
//! Anthropic-facing (an Anthropic upstream's request, an Anthropic caller's answer and stream)
//! writes [`to_anthropic`]; the Anthropic caller's request is read back with
//! [`from_anthropic`]. The mapping is a bijection: `from_anthropic(to_anthropic(x)) == x` for
//! every string, so a conversation can move between vendors in either direction.

/// Marks an id rewritten by [`to_anthropic`]: the prefix, then the original's UTF-8 bytes in
/// lowercase hex.
const PREFIX: &str = "swid-";

/// Whether `b` may appear in an Anthropic tool id (`[A-Za-z0-9_-]`).
pub(crate) fn id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn anthropic_valid(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(id_char)
}

/// The id as Anthropic accepts it: unchanged when it already matches Anthropic's pattern (and
/// does not begin with the marker), otherwise the marker and the id in hex.
pub fn to_anthropic(id: &str) -> String {
    if anthropic_valid(id) && !id.starts_with(PREFIX) {
        id.to_string()
    } else {
        format!("{PREFIX}{}", hex::encode(id))
    }
}

/// The original id of one written by [`to_anthropic`]; any other id unchanged.
pub fn from_anthropic(id: &str) -> String {
    id.strip_prefix(PREFIX).and_then(|h| hex::decode(h).ok()).and_then(|b| String::from_utf8(b).ok()).unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_ids_pass_unchanged() {
        for id in ["toolu_01A09q90qw90lq917835lq9", "call_abc-123", "a"] {
            assert_eq!(to_anthropic(id), id);
            assert_eq!(from_anthropic(id), id);
        }
    }

    #[test]
    fn invalid_ids_are_rewritten_to_the_pattern_and_back() {
        let id = "functions.Bash:0";
        let mapped = to_anthropic(id);
        assert_eq!(mapped, "swid-66756e6374696f6e732e426173683a30");
        assert!(anthropic_valid(&mapped));
        assert_eq!(from_anthropic(&mapped), id);
        assert_eq!(to_anthropic(""), "swid-");
        assert_eq!(from_anthropic("swid-"), "");
    }

    #[test]
    fn an_id_that_looks_rewritten_is_itself_rewritten() {
        let id = "swid-41";
        assert_ne!(to_anthropic(id), id);
        assert_eq!(from_anthropic(&to_anthropic(id)), id);
        // Not hex, or not UTF-8: no rewritten id looks like this, so it is read unchanged.
        assert_eq!(from_anthropic("swid-zz"), "swid-zz");
        assert_eq!(from_anthropic("swid-ff"), "swid-ff");
    }

    proptest! {
        #[test]
        fn round_trip_for_any_string(id in ".{0,40}") {
            let mapped = to_anthropic(&id);
            prop_assert!(mapped.bytes().all(id_char));
            prop_assert_eq!(from_anthropic(&mapped), id);
        }
    }
}
