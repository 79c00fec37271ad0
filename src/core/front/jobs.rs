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

use crate::core::config::{Config, CAP_PREFIX};
use crate::core::error::{Code, GatewayError};
use crate::core::front::capability;
use crate::core::front::converse::link_not_found;
use crate::core::front::inbound::Inbound;
use crate::core::front::plan::check_body;
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{error_reply, Action, Reply};
use crate::core::state::conversation::{conversation_of, is_conversation_id, new_conversation_id, new_response_id, object_name};
use crate::core::state::job::{view, MAX_JOB_BYTES};
use crate::core::state::keystore::KeyRecord;
use crate::core::translate::dialect::fields::{invalid_value, opt_obj, parse_object, req_str, unsupported};
use crate::core::translate::dialect::responses::{self, Link};
use crate::core::types::Dialect;
use crate::json;
use serde_json::Value;

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
    /// A submission (answered 202, or 200 for a background response).
    created: bool,
    /// A background response's job: answered as the response object.
    response: bool,
}

impl Pending {
    /// A background response's job, looked up by the response's id `id`.
    pub fn response(request_id: &str, cors_origin: Option<String>, id: &str) -> Pending {
        Pending { request_id: request_id.to_string(), cors_origin, id: id.to_string(), created: false, response: true }
    }
}

/// Whether `s` is a job id as [`route`] makes them: `job_` and 32 hex digits.
pub fn is_job_id(s: &str) -> bool {
    s.len() == 36 && s.starts_with("job_") && s[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::new(Code::JobNotFound, format!("Job with id '{id}' not found."))
}

/// The identity a job runs as: the key record a runtime key or token had (its scope as it
/// was), or for a config key its name alone (`"config": true`). A token's own spend subject
/// and limits go with it (`"token": {"subject", "limits"}`), so its job spends under them as
/// its requests do.
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
    if let Some((subject, limits)) = &who.token {
        v["token"] = json!({"subject": subject, "limits": limits});
    }
    v
}

/// What a stored identity holds beside its key record.
struct Who {
    config: bool,
    token: Option<TokenWho>,
}

crate::de_struct!(Who, required, skip { config: default, token: default });

/// A token's own spend subject and limits.
struct TokenWho {
    subject: String,
    limits: crate::core::config::Limits,
}

crate::de_struct!(TokenWho, required, skip { subject, limits: default });

/// The caller a stored identity names now: `None` for a config key no longer in the config.
pub fn principal_of(config: &Config, who: &str) -> Option<Principal> {
    let extra: Who = serde_json::from_slice(who.as_bytes()).ok()?;
    let record: KeyRecord = serde_json::from_slice(who.as_bytes()).ok()?;
    if !extra.config {
        let token = extra.token.map(|t| (t.subject, t.limits));
        return Some(Principal { token, ..Principal::from(record) });
    }
    let key = config.keys.iter().find(|k| k.name == record.name && k.tenant == record.tenant)?;
    Some(Principal::of_key(key))
}

