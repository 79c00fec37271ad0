//! Scenarios step by step, then random interleavings checked against a model and against the
//! invariants: one leader per key, every follower woken once or abandoned.
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// One step of a scenario and what it must answer.
#[derive(Debug, Clone)]
enum Step {
    /// key, id, now_ms, the answer (`Answer` as text).
    Join(&'static str, u64, u64, Expect),
    /// key, id, value, the followers woken (sorted).
    Release(&'static str, u64, Option<&'static str>, &'static [u64]),
    Written(&'static str, u64),
    /// key, id, whether it was waiting.
    Abandon(&'static str, u64, bool),
    /// The keys led or kept.
    Len(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Lead,
    Follow,
    Answer(&'static str),
}

use Expect::{Follow, Lead};
use Step::{Abandon, Join as J, Len, Release, Written};

const F: u64 = FOLLOW_MS;

fn run(name: &str, steps: &[Step]) {
    let mut m = InFlight::new();
    for (n, step) in steps.iter().enumerate() {
        let at = format!("{name}, step {n} ({step:?})");
        match *step {
            J(key, id, now, expect) => {
                let want = match expect {
                    Expect::Lead => Join::Lead,
                    Expect::Follow => Join::Follow,
                    Expect::Answer(v) => Join::Answer(v.to_string()),
                };
                assert_eq!(m.join(key, id, now), want, "{at}");
            }
            Release(key, id, value, woken) => {
                let mut got = m.release(key, id, value.map(str::to_string));
                got.sort_unstable();
                assert_eq!(got, woken, "{at}");
            }
            Written(key, id) => m.written(key, id),
            Abandon(key, id, was) => assert_eq!(m.abandon(key, id), was, "{at}"),
            Len(n) => assert_eq!(m.len(), n, "{at}"),
        }
    }
}

#[test]
fn scenarios() {
    let cases: &[(&str, &[Step])] = &[
        (
            "the first leads, the next follow, the release wakes them all",
            &[J("a", 1, 0, Lead), J("a", 2, 10, Follow), J("a", 3, 20, Follow), Release("a", 1, Some("v"), &[2, 3])],
        ),
        (
            "a kept entry answers until its write lands, then the next leads",
            &[
                J("a", 1, 0, Lead),
                Release("a", 1, Some("v"), &[]),
                J("a", 2, 5, Expect::Answer("v")),
                Len(1),
                Written("a", 1),
                Len(0),
                J("a", 3, 6, Lead),
            ],
        ),
        ("a kept entry does not age", &[J("a", 1, 0, Lead), Release("a", 1, Some("v"), &[]), J("a", 2, 10 * F, Expect::Answer("v"))]),
        (
            "a release without a value forgets the key",
            &[J("a", 1, 0, Lead), J("a", 2, 1, Follow), Release("a", 1, None, &[2]), Len(0), J("a", 3, 2, Lead)],
        ),
        (
            "keys are independent",
            &[J("a", 1, 0, Lead), J("b", 2, 0, Lead), Release("b", 2, None, &[]), J("a", 3, 1, Follow), J("b", 4, 1, Lead), Len(2)],
        ),
        (
            "only the leader releases",
            &[
                J("a", 1, 0, Lead),
                J("a", 2, 1, Follow),
                Release("a", 2, Some("x"), &[]),
                Release("a", 9, None, &[]),
                J("a", 3, 2, Follow),
                Release("a", 1, Some("v"), &[2, 3]),
            ],
        ),
        (
            "a second release wakes nothing and keeps the first value",
            &[
                J("a", 1, 0, Lead),
                J("a", 2, 1, Follow),
                Release("a", 1, Some("v"), &[2]),
                Release("a", 1, Some("w"), &[]),
                J("a", 3, 2, Expect::Answer("v")),
            ],
        ),
        (
            "an abandoned follower is not woken",
            &[
                J("a", 1, 0, Lead),
                J("a", 2, 1, Follow),
                J("a", 3, 2, Follow),
                Abandon("a", 2, true),
                Abandon("a", 2, false),
                Abandon("a", 1, false),
                Release("a", 1, None, &[3]),
                Abandon("a", 3, false),
            ],
        ),
        (
            "a leader is followed until FOLLOW_MS; then the next leads and inherits its followers",
            &[
                J("a", 1, 0, Lead),
                J("a", 2, F - 1, Follow),
                J("a", 3, F, Lead),
                J("a", 4, F + 1, Follow),
                Release("a", 1, Some("old"), &[]),
                Written("a", 1),
                J("a", 5, F + 2, Follow),
                Release("a", 3, Some("new"), &[2, 4, 5]),
                Written("a", 1),
                J("a", 6, F + 3, Expect::Answer("new")),
            ],
        ),
        (
            "the successor's age counts from its own join",
            &[
                J("a", 1, 0, Lead),
                J("a", 2, F, Lead),
                J("a", 3, 2 * F - 1, Follow),
                J("a", 4, 2 * F, Lead),
                Release("a", 2, None, &[]),
                Release("a", 4, None, &[3]),
            ],
        ),
        (
            "a write that is not the keeper's changes nothing",
            &[J("a", 1, 0, Lead), Release("a", 1, Some("v"), &[]), Written("a", 2), Written("b", 1), J("a", 3, 1, Expect::Answer("v"))],
        ),
        ("a write while leading changes nothing", &[J("a", 1, 0, Lead), Written("a", 1), J("a", 2, 1, Follow)]),
        (
            "a clock that steps back does not end a leader",
            &[J("a", 1, 100_000, Lead), J("a", 2, 0, Follow), J("a", 3, 100_000 + F - 1, Follow)],
        ),
        (
            "unknown keys change nothing",
            &[Release("z", 1, None, &[]), Release("z", 1, Some("v"), &[]), Abandon("z", 1, false), Written("z", 1), Len(0)],
        ),
    ];
    for (name, steps) in cases {
        run(name, steps);
    }
}

/// A random operation; indices pick among the requests the test knows about.
#[derive(Debug, Clone)]
enum Op {
    /// key, how far the clock moves first.
    Join(u8, u64),
    /// which unreleased leader, whether with a value.
    Release(usize, bool),
    /// a release by a random id.
    Stray(u8, u64),
    /// which released leader's write lands.
    Written(usize),
    /// which waiting follower gives up.
    Abandon(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, prop_oneof![Just(0u64), 0u64..F, Just(F)]).prop_map(|(k, dt)| Op::Join(k, dt)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, v)| Op::Release(i, v)),
        1 => (0u8..3, 0u64..200).prop_map(|(k, id)| Op::Stray(k, id)),
        1 => any::<usize>().prop_map(Op::Written),
        1 => any::<usize>().prop_map(Op::Abandon),
    ]
}

/// What the test expects of one key.
#[derive(Debug, Default)]
struct KeyModel {
    /// The current leader and since when.
    leader: Option<(u64, u64)>,
    /// The leader whose entry is kept, and the entry.
    kept: Option<(u64, String)>,
}

proptest! {
    /// Random interleavings answer as the model says; a key never has two live leaders;
    /// every follower is woken exactly once or abandoned, once every leader has released.
    #[test]
    fn interleavings(ops in proptest::collection::vec(op(), 0..120)) {
        let mut m = InFlight::new();
        let mut keys: BTreeMap<String, KeyModel> = BTreeMap::new();
        let mut unreleased: Vec<(String, u64, u64)> = Vec::new(); // key, id, since
        let mut released: Vec<(String, u64)> = Vec::new();
        let mut waiting: BTreeMap<u64, String> = BTreeMap::new();
        let (mut now, mut next_id) = (0u64, 1000u64);
        for op in ops {
            match op {
                Op::Join(k, dt) => {
                    now += dt;
                    next_id += 1;
                    let (key, id) = (format!("k{k}"), next_id);
                    let model = keys.entry(key.clone()).or_default();
                    let got = m.join(&key, id, now);
                    let want = match (&model.kept, model.leader) {
                        (Some((_, v)), _) => Join::Answer(v.clone()),
                        (None, Some((_, since))) if now - since < F => Join::Follow,
                        (None, _) => Join::Lead,
                    };
                    prop_assert_eq!(&got, &want);
                    match got {
                        Join::Lead => {
                            for (k, other, since) in &unreleased {
                                prop_assert!(k != &key || now - since >= F, "two live leaders of {}: {} and {}", key, other, id);
                            }
                            model.leader = Some((id, now));
                            unreleased.push((key, id, now));
                        }
                        Join::Follow => {
                            waiting.insert(id, key);
                        }
                        Join::Answer(_) => {}
                    }
                }
                Op::Release(i, with_value) => {
                    if unreleased.is_empty() {
                        continue;
                    }
                    let (key, id, _) = unreleased.remove(i % unreleased.len());
                    let value = with_value.then(|| format!("v{id}"));
                    let mut woken = m.release(&key, id, value.clone());
                    woken.sort_unstable();
                    let model = keys.get_mut(&key).unwrap();
                    if model.leader.map(|(l, _)| l) != Some(id) {
                        prop_assert!(woken.is_empty(), "a gone leader woke {:?}", woken);
                        continue;
                    }
                    let want: Vec<u64> = waiting.iter().filter(|(_, k)| **k == key).map(|(id, _)| *id).collect();
                    prop_assert_eq!(&woken, &want);
                    for f in &woken {
                        waiting.remove(f);
                    }
                    model.leader = None;
                    model.kept = value.map(|v| (id, v));
                    released.push((key, id));
                }
                Op::Stray(k, id) => {
                    let key = format!("k{k}");
                    prop_assert!(m.release(&key, id, None).is_empty());
                }
                Op::Written(i) => {
                    if released.is_empty() {
                        continue;
                    }
                    let (key, id) = released.remove(i % released.len());
                    m.written(&key, id);
                    let model = keys.get_mut(&key).unwrap();
                    if model.kept.as_ref().is_some_and(|(l, _)| *l == id) {
                        model.kept = None;
                    }
                }
                Op::Abandon(i) => {
                    let Some(&id) = waiting.keys().nth(i % waiting.len().max(1)) else { continue };
                    let key = waiting.remove(&id).unwrap();
                    prop_assert!(m.abandon(&key, id));
                    prop_assert!(!m.abandon(&key, id));
                }
            }
        }
        // Every leader finishes: then no follower is left waiting, and with every write
        // landed nothing is left at all.
        for (key, id, _) in unreleased {
            for f in m.release(&key, id, Some("end".into())) {
                prop_assert!(waiting.remove(&f).is_some(), "{} woken twice", f);
            }
            released.push((key, id));
        }
        prop_assert!(waiting.is_empty(), "never woken: {:?}", waiting);
        for (key, id) in released {
            m.written(&key, id);
        }
        prop_assert!(m.is_empty());
    }
}
