//! The wasm32 edge: the core's state machine exported to the JavaScript driver
//! (`entry.js`) as coarse, synchronous calls that take and return bytes.
//!
//! Why this shape: measured on workerd, crossing the JS↔wasm boundary a few times per request
//! with plain bytes costs next to nothing, while async Rust request wrappers cost 20–50% of the
//! runtime's throughput (README, "Hot path"). So the driver does the I/O and the core decides.
//! This module adds only the clock, randomness and the boundary conversions.

use crate::core::front::gateway::{Gateway as CoreGateway, Inbound};
use crate::core::pipeline::exchange::Action;
use crate::core::pipeline::session::Session;
use crate::core::state::keystore::KvOp;
use crate::core::state::spend::TenantNext;
use wasm_bindgen::prelude::*;

mod block;
use block::{parse_block, to_block};
mod pool;

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: pool::Pooled = pool::Pooled;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    // Without randomness the id is still unique enough to log; never fail a request for it.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// For the `TargetHealth` Durable Object: apply one outcome to its stored breaker and
/// return the new state to store (and to hand back to the reporting isolate).
#[wasm_bindgen]
pub fn health_apply(stored: Option<String>, target: &str, config: &str, now_ms: f64, ok: bool, elapsed_ms: f64) -> String {
    let cfg: crate::core::config::BreakerConfig = serde_json::from_slice(config.as_bytes()).unwrap_or_default();
    crate::core::state::health::apply_outcome(stored.as_deref(), target, &cfg, now_ms as u64, ok, elapsed_ms as u64)
}

/// For a tenant's Durable Object: apply one spend-control op (JSON) to its stored state.
/// Returns `{"state"?: string, "reply": any, "sql"?: {"sql", "args"}, "rows": bool}`: the
/// state to store when it changed, the answer, a statement to run on the ledger, and
/// whether the answer is that statement's rows instead.
#[wasm_bindgen]
pub fn tenant_apply(stored: Option<String>, op: &str, now_ms: f64) -> String {
    use crate::core::state::spend::{apply, Op, TenantState};
    let state: TenantState = stored.as_deref().and_then(|s| serde_json::from_slice(s.as_bytes()).ok()).unwrap_or_default();
    let Ok(op) = serde_json::from_slice::<Op>(op.as_bytes()) else {
        return r#"{"reply":null,"rows":false}"#.into();
    };
    let rows = matches!(op, Op::Usage(_));
    let applied = apply(&state, op, now_ms as u64);
    let mut out = serde_json::json!({"reply": applied.reply, "rows": rows, "sql": applied.sql});
    if let Some(s) = applied.state {
        out["state"] = serde_json::Value::String(serde_json::to_string(&s).unwrap_or_default());
    }
    out.to_string()
}

/// The similar-prompt index's table, for its Durable Object to create.
#[wasm_bindgen]
pub fn similar_schema() -> String {
    crate::core::state::similar::SCHEMA.to_string()
}

