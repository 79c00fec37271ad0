//! Writing systems by Unicode block: which script a character belongs to, for the `script`
//! quality gate (README, "Cascade"). No Unicode tables beyond the block ranges below: a
//! script here is the union of its main blocks
//! (<https://www.unicode.org/charts/>, <https://www.unicode.org/Public/UCD/latest/ucd/Blocks.txt>),
//! not the exact `Script` property, which is close enough to tell a Russian answer from an
//! English one.
//!
//! A character is a **letter** for the share unless it is neutral: whitespace, control, ASCII
//! punctuation and digits, Latin-1 punctuation and signs, spacing modifiers, combining marks,
//! general punctuation and symbols (U+2000–U+2BFF, U+2E00–U+2E7F), CJK punctuation, variation
//! selectors, half- and full-width punctuation and digits, private use, and emoji and pictographs
//! (U+1F000 and up to U+1FAFF). Letters of a script not listed here count against every script.

/// The scripts a gate may name, with their blocks (inclusive code point ranges).
pub const SCRIPTS: &[(&str, &[(u32, u32)])] = &[
    (
        "Latin",
        &[
            (0x41, 0x5A),
            (0x61, 0x7A),
            (0xC0, 0xD6),
            (0xD8, 0xF6),
            (0xF8, 0x2AF),
            (0x1D00, 0x1D7F),
            (0x1E00, 0x1EFF),
            (0x2C60, 0x2C7F),
            (0xA720, 0xA7FF),
            (0xAB30, 0xAB6F),
            (0xFB00, 0xFB06),
            (0xFF21, 0xFF3A),
            (0xFF41, 0xFF5A),
        ],
    ),
    ("Greek", &[(0x370, 0x3FF), (0x1F00, 0x1FFF)]),
    ("Cyrillic", &[(0x400, 0x52F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)]),
    ("Armenian", &[(0x530, 0x58F), (0xFB13, 0xFB17)]),
    ("Hebrew", &[(0x590, 0x5FF), (0xFB1D, 0xFB4F)]),
    ("Arabic", &[(0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)]),
    ("Devanagari", &[(0x900, 0x97F), (0xA8E0, 0xA8FF)]),
    ("Bengali", &[(0x980, 0x9FF)]),
    ("Tamil", &[(0xB80, 0xBFF)]),
    ("Thai", &[(0xE00, 0xE7F)]),
    ("Georgian", &[(0x10A0, 0x10FF), (0x1C90, 0x1CBF), (0x2D00, 0x2D2F)]),
    ("Hangul", &[(0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xFFA0, 0xFFDC)]),
    ("Hiragana", &[(0x3040, 0x309F)]),
    ("Katakana", &[(0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)]),
    (
        "Han",
        &[(0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF)],
    ),
];

/// Code points that are not letters of any script (see the module docs); ASCII is decided
/// before this list is read.
const NEUTRAL: &[(u32, u32)] = &[
    (0x80, 0xBF),
    (0xD7, 0xD7),
    (0xF7, 0xF7),
    (0x2B0, 0x36F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x2000, 0x2BFF),
    (0x2E00, 0x2E7F),
    (0x3000, 0x3004),
    (0x3008, 0x3020),
    (0x3030, 0x303F),
    (0xE000, 0xF8FF),
    (0xFE00, 0xFE6F),
    (0xFF00, 0xFF20),
    (0xFF3B, 0xFF40),
    (0xFF5B, 0xFF65),
    (0xFFE0, 0xFFFF),
    (0x1F000, 0x1FAFF),
];

/// The scripts named by `spec`: one name, or several joined with `+`
/// (`Han+Hiragana+Katakana` for Japanese); `None` when a name is unknown.
pub fn parse(spec: &str) -> Option<Vec<&'static [(u32, u32)]>> {
    spec.split('+').map(|name| SCRIPTS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, r)| *r)).collect()
}

/// `(letters in any of scripts, letters)` of `text`.
pub fn count(text: &str, scripts: &[&[(u32, u32)]]) -> (u64, u64) {
    let within = |c: u32, ranges: &[(u32, u32)]| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
    let (mut hits, mut letters) = (0, 0);
    for ch in text.chars() {
        let c = ch as u32;
        let letter = match c {
            0..=0x7F => ch.is_ascii_alphabetic(),
            _ => !ch.is_whitespace() && !ch.is_control() && !within(c, NEUTRAL),
        };
        if letter {
            letters += 1;
            hits += u64::from(scripts.iter().any(|r| within(c, r)));
        }
    }
    (hits, letters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(text: &str, spec: &str) -> f64 {
        let (hits, letters) = count(text, &parse(spec).unwrap());
        hits as f64 / letters as f64
    }

    #[test]
    fn real_text_is_told_apart() {
        let ru = "Столица Франции — Париж. Через него протекает Сена, около 2,1 млн жителей.";
        let en = "The capital of France is Paris; the Seine runs through it (about 2.1 million people).";
        let ja = "フランスの首都はパリです。セーヌ川が流れています。";
        let zh = "法国的首都是巴黎，塞纳河流经这座城市。";
        let ar = "عاصمة فرنسا هي باريس، ويمر بها نهر السين.";
        let hi = "फ़्रांस की राजधानी पेरिस है।";
        let ko = "프랑스의 수도는 파리입니다.";
        let el = "Η πρωτεύουσα της Γαλλίας είναι το Παρίσι.";
        let de = "Die Hauptstadt Frankreichs ist Paris – an der Seine, mit über 2 Mio. Einwohnern. Größe: ähnlich.";
        assert_eq!(share(ru, "Cyrillic"), 1.0);
        assert_eq!(share(en, "Latin"), 1.0);
        assert_eq!(share(de, "Latin"), 1.0);
        assert_eq!(share(ja, "Han+Hiragana+Katakana"), 1.0);
        assert!(share(ja, "Han") < 0.5);
        assert_eq!(share(zh, "Han"), 1.0);
        assert_eq!(share(ar, "arabic"), 1.0);
        assert_eq!(share(hi, "Devanagari"), 1.0);
        assert_eq!(share(ko, "Hangul"), 1.0);
        assert_eq!(share(el, "Greek"), 1.0);
        assert_eq!(share(ru, "Latin"), 0.0);
        assert_eq!(share(en, "Cyrillic"), 0.0);
        let mixed = "Используйте API и JSON для запроса.";
        assert!((0.75..0.9).contains(&share(mixed, "Cyrillic")), "{}", share(mixed, "Cyrillic"));
    }

    #[test]
    fn neutral_characters_are_not_letters() {
        assert_eq!(count("42 + 7 = 49! «» — … ✓ 🙂 ０１", &parse("Latin").unwrap()), (0, 0));
        assert_eq!(count("café\u{301}", &parse("Latin").unwrap()), (4, 4));
        assert_eq!(count("ok ข", &parse("Latin").unwrap()), (2, 3), "a script not asked for counts against");
    }

    #[test]
    fn names_are_known_or_refused() {
        assert_eq!(parse("Latin").map(|s| s.len()), Some(1));
        assert_eq!(parse("Han + Katakana").map(|s| s.len()), Some(2));
        assert!(parse("Klingon").is_none());
        assert!(parse("Latin+").is_none());
    }
}
