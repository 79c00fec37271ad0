//! The one public gateway error. Small per-module causes feed it; its axes are methods:
//! where the fault lies, whether a retry may help, whether it counts against a circuit
//! breaker, and a short stable `code` used in the client's error body and in analytics.
//!
//! Invariant: a `GatewayError` message never contains a secret. Messages built from upstream
//! bodies go through [`sanitize_upstream_message`] first, with the isolate's [`Redactor`].

mod code;

pub use code::{Code, Disposition, Fault, Kind};

use crate::core::types::Dialect;
use crate::core::util::redact::Redactor;
use crate::json;

/// An error the gateway answers with: the HTTP status, the stable code and a message for the
/// caller, rendered in the caller's dialect by [`GatewayError::body_for`].
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    /// OpenAI's error kind; sets the body's `type`. [`GatewayError::new`] takes it from the
    /// code, but it may differ (an unreadable usage-ledger answer is `Internal` with the
    /// code `ledger_unavailable`).
    pub kind: Kind,
    /// The HTTP status of the reply: the kind's default unless the site that made the error
    /// chose another (431, 503, ...).
    pub status: u16,
    /// The stable code: the body's `code` and the analytics `error_code`. The error's axes
    /// (fault, disposition, breaker) follow from it, not from `kind`.
    pub code: Code,
    /// Human-readable text for the caller. Never a secret: text from upstream bodies has
    /// been through [`sanitize_upstream_message`].
    pub message: String,
    /// The path of the offending request field (`messages[2].content[0].text`, `model`),
    /// OpenAI's `param`; `null` in the OpenAI body when absent, left out of Anthropic's.
    pub param: Option<String>,
    /// `retry-after` seconds to pass to the client as that header, when the cause gave one:
    /// the gateway's own rate limit, or an upstream 429's numeric value.
    pub retry_after: Option<String>,
}

