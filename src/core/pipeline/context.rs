//! Context fitting: a conversation longer than its route's smallest known context window is
//! made to fit before it goes upstream (the route's `context`, README "Context fitting").
//!
//! - `error`: refused with a 400 `context_too_long`, no upstream call.
//! - `truncate_middle`: whole turns are dropped from the middle; the system messages, the
//!   first turn and as many of the latest turns as fit are kept.
//! - `summarize`: the turns before a cut are replaced by one summary written by the route's
//!   `summarizer` model. Cuts fall on fixed "block" boundaries of the conversation (every
//!   half input budget of tokens, at a turn's start), which depend only on what precedes them,
//!   so a growing conversation meets the same cuts again: each block's summary is written once,
//!   from the previous block's summary and the block's own turns, and stored under a hash of
//!   everything before its cut. A conversation therefore costs about one summary call per
//!   half window of text, however many turns it has.
//!
//! Invariants: a turn starts at a user message and holds everything up to the next one, so a
//! tool call and its results are never separated; leading system messages are always kept;
//! nothing is changed for a conversation that fits.
//!
//! Token counts are estimates (no tokenizer runs in the gateway): a third of a token per byte
//! of text, which over-counts English (about four bytes a token) and so errs on the side of
//! fitting.

use crate::core::state::cache::messages_hash;
use crate::core::types::{ChatRequest, Content, Dialect, MaxTokensField, Message, Part, Role, Sampling, Tool};

/// Version and domain of the summary keys: a change in how summaries are written changes it.
const SUMMARY_KEY_TAG: &str = "summary-v1";

/// Tokens counted for an image part, whatever its size (the largest the major vendors bill).
const IMAGE_TOKENS: u64 = 1_600;

/// Tokens each message costs beyond its text (role and framing).
const MESSAGE_TOKENS: u64 = 4;

/// The text that introduces a summary in the fitted conversation.
pub const SUMMARY_PREFIX: &str =
    "Summary of the earlier part of this conversation (older turns were condensed to fit the context window):\n";

/// Estimated tokens of a run of text.
fn text_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(3)
}

/// Estimated input tokens of one message.
pub fn message_tokens(m: &Message) -> u64 {
    let content = match &m.content {
        Content::None => 0,
        Content::Text(t) => text_tokens(t.len()),
        Content::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => text_tokens(t.len()),
                Part::Image { .. } => IMAGE_TOKENS,
                Part::Other(v) => text_tokens(v.to_string().len()),
            })
            .sum(),
    };
    let calls: u64 = m.tool_calls.iter().map(|c| text_tokens(c.name.len() + c.arguments.len() + c.id.len())).sum();
    MESSAGE_TOKENS + content + calls + m.refusal.as_ref().map_or(0, |r| text_tokens(r.len()))
}

/// Estimated input tokens of the tools' definitions.
pub fn tools_tokens(tools: &[Tool]) -> u64 {
    tools
        .iter()
        .map(|t| {
            let params = t.parameters.as_ref().map_or(0, |p| p.to_string().len());
            MESSAGE_TOKENS + text_tokens(t.name.len() + t.description.as_ref().map_or(0, String::len) + params)
        })
        .sum()
}

/// Tokens a target leaves for the input: its window less the output it may write (the
/// request's cap, else the model's configured cap, else a quarter of the window).
pub fn input_budget(window: u32, request_cap: Option<u32>, model_cap: Option<u32>) -> u64 {
    let out = request_cap.or(model_cap).unwrap_or(window / 4).min(window / 2);
    u64::from(window - out)
}

/// How many leading messages are system instructions (kept whatever happens).
fn head_len(messages: &[Message]) -> usize {
    messages.iter().position(|m| !matches!(m.role, Role::System | Role::Developer)).unwrap_or(messages.len())
}

/// Where each turn starts, from `head` on: the first message after the head and every user
/// message after it.
fn turn_starts(messages: &[Message], head: usize) -> Vec<usize> {
    (head..messages.len()).filter(|&i| i == head || messages[i].role == Role::User).collect()
}

