//! The gateway's one JSON config document: providers, models, client keys, limits.
//!
//! Parsed with `deny_unknown_fields`, then validated as a whole: [`Config::parse`] returns
//! every problem with its JSON path, never just the first. Provider API keys are never in the
//! config: a provider names the Worker secret that holds its key.
//! Prices are given in USD per million tokens and held as integer micro-USD per million.

use crate::core::types::Dialect;
use crate::core::util::secret::is_sha256_hex;
use crate::core::util::vecmap::VecMap;
use serde::Deserialize;

mod cache;
mod health;
mod limits;
mod routes;

pub use cache::{CacheConfig, RoutePolicy, SimilarConfig};
pub use health::{BreakerConfig, HealthChecks};
pub use limits::{usd_to_nano, BodyLimits, Limits, DEFAULT_MAX_BODY_BYTES};
pub use routes::{PoolMember, RetryPolicy, RouteConfig, StepConfig};

pub const DEFAULT_CONFIG: &str = include_str!("../../config.default.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// OpenAI, or any OpenAI-compatible Chat Completions server given its `base_url`.
    Openai,
    Groq,
    Mistral,
    Deepseek,
    Together,
    Openrouter,
    Vllm,
    Ollama,
    /// Azure OpenAI: deployment URLs, `api-version`, `api-key` header.
    AzureOpenai,
    /// Cloudflare Workers AI through its OpenAI-compatible REST endpoint
    /// (`https://api.cloudflare.com/client/v4/accounts/ACCOUNT_ID/ai/v1`).
    WorkersAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Generative Language API (Gemini).
    Gemini,
    /// The built-in mock upstream (OpenAI wire format).
    Mock,
}

/// How an OpenAI-compatible server departs from OpenAI's own API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// The `developer` role is unknown: send it as `system`.
    pub developer_as_system: bool,
    /// `max_completion_tokens` is unknown: send `max_tokens`.
    pub legacy_max_tokens: bool,
    /// `stream_options` is rejected; usage comes in the last chunk anyway.
    pub no_stream_options: bool,
}

impl ProviderKind {
    /// The wire format the upstream speaks.
    pub fn wire(self) -> Dialect {
        match self {
            ProviderKind::Anthropic => Dialect::Anthropic,
            ProviderKind::Gemini => Dialect::Gemini,
            _ => Dialect::OpenAi,
        }
    }

    /// Where the vendor's API lives, when the kind has one fixed place.
    pub fn default_base_url(self) -> Option<&'static str> {
        Some(match self {
            ProviderKind::Openai => "https://api.openai.com/v1",
            ProviderKind::Groq => "https://api.groq.com/openai/v1",
            ProviderKind::Mistral => "https://api.mistral.ai/v1",
            ProviderKind::Deepseek => "https://api.deepseek.com/v1",
            ProviderKind::Together => "https://api.together.xyz/v1",
            ProviderKind::Openrouter => "https://openrouter.ai/api/v1",
            ProviderKind::Vllm => "http://127.0.0.1:8000/v1",
            ProviderKind::Ollama => "http://127.0.0.1:11434/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
            ProviderKind::AzureOpenai | ProviderKind::WorkersAi | ProviderKind::Mock => return None,
        })
    }

    pub fn quirks(self) -> Quirks {
        match self {
            ProviderKind::Openai | ProviderKind::AzureOpenai | ProviderKind::Mock => Quirks::default(),
            ProviderKind::Openrouter
            | ProviderKind::Groq
            | ProviderKind::Deepseek
            | ProviderKind::Together
            | ProviderKind::Vllm
            | ProviderKind::Ollama
            | ProviderKind::WorkersAi => Quirks { developer_as_system: true, legacy_max_tokens: true, no_stream_options: false },
            ProviderKind::Mistral => Quirks { developer_as_system: true, legacy_max_tokens: true, no_stream_options: true },
            ProviderKind::Anthropic | ProviderKind::Gemini => Quirks::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub kind: ProviderKind,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the Worker secret holding the API key (absent: no key is sent).
    #[serde(default)]
    pub api_key_secret: Option<String>,
    /// Upper bound on one upstream call, head and body, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// Bound on the wait for the response head, in milliseconds (default: `timeout_ms`).
    #[serde(default)]
    pub ttfb_timeout_ms: Option<u32>,
    /// For streams: the longest gap between two chunks, in milliseconds (default: none).
    #[serde(default)]
    pub idle_timeout_ms: Option<u32>,
    /// Mock only: default spacing between stream chunks.
    #[serde(default)]
    pub stream_chunk_ms: u32,
    /// Mock only: honour the `panic` directive (for testing crash recovery; never in production,
    /// since a panic also fails the other requests in flight on that isolate).
    #[serde(default)]
    pub allow_panic: bool,
    /// Azure OpenAI only: the `api-version` query parameter.
    #[serde(default)]
    pub api_version: Option<String>,
}

impl Provider {
    /// The configured base URL, or the kind's default.
    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().or(self.kind.default_base_url()).unwrap_or_default()
    }
}

