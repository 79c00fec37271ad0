//! Leaf values for the schema generator: a seeded random stream, the mock's words, strings
//! and numbers honouring their schema keywords.
//!
//! Strings: `minLength`, `maxLength` (counted in characters; the words are ASCII), and
//! `format` `date-time`, `date`, `time`, `duration`, `email`, `hostname`, `uri`, `uuid`,
//! `ipv4`, `ipv6` (RFC 3339 and the like: <https://json-schema.org/draft/2020-12/json-schema-validation#name-defined-formats>);
//! a format wins over the lengths. Numbers: `minimum`, `maximum`, `exclusiveMinimum`,
//! `exclusiveMaximum` (numbers, or draft-4 booleans qualifying the inclusive bound), and
//! `multipleOf` (an integer's step only when whole). `pattern` is not honoured.

use serde_json::{Map, Value};

/// The longest string made, whatever `minLength` says.
pub const MAX_CHARS: u64 = 10_000;
/// The characters of all strings one call makes, past which `minLength` is not honoured.
pub const MAX_TOTAL_CHARS: u64 = 1_000_000;

/// The mock's vocabulary, for answers and generated strings.
pub const WORDS: &[&str] = &[
    "switchyard",
    "routes",
    "every",
    "request",
    "to",
    "the",
    "right",
    "model",
    "and",
    "keeps",
    "costs",
    "low",
    "while",
    "answers",
    "stay",
    "fast",
    "reliable",
    "cached",
    "tokens",
    "flow",
    "through",
    "edge",
    "gateway",
    "calm",
];

/// A small deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    /// A generator whose outputs depend only on `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// One of the mock's words.
    pub fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len() as u64) as usize]
    }
}

/// Leaf values drawn from one seeded stream, with a budget of string characters.
pub struct Leaves {
    /// The stream every choice is drawn from.
    pub rng: Rng,
    /// String characters left to make.
    chars: u64,
}

impl Leaves {
    /// Leaves drawn from `seed`, with [`MAX_TOTAL_CHARS`] characters of strings to make.
    pub fn new(seed: u64) -> Leaves {
        Leaves { rng: Rng::new(seed), chars: MAX_TOTAL_CHARS }
    }

    /// A string of the mock's words honouring `minLength` and `maxLength`, or one in the
    /// schema's `format` where it is one of the module docs' formats.
    pub fn string(&mut self, s: &Map<String, Value>) -> String {
        if let Some(text) = s.get("format").and_then(Value::as_str).and_then(|f| self.formatted(f)) {
            return text;
        }
        let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0).min(MAX_CHARS).min(self.chars) as usize;
        // The words are ASCII: bytes are characters.
        let mut text = self.rng.word().to_string();
        let mut more = self.rng.below(2);
        while more > 0 || text.len() < min {
            text.push(' ');
            text.push_str(self.rng.word());
            more = 0;
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            text.truncate(max.min(text.len() as u64) as usize);
        }
        self.chars = self.chars.saturating_sub(text.len() as u64);
        text
    }

    /// A string in a well-known `format`; `None` for formats without a generator.
    fn formatted(&mut self, format: &str) -> Option<String> {
        let (month, day, hour, minute) = (1 + self.rng.below(12), 1 + self.rng.below(28), self.rng.below(24), self.rng.below(60));
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        let word = self.rng.word();
        let date = format!("2025-{month:02}-{day:02}");
        let time = format!("{hour:02}:{minute:02}:00Z");
        Some(match format {
            "date-time" => date + "T" + &time,
            "date" => date,
            "time" => time,
            "duration" => format!("PT{}H{minute}M", 1 + hour % 9),
            "email" | "idn-email" => [word, "@example.com"].concat(),
            "hostname" | "idn-hostname" => [word, ".example.com"].concat(),
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => ["https://example.com/", word].concat(),
            "ipv4" => format!("192.0.2.{}", 1 + hour),
            "ipv6" => format!("2001:db8::{:x}", 1 + minute),
            // Version 4, variant 10.
            "uuid" => format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                0x8000 | ((b >> 48) & 0x3fff),
                b & 0xffff_ffff_ffff
            ),
            _ => return None,
        })
    }

    /// A number (or with `integer`, a whole one) honouring the bounds and `multipleOf`.
    pub fn number(&mut self, s: &Map<String, Value>, integer: bool) -> Value {
        let (lo, lo_open) = bound(s, "minimum", "exclusiveMinimum", |x, y| x >= y);
        let (hi, hi_open) = bound(s, "maximum", "exclusiveMaximum", |x, y| x <= y);
        let pick = self.rng.below(100);
        let step = match (integer, s.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0)) {
            (true, Some(m)) if m.fract() == 0.0 => m,
            (true, _) => 1.0,
            (false, Some(m)) => m,
            (false, None) => {
                return Value::from(match (lo, hi) {
                    (Some(l), Some(h)) => l + (h - l) * (1 + pick % 98) as f64 / 100.0,
                    (Some(l), None) => l + 1.0 + pick as f64,
                    (None, Some(h)) => h - 1.0 - pick as f64,
                    (None, None) => pick as f64 + 0.5,
                })
            }
        };
        // A multiple of the step inside the bounds: k × step for a whole k.
        let kmin = lo.map(|l| (l / step).ceil()).map(|k| if lo_open && k * step <= lo.unwrap_or(k) { k + 1.0 } else { k });
        let kmax = hi.map(|h| (h / step).floor()).map(|k| if hi_open && k * step >= hi.unwrap_or(k) { k - 1.0 } else { k });
        let k = match (kmin, kmax) {
            (Some(a), Some(b)) if b >= a => a + (pick % ((b - a).min(1e15) as u64 + 1)) as f64,
            (Some(a), _) => a + pick as f64,
            (None, Some(b)) => b - pick as f64,
            (None, None) => 1.0 + pick as f64,
        };
        if integer {
            Value::from((k * step).clamp(i64::MIN as f64, i64::MAX as f64) as i64)
        } else {
            Value::from(k * step)
        }
    }
}

/// A bound and whether it is exclusive, from the inclusive keyword and the exclusive one
/// (a number, or a draft-4 boolean qualifying the inclusive one); the tighter wins.
fn bound(s: &Map<String, Value>, inclusive: &str, exclusive: &str, tighter: fn(f64, f64) -> bool) -> (Option<f64>, bool) {
    let mut b = s.get(inclusive).and_then(Value::as_f64).map(|v| (v, false));
    match s.get(exclusive) {
        Some(Value::Bool(true)) => b = b.map(|(v, _)| (v, true)),
        Some(v) => {
            if let Some(x) = v.as_f64().filter(|x| b.is_none_or(|(y, _)| tighter(*x, y))) {
                b = Some((x, true));
            }
        }
        None => {}
    }
    (b.map(|b| b.0), b.is_some_and(|b| b.1))
}
