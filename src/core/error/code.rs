//! The gateway's stable error codes and their axes. A [`Code`] is the `code` of every error
//! body and the `error_code` blob of every analytics data point; each one knows its OpenAI
//! error [`Kind`] (and so its default status), where the fault lies, and what a failed
//! attempt with it means for the request.
//!
//! Invariant: [`Code::as_str`] is wire output and an analytics key. Never change a string;
//! add a code instead.

use std::fmt;

/// Where the fault lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller's request or credentials, or a limit the caller ran into.
    Client,
    /// The upstream provider, or the path to it; the only fault a circuit breaker counts.
    Upstream,
    /// The gateway itself: its config, its secrets, or a bug.
    Gateway,
}

/// What a failed attempt means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A transient upstream failure: the same target may succeed after a backoff.
    Retry,
    /// This target cannot serve the request (credentials, model, quota, context window,
    /// content policy, garbage): try the next one at once.
    NextTarget,
    /// The caller's own mistake: no other target would do better.
    Return,
}

/// An error's class, after OpenAI's error `type`s: it sets the default status and the body's
/// `type` in either dialect. Each variant names its status and OpenAI `type`, then Anthropic's
/// `type` where that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 400, `invalid_request_error`.
    InvalidRequest,
    /// 401, `authentication_error`.
    Authentication,
    /// 403, `permission_error`.
    Permission,
    /// 404, `not_found_error`.
    NotFound,
    /// 405, `invalid_request_error`.
    MethodNotAllowed,
    /// 402, `insufficient_quota` (Anthropic: `billing_error`).
    PaymentRequired,
    /// 413, `invalid_request_error` (Anthropic: `request_too_large`).
    PayloadTooLarge,
    /// 415, `invalid_request_error`.
    UnsupportedMediaType,
    /// 429, `rate_limit_error`.
    RateLimited,
    /// 502, `upstream_error` (Anthropic: `api_error`, or `overloaded_error` at 529).
    UpstreamError,
    /// 504, `upstream_error` (Anthropic: `timeout_error`).
    UpstreamTimeout,
    /// 500, `server_error` (Anthropic: `api_error`).
    Internal,
}

impl Kind {
    /// The HTTP status an error of this kind has unless it says otherwise.
    pub const fn status(self) -> u16 {
        match self {
            Kind::InvalidRequest => 400,
            Kind::Authentication => 401,
            Kind::Permission => 403,
            Kind::NotFound => 404,
            Kind::MethodNotAllowed => 405,
            Kind::PaymentRequired => 402,
            Kind::PayloadTooLarge => 413,
            Kind::UnsupportedMediaType => 415,
            Kind::RateLimited => 429,
            Kind::UpstreamError => 502,
            Kind::UpstreamTimeout => 504,
            Kind::Internal => 500,
        }
    }

    /// Where the fault lies for an error of this kind, before any code refines it.
    pub const fn fault(self) -> Fault {
        match self {
            Kind::UpstreamError | Kind::UpstreamTimeout => Fault::Upstream,
            Kind::Internal => Fault::Gateway,
            _ => Fault::Client,
        }
    }
}

/// One row per code: `Variant = "string", Kind;`. Generates the enum, [`Code::ALL`],
/// [`Code::as_str`] and [`Code::kind`].
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal, $kind:ident;)+) => {
        /// A stable error code (README, "Errors").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in the order declared.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The code as it appears in error bodies and analytics.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)+
                }
            }

            /// OpenAI's error kind for this code, which sets its default status.
            pub const fn kind(self) -> Kind {
                match self {
                    $(Code::$variant => Kind::$kind,)+
                }
            }
        }
    };
}

