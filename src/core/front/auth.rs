//! Client authentication by gateway key, and the `Authorization: Bearer` header.
//!
//! Keys are stored only as SHA-256 hashes. The presented key is hashed and compared with
//! every configured hash in constant time (no early exit on the first differing byte, and no
//! early exit on the first matching key), so timing reveals nothing about stored hashes.

use crate::core::config::{ClientKey, Config};
use crate::core::util::secret::{ct_eq, sha256_hex};

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
}
