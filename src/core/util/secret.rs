//! Secrets and hashes: the redacting [`Secret`] type, SHA-256 in hex, and a comparison whose
//! time does not depend on where its inputs differ.
//!
//! Invariants: a [`Secret`] never prints its value (`Debug` and `Display` show a short
//! fingerprint) and is not `Serialize`, so it cannot be written out by accident.

use sha2::{Digest, Sha256};
use std::fmt;

/// A secret value. `Debug` and `Display` print a short fingerprint, never the value; it is
/// not `Serialize`, so it cannot be written out by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it (the upstream request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn fingerprint(&self) -> String {
        format!("secret:{}", &sha256_hex(self.0.as_bytes())[..8])
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

/// The SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` has the form [`sha256_hex`] gives: exactly 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("sk-live-canary-123");
        assert!(!format!("{s:?} {s}").contains("canary"));
        assert_eq!(s.expose(), "sk-live-canary-123");
    }
}
