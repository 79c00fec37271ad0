//! Tests of the mock upstream: deterministic answers in OpenAI's shape, streams that decode
//! to the same answer, tool calls with schema-valid arguments, JSON for response formats,
//! text answers after tool results (from either caller API), the output cap, and fault
//! directives.

use super::*;
use crate::core::translate::dialect::anthropic::decode_request as decode_anthropic;
use crate::core::translate::dialect::openai::decode_request;
use crate::core::translate::providers::openai::decode_response;
use serde_json::Value;

fn req(body: &str) -> ChatRequest {
    decode_request(body.as_bytes()).unwrap()
}

fn call(directive: &str) -> MockCall<'static> {
    MockCall { upstream_model: "mock-1", directive: Directive::parse(directive).unwrap(), default_chunk_ms: 0, now_s: 1_700_000_000 }
}

const HELLO: &str = r#"{"model":"mock","messages":[{"role":"user","content":"hello"}]}"#;

#[test]
fn same_prompt_same_answer_different_prompt_different_answer() {
    let a = respond(&req(HELLO), call(""));
    let b = respond(&req(HELLO), call(""));
    let c = respond(&req(r#"{"model":"mock","messages":[{"role":"user","content":"goodbye"}]}"#), call(""));
    assert_eq!(a, b);
    assert_ne!(a.frames, c.frames);
}

#[test]
fn answer_is_a_valid_openai_completion_with_usage() {
    let r = respond(&req(HELLO), call(""));
    assert_eq!(r.status, 200);
    let resp = decode_response(&r.frames[0]).unwrap();
    let u = resp.usage.unwrap();
    assert!(u.input_tokens >= 5 && u.output_tokens >= 8, "{u:?}");
    assert_eq!(resp.model, "mock-1");
}

#[test]
fn stream_decodes_to_same_text_and_usage() {
    let whole = decode_response(&respond(&req(HELLO), call("")).frames[0]).unwrap();
    let r = respond(
        &req(r#"{"model":"mock","messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true}}"#),
        call("chunk_ms=20"),
    );
    assert_eq!(r.interval_ms, 20);
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default());
    let evs: Vec<StreamEvent> = r.frames.iter().flat_map(|f| d.push(f).unwrap()).collect();
    let text: String = evs
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(Some(text), whole.choices[0].content);
    assert!(evs.contains(&StreamEvent::Usage(whole.usage.unwrap())));
    assert_eq!(evs.last(), Some(&StreamEvent::Done));
}

#[test]
fn tools_produce_a_tool_call_with_schema_arguments() {
    let r = respond(
        &req(r#"{"model":"mock","messages":[{"role":"user","content":"weather?"}],
        "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}}]}"#),
        call(""),
    );
    let resp = decode_response(&r.frames[0]).unwrap();
    let c = &resp.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(c.tool_calls[0].name, "get_weather");
    let args: Value = serde_json::from_str(&c.tool_calls[0].arguments).unwrap();
    assert!(args["city"].is_string() && args["days"].is_i64(), "{args}");
}

#[test]
fn max_tokens_bounds_output_and_sets_length() {
    let r = respond(&req(r#"{"model":"mock","messages":[{"role":"user","content":"hello"}],"max_tokens":3}"#), call(""));
    let c = decode_response(&r.frames[0]).unwrap();
    assert_eq!(c.usage.unwrap().output_tokens, 3);
    assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Length));
}

#[test]
fn faults() {
    let r = respond(&req(HELLO), call("status=429,retry_after=2,delay_ms=50"));
    assert_eq!((r.status, r.delay_ms), (429, 50));
    assert!(r.headers.contains(&("retry-after".into(), "2".into())));
    let r = respond(&req(HELLO), call("malformed"));
    assert!(decode_response(&r.frames[0]).is_err());
    let r = respond(&req(r#"{"model":"mock","messages":[{"role":"user","content":"hello"}],"stream":true}"#), call("cut_after=2"));
    assert_eq!(r.frames.len(), 2);
    assert!(r.cut);
}

#[test]
fn bad_directives_are_client_errors() {
    for d in ["status=99", "status=abc", "delay_ms=999999999", "explode"] {
        assert_eq!(Directive::parse(d).unwrap_err().status, 400, "{d}");
    }
}

#[test]
fn header_directive_overrides_model_directive() {
    let m = Directive::parse("status=503").unwrap().merged(Directive::parse("status=429").unwrap());
    assert_eq!(m.status, Some(429));
}

/// The one choice of a non-streaming mock answer.
fn choice(body: &str) -> Choice {
    let r = respond(&req(body), call(""));
    decode_response(&r.frames[0]).unwrap().choices.remove(0)
}

const WEATHER: &str = r##"{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
    "properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":7},
    "where":{"$ref":"#/$defs/Place"}},"required":["city","unit"],
    "$defs":{"Place":{"type":"object","properties":{"lat":{"type":"number","minimum":-90,"maximum":90}},"required":["lat"]}}}}}"##;

