//! Queued jobs (README, "Jobs"): `POST /v1/jobs` stores a request (the shape of an OpenAI
//! Batch input line: `url`, `body`) in a `Job` Durable Object of its own and answers 202;
//! `GET /v1/jobs/{id}` and `POST /v1/jobs/{id}/cancel` read and cancel it. The queue
//! consumer later runs it as the caller through the same request path as any other request
//! (`Gateway::job_start`), which HTTP cannot reach.
//!
//! Invariants: a job's id holds 128 random bits and its object is named by tenant and id, so
//! another tenant's id answers 404 as an unknown one does. The job keeps the caller's
//! identity, never its credential: a config key by name (re-read from the config when the job
//! runs, so a removed key's job fails), a runtime key or token by the scope it had.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/batch/request-input>.

use crate::core::config::Config;
use crate::core::error::{Code, GatewayError};
use crate::core::front::inbound::Inbound;
use crate::core::front::plan::check_body;
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{error_reply, Action, Reply};
use crate::core::state::conversation::object_name;
use crate::core::state::job::view;
use crate::core::state::keystore::KeyRecord;
use crate::core::translate::dialect::fields::{invalid_value, opt_obj, parse_object, req_str};
use crate::core::types::Dialect;
use serde_json::{json, Value};

/// `/v1/jobs`: where jobs are submitted, and the prefix of a job's path.
pub const JOBS_PATH: &str = "/v1/jobs";

/// The paths a job may run.
pub const URLS: [&str; 4] = ["/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings"];

/// What a jobs request waits for: its job object's answer.
#[derive(Debug)]
pub struct Pending {
    request_id: String,
    cors_origin: Option<String>,
    id: String,
    /// A submission (answered 202).
    created: bool,
}

/// Whether `s` is a job id as [`route`] makes them: `job_` and 32 hex digits.
pub fn is_job_id(s: &str) -> bool {
    s.len() == 36 && s.starts_with("job_") && s[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::new(Code::JobNotFound, format!("Job with id '{id}' not found."))
}

/// The identity a job runs as: the key record a runtime key or token had (its scope as it
/// was), or for a config key its name alone (`"config": true`).
fn who_json(who: &Principal) -> Value {
    let config = !who.runtime && !who.is_token;
    let record = KeyRecord {
        name: who.key_name.clone(),
        tenant: who.tenant.clone(),
        models: who.models.clone().filter(|_| !config),
        origins: None,
        created: 0,
        limits: if config { Default::default() } else { who.limits },
    };
    let mut v = serde_json::to_value(record).unwrap_or_default();
    v["config"] = config.into();
    v
}

/// The caller a stored identity names now: `None` for a config key no longer in the config.
pub fn principal_of(config: &Config, who: &str) -> Option<Principal> {
    let v: Value = serde_json::from_str(who).ok()?;
    let record: KeyRecord = serde_json::from_str(who).ok()?;
    if v["config"] != true {
        return Some(Principal::from(record));
    }
    let key = config.keys.iter().find(|k| k.name == record.name && k.tenant == record.tenant)?;
    Some(Principal {
        tenant: key.tenant.clone(),
        key_name: key.name.clone(),
        models: key.models.clone(),
        origins: key.origins.clone(),
        is_token: false,
        limits: key.limits,
        runtime: false,
        token: None,
    })
}

/// `POST /v1/jobs`, `GET /v1/jobs/{id}`, `POST /v1/jobs/{id}/cancel`: the job object's op.
pub fn route(
    config: &Config,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors: Option<String>,
) -> Result<(Pending, Action), GatewayError> {
    let mut pending = Pending { request_id: request_id.to_string(), cors_origin: cors, id: String::new(), created: false };
    let rest = inb.path[JOBS_PATH.len()..].strip_prefix('/');
    let (id, op) = match rest {
        None => {
            let (id, job) = submission(config, who, inb)?;
            pending.created = true;
            (id, json!({"op": "create", "job": job}))
        }
        Some(rest) => {
            let (id, cancel) = rest.strip_suffix("/cancel").map_or((rest, false), |id| (id, true));
            if !is_job_id(id) {
                return Err(not_found(id));
            }
            (id.to_string(), json!({"op": if cancel { "cancel" } else { "get" }}))
        }
    };
    let name = object_name(&who.tenant, &id);
    pending.id = id;
    Ok((pending, Action::Job { name, op: op.to_string() }))
}

/// A submission's id and the job to create, once its body is checked.
fn submission(config: &Config, who: &Principal, inb: &Inbound) -> Result<(String, Value), GatewayError> {
    check_body(config, inb)?;
    let mut sent = parse_object(inb.body)?;
    let url = req_str(&sent, "url", "url")?;
    if !URLS.contains(&url.as_str()) {
        return Err(invalid_value("url", &format!("must be one of {}", URLS.join(", "))));
    }
    let body = opt_obj(&sent, "body", "body")?
        .ok_or_else(|| GatewayError::new(Code::MissingRequiredParameter, "'body' is required").with_param("body"))?;
    if body.get("stream").is_some_and(|s| s == true) {
        return Err(invalid_value("body.stream", "a job cannot stream; its result is read with GET /v1/jobs/{id}"));
    }
    req_str(body, "model", "body.model")?;
    opt_obj(&sent, "metadata", "metadata")?;
    if let Some(k) = sent.keys().find(|k| !matches!(k.as_str(), "url" | "body" | "metadata" | "custom_id")) {
        return Err(GatewayError::new(Code::Unsupported, format!("'{k}' is not supported on jobs")).with_param(k.clone()));
    }
    let id = inb.entropy.get(..16).map(|b| format!("job_{}", hex::encode(b)));
    let id = id.ok_or_else(|| GatewayError::new(Code::NoEntropy, "no randomness for a job id"))?;
    let j = &config.jobs;
    let job = json!({
        "id": id, "tenant": who.tenant, "url": url, "body": sent.remove("body"), "metadata": sent.remove("metadata"),
        "who": who_json(who), "created_at": inb.now_ms / 1000, "redeliver_ms": u64::from(j.redeliver_seconds) * 1000,
        "lease_ms": u64::from(j.lease_seconds) * 1000, "max_attempts": j.max_attempts,
    });
    Ok((id, job))
}

/// The job object's answer (`None`: unreachable) as the reply.
pub fn answer(p: Pending, reply: Option<&str>) -> Action {
    let v = reply.and_then(|r| serde_json::from_str::<Value>(r).ok());
    let mut r = match v {
        Some(v) if v.is_object() => {
            let mut r = Reply::json(&p.request_id, &view(&v));
            if p.created {
                r.status = 202;
            }
            r
        }
        Some(_) => error_reply(&p.request_id, &not_found(&p.id), Dialect::OpenAi),
        None => {
            let err = GatewayError::new(Code::JobUnavailable, format!("the job '{}' could not be read or stored; try again", p.id));
            error_reply(&p.request_id, &err.with_status(503), Dialect::OpenAi)
        }
    };
    r.headers.extend(p.cors_origin.as_deref().map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
    Action::Respond(r)
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
