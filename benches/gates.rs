//! Host benchmark of the cascade's quality gates and of the routing they ride on: what a gate
//! check adds to a request, per gate and all together, on a realistic answer (a worked
//! GSM8K-style solution of about 900 characters, or a JSON object for the `json` gate), and
//! what a cascade route adds over a plain model from request to reply. The issue's target is
//! an added p50 of at most 0.05 ms; this prints numbers and asserts none.
//!
//! `cargo bench --bench gates`. Each case runs in batches; a batch's mean is one sample, and
//! the p50 and p99 are taken over the samples (`GATES_BENCH_SAMPLES`, default 400). The
//! `regex` gates run in the JavaScript driver, so only the core's side is timed here: building
//! the driver's step and reading its answer.

// Host only: the clock that would panic on Workers is what a benchmark measures with.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;
use switchyard::core::config::Gates;
use switchyard::core::front::gateway::Gateway;
use switchyard::core::front::inbound::Inbound;
use switchyard::core::pipeline::gates;
use switchyard::core::pipeline::protocol::{Action, Event};
use switchyard::core::types::{ChatResponse, Choice, FinishReason};

const KEY: &str = "Bearer sk-switchyard-dev";

const CONFIG: &str = r#"{
  "providers": {"oai": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_secret": "OAI_KEY"}},
  "models": [
    {"name": "weak", "provider": "oai", "model": "gpt-4o-mini", "prices": {"input": 0.15, "output": 0.6}},
    {"name": "strong", "provider": "oai", "model": "gpt-4o", "prices": {"input": 2.5, "output": 10}}
  ],
  "routes": [
    {"name": "maths", "strategy": "cascade", "steps": [{"model": "weak"}, {"model": "strong", "gates": false}],
     "gates": {"final_number": true, "min_chars": 20, "max_chars": 8000, "forbidden": ["As an AI"], "finish_reason": "stop",
               "script": "Latin"}}
  ],
  "keys": [{"name": "bench", "sha256": "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3", "tenant": "bench"}]
}"#;

/// A worked answer of about 900 characters ending in GSM8K's final line.
const WORKED: &str = "Natalia sold clips to 48 of her friends in April. In May she sold half as many clips as in \
April, so she sold 48 / 2 = 24 clips in May. To find the total, add the two months together: 48 + 24 = 72 clips. \
Let me double-check the arithmetic: half of 48 is 24, because 24 + 24 = 48. Adding April and May, 48 + 24 gives 72, \
which matches. There are no other months mentioned in the question, so nothing else needs to be added. The question \
asks for the number of clips sold altogether in April and May, which is the sum we computed. A common mistake would \
be to add only May's sales or to double April's sales instead of halving them; neither applies here, since the \
statement says she sold half as many in May. Therefore the final answer is 72 clips in total across both months.\n\
#### 72";

/// A structured answer for the `json` gate.
const STRUCTURED: &str = r#"{"label": "billing", "score": 7, "tags": ["refund", "card"], "summary": "The customer asks why a card payment was refunded twice and wants the duplicate reversed."}"#;

fn answer(text: &str) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o-mini".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            content: Some(text.into()),
            refusal: None,
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::Stop),
        }],
        usage: None,
    }
}

fn openai_body(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 61, "completion_tokens": 240, "total_tokens": 301}
    }))
    .unwrap()
}

