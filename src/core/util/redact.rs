//! Exact-secret redaction: the secret values the worker holds (provider keys, the admin key,
//! the token signing secret), and recognisable pieces of them, cut out of text before it
//! reaches a caller or a log.
//!
//! A piece of a secret `s` is:
//! - `s` itself, whatever its length;
//! - any substring of `s` of at least [`MIN_PIECE`] bytes;
//! - a prefix or a suffix of `s` of at least [`MIN_EDGE`] bytes: how providers print a key
//!   they refuse (OpenAI's `sk-abc…wxyz`, `sk-proj-****1234`).
//!
//! Invariant: the text [`Redactor::redact`] returns holds no piece of any secret. Each run of
//! matched bytes (widened to whole characters) becomes one [`MARKER`]; should the result still
//! hold a piece (a secret that is part of the marker, or a marker next to text that completes
//! one), the result is the empty string.
//!
//! A redactor is built once per isolate, as its secrets are set, and shared by reference count:
//! cloning one is cheap. Its `Debug` never prints a secret.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;

/// Any substring of a secret this long (in bytes) or longer is redacted.
pub const MIN_PIECE: usize = 12;
/// A prefix or suffix of a secret this long (in bytes) or longer is redacted.
pub const MIN_EDGE: usize = 6;
/// What a redacted run becomes.
pub const MARKER: &str = "[redacted]";

/// The secrets to cut out of text, with the patterns that find their pieces.
#[derive(Clone, Default)]
pub struct Redactor(Rc<Patterns>);

#[derive(Clone, Default)]
struct Patterns {
    /// Every secret, once.
    secrets: Vec<Box<[u8]>>,
    /// Every [`MIN_PIECE`]-byte window of every secret, sorted, without repeats.
    windows: Vec<[u8; MIN_PIECE]>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.0.secrets.len())
    }
}

impl Redactor {
    /// A redactor for `secrets`.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Redact `secret` too (an empty one is ignored).
    pub fn add(&mut self, secret: &str) {
        let bytes = secret.as_bytes();
        if bytes.is_empty() || self.0.secrets.iter().any(|s| **s == *bytes) {
            return;
        }
        let p = Rc::make_mut(&mut self.0);
        p.secrets.push(bytes.into());
        for w in bytes.windows(MIN_PIECE) {
            let mut window = [0u8; MIN_PIECE];
            window.copy_from_slice(w);
            // Kept sorted by insertion: a sort would add its own code to the module for a list
            // of a few hundred entries made once per isolate.
            if let Err(at) = p.windows.binary_search(&window) {
                p.windows.insert(at, window);
            }
        }
    }

    /// Whether there is no secret to redact.
    pub fn is_empty(&self) -> bool {
        self.0.secrets.is_empty()
    }

    /// Whether `text` holds a piece of a secret.
    pub fn finds(&self, text: &str) -> bool {
        !self.find(text.as_bytes()).is_empty()
    }

    /// `text` with every piece of a secret replaced by [`MARKER`] (borrowed when it holds none).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.is_empty() {
            return Cow::Borrowed(text);
        }
        let runs = self.find(text.as_bytes());
        if runs.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (mut start, mut end) in runs {
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            if start < last {
                // Widening joined it to the run before: one marker covers both.
                last = last.max(end);
                continue;
            }
            out.push_str(&text[last..start]);
            out.push_str(MARKER);
            last = end;
        }
        out.push_str(&text[last..]);
        if self.finds(&out) {
            out.clear();
        }
        Cow::Owned(out)
    }

    /// The byte ranges of `text` that hold a piece of a secret: in order, with runs that
    /// overlap or touch joined.
    fn find(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let p = &*self.0;
        let mut hit = vec![false; text.len()];
        let mut mark = |start: usize, end: usize| hit[start..end].iter_mut().for_each(|h| *h = true);
        for s in &p.secrets {
            if s.len() < MIN_EDGE {
                // Longer secrets are found whole as their longest prefix.
                occurrences(text, s).for_each(|at| mark(at, at + s.len()));
                continue;
            }
            for at in occurrences(text, &s[..MIN_EDGE]) {
                mark(at, at + common_prefix(&text[at..], s));
            }
            for at in occurrences(text, &s[s.len() - MIN_EDGE..]) {
                let end = at + MIN_EDGE;
                mark(end - common_suffix(&text[..end], s), end);
            }
        }
        if !p.windows.is_empty() && text.len() >= MIN_PIECE {
            for at in 0..=text.len() - MIN_PIECE {
                if p.windows.binary_search_by(|w| w[..].cmp(&text[at..at + MIN_PIECE])).is_ok() {
                    mark(at, at + MIN_PIECE);
                }
            }
        }
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (at, _) in hit.iter().enumerate().filter(|(_, h)| **h) {
            match runs.last_mut() {
                Some(run) if run.1 == at => run.1 = at + 1,
                _ => runs.push((at, at + 1)),
            }
        }
        runs
    }
}

/// Where `needle` (not empty) starts in `hay`.
fn occurrences<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len()).enumerate().filter(move |(_, w)| *w == needle).map(|(at, _)| at)
}

