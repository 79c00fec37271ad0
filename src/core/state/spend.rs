//! Spend control for one tenant: rate limits (GCRA), concurrent requests, budgets with
//! reservations, and spend counters, as one pure state machine. The tenant's Durable Object
//! loads a [`TenantState`], applies one [`Op`] with its clock, and stores the result; the
//! ledger rows it writes come from [`crate::core::state::ledger`].
//!
//! Invariants:
//! - Admission is all or nothing: a request refused by one subject changes no other.
//! - GCRA never admits more than `limit + limit × elapsed / 1 min` (property-tested in
//!   [`crate::core::state::gcra`]).
//! - A budget is overshot by at most the estimation error of the calls in flight: every
//!   admitted call holds a reservation of its worst case until it settles, and admission
//!   counts spend plus every open reservation.
//! - A lease that never settles (a crashed isolate) expires at its deadline, so neither its
//!   concurrency slot nor its reservation is held for ever.

use crate::core::config::{usd_to_nano, Limits};
use crate::core::state::gcra::{self, interval_ns, MINUTE_NS};
use crate::core::state::ledger::{self, LedgerRow, Query, UsageQuery};
use crate::core::state::stats;
use crate::core::util::calendar::{self, DAY_MS};
use crate::core::util::duration::reset_string;
use crate::core::util::vecmap::VecMap;
use serde::Serialize;

/// Limits applied to one subject: the spend side of the config's [`Limits`].
pub trait LimitsExt {
    /// These limits applied to the subject `id`.
    fn subject(&self, id: String) -> Subject;
}

impl LimitsExt for Limits {
    fn subject(&self, id: String) -> Subject {
        Subject {
            id,
            rpm: self.requests_per_minute,
            tpm: self.tokens_per_minute,
            concurrent: self.concurrent_requests,
            daily_nusd: self.daily_usd.and_then(usd_to_nano),
            monthly_nusd: self.monthly_usd.and_then(usd_to_nano),
            total_nusd: self.total_usd.and_then(usd_to_nano),
        }
    }
}

/// One party whose limits a request must fit: the tenant, a key, or a browser token.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Subject {
    /// The subject's id, which names its counters: `tenant`, `key:<name>` or
    /// `token:<hash prefix>`.
    pub id: String,
    /// Requests per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens (input plus output) per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u32>,
    /// Spend cap per UTC day, nano-USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_nusd: Option<u64>,
    /// Spend cap per UTC calendar month, nano-USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_nusd: Option<u64>,
    /// Spend cap over the subject's whole life, nano-USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_nusd: Option<u64>,
}

crate::de_struct!(
    Subject,
    required,
    skip { id, rpm: default, tpm: default, concurrent: default, daily_nusd: default, monthly_nusd: default, total_nusd: default }
);

impl Subject {
    /// Whether any spend cap is set.
    pub fn has_budget(&self) -> bool {
        self.daily_nusd.is_some() || self.monthly_nusd.is_some() || self.total_nusd.is_some()
    }
    /// Whether any limit at all is set: if none, the subject needs no admission.
    pub fn has_limits(&self) -> bool {
        self.has_budget() || self.rpm.is_some() || self.tpm.is_some() || self.concurrent.is_some()
    }
}

/// What a tenant's Durable Object is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Admit one request (answers a [`Verdict`]).
    Admit(Admit),
    /// Settle one request (answers null, writes one ledger upsert).
    Settle(Settle),
    /// Several settlements at once, as an isolate batches them: one call to the object.
    SettleMany(SettleMany),
    /// Read the ledger for `/v1/usage` (answers null; the object runs the select and returns its
    /// rows).
    Usage(UsageQuery),
    /// Read the recent buckets for `/v1/stats` (the object returns the rows, as for `Usage`).
    Stats,
    /// A job was put on the jobs queue: its depth grows by one (answers null).
    JobQueued,
    /// A queued job is done (or dropped): the depth shrinks by one, never below zero.
    JobDone,
}

