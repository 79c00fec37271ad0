//! Lean `Deserialize` impls for the crate's records (JSON objects with named fields) and
//! enums, written by the [`de_struct!`](crate::de_struct), [`de_enum!`](crate::de_enum) and
//! [`de_variants!`](crate::de_variants) macros in place of serde's derive.
//!
//! Why: serde's derived deserializer for a struct also reads it from a JSON array (a second
//! copy of every field's read, in `visit_seq`), matches each key against every field name in
//! code of its own, and keeps every field in an `Option` until the end; in wasm that came to
//! 2–6 KB per struct. Here a key is looked up in the record's table of names by one shared
//! function ([`next_key`], through [`Key`]), each value is read straight into its place in a
//! value made beforehand, and there is no array form.
//!
//! Invariants: for a JSON object the result, and every error message, is the derive's: the
//! same names (`rename`s included), `deny_unknown_fields` refusing with serde's `unknown
//! field` error, a repeated field refused with `duplicate field` before its value is read, a
//! missing required field reported (`missing field`) once the whole object is read, the first
//! in the order of the fields, and the same `expecting` texts (`struct Name`, `enum Name`,
//! `struct variant Name::Variant`). serde_json adds the same positions, since the same calls
//! fail at the same places (`de_tests.rs` compares with the derive). The one difference: a
//! record given as a JSON array, which the derive reads field by field, is refused as an
//! invalid type.
//! Reference: <https://serde.rs/deserialize-struct.html>.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::fmt;

/// What a [`Key`] makes of a name its table does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// A lenient record's unknown field: read as [`OTHER`], its value skipped.
    Skip,
    /// A `deny_unknown_fields` record's unknown field: serde's `unknown field` error.
    Refuse,
    /// An enum's unknown variant: serde's `unknown variant` error.
    Variant,
}

/// The index a lenient record's [`Key`] gives a name not in its table.
pub const OTHER: usize = usize::MAX;

/// One key of a record, or an enum's variant name, read as its index in a table of names.
#[derive(Debug, Clone, Copy)]
pub struct Key(pub &'static [&'static str], pub Unknown);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.1 == Unknown::Variant { "variant identifier" } else { "field identifier" })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        match (self.0.iter().position(|n| *n == v), self.1) {
            (Some(i), _) => Ok(i),
            (None, Unknown::Skip) => Ok(OTHER),
            (None, Unknown::Refuse) => Err(E::unknown_field(v, self.0)),
            (None, Unknown::Variant) => Err(E::unknown_variant(v, self.0)),
        }
    }
}

/// The next key of a record as its index in `fields` ([`OTHER`] for one a lenient record does
/// not know), `None` at the end of the object. A field seen twice is serde's `duplicate field`
/// error, raised before its value is read, as the derive does; `seen` has bit `i` set for each
/// field `i` read so far.
pub fn next_key<'de, A: MapAccess<'de>>(
    map: &mut A,
    fields: &'static [&'static str],
    unknown: Unknown,
    seen: &mut u64,
) -> Result<Option<usize>, A::Error> {
    let Some(i) = map.next_key_seed(Key(fields, unknown))? else { return Ok(None) };
    if i != OTHER {
        if *seen & (1 << i) != 0 {
            return Err(de::Error::duplicate_field(fields[i]));
        }
        *seen |= 1 << i;
    }
    Ok(Some(i))
}

/// Skips the value of a field the record does not know.
pub fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<de::IgnoredAny>().map(|_| ())
}

/// A field's place, which the record's reader fills with [`ReadPlain`] or, for an `Option`,
/// [`ReadOption`]: `(&mut &mut Slot(&mut out.field)).read(&mut map)` picks the second when the
/// field is an `Option` (method lookup tries `&mut &mut Slot<_>` before `&mut Slot<_>`).
/// Both yield `()` and write in place, so serde_json's code made for each field type moves no
/// value and drops none: the copies differ only in the functions they call, and the build's
/// `--merge-similar-functions` folds them into one.
pub struct Slot<'a, T>(pub &'a mut T);

