//! Public models (`models[]`): the names callers use, the upstream model behind each, its
//! prices, capabilities and the upstream account's quota.
//!
//! Prices are written in USD per million tokens ([`PricesUsd`]) and held, once validated, as
//! integer micro-USD per million ([`Prices`]).

/// Prices as written: USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PricesUsd {
    /// Per million input tokens.
    pub input: f64,
    /// Per million output tokens (reasoning included).
    pub output: f64,
    /// Per million input tokens served from the provider's cache (default: the input price).
    pub cached_input: Option<f64>,
    /// Per million input tokens written to the provider's cache (default: the input price).
    pub cache_write: Option<f64>,
}

crate::de_struct!(PricesUsd, required, deny { input: default, output: default, cached_input: default, cache_write: default });

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Tool definitions and tool calls (default yes).
    pub tools: bool,
    /// Image inputs (default no).
    pub vision: bool,
    /// JSON response formats (default yes).
    pub json: bool,
}

crate::de_struct!(Capabilities, required, deny { tools: default(true), vision: default, json: default(true) });

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities { tools: true, vision: false, json: true }
    }
}

/// A public model (`models[]`): the name callers use, and the provider and upstream model
/// behind it.
#[derive(Debug, Clone)]
pub struct Model {
    /// Public name callers use (the request's `model`); unique across models, aliases and
    /// routes.
    pub name: String,
    /// Other public names for the same model.
    pub aliases: Vec<String>,
    /// The id of the provider that serves it.
    pub provider: String,
    /// The upstream's own model id, sent in its request (e.g. `gpt-4o-mini`,
    /// `claude-sonnet-4-20250514`; for Azure OpenAI the deployment name).
    pub model: String,
    /// The model's context window in tokens, when known.
    pub context_window: Option<u32>,
    /// The model's output cap; sent as `max_tokens` where the upstream requires one
    /// (Anthropic) and the caller gave none. Default 4096.
    pub max_output_tokens: Option<u32>,
    /// Prices as written.
    pub prices: PricesUsd,
    /// What the model can take.
    pub capabilities: Capabilities,
    /// The upstream account's rate limits for this model: routing prefers targets with
    /// headroom.
    pub quota: Quota,
    /// `prices` as integers, filled in by validation.
    pub price: Prices,
}

crate::de_struct!(Model, required, deny {
    name,
    aliases: default,
    provider,
    model,
    context_window: default,
    max_output_tokens: default,
    prices: default,
    capabilities: default,
    quota: default,
} skip { price = Prices::default() });

/// An upstream's rate limits for one model, as its provider set them for the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// Requests per minute.
    pub requests_per_minute: Option<u32>,
    /// Input plus output tokens per minute.
    pub tokens_per_minute: Option<u64>,
}

crate::de_struct!(Quota, required, deny { requests_per_minute: default, tokens_per_minute: default });
