//! Target health as a pure state machine: a circuit breaker per target and a retry budget
//! per provider. Time is an input (`now_ms`); nothing here does I/O.
//!
//! Breaker: closed → open when, over a sliding window, the failure rate reaches
//! `failure_rate_pct` with at least `min_calls` calls, or after `consecutive_failures` in a
//! row; slow calls count as failures; the caller's own errors are never recorded. Open for
//! `cooldown_ms`, then half-open, admitting at most `probes` requests; a probe's failure
//! re-opens it, `probes` successes close it.
//!
//! Retry budget: retries to a provider may be at most `ratio_pct` of its recent requests plus
//! a small floor, so an outage cannot turn into a retry storm.
//!
//! Each isolate keeps a view (`Health`) and decides from it with no remote call. Failures,
//! and the successes that end a failure streak or answer a probe, are also sent after the
//! response to the target's Durable Object, which applies them to the stored breaker
//! ([`apply_outcome`]: consecutive failures and probes only, since it does not see the
//! steady stream of successes, which never leave the isolate) and answers with the shared
//! state. An isolate adopts a shared state that differs from its own, so an opening (or a
//! closing) anywhere reaches every isolate that reports, and it survives eviction. When
//! nothing fails, no Durable Object is called at all.

use crate::core::config::{BreakerConfig, Quota};
use crate::core::state::gcra;
use crate::core::util::vecmap::VecMap;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Where a breaker is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    /// Requests flow; recent calls are counted against the window.
    Closed,
    /// Requests are refused until `since_ms` plus `cooldown_ms`.
    Open {
        /// When it opened, Unix milliseconds.
        since_ms: u64,
    },
    /// Past the cooldown: up to `probes` requests are admitted to test the target.
    HalfOpen {
        /// Probes admitted so far (at most `probes`).
        admitted: u32,
        /// Probes that succeeded so far; `probes` successes close the breaker.
        succeeded: u32,
    },
}

crate::de_variants!(State {
    Closed = "Closed",
    Open = "Open" { since_ms: u64 },
    HalfOpen = "HalfOpen" { admitted: u32, succeeded: u32 },
});

/// One target's circuit breaker: its state and, while closed, its window of recent calls.
/// Stored as JSON by the target's Durable Object (failures are recounted on load).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breaker {
    /// Closed, open or half-open.
    pub state: State,
    /// (time, failed) of recent calls while closed.
    recent: VecDeque<(u64, bool)>,
    consecutive: u32,
    /// How many of `recent` failed, kept as calls come and go (not stored: recounted).
    #[serde(skip)]
    failures: u32,
}

/// A breaker as stored; its failures are recounted when it is read.
struct StoredBreaker {
    state: State,
    recent: VecDeque<(u64, bool)>,
    consecutive: u32,
}

crate::de_struct!(StoredBreaker, required, skip { state: required(State::Closed), recent, consecutive });

impl<'de> serde::Deserialize<'de> for Breaker {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StoredBreaker::deserialize(d).map(Breaker::from)
    }
}

impl From<StoredBreaker> for Breaker {
    fn from(s: StoredBreaker) -> Breaker {
        let failures = s.recent.iter().filter(|(_, f)| *f).count() as u32;
        Breaker { state: s.state, recent: s.recent, consecutive: s.consecutive, failures }
    }
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker { state: State::Closed, recent: VecDeque::new(), consecutive: 0, failures: 0 }
    }
}

