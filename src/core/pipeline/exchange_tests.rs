//! Every pairing of caller dialect × upstream wire, through the exchange: the caller's
//! output is read back with that dialect's own decoder and must carry the same text, tool
//! calls, finish reason and usage; splitting the upstream bytes anywhere changes nothing;
//! a cut stream ends in the caller's in-band error form.
use super::*;
use crate::core::translate::providers::{anthropic, gemini, openai};
use crate::core::types::{FinishReason, StreamEvent, Usage};
use crate::core::util::redact::Redactor;
use proptest::prelude::*;

/// The request's time in the exchanges here, Unix seconds.
const NOW_S: u64 = 1_700_000_000;

/// A route for these tests: provider `p`, upstream model `m`, no CORS, the request at
/// [`NOW_S`].
pub(super) fn test_route(api: Dialect, wire: Dialect, stream: bool, include_usage: bool) -> Route {
    Route {
        provider: "p".into(),
        upstream_model: "m".into(),
        api,
        wire,
        stream,
        include_usage,
        embeddings: None,
        cors_origin: None,
        created_s: NOW_S,
        echo: None,
    }
}

fn exchange(client: Dialect, wire: Dialect, include_usage: bool) -> Exchange {
    let route = test_route(client, wire, true, include_usage);
    let mut ex = Exchange::new("req_1".into(), route, Default::default());
    let head = ex.on_head(200, &[("content-type".into(), "text/event-stream".into())]);
    assert!(matches!(head, Action::Stream(_)));
    ex
}

fn fixture(wire: Dialect) -> &'static str {
    match wire {
        Dialect::OpenAi | Dialect::Completions => openai::tests::TOOL_STREAM,
        Dialect::Responses => crate::core::translate::providers::responses::tests::STREAM,
        Dialect::Anthropic => anthropic::tests::STREAM,
        Dialect::Gemini => gemini::tests::STREAM,
    }
}

/// Run `chunks` through an exchange; return the bytes the caller receives.
fn run(client: Dialect, wire: Dialect, include_usage: bool, chunks: &[&[u8]]) -> Vec<u8> {
    let mut ex = exchange(client, wire, include_usage);
    let mut out = Vec::new();
    for c in chunks {
        match ex.on_chunk(c) {
            None => out.extend_from_slice(c),
            Some(bytes) => out.extend(bytes),
        }
    }
    out.extend(ex.on_end());
    out
}

/// What a caller's own SDK would see: its dialect's decoder over the output.
fn read_back(client: Dialect, bytes: &[u8]) -> Vec<StreamEvent> {
    let mut d = crate::core::translate::providers::StreamDecoder::new(client, Default::default());
    let mut evs = d.push(bytes).unwrap();
    evs.extend(d.finish().unwrap());
    evs
}

#[derive(Debug, Default, PartialEq)]
struct Summary {
    text: String,
    calls: Vec<(String, String)>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
    error: bool,
}

fn summarize(evs: &[StreamEvent]) -> Summary {
    let mut s = Summary::default();
    for ev in evs {
        match ev {
            StreamEvent::TextDelta { text, .. } => s.text.push_str(text),
            StreamEvent::ToolCallDelta { name: Some(n), arguments, .. } => s.calls.push((n.clone(), arguments.clone())),
            StreamEvent::ToolCallDelta { arguments, .. } => s.calls.last_mut().unwrap().1.push_str(arguments),
            StreamEvent::Finish { reason, .. } => s.finish = Some(reason.clone()),
            StreamEvent::Usage(u) => s.usage = Some(*u),
            StreamEvent::Done => s.done = true,
            StreamEvent::Error { .. } => s.error = true,
            StreamEvent::Start { .. } => {}
        }
    }
    s
}

const CLIENTS: [Dialect; 3] = [Dialect::OpenAi, Dialect::Anthropic, Dialect::Responses];
const WIRES: [Dialect; 3] = [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini];

#[test]
fn every_pairing_preserves_text_tools_finish_and_usage() {
    for wire in WIRES {
        let upstream = summarize(&read_back(wire, fixture(wire).as_bytes()));
        assert!(upstream.done && !upstream.error, "{wire:?} fixture is a clean stream");
        for client in CLIENTS {
            let got = summarize(&read_back(client, &run(client, wire, true, &[fixture(wire).as_bytes()])));
            assert_eq!(got, upstream, "{wire:?} upstream → {client:?} caller");
        }
    }
}

