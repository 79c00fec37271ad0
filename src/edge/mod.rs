//! The wasm32 edge: the core's state machine exported to the JavaScript driver
//! (`entry.js`) as coarse, synchronous calls that take and return bytes.
//!
//! Why this shape: measured on workerd, crossing the JS↔wasm boundary a few times per request
//! with plain bytes costs next to nothing, while async Rust request wrappers cost 20–50% of the
//! runtime's throughput (README, "Hot path"). So the driver does the I/O and the core decides.
//! This module adds only the clock, randomness and the boundary conversions.

use crate::core::front::gateway::Gateway as CoreGateway;
use crate::core::front::inbound::Inbound;
use crate::core::front::step::Step as CoreStep;
use crate::core::pipeline::protocol::Event;
use crate::core::pipeline::session::Session;
use wasm_bindgen::prelude::*;

mod block;
use block::parse_block;
mod pool;

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: pool::Pooled = pool::Pooled;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// A request's randomness in one crossing: its seed, and 16 bytes for ids that must not be
/// guessed (a stored conversation's), empty when the platform gave none.
fn randomness() -> (u64, [u8; 16], bool) {
    let mut b = [0u8; 24];
    // Without randomness the request id is still unique enough to log; never fail a request
    // for it. What needs the 16 bytes refuses without them (`no_entropy`).
    let ok = getrandom::fill(&mut b).is_ok();
    let (seed, rest) = b.split_at(8);
    (u64::from_le_bytes(seed.try_into().unwrap_or_default()), rest.try_into().unwrap_or_default(), ok)
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
    let rows = matches!(op, Op::Usage(_) | Op::Stats);
    let applied = apply(&state, op, now_ms as u64);
    let mut out = crate::json!({"reply": applied.reply, "rows": rows, "sql": applied.sql});
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

/// The conversation object's tables, as statements separated by `;`, for it to create.
#[wasm_bindgen]
pub fn conversation_schema() -> String {
    crate::core::state::conversation::store::SCHEMA.to_string()
}

/// One phase of a conversation op (see `core::state::conversation::store::step`): `rows` is
/// `undefined` for phase 0, then the JSON rows of phase 0's statements. Returns the plan's
/// JSON, `{"sql", "reply"?, "alarm"?, "drop"?}`; a bad op is answered `{"error":"invalid"}`.
#[wasm_bindgen]
pub fn conversation_step(op: &str, rows: Option<String>, now_ms: f64) -> String {
    use crate::core::state::conversation::store;
    let parse = |s: &str| serde_json::from_slice::<serde_json::Value>(s.as_bytes()).ok();
    match (parse(op), rows.as_deref().map(parse)) {
        (Some(op), None) => store::step(&op, None, now_ms as u64),
        (Some(op), Some(Some(rows))) => store::step(&op, Some(&rows), now_ms as u64),
        _ => store::Plan { reply: Some(r#"{"error":"invalid"}"#.into()), ..Default::default() },
    }
    .to_json()
}

/// For a queued job's Durable Object: apply one op (JSON) to its stored state (JSON, or
/// `undefined` for none). Returns `{"state"?: string, "reply", "alarm"?, "send"?}` (see
/// `core::state::job::apply`); a bad op is answered `null`.
#[wasm_bindgen]
pub fn job_apply(stored: Option<String>, op: &str, now_ms: f64) -> String {
    use crate::core::state::job;
    let state = stored.as_deref().and_then(|s| serde_json::from_slice(s.as_bytes()).ok());
    let op = serde_json::from_slice(op.as_bytes()).unwrap_or_default();
    job::apply(state.as_ref(), &op, now_ms as u64).to_json()
}

/// For a queued job's Durable Object: the `webhook-signature` of a finished job's webhook
/// (see `core::front::webhook::signature`); `undefined` for a malformed secret.
#[wasm_bindgen]
pub fn webhook_signature(secret: &str, id: &str, timestamp: f64, body: &str) -> Option<String> {
    crate::core::front::webhook::signature(secret, id, timestamp as u64, body)
}

/// The ledger's, the gate records' and the stats' tables, for a tenant's Durable Object to
/// create: statements separated by `;`.
#[wasm_bindgen]
pub fn tenant_schema() -> String {
    use crate::core::state::ledger::{GATES_SCHEMA, SCHEMA};
    format!("{SCHEMA};{GATES_SCHEMA};{}", crate::core::state::stats::schema())
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
                crate::json!({"target": target, "url": r.url, "headers": r.headers, "body": String::from_utf8_lossy(&r.body), "timeout_ms": timeout_ms})
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

    /// The `CONVERSATIONS` Durable Object namespace is bound (stored conversations).
    pub fn set_conversations(&mut self, bound: bool) {
        self.inner.set_conversations(bound);
    }

    /// The `JOB` Durable Object namespace and the `JOBS` queue are bound (queued jobs).
    pub fn set_jobs(&mut self, bound: bool) {
        self.inner.set_jobs(bound);
    }

    /// The semaphores a job naming `model` holds while it runs, in order, as a JSON array of
    /// `[name, limit]` (config `jobs.concurrency`, `jobs.provider_concurrency`; see
    /// `Config::job_slots`); none when the config is broken (the job then fails without an
    /// upstream call).
    pub fn job_slots(&self, model: &str) -> String {
        let slots = self.inner.config().map(|c| c.job_slots(model)).unwrap_or_default();
        serde_json::to_string(&slots).unwrap_or_default()
    }

    /// Begin a queued job's request (the queue consumer's; HTTP cannot reach it): `body`
    /// POSTed to `path` as the identity `who` the job stored, with the job's id as the
    /// request id. A background response's job (its id the response's) runs with the
    /// randomness that makes that id again. The first action is `Step::action`, as for `start`.
    pub fn start_job(&self, who: &str, path: &str, body: &[u8], id: &str) -> Step {
        let headers = vec![("content-type".to_string(), "application/json".to_string()), ("x-request-id".to_string(), id.to_string())];
        let (mut seed, mut own, random) = randomness();
        let origin = crate::core::state::conversation::response_origin(id);
        if let Some((conv, s)) = origin {
            (own, seed) = (conv, s);
        }
        let entropy: &[u8] = if random || origin.is_some() { &own } else { &[] };
        let inbound = Inbound {
            method: "POST",
            path,
            query: "",
            headers: &headers,
            body,
            declared_len: None,
            now_ms: date_now() as u64,
            seed,
            entropy,
        };
        Step { inner: self.inner.begin_job(who, &inbound) }
    }

    /// The upstream response headers the core reads: the edge passes only these to
    /// `Step::on_head` (reading a few by name is cheaper than iterating all of them).
    pub fn upstream_headers(&self) -> Vec<String> {
        crate::core::pipeline::exchange::UPSTREAM_HEADERS.iter().map(|h| h.to_string()).collect()
    }

    pub fn max_body_bytes(&self) -> f64 {
        self.inner.max_body_bytes() as f64
    }

    /// Begin a request. `path` may carry the query string; `headers` is a header block
    /// (see `parse_block`); `declared_len` is the content-length when the body was not read
    /// because it is too big (else negative); `entropy`: random bytes for making secrets
    /// (admin routes), else empty (16 random bytes of the module's own are used then). The
    /// first action is `Step::action`.
    pub fn start(&self, method: &str, path: &str, headers: &str, body: &[u8], declared_len: f64, entropy: &[u8]) -> Step {
        let headers = parse_block(headers);
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let (seed, own, random) = randomness();
        let entropy = match (entropy.is_empty(), random) {
            (false, _) => entropy,
            (true, true) => &own[..],
            (true, false) => &[],
        };
        let inbound = Inbound {
            method,
            path,
            query,
            headers: &headers,
            body,
            declared_len: (declared_len >= 0.0).then_some(declared_len as usize),
            now_ms: date_now() as u64,
            seed,
            entropy,
        };
        Step { inner: self.inner.begin(&inbound) }
    }

    /// Report what happened to the step's action; returns the next action's JSON. See
    /// [`EventKind`] for what `status`, `text` and `bytes` carry with each event.
    pub fn resume(&self, step: &mut Step, event: EventKind, status: u16, text: Option<String>, bytes: &[u8]) -> String {
        let headers;
        let event = match event {
            EventKind::Head => {
                headers = parse_block(text.as_deref().unwrap_or_default());
                Event::Head { status, headers: &headers }
            }
            EventKind::Body => Event::Body(bytes),
            EventKind::Failed => Event::Failed { timed_out: status == 1 },
            EventKind::Answer => Event::Answer(text.as_deref()),
            EventKind::Called => Event::Called { status, body: bytes },
        };
        self.inner.resume(&mut step.inner, event, date_now() as u64);
        step.inner.action_json()
    }

    /// Once the reply went out (or its stream ended): the work left, as JSON (see
    /// `core::front::flow::After::to_json`).
    pub fn after(&self, step: &mut Step) -> String {
        self.inner.after(&mut step.inner, date_now() as u64).to_json()
    }

    /// The driver gave up on a step (an exception of its own): the followers to wake, as
    /// JSON members (`,"wake":[ids],"value":null`), or "".
    pub fn abort(&self, step: &mut Step) -> String {
        self.inner.abort(&mut step.inner)
    }

    /// The leader `id`'s cache write of `key` landed.
    pub fn cache_written(&self, key: &str, id: f64) {
        self.inner.cache_written(key, id as u64);
    }

    /// A tenant's settlement call of `chain` returned: the next batches, as JSON
    /// (`[{"tenant", "chain", "op"}]`).
    pub fn settled(&self, tenant: &str, chain: f64) -> String {
        self.inner.settled(tenant, chain as u64, date_now() as u64)
    }
}

/// The reply to a request the gateway crashed on, in the caller's dialect: the action JSON
/// of a `respond`, with its body as the extra member `body`.
#[wasm_bindgen]
pub fn crash_reply(path: &str, request_id: &str) -> String {
    let mut action = crate::core::front::step::crash_reply(path, request_id);
    let body = String::from_utf8(action.take_bytes()).unwrap_or_default();
    let mut extra = String::from(r#","body":"#);
    crate::core::pipeline::protocol::string(&mut extra, &body);
    action.to_json(&extra)
}

/// The events the driver reports to `Gateway::resume` (exported to JavaScript as an object
/// of numbers, so the two sides share one definition).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub enum EventKind {
    /// The upstream's head: `status`, and `text` a header block of the headers named by
    /// `upstream_headers`.
    Head = 0,
    /// The upstream's whole body, in `bytes`.
    Body = 1,
    /// The upstream call failed; `status` 1 when by a timeout.
    Failed = 2,
    /// The answer of a KV, tenant, cache, follow or index step, in `text` (`undefined`: none).
    Answer = 3,
    /// A sub-request's result: `status` (0: no answer) and its body in `bytes`.
    Called = 4,
}

/// One request in flight.
#[wasm_bindgen]
pub struct Step {
    inner: CoreStep,
}

#[wasm_bindgen]
impl Step {
    /// The current action as JSON (`{"do": ...}`; see `core::pipeline::protocol`).
    pub fn action(&mut self) -> String {
        self.inner.action_json()
    }

    /// The bytes the current action carries (moved out: call once per action).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        self.inner.take_bytes()
    }

    pub fn request_id(&self) -> String {
        self.inner.request_id().to_string()
    }

    /// The bytes to send for this upstream chunk (`undefined`: the chunk unchanged).
    pub fn chunk(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        self.inner.session_mut().and_then(|s| s.on_chunk(chunk))
    }

    /// True once the stream has been closed by the gateway (after an in-band error).
    pub fn closed(&self) -> bool {
        self.inner.session().is_none_or(Session::is_finished)
    }

    /// The upstream stream ended: the closing bytes; `undefined` when a stored conversation's
    /// turn must be stored first: `action()` is then that store, and `stored` gives the bytes.
    pub fn end(&mut self) -> Option<Vec<u8>> {
        self.inner.end_stream()
    }

    /// Reading the upstream stream failed: the in-band error to close with.
    pub fn stream_error(&mut self) -> Vec<u8> {
        self.inner.session_mut().map(Session::on_stream_error).unwrap_or_default()
    }

    /// The conversation object's answer to the store `end` asked for (`undefined`:
    /// unreachable): the stream's closing bytes (its held tail, or an in-band error when the
    /// turn was not stored).
    pub fn stored(&mut self, answer: Option<String>) -> Vec<u8> {
        self.inner.session_mut().map(|s| s.on_stream_stored(answer.as_deref())).unwrap_or_default()
    }
}
