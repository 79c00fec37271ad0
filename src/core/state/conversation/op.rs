//! The conversation store's vocabulary: conversation and response ids, the items and response
//! records a turn stores, and the [`Op`]s a conversation's Durable Object is sent (as JSON:
//! built by [`Op::to_json`] in the gateway, read as JSON by the object).
//!
//! Ids: a conversation is `conv_` and 32 lowercase hex digits (128 random bits from the
//! edge); a response is `resp_`, its conversation's 32 digits and 16 more, so the response id
//! alone finds the object that holds it ([`conversation_of`]). The object reads an op's JSON
//! as a `serde_json::Value` (no derived deserializers, which cost the module size).

use crate::core::util::json_value::put;
use serde_json::{Map, Value};

/// One stored item: an id (unique within its response; what `after` names when paging) and
/// its JSON, opaque to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The item's id.
    pub id: String,
    /// The item itself (an OpenAI chat message for the chat flow, a Responses item for the
    /// Responses API).
    pub body: Value,
}

/// A stored response: its id, the response it follows (`None`: the first of a chain) and its
/// JSON, opaque to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `resp_…` in the conversation that holds it ([`new_response_id`]).
    pub id: String,
    /// The response whose history this one continues.
    pub parent: Option<String>,
    /// The response object as the flow will answer it later (`GET /v1/responses/{id}`).
    pub body: Value,
}

/// The config's limits on one conversation (`sessions`), sent with each op that may grow or
/// touch it, since the object has no config of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items the conversation holds.
    pub max_items: u32,
    /// Most bytes of JSON one item or response record takes.
    pub max_item_bytes: u32,
    /// Idle lifetime in milliseconds: the conversation deletes itself this long after its
    /// last append or load.
    pub ttl_ms: u64,
}

/// One turn to store: the response record and its input and output items, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The conversation's id; with `create`, the object records it.
    pub conv: String,
    /// The conversation is new: create it with this turn (it must not exist yet).
    pub create: bool,
    /// The response record.
    pub record: Record,
    /// What the caller sent.
    pub input: Vec<Item>,
    /// What the model answered.
    pub output: Vec<Item>,
    /// The conversation's limits.
    pub limits: Limits,
}

/// Paging of a response's input items, as OpenAI's list endpoints page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// List the items after this item id (in `order`); an id not among them gives an empty
    /// page.
    pub after: Option<String>,
    /// At most this many items (1..100).
    pub limit: u32,
    /// Oldest first (`asc`) or newest first (`desc`).
    pub ascending: bool,
}

/// What a conversation's object is asked (sent as [`Op::to_json`]). Every op but [`Op::Create`] and an [`Op::Append`]
/// that creates answers `{"error": "not_found"}` while the conversation does not exist.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Create the conversation, empty.
    Create {
        /// Its id.
        conv: String,
        /// Its idle lifetime, milliseconds.
        ttl_ms: u64,
    },
    /// Store one turn.
    Append(Box<Turn>),
    /// The history of a response (`None`: of the conversation's head, its latest response):
    /// the history of its parent, then its input items, then its output items.
    Load {
        /// The response, or `None` for the head.
        response: Option<String>,
        /// The idle lifetime, renewed by the load.
        ttl_ms: u64,
    },
    /// One response record.
    Get {
        /// The response.
        response: String,
    },
    /// A page of one response's input items.
    List {
        /// The response.
        response: String,
        /// Which page.
        page: Page,
    },
    /// Delete one response and its items; the responses that followed it follow its parent
    /// from then on.
    DeleteResponse {
        /// The response.
        response: String,
    },
    /// Delete the whole conversation.
    Delete,
    /// The object's alarm rang: delete the conversation if it has been idle past its lifetime.
    Expire,
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A new conversation id from the request's random bytes (the first 16 are used); `None`
/// when there are fewer than 16.
pub fn new_conversation_id(entropy: &[u8]) -> Option<String> {
    entropy.get(..16).map(|b| format!("conv_{}", hex::encode(b)))
}

/// Whether `s` is a conversation id as [`new_conversation_id`] makes them.
pub fn is_conversation_id(s: &str) -> bool {
    s.len() == 37 && s.starts_with("conv_") && is_hex(&s[5..])
}