crate::de_variants!(Op {
    Admit = "admit" (Admit),
    Settle = "settle" (Settle),
    SettleMany = "settle_many" (SettleMany),
    Usage = "usage" (UsageQuery),
    Stats = "stats",
    JobQueued = "job_queued",
    JobDone = "job_done",
});

/// Settlements applied in order; their ledger rows are summed per group first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettleMany {
    /// The settlements, in the order they are applied.
    pub settles: Vec<Settle>,
}

crate::de_struct!(SettleMany, required, skip { settles });

/// Admit one request, holding its worst case until it settles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Admit {
    /// Unique per request (never client-chosen).
    pub lease: String,
    /// Every subject whose limits the request must fit (token, key, tenant); all or nothing.
    pub subjects: Vec<Subject>,
    /// Estimated tokens (input estimate plus output cap), for tokens-per-minute.
    pub tokens: u64,
    /// Worst-case cost, held against budgets until the request settles.
    pub reserve_nusd: u64,
    /// How long the lease may live, from admission.
    pub lease_ms: u64,
}

crate::de_struct!(Admit, required, skip { lease, subjects, tokens, reserve_nusd, lease_ms });

/// A request is over: release its lease, count its real cost, write its ledger row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settle {
    /// The admission's lease, when there was one.
    pub lease: Option<String>,
    /// Ids of the subjects whose spend counters the cost goes to.
    pub subjects: Vec<String>,
    /// The request's real tokens (input plus output).
    pub tokens: u64,
    /// The ledger row, `day` left empty: the object's clock decides the day.
    pub row: LedgerRow,
    /// A cascade's checked answers, each a [`ledger::gate_row`], for the gate records (JSON
    /// `null` or an array).
    pub gates: serde_json::Value,
    /// From the request's arrival to its settlement's hand-over, milliseconds (for the stats'
    /// latency histogram; 0 from an isolate that predates it).
    pub latency_ms: u64,
}

crate::de_struct!(Settle, required, skip { lease: default, subjects, tokens, row, gates: default, latency_ms: default });

/// The state of one rate window, for OpenAI's `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// The limit, per minute.
    pub limit: u64,
    /// What could still be admitted now.
    pub remaining: u64,
    /// Until the window is full again.
    pub reset_ms: u64,
}

crate::de_struct!(Window, required, skip { limit, remaining, reset_ms });

/// The rate windows reported to the caller: the first subject with each limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RateInfo {
    /// Requests per minute, if a subject has such a limit.
    pub requests: Option<Window>,
    /// Tokens per minute, if a subject has such a limit.
    pub tokens: Option<Window>,
}

crate::de_struct!(RateInfo, required, skip { requests: default, tokens: default });

/// The answer to an admission.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Admitted: a lease is held until the request settles.
    Admitted {
        /// The rate windows after this admission, for the `x-ratelimit-*` headers.
        rate: RateInfo,
    },
    /// A rate or concurrency limit is reached for now.
    Limited {
        /// The subject whose limit refused the request.
        subject: String,
        /// The limit's config name (`requests_per_minute`, `tokens_per_minute`,
        /// `concurrent_requests`).
        limit: String,
        /// When a retry could be admitted, in milliseconds (at least 1).
        retry_after_ms: u64,
        /// The rate windows now.
        rate: RateInfo,
    },
    /// The request can never fit this limit, however long it waits.
    TooLarge {
        /// The subject whose limit the request exceeds.
        subject: String,
        /// The limit's config name (`requests_per_minute` or `tokens_per_minute`).
        limit: String,
        /// What the request needs (1 request, or its estimated tokens).
        requested: u64,
        /// The limit per minute.
        allowed: u64,
    },
    /// The budget cannot hold this request's worst case now.
    OverBudget {
        /// The subject whose budget refused the request.
        subject: String,
        /// The budget's period: `day`, `month` or `total`.
        period: String,
        /// The budget, nano-USD.
        budget_nusd: u64,
        /// Spent so far in the period, nano-USD.
        spent_nusd: u64,
        /// Held by requests in flight, nano-USD.
        reserved_nusd: u64,
        /// This request's worst case, nano-USD.
        requested_nusd: u64,
    },
}