/// The statements an index op runs, as JSON `[{"sql", "args"}]` (none for a bad op).
#[wasm_bindgen]
pub fn similar_statements(op: &str) -> String {
    let op = serde_json::from_slice(op.as_bytes()).ok();
    let list = op.as_ref().map(crate::core::state::similar::statements).unwrap_or_default();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// A lookup's best match as JSON, from the rows its statement read; "" when none.
#[wasm_bindgen]
pub fn similar_pick(op: &str, rows: &str) -> String {
    let found = serde_json::from_slice(op.as_bytes()).ok().and_then(|op| crate::core::state::similar::pick(&op, rows));
    found.and_then(|m| serde_json::to_string(&m).ok()).unwrap_or_default()
}

/// The ledger's table, for a tenant's Durable Object to create.
#[wasm_bindgen]
pub fn tenant_schema() -> String {
    crate::core::state::ledger::SCHEMA.to_string()
}

/// Per-isolate gateway: config and secrets, built once.
#[wasm_bindgen]
pub struct Gateway {
    inner: CoreGateway,
}

#[wasm_bindgen]
impl Gateway {
    #[wasm_bindgen(constructor)]
    pub fn new(config: Option<String>) -> Gateway {
        console_error_panic_hook::set_once();
        Gateway { inner: CoreGateway::new(config.as_deref()) }
    }

    /// The config's problems, one per line, or `undefined` when it is valid.
    pub fn config_error(&self) -> Option<String> {
        self.inner.config_problems().map(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    }

    pub fn secret_names(&self) -> Vec<String> {
        self.inner.secret_names()
    }

    pub fn set_secret(&mut self, name: &str, value: &str) {
        self.inner.set_secret(name, value);
    }

    /// The scheduled probes as JSON: `[{"target", "url", "headers": [[name, value]], "body", "timeout_ms"}]`.
    pub fn probes(&self) -> String {
        let list: Vec<serde_json::Value> = self
            .inner
            .probes()
            .into_iter()
            .map(|(target, r, timeout_ms)| {
                serde_json::json!({"target": target, "url": r.url, "headers": r.headers, "body": String::from_utf8_lossy(&r.body), "timeout_ms": timeout_ms})
            })
            .collect();
        serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
    }

    /// Record a probe's result (`status` 0: no answer); the outcome to report as JSON, or "".
    pub fn probe_result(&self, target: &str, status: u16, elapsed_ms: f64) -> String {
        let outcome = self.inner.probe_result(target, status, elapsed_ms as u64, date_now() as u64);
        outcome.and_then(|o| serde_json::to_string(&o).ok()).unwrap_or_default()
    }

    /// The breaker settings as JSON, sent along with each outcome to the Durable Object.
    pub fn breaker_config(&self) -> String {
        self.inner.breaker_config_json()
    }

    /// Adopt the shared breaker state a target's Durable Object answered with.
    pub fn adopt_health(&self, stored: &str) {
        self.inner.adopt_health(stored);
    }

    /// The `KEYS` KV namespace is bound (runtime keys and the admin API).
    pub fn set_keystore(&mut self, bound: bool) {
        self.inner.set_keystore(bound);
    }

    /// The `CACHE` KV namespace is bound (the response cache).
    pub fn set_cache(&mut self, bound: bool) {
        self.inner.set_cache(bound);
    }

    /// The `SIMILAR` Durable Object namespace is bound (the similar-prompt cache).
    pub fn set_similar_index(&mut self, bound: bool) {
        self.inner.set_similar_index(bound);
    }

    /// The `TENANTS` Durable Object namespace is bound (limits, budgets, ledger).
    pub fn set_ledger(&mut self, bound: bool) {
        self.inner.set_ledger(bound);
    }

    /// Hand a tenant object's answer (`undefined`: it could not be reached) to a step
    /// waiting on it.
    pub fn resume_tenant(&self, step: &mut Step, answer: Option<String>) {
        let Action::Tenant { then, .. } = std::mem::replace(&mut step.action, Action::ReadBody) else { return };
        let now = date_now() as u64;
        step.action = match (step.session.as_mut(), then) {
            (Some(s), TenantNext::Admission) => s.on_admit(answer.as_deref(), now),
            (_, then) => self.inner.resume_tenant(then, answer.as_deref()),
        };
    }

    /// Hand a KV result (a value, a JSON list, or `undefined`) back to a step waiting on it.
    pub fn resume(&self, step: &mut Step, result: Option<String>) {
        let Action::Kv { then, .. } = std::mem::replace(&mut step.action, Action::ReadBody) else { return };
        let (session, action) = self.inner.resume(*then, result.as_deref());
        step.session = session;
        step.action = action;
    }

    /// The upstream response headers the core reads: the edge passes only these to
    /// `Step::on_head` (reading a few by name is cheaper than iterating all of them).
    pub fn upstream_headers(&self) -> Vec<String> {
        crate::core::pipeline::exchange::UPSTREAM_HEADERS.iter().map(|h| h.to_string()).collect()
    }

    pub fn max_body_bytes(&self) -> f64 {
        self.inner.max_body_bytes() as f64
    }

    /// Begin an exchange. `path` may carry the query string; `headers` is a header block
    /// (see `parse_block`).
    /// `declared_len` is the content-length when the body was not read because it is too big.
    /// `entropy`: random bytes for making secrets (admin routes), else empty.
    pub fn start(&self, method: &str, path: &str, headers: &str, body: &[u8], declared_len: f64, entropy: &[u8]) -> Step {
        let headers = parse_block(headers);
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let inbound = Inbound {
            method,
            path,
            query,
            headers: &headers,
            body,
            declared_len: (declared_len >= 0.0).then_some(declared_len as usize),
            now_ms: date_now() as u64,
            seed: seed(),
            entropy,
        };
        let (session, action) = self.inner.start(&inbound);
        Step { session, action }
    }
}

/// One request in flight: the current action and the exchange behind it.
#[wasm_bindgen]
pub struct Step {
    session: Option<Session>,
    action: Action,
}

const RESPOND: u8 = 0;
const FETCH: u8 = 1;
const MOCK: u8 = 2;
const READ_BODY: u8 = 3;
const STREAM: u8 = 4;
const KV: u8 = 5;
const TENANT: u8 = 6;
const CACHE_GET: u8 = 7;
const EMBED: u8 = 8;
const INDEX: u8 = 9;

#[wasm_bindgen]
impl Step {
    /// 0 respond, 1 fetch, 2 mock, 3 read body, 4 stream, 5 KV, 6 tenant object, 7 cache
    /// read, 8 embedding call, 9 similar-prompt index.
    pub fn kind(&self) -> u8 {
        match self.action {
            Action::Respond(_) => RESPOND,
            Action::Fetch { .. } => FETCH,
            Action::Mock(_) => MOCK,
            Action::ReadBody => READ_BODY,
            Action::Stream(_) => STREAM,
            Action::Kv { .. } => KV,
            Action::Tenant { .. } => TENANT,
            Action::CacheGet { .. } => CACHE_GET,
            Action::Embed { .. } => EMBED,
            Action::Index { .. } => INDEX,
        }
    }

    /// The embedding model's answer: its status (0: no answer) and whole body.
    pub fn on_embedding(&mut self, status: u16, body: &[u8]) {
        self.advance(|s, now| s.on_embedding(status, body, now));
    }

    /// For an index step: the index object's name and the op (JSON).
    pub fn index_name(&self) -> String {
        match &self.action {
            Action::Index { name, .. } => name.clone(),
            _ => String::new(),
        }
    }

    pub fn index_op(&self) -> String {
        match &self.action {
            Action::Index { op, .. } => op.clone(),
            _ => String::new(),
        }
    }

    /// The index's answer: a match as JSON, or `undefined`/"" for none.
    pub fn on_index(&mut self, answer: Option<String>) {
        let answer = answer.filter(|a| !a.is_empty());
        self.advance(|s, now| s.on_index(answer.as_deref(), now));
    }

    /// With an answer stored: `[index name, insert op]` for the similar-prompt index, or
    /// `undefined`.
    pub fn similar_put(&self) -> Option<Vec<String>> {
        let put = self.session.as_ref().and_then(|s| s.similar_put(date_now() as u64));
        put.map(|(name, op)| vec![name, op])
    }

    /// For a cache read: the key.
    pub fn cache_key(&self) -> String {
        match &self.action {
            Action::CacheGet { key, .. } => key.clone(),
            _ => String::new(),
        }
    }

    /// For a cache read: whether identical requests in flight share it (see `Action::CacheGet`).
    pub fn cache_join(&self) -> bool {
        matches!(&self.action, Action::CacheGet { join: true, .. })
    }

    /// For a cache read: whether a leader also coalesces across isolates.
    pub fn cache_coalesce(&self) -> bool {
        matches!(&self.action, Action::CacheGet { coalesce: true, .. })
    }

    /// The cache's value for the key (`undefined`: a miss, or the cache failed).
    pub fn on_cache(&mut self, value: Option<String>) {
        self.advance(|s, now| s.on_cache(value.as_deref(), now));
    }

    /// Once a fresh answer went out: `[key, entry, expirationTtl]` to write to the cache,
    /// or `undefined`.
    pub fn cache_put(&self) -> Option<Vec<String>> {
        let put = self.session.as_ref().and_then(|s| s.cache_put(date_now() as u64));
        put.map(|(key, value, ttl)| vec![key, value, ttl.to_string()])
    }

    /// For a tenant step: the tenant (the Durable Object's name).
    pub fn tenant(&self) -> String {
        match &self.action {
            Action::Tenant { tenant, .. } => tenant.clone(),
            _ => String::new(),
        }
    }

    /// For a tenant step: the op to send, as JSON.
    pub fn tenant_op(&self) -> String {
        match &self.action {
            Action::Tenant { op, .. } => op.clone(),
            _ => String::new(),
        }
    }

    /// Once a reply was sent: `[tenant, settlement]` (JSON) settling the request in its
    /// tenant's ledger, or `undefined`. The driver sends them in `settle_many` batches.
    pub fn settlement(&self) -> Option<Vec<String>> {
        self.session.as_ref().and_then(Session::settlement).map(|(t, settle)| vec![t, settle])
    }

    /// For a KV step: 0 get, 1 put, 2 delete, 3 list.
    pub fn kv_op(&self) -> u8 {
        match &self.action {
            Action::Kv { op: KvOp::Get { .. }, .. } => 0,
            Action::Kv { op: KvOp::Put { .. }, .. } => 1,
            Action::Kv { op: KvOp::Delete { .. }, .. } => 2,
            _ => 3,
        }
    }

    /// The KV key (or, for a list, the prefix).
    pub fn kv_key(&self) -> String {
        match &self.action {
            Action::Kv { op: KvOp::Get { key, .. } | KvOp::Put { key, .. } | KvOp::Delete { key }, .. } => key.clone(),
            Action::Kv { op: KvOp::List { prefix }, .. } => prefix.clone(),
            _ => String::new(),
        }
    }

    pub fn kv_value(&self) -> String {
        match &self.action {
            Action::Kv { op: KvOp::Put { value, .. }, .. } => value.clone(),
            _ => String::new(),
        }
    }

    pub fn kv_metadata(&self) -> String {
        match &self.action {
            Action::Kv { op: KvOp::Put { metadata, .. }, .. } => metadata.clone(),
            _ => String::new(),
        }
    }

    pub fn kv_cache_ttl(&self) -> u32 {
        match &self.action {
            Action::Kv { op: KvOp::Get { cache_ttl_s, .. }, .. } => *cache_ttl_s,
            _ => 0,
        }
    }

    pub fn status(&self) -> u16 {
        match &self.action {
            Action::Respond(r) | Action::Stream(r) => r.status,
            Action::Mock(m) => m.status,
            _ => 0,
        }
    }

    /// Headers of the reply, the upstream request or the mock reply, as a header block.
    pub fn headers(&self) -> String {
        match &self.action {
            Action::Respond(r) | Action::Stream(r) => to_block(&r.headers),
            Action::Fetch { request, .. } | Action::Embed { request, .. } => to_block(&request.headers),
            Action::Mock(m) => to_block(&m.headers),
            Action::ReadBody | Action::Kv { .. } | Action::Tenant { .. } | Action::CacheGet { .. } | Action::Index { .. } => String::new(),
        }
    }

    /// The reply's body is the upstream body the edge already holds: send that.
    pub fn body_from_upstream(&self) -> bool {
        matches!(&self.action, Action::Respond(r) if r.body_from_upstream)
    }

    /// The reply body or the upstream request body (moved out: call once).
    pub fn take_body(&mut self) -> Vec<u8> {
        match &mut self.action {
            Action::Respond(r) => std::mem::take(&mut r.body),
            Action::Fetch { request, .. } | Action::Embed { request, .. } => std::mem::take(&mut request.body),
            _ => Vec::new(),
        }
    }

    pub fn url(&self) -> String {
        match &self.action {
            Action::Fetch { request, .. } | Action::Embed { request, .. } => request.url.clone(),
            _ => String::new(),
        }
    }

    pub fn timeout_ms(&self) -> u32 {
        match &self.action {
            Action::Fetch { timeout_ms, .. } | Action::Embed { timeout_ms, .. } => *timeout_ms,
            _ => 0,
        }
    }

    pub fn request_id(&self) -> String {
        match (&self.session, &self.action) {
            (Some(s), _) => s.request_id().to_string(),
            (None, Action::Respond(r)) => r.header("x-request-id").unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }

    pub fn mock_delay_ms(&self) -> u32 {
        if let Action::Mock(m) = &self.action {
            m.delay_ms
        } else {
            0
        }
    }

    pub fn mock_interval_ms(&self) -> u32 {
        if let Action::Mock(m) = &self.action {
            m.interval_ms
        } else {
            0
        }
    }

    pub fn mock_cut(&self) -> bool {
        matches!(&self.action, Action::Mock(m) if m.cut)
    }

    pub fn mock_frame_count(&self) -> usize {
        if let Action::Mock(m) = &self.action {
            m.frames.len()
        } else {
            0
        }
    }

    pub fn mock_frame(&self, i: usize) -> Vec<u8> {
        match &self.action {
            Action::Mock(m) => m.frames.get(i).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn advance(&mut self, f: impl FnOnce(&mut Session, u64) -> Action) {
        if let Some(s) = self.session.as_mut() {
            self.action = f(s, date_now() as u64);
        }
    }

    pub fn on_head(&mut self, status: u16, headers: &str) {
        let headers = parse_block(headers);
        self.advance(|s, now| s.on_head(status, &headers, now));
    }

    pub fn on_body(&mut self, body: &[u8]) {
        self.advance(|s, now| s.on_body(body, now));
    }

    pub fn on_fetch_error(&mut self, timed_out: bool) {
        self.advance(|s, now| s.on_fetch_error(timed_out, now));
    }

    /// The bytes to send for this upstream chunk (`undefined`: the chunk unchanged).
    pub fn on_chunk(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        self.session.as_mut().and_then(|s| s.on_chunk(chunk))
    }

    /// True once the stream has been closed by the gateway (after an in-band error).
    pub fn stream_closed(&self) -> bool {
        self.session.as_ref().is_none_or(Session::is_finished)
    }

    pub fn on_end(&mut self) -> Vec<u8> {
        self.session.as_mut().map(Session::on_end).unwrap_or_default()
    }

    pub fn on_stream_error(&mut self) -> Vec<u8> {
        self.session.as_mut().map(Session::on_stream_error).unwrap_or_default()
    }

    /// The attempts' outcomes so far as JSON (`[{"target", "ok", "now_ms", "elapsed_ms"}]`),
    /// taken once, for the targets' Durable Objects.
    pub fn take_outcomes(&mut self) -> String {
        let outcomes = self.session.as_mut().map(Session::take_outcomes).unwrap_or_default();
        serde_json::to_string(&outcomes).unwrap_or_else(|_| "[]".into())
    }

    /// The Analytics Engine data point as JSON (`writeDataPoint`'s shape), or "" when none.
    pub fn analytics(&self) -> String {
        let point = self.session.as_ref().and_then(|s| s.analytics(date_now() as u64));
        point.and_then(|p| serde_json::to_string(&p).ok()).unwrap_or_default()
    }

    /// For a fetch: the bound on the wait for the response head (0: none but `timeout_ms`).
    pub fn ttfb_ms(&self) -> u32 {
        match &self.action {
            Action::Fetch { ttfb_ms, .. } => *ttfb_ms,
            _ => 0,
        }
    }

    /// For a stream: the longest gap between upstream chunks (0: none).
    pub fn idle_timeout_ms(&self) -> u32 {
        self.session.as_ref().map_or(0, Session::idle_timeout_ms)
    }

    /// For a fetch: wait this long first (a retry's backoff).
    pub fn delay_ms(&self) -> u32 {
        match &self.action {
            Action::Fetch { delay_ms, .. } => *delay_ms,
            _ => 0,
        }
    }
}