/// What fitting decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fitting {
    /// It fits: sent as it is.
    Fits,
    /// Nothing the route allows makes it fit (or its fit is `error`).
    TooLong {
        /// The conversation's estimated input tokens.
        estimated: u64,
        /// The tokens the smallest window leaves for input.
        budget: u64,
    },
    /// `truncate_middle`: the messages to send instead, with how many were dropped.
    Truncated(Vec<Message>, usize),
    /// `summarize`: the plan to carry out.
    Summarize(SummaryPlan),
}

/// The summaries a request needs: the block cuts up to the one it uses, each with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryPlan {
    /// Leading system messages, kept.
    pub head: usize,
    /// `(message index, key)` of every block cut up to and including the one used, in order.
    /// The summary at a cut covers every turn before it.
    pub cuts: Vec<(usize, String)>,
    /// The most tokens a summary may take.
    pub summary_tokens: u32,
}

/// What to do with `messages` (and `tools`) when `budget` tokens are left for input.
pub fn plan(messages: &[Message], tools: &[Tool], budget: u64, fit: crate::core::config::Fit, summarizer: &str, keep_last: u32) -> Fitting {
    use crate::core::config::Fit;
    let sizes: Vec<u64> = messages.iter().map(message_tokens).collect();
    let fixed = tools_tokens(tools);
    let estimated = fixed + sizes.iter().sum::<u64>();
    if estimated <= budget {
        return Fitting::Fits;
    }
    let too_long = Fitting::TooLong { estimated, budget };
    let head = head_len(messages);
    let starts = turn_starts(messages, head);
    if starts.len() < 2 {
        return too_long;
    }
    let fixed = fixed + sizes[..head].iter().sum::<u64>();
    let tail = |from: usize| sizes[from..].iter().sum::<u64>();
    match fit {
        Fit::Error => too_long,
        Fit::TruncateMiddle => truncate(messages, &sizes, &starts, fixed, budget).unwrap_or(too_long),
        Fit::Summarize => {
            let summary_tokens = (budget / 8).clamp(64, 2_048);
            let room = budget.saturating_sub(fixed + summary_reserve(summary_tokens));
            let blocks = block_cuts(&sizes, &starts, head, budget / 2);
            let kept_turns = |cut: usize| starts.iter().filter(|&&s| s >= cut).count() as u32;
            let fits = |cut: usize| tail(cut) <= room;
            let chosen = blocks
                .iter()
                .copied()
                .find(|&c| fits(c) && kept_turns(c) >= keep_last)
                .or_else(|| blocks.iter().copied().find(|&c| fits(c)))
                .or_else(|| starts[1..].iter().copied().find(|&c| fits(c)));
            let Some(cut) = chosen else { return too_long };
            let mut cuts: Vec<usize> = blocks.into_iter().filter(|&c| c < cut).collect();
            cuts.push(cut);
            let key = |c: usize| messages_hash(&format!("{SUMMARY_KEY_TAG}\n{summarizer}"), &messages[..c]);
            Fitting::Summarize(SummaryPlan {
                head,
                cuts: cuts.into_iter().map(|c| (c, key(c))).collect(),
                summary_tokens: summary_tokens as u32,
            })
        }
    }
}

/// What the summary message may take of the budget: its framing, and its text estimated at
/// up to 4.5 bytes for each token the summarizer may write.
fn summary_reserve(summary_tokens: u64) -> u64 {
    MESSAGE_TOKENS + text_tokens(SUMMARY_PREFIX.len()) + summary_tokens * 3 / 2
}

/// The block cuts: the first turn start at or past every multiple of `block` tokens after
/// the head. Each depends only on the messages before it.
fn block_cuts(sizes: &[u64], starts: &[usize], head: usize, block: u64) -> Vec<usize> {
    let block = block.max(1);
    let mut cuts = Vec::new();
    let (mut at, mut sum, mut next) = (head, 0u64, block);
    for &s in &starts[1..] {
        sum += sizes[at..s].iter().sum::<u64>();
        at = s;
        if sum >= next {
            cuts.push(s);
            next = (sum / block + 1) * block;
        }
    }
    cuts
}

