//! Serde mirrors of Anthropic's Messages API responses, stream events and errors: data only,
//! lenient. Reference: <https://docs.anthropic.com/en/api/messages> and
//! <https://docs.anthropic.com/en/docs/build-with-claude/streaming>.

use serde_json::Value;

/// A non-streaming Messages API response (`type: "message"`), the body of a 200 from
/// `POST /v1/messages`. `content` is required: a 200 without it is malformed.
/// Reference: <https://docs.anthropic.com/en/api/messages>
#[derive(Debug)]
pub struct Message {
    /// The message id Anthropic assigned (`msg_…`); empty if absent.
    pub id: String,
    /// The model that answered, as Anthropic names it; empty if absent.
    pub model: String,
    /// The answer's content blocks in order: text and tool calls, plus kinds not modelled.
    pub content: Vec<Block>,
    /// Why generation stopped: `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`,
    /// `pause_turn`, `refusal` or a newer value, kept as text.
    pub stop_reason: Option<String>,
    /// Token counts of this message.
    pub usage: Usage,
}

crate::de_struct!(Message, required, skip { id: default, model: default, content, stop_reason: default, usage: default });

/// A content block; kinds the gateway does not model (thinking, server tools, ...) are `Other`.
#[derive(Debug)]
pub enum Block {
    /// A `text` block.
    Text {
        /// The block's text (empty in a streamed `content_block_start`; the text follows as deltas).
        text: String,
    },
    /// A `tool_use` block: the model calls a client tool.
    ToolUse {
        /// The call's id (`toolu_…`), which a later `tool_result` block's `tool_use_id` answers.
        id: String,
        /// Name of the tool, as declared in the request's `tools`.
        name: String,
        /// The tool's arguments as a JSON object (not text, unlike OpenAI); `{}` in a streamed
        /// `content_block_start`, whose arguments follow as `input_json_delta` fragments.
        input: Value,
    },
    /// Any other block type (`thinking`, `redacted_thinking`, server tool blocks, …), skipped.
    Other,
}

/// Anthropic's `usage` object, in tokens. `input_tokens` counts only input neither read from
/// nor written to the prompt cache, so the three input counts add up to the whole prompt.
/// Every field is optional because `message_delta` events carry only some of them.
/// Reference: <https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    /// Input tokens outside the prompt cache (cache reads and writes excluded).
    pub input_tokens: Option<u64>,
    /// Output tokens; in a stream, `message_delta` carries the running total.
    pub output_tokens: Option<u64>,
    /// Input tokens written to the prompt cache by this request.
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: Option<u64>,
}

crate::de_struct!(Usage, default, skip { input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens });

/// One streamed event: the JSON `data` of an SSE event, whose `type` repeats the SSE event
/// name. Order: `message_start`, then per content block `content_block_start`, deltas,
/// `content_block_stop`; then `message_delta` and `message_stop`; `ping` and `error` may come
/// anywhere. Reference: <https://docs.anthropic.com/en/docs/build-with-claude/streaming>
#[derive(Debug)]
pub enum Event {
    /// Opens the stream: the message with empty content and the usage known so far.
    MessageStart {
        /// The message's id, model and initial usage.
        message: StartMessage,
    },
    /// Opens content block `index`, with its initial value.
    ContentBlockStart {
        /// The block's position in the message's `content`, from 0.
        index: u32,
        /// The block as it starts (empty text, or a tool call's id and name with `input: {}`).
        content_block: Block,
    },
    /// Extends content block `index`.
    ContentBlockDelta {
        /// The block extended, as in `content_block_start`.
        index: u32,
        /// What is appended to the block.
        delta: Delta,
    },
    /// Closes content block `index`.
    ContentBlockStop {
        /// The block closed.
        index: u32,
    },
    /// Top-level changes at the end of the message: the stop reason and final usage.
    MessageDelta {
        /// The stop reason.
        delta: MessageDeltaBody,
        /// Cumulative usage; fields it omits keep the values from `message_start`.
        usage: Usage,
    },
    /// The clean end of the stream.
    MessageStop,
    /// Keep-alive, no content.
    Ping,
    /// An error mid-stream (e.g. `overloaded_error`); the stream ends after it.
    Error {
        /// The error's type and message.
        error: ErrorBody,
    },
    /// Any event type not known here, ignored (Anthropic's versioning policy allows new ones).
    Other,
}

/// The `message` of a `message_start` event (its `content` is empty and not read).
#[derive(Debug, Default)]
pub struct StartMessage {
    /// The message id (`msg_…`).
    pub id: String,
    /// The model that answers.
    pub model: String,
    /// Usage so far: the input counts, and an output count of one or a few tokens.
    pub usage: Usage,
}

crate::de_struct!(StartMessage, default, skip { id, model, usage });

