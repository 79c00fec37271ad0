//! One request across its attempts: retries with backoff on the same target, fallback to
//! the next target of its route, and the commit point.
//!
//! Each attempt is an [`Exchange`]. When one fails before anything was sent to the client,
//! the failure's [`Disposition`] decides: retry the same target (exponential backoff with
//! full jitter, the upstream's `retry-after` as a floor when it fits the deadline), move to
//! the next target at once, or return the error. Once a stream's head has gone out, failures
//! are reported in-band by the exchange and never retried.
//!
//! The session's parts: `plans` (what was decided before the first attempt), `lookup` (the
//! response cache and the similar-prompt index), `account` (admission, cost, settlement,
//! analytics), `conversation` (storing the turn of a stored conversation before the caller
//! gets it), `cascade` and `checks` (a cascade's rungs, and its gates run by the driver or a
//! judge model); the attempts themselves are here.

mod account;
mod capability;
mod cascade;
mod checks;
mod conversation;
mod fit;
mod lookup;
mod plans;
mod upstream;

pub use plans::{
    summary_kv_key, CachePlan, CascadePlan, ConversationPlan, FitPlan, Plans, SimilarPlan, SpendPlan, SummaryWork, SESSION_HEADER,
};

use crate::core::config::RetryPolicy;
use crate::core::error::{Code, Disposition, GatewayError};
use crate::core::pipeline::exchange::{Exchange, Route};
use crate::core::pipeline::protocol::{error_reply, Action, Reply};
use crate::core::pipeline::routes::splitmix;
use crate::core::pipeline::target::{Payload, TargetSpec};
use crate::core::state::cache::{self, Entry};
use crate::core::state::cost::usd_string;
use crate::core::state::health::{Health, Outcome};
use crate::core::state::spend::{self, Admit, Op};
use crate::core::translate::dialect::responses::Echo;
use crate::core::types::Dialect;
use crate::core::util::redact::Redactor;
use std::rc::Rc;

/// What every session of an isolate shares: its view of target health, and the redactor of
/// its secrets for upstream error text. Cloning is cheap (both are reference-counted).
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// Breakers, retry budgets and quotas of the isolate's targets.
    pub health: Health,
    /// The isolate's secrets, to cut out of upstream error text.
    pub redactor: Redactor,
}

/// The caller's side of every attempt.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The request's id (`x-request-id` on every reply).
    pub request_id: String,
    /// The tenant the caller spends for: whose object admits and settles the request.
    pub tenant: String,
    /// The calling key's name (for a token, the key that minted it), for the ledger and
    /// analytics.
    pub key_name: String,
    /// The public name the caller asked for (a model, alias or route).
    pub public_model: String,
    /// The caller's run tag (`x-switchyard-run`), for grouping in analytics.
    pub run: String,
    /// The caller API: what the caller speaks (OpenAI chat completions or Anthropic
    /// messages); the upstream wire is the provider's.
    pub api: Dialect,
    /// The caller wants usage in its stream (OpenAI `stream_options.include_usage`; always
    /// for Anthropic callers, whose streams carry it; never for embeddings).
    pub include_usage: bool,
    /// The caller's allowed browser origin: replies carry CORS headers for it.
    pub cors_origin: Option<String>,
    /// The `x-switchyard-mock` header's directives, for a mock target.
    pub mock_header: Option<String>,
    /// When the request arrived, in Unix milliseconds: the deadline counts from here.
    pub now_ms: u64,
    /// The request's randomness: retry jitter and the spend lease id come from it.
    pub seed: u64,
    /// For a Responses caller: what its answers repeat of its request.
    pub echo: Option<Rc<Echo>>,
}