/// Reads a field's value into its place.
pub trait ReadPlain<'de> {
    /// Reads the map's next value into the place.
    fn read<A: MapAccess<'de>>(self, map: &mut A) -> Result<(), A::Error>;
}

impl<'de, T: de::Deserialize<'de>> ReadPlain<'de> for &mut Slot<'_, T> {
    fn read<A: MapAccess<'de>>(self, map: &mut A) -> Result<(), A::Error> {
        map.next_value_seed(Slot(&mut *self.0))
    }
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for Slot<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        *self.0 = T::deserialize(d)?;
        Ok(())
    }
}

/// Reads an `Option` field's value into its place: `null` is `None`, as with serde's own
/// `Option` reader (whose `expecting` text, `option`, it keeps).
pub trait ReadOption<'de> {
    /// Reads the map's next value into the place, `null` as `None`.
    fn read<A: MapAccess<'de>>(self, map: &mut A) -> Result<(), A::Error>;
}

impl<'de, T: de::Deserialize<'de>> ReadOption<'de> for &mut &mut Slot<'_, Option<T>> {
    fn read<A: MapAccess<'de>>(self, map: &mut A) -> Result<(), A::Error> {
        map.next_value_seed(OptionSlot(&mut *self.0))
    }
}

struct OptionSlot<'a, T>(&'a mut Option<T>);

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for OptionSlot<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for OptionSlot<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        *self.0 = Some(T::deserialize(d)?);
        Ok(())
    }
}

/// Serde's `missing field` error for field `i` when it was not seen.
pub fn require<E: de::Error>(seen: u64, i: usize, fields: &'static [&'static str]) -> Result<(), E> {
    if seen & (1 << i) == 0 {
        return Err(E::missing_field(fields[i]));
    }
    Ok(())
}

