//! The cascade's gates that the core cannot check alone, run once the gates it checks itself
//! passed (README, "Cascade"): the `regex` and `not_regex` gates, which the driver runs with
//! JavaScript's `RegExp` ([`Action::Regex`]; the core has no regex engine), then the `judge`,
//! a model call that scores the answer against a rubric. The rung's reply is held meanwhile
//! and handed to [`Session::decide`] with their verdicts.
//!
//! Invariants: each runs at most once per answer; the judge's cost is billed to the request;
//! a judge that gives no score (no answer, a failure status, a text without a score) passes or
//! fails the answer as its `on_error` says, and the route reason says it failed open.

use super::Session;
use crate::core::config::OnError;
use crate::core::pipeline::gates::{self, Verdict};
use crate::core::pipeline::judge;
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::subcall::{self, Begun};
use crate::core::pipeline::target::Payload;
use crate::core::state::cost;
use crate::core::types::Role;

/// The longest wait for the judge.
const JUDGE_TIMEOUT_MS: u64 = 30_000;

impl Session {
    /// Carry on checking the held answer: the regex gates (unless `regex_done`), then the
    /// judge, then the decision.
    pub(super) fn next_check(&mut self, regex_done: bool, now_ms: u64) -> Action {
        if !regex_done {
            if let Some(action) = self.regex_step() {
                return action;
            }
        }
        match self.judge_step(now_ms) {
            Some(action) => action,
            None => self.decide_held(Vec::new(), now_ms),
        }
    }

    /// The driver ran the regex gates (`None`: it could not).
    pub fn on_regex(&mut self, answer: Option<&str>, now_ms: u64) -> Action {
        let verdicts = match self.cascade.as_deref() {
            Some(c) => gates::regex_verdicts(&c.plan.gates, answer),
            None => Vec::new(),
        };
        if verdicts.is_empty() {
            return self.next_check(true, now_ms);
        }
        self.decide_held(verdicts, now_ms)
    }

    /// Whether the session waits on the judge.
    pub(super) fn judging(&self) -> bool {
        self.cascade.as_ref().is_some_and(|c| c.judging)
    }

    /// The judge answered (status 0: no answer).
    pub(super) fn on_judge(&mut self, status: u16, body: &[u8], now_ms: u64) -> Action {
        let redactor = self.redactor.clone();
        let rung = self.index + 1;
        let Some(c) = self.cascade.as_deref_mut() else { return self.decide_held(Vec::new(), now_ms) };
        c.judging = false;
        let Some((settings, target)) = c.plan.judge.as_deref() else { return self.decide_held(Vec::new(), now_ms) };
        let answer = subcall::chat_answer(target, status, body, &redactor);
        if let Some(usage) = answer.as_ref().ok().and_then(|a| a.usage.as_ref()) {
            self.lookup_nusd += cost::nano_usd(usage, &target.prices);
        }
        let text = answer.ok().and_then(|a| a.choices.into_iter().next()).and_then(|ch| ch.content);
        let verdicts = match text.as_deref().and_then(|t| judge::grade(t, settings.threshold)) {
            Some(None) => Vec::new(),
            Some(Some(reason)) => vec![Verdict { gate: "judge", reason }],
            None if settings.on_error == OnError::Pass => {
                c.notes.push(format!("rung {rung} judge gave no score (passed)"));
                Vec::new()
            }
            None => vec![Verdict { gate: "judge", reason: "the judge gave no score".into() }],
        };
        self.decide_held(verdicts, now_ms)
    }

    /// The regex step for the held answer, when the gates have patterns.
    fn regex_step(&self) -> Option<Action> {
        let c = self.cascade.as_deref()?;
        let patterns = gates::patterns(&c.plan.gates);
        (!patterns.is_empty()).then(|| Action::Regex { patterns, text: self.answer_text() })
    }

    /// The judge's call for the held answer, when the gates have a judge.
    fn judge_step(&mut self, now_ms: u64) -> Option<Action> {
        let c = self.cascade.as_deref()?;
        let (settings, target) = c.plan.judge.as_deref()?;
        let Payload::Chat(req) = &self.payload else { return None };
        let asked = if c.reprompted { &req.messages[..c.base_len.min(req.messages.len())] } else { &req.messages[..] };
        let question = asked.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.text()).unwrap_or_default();
        let sub = Payload::Chat(Box::new(judge::request(&target.model, settings, &question, &self.answer_text())));
        let timeout = self.deadline_at_ms.saturating_sub(now_ms).clamp(1, JUDGE_TIMEOUT_MS) as u32;
        let begun = subcall::begin(target, &sub, timeout, now_ms);
        if let Some(c) = self.cascade.as_deref_mut() {
            c.judging = true;
        }
        Some(match begun {
            Ok(Begun::Call(action)) => action,
            Ok(Begun::Answered { status, body }) => self.on_judge(status, &body, now_ms),
            Err(_) => self.on_judge(0, &[], now_ms),
        })
    }

    /// Decide on the held answer with these verdicts.
    fn decide_held(&mut self, verdicts: Vec<Verdict>, now_ms: u64) -> Action {
        match self.cascade.as_deref_mut().and_then(|c| c.held.take()) {
            Some(action) => self.decide(action, verdicts, now_ms),
            None => self.refuse(),
        }
    }

    /// The current answer's text (its first choice's).
    fn answer_text(&self) -> String {
        self.exchange.answer.as_ref().and_then(|a| a.choices.first()).and_then(|c| c.content.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
