//! Cache entries this isolate wrote or read lately, by KV key, so that a repeat is answered
//! without a KV read. A key names one tenant's exact request on one route and its entry never
//! changes (the core judges freshness from the entry's own timestamps), so a copy here answers
//! as KV would.
//!
//! Invariants:
//! - the values kept add up to at most the budget ([`RECENT_BYTES`] unless built with
//!   [`Recent::with_budget`]), counted in UTF-8 bytes; keys are not counted;
//! - a value longer than a sixteenth of the budget is never kept (remembering one leaves any
//!   entry already under that key as it was);
//! - when the budget is exceeded, the least recently used entries go first; both
//!   [`Recent::get`] and [`Recent::remember`] make an entry the most recently used, so the
//!   entry just remembered is never the one evicted.
//!
//! Structure: the entries live in one vector, linked in recency order by indices (a doubly
//! linked list inside the vector, freed slots reused), and one ordered map finds a key's slot.
//! Every operation is one map lookup (O(log n)) plus O(1) list work, and eviction takes the
//! list's tail without searching. The map is serde_json's own `Map` (a `BTreeMap<String, Value>`
//! holding each slot's index as a number), so the module carries no second instantiation of
//! the B-tree's algorithm: each map type would instantiate it again, at some KB of wasm.

use serde_json::{Map, Value};

/// The default budget: 8 MiB of values.
pub const RECENT_BYTES: usize = 8 << 20;

/// No slot: the end of the list.
const NIL: u32 = u32::MAX;

/// One entry, a link in the recency list. A freed slot holds empty strings.
#[derive(Debug)]
struct Slot {
    key: String,
    value: String,
    /// The next more recently used slot, or [`NIL`].
    newer: u32,
    /// The next less recently used slot, or [`NIL`].
    older: u32,
}

/// Recently seen cache entries, least recently used evicted first (see the module docs).
#[derive(Debug)]
pub struct Recent {
    index: Map<String, Value>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The most recently used slot, or [`NIL`] when empty.
    newest: u32,
    /// The least recently used slot, or [`NIL`] when empty.
    oldest: u32,
    bytes: usize,
    budget: usize,
}

impl Default for Recent {
    fn default() -> Self {
        Recent::new()
    }
}

impl Recent {
    /// An empty set with the default budget, [`RECENT_BYTES`].
    pub fn new() -> Self {
        Recent::with_budget(RECENT_BYTES)
    }

    /// An empty set keeping at most `budget` bytes of values.
    pub fn with_budget(budget: usize) -> Self {
        Recent { index: Map::new(), slots: Vec::new(), free: Vec::new(), newest: NIL, oldest: NIL, bytes: 0, budget }
    }

    /// The entry under `key`, which becomes the most recently used.
    pub fn get(&mut self, key: &str) -> Option<&str> {
        let i = self.slot_of(key)?;
        self.touch(i);
        Some(&self.slots[i as usize].value)
    }

    /// Keeps `value` under `key` as the most recently used entry (replacing any entry already
    /// there), then evicts the least recently used until the budget holds. A value longer than
    /// a sixteenth of the budget is not kept: false, and nothing changes.
    pub fn remember(&mut self, key: &str, value: String) -> bool {
        if value.len() > self.budget / 16 {
            return false;
        }
        self.bytes += value.len();
        if let Some(i) = self.slot_of(key) {
            let prior = std::mem::replace(&mut self.slots[i as usize].value, value);
            self.bytes -= prior.len();
            self.touch(i);
        } else {
            let i = self.alloc(key.to_string(), value);
            self.index.insert(key.to_string(), Value::from(i));
            self.push_newest(i);
        }
        while self.bytes > self.budget && self.oldest != NIL {
            self.evict_oldest();
        }
        true
    }

    /// The number of entries kept.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The bytes of values kept (never more than the budget).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The slot holding `key`'s entry.
    fn slot_of(&self, key: &str) -> Option<u32> {
        self.index.get(key).and_then(Value::as_u64).map(|i| i as u32)
    }

