//! What the gateway decided for a request before its first attempt, beside its targets:
//! spend control, the response cache, the similar-prompt cache and the stored conversation.

use crate::core::config::{Gates, Judge};
use crate::core::pipeline::context::SummaryPlan;
use crate::core::pipeline::protocol::{Action, Reply};
use crate::core::pipeline::target::{Payload, TargetSpec};
use crate::core::state::cache::Decision;
use crate::core::state::conversation::Limits;
use crate::core::state::spend::{RateInfo, Subject};
use crate::core::translate::embeddings::EmbeddingsRequest;
use crate::core::types::{Message, Usage};
use serde_json::{Map, Value};

/// Spend control for one request: whose limits it must fit and what it holds.
#[derive(Debug, Clone, Default)]
pub struct SpendPlan {
    /// The token (if any), the key and the tenant, with their limits.
    pub subjects: Vec<Subject>,
    /// Estimated tokens, input (estimated from the text) plus output (the cap): what the
    /// request takes from token-per-minute limits, the gateway's and the upstream's quota.
    pub tokens: u64,
    /// Worst-case cost in nano-USD (the input estimate and the output cap at the dearest
    /// target's prices): held against budgets from admission until settlement.
    pub reserve_nusd: u64,
    /// The lease id, unique to this request, once admission was asked.
    pub(super) lease: Option<String>,
    pub(super) rate: RateInfo,
    pub(super) refused: bool,
}

impl SpendPlan {
    /// A plan not yet admitted: no lease, no rate windows.
    pub fn new(subjects: Vec<Subject>, tokens: u64, reserve_nusd: u64) -> Self {
        SpendPlan { subjects, tokens, reserve_nusd, ..SpendPlan::default() }
    }

    /// Whether the tenant's object must admit this request before it goes upstream.
    pub fn needs_admission(&self) -> bool {
        self.subjects.iter().any(Subject::has_limits)
    }
}

/// The response cache's part in one request.
#[derive(Debug, Clone)]
pub struct CachePlan {
    /// The cache key (empty when the decision neither reads nor writes).
    pub key: String,
    /// Whether to read, whether to write, the entry's lifetime and why.
    pub decision: Decision,
    /// Coalesce identical requests across isolates (config `cache.coalesce`).
    pub coalesce: bool,
}

/// The similar-prompt cache's part in one request (routes with `cache.similar`).
#[derive(Debug, Clone)]
pub struct SimilarPlan {
    /// The index object's name: tenant and route.
    pub index: String,
    /// Everything but the last user turn, hashed: only prompts sharing it are compared.
    pub prefix: String,
    /// The least cosine similarity that counts as the same prompt (route `cache.similar`).
    pub threshold: f32,
    /// How many recent prompts per prefix the index keeps and searches.
    pub max_entries: u32,
    /// The embedding model's target and the request that embeds the last user turn.
    pub embed: TargetSpec,
    /// The embeddings request for the last user turn's text, sent to `embed`.
    pub request: EmbeddingsRequest,
    /// The last user turn's embedding, once the embedding call answered with one; without it
    /// the index is neither searched nor written.
    pub vector: Option<Vec<f32>>,
    /// The similarity of the entry being read, once the index found one.
    pub matched: Option<f32>,
}

/// The stored conversation's part in one request (`x-switchyard-session`): where the turn
/// goes once answered. Its history is already in the request.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationPlan {
    /// The conversation's id, sent back as `x-switchyard-session`.
    pub id: String,
    /// Its object's name ([`crate::core::state::conversation::object_name`]).
    pub object: String,
    /// The conversation is new: storing the turn creates it.
    pub create: bool,
    /// The response id the turn is stored under.
    pub response: String,
    /// The response it follows: the head its history was loaded from (`None`: the first).
    pub parent: Option<String>,
    /// The request's new messages, as items to store.
    pub items: Vec<serde_json::Value>,
    /// The config's limits (`sessions`).
    pub limits: Limits,
}

