use super::*;
use crate::core::config::Fit;
use crate::core::types::ToolCall;
use proptest::prelude::*;

fn text(role: Role, t: &str) -> Message {
    Message::new(role, Content::Text(t.to_string()))
}

/// A system message then `turns` user/assistant turns of about `bytes` bytes each message.
fn chat(turns: usize, bytes: usize) -> Vec<Message> {
    let mut m = vec![text(Role::System, "Be brief.")];
    for i in 0..turns {
        m.push(text(Role::User, &format!("{i:04} {}", "u".repeat(bytes))));
        m.push(text(Role::Assistant, &format!("{i:04} {}", "a".repeat(bytes))));
    }
    m
}

fn total(messages: &[Message]) -> u64 {
    messages.iter().map(message_tokens).sum()
}

#[test]
fn a_conversation_that_fits_is_left_alone() {
    let m = chat(3, 30);
    for fit in [Fit::Error, Fit::TruncateMiddle, Fit::Summarize] {
        assert_eq!(plan(&m, &[], total(&m), fit, "s", 4), Fitting::Fits);
    }
}

#[test]
fn fit_error_refuses_what_does_not_fit() {
    let m = chat(3, 30);
    let budget = total(&m) - 1;
    assert_eq!(plan(&m, &[], budget, Fit::Error, "s", 4), Fitting::TooLong { estimated: budget + 1, budget });
}

#[test]
fn tools_count_against_the_budget() {
    let m = chat(1, 30);
    let tools = vec![Tool { name: "lookup".into(), description: Some("d".repeat(300)), parameters: None, strict: None }];
    assert_eq!(plan(&m, &[], total(&m), Fit::Error, "s", 4), Fitting::Fits);
    assert!(matches!(plan(&m, &tools, total(&m), Fit::Error, "s", 4), Fitting::TooLong { .. }));
}

#[test]
fn truncation_keeps_the_system_the_first_turn_and_the_latest_turns() {
    let m = chat(10, 60);
    let turn = total(&m[1..3]);
    let budget = total(&m[..1]) + 4 * turn;
    let Fitting::Truncated(out, dropped) = plan(&m, &[], budget, Fit::TruncateMiddle, "s", 4) else { panic!("not truncated") };
    assert_eq!(dropped, 12);
    assert_eq!(out[..3], m[..3]);
    assert_eq!(out[3..], m[15..]);
    assert!(total(&out) <= budget);
}

#[test]
fn truncation_drops_the_first_turn_before_the_last() {
    let mut m = chat(2, 30);
    m.push(text(Role::User, &"x".repeat(600)));
    let budget = total(&m[..1]) + total(&m[5..]) + 10;
    let Fitting::Truncated(out, _) = plan(&m, &[], budget, Fit::TruncateMiddle, "s", 4) else { panic!("not truncated") };
    assert_eq!(out.len(), 2);
    assert_eq!(out[1], m[5]);
}

#[test]
fn a_last_turn_larger_than_the_window_cannot_fit() {
    let mut m = chat(2, 30);
    m.push(text(Role::User, &"x".repeat(6000)));
    for fit in [Fit::TruncateMiddle, Fit::Summarize] {
        assert!(matches!(plan(&m, &[], 500, fit, "s", 4), Fitting::TooLong { .. }));
    }
}

#[test]
fn input_budget_reserves_the_output() {
    assert_eq!(input_budget(8_000, Some(1_000), Some(4_096)), 7_000);
    assert_eq!(input_budget(8_000, None, Some(1_000)), 7_000);
    assert_eq!(input_budget(8_000, None, None), 6_000);
    assert_eq!(input_budget(8_000, Some(100_000), None), 4_000);
}

/// A conversation with a tool loop in every turn.
fn tool_chat(turns: usize) -> Vec<Message> {
    let mut m = vec![text(Role::System, "Use tools.")];
    for i in 0..turns {
        m.push(text(Role::User, &format!("question {i} {}", "q".repeat(40))));
        let mut call = Message::new(Role::Assistant, Content::None);
        call.tool_calls.push(ToolCall { id: format!("call_{i}"), name: "lookup".into(), arguments: "{\"q\":1}".into() });
        m.push(call);
        let mut result = text(Role::Tool, &"r".repeat(80));
        result.tool_call_id = Some(format!("call_{i}"));
        m.push(result);
        m.push(text(Role::Assistant, &format!("answer {i}")));
    }
    m
}

/// Every tool result in `out` follows the assistant message that made its call.
fn calls_kept_with_results(out: &[Message]) -> bool {
    out.iter().enumerate().all(|(i, m)| {
        let Some(id) = &m.tool_call_id else { return true };
        out[..i]
            .iter()
            .rev()
            .take_while(|p| p.role == Role::Tool || !p.tool_calls.is_empty())
            .any(|p| p.tool_calls.iter().any(|c| &c.id == id))
    })
}