/// How many bytes `a` and `b` share at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// How many bytes `a` and `b` share at their end.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPENAI: &str = "sk-proj-Hq3vX9mZ2kLw8RtY4nBc6DfG1aJe5PsU7oKi0Tz";

    /// Every piece of `secret` the invariant covers, by characters: the secret, its substrings
    /// of `MIN_PIECE` characters (any longer one contains one), its prefixes and suffixes of
    /// `MIN_EDGE` characters and more.
    fn pieces(secret: &str) -> Vec<String> {
        let chars: Vec<char> = secret.chars().collect();
        let n = chars.len();
        let take = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
        let mut out = vec![secret.to_string()];
        out.extend((0..n.saturating_sub(MIN_PIECE - 1)).map(|i| take(i, i + MIN_PIECE)));
        for len in (1..=n).filter(|&len| secret.len() >= MIN_EDGE && take(0, len).len() >= MIN_EDGE) {
            out.push(take(0, len));
        }
        for len in (1..=n).filter(|&len| secret.len() >= MIN_EDGE && take(n - len, n).len() >= MIN_EDGE) {
            out.push(take(n - len, n));
        }
        out
    }

    fn leaks(secret: &str, text: &str) -> Option<String> {
        pieces(secret).into_iter().find(|p| text.contains(p.as_str()))
    }

    #[test]
    fn provider_echoes_lose_the_key_and_its_printed_forms() {
        let r = Redactor::new([OPENAI, "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "sk-ant-api03-Zx1Yw2Vu3Ts4Rq5Po6Nm7Lk8-AAAA"]);
        let cases = [
            (format!("Incorrect API key provided: {OPENAI}."), "Incorrect API key provided: [redacted]."),
            ("Incorrect API key provided: sk-proj-****1234.".into(), "Incorrect API key provided: [redacted]****1234."),
            (
                "Incorrect API key provided: sk-proj-Hq3v*********oKi0Tz.".into(),
                "Incorrect API key provided: [redacted]*********[redacted].",
            ),
            ("key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&alt=sse".into(), "key=[redacted]&alt=sse"),
            ("API key not valid: AIzaSyD-9tSr…FMBWY".into(), "API key not valid: [redacted]…FMBWY"),
            ("the key ends in ...0jkFMBWY".into(), "the key ends in ...[redacted]"),
            ("middle: Po6Nm7Lk8-AAA (truncated)".into(), "middle: [redacted] (truncated)"),
            ("x-api-key header is invalid".into(), "x-api-key header is invalid"),
        ];
        for (text, want) in cases {
            assert_eq!(r.redact(&text), want, "{text}");
        }
    }

    #[test]
    fn nothing_to_redact_borrows() {
        let r = Redactor::new([OPENAI]);
        assert!(matches!(r.redact("model not found"), Cow::Borrowed(_)));
        assert!(matches!(Redactor::default().redact(OPENAI), Cow::Borrowed(_)));
    }

    #[test]
    fn short_secrets_are_redacted_whole_and_runs_join() {
        let r = Redactor::new(["abc", "", "abc"]);
        assert_eq!(r.redact("xabcabcx abc"), "x[redacted]x [redacted]");
        assert_eq!(format!("{r:?}"), "Redactor(1 secrets)");
    }

    #[test]
    fn multibyte_secrets_never_leave_half_a_character() {
        let secret = "clé-secrète-ünïcödé-42";
        let r = Redactor::new([secret]);
        let text = format!("a {} b", &secret[1..]);
        let out = r.redact(&text);
        assert_eq!(leaks(secret, &out), None, "{out}");
        assert!(out.starts_with("a ") && out.ends_with(" b"), "{out}");
    }

    #[test]
    fn a_secret_inside_the_marker_empties_the_text() {
        let r = Redactor::new(["redact"]);
        assert_eq!(r.redact("please redact this"), "");
    }

    #[test]
    fn the_debug_form_names_no_secret() {
        assert!(!format!("{:?}", Redactor::new([OPENAI])).contains("sk-"));
    }

    fn secret() -> impl Strategy<Value = String> {
        prop_oneof!["(sk-|sk-proj-|AIza|sk-ant-api03-)?[A-Za-z0-9_-]{1,64}", "[ -~]{1,40}", "[a-zé€🔑 0-9]{1,24}",]
    }

    /// Text around and between pieces of the secrets: the pieces themselves, cut anywhere.
    fn text_with_pieces(secrets: Vec<String>) -> impl Strategy<Value = (Vec<String>, String)> {
        let n = secrets.len();
        let parts = proptest::collection::vec(("[ -~é]{0,12}", 0..n, any::<usize>(), any::<usize>()), 0..8);
        parts.prop_map(move |parts| {
            let mut text = String::new();
            for (filler, which, a, b) in parts {
                text.push_str(&filler);
                let chars: Vec<char> = secrets[which].chars().collect();
                let (mut a, mut b) = (a % (chars.len() + 1), b % (chars.len() + 1));
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                let cut = if (a + b) % 3 == 0 { 0..chars.len() } else { a..b };
                text.extend(&chars[cut]);
            }
            (secrets.clone(), text)
        })
    }

    proptest! {
        #[test]
        fn the_output_holds_no_piece_of_any_secret(
            (secrets, text) in proptest::collection::vec(secret(), 1..4).prop_flat_map(text_with_pieces)
        ) {
            let r = Redactor::new(secrets.iter().map(String::as_str));
            let out = r.redact(&text);
            for s in &secrets {
                prop_assert_eq!(leaks(s, &out), None, "secret {:?} in {:?} -> {:?}", s, text, out);
            }
        }

        #[test]
        fn text_without_secret_material_is_unchanged(text in "[a-z ]{0,80}", secret in "[A-Z0-9]{6,40}") {
            prop_assert_eq!(Redactor::new([secret.as_str()]).redact(&text), text.as_str());
        }
    }
}
