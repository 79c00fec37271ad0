//! Canonical chat types: what a request, a response, usage and a stream event *mean*,
//! independent of any vendor's JSON. Dialects decode into these; providers encode from them.
//!
//! Invariants:
//! - Every field a caller can send that changes the answer has a home here (the cache key
//!   destructures `ChatRequest` exhaustively, so a new field forces a decision there).
//! - `extra` carries fields no canonical field covers; only OpenAI-family upstreams receive it.

use crate::core::util::vecmap::VecMap;
use serde_json::{Map, Value};

/// A wire format: what a caller speaks, or what an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One piece of message content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// An image by URL or `data:` URI; `detail` is `auto`, `low` or `high` when given.
    Image {
        url: String,
        detail: Option<String>,
    },
    /// A part kind the gateway does not interpret (audio, file, ...), kept verbatim.
    Other(Value),
}

/// Message content: absent (an assistant turn with only tool calls), a plain string, or parts.
/// The string form is kept apart from a single text part so re-encoding is faithful.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Content {
    #[default]
    None,
    Text(String),
    Parts(Vec<Part>),
}

impl Content {
    /// All text in the content, parts joined without separator.
    pub fn text(&self) -> String {
        match self {
            Content::None => String::new(),
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// A function call requested by the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text of the arguments, exactly as the model produced it.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Content,
    pub name: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the call this message answers.
    pub tool_call_id: Option<String>,
    /// An assistant refusal carried in history.
    pub refusal: Option<String>,
}

impl Message {
    pub fn new(role: Role, content: Content) -> Self {
        Message { role, content, name: None, tool_calls: Vec::new(), tool_call_id: None, refusal: None }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the parameters.
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    None,
    Auto,
    Required,
    Function(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Option<Value>, strict: Option<bool>, description: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    Minimal,
    Low,
    Medium,
    High,
}

impl ReasoningEffort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "minimal" => Self::Minimal,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Which field the caller used for the output cap; kept so the upstream sees the same one
/// (reasoning models reject `max_tokens`, older OpenAI-compatible servers ignore the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    MaxTokens,
    MaxCompletionTokens,
}

/// Sampling controls. Numbers stay `f64` as sent: they are passed on, never computed with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sampling {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Anthropic and Gemini only; OpenAI-family upstreams do not receive it.
    pub top_k: Option<u32>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub seed: Option<i64>,
    pub stop: Vec<String>,
    /// Whether `stop` was a bare string (kept for faithful re-encoding).
    pub stop_was_string: bool,
    pub logit_bias: VecMap<String, serde_json::Number>,
    pub n: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The public model name the caller asked for.
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    pub sampling: Sampling,
    pub max_output_tokens: Option<u32>,
    pub max_tokens_field: MaxTokensField,
    pub reasoning_effort: Option<ReasoningEffort>,
    pub stream: bool,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
    pub user: Option<String>,
    pub metadata: VecMap<String, String>,
    /// The dialect the caller spoke.
    pub dialect: Dialect,
    /// Fields with no canonical home, in `dialect`'s terms: passed through untouched to
    /// upstreams that speak the same wire format, dropped for the others.
    pub extra: Map<String, Value>,
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    /// A value the gateway does not know, kept verbatim.
    Other(String),
}

impl FinishReason {
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            other => Self::Other(other.to_string()),
        }
    }
}

/// Token counts as reported by the upstream (or estimated, when flagged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache (a subset of `input_tokens`).
    pub cached_input_tokens: u64,
    /// Input tokens written to the provider's prompt cache.
    pub cache_write_tokens: u64,
    /// Reasoning tokens (a subset of `output_tokens`).
    pub reasoning_tokens: u64,
    /// True when counted by the gateway rather than reported by the upstream.
    pub estimated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub index: u32,
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<FinishReason>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub id: String,
    /// The upstream model that produced it.
    pub model: String,
    pub created: u64,
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
}

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Metadata known at the start.
    Start {
        id: String,
        model: String,
        created: u64,
    },
    /// Assistant text for choice `index`.
    TextDelta {
        index: u32,
        text: String,
    },
    /// A fragment of tool call `call_index` in choice `index`. `id` and `name` arrive once.
    ToolCallDelta {
        index: u32,
        call_index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// Choice `index` finished.
    Finish {
        index: u32,
        reason: FinishReason,
    },
    Usage(Usage),
    /// The upstream reported an error mid-stream.
    Error {
        message: String,
    },
    /// The upstream signalled a clean end.
    Done,
}
