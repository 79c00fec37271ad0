//! Surgical edits of a JSON object's text: remove one top-level member and keep every other
//! byte as it was (key order, spacing, number spelling). serde_json without `preserve_order`
//! would sort the keys of anything it re-serialises, so a pass-through that must stay
//! byte-faithful edits the text instead.
//!
//! The input is assumed to be valid JSON (callers parse it first); on anything unexpected the
//! functions return `None` rather than guess.

/// One member of the top-level object: its key as written, where the key starts and where
/// its value ends (exclusive, trailing whitespace not included).
struct Member<'a> {
    key: &'a str,
    start: usize,
    end: usize,
}

/// Skip whitespace from `i`.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index just past the string that opens at `i` (a `"`), escapes honoured.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The index just past the value that starts at `i`: a string, or everything up to the
/// `,` or `}`/`]` that closes it at its own level.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    let mut last = i;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = string_end(b, j)?;
                last = j;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return Some(last),
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => return Some(last),
            c if c.is_ascii_whitespace() => {
                j += 1;
                continue;
            }
            _ => {}
        }
        j += 1;
        last = j;
    }
    None
}

/// The members of the top-level object in `json`, in order.
fn members(json: &str) -> Option<Vec<Member<'_>>> {
    let b = json.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i)?;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let v = skip_ws(b, colon + 1);
        let end = value_end(b, v)?;
        out.push(Member { key: json.get(i + 1..key_end - 1)?, start: i, end });
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

/// `json` without its top-level member `key` (and the comma that separated it); every other
/// byte unchanged. `None` when there is no such member or the text is not an object.
pub fn without_member(json: &str, key: &str) -> Option<String> {
    let list = members(json)?;
    let at = list.iter().position(|m| m.key == key)?;
    let (from, to) = match (at.checked_sub(1), list.get(at + 1)) {
        (Some(prev), _) => (list[prev].end, list[at].end),
        (None, Some(next)) => (list[at].start, next.start),
        (None, None) => (list[at].start, list[at].end),
    };
    let mut out = String::with_capacity(json.len());
    out.push_str(json.get(..from)?);
    out.push_str(json.get(to..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_member_wherever_it_stands() {
        let cases = [
            (r#"{"a":1,"usage":{"x":[1,{"y":"}"}]},"b":2}"#, r#"{"a":1,"b":2}"#),
            (r#"{"usage":{"x":1}, "b":2}"#, r#"{"b":2}"#),
            (r#"{"a":"x,\"usage\":1" , "usage" : null }"#, r#"{"a":"x,\"usage\":1" }"#),
            (r#"{ "usage":3 }"#, r#"{  }"#),
            (r#"{"b":1.50e1,"usage":{},"c":[ ]}"#, r#"{"b":1.50e1,"c":[ ]}"#),
        ];
        for (input, want) in cases {
            assert_eq!(without_member(input, "usage").as_deref(), Some(want), "{input}");
            assert!(serde_json::from_str::<serde_json::Value>(want).is_ok(), "{want}");
        }
    }

    #[test]
    fn nested_keys_and_absent_keys_are_left_alone() {
        assert_eq!(without_member(r#"{"a":{"usage":1}}"#, "usage"), None);
        assert_eq!(without_member("[1]", "usage"), None);
        assert_eq!(without_member("{}", "usage"), None);
    }
}
