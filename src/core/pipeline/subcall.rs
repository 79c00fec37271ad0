//! Sub-requests: model calls the pipeline makes for itself rather than for the caller (the
//! similar-prompt lookup's embedding today; judges, summaries and cascade rungs use the same
//! step). A sub-request is one [`Action::Call`]; its result comes back as
//! [`Event::Called`](crate::core::pipeline::protocol::Event::Called) and is read here into
//! canonical types. The built-in mock answers in place, with no call at all, through the same
//! decoding as a real upstream's answer.
//!
//! The same step counts a Messages request's input tokens at an Anthropic target
//! (`count_tokens`), for `POST /v1/messages/count_tokens`.
//!
//! Invariant: a sub-request never streams and never retries by itself; the step that made it
//! decides what a failure means (the similar-prompt lookup, for one, simply goes upstream).

use crate::core::config::ProviderKind;
use crate::core::error::{Code, GatewayError};
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::target::{target_of, Payload, TargetSpec};
use crate::core::translate::embeddings;
use crate::core::translate::providers::mock::{self, Directive, MockCall};
use crate::core::translate::providers::{self, malformed};
use crate::core::translate::wire::anthropic::TokenCount;
use crate::core::types::{ChatRequest, ChatResponse, Dialect};
use crate::core::util::redact::Redactor;

/// How a sub-request begins.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// The driver must make this call.
    Call(Action),
    /// Answered in place (the built-in mock): the status and body a call would have given.
    Answered {
        /// HTTP status.
        status: u16,
        /// The whole body, in the target's wire format.
        body: Vec<u8>,
    },
}

/// Begin a sub-request for `payload` at `target`, bounded by `timeout_ms` (at most the
/// target's own). A streamed chat payload is asked for whole.
pub fn begin(target: &TargetSpec, payload: &Payload, timeout_ms: u32, now_ms: u64) -> Result<Begun, GatewayError> {
    if target.kind == ProviderKind::Mock {
        return mock_answer(target, payload, now_ms);
    }
    let t = target_of(target)?;
    let request = match payload {
        Payload::Chat(req) if req.stream => {
            let mut whole = (**req).clone();
            whole.stream = false;
            providers::build_request(&whole, &t)?
        }
        Payload::Chat(req) => providers::build_request(req, &t)?,
        Payload::Embeddings(req) => embeddings::build_request(req, &t)?,
    };
    Ok(Begun::Call(Action::Call { request, timeout_ms: timeout_ms.min(target.timeout_ms) }))
}

fn mock_answer(target: &TargetSpec, payload: &Payload, now_ms: u64) -> Result<Begun, GatewayError> {
    let body = match payload {
        Payload::Embeddings(req) => embeddings::mock_response(req, &target.model),
        Payload::Chat(req) => {
            let directive = target.model.strip_prefix("fault:").map(Directive::parse).transpose()?.unwrap_or_default();
            let mut whole = (**req).clone();
            whole.stream = false;
            let call = MockCall { upstream_model: &target.model, directive, default_chunk_ms: 0, now_s: now_ms / 1000 };
            let reply = mock::respond(&whole, call);
            if reply.status != 200 || reply.cut {
                return Ok(Begun::Answered { status: if reply.cut { 0 } else { reply.status }, body: reply.frames.concat() });
            }
            reply.frames.concat()
        }
    };
    Ok(Begun::Answered { status: 200, body })
}

/// A chat sub-request's answer in canonical form; an error for no answer, a failure status
/// or a body that does not decode (its message cleaned with `redactor`).
pub fn chat_answer(target: &TargetSpec, status: u16, body: &[u8], redactor: &Redactor) -> Result<ChatResponse, GatewayError> {
    match status {
        0 => Err(GatewayError::new(Code::UpstreamUnreachable, "the sub-request got no answer")),
        200 => providers::decode_response(target.kind.wire(), body),
        _ => Err(providers::decode_error(target.kind.wire(), status, None, body, redactor)),
    }
}

/// Begin counting `req`'s input tokens at `target`, bounded by `timeout_ms` (at most the
/// target's own): a call to Anthropic's `count_tokens` endpoint
/// (<https://platform.claude.com/docs/en/api/messages/count_tokens>). `None` for a target of
/// another wire, which has no such endpoint (the caller estimates instead).
pub fn begin_count(target: &TargetSpec, req: &ChatRequest, timeout_ms: u32) -> Result<Option<Action>, GatewayError> {
    if target.kind.wire() != Dialect::Anthropic {
        return Ok(None);
    }
    let request = providers::anthropic::build_count_request(req, &target_of(target)?)?;
    Ok(Some(Action::Call { request, timeout_ms: timeout_ms.min(target.timeout_ms) }))
}