#[test]
fn usage_is_stripped_when_the_caller_did_not_ask() {
    for wire in WIRES {
        let out = run(Dialect::OpenAi, wire, false, &[fixture(wire).as_bytes()]);
        let got = summarize(&read_back(Dialect::OpenAi, &out));
        assert!(got.done && got.usage.is_none(), "{wire:?}: {}", String::from_utf8_lossy(&out));
    }
}

#[test]
fn openai_to_openai_with_usage_is_byte_for_byte() {
    let f = fixture(Dialect::OpenAi).as_bytes();
    assert_eq!(run(Dialect::OpenAi, Dialect::OpenAi, true, &[f]), f);
}

#[test]
fn cut_streams_end_in_the_callers_error_form() {
    for wire in WIRES {
        let f = fixture(wire).as_bytes();
        let cut = &f[..f.len() * 2 / 3];
        for client in CLIENTS {
            let out = String::from_utf8(run(client, wire, true, &[cut])).unwrap();
            let got = summarize(&read_back(client, out.as_bytes()));
            assert!(got.error && !got.done, "{wire:?} → {client:?}: {out}");
            match client {
                Dialect::Anthropic => assert!(out.contains("event: error") && !out.contains("message_stop")),
                _ => assert!(out.contains("\"error\"") && !out.contains("[DONE]")),
            }
        }
    }
}

#[test]
fn non_streamed_answers_translate_to_the_callers_shape() {
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
    let route = Route { upstream_model: "claude".into(), ..test_route(Dialect::OpenAi, Dialect::Anthropic, false, false) };
    let mut ex = Exchange::new("r".into(), route, Default::default());
    ex.on_head(200, &[]);
    let Action::Respond(r) = ex.on_body(body) else { panic!() };
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["object"].as_str(), v["choices"][0]["message"]["content"].as_str(), v["choices"][0]["finish_reason"].as_str()),
        (Some("chat.completion"), Some("hi"), Some("stop"))
    );
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    assert_eq!(v["created"], NOW_S, "Anthropic gives no time: the request's stands in");
}