/// The position of `name` in `names`, at compile time (a name not there fails the build).
pub const fn index_of(names: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        if same(names[i].as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("a field name not in the table")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The JSON name of a field: its own name, or the one given with `as`.
#[doc(hidden)]
#[macro_export]
macro_rules! de_key {
    ($f:ident) => {
        stringify!($f)
    };
    ($f:ident, $key:literal) => {
        $key
    };
}

/// A field's value before the object is read: its default, or a placeholder for a required
/// field.
#[doc(hidden)]
#[macro_export]
macro_rules! de_init {
    () => {
        Default::default()
    };
    (default) => {
        Default::default()
    };
    (default($e:expr)) => {
        $e
    };
    (required($e:expr)) => {
        $e
    };
}

/// The check that a required field was read.
#[doc(hidden)]
#[macro_export]
macro_rules! de_require {
    ($seen:ident, $i:expr) => {
        $crate::core::util::de::require($seen, $i, index::FIELDS)?
    };
    ($seen:ident, $i:expr, required($e:expr)) => {
        $crate::core::util::de::require($seen, $i, index::FIELDS)?
    };
    ($seen:ident, $i:expr, default $(($e:expr))?) => {};
}

/// Writes a map-only `Deserialize` impl for a struct with named fields, reading each field
/// into its place in a value made beforehand.
///
/// `de_struct!(Type, required, UNKNOWN { field, field as "json name": default, … } skip
/// { field = expr, … })`: a field without a kind is required (serde's default), `: default`
/// takes `Default::default()` when absent (`#[serde(default)]`; an `Option` field is optional
/// with or without it), `: default(expr)` takes `expr` (`#[serde(default = "…")]`), and
/// `: required(expr)` is a required field whose type has no `Default` (`expr` only holds its
/// place). Fields under `skip { }` are never read (`#[serde(skip)]`).
/// `de_struct!(Type, default, UNKNOWN { field, … })` is a record whose every field defaults to
/// that of `Type::default()` (`#[serde(default)]` on the container).
/// UNKNOWN is `deny` (`deny_unknown_fields`) or `skip`. `Type as "text"` sets the
/// `expecting` text (default `struct Type`; any `&'static str` expression).
#[macro_export]
macro_rules! de_struct {
    (
        $ty:ident $(as $expecting:expr)?, required, $unknown:ident {
            $( $f:ident $(as $key:literal)? $(: $kind:ident $(($e:expr))?)? ),* $(,)?
        } $(skip { $( $s:ident = $sdef:expr ),* $(,)? })?
    ) => {
        $crate::de_struct!(@impl $ty $(as $expecting)?, $unknown, [$( $f $(as $key)? ),*],
            $ty { $( $f: $crate::de_init!($($kind $(($e))?)?), )* $($( $s: $sdef, )*)? },
            |seen| { $( $crate::de_require!(seen, index::$f $(, $kind $(($e))?)?); )* });
    };
    (
        $ty:ident $(as $expecting:expr)?, default, $unknown:ident {
            $( $f:ident $(as $key:literal)? ),* $(,)?
        }
    ) => {
        $crate::de_struct!(@impl $ty $(as $expecting)?, $unknown, [$( $f $(as $key)? ),*], <$ty>::default(), |seen| {});
    };
    (@impl $ty:ident $(as $expecting:expr)?, $unknown:ident, [$( $f:ident $(as $key:literal)? ),*], $init:expr,
        |$seen:ident| { $($check:tt)* }) => {
        const _: () = {
            #[allow(non_upper_case_globals, dead_code)]
            mod index {
                pub const FIELDS: &[&str] = &[$( $crate::de_key!($f $(, $key)?) ),*];
                const _: () = assert!(FIELDS.len() <= 64);
                $( pub const $f: usize = $crate::core::util::de::index_of(FIELDS, $crate::de_key!($f $(, $key)?)); )*
            }

            /// Reads the object's fields into a value made beforehand. The visitor yields
            /// `()`, so serde_json's `deserialize_map` made for it moves no record and drops
            /// none: its copies for every record type differ only in the functions they call,
            /// and the build's `--merge-similar-functions` folds them into one.
            struct Read<'a>(&'a mut $ty);

            impl<'de> serde::de::Visitor<'de> for Read<'_> {
                type Value = ();

                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str($crate::de_struct!(@expecting $ty $(, $expecting)?))
                }

                #[allow(unused_mut, unused_variables)]
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                    use $crate::core::util::de::{next_key, skip, Unknown};
                    #[allow(unused_imports)]
                    use $crate::core::util::de::{ReadOption as _, ReadPlain as _};
                    let out = self.0;
                    let mut $seen = 0u64;
                    while let Some(i) = next_key(&mut map, index::FIELDS, $crate::de_struct!(@unknown $unknown), &mut $seen)? {
                        match i {
                            $( index::$f => (&mut &mut $crate::core::util::de::Slot(&mut out.$f)).read(&mut map)?, )*
                            _ => skip(&mut map)?,
                        }
                    }
                    $($check)*
                    Ok(())
                }
            }

            impl<'de> serde::Deserialize<'de> for $ty {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let mut out: $ty = $init;
                    d.deserialize_map(Read(&mut out))?;
                    Ok(out)
                }
            }
        };
    };
    (@expecting $ty:ident) => { concat!("struct ", stringify!($ty)) };
    (@expecting $ty:ident, $e:expr) => { $e };
    (@unknown deny) => { Unknown::Refuse };
    (@unknown skip) => { Unknown::Skip };
}

/// An enum of unit variants read as the index of its variant's name in `names`: one visitor
/// type for every [`de_enum!`](crate::de_enum) enum, so serde_json's `deserialize_enum` is made
/// once for all of them rather than once for each.
#[derive(Clone, Copy)]
pub struct UnitVariant {
    /// The variants' JSON names, in the order of the enum's table of values.
    pub names: &'static [&'static str],
    /// The `expecting` text: `enum Name`.
    pub expecting: &'static str,
}

impl UnitVariant {
    /// Reads the variant's index in `names`.
    pub fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_enum(&self.expecting["enum ".len()..], self.names, self)
    }
}

impl<'de> Visitor<'de> for UnitVariant {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<usize, A::Error> {
        let (i, variant) = data.variant_seed(Key(self.names, Unknown::Variant))?;
        de::VariantAccess::unit_variant(variant)?;
        Ok(i)
    }
}