impl Breaker {
    /// May a request go to this target now? (Half-open admissions are counted.)
    pub fn admit(&mut self, cfg: &BreakerConfig, now_ms: u64) -> bool {
        match self.state {
            State::Closed => true,
            State::Open { since_ms } if now_ms >= since_ms + cfg.cooldown_ms => {
                self.state = State::HalfOpen { admitted: 1, succeeded: 0 };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { admitted, succeeded } if admitted < cfg.probes => {
                self.state = State::HalfOpen { admitted: admitted + 1, succeeded };
                true
            }
            State::HalfOpen { .. } => false,
        }
    }

    /// Record how a call went; `elapsed_ms` over the slow threshold counts as a failure.
    pub fn record(&mut self, cfg: &BreakerConfig, now_ms: u64, ok: bool, elapsed_ms: u64) {
        let failed = !ok || elapsed_ms >= cfg.slow_call_ms;
        match self.state {
            State::HalfOpen { .. } if failed => self.open(now_ms),
            State::HalfOpen { admitted, succeeded } => {
                if succeeded + 1 >= cfg.probes {
                    *self = Breaker::default();
                } else {
                    self.state = State::HalfOpen { admitted, succeeded: succeeded + 1 };
                }
            }
            State::Open { .. } => {}
            State::Closed => {
                self.recent.push_back((now_ms, failed));
                self.failures += u32::from(failed);
                while self.recent.front().is_some_and(|(t, _)| *t + cfg.window_ms < now_ms) || self.recent.len() > 1024 {
                    if let Some((_, true)) = self.recent.pop_front() {
                        self.failures -= 1;
                    }
                }
                self.consecutive = if failed { self.consecutive + 1 } else { 0 };
                let calls = self.recent.len() as u32;
                let rate_trips = calls >= cfg.min_calls && self.failures * 100 >= cfg.failure_rate_pct * calls;
                if rate_trips || self.consecutive >= cfg.consecutive_failures {
                    self.open(now_ms);
                }
            }
        }
    }

    fn open(&mut self, now_ms: u64) {
        self.state = State::Open { since_ms: now_ms };
        self.recent.clear();
        self.failures = 0;
        self.consecutive = 0;
    }

    /// When it opened, if it is open.
    pub fn opened_at(&self) -> Option<u64> {
        match self.state {
            State::Open { since_ms } => Some(since_ms),
            _ => None,
        }
    }
}

/// A target's breaker as its Durable Object stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shared {
    /// The target this breaker guards, as `<provider id>/<upstream model>`.
    pub target: String,
    /// The shared breaker.
    pub breaker: Breaker,
}

crate::de_struct!(Shared, required, skip { target, breaker });

/// Apply one outcome to a stored breaker (`None`: none yet); the new state, as stored.
pub fn apply_outcome(stored: Option<&str>, target: &str, cfg: &BreakerConfig, now_ms: u64, ok: bool, elapsed_ms: u64) -> String {
    // The object sees failures but not every success: rates are the isolates' business.
    let cfg = &BreakerConfig { min_calls: u32::MAX, ..*cfg };
    let mut shared = stored
        .and_then(|s| serde_json::from_slice::<Shared>(s.as_bytes()).ok())
        .filter(|s| s.target == target)
        .unwrap_or_else(|| Shared { target: target.to_string(), breaker: Breaker::default() });
    // An outcome reported for an open breaker past its cooldown is a probe's: let it in first.
    if matches!(shared.breaker.state, State::Open { .. }) {
        shared.breaker.admit(cfg, now_ms);
    }
    shared.breaker.record(cfg, now_ms, ok, elapsed_ms);
    serde_json::to_string(&shared).unwrap_or_default()
}

/// Whether `GET /v1/health` shows a target's stored (shared) breaker rather than this
/// isolate's: when there is one and it is open or half-open, unless this isolate's opened
/// later than the stored one did (a failure-rate opening, which the object cannot see). A
/// closed or missing stored breaker leaves the isolate's, which holds the window of calls.
pub fn shared_wins(local: &Breaker, shared: Option<&Breaker>) -> bool {
    match (local.state, shared.map(|s| s.state)) {
        (_, None | Some(State::Closed)) => false,
        (State::Open { since_ms: mine }, Some(State::Open { since_ms })) => since_ms >= mine,
        _ => true,
    }
}

/// The stored breakers of `targets`, in order, from the driver's answer to
/// [`Action::Health`](crate::core::pipeline::protocol::Action::Health): a JSON array with one
/// entry per target, the object's stored state (a JSON string) or `null`. `None` (no
/// answer), a malformed entry, or a state stored under another target reads as no breaker.
pub fn stored_breakers(answer: Option<&str>, targets: &[String]) -> Vec<Option<Breaker>> {
    let list = answer.and_then(|a| serde_json::from_slice::<serde_json::Value>(a.as_bytes()).ok()).unwrap_or_default();
    let entry = |i: usize| list.get(i).and_then(serde_json::Value::as_str);
    let read = |i: usize, t: &String| serde_json::from_slice::<Shared>(entry(i)?.as_bytes()).ok().filter(|s| s.target == *t);
    targets.iter().enumerate().map(|(i, t)| read(i, t).map(|s| s.breaker)).collect()
}