#[test]
fn translated_streams_carry_the_requests_time_and_openai_ones_their_own() {
    for (wire, want) in [(Dialect::Anthropic, NOW_S), (Dialect::Gemini, NOW_S), (Dialect::OpenAi, 0)] {
        let out = run(Dialect::OpenAi, wire, true, &[fixture(wire).as_bytes()]);
        let first = String::from_utf8(out).unwrap().lines().find_map(|l| l.strip_prefix("data: ").map(str::to_string)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&first).unwrap();
        let upstream =
            serde_json::from_str::<serde_json::Value>(fixture(wire).lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
        let want = if wire == Dialect::OpenAi { upstream["created"].as_u64().unwrap() } else { want };
        assert_eq!(v["created"].as_u64(), Some(want), "{wire:?}: {first}");
    }
}

#[test]
fn upstream_errors_come_back_in_the_callers_shape() {
    let route = Route { upstream_model: "g".into(), created_s: 0, ..test_route(Dialect::Anthropic, Dialect::Gemini, false, true) };
    let mut ex = Exchange::new("r".into(), route, Default::default());
    ex.on_head(429, &[("retry-after".into(), "3".into())]);
    let Action::Respond(r) = ex.on_body(br#"{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#) else { panic!() };
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((r.status, v["type"].as_str(), v["error"]["type"].as_str()), (429, Some("error"), Some("rate_limit_error")));
    assert_eq!(r.header("retry-after"), Some("3"));
}

/// An in-band error in the same upstream chunk as text: the caller gets the text, then the
/// error, in its own form.
#[test]
fn text_before_an_in_band_error_in_one_chunk_is_kept() {
    let chunk = concat!(
        "data: {\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"partial \"}]}, \"index\": 0}]}\r\n\r\n",
        "data: {\"error\": {\"code\": 500, \"message\": \"boom\", \"status\": \"INTERNAL\"}}\r\n\r\n",
    );
    for api in [Dialect::OpenAi, Dialect::Anthropic] {
        let out = String::from_utf8(run(api, Dialect::Gemini, true, &[chunk.as_bytes()])).unwrap();
        let (text, error) = (out.find("partial"), out.find("boom"));
        assert!(text.is_some() && error.is_some() && text < error, "{api:?}: {out}");
    }
}

/// A provider key, and an upstream message quoting it in forms the word heuristic misses.
const KEY: &str = "gsk-Zb8Kq2Wn5Rt7Yp1Lm4Xc9Vd3Hj6";

fn quoting_key() -> String {
    format!("bad value for key={KEY}; sent [{}…], ends …{}; middle {}", &KEY[..8], &KEY[KEY.len() - 8..], &KEY[10..24])
}

fn assert_no_key(what: &str, bytes: &[u8], headers: &[(String, String)]) {
    let text = String::from_utf8_lossy(bytes);
    let pieces = [KEY, &KEY[..8], &KEY[KEY.len() - 8..], &KEY[10..24]];
    assert!(!pieces.iter().any(|p| text.contains(p)), "{what}: {text}");
    assert!(!headers.iter().any(|(_, v)| pieces.iter().any(|p| v.contains(p))), "{what}: {headers:?}");
    assert!(!Redactor::new([KEY]).finds(&text), "{what}: {text}");
}

/// Error bodies and in-band stream errors from every wire, in every caller API: the
/// isolate's secrets are cut out, however the upstream quoted them.
#[test]
fn upstream_error_text_never_carries_the_workers_secrets() {
    let message = serde_json::Value::from(quoting_key());
    for wire in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini] {
        let (body, event) = match wire {
            Dialect::OpenAi | Dialect::Completions | Dialect::Responses => (
                serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}),
                format!("data: {}\n\n", serde_json::json!({"error": {"message": message, "type": "server_error"}})),
            ),
            Dialect::Anthropic => (
                serde_json::json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}}),
                format!(
                    "event: error\ndata: {}\n\n",
                    serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": message}})
                ),
            ),
            Dialect::Gemini => (
                serde_json::json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}),
                format!("data: {}\n\n", serde_json::json!({"error": {"code": 500, "message": message, "status": "INTERNAL"}})),
            ),
        };
        for api in CLIENTS {
            let route = |stream| Route { created_s: 0, ..test_route(api, wire, stream, true) };
            let mut ex = Exchange::new("r".into(), route(false), Redactor::new([KEY]));
            ex.on_head(400, &[]);
            let Action::Respond(r) = ex.on_body(&serde_json::to_vec(&body).unwrap()) else { panic!() };
            assert_eq!(r.status, 400, "{wire:?} -> {api:?}: the caller's request was refused");
            assert_no_key(&format!("{wire:?} -> {api:?} body"), &r.body, &r.headers);
            assert!(String::from_utf8_lossy(&r.body).contains("[redacted]"));

            let mut ex = Exchange::new("r".into(), route(true), Redactor::new([KEY]));
            let Action::Stream(head) = ex.on_head(200, &[("content-type".into(), "text/event-stream".into())]) else { panic!() };
            let mut out = ex.on_chunk(event.as_bytes()).unwrap_or_default();
            out.extend(ex.on_end());
            assert!(String::from_utf8_lossy(&out).contains("error"), "{wire:?} -> {api:?}: {}", String::from_utf8_lossy(&out));
            assert_no_key(&format!("{wire:?} -> {api:?} stream"), &out, &head.headers);
        }
    }
}

proptest! {
    #[test]
    fn split_anywhere_same_output(cuts in proptest::collection::vec(0usize..4000, 0..6), w in 0usize..3, c in 0usize..3) {
        let (wire, client) = (WIRES[w], CLIENTS[c]);
        let f = fixture(wire).as_bytes();
        let mut points: Vec<usize> = cuts.into_iter().map(|x| x % (f.len() + 1)).collect();
        points.sort();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points { chunks.push(&f[last..p]); last = p; }
        chunks.push(&f[last..]);
        prop_assert_eq!(run(client, wire, true, &chunks), run(client, wire, true, &[f]));
    }
}

