//! What one attempt needs to reach one target, owned, and what it asks for.

use crate::core::config::{Prices, ProviderKind, Quota};
use crate::core::error::{Code, GatewayError};
use crate::core::translate::embeddings::EmbeddingsRequest;
use crate::core::translate::providers::Target;
use crate::core::types::ChatRequest;

/// What is being asked for.
#[derive(Debug, Clone)]
pub enum Payload {
    Chat(Box<ChatRequest>),
    Embeddings(Box<EmbeddingsRequest>),
}

/// Everything needed to make one attempt at one target, owned.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub provider: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub model: String,
    /// The API key, or the name of the secret that should hold it but does not.
    pub api_key: Result<Option<String>, String>,
    pub api_version: String,
    pub max_output_tokens: u32,
    pub timeout_ms: u32,
    pub ttfb_timeout_ms: u32,
    pub idle_timeout_ms: u32,
    pub max_retries: u32,
    pub stream_chunk_ms: u32,
    pub allow_panic: bool,
    pub prices: Prices,
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
    })
}
