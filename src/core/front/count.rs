//! `POST /v1/messages/count_tokens`: how many input tokens a Messages request would use,
//! answered as Anthropic does, `{"input_tokens": N}`.
//! Reference: <https://platform.claude.com/docs/en/api/messages/count_tokens>
//!
//! The request's first target decides how it is counted. An Anthropic target is asked: one
//! sub-request to its own `count_tokens` endpoint, with the request as that target would get
//! it. Any other target has no such endpoint, and gets the gateway's estimate (the one usage
//! estimates use: about four characters a token, over the messages, tool calls and tool
//! definitions); so does an Anthropic target that cannot be asked or does not answer with a
//! count (counting is advisory: a failed count is no reason to fail the caller). An estimate
//! carries `x-switchyard-usage-estimated: true`.

use crate::core::error::{Code, GatewayError};
use crate::core::front::caps;
use crate::core::front::inbound::Inbound;
use crate::core::front::plan::{check_body, resolve, Planner};
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{cors_headers, Action, Reply};
use crate::core::pipeline::routes::{Plan, PlannedTarget};
use crate::core::pipeline::subcall;
use crate::core::state::cost;
use crate::core::translate::dialect::anthropic::decode_count_request;
use crate::core::translate::providers::forwarded_headers;
use crate::core::types::{ChatRequest, Message};
use crate::json;

/// Bound on the sub-request to an Anthropic target (and never more than the target's own).
pub const COUNT_TIMEOUT_MS: u32 = 10_000;

/// What answering needs once the Anthropic target has counted.
#[derive(Debug, Clone, PartialEq)]
pub struct CountNext {
    /// The request's id.
    pub request_id: String,
    /// The target's provider and upstream model, named in the reply's headers.
    pub provider: String,
    /// The target's upstream model id.
    pub upstream_model: String,
    /// The gateway's estimate, the answer if the target's count fails.
    pub estimate: u64,
    /// The caller's allowed browser origin, for CORS headers.
    pub cors_origin: Option<String>,
}

/// Start counting: the reply (an estimate) at once, or the sub-request to make and what
/// answering it needs. Fails, as `/v1/messages` would, on a bad body or a model the key may
/// not use.
pub fn start(
    planner: &Planner,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors_origin: Option<String>,
) -> Result<(Option<CountNext>, Action), GatewayError> {
    check_body(planner.config, inb)?;
    let mut req = decode_count_request(inb.body)?;
    caps::check_request(&req)?;
    req.forwarded_headers = forwarded_headers(inb.headers);
    let planned = match planner.config.route(&req.model) {
        Some(route) => route.plan(inb.seed),
        None => vec![PlannedTarget { model: req.model.clone(), max_retries: 0, timeout_ms: None }],
    };
    let mut models = Vec::with_capacity(planned.len());
    for p in &planned {
        models.push(resolve(planner.config, who, &p.model)?);
    }
    let (Some(model), Some(p)) = (models.first(), planned.first()) else {
        return Err(GatewayError::new(Code::ModelNotFound, "no target can serve this request"));
    };
    let spec = planner.target_spec(model, p);
    let next = CountNext {
        request_id: request_id.to_string(),
        provider: spec.provider.clone(),
        upstream_model: spec.model.clone(),
        estimate: estimate(&req),
        cors_origin,
    };
    match subcall::begin_count(&spec, &req, COUNT_TIMEOUT_MS) {
        Ok(Some(call)) => Ok((Some(next), call)),
        Ok(None) | Err(_) => Ok((None, Action::Respond(reply(&next, None)))),
    }
}

/// Answer with what the target's `count_tokens` returned (`status` 0: no answer).
pub fn answer(next: CountNext, status: u16, body: &[u8]) -> Action {
    let mut r = reply(&next, subcall::count_answer(status, body).ok());
    r.headers.extend(next.cors_origin.as_deref().map(cors_headers).unwrap_or_default());
    Action::Respond(r)
}

/// The reply: the target's count, else the estimate, flagged.
fn reply(next: &CountNext, counted: Option<u64>) -> Reply {
    let mut r = Reply::json(&next.request_id, &json!({"input_tokens": counted.unwrap_or(next.estimate)}));
    r.headers.push(("x-switchyard-provider".into(), next.provider.clone()));
    r.headers.push(("x-switchyard-model".into(), next.upstream_model.clone()));
    if counted.is_none() {
        r.headers.push(("x-switchyard-usage-estimated".into(), "true".into()));
    }
    r
}

/// The gateway's estimate of `req`'s input tokens.
pub fn estimate(req: &ChatRequest) -> u64 {
    let calls = |m: &Message| m.tool_calls.iter().map(|c| c.name.len() + c.arguments.chars().count()).sum::<usize>();
    let text: usize = req.messages.iter().map(|m| m.content.text().chars().count() + calls(m)).sum();
    let tools: usize = req
        .tools
        .iter()
        .map(|t| {
            t.name.len()
                + t.description.as_ref().map_or(0, |d| d.chars().count())
                + t.parameters.as_ref().map_or(0, |p| p.to_string().len())
        })
        .sum();
    cost::estimate((text + tools) as u64, req.messages.len() as u64, 0).input_tokens
}
