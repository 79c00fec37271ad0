//! Scenarios step by step, then random interleavings of pushes and completions: nothing lost
//! or sent twice, batches of at most `SETTLE_MAX`, one call on its way per live chain.
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// One step of a scenario and the calls it must start: (chain, settlements) each.
#[derive(Debug, Clone)]
enum Step {
    /// tenant, settlement, now_ms, the call to send now.
    Push(&'static str, &'static str, u64, Option<(u64, &'static [&'static str])>),
    /// tenant, chain, now_ms, the calls to send now.
    Done(&'static str, u64, u64, &'static [(u64, &'static [&'static str])]),
    /// tenant, how many to push (named "0", "1", ...) at 0 ms; none may go at once.
    Many(&'static str, usize),
}

use Step::{Done, Many, Push};

fn body(settles: &[&str]) -> String {
    format!(r#"{{"settle_many":{{"settles":[{}]}}}}"#, settles.join(","))
}

fn run(name: &str, steps: &[Step]) -> SettleQueue {
    let mut q = SettleQueue::new();
    let want = |tenant: &str, (chain, settles): (u64, &[&str])| Batch { tenant: tenant.into(), chain, body: body(settles) };
    for (n, step) in steps.iter().enumerate() {
        let at = format!("{name}, step {n} ({step:?})");
        match *step {
            Push(tenant, settle, now, call) => assert_eq!(q.push(tenant, settle.into(), now), call.map(|c| want(tenant, c)), "{at}"),
            Done(tenant, chain, now, calls) => {
                let calls: Vec<Batch> = calls.iter().map(|c| want(tenant, *c)).collect();
                assert_eq!(q.done(tenant, chain, now), calls, "{at}");
            }
            Many(tenant, count) => {
                for i in 0..count {
                    assert_eq!(q.push(tenant, i.to_string(), 0), None, "{at}: {i}");
                }
            }
        }
    }
    q
}

#[test]
fn scenarios() {
    let cases: &[(&str, &[Step])] = &[
        (
            "alone, a settlement goes at once",
            &[Push("t", "1", 0, Some((1, &["1"]))), Done("t", 1, 5, &[]), Push("t", "2", 6, Some((2, &["2"])))],
        ),
        (
            "those waiting go together in the next call",
            &[
                Push("t", "1", 0, Some((1, &["1"]))),
                Push("t", "2", 1, None),
                Push("t", "3", 2, None),
                Done("t", 1, 3, &[(1, &["2", "3"])]),
                Done("t", 1, 4, &[]),
            ],
        ),
        (
            "tenants are independent",
            &[
                Push("a", "1", 0, Some((1, &["1"]))),
                Push("b", "2", 0, Some((2, &["2"]))),
                Push("a", "3", 1, None),
                Done("b", 2, 2, &[]),
                Done("a", 1, 2, &[(1, &["3"])]),
            ],
        ),
        (
            "a chain silent for STUCK_MS is replaced, and the new one takes what it held",
            &[
                Push("t", "1", 0, Some((1, &["1"]))),
                Push("t", "2", STUCK_MS - 1, None),
                Push("t", "3", STUCK_MS, Some((2, &["2", "3"]))),
                Done("t", 1, STUCK_MS + 1, &[]),
                Push("t", "4", STUCK_MS + 2, None),
                Done("t", 2, STUCK_MS + 3, &[(2, &["4"])]),
                Done("t", 2, STUCK_MS + 4, &[]),
                Done("t", 1, STUCK_MS + 5, &[]),
            ],
        ),
        (
            "silence counts from the last call's return",
            &[
                Push("t", "1", 0, Some((1, &["1"]))),
                Push("t", "2", 1, None),
                Done("t", 1, 25_000, &[(1, &["2"])]),
                Push("t", "3", 25_000 + STUCK_MS - 1, None),
                Push("t", "4", 25_000 + STUCK_MS, Some((2, &["3", "4"]))),
            ],
        ),
        ("a clock that steps back does not make a chain stuck", &[Push("t", "1", 100_000, Some((1, &["1"]))), Push("t", "2", 0, None)]),
        (
            "completions of unknown chains send nothing",
            &[
                Done("t", 1, 0, &[]),
                Push("t", "1", 0, Some((1, &["1"]))),
                Push("t", "2", 0, None),
                Done("t", 7, 0, &[]),
                Done("u", 1, 0, &[]),
            ],
        ),
        (
            "settlements keep their JSON",
            &[
                Push("t", r#"{"a":[1,2]}"#, 0, Some((1, &[r#"{"a":[1,2]}"#]))),
                Push("t", r#""x""#, 0, None),
                Done("t", 1, 0, &[(1, &[r#""x""#])]),
            ],
        ),
    ];
    for (name, steps) in cases {
        run(name, steps);
    }
}

#[test]
fn the_body_is_the_settle_many_op() {
    let b = batch("t", 3, &[r#"{"a":1}"#.into(), r#"{"b":2}"#.into()]);
    assert_eq!(b.body, r#"{"settle_many":{"settles":[{"a":1},{"b":2}]}}"#);
    assert_eq!(batch("t", 3, &[]).body, r#"{"settle_many":{"settles":[]}}"#);
}

#[test]
fn at_most_settle_max_go_in_one_call() {
    let sixty_four: Vec<String> = (0..64).map(|i| i.to_string()).collect();
    let mut q = run("burst", &[Push("t", "x", 0, Some((1, &["x"]))), Many("t", 100)]);
    assert_eq!(q.waiting(), 100);
    let next = q.done("t", 1, 1);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].body, body(&sixty_four.iter().map(String::as_str).collect::<Vec<_>>()));
    let rest = q.done("t", 1, 2);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].body, body(&(64..100).map(|i| i.to_string()).collect::<Vec<_>>().iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(q.done("t", 1, 3).is_empty());
    assert!(q.is_idle());
}

#[test]
fn after_settle_rounds_calls_the_chain_hands_over_in_one_last_round() {
    let mut q = SettleQueue::new();
    assert!(q.push("t", "first".into(), 0).is_some());
    for round in 2..=SETTLE_ROUNDS {
        assert_eq!(q.push("t", round.to_string(), 0), None);
        let next = q.done("t", 1, 0);
        assert_eq!(next, vec![Batch { tenant: "t".into(), chain: 1, body: body(&[&round.to_string()]) }], "round {round}");
    }
    for i in 0..130 {
        assert_eq!(q.push("t", i.to_string(), 0), None);
    }
    let last = q.done("t", 1, 0);
    let sizes: Vec<usize> = last.iter().map(|b| settles_of(&b.body).len()).collect();
    assert_eq!(sizes, [64, 64, 2]);
    assert!(last.iter().all(|b| b.chain == 1));
    assert!(q.is_idle(), "the chain ended");
    for _ in &last {
        assert!(q.done("t", 1, 0).is_empty());
    }
    assert_eq!(q.push("t", "new".into(), 0).map(|b| b.chain), Some(2), "the next settlement opens a new chain");
}

/// The settlements in a body, as JSON texts.
fn settles_of(body: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["settle_many"]["settles"].as_array().unwrap().iter().map(|s| s.to_string()).collect()
}

/// A random operation: a push (or a burst of them), or the return of one call on its way.
#[derive(Debug, Clone)]
enum Op {
    /// tenant, how many, how far the clock moves first.
    Push(u8, usize, u64),
    /// which call on its way returns, how far the clock moves first.
    Done(usize, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let dt = prop_oneof![30 => 0u64..1_000, 1 => Just(STUCK_MS)];
    prop_oneof![
        3 => (0u8..2, prop_oneof![8 => Just(1usize), 1 => 1usize..100], dt.clone()).prop_map(|(t, n, dt)| Op::Push(t, n, dt)),
        2 => (any::<usize>(), dt).prop_map(|(i, dt)| Op::Done(i, dt)),
    ]
}

/// The test's driver: pushes numbered settlements, keeps the calls on their way, and checks
/// every call the queue starts.
#[derive(Default)]
struct Driver {
    q: SettleQueue,
    now: u64,
    next: u64,
    on_their_way: Vec<Batch>,
    /// Settlement → the number of times it was sent.
    sent: BTreeMap<String, u32>,
    /// Chain → the calls it started.
    calls: BTreeMap<u64, u32>,
}

impl Driver {
    fn start(&mut self, batch: Batch) -> Result<(), TestCaseError> {
        let settles = settles_of(&batch.body);
        prop_assert!((1..=SETTLE_MAX).contains(&settles.len()), "a batch of {}", settles.len());
        let numbers: Vec<u64> = settles.iter().map(|s| s.parse().unwrap()).collect();
        prop_assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order: {:?}", numbers);
        for s in settles {
            *self.sent.entry(s).or_default() += 1;
        }
        *self.calls.entry(batch.chain).or_default() += 1;
        self.on_their_way.push(batch);
        Ok(())
    }

    /// Every live chain has exactly one call on its way and made at most `SETTLE_ROUNDS`.
    fn check(&self) -> Result<(), TestCaseError> {
        for (tenant, chain) in self.q.chains.iter() {
            let mine = self.on_their_way.iter().filter(|b| b.chain == chain.id && &b.tenant == tenant).count();
            prop_assert_eq!(mine, 1, "calls on their way for live chain {}", chain.id);
            prop_assert!(chain.rounds <= SETTLE_ROUNDS);
            prop_assert!(self.calls[&chain.id] <= SETTLE_ROUNDS);
        }
        Ok(())
    }

    fn done(&mut self, i: usize) -> Result<(), TestCaseError> {
        let b = self.on_their_way.remove(i % self.on_their_way.len());
        for next in self.q.done(&b.tenant, b.chain, self.now) {
            prop_assert_eq!(&next.tenant, &b.tenant);
            prop_assert_eq!(next.chain, b.chain);
            self.start(next)?;
        }
        self.check()
    }
}

proptest! {
    /// Over random interleavings, once every call has returned, every settlement was sent
    /// exactly once; along the way every batch is well formed and each live chain has
    /// exactly one call on its way.
    #[test]
    fn interleavings(ops in proptest::collection::vec(op(), 0..200)) {
        let mut d = Driver::default();
        for op in ops {
            match op {
                Op::Push(t, n, dt) => {
                    d.now += dt;
                    let tenant = format!("t{t}");
                    for _ in 0..n {
                        d.next += 1;
                        if let Some(b) = d.q.push(&tenant, d.next.to_string(), d.now) {
                            prop_assert_eq!(&b.tenant, &tenant);
                            prop_assert!(!d.calls.contains_key(&b.chain), "a push continued chain {}", b.chain);
                            d.start(b)?;
                        }
                        d.check()?;
                    }
                }
                Op::Done(i, dt) => {
                    d.now += dt;
                    if !d.on_their_way.is_empty() {
                        d.done(i)?;
                    }
                }
            }
        }
        while !d.on_their_way.is_empty() {
            d.done(0)?;
        }
        prop_assert!(d.q.is_idle());
        prop_assert_eq!(d.q.waiting(), 0);
        prop_assert_eq!(d.sent.len() as u64, d.next, "settlements lost");
        prop_assert!(d.sent.values().all(|&n| n == 1), "settlements sent twice");
    }
}

/// The body is what the tenant object reads: it parses as the settle-many op, settlements
/// intact, so a change to the op's JSON form cannot leave the queue writing a stale one.
#[test]
fn the_body_parses_as_the_tenant_ops_settle_many() {
    use crate::core::state::spend::{Op, Settle};
    let settle = Settle {
        lease: Some("l1".into()),
        subjects: vec!["key:a".into()],
        tokens: 7,
        row: Default::default(),
        gates: serde_json::Value::Null,
        latency_ms: 0,
    };
    let json = serde_json::to_string(&settle).unwrap();
    let op: Op = serde_json::from_str(&batch("t", 1, &[json.clone(), json]).body).expect("a settle-many op");
    let Op::SettleMany(many) = op else { panic!("{op:?}") };
    assert_eq!(many.settles, vec![settle.clone(), settle]);
}