crate::de_variants!(Verdict {
    Admitted = "admitted" { rate: RateInfo },
    Limited = "limited" { subject: String, limit: String, retry_after_ms: u64, rate: RateInfo },
    TooLarge = "too_large" { subject: String, limit: String, requested: u64, allowed: u64 },
    OverBudget = "over_budget" { subject: String, period: String, budget_nusd: u64, spent_nusd: u64, reserved_nusd: u64, requested_nusd: u64 },
});

/// An admitted request that has not settled yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Lease {
    subjects: Vec<String>,
    /// Subjects with a concurrency limit (the slots this lease holds).
    concurrent: Vec<String>,
    /// Subjects with a tokens-per-minute limit and their emission interval, for correction.
    tpm: Vec<(String, u64)>,
    tokens: u64,
    reserve_nusd: u64,
    expires_ms: u64,
}

crate::de_struct!(Lease, required, skip { subjects, concurrent, tpm, tokens, reserve_nusd, expires_ms });

/// Spend of one subject in the current day and month, and over its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
struct Spend {
    day: u64,
    day_nusd: u64,
    month: u64,
    month_nusd: u64,
    total_nusd: u64,
    touched_ms: u64,
}

crate::de_struct!(Spend, required, skip { day, day_nusd, month, month_nusd, total_nusd, touched_ms });

impl Spend {
    /// Roll the day and month forward to `now_ms`.
    fn at(mut self, now_ms: u64) -> Spend {
        let (day, month) = (now_ms / DAY_MS, calendar::month_index(now_ms / DAY_MS));
        if self.day != day {
            self.day = day;
            self.day_nusd = 0;
        }
        if self.month != month {
            self.month = month;
            self.month_nusd = 0;
        }
        self
    }
}

/// Everything one tenant's object keeps (besides its ledger table).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TenantState {
    /// GCRA theoretical arrival times, nanoseconds: `r:<subject>` and `t:<subject>`.
    tat: VecMap<String, u64>,
    leases: VecMap<String, Lease>,
    spend: VecMap<String, Spend>,
}

crate::de_struct!(TenantState, required, skip { tat: default, leases: default, spend: default });

/// What applying an op produced.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    /// The new state, when it changed.
    pub state: Option<TenantState>,
    /// The answer (a [`Verdict`] for admissions).
    pub reply: serde_json::Value,
    /// SQL statements to run on the object's ledger, in order (upserts, or one query).
    pub sql: Vec<Query>,
}

/// Apply one op at `now_ms`.
pub fn apply(state: &TenantState, op: Op, now_ms: u64) -> Applied {
    match op {
        Op::Admit(a) => {
            let mut next = state.clone();
            let verdict = next.admit(&a, now_ms);
            let changed = matches!(verdict, Verdict::Admitted { .. }) || next != *state;
            Applied { state: changed.then_some(next), reply: serde_json::to_value(verdict).unwrap_or_default(), sql: Vec::new() }
        }
        Op::Settle(s) => settle_all(state, vec![s], now_ms),
        Op::SettleMany(many) => settle_all(state, many.settles, now_ms),
        Op::Usage(q) => Applied { state: None, reply: serde_json::Value::Null, sql: vec![ledger::select(&q)] },
        Op::Stats => Applied { state: None, reply: serde_json::Value::Null, sql: vec![stats::select(now_ms)] },
        Op::JobQueued => Applied { state: None, reply: serde_json::Value::Null, sql: vec![stats::queue(1)] },
        Op::JobDone => Applied { state: None, reply: serde_json::Value::Null, sql: vec![stats::queue(-1)] },
    }
}