/// One request across its attempts, from admission to its settlement and analytics. Each
/// driver event goes to an `on_*` method, which returns the next [`Action`].
#[derive(Debug)]
pub struct Session {
    caller: Caller,
    payload: Payload,
    targets: Vec<TargetSpec>,
    /// Each target's breaker key, `provider/model`, made once.
    keys: Vec<String>,
    policy: RetryPolicy,
    deadline_at_ms: u64,
    index: usize,
    retries_here: u32,
    attempts: u32,
    rng: u64,
    failures: Vec<String>,
    exchange: Exchange,
    health: Health,
    redactor: Redactor,
    /// When the current attempt began (its backoff excluded), for slow-call accounting.
    attempt_started_ms: u64,
    /// Outcomes to report to the targets' Durable Objects after the response.
    outcomes: Vec<Outcome>,
    /// Characters and messages of the request's text, for estimating missing usage.
    input_chars: u64,
    messages: u64,
    /// The status and error code of the reply sent (0 until then).
    status: u16,
    error_code: Option<Code>,
    spend: SpendPlan,
    cache: Option<CachePlan>,
    similar: Option<Box<SimilarPlan>>,
    /// `HIT`, `SIMILAR`, `MISS`, `BYPASS` or `STALE` once known ("" without a cache).
    cache_status: &'static str,
    /// An expired entry still within its stale window: the answer if every target fails.
    stale: Option<Entry>,
    /// What the cached answer served would have cost upstream.
    saved_nusd: u64,
    /// What the similar-prompt lookup's embedding call and the context summaries cost (part
    /// of what the request costs).
    lookup_nusd: u64,
    /// The stored conversation the turn goes to, once answered.
    keeping: Option<Box<plans::Keeping>>,
    /// Context fitting, when the conversation needed it.
    fit: Option<Box<FitPlan>>,
    /// A cascade route's rungs and gates.
    cascade: Option<Box<plans::Cascade>>,
    /// A `cheapest_capable` route's choice, for `x-switchyard-route-reason`.
    route_reason: Option<String>,
}

impl Session {
    /// Plan the first attempt, with the plans made before it: when `plans.spend` has
    /// limits to check, the first action asks the tenant's object to admit the request, and
    /// `on_admit` carries on. `targets` must not be empty.
    pub fn start(
        caller: Caller,
        payload: Payload,
        targets: Vec<TargetSpec>,
        policy: RetryPolicy,
        deadline_ms: u32,
        shared: Shared,
        plans: Plans,
    ) -> (Session, Action) {
        let Shared { health, redactor } = shared;
        let mut payload = payload;
        let mut targets = targets;
        if plans.conversation.is_some() {
            // A stored turn is stored as the gateway encodes it, under the gateway's id: the
            // caller must get that object, not an upstream's own (passthrough), so that its id
            // can be fetched and chained.
            targets.iter_mut().for_each(|t| t.responses_api = false);
        }
        let cascade = plans.cascade.and_then(|g| plans::Cascade::start(g, &mut payload));
        let exchange = Exchange::new(caller.request_id.clone(), route_for(&caller, &payload, &targets[0]), redactor.clone());
        let mut s = Session {
            deadline_at_ms: caller.now_ms + deadline_ms as u64,
            rng: caller.seed ^ 0x5eed,
            caller,
            payload,
            keys: targets.iter().map(|t| format!("{}/{}", t.provider, t.model)).collect(),
            targets,
            policy,
            index: 0,
            retries_here: 0,
            attempts: 0,
            failures: Vec::new(),
            exchange,
            health,
            redactor,
            attempt_started_ms: 0,
            outcomes: Vec::new(),
            input_chars: 0,
            messages: 0,
            status: 0,
            error_code: None,
            cache_status: match &plans.cache {
                Some(c) if c.decision.read => "MISS",
                Some(_) => "BYPASS",
                None => "",
            },
            spend: plans.spend,
            cache: plans.cache,
            similar: plans.similar.map(Box::new),
            stale: None,
            saved_nusd: 0,
            lookup_nusd: 0,
            keeping: plans.conversation.map(plans::Keeping::new),
            fit: plans.fit.map(Box::new),
            cascade,
            route_reason: plans.route_reason,
        };
        if let Payload::Chat(req) = &s.payload {
            s.input_chars = req.messages.iter().map(|m| m.content.text().chars().count() as u64).sum();
            s.messages = req.messages.len() as u64;
        }
        let action = match s.read_rates() {
            Some(action) => action,
            None => s.admit_or_proceed(),
        };
        (s, action)
    }

    /// Ask the tenant's object to admit the request when it has limits to check; else the
    /// first step.
    fn admit_or_proceed(&mut self) -> Action {
        if !self.spend.needs_admission() {
            return self.proceed(self.caller.now_ms);
        }
        let lease = format!("{:016x}", splitmix(&mut self.rng));
        let op = Op::Admit(Admit {
            lease: lease.clone(),
            subjects: self.spend.subjects.clone(),
            tokens: self.spend.tokens,
            reserve_nusd: self.spend.reserve_nusd,
            lease_ms: self.deadline_at_ms - self.caller.now_ms + 60_000,
        });
        self.spend.lease = Some(lease);
        let op = serde_json::to_string(&op).unwrap_or_default();
        Action::Tenant { tenant: self.caller.tenant.clone(), op }
    }

