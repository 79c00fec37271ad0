//! Short-lived browser tokens: a backend holding a gateway key mints one (`POST /v1/tokens`),
//! a browser uses it in place of the key.
//!
//! Format: `sy1.<claims>.<mac>`, both parts base64url; claims are JSON
//! (tenant, issuing key, models, origin, expiry); the MAC is HMAC-SHA-256 (RFC 2104) over
//! `sy1.<claims>` with a Worker secret. Verification compares MACs in constant time before
//! reading the claims. A token is bound to one origin and optionally to a subset of models.

use crate::core::error::{Code, GatewayError};
use crate::core::util::b64;
use crate::core::util::secret::{ct_eq, Secret};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What every token starts with (format version 1); a credential with it is never looked up
/// as a runtime key.
pub const PREFIX: &str = "sy1.";
/// A token's lifetime in seconds when the mint request gives no `ttl_seconds`.
pub const DEFAULT_TTL_S: u64 = 300;

/// A token's signed content. Field names are one letter to keep the token short; they are
/// part of the format, so renaming one invalidates every token in circulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claims {
    /// Tenant of the issuing key.
    pub t: String,
    /// Name of the issuing key.
    pub k: String,
    /// Models the token may use (`None`: those of the issuing key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m: Option<Vec<String>>,
    /// The one origin the token may be used from.
    pub o: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// The token's own rate limits and budget, on top of its key's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l: Option<crate::core::config::Limits>,
    /// Minted by a runtime key (kept in KV, which verification never reads): its model list
    /// is in `m` and its limits in `kl`, as they were at minting.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub r: bool,
    /// A runtime issuing key's own rate limits and budget, as they were at minting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kl: Option<crate::core::config::Limits>,
}

crate::de_struct!(Claims, required, skip { t, k, m: default, o, exp, l: default, r: default, kl: default });

/// HMAC-SHA-256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The token for `claims`: `sy1.` + base64url(JSON claims) + `.` + base64url(HMAC-SHA-256
/// of everything before that dot, keyed with `secret`).
pub fn mint(claims: &Claims, secret: &Secret) -> String {
    let signed = format!("{PREFIX}{}", b64::encode_url(&serde_json::to_vec(claims).unwrap_or_default()));
    let mac = hmac_sha256(secret.expose().as_bytes(), signed.as_bytes());
    format!("{signed}.{}", b64::encode_url(&mac))
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Malformed, or the signature does not match.
    Invalid,
    /// Genuine but expired; its origin lets the reply carry CORS headers for that page.
    Expired {
        /// The origin the expired token was bound to (its `o` claim).
        origin: String,
    },
}

impl Refused {
    /// The 401 to answer with: `invalid_token` or `token_expired`.
    pub fn error(&self) -> GatewayError {
        match self {
            Refused::Invalid => GatewayError::new(Code::InvalidToken, "the token is malformed or its signature does not match"),
            Refused::Expired { .. } => GatewayError::new(Code::TokenExpired, "the token has expired; mint a new one"),
        }
    }
}

/// Check a token's signature (in constant time) and then its expiry.
pub fn verify(token: &str, secret: &Secret, now_s: u64) -> Result<Claims, Refused> {
    let (signed, mac) = token.rsplit_once('.').ok_or(Refused::Invalid)?;
    let claims_part = signed.strip_prefix(PREFIX).ok_or(Refused::Invalid)?;
    let given = b64::decode_url(mac).ok_or(Refused::Invalid)?;
    let expected = hmac_sha256(secret.expose().as_bytes(), signed.as_bytes());
    if !ct_eq(&given, &expected) {
        return Err(Refused::Invalid);
    }
    let claims: Claims = b64::decode_url(claims_part).and_then(|c| serde_json::from_slice(&c).ok()).ok_or(Refused::Invalid)?;
    if claims.exp <= now_s {
        return Err(Refused::Expired { origin: claims.o });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            t: "acme".into(),
            k: "web".into(),
            m: Some(vec!["mock".into()]),
            o: "https://app.example".into(),
            exp: 1_000,
            l: None,
            r: false,
            kl: None,
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let secret = Secret::new("signing-secret");
        let token = mint(&claims(), &secret);
        assert!(token.starts_with(PREFIX));
        assert_eq!(verify(&token, &secret, 999).unwrap(), claims());
        let refused = verify(&token, &secret, 1_000).unwrap_err();
        assert_eq!(refused, Refused::Expired { origin: "https://app.example".into() });
        assert_eq!((refused.error().status, refused.error().code.as_str()), (401, "token_expired"));
        assert_eq!(verify(&token, &Secret::new("other"), 0).unwrap_err(), Refused::Invalid);
        // Change one character of the claims: the signature no longer matches.
        let mut forged = token.clone().into_bytes();
        forged[6] = if forged[6] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify(&String::from_utf8(forged).unwrap(), &secret, 0).unwrap_err(), Refused::Invalid);
        for junk in ["", "sy1.", "sy1.a.b", "abc", "sy1..", "sy2.x.y"] {
            assert!(verify(junk, &secret, 0).is_err(), "{junk}");
        }
    }
}