/// p50 and p99 in nanoseconds per call of `f`, over `samples` batches.
fn measure(samples: usize, mut f: impl FnMut(u64)) -> (f64, f64) {
    let mut seed = 0u64;
    let start = Instant::now();
    while start.elapsed().as_millis() < 50 {
        f(seed);
        seed += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / seed as f64;
    let batch = ((20e-6 / per_call) as u64).max(1);
    let mut means: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f(seed);
                seed += 1;
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    (means[samples / 2], means[samples * 99 / 100])
}

fn row(name: &str, (p50, p99): (f64, f64)) {
    let verdict = if p50 <= 50_000.0 { "within 0.05 ms" } else { "OVER 0.05 ms" };
    println!("{name:58} p50 {:>8.4} ms  p99 {:>8.4} ms  {verdict}", p50 / 1e6, p99 / 1e6);
}

fn main() {
    let samples = std::env::var("GATES_BENCH_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(400usize);
    println!("switchyard gates and routing, host, p50/p99 of {samples} batch means per case");
    let worked = answer(WORKED);
    let structured = answer(STRUCTURED);
    let schema = serde_json::json!({
        "type": "object", "required": ["label", "score"], "additionalProperties": false,
        "properties": {"label": {"enum": ["billing", "tech", "other"]}, "score": {"type": "integer", "minimum": 0, "maximum": 10},
                       "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
                       "summary": {"type": "string", "maxLength": 400}}
    });
    let one = |v: serde_json::Value| serde_json::from_value::<Gates>(v).unwrap();
    let cases: Vec<(&str, Gates, &ChatResponse)> = vec![
        ("gate json (schema, 4 properties)", one(serde_json::json!({ "json": schema })), &structured),
        ("gate min_chars + max_chars", one(serde_json::json!({"min_chars": 20, "max_chars": 8000})), &worked),
        (
            "gate contains (2) + forbidden (3)",
            one(serde_json::json!({"contains": ["####", "clips"], "forbidden": ["As an AI", "I cannot", "sorry"]})),
            &worked,
        ),
        ("gate labels (3)", one(serde_json::json!({"labels": ["billing", "tech", "other"]})), &worked),
        ("gate finish_reason", one(serde_json::json!({"finish_reason": "stop"})), &worked),
        ("gate final_number", one(serde_json::json!({"final_number": true})), &worked),
        ("gate script (Latin)", one(serde_json::json!({"script": "Latin"})), &worked),
        ("gate script (Han+Hiragana+Katakana)", one(serde_json::json!({"script": "Han+Hiragana+Katakana"})), &worked),
    ];
    for (name, g, a) in &cases {
        assert!(name.contains("labels") || name.contains("Han") || gates::check(g, a).is_empty(), "{name} must pass");
        row(name, measure(samples, |_| drop(black_box(gates::check(black_box(g), black_box(a))))));
    }
    let all = one(serde_json::json!({"final_number": true, "min_chars": 20, "max_chars": 8000, "contains": ["####"],
        "forbidden": ["As an AI", "I cannot"], "finish_reason": "stop", "script": "Latin"}));
    row("all deterministic gates but json, together", measure(samples, |_| drop(black_box(gates::check(&all, &worked)))));
    let rx = one(serde_json::json!({"regex": ["/^#### \\d+$/m", "clips"], "not_regex": ["/\\bsorry\\b/i"]}));
    row(
        "regex gates, core side (the step out, the answer read)",
        measure(samples, |_| {
            let mut step = Action::Regex { patterns: gates::patterns(&rx), text: WORKED.into() };
            black_box((step.to_json(""), step.take_bytes()));
            black_box(gates::regex_verdicts(&rx, Some("110")));
        }),
    );

    let mut gw = Gateway::new(Some(CONFIG));
    assert!(gw.config_problems().is_none(), "bench config invalid: {:?}", gw.config_problems());
    gw.set_secret("OAI_KEY", "sk-upstream-openai");
    let headers = vec![("authorization".to_string(), KEY.to_string()), ("content-type".to_string(), "application/json".to_string())];
    let body = |model: &str| {
        format!(r#"{{"model":"{model}","max_tokens":512,"messages":[{{"role":"user","content":"Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?"}}]}}"#)
            .into_bytes()
    };
    let upstream = openai_body(WORKED);
    let json = [("content-type".to_string(), "application/json".to_string())];
    let exchange = |request: &[u8], seed: u64| {
        let inb = Inbound {
            method: "POST",
            path: "/v1/chat/completions",
            query: "",
            headers: &headers,
            body: request,
            declared_len: None,
            now_ms: 1_700_000_000_000,
            seed,
            entropy: &[],
        };
        let mut step = gw.begin(&inb);
        black_box((step.action_json(), step.take_bytes()));
        gw.resume(&mut step, Event::Head { status: 200, headers: &json }, 1);
        gw.resume(&mut step, Event::Body(&upstream), 2);
        assert!(matches!(step.action(), Action::Respond(r) if r.status == 200), "{:?}", step.action());
        black_box(step.action_json());
    };
    let (plain, cascade) = (body("weak"), body("maths"));
    let p = measure(samples, |seed| exchange(&plain, seed));
    let c = measure(samples, |seed| exchange(&cascade, seed));
    println!("{:58} p50 {:>8.4} ms  p99 {:>8.4} ms", "exchange, plain model (request to reply)", p.0 / 1e6, p.1 / 1e6);
    println!("{:58} p50 {:>8.4} ms  p99 {:>8.4} ms", "exchange, cascade route with 6 gates, first rung passes", c.0 / 1e6, c.1 / 1e6);
    row("added by the cascade's routing and gates", (c.0 - p.0, c.1 - p.1));
}
