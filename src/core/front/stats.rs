//! `GET /v1/stats`: the calling key's tenant's recent traffic (per minute for the last hour,
//! per hour for the last two days, from the buckets in the tenant's Durable Object), the
//! targets' breakers (`/v1/health`'s entries, read first: [`crate::core::front::health`]),
//! and the jobs queue's depth. Browser tokens may not
//! read it.
//!
//! Also the admin key's way into `/v1/usage` and `/v1/stats`: with the admin key, the query
//! names the tenant (`?tenant=`), and the request is answered as that tenant's keys are.

use crate::core::error::{Code, GatewayError};
use crate::core::front::admin;
use crate::core::front::inbound::Inbound;
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::Action;
use crate::core::state::spend::Op;
use crate::core::state::stats;
use crate::core::util::secret::Secret;
use serde_json::Value;

/// What answering needs once the tenant's object has the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsNext {
    /// The request's id.
    pub request_id: String,
    /// Whose stats.
    pub tenant: String,
    /// The breakers (`/v1/health`'s entries), filled in once the health objects are read.
    pub breakers: Value,
    /// The caller's allowed browser origin, for CORS headers.
    pub cors_origin: Option<String>,
}

/// Start: the tenant object's op. `ledger`: the `TENANTS` namespace is bound.
pub fn start(
    ledger: bool,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors_origin: Option<String>,
) -> Result<(StatsNext, Action), GatewayError> {
    crate::core::front::usage::may_read(ledger, who)?;
    if !inb.query.is_empty() {
        // Only the admin key names a tenant (taken out of the query before this).
        let e = GatewayError::new(Code::InvalidQuery, "no query parameters here but ?tenant= with the admin key");
        return Err(e.with_param(if inb.query.starts_with("tenant=") { "tenant" } else { "query" }));
    }
    let op = serde_json::to_string(&Op::Stats).unwrap_or_default();
    let then = StatsNext { request_id: request_id.to_string(), tenant: who.tenant.clone(), breakers: Value::Null, cors_origin };
    Ok((then, Action::Tenant { tenant: who.tenant.clone(), op }))
}

/// Answer with the rows the tenant's object returned (`None`: it did not answer).
pub fn answer(then: StatsNext, rows: Option<&str>, now_ms: u64) -> Action {
    let StatsNext { request_id, tenant, breakers, cors_origin } = then;
    let result = rows.map(|r| stats::reply(&tenant, r, now_ms, breakers));
    crate::core::front::usage::respond(&request_id, cors_origin.as_deref(), result)
}

/// For `/v1/usage` and `/v1/stats` presented with the admin key (`None` otherwise, or when
/// no admin key is set): the principal of the tenant named by `?tenant=` (1 to 64
/// characters), and the query string without it.
pub fn as_admin(inb: &Inbound, admin_key: Option<&Secret>) -> Option<Result<(Principal, String), GatewayError>> {
    admin::authorize(inb, admin_key).ok()?;
    let mut tenant = None;
    let mut rest: Vec<&str> = Vec::new();
    for pair in inb.query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("tenant=") {
            Some(t) => tenant = crate::core::util::percent::decode_query(t),
            None => rest.push(pair),
        }
    }
    let Some(tenant) = tenant.filter(|t| (1..=64).contains(&t.len())) else {
        let e = GatewayError::new(Code::InvalidQuery, "name the tenant: ?tenant= (1 to 64 characters)");
        return Some(Err(e.with_param("tenant")));
    };
    let who = Principal {
        tenant,
        key_name: "admin".into(),
        models: None,
        origins: None,
        is_token: false,
        limits: Default::default(),
        runtime: false,
        token: None,
    };
    Some(Ok((who, rest.join("&"))))
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