    /// The request's id.
    pub fn request_id(&self) -> &str {
        &self.caller.request_id
    }

    /// Whether the current attempt's exchange is done: its reply sent, or its stream closed.
    pub fn is_finished(&self) -> bool {
        self.exchange.is_finished()
    }

    /// The current attempt's exchange.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    /// The attempts' outcomes so far, for the targets' Durable Objects (taken once).
    pub fn take_outcomes(&mut self) -> Vec<Outcome> {
        std::mem::take(&mut self.outcomes)
    }

    /// For a stream: the longest gap allowed between upstream chunks (0: none).
    pub fn idle_timeout_ms(&self) -> u32 {
        self.targets[self.index].idle_timeout_ms
    }

    /// Attempt the first target from `index` on whose circuit admits a request; if none
    /// does, the one whose circuit opened longest ago, rather than fail without trying.
    fn first_admitted(&mut self, now_ms: u64) -> Action {
        if let Some(action) = self.fit_step(now_ms) {
            return action;
        }
        self.rung_reset();
        let start = self.index;
        while self.index < self.targets.len() {
            let t = &self.targets[self.index];
            let key = &self.keys[self.index];
            let room = self.health.borrow().quota_room(key, &t.quota, self.spend.tokens, now_ms);
            let Some(room) = room else {
                self.failures.push(format!("{key}: no_quota_headroom"));
                self.index += 1;
                continue;
            };
            if self.health.borrow_mut().admit(key, now_ms) {
                self.health.borrow_mut().take_quota(key, room);
                return self.attempt(0, now_ms);
            }
            self.failures.push(format!("{key}: circuit_open"));
            self.index += 1;
        }
        let health = self.health.borrow();
        let oldest = (start..self.targets.len()).min_by_key(|&i| health.opened_at(&self.keys[i]).unwrap_or(0));
        drop(health);
        self.index = oldest.unwrap_or(start);
        self.attempt(0, now_ms)
    }

    /// Make an attempt at the current target after `delay_ms`.
    fn attempt(&mut self, delay_ms: u32, now_ms: u64) -> Action {
        if let Some(stop) = self.attempts_spent() {
            return stop;
        }
        self.attempts += 1;
        self.attempt_started_ms = now_ms + delay_ms as u64;
        if self.retries_here == 0 {
            self.health.borrow_mut().count_request(&self.targets[self.index].provider, now_ms);
        }
        let t = &self.targets[self.index];
        self.exchange = Exchange::new(self.caller.request_id.clone(), route_for(&self.caller, &self.payload, t), self.redactor.clone());
        if self.keeping.is_some() || self.cascade.is_some() || self.cache.as_ref().is_some_and(|c| c.decision.write) {
            self.exchange.collect();
        }
        match self.action_for(self.index, delay_ms) {
            Ok(action) => self.finish(action, now_ms),
            Err(e) => {
                let failed = self.exchange.fail_now(e);
                self.finish(failed, now_ms)
            }
        }
    }

