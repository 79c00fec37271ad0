//! Tests of tenant spend control: rate limits refuse and recover, admission is all or
//! nothing, tokens are corrected on settlement, budgets count reservations, and property
//! tests of budgets and batched settlements.

use super::*;
use crate::core::util::vecmap::VecMap;
use proptest::prelude::*;

fn subject(id: &str) -> Subject {
    Subject { id: id.into(), ..Default::default() }
}

fn admit(lease: &str, subjects: Vec<Subject>, tokens: u64, reserve: u64) -> Op {
    Op::Admit(Admit { lease: lease.into(), subjects, tokens, reserve_nusd: reserve, lease_ms: 60_000 })
}

fn settle(lease: Option<&str>, subjects: &[&str], tokens: u64, cost: u64) -> Op {
    let row = LedgerRow { key: "k".into(), model: "m".into(), calls: 1, cost_nusd: cost, ..Default::default() };
    Op::Settle(Settle {
        lease: lease.map(Into::into),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        tokens,
        row,
        gates: serde_json::Value::Null,
        latency_ms: 0,
    })
}

/// Apply and keep the new state; the verdict, if any.
fn run(state: &mut TenantState, op: Op, now_ms: u64) -> Option<Verdict> {
    let applied = apply(state, op, now_ms);
    if let Some(s) = applied.state {
        *state = s;
    }
    serde_json::from_value(applied.reply).ok()
}

fn admitted(v: &Option<Verdict>) -> bool {
    matches!(v, Some(Verdict::Admitted { .. }))
}