/// Settlements applied in order: their ledger rows summed per group, one gate upsert per
/// checked answer, then the stats' buckets.
fn settle_all(state: &TenantState, settles: Vec<Settle>, now_ms: u64) -> Applied {
    let mut next = state.clone();
    let mut gates = Vec::new();
    let mut rows: Vec<(LedgerRow, u64)> = Vec::with_capacity(settles.len());
    for mut s in settles {
        if let serde_json::Value::Array(g) = s.gates.take() {
            gates.extend(g);
        }
        let latency_ms = s.latency_ms;
        rows.push((next.settle(s, now_ms), latency_ms));
    }
    let stats = stats::record(rows.iter().map(|(r, l)| (r, *l)), now_ms);
    let mut sql: Vec<Query> = ledger::merge(rows.into_iter().map(|(r, _)| r)).iter().map(ledger::upsert).collect();
    let today = crate::core::util::calendar::day_string(now_ms / crate::core::util::calendar::DAY_MS);
    sql.extend(gates.iter().map(|g| ledger::gate_upsert(g, &today)));
    sql.extend(stats);
    Applied { state: Some(next), reply: serde_json::Value::Null, sql }
}

fn window(limit: u64, tat: u64, now_ns: u64) -> Window {
    let used = tat.saturating_sub(now_ns);
    let interval = interval_ns(limit);
    Window { limit, remaining: (MINUTE_NS.saturating_sub(used) / interval).min(limit), reset_ms: used.div_ceil(1_000_000) }
}

impl TenantState {
    fn tat(&self, key: &str) -> u64 {
        self.tat.get(key).copied().unwrap_or(0)
    }

    /// Drop what time has made irrelevant: expired leases, full rate windows, idle spend of
    /// subjects that only lived for a while (tokens).
    fn prune(&mut self, now_ms: u64) {
        let now_ns = now_ms.saturating_mul(1_000_000);
        self.leases.retain(|_, l| l.expires_ms > now_ms);
        self.tat.retain(|_, &mut t| t > now_ns);
        self.spend.retain(|id, s| !id.starts_with("token:") || s.touched_ms + DAY_MS > now_ms);
    }

    fn reserved(&self, subject: &str) -> u64 {
        self.leases.values().filter(|l| l.subjects.iter().any(|s| s == subject)).map(|l| l.reserve_nusd).sum()
    }

    fn rate_info(&self, subjects: &[Subject], now_ns: u64) -> RateInfo {
        let requests = subjects.iter().find_map(|s| s.rpm.map(|l| window(l.into(), self.tat(&format!("r:{}", s.id)), now_ns)));
        let tokens = subjects.iter().find_map(|s| s.tpm.map(|l| window(l, self.tat(&format!("t:{}", s.id)), now_ns)));
        RateInfo { requests, tokens }
    }

    fn admit(&mut self, a: &Admit, now_ms: u64) -> Verdict {
        self.prune(now_ms);
        let now_ns = now_ms.saturating_mul(1_000_000);
        let mut new_tat = Vec::new();
        for s in &a.subjects {
            let limited = |limit: &str, retry_after_ms: u64, state: &TenantState| Verdict::Limited {
                subject: s.id.clone(),
                limit: limit.into(),
                retry_after_ms,
                rate: state.rate_info(&a.subjects, now_ns),
            };
            if let Some(max) = s.concurrent {
                if self.leases.values().filter(|l| l.concurrent.contains(&s.id)).count() >= max as usize {
                    return limited("concurrent_requests", 1000, self);
                }
            }
            for (prefix, limit, cost, name) in
                [("r", s.rpm.map(u64::from), 1, "requests_per_minute"), ("t", s.tpm, a.tokens, "tokens_per_minute")]
            {
                let Some(limit) = limit else { continue };
                if cost > limit {
                    return Verdict::TooLarge { subject: s.id.clone(), limit: name.into(), requested: cost, allowed: limit };
                }
                let key = format!("{prefix}:{}", s.id);
                match gcra::admit(self.tat(&key), now_ns, interval_ns(limit), cost) {
                    Ok(t) => new_tat.push((key, t)),
                    Err(wait_ns) => return limited(name, wait_ns.div_ceil(1_000_000).max(1), self),
                }
            }
            if let Some(v) = self.over_budget(s, a.reserve_nusd, now_ms) {
                return v;
            }
        }
        self.tat.extend(new_tat);
        let lease = Lease {
            subjects: a.subjects.iter().map(|s| s.id.clone()).collect(),
            concurrent: a.subjects.iter().filter(|s| s.concurrent.is_some()).map(|s| s.id.clone()).collect(),
            tpm: a.subjects.iter().filter_map(|s| s.tpm.map(|l| (s.id.clone(), interval_ns(l)))).collect(),
            tokens: a.tokens,
            reserve_nusd: a.reserve_nusd,
            expires_ms: now_ms.saturating_add(a.lease_ms),
        };
        self.leases.insert(a.lease.clone(), lease);
        Verdict::Admitted { rate: self.rate_info(&a.subjects, now_ns) }
    }

