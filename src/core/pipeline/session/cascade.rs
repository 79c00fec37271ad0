//! The session's cascade (a route with `strategy: "cascade"`; README, "Cascade"): its targets
//! are rungs, cheapest first, each tried through the ordinary attempt machinery (retries,
//! breakers, timeouts). A rung's whole answer is checked by the route's gates
//! ([`crate::core::pipeline::gates`]); an answer that passes is the reply. One that fails is
//! re-prompted once on the same rung (the answer, then a user message naming what failed),
//! then the next rung gets the request as planned; when the last rung's re-prompt fails too,
//! or the deadline has passed, the reply is a 422 `gates_failed` listing the verdicts.
//!
//! Invariants: the upstream is never asked for a stream (gates need the whole answer); a
//! caller that asked for one gets the accepted answer replayed as a complete stream. Every
//! rung's usage is billed to the request: refused answers are added to the accepted one's
//! (`x-switchyard-cost-usd`, the ledger, analytics).

use super::plans::{add_usage, ROUTE_REASON_HEADER, RUNG_COSTS_HEADER};
use super::Session;
use crate::core::error::{Code, GatewayError};
use crate::core::pipeline::gates::{self, Verdict};
use crate::core::pipeline::protocol::{cors_headers, error_reply, Action};
use crate::core::pipeline::target::Payload;
use crate::core::state::cache;
use crate::core::state::cost::usd_string;
use crate::core::types::{Content, Message, Role, Usage};

impl Session {
    /// A rung answered (its attempt succeeded): accept the answer, re-prompt, escalate or
    /// refuse.
    pub(super) fn gate(&mut self, action: Action, now_ms: u64) -> Action {
        let Some(c) = self.cascade.as_deref_mut() else { return self.keep_turn(action) };
        let checked = c.plan.checked.get(self.index).copied().unwrap_or(true);
        let verdicts = match &self.exchange.answer {
            _ if !checked => Vec::new(),
            Some(answer) => gates::check(&c.plan.gates, answer),
            None => vec![Verdict { gate: "answer", reason: "the answer could not be read whole".into() }],
        };
        if verdicts.is_empty() && checked {
            // The regex gates and the judge come after the gates checked here.
            c.held = Some(action);
            return self.next_check(false, now_ms);
        }
        self.decide(action, verdicts, now_ms)
    }