/// A breaker state as `GET /v1/health` names it.
fn state_name(state: State) -> &'static str {
    match state {
        State::Closed => "closed",
        State::Open { .. } => "open",
        State::HalfOpen { .. } => "half_open",
    }
}

/// An attempt's outcome, to be reported to its target's Durable Object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The target the attempt went to, as `<provider id>/<upstream model>`.
    pub target: String,
    /// Whether the attempt succeeded (a caller's own error is never reported as a failure).
    pub ok: bool,
    /// When the attempt ended, Unix milliseconds.
    pub now_ms: u64,
    /// How long the attempt took, in milliseconds (at least `slow_call_ms` counts as a failure).
    pub elapsed_ms: u64,
}

/// Retries may be `RATIO_PCT` of a provider's requests in the current window, plus `FLOOR`.
const BUDGET_WINDOW_MS: u64 = 10_000;
const RATIO_PCT: u64 = 20;
const FLOOR: u64 = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Budget {
    window_start: u64,
    requests: u64,
    retries: u64,
}

impl Budget {
    fn roll(&mut self, now_ms: u64) {
        if now_ms >= self.window_start + BUDGET_WINDOW_MS {
            *self = Budget { window_start: now_ms, ..Default::default() };
        }
    }
}

/// What `GET /v1/health` shows of a target besides its breaker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Stats {
    last_error: Option<String>,
    /// Latencies of recent successful calls, newest last.
    latencies: VecDeque<u64>,
}

/// Every target's breaker and every provider's retry budget, for one isolate.
#[derive(Debug, Default)]
pub struct HealthView {
    /// The breaker settings every target in this view uses (the config's `breaker`).
    pub config: BreakerConfig,
    breakers: VecMap<String, Breaker>,
    budgets: VecMap<String, Budget>,
    stats: VecMap<String, Stats>,
    /// Targets that answered 429 with a `retry-after`, or said their quota is used up: not
    /// preferred before this time.
    parked_until: VecMap<String, u64>,
    /// Each target's configured quota as used by this isolate: GCRA arrival times (ns) for
    /// requests and tokens.
    quota_tat: VecMap<String, (u64, u64)>,
}

/// An isolate's health view, shared by the requests it is serving (single-threaded: wasm).
pub type Health = Rc<RefCell<HealthView>>;

/// `map[key]`, inserted as the default first when missing: the key is copied only then.
fn slot<'a, V: Default>(map: &'a mut VecMap<String, V>, key: &str) -> &'a mut V {
    if map.contains_key(key) {
        map.get_mut(key).expect("present")
    } else {
        map.get_or_insert_with(key.to_string(), V::default)
    }
}

impl HealthView {
    /// A rate-limited target waits out its `retry-after` before other requests try it.
    pub fn park(&mut self, target: &str, until_ms: u64) {
        self.parked_until.insert(target.to_string(), until_ms);
    }

    /// Whether `tokens` more fit the target's configured quota now (as this isolate has
    /// used it); if so, the new arrival times to commit with `take_quota`.
    pub fn quota_room(&self, target: &str, quota: &Quota, tokens: u64, now_ms: u64) -> Option<(u64, u64)> {
        let now_ns = now_ms.saturating_mul(1_000_000);
        let (req, tok) = self.quota_tat.get(target).copied().unwrap_or((0, 0));
        let fit = |tat: u64, limit: Option<u64>, cost: u64| match limit {
            None => Some(tat),
            Some(l) if cost > l => None,
            Some(l) => gcra::admit(tat, now_ns, gcra::interval_ns(l), cost).ok(),
        };
        Some((fit(req, quota.requests_per_minute.map(u64::from), 1)?, fit(tok, quota.tokens_per_minute, tokens)?))
    }

