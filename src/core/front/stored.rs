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
use crate::core::front::plan::{check_body, Asked, Planner};
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::{cors_headers, error_reply, Action, Reply};
use crate::core::pipeline::session::ConversationPlan;
use crate::core::pipeline::target::Payload;
use crate::core::state::conversation::answer::{self, StoreError};
use crate::core::state::conversation::{self as store, parse_page, Item, Op, Page, Record, Turn};
use crate::core::translate::dialect::fields::{opt_array, opt_obj, parse_object};
use crate::core::translate::dialect::responses::{self, Link};
use crate::core::types::Dialect;
use crate::core::util::json_value::put;
use crate::json;
use serde_json::{Map, Value};

/// `/v1/responses/`: the path before a stored response's id.
pub const RESPONSES_PREFIX: &str = "/v1/responses/";

/// `/v1/conversations`: the Conversations API's path, and the prefix of a conversation's.
pub const CONVERSATIONS_PATH: &str = "/v1/conversations";

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

/// What a stored-response or conversation request waits for: the store's answer to its op.
#[derive(Debug)]
pub struct Pending {
    request_id: String,
    /// The caller's tenant.
    tenant: String,
    cors_origin: Option<String>,
    /// The response or conversation asked for.
    id: String,
    kind: Kind,
}

/// How the store's answer becomes the reply.
#[derive(Debug)]
enum Kind {
    /// As it is (a list, a deletion).
    Plain,
    /// `GET /v1/responses/{id}`: the record's body.
    Response,
    /// A conversation object, from a create's or load's answer (`created_ms`, else `now_ms`),
    /// with this metadata.
    Conversation(u64, Value),
    /// `GET /v1/conversations/{id}/items`: a page of the loaded history.
    Items(Page),
}

/// `GET`/`DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items` and the
/// Conversations API's `POST /v1/conversations`, `GET`/`DELETE /v1/conversations/{id}`,
/// `GET /v1/conversations/{id}/items`: the store's op for it (`include` is accepted and
/// ignored: the items are stored whole).
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
    let page = || parse_page(inb.query).map_err(|k| GatewayError::new(Code::InvalidValue, format!("invalid '{k}'")).with_param(k));
    let pending = |id: &str, kind| Pending {
        request_id: request_id.to_string(),
        tenant: who.tenant.clone(),
        cors_origin: cors.clone(),
        id: id.to_string(),
        kind,
    };
    let ttl_ms = limits(p.config).ttl_ms;
    if let Some(rest) = inb.path.strip_prefix(CONVERSATIONS_PATH) {
        if rest.is_empty() {
            return create(p, who, inb, pending("", Kind::Plain));
        }
        let rest = rest.strip_prefix('/').unwrap_or_default();
        let (id, items) = rest.strip_suffix("/items").map_or((rest, false), |id| (id, true));
        if !store::is_conversation_id(id) {
            return Err(response_not_found(id));
        }
        let (kind, op) = match (items, inb.method) {
            (true, _) => (Kind::Items(page()?), Op::Load { response: None, ttl_ms }),
            (false, "DELETE") => (Kind::Plain, Op::Delete),
            _ => (Kind::Conversation(0, Value::Object(Map::new())), Op::Load { response: None, ttl_ms }),
        };
        return Ok((pending(id, kind), Action::Conversation { name: store::object_name(&who.tenant, id), op: op.to_json() }));
    }
    let rest = inb.path.strip_prefix(RESPONSES_PREFIX).unwrap_or_default();
    let (id, list) = rest.strip_suffix("/input_items").map_or((rest, false), |id| (id, true));
    let Some(conv) = store::conversation_of(id) else { return Err(response_not_found(id)) };
    let response = id.to_string();
    let (kind, op) = match (list, inb.method) {
        (true, _) => (Kind::Plain, Op::List { response, page: page()? }),
        (false, "DELETE") => (Kind::Plain, Op::DeleteResponse { response }),
        _ => (Kind::Response, Op::Get { response }),
    };
    Ok((pending(id, kind), Action::Conversation { name: store::object_name(&who.tenant, &conv), op: op.to_json() }))
}

