//! Percent-decoding (RFC 3986 section 2.1) of URL paths and query strings.

/// A path segment with its `%XX` escapes decoded; `None` for a bad escape or bytes that are
/// not UTF-8. A `+` stays a `+`.
pub fn decode(s: &str) -> Option<String> {
    decode_with(s, false)
}

/// A query string value (`application/x-www-form-urlencoded`): as [`decode`], and `+` is a
/// space.
pub fn decode_query(s: &str) -> Option<String> {
    decode_with(s, true)
}

fn decode_with(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_plus_and_bad_input() {
        assert_eq!(decode("meta-llama%2FLlama-3+x").as_deref(), Some("meta-llama/Llama-3+x"));
        assert_eq!(decode_query("a+b%20c").as_deref(), Some("a b c"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%ff"), None, "not UTF-8");
    }
}