/// The odd multiplier that mixes a seed into a response id's last 16 digits.
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// A new response id in conversation `conv` (a valid conversation id), its last 16 digits
/// from `seed`.
pub fn new_response_id(conv: &str, seed: u64) -> String {
    format!("resp_{}{:016x}", conv.get(5..).unwrap_or_default(), seed.wrapping_mul(MIX).rotate_left(29))
}

/// What makes response id `id` again (a background response's, chosen before it runs): the
/// 16 bytes of its conversation id (as a new conversation's randomness) and the seed for
/// which [`new_response_id`] gives `id`; `None` when `id` is not a response id.
pub fn response_origin(id: &str) -> Option<([u8; 16], u64)> {
    conversation_of(id)?;
    let mut conv = [0u8; 16];
    hex::decode_to_slice(&id[5..37], &mut conv).ok()?;
    let mixed = u64::from_str_radix(&id[37..], 16).ok()?;
    // MIX's inverse modulo 2^64, by Newton's iteration (each step doubles the correct bits).
    let inverse = (0..6).fold(MIX, |x, _| x.wrapping_mul(2u64.wrapping_sub(MIX.wrapping_mul(x))));
    Some((conv, mixed.rotate_right(29).wrapping_mul(inverse)))
}

/// The conversation holding a response, read from the response's id; `None` when `id` is not
/// a response id as [`new_response_id`] makes them.
pub fn conversation_of(id: &str) -> Option<String> {
    let h = id.strip_prefix("resp_").filter(|h| h.len() == 48 && is_hex(h))?;
    Some(format!("conv_{}", &h[..32]))
}

/// The name of the Durable Object holding conversation `conv` of `tenant`: another tenant's
/// name for the same id is another (empty) object, so its ids answer as unknown ones do.
pub fn object_name(tenant: &str, conv: &str) -> String {
    Value::from(vec![tenant, conv]).to_string()
}

fn items_json(items: &[Item]) -> Value {
    let item = |i: &Item| {
        let mut o = Map::new();
        put(&mut o, "id", i.id.as_str().into());
        put(&mut o, "body", i.body.clone());
        Value::Object(o)
    };
    items.iter().map(item).collect()
}

impl Op {
    /// The op as the JSON the object reads (`store::step`): `{"op": name, ...}` with the
    /// variant's fields, the response as `id`.
    pub fn to_json(&self) -> String {
        let mut o = Map::new();
        let mut put = |k: &str, v: Value| {
            o.insert(k.into(), v);
        };
        let name = match self {
            Op::Create { conv, ttl_ms } => {
                put("conv", conv.as_str().into());
                put("ttl_ms", (*ttl_ms).into());
                "create"
            }
            Op::Append(t) => {
                put("conv", t.conv.as_str().into());
                put("create", t.create.into());
                put("id", t.record.id.as_str().into());
                put("parent", t.record.parent.as_deref().into());
                put("body", t.record.body.clone());
                put("input", items_json(&t.input));
                put("output", items_json(&t.output));
                put("max_items", t.limits.max_items.into());
                put("max_item_bytes", t.limits.max_item_bytes.into());
                put("ttl_ms", t.limits.ttl_ms.into());
                "append"
            }
            Op::Load { response, ttl_ms } => {
                put("id", response.as_deref().into());
                put("ttl_ms", (*ttl_ms).into());
                "load"
            }
            Op::Get { response } => {
                put("id", response.as_str().into());
                "get"
            }
            Op::List { response, page } => {
                put("id", response.as_str().into());
                put("after", page.after.as_deref().into());
                put("limit", page.limit.into());
                put("asc", page.ascending.into());
                "list"
            }
            Op::DeleteResponse { response } => {
                put("id", response.as_str().into());
                "delete_response"
            }
            Op::Delete => "delete",
            Op::Expire => "expire",
        };
        put("op", name.into());
        Value::Object(o).to_string()
    }
}

