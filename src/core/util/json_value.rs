//! The crate's [`json!`](crate::json) macro: the syntax of serde_json's `json!`, and the same
//! values, in less code at each use.
//!
//! Why: serde_json's macro writes out, at every member of every object literal, a copy of the
//! key into a new `String`, an `insert` and the drop of what it returns, and at every embedded
//! expression a `to_value(..).unwrap()` with a panic location of its own. With a few hundred
//! members in the gateway's wire formats, that came to kilobytes of wasm. Here a member is one
//! call of [`put`], and an expression one call of [`to_value`], shared by every use of a type.
//!
//! How: a literal list or object is split at its top-level commas (and an object's members at
//! their first top-level colon) by taking one token tree at a time; each element, and each
//! member's value, is then made by `json!` again. Commas and colons inside brackets, braces or
//! parentheses belong to one token tree, so they never split. Two limits follow: a value's
//! expression may not hold a top-level comma outside such a group (a closure's `|a, b|`, a
//! turbofish's `::<A, B>`: wrap it in parentheses), and a key may not hold a top-level `:`
//! (paths are fine: `::` is one token).
//!
//! Invariants: for the same tokens, `json!` here builds the `Value` serde_json's builds (a
//! later duplicate key replaces an earlier one); `json_value_tests.rs` compares the two.
//! Reference: <https://docs.rs/serde_json/latest/serde_json/macro.json.html>.

use serde::Serialize;
use serde_json::{Map, Value};

/// Sets `map[key] = value`: one member of an object literal.
#[inline(never)]
pub fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    map.insert(key.to_owned(), value);
}

/// An embedded expression's value, as serde_json's `json!` makes it (`to_value(&expr)`); it
/// panics where that `unwrap` does: only for a map with non-string keys or a failing
/// `Serialize` impl, neither of which the crate builds.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// Builds a `serde_json::Value` from JSON-like syntax, as `serde_json::json!` does.
#[macro_export]
macro_rules! json {
    (null) => {
        ::serde_json::Value::Null
    };
    (true) => {
        ::serde_json::Value::Bool(true)
    };
    (false) => {
        ::serde_json::Value::Bool(false)
    };
    ([]) => {
        ::serde_json::Value::Array(::std::vec::Vec::new())
    };
    ({}) => {
        ::serde_json::Value::Object(::serde_json::Map::new())
    };
    ([ $($t:tt)* ]) => {
        ::serde_json::Value::Array($crate::json_split!(@items [] [] $($t)*))
    };
    ({ $($t:tt)* }) => {{
        let mut map = ::serde_json::Map::new();
        $crate::json_split!(@key map [] $($t)*);
        ::serde_json::Value::Object(map)
    }};
    ($e:expr) => {
        $crate::core::util::json_value::to_value(&$e)
    };
}

/// The splitter behind [`json!`](crate::json): `@items [done] [current] tokens` gathers a
/// list's elements, `@key map [key] tokens` and `@value map [key] [value] tokens` an object's
/// members, one token tree at a time.
#[doc(hidden)]
#[macro_export]
macro_rules! json_split {
    (@items [$($done:expr,)*] []) => {
        ::std::vec![$($done,)*]
    };
    (@items [$($done:expr,)*] [$($item:tt)+]) => {
        ::std::vec![$($done,)* $crate::json!($($item)+)]
    };
    (@items [$($done:expr,)*] [$($item:tt)+] , $($rest:tt)*) => {
        $crate::json_split!(@items [$($done,)* $crate::json!($($item)+),] [] $($rest)*)
    };
    (@items $done:tt [$($item:tt)*] $next:tt $($rest:tt)*) => {
        $crate::json_split!(@items $done [$($item)* $next] $($rest)*)
    };
    (@key $map:ident []) => {};
    (@key $map:ident [$($key:tt)+] : $($rest:tt)*) => {
        $crate::json_split!(@value $map [$($key)+] [] $($rest)*)
    };
    (@key $map:ident [$($key:tt)*] $next:tt $($rest:tt)*) => {
        $crate::json_split!(@key $map [$($key)* $next] $($rest)*)
    };
    (@value $map:ident [$($key:tt)+] [$($value:tt)+]) => {
        $crate::core::util::json_value::put(&mut $map, ::core::convert::AsRef::<str>::as_ref(&($($key)+)), $crate::json!($($value)+));
    };
    (@value $map:ident [$($key:tt)+] [$($value:tt)+] , $($rest:tt)*) => {
        $crate::core::util::json_value::put(&mut $map, ::core::convert::AsRef::<str>::as_ref(&($($key)+)), $crate::json!($($value)+));
        $crate::json_split!(@key $map [] $($rest)*);
    };
    (@value $map:ident $key:tt [$($value:tt)*] $next:tt $($rest:tt)*) => {
        $crate::json_split!(@value $map $key [$($value)* $next] $($rest)*)
    };
}

#[cfg(test)]
#[path = "json_value_tests.rs"]
mod tests;