proptest! {
    #[test]
    fn truncation_never_separates_a_call_from_its_result(turns in 2usize..30, budget in 50u64..3_000) {
        let m = tool_chat(turns);
        if let Fitting::Truncated(out, _) = plan(&m, &[], budget, Fit::TruncateMiddle, "s", 4) {
            prop_assert!(calls_kept_with_results(&out));
            prop_assert!(total(&out) <= budget);
        }
    }

    #[test]
    fn summaries_fit_and_never_separate_a_call_from_its_result(turns in 2usize..30, budget in 300u64..3_000) {
        let m = tool_chat(turns);
        if let Fitting::Summarize(p) = plan(&m, &[], budget, Fit::Summarize, "s", 2) {
            let (cut, _) = p.cuts.last().cloned().unwrap();
            let summary = "s".repeat(4 * p.summary_tokens as usize);
            let out = apply_summary(&m, p.head, cut, &summary);
            prop_assert!(calls_kept_with_results(&out));
            prop_assert!(total(&out) <= budget, "{} > {budget}", total(&out));
        }
    }

    #[test]
    fn block_cuts_depend_only_on_what_precedes_them(turns in 4usize..60, extra in 1usize..20, bytes in 10usize..400) {
        let long = chat(turns + extra, bytes);
        let short = &long[..1 + 2 * turns];
        let budget = 2_000;
        let (Fitting::Summarize(a), Fitting::Summarize(b)) =
            (plan(short, &[], budget, Fit::Summarize, "s", 0), plan(&long, &[], budget, Fit::Summarize, "s", 0))
        else { return Ok(()) };
        // Every block cut the shorter conversation used is one the longer one uses too.
        for c in &a.cuts[..a.cuts.len() - 1] {
            prop_assert!(b.cuts.contains(c));
        }
    }
}

#[test]
fn a_growing_conversation_needs_far_fewer_summaries_than_turns() {
    // 200 turns against an 8k window, summaries cached by key as the gateway does.
    let budget = input_budget(8_192, Some(512), None);
    let mut stored: Vec<String> = Vec::new();
    let mut calls = 0;
    let mut m = vec![text(Role::System, "Be brief.")];
    for i in 0..200 {
        m.push(text(Role::User, &format!("turn {i}: {}", "word ".repeat(40))));
        match plan(&m, &[], budget, Fit::Summarize, "cheap", 4) {
            Fitting::Fits => {}
            Fitting::Summarize(p) => {
                for (_, key) in &p.cuts {
                    if !stored.contains(key) {
                        calls += 1;
                        stored.push(key.clone());
                    }
                }
                let (cut, _) = p.cuts.last().cloned().unwrap();
                let out = apply_summary(&m, p.head, cut, &"s".repeat(4 * p.summary_tokens as usize));
                assert!(total(&out) <= budget);
            }
            other => panic!("turn {i}: {other:?}"),
        }
        m.push(text(Role::Assistant, &format!("reply {i}: {}", "text ".repeat(60))));
    }
    assert!((1..=25).contains(&calls), "{calls} summary calls for 200 turns");
}

#[test]
fn summary_keys_depend_on_the_summarizer_and_the_prefix() {
    let m = chat(40, 200);
    let plan_with = |s: &str| match plan(&m, &[], 3_000, Fit::Summarize, s, 4) {
        Fitting::Summarize(p) => p,
        other => panic!("{other:?}"),
    };
    let (a, b) = (plan_with("one"), plan_with("two"));
    assert_eq!(a.cuts.iter().map(|c| c.0).collect::<Vec<_>>(), b.cuts.iter().map(|c| c.0).collect::<Vec<_>>());
    assert_ne!(a.cuts[0].1, b.cuts[0].1);
    assert!(a.cuts.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1));
}

#[test]
fn the_summary_request_carries_the_previous_summary_and_the_block() {
    let m = tool_chat(30);
    let Fitting::Summarize(p) = plan(&m, &[], 1_000, Fit::Summarize, "cheap", 2) else { panic!("no plan") };
    assert!(p.cuts.len() >= 2);
    let first = summary_request("cheap", &p, &m, 0, None);
    assert_eq!(first.model, "cheap");
    assert_eq!(first.max_output_tokens, Some(p.summary_tokens));
    let body = first.messages[1].content.text();
    assert!(body.starts_with("Conversation:\nUSER: question 0"));
    assert!(body.contains("ASSISTANT called lookup({\"q\":1})"));
    let second = summary_request("cheap", &p, &m, 1, Some("EARLIER"));
    let body = second.messages[1].content.text();
    assert!(body.starts_with("Summary so far:\nEARLIER\n"));
    assert!(!body.contains("question 0 "));
}

#[test]
fn the_summary_follows_the_system_messages() {
    let m = chat(3, 10);
    let out = apply_summary(&m, 1, 5, "gist");
    assert_eq!(out.len(), 4);
    assert_eq!(out[0], m[0]);
    assert_eq!(out[1].content.text(), format!("{SUMMARY_PREFIX}gist"));
    assert_eq!(out[2..], m[5..]);
}
