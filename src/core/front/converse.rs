//! Stored conversations for chat and messages requests (`x-switchyard-session`; README,
//! "Sessions"): the header's `new` starts one, an existing id's history is loaded from its
//! object and put after the request's own instructions, then the request is planned as any
//! other, with its turn to store once answered (`pipeline::session`'s conversation steps).
//!
//! Invariants: a conversation is reached only under the caller's tenant, so another tenant's
//! id is as unknown as a made-up one (404 `session_not_found`); a turn that cannot fit the
//! conversation's limits is refused before anything goes upstream.

use crate::core::config::Config;
use crate::core::error::{Code, GatewayError};
use crate::core::front::caps;
use crate::core::front::inbound::{Inbound, OwnedInbound};
use crate::core::front::plan::{Asked, Planner};
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{cors_headers, error_reply, Action};
use crate::core::pipeline::session::{ConversationPlan, Session, SESSION_HEADER};
use crate::core::pipeline::target::Payload;
use crate::core::state::conversation::{self as store, answer, Limits, Op};
use crate::core::translate::dialect::responses::{self, Link};
use crate::core::translate::history;
use crate::core::types::Dialect;
use serde_json::Value;

/// How a request starts: its session, or the load of its conversation's history.
#[derive(Debug)]
pub enum Started {
    /// The session and its first action.
    Session(Box<Session>, Action),
    /// The wait for the history, and the load.
    Loading(Box<Loading>, Action),
}

/// A request waiting for its conversation's history.
#[derive(Debug)]
pub struct Loading {
    pub(super) who: Principal,
    /// The inbound request without its body (decoded already: `payload`).
    pub(super) inb: OwnedInbound,
    pub(super) asked: Asked,
    pub(super) payload: Payload,
    pub(super) plan: ConversationPlan,
    /// A Responses request's link to its history (`None`: a chat session's load).
    pub(super) link: Option<Link>,
    /// The turn is to be stored (a Responses request's `store: false` only loads).
    pub(super) keep: bool,
}

/// The conversation limits of the config.
pub(super) fn limits(config: &Config) -> Limits {
    let s = &config.sessions;
    Limits { max_items: s.max_items, max_item_bytes: s.max_item_bytes, ttl_ms: s.ttl_ms() }
}

/// Start a decoded request: without `x-switchyard-session`, its session at once; with `new`,
/// its session with a new conversation to store the turn in; with a conversation id, the load
/// of its history first.
pub fn start(p: &Planner, who: &Principal, inb: &Inbound, asked: Asked, payload: Payload) -> Result<Started, GatewayError> {
    let session = |(s, a): (Session, Action)| Started::Session(Box::new(s), a);
    let Some(value) = inb.header(SESSION_HEADER) else { return p.plan(who, inb, asked, payload, None).map(session) };
    let req = match &payload {
        Payload::Chat(req) if req.dialect != Dialect::Completions => req,
        _ => {
            return Err(GatewayError::new(Code::InvalidValue, "x-switchyard-session applies to /v1/chat/completions and /v1/messages only")
                .with_param(SESSION_HEADER))
        }
    };
    if !p.conversations {
        return Err(GatewayError::new(Code::SessionsDisabled, "sessions need the CONVERSATIONS Durable Object namespace bound"));
    }
    let limits = limits(p.config);
    let items = history::items(req);
    if let Some(i) = items.iter().position(|m| m.to_string().len() > limits.max_item_bytes as usize) {
        let err = answer::StoreError::TooLarge.to_error("");
        return Err(err.with_param(format!("messages[{}]", history::instructions(req) + i)));
    }
    let (id, create) = match value {
        "new" => (
            store::new_conversation_id(inb.entropy)
                .ok_or_else(|| GatewayError::new(Code::NoEntropy, "no randomness for a conversation id"))?,
            true,
        ),
        v if store::is_conversation_id(v) => (v.to_string(), false),
        _ => return Err(not_found()),
    };
    let plan = ConversationPlan {
        object: store::object_name(&who.tenant, &id),
        response: store::new_response_id(&id, inb.seed),
        id,
        create,
        parent: None,
        items,
        limits,
    };
    if create {
        check_room(&plan, 0)?;
        return p.plan(who, inb, asked, payload, Some(plan)).map(session);
    }
    let action = Action::Conversation { name: plan.object.clone(), op: Op::Load { response: None, ttl_ms: limits.ttl_ms }.to_json() };
    let inb = OwnedInbound::from(&Inbound { body: &[], ..*inb });
    Ok(Started::Loading(Box::new(Loading { who: who.clone(), inb, asked, payload, plan, link: None, keep: true }), action))
}

