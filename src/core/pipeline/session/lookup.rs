//! The session's cache steps: the exact-key lookup, the similar-prompt lookup (an embedding
//! sub-request, then the index), answering from an entry, serving stale when every target
//! failed, and what to store once a fresh answer went out.

use super::Session;
use crate::core::pipeline::subcall::{self, Begun};
use crate::core::pipeline::target::Payload;

/// The longest wait for the similar-prompt lookup's embedding.
const LOOKUP_TIMEOUT_MS: u32 = 10_000;
use crate::core::pipeline::protocol::{Action, Reply};
use crate::core::state::cache::{self, Entry, Freshness};
use crate::core::state::cost::{self};
use crate::core::state::similar::{self, IndexOp};
use crate::core::translate::embeddings::{self};

impl Session {
    /// Past admission: look in the cache first when the decision says so.
    pub(super) fn proceed(&mut self, now_ms: u64) -> Action {
        match &self.cache {
            Some(c) if c.decision.read => Action::CacheGet { key: c.key.clone(), join: true, coalesce: c.coalesce },
            _ => self.first_admitted(now_ms),
        }
    }

    /// The cache answered (`None`: a miss, or the cache could not be read). A fresh entry is
    /// the reply; a stale one is kept in case every target fails.
    pub fn on_cache(&mut self, value: Option<&str>, now_ms: u64) -> Action {
        if self.fit_probing() {
            return self.on_summary_read(value, now_ms);
        }
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
    pub(super) fn embed(&mut self, now_ms: u64) -> Action {
        let Some(s) = self.similar.as_ref() else { return self.first_admitted(now_ms) };
        let payload = Payload::Embeddings(Box::new(s.request.clone()));
        match subcall::begin(&s.embed, &payload, LOOKUP_TIMEOUT_MS, now_ms) {
            Ok(Begun::Call(action)) => action,
            Ok(Begun::Answered { status, body }) => self.on_called(status, &body, now_ms),
            Err(_) => self.first_admitted(now_ms),
        }
    }

    /// The embedding model answered (status 0: it could not be reached). Without a vector
    /// the request simply goes upstream.
    pub fn on_called(&mut self, status: u16, body: &[u8], now_ms: u64) -> Action {
        if self.fit_writing() {
            return self.on_summary(status, body, now_ms);
        }
        if self.judging() {
            return self.on_judge(status, body, now_ms);
        }
        if let Some(s) = self.similar.as_mut() {
            s.vector = (status == 200).then(|| similar::vector_from(s.embed.kind.wire(), body)).flatten();
            if status == 200 {
                self.lookup_nusd = cost::nano_usd(&embeddings::usage(&s.request, Some(body)), &s.embed.prices);
            }
        }
        self.lookup(now_ms)
    }

    pub(super) fn lookup(&mut self, now_ms: u64) -> Action {
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
        let found = answer.and_then(|a| serde_json::from_slice::<similar::Match>(a.as_bytes()).ok());
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
    pub(super) fn answer_from_cache(&mut self, entry: Entry, age_s: u32, status: &'static str) -> Option<Action> {
        let stream = matches!(&self.payload, Payload::Chat(r) if r.stream);
        let body = cache::replay(&entry, self.caller.api, stream, self.caller.include_usage, self.caller.echo.as_ref())?;
        let content_type = if stream { "text/event-stream" } else { "application/json" };
        let mut headers = crate::core::pipeline::protocol::base_headers(&self.caller.request_id, content_type);
        headers.push(("x-switchyard-provider".into(), entry.provider.clone()));
        headers.push(("x-switchyard-model".into(), entry.upstream_model.clone()));
        headers.push(("age".into(), age_s.to_string()));
        if let (Some(score), "SIMILAR") = (self.similar.as_ref().and_then(|s| s.matched), status) {
            headers.push(("x-switchyard-similarity".into(), four_decimals(score)));
        }
        headers.extend(self.caller.cors_origin.as_deref().map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
        self.cache_status = status;
        self.saved_nusd = entry.cost_nano_usd;
        Some(self.label(Action::Respond(Reply { status: 200, headers, body, body_from_upstream: false })))
    }

    /// Every target failed: a stale cached answer, if one is kept, rather than the error.
    pub(super) fn give_up(&mut self, action: Action) -> Action {
        if let Some(entry) = self.stale.take() {
            let age_s = (self.caller.now_ms.saturating_sub(entry.created_ms) / 1000) as u32;
            if let Some(a) = self.answer_from_cache(entry, age_s, "STALE") {
                return a;
            }
        }
        self.label(action)
    }

    pub(super) fn served_from_cache(&self) -> bool {
        matches!(self.cache_status, "HIT" | "SIMILAR" | "STALE")
    }

    /// Once a fresh answer went out: `(key, entry JSON, KV expirationTtl)` to store, when the
    /// decision writes and the answer is complete and storable.
    pub fn cache_put(&self, now_ms: u64) -> Option<(String, String, u32)> {
        let plan = self.cache.as_ref().filter(|c| c.decision.write && !self.served_from_cache())?;
        let ex = &self.exchange;
        let answer = ex.answer.as_ref().filter(|a| ex.failure.is_none() && !ex.lossy && cache::storable(a))?;
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
}

/// A similarity score with four decimals (`0.9312`), by integer arithmetic: formatting an
/// `f32` would pull the float formatter's `f32` instantiation into the module for one header.
fn four_decimals(score: f32) -> String {
    let e4 = (f64::from(score.clamp(-1.0, 1.0)) * 10_000.0).round() as i32;
    let sign = if e4 < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", e4.unsigned_abs() / 10_000, e4.unsigned_abs() % 10_000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn similarity_has_four_decimals_as_float_formatting_would() {
        for score in [0.0f32, 0.5, 0.93124, 0.99995, 1.0, -0.25, 0.00004] {
            assert_eq!(super::four_decimals(score), format!("{score:.4}"), "{score}");
        }
    }
}
