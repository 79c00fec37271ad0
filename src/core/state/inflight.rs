//! Identical cacheable requests in flight in this isolate, by cache key: the first one (the
//! leader) goes to KV and then, on a miss, upstream; the others (followers) wait for its
//! answer instead of calling the upstream again. The driver names each request with a `u64`
//! id of its choosing, unique among the requests it has in flight, and keeps the waiting
//! promises; this machine only decides who leads, who waits and who is woken.
//!
//! A request's life, as the driver drives it:
//! 1. [`InFlight::join`] says [`Join::Lead`], [`Join::Follow`] or [`Join::Answer`].
//! 2. A leader calls [`InFlight::release`] once it has its entry (from KV or the upstream), or
//!    `None` when it has none (it stored nothing, or it failed); every follower returned is
//!    woken with that same value. With a value, the entry is kept and handed to later
//!    arrivals ([`Join::Answer`]) until the leader's KV write lands ([`InFlight::written`]).
//!    A leader whose entry came from KV itself (or from the recent entries) calls `written`
//!    right after `release`: there is no write to wait for.
//! 3. A follower gives up after [`FOLLOW_MS`] and calls [`InFlight::abandon`]; it then goes
//!    upstream itself, without leading.
//! 4. A follower woken with `None` also goes upstream itself, without leading: that is the
//!    driver's job, this machine no longer knows it.
//!
//! Invariants:
//! - a key has at most one leader at a time; a leader that has led for [`FOLLOW_MS`] without
//!   releasing is taken for gone and the next arrival leads instead (its followers then wait
//!   for the new leader); the old leader's `release` and `written` then change nothing;
//! - every follower is returned by exactly one `release`, unless it is abandoned first; a
//!   follower of a gone leader is returned by its successor's `release`;
//! - a kept entry answers until its own leader's `written`, whatever the time; `release` with
//!   `None` forgets the key at once, so the next arrival leads.
//!
//! The keys in flight at once are few (the isolate's concurrent cacheable requests), so they
//! live in the project's sorted-vector map.

use crate::core::util::vecmap::VecMap;

/// How long a leader is followed: a leader older than this is taken for gone, and a follower
/// waits at most this long (ms).
pub const FOLLOW_MS: u64 = 60_000;

/// What a request does about an identical one in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Join {
    /// It is the first: read KV, then go upstream, then [`InFlight::release`].
    Lead,
    /// Another leads: wait (at most [`FOLLOW_MS`]) to be woken by its `release`.
    Follow,
    /// The leader already finished and this is its entry, whose KV write has not landed yet.
    Answer(String),
}

/// One key's state.
#[derive(Debug, Clone)]
enum Entry {
    /// `leader` has been on its way since `since_ms`; `followers` wait for it.
    Leading { leader: u64, since_ms: u64, followers: Vec<u64> },
    /// `leader` released `value`, whose KV write has not landed yet.
    Kept { leader: u64, value: String },
}

/// The identical requests in flight, by cache key (see the module docs).
#[derive(Debug, Default)]
pub struct InFlight {
    keys: VecMap<String, Entry>,
}

impl InFlight {
    /// Nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Request `id` looks up `key` at `now_ms`: it leads, follows, or takes a kept entry.
    pub fn join(&mut self, key: &str, id: u64, now_ms: u64) -> Join {
        let Some(entry) = self.keys.get_mut(key) else {
            self.keys.insert(key.to_string(), Entry::Leading { leader: id, since_ms: now_ms, followers: Vec::new() });
            return Join::Lead;
        };
        match entry {
            Entry::Kept { value, .. } => Join::Answer(value.clone()),
            Entry::Leading { leader, since_ms, followers } => {
                if now_ms.saturating_sub(*since_ms) >= FOLLOW_MS {
                    // The leader is taken for gone; its followers stay, for the new one.
                    (*leader, *since_ms) = (id, now_ms);
                    return Join::Lead;
                }
                followers.push(id);
                Join::Follow
            }
        }
    }

    /// Leader `id` of `key` is done: the followers to wake, each with `value`. With a value,
    /// the entry is kept for later arrivals until [`InFlight::written`]; without one, the key
    /// is forgotten. Anyone but the key's current leader releases nothing: an empty list, and
    /// nothing changes.
    pub fn release(&mut self, key: &str, id: u64, value: Option<String>) -> Vec<u64> {
        let Some(entry) = self.keys.get_mut(key) else {
            return Vec::new();
        };
        let Entry::Leading { leader, followers, .. } = entry else {
            return Vec::new();
        };
        if *leader != id {
            return Vec::new();
        }
        let woken = std::mem::take(followers);
        match value {
            Some(value) => *entry = Entry::Kept { leader: id, value },
            None => {
                self.keys.remove(key);
            }
        }
        woken
    }

    /// Leader `id`'s KV write for `key` landed (or failed): its kept entry is forgotten, and
    /// the next arrival leads (and finds the entry in KV). Anything else under `key` stays.
    pub fn written(&mut self, key: &str, id: u64) {
        if matches!(self.keys.get(key), Some(Entry::Kept { leader, .. }) if *leader == id) {
            self.keys.remove(key);
        }
    }

    /// Follower `id` of `key` stopped waiting (it timed out): it will not be woken. False when
    /// it was not waiting (already woken, or never a follower).
    pub fn abandon(&mut self, key: &str, id: u64) -> bool {
        let Some(Entry::Leading { followers, .. }) = self.keys.get_mut(key) else {
            return false;
        };
        let Some(at) = followers.iter().position(|&f| f == id) else {
            return false;
        };
        followers.swap_remove(at);
        true
    }

    /// The number of keys led or kept.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is led or kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
#[path = "inflight_tests.rs"]
mod tests;
