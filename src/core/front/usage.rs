//! `GET /v1/usage`: the calling key's tenant's exact spend, read from the ledger in the
//! tenant's Durable Object. Browser tokens may not read it.

use crate::core::error::{Code, GatewayError};
use crate::core::front::inbound::Inbound;
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{cors_headers, error_reply, Action, Reply};
use crate::core::state::ledger::{self, UsageQuery};
use crate::core::state::spend::Op;
use crate::core::types::Dialect;

/// What answering the usage query needs once the tenant's object has the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageNext {
    /// The request's id.
    pub request_id: String,
    /// Whose ledger.
    pub tenant: String,
    /// The parsed query.
    pub query: UsageQuery,
    /// The caller's allowed browser origin, for CORS headers.
    pub cors_origin: Option<String>,
}

/// Start the query: the tenant object's op to run. `ledger`: the `TENANTS` namespace is bound.
pub fn start(
    ledger: bool,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors_origin: Option<String>,
) -> Result<(UsageNext, Action), GatewayError> {
    may_read(ledger, who)?;
    let query = ledger::parse_query(inb.query, inb.now_ms)?;
    let op = serde_json::to_string(&Op::Usage(query.clone())).unwrap_or_default();
    let then = UsageNext { request_id: request_id.to_string(), tenant: who.tenant.clone(), query, cors_origin };
    Ok((then, Action::Tenant { tenant: who.tenant.clone(), op }))
}

/// Whether `who` may read its tenant's usage or stats: the `TENANTS` namespace is bound
/// (`ledger`), and it is a key, not a browser token.
pub fn may_read(ledger: bool, who: &Principal) -> Result<(), GatewayError> {
    if !ledger {
        return Err(GatewayError::new(Code::LedgerDisabled, "usage and stats need the TENANTS Durable Object namespace bound"));
    }
    if who.is_token {
        return Err(GatewayError::new(Code::TokenCannotReadUsage, "a browser token cannot read usage or stats"));
    }
    Ok(())
}

/// Answer with the rows the tenant's object returned (`None`: it did not answer).
pub fn answer(then: UsageNext, rows: Option<&str>) -> Action {
    let UsageNext { request_id, tenant, query, cors_origin } = then;
    respond(&request_id, cors_origin.as_deref(), rows.map(|r| ledger::usage_reply(&tenant, &query, r)))
}

/// The reply to a read of the tenant's object (`/v1/usage`, `/v1/stats`): the body, or the
/// error (`None`: the object did not answer, a 503), with CORS headers for the caller's
/// allowed origin.
pub fn respond(request_id: &str, cors_origin: Option<&str>, result: Option<Result<serde_json::Value, GatewayError>>) -> Action {
    let result =
        result.unwrap_or_else(|| Err(GatewayError::new(Code::LedgerUnavailable, "the usage ledger did not answer").with_status(503)));
    let mut reply = match result {
        Ok(body) => Reply::json(request_id, &body),
        Err(e) => error_reply(request_id, &e, Dialect::OpenAi),
    };
    reply.headers.extend(cors_origin.map(cors_headers).unwrap_or_default());
    Action::Respond(reply)
}