/// The `delta` of a `content_block_delta` event.
#[derive(Debug)]
pub enum Delta {
    /// `text_delta`: more text for a text block.
    TextDelta {
        /// The text to append.
        text: String,
    },
    /// `input_json_delta`: more of a tool call's argument JSON.
    InputJsonDelta {
        /// A fragment of the arguments' JSON text, to append; only the concatenation parses.
        partial_json: String,
    },
    /// Any other delta type (`thinking_delta`, `signature_delta`, `citations_delta`, …), skipped.
    Other,
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Default)]
pub struct MessageDeltaBody {
    /// Why generation stopped (values as in [`Message::stop_reason`]).
    pub stop_reason: Option<String>,
}

// The tagged types above are read through flat mirrors and converted: serde's internally
// tagged enums buffer every value in a second, generic deserializer, which costs the module
// far more than these few lines.

/// A block as sent: its `type` and every field any modelled kind has.
struct RawBlock {
    kind: String,
    text: String,
    id: String,
    name: String,
    input: Value,
}

crate::de_struct!(RawBlock, default, skip { kind as "type", text, id, name, input });

impl Default for RawBlock {
    fn default() -> Self {
        RawBlock { kind: String::new(), text: String::new(), id: String::new(), name: String::new(), input: Value::Null }
    }
}

impl<'de> serde::Deserialize<'de> for Block {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawBlock::deserialize(d).map(Block::from)
    }
}

impl From<RawBlock> for Block {
    fn from(b: RawBlock) -> Self {
        match b.kind.as_str() {
            "text" => Block::Text { text: b.text },
            "tool_use" => Block::ToolUse { id: b.id, name: b.name, input: b.input },
            _ => Block::Other,
        }
    }
}

/// The `delta` of either delta event: a block's (`type` and its text or JSON fragment) or the
/// message's (`stop_reason`).
#[derive(Default)]
struct RawDelta {
    kind: String,
    text: String,
    partial_json: String,
    stop_reason: Option<String>,
}

crate::de_struct!(RawDelta, default, skip { kind as "type", text, partial_json, stop_reason });

/// An event as sent: its `type` and every field any modelled event has.
struct RawEvent {
    kind: String,
    message: Option<StartMessage>,
    index: Option<u32>,
    content_block: Option<Block>,
    delta: Option<RawDelta>,
    usage: Option<Usage>,
    error: Option<ErrorBody>,
}

crate::de_struct!(RawEvent, required, skip {
    kind as "type",
    message: default,
    index: default,
    content_block: default,
    delta: default,
    usage: default,
    error: default,
});

impl<'de> serde::Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawEvent::deserialize(d)?.try_into().map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawEvent> for Event {
    type Error = &'static str;
    fn try_from(e: RawEvent) -> Result<Self, &'static str> {
        const MISSING: &str = "a field the event type requires is missing";
        Ok(match e.kind.as_str() {
            "message_start" => Event::MessageStart { message: e.message.ok_or(MISSING)? },
            "content_block_start" => {
                Event::ContentBlockStart { index: e.index.ok_or(MISSING)?, content_block: e.content_block.ok_or(MISSING)? }
            }
            "content_block_delta" => {
                let d = e.delta.ok_or(MISSING)?;
                let delta = match d.kind.as_str() {
                    "text_delta" => Delta::TextDelta { text: d.text },
                    "input_json_delta" => Delta::InputJsonDelta { partial_json: d.partial_json },
                    _ => Delta::Other,
                };
                Event::ContentBlockDelta { index: e.index.ok_or(MISSING)?, delta }
            }
            "content_block_stop" => Event::ContentBlockStop { index: e.index.unwrap_or(0) },
            "message_delta" => Event::MessageDelta {
                delta: MessageDeltaBody { stop_reason: e.delta.and_then(|d| d.stop_reason) },
                usage: e.usage.unwrap_or_default(),
            },
            "message_stop" => Event::MessageStop,
            "ping" => Event::Ping,
            "error" => Event::Error { error: e.error.ok_or(MISSING)? },
            _ => Event::Other,
        })
    }
}

/// The answer of `POST /v1/messages/count_tokens`: `{"input_tokens": N}`.
/// Reference: <https://platform.claude.com/docs/en/api/messages/count_tokens>
#[derive(Debug)]
pub struct TokenCount {
    /// Input tokens of the messages, system prompt and tools together.
    pub input_tokens: u64,
}

crate::de_struct!(TokenCount, required, skip { input_tokens });

/// An error response body: `{"type": "error", "error": {...}}`.
/// Reference: <https://docs.anthropic.com/en/api/errors>
#[derive(Debug, Default)]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ErrorBody,
}

crate::de_struct!(ErrorEnvelope, default, skip { error });

/// The `error` object of an error body or stream `error` event.
#[derive(Debug, Default)]
pub struct ErrorBody {
    /// The error's `type`: `invalid_request_error`, `authentication_error`,
    /// `rate_limit_error`, `overloaded_error`, `api_error`, …
    pub kind: String,
    /// Human-readable description; upstream text, to be sanitised before it reaches a caller.
    pub message: String,
}

crate::de_struct!(ErrorBody, default, skip { kind as "type", message });
