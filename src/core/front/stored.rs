//! The Responses API's stored state (README, "Responses API"): `store`,
//! `previous_response_id` and `conversation` on `POST /v1/responses`, and
//! `GET`/`DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`, all kept by
//! the conversation store (`state::conversation`, whose module doc gives the mapping).
//!
//! A stored response (`store` not false) is appended as a turn: the input items as sent
//! (with ids), the output items and the `response` object, under the store's `resp_…` id,
//! before the caller gets it (`pipeline::session`'s conversation steps). A linked request
//! loads the history first ([`start`]); it is put before the new input and the request is
//! decoded again (`converse::merge`), so it goes to any upstream as one whole conversation.
//!
//! Invariants: every id is looked up under the caller's tenant, so another tenant's id
//! answers as an unknown one does (404 `session_not_found`); without the `CONVERSATIONS`
//! namespace, `store` is ignored and links are refused.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses>.

use crate::core::error::{Code, GatewayError};
use crate::core::front::converse::{check_room, limits, link_not_found, Loading, Started};
use crate::core::front::inbound::{Inbound, OwnedInbound};
use crate::core::front::plan::{Asked, Planner};
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{cors_headers, error_reply, Action, Reply};
use crate::core::pipeline::session::ConversationPlan;
use crate::core::pipeline::target::Payload;
use crate::core::state::conversation::answer::{self, StoreError};
use crate::core::state::conversation::{self as store, parse_page, Op};
use crate::core::translate::dialect::responses::{self, Link};
use crate::core::types::Dialect;

/// `/v1/responses/`: the path before a stored response's id.
pub const RESPONSES_PREFIX: &str = "/v1/responses/";

/// Start a decoded Responses request: at once when nothing is stored or loaded, else with
/// the conversation to store its turn in, or the load of its link's history first.
pub fn start(p: &Planner, who: &Principal, inb: &Inbound, asked: Asked, payload: Payload) -> Result<Started, GatewayError> {
    let session = |(s, a)| Started::Session(Box::new(s), a);
    let raw = match &payload {
        Payload::Chat(req) => req.raw.clone().unwrap_or_default(),
        Payload::Embeddings(_) => return p.plan(who, inb, asked, payload, None).map(session),
    };
    let (link, keep) = (responses::link(&raw)?, responses::stores(&raw));
    if !p.conversations {
        if let Some(l) = link {
            let why = format!("{} needs the CONVERSATIONS Durable Object namespace bound", l.param());
            return Err(GatewayError::new(Code::SessionsDisabled, why).with_param(l.param()));
        }
        return p.plan(who, inb, asked, payload, None).map(session);
    }
    if link.is_none() && !keep {
        return p.plan(who, inb, asked, payload, None).map(session);
    }
    let conv = match &link {
        None => {
            store::new_conversation_id(inb.entropy).ok_or_else(|| GatewayError::new(Code::NoEntropy, "no randomness for a response id"))?
        }
        Some(l @ Link::Previous(id)) => store::conversation_of(id).ok_or_else(|| link_not_found(l))?,
        Some(Link::Conversation(id)) if store::is_conversation_id(id) => id.clone(),
        Some(l) => return Err(link_not_found(l)),
    };
    let limits = limits(p.config);
    let response = store::new_response_id(&conv, inb.seed);
    let items = responses::input_items(&raw, &response);
    if let Some(i) = items.iter().position(|m| m.to_string().len() > limits.max_item_bytes as usize) {
        return Err(StoreError::TooLarge.to_error("").with_param(format!("input[{i}]")));
    }
    let plan = ConversationPlan {
        object: store::object_name(&who.tenant, &conv),
        response,
        id: conv,
        create: link.is_none(),
        parent: None,
        items,
        limits,
    };
    let Some(link) = link else {
        check_room(&plan, 0)?;
        return p.plan(who, inb, asked, payload, Some(plan)).map(session);
    };
    let response = match &link {
        Link::Previous(id) => Some(id.clone()),
        Link::Conversation(_) => None,
    };
    let action = Action::Conversation { name: plan.object.clone(), op: Op::Load { response, ttl_ms: limits.ttl_ms }.to_json() };
    let inb = OwnedInbound::from(&Inbound { body: &[], ..*inb });
    let loading = Loading { who: who.clone(), inb, asked, payload, plan, link: Some(link), keep };
    Ok(Started::Loading(Box::new(loading), action))
}

/// What a stored-response request waits for: the store's answer to its op.
#[derive(Debug)]
pub struct Pending {
    request_id: String,
    cors_origin: Option<String>,
    /// The response asked for.
    id: String,
    /// `GET /v1/responses/{id}`: the answer's record body is the reply.
    get: bool,
}

/// `GET`/`DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`: the store's op
/// for it (`include` is accepted and ignored: the items are stored whole).
pub fn route(
    p: &Planner,
    who: &Principal,
    inb: &Inbound,
    request_id: &str,
    cors: Option<String>,
) -> Result<(Pending, Action), GatewayError> {
    if !p.conversations {
        return Err(GatewayError::new(Code::SessionsDisabled, "stored responses need the CONVERSATIONS Durable Object namespace bound"));
    }
    let rest = inb.path.strip_prefix(RESPONSES_PREFIX).unwrap_or_default();
    let (id, list) = match rest.strip_suffix("/input_items") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let pending =
        Pending { request_id: request_id.to_string(), cors_origin: cors, id: id.to_string(), get: !list && inb.method != "DELETE" };
    let Some(conv) = store::conversation_of(id) else { return Err(response_not_found(id)) };
    let response = id.to_string();
    let op = match (list, inb.method) {
        (true, _) => {
            let page = parse_page(inb.query).map_err(|k| GatewayError::new(Code::InvalidValue, format!("invalid '{k}'")).with_param(k))?;
            Op::List { response, page }
        }
        (false, "DELETE") => Op::DeleteResponse { response },
        _ => Op::Get { response },
    };
    Ok((pending, Action::Conversation { name: store::object_name(&who.tenant, &conv), op: op.to_json() }))
}

fn response_not_found(id: &str) -> GatewayError {
    GatewayError::new(Code::SessionNotFound, format!("Response with id '{id}' not found."))
}

/// The store's answer (`None`: unreachable) as the reply.
pub fn answer(p: Pending, reply: Option<&str>) -> Action {
    let mut r = match answer::check(reply) {
        Ok(mut v) => Reply::json(&p.request_id, &if p.get { v["body"].take() } else { v }),
        Err(e) => {
            let err = match e {
                StoreError::NotFound => response_not_found(&p.id),
                e => e.to_error(&p.id),
            };
            error_reply(&p.request_id, &err, Dialect::OpenAi)
        }
    };
    r.headers.extend(p.cors_origin.as_deref().map(cors_headers).unwrap_or_default());
    Action::Respond(r)
}

#[cfg(test)]
#[path = "stored_tests.rs"]
mod tests;