    /// A slot for a new entry, reusing a freed one when there is one. It is not linked yet.
    fn alloc(&mut self, key: String, value: String) -> u32 {
        let slot = Slot { key, value, newer: NIL, older: NIL };
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = slot;
            return i;
        }
        let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 entries");
        self.slots.push(slot);
        i
    }

    /// Makes slot `i` the most recently used.
    fn touch(&mut self, i: u32) {
        if self.newest != i {
            self.unlink(i);
            self.push_newest(i);
        }
    }

    /// Links the unlinked slot `i` in as the most recently used.
    fn push_newest(&mut self, i: u32) {
        let slot = &mut self.slots[i as usize];
        slot.newer = NIL;
        slot.older = self.newest;
        match self.newest {
            NIL => self.oldest = i,
            n => self.slots[n as usize].newer = i,
        }
        self.newest = i;
    }

    /// Takes slot `i` out of the recency list (its neighbours then link to each other).
    fn unlink(&mut self, i: u32) {
        let Slot { newer, older, .. } = self.slots[i as usize];
        match newer {
            NIL => self.newest = older,
            n => self.slots[n as usize].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            o => self.slots[o as usize].newer = newer,
        }
    }

    /// Drops the least recently used entry; its slot is freed for reuse.
    fn evict_oldest(&mut self) {
        let i = self.oldest;
        self.unlink(i);
        let slot = &mut self.slots[i as usize];
        let value = std::mem::take(&mut slot.value);
        let key = std::mem::take(&mut slot.key);
        self.bytes -= value.len();
        self.index.remove(&key);
        self.free.push(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl Recent {
        /// Keys from the least to the most recently used, walking the list both ways and
        /// checking the two walks, the index and the byte count agree.
        fn order(&self) -> Vec<String> {
            let mut up = Vec::new();
            let mut i = self.oldest;
            while i != NIL {
                up.push(self.slots[i as usize].key.to_string());
                i = self.slots[i as usize].newer;
            }
            let mut down = Vec::new();
            let mut i = self.newest;
            while i != NIL {
                down.push(self.slots[i as usize].key.to_string());
                i = self.slots[i as usize].older;
            }
            down.reverse();
            assert_eq!(up, down, "both directions of the list agree");
            assert_eq!(up.len(), self.index.len(), "the index names every linked slot");
            let bytes: usize = up.iter().map(|k| self.slots[self.slot_of(k).expect("indexed") as usize].value.len()).sum();
            assert_eq!(bytes, self.bytes, "the byte count is the values' total");
            up
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Get(&'static str),
        Remember(&'static str, &'static str),
    }

    use Op::{Get, Remember};

    /// Runs `ops` on a set with `budget`; each `get`'s answer (`None` for a `remember`) and
    /// the final order, least recently used first.
    fn run(budget: usize, ops: &[Op]) -> (Vec<Option<String>>, Vec<String>) {
        let mut recent = Recent::with_budget(budget);
        let answers = ops
            .iter()
            .map(|op| match *op {
                Get(k) => recent.get(k).map(str::to_string),
                Remember(k, v) => {
                    recent.remember(k, v.to_string());
                    None
                }
            })
            .collect();
        (answers, recent.order())
    }

    /// A case: its name, the operations, each one's answer, the final order.
    type Case<'a> = (&'a str, &'a [Op], &'a [Option<String>], &'a [&'a str]);

    #[test]
    fn table() {
        let some = |s: &str| Some(s.to_string());
        // Budget 32: values of up to 2 bytes are kept.
        let cases: &[Case] = &[
            ("empty misses", &[Get("a")], &[None], &[]),
            ("remembered is found", &[Remember("a", "1"), Get("a")], &[None, some("1")], &["a"]),
            ("empty value is kept", &[Remember("a", ""), Get("a")], &[None, some("")], &["a"]),
            ("replaced value", &[Remember("a", "1"), Remember("a", "22"), Get("a")], &[None, None, some("22")], &["a"]),
            ("too long is not kept", &[Remember("a", "333"), Get("a")], &[None, None], &[]),
            ("too long leaves the prior value", &[Remember("a", "1"), Remember("a", "333"), Get("a")], &[None, None, some("1")], &["a"]),
            ("get makes most recent", &[Remember("a", "1"), Remember("b", "1"), Get("a")], &[None, None, some("1")], &["b", "a"]),
            ("remember makes most recent", &[Remember("a", "1"), Remember("b", "1"), Remember("a", "2")], &[None, None, None], &["b", "a"]),
            ("a miss changes nothing", &[Remember("a", "1"), Remember("b", "1"), Get("c")], &[None, None, None], &["a", "b"]),
        ];
        for (name, ops, answers, order) in cases {
            let (got, got_order) = run(32, ops);
            assert_eq!(&got, answers, "{name}: answers");
            assert_eq!(got_order, *order, "{name}: order");
        }
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let mut recent = Recent::with_budget(64); // values of up to 4 bytes
        for k in ["a", "b", "c", "d"] {
            recent.remember(k, "1234".into());
        }
        for k in ["e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p"] {
            recent.remember(k, "1234".into());
        }
        assert_eq!(recent.bytes(), 64);
        assert!(recent.get("a").is_some(), "a is now the most recent");
        recent.remember("q", "12".into());
        assert_eq!(recent.order().first().map(String::as_str), Some("c"), "b went first, then nothing more");
        assert_eq!(recent.bytes(), 62);
        recent.remember("r", "1234".into());
        assert_eq!(recent.order().first().map(String::as_str), Some("d"), "c went");
        assert_eq!((recent.len(), recent.bytes()), (16, 62));
    }

    #[test]
    fn the_default_budget_keeps_half_a_mebibyte_but_not_a_byte_more() {
        let mut recent = Recent::new();
        assert!(recent.remember("big", "x".repeat(RECENT_BYTES / 16)));
        assert!(!recent.remember("bigger", "x".repeat(RECENT_BYTES / 16 + 1)));
        for i in 0..32 {
            recent.remember(&i.to_string(), "x".repeat(RECENT_BYTES / 16));
        }
        assert_eq!(recent.bytes(), RECENT_BYTES);
        assert_eq!(recent.len(), 16);
        assert!(recent.get("big").is_none() && recent.get("15").is_none() && recent.get("16").is_some());
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut recent = Recent::with_budget(16); // one byte values
        for i in 0..1000 {
            recent.remember(&i.to_string(), "x".into());
        }
        assert_eq!(recent.len(), 16);
        assert!(recent.slots.len() <= 17, "{} slots", recent.slots.len());
    }

    /// The naive model: entries in recency order, least recently used first.
    #[derive(Default)]
    struct Model(Vec<(String, String)>);

    impl Model {
        fn get(&mut self, key: &str) -> Option<String> {
            let at = self.0.iter().position(|(k, _)| k == key)?;
            let entry = self.0.remove(at);
            self.0.push(entry);
            self.0.last().map(|(_, v)| v.clone())
        }

        fn remember(&mut self, budget: usize, key: &str, value: &str) {
            if value.len() > budget / 16 {
                return;
            }
            self.0.retain(|(k, _)| k != key);
            self.0.push((key.to_string(), value.to_string()));
            while self.0.iter().map(|(_, v)| v.len()).sum::<usize>() > budget {
                self.0.remove(0);
            }
        }
    }

    #[derive(Debug, Clone)]
    enum RandomOp {
        Get(u8),
        Remember(u8, usize),
    }

    /// A budget, and operations over more keys than it holds, with values up to one byte
    /// longer than it keeps.
    fn random_case() -> impl Strategy<Value = (usize, Vec<RandomOp>)> {
        prop_oneof![1 => 0usize..16, 4 => 16usize..128].prop_flat_map(|budget| {
            let op =
                prop_oneof![(0u8..48).prop_map(RandomOp::Get), (0u8..48, 0..=budget / 16 + 1).prop_map(|(k, n)| RandomOp::Remember(k, n)),];
            (Just(budget), proptest::collection::vec(op, 0..250))
        })
    }

    proptest! {
        /// Over random operations the set answers as the naive model does, keeps the same
        /// entries in the same order, and never holds more than its budget.
        #[test]
        fn behaves_as_the_naive_model((budget, ops) in random_case()) {
            let mut recent = Recent::with_budget(budget);
            let mut model = Model::default();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    RandomOp::Get(k) => {
                        let k = k.to_string();
                        prop_assert_eq!(recent.get(&k).map(str::to_string), model.get(&k));
                    }
                    RandomOp::Remember(k, len) => {
                        let (k, v) = (k.to_string(), format!("{n:0len$}").chars().take(len).collect::<String>());
                        prop_assert_eq!(recent.remember(&k, v.clone()), v.len() <= budget / 16);
                        model.remember(budget, &k, &v);
                    }
                }
                prop_assert!(recent.bytes() <= budget);
                let keys: Vec<String> = model.0.iter().map(|(k, _)| k.clone()).collect();
                prop_assert_eq!(recent.order(), keys);
            }
        }
    }
}
