//! The lean impls against serde's derive: for every input, the same value or the same error
//! message (positions included), except the array form the derive also reads.

use serde::Deserialize;

fn seven() -> u8 {
    7
}

/// The derive's reading of a strict record, as the reference.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Derived {
    name: String,
    #[serde(default)]
    n: u32,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default = "seven")]
    s: u8,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(skip)]
    x: u8,
}

#[derive(Debug, PartialEq)]
struct Lean {
    name: String,
    n: u32,
    kind: Option<String>,
    s: u8,
    tags: Vec<String>,
    x: u8,
}

crate::de_struct!(Lean as "struct Derived", required, deny {
    name,
    n: default,
    kind as "type": default,
    s: default(seven()),
    tags: default,
} skip { x = 0 });

/// The derive's reading of a lenient record with a container default.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(default)]
struct DerivedLoose {
    a: u64,
    b: Option<bool>,
    inner: Option<Derived>,
}

impl Default for DerivedLoose {
    fn default() -> Self {
        DerivedLoose { a: 42, b: Some(true), inner: None }
    }
}

#[derive(Debug, PartialEq)]
struct LeanLoose {
    a: u64,
    b: Option<bool>,
    inner: Option<Lean>,
}

impl Default for LeanLoose {
    fn default() -> Self {
        LeanLoose { a: 42, b: Some(true), inner: None }
    }
}

crate::de_struct!(LeanLoose as "struct DerivedLoose", default, skip { a, b, inner });

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum DerivedKind {
    One,
    TwoWords,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    One,
    TwoWords,
}

crate::de_enum!(Kind { One = "one", TwoWords = "two-words" });

/// Both readings of `text`, each as its value's or error's text, with the derived value
/// mapped onto the lean type's shape.
fn both<D, L>(text: &str, map: impl Fn(D) -> L) -> (String, String)
where
    D: for<'de> Deserialize<'de>,
    L: for<'de> Deserialize<'de> + std::fmt::Debug,
{
    let derived = serde_json::from_str::<D>(text).map(&map);
    let lean = serde_json::from_str::<L>(text);
    let show = |r: Result<L, serde_json::Error>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error: {e}"),
    };
    (show(derived), show(lean))
}

fn lean_of(d: Derived) -> Lean {
    Lean { name: d.name, n: d.n, kind: d.kind, s: d.s, tags: d.tags, x: d.x }
}

fn loose_of(d: DerivedLoose) -> LeanLoose {
    LeanLoose { a: d.a, b: d.b, inner: d.inner.map(lean_of) }
}

const STRICT: &[&str] = &[
    r#"{"name": "a"}"#,
    r#"{"name": "a", "n": 3, "type": "t", "s": 1, "tags": ["x", "y"]}"#,
    r#"{"type": null, "name": "a", "n": 3}"#,
    r#"{}"#,
    r#"{"n": 1}"#,
    r#"{"name": "a", "name": "b"}"#,
    "{\n  \"name\": \"a\",\n  \"nmae\": 1\n}",
    r#"{"name": "a", "x": 1}"#,
    r#"{"name": "a", "kind": "t"}"#,
    r#"{"name": 5}"#,
    r#"{"name": "a", "n": -1}"#,
    r#"{"name": "a", "n": 1.5}"#,
    r#"{"name": "a", "n": 5000000000}"#,
    r#"{"name": "a", "s": 300}"#,
    r#"{"name": "a", "tags": "x"}"#,
    r#"{"name": "a", "tags": [1]}"#,
    r#"{"name": null}"#,
    r#"{"name": "a", "n": null}"#,
    r#"{"name": "a",}"#,
    r#"{"name": "a""#,
    r#""name""#,
    r#"17"#,
    r#"null"#,
    r#"{"name": "a"} x"#,
];

#[test]
fn strict_records_read_and_fail_as_the_derive_does() {
    for text in STRICT {
        let (derived, lean) = both::<Derived, Lean>(text, lean_of);
        assert_eq!(derived, lean, "{text}");
    }
}

