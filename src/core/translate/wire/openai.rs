//! Serde mirrors of what OpenAI-compatible upstreams send back: data only and lenient
//! (optional fields default, unknown fields are ignored), so a new vendor field never breaks
//! parsing. Reference: <https://platform.openai.com/docs/api-reference/chat/object>.

/// A non-streaming `chat.completion` object, the body of a 200 from `POST /chat/completions`.
/// `choices` (and each choice's `message`) are required: a 200 without them is malformed.
/// Reference: <https://platform.openai.com/docs/api-reference/chat/object>
#[derive(Debug)]
pub struct Completion {
    /// The completion's id as the upstream assigned it (OpenAI: `chatcmpl-…`); empty if absent.
    pub id: String,
    /// The upstream model that answered, as the upstream names it (may be a dated snapshot of
    /// the model requested); empty if absent.
    pub model: String,
    /// Creation time, Unix seconds; 0 if absent.
    pub created: u64,
    /// One entry per generated choice (more than one only when the request set `n`).
    pub choices: Vec<CompletionChoice>,
    /// Token counts for the whole completion; some compatible servers omit it.
    pub usage: Option<WireUsage>,
}

crate::de_struct!(Completion, required, skip { id: default, model: default, created: default, choices, usage: default });

/// One element of `choices` in a `chat.completion`.
#[derive(Debug)]
pub struct CompletionChoice {
    /// Position of this choice among the `n` requested, from 0.
    pub index: u32,
    /// The assistant message generated for this choice.
    pub message: AssistantMessage,
    /// Why generation stopped: `stop`, `length`, `tool_calls`, `content_filter` or the deprecated
    /// `function_call`; vendors add their own values, kept as text.
    pub finish_reason: Option<String>,
}

crate::de_struct!(CompletionChoice, required, skip { index: default, message, finish_reason: default });

/// The `message` of a completion choice: the fields of an assistant message the gateway reads.
#[derive(Debug, Default)]
pub struct AssistantMessage {
    /// The answer: a string, or an array of parts (see [`content_text`]); `null` when the
    /// model only called tools or refused.
    pub content: Option<serde_json::Value>,
    /// The model's refusal message, when it declined to answer (structured-output models).
    pub refusal: Option<String>,
    /// Function calls the model made, in order; absent or `null` when none.
    pub tool_calls: Option<Vec<WireToolCall>>,
}

crate::de_struct!(AssistantMessage, default, skip { content, refusal, tool_calls });

/// The answer text of a message's (or delta's) `content`. OpenAI sends a string; Mistral's
/// reasoning models send an array of parts, `{"type": "thinking", "thinking": [...]}` and
/// `{"type": "text", "text": "..."}` (<https://docs.mistral.ai/capabilities/reasoning/>): the
/// `text` parts joined are the answer, thinking parts are not. `None` when there is no text.
/// (Read from a `Value` rather than an untagged enum: smaller in the wasm module.)
pub fn content_text(content: Option<serde_json::Value>) -> Option<String> {
    match content? {
        serde_json::Value::String(t) => Some(t),
        serde_json::Value::Array(parts) => {
            let mut texts = parts.iter().filter(|p| p["type"] == "text").filter_map(|p| p["text"].as_str()).peekable();
            texts.peek()?;
            Some(texts.collect())
        }
        _ => None,
    }
}

/// One entry of a message's `tool_calls` (`type: "function"`; the type itself is not read).
#[derive(Debug, Default)]
pub struct WireToolCall {
    /// The call's id (OpenAI: `call_…`), which a later `tool` message's `tool_call_id` answers.
    pub id: String,
    /// The function called and its arguments.
    pub function: WireFunction,
}

crate::de_struct!(WireToolCall, default, skip { id, function });

/// The `function` of a tool call.
#[derive(Debug, Default)]
pub struct WireFunction {
    /// Name of the function, as declared in the request's `tools`.
    pub name: String,
    /// The arguments as JSON text, exactly as generated: not guaranteed to be valid JSON.
    pub arguments: String,
}

crate::de_struct!(WireFunction, default, skip { name, arguments });

/// The `usage` object. Counts are tokens; the details are subsets of the totals, not
/// additions to them.
/// Reference: <https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage>
#[derive(Debug, Default, Clone, Copy)]
pub struct WireUsage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Output tokens, reasoning tokens included.
    pub completion_tokens: u64,
    /// Breakdown of `prompt_tokens` (absent on many compatible servers).
    pub prompt_tokens_details: Option<PromptDetails>,
    /// Breakdown of `completion_tokens` (absent on many compatible servers).
    pub completion_tokens_details: Option<CompletionDetails>,
}

crate::de_struct!(WireUsage, default, skip { prompt_tokens, completion_tokens, prompt_tokens_details, completion_tokens_details });

/// `usage.prompt_tokens_details`.
#[derive(Debug, Default, Clone, Copy)]
pub struct PromptDetails {
    /// Input tokens served from OpenAI's automatic prompt cache (a subset of `prompt_tokens`).
    pub cached_tokens: Option<u64>,
}