/// What the gateway decided before the first attempt, beside the targets.
#[derive(Debug, Clone, Default)]
pub struct Plans {
    /// Whose limits the request must fit, and its worst case.
    pub spend: SpendPlan,
    /// `None`: no cache (not bound, or not a chat request).
    pub cache: Option<CachePlan>,
    /// `None`: no similar-prompt lookup (not bound, no `cache.similar` on the route, the
    /// request does not read the cache, or it does not end with a text user turn).
    pub similar: Option<SimilarPlan>,
    /// `None`: no stored conversation. With one, the request is never answered from or
    /// written to the cache.
    pub conversation: Option<ConversationPlan>,
    /// `None`: the conversation fits (or the route fits nothing).
    pub fit: Option<FitPlan>,
    /// A cascade route's gates (`None`: not a cascade route).
    pub cascade: Option<CascadePlan>,
    /// What every reply's `x-switchyard-route-reason` says (a `cheapest_capable` route's
    /// choice; a cascade adds its own).
    pub route_reason: Option<String>,
}

/// The reply header that says why a route chose its target: which cascade rung answered and
/// why the ones before it did not, or a `cheapest_capable` route's choice.
pub const ROUTE_REASON_HEADER: &str = "x-switchyard-route-reason";

/// The reply header with a cascade's cost per answer: each rung's answers, refused ones first,
/// in the order they came.
pub const RUNG_COSTS_HEADER: &str = "x-switchyard-rung-costs-usd";

/// The request header naming a stored conversation (`new` starts one); replies carry it back.
pub const SESSION_HEADER: &str = "x-switchyard-session";

/// A stored conversation while its turn is on its way to the store.
#[derive(Debug)]
pub(super) struct Keeping {
    pub(super) plan: ConversationPlan,
    /// The reply, held until the turn is stored.
    pub(super) held: Option<Reply>,
    /// A stream's last bytes, from the chunk with its clean end on, held until it is stored.
    pub(super) tail: Vec<u8>,
    /// A cleanly ended stream's store op, for the driver (taken once).
    pub(super) op: Option<String>,
}

impl Keeping {
    pub(super) fn new(plan: ConversationPlan) -> Box<Keeping> {
        Box::new(Keeping { plan, held: None, tail: Vec::new(), op: None })
    }

    pub(super) fn header(&self) -> (String, String) {
        (SESSION_HEADER.into(), self.plan.id.clone())
    }
}

/// Where a summary is kept in the `CACHE` namespace: the tenant and the prefix's hash.
pub fn summary_kv_key(tenant: &str, key: &str) -> String {
    format!("summary:{}:{key}", crate::core::util::secret::sha256_hex(tenant.as_bytes()))
}

/// The fitting a request needs before its first attempt.
#[derive(Debug, Clone, Default)]
pub struct FitPlan {
    /// What `x-switchyard-context` says (`truncated`, `summarized`); `None`: nothing done yet.
    pub note: Option<&'static str>,
    /// Summaries to find or write; `None` once there is nothing left to do.
    pub summary: Option<SummaryWork>,
    /// Summaries this request wrote, `(KV key, text)`, to store after the reply.
    pub written: Vec<(String, String)>,
    /// Lifetime of stored summaries, in seconds.
    pub ttl_s: u32,
}

/// A summary plan being carried out.
#[derive(Debug, Clone)]
pub struct SummaryWork {
    /// The cuts and their keys.
    pub plan: SummaryPlan,
    /// The summarizer's target.
    pub summarizer: TargetSpec,
    /// The conversation truncated to fit, sent when no summary can be had.
    pub fallback: Vec<Message>,
    pub(super) progress: Progress,
}