/// The head, the first turn and the latest turns that fit; the first turn goes too when even
/// the last turn does not fit beside it. `None` when the last turn alone does not fit.
fn truncate(messages: &[Message], sizes: &[u64], starts: &[usize], fixed: u64, budget: u64) -> Option<Fitting> {
    let head = starts[0];
    let first_end = starts[1];
    let turn_sizes: Vec<u64> =
        starts.iter().enumerate().map(|(i, &s)| sizes[s..starts.get(i + 1).copied().unwrap_or(sizes.len())].iter().sum()).collect();
    let last = starts.len() - 1;
    for keep_first in [true, false] {
        let mut used = fixed + if keep_first { turn_sizes[0] } else { 0 };
        let mut from = starts.len();
        while from > 1 && used + turn_sizes[from - 1] <= budget {
            from -= 1;
            used += turn_sizes[from];
        }
        if from <= last {
            let mut out: Vec<Message> = messages[..head].to_vec();
            if keep_first {
                out.extend_from_slice(&messages[head..first_end]);
            }
            out.extend_from_slice(&messages[starts[from]..]);
            let dropped = messages.len() - out.len();
            return Some(Fitting::Truncated(out, dropped));
        }
    }
    None
}

/// The request that writes the summary at `plan.cuts[i]`, from the previous cut's summary
/// (`None` for the first) and the turns between the two cuts.
pub fn summary_request(summarizer: &str, plan: &SummaryPlan, messages: &[Message], i: usize, previous: Option<&str>) -> ChatRequest {
    let from = if i == 0 { plan.head } else { plan.cuts[i - 1].0 };
    let to = plan.cuts[i].0;
    let mut text = String::new();
    if let Some(p) = previous {
        text.push_str("Summary so far:\n");
        text.push_str(p);
        text.push_str("\n\nConversation that follows it:\n");
    } else {
        text.push_str("Conversation:\n");
    }
    for m in &messages[from..to] {
        transcript_line(m, &mut text);
    }
    let instructions = "You condense conversations between a user and an assistant. Write a concise summary of the \
        conversation below (merging it with the summary so far, when there is one) that keeps every fact, decision, \
        name, number, open question and tool result that later turns may need. Write only the summary.";
    instructed(summarizer, instructions.into(), text, plan.summary_tokens)
}

/// A request of the pipeline's own (a summary, a judge's score): `system` then `user`, at
/// temperature 0, whole, with at most `max_tokens` written.
pub fn instructed(model: &str, system: String, user: String, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        model: model.to_string(),
        messages: vec![Message::new(Role::System, Content::Text(system)), Message::new(Role::User, Content::Text(user))],
        tools: Vec::new(),
        tool_choice: None,
        parallel_tool_calls: None,
        response_format: None,
        sampling: Sampling { temperature: Some(0.0), ..Sampling::default() },
        max_output_tokens: Some(max_tokens),
        max_tokens_field: MaxTokensField::MaxTokens,
        reasoning_effort: None,
        stream: false,
        include_usage: false,
        user: None,
        metadata: Default::default(),
        dialect: Dialect::OpenAi,
        extra: Default::default(),
        forwarded_headers: Vec::new(),
        raw: None,
    }
}

/// One message as a transcript line: role, text, tool calls and results.
fn transcript_line(m: &Message, out: &mut String) {
    use std::fmt::Write;
    let who = match m.role {
        Role::System | Role::Developer => "SYSTEM",
        Role::User => "USER",
        Role::Assistant => "ASSISTANT",
        Role::Tool => "TOOL RESULT",
    };
    let text = m.content.text();
    if !text.is_empty() {
        let _ = writeln!(out, "{who}: {text}");
    }
    for c in &m.tool_calls {
        let _ = writeln!(out, "ASSISTANT called {}({})", c.name, c.arguments);
    }
}

/// The conversation with the turns before `cut` replaced by `summary`.
pub fn apply_summary(messages: &[Message], head: usize, cut: usize, summary: &str) -> Vec<Message> {
    let mut out: Vec<Message> = messages[..head].to_vec();
    out.push(Message::new(Role::System, Content::Text(format!("{SUMMARY_PREFIX}{summary}"))));
    out.extend_from_slice(&messages[cut..]);
    out
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