/// The edge passes only `UPSTREAM_HEADERS`: any other header must change nothing.
#[test]
fn on_head_reads_only_the_listed_headers() {
    let heads: [&[(&str, &str)]; 4] = [
        &[("Content-Type", "text/event-stream"), ("x-request-id", "up-1"), ("content-length", "12")],
        &[("content-type", "application/json"), ("Retry-After", "7"), ("server", "up"), ("date", "now")],
        &[("retry-after-ms", "1500"), ("retry-after", "2"), ("via", "1.1 proxy"), ("content-type", "application/json")],
        &[("x-ratelimit-remaining", "0"), ("set-cookie", "a=b")],
    ];
    for status in [200, 429, 503] {
        for stream in [false, true] {
            for head in heads {
                let all: Vec<(String, String)> = head.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                let listed: Vec<(String, String)> =
                    all.iter().filter(|(k, _)| UPSTREAM_HEADERS.contains(&k.to_ascii_lowercase().as_str())).cloned().collect();
                let run = |headers: &[(String, String)]| {
                    let route = Route { created_s: 0, ..test_route(Dialect::OpenAi, Dialect::OpenAi, stream, false) };
                    let mut ex = Exchange::new("req_1".into(), route, Default::default());
                    let head = ex.on_head(status, headers);
                    let body = ex.on_body(br#"{"error": {"message": "slow down", "type": "rate_limit"}}"#);
                    (head, body, ex.retry_after_ms, ex.failure.map(|f| (f.code, f.retry_after)))
                };
                assert_eq!(run(&all), run(&listed), "status {status}, stream {stream}, head {head:?}");
            }
        }
    }
}

fn anthropic_route(stream: bool) -> Route {
    Route { upstream_model: "claude".into(), ..test_route(Dialect::Anthropic, Dialect::Anthropic, stream, true) }
}

/// Anthropic on both sides: the caller's stream is the upstream's, byte for byte (thinking,
/// signatures, server tools, citations, the cache-read usage of `message_start`, a stop
/// sequence), split anywhere; the exchange still reads usage and the clean end, and keeps no
/// answer for the cache, whose replay would lose those blocks.
#[test]
fn anthropic_to_anthropic_streams_are_the_upstreams_own() {
    use crate::core::translate::providers::anthropic_native::tests::RICH_STREAM;
    let bytes = RICH_STREAM.as_bytes();
    for cut in [0, 1, 300, bytes.len() / 2, bytes.len() - 1] {
        let mut ex = exchange(Dialect::Anthropic, Dialect::Anthropic, true);
        ex.collect();
        let mut out = ex.on_chunk(&bytes[..cut]).unwrap();
        out.extend(ex.on_chunk(&bytes[cut..]).unwrap());
        out.extend(ex.on_end());
        assert_eq!(String::from_utf8(out).unwrap(), RICH_STREAM, "cut at {cut}");
        assert!(ex.completed);
        assert_eq!(ex.usage.map(|u| (u.input_tokens, u.cached_input_tokens, u.output_tokens)), Some((2060, 2048, 42)));
        assert!(ex.lossy && ex.answer.is_some(), "kept, but marked: a replay could not give these blocks back");
    }
    // Text and tool calls only: stored, as before.
    let mut ex = exchange(Dialect::Anthropic, Dialect::Anthropic, true);
    ex.collect();
    let out = ex.on_chunk(anthropic::tests::STREAM.as_bytes()).unwrap();
    assert_eq!(out, anthropic::tests::STREAM.as_bytes());
    assert!(ex.on_end().is_empty());
    assert!(ex.answer.is_some() && !ex.lossy);
}

/// An upstream error event mid-stream: what came before goes out as received, the error
/// itself in the gateway's sanitised form; a cut stream ends in an error event too.
#[test]
fn anthropic_to_anthropic_errors_are_the_gateways() {
    let head = &RICH_HEAD;
    let upstream = format!(
        "{head}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n"
    );
    let out = String::from_utf8(run(Dialect::Anthropic, Dialect::Anthropic, true, &[upstream.as_bytes()])).unwrap();
    let (echoed, error) = out.split_at(head.len());
    assert_eq!(echoed, *head);
    assert!(error.starts_with("event: error\n") && error.contains("overloaded_error: Overloaded"), "{error}");
    let cut = String::from_utf8(run(Dialect::Anthropic, Dialect::Anthropic, true, &[head.as_bytes()])).unwrap();
    assert!(cut.starts_with(*head) && cut[head.len()..].starts_with("event: error\n"), "{cut}");
}

const RICH_HEAD: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
);