/// Read `limit`, `after` and `order` from a list endpoint's query string as OpenAI pages
/// (`limit` 1..100, default 20; `order` `asc` or `desc`, default `desc`); `Err` names the
/// parameter that is wrong. Other parameters are left to the caller.
pub fn parse_page(query: &str) -> Result<Page, &'static str> {
    let mut page = Page { after: None, limit: 20, ascending: false };
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = match k {
            "after" => "after",
            "limit" => "limit",
            "order" => "order",
            _ => continue,
        };
        let v = crate::core::util::percent::decode_query(v).ok_or(key)?;
        match key {
            "after" => page.after = Some(v).filter(|v| !v.is_empty()),
            "limit" => page.limit = v.parse().ok().filter(|l| (1..=100).contains(l)).ok_or(key)?,
            _ if v == "asc" || v == "desc" => page.ascending = v == "asc",
            _ => return Err(key),
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_128_random_bits_and_responses_name_their_conversation() {
        let conv = new_conversation_id(&[0xab; 24]).unwrap();
        assert_eq!(conv, format!("conv_{}", "ab".repeat(16)));
        assert!(is_conversation_id(&conv));
        assert_eq!(new_conversation_id(&[1; 15]), None, "too little randomness makes no id");
        let resp = new_response_id(&conv, 7);
        assert_eq!((resp.len(), &resp[..5]), (53, "resp_"));
        assert_ne!(resp, new_response_id(&conv, 8));
        assert_eq!(conversation_of(&resp), Some(conv.clone()));
        for bad in ["conv_AB", "resp_xyz", &resp[..52], &resp.to_uppercase(), "", &format!("{resp}0")] {
            assert_eq!(conversation_of(bad), None, "{bad}");
        }
        assert!(!is_conversation_id(&conv.replace('a', "A")) && !is_conversation_id(&conv[1..]));
        assert_ne!(object_name("a", &conv), object_name("b", &conv));
        assert_ne!(object_name("a/b", "c"), object_name("a", "b/c"));
    }

    #[test]
    fn a_response_id_is_made_again_from_its_origin() {
        let conv = new_conversation_id(&[0x5c; 16]).unwrap();
        for seed in [0, 1, 7, u64::MAX, 0x8000_0000_0000_0001] {
            let id = new_response_id(&conv, seed);
            let (bytes, again) = response_origin(&id).unwrap();
            assert_eq!((new_conversation_id(&bytes).unwrap(), again), (conv.clone(), seed));
        }
        assert_eq!(response_origin("resp_1"), None);
    }

    #[test]
    fn an_op_is_one_json_object_named_by_op() {
        let limits = Limits { max_items: 10, max_item_bytes: 2048, ttl_ms: 86_400_000 };
        let turn = Turn {
            conv: "conv_1".into(),
            create: true,
            record: Record { id: "resp_1".into(), parent: None, body: serde_json::json!({"object": "response"}) },
            input: vec![Item { id: "a".into(), body: serde_json::json!({"role": "user", "content": "hi \"there\""}) }],
            output: vec![],
            limits,
        };
        let v: Value = serde_json::from_str(&Op::Append(Box::new(turn)).to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"op": "append", "conv": "conv_1", "create": true, "id": "resp_1", "parent": null,
                "body": {"object": "response"}, "input": [{"id": "a", "body": {"role": "user", "content": "hi \"there\""}}],
                "output": [], "max_items": 10, "max_item_bytes": 2048, "ttl_ms": 86_400_000})
        );
        let page = Page { after: None, limit: 5, ascending: true };
        let v: Value = serde_json::from_str(&Op::List { response: "r".into(), page }.to_json()).unwrap();
        assert_eq!(v, serde_json::json!({"op": "list", "id": "r", "after": null, "limit": 5, "asc": true}));
        assert_eq!(Op::Expire.to_json(), r#"{"op":"expire"}"#);
    }

    #[test]
    fn pages_read_openai_list_parameters() {
        assert_eq!(parse_page(""), Ok(Page { after: None, limit: 20, ascending: false }));
        assert_eq!(parse_page("limit=100&order=asc&after=msg%5F1"), Ok(Page { after: Some("msg_1".into()), limit: 100, ascending: true }));
        assert_eq!(parse_page("after=&order=desc&include=x"), Ok(Page { after: None, limit: 20, ascending: false }));
        for (q, bad) in [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("order=up", "order"), ("after=%zz", "after")]
        {
            assert_eq!(parse_page(q), Err(bad), "{q}");
        }
    }
}
