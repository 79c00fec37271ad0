//! Canonical chat types: what a request, a response, usage and a stream event *mean*,
//! independent of any vendor's JSON. Dialects decode into these; providers encode from them.
//!
//! Invariants:
//! - Every field a caller can send that changes the answer has a home here (the cache key
//!   destructures `ChatRequest` exhaustively, so a new field forces a decision there).
//! - `extra` carries fields no canonical field covers; only an upstream that speaks the
//!   caller's own dialect receives it.
//! - `raw`, set only by the Anthropic and Responses decoders, is the caller's whole request
//!   object as received; the canonical fields were decoded from it and say the same thing. Only
//!   an upstream of the caller's own wire reads it (an Anthropic request is `raw` with surgical
//!   edits, see `providers::anthropic`; a Responses one `raw` with its model set), so
//!   fields the canonical form cannot hold (`cache_control`, citations, thinking signatures,
//!   `is_error`, reasoning items, ...) reach it intact.

use crate::core::util::vecmap::VecMap;
use serde_json::{Map, Value};

/// A wire format: what a caller speaks, or what an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by every
    /// OpenAI-compatible upstream. Reference: <https://platform.openai.com/docs/api-reference/chat>
    OpenAi,
    /// Anthropic Messages (`POST /v1/messages`). Reference: <https://docs.anthropic.com/en/api/messages>
    Anthropic,
    /// OpenAI's legacy Completions (`POST /v1/completions`): a caller API only, decoded to a
    /// chat request with one user message and answered as `text_completion` objects; never an
    /// upstream wire. Reference: <https://platform.openai.com/docs/api-reference/completions>
    Completions,
    /// OpenAI's Responses API (`POST /v1/responses`): a caller API, decoded to a chat request
    /// and answered as `response` objects and their named stream events; an upstream wire only
    /// for OpenAI providers with `responses_api` set, which receive the caller's own request
    /// (see `providers::responses`). Reference: <https://platform.openai.com/docs/api-reference/responses>
    Responses,
    /// Google's Gemini `generateContent`: an upstream wire only. No caller path decodes it, and
    /// the dialect functions treat it as OpenAI. Reference: <https://ai.google.dev/api/generate-content>
    Gemini,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions from the application (OpenAI `system`; Anthropic's top-level `system` decodes
    /// to a leading message of this role).
    System,
    /// OpenAI's `developer` role, the newer name for system instructions; sent as `system` to
    /// servers that lack it and lifted into the system text for Anthropic and Gemini.
    Developer,
    /// The end user's turn.
    User,
    /// The model's turn, possibly with tool calls.
    Assistant,
    /// The result of a tool call, answering the call named by `tool_call_id` (Anthropic's
    /// `tool_result` blocks decode to messages of this role).
    Tool,
}

impl Role {
    /// The role as OpenAI writes it (`system`, `developer`, `user`, `assistant`, `tool`).
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
    /// A text part.
    Text(String),
    /// An image by URL or `data:` URI; `detail` is `auto`, `low` or `high` when given.
    Image {
        /// An `http(s)` URL or a `data:<media type>;base64,<data>` URI (Anthropic's base64 image
        /// sources decode to the latter).
        url: String,
        /// OpenAI's `image_url.detail`; only OpenAI-family upstreams receive it.
        detail: Option<String>,
    },
    /// A part kind the gateway does not interpret (audio, file, ...), kept verbatim.
    Other(Value),
}

impl Part {
    /// An Anthropic `thinking` or `redacted_thinking` block carried in history: the model's own
    /// reasoning, meaningful (and signed) only for Anthropic upstreams. Other upstreams reject
    /// it, so their encoders leave it out.
    pub fn is_anthropic_reasoning(&self) -> bool {
        matches!(self, Part::Other(v) if matches!(v.get("type").and_then(Value::as_str), Some("thinking" | "redacted_thinking")))
    }
}

