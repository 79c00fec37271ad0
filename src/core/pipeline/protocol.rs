//! The protocol between the core and the driver that performs its I/O.
//!
//! One request is a sequence of steps. At each step the core hands the driver one [`Action`]
//! as a small JSON object (`{"do": "fetch", ...}`) plus, separately, the bytes it carries
//! (a reply body, an upstream request body, the mock's frames); the driver performs it and
//! reports what happened as one [`Event`]. Streams are the exception: once a stream's head
//! is out, its chunks pass through their own calls, since they are not steps but data.
//!
//! Invariants: an action crosses the boundary once; its JSON never carries body bytes; a
//! header name appears at most once per header object (repeats are joined with `, `).

use crate::core::error::GatewayError;
use crate::core::state::keystore::KvOp;
use crate::core::translate::providers::mock::MockReply;
use crate::core::translate::providers::UpstreamRequest;
use crate::core::types::Dialect;
use std::fmt::Write;

/// A complete response for the client (or, for [`Action::Stream`], its head).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, in order; names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (empty when `body_from_upstream`).
    pub body: Vec<u8>,
    /// The body is the upstream's body exactly as received (same dialect, validated): the
    /// driver sends the bytes it already holds instead of copying them through the core.
    pub body_from_upstream: bool,
}

impl Reply {
    /// A 200 JSON reply made by the gateway itself.
    pub fn json(request_id: &str, value: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            headers: base_headers(request_id, "application/json"),
            body: value.to_string().into_bytes(),
            body_from_upstream: false,
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Headers every response carries.
pub fn base_headers(request_id: &str, content_type: &str) -> Vec<(String, String)> {
    vec![("content-type".into(), content_type.into()), ("x-request-id".into(), request_id.into())]
}

/// An error response in the caller's dialect: its body, and its status as that dialect
/// gives it ([`GatewayError::status_for`]).
pub fn error_reply(request_id: &str, err: &GatewayError, dialect: Dialect) -> Reply {
    let mut headers = base_headers(request_id, "application/json");
    if let Some(ra) = &err.retry_after {
        headers.push(("retry-after".into(), ra.clone()));
    }
    Reply { status: err.status_for(dialect), headers, body: err.body_for(dialect), body_from_upstream: false }
}

/// Response headers a script may read.
pub const CORS_EXPOSED: &str = "x-request-id, x-switchyard-provider, x-switchyard-model, x-switchyard-attempts, x-switchyard-cache, \
x-switchyard-cost-usd, x-switchyard-saved-usd, x-switchyard-session, x-switchyard-route-reason, x-switchyard-rung-costs-usd, x-switchyard-input-tokens, x-switchyard-output-tokens, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, \
x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens, retry-after, age";

/// Headers for a reply to an allowed cross-origin request.
pub fn cors_headers(origin: &str) -> Vec<(String, String)> {
    vec![
        ("access-control-allow-origin".into(), origin.into()),
        ("access-control-expose-headers".into(), CORS_EXPOSED.into()),
        ("vary".into(), "origin".into()),
    ]
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this response; the request is over.
    Respond(Reply),
    /// Send this head, then pipe upstream chunks through the stream calls.
    Stream(Reply),
    /// Wait `delay_ms` (a retry's backoff), call the upstream, report [`Event::Head`] (or
    /// [`Event::Failed`]). `timeout_ms` bounds the whole call, `ttfb_ms` the wait for its
    /// head (0: no separate bound).
    Fetch {
        /// The request to send (POST).
        request: UpstreamRequest,
        /// Bound on the whole call.
        timeout_ms: u32,
        /// Bound on the wait for the response head (0: none but `timeout_ms`).
        ttfb_ms: u32,
        /// Wait this long first.
        delay_ms: u32,
    },
    /// Play back the built-in mock upstream's reply, then report it like a fetched one.
    Mock(MockReply),
    /// Read the whole upstream body and report [`Event::Body`].
    ReadBody,
    /// Perform this operation on the `KEYS` KV namespace; report [`Event::Answer`].
    Kv(KvOp),
    /// Send `op` (JSON) to the tenant's Durable Object; report its answer ([`Event::Answer`],
    /// `None` when it could not be reached).
    Tenant {
        /// The object's name.
        tenant: String,
        /// The op, JSON.
        op: String,
    },
    /// Read this key from the `CACHE` KV namespace; report [`Event::Answer`]. `join`: the
    /// request's own key, which identical requests in flight may share; `coalesce`: on a
    /// miss, also ask the key's Durable Object across isolates.
    CacheGet {
        /// The cache key.
        key: String,
        /// Identical requests in flight in this isolate share this read.
        join: bool,
        /// On a miss, coalesce across isolates too.
        coalesce: bool,
    },
    /// Wait for the leading identical request's answer, at most `wait_ms`; report
    /// [`Event::Answer`] with its entry, or `None` when it stored none or the wait ran out.
    Follow {
        /// This request's id among the followers (as the driver knows it).
        id: u64,
        /// The longest wait.
        wait_ms: u32,
    },
    /// A sub-request: an internal model call the pipeline makes for itself. Call it and report
    /// [`Event::Called`] with its status and whole body (status 0: no answer).
    Call {
        /// The request (POST).
        request: UpstreamRequest,
        /// Bound on the whole call.
        timeout_ms: u32,
    },
    /// Send `op` (JSON) to the similar-prompt index object `name`; report its answer.
    Index {
        /// The object's name.
        name: String,
        /// The op, JSON.
        op: String,
    },
    /// Send `op` (JSON, a [`crate::core::state::conversation::Op`]) to the stored conversation's
    /// object `name`; report its answer ([`Event::Answer`], `None` when it could not be
    /// reached).
    Conversation {
        /// The object's name ([`crate::core::state::conversation::object_name`]).
        name: String,
        /// The op, JSON.
        op: String,
    },
    /// Run these JavaScript regular expressions (a pattern, or `/source/flags`) on the text
    /// carried as the action's bytes (UTF-8); report [`Event::Answer`] with one character per
    /// pattern, in order, `1` it matches or `0` it does not, or `!` and the engine's message
    /// when a pattern does not compile.
    Regex {
        /// The patterns.
        patterns: Vec<String>,
        /// The text, moved out with the bytes.
        text: String,
    },
    /// Send `op` (JSON, see [`crate::core::state::job::apply`]) to the queued job's object
    /// `name`; report its answer ([`Event::Answer`], `None` when it could not be reached).
    Job {
        /// The object's name (tenant and job id).
        name: String,
        /// The op, JSON.
        op: String,
    },
    /// Read the stored breaker of each target's `TargetHealth` Durable Object, all at once
    /// with a short timeout; report [`Event::Answer`] with a JSON array, one entry per target
    /// in order: the stored state (a JSON string) or `null` (none stored, or no answer in
    /// time). `None` when the `HEALTH` namespace is not bound.
    Health {
        /// The targets, as `<provider id>/<upstream model>` (the objects' names).
        targets: Vec<String>,
    },
}

/// What happened, reported by the driver for the action it performed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// The upstream answered with this head (only the headers the exchange reads).
    Head {
        /// HTTP status.
        status: u16,
        /// Headers, names lowercase.
        headers: &'a [(String, String)],
    },
    /// The whole upstream body.
    Body(&'a [u8]),
    /// The upstream call failed before an answer (or while reading its body).
    Failed {
        /// It was a timeout.
        timed_out: bool,
    },
    /// The answer of a KV, tenant, cache, follow, index, conversation, regex or health step (`None`: nothing,
    /// or no answer).
    Answer(Option<&'a str>),
    /// A sub-request's result (status 0: it could not be reached).
    Called {
        /// HTTP status, 0 when there was no answer.
        status: u16,
        /// The whole body.
        body: &'a [u8],
    },
}

impl Action {
    /// Whether the request is over (a full reply) or its stream is starting.
    pub fn replies(&self) -> bool {
        matches!(self, Action::Respond(_) | Action::Stream(_))
    }

    /// The action's JSON object, without its bytes; `extra` is appended verbatim as more
    /// members (`"name":value` pairs, each preceded by a comma) before the closing brace.
    pub fn to_json(&self, extra: &str) -> String {
        let mut o = String::with_capacity(256);
        match self {
            Action::Respond(r) => {
                o.push_str(r#"{"do":"respond""#);
                reply_head(&mut o, r);
                if r.body_from_upstream {
                    o.push_str(r#","upstream_body":true"#);
                }
            }
            Action::Stream(r) => {
                o.push_str(r#"{"do":"stream""#);
                reply_head(&mut o, r);
            }
            Action::Fetch { request, timeout_ms, ttfb_ms, delay_ms } => {
                o.push_str(r#"{"do":"fetch""#);
                request_head(&mut o, request);
                let _ = write!(o, r#","timeout_ms":{timeout_ms},"ttfb_ms":{ttfb_ms},"delay_ms":{delay_ms}"#);
            }
            Action::Call { request, timeout_ms } => {
                o.push_str(r#"{"do":"call""#);
                request_head(&mut o, request);
                let _ = write!(o, r#","timeout_ms":{timeout_ms}"#);
            }
            Action::Mock(m) => {
                let _ = write!(o, r#"{{"do":"mock","status":{}"#, m.status);
                o.push_str(r#","headers":"#);
                headers_json(&mut o, &m.headers);
                let _ = write!(o, r#","delay_ms":{},"interval_ms":{},"cut":{},"frames":["#, m.delay_ms, m.interval_ms, m.cut);
                for (i, f) in m.frames.iter().enumerate() {
                    let _ = write!(o, "{}{}", if i == 0 { "" } else { "," }, f.len());
                }
                o.push(']');
            }
            Action::ReadBody => o.push_str(r#"{"do":"read_body""#),
            Action::Kv(op) => kv_json(&mut o, op),
            Action::Tenant { tenant, op } => {
                o.push_str(r#"{"do":"tenant","name":"#);
                string(&mut o, tenant);
                o.push_str(r#","op":"#);
                string(&mut o, op);
            }
            Action::CacheGet { key, join, coalesce } => {
                o.push_str(r#"{"do":"cache_get","key":"#);
                string(&mut o, key);
                let _ = write!(o, r#","join":{join},"coalesce":{coalesce}"#);
            }
            Action::Follow { id, wait_ms } => {
                let _ = write!(o, r#"{{"do":"follow","id":{id},"wait_ms":{wait_ms}"#);
            }
            Action::Index { name, op } | Action::Conversation { name, op } | Action::Job { name, op } => {
                o.push_str(match self {
                    Action::Index { .. } => r#"{"do":"index","name":"#,
                    Action::Job { .. } => r#"{"do":"job","name":"#,
                    _ => r#"{"do":"conversation","name":"#,
                });
                string(&mut o, name);
                o.push_str(r#","op":"#);
                string(&mut o, op);
            }
            Action::Regex { patterns: list, .. } | Action::Health { targets: list } => {
                o.push_str(match self {
                    Action::Health { .. } => r#"{"do":"health","targets":["#,
                    _ => r#"{"do":"regex","patterns":["#,
                });
                for (i, p) in list.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    string(&mut o, p);
                }
                o.push(']');
            }
        }
        o.push_str(extra);
        o.push('}');
        o
    }

    /// The bytes the action carries, moved out (call once): a reply body, an upstream
    /// request body, or the mock's frames one after another (their lengths are in the JSON).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        match self {
            Action::Respond(r) => std::mem::take(&mut r.body),
            Action::Fetch { request, .. } | Action::Call { request, .. } => std::mem::take(&mut request.body),
            Action::Mock(m) => std::mem::take(&mut m.frames).concat(),
            Action::Regex { text, .. } => std::mem::take(text).into_bytes(),
            _ => Vec::new(),
        }
    }
}

fn reply_head(o: &mut String, r: &Reply) {
    let _ = write!(o, r#","status":{},"headers":"#, r.status);
    headers_json(o, &r.headers);
}

fn request_head(o: &mut String, r: &UpstreamRequest) {
    o.push_str(r#","url":"#);
    string(o, &r.url);
    o.push_str(r#","headers":"#);
    headers_json(o, &r.headers);
}

fn kv_json(o: &mut String, op: &KvOp) {
    let (name, key) = match op {
        KvOp::Get { key, .. } => ("get", key),
        KvOp::Put { key, .. } => ("put", key),
        KvOp::Delete { key } => ("delete", key),
        KvOp::List { prefix } => ("list", prefix),
    };
    let _ = write!(o, r#"{{"do":"kv","op":"{name}","key":"#);
    string(o, key);
    match op {
        KvOp::Get { cache_ttl_s, .. } => {
            let _ = write!(o, r#","cache_ttl":{cache_ttl_s}"#);
        }
        KvOp::Put { value, metadata, .. } => {
            o.push_str(r#","value":"#);
            string(o, value);
            o.push_str(r#","metadata":"#);
            string(o, metadata);
        }
        KvOp::Delete { .. } | KvOp::List { .. } => {}
    }
}

/// Headers as one JSON object; a repeated name's values are joined with `, `.
pub fn headers_json(o: &mut String, headers: &[(String, String)]) {
    o.push('{');
    let mut first = true;
    for (i, (name, _)) in headers.iter().enumerate() {
        if headers[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        if !first {
            o.push(',');
        }
        first = false;
        string(o, name);
        o.push(':');
        let mut values = headers[i..].iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let head = values.next().unwrap_or_default();
        match values.next() {
            None => string(o, head),
            Some(second) => {
                let mut joined = format!("{head}, {second}");
                for v in values {
                    joined.push_str(", ");
                    joined.push_str(v);
                }
                string(o, &joined);
            }
        }
    }
    o.push('}');
}

/// A JSON string literal.
pub fn string(o: &mut String, s: &str) {
    o.push_str(&serde_json::Value::from(s).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(a: &Action) -> serde_json::Value {
        serde_json::from_str(&a.to_json("")).expect("valid JSON")
    }

    #[test]
    fn each_action_is_one_json_object_without_its_bytes() {
        let request = UpstreamRequest {
            url: "https://u.example/v1".into(),
            headers: vec![("authorization".into(), "Bearer k".into())],
            body: b"{}".to_vec(),
        };
        let cases = [
            (Action::ReadBody, serde_json::json!({"do": "read_body"})),
            (
                Action::Fetch { request: request.clone(), timeout_ms: 5, ttfb_ms: 2, delay_ms: 1 },
                serde_json::json!({"do": "fetch", "url": "https://u.example/v1", "headers": {"authorization": "Bearer k"},
                    "timeout_ms": 5, "ttfb_ms": 2, "delay_ms": 1}),
            ),
            (
                Action::Call { request, timeout_ms: 9 },
                serde_json::json!({"do": "call", "url": "https://u.example/v1", "headers": {"authorization": "Bearer k"}, "timeout_ms": 9}),
            ),
            (
                Action::Kv(KvOp::Put { key: "k".into(), value: "v\"".into(), metadata: "{}".into() }),
                serde_json::json!({"do": "kv", "op": "put", "key": "k", "value": "v\"", "metadata": "{}"}),
            ),
            (Action::Kv(KvOp::List { prefix: "key:".into() }), serde_json::json!({"do": "kv", "op": "list", "key": "key:"})),
            (
                Action::Tenant { tenant: "acme".into(), op: r#"{"op":"usage"}"#.into() },
                serde_json::json!({"do": "tenant", "name": "acme", "op": "{\"op\":\"usage\"}"}),
            ),
            (
                Action::CacheGet { key: "ab".into(), join: true, coalesce: false },
                serde_json::json!({"do": "cache_get", "key": "ab", "join": true, "coalesce": false}),
            ),
            (Action::Follow { id: 7, wait_ms: 60_000 }, serde_json::json!({"do": "follow", "id": 7, "wait_ms": 60000})),
            (Action::Index { name: "t/r".into(), op: "{}".into() }, serde_json::json!({"do": "index", "name": "t/r", "op": "{}"})),
            (
                Action::Conversation { name: "[\"t\",\"conv_1\"]".into(), op: "{}".into() },
                serde_json::json!({"do": "conversation", "name": "[\"t\",\"conv_1\"]", "op": "{}"}),
            ),
            (
                Action::Regex { patterns: vec!["^a$".into(), "/b/i".into()], text: "a".into() },
                serde_json::json!({"do": "regex", "patterns": ["^a$", "/b/i"]}),
            ),
        ];
        for (action, want) in cases {
            assert_eq!(parsed(&action), want, "{action:?}");
        }
    }

    #[test]
    fn a_reply_carries_status_and_headers_and_its_body_apart() {
        let mut a = Action::Respond(Reply {
            status: 201,
            headers: vec![("vary".into(), "a".into()), ("x".into(), "1".into()), ("Vary".into(), "b".into())],
            body: b"hello".to_vec(),
            body_from_upstream: false,
        });
        assert_eq!(parsed(&a), serde_json::json!({"do": "respond", "status": 201, "headers": {"vary": "a, b", "x": "1"}}));
        assert_eq!(a.take_bytes(), b"hello");
        assert!(a.take_bytes().is_empty(), "bytes are moved out once");
    }

    #[test]
    fn mock_frames_travel_as_one_buffer_with_their_lengths() {
        let mut a = Action::Mock(MockReply {
            status: 200,
            headers: vec![],
            delay_ms: 3,
            frames: vec![b"ab".to_vec(), b"cde".to_vec()],
            interval_ms: 4,
            cut: true,
        });
        let j = parsed(&a);
        assert_eq!(j["frames"], serde_json::json!([2, 3]));
        assert_eq!((j["delay_ms"].as_u64(), j["interval_ms"].as_u64(), j["cut"].as_bool()), (Some(3), Some(4), Some(true)));
        assert_eq!(a.take_bytes(), b"abcde");
    }

    #[test]
    fn extra_members_are_appended() {
        let j: serde_json::Value = serde_json::from_str(&Action::ReadBody.to_json(r#","wake":[1,2]"#)).unwrap();
        assert_eq!(j, serde_json::json!({"do": "read_body", "wake": [1, 2]}));
    }
}