codes! {
    /// The body is not valid JSON, or not a JSON object.
    InvalidJson = "invalid_json", InvalidRequest;
    /// A field has the wrong JSON type.
    InvalidType = "invalid_type", InvalidRequest;
    /// A field has a value out of range or otherwise wrong.
    InvalidValue = "invalid_value", InvalidRequest;
    /// A required field is absent.
    MissingRequiredParameter = "missing_required_parameter", InvalidRequest;
    /// A `/v1/usage` query parameter is wrong.
    InvalidQuery = "invalid_query", InvalidRequest;
    /// A mock target was asked for something it does not do.
    InvalidMockDirective = "invalid_mock_directive", InvalidRequest;
    /// The model's config says it lacks a capability the request uses.
    UnsupportedCapability = "unsupported_capability", InvalidRequest;
    /// The request uses a feature the gateway does not serve (a hosted tool, stored state).
    Unsupported = "unsupported", InvalidRequest;
    /// A capability's input does not fit its `input_schema` (nothing went upstream).
    InputInvalid = "input_invalid", InvalidRequest;
    /// A `cheapest_capable` route has no candidate that can serve the request.
    NoCapableModel = "no_capable_model", InvalidRequest;
    /// The target's provider cannot express the request.
    UnsupportedForProvider = "unsupported_for_provider", InvalidRequest;
    /// The upstream refused the request as invalid.
    UpstreamRejectedRequest = "upstream_rejected_request", InvalidRequest;
    /// The request does not fit the model's context window.
    ContextLengthExceeded = "context_length_exceeded", InvalidRequest;
    /// The request's headers are too large (served as 431).
    HeadersTooLarge = "headers_too_large", InvalidRequest;
    /// A stored conversation cannot take the turn: it would hold more than `sessions.max_items`.
    SessionFull = "session_full", InvalidRequest;
    /// No gateway key, or an unknown one.
    InvalidApiKey = "invalid_api_key", Authentication;
    /// A browser token that is malformed or badly signed.
    InvalidToken = "invalid_token", Authentication;
    /// A browser token past its expiry.
    TokenExpired = "token_expired", Authentication;
    /// The admin API was called without a valid admin key.
    InvalidAdminKey = "invalid_admin_key", Authentication;
    /// A budget cannot hold the request.
    BudgetExceeded = "budget_exceeded", PaymentRequired;
    /// The key may not use the model.
    ModelNotAllowed = "model_not_allowed", Permission;
    /// The key or token may not be used from, or mint tokens for, the origin.
    OriginNotAllowed = "origin_not_allowed", Permission;
    /// A token tried to mint a token.
    TokenCannotMint = "token_cannot_mint", Permission;
    /// A token tried to read usage.
    TokenCannotReadUsage = "token_cannot_read_usage", Permission;
    /// No model or route by that name, or no target can serve the request.
    ModelNotFound = "model_not_found", NotFound;
    /// No route for the path.
    UnknownRoute = "unknown_route", NotFound;
    /// No capability by that name (`POST /v1/capabilities/{name}`).
    CapabilityNotFound = "capability_not_found", NotFound;
    /// No runtime key by that id.
    KeyNotFound = "key_not_found", NotFound;
    /// The admin API's secret is not set.
    AdminDisabled = "admin_disabled", NotFound;
    /// Runtime keys need a KV namespace that is not bound.
    KeystoreDisabled = "keystore_disabled", NotFound;
    /// Usage needs a Durable Object namespace that is not bound.
    LedgerDisabled = "ledger_disabled", NotFound;
    /// Browser tokens are not enabled in the config.
    TokensDisabled = "tokens_disabled", NotFound;
    /// No stored conversation or response by that id for the caller's tenant.
    SessionNotFound = "session_not_found", NotFound;
    /// Stored conversations need a Durable Object namespace that is not bound.
    SessionsDisabled = "sessions_disabled", NotFound;
    /// No queued job by that id for the caller's tenant.
    JobNotFound = "job_not_found", NotFound;
    /// Queued jobs need a Durable Object namespace and a queue that are not bound.
    JobsDisabled = "jobs_disabled", NotFound;
    /// The path does not accept the method.
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed;
    /// The body is over the configured size.
    BodyTooLarge = "body_too_large", PayloadTooLarge;
    /// The request can never fit a token limit's burst.
    RequestExceedsLimit = "request_exceeds_limit", PayloadTooLarge;
    /// One item of a turn to store is over `sessions.max_item_bytes`.
    SessionItemTooLarge = "session_item_too_large", PayloadTooLarge;
    /// The content type is not JSON.
    UnsupportedContentType = "unsupported_content_type", UnsupportedMediaType;
    /// The gateway's own rate or concurrency limit.
    RateLimitExceeded = "rate_limit_exceeded", RateLimited;
    /// The upstream rate-limited the gateway.
    UpstreamRateLimited = "upstream_rate_limited", RateLimited;
    /// A bug in the gateway.
    InternalError = "internal_error", Internal;
    /// The gateway's config does not validate.
    ConfigInvalid = "config_invalid", Internal;
    /// A provider's secret is not set.
    ProviderKeyMissing = "provider_key_missing", Internal;
    /// A key has limits but the Durable Object namespace to check them is not bound.
    SpendControlUnbound = "spend_control_unbound", Internal;
    /// The secret for signing tokens is not set.
    TokenSecretMissing = "token_secret_missing", Internal;
    /// No randomness to make a key with.
    NoEntropy = "no_entropy", Internal;
    /// The driver delivered an upstream's response parts out of order.
    ExchangeOutOfOrder = "exchange_out_of_order", Internal;
    /// The upstream failed with a status no other code covers.
    UpstreamError = "upstream_error", UpstreamError;
    /// The upstream says it is overloaded (529).
    UpstreamOverloaded = "upstream_overloaded", UpstreamError;
    /// The upstream's answer could not be understood.
    UpstreamMalformed = "upstream_malformed", UpstreamError;
    /// The upstream rejected the gateway's credentials.
    UpstreamAuthFailed = "upstream_auth_failed", UpstreamError;
    /// The upstream account's quota is used up.
    UpstreamQuotaExhausted = "upstream_quota_exhausted", UpstreamError;
    /// The upstream does not know the model or route.
    UpstreamNotFound = "upstream_not_found", UpstreamError;
    /// The upstream could not be reached.
    UpstreamUnreachable = "upstream_unreachable", UpstreamError;
    /// A stream failed after its head was sent (in-band, OpenAI shape only).
    StreamError = "stream_error", UpstreamError;
    /// Every target of a route failed (served as 503).
    AllTargetsFailed = "all_targets_failed", UpstreamError;
    /// Every rung of a cascade answered, and no answer passed the route's gates (served as
    /// 422, with the verdicts).
    GatesFailed = "gates_failed", UpstreamError;
    /// The tenant's object could not admit the request (served as 503).
    SpendControlUnavailable = "spend_control_unavailable", UpstreamError;
    /// The usage ledger did not answer (503), or answered garbage (500).
    LedgerUnavailable = "ledger_unavailable", UpstreamError;
    /// A stored conversation's Durable Object did not answer, or did not store the turn
    /// (served as 503).
    SessionUnavailable = "session_unavailable", UpstreamError;
    /// A queued job's Durable Object did not answer (served as 503).
    JobUnavailable = "job_unavailable", UpstreamError;
    /// The upstream did not answer in time.
    UpstreamTimeout = "upstream_timeout", UpstreamTimeout;
}

