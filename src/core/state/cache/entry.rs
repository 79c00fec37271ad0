//! The stored entry: a complete answer with what a hit's headers and analytics need, its
//! freshness, what may be stored at all ([`storable`]), and its versioned JSON in KV, which
//! reads back as a miss when it is not this version's (see the invariants in [`super`]).

use crate::core::types::*;
use serde::Serialize;

/// Version of the stored entry's JSON.
const ENTRY_VERSION: u32 = 1;

/// A stored answer, with what the hit's headers and analytics need.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The answer, complete ([`storable`]).
    pub response: ChatResponse,
    /// When it was stored.
    pub created_ms: u64,
    /// Its lifetime, seconds.
    pub ttl_s: u32,
    /// The provider that answered.
    pub provider: String,
    /// The upstream model that answered.
    pub upstream_model: String,
    /// What the answer cost when it was made (a hit costs nothing).
    pub cost_nano_usd: u64,
}

/// How old an entry is against its TTL and a stale window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within its TTL: a hit.
    Fresh {
        /// Seconds since the entry was stored (the `age` header of a hit).
        age_s: u32,
    },
    /// Past its TTL, within the stale window: fit as a fallback when no upstream answers.
    Stale {
        /// Seconds since the entry was stored (the `age` header when it is served).
        age_s: u32,
    },
    /// Past its TTL and the stale window: a miss.
    Expired,
}

/// Freshness of `entry` at `now_ms`. A creation time in the future (clock skew) counts as age 0.
pub fn fresh(entry: &Entry, now_ms: u64, max_stale_s: u32) -> Freshness {
    let age_ms = now_ms.saturating_sub(entry.created_ms);
    let age_s = u32::try_from(age_ms / 1000).unwrap_or(u32::MAX);
    let ttl_ms = u64::from(entry.ttl_s) * 1000;
    if age_ms < ttl_ms {
        Freshness::Fresh { age_s }
    } else if age_ms < ttl_ms + u64::from(max_stale_s) * 1000 {
        Freshness::Stale { age_s }
    } else {
        Freshness::Expired
    }
}

/// Whether an answer is complete enough to store: every choice, in index order, ends in `stop`
/// with text or tool calls, or in `tool_calls` with named calls, and carries no refusal.
/// Missing or estimated usage is fine.
pub fn storable(resp: &ChatResponse) -> bool {
    !resp.choices.is_empty() && resp.choices.iter().enumerate().all(|(i, c)| complete(i, c))
}

fn complete(position: usize, c: &Choice) -> bool {
    let Choice { index, content, refusal, tool_calls, finish_reason } = c;
    let has_text = content.as_deref().is_some_and(|t| !t.is_empty());
    let calls_named = tool_calls.iter().all(|t| !t.name.is_empty());
    let finished = match finish_reason {
        Some(FinishReason::Stop) => has_text || !tool_calls.is_empty(),
        Some(FinishReason::ToolCalls) => !tool_calls.is_empty(),
        _ => false,
    };
    *index as usize == position && refusal.is_none() && calls_named && finished
}

#[derive(Serialize)]
struct EntryWire {
    v: u32,
    created_ms: u64,
    ttl_s: u32,
    provider: String,
    upstream_model: String,
    cost_nano_usd: u64,
    id: String,
    model: String,
    created: u64,
    choices: Vec<ChoiceWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageWire>,
}

crate::de_struct!(
    EntryWire,
    required,
    deny { v, created_ms, ttl_s, provider, upstream_model, cost_nano_usd, id, model, created, choices, usage: default }
);

#[derive(Serialize)]
struct ChoiceWire {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<String>,
    tool_calls: Vec<[String; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<String>,
}

crate::de_struct!(ChoiceWire, required, deny { index, content: default, refusal: default, tool_calls, finish_reason: default });

#[derive(Serialize)]
struct UsageWire {
    input: u64,
    output: u64,
    cached_input: u64,
    cache_write: u64,
    reasoning: u64,
    estimated: bool,
}

crate::de_struct!(UsageWire, required, deny { input, output, cached_input, cache_write, reasoning, estimated });

impl Entry {
    /// Compact JSON for KV.
    pub fn to_json(&self) -> String {
        let Entry { response, created_ms, ttl_s, provider, upstream_model, cost_nano_usd } = self;
        let ChatResponse { id, model, created, choices, usage } = response;
        let wire = EntryWire {
            v: ENTRY_VERSION,
            created_ms: *created_ms,
            ttl_s: *ttl_s,
            provider: provider.clone(),
            upstream_model: upstream_model.clone(),
            cost_nano_usd: *cost_nano_usd,
            id: id.clone(),
            model: model.clone(),
            created: *created,
            choices: choices.iter().map(choice_to_wire).collect(),
            usage: usage.as_ref().map(usage_to_wire),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// An entry from KV; `None` (a miss) for anything not written by this version.
    pub fn from_json(text: &str) -> Option<Entry> {
        let w: EntryWire = serde_json::from_slice(text.as_bytes()).ok().filter(|w: &EntryWire| w.v == ENTRY_VERSION)?;
        let response = ChatResponse {
            id: w.id,
            model: w.model,
            created: w.created,
            choices: w.choices.into_iter().map(choice_from_wire).collect(),
            usage: w.usage.map(usage_from_wire),
        };
        let (provider, upstream_model) = (w.provider, w.upstream_model);
        Some(Entry { response, created_ms: w.created_ms, ttl_s: w.ttl_s, provider, upstream_model, cost_nano_usd: w.cost_nano_usd })
    }
}

fn choice_to_wire(c: &Choice) -> ChoiceWire {
    let Choice { index, content, refusal, tool_calls, finish_reason } = c;
    ChoiceWire {
        index: *index,
        content: content.clone(),
        refusal: refusal.clone(),
        tool_calls: tool_calls.iter().map(|ToolCall { id, name, arguments }| [id.clone(), name.clone(), arguments.clone()]).collect(),
        finish_reason: finish_reason.as_ref().map(|f| f.as_str().to_string()),
    }
}

fn choice_from_wire(c: ChoiceWire) -> Choice {
    Choice {
        index: c.index,
        content: c.content,
        refusal: c.refusal,
        tool_calls: c.tool_calls.into_iter().map(|[id, name, arguments]| ToolCall { id, name, arguments }).collect(),
        finish_reason: c.finish_reason.as_deref().map(FinishReason::parse),
    }
}

fn usage_to_wire(u: &Usage) -> UsageWire {
    let Usage { input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, estimated } = *u;
    UsageWire {
        input: input_tokens,
        output: output_tokens,
        cached_input: cached_input_tokens,
        cache_write: cache_write_tokens,
        reasoning: reasoning_tokens,
        estimated,
    }
}

fn usage_from_wire(u: UsageWire) -> Usage {
    Usage {
        input_tokens: u.input,
        output_tokens: u.output,
        cached_input_tokens: u.cached_input,
        cache_write_tokens: u.cache_write,
        reasoning_tokens: u.reasoning,
        estimated: u.estimated,
    }
}