impl Pending {
    /// A `GET /v1/responses/{id}` the store does not know may be a background response not
    /// stored yet: then its job's object name, and what waits for its answer.
    pub fn background_lookup(&self, answer: Option<&str>) -> Option<(String, crate::core::front::jobs::Pending)> {
        let missing = matches!(self.kind, Kind::Response) && matches!(answer::check(answer), Err(StoreError::NotFound));
        let job = crate::core::front::jobs::Pending::response(&self.request_id, self.cors_origin.clone(), &self.id);
        missing.then(|| (store::object_name(&self.tenant, &self.id), job))
    }
}

/// `POST /v1/conversations`: a new conversation, empty or holding `items` (stored as one
/// turn with no output, under a response id of its own); `metadata` is echoed, not kept.
fn create(p: &Planner, who: &Principal, inb: &Inbound, mut pending: Pending) -> Result<(Pending, Action), GatewayError> {
    check_body(p.config, inb)?;
    let body = if inb.body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { parse_object(inb.body)? };
    let metadata = opt_obj(&body, "metadata", "metadata")?.cloned().unwrap_or_default();
    let items = opt_array(&body, "items", "items")?.cloned().unwrap_or_default();
    let conv =
        store::new_conversation_id(inb.entropy).ok_or_else(|| GatewayError::new(Code::NoEntropy, "no randomness for a conversation id"))?;
    let limits = limits(p.config);
    pending.id.clone_from(&conv);
    pending.kind = Kind::Conversation(inb.now_ms, Value::Object(metadata));
    let op = if items.is_empty() {
        Op::Create { conv: conv.clone(), ttl_ms: limits.ttl_ms }
    } else {
        let response = store::new_response_id(&conv, inb.seed);
        let mut input = Map::new();
        put(&mut input, "input", Value::Array(items));
        let input: Vec<Item> = responses::input_items(&input, &response)
            .into_iter()
            .map(|body| Item { id: body["id"].as_str().unwrap_or_default().to_string(), body })
            .collect();
        if input.iter().any(|i| i.id.is_empty()) {
            return Err(GatewayError::new(Code::InvalidValue, "each item must be an object").with_param("items"));
        }
        let record = Record { id: response, parent: None, body: Value::Null };
        Op::Append(Box::new(Turn { conv: conv.clone(), create: true, record, input, output: Vec::new(), limits }))
    };
    Ok((pending, Action::Conversation { name: store::object_name(&who.tenant, &conv), op: op.to_json() }))
}

fn response_not_found(id: &str) -> GatewayError {
    let what = if id.starts_with("conv_") { "Conversation" } else { "Response" };
    GatewayError::new(Code::SessionNotFound, format!("{what} with id '{id}' not found."))
}

/// The store's answer (`None`: unreachable) as the reply.
pub fn answer(p: Pending, reply: Option<&str>) -> Action {
    let mut r = match answer::check(reply).map(|v| shape(&p, v)) {
        Ok(v) => Reply::json(&p.request_id, &v),
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

/// The reply an answer makes for the request's kind.
fn shape(p: &Pending, mut v: Value) -> Value {
    match &p.kind {
        Kind::Plain => v,
        Kind::Response => v["body"].take(),
        Kind::Conversation(now_ms, metadata) => {
            let created = v["created_ms"].as_u64().unwrap_or(*now_ms) / 1000;
            json!({"id": p.id, "object": "conversation", "created_at": created, "metadata": metadata})
        }
        Kind::Items(page) => {
            let Value::Array(mut items) = v["items"].take() else { return json!({"object": "list", "data": []}) };
            if !page.ascending {
                items.reverse();
            }
            let start = page.after.as_deref().map_or(0, |a| items.iter().position(|i| i["id"] == a).map_or(items.len(), |n| n + 1));
            let rest = &items[start.min(items.len())..];
            let data = &rest[..rest.len().min(page.limit as usize)];
            let id = |i: Option<&Value>| i.map_or(Value::Null, |i| i["id"].clone());
            json!({"object": "list", "data": data, "first_id": id(data.first()), "last_id": id(data.last()), "has_more": rest.len() > data.len()})
        }
    }
}

#[cfg(test)]
#[path = "stored_tests.rs"]
mod tests;