/// `POST /v1/jobs`, `GET /v1/jobs/{id}`, `POST /v1/jobs/{id}/cancel`: the job object's op.
pub fn route(
    config: &Config,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors: Option<String>,
) -> Result<(Pending, Action), GatewayError> {
    let mut pending = Pending { request_id: request_id.to_string(), cors_origin: cors, id: String::new(), created: false, response: false };
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

/// The config's body checks, and a job's own size limit (its object keeps the request).
fn check_job_body(config: &Config, inb: &Inbound) -> Result<(), GatewayError> {
    check_body(config, inb)?;
    if inb.body.len() > MAX_JOB_BYTES {
        return Err(GatewayError::new(Code::BodyTooLarge, format!("a job's request may hold at most {MAX_JOB_BYTES} bytes")));
    }
    Ok(())
}

/// A submission's id and the job to create, once its body is checked.
fn submission(config: &Config, who: &Principal, inb: &Inbound) -> Result<(String, Value), GatewayError> {
    check_job_body(config, inb)?;
    let mut sent = parse_object(inb.body)?;
    let url = req_str(&sent, "url", "url")?;
    let body = opt_obj(&sent, "body", "body")?
        .ok_or_else(|| GatewayError::new(Code::MissingRequiredParameter, "'body' is required").with_param("body"))?;
    if body.get("stream").is_some_and(|s| s == true) {
        return Err(invalid_value("body.stream", "a job cannot stream; its result is read with GET /v1/jobs/{id}"));
    }
    // The model the job's concurrency slot is counted under: a capability's `cap:NAME`.
    let model = match url.strip_prefix(capability::PATH_PREFIX) {
        Some(name) if config.capabilities.get(name).is_some() => format!("{CAP_PREFIX}{name}"),
        Some(_) => return Err(invalid_value("url", "names no capability of this gateway")),
        None if URLS.contains(&url.as_str()) => req_str(body, "model", "body.model")?,
        None => return Err(invalid_value("url", &format!("must be one of {}, or /v1/capabilities/NAME", URLS.join(", ")))),
    };
    opt_obj(&sent, "metadata", "metadata")?;
    let webhook = opt_obj(&sent, "webhook", "webhook")?.map(|w| crate::core::front::webhook::check(config, w)).transpose()?;
    if let Some(k) = sent.keys().find(|k| !matches!(k.as_str(), "url" | "body" | "metadata" | "custom_id" | "webhook")) {
        return Err(GatewayError::new(Code::Unsupported, format!("'{k}' is not supported on jobs")).with_param(k.clone()));
    }
    let id = inb.entropy.get(..16).map(|b| format!("job_{}", hex::encode(b)));
    let id = id.ok_or_else(|| GatewayError::new(Code::NoEntropy, "no randomness for a job id"))?;
    let body = sent.remove("body").unwrap_or_default();
    let mut job = job_json(config, who, inb, &id, &url, body, sent.remove("metadata"));
    job["model"] = model.into();
    if let Some(w) = webhook {
        job["webhook"] = w;
    }
    Ok((id, job))
}

/// The job the front stores (see `state::job::apply`'s `create`).
fn job_json(config: &Config, who: &Principal, inb: &Inbound, id: &str, url: &str, body: Value, metadata: Option<Value>) -> Value {
    let j = &config.jobs;
    json!({
        "id": id, "tenant": who.tenant, "url": url, "model": body["model"], "body": body, "metadata": metadata,
        "who": who_json(who), "created_at": inb.now_ms / 1000, "redeliver_ms": u64::from(j.redeliver_seconds) * 1000,
        "lease_ms": u64::from(j.lease_seconds) * 1000, "max_attempts": j.max_attempts,
        "retention_ms": u64::from(j.retention_days) * 86_400_000,
    })
}

/// Whether the gateway runs a job sent to `path`: a route of [`URLS`] or a capability's.
pub fn is_job_path(path: &str) -> bool {
    URLS.contains(&path) || path.starts_with(capability::PATH_PREFIX)
}

/// Whether a Responses body asks for `background: true` (a cheap look first: most do not).
pub fn is_background(body: &[u8]) -> bool {
    let has = body.windows(12).any(|w| w == b"\"background\"");
    has && parse_object(body).is_ok_and(|o| o.get("background") == Some(&Value::Bool(true)))
}

/// `POST /v1/responses` with `background: true` (it must be stored: `store` not false): the
/// same body, without `background`, becomes a job whose id is the response's own, chosen now
/// (in the conversation it continues, or a new one) and made again when it runs
/// (`state::conversation::response_origin`). It answers at once with the response `queued`.
pub fn background(
    config: &Config,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors: Option<String>,
) -> Result<(Pending, Action), GatewayError> {
    check_job_body(config, inb)?;
    let mut body = parse_object(inb.body)?;
    if body.get("store") == Some(&Value::Bool(false)) {
        return Err(invalid_value("store", "must be true with background: a background response is stored"));
    }
    if body.get("stream") == Some(&Value::Bool(true)) {
        return Err(unsupported("stream", "is not served with background: poll GET /v1/responses/{id} instead"));
    }
    req_str(&body, "model", "model")?;
    let conv = match responses::link(&body)? {
        None => new_conversation_id(inb.entropy).ok_or_else(|| GatewayError::new(Code::NoEntropy, "no randomness for a response id"))?,
        Some(l @ Link::Previous(_)) => conversation_of(l.id()).ok_or_else(|| link_not_found(&l))?,
        Some(Link::Conversation(id)) if is_conversation_id(&id) => id,
        Some(l) => return Err(link_not_found(&l)),
    };
    let id = new_response_id(&conv, inb.seed);
    body.remove("background");
    let mut job = job_json(config, who, inb, &id, "/v1/responses", Value::Object(body), None);
    // The tenant's endpoint for OpenAI's `response.*` events (checked at config load).
    let events = config.tenants.get(&who.tenant).and_then(|t| t.response_events_url.as_ref());
    if let (Some(url), Some(secret)) = (events, &config.jobs.webhook_secret) {
        job["webhook"] = json!({"url": url, "secret": secret, "event": "response"});
    }
    let pending = Pending { request_id: request_id.to_string(), cors_origin: cors, id: id.clone(), created: true, response: true };
    Ok((pending, Action::Job { name: object_name(&who.tenant, &id), op: json!({"op": "create", "job": job}).to_string() }))
}

/// `POST /v1/responses/{id}/cancel`: cancel a background response's job.
pub fn cancel_response(who: &Principal, id: &str, request_id: &str, cors: Option<String>) -> Result<(Pending, Action), GatewayError> {
    if conversation_of(id).is_none() {
        return Err(response_not_found(id));
    }
    Ok((Pending::response(request_id, cors, id), Action::Job { name: object_name(&who.tenant, id), op: r#"{"op":"cancel"}"#.into() }))
}

fn response_not_found(id: &str) -> GatewayError {
    GatewayError::new(Code::SessionNotFound, format!("Response with id '{id}' not found."))
}

/// A background response as its job stands: the answer itself once it succeeded, else the
/// response object with `status` `queued`, `in_progress`, `failed` (with the job's error)
/// or `cancelled`.
fn as_response(id: &str, job: &Value) -> Value {
    if job["status"] == "succeeded" && job["result"]["body"].is_object() {
        return job["result"]["body"].clone();
    }
    let status = match job["status"].as_str().unwrap_or_default() {
        "running" => "in_progress",
        s => s,
    };
    let error = match (&job["result"]["body"]["error"], &job["error"]) {
        (e, _) if e.is_object() => {
            json!({"code": e["code"].as_str().or(e["type"].as_str()).unwrap_or("server_error"), "message": e["message"]})
        }
        (_, Value::String(m)) => json!({"code": "server_error", "message": m}),
        _ => Value::Null,
    };
    json!({"id": id, "object": "response", "created_at": job["created_at"], "status": status, "background": true,
        "model": job["model"], "output": [], "error": error, "incomplete_details": null, "metadata": {}})
}

/// The job object's answer (`None`: unreachable) as the reply.
pub fn answer(p: Pending, reply: Option<&str>) -> Action {
    let v = reply.and_then(|r| serde_json::from_slice::<Value>(r.as_bytes()).ok());
    let mut r = match v {
        Some(v) if v.is_object() && p.response => Reply::json(&p.request_id, &as_response(&p.id, &v)),
        Some(v) if v.is_object() => {
            let mut r = Reply::json(&p.request_id, &view(&v));
            if p.created {
                r.status = 202;
            }
            r
        }
        Some(_) if p.response => error_reply(&p.request_id, &response_not_found(&p.id), Dialect::OpenAi),
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
