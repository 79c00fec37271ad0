//! One request across its attempts: retries with backoff on the same target, fallback to
//! the next target of its route, and the commit point.
//!
//! Each attempt is an [`Exchange`]. When one fails before anything was sent to the client,
//! the failure's [`Disposition`] decides: retry the same target (exponential backoff with
//! full jitter, the upstream's `retry-after` as a floor when it fits the deadline), move to
//! the next target at once, or return the error. Once a stream's head has gone out, failures
//! are reported in-band by the exchange and never retried.

use crate::core::config::{Prices, ProviderKind, Quota, RetryPolicy};
use crate::core::error::{Disposition, GatewayError, Kind};
use crate::core::pipeline::exchange::{error_reply, Action, Exchange, Reply, Route};
use crate::core::pipeline::routes::splitmix;
use crate::core::state::analytics::{self, DataPoint};
use crate::core::state::cache::{self, Decision, Entry, Freshness};
use crate::core::state::cost::{self, usd_string};
use crate::core::state::health::{Health, Outcome};
use crate::core::state::ledger::LedgerRow;
use crate::core::state::similar::{self, IndexOp};
use crate::core::state::spend::{self, Admit, Op, RateInfo, Settle, Subject, TenantNext, Verdict};
use crate::core::translate::embeddings::{self, EmbeddingsRequest};
use crate::core::translate::providers::mock::{self, Directive, MockCall, MockReply};
use crate::core::translate::providers::{self, Target};
use crate::core::types::{ChatRequest, Dialect, Usage};

/// What is being asked for.
#[derive(Debug, Clone)]
pub enum Payload {
    Chat(Box<ChatRequest>),
    Embeddings(Box<EmbeddingsRequest>),
}

/// Everything needed to make one attempt at one target, owned.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub provider: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub model: String,
    /// The API key, or the name of the secret that should hold it but does not.
    pub api_key: Result<Option<String>, String>,
    pub api_version: String,
    pub max_output_tokens: u32,
    pub timeout_ms: u32,
    pub ttfb_timeout_ms: u32,
    pub idle_timeout_ms: u32,
    pub max_retries: u32,
    pub stream_chunk_ms: u32,
    pub allow_panic: bool,
    pub prices: Prices,
    pub quota: Quota,
}

/// The caller's side of every attempt.
#[derive(Debug, Clone)]
pub struct Caller {
    pub request_id: String,
    pub tenant: String,
    pub key_name: String,
    /// The public name the caller asked for (a model, alias or route).
    pub public_model: String,
    /// The caller's run tag (`x-switchyard-run`), for grouping in analytics.
    pub run: String,
    pub client: Dialect,
    pub include_usage: bool,
    pub cors_origin: Option<String>,
    pub mock_header: Option<String>,
    pub now_ms: u64,
    pub seed: u64,
}

/// Spend control for one request: whose limits it must fit and what it holds.
#[derive(Debug, Clone, Default)]
pub struct SpendPlan {
    /// The token (if any), the key and the tenant, with their limits.
    pub subjects: Vec<Subject>,
    /// Estimated tokens (input estimate plus output cap) and worst-case cost.
    pub tokens: u64,
    pub reserve_nusd: u64,
    /// The lease id, unique to this request, once admission was asked.
    lease: Option<String>,
    rate: RateInfo,
    refused: bool,
}

impl SpendPlan {
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
    pub threshold: f32,
    pub max_entries: u32,
    /// The embedding model's target and the request that embeds the last user turn.
    pub embed: TargetSpec,
    pub request: EmbeddingsRequest,
    pub vector: Option<Vec<f32>>,
    /// The similarity of the entry being read, once the index found one.
    pub matched: Option<f32>,
}

/// What the gateway decided before the first attempt, beside the targets.
#[derive(Debug, Clone, Default)]
pub struct Plans {
    pub spend: SpendPlan,
    /// `None`: no cache (not bound, or not a chat request).
    pub cache: Option<CachePlan>,
    pub similar: Option<SimilarPlan>,
}

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
    /// When the current attempt began (its backoff excluded), for slow-call accounting.
    attempt_started_ms: u64,
    /// Outcomes to report to the targets' Durable Objects after the response.
    outcomes: Vec<Outcome>,
    /// Characters and messages of the request's text, for estimating missing usage.
    input_chars: u64,
    messages: u64,
    /// The status and error code of the reply sent (0 until then).
    status: u16,
    error_code: &'static str,
    spend: SpendPlan,
    cache: Option<CachePlan>,
    similar: Option<Box<SimilarPlan>>,
    /// `HIT`, `SIMILAR`, `MISS`, `BYPASS` or `STALE` once known ("" without a cache).
    cache_status: &'static str,
    /// An expired entry still within its stale window: the answer if every target fails.
    stale: Option<Entry>,
    /// What the cached answer served would have cost upstream.
    saved_nusd: u64,
    /// What the similar-prompt lookup's embedding call cost (part of what the request costs).
    lookup_nusd: u64,
}

