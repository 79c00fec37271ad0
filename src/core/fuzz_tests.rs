//! Property-driven fuzzing of everything that reads untrusted bytes: request decoders, the
//! strict JSON reader, SSE parsing, every upstream stream decoder and every translation
//! pairing. The property is "no panic, bounded output". `scripts/test` runs the default
//! number of cases; `scripts/fuzz` runs many more (PROPTEST_CASES).

use crate::core::pipeline::exchange::{Exchange, Route};
use crate::core::pipeline::protocol::Action;
use crate::core::translate::dialect::{anthropic, openai};
use crate::core::translate::providers::StreamDecoder;
use crate::core::types::Dialect;
use crate::core::util::sse::SseParser;
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON values, biased toward the shapes the decoders look for.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("model".to_string()),
        Just("messages".to_string()),
        Just("role".to_string()),
        Just("content".to_string()),
        Just("type".to_string()),
        Just("text".to_string()),
        Just("tools".to_string()),
        Just("max_tokens".to_string()),
        Just("stream".to_string()),
        Just("tool_calls".to_string()),
        Just("input".to_string()),
        Just("choices".to_string()),
        Just("delta".to_string()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from("user")),
        Just(Value::from("assistant")),
        Just(Value::from("tool")),
        Just(Value::from("text")),
        Just(Value::from("mock")),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const WIRES: [Dialect; 4] = [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini, Dialect::Responses];

fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(
            prop_oneof![
                json_value().prop_map(|v| format!("data: {v}\n\n")),
                Just("data: [DONE]\n\n".to_string()),
                Just("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string()),
                "[ -~]{0,40}\r?\n".prop_map(|s| s),
            ],
            0..12
        )
        .prop_map(|parts| parts.concat().into_bytes()),
    ]
}

proptest! {
    #[test]
    fn fuzz_request_decoders(bytes in prop::collection::vec(any::<u8>(), 0..256), v in json_value()) {
        let text = serde_json::to_vec(&v).unwrap();
        for body in [&bytes[..], &text[..]] {
            let _ = openai::decode_request(body);
            let _ = anthropic::decode_request(body);
            let _ = crate::core::translate::dialect::responses::decode_request(body);
            let _ = crate::core::translate::embeddings::decode_request(body);
            let _ = crate::core::util::strict_json::parse(body);
            let _ = crate::core::config::Config::parse(&String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn fuzz_wrapped_requests(messages in json_value(), tools in json_value()) {
        let body = serde_json::json!({"model": "m", "max_tokens": 5, "messages": messages, "tools": tools});
        let bytes = serde_json::to_vec(&body).unwrap();
        if let Ok(r) = openai::decode_request(&bytes) {
            let _ = crate::core::front::caps::check_request(&r);
        }
        let _ = anthropic::decode_request(&bytes);
        let body = serde_json::json!({"model": "m", "input": messages, "tools": tools});
        if let Ok(r) = crate::core::translate::dialect::responses::decode_request(&serde_json::to_vec(&body).unwrap()) {
            let _ = crate::core::front::caps::check_request(&r);
        }
    }

    #[test]
    fn fuzz_sse_and_stream_decoders(bytes in sse_bytes(), cut in 0usize..600) {
        let cut = cut.min(bytes.len());
        let mut p = SseParser::new(1 << 16);
        let _ = p.push(&bytes[..cut]);
        let _ = p.push(&bytes[cut..]);
        let _ = p.finish();
        for wire in WIRES {
            let mut d = StreamDecoder::new(wire, Default::default());
            let _ = d.push(&bytes[..cut]);
            let _ = d.push(&bytes[cut..]);
            let _ = d.finish();
        }
    }

    #[test]
    fn fuzz_translation_is_bounded(bytes in sse_bytes(), w in 0usize..3, c in 0usize..3, usage in any::<bool>()) {
        let client = [Dialect::OpenAi, Dialect::Anthropic, Dialect::Responses][c];
        let route = Route { provider: "p".into(), upstream_model: "m".into(), api: client, wire: WIRES[w], stream: true, include_usage: usage, embeddings: None, cors_origin: None, created_s: 0, echo: None };
        let mut ex = Exchange::new("r".into(), route, Default::default());
        prop_assert!(matches!(ex.on_head(200, &[("content-type".into(), "text/event-stream".into())]), Action::Stream(_)));
        let mut out = 0usize;
        for chunk in bytes.chunks(37) {
            out += ex.on_chunk(chunk).map_or(chunk.len(), |b| b.len());
        }
        out += ex.on_end().len();
        prop_assert!(out <= 16 * bytes.len() + 4096, "output {} for input {}", out, bytes.len());
    }

    #[test]
    fn fuzz_mock_directives(s in ".{0,60}") {
        let _ = crate::core::translate::providers::mock::Directive::parse(&s);
    }
}
