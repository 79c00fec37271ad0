//! What one isolate keeps for all its requests, and the policy that uses it: recent cache
//! entries answer repeats without a KV read ([`Recent`]), identical requests in flight share
//! one upstream call ([`InFlight`]), and settlements go to each tenant's object in batches
//! ([`SettleQueue`]). The machines are pure; this module decides when a step consults them,
//! so the driver only performs what comes out (a KV read, a wait, a wake-up, a batch).
//!
//! Invariants: a request that leads for a key always releases it (with its entry, or with
//! nothing when it stored none, failed or was aborted), so followers never wait for a leader
//! that is done; an entry found in KV or in the recent entries is released and forgotten at
//! once, since there is no write to wait for.

use crate::core::pipeline::protocol::{self, Action};
use crate::core::state::inflight::{InFlight, Join, FOLLOW_MS};
use crate::core::state::recent::Recent;
use crate::core::state::settle_queue::{Batch, SettleQueue};
use std::fmt::Write;

/// The isolate's shared state.
#[derive(Debug, Default)]
pub struct Isolate {
    recent: Recent,
    inflight: InFlight,
    settle: SettleQueue,
    next_id: u64,
}

/// What one request holds in the isolate's machines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Held {
    /// The cache key it leads for.
    pub lead: Option<String>,
    /// The cache key whose leader it waits for.
    pub follow: Option<String>,
}

/// Followers to wake, all with the same value (`None`: go upstream yourselves).
#[derive(Debug, Clone, PartialEq)]
pub struct Wake {
    /// The followers' ids.
    pub ids: Vec<u64>,
    /// The leader's entry, if it has one.
    pub value: Option<String>,
}

impl Wake {
    /// As JSON members for the driver: `,"wake":[ids],"value":entry-or-null`.
    pub fn members(&self) -> String {
        let mut o = String::from(r#","wake":["#);
        for (i, id) in self.ids.iter().enumerate() {
            let _ = write!(o, "{}{id}", if i == 0 { "" } else { "," });
        }
        o.push_str(r#"],"value":"#);
        match &self.value {
            Some(v) => protocol::string(&mut o, v),
            None => o.push_str("null"),
        }
        o
    }
}

/// A cache read asked for by a session.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// Answered here: hand the entry to the session.
    Answer(String),
    /// The driver must perform this (a KV read as the leader, or a wait for the leader).
    Perform(Action),
}

impl Isolate {
    /// A new id for a request in flight in this isolate.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A session asked to read `key` (`join`: its own key, which identical requests share).
    pub fn cache_read(&mut self, key: &str, join: bool, coalesce: bool, id: u64, held: &mut Held, now_ms: u64) -> Read {
        if let Some(value) = self.recent.get(key) {
            return Read::Answer(value.to_string());
        }
        let read = Action::CacheGet { key: key.to_string(), join, coalesce };
        if !join {
            return Read::Perform(read);
        }
        match self.inflight.join(key, id, now_ms) {
            Join::Lead => {
                held.lead = Some(key.to_string());
                Read::Perform(read)
            }
            Join::Follow => {
                held.follow = Some(key.to_string());
                Read::Perform(Action::Follow { id, wait_ms: FOLLOW_MS as u32 })
            }
            Join::Answer(value) => Read::Answer(value),
        }
    }

    /// The answer of a cache read or a wait came back. A leader that found its entry
    /// releases it at once (followers are woken with it); a follower that got nothing (its
    /// leader stored nothing, or the wait ran out) stops following and goes upstream itself.
    /// `key` is the key that was read (for a wait, the leader's).
    pub fn cache_answer(&mut self, key: &str, id: u64, held: &mut Held, value: Option<&str>) -> Option<Wake> {
        if let Some(key) = held.follow.take() {
            if value.is_none() {
                self.inflight.abandon(&key, id);
            }
            return None;
        }
        let value = value?;
        self.recent.remember(key, value.to_string());
        let key = held.lead.take().filter(|k| k == key)?;
        let ids = self.inflight.release(&key, id, Some(value.to_string()));
        self.inflight.written(&key, id);
        (!ids.is_empty()).then(|| Wake { ids, value: Some(value.to_string()) })
    }

    /// A request is done. `put`: the entry it stores, `(key, value)`; it is remembered, and
    /// if the request leads for that key its followers get it (and later arrivals too, until
    /// [`Isolate::written`]). Returns whom to wake and whether the driver must report the
    /// write (the request led for the key it stores).
    pub fn finished(&mut self, id: u64, held: &mut Held, put: Option<(&str, &str)>) -> (Option<Wake>, bool) {
        if let Some((key, value)) = put {
            self.recent.remember(key, value.to_string());
        }
        if let Some(key) = held.follow.take() {
            self.inflight.abandon(&key, id);
        }
        let Some(key) = held.lead.take() else { return (None, false) };
        let value = put.filter(|(k, _)| *k == key).map(|(_, v)| v.to_string());
        let keep = value.is_some();
        let ids = self.inflight.release(&key, id, value.clone());
        ((!ids.is_empty()).then_some(Wake { ids, value }), keep)
    }

    /// The leader `id`'s KV write of `key` landed: later arrivals read KV (or the recent entries).
    pub fn written(&mut self, key: &str, id: u64) {
        self.inflight.written(key, id);
    }

    /// A request's settlement for its tenant: a batch to send now, or `None` (it waits for
    /// the call on its way).
    pub fn settle(&mut self, tenant: &str, settle: String, now_ms: u64) -> Option<Batch> {
        self.settle.push(tenant, settle, now_ms)
    }