impl Session {
    /// Plan the first attempt. `targets` must not be empty.
    pub fn start(
        caller: Caller,
        payload: Payload,
        targets: Vec<TargetSpec>,
        policy: RetryPolicy,
        deadline_ms: u32,
        health: Health,
    ) -> (Session, Action) {
        Self::start_with(caller, payload, targets, policy, deadline_ms, health, Plans::default())
    }

    /// Like `start`; when `spend` has limits to check, the first action asks the tenant's
    /// object to admit the request, and `on_admit` carries on.
    pub fn start_with(
        caller: Caller,
        payload: Payload,
        targets: Vec<TargetSpec>,
        policy: RetryPolicy,
        deadline_ms: u32,
        health: Health,
        plans: Plans,
    ) -> (Session, Action) {
        let exchange = Exchange::new(caller.request_id.clone(), route_for(&caller, &payload, &targets[0]));
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
            attempt_started_ms: 0,
            outcomes: Vec::new(),
            input_chars: 0,
            messages: 0,
            status: 0,
            error_code: "",
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
        };
        if let Payload::Chat(req) = &s.payload {
            s.input_chars = req.messages.iter().map(|m| m.content.text().chars().count() as u64).sum();
            s.messages = req.messages.len() as u64;
        }
        if s.spend.needs_admission() {
            let lease = format!("{:016x}", splitmix(&mut s.rng));
            let op = Op::Admit(Admit {
                lease: lease.clone(),
                subjects: s.spend.subjects.clone(),
                tokens: s.spend.tokens,
                reserve_nusd: s.spend.reserve_nusd,
                lease_ms: deadline_ms as u64 + 60_000,
            });
            s.spend.lease = Some(lease);
            let op = serde_json::to_string(&op).unwrap_or_default();
            let action = Action::Tenant { tenant: s.caller.tenant.clone(), op, then: TenantNext::Admission };
            return (s, action);
        }
        let action = s.proceed(s.caller.now_ms);
        (s, action)
    }

    /// Past admission: look in the cache first when the decision says so.
    fn proceed(&mut self, now_ms: u64) -> Action {
        match &self.cache {
            Some(c) if c.decision.read => Action::CacheGet { key: c.key.clone(), join: true, coalesce: c.coalesce },
            _ => self.first_admitted(now_ms),
        }
    }

    /// The cache answered (`None`: a miss, or the cache could not be read). A fresh entry is
    /// the reply; a stale one is kept in case every target fails.
    pub fn on_cache(&mut self, value: Option<&str>, now_ms: u64) -> Action {
        let entry = value.and_then(Entry::from_json);
        let similar = self.similar.as_ref().and_then(|s| s.matched).is_some();
        if let (Some(plan), Some(entry)) = (&self.cache, entry) {
            match plan.decision.judge(&entry, now_ms) {
                Freshness::Fresh { age_s } => {
                    if let Some(action) = self.answer_from_cache(entry, age_s, if similar { "SIMILAR" } else { "HIT" }) {
                        return action;
                    }
                }
                Freshness::Stale { .. } if !similar => self.stale = Some(entry),
                _ => {}
            }
        }
        if !similar && self.similar.is_some() {
            return self.embed(now_ms);
        }
        self.first_admitted(now_ms)
    }

    /// Embed the last user turn for the similar-prompt index (the mock embeds at once).
    fn embed(&mut self, now_ms: u64) -> Action {
        let Some(s) = self.similar.as_mut() else { return self.first_admitted(now_ms) };
        if s.embed.kind == ProviderKind::Mock {
            s.vector = similar::mock_vector(&s.request, &s.embed.model);
            return self.lookup(now_ms);
        }
        let request = target_of(&s.embed).and_then(|t| embeddings::build_request(&s.request, &t));
        match request {
            Ok(request) => Action::Embed { request, timeout_ms: s.embed.timeout_ms.min(10_000) },
            Err(_) => self.first_admitted(now_ms),
        }
    }

    /// The embedding model answered (status 0: it could not be reached). Without a vector
    /// the request simply goes upstream.
    pub fn on_embedding(&mut self, status: u16, body: &[u8], now_ms: u64) -> Action {
        if let Some(s) = self.similar.as_mut() {
            s.vector = (status == 200).then(|| similar::vector_from(s.embed.kind.wire(), body)).flatten();
            if status == 200 {
                self.lookup_nusd = cost::nano_usd(&embeddings::usage(&s.request, Some(body)), &s.embed.prices);
            }
        }
        self.lookup(now_ms)
    }

    fn lookup(&mut self, now_ms: u64) -> Action {
        let Some(s) = self.similar.as_ref().filter(|s| s.vector.is_some()) else { return self.first_admitted(now_ms) };
        let op = IndexOp::Lookup {
            prefix: s.prefix.clone(),
            vector: s.vector.clone().unwrap_or_default(),
            threshold: s.threshold,
            max_entries: s.max_entries,
        };
        Action::Index { name: s.index.clone(), op: serde_json::to_string(&op).unwrap_or_default() }
    }

    /// The index answered: read the matched prompt's entry, or go upstream.
    pub fn on_index(&mut self, answer: Option<&str>, now_ms: u64) -> Action {
        let found = answer.and_then(|a| serde_json::from_str::<similar::Match>(a).ok());
        match (found, self.similar.as_mut()) {
            (Some(m), Some(s)) => {
                s.matched = Some(m.score);
                Action::CacheGet { key: m.key, join: false, coalesce: false }
            }
            _ => self.first_admitted(now_ms),
        }
    }

    /// With an answer stored: the index entry that makes it findable by similar prompts.
    pub fn similar_put(&self, now_ms: u64) -> Option<(String, String)> {
        let s = self.similar.as_ref()?;
        let (key, _, _) = self.cache_put(now_ms)?;
        let op = IndexOp::Insert { prefix: s.prefix.clone(), key, vector: s.vector.clone()?, max_entries: s.max_entries, now_ms };
        Some((s.index.clone(), serde_json::to_string(&op).unwrap_or_default()))
    }

    /// Answer with a cached entry, replayed in the caller's dialect (and as a stream when
    /// the caller streams).
    fn answer_from_cache(&mut self, entry: Entry, age_s: u32, status: &'static str) -> Option<Action> {
        let stream = matches!(&self.payload, Payload::Chat(r) if r.stream);
        let body = cache::replay(&entry, self.caller.client, stream, self.caller.include_usage)?;
        let content_type = if stream { "text/event-stream" } else { "application/json" };
        let mut headers = crate::core::pipeline::exchange::base_headers(&self.caller.request_id, content_type);
        headers.push(("x-switchyard-provider".into(), entry.provider.clone()));
        headers.push(("x-switchyard-model".into(), entry.upstream_model.clone()));
        headers.push(("age".into(), age_s.to_string()));
        if let (Some(score), "SIMILAR") = (self.similar.as_ref().and_then(|s| s.matched), status) {
            headers.push(("x-switchyard-similarity".into(), format!("{score:.4}")));
        }
        headers.extend(self.caller.cors_origin.as_deref().map(crate::core::front::cors::headers).unwrap_or_default());
        self.cache_status = status;
        self.saved_nusd = entry.cost_nano_usd;
        Some(self.label(Action::Respond(Reply { status: 200, headers, body, body_from_upstream: false })))
    }

    /// Every target failed: a stale cached answer, if one is kept, rather than the error.
    fn give_up(&mut self, action: Action) -> Action {
        if let Some(entry) = self.stale.take() {
            let age_s = (self.caller.now_ms.saturating_sub(entry.created_ms) / 1000) as u32;
            if let Some(a) = self.answer_from_cache(entry, age_s, "STALE") {
                return a;
            }
        }
        self.label(action)
    }

    fn served_from_cache(&self) -> bool {
        matches!(self.cache_status, "HIT" | "SIMILAR" | "STALE")
    }

    /// Once a fresh answer went out: `(key, entry JSON, KV expirationTtl)` to store, when the
    /// decision writes and the answer is complete and storable.
    pub fn cache_put(&self, now_ms: u64) -> Option<(String, String, u32)> {
        let plan = self.cache.as_ref().filter(|c| c.decision.write && !self.served_from_cache())?;
        let answer = self.exchange.answer.as_ref().filter(|a| self.exchange.failure.is_none() && cache::storable(a))?;
        let t = &self.targets[self.index];
        let entry = Entry {
            response: answer.clone(),
            created_ms: now_ms,
            ttl_s: plan.decision.ttl_s,
            provider: t.provider.clone(),
            upstream_model: t.model.clone(),
            cost_nano_usd: self.billed().map_or(0, |(_, c)| c),
        };
        Some((plan.key.clone(), entry.to_json(), plan.decision.kv_ttl_s()))
    }

    /// The tenant's object answered the admission (`None`: it could not be reached, and the
    /// request is refused rather than let through unmetered).
    pub fn on_admit(&mut self, answer: Option<&str>, now_ms: u64) -> Action {
        let verdict = answer.and_then(|a| serde_json::from_slice::<Verdict>(a.as_bytes()).ok());
        let err = match verdict {
            Some(Verdict::Admitted { rate }) => {
                self.spend.rate = rate;
                return self.proceed(now_ms);
            }
            Some(v) => refusal(&v, &mut self.spend.rate),
            None => GatewayError::new(Kind::UpstreamError, "spend_control_unavailable", "limits could not be checked; try again")
                .with_status(503),
        };
        self.spend.refused = true;
        self.spend.lease = None;
        let mut reply = error_reply(&self.caller.request_id, &err, self.caller.client);
        reply.headers.extend(self.caller.cors_origin.as_deref().map(crate::core::front::cors::headers).unwrap_or_default());
        self.error_code = err.code;
        self.label(Action::Respond(reply))
    }

    /// The settlement of this request in its tenant's ledger (it releases the lease too), as
    /// JSON, once a reply was sent; `None` before that, or when admission refused it. The
    /// edge sends an isolate's settlements to each tenant's object in batches
    /// ([`crate::core::state::spend::SettleMany`]).
    pub fn settlement(&self) -> Option<(String, String)> {
        if self.status == 0 || self.spend.refused {
            return None;
        }
        let (usage, cost) = self.charged();
        let row = LedgerRow {
            day: String::new(),
            key: self.caller.key_name.clone(),
            model: self.caller.public_model.clone(),
            run: self.caller.run.clone(),
            calls: 1,
            errors: u64::from(self.status >= 400 || self.exchange.failure.is_some() && !self.served_from_cache()),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_tokens: usage.cached_input_tokens,
            cost_nusd: cost,
            cache_hits: u64::from(self.served_from_cache()),
            saved_nusd: self.saved_nusd,
        };
        let subjects = self.spend.subjects.iter().filter(|s| !s.id.starts_with("token:") || s.has_budget()).map(|s| s.id.clone());
        let settle =
            Settle { lease: self.spend.lease.clone(), subjects: subjects.collect(), tokens: usage.input_tokens + usage.output_tokens, row };
        Some((self.caller.tenant.clone(), serde_json::to_string(&settle).unwrap_or_default()))
    }

    /// What the request is charged: the answer's usage and cost (nothing for an error or a
    /// hit) plus the similar-prompt lookup's embedding call, if one was made.
    fn charged(&self) -> (Usage, u64) {
        let (usage, cost) = self.billed().unwrap_or_default();
        (usage, cost + self.lookup_nusd)
    }

    /// What the request cost: its usage and price when an answer (or part of a stream)
    /// went out; nothing for an error reply, which upstreams do not bill.
    fn billed(&self) -> Option<(Usage, u64)> {
        self.usage_and_cost().filter(|_| self.exchange.failure.is_none() || self.exchange.committed)
    }

    pub fn request_id(&self) -> &str {
        &self.caller.request_id
    }

    pub fn is_finished(&self) -> bool {
        self.exchange.is_finished()
    }

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
        self.attempts += 1;
        self.attempt_started_ms = now_ms + delay_ms as u64;
        if self.retries_here == 0 {
            self.health.borrow_mut().count_request(&self.targets[self.index].provider, now_ms);
        }
        let t = &self.targets[self.index];
        self.exchange = Exchange::new(self.caller.request_id.clone(), route_for(&self.caller, &self.payload, t));
        if self.cache.as_ref().is_some_and(|c| c.decision.write) {
            self.exchange.collect();
        }
        match self.action_for(&self.targets[self.index], delay_ms) {
            Ok(action) => self.finish(action, now_ms),
            Err(e) => {
                let failed = self.exchange.fail_now(e);
                self.finish(failed, now_ms)
            }
        }
    }

    fn action_for(&self, t: &TargetSpec, delay_ms: u32) -> Result<Action, GatewayError> {
        if t.kind == ProviderKind::Mock {
            return self.mock_action(t, delay_ms);
        }
        let target = target_of(t)?;
        let request = match &self.payload {
            Payload::Chat(req) => providers::build_request(req, &target)?,
            Payload::Embeddings(req) => embeddings::build_request(req, &target)?,
        };
        Ok(Action::Fetch { request, timeout_ms: t.timeout_ms, ttfb_ms: t.ttfb_timeout_ms, delay_ms })
    }

    fn mock_action(&self, t: &TargetSpec, delay_ms: u32) -> Result<Action, GatewayError> {
        let from_model = t.model.strip_prefix("fault:").map(Directive::parse).transpose()?.unwrap_or_default();
        let from_header = self.caller.mock_header.as_deref().map(Directive::parse).transpose()?.unwrap_or_default();
        let directive = from_model.merged(from_header);
        if directive.panic {
            if !t.allow_panic {
                return Err(GatewayError::invalid("invalid_mock_directive", "mock directive: panic is not enabled for this provider"));
            }
            panic!("panic requested by a mock directive (request {})", self.caller.request_id);
        }
        let mut reply = match &self.payload {
            Payload::Chat(req) => {
                let call =
                    MockCall { upstream_model: &t.model, directive, default_chunk_ms: t.stream_chunk_ms, now_s: self.caller.now_ms / 1000 };
                mock::respond(req, call)
            }
            Payload::Embeddings(req) => {
                let headers = vec![("content-type".into(), "application/json".into())];
                MockReply {
                    status: 200,
                    headers,
                    delay_ms: 0,
                    frames: vec![embeddings::mock_response(req, &t.model)],
                    interval_ms: 0,
                    cut: false,
                }
            }
        };
        reply.delay_ms += delay_ms;
        Ok(Action::Mock(reply))
    }

    pub fn on_head(&mut self, status: u16, headers: &[(String, String)], now_ms: u64) -> Action {
        let a = self.exchange.on_head(status, headers);
        self.finish(a, now_ms)
    }

    pub fn on_body(&mut self, body: &[u8], now_ms: u64) -> Action {
        let a = self.exchange.on_body(body);
        self.finish(a, now_ms)
    }

    pub fn on_fetch_error(&mut self, timed_out: bool, now_ms: u64) -> Action {
        let a = self.exchange.on_fetch_error(timed_out);
        self.finish(a, now_ms)
    }

    pub fn on_chunk(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        self.exchange.on_chunk(chunk)
    }

    /// The end of the upstream stream: the exchange's closing bytes, then (for a clean end)
    /// an SSE comment with the usage and cost, which SSE parsers ignore.
    pub fn on_end(&mut self) -> Vec<u8> {
        let mut out = self.exchange.on_end();
        if self.exchange.completed {
            if let Some((usage, nano)) = self.usage_and_cost() {
                out.extend(
                    format!(
                        ": switchyard cost_usd={} input_tokens={} output_tokens={} estimated={}\n\n",
                        usd_string(nano + self.lookup_nusd),
                        usage.input_tokens,
                        usage.output_tokens,
                        usage.estimated
                    )
                    .into_bytes(),
                );
            }
        }
        out
    }

    /// The Analytics Engine data point for this request, once a reply was sent.
    pub fn analytics(&self, now_ms: u64) -> Option<DataPoint> {
        if self.status == 0 {
            return None;
        }
        let (usage, cost_nano_usd) = self.charged();
        let t = &self.targets[self.index];
        let stream = matches!(&self.payload, Payload::Chat(r) if r.stream);
        let dialect = match self.caller.client {
            Dialect::Anthropic => "anthropic",
            _ => "openai",
        };
        Some(analytics::data_point(&analytics::Record {
            tenant: &self.caller.tenant,
            key_name: &self.caller.key_name,
            public_model: &self.caller.public_model,
            provider: &t.provider,
            upstream_model: &t.model,
            status: self.status,
            error_code: self.error_code,
            cache: if self.cache_status.is_empty() { "none" } else { self.cache_status },
            run: &self.caller.run,
            dialect,
            stream,
            usage,
            cost_nano_usd,
            latency_ms: now_ms.saturating_sub(self.caller.now_ms),
            attempts: self.attempts,
        }))
    }

    /// The answer's usage (reported, or estimated from text) and its cost in nano-USD.
    pub fn usage_and_cost(&self) -> Option<(Usage, u64)> {
        if self.served_from_cache() {
            return None;
        }
        let usage = match self.payload {
            Payload::Chat(_) => {
                self.exchange.usage.unwrap_or_else(|| cost::estimate(self.input_chars, self.messages, self.exchange.output_chars))
            }
            Payload::Embeddings(_) => self.exchange.usage?,
        };
        Some((usage, cost::nano_usd(&usage, &self.targets[self.index].prices)))
    }

    pub fn on_stream_error(&mut self) -> Vec<u8> {
        self.exchange.on_stream_error()
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
                return self.label(action);
            }
            _ => return self.label(action),
        };
        let key = self.keys[self.index].clone();
        if let (429, Some(ms)) = (failure.status, self.exchange.retry_after_ms) {
            self.health.borrow_mut().park(&key, now_ms + ms);
        }
        self.note_exhausted_quota(&key, now_ms);
        if failure.disposition() != Disposition::Return && failure.counts_against_breaker() {
            self.health.borrow_mut().record(&key, now_ms, Err(failure.code), elapsed);
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
            self.index += 1;
            self.retries_here = 0;
            return self.first_admitted(now_ms);
        }
        if self.targets.len() > 1 {
            let message = format!("every target failed ({} attempts): {}", self.attempts, self.failures.join("; "));
            let err = GatewayError::new(Kind::UpstreamError, "all_targets_failed", message).with_status(503);
            let mut reply = error_reply(&self.caller.request_id, &err, self.caller.client);
            reply.headers.extend(self.caller.cors_origin.as_deref().map(crate::core::front::cors::headers).unwrap_or_default());
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
            self.status = r.status;
            self.error_code = self.exchange.failure.as_ref().map_or("", |e| e.code);
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

/// How to reach a target, with its API key; an error when the key's secret is not set.
fn target_of(t: &TargetSpec) -> Result<Target<'_>, GatewayError> {
    let api_key = match &t.api_key {
        Ok(k) => k.as_deref(),
        Err(name) => {
            let msg = format!("the secret '{name}' for provider '{}' is not set", t.provider);
            return Err(GatewayError::new(Kind::Internal, "provider_key_missing", msg));
        }
    };
    Ok(Target {
        kind: t.kind,
        base_url: &t.base_url,
        model: &t.model,
        api_key,
        api_version: &t.api_version,
        max_output_tokens: t.max_output_tokens,
    })
}

