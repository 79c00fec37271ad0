//! The admin API for runtime-managed keys, authenticated by the admin key held in the Worker
//! secret [`ADMIN_SECRET`]:
//! - `POST /admin/keys` `{"name", "tenant", "models"?, "origins"?, "limits"?}` creates a key and shows
//!   it once (201); only its SHA-256 is stored.
//! - `GET /admin/keys` lists records (id = the key's SHA-256, never the key).
//! - `DELETE /admin/keys/<id>` revokes (see `keystore` for how soon that takes effect).

use crate::core::config::{Config, Limits};
use crate::core::error::{Code, GatewayError};
use crate::core::front::auth::bearer;
use crate::core::front::inbound::{Inbound, OwnedInbound};
use crate::core::pipeline::protocol::Reply;
use crate::core::state::keystore::{kv_key, KeyRecord, KvOp, KEY_PREFIX};
use crate::core::translate::dialect::fields::{as_str, invalid_value, opt_array, parse_object, req_str};
use crate::core::util::secret::{ct_eq, sha256_hex, Secret};
use crate::json;
use serde_json::Value;

/// Name of the Worker secret holding the admin key; unset or empty, the admin API answers
/// 404 `admin_disabled`.
pub const ADMIN_SECRET: &str = "SWITCHYARD_ADMIN_KEY";

/// Check the admin key; `Err` when it is not configured (404) or does not match (401).
pub fn authorize(inb: &Inbound, admin: Option<&Secret>) -> Result<(), GatewayError> {
    let Some(admin) = admin.filter(|s| !s.is_empty()) else {
        return Err(GatewayError::new(Code::AdminDisabled, format!("the admin API is off: set the secret {ADMIN_SECRET}")));
    };
    let given = inb.header("authorization").and_then(bearer).unwrap_or_default();
    // Compare hashes, so the comparison time does not depend on the key's length either.
    if ct_eq(sha256_hex(given.as_bytes()).as_bytes(), sha256_hex(admin.expose().as_bytes()).as_bytes()) {
        Ok(())
    } else {
        Err(GatewayError::new(Code::InvalidAdminKey, "a valid admin key is required"))
    }
}

fn string_list(body: &serde_json::Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, GatewayError> {
    let Some(list) = opt_array(body, field, field)? else { return Ok(None) };
    list.iter().enumerate().map(|(i, v)| as_str(v, &format!("{field}[{i}]")).map(str::to_string)).collect::<Result<_, _>>().map(Some)
}

/// The optional `limits` object (the config's key `limits`), checked.
pub fn parse_limits(body: &serde_json::Map<String, Value>) -> Result<Limits, GatewayError> {
    let Some(v) = body.get("limits") else { return Ok(Limits::default()) };
    let limits: Limits = serde_json::from_slice(v.to_string().as_bytes()).map_err(|e| invalid_value("limits", &e.to_string()))?;
    match limits.problem() {
        Some(p) => Err(invalid_value("limits", p)),
        None => Ok(limits),
    }
}

/// Route an admin request to its first KV step.
pub fn start(config: &Config, inb: &Inbound, request_id: &str) -> Result<(KvOp, Pending), GatewayError> {
    let request_id = request_id.to_string();
    match (inb.method, inb.path) {
        ("POST", "/admin/keys") => {
            let body = parse_object(inb.body)?;
            let name = req_str(&body, "name", "name")?;
            let tenant = req_str(&body, "tenant", "tenant")?;
            if name.is_empty() || name.len() > 64 || tenant.is_empty() || tenant.len() > 64 {
                return Err(invalid_value("name", "name and tenant must be 1 to 64 characters"));
            }
            let models = string_list(&body, "models")?;
            for (i, m) in models.iter().flatten().enumerate() {
                if config.model(m).is_none() {
                    return Err(invalid_value(&format!("models[{i}]"), "unknown model"));
                }
            }
            let origins = string_list(&body, "origins")?;
            for (i, o) in origins.iter().flatten().enumerate() {
                if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/') {
                    return Err(invalid_value(&format!("origins[{i}]"), "must be \"*\" or an origin such as https://app.example"));
                }
            }
            if inb.entropy.len() < 24 {
                return Err(GatewayError::new(Code::NoEntropy, "no randomness available to make a key"));
            }
            let key = format!("sk-sy-{}", hex::encode(inb.entropy));
            let id = sha256_hex(key.as_bytes());
            let limits = parse_limits(&body)?;
            let record = KeyRecord { name, tenant, models, origins, created: inb.now_ms / 1000, limits };
            let json = serde_json::to_string(&record).unwrap_or_default();
            let op = KvOp::Put { key: kv_key(&id), value: json.clone(), metadata: json };
            Ok((op, Pending::Created { request_id, key, id, record: Box::new(record) }))
        }
        ("GET", "/admin/keys") => Ok((KvOp::List { prefix: KEY_PREFIX.into() }, Pending::Listed { request_id })),
        ("DELETE", path) if path.starts_with("/admin/keys/") => {
            let id = &path["/admin/keys/".len()..];
            if !crate::core::util::secret::is_sha256_hex(id) {
                return Err(GatewayError::new(Code::KeyNotFound, "key ids are 64 lowercase hex digits"));
            }
            Ok((KvOp::Delete { key: kv_key(id) }, Pending::Revoked { request_id, id: id.to_string() }))
        }
        (_, "/admin/keys") => Err(GatewayError::new(Code::MethodNotAllowed, "/admin/keys accepts GET and POST")),
        _ => Err(GatewayError::new(Code::UnknownRoute, format!("no route for {}", inb.path))),
    }
}

