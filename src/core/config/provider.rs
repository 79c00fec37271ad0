//! Upstream providers (`providers.<id>`): their kind, where their API lives, how long a call
//! may take, and how an OpenAI-compatible server departs from OpenAI's own API.
//!
//! A provider never holds its API key: it names the Worker secret that does.

use crate::core::types::Dialect;

/// What an upstream is: its wire format, its default base URL and its quirks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI, or any OpenAI-compatible Chat Completions server given its `base_url`.
    Openai,
    /// Groq (OpenAI-compatible).
    Groq,
    /// Mistral (OpenAI-compatible).
    Mistral,
    /// DeepSeek (OpenAI-compatible).
    Deepseek,
    /// Together AI (OpenAI-compatible).
    Together,
    /// OpenRouter (OpenAI-compatible).
    Openrouter,
    /// A vLLM server (OpenAI-compatible).
    Vllm,
    /// An Ollama server (OpenAI-compatible).
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

crate::de_enum!(ProviderKind {
    Openai = "openai",
    Groq = "groq",
    Mistral = "mistral",
    Deepseek = "deepseek",
    Together = "together",
    Openrouter = "openrouter",
    Vllm = "vllm",
    Ollama = "ollama",
    AzureOpenai = "azure-openai",
    WorkersAi = "workers-ai",
    Anthropic = "anthropic",
    Gemini = "gemini",
    Mock = "mock",
});

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

    /// How this kind departs from OpenAI's own API (none for non-OpenAI wires).
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

/// One upstream (`providers.<id>`).
#[derive(Debug, Clone)]
pub struct Provider {
    /// What the upstream is.
    pub kind: ProviderKind,
    /// Where its API lives (default: the kind's own, when it has one).
    pub base_url: Option<String>,
    /// Name of the Worker secret holding the API key (absent: no key is sent).
    pub api_key_secret: Option<String>,
    /// Upper bound on one upstream call, head and body, in milliseconds (default 120 s).
    pub timeout_ms: u32,
    /// Bound on the wait for the response head, in milliseconds (default: `timeout_ms`).
    pub ttfb_timeout_ms: Option<u32>,
    /// For streams: the longest gap between two chunks, in milliseconds (default: none).
    pub idle_timeout_ms: Option<u32>,
    /// Mock only: default spacing between stream chunks, in milliseconds.
    pub stream_chunk_ms: u32,
    /// Mock only: honour the `panic` directive (for testing crash recovery; never in production,
    /// since a panic also fails the other requests in flight on that isolate).
    pub allow_panic: bool,
    /// Azure OpenAI only: the `api-version` query parameter.
    pub api_version: Option<String>,
    /// Kind `openai` only: the upstream serves OpenAI's Responses API (`POST /responses`), so
    /// a Responses caller's request is passed through to it instead of translated to chat
    /// (default: true for OpenAI's own API, that is kind `openai` without a `base_url`).
    pub responses_api: Option<bool>,
}

crate::de_struct!(
    Provider,
    required,
    deny {
        kind: required(ProviderKind::Mock),
        base_url: default,
        api_key_secret: default,
        timeout_ms: default(default_timeout_ms()),
        ttfb_timeout_ms: default,
        idle_timeout_ms: default,
        stream_chunk_ms: default,
        allow_panic: default,
        api_version: default,
        responses_api: default,
    }
);

impl Provider {
    /// Whether Responses callers are passed through to this upstream's `/responses`.
    pub fn responses_api(&self) -> bool {
        self.responses_api.unwrap_or(self.kind == ProviderKind::Openai && self.base_url.is_none())
    }

    /// The configured base URL, or the kind's default.
    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().or(self.kind.default_base_url()).unwrap_or_default()
    }
}

fn default_timeout_ms() -> u32 {
    120_000
}