/// The error for a refused admission; the rate windows it reports go to `rate`.
fn refusal(v: &Verdict, rate: &mut RateInfo) -> GatewayError {
    let who = |subject: &str| match subject.split_once(':') {
        Some(("key", name)) => format!("key '{name}'"),
        Some(("token", _)) => "this token".to_string(),
        _ => "this tenant".to_string(),
    };
    match v {
        Verdict::Limited { subject, limit, retry_after_ms, rate: r } => {
            *rate = *r;
            let secs = retry_after_ms.div_ceil(1000).max(1);
            let mut e = GatewayError::new(
                Kind::RateLimited,
                "rate_limit_exceeded",
                format!("rate limit reached for {} ({limit}); retry after {secs} s", who(subject)),
            );
            e.retry_after = Some(secs.to_string());
            e
        }
        Verdict::TooLarge { subject, limit, requested, allowed } => GatewayError::new(
            Kind::PayloadTooLarge,
            "request_exceeds_limit",
            format!("this request needs {requested} against {}'s {limit} of {allowed}: it can never fit; lower max_tokens or the input", who(subject)),
        ),
        Verdict::OverBudget { subject, period, budget_nusd, spent_nusd, reserved_nusd, requested_nusd } => GatewayError::new(
            Kind::PaymentRequired,
            "budget_exceeded",
            format!(
                "the {period} budget of {} (USD {}) cannot hold this request: spent {}, held by requests in flight {}, this request up to {}",
                who(subject),
                usd_string(*budget_nusd),
                usd_string(*spent_nusd),
                usd_string(*reserved_nusd),
                usd_string(*requested_nusd)
            ),
        ),
        Verdict::Admitted { .. } => GatewayError::new(Kind::Internal, "internal_error", "admitted"),
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
        client: caller.client,
        wire: t.kind.wire(),
        stream,
        include_usage: caller.include_usage,
        embeddings,
        cors_origin: caller.cors_origin.clone(),
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
