//! Serde mirrors of Gemini's `GenerateContentResponse` and error body: data only, lenient.
//! Reference: <https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse>.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Response {
    pub candidates: Vec<Candidate>,
    pub prompt_feedback: Option<PromptFeedback>,
    pub usage_metadata: Option<UsageMetadata>,
    pub model_version: String,
    pub response_id: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Candidate {
    pub content: Option<Content>,
    pub finish_reason: Option<String>,
    pub index: u32,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Content {
    pub parts: Vec<Part>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct Part {
    pub text: Option<String>,
    /// A thought summary, not answer text.
    pub thought: Option<bool>,
    pub function_call: Option<FunctionCall>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FunctionCall {
    pub id: Option<String>,
    pub name: String,
    pub args: Value,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct PromptFeedback {
    pub block_reason: Option<String>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(default, rename_all = "camelCase")]
pub struct UsageMetadata {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub cached_content_token_count: u64,
    pub thoughts_token_count: u64,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ErrorBody {
    pub code: u16,
    pub message: String,
    pub status: String,
}
