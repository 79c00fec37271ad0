//! Serde mirrors of Gemini's `GenerateContentResponse` and error body: data only, lenient.
//! Reference: <https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse>.

use serde_json::Value;

/// A `GenerateContentResponse`: the body of `generateContent`, or one SSE event's data of
/// `streamGenerateContent?alt=sse` (each event a partial response with the same shape).
/// Reference: <https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse>
#[derive(Debug, Default)]
pub struct Response {
    /// The generated candidates; empty when the prompt itself was blocked (see
    /// `prompt_feedback`).
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked, if it was.
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts; in a stream, each event may repeat them with running totals, and the last
    /// one is final.
    pub usage_metadata: Option<UsageMetadata>,
    /// The model version that answered (`modelVersion`, e.g. `gemini-2.5-flash`); empty if absent.
    pub model_version: String,
    /// Google's id for the response (`responseId`), the same across a stream's events; empty if
    /// absent.
    pub response_id: String,
}

crate::de_struct!(Response, default, skip {
    candidates,
    prompt_feedback as "promptFeedback",
    usage_metadata as "usageMetadata",
    model_version as "modelVersion",
    response_id as "responseId",
});

/// One element of `candidates`.
#[derive(Debug, Default)]
pub struct Candidate {
    /// The generated content; absent when generation was blocked before producing any.
    pub content: Option<Content>,
    /// Why generation stopped (`finishReason`): `STOP`, `MAX_TOKENS`, `SAFETY`, `RECITATION`,
    /// … Gemini says `STOP` also after function calls. A stream has no terminal event: a candidate
    /// reporting this is how its end is known.
    pub finish_reason: Option<String>,
    /// The candidate's position, from 0 (omitted for 0 by the API, hence the default).
    pub index: u32,
}

crate::de_struct!(Candidate, default, skip { content, finish_reason as "finishReason", index });

/// A `Content`: the parts of one turn (its `role`, always `model` here, is not read).
#[derive(Debug, Default)]
pub struct Content {
    /// The turn's parts, in order.
    pub parts: Vec<Part>,
}

crate::de_struct!(Content, default, skip { parts });

/// One `Part` of a content: text or a function call; other kinds (inline data, executable
/// code, …) parse with every field empty and are skipped.
#[derive(Debug, Default)]
pub struct Part {
    /// Text: answer text, or a thought summary when `thought` is true.
    pub text: Option<String>,
    /// A thought summary, not answer text.
    pub thought: Option<bool>,
    /// A function call the model makes.
    pub function_call: Option<FunctionCall>,
    /// Opaque base64 signature of the model's thinking (`thoughtSignature`), on a function call
    /// part (and sometimes on text): it must be sent back on the same part in the next turn.
    /// Reference: <https://ai.google.dev/gemini-api/docs/thought-signatures>
    pub thought_signature: Option<String>,
}

crate::de_struct!(Part, default, skip { text, thought, function_call as "functionCall", thought_signature as "thoughtSignature" });

/// A `FunctionCall` part. Gemini calls carry no id unless the API sets one; the gateway makes
/// ids from positions when absent.
#[derive(Debug, Default)]
pub struct FunctionCall {
    /// The call's id, when given.
    pub id: Option<String>,
    /// Name of the function, as declared in the request's `functionDeclarations`.
    pub name: String,
    /// The arguments as a JSON object (not text, unlike OpenAI); `null` when absent.
    pub args: Value,
}

crate::de_struct!(FunctionCall, default, skip { id, name, args });

/// `promptFeedback`: how the prompt fared with the content filters.
#[derive(Debug, Default)]
pub struct PromptFeedback {
    /// Set when the prompt was blocked (`SAFETY`, `BLOCKLIST`, `PROHIBITED_CONTENT`, …); no
    /// candidates are returned then.
    pub block_reason: Option<String>,
}

crate::de_struct!(PromptFeedback, default, skip { block_reason as "blockReason" });

/// `usageMetadata`, in tokens. Thinking tokens are counted apart from the candidates' tokens
/// and billed as output. Reference: <https://ai.google.dev/api/generate-content#UsageMetadata>
#[derive(Debug, Default, Clone, Copy)]
pub struct UsageMetadata {
    /// Input tokens, cached content included.
    pub prompt_token_count: u64,
    /// Output tokens across all candidates, thinking tokens excluded.
    pub candidates_token_count: u64,
    /// Input tokens served from cached content (a subset of `prompt_token_count`).
    pub cached_content_token_count: u64,
    /// Thinking tokens of thinking models (not in `candidates_token_count`).
    pub thoughts_token_count: u64,
}

crate::de_struct!(UsageMetadata, default, skip {
    prompt_token_count as "promptTokenCount",
    candidates_token_count as "candidatesTokenCount",
    cached_content_token_count as "cachedContentTokenCount",
    thoughts_token_count as "thoughtsTokenCount",
});

/// A Google API error body: `{"error": {"code", "message", "status", "details"}}`.
/// Reference: <https://ai.google.dev/gemini-api/docs/troubleshooting>
#[derive(Debug, Default)]
pub struct ErrorEnvelope {
    /// The error itself.
    pub error: ErrorBody,
}

crate::de_struct!(ErrorEnvelope, default, skip { error });

/// The `error` object of a Google API error body.
#[derive(Debug, Default)]
pub struct ErrorBody {
    /// The HTTP status code, repeated in the body (e.g. 429).
    pub code: u16,
    /// Human-readable description; upstream text, to be sanitised before it reaches a caller.
    pub message: String,
    /// The canonical gRPC status name, e.g. `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`.
    pub status: String,
    /// Typed details (`google.rpc.ErrorInfo`, `QuotaFailure`, `RetryInfo`, `Help`, ...), each
    /// named by its `@type` (<https://cloud.google.com/apis/design/errors#error_details>). Kept
    /// as JSON: the gateway reads three fields (`ErrorInfo.reason`, `ErrorInfo.metadata`'s
    /// `quota_limit`, `QuotaFailure.violations[].quotaId`), not worth a mirror's module size.
    pub details: Vec<Value>,
}

crate::de_struct!(ErrorBody, default, skip { code, message, status, details });