#[test]
fn tool_arguments_follow_the_whole_schema() {
    let c = choice(&format!(r#"{{"model":"mock","messages":[{{"role":"user","content":"weather?"}}],"tools":[{WEATHER}]}}"#));
    let args: Value = serde_json::from_str(&c.tool_calls[0].arguments).unwrap();
    assert!(args["city"].is_string() && ["c", "f"].contains(&args["unit"].as_str().unwrap()), "{args}");
    assert!((1..=7).contains(&args["days"].as_i64().unwrap()), "{args}");
    assert!(args["where"]["lat"].as_f64().is_some_and(|l| (-90.0..=90.0).contains(&l)), "{args}");
}

#[test]
fn a_json_schema_response_format_gets_a_value_of_the_schema() {
    let body = r#"{"model":"mock","messages":[{"role":"user","content":"a recipe"}],"max_tokens":3,
        "response_format":{"type":"json_schema","json_schema":{"name":"recipe","strict":true,"schema":{"type":"object",
        "properties":{"title":{"type":"string","minLength":20},"steps":{"type":"array","items":{"type":"string"},"minItems":3},
        "level":{"enum":["easy","hard"]}},"required":["title","steps","level"],"additionalProperties":false}}}}"#;
    let c = choice(body);
    let v: Value = serde_json::from_str(c.content.as_deref().unwrap()).unwrap();
    assert!(v["title"].as_str().unwrap().len() >= 20 && v["steps"].as_array().unwrap().len() >= 3, "{v}");
    assert!(["easy", "hard"].contains(&v["level"].as_str().unwrap()));
    assert_eq!(c.finish_reason, Some(FinishReason::Stop), "structured output is never cut");
    assert_eq!(choice(body), c, "the same prompt gets the same value");
    let plain = choice(r#"{"model":"mock","messages":[{"role":"user","content":"a recipe"}],"response_format":{"type":"json_object"}}"#);
    assert!(serde_json::from_str::<Value>(plain.content.as_deref().unwrap()).unwrap()["answer"].is_string());
}

#[test]
fn a_streamed_structured_answer_is_the_same_json() {
    let body = r#"{"model":"mock","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema",
        "json_schema":{"name":"n","schema":{"type":"object","properties":{"words":{"type":"string","minLength":40}}}}}}"#;
    let whole = choice(body).content.unwrap();
    let r = respond(&req(&body.replacen('{', r#"{"stream":true,"#, 1)), call(""));
    let mut d = crate::core::translate::providers::StreamDecoder::new(Dialect::OpenAi, Default::default());
    let text: String = r
        .frames
        .iter()
        .flat_map(|f| d.push(f).unwrap())
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(text, whole);
}

/// An OpenAI conversation: the user asks, the model called `get_weather`, the tool answered.
fn openai_after_tool(extra: &str) -> String {
    format!(
        r#"{{"model":"mock","tools":[{WEATHER}]{extra},"messages":[{{"role":"user","content":"Weather in Oslo?"}},
        {{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","type":"function","function":{{"name":"get_weather","arguments":"{{}}"}}}}]}},
        {{"role":"tool","tool_call_id":"call_1","content":"sunny, 21 C"}}]}}"#
    )
}

#[test]
fn after_an_openai_tool_result_the_answer_is_text_that_uses_it() {
    let c = choice(&openai_after_tool(""));
    assert_eq!((c.finish_reason, c.tool_calls.len()), (Some(FinishReason::Stop), 0));
    let text = c.content.unwrap();
    assert!(text.contains("get_weather returned sunny, 21 C"), "{text}");
    let auto = choice(&openai_after_tool(r#","tool_choice":"auto""#));
    assert_eq!(auto.content.as_deref(), Some(text.as_str()));
    // A new question after the loop ended calls the tool again.
    let again = openai_after_tool("").replace(
        r#""content":"sunny, 21 C"}]"#,
        r#""content":"sunny, 21 C"},{"role":"assistant","content":"ok"},{"role":"user","content":"And Bergen?"}]"#,
    );
    assert_eq!(choice(&again).finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn after_an_anthropic_tool_result_the_answer_is_text_that_uses_it() {
    let body = r#"{"model":"mock","max_tokens":200,"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
        "messages":[{"role":"user","content":"Weather in Oslo?"},
        {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"rain"}]},
                                    {"type":"text","text":"Summarise, please."}]}]}"#;
    let r = respond(&decode_anthropic(body.as_bytes()).unwrap(), call(""));
    let c = decode_response(&r.frames[0]).unwrap().choices.remove(0);
    assert_eq!(c.finish_reason, Some(FinishReason::Stop));
    assert!(c.content.unwrap().contains("get_weather returned rain"));
}

#[test]
fn a_forced_tool_choice_still_calls_after_results() {
    let two_tools = openai_after_tool(r#","tool_choice":"required""#)
        .replacen(r#""tools":["#, r#""tools":[{"type":"function","function":{"name":"final_result","parameters":{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}}},"#, 1);
    // `required`: the first tool not yet called, so a loop can reach its final tool.
    let c = choice(&two_tools);
    assert_eq!((c.finish_reason, c.tool_calls[0].name.as_str()), (Some(FinishReason::ToolCalls), "final_result"));
    let named = openai_after_tool(r#","tool_choice":{"type":"function","function":{"name":"get_weather"}}"#);
    assert_eq!(choice(&named).tool_calls[0].name, "get_weather");
    assert!(choice(&openai_after_tool(r#","tool_choice":"none""#)).tool_calls.is_empty());
}

#[test]
fn a_structured_answer_after_a_tool_result_follows_the_schema() {
    let body = openai_after_tool(
        r#","response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object","properties":{"sky":{"enum":["clear"]}},"required":["sky"]}}}"#,
    );
    let c = choice(&body);
    assert_eq!(serde_json::from_str::<Value>(c.content.as_deref().unwrap()).unwrap(), json!({"sky": "clear"}));
}

#[test]
fn a_long_tool_result_is_clipped_and_the_cap_cuts_the_text() {
    let long = "word ".repeat(200);
    let c = choice(&openai_after_tool("").replace("sunny, 21 C", &long));
    let text = c.content.unwrap();
    assert!(text.len() < 300 && text.contains('…'), "{text}");
    let capped = choice(&openai_after_tool(r#","max_tokens":4"#));
    assert_eq!((capped.content.unwrap().split(' ').count(), capped.finish_reason), (4, Some(FinishReason::Length)));
}