    /// Commit the arrival times (ns) [`quota_room`](Self::quota_room) gave: the request goes to
    /// this target.
    pub fn take_quota(&mut self, target: &str, tats: (u64, u64)) {
        self.quota_tat.insert(target.to_string(), tats);
    }

    /// Whether a request may go to `target` now: not parked, and its breaker admits it (counting
    /// a half-open probe).
    pub fn admit(&mut self, target: &str, now_ms: u64) -> bool {
        if self.parked_until.get(target).is_some_and(|&until| now_ms < until) {
            return false;
        }
        let cfg = self.config;
        slot(&mut self.breakers, target).admit(&cfg, now_ms)
    }

    /// Take the shared state a target's Durable Object answered with, when it differs from
    /// this isolate's (a closed one here keeps its own window of recent calls).
    pub fn adopt(&mut self, stored: &str) {
        let Ok(shared) = serde_json::from_slice::<Shared>(stored.as_bytes()) else { return };
        let local = self.breakers.get_or_insert_with(shared.target, Breaker::default);
        if !(local.state == State::Closed && shared.breaker.state == State::Closed) {
            *local = shared.breaker;
        }
    }

    /// Whether an outcome for this target is news for its Durable Object: any failure, or a
    /// success while the breaker is not plainly closed (a streak ends, a probe answers).
    pub fn worth_reporting(&self, target: &str, ok: bool) -> bool {
        !ok || self.breakers.get(target).is_some_and(|b| b.state != State::Closed || b.consecutive > 0)
    }

    /// When `target`'s breaker opened, Unix milliseconds, if it is open.
    pub fn opened_at(&self, target: &str) -> Option<u64> {
        self.breakers.get(target).and_then(Breaker::opened_at)
    }

    /// Record an attempt's outcome: `Ok(())` or the failure's code.
    pub fn record(&mut self, target: &str, now_ms: u64, outcome: Result<(), &str>, elapsed_ms: u64) {
        let cfg = self.config;
        slot(&mut self.breakers, target).record(&cfg, now_ms, outcome.is_ok(), elapsed_ms);
        let stats = slot(&mut self.stats, target);
        match outcome {
            Ok(()) => {
                stats.latencies.push_back(elapsed_ms);
                if stats.latencies.len() > 64 {
                    stats.latencies.pop_front();
                }
            }
            Err(code) => stats.last_error = Some(code.to_string()),
        }
    }

    /// A report of one target for `GET /v1/health`, given its stored (shared) breaker if its
    /// Durable Object answered with one: the state shown is the one [`shared_wins`] picks; the
    /// rest (failure rate, recent calls, last error, latency) is this isolate's.
    pub fn report(&self, target: &str, shared: Option<&Breaker>, now_ms: u64) -> serde_json::Value {
        let b = self.breakers.get(target).cloned().unwrap_or_default();
        let stats = self.stats.get(target).cloned().unwrap_or_default();
        let from_shared = shared_wins(&b, shared);
        let shown = match shared {
            Some(s) if from_shared => s.state,
            _ => b.state,
        };
        let half_open_in_ms = match shown {
            State::Open { since_ms } => Some((since_ms + self.config.cooldown_ms).saturating_sub(now_ms)),
            _ => None,
        };
        let (state, shared_state) = (state_name(shown), shared.map(|s| state_name(s.state)));
        let recent: Vec<bool> = b.recent.iter().filter(|(t, _)| t + self.config.window_ms >= now_ms).map(|(_, f)| *f).collect();
        let failure_rate = if recent.is_empty() { 0.0 } else { recent.iter().filter(|f| **f).count() as f64 / recent.len() as f64 };
        // At most 64, sorted by inserting in place (a sort would add a sort's code).
        let mut lat: Vec<u64> = Vec::with_capacity(stats.latencies.len());
        for &l in &stats.latencies {
            lat.insert(lat.partition_point(|&x| x <= l), l);
        }
        crate::json!({
            "target": target,
            "state": state,
            "failure_rate": failure_rate,
            "recent_calls": recent.len(),
            "last_error": stats.last_error,
            "latency_p50_ms": lat.get(lat.len() / 2),
            "half_open_in_ms": half_open_in_ms,
            "state_from": if from_shared { "shared" } else { "isolate" },
            "shared_state": shared_state,
        })
    }