/// A non-streamed answer goes out as the upstream's body; one the canonical answer cannot
/// hold is not kept for the cache.
#[test]
fn anthropic_to_anthropic_bodies_are_the_upstreams_own() {
    let body = |stop: &str| {
        format!(
            r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{{"type":"thinking","thinking":"t","signature":"s"}},{{"type":"text","text":"hi"}}],"stop_reason":"{stop}","stop_sequence":null,"usage":{{"input_tokens":3,"output_tokens":1}}}}"#
        )
    };
    let mut ex = Exchange::new("r".into(), anthropic_route(false), Default::default());
    ex.collect();
    ex.on_head(200, &[]);
    let Action::Respond(r) = ex.on_body(body("end_turn").as_bytes()) else { panic!() };
    assert!(r.body_from_upstream && r.body.is_empty(), "the upstream's body, untouched");
    assert!(ex.lossy);
    let plain = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}"#;
    let mut ex = Exchange::new("r".into(), anthropic_route(false), Default::default());
    ex.collect();
    ex.on_head(200, &[]);
    let Action::Respond(r) = ex.on_body(plain) else { panic!() };
    assert!(r.body_from_upstream && !ex.lossy);
    assert_eq!(ex.answer.map(|a| a.choices[0].content.clone()), Some(Some("hi".into())));
}

/// An OpenAI stream asked with `include_usage` (as the gateway always asks), with fields the
/// gateway does not model: `system_fingerprint`, `service_tier`, `logprobs`, a `refusal`
/// delta, DeepSeek's `reasoning_content`; `usage: null` on ordinary chunks, a usage-carrying
/// chunk with choices (some servers), then the usage-only final chunk.
const RICH_STREAM: &str = concat!(
    "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"service_tier\":\"default\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"think\"},\"logprobs\":{\"content\":[{\"token\":\"x\",\"logprob\":-0.5,\"bytes\":[120],\"top_logprobs\":[]}]},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"No.\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
    "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn openai_to_openai_without_usage_is_the_upstream_less_its_usage() {
    let want = concat!(
        "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"service_tier\":\"default\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"think\"},\"logprobs\":{\"content\":[{\"token\":\"x\",\"logprob\":-0.5,\"bytes\":[120],\"top_logprobs\":[]}]},\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"No.\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"r\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let whole = run(Dialect::OpenAi, Dialect::OpenAi, false, &[RICH_STREAM.as_bytes()]);
    assert_eq!(String::from_utf8(whole).unwrap(), want);
    let b = RICH_STREAM.as_bytes();
    for cut in (0..b.len()).step_by(7) {
        assert_eq!(run(Dialect::OpenAi, Dialect::OpenAi, false, &[&b[..cut], &b[cut..]]), want.as_bytes(), "cut at {cut}");
    }
    assert_eq!(run(Dialect::OpenAi, Dialect::OpenAi, true, &[b]), b, "asked for usage: untouched");
    let mut ex = exchange(Dialect::OpenAi, Dialect::OpenAi, false);
    ex.on_chunk(b);
    ex.on_end();
    assert_eq!(ex.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((3, 2)), "the gateway still counts the usage");
}

#[test]
fn empty_finish_reasons_assemble_into_one_tool_call() {
    let mut ex = exchange(Dialect::Anthropic, Dialect::OpenAi, true);
    ex.collect();
    let out = [ex.on_chunk(openai::tests::EMPTY_FINISH_STREAM.as_bytes()).unwrap(), ex.on_end()].concat();
    let answer = ex.answer.expect("a complete answer");
    let c = &answer.choices[0];
    assert_eq!(c.tool_calls.len(), 1);
    assert_eq!((c.tool_calls[0].name.as_str(), c.tool_calls[0].arguments.as_str()), ("get_weather", "{\"city\":\"Paris\"}"));
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    let got = summarize(&read_back(Dialect::Anthropic, &out));
    assert_eq!(got.calls, [("get_weather".to_string(), "{\"city\":\"Paris\"}".to_string())]);
}

#[test]
fn a_completions_caller_gets_text_completion_frames_from_any_wire() {
    for wire in WIRES {
        let out = String::from_utf8(run(Dialect::Completions, wire, false, &[fixture(wire).as_bytes()])).unwrap();
        let frames: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
        assert_eq!(frames.last(), Some(&"[DONE]"), "{wire:?}: {out}");
        for f in &frames[..frames.len() - 1] {
            let v: serde_json::Value = serde_json::from_str(f).unwrap();
            assert_eq!(v["object"], "text_completion", "{wire:?}: {f}");
            assert!(v["id"].as_str().unwrap().starts_with("cmpl-"), "{f}");
            assert!(v.get("usage").is_none(), "not asked: {f}");
        }
    }
    let body = br#"{"id":"chatcmpl-9","object":"chat.completion","created":5,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
    let route = test_route(Dialect::Completions, Dialect::OpenAi, false, false);
    let mut ex = Exchange::new("r".into(), route, Default::default());
    ex.on_head(200, &[]);
    let Action::Respond(r) = ex.on_body(body) else { panic!() };
    assert!(!r.body_from_upstream);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["object"].as_str(), v["choices"][0]["text"].as_str()),
        (Some("cmpl-9"), Some("text_completion"), Some("ok"))
    );
}

