//! Public models (`models[]`): the names callers use, the upstream model behind each, its
//! prices, capabilities and the upstream account's quota.
//!
//! Prices are written in USD per million tokens ([`PricesUsd`]) and held, once validated, as
//! integer micro-USD per million ([`Prices`]).

use serde::Deserialize;

/// Prices as written: USD per million tokens.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PricesUsd {
    /// Per million input tokens.
    #[serde(default)]
    pub input: f64,
    /// Per million output tokens (reasoning included).
    #[serde(default)]
    pub output: f64,
    /// Per million input tokens served from the provider's cache (default: the input price).
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Per million input tokens written to the provider's cache (default: the input price).
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// Integer prices: micro-USD per million tokens (so nano-USD per thousand), filled in from
/// [`PricesUsd`] by validation with the cache prices defaulted to the input price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prices {
    /// Per million input tokens.
    pub input: u64,
    /// Per million output tokens (reasoning included).
    pub output: u64,
    /// Per million input tokens served from the provider's cache.
    pub cached_input: u64,
    /// Per million input tokens written to the provider's cache.
    pub cache_write: u64,
}

/// What a model can take: a target whose model lacks what a request needs is skipped.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Tool definitions and tool calls (default yes).
    #[serde(default = "yes")]
    pub tools: bool,
    /// Image inputs (default no).
    #[serde(default)]
    pub vision: bool,
    /// JSON response formats (default yes).
    #[serde(default = "yes")]
    pub json: bool,
}

fn yes() -> bool {
    true
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities { tools: true, vision: false, json: true }
    }
}

/// A public model (`models[]`): the name callers use, and the provider and upstream model
/// behind it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Public name callers use (the request's `model`); unique across models, aliases and
    /// routes.
    pub name: String,
    /// Other public names for the same model.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The id of the provider that serves it.
    pub provider: String,
    /// The upstream's own model id, sent in its request (e.g. `gpt-4o-mini`,
    /// `claude-sonnet-4-20250514`; for Azure OpenAI the deployment name).
    pub model: String,
    /// The model's context window in tokens, when known.
    #[serde(default)]
    pub context_window: Option<u32>,
    /// The model's output cap; sent as `max_tokens` where the upstream requires one
    /// (Anthropic) and the caller gave none. Default 4096.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Prices as written.
    #[serde(default)]
    pub prices: PricesUsd,
    /// What the model can take.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The upstream account's rate limits for this model: routing prefers targets with
    /// headroom.
    #[serde(default)]
    pub quota: Quota,
    /// `prices` as integers, filled in by validation.
    #[serde(skip)]
    pub price: Prices,
}

/// An upstream's rate limits for one model, as its provider set them for the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests per minute.
    pub requests_per_minute: Option<u32>,
    /// Input plus output tokens per minute.
    pub tokens_per_minute: Option<u64>,
}