crate::de_struct!(PromptDetails, default, skip { cached_tokens });

/// `usage.completion_tokens_details`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CompletionDetails {
    /// Tokens the model spent reasoning (a subset of `completion_tokens`, billed as output).
    pub reasoning_tokens: Option<u64>,
}

crate::de_struct!(CompletionDetails, default, skip { reasoning_tokens });

/// One `chat.completion.chunk`: the `data` of one SSE event of a streamed completion (the
/// final `data: [DONE]` is not a chunk). Every field defaults, so an odd chunk still parses.
/// Reference: <https://platform.openai.com/docs/api-reference/chat-streaming/streaming>
#[derive(Debug, Default)]
pub struct Chunk {
    /// The completion's id, the same in every chunk of one stream.
    pub id: String,
    /// The upstream model that answers, as the upstream names it.
    pub model: String,
    /// Creation time, Unix seconds, the same in every chunk.
    pub created: u64,
    /// Deltas for one or more choices; empty in the final usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Set only in the final chunk when `stream_options.include_usage` was asked for (some
    /// compatible servers send it unasked).
    pub usage: Option<WireUsage>,
    /// Some OpenAI-compatible servers report errors inside the stream.
    pub error: Option<ErrorBody>,
    /// Groq's vendor member; its last chunk carries the stream's usage here, not at the top
    /// level. Reference: <https://console.groq.com/docs/api-reference#chat-create>
    pub x_groq: Option<XGroq>,
}

crate::de_struct!(Chunk, default, skip { id, model, created, choices, usage, error, x_groq });

/// Groq's `x_groq` chunk member: only its `usage` is read.
#[derive(Debug, Default)]
pub struct XGroq {
    /// The stream's usage, in the last chunk.
    pub usage: Option<WireUsage>,
}

crate::de_struct!(XGroq, default, skip { usage });

/// One element of a chunk's `choices`.
#[derive(Debug, Default)]
pub struct ChunkChoice {
    /// Which choice this delta extends, from 0.
    pub index: u32,
    /// What this chunk adds to the choice.
    pub delta: Delta,
    /// Set in the choice's last chunk: why generation stopped (values as in
    /// [`CompletionChoice::finish_reason`]).
    pub finish_reason: Option<String>,
}

crate::de_struct!(ChunkChoice, default, skip { index, delta, finish_reason });

/// A choice's `delta`: the text and tool-call fragments one chunk adds. `role` (first chunk
/// only), `refusal` and vendor fields such as DeepSeek's `reasoning_content` are not read
/// (a same-dialect caller gets them in the passed-through chunk).
#[derive(Debug, Default)]
pub struct Delta {
    /// A fragment of answer text, to be appended: a string, or an array of parts (see
    /// [`content_text`]).
    pub content: Option<serde_json::Value>,
    /// Fragments of tool calls, each naming the call it extends by `index`.
    pub tool_calls: Option<Vec<DeltaToolCall>>,
}

crate::de_struct!(Delta, default, skip { content, tool_calls });

/// A fragment of one tool call in a streamed delta. A call's first fragment carries `id` and
/// `function.name`; later ones carry only pieces of `function.arguments`.
#[derive(Debug, Default)]
pub struct DeltaToolCall {
    /// Which call of the choice this fragment extends, from 0.
    pub index: u32,
    /// The call's id, in its first fragment only.
    pub id: Option<String>,
    /// The function name and/or an arguments fragment.
    pub function: Option<DeltaFunction>,
}

crate::de_struct!(DeltaToolCall, default, skip { index, id, function });

/// The `function` of a tool-call fragment.
#[derive(Debug, Default)]
pub struct DeltaFunction {
    /// The function's name, in the call's first fragment only.
    pub name: Option<String>,
    /// A piece of the arguments' JSON text, to be appended to the pieces before it.
    pub arguments: Option<String>,
}

crate::de_struct!(DeltaFunction, default, skip { name, arguments });

/// An error response body: `{"error": {...}}`.
/// Reference: <https://platform.openai.com/docs/guides/error-codes>
#[derive(Debug, Default)]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ErrorBody,
}

crate::de_struct!(ErrorEnvelope, default, skip { error });

/// The `error` object of an error body (also sent inside a stream by some compatible servers).
/// `param` is not read.
#[derive(Debug, Default)]
pub struct ErrorBody {
    /// Human-readable description; upstream text, to be sanitised before it reaches a caller.
    pub message: String,
    /// The error's `type` (e.g. `invalid_request_error`, `insufficient_quota`).
    pub kind: Option<String>,
    /// The error's `code`: usually a string (`context_length_exceeded`, `insufficient_quota`),
    /// but some compatible servers send a number, hence untyped.
    pub code: Option<serde_json::Value>,
}

crate::de_struct!(ErrorBody, default, skip { message, kind as "type", code });