#[test]
fn a_responses_caller_at_a_responses_upstream_gets_its_events_as_sent() {
    let f = fixture(Dialect::Responses).as_bytes();
    let mut ex = exchange(Dialect::Responses, Dialect::Responses, true);
    ex.collect();
    let mut out = ex.on_chunk(f).unwrap();
    out.extend(ex.on_end());
    assert_eq!(out, f, "byte for byte");
    assert!(ex.completed && ex.failure.is_none());
    assert_eq!(ex.usage.map(|u| (u.input_tokens, u.output_tokens, u.cached_input_tokens)), Some((36, 87, 4)), "read for cost");
    assert!(ex.lossy, "a passed-through answer is marked lossy, so it is not cached");
    // Cut: the upstream's events so far, then the gateway's error event, numbered after them.
    let cut = &f[..f.len() - 200];
    let out = String::from_utf8(run(Dialect::Responses, Dialect::Responses, true, &[cut])).unwrap();
    let last = out.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\ndata: {\"type\":\"error\",\"code\":\"stream_error\""), "{out}");
    assert!(last.ends_with("\"sequence_number\":8}") && !out.contains("response.completed"), "{out}");
}

#[test]
fn a_responses_answer_passes_through_and_is_read_for_usage() {
    let body = crate::core::translate::providers::responses::tests::RESPONSE.as_bytes();
    let mut ex = Exchange::new("r".into(), test_route(Dialect::Responses, Dialect::Responses, false, true), Default::default());
    ex.collect();
    ex.on_head(200, &[]);
    let Action::Respond(r) = ex.on_body(body) else { panic!() };
    assert!(r.body_from_upstream && ex.lossy);
    assert_eq!(ex.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((36, 87)));
    let mut ex = Exchange::new("r".into(), test_route(Dialect::Responses, Dialect::Responses, false, true), Default::default());
    ex.on_head(400, &[]);
    let Action::Respond(r) = ex.on_body(br#"{"error":{"message":"bad input","type":"invalid_request_error","param":"input","code":null}}"#)
    else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((r.status, &v["error"]["code"]), (400, &serde_json::json!("upstream_rejected_request")), "OpenAI's error shape");
}

#[test]
fn a_responses_caller_at_a_chat_upstream_gets_a_response_object() {
    let body = br#"{"id":"chatcmpl-9","object":"chat.completion","created":5,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
    let echo = std::rc::Rc::new(Echo::new("req_5", None));
    let route = Route { echo: Some(echo), ..test_route(Dialect::Responses, Dialect::OpenAi, false, true) };
    let mut ex = Exchange::new("req_5".into(), route, Default::default());
    ex.on_head(200, &[]);
    let Action::Respond(r) = ex.on_body(body) else { panic!() };
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (&v["id"], &v["status"], &v["output"][0]["content"][0]["text"]),
        (&serde_json::json!("resp_req_5"), &serde_json::json!("incomplete"), &serde_json::json!("ok"))
    );
}
