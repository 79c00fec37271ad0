//! Cross-origin access for browser callers.
//!
//! A preflight grants nothing by itself, so it is answered for any origin (reflecting the
//! requested headers, which the OpenAI and Anthropic JS SDKs set many of). The real request
//! is where the decision is made: it must come from an origin its key or token allows (else
//! 403, before any work), and only then does its reply carry `Access-Control-Allow-Origin`,
//! exposing the gateway's headers to scripts.

use crate::core::pipeline::protocol::{base_headers, Reply};

const DEFAULT_ALLOWED_HEADERS: &str = "authorization, content-type, x-api-key, anthropic-version, x-request-id, x-switchyard-mock, x-switchyard-cache, cache-control, x-switchyard-run, x-switchyard-session";

/// The answer to `OPTIONS` on a known route.
pub fn preflight(request_id: &str, origin: Option<&str>, requested_headers: Option<&str>) -> Reply {
    let mut reply = Reply { status: 204, headers: base_headers(request_id, "text/plain"), body: Vec::new(), body_from_upstream: false };
    if let Some(origin) = origin {
        let allowed = requested_headers.filter(|h| h.len() <= 2048 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_, ".contains(&b)));
        reply.headers.extend([
            ("access-control-allow-origin".to_string(), origin.to_string()),
            ("access-control-allow-methods".to_string(), "GET, POST, OPTIONS".to_string()),
            ("access-control-allow-headers".to_string(), allowed.unwrap_or(DEFAULT_ALLOWED_HEADERS).to_string()),
            ("access-control-max-age".to_string(), "600".to_string()),
            ("vary".to_string(), "origin, access-control-request-headers".to_string()),
        ]);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_reflects_origin_and_safe_headers_only() {
        let r = preflight("r", Some("https://app.example"), Some("authorization, x-stainless-os"));
        assert_eq!(r.status, 204);
        assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"));
        assert_eq!(r.header("access-control-allow-headers"), Some("authorization, x-stainless-os"));
        let r = preflight("r", Some("https://app.example"), Some("bad\r\nheader"));
        assert_eq!(r.header("access-control-allow-headers"), Some(DEFAULT_ALLOWED_HEADERS));
        assert!(preflight("r", None, None).header("access-control-allow-origin").is_none());
    }
}