fn default_timeout_ms() -> u32 {
    120_000
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PricesUsd {
    #[serde(default)]
    pub input: f64,
    #[serde(default)]
    pub output: f64,
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// Integer prices: micro-USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prices {
    pub input: u64,
    pub output: u64,
    pub cached_input: u64,
    pub cache_write: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default = "yes")]
    pub tools: bool,
    #[serde(default)]
    pub vision: bool,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Public name callers use.
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub provider: String,
    /// The upstream's model id.
    pub model: String,
    #[serde(default)]
    pub context_window: Option<u32>,
    /// The model's output cap; sent as `max_tokens` where the upstream requires one
    /// (Anthropic) and the caller gave none. Default 4096.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub prices: PricesUsd,
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The upstream account's rate limits for this model: routing prefers targets with
    /// headroom.
    #[serde(default)]
    pub quota: Quota,
    #[serde(skip)]
    pub price: Prices,
}

/// An upstream's rate limits for one model, as its provider set them for the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientKey {
    pub name: String,
    /// Hex SHA-256 of the key; the key itself is never stored.
    pub sha256: String,
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// Public model names this key may use; absent means all.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Browser origins this key (and tokens minted with it) may be used from, or `["*"]`.
    /// Absent: a server-side key; a request that carries an `Origin` is refused.
    #[serde(default)]
    pub origins: Option<Vec<String>>,
    /// Rate limits and budgets of this key (and of the tokens minted with it).
    #[serde(default)]
    pub limits: Limits,
}

/// Limits and budgets shared by every key of a tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    #[serde(default)]
    pub limits: Limits,
}

/// Browser tokens (`POST /v1/tokens`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    /// Name of the Worker secret holding the signing key.
    pub secret: String,
    /// Longest lifetime a token may be minted with, in seconds (default 900).
    #[serde(default = "default_max_ttl")]
    pub max_ttl_seconds: u64,
}

fn default_max_ttl() -> u64 {
    900
}

fn default_tenant() -> String {
    "default".into()
}

/// Every field is optional (`#[serde(default)]`); unknown fields are errors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub providers: VecMap<String, Provider>,
    pub models: Vec<Model>,
    pub keys: Vec<ClientKey>,
    pub limits: BodyLimits,
    /// Browser tokens; absent: minting is off.
    pub tokens: Option<TokensConfig>,
    /// Fallback chains under public names of their own.
    pub routes: Vec<RouteConfig>,
    /// Circuit breaker settings for every target.
    pub breaker: BreakerConfig,
    /// Models to probe on the Cron Trigger (opt-in: probes spend a few tokens).
    pub health_checks: Option<HealthChecks>,
    /// Limits and budgets per tenant, by tenant id.
    pub tenants: VecMap<String, TenantConfig>,
    /// Response cache defaults (routes may override).
    pub cache: CacheConfig,
    /// Public name or alias → index into `models`.
    #[serde(skip)]
    index: VecMap<String, usize>,
}

