use serde_json::Value;

/// The same tokens through this crate's `json!` and serde_json's.
macro_rules! both {
    ($($t:tt)+) => {
        (crate::json!($($t)+), serde_json::json!($($t)+))
    };
}

const KEY: &str = "const-key";

#[test]
fn literals_arrays_and_objects_match_serde_jsons() {
    let name = String::from("k2");
    let n = 7u64;
    let opt: Option<&str> = None;
    let cases: Vec<(Value, Value)> = vec![
        both!(null),
        both!(true),
        both!([]),
        both!({}),
        both!([1, "a", null, false, [2.5], {"x": -3}]),
        both!({"a": 1, "b": [true, {"c": null}], "d": {}, "e": n, "f": opt, "g": name.as_str()}),
        both!({(name.clone()): 1, name.as_str(): 2, "z": format!("{n}")}),
        both!({"dup": 1, "dup": 2}),
        both!({"t": (n, "x"), "v": vec![1u8, 2], "s": "q\"uote",}),
        both!({"path": serde_json::Value::Null, "i": [n + 1, n * 2,], "m": (1..3u64).map(|x| x + n).collect::<Vec<_>>()}),
        both!([{"a": {"b": [[], {}, [null]]}}, (n, n), if n > 1 { "big" } else { "small" }]),
        both!({KEY: 1, "nested": {"k": {"k": {"k": name.len() + opt.map_or(0, str::len)}}}}),
    ];
    for (ours, theirs) in cases {
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
    }
}

#[test]
fn a_later_duplicate_key_replaces_the_earlier() {
    assert_eq!(crate::json!({"k": 1, "k": "two"})["k"], "two");
}