impl GatewayError {
    /// An error with the code's kind and that kind's status.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        let kind = code.kind();
        GatewayError { kind, status: kind.status(), code, message: message.into(), param: None, retry_after: None }
    }

    /// The same error naming the offending field's path as its `param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The same error served with `status` instead of its kind's default; kind, code and
    /// every axis stay as they were.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Where the fault lies, from the code (see [`Code::fault`]).
    pub fn fault(&self) -> Fault {
        self.code.fault()
    }

    /// What to do after an attempt failed with this error (README, "Routes, retries and fallbacks").
    pub fn disposition(&self) -> Disposition {
        self.code.disposition(self.status)
    }

    /// Whether it is evidence that the upstream target is unhealthy.
    pub fn counts_against_breaker(&self) -> bool {
        self.fault() == Fault::Upstream
    }

    /// OpenAI's `type` string.
    pub fn type_str(&self) -> &'static str {
        match self.kind {
            Kind::InvalidRequest | Kind::PayloadTooLarge | Kind::UnsupportedMediaType => "invalid_request_error",
            Kind::MethodNotAllowed => "invalid_request_error",
            Kind::NotFound => "not_found_error",
            Kind::Authentication => "authentication_error",
            Kind::Permission => "permission_error",
            Kind::RateLimited => "rate_limit_error",
            Kind::PaymentRequired => "insufficient_quota",
            Kind::UpstreamError | Kind::UpstreamTimeout => "upstream_error",
            Kind::Internal => "server_error",
        }
    }

    /// The body in OpenAI's shape: `{"error": {"message", "type", "code", "param"}}`.
    pub fn to_openai_json(&self) -> Vec<u8> {
        let body = json!({
            "error": {
                "message": self.message,
                "type": self.type_str(),
                "code": self.code.as_str(),
                "param": self.param,
            }
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl GatewayError {
    /// The HTTP status for a caller speaking `dialect`. An overloaded upstream reaches an
    /// Anthropic caller as Anthropic's own 529 `overloaded_error`, which its SDKs raise as
    /// `OverloadedError` (<https://platform.claude.com/docs/en/api/errors>); other callers get
    /// the error's status (502 for that one: 529 is no standard status, and OpenAI's SDKs know
    /// it only as a 5xx).
    pub fn status_for(&self, dialect: Dialect) -> u16 {
        match dialect {
            Dialect::Anthropic if self.code == Code::UpstreamOverloaded => 529,
            _ => self.status,
        }
    }

    /// Anthropic's error `type` for this error
    /// (<https://platform.claude.com/docs/en/api/errors>).
    fn anthropic_type(&self) -> &'static str {
        if self.code == Code::UpstreamOverloaded {
            return "overloaded_error";
        }
        match (self.kind, self.status) {
            (Kind::Authentication, _) => "authentication_error",
            (Kind::Permission, _) => "permission_error",
            (Kind::NotFound, _) => "not_found_error",
            (Kind::PayloadTooLarge, _) => "request_too_large",
            (Kind::PaymentRequired, _) => "billing_error",
            (Kind::RateLimited, _) => "rate_limit_error",
            (_, 529) => "overloaded_error",
            (Kind::UpstreamTimeout, _) => "timeout_error",
            (Kind::UpstreamError | Kind::Internal, _) => "api_error",
            _ => "invalid_request_error",
        }
    }

    /// The body in Anthropic's shape: `{"type": "error", "error": {"type", "message"}}`.
    pub fn to_anthropic_json(&self) -> Vec<u8> {
        let body = json!({"type": "error", "error": {"type": self.anthropic_type(), "message": self.message}});
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The body in the caller's dialect.
    pub fn body_for(&self, dialect: Dialect) -> Vec<u8> {
        match dialect {
            Dialect::Anthropic => self.to_anthropic_json(),
            _ => self.to_openai_json(),
        }
    }
}

/// Bound on how much of an upstream error message reaches a client.
const MAX_UPSTREAM_MESSAGE: usize = 300;
/// Bound on how much of an upstream error message is read at all.
const MAX_UPSTREAM_INPUT: usize = 8192;

/// Make an upstream-supplied message safe to show: cut out the worker's own secrets and their
/// recognisable pieces (`redactor`: providers echo the key they received, whole or as
/// `sk-abc…wxyz`), drop anything else that looks like a key or bearer token, strip control
/// characters, and bound the length. The result holds no piece of a secret `redactor` knows.
pub fn sanitize_upstream_message(message: &str, redactor: &Redactor) -> String {
    let message = &message[..floor_char_boundary(message, MAX_UPSTREAM_INPUT)];
    let mut out = String::with_capacity(message.len().min(MAX_UPSTREAM_MESSAGE));
    for word in message.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        if looks_like_secret(trimmed) {
            out.push_str("[redacted]");
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out.retain(|c| !c.is_control() || c == ' ');
    let mut clean = redactor.redact(&out).into_owned();
    if clean.len() > MAX_UPSTREAM_MESSAGE {
        clean.truncate(floor_char_boundary(&clean, MAX_UPSTREAM_MESSAGE));
        clean.push('…');
        // The ellipsis could complete a piece of a secret that holds one.
        clean = redactor.redact(&clean).into_owned();
    }
    clean
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut cut = at.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

fn looks_like_secret(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != '*');
    let prefixed = ["sk-", "sk_", "pk-", "key-", "gsk_", "xai-", "AIza", "Bearer"].iter().any(|p| w.starts_with(p));
    let long_token = w.len() >= 24
        && w.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))
        && w.chars().any(|c| c.is_ascii_digit());
    (prefixed && w.len() > 6) || long_token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape_has_all_four_fields() {
        let e = GatewayError::new(Code::InvalidType, "bad").with_param("temperature");
        let v: serde_json::Value = serde_json::from_slice(&e.to_openai_json()).unwrap();
        assert_eq!(v["error"]["message"], "bad");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "invalid_type");
        assert_eq!(v["error"]["param"], "temperature");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn null_param_is_present() {
        let v: serde_json::Value = serde_json::from_slice(&GatewayError::new(Code::ModelNotFound, "x").to_openai_json()).unwrap();
        assert!(v["error"].as_object().unwrap().contains_key("param"));
    }

    #[test]
    fn client_errors_are_not_retried_upstream_5xx_are() {
        assert_eq!(GatewayError::new(Code::InvalidValue, "y").disposition(), Disposition::Return);
        assert_eq!(GatewayError::new(Code::UpstreamError, "y").with_status(503).disposition(), Disposition::Retry);
        assert_eq!(GatewayError::new(Code::UpstreamTimeout, "y").disposition(), Disposition::Retry);
        assert_eq!(GatewayError::new(Code::RateLimitExceeded, "y").disposition(), Disposition::Return);
    }

    #[test]
    fn anthropic_shape() {
        let e = GatewayError::new(Code::InvalidApiKey, "no");
        let v: serde_json::Value = serde_json::from_slice(&e.body_for(Dialect::Anthropic)).unwrap();
        assert_eq!(v, json!({"type": "error", "error": {"type": "authentication_error", "message": "no"}}));
    }

    fn plain(message: &str) -> String {
        sanitize_upstream_message(message, &Redactor::default())
    }

    #[test]
    fn an_overloaded_upstream_is_anthropics_529_for_anthropic_callers_only() {
        let e = GatewayError::new(Code::UpstreamOverloaded, "the upstream is overloaded");
        assert_eq!((e.status_for(Dialect::Anthropic), e.status_for(Dialect::OpenAi)), (529, 502));
        let v: serde_json::Value = serde_json::from_slice(&e.body_for(Dialect::Anthropic)).unwrap();
        assert_eq!(v["error"]["type"], "overloaded_error");
        let v: serde_json::Value = serde_json::from_slice(&e.body_for(Dialect::OpenAi)).unwrap();
        assert_eq!((v["error"]["type"].as_str(), v["error"]["code"].as_str()), (Some("upstream_error"), Some("upstream_overloaded")));
        // Every other error keeps its status, whoever the caller.
        for &code in Code::ALL.iter().filter(|&&c| c != Code::UpstreamOverloaded) {
            let e = GatewayError::new(code, "x");
            assert_eq!(e.status_for(Dialect::Anthropic), e.status, "{code:?}");
        }
    }

    #[test]
    fn anthropic_types_by_kind() {
        let cases = [
            (Code::InvalidValue, "invalid_request_error"),
            (Code::ModelNotAllowed, "permission_error"),
            (Code::UnknownRoute, "not_found_error"),
            (Code::BodyTooLarge, "request_too_large"),
            (Code::BudgetExceeded, "billing_error"),
            (Code::UpstreamRateLimited, "rate_limit_error"),
            (Code::UpstreamError, "api_error"),
            (Code::InternalError, "api_error"),
            (Code::UpstreamTimeout, "timeout_error"),
        ];
        for (code, want) in cases {
            let v: serde_json::Value = serde_json::from_slice(&GatewayError::new(code, "x").to_anthropic_json()).unwrap();
            assert_eq!(v["error"]["type"], want, "{code:?}");
        }
    }

    #[test]
    fn sanitize_redacts_keys() {
        let m = plain("Incorrect API key provided: sk-proj-abc123def456ghi. You can find...");
        assert!(!m.contains("abc123"), "{m}");
        assert!(m.contains("[redacted]"));
        let m = plain("token ABCDEFGHIJKLMNOPQRSTUVWXYZ123456 bad");
        assert!(!m.contains("ABCDEFGHIJ"));
        assert_eq!(plain("model not found"), "model not found");
    }

    #[test]
    fn sanitize_bounds_length_and_controls() {
        let m = plain(&"é".repeat(400));
        assert!(m.len() <= MAX_UPSTREAM_MESSAGE + 3);
        assert_eq!(plain("a\u{0}b\nc"), "abc");
    }

    /// Echoes the word heuristic lets through: the exact secrets catch them.
    #[test]
    fn sanitize_cuts_the_workers_own_secrets_wherever_they_stand() {
        let key = "gsk-Zb8Kq2Wn5Rt7Yp1Lm4Xc9Vd3";
        let redactor = Redactor::new([key, "admin-passphrase with spaces"]);
        let cases = [
            format!("key={key}&alt=sse"),
            format!("received [{}] as credentials", &key[4..18]),
            format!("ends with …{}", &key[key.len() - 7..]),
            format!("line-\n-split {}\n{}", &key[..10], &key[10..]),
            "the admin-passphrase with spaces is wrong".to_string(),
            format!("{}{key}", "x".repeat(MAX_UPSTREAM_MESSAGE - 5)),
        ];
        for text in cases {
            let m = sanitize_upstream_message(&text, &redactor);
            assert!(!m.contains(&key[..6]) && !m.contains(&key[key.len() - 6..]), "{text} -> {m}");
            assert!(!m.contains("admin-") && !m.contains("spaces"), "{text} -> {m}");
            assert!(m.contains("[redacted]") || m.ends_with('…'), "{text} -> {m}");
        }
    }

    proptest::proptest! {
        /// For random secrets and random surrounding text: the secret, and any piece of 12
        /// characters of it, never survives.
        #[test]
        fn sanitize_never_lets_a_secret_through(
            secret in "[A-Za-z0-9_-]{12,80}|[ -~]{1,60}",
            before in "[ -~\n\t é]{0,120}",
            after in "[ -~\n\t é]{0,120}",
            cut in (0usize..80, 0usize..80),
        ) {
            let redactor = Redactor::new([secret.as_str()]);
            let (a, b) = (cut.0 % (secret.len() + 1), cut.1 % (secret.len() + 1));
            let (a, b) = (a.min(b), a.max(b));
            let piece = if b - a >= 12 { &secret[a..b] } else { secret.as_str() };
            for text in [format!("{before}{secret}{after}"), format!("{before}{piece}{after}"), format!("{before}{piece}{secret}{piece}")] {
                let m = sanitize_upstream_message(&text, &redactor);
                proptest::prop_assert!(!m.contains(secret.as_str()), "{:?} -> {:?}", text, m);
                let chars: Vec<char> = secret.chars().collect();
                for w in chars.windows(12) {
                    let w: String = w.iter().collect();
                    proptest::prop_assert!(!m.contains(w.as_str()), "{:?} in {:?} -> {:?}", w, text, m);
                }
            }
        }
    }
}
