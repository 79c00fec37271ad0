//! Client authentication by gateway key, and the redacting [`Secret`] type.
//!
//! Keys are stored only as SHA-256 hashes. The presented key is hashed and compared with
//! every configured hash in constant time (no early exit on the first differing byte, and no
//! early exit on the first matching key), so timing reveals nothing about stored hashes.

use crate::core::config::{ClientKey, Config};
use sha2::{Digest, Sha256};
use std::fmt;

/// A secret value. `Debug` and `Display` print a short fingerprint, never the value; it is
/// not `Serialize`, so it cannot be written out by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it (the upstream request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
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

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

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

/// The bearer token of an `Authorization` header value, if it has that form.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The configured key matching `presented`, if any.
pub fn authenticate<'a>(config: &'a Config, presented: &str) -> Option<&'a ClientKey> {
    let hash = sha256_hex(presented.as_bytes());
    let mut found = None;
    for key in &config.keys {
        if ct_eq(hash.as_bytes(), key.sha256.as_bytes()) && found.is_none() {
            found = Some(key);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::DEFAULT_CONFIG;

    #[test]
    fn dev_key_authenticates_others_do_not() {
        let cfg = Config::parse(DEFAULT_CONFIG).unwrap();
        assert_eq!(authenticate(&cfg, "sk-switchyard-dev").unwrap().tenant, "dev");
        assert!(authenticate(&cfg, "sk-switchyard-dex").is_none());
        assert!(authenticate(&cfg, "").is_none());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("sk-live-canary-123");
        assert!(!format!("{s:?} {s}").contains("canary"));
        assert_eq!(s.expose(), "sk-live-canary-123");
    }
}
