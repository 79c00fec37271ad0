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
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    pub kind: Kind,
    pub status: u16,
    pub code: Code,
    pub message: String,
    pub param: Option<String>,
    /// `retry-after` seconds to pass to the client, when the cause gave one.
    pub retry_after: Option<String>,
}

impl GatewayError {
    /// An error with the code's kind and that kind's status.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        let kind = code.kind();
        GatewayError { kind, status: kind.status(), code, message: message.into(), param: None, retry_after: None }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn fault(&self) -> Fault {
        self.code.fault()
    }

    /// Whether the same request may succeed if tried again.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 408 | 429 | 500 | 502 | 503 | 504 | 529) && self.fault() != Fault::Client
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
    /// Anthropic's error `type` for this error.
    fn anthropic_type(&self) -> &'static str {
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
    fn client_errors_are_not_retryable_upstream_5xx_are() {
        assert!(!GatewayError::new(Code::InvalidValue, "y").retryable());
        assert!(GatewayError::new(Code::UpstreamError, "y").with_status(503).retryable());
        assert!(GatewayError::new(Code::UpstreamTimeout, "y").retryable());
        assert!(!GatewayError::new(Code::RateLimitExceeded, "y").retryable());
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
