//! Error bodies that quote the key the provider received, as OpenAI, Gemini and Anthropic
//! (and servers compatible with them) send them: whatever the status, neither caller shape
//! of the resulting error holds the key or a recognisable piece of it.
use super::*;
use crate::core::error::GatewayError;
use crate::core::util::redact::MIN_PIECE;
use serde_json::json;

const OPENAI_KEY: &str = "sk-proj-Hq3vX9mZ2kLw8RtY4nBc6DfG1aJe5PsU7oKi1234";
const GEMINI_KEY: &str = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY";
const ANTHROPIC_KEY: &str = "sk-ant-api03-Zx1Yw2Vu3Ts4Rq5Po6Nm7Lk8Jj9Hh0Gg-AAAAbbbb";

/// Every piece of `key` that must not reach a caller: the key, its substrings of
/// `MIN_PIECE` bytes, its prefixes and suffixes of six bytes and more.
fn pieces(key: &str) -> Vec<&str> {
    let n = key.len();
    let mut out: Vec<&str> = (0..=n - MIN_PIECE).map(|i| &key[i..i + MIN_PIECE]).collect();
    out.extend((6..=n).map(|len| &key[..len]));
    out.extend((6..=n).map(|len| &key[n - len..]));
    out
}

fn bodies_of(e: &GatewayError) -> String {
    let mut text = String::from_utf8(e.to_openai_json()).unwrap();
    text.push_str(&String::from_utf8(e.to_anthropic_json()).unwrap());
    text
}

#[test]
fn key_echoes_from_every_provider_never_reach_the_caller() {
    let redactor = Redactor::new([OPENAI_KEY, GEMINI_KEY, ANTHROPIC_KEY]);
    let openai = |code: Option<&str>, message: String| json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}});
    let gemini = |status: &str, reason: Option<&str>, message: String| {
        let details: Vec<_> = reason
            .map(|r| json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": r, "domain": "googleapis.com"}))
            .into_iter()
            .collect();
        json!({"error": {"code": 400, "message": message, "status": status, "details": details}})
    };
    let anthropic =
        |kind: &str, message: String| json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_01"});
    let printed = |key: &str| format!("{}…{}", &key[..8], &key[key.len() - 4..]);
    let cases = [
        // OpenAI's 401, and the same words from compatible servers with other statuses and codes.
        (
            Dialect::OpenAi,
            401,
            openai(
                Some("invalid_api_key"),
                "Incorrect API key provided: sk-proj-****1234. You can find your API key at https://platform.openai.com/account/api-keys."
                    .into(),
            ),
            "upstream_auth_failed",
        ),
        (
            Dialect::OpenAi,
            401,
            openai(Some("invalid_api_key"), format!("Incorrect API key provided: {OPENAI_KEY}.")),
            "upstream_auth_failed",
        ),
        (Dialect::OpenAi, 400, openai(None, format!("Incorrect API key provided: {}.", printed(OPENAI_KEY))), "upstream_rejected_request"),
        (Dialect::OpenAi, 400, openai(None, format!("Incorrect API key provided: {OPENAI_KEY}.")), "upstream_rejected_request"),
        (Dialect::OpenAi, 500, openai(None, format!("upstream said: Authorization=Bearer:{OPENAI_KEY}")), "upstream_error"),
        (
            Dialect::OpenAi,
            429,
            openai(Some("rate_limit_exceeded"), format!("Rate limit reached for key …{}", &OPENAI_KEY[20..])),
            "upstream_rate_limited",
        ),
        // Gemini's 400 for a bad key, quoting it; and an INVALID_ARGUMENT that echoes the URL.
        (
            Dialect::Gemini,
            400,
            gemini("INVALID_ARGUMENT", Some("API_KEY_INVALID"), format!("API key not valid: {GEMINI_KEY}. Please pass a valid API key.")),
            "upstream_auth_failed",
        ),
        (
            Dialect::Gemini,
            400,
            gemini("INVALID_ARGUMENT", None, format!("Invalid request to ?key={GEMINI_KEY}&alt=sse")),
            "upstream_rejected_request",
        ),
        (
            Dialect::Gemini,
            400,
            gemini("INVALID_ARGUMENT", None, format!("key {} was refused", printed(GEMINI_KEY))),
            "upstream_rejected_request",
        ),
        (
            Dialect::Gemini,
            403,
            gemini("PERMISSION_DENIED", None, format!("Permission denied for key={GEMINI_KEY}")),
            "upstream_auth_failed",
        ),
        // Anthropic's 401, and a 400 that quotes the header it read.
        (Dialect::Anthropic, 401, anthropic("authentication_error", format!("invalid x-api-key: {ANTHROPIC_KEY}")), "upstream_auth_failed"),
        (
            Dialect::Anthropic,
            400,
            anthropic("invalid_request_error", format!("x-api-key={}…", &ANTHROPIC_KEY[..30])),
            "upstream_rejected_request",
        ),
        (Dialect::Anthropic, 500, anthropic("api_error", format!("header x-api-key:{ANTHROPIC_KEY} rejected")), "upstream_error"),
    ];
    for (wire, status, body, want) in cases {
        let e = decode_error(wire, status, None, body.to_string().as_bytes(), &redactor);
        assert_eq!(e.code.as_str(), want, "{wire:?} {status} {body}");
        let text = bodies_of(&e);
        for key in [OPENAI_KEY, GEMINI_KEY, ANTHROPIC_KEY] {
            let leaked = pieces(key).into_iter().find(|p| text.contains(p));
            assert_eq!(leaked, None, "{wire:?} {status}: {text}");
        }
    }
}
