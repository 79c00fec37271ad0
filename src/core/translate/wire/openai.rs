//! Serde mirrors of what OpenAI-compatible upstreams send back: data only and lenient
//! (optional fields default, unknown fields are ignored), so a new vendor field never breaks
//! parsing. Reference: <https://platform.openai.com/docs/api-reference/chat/object>.

use serde::Deserialize;

/// `choices` (and each choice's `message`) are required: a 200 without them is malformed.
#[derive(Debug, Deserialize)]
pub struct Completion {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub created: u64,
    pub choices: Vec<CompletionChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub struct CompletionChoice {
    #[serde(default)]
    pub index: u32,
    pub message: AssistantMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AssistantMessage {
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct WireToolCall {
    pub id: String,
    pub function: WireFunction,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct WireFunction {
    pub name: String,
    pub arguments: String,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(default)]
pub struct WireUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub prompt_tokens_details: Option<PromptDetails>,
    pub completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(default)]
pub struct PromptDetails {
    pub cached_tokens: Option<u64>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(default)]
pub struct CompletionDetails {
    pub reasoning_tokens: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Chunk {
    pub id: String,
    pub model: String,
    pub created: u64,
    pub choices: Vec<ChunkChoice>,
    pub usage: Option<WireUsage>,
    /// Some OpenAI-compatible servers report errors inside the stream.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Delta {
    pub content: Option<String>,
    pub tool_calls: Option<Vec<DeltaToolCall>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DeltaToolCall {
    pub index: u32,
    pub id: Option<String>,
    pub function: Option<DeltaFunction>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DeltaFunction {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ErrorBody {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<serde_json::Value>,
}