/// The input tokens a `count_tokens` sub-request answered; an error for no answer, a failure
/// status or a body that does not decode. Its caller answers with an estimate on any error,
/// so an error's message never reaches a client (nothing needs redacting).
pub fn count_answer(status: u16, body: &[u8]) -> Result<u64, GatewayError> {
    match status {
        0 => Err(GatewayError::new(Code::UpstreamUnreachable, "the sub-request got no answer")),
        200 => serde_json::from_slice::<TokenCount>(body).map(|c| c.input_tokens).map_err(|_| malformed("token count")),
        _ => Err(providers::decode_error(Dialect::Anthropic, status, None, body, &Redactor::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{Prices, Quota};
    use crate::core::translate::dialect;

    fn target(kind: ProviderKind, model: &str, key: Result<Option<String>, String>) -> TargetSpec {
        TargetSpec {
            provider: "p".into(),
            kind,
            base_url: "https://up.example/v1".into(),
            model: model.into(),
            api_key: key,
            api_version: String::new(),
            max_output_tokens: 256,
            timeout_ms: 30_000,
            ttfb_timeout_ms: 0,
            idle_timeout_ms: 0,
            max_retries: 0,
            stream_chunk_ms: 0,
            allow_panic: false,
            prices: Prices::default(),
            responses_api: false,
            quota: Quota::default(),
        }
    }

    fn chat(stream: bool) -> Payload {
        let body = format!(r#"{{"model":"m","stream":{stream},"messages":[{{"role":"user","content":"Summarise: the sky is blue."}}]}}"#);
        Payload::Chat(Box::new(dialect::decode_request(Dialect::OpenAi, body.as_bytes()).expect("valid")))
    }

    #[test]
    fn the_mock_answers_a_chat_sub_request_in_place_and_it_decodes() {
        let t = target(ProviderKind::Mock, "mock-1", Ok(None));
        let Ok(Begun::Answered { status, body }) = begin(&t, &chat(true), 5_000, 0) else { panic!("answered in place") };
        let answer = chat_answer(&t, status, &body, &Redactor::default()).expect("a chat answer");
        assert!(!answer.choices.is_empty(), "{answer:?}");
    }

    #[test]
    fn a_real_target_gets_one_whole_call_bounded_by_the_shorter_timeout() {
        let t = target(ProviderKind::Openai, "gpt-x", Ok(Some("sk-up".into())));
        let Ok(Begun::Call(Action::Call { request, timeout_ms })) = begin(&t, &chat(true), 5_000, 0) else { panic!("a call") };
        assert_eq!(timeout_ms, 5_000);
        let sent: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_ne!(sent["stream"], serde_json::json!(true), "a sub-request is never streamed");
        assert!(request.url.ends_with("/chat/completions"), "{}", request.url);
    }

    #[test]
    fn token_counts_are_asked_of_anthropic_targets_only() {
        let body = br#"{"model":"m","max_tokens":9,"stream":true,"temperature":0.5,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#;
        let req = dialect::anthropic::decode_request(body).expect("valid");
        let t = target(ProviderKind::Anthropic, "claude-x", Ok(Some("sk-ant".into())));
        let Ok(Some(Action::Call { request, timeout_ms })) = begin_count(&t, &req, 5_000) else { panic!("a call") };
        assert_eq!((request.url.as_str(), timeout_ms), ("https://up.example/v1/v1/messages/count_tokens", 5_000));
        assert!(request.headers.contains(&("x-api-key".into(), "sk-ant".into())));
        let sent: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(
            sent,
            serde_json::json!({"model": "claude-x", "system": "be brief", "messages": [{"role": "user", "content": "hi"}]}),
            "the caller's own fields, only those count_tokens accepts"
        );
        for kind in [ProviderKind::Openai, ProviderKind::Gemini, ProviderKind::Mock] {
            assert_eq!(begin_count(&target(kind, "m", Ok(None)), &req, 5_000), Ok(None), "{kind:?}");
        }
        assert_eq!(count_answer(200, br#"{"input_tokens":14}"#), Ok(14));
        assert_eq!(count_answer(200, b"{}").unwrap_err().code, "upstream_malformed");
        assert_eq!(count_answer(0, b"").unwrap_err().code, "upstream_unreachable");
        let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(count_answer(529, overloaded).unwrap_err().code, "upstream_overloaded");
    }

    #[test]
    fn a_missing_key_or_a_failed_answer_is_an_error_not_a_panic() {
        let t = target(ProviderKind::Openai, "gpt-x", Err("OPENAI_API_KEY".into()));
        assert_eq!(begin(&t, &chat(false), 5_000, 0).unwrap_err().code, "provider_key_missing");
        assert_eq!(chat_answer(&t, 0, b"", &Redactor::default()).unwrap_err().code, "upstream_unreachable");
        assert_eq!(chat_answer(&t, 200, b"not json", &Redactor::default()).unwrap_err().status, 502);
        let err =
            chat_answer(&t, 401, br#"{"error":{"message":"bad key","type":"invalid_request_error"}}"#, &Redactor::default()).unwrap_err();
        assert_eq!(err.code, "upstream_auth_failed");
    }
}
