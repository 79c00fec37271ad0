//! Settlements on their way to a tenant's Durable Object, sent in batches: which go now,
//! which wait, and in which call they go.
//!
//! A settlement goes at once, unless a call for its tenant is already on its way: then it
//! waits and goes with the others waiting in the next call, at most [`SETTLE_MAX`] in one.
//! Calls start from a push (a request's finish) or from the previous call's completion
//! ([`SettleQueue::done`]), never from a timer: a Durable Object call started by a timer after
//! the response was measured to slow every other call to the object several times over.
//!
//! The calls that follow one another form a chain, carried by the request that opened it (in
//! its `waitUntil`): at most [`SETTLE_ROUNDS`] calls in turn, then it hands over. What waits by
//! then goes in a last round of calls, all at once and [`SETTLE_MAX`] to a call, and the chain
//! ends; the next settlement opens a new one. A chain silent for [`STUCK_MS`] (a call that never
//! came back) is taken for stuck: the next push opens a new chain, which takes over the
//! settlements the stuck one held, so none is lost (the driver's first version lost them).
//!
//! Invariants:
//! - every settlement pushed goes in exactly one batch, provided the driver reports each
//!   batch of the tenant's newest chain as [`SettleQueue::done`];
//! - a batch holds 1 to [`SETTLE_MAX`] settlements, in the order they were pushed;
//! - while a chain lives it has exactly one call on its way, and at most [`SETTLE_ROUNDS`]
//!   of them in turn; its last round's calls go together after the last of those;
//! - `done` for a chain that ended or was replaced changes nothing and sends nothing.
//!
//! The tenants settling at once in an isolate are few: a sorted-vector map holds them.

use crate::core::util::vecmap::VecMap;

/// The most settlements in one call.
pub const SETTLE_MAX: usize = 64;

/// The most calls a chain makes in turn before it hands over.
pub const SETTLE_ROUNDS: u32 = 8;

/// A chain silent this long (ms) is taken for stuck.
pub const STUCK_MS: u64 = 30_000;

/// One call to send to a tenant's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The tenant whose object is called.
    pub tenant: String,
    /// The chain the call belongs to: report its completion with [`SettleQueue::done`].
    pub chain: u64,
    /// The op: `{"settle_many":{"settles":[...]}}` (a [`crate::core::state::spend::Op`]), the
    /// settlements as pushed.
    pub body: String,
}

/// A tenant's chain: one call on its way, the settlements waiting for the next.
#[derive(Debug)]
struct Chain {
    id: u64,
    waiting: Vec<String>,
    /// When it started, or when its last call came back.
    since_ms: u64,
    /// The calls it made, the one on its way included.
    rounds: u32,
}

/// Settlements waiting per tenant (see the module docs).
#[derive(Debug, Default)]
pub struct SettleQueue {
    chains: VecMap<String, Chain>,
    /// The last chain id given out; ids are never reused.
    last_chain: u64,
}

impl SettleQueue {
    /// Nothing waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Settlement `settle` (one JSON value) for `tenant` at `now_ms`: the call to send now, or
    /// `None` when it waits for the call already on its way.
    pub fn push(&mut self, tenant: &str, settle: String, now_ms: u64) -> Option<Batch> {
        if let Some(chain) = self.chains.get_mut(tenant) {
            if now_ms.saturating_sub(chain.since_ms) < STUCK_MS {
                chain.waiting.push(settle);
                return None;
            }
        }
        self.last_chain += 1;
        let id = self.last_chain;
        // A stuck chain is replaced; what it held goes with the new one, first.
        let mut waiting = self.chains.remove(tenant).map(|stuck| stuck.waiting).unwrap_or_default();
        waiting.push(settle);
        let chain = self.chains.get_or_insert_with(tenant.to_string(), || Chain { id, waiting, since_ms: now_ms, rounds: 1 });
        Some(next_batch(tenant, chain))
    }

    /// The call of `tenant`'s chain `chain` came back at `now_ms` (answered or not): the calls
    /// to send now. Its next round (one call), or its last round (as many calls as the
    /// waiting settlements need, none when nothing waits) after which the chain has ended.
    /// Nothing for a chain that has ended or was replaced.
    pub fn done(&mut self, tenant: &str, chain: u64, now_ms: u64) -> Vec<Batch> {
        let Some(live) = self.chains.get_mut(tenant).filter(|c| c.id == chain) else {
            return Vec::new();
        };
        live.since_ms = now_ms;
        if !live.waiting.is_empty() && live.rounds < SETTLE_ROUNDS {
            live.rounds += 1;
            return vec![next_batch(tenant, live)];
        }
        let Some(ended) = self.chains.remove(tenant) else {
            return Vec::new();
        };
        ended.waiting.chunks(SETTLE_MAX).map(|settles| batch(tenant, chain, settles)).collect()
    }

    /// The settlements waiting, over all tenants (not those on their way).
    pub fn waiting(&self) -> usize {
        self.chains.values().map(|c| c.waiting.len()).sum()
    }

    /// Whether no chain lives (no call on its way that this queue waits for).
    pub fn is_idle(&self) -> bool {
        self.chains.is_empty()
    }
}

/// The call taking the first [`SETTLE_MAX`] settlements waiting in `chain`.
fn next_batch(tenant: &str, chain: &mut Chain) -> Batch {
    let n = chain.waiting.len().min(SETTLE_MAX);
    let b = batch(tenant, chain.id, &chain.waiting[..n]);
    chain.waiting.drain(..n);
    b
}

/// One call carrying `settles`, each already JSON.
fn batch(tenant: &str, chain: u64, settles: &[String]) -> Batch {
    let mut body = String::from(r#"{"settle_many":{"settles":["#);
    for (i, s) in settles.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(s);
    }
    body.push_str("]}}");
    Batch { tenant: tenant.to_string(), chain, body }
}

#[cfg(test)]
#[path = "settle_queue_tests.rs"]
mod tests;