/// Message content: absent (an assistant turn with only tool calls), a plain string, or parts.
/// The string form is kept apart from a single text part so re-encoding is faithful.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Content {
    /// No content: an assistant turn with only tool calls.
    #[default]
    None,
    /// Content sent as a plain string.
    Text(String),
    /// Content sent as an array of parts, in order.
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
    /// The call's id as the model's vendor issued it (OpenAI `call_…`, Anthropic `toolu_…`; for
    /// Gemini, which has none, made from the call's position). A [`Role::Tool`] message's
    /// `tool_call_id` answers it.
    pub id: String,
    /// Name of the function called, one of the request's [`Tool::name`]s.
    pub name: String,
    /// JSON text of the arguments, exactly as the model produced it.
    pub arguments: String,
}

/// One message of a conversation, in the caller's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it says; [`Content::None`] when the message had none (an assistant turn that
    /// carries only tool calls).
    pub content: Content,
    /// OpenAI's optional participant `name`; only OpenAI-family upstreams receive it.
    pub name: Option<String>,
    /// The calls the model made in this turn, in order (meaningful on [`Role::Assistant`]
    /// turns); empty when none.
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the call this message answers.
    pub tool_call_id: Option<String>,
    /// An assistant refusal carried in history.
    pub refusal: Option<String>,
}

impl Message {
    /// A message with only a role and content: no name, tool calls, call id or refusal.
    pub fn new(role: Role, content: Content) -> Self {
        Message { role, content, name: None, tool_calls: Vec::new(), tool_call_id: None, refusal: None }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The function's name, as the model will call it.
    pub name: String,
    /// What the function does, for the model.
    pub description: Option<String>,
    /// JSON Schema of the parameters.
    pub parameters: Option<Value>,
    /// OpenAI's `function.strict` (arguments must follow the schema exactly); only OpenAI-family
    /// upstreams receive it.
    pub strict: Option<bool>,
}

/// Whether and which tools the model must call (OpenAI `tool_choice`, Anthropic
/// `tool_choice.type`, Gemini `functionCallingConfig.mode`).
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// Call no tool (Anthropic `none`, Gemini `NONE`).
    None,
    /// The model decides (Anthropic `auto`, Gemini `AUTO`).
    Auto,
    /// Call at least one tool (Anthropic `any`, Gemini `ANY`).
    Required,
    /// Call the named function (Anthropic `tool`, Gemini `ANY` with `allowedFunctionNames`).
    Function(String),
}

/// The answer's required format, from OpenAI's `response_format` or Anthropic's
/// `output_config.format`. Gemini gets a JSON response MIME type (and schema); an Anthropic
/// upstream gets the Anthropic caller's own `output_config` unchanged, and for other callers a
/// system instruction.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Plain text: the default.
    Text,
    /// Any single JSON object ("JSON mode").
    JsonObject,
    /// JSON matching a schema ("structured outputs"), as OpenAI's `json_schema` object gives it.
    JsonSchema {
        /// The schema's name (`json_schema.name`), required by OpenAI.
        name: String,
        /// The JSON Schema itself; converted to Gemini's OpenAPI subset before it is sent there.
        schema: Option<Value>,
        /// OpenAI's `json_schema.strict`: the output must follow the schema exactly.
        strict: Option<bool>,
        /// What the format is for, for the model.
        description: Option<String>,
    },
}

/// OpenAI's `reasoning_effort` for reasoning models, or Anthropic's `output_config.effort`
/// (`xhigh` and `max` read as [`High`](Self::High)); only OpenAI-family upstreams receive it
/// as such (an Anthropic upstream gets the Anthropic caller's `output_config` unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    /// `none`: no reasoning at all (OpenAI's newer reasoning models).
    None,
    /// `minimal`: the fewest reasoning tokens.
    Minimal,
    /// `low`.
    Low,
    /// `medium`: OpenAI's default.
    Medium,
    /// `high`: the most reasoning tokens.
    High,
}

impl ReasoningEffort {
    /// The effort for its wire name; `None` for any other string.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "minimal" => Self::Minimal,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            _ => return None,
        })
    }
    /// The wire name, as [`parse`](Self::parse) reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
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
    /// `max_tokens` (also what Anthropic callers send).
    MaxTokens,
    /// `max_completion_tokens`, OpenAI's newer name.
    MaxCompletionTokens,
}

