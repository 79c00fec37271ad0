//! Signed webhooks for finished jobs (README, "Jobs"), per Standard Webhooks: the checks on a
//! submission's `webhook` member, and the `webhook-signature` the job's object sends with
//! its one POST of the finished job.
//!
//! Invariants: a webhook only goes to a host listed in config `jobs.webhook_hosts`, and only
//! when `jobs.webhook_secret` names the secret that signs it. The signature is
//! `v1,` + base64(HMAC-SHA-256(key, "{id}.{timestamp}.{body}")), the key being the base64
//! after `whsec_`.
//!
//! Reference: <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>.

use crate::core::config::{authority, Config};
use crate::core::error::GatewayError;
use crate::core::front::browser_token::hmac_sha256;
use crate::core::translate::dialect::fields::{invalid_value, req_str, unsupported};
use crate::core::util::b64;
use crate::json;
use serde_json::{Map, Value};

/// The `webhook-signature` header's value for message `id` sent at `timestamp` (Unix
/// seconds) with `body`, under `secret` (`whsec_` + base64); `None` for a malformed secret.
pub fn signature(secret: &str, id: &str, timestamp: u64, body: &str) -> Option<String> {
    let key = b64::decode(secret.strip_prefix("whsec_")?).filter(|k| !k.is_empty())?;
    let mac = hmac_sha256(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", b64::encode(&mac)))
}

/// A submission's `webhook` member checked against the config: what the job stores
/// (`{"url", "secret"}`, the secret by name).
pub fn check(config: &Config, webhook: &Map<String, Value>) -> Result<Value, GatewayError> {
    let Some(secret) = &config.jobs.webhook_secret else {
        return Err(unsupported("webhook", "is not enabled: the config sets no jobs.webhook_secret"));
    };
    if webhook.keys().any(|k| k != "url") {
        return Err(unsupported("webhook", "takes only a url"));
    }
    let url = req_str(webhook, "url", "webhook.url")?;
    let auth = authority(&url).ok_or_else(|| invalid_value("webhook.url", "must be an http(s) URL"))?;
    if !config.jobs.allows(&auth) {
        return Err(invalid_value("webhook.url", "its host is not in the config's jobs.webhook_hosts"));
    }
    Ok(json!({"url": url, "secret": secret}))
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
