//! Context fitting settings for a route (`routes[].context`, README "Context fitting"): what
//! the gateway does when a conversation is longer than the smallest known context window of
//! the route's targets.
//!
//! ```json
//! "context": {"fit": "summarize", "summarizer": "gpt-4o-mini", "keep_last_turns": 4}
//! ```

/// What to do with a conversation that does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Refuse it with a 400 (`context_too_long`) before any upstream call.
    Error,
    /// Drop whole turns from the middle (after the first turn, before the last ones).
    TruncateMiddle,
    /// Replace older turns by a summary made once per prefix by the `summarizer` model.
    Summarize,
}

crate::de_enum!(Fit { Error = "error", TruncateMiddle = "truncate_middle", Summarize = "summarize" });

/// A route's context fitting (`routes[].context`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextConfig {
    /// What to do when the conversation is too long.
    pub fit: Fit,
    /// The public model that writes summaries (required for `summarize`); a cheap one.
    pub summarizer: Option<String>,
    /// Recent turns kept verbatim whenever the conversation can fit with them (default 4).
    pub keep_last_turns: u32,
}

crate::de_struct!(
    ContextConfig,
    required,
    deny { fit: required(Fit::Error), summarizer: default, keep_last_turns: default(default_keep()) }
);

fn default_keep() -> u32 {
    4
}

impl ContextConfig {
    /// What is wrong with these settings on their own, if anything (the summarizer's name is
    /// checked against the models by validation).
    pub fn problem(&self) -> Option<&'static str> {
        if self.fit == Fit::Summarize && self.summarizer.is_none() {
            return Some("fit \"summarize\" needs a summarizer model");
        }
        (self.keep_last_turns > 1_000).then_some("keep_last_turns must be at most 1000")
    }
}