/// Sampling controls. Numbers stay `f64` as sent: they are passed on, never computed with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sampling {
    /// Sampling temperature (OpenAI 0 to 2, Anthropic 0 to 1: capped at 1 for Anthropic
    /// upstreams).
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, 0 to 1.
    pub top_p: Option<f64>,
    /// Anthropic and Gemini only; OpenAI-family upstreams do not receive it.
    pub top_k: Option<u32>,
    /// OpenAI's presence penalty, -2 to 2 (Gemini `presencePenalty`; not sent to Anthropic).
    pub presence_penalty: Option<f64>,
    /// OpenAI's frequency penalty, -2 to 2 (Gemini `frequencyPenalty`; not sent to Anthropic).
    pub frequency_penalty: Option<f64>,
    /// Seed for best-effort deterministic sampling (OpenAI, Gemini; not sent to Anthropic).
    pub seed: Option<i64>,
    /// Stop sequences (OpenAI: at most 4); empty when none.
    pub stop: Vec<String>,
    /// Whether `stop` was a bare string (kept for faithful re-encoding).
    pub stop_was_string: bool,
    /// OpenAI's `logit_bias`: token id (as a decimal string) to a bias from -100 to 100;
    /// only OpenAI-family upstreams receive it.
    pub logit_bias: VecMap<String, serde_json::Number>,
    /// How many choices to generate (at least 1; Gemini `candidateCount`; Anthropic refuses more
    /// than 1).
    pub n: Option<u32>,
}