    fn over_budget(&self, s: &Subject, reserve: u64, now_ms: u64) -> Option<Verdict> {
        if !s.has_budget() {
            return None;
        }
        let spend = self.spend.get(&s.id).copied().unwrap_or_default().at(now_ms);
        let reserved = self.reserved(&s.id);
        let periods =
            [("day", s.daily_nusd, spend.day_nusd), ("month", s.monthly_nusd, spend.month_nusd), ("total", s.total_nusd, spend.total_nusd)];
        periods.into_iter().find_map(|(period, budget, spent)| {
            let budget = budget?;
            (spent.saturating_add(reserved).saturating_add(reserve) > budget).then(|| Verdict::OverBudget {
                subject: s.id.clone(),
                period: period.into(),
                budget_nusd: budget,
                spent_nusd: spent,
                reserved_nusd: reserved,
                requested_nusd: reserve,
            })
        })
    }

    fn settle(&mut self, s: Settle, now_ms: u64) -> LedgerRow {
        self.prune(now_ms);
        if let Some(lease) = s.lease.as_ref().and_then(|id| self.leases.remove(id)) {
            // Correct tokens-per-minute to the real count: give back what was over-estimated,
            // charge what was under.
            for (id, interval) in &lease.tpm {
                let key = format!("t:{id}");
                let tat = self.tat(&key);
                let tat = if s.tokens >= lease.tokens {
                    tat.saturating_add((s.tokens - lease.tokens).saturating_mul(*interval))
                } else {
                    tat.saturating_sub((lease.tokens - s.tokens).saturating_mul(*interval))
                };
                self.tat.insert(key, tat);
            }
        }
        let cost = s.row.cost_nusd;
        for id in &s.subjects {
            let mut spend = self.spend.get(id).copied().unwrap_or_default().at(now_ms);
            spend.day_nusd = spend.day_nusd.saturating_add(cost);
            spend.month_nusd = spend.month_nusd.saturating_add(cost);
            spend.total_nusd = spend.total_nusd.saturating_add(cost);
            spend.touched_ms = now_ms;
            self.spend.insert(id.clone(), spend);
        }
        let mut row = s.row;
        row.day = calendar::day_string(now_ms / DAY_MS);
        row
    }
}

/// The `x-ratelimit-*` headers for `rate`.
pub fn rate_headers(rate: &RateInfo) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (what, w) in [("requests", rate.requests), ("tokens", rate.tokens)] {
        let Some(w) = w else { continue };
        out.push((format!("x-ratelimit-limit-{what}"), w.limit.to_string()));
        out.push((format!("x-ratelimit-remaining-{what}"), w.remaining.to_string()));
        out.push((format!("x-ratelimit-reset-{what}"), reset_string(w.reset_ms)));
    }
    out
}

#[cfg(test)]
#[path = "spend_tests.rs"]
mod tests;