impl SummaryWork {
    /// Work on `plan`: with the `CACHE` namespace (`stored`), first a look for the summary
    /// at its last cut; without it, every summary is written.
    pub fn new(plan: SummaryPlan, summarizer: TargetSpec, fallback: Vec<Message>, stored: bool) -> Self {
        let last = plan.cuts.len().saturating_sub(1);
        let progress = if stored { Progress::Probe(last, 0) } else { Progress::Write(0, None) };
        SummaryWork { plan, summarizer, fallback, progress }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Progress {
    /// Reading the stored summary at this cut (the count of reads so far).
    Probe(usize, usize),
    /// Writing the summary at this cut, from the previous one's.
    Write(usize, Option<String>),
}

/// A cascade route's part in one request.
#[derive(Debug, Clone)]
pub struct CascadePlan {
    /// The route's gates.
    pub gates: Gates,
    /// Per target, whether its answers are checked (`false`: a trusted rung).
    pub checked: Vec<bool>,
    /// The judge gate's settings and model, when the gates have one.
    pub judge: Option<Box<(Judge, TargetSpec)>>,
    /// Per target, its public model name (for a capability's reply).
    pub names: Vec<String>,
    /// Answer in a capability's shape (`POST /v1/capabilities/NAME`), not the caller API's.
    pub reply: bool,
    /// The most upstream calls (0: no bound).
    pub max_attempts: u32,
    /// No re-prompt or escalation once this much is spent, in nano-USD (0: no bound).
    pub max_nusd: u64,
    /// Skip a rung whose recorded pass rate is below this, once it has `min_samples`
    /// checked answers (`None`: the records are not read).
    pub min_pass_rate: Option<(f64, u64)>,
}

/// A cascade under way.
#[derive(Debug)]
pub(super) struct Cascade {
    /// The route's gates, and which rungs they check.
    pub(super) plan: CascadePlan,
    /// The caller asked for a stream: the accepted answer is replayed as one.
    pub(super) stream: bool,
    /// The current rung was re-prompted: the request then has two more messages past
    /// `base_len`, and no `raw` (kept here to restore for the next rung).
    pub(super) reprompted: bool,
    /// The request's message count before the re-prompt.
    pub(super) base_len: usize,
    /// The request's `raw` object, set aside while re-prompted.
    pub(super) raw: Option<Map<String, Value>>,
    /// What happened to each rung left behind, in order (`rung 1 failed final_number`).
    pub(super) notes: Vec<String>,
    /// Answers refused so far.
    pub(super) refusals: u32,
    /// The usage of the refused answers.
    pub(super) spent: Usage,
    /// Their cost in nano-USD.
    pub(super) spent_nusd: u64,
    /// The rung's reply, held while the driver runs the regex gates or the judge scores it.
    pub(super) held: Option<Action>,
    /// The judge's call is under way.
    pub(super) judging: bool,
    /// Each refused answer's rung, verdicts and cost in nano-USD, in order.
    pub(super) refused: Vec<(usize, Vec<crate::core::pipeline::gates::Verdict>, u64)>,
    /// Why the cascade stopped before its last rung (a limit), for the 422.
    pub(super) stop: Option<String>,
    /// The tenant's gate records were asked for: the next tenant answer is theirs.
    pub(super) reading_rates: bool,
}

impl Cascade {
    /// A cascade over `gates`, for a request that the session will send whole: a streamed
    /// chat request is switched to a whole one here.
    pub(super) fn start(plan: CascadePlan, payload: &mut Payload) -> Option<Box<Cascade>> {
        let Payload::Chat(req) = payload else { return None };
        let stream = std::mem::replace(&mut req.stream, false);
        Some(Box::new(Cascade {
            plan,
            stream,
            reprompted: false,
            base_len: 0,
            raw: None,
            notes: Vec::new(),
            refusals: 0,
            spent: Usage::default(),
            spent_nusd: 0,
            held: None,
            judging: false,
            refused: Vec::new(),
            stop: None,
            reading_rates: false,
        }))
    }
}

/// `a += b`, field by field (estimated when either is).
pub(super) fn add_usage(a: &mut Usage, b: &Usage) {
    a.input_tokens += b.input_tokens;
    a.output_tokens += b.output_tokens;
    a.cached_input_tokens += b.cached_input_tokens;
    a.cache_write_tokens += b.cache_write_tokens;
    a.reasoning_tokens += b.reasoning_tokens;
    a.estimated |= b.estimated;
}
