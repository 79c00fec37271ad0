//! Host micro-benchmarks of the core's hot paths, without workerd: a chat request from
//! bytes to the upstream call, a whole non-streamed exchange, and stream translation.
//!
//! `cargo bench --bench core` prints one line per case. With `CORE_BENCH_JSON=<file>` the
//! results are also written there as JSON (scripts/bench folds them into its results).
//! `CORE_BENCH_MS` sets the measuring time per round (default 300 ms; 5 rounds, median kept).

// Host only: the clock that would panic on Workers is what a benchmark measures with.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use switchyard::core::front::gateway::Gateway;
use switchyard::core::front::inbound::Inbound;
use switchyard::core::front::step::Step;
use switchyard::core::pipeline::protocol::Action;
use switchyard::core::pipeline::protocol::Event;
use switchyard::core::translate::dialect::StreamEncoder;
use switchyard::core::translate::providers::StreamDecoder;
use switchyard::core::types::Dialect;

const KEY: &str = "Bearer sk-switchyard-dev";

const CONFIG: &str = r#"{
  "providers": {
    "oai": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_secret": "OAI_KEY"},
    "ant": {"kind": "anthropic", "base_url": "http://127.0.0.1:9", "api_key_secret": "ANT_KEY"}
  },
  "models": [
    {"name": "gpt", "provider": "oai", "model": "gpt-4o-mini"},
    {"name": "claude", "provider": "ant", "model": "claude-sonnet-4-5"}
  ],
  "keys": [{"name": "bench", "sha256": "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3", "tenant": "bench"}]
}"#;

/// A typical small chat request: a system prompt, a short exchange, a few parameters.
fn chat_body(model: &str, stream: bool) -> Vec<u8> {
    format!(
        r#"{{"model":"{model}","stream":{stream},"temperature":0.2,"max_tokens":512,"messages":[
        {{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely, in plain English."}},
        {{"role":"user","content":"What is the capital of France, and roughly how many people live there?"}},
        {{"role":"assistant","content":"Paris. About 2.1 million people live in the city proper, 12 million in the metro area."}},
        {{"role":"user","content":"And which river runs through it? Answer in one sentence."}}]}}"#
    )
    .into_bytes()
}

const OPENAI_RESPONSE: &[u8] = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The Seine runs through Paris, flowing from east to west across the city."},"finish_reason":"stop"}],"usage":{"prompt_tokens":61,"completion_tokens":16,"total_tokens":77},"system_fingerprint":"fp_1"}"#;

const ANTHROPIC_RESPONSE: &[u8] = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"The Seine runs through Paris, flowing from east to west across the city."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":61,"output_tokens":16}}"#;

/// An Anthropic Messages stream with `deltas` text deltas, one SSE event per element.
fn anthropic_stream(deltas: usize) -> Vec<Vec<u8>> {
    let mut ev = vec![
        r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":61,"output_tokens":1}}}

"#
        .to_string(),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_string(),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n".to_string(),
    ];
    for i in 0..deltas {
        ev.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{i} and \"}}}}\n\n"
        ));
    }
    ev.push("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".to_string());
    ev.push("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":900}}\n\n".to_string());
    ev.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string());
    ev.into_iter().map(String::into_bytes).collect()
}

