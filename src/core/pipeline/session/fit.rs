//! The session's context fitting step, between the cache lookups and the first attempt: a
//! summary plan ([`crate::core::pipeline::context`]) is carried out here. The summary at the
//! plan's last cut is read from the `CACHE` namespace; on a miss, the one before it; then the
//! missing ones are written in order by the summarizer (a sub-request each, billed to the
//! request) and stored for the turns to come. Truncation needs no I/O and is done when the
//! request is planned; this step then only labels the reply.
//!
//! A summarizer that fails does not fail the request: the conversation is truncated instead
//! (the reply then says `truncated`). Truncation always fits when a summary plan exists, since
//! it keeps less than the summary plan does.

use super::plans::{summary_kv_key, Progress};
use super::Session;
use crate::core::pipeline::context::{apply_summary, summary_request};
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::subcall::{self, Begun};
use crate::core::pipeline::target::Payload;
use crate::core::state::cost;

/// The longest wait for one summary.
const SUMMARY_TIMEOUT_MS: u32 = 60_000;

/// How many stored summaries are looked for before writing from the start.
const MAX_PROBES: usize = 2;
impl Session {
    /// The next fitting action, or `None` when the request is ready for its first attempt.
    pub(super) fn fit_step(&mut self, now_ms: u64) -> Option<Action> {
        let tenant = self.caller.tenant.clone();
        let w = self.fit.as_mut()?.summary.as_mut()?;
        match &w.progress {
            Progress::Probe(i, _) => {
                Some(Action::CacheGet { key: summary_kv_key(&tenant, &w.plan.cuts[*i].1), join: false, coalesce: false })
            }
            Progress::Write(i, previous) => {
                let Payload::Chat(req) = &self.payload else { return None };
                let sub = summary_request(&w.summarizer.model, &w.plan, &req.messages, *i, previous.as_deref());
                let sub = Payload::Chat(Box::new(sub));
                match subcall::begin(&w.summarizer, &sub, SUMMARY_TIMEOUT_MS, now_ms) {
                    Ok(Begun::Call(action)) => Some(action),
                    Ok(Begun::Answered { status, body }) => Some(self.on_summary(status, &body, now_ms)),
                    Err(_) => {
                        self.fit_fallback();
                        None
                    }
                }
            }
        }
    }

    /// Whether the session waits on a summary read.
    pub(super) fn fit_probing(&self) -> bool {
        matches!(self.fit.as_ref().and_then(|f| f.summary.as_ref()), Some(w) if matches!(w.progress, Progress::Probe(..)))
    }

    /// Whether the session waits on the summarizer.
    pub(super) fn fit_writing(&self) -> bool {
        matches!(self.fit.as_ref().and_then(|f| f.summary.as_ref()), Some(w) if matches!(w.progress, Progress::Write(..)))
    }

    /// A stored summary was read (`None`: not there).
    pub(super) fn on_summary_read(&mut self, value: Option<&str>, now_ms: u64) -> Action {
        if let Some(w) = self.fit.as_mut().and_then(|f| f.summary.as_mut()) {
            let Progress::Probe(i, probes) = w.progress else { return self.first_admitted(now_ms) };
            w.progress = match value {
                Some(text) if i + 1 == w.plan.cuts.len() => return self.use_summary(text.to_string(), now_ms),
                Some(text) => Progress::Write(i + 1, Some(text.to_string())),
                None if i > 0 && probes + 1 < MAX_PROBES => Progress::Probe(i - 1, probes + 1),
                None => Progress::Write(0, None),
            };
        }
        self.first_admitted(now_ms)
    }

    /// The summarizer answered (status 0: no answer).
    pub(super) fn on_summary(&mut self, status: u16, body: &[u8], now_ms: u64) -> Action {
        let tenant = self.caller.tenant.clone();
        let redactor = self.redactor.clone();
        let Some(f) = self.fit.as_mut() else { return self.first_admitted(now_ms) };
        let Some(w) = f.summary.as_mut() else { return self.first_admitted(now_ms) };
        let Progress::Write(i, _) = w.progress else { return self.first_admitted(now_ms) };
        let answer = subcall::chat_answer(&w.summarizer, status, body, &redactor);
        let text = answer.as_ref().ok().and_then(|a| a.choices.first()).and_then(|c| c.content.clone());
        let (Some(text), Ok(answer)) = (text.filter(|t| !t.trim().is_empty()), answer) else {
            self.fit_fallback();
            return self.first_admitted(now_ms);
        };
        if let Some(usage) = &answer.usage {
            self.lookup_nusd += cost::nano_usd(usage, &w.summarizer.prices);
        }
        f.written.push((summary_kv_key(&tenant, &w.plan.cuts[i].1), text.clone()));
        if i + 1 == w.plan.cuts.len() {
            return self.use_summary(text, now_ms);
        }
        w.progress = Progress::Write(i + 1, Some(text));
        self.first_admitted(now_ms)
    }

    /// Put the summary at the last cut in place of the turns before it.
    fn use_summary(&mut self, text: String, now_ms: u64) -> Action {
        if let (Some(f), Payload::Chat(req)) = (self.fit.as_mut(), &mut self.payload) {
            if let Some(w) = f.summary.take() {
                let (head, cut) = (w.plan.head, w.plan.cuts[w.plan.cuts.len() - 1].0);
                req.messages = apply_summary(&req.messages, head, cut, &text);
                req.raw = None;
                f.note = Some("summarized");
            }
        }
        self.first_admitted(now_ms)
    }

    /// No summary could be had: send the truncated conversation instead.
    fn fit_fallback(&mut self) {
        let (Some(f), Payload::Chat(req)) = (self.fit.as_mut(), &mut self.payload) else { return };
        if let Some(w) = f.summary.take() {
            req.messages = w.fallback;
            req.raw = None;
            f.note = Some("truncated");
        }
    }

    /// Summaries this request wrote, to store: `(KV key, text, lifetime in seconds)`.
    pub fn summary_puts(&self) -> Vec<(String, String, u32)> {
        let Some(f) = &self.fit else { return Vec::new() };
        f.written.iter().map(|(k, v)| (k.clone(), v.clone(), f.ttl_s)).collect()
    }

    /// What fitting did, for `x-switchyard-context`.
    pub(super) fn fit_note(&self) -> Option<&'static str> {
        self.fit.as_ref().and_then(|f| f.note)
    }
}