/// Writes the `Deserialize` impl of an enum of unit variants, each read from its JSON name
/// (`de_enum!(Type { Variant = "name", … })`); the enum must be `Copy`. As with serde's
/// derive, the externally tagged form `{"name": null}` is read too.
#[macro_export]
macro_rules! de_enum {
    ($ty:ident { $( $v:ident = $name:literal ),* $(,)? }) => {
        const _: () = {
            const VALUES: &[$ty] = &[$( $ty::$v ),*];

            impl<'de> serde::Deserialize<'de> for $ty {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let names = &[$( $name ),*];
                    let i = $crate::core::util::de::UnitVariant { names, expecting: concat!("enum ", stringify!($ty)) }.read(d)?;
                    Ok(VALUES[i])
                }
            }
        };
    };
}

/// A struct variant's payload, read as a record of its own (lenient, as serde's derive reads
/// struct variants), named after the variant.
#[doc(hidden)]
#[macro_export]
macro_rules! de_payload {
    ($ty:ident, $v:ident) => {};
    ($ty:ident, $v:ident ($nt:ty)) => {};
    ($ty:ident, $v:ident { $( $f:ident : $fty:ty ),* }) => {
        pub struct $v { $( pub $f: $fty, )* }
        $crate::de_struct!($v as concat!("struct variant ", stringify!($ty), "::", stringify!($v)), required, skip {
            $( $f, )*
        });
    };
}

/// Reads one variant's value once its name is known.
#[doc(hidden)]
#[macro_export]
macro_rules! de_variant {
    ($ty:ident, $v:ident, $access:ident) => {{
        serde::de::VariantAccess::unit_variant($access)?;
        $ty::$v
    }};
    ($ty:ident, $v:ident, $access:ident ($nt:ty)) => {
        $ty::$v(serde::de::VariantAccess::newtype_variant::<$nt>($access)?)
    };
    ($ty:ident, $v:ident, $access:ident { $( $f:ident : $fty:ty ),* }) => {{
        let p: payload::$v = serde::de::VariantAccess::newtype_variant($access)?;
        $ty::$v { $( $f: p.$f, )* }
    }};
}

/// Writes the `Deserialize` impl of an externally tagged enum (serde's default
/// representation): `de_variants!(Type { Unit = "name", Newtype = "name" (Payload), Struct =
/// "name" { field: Type, … }, … })`. A unit variant is read from `"name"` or `{"name": null}`,
/// the others from `{"name": value}`; a struct variant's value is a lenient record, as with
/// the derive.
#[macro_export]
macro_rules! de_variants {
    ($ty:ident { $( $v:ident = $name:literal $(($nt:ty))? $({ $( $f:ident : $fty:ty ),* $(,)? })? ),* $(,)? }) => {
        const _: () = {
            #[allow(non_upper_case_globals, dead_code)]
            mod index {
                pub const NAMES: &[&str] = &[$( $name ),*];
                $( pub const $v: usize = $crate::core::util::de::index_of(NAMES, $name); )*
            }

            #[allow(dead_code, unused_imports)]
            mod payload {
                use super::*;
                $( $crate::de_payload!($ty, $v $(($nt))? $({ $( $f : $fty ),* })?); )*
            }

            struct Read;

            impl<'de> serde::de::Visitor<'de> for Read {
                type Value = $ty;

                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str(concat!("enum ", stringify!($ty)))
                }

                fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<$ty, A::Error> {
                    use $crate::core::util::de::{Key, Unknown};
                    let (i, access) = data.variant_seed(Key(index::NAMES, Unknown::Variant))?;
                    Ok(match i {
                        $( index::$v => $crate::de_variant!($ty, $v, access $(($nt))? $({ $( $f : $fty ),* })?), )*
                        _ => unreachable!("a variant index from the table"),
                    })
                }
            }

            impl<'de> serde::Deserialize<'de> for $ty {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    d.deserialize_enum(stringify!($ty), index::NAMES, Read)
                }
            }
        };
    };
}

#[cfg(test)]
#[path = "de_tests.rs"]
mod tests;
