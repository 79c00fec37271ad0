//! The [`json!`](crate::json) macro: serde_json's `json!`, same syntax and same values, with
//! less code at each use.
//!
//! Why: serde_json's macro spells out, for every member of every object literal, a copy of the
//! key into a new `String`, a `BTreeMap::insert` and the drop of the value it returns, and for
//! every embedded expression a `to_value(..).unwrap()` with a panic location of its own; with
//! a few hundred members in the gateway's wire formats that came to kilobytes of wasm. Here a
//! member is one call of [`put`], and an expression one call of [`to_value`], shared by every
//! use of the same type.
//!
//! Invariants: `json!(…)` here builds exactly the `Value` serde_json's `json!(…)` builds for
//! the same tokens (a later duplicate key replaces an earlier one, as `insert` does);
//! `json_value_tests.rs` compares the two.
//! Reference: <https://docs.rs/serde_json/latest/serde_json/macro.json.html>.

use serde::Serialize;
use serde_json::{Map, Value};

/// Sets `map[key] = value`: one member of an object literal, or of an object built by hand.
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
    ($($json:tt)+) => {
        $crate::json_lean!($($json)+)
    };
}

/// The token muncher behind [`json!`](crate::json) (serde_json's `json_internal!`, whose
/// inserts and conversions call [`put`] and [`to_value`]).
#[doc(hidden)]
#[macro_export]
macro_rules! json_lean {

    (@array [$($elems:expr,)*]) => {
        ::std::vec![$($elems,)*]
    };

    (@array [$($elems:expr),*]) => {
        ::std::vec![$($elems),*]
    };

    (@array [$($elems:expr,)*] null $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!(null)] $($rest)*)
    };

    (@array [$($elems:expr,)*] true $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!(true)] $($rest)*)
    };

    (@array [$($elems:expr,)*] false $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!(false)] $($rest)*)
    };

    (@array [$($elems:expr,)*] [$($array:tt)*] $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!([$($array)*])] $($rest)*)
    };

    (@array [$($elems:expr,)*] {$($map:tt)*} $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!({$($map)*})] $($rest)*)
    };

    (@array [$($elems:expr,)*] $next:expr, $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!($next),] $($rest)*)
    };

    (@array [$($elems:expr,)*] $last:expr) => {
        $crate::json_lean!(@array [$($elems,)* $crate::json_lean!($last)])
    };

    (@array [$($elems:expr),*] , $($rest:tt)*) => {
        $crate::json_lean!(@array [$($elems,)*] $($rest)*)
    };

    (@array [$($elems:expr),*] $unexpected:tt $($rest:tt)*) => {
        ::serde_json::json_unexpected!($unexpected)
    };

    (@object $object:ident () () ()) => {};

    (@object $object:ident [$($key:tt)+] ($value:expr) , $($rest:tt)*) => {
        $crate::core::util::json_value::put(&mut $object, ::core::convert::AsRef::<str>::as_ref(&($($key)+)), $value);
        $crate::json_lean!(@object $object () ($($rest)*) ($($rest)*));
    };

    (@object $object:ident [$($key:tt)+] ($value:expr) $unexpected:tt $($rest:tt)*) => {
        ::serde_json::json_unexpected!($unexpected);
    };

    (@object $object:ident [$($key:tt)+] ($value:expr)) => {
        $crate::core::util::json_value::put(&mut $object, ::core::convert::AsRef::<str>::as_ref(&($($key)+)), $value);
    };

    (@object $object:ident ($($key:tt)+) (: null $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!(null)) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: true $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!(true)) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: false $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!(false)) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: [$($array:tt)*] $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!([$($array)*])) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: {$($map:tt)*} $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!({$($map)*})) $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: $value:expr , $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!($value)) , $($rest)*);
    };

    (@object $object:ident ($($key:tt)+) (: $value:expr) $copy:tt) => {
        $crate::json_lean!(@object $object [$($key)+] ($crate::json_lean!($value)));
    };

    (@object $object:ident ($($key:tt)+) (:) $copy:tt) => {
        $crate::json_lean!();
    };

    (@object $object:ident ($($key:tt)+) () $copy:tt) => {
        $crate::json_lean!();
    };

    (@object $object:ident () (: $($rest:tt)*) ($colon:tt $($copy:tt)*)) => {
        ::serde_json::json_unexpected!($colon);
    };

    (@object $object:ident ($($key:tt)*) (, $($rest:tt)*) ($comma:tt $($copy:tt)*)) => {
        ::serde_json::json_unexpected!($comma);
    };

    (@object $object:ident () (($key:expr) : $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object ($key) (: $($rest)*) (: $($rest)*));
    };

    (@object $object:ident ($($key:tt)*) (: $($unexpected:tt)+) $copy:tt) => {
        ::serde_json::json_expect_expr_comma!($($unexpected)+);
    };

    (@object $object:ident ($($key:tt)*) ($tt:tt $($rest:tt)*) $copy:tt) => {
        $crate::json_lean!(@object $object ($($key)* $tt) ($($rest)*) ($($rest)*));
    };

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
        ::serde_json::Value::Array(::std::vec![])
    };

    ([ $($tt:tt)+ ]) => {
        ::serde_json::Value::Array($crate::json_lean!(@array [] $($tt)+))
    };

    ({}) => {
        ::serde_json::Value::Object(::serde_json::Map::new())
    };

    ({ $($tt:tt)+ }) => {
        ::serde_json::Value::Object({
            let mut object = ::serde_json::Map::new();
            $crate::json_lean!(@object object () ($($tt)+) ($($tt)+));
            object
        })
    };

    ($other:expr) => {
        $crate::core::util::json_value::to_value(&$other)
    };
}

#[cfg(test)]
#[path = "json_value_tests.rs"]
mod tests;