/// An OpenAI Chat Completions stream with `deltas` content chunks, one SSE event per element.
fn openai_stream(deltas: usize) -> Vec<Vec<u8>> {
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let mut ev = vec![chunk(r#"{"role":"assistant","content":""}"#, "null")];
    for i in 0..deltas {
        ev.push(chunk(&format!(r#"{{"content":"word{i} and "}}"#), "null"));
    }
    ev.push(chunk("{}", "\"stop\""));
    ev.push("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":61,\"completion_tokens\":900,\"total_tokens\":961}}\n\n".to_string());
    ev.push("data: [DONE]\n\n".to_string());
    ev.into_iter().map(String::into_bytes).collect()
}

/// Upstream stream chunks straight through a wire decoder and an OpenAI encoder.
fn translate(wire: Dialect, chunks: &[Vec<u8>]) -> usize {
    let mut dec = StreamDecoder::new(wire, Default::default());
    let mut enc = StreamEncoder::new(Dialect::OpenAi, false, None);
    let mut out = 0;
    for c in chunks {
        out += dec.push(c).expect("valid stream").iter().map(|ev| enc.push(ev).len()).sum::<usize>();
    }
    out + dec.finish().expect("valid stream").iter().map(|ev| enc.push(ev).len()).sum::<usize>()
}

/// The same bytes cut into `size`-byte pieces, as a network read might deliver them.
fn rechunk(events: &[Vec<u8>], size: usize) -> Vec<Vec<u8>> {
    events.concat().chunks(size).map(<[u8]>::to_vec).collect()
}

/// What the cases read: the gateway and the client's headers.
struct Ctx {
    gw: Gateway,
    headers: Vec<(String, String)>,
}

/// Times cases and keeps their results.
struct Timer {
    round: Duration,
    results: Vec<(String, f64, Option<f64>)>,
}

impl Timer {
    /// Median ns per call of `f` over 5 rounds; `bytes` per call gives MB/s too.
    fn run(&mut self, name: &str, bytes: Option<usize>, mut f: impl FnMut(u64)) {
        let mut seed = 0u64;
        // Warm up and size the rounds.
        let start = Instant::now();
        let mut warm = 0u64;
        while start.elapsed() < self.round / 4 || warm < 10 {
            f(seed);
            seed += 1;
            warm += 1;
        }
        let per_call = start.elapsed().as_secs_f64() / warm as f64;
        let iters = ((self.round.as_secs_f64() / per_call) as u64).max(10);
        let mut rounds: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..iters {
                    f(seed);
                    seed += 1;
                }
                t.elapsed().as_nanos() as f64 / iters as f64
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        let ns = rounds[2];
        let mbps = bytes.map(|b| b as f64 / ns * 1e9 / 1e6);
        match mbps {
            Some(m) => println!("{name:62} {ns:>10.0} ns/op {m:>8.1} MB/s"),
            None => println!("{name:62} {ns:>10.0} ns/op"),
        }
        self.results.push((name.to_string(), ns, mbps));
    }
}

impl Ctx {
    fn inbound<'a>(&'a self, body: &'a [u8], seed: u64) -> Inbound<'a> {
        Inbound {
            method: "POST",
            path: "/v1/chat/completions",
            query: "",
            headers: &self.headers,
            body,
            declared_len: None,
            now_ms: 1_700_000_000_000,
            seed,
            entropy: &[],
        }
    }

    /// A request up to its upstream call, as the driver sees it (the action's JSON and
    /// bytes taken); returns the step, checked to be fetching.
    fn start(&self, body: &[u8], seed: u64) -> Step {
        let mut step = self.gw.begin(&self.inbound(body, seed));
        assert!(matches!(step.action(), Action::Fetch { .. }), "expected an upstream call, got {:?}", step.action());
        black_box((step.action_json(), step.take_bytes()));
        step
    }

    /// A non-streamed exchange: request to upstream call, upstream answer to client reply.
    fn exchange(&self, body: &[u8], upstream: &[u8], seed: u64) -> usize {
        let mut step = self.start(body, seed);
        let json = [("content-type".to_string(), "application/json".to_string())];
        self.gw.resume(&mut step, Event::Head { status: 200, headers: &json }, 1);
        assert_eq!(step.action(), &Action::ReadBody);
        black_box(step.action_json());
        self.gw.resume(&mut step, Event::Body(upstream), 2);
        black_box(step.action_json());
        match step.action() {
            Action::Respond(r) if r.status == 200 => r.body.len().max(usize::from(r.body_from_upstream)),
            other => panic!("expected a 200 reply, got {other:?}"),
        }
    }

    /// A streamed exchange fed `chunks`; returns the bytes produced for the client.
    fn stream(&self, body: &[u8], chunks: &[Vec<u8>], seed: u64) -> usize {
        let mut step = self.start(body, seed);
        let sse = [("content-type".to_string(), "text/event-stream".to_string())];
        self.gw.resume(&mut step, Event::Head { status: 200, headers: &sse }, 1);
        assert!(matches!(step.action(), Action::Stream(_)));
        black_box(step.action_json());
        let s = step.session_mut().expect("a chat request has a session");
        let mut out = 0;
        for c in chunks {
            out += s.on_chunk(c).map_or(c.len(), |b| b.len());
        }
        out += s.on_end().len();
        assert!(s.exchange().completed, "the stream must end cleanly");
        out
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let round = Duration::from_millis(std::env::var("CORE_BENCH_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(300));
    let mut gw = Gateway::new(Some(CONFIG));
    assert!(gw.config_problems().is_none(), "bench config invalid: {:?}", gw.config_problems());
    gw.set_secret("OAI_KEY", "sk-upstream-openai");
    gw.set_secret("ANT_KEY", "sk-ant-upstream");
    let headers = vec![
        ("authorization".to_string(), KEY.to_string()),
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), "bench/1.0".to_string()),
    ];
    let c = Ctx { gw, headers };
    let mut t = Timer { round, results: Vec::new() };

    println!("switchyard core micro-benchmarks (host, {} ms rounds, median of 5)", round.as_millis());
    let gpt = chat_body("gpt", false);
    let claude = chat_body("claude", false);
    let gpt_stream = chat_body("gpt", true);
    let claude_stream = chat_body("claude", true);
    let gpt_usage = String::from_utf8(gpt_stream.clone())
        .unwrap()
        .replacen(r#""stream":true"#, r#""stream":true,"stream_options":{"include_usage":true}"#, 1)
        .into_bytes();

    t.run("request: openai in → openai upstream call", None, |seed| {
        black_box(c.start(&gpt, seed));
    });
    t.run("request: openai in → anthropic upstream call", None, |seed| {
        black_box(c.start(&claude, seed));
    });
    t.run("exchange: openai ↔ openai upstream, non-streamed", None, |seed| {
        black_box(c.exchange(&gpt, OPENAI_RESPONSE, seed));
    });
    t.run("exchange: openai ↔ anthropic upstream, non-streamed", None, |seed| {
        black_box(c.exchange(&claude, ANTHROPIC_RESPONSE, seed));
    });

    let ant = anthropic_stream(1000);
    let ant_bytes: usize = ant.iter().map(Vec::len).sum();
    let ant_16k = rechunk(&ant, 16 << 10);
    t.run("stream: anthropic → openai frames, one event per chunk", Some(ant_bytes), |seed| {
        black_box(c.stream(&claude_stream, &ant, seed));
    });
    t.run("stream: anthropic → openai, decoder + encoder only (no session)", Some(ant_bytes), |_| {
        black_box(translate(Dialect::Anthropic, &ant));
    });
    t.run("stream: anthropic → openai frames, 16 KiB chunks", Some(ant_bytes), |seed| {
        black_box(c.stream(&claude_stream, &ant_16k, seed));
    });
    let oai = openai_stream(1000);
    let oai_bytes: usize = oai.iter().map(Vec::len).sum();
    t.run("stream: openai → openai re-encoded, one event per chunk", Some(oai_bytes), |seed| {
        black_box(c.stream(&gpt_stream, &oai, seed));
    });
    t.run("stream: openai → openai passthrough (include_usage), per event", Some(oai_bytes), |seed| {
        black_box(c.stream(&gpt_usage, &oai, seed));
    });

    if let Ok(path) = std::env::var("CORE_BENCH_JSON") {
        let rows: Vec<serde_json::Value> =
            t.results.iter().map(|(name, ns, mbps)| serde_json::json!({"case": name, "ns_per_op": ns, "mb_per_s": mbps})).collect();
        let doc = serde_json::json!({"round_ms": round.as_millis() as u64, "rounds": 5, "cases": rows});
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).expect("write CORE_BENCH_JSON");
    }
}