    /// Count a first attempt to a provider.
    pub fn count_request(&mut self, provider: &str, now_ms: u64) {
        let b = slot(&mut self.budgets, provider);
        b.roll(now_ms);
        b.requests += 1;
    }

    /// Take a retry from the provider's budget, if one is left.
    pub fn take_retry(&mut self, provider: &str, now_ms: u64) -> bool {
        let b = slot(&mut self.budgets, provider);
        b.roll(now_ms);
        if b.retries < b.requests * RATIO_PCT / 100 + FLOOR {
            b.retries += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CFG: BreakerConfig = BreakerConfig {
        window_ms: 1000,
        min_calls: 4,
        failure_rate_pct: 50,
        consecutive_failures: 3,
        cooldown_ms: 500,
        probes: 2,
        slow_call_ms: 200,
    };

    #[test]
    fn opens_on_consecutive_failures_and_recovers_through_probes() {
        let mut b = Breaker::default();
        for t in 0..3 {
            assert!(b.admit(&CFG, t));
            b.record(&CFG, t, false, 10);
        }
        assert_eq!(b.state, State::Open { since_ms: 2 });
        assert!(!b.admit(&CFG, 100), "open: no calls during the cooldown");
        assert!(b.admit(&CFG, 502) && b.admit(&CFG, 503) && !b.admit(&CFG, 504), "half-open admits exactly its probes");
        b.record(&CFG, 510, true, 10);
        b.record(&CFG, 511, true, 10);
        assert_eq!(b.state, State::Closed);
    }

    #[test]
    fn failure_rate_and_slow_calls_trip_it_and_a_failed_probe_reopens() {
        let mut b = Breaker::default();
        for (t, ok) in [(0, true), (1, false), (2, true), (3, true)] {
            b.record(&CFG, t, ok, if t == 3 { 500 } else { 10 });
        }
        assert!(matches!(b.state, State::Open { .. }), "2 of 4 failed (one of them slow): {:?}", b.state);
        assert!(b.admit(&CFG, 600));
        b.record(&CFG, 601, false, 10);
        assert_eq!(b.state, State::Open { since_ms: 601 });
    }

    #[test]
    fn reports_state_rate_error_and_latency() {
        let mut h = HealthView::default();
        h.record("p/m", 0, Ok(()), 120);
        h.record("p/m", 10, Ok(()), 80);
        h.record("p/m", 20, Err("upstream_error"), 5);
        let r = h.report("p/m", None, 30);
        assert_eq!(
            (r["state"].as_str(), r["last_error"].as_str(), r["latency_p50_ms"].as_u64()),
            (Some("closed"), Some("upstream_error"), Some(120))
        );
        assert!((r["failure_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        for t in 0..5 {
            h.record("p/x", t, Err("upstream_timeout"), 5);
        }
        assert_eq!(h.report("p/x", None, 1000)["half_open_in_ms"], 29_004);
    }

    #[test]
    fn the_shared_breaker_ignores_rates_it_cannot_see() {
        let mut stored = None;
        for t in 0..4 {
            stored = Some(apply_outcome(stored.as_deref(), "p/m", &CFG, t * 10, t % 2 == 0, 5));
        }
        assert!(stored.unwrap().contains("Closed"), "2 of 4 failed: a rate the object must not act on");
    }

    #[test]
    fn shared_state_round_trips_and_is_adopted() {
        let mut stored = None;
        for t in 0..5 {
            stored = Some(apply_outcome(stored.as_deref(), "p/m", &BreakerConfig::default(), t, false, 5));
        }
        let stored = stored.unwrap();
        assert!(stored.contains("\"target\":\"p/m\""));
        let mut view = HealthView::default();
        assert!(!view.worth_reporting("p/m", true), "successes of a healthy target stay local");
        assert!(view.worth_reporting("p/m", false));
        view.adopt(&stored);
        assert_eq!(view.opened_at("p/m"), Some(4), "five consecutive failures opened it");
        assert!(!view.admit("p/m", 10));
        assert!(view.worth_reporting("p/m", true), "a success while open or half-open is news");
        // A probe's failure past the cooldown re-opens it from then; its success counts to closing.
        let reopened = apply_outcome(Some(&stored), "p/m", &BreakerConfig::default(), 40_000, false, 5);
        assert!(reopened.contains("\"since_ms\":40000"), "{reopened}");
        // Another target's state is never applied under this name.
        let fresh = apply_outcome(Some(&stored), "q/n", &BreakerConfig::default(), 10, true, 5);
        assert!(fresh.contains("Closed"));
    }

    #[test]
    fn the_shared_breaker_wins_when_open_unless_the_isolate_opened_later() {
        let at = |state| Breaker { state, ..Breaker::default() };
        let (closed, half) = (at(State::Closed), at(State::HalfOpen { admitted: 1, succeeded: 0 }));
        let (early, late) = (at(State::Open { since_ms: 10 }), at(State::Open { since_ms: 20 }));
        assert!(!shared_wins(&late, None), "no stored breaker");
        assert!(!shared_wins(&late, Some(&closed)), "a closed stored breaker leaves the isolate's rate trips");
        assert!(shared_wins(&closed, Some(&early)) && shared_wins(&closed, Some(&half)));
        assert!(shared_wins(&early, Some(&late)) && shared_wins(&late, Some(&late)), "the newer opening, or the same one");
        assert!(!shared_wins(&late, Some(&early)), "this isolate opened after the object did");
        assert!(shared_wins(&half, Some(&late)));
        let stored = apply_outcome(None, "p/m", &CFG, 7, false, 5);
        let answer = serde_json::json!([stored, null, 3, stored]).to_string();
        let names = ["p/m", "p/m", "p/m", "q/n", "p/m"].map(String::from);
        let read = stored_breakers(Some(&answer), &names);
        assert_eq!(read.iter().map(Option::is_some).collect::<Vec<_>>(), [true, false, false, false, false], "{read:?}");
        assert_eq!(stored_breakers(None, &names[..1]), [None]);
    }

    #[test]
    fn the_retry_budget_is_a_fraction_of_requests_plus_a_floor() {
        let mut h = HealthView::default();
        for _ in 0..50 {
            h.count_request("p", 0);
        }
        let granted = (0..100).filter(|_| h.take_retry("p", 1)).count();
        assert_eq!(granted, 13, "20% of 50 plus 3");
        assert!(h.take_retry("p", 20_000), "a new window");
    }

    proptest! {
        #[test]
        fn half_open_never_admits_more_than_its_probes(ops in prop::collection::vec((0u8..3, 0u64..50), 1..200)) {
            let mut b = Breaker::default();
            let mut now = 0;
            let mut admitted_since_half_open = 0;
            for (op, dt) in ops {
                now += dt;
                let was_half_open = matches!(b.state, State::HalfOpen { .. });
                match op {
                    0 => {
                        let before = b.state;
                        if b.admit(&CFG, now) && (was_half_open || matches!(before, State::Open { .. })) {
                            admitted_since_half_open += 1;
                        }
                    }
                    1 => b.record(&CFG, now, true, 10),
                    _ => b.record(&CFG, now, false, 10),
                }
                if !matches!(b.state, State::HalfOpen { .. }) {
                    admitted_since_half_open = 0;
                }
                prop_assert!(admitted_since_half_open <= CFG.probes);
            }
        }

        #[test]
        fn failure_count_matches_the_window(ops in prop::collection::vec((0u8..3, 0u64..400), 1..300)) {
            let cfg = BreakerConfig { min_calls: 1000, consecutive_failures: 1000, ..CFG };
            let mut b = Breaker::default();
            let mut now = 0;
            for (op, dt) in ops {
                now += dt;
                match op {
                    0 => drop(b.admit(&cfg, now)),
                    1 => b.record(&cfg, now, true, 10),
                    _ => b.record(&cfg, now, false, 10),
                }
                prop_assert_eq!(b.failures as usize, b.recent.iter().filter(|(_, f)| *f).count());
                let stored: Breaker = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
                prop_assert_eq!(&stored, &b);
            }
        }
    }
}
