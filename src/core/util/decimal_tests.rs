use super::*;
use proptest::prelude::*;

/// Both readings agree: the same acceptance, and the same value (NaN for NaN).
fn same(s: &str) -> bool {
    match (parse_f64(s), s.parse::<f64>().ok()) {
        (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
        (a, b) => a.is_none() && b.is_none(),
    }
}

#[test]
fn the_forms_str_parse_accepts_and_refuses() {
    for s in [
        "0",
        "-0",
        "+0",
        "1",
        "120",
        "1.5",
        ".5",
        "5.",
        "-2.25",
        "+3",
        "1e3",
        "1E3",
        "1e+3",
        "2.5e-3",
        "0.001",
        "inf",
        "-Infinity",
        "NaN",
        "+nan",
        "INF",
        "86400000",
        "1e400",
        "1e-400",
        "007",
        "0.0000000001",
    ] {
        assert!(parse_f64(s).is_some(), "{s}");
        assert!(same(s), "{s}");
    }
    for s in
        ["", "-", "+", ".", "e3", "1e", "1e+", "1.2.3", " 1", "1 ", "1_000", "0x10", "1s", "infinit", "nana", "--1", "+-1", "1e3.5", "١"]
    {
        assert_eq!(parse_f64(s), None, "{s}");
        assert!(same(s), "{s}");
    }
}

#[test]
fn long_numbers_come_close() {
    for s in ["123456789012345678901234567890", "0.1234567890123456789012345", "9007199254740993", "1e-300", "1.7976931348623157e308"] {
        let (a, b) = (parse_f64(s).unwrap(), s.parse::<f64>().unwrap());
        assert!((a - b).abs() <= b.abs() * 1e-14, "{s}: {a} vs {b}");
    }
}

proptest! {
    #[test]
    fn the_fast_path_is_exact(int in "[0-9]{0,8}", frac in proptest::option::of("[0-9]{0,7}"), exp in proptest::option::of(-9i32..10), sign in "[+-]?") {
        let mut s = format!("{sign}{int}");
        if let Some(f) = &frac {
            s.push('.');
            s.push_str(f);
        }
        if let Some(e) = exp {
            s.push_str(&format!("e{e}"));
        }
        prop_assert!(same(&s), "{}", s);
    }
}