impl Code {
    /// Where the fault lies: the kind's, except that an upstream's 429 is the upstream's.
    pub const fn fault(self) -> Fault {
        match self {
            Code::UpstreamRateLimited => Fault::Upstream,
            code => code.kind().fault(),
        }
    }

    /// What to do after an attempt failed with this code and `status` (README, "Routes,
    /// retries and fallbacks"). Exhaustive on purpose: a new code needs a decision.
    pub const fn disposition(self, status: u16) -> Disposition {
        use Code::*;
        match self {
            UpstreamRateLimited | UpstreamTimeout | UpstreamUnreachable | UpstreamOverloaded => Disposition::Retry,
            UpstreamError if status >= 500 => Disposition::Retry,
            UpstreamAuthFailed
            | UpstreamNotFound
            | UpstreamQuotaExhausted
            | ContextLengthExceeded
            | UpstreamMalformed
            | UnsupportedForProvider
            | ProviderKeyMissing => Disposition::NextTarget,
            UpstreamError
            | InvalidJson
            | InvalidType
            | InvalidValue
            | MissingRequiredParameter
            | InvalidQuery
            | InvalidMockDirective
            | UnsupportedCapability
            | Unsupported
            | InputInvalid
            | NoCapableModel
            | CapabilityNotFound
            | UpstreamRejectedRequest
            | HeadersTooLarge
            | SessionFull
            | InvalidApiKey
            | InvalidToken
            | TokenExpired
            | InvalidAdminKey
            | BudgetExceeded
            | ModelNotAllowed
            | OriginNotAllowed
            | TokenCannotMint
            | TokenCannotReadUsage
            | ModelNotFound
            | UnknownRoute
            | KeyNotFound
            | AdminDisabled
            | KeystoreDisabled
            | LedgerDisabled
            | TokensDisabled
            | SessionNotFound
            | SessionsDisabled
            | JobNotFound
            | JobsDisabled
            | MethodNotAllowed
            | BodyTooLarge
            | RequestExceedsLimit
            | SessionItemTooLarge
            | UnsupportedContentType
            | RateLimitExceeded
            | InternalError
            | ConfigInvalid
            | SpendControlUnbound
            | TokenSecretMissing
            | NoEntropy
            | ExchangeOutOfOrder
            | StreamError
            | AllTargetsFailed
            | GatesFailed
            | SpendControlUnavailable
            | LedgerUnavailable
            | SessionUnavailable
            | JobUnavailable => Disposition::Return,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests compare a code with its string; the gateway's own code compares `Code`s.
#[cfg(test)]
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Disposition::{NextTarget, Retry, Return};
    use super::Fault::{Client, Gateway, Upstream};
    use super::*;

    /// Every code: its string, kind, default status, fault, and disposition at that status.
    #[rustfmt::skip]
    const TABLE: &[(Code, &str, Kind, u16, Fault, Disposition)] = &[
        (Code::InvalidJson, "invalid_json", Kind::InvalidRequest, 400, Client, Return),
        (Code::InvalidType, "invalid_type", Kind::InvalidRequest, 400, Client, Return),
        (Code::InvalidValue, "invalid_value", Kind::InvalidRequest, 400, Client, Return),
        (Code::MissingRequiredParameter, "missing_required_parameter", Kind::InvalidRequest, 400, Client, Return),
        (Code::InvalidQuery, "invalid_query", Kind::InvalidRequest, 400, Client, Return),
        (Code::InvalidMockDirective, "invalid_mock_directive", Kind::InvalidRequest, 400, Client, Return),
        (Code::UnsupportedCapability, "unsupported_capability", Kind::InvalidRequest, 400, Client, Return),
        (Code::Unsupported, "unsupported", Kind::InvalidRequest, 400, Client, Return),
        (Code::InputInvalid, "input_invalid", Kind::InvalidRequest, 400, Client, Return),
        (Code::NoCapableModel, "no_capable_model", Kind::InvalidRequest, 400, Client, Return),
        (Code::UnsupportedForProvider, "unsupported_for_provider", Kind::InvalidRequest, 400, Client, NextTarget),
        (Code::UpstreamRejectedRequest, "upstream_rejected_request", Kind::InvalidRequest, 400, Client, Return),
        (Code::ContextLengthExceeded, "context_length_exceeded", Kind::InvalidRequest, 400, Client, NextTarget),
        (Code::HeadersTooLarge, "headers_too_large", Kind::InvalidRequest, 400, Client, Return),
        (Code::SessionFull, "session_full", Kind::InvalidRequest, 400, Client, Return),
        (Code::InvalidApiKey, "invalid_api_key", Kind::Authentication, 401, Client, Return),
        (Code::InvalidToken, "invalid_token", Kind::Authentication, 401, Client, Return),
        (Code::TokenExpired, "token_expired", Kind::Authentication, 401, Client, Return),
        (Code::InvalidAdminKey, "invalid_admin_key", Kind::Authentication, 401, Client, Return),
        (Code::BudgetExceeded, "budget_exceeded", Kind::PaymentRequired, 402, Client, Return),
        (Code::ModelNotAllowed, "model_not_allowed", Kind::Permission, 403, Client, Return),
        (Code::OriginNotAllowed, "origin_not_allowed", Kind::Permission, 403, Client, Return),
        (Code::TokenCannotMint, "token_cannot_mint", Kind::Permission, 403, Client, Return),
        (Code::TokenCannotReadUsage, "token_cannot_read_usage", Kind::Permission, 403, Client, Return),
        (Code::ModelNotFound, "model_not_found", Kind::NotFound, 404, Client, Return),
        (Code::UnknownRoute, "unknown_route", Kind::NotFound, 404, Client, Return),
        (Code::CapabilityNotFound, "capability_not_found", Kind::NotFound, 404, Client, Return),
        (Code::KeyNotFound, "key_not_found", Kind::NotFound, 404, Client, Return),
        (Code::AdminDisabled, "admin_disabled", Kind::NotFound, 404, Client, Return),
        (Code::KeystoreDisabled, "keystore_disabled", Kind::NotFound, 404, Client, Return),
        (Code::LedgerDisabled, "ledger_disabled", Kind::NotFound, 404, Client, Return),
        (Code::TokensDisabled, "tokens_disabled", Kind::NotFound, 404, Client, Return),
        (Code::SessionNotFound, "session_not_found", Kind::NotFound, 404, Client, Return),
        (Code::SessionsDisabled, "sessions_disabled", Kind::NotFound, 404, Client, Return),
        (Code::JobNotFound, "job_not_found", Kind::NotFound, 404, Client, Return),
        (Code::JobsDisabled, "jobs_disabled", Kind::NotFound, 404, Client, Return),
        (Code::MethodNotAllowed, "method_not_allowed", Kind::MethodNotAllowed, 405, Client, Return),
        (Code::BodyTooLarge, "body_too_large", Kind::PayloadTooLarge, 413, Client, Return),
        (Code::RequestExceedsLimit, "request_exceeds_limit", Kind::PayloadTooLarge, 413, Client, Return),
        (Code::SessionItemTooLarge, "session_item_too_large", Kind::PayloadTooLarge, 413, Client, Return),
        (Code::UnsupportedContentType, "unsupported_content_type", Kind::UnsupportedMediaType, 415, Client, Return),
        (Code::RateLimitExceeded, "rate_limit_exceeded", Kind::RateLimited, 429, Client, Return),
        (Code::UpstreamRateLimited, "upstream_rate_limited", Kind::RateLimited, 429, Upstream, Retry),
        (Code::InternalError, "internal_error", Kind::Internal, 500, Gateway, Return),
        (Code::ConfigInvalid, "config_invalid", Kind::Internal, 500, Gateway, Return),
        (Code::ProviderKeyMissing, "provider_key_missing", Kind::Internal, 500, Gateway, NextTarget),
        (Code::SpendControlUnbound, "spend_control_unbound", Kind::Internal, 500, Gateway, Return),
        (Code::TokenSecretMissing, "token_secret_missing", Kind::Internal, 500, Gateway, Return),
        (Code::NoEntropy, "no_entropy", Kind::Internal, 500, Gateway, Return),
        (Code::ExchangeOutOfOrder, "exchange_out_of_order", Kind::Internal, 500, Gateway, Return),
        (Code::UpstreamError, "upstream_error", Kind::UpstreamError, 502, Upstream, Retry),
        (Code::UpstreamOverloaded, "upstream_overloaded", Kind::UpstreamError, 502, Upstream, Retry),
        (Code::UpstreamMalformed, "upstream_malformed", Kind::UpstreamError, 502, Upstream, NextTarget),
        (Code::UpstreamAuthFailed, "upstream_auth_failed", Kind::UpstreamError, 502, Upstream, NextTarget),
        (Code::UpstreamQuotaExhausted, "upstream_quota_exhausted", Kind::UpstreamError, 502, Upstream, NextTarget),
        (Code::UpstreamNotFound, "upstream_not_found", Kind::UpstreamError, 502, Upstream, NextTarget),
        (Code::UpstreamUnreachable, "upstream_unreachable", Kind::UpstreamError, 502, Upstream, Retry),
        (Code::StreamError, "stream_error", Kind::UpstreamError, 502, Upstream, Return),
        (Code::AllTargetsFailed, "all_targets_failed", Kind::UpstreamError, 502, Upstream, Return),
        (Code::GatesFailed, "gates_failed", Kind::UpstreamError, 502, Upstream, Return),
        (Code::SpendControlUnavailable, "spend_control_unavailable", Kind::UpstreamError, 502, Upstream, Return),
        (Code::LedgerUnavailable, "ledger_unavailable", Kind::UpstreamError, 502, Upstream, Return),
        (Code::SessionUnavailable, "session_unavailable", Kind::UpstreamError, 502, Upstream, Return),
        (Code::JobUnavailable, "job_unavailable", Kind::UpstreamError, 502, Upstream, Return),
        (Code::UpstreamTimeout, "upstream_timeout", Kind::UpstreamTimeout, 504, Upstream, Retry),
    ];

    /// The README's error table names every code, so it cannot fall behind the enum.
    #[test]
    fn the_readme_lists_every_code() {
        let readme = include_str!("../../../README.md");
        let table = &readme[readme.find("### Errors").unwrap()..];
        for code in Code::ALL {
            assert!(table.contains(&format!("`{}`", code.as_str())), "README's error table lacks `{}`", code.as_str());
        }
    }

    #[test]
    fn every_code_has_its_string_kind_status_fault_and_disposition() {
        assert_eq!(TABLE.len(), Code::ALL.len(), "the table lists every code once");
        for (i, &(code, name, kind, status, fault, disposition)) in TABLE.iter().enumerate() {
            assert_eq!(code, Code::ALL[i], "row {i} is in declaration order");
            assert_eq!((code.as_str(), code.to_string().as_str()), (name, name), "{code:?}");
            assert_eq!((code.kind(), code.kind().status()), (kind, status), "{code:?}");
            assert_eq!(code.fault(), fault, "{code:?}");
            assert_eq!(code.disposition(status), disposition, "{code:?}");
        }
    }

    #[test]
    fn only_upstream_error_depends_on_the_status() {
        for &code in Code::ALL {
            let below = code.disposition(499);
            let want = if code == Code::UpstreamError { Return } else { code.disposition(500) };
            assert_eq!(below, want, "{code:?}");
        }
        assert_eq!(Code::UpstreamError.disposition(503), Retry);
    }

    #[test]
    fn strings_are_unique_and_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} is used twice");
            let snake = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                && !s.starts_with('_')
                && !s.ends_with('_')
                && !s.contains("__");
            assert!(snake, "{s} is not snake_case");
        }
    }
}
