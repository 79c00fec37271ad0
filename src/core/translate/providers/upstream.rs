//! What every provider file shares: the upstream call it builds, the target it addresses,
//! the caller headers it forwards, what it reads from an error body, and the error for a
//! malformed answer.

use crate::core::config::ProviderKind;
use crate::core::error::{Code, GatewayError};
use crate::core::types::{ChatRequest, Dialect};

/// An HTTP call for the edge to make. The URL's host comes only from config.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamRequest {
    /// Full URL, query included; its host comes only from config (a base URL or the preset's).
    pub url: String,
    /// Request headers, names in lowercase, the API key among them when the provider has one.
    /// Never log them.
    pub headers: Vec<(String, String)>,
    /// The JSON request body.
    pub body: Vec<u8>,
}

/// Everything a provider needs to address one upstream model.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// What the upstream is: picks the wire, the auth header and the quirks.
    pub kind: ProviderKind,
    /// The provider's base URL (configured, or the preset's default); a trailing `/` is ignored.
    pub base_url: &'a str,
    /// The upstream's own model id (for Azure OpenAI, the deployment name).
    pub model: &'a str,
    /// The API key from the Worker secret the provider names; `None` sends no key.
    pub api_key: Option<&'a str>,
    /// Azure OpenAI's `api-version` query parameter; ignored by other kinds.
    pub api_version: &'a str,
    /// Output cap to send when the upstream requires one and the caller gave none.
    pub max_output_tokens: u32,
    /// The upstream serves OpenAI's Responses API: a Responses caller's request goes there as
    /// sent (see [`wire_for`]).
    pub responses_api: bool,
}

/// What the upstream is spoken to in, for a caller of `api`: the Responses API for a
/// Responses caller at an upstream that serves it (`responses_api`), else the kind's wire.
pub fn wire_for(kind: ProviderKind, responses_api: bool, api: Dialect) -> Dialect {
    if api == Dialect::Responses && responses_api {
        Dialect::Responses
    } else {
        kind.wire()
    }
}

/// The caller headers forwarded upstream, each only to upstreams of one wire format.
///
/// - `anthropic-beta`, to Anthropic: it switches on beta features that change what the
///   request means (longer context, new tools, new block types), and Claude Code and the
///   Anthropic SDKs send it (<https://docs.anthropic.com/en/api/beta-headers>).
///
/// Left out on purpose: credentials (`authorization`, `x-api-key`, `x-goog-api-key`) and
/// cookies, which are the caller's to the gateway, never to an upstream; `anthropic-version`,
/// which the gateway's translation is written against; and OpenAI's `openai-organization` and
/// `openai-project` (like Google's `x-goog-user-project`), which pick the organization or
/// project of the provider key that a call is billed to and authorised under: that key is the
/// gateway operator's, so the choice is theirs, not a caller's.
pub const FORWARDED_HEADERS: &[(&str, Dialect)] = &[("anthropic-beta", Dialect::Anthropic)];

/// The inbound headers the allow-list forwards to some upstream, names lowercased, in order.
pub fn forwarded_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| FORWARDED_HEADERS.iter().any(|(name, _)| k.eq_ignore_ascii_case(name)))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

/// `req`'s forwarded headers meant for upstreams of `wire`.
pub(crate) fn headers_for(req: &ChatRequest, wire: Dialect) -> impl Iterator<Item = (String, String)> + '_ {
    req.forwarded_headers.iter().filter(move |(k, _)| FORWARDED_HEADERS.iter().any(|(name, w)| *w == wire && k == name)).cloned()
}

/// What an upstream's error body says beyond its status, in the gateway's terms. Each wire's
/// `error_parts` reads it from that provider's own vocabulary (codes, types, reasons).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cause {
    /// The body says nothing the status does not.
    #[default]
    Unstated,
    /// The gateway's credentials for the provider are invalid or lack a permission: the
    /// fault is the gateway's, never the caller's, whatever the status.
    Credentials,
    /// The provider account's quota or credit is used up, or its billing blocks the request:
    /// no retry soon will help.
    Quota,
    /// A short-term rate limit: a retry after a while will.
    RateLimit,
    /// The request does not fit the model's context window.
    ContextLength,
    /// The provider is overloaded.
    Overloaded,
}

/// An upstream error body, read: its cause, and its message (upstream text, not yet
/// sanitised).
#[derive(Debug, Default, PartialEq)]
pub struct ErrorParts {
    /// What the body says beyond the status.
    pub cause: Cause,
    /// The body's human-readable message.
    pub message: String,
    /// How long the body says to wait before retrying, in whole seconds rounded up (Gemini's
    /// `RetryInfo.retryDelay`); a `retry-after` header takes precedence.
    pub retry_after_s: Option<u64>,
}

/// The error for an upstream answer that does not decode.
pub(crate) fn malformed(what: &str) -> GatewayError {
    GatewayError::new(Code::UpstreamMalformed, format!("the upstream sent a malformed {what}"))
}