    /// The rung's answer was checked (`verdicts` empty: it passed): accept it, re-prompt,
    /// escalate or refuse.
    pub(super) fn decide(&mut self, action: Action, verdicts: Vec<Verdict>, now_ms: u64) -> Action {
        if verdicts.is_empty() {
            let action = self.accept(action);
            return self.keep_turn(action);
        }
        let own = self.attempt_usage_and_cost();
        let (rung, last) = (self.index + 1, self.index + 1 >= self.targets.len());
        let late = now_ms >= self.deadline_at_ms;
        self.failures.push(format!("{}: {}", self.keys[self.index], gates::reasons(&verdicts)));
        let Some(c) = self.cascade.as_deref_mut() else { return self.keep_turn(action) };
        c.refusals += 1;
        c.notes.push(format!("rung {rung} {}failed {}", if c.reprompted { "re-prompt " } else { "" }, gates::names(&verdicts)));
        let note = format!("Your answer failed validation: {}. Answer again.", gates::reasons(&verdicts));
        c.refused.push((self.index, verdicts, own.map_or(0, |(_, n)| n)));
        if late || last && c.reprompted {
            return self.refuse();
        }
        let spent = c.spent_nusd + own.map_or(0, |(_, n)| n);
        if c.plan.max_nusd > 0 && spent >= c.plan.max_nusd {
            c.stop = Some(format!("stopped: max_cost_usd reached ({} USD spent)", usd_string(spent)));
            return self.refuse();
        }
        if let Some((usage, nusd)) = own {
            add_usage(&mut c.spent, &usage);
            c.spent_nusd += nusd;
        }
        self.retries_here = 0;
        if c.reprompted {
            self.index += 1;
            return self.first_admitted(now_ms);
        }
        c.reprompted = true;
        let text = self.exchange.answer.as_ref().and_then(|a| a.choices.first()).and_then(|ch| ch.content.clone());
        if let Payload::Chat(req) = &mut self.payload {
            c.base_len = req.messages.len();
            c.raw = req.raw.take();
            if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
                req.messages.push(Message::new(Role::Assistant, Content::Text(text)));
            }
            req.messages.push(Message::new(Role::User, Content::Text(note)));
        }
        self.attempt(0, now_ms)
    }

    /// Before a rung's first attempt: the request as planned, without the previous rung's
    /// re-prompt.
    pub(super) fn rung_reset(&mut self) {
        let (Some(c), Payload::Chat(req)) = (self.cascade.as_deref_mut(), &mut self.payload) else { return };
        if std::mem::take(&mut c.reprompted) {
            req.messages.truncate(c.base_len);
            req.raw = c.raw.take();
        }
    }

    /// A target failed for good and the next one is tried: noted for the route reason.
    pub(super) fn rung_failed(&mut self, code: Code) {
        let rung = self.index + 1;
        if let Some(c) = self.cascade.as_deref_mut() {
            c.notes.push(format!("rung {rung} failed {code}"));
        }
    }

    /// Whether a cascade refused an answer (so a last rung's failure is a 422, not a 503).
    pub(super) fn refused_any(&self) -> bool {
        self.cascade.as_ref().is_some_and(|c| c.refusals > 0)
    }

    /// The accepted answer, labelled with the route reason; replayed as a stream when the
    /// caller asked for one.
    fn accept(&mut self, mut action: Action) -> Action {
        let reason = self.route_reason(true);
        let costs = self.rung_costs(self.attempt_usage_and_cost().map(|(_, n)| n));
        let Some(c) = self.cascade.as_deref() else { return action };
        let Action::Respond(r) = &mut action else { return action };
        r.headers.push((ROUTE_REASON_HEADER.into(), reason));
        r.headers.push((RUNG_COSTS_HEADER.into(), costs));
        if c.plan.reply {
            r.body = self.capability_body();
            r.body_from_upstream = false;
        } else if c.stream {
            let Some(answer) = &self.exchange.answer else { return action };
            let events = cache::stream_events(answer);
            let mut encoder =
                crate::core::translate::dialect::StreamEncoder::new(self.caller.api, self.caller.include_usage, self.caller.echo.clone());
            r.body = events.iter().flat_map(|ev| encoder.push(ev)).collect();
            r.body_from_upstream = false;
            for (_, v) in r.headers.iter_mut().filter(|(k, _)| k == "content-type") {
                *v = "text/event-stream".into();
            }
            r.headers.push(("cache-control".into(), "no-cache".into()));
        }
        action
    }

    /// `cascade: rung 2 of 3, rung 1 failed final_number, rung 1 re-prompt failed final_number`
    /// for an accepted answer; `cascade: no rung of 3 passed, ...` for a refusal.
    fn route_reason(&self, accepted: bool) -> String {
        let Some(c) = self.cascade.as_deref() else { return String::new() };
        let n = self.targets.len();
        let mut s = match accepted {
            true => {
                let how = match (c.plan.checked.get(self.index), c.reprompted) {
                    (Some(false), _) => " (unchecked)",
                    (_, true) => " after a re-prompt",
                    _ => "",
                };
                format!("cascade: rung {} of {n}{how}", self.index + 1)
            }
            false => format!("cascade: no rung of {n} passed"),
        };
        for note in &c.notes {
            s.push_str(", ");
            s.push_str(note);
        }
        s
    }

    /// Every answer's rung and cost in USD, in the order they came: `rung 1 0.000012000, rung 2
    /// 0.000340000` (the refused ones, then `accepted`'s, in nano-USD, when there is one).
    fn rung_costs(&self, accepted: Option<u64>) -> String {
        let Some(c) = self.cascade.as_deref() else { return String::new() };
        let refused = c.refused.iter().map(|(i, _, n)| (*i, *n));
        let all = refused.chain(accepted.map(|n| (self.index, n)));
        all.map(|(i, n)| format!("rung {} {}", i + 1, usd_string(n))).collect::<Vec<_>>().join(", ")
    }

    /// No answer passed: a 422 listing every verdict, billed for every rung's answer.
    pub(super) fn refuse(&mut self) -> Action {
        let stop = self.cascade.as_ref().and_then(|c| c.stop.as_deref()).map_or(String::new(), |s| format!("{s}; "));
        let list = format!("no answer passed the route's gates ({} attempts): {stop}{}", self.attempts, self.failures.join("; "));
        let err = GatewayError::new(Code::GatesFailed, self.redactor.redact(&list).into_owned()).with_status(422);
        let mut reply = error_reply(&self.caller.request_id, &err, self.caller.api);
        reply.headers.extend(self.caller.cors_origin.as_deref().map(cors_headers).unwrap_or_default());
        reply.headers.push((ROUTE_REASON_HEADER.into(), self.route_reason(false)));
        reply.headers.push((RUNG_COSTS_HEADER.into(), self.rung_costs(None)));
        if self.exchange.failure.is_some() {
            let nusd = self.billed().map_or(0, |(_, n)| n);
            reply.headers.push(("x-switchyard-cost-usd".into(), usd_string(nusd + self.lookup_nusd)));
        }
        // A refused answer is neither cached nor stored in a conversation.
        self.exchange.answer = None;
        let action = self.label(Action::Respond(reply));
        self.error_code = Some(Code::GatesFailed);
        action
    }

    /// The usage and cost of the answers refused before this attempt.
    pub(super) fn rungs_spent(&self) -> Option<(Usage, u64)> {
        self.cascade.as_ref().filter(|c| c.spent_nusd > 0 || c.refusals > 0).map(|c| (c.spent, c.spent_nusd))
    }
}

#[cfg(test)]
#[path = "cascade_tests.rs"]
mod tests;