/// The reply once the KV step is done.
pub fn finish(pending: Pending, kv_result: Option<&str>) -> Reply {
    match pending {
        Pending::Created { request_id, key, id, record } => {
            let mut r = Reply::json(&request_id, &json!({"key": key, "id": id, "record": record}));
            r.status = 201;
            r
        }
        Pending::Listed { request_id } => {
            let entries: Vec<Value> = kv_result.and_then(|t| serde_json::from_slice(t.as_bytes()).ok()).unwrap_or_default();
            let data: Vec<Value> = entries
                .iter()
                .filter_map(|e| {
                    let id = e.get("name")?.as_str()?.strip_prefix(KEY_PREFIX)?;
                    let record: KeyRecord = serde_json::from_slice(e.get("metadata")?.as_str()?.as_bytes()).ok()?;
                    Some(json!({"id": id, "record": record}))
                })
                .collect();
            Reply::json(&request_id, &json!({"object": "list", "data": data}))
        }
        Pending::Revoked { request_id, id } => Reply::json(&request_id, &json!({"id": id, "revoked": true})),
        Pending::Authenticate(_) => Reply::json("", &json!({})),
    }
}

/// What to do when the KV result comes back.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// A credential was looked up; carry on with the request if it is a key.
    Authenticate(Box<OwnedInbound>),
    /// A key was stored; answer with it (the only time the key itself is shown).
    Created {
        /// The admin request's id, for the reply's `x-request-id`.
        request_id: String,
        /// The new key itself, `sk-sy-` then the request's entropy in hex (at least 48
        /// digits); shown in this reply only, never stored.
        key: String,
        /// The key's id: the SHA-256 hex of `key`, also its KV key after `key:`.
        id: String,
        /// What was stored for the key.
        record: Box<KeyRecord>,
    },
    /// The keys were listed; answer with each one's id and record.
    Listed {
        /// The admin request's id, for the reply's `x-request-id`.
        request_id: String,
    },
    /// A key was deleted; answer `{"id", "revoked": true}` (also when no such key existed).
    Revoked {
        /// The admin request's id, for the reply's `x-request-id`.
        request_id: String,
        /// The revoked key's id (SHA-256 hex of the key).
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::DEFAULT_CONFIG;

    fn inb<'a>(method: &'a str, path: &'a str, headers: &'a [(String, String)], body: &'a str) -> Inbound<'a> {
        Inbound { now_ms: 5_000, seed: 0, entropy: &[7; 24], ..Inbound::test(method, path, headers, body.as_bytes()) }
    }

    #[test]
    fn admin_key_is_required() {
        let h = vec![("authorization".to_string(), "Bearer wrong".to_string())];
        assert_eq!(authorize(&inb("GET", "/admin/keys", &h, ""), Some(&Secret::new("admin"))).unwrap_err().status, 401);
        assert_eq!(authorize(&inb("GET", "/admin/keys", &h, ""), None).unwrap_err().status, 404);
        let ok = vec![("authorization".to_string(), "Bearer admin".to_string())];
        assert!(authorize(&inb("GET", "/admin/keys", &ok, ""), Some(&Secret::new("admin"))).is_ok());
    }

    #[test]
    fn create_stores_only_the_hash_and_shows_the_key_once() {
        let cfg = Config::parse(DEFAULT_CONFIG).unwrap();
        let (op, pending) =
            start(&cfg, &inb("POST", "/admin/keys", &[], r#"{"name":"web","tenant":"acme","models":["mock"]}"#), "r").unwrap();
        let KvOp::Put { key, value, .. } = op else { panic!() };
        let Pending::Created { key: secret, id, .. } = pending.clone() else { panic!() };
        assert_eq!(key, format!("key:{}", sha256_hex(secret.as_bytes())));
        assert_eq!(id, sha256_hex(secret.as_bytes()));
        assert!(!value.contains(&secret), "the stored record never holds the key");
        let r = finish(pending, None);
        assert_eq!(r.status, 201);
        assert!(String::from_utf8(r.body).unwrap().contains(&secret));
    }

    #[test]
    fn bad_admin_requests() {
        let cfg = Config::parse(DEFAULT_CONFIG).unwrap();
        let bad = |m, p, b| start(&cfg, &inb(m, p, &[], b), "r").unwrap_err().status;
        assert_eq!(bad("POST", "/admin/keys", r#"{"name":"x"}"#), 400);
        assert_eq!(bad("POST", "/admin/keys", r#"{"name":"x","tenant":"t","models":["ghost"]}"#), 400);
        assert_eq!(bad("POST", "/admin/keys", r#"{"name":"x","tenant":"t","origins":["app.example"]}"#), 400);
        assert_eq!(bad("DELETE", "/admin/keys/nope", ""), 404);
        assert_eq!(bad("PUT", "/admin/keys", ""), 405);
    }

    #[test]
    fn list_shows_ids_and_records() {
        let listed =
            r#"[{"name":"key:abc","metadata":"{\"name\":\"web\",\"tenant\":\"t\",\"created\":1}"},{"name":"other","metadata":null}]"#;
        let r = finish(Pending::Listed { request_id: "r".into() }, Some(listed));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["data"], json!([{"id": "abc", "record": {"name": "web", "tenant": "t", "created": 1}}]));
    }
}