fn not_found() -> GatewayError {
    GatewayError::new(Code::SessionNotFound, "no stored conversation by that id (x-switchyard-session: new starts one)")
        .with_param(SESSION_HEADER)
}

/// The turn (its new messages and the answer) fits beside the `held` items already stored.
pub(super) fn check_room(plan: &ConversationPlan, held: u64) -> Result<(), GatewayError> {
    match held + plan.items.len() as u64 + 1 > u64::from(plan.limits.max_items) {
        true => Err(answer::StoreError::Full.to_error(&plan.id)),
        false => Ok(()),
    }
}

/// The loaded history in the request (`reply`: the object's answer, `None` when it could not
/// be reached), then its session; `Err` is the error reply, in the caller's API, when the
/// conversation is unknown (to this tenant), full, or could not be read.
pub fn loaded(p: &Planner, l: Box<Loading>, reply: Option<&str>) -> Result<(Session, Action), Action> {
    let (request_id, dialect, origin) = (l.asked.request_id.clone(), l.asked.dialect, l.asked.cors_origin.clone());
    resume(p, *l, reply).map_err(|e| {
        let mut r = error_reply(&request_id, &e, dialect);
        r.headers.extend(origin.as_deref().map(cors_headers).unwrap_or_default());
        Action::Respond(r)
    })
}

fn resume(p: &Planner, l: Loading, reply: Option<&str>) -> Result<(Session, Action), GatewayError> {
    let Loading { who, inb, asked, mut payload, mut plan, link, keep } = l;
    let h = answer::history(reply).map_err(|e| match (&link, e) {
        (Some(l), answer::StoreError::NotFound) => link_not_found(l),
        (_, e) => e.to_error(&plan.id),
    })?;
    if keep {
        check_room(&plan, h.count)?;
    }
    plan.parent = h.response;
    if link.is_some() {
        merge(&mut payload, h.items, &plan.items)?;
    } else {
        let messages = history::decode(h.items).map_err(|_| answer::StoreError::Unavailable.to_error(&plan.id))?;
        if let Payload::Chat(req) = &mut payload {
            history::splice(req, messages)?;
        }
    }
    p.plan(&who, &inb.view(), asked, payload, Some(plan).filter(|_| keep))
}

/// The error for a link to nothing stored (for this tenant).
pub fn link_not_found(link: &Link) -> GatewayError {
    let what = match link {
        Link::Previous(_) => "Previous response",
        Link::Conversation(_) => "Conversation",
    };
    GatewayError::new(Code::SessionNotFound, format!("{what} with id '{}' not found.", link.id())).with_param(link.param())
}

/// Put a loaded `history` before the request's input (`items`, as stored) and decode the
/// request again, its forwarded headers kept.
pub fn merge(payload: &mut Payload, history: Vec<Value>, items: &[Value]) -> Result<(), GatewayError> {
    let Payload::Chat(req) = payload else { return Ok(()) };
    let Some(raw) = req.raw.as_ref() else { return Ok(()) };
    let body = responses::with_history(raw, history, items);
    let mut merged = responses::decode_request(&body)?;
    caps::check_request(&merged)?;
    merged.forwarded_headers = std::mem::take(&mut req.forwarded_headers);
    **req = merged;
    Ok(())
}

#[cfg(test)]
#[path = "converse_tests.rs"]
pub(crate) mod tests;
