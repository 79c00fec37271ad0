//! What one attempt needs to reach one target, owned, and what it asks for.

use crate::core::config::{Prices, ProviderKind, Quota};
use crate::core::error::{Code, GatewayError};
use crate::core::translate::embeddings::EmbeddingsRequest;
use crate::core::translate::providers::Target;
use crate::core::types::ChatRequest;

/// What is being asked for.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A chat request (`/v1/chat/completions` or `/v1/messages`), decoded to the canonical form.
    Chat(Box<ChatRequest>),
    /// An embeddings request (`/v1/embeddings`); never cached, never streamed.
    Embeddings(Box<EmbeddingsRequest>),
}

/// Everything needed to make one attempt at one target, owned.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// The provider's name in the config; with `model`, the breaker key `provider/model`.
    pub provider: String,
    /// What the upstream is: picks the wire, the auth header and the quirks.
    pub kind: ProviderKind,
    /// The provider's base URL (configured, or the preset's default).
    pub base_url: String,
    /// The upstream's own model id (for Azure OpenAI, the deployment name), not the public name.
    pub model: String,
    /// The API key, or the name of the secret that should hold it but does not.
    pub api_key: Result<Option<String>, String>,
    /// Azure OpenAI's `api-version` (the provider's, else the default); ignored by other kinds.
    pub api_version: String,
    /// The model's output cap in tokens (its `max_output_tokens`, else 4096): sent where the
    /// upstream requires a cap and the caller gave none, and the worst case reserved for spend.
    pub max_output_tokens: u32,
    /// Bound on one upstream call, head and body, in milliseconds (the route step's override,
    /// else the provider's).
    pub timeout_ms: u32,
    /// Bound on the wait for the response head, in milliseconds; 0: only `timeout_ms`.
    pub ttfb_timeout_ms: u32,
    /// For streams: the longest gap between two upstream chunks, in milliseconds; 0: none.
    pub idle_timeout_ms: u32,
    /// Retries at this target after its first attempt, before falling back to the next.
    pub max_retries: u32,
    /// Mock only: default spacing between stream chunks, in milliseconds.
    pub stream_chunk_ms: u32,
    /// Mock only: whether the `panic` directive may crash the isolate.
    pub allow_panic: bool,
    /// The model's integer prices (micro-USD per million tokens), for cost and reservations.
    pub prices: Prices,
    /// Responses callers are passed through to the upstream's `/responses` (the provider's
    /// `responses_api`).
    pub responses_api: bool,
    /// The upstream account's per-minute limits for this model, as this isolate has used them:
    /// a target without headroom is passed over while a later one has some.
    pub quota: Quota,
}

/// How to reach a target, with its API key; an error when the key's secret is not set.
pub fn target_of(t: &TargetSpec) -> Result<Target<'_>, GatewayError> {
    let api_key = match &t.api_key {
        Ok(k) => k.as_deref(),
        Err(name) => {
            let msg = format!("the secret '{name}' for provider '{}' is not set", t.provider);
            return Err(GatewayError::new(Code::ProviderKeyMissing, msg));
        }
    };
    Ok(Target {
        kind: t.kind,
        base_url: &t.base_url,
        model: &t.model,
        api_key,
        api_version: &t.api_version,
        max_output_tokens: t.max_output_tokens,
        responses_api: t.responses_api,
    })
}