    /// A tenant's settlement call of `chain` returned: the batches to send next.
    pub fn settled(&mut self, tenant: &str, chain: u64, now_ms: u64) -> Vec<Batch> {
        self.settle.done(tenant, chain, now_ms)
    }
}

/// Batches as a JSON array for the driver: `[{"tenant","chain","op"}]`.
pub fn batches_json(batches: &[Batch]) -> String {
    let mut o = String::from("[");
    for (i, b) in batches.iter().enumerate() {
        o.push_str(if i == 0 { r#"{"tenant":"# } else { r#",{"tenant":"# });
        protocol::string(&mut o, &b.tenant);
        let _ = write!(o, r#","chain":{},"op":"#, b.chain);
        protocol::string(&mut o, &b.body);
        o.push('}');
    }
    o.push(']');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(iso: &mut Isolate, key: &str, id: u64, held: &mut Held) -> Read {
        iso.cache_read(key, true, false, id, held, 1_000)
    }

    #[test]
    fn the_first_leads_the_next_follow_and_are_woken_with_the_stored_entry() {
        let mut iso = Isolate::default();
        let (mut a, mut b, mut c) = (Held::default(), Held::default(), Held::default());
        assert_eq!(read(&mut iso, "k", 1, &mut a), Read::Perform(Action::CacheGet { key: "k".into(), join: true, coalesce: false }));
        assert_eq!(read(&mut iso, "k", 2, &mut b), Read::Perform(Action::Follow { id: 2, wait_ms: 60_000 }));
        assert_eq!(iso.cache_answer("k", 1, &mut a, None), None, "a miss keeps the leader leading");
        let (wake, report) = iso.finished(1, &mut a, Some(("k", "entry")));
        assert_eq!(wake, Some(Wake { ids: vec![2], value: Some("entry".into()) }));
        assert!(report, "the leader's write must be reported");
        // Later arrivals take the entry from the recent entries, without KV or waiting.
        assert_eq!(read(&mut iso, "k", 3, &mut c), Read::Answer("entry".into()));
        assert_eq!(iso.cache_answer("k", 2, &mut b, Some("entry")), None);
        assert_eq!(b, Held::default());
    }

    #[test]
    fn a_leader_that_stores_nothing_sends_its_followers_upstream_and_the_next_leads() {
        let mut iso = Isolate::default();
        let (mut a, mut b, mut c) = (Held::default(), Held::default(), Held::default());
        read(&mut iso, "k", 1, &mut a);
        read(&mut iso, "k", 2, &mut b);
        assert_eq!(iso.finished(1, &mut a, None), (Some(Wake { ids: vec![2], value: None }), false));
        assert_eq!(iso.cache_answer("k", 2, &mut b, None), None);
        assert!(matches!(read(&mut iso, "k", 3, &mut c), Read::Perform(Action::CacheGet { .. })), "a new leader");
        assert_eq!(c.lead.as_deref(), Some("k"));
    }

    #[test]
    fn a_leader_that_finds_its_entry_in_kv_wakes_followers_and_keeps_nothing_in_flight() {
        let mut iso = Isolate::default();
        let (mut a, mut b) = (Held::default(), Held::default());
        read(&mut iso, "k", 1, &mut a);
        read(&mut iso, "k", 2, &mut b);
        assert_eq!(iso.cache_answer("k", 1, &mut a, Some("kv")), Some(Wake { ids: vec![2], value: Some("kv".into()) }));
        assert_eq!(iso.finished(1, &mut a, None), (None, false), "nothing left to release");
        assert!(iso.inflight.is_empty());
    }

    #[test]
    fn a_similar_prompt_read_neither_leads_nor_follows() {
        let mut iso = Isolate::default();
        let mut a = Held::default();
        let r = iso.cache_read("other", false, false, 1, &mut a, 0);
        assert_eq!(r, Read::Perform(Action::CacheGet { key: "other".into(), join: false, coalesce: false }));
        assert_eq!(a, Held::default());
        assert_eq!(iso.finished(1, &mut a, Some(("mine", "v"))), (None, false));
    }

    #[test]
    fn an_aborted_follower_stops_waiting() {
        let mut iso = Isolate::default();
        let (mut a, mut b) = (Held::default(), Held::default());
        read(&mut iso, "k", 1, &mut a);
        read(&mut iso, "k", 2, &mut b);
        assert_eq!(iso.finished(2, &mut b, None), (None, false));
        assert_eq!(iso.finished(1, &mut a, None), (None, false), "no follower left to wake");
    }

    #[test]
    fn wake_and_batches_are_json_for_the_driver() {
        let w = Wake { ids: vec![3, 4], value: Some("e\"".into()) };
        let j: serde_json::Value = serde_json::from_str(&format!("{{\"x\":1{}}}", w.members())).unwrap();
        assert_eq!(j, serde_json::json!({"x": 1, "wake": [3, 4], "value": "e\""}));
        let mut iso = Isolate::default();
        let b = iso.settle("acme", "{\"lease\":null}".into(), 0).expect("sent at once");
        let j: serde_json::Value = serde_json::from_str(&batches_json(&[b])).unwrap();
        assert_eq!(j[0]["tenant"], "acme");
        assert_eq!(j[0]["op"], r#"{"settle_many":{"settles":[{"lease":null}]}}"#);
        assert!(iso.settle("acme", "{}".into(), 1).is_none(), "waits for the call on its way");
        assert_eq!(iso.settled("acme", j[0]["chain"].as_u64().unwrap(), 2).len(), 1);
    }
}