/// A chat request in canonical form, whichever dialect the caller spoke. A caller's request
/// is built by its dialect's decoder, which checks every field it fills.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The public model name the caller asked for.
    pub model: String,
    /// The conversation in order, system messages included (a decoded request has at least
    /// one message).
    pub messages: Vec<Message>,
    /// Functions the model may call; empty when none.
    pub tools: Vec<Tool>,
    /// Whether and which tools must be called (absent: the upstream's default, normally auto).
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may make several calls in one turn (OpenAI `parallel_tool_calls`,
    /// Anthropic the negation of `tool_choice.disable_parallel_tool_use`).
    pub parallel_tool_calls: Option<bool>,
    /// Required answer format (absent: text).
    pub response_format: Option<ResponseFormat>,
    /// Sampling controls.
    pub sampling: Sampling,
    /// Cap on output tokens, from whichever field `max_tokens_field` names (absent: the
    /// upstream's default; Anthropic, which requires one, gets the model's configured cap).
    pub max_output_tokens: Option<u32>,
    /// Which field carried the cap, so OpenAI-family upstreams get the same one.
    pub max_tokens_field: MaxTokensField,
    /// How much the model should reason (OpenAI `reasoning_effort`, Anthropic
    /// `output_config.effort`; sent as `reasoning_effort` to OpenAI-family upstreams only).
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Whether the caller asked for a server-sent-event stream.
    pub stream: bool,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
    /// The caller's end-user id (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    /// OpenAI's `metadata` string map; only OpenAI-family upstreams receive it.
    pub metadata: VecMap<String, String>,
    /// The dialect the caller spoke.
    pub dialect: Dialect,
    /// Fields with no canonical home, in `dialect`'s terms: passed through untouched to
    /// upstreams that speak the same wire format, dropped for the others.
    pub extra: Map<String, Value>,
    /// The caller's headers that the gateway's allow-list forwards (today `anthropic-beta`,
    /// to Anthropic upstreams), as (lowercase name, value); each upstream gets those meant
    /// for its wire. Empty when decoded: the front door fills it from the inbound headers.
    pub forwarded_headers: Vec<(String, String)>,
    /// The caller's request object exactly as sent, when the caller spoke Anthropic or the
    /// Responses API (`None` for every other dialect). An Anthropic upstream receives an
    /// Anthropic caller's with surgical edits only; code that changes a canonical field an
    /// Anthropic upstream must see changed has to change it here too (see the module doc). A
    /// Responses caller's is what its answers echo, and what a Responses upstream receives.
    pub raw: Option<Map<String, Value>>,
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end or a stop sequence (OpenAI `stop`, Anthropic `end_turn`/`stop_sequence`,
    /// Gemini `STOP`).
    Stop,
    /// The output cap or context window was reached (OpenAI `length`, Anthropic `max_tokens`,
    /// Gemini `MAX_TOKENS`).
    Length,
    /// The model called tools (OpenAI `tool_calls`, Anthropic `tool_use`, Gemini `STOP` with
    /// function calls).
    ToolCalls,
    /// A safety or content filter stopped it (OpenAI `content_filter`, Anthropic `refusal`,
    /// Gemini `SAFETY` and kin).
    ContentFilter,
    /// A value the gateway does not know, kept verbatim.
    Other(String),
}

impl FinishReason {
    /// The reason as OpenAI writes it; an unknown reason as received.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }
    /// The reason for an OpenAI `finish_reason` (the deprecated `function_call` reads as
    /// [`FinishReason::ToolCalls`]); any other string is kept as [`FinishReason::Other`].
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
    /// All input tokens, cached and cache-written ones included (Anthropic's `input_tokens`,
    /// which excludes them, has them added back).
    pub input_tokens: u64,
    /// All output tokens, reasoning ones included.
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

/// One generated answer of a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Its position among the choices, from 0.
    pub index: u32,
    /// The answer text; `None` when the model only called tools.
    pub content: Option<String>,
    /// The model's refusal message (OpenAI structured outputs), when it declined.
    pub refusal: Option<String>,
    /// The calls the model made, in order; empty when none.
    pub tool_calls: Vec<ToolCall>,
    /// Why generation stopped; `None` when the upstream did not say.
    pub finish_reason: Option<FinishReason>,
}

/// A complete (non-streamed, or reassembled) answer in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The upstream's id for the answer, as it gave it (OpenAI `chatcmpl-…`, Anthropic `msg_…`,
    /// Gemini `responseId`; the mock's `chatcmpl-mock-…`).
    pub id: String,
    /// The upstream model that produced it.
    pub model: String,
    /// Creation time, Unix seconds, as the upstream reported it; 0 when it reports none
    /// (Anthropic, Gemini), which the exchange replaces with the request's time before a
    /// caller sees it.
    pub created: u64,
    /// The choices, in index order.
    pub choices: Vec<Choice>,
    /// Token counts; `None` when the upstream reported none.
    pub usage: Option<Usage>,
}

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Metadata known at the start.
    Start {
        /// The upstream's id for the answer, as [`ChatResponse::id`].
        id: String,
        /// The upstream model that answers, as [`ChatResponse::model`].
        model: String,
        /// Creation time, Unix seconds, as [`ChatResponse::created`].
        created: u64,
    },
    /// Assistant text for choice `index`.
    TextDelta {
        /// The choice the text belongs to.
        index: u32,
        /// Text to append.
        text: String,
    },
    /// A fragment of tool call `call_index` in choice `index`. `id` and `name` arrive once.
    ToolCallDelta {
        /// The choice the call belongs to.
        index: u32,
        /// The call's position within the choice's calls, from 0.
        call_index: u32,
        /// The call's id, in the call's first fragment only.
        id: Option<String>,
        /// The function's name, in the call's first fragment only.
        name: Option<String>,
        /// A fragment of the arguments' JSON text, to append (may be empty).
        arguments: String,
    },
    /// Choice `index` finished.
    Finish {
        /// The choice that finished.
        index: u32,
        /// Why it stopped.
        reason: FinishReason,
    },
    /// Token counts of the whole answer, normally near the end; a later one replaces an
    /// earlier one.
    Usage(Usage),
    /// The upstream reported an error mid-stream.
    Error {
        /// What went wrong, already sanitised of anything the caller must not see.
        message: String,
    },
    /// The upstream signalled a clean end.
    Done,
}
