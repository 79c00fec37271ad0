//! Who is calling: a configured gateway key, or a browser token minted with one. Both become
//! a [`Principal`] with the same scope checks (models, origin).

use crate::core::config::{ClientKey, Config, Limits, Model};
use crate::core::error::{Code, GatewayError};
use crate::core::front::auth::{authenticate, bearer};
use crate::core::front::browser_token::{self, Claims};
use crate::core::front::inbound::Inbound;
use crate::core::state::keystore::KeyRecord;
use crate::core::util::secret::Secret;
use crate::core::util::vecmap::VecMap;

/// An authenticated caller: what it may use, from where, and whose limits it spends against.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The tenant it spends for: whose budgets, ledger and usage.
    pub tenant: String,
    /// The key's name (for a token: the key that minted it).
    pub key_name: String,
    /// Public model names or aliases it may use; `None`: every model. A token's: its own list
    /// narrowed to its issuing key's (a config key's as the config says now, a runtime key's
    /// as it was when the token was minted).
    pub models: Option<Vec<String>>,
    /// Allowed browser origins, `"*"` for any; `None`: none (a server-side key). A token's is
    /// its one origin.
    pub origins: Option<Vec<String>>,
    /// A browser token rather than a key: it may not mint tokens or read usage, and must
    /// always send its origin.
    pub is_token: bool,
    /// The key's rate limits and budget (a token's: its issuing key's, from the config for a
    /// config key, from the token for a runtime key).
    pub limits: Limits,
    /// A runtime key (kept in KV) rather than one of the config's.
    pub runtime: bool,
    /// For a token: its own spend subject id (`token:` and the first 32 hex digits of the
    /// whole token's SHA-256) and its own limits, applied on top of its key's.
    pub token: Option<(String, Limits)>,
}

/// The credential a request presents: `Authorization: Bearer`, or Anthropic's `x-api-key`.
pub fn presented<'a>(inb: &'a Inbound) -> Option<&'a str> {
    inb.header("authorization").and_then(bearer).or_else(|| inb.header("x-api-key").map(str::trim).filter(|k| !k.is_empty()))
}

/// The 401 `invalid_api_key` for a missing or unknown credential, saying how to present one.
pub fn no_key() -> GatewayError {
    let hint = "a valid gateway key or token is required: Authorization: Bearer <key> (or x-api-key on /v1/messages)";
    GatewayError::new(Code::InvalidApiKey, hint)
}

/// Authenticate the request. On failure, also says whether the error reply may carry CORS
/// headers (an expired token for this very origin: the page should learn to refresh it).
pub fn identify(config: &Config, secrets: &VecMap<String, Secret>, inb: &Inbound) -> Result<Principal, (GatewayError, bool)> {
    let credential = presented(inb).ok_or((no_key(), false))?;
    if credential.starts_with(browser_token::PREFIX) {
        let secret = config.tokens.as_ref().and_then(|t| secrets.get(&t.secret)).ok_or((no_key(), false))?;
        return match browser_token::verify(credential, secret, inb.now_ms / 1000) {
            Ok(claims) => Ok(from_claims(config, claims, credential)),
            Err(refused) => {
                let cors = matches!(&refused, browser_token::Refused::Expired { origin } if inb.header("origin") == Some(origin.as_str()));
                Err((refused.error(), cors))
            }
        };
    }
    let key = authenticate(config, credential).ok_or((no_key(), false))?;
    Ok(Principal::of_key(key))
}

impl Principal {
    /// The caller a key of the config file names.
    pub fn of_key(key: &ClientKey) -> Principal {
        Principal {
            tenant: key.tenant.clone(),
            key_name: key.name.clone(),
            models: key.models.clone(),
            origins: key.origins.clone(),
            is_token: false,
            limits: key.limits,
            runtime: false,
            token: None,
        }
    }
}

fn from_claims(config: &Config, c: Claims, token: &str) -> Principal {
    // A token never widens its key's scope: models are the intersection, and its own limits
    // apply on top of its key's.
    // A runtime key's scope travels in the token, signed, as it was at minting; a config key's
    // is read from the config as it is now.
    let key = config.keys.iter().find(|k| k.name == c.k && k.tenant == c.t).filter(|_| !c.r);
    let key_models = key.and_then(|k| k.models.clone());
    let key_limits = if c.r { c.kl.unwrap_or_default() } else { key.map(|k| k.limits).unwrap_or_default() };
    let token_id = format!("token:{}", &crate::core::util::secret::sha256_hex(token.as_bytes())[..32]);
    let models = match (c.m, key_models) {
        (Some(m), Some(k)) => Some(m.into_iter().filter(|x| k.contains(x)).collect()),
        (m, k) => m.or(k),
    };
    Principal {
        tenant: c.t,
        key_name: c.k,
        models,
        origins: Some(vec![c.o]),
        is_token: true,
        limits: key_limits,
        runtime: c.r,
        token: Some((token_id, c.l.unwrap_or_default())),
    }
}

impl Principal {
    /// Whether it may use `model`: its list is absent, or names the model or one of its
    /// aliases.
    pub fn may_use(&self, config: &Config, model: &Model) -> bool {
        self.models.as_ref().is_none_or(|allowed| allowed.iter().any(|m| config.model(m).is_some_and(|x| x.name == model.name)))
    }

    /// A request with an `Origin` must come from an origin this principal allows; a token
    /// must always be used from its origin.
    pub fn check_origin(&self, origin: Option<&str>) -> Result<(), GatewayError> {
        let allowed = |o: &str| self.origins.as_ref().is_some_and(|list| list.iter().any(|a| a == "*" || a == o));
        match origin {
            Some(o) if allowed(o) => Ok(()),
            None if !self.is_token => Ok(()),
            _ => Err(GatewayError::new(Code::OriginNotAllowed, "this key or token may not be used from this origin")),
        }
    }
}

impl From<KeyRecord> for Principal {
    /// The caller a runtime key record names.
    fn from(record: KeyRecord) -> Self {
        Principal {
            tenant: record.tenant,
            key_name: record.name,
            models: record.models,
            origins: record.origins,
            is_token: false,
            limits: record.limits,
            runtime: true,
            token: None,
        }
    }
}
