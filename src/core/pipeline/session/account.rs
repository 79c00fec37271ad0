//! The session's accounts: admission by the tenant's object, what the request costs and is
//! charged, its settlement in the ledger, and its Analytics Engine point.

use super::Session;
use crate::core::error::{Code, GatewayError};
use crate::core::pipeline::protocol::{error_reply, Action};
use crate::core::pipeline::target::Payload;
use crate::core::state::analytics::{self, DataPoint};
use crate::core::state::cost::{self, usd_string};
use crate::core::state::ledger::LedgerRow;
use crate::core::state::spend::{RateInfo, Settle, Verdict};
use crate::core::types::{Dialect, Usage};

impl Session {
    /// The tenant's object answered the admission (`None`: it could not be reached, and the
    /// request is refused rather than let through unmetered).
    pub fn on_admit(&mut self, answer: Option<&str>, now_ms: u64) -> Action {
        if self.cascade.as_ref().is_some_and(|c| c.reading_rates) {
            self.skip_rungs(answer);
            return self.admit_or_proceed();
        }
        let verdict = answer.and_then(|a| serde_json::from_slice::<Verdict>(a.as_bytes()).ok());
        let err = match verdict {
            Some(Verdict::Admitted { rate }) => {
                self.spend.rate = rate;
                return self.proceed(now_ms);
            }
            Some(v) => refusal(&v, &mut self.spend.rate),
            None => GatewayError::new(Code::SpendControlUnavailable, "limits could not be checked; try again").with_status(503),
        };
        self.spend.refused = true;
        self.spend.lease = None;
        let mut reply = error_reply(&self.caller.request_id, &err, self.caller.api);
        reply.headers.extend(self.caller.cors_origin.as_deref().map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
        self.error_code = Some(err.code);
        self.label(Action::Respond(reply))
    }

    /// The settlement of this request in its tenant's ledger (it releases the lease too), as
    /// JSON, once a reply was sent; `None` before that, or when admission refused it. The
    /// edge sends an isolate's settlements to each tenant's object in batches
    /// ([`crate::core::state::spend::SettleMany`]). `now_ms`: the reply is done, for the
    /// request's latency in the stats.
    pub fn settlement(&self, now_ms: u64) -> Option<(String, String)> {
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
        let settle = Settle {
            lease: self.spend.lease.clone(),
            subjects: subjects.collect(),
            tokens: usage.input_tokens + usage.output_tokens,
            row,
            gates: self.gate_rows(),
            latency_ms: now_ms.saturating_sub(self.caller.now_ms),
        };
        Some((self.caller.tenant.clone(), serde_json::to_string(&settle).unwrap_or_default()))
    }

    /// What the request is charged: the answer's usage and cost (nothing for an error or a
    /// hit) plus the similar-prompt lookup's embedding call, if one was made.
    pub(super) fn charged(&self) -> (Usage, u64) {
        let (usage, cost) = self.billed().unwrap_or_default();
        (usage, cost + self.lookup_nusd)
    }

    /// What the request cost: its usage and price when an answer (or part of a stream)
    /// went out; nothing for an error reply, which upstreams do not bill.
    /// A cascade's refused answers are billed whatever became of the last attempt.
    pub(super) fn billed(&self) -> Option<(Usage, u64)> {
        if self.exchange.failure.is_some() && !self.exchange.committed {
            return self.rungs_spent();
        }
        self.usage_and_cost()
    }

    /// The Analytics Engine data point for this request, once a reply was sent.
    pub fn analytics(&self, now_ms: u64) -> Option<DataPoint> {
        if self.status == 0 {
            return None;
        }
        let (usage, cost_nano_usd) = self.charged();
        let t = &self.targets[self.index];
        let stream = matches!(&self.payload, Payload::Chat(r) if r.stream);
        let dialect = match self.caller.api {
            Dialect::Anthropic => "anthropic",
            Dialect::Completions => "completions",
            Dialect::Responses => "responses",
            _ => "openai",
        };
        Some(analytics::data_point(&analytics::Record {
            tenant: &self.caller.tenant,
            key_name: &self.caller.key_name,
            public_model: &self.caller.public_model,
            provider: &t.provider,
            upstream_model: &t.model,
            status: self.status,
            error_code: self.error_code.map_or("", Code::as_str),
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

    /// The answer's usage (reported, or estimated from text) and its cost in nano-USD, with
    /// those of a cascade's refused answers.
    pub fn usage_and_cost(&self) -> Option<(Usage, u64)> {
        let (mut usage, mut nusd) = self.attempt_usage_and_cost()?;
        if let Some((spent, spent_nusd)) = self.rungs_spent() {
            super::plans::add_usage(&mut usage, &spent);
            nusd += spent_nusd;
        }
        Some((usage, nusd))
    }

    /// The current attempt's usage (reported, or estimated from text) and its cost.
    pub(super) fn attempt_usage_and_cost(&self) -> Option<(Usage, u64)> {
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
                Code::RateLimitExceeded,
                format!("rate limit reached for {} ({limit}); retry after {secs} s", who(subject)),
            );
            e.retry_after = Some(secs.to_string());
            e
        }
        Verdict::TooLarge { subject, limit, requested, allowed } => GatewayError::new(
            Code::RequestExceedsLimit,
            format!("this request needs {requested} against {}'s {limit} of {allowed}: it can never fit; lower max_tokens or the input", who(subject)),
        ),
        Verdict::OverBudget { subject, period, budget_nusd, spent_nusd, reserved_nusd, requested_nusd } => GatewayError::new(
            Code::BudgetExceeded,
            format!(
                "the {period} budget of {} (USD {}) cannot hold this request: spent {}, held by requests in flight {}, this request up to {}",
                who(subject),
                usd_string(*budget_nusd),
                usd_string(*spent_nusd),
                usd_string(*reserved_nusd),
                usd_string(*requested_nusd)
            ),
        ),
        Verdict::Admitted { .. } => GatewayError::new(Code::InternalError, "admitted"),
    }
}