/// One problem found in a config, with the JSON path where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn micro_per_million(usd: f64) -> Option<u64> {
    (0.0..1e6).contains(&usd).then(|| (usd * 1e6).round() as u64)
}

impl Config {
    /// Parse and validate; on failure, every problem found.
    pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
        let mut cfg: Config =
            serde_json::from_slice(text.as_bytes()).map_err(|e| vec![Problem { path: "$".into(), message: e.to_string() }])?;
        let problems = cfg.validate();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(problems)
        }
    }

    fn validate(&mut self) -> Vec<Problem> {
        let mut p = Vec::new();
        let mut add = |path: String, message: &str| p.push(Problem { path, message: message.to_string() });
        for (name, prov) in &self.providers {
            let path = format!("providers.{name}");
            match (&prov.base_url, prov.kind) {
                (Some(url), _) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                    add(format!("{path}.base_url"), "must start with https:// or http://")
                }
                (Some(url), _) if url.contains(['?', '#']) => add(format!("{path}.base_url"), "must not carry a query or fragment"),
                (None, ProviderKind::AzureOpenai) => {
                    add(format!("{path}.base_url"), "is required for kind azure-openai (https://RESOURCE.openai.azure.com)")
                }
                _ => {}
            }
            if prov.api_version.is_some() && prov.kind != ProviderKind::AzureOpenai {
                add(format!("{path}.api_version"), "applies only to kind azure-openai");
            }
            if let Some(s) = &prov.api_key_secret {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    add(format!("{path}.api_key_secret"), "must be a secret name of letters, digits and _");
                }
            }
            if [prov.ttfb_timeout_ms, prov.idle_timeout_ms].iter().flatten().any(|t| !(10..=900_000).contains(t)) {
                add(format!("{path}.ttfb_timeout_ms"), "ttfb_timeout_ms and idle_timeout_ms must be between 10 and 900000");
            }
            if !(100..=900_000).contains(&prov.timeout_ms) {
                add(format!("{path}.timeout_ms"), "must be between 100 and 900000");
            }
        }
        self.index.clear();
        for (i, m) in self.models.iter_mut().enumerate() {
            let path = format!("models[{i}]");
            if !self.providers.contains_key(&m.provider) {
                add(format!("{path}.provider"), &format!("unknown provider '{}'", m.provider));
            }
            if m.model.is_empty() {
                add(format!("{path}.model"), "must not be empty");
            }
            for name in std::iter::once(&m.name).chain(&m.aliases) {
                if name.is_empty() {
                    add(format!("{path}.name"), "names and aliases must not be empty");
                } else if self.index.insert(name.clone(), i).is_some() {
                    add(format!("{path}.name"), &format!("'{name}' is defined twice"));
                }
            }
            if m.quota.requests_per_minute == Some(0) || m.quota.tokens_per_minute == Some(0) {
                add(format!("{path}.quota"), "requests_per_minute and tokens_per_minute must be at least 1");
            }
            let pr = m.prices;
            let conv = |v: f64, field: &str, add: &mut dyn FnMut(String, &str)| {
                micro_per_million(v).unwrap_or_else(|| {
                    add(format!("{path}.prices.{field}"), "must be a non-negative number of USD per million tokens");
                    0
                })
            };
            m.price = Prices {
                input: conv(pr.input, "input", &mut add),
                output: conv(pr.output, "output", &mut add),
                cached_input: conv(pr.cached_input.unwrap_or(pr.input), "cached_input", &mut add),
                cache_write: conv(pr.cache_write.unwrap_or(pr.input), "cache_write", &mut add),
            };
        }
        for (i, k) in self.keys.iter().enumerate() {
            let path = format!("keys[{i}]");
            if !is_sha256_hex(&k.sha256) {
                add(format!("{path}.sha256"), "must be 64 lowercase hex digits (the SHA-256 of the key)");
            }
            if k.tenant.is_empty() || k.tenant.len() > 64 {
                add(format!("{path}.tenant"), "must be 1 to 64 characters");
            }
            for (j, name) in k.models.iter().flatten().enumerate() {
                if !self.index.contains_key(name) {
                    add(format!("{path}.models[{j}]"), &format!("unknown model '{name}'"));
                }
            }
        }
        for (i, k) in self.keys.iter().enumerate() {
            if let Some(problem) = k.limits.problem() {
                add(format!("keys[{i}].limits"), problem);
            }
            for (j, o) in k.origins.iter().flatten().enumerate() {
                if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/') {
                    add(format!("keys[{i}].origins[{j}]"), "must be \"*\" or an origin such as https://app.example (no path)");
                }
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            let path = format!("routes[{i}]");
            if r.name.is_empty() || self.index.contains_key(&r.name) || self.routes[..i].iter().any(|o| o.name == r.name) {
                add(format!("{path}.name"), "must be non-empty and differ from every model name, alias and other route");
            }
            if r.steps.is_empty()
                || r.steps.iter().any(|s| matches!(s, StepConfig::Pool { pool } if pool.is_empty() || pool.iter().all(|m| m.weight == 0)))
            {
                add(format!("{path}.steps"), "needs at least one step, and every pool a member with weight > 0");
            }
            for (at, model) in r.models() {
                if !self.index.contains_key(model) {
                    add(format!("{path}.{at}"), &format!("unknown model '{model}'"));
                }
            }
            if !(1_000..=900_000).contains(&r.deadline_ms) || r.retry.max_retries > 10 {
                add(format!("{path}.deadline_ms"), "deadline_ms must be 1000..900000 and retry.max_retries at most 10");
            }
        }
        if let Some(problem) = self.breaker.problem() {
            add("breaker".into(), problem);
        }
        for (i, m) in self.health_checks.iter().flat_map(|h| &h.models).enumerate() {
            if !self.index.contains_key(m) {
                add(format!("health_checks.models[{i}]"), &format!("unknown model '{m}'"));
            }
        }
        if let Some(t) = &self.tokens {
            if !(60..=86_400).contains(&t.max_ttl_seconds) {
                add("tokens.max_ttl_seconds".into(), "must be between 60 and 86400");
            }
            if t.secret.is_empty() {
                add("tokens.secret".into(), "must name a Worker secret");
            }
        }
        for (at, c) in std::iter::once(("cache".to_string(), &self.cache))
            .chain(self.routes.iter().enumerate().filter_map(|(i, r)| r.cache.as_ref().map(|c| (format!("routes[{i}].cache"), c))))
        {
            if let Some(problem) = c.problem() {
                add(at.clone(), problem);
            }
            if c.coalesce && at != "cache" {
                add(format!("{at}.coalesce"), "is set for the whole gateway (cache.coalesce)");
            }
            if let Some(s) = &c.similar {
                if at == "cache" {
                    add(format!("{at}.similar"), "is set per route (routes[].cache.similar)");
                }
                if let Some(problem) = s.problem() {
                    add(format!("{at}.similar"), problem);
                }
                if !self.index.contains_key(&s.embedding_model) {
                    add(format!("{at}.similar.embedding_model"), &format!("unknown model '{}'", s.embedding_model));
                }
            }
        }
        for (name, t) in &self.tenants {
            if let Some(problem) = t.limits.problem() {
                add(format!("tenants.{name}.limits"), problem);
            }
        }
        if self.limits.max_body_bytes < 1024 || self.limits.max_body_bytes > 100 << 20 {
            add("limits.max_body_bytes".into(), "must be between 1024 and 104857600");
        }
        p
    }

    /// The route with this public name.
    pub fn route(&self, name: &str) -> Option<&RouteConfig> {
        self.routes.iter().find(|r| r.name == name)
    }

    /// The model entry for a public name or alias.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.index.get(name).map(|&i| &self.models[i])
    }

    /// Names of the Worker secrets the config refers to.
    pub fn secret_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.providers.values().filter_map(|p| p.api_key_secret.clone()).collect();
        names.extend(self.tokens.as_ref().map(|t| t.secret.clone()));
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