#[test]
fn lenient_records_with_a_container_default_read_as_the_derive_does() {
    for text in [
        r#"{}"#,
        r#"{"a": 1}"#,
        r#"{"b": null, "zzz": {"deep": [1, 2, {"x": null}]}, "a": 5}"#,
        r#"{"inner": {"name": "q", "type": "t"}}"#,
        r#"{"inner": {"name": "q", "bad": 1}}"#,
        r#"{"inner": {}}"#,
        r#"{"inner": null, "b": false}"#,
        r#"{"a": 1, "a": 2}"#,
        r#"{"a": "1"}"#,
        r#"[]"#,
    ] {
        let (derived, lean) = both::<DerivedLoose, LeanLoose>(text, loose_of);
        if text.starts_with('[') {
            assert_eq!(lean, "error: invalid type: sequence, expected struct DerivedLoose at line 1 column 0");
        } else {
            assert_eq!(derived, lean, "{text}");
        }
    }
}

#[test]
fn unit_enums_read_as_the_derive_does() {
    let kind_of = |k: DerivedKind| match k {
        DerivedKind::One => Kind::One,
        DerivedKind::TwoWords => Kind::TwoWords,
    };
    for text in [r#""one""#, r#""two-words""#, r#""TwoWords""#, r#""three""#, r#"{"one": null}"#, r#"{"one": 1}"#, "1", "null", "[]"] {
        let (derived, lean) = both::<DerivedKind, Kind>(text, kind_of);
        let (derived, lean) = (derived.replace("DerivedKind", "Kind"), lean);
        assert_eq!(derived, lean, "{text}");
    }
}

#[test]
fn the_array_form_is_refused() {
    assert!(serde_json::from_str::<Derived>(r#"["a", 1, null, 2, []]"#).is_ok(), "the derive reads arrays");
    let e = serde_json::from_str::<Lean>(r#"["a", 1, null, 2, []]"#).unwrap_err();
    assert_eq!(e.to_string(), "invalid type: sequence, expected struct Derived at line 1 column 0");
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DerivedOp {
    Unit,
    Wrap(Derived),
    Pair { a: u32, b: String },
}

#[derive(Debug, PartialEq)]
enum Op {
    Unit,
    Wrap(Lean),
    Pair { a: u32, b: String },
}

crate::de_variants!(Op { Unit = "unit", Wrap = "wrap" (Lean), Pair = "pair" { a: u32, b: String } });

#[test]
fn tagged_enums_read_as_the_derive_does() {
    let op_of = |o: DerivedOp| match o {
        DerivedOp::Unit => Op::Unit,
        DerivedOp::Wrap(d) => Op::Wrap(lean_of(d)),
        DerivedOp::Pair { a, b } => Op::Pair { a, b },
    };
    for text in [
        r#""unit""#,
        r#"{"unit": null}"#,
        r#"{"unit": 1}"#,
        r#""wrap""#,
        r#"{"wrap": {"name": "n"}}"#,
        r#"{"wrap": {"name": "n", "bad": 1}}"#,
        r#"{"wrap": null}"#,
        r#"{"pair": {"a": 1, "b": "x"}}"#,
        r#"{"pair": {"a": 1, "b": "x", "c": [1]}}"#,
        r#"{"pair": {"a": 1}}"#,
        r#"{"pair": {"a": 1, "a": 2, "b": "x"}}"#,
        r#"{"pair": {"a": -1, "b": "x"}}"#,
        r#"{"pair": 5}"#,
        r#"{"pear": {}}"#,
        r#"{"pair": {"a": 1, "b": "x"}, "unit": null}"#,
        r#"{}"#,
        "7",
    ] {
        let (derived, lean) = both::<DerivedOp, Op>(text, op_of);
        assert_eq!(derived.replace("DerivedOp", "Op"), lean, "{text}");
    }
}

/// serde_json's `raw_value` feature is off: nothing uses `RawValue`, and with it on every
/// `Value` read carried a second, `&str`-reading copy of the whole `Value` deserializer (for
/// objects whose first key is its private token, which are read as ordinary objects now).
#[test]
fn serde_json_reads_its_raw_value_token_as_an_ordinary_key() {
    let v: serde_json::Value = serde_json::from_slice(br#"{"$serde_json::private::RawValue": "[1]"}"#).unwrap();
    assert_eq!(v["$serde_json::private::RawValue"], "[1]");
}