    /// After each step of an attempt: recover from a failure if it may be, and label replies.
    fn finish(&mut self, action: Action, now_ms: u64) -> Action {
        let elapsed = now_ms.saturating_sub(self.attempt_started_ms);
        let failure = match (&action, &self.exchange.failure, self.exchange.committed) {
            (Action::Respond(_), Some(e), false) => e.clone(),
            (Action::Respond(_) | Action::Stream(_), None, _) => {
                let key = &self.keys[self.index];
                self.note_exhausted_quota(key, now_ms);
                let news = self.health.borrow().worth_reporting(key, true);
                self.health.borrow_mut().record(key, now_ms, Ok(()), elapsed);
                if news {
                    self.outcomes.push(Outcome { target: key.clone(), ok: true, now_ms, elapsed_ms: elapsed });
                }
                return self.gate(action, now_ms);
            }
            _ => return self.label(action),
        };
        let key = self.keys[self.index].clone();
        if let (429, Some(ms)) = (failure.status, self.exchange.retry_after_ms) {
            self.health.borrow_mut().park(&key, now_ms + ms);
        }
        self.note_exhausted_quota(&key, now_ms);
        if failure.disposition() != Disposition::Return && failure.counts_against_breaker() {
            self.health.borrow_mut().record(&key, now_ms, Err(failure.code.as_str()), elapsed);
            self.outcomes.push(Outcome { target: key.clone(), ok: false, now_ms, elapsed_ms: elapsed });
        }
        let t = &self.targets[self.index];
        self.failures.push(format!("{key}: {}", failure.code));
        let remaining = self.deadline_at_ms.saturating_sub(now_ms);
        match failure.disposition() {
            Disposition::Return => return self.label(action),
            Disposition::Retry if self.retries_here < t.max_retries && self.health.borrow_mut().take_retry(&t.provider, now_ms) => {
                let ceiling =
                    (self.policy.base_ms as u64).saturating_mul(1 << self.retries_here.min(20)).min(self.policy.max_backoff_ms as u64);
                let jitter = if ceiling == 0 { 0 } else { splitmix(&mut self.rng) % (ceiling + 1) };
                let delay = jitter.max(self.exchange.retry_after_ms.unwrap_or(0));
                if delay < remaining {
                    self.retries_here += 1;
                    return self.attempt(delay as u32, now_ms);
                }
            }
            _ => {}
        }
        if self.index + 1 < self.targets.len() && remaining > 0 {
            self.rung_failed(failure.code);
            self.index += 1;
            self.retries_here = 0;
            return self.first_admitted(now_ms);
        }
        if self.refused_any() {
            self.rung_failed(failure.code);
            return self.refuse();
        }
        if self.targets.len() > 1 {
            let list = format!("every target failed ({} attempts): {}", self.attempts, self.failures.join("; "));
            let message = self.redactor.redact(&list).into_owned();
            let err = GatewayError::new(Code::AllTargetsFailed, message).with_status(503);
            let mut reply = error_reply(&self.caller.request_id, &err, self.caller.api);
            reply.headers.extend(self.caller.cors_origin.as_deref().map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
            return self.give_up(Action::Respond(reply));
        }
        self.give_up(action)
    }

    /// The upstream said this account's quota is used up: prefer other targets until it
    /// resets.
    fn note_exhausted_quota(&self, key: &str, now_ms: u64) {
        if let Some(ms) = self.exchange.quota_exhausted_ms {
            self.health.borrow_mut().park(key, now_ms + ms);
        }
    }

    fn label(&mut self, mut action: Action) -> Action {
        if let Action::Respond(r) | Action::Stream(r) = &mut action {
            add_attempts(r, self.attempts);
            r.headers.extend(spend::rate_headers(&self.spend.rate));
            if !self.cache_status.is_empty() {
                r.headers.push((cache::SWITCH_HEADER.into(), self.cache_status.into()));
            }
            if let Some(note) = self.fit_note() {
                r.headers.push(("x-switchyard-context".into(), note.into()));
            }
            if let Some(reason) = &self.route_reason {
                r.headers.push((plans::ROUTE_REASON_HEADER.into(), reason.clone()));
            }
            self.status = r.status;
            self.error_code = self.exchange.failure.as_ref().map(|e| e.code);
        }
        if let (Action::Respond(r), None) = (&mut action, &self.exchange.failure) {
            if let Some((usage, nano)) = self.usage_and_cost() {
                r.headers.extend([
                    ("x-switchyard-cost-usd".to_string(), usd_string(nano + self.lookup_nusd)),
                    ("x-switchyard-input-tokens".to_string(), usage.input_tokens.to_string()),
                    ("x-switchyard-output-tokens".to_string(), usage.output_tokens.to_string()),
                ]);
                if usage.estimated {
                    r.headers.push(("x-switchyard-usage-estimated".into(), "true".into()));
                }
            } else if self.served_from_cache() {
                r.headers.extend([
                    ("x-switchyard-cost-usd".to_string(), usd_string(self.lookup_nusd)),
                    ("x-switchyard-saved-usd".to_string(), usd_string(self.saved_nusd)),
                ]);
            }
        }
        action
    }
}

fn add_attempts(r: &mut Reply, attempts: u32) {
    r.headers.push(("x-switchyard-attempts".into(), attempts.to_string()));
}

fn route_for(caller: &Caller, payload: &Payload, t: &TargetSpec) -> Route {
    let (stream, embeddings) = match payload {
        Payload::Chat(req) => (req.stream, None),
        Payload::Embeddings(req) => (false, Some(req.clone())),
    };
    Route {
        provider: t.provider.clone(),
        upstream_model: t.model.clone(),
        api: caller.api,
        wire: crate::core::translate::providers::wire_for(t.kind, t.responses_api, caller.api),
        stream,
        include_usage: caller.include_usage,
        embeddings,
        cors_origin: caller.cors_origin.clone(),
        created_s: caller.now_ms / 1000,
        echo: caller.echo.clone(),
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