#[test]
fn rpm_admits_the_limit_then_refuses_with_retry_after() {
    let mut st = TenantState::default();
    let key = Subject { rpm: Some(3), ..subject("key:a") };
    for i in 0..3 {
        assert!(admitted(&run(&mut st, admit(&format!("l{i}"), vec![key.clone()], 1, 0), 1_000)));
    }
    match run(&mut st, admit("l3", vec![key.clone()], 1, 0), 1_000) {
        Some(Verdict::Limited { limit, retry_after_ms, rate, .. }) => {
            assert_eq!(limit, "requests_per_minute");
            assert_eq!(retry_after_ms, 20_000);
            assert_eq!(rate.requests.unwrap().remaining, 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(admitted(&run(&mut st, admit("l4", vec![key], 1, 0), 21_000)));
}

#[test]
fn refusal_by_one_subject_changes_no_other() {
    let mut st = TenantState::default();
    let tenant = Subject { rpm: Some(100), ..subject("tenant") };
    let key = Subject { rpm: Some(1), ..subject("key:a") };
    assert!(admitted(&run(&mut st, admit("a", vec![key.clone(), tenant.clone()], 1, 0), 0)));
    assert!(!admitted(&run(&mut st, admit("b", vec![key, tenant.clone()], 1, 0), 0)));
    match run(&mut st, admit("c", vec![tenant], 1, 0), 0) {
        Some(Verdict::Admitted { rate }) => assert_eq!(rate.requests.unwrap().remaining, 98),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_request_bigger_than_the_burst_can_never_fit() {
    let mut st = TenantState::default();
    let key = Subject { tpm: Some(1000), ..subject("key:a") };
    assert!(matches!(run(&mut st, admit("a", vec![key], 1001, 0), 0), Some(Verdict::TooLarge { requested: 1001, allowed: 1000, .. })));
}

#[test]
fn tokens_are_corrected_when_settled() {
    let mut st = TenantState::default();
    let key = Subject { tpm: Some(1000), ..subject("key:a") };
    assert!(admitted(&run(&mut st, admit("a", vec![key.clone()], 900, 0), 0)));
    assert!(!admitted(&run(&mut st, admit("b", vec![key.clone()], 200, 0), 0)));
    // It used only 100 tokens: 800 come back.
    run(&mut st, settle(Some("a"), &["key:a"], 100, 0), 0);
    assert!(admitted(&run(&mut st, admit("b", vec![key], 200, 0), 0)));
}

#[test]
fn concurrency_slots_are_held_until_settled_or_expired() {
    let mut st = TenantState::default();
    let key = Subject { concurrent: Some(2), ..subject("key:a") };
    assert!(admitted(&run(&mut st, admit("a", vec![key.clone()], 1, 0), 0)));
    assert!(admitted(&run(&mut st, admit("b", vec![key.clone()], 1, 0), 0)));
    assert!(
        matches!(run(&mut st, admit("c", vec![key.clone()], 1, 0), 0), Some(Verdict::Limited { limit, .. }) if limit == "concurrent_requests")
    );
    run(&mut st, settle(Some("a"), &[], 1, 0), 5);
    assert!(admitted(&run(&mut st, admit("c", vec![key.clone()], 1, 0), 5)));
    // "b" and "c" never settle: their leases lapse after lease_ms.
    assert!(!admitted(&run(&mut st, admit("d", vec![key.clone()], 1, 0), 59_000)));
    assert!(admitted(&run(&mut st, admit("d", vec![key], 1, 0), 60_006)));
}

#[test]
fn budgets_count_spend_and_reservations_in_flight() {
    let mut st = TenantState::default();
    let key = Subject { daily_nusd: Some(1_000), ..subject("key:a") };
    assert!(admitted(&run(&mut st, admit("a", vec![key.clone()], 1, 400), 0)));
    assert!(admitted(&run(&mut st, admit("b", vec![key.clone()], 1, 400), 0)));
    match run(&mut st, admit("c", vec![key.clone()], 1, 400), 0) {
        Some(Verdict::OverBudget { period, spent_nusd, reserved_nusd, .. }) => {
            assert_eq!((period.as_str(), spent_nusd, reserved_nusd), ("day", 0, 800))
        }
        other => panic!("{other:?}"),
    }
    // "a" cost less than reserved: room opens.
    run(&mut st, settle(Some("a"), &["key:a"], 1, 100), 1);
    assert!(admitted(&run(&mut st, admit("c", vec![key.clone()], 1, 400), 1)));
    // A new UTC day starts from zero (the reservations in flight still count).
    run(&mut st, settle(Some("b"), &["key:a"], 1, 400), 2);
    run(&mut st, settle(Some("c"), &["key:a"], 1, 400), 3);
    assert!(!admitted(&run(&mut st, admit("d", vec![key.clone()], 1, 400), 4)));
    assert!(admitted(&run(&mut st, admit("d", vec![key], 1, 400), 86_400_000)));
}

#[test]
fn monthly_and_total_budgets() {
    let mut st = TenantState::default();
    let token = Subject { total_nusd: Some(500), ..subject("token:x") };
    let tenant = Subject { monthly_nusd: Some(10_000), ..subject("tenant") };
    run(&mut st, settle(None, &["token:x", "tenant"], 1, 450), 0);
    assert!(
        matches!(run(&mut st, admit("a", vec![token], 1, 100), 3_600_000 * 3), Some(Verdict::OverBudget { period, .. }) if period == "total")
    );
    run(&mut st, settle(None, &["tenant"], 1, 9_000), 0);
    assert!(!admitted(&run(&mut st, admit("b", vec![tenant.clone()], 1, 600), 86_400_000 * 3)));
    // February 1970 starts on day 31.
    assert!(admitted(&run(&mut st, admit("b", vec![tenant], 1, 600), 86_400_000 * 31)));
}

#[test]
fn settle_writes_a_dated_ledger_row() {
    let applied = apply(&TenantState::default(), settle(None, &["tenant"], 5, 42), 86_400_000 + 1);
    let [q, stats @ ..] = &applied.sql[..] else { panic!("{:?}", applied.sql) };
    assert!(q.sql.starts_with("INSERT INTO ledger"));
    assert_eq!(q.args[0], "1970-01-02");
    assert!(stats.len() == 7 && stats[0].sql.starts_with("DELETE FROM stats"), "the stats' prune and six bucket rows");
}

#[test]
fn admission_needs_no_state_change_when_refused_early() {
    let st = TenantState::default();
    let key = Subject { tpm: Some(10), ..subject("key:a") };
    assert_eq!(apply(&st, admit("a", vec![key], 11, 0), 0).state, None);
}

#[test]
fn rate_headers_follow_openai() {
    let h = rate_headers(&RateInfo { requests: Some(Window { limit: 60, remaining: 59, reset_ms: 1000 }), tokens: None });
    assert_eq!(h[0], ("x-ratelimit-limit-requests".to_string(), "60".to_string()));
    assert_eq!(h.len(), 3);
}

#[test]
fn limits_validate() {
    assert!(Limits { requests_per_minute: Some(0), ..Default::default() }.problem().is_some());
    assert!(Limits { daily_usd: Some(-1.0), ..Default::default() }.problem().is_some());
    let l = Limits { daily_usd: Some(1.5), ..Default::default() };
    assert_eq!((l.problem(), l.subject("k".into()).daily_nusd), (None, Some(1_500_000_000)));
}

proptest! {
    /// However many requests race, committed spend plus open reservations stay within budget.
    #[test]
    fn budget_holds_under_any_interleaving(ops in proptest::collection::vec((any::<bool>(), 1u64..300), 1..200)) {
        let mut st = TenantState::default();
        let key = Subject { daily_nusd: Some(1_000), ..subject("key:a") };
        let mut open: Vec<(String, u64)> = Vec::new();
        let mut spent = 0;
        for (i, (start, amount)) in ops.into_iter().enumerate() {
            if start || open.is_empty() {
                if admitted(&run(&mut st, admit(&i.to_string(), vec![key.clone()], 1, amount), 0)) {
                    open.push((i.to_string(), amount));
                }
            } else {
                let (lease, reserved) = open.remove(0);
                let actual = reserved / 2;
                spent += actual;
                run(&mut st, settle(Some(&lease), &["key:a"], 1, actual), 0);
            }
            let in_flight: u64 = open.iter().map(|(_, r)| r).sum();
            prop_assert!(spent + in_flight <= 1_000);
        }
    }

    /// A batch of settlements leaves the same state as the same settlements one by one, and
    /// its upserts add the same numbers to each ledger group.
    #[test]
    fn a_batch_settles_as_its_parts_do(parts in proptest::collection::vec((0usize..3, 0u64..500, 0u64..50, 0u8..3), 1..40)) {
        let key = Subject { daily_nusd: Some(1_000_000), tpm: Some(1_000), concurrent: Some(100), ..subject("key:a") };
        let mut one = TenantState::default();
        let mut leases = Vec::new();
        for (i, _) in parts.iter().enumerate() {
            prop_assert!(admitted(&run(&mut one, admit(&i.to_string(), vec![key.clone()], 20, 600), 0)));
            leases.push(i.to_string());
        }
        let mut batched = one.clone();
        let mut settles = Vec::new();
        let mut expected: VecMap<String, (u64, u64, u64)> = VecMap::new();
        for (i, (lease, cost, tokens, model)) in parts.into_iter().enumerate() {
            // Some settlements carry no lease or one already gone (a lapsed lease).
            let lease = [Some(leases[i].as_str()), None, Some("gone")][lease];
            let Op::Settle(mut s) = settle(lease, &["key:a"], tokens, cost) else { unreachable!() };
            s.row.model = format!("m{model}");
            s.row.input_tokens = tokens;
            let e = expected.get_or_insert_with(s.row.model.clone(), Default::default);
            *e = (e.0 + 1, e.1 + cost, e.2 + tokens);
            run(&mut one, Op::Settle(s.clone()), 5);
            settles.push(s);
        }
        let applied = apply(&batched, Op::SettleMany(SettleMany { settles }), 5);
        batched = applied.state.unwrap();
        prop_assert_eq!(&batched, &one);
        let ledger: Vec<_> = applied.sql.iter().filter(|q| !q.sql.contains(" stats ")).collect();
        prop_assert_eq!(ledger.len(), expected.len());
        for q in ledger {
            prop_assert!(q.sql.starts_with("INSERT INTO ledger"));
            let (model, calls, cost, tokens) = (q.args[2].as_str().unwrap(), q.args[4].as_u64(), q.args[9].as_u64(), q.args[6].as_u64());
            let (c, n, t) = expected.get(model).copied().unwrap();
            prop_assert_eq!((calls, cost, tokens), (Some(c), Some(n), Some(t)));
        }
    }
}
