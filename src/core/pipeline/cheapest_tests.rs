use super::*;
use crate::core::pipeline::routes::Plan;
use crate::core::translate::dialect;
use crate::core::types::Dialect;

fn config(max_price: &str) -> Config {
    Config::parse(&format!(
        r#"{{"providers":{{"m":{{"kind":"mock"}}}},
           "models":[{{"name":"dear","provider":"m","model":"x","prices":{{"input":5,"output":15}}}},
                     {{"name":"small","provider":"m","model":"x","context_window":1000,"max_output_tokens":200,"prices":{{"input":0.1,"output":0.2}}}},
                     {{"name":"plain","provider":"m","model":"x","capabilities":{{"tools":false}},"prices":{{"input":0.5,"output":1}}}},
                     {{"name":"mid","provider":"m","model":"x","prices":{{"input":1,"output":2}}}},
                     {{"name":"mid2","provider":"m","model":"x","prices":{{"input":2,"output":1}}}}],
           "routes":[{{"name":"r","strategy":"cheapest_capable","steps":[{{"model":"dear"}},{{"model":"mid"}},{{"model":"mid2"}},{{"model":"plain"}},{{"model":"small"}}]{max_price}}}]}}"#
    ))
    .unwrap()
}

fn request(extra: &str, words: usize) -> ChatRequest {
    let text = "word ".repeat(words);
    let body = format!(r#"{{"model":"r","messages":[{{"role":"user","content":"{text}"}}]{extra}}}"#);
    dialect::decode_request(Dialect::OpenAi, body.as_bytes()).unwrap()
}

fn names(c: &Config, req: &ChatRequest) -> Result<(Vec<String>, String), String> {
    let r = c.route("r").unwrap();
    order(c, r, req, r.plan(0)).map(|(p, why)| (p.into_iter().map(|t| t.model).collect(), why))
}

#[test]
fn candidates_are_ordered_by_price_with_ties_in_step_order() {
    let (order, why) = names(&config(""), &request("", 3)).unwrap();
    assert_eq!(order, vec!["small", "plain", "mid", "mid2", "dear"]);
    assert_eq!(why, "cheapest_capable: small, cheapest of 5 capable");
}

#[test]
fn what_the_request_needs_leaves_candidates_out() {
    let c = config("");
    let tools = r#","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]"#;
    let (order, why) = names(&c, &request(tools, 3)).unwrap();
    assert_eq!(order, vec!["small", "mid", "mid2", "dear"]);
    assert!(why.ends_with("; left out: plain (tools)"), "{why}");
    let (order, why) = names(&c, &request("", 2000)).unwrap();
    assert_eq!(order[0], "plain");
    assert!(why.contains("small (context window 1000 < about"), "{why}");
    let (order, why) = names(&config(r#","max_price":3"#), &request("", 3)).unwrap();
    assert_eq!(order, vec!["small", "plain", "mid", "mid2"]);
    assert!(why.ends_with("dear (max_price)"), "{why}");
    let err = names(&config(r#","max_price":0.1"#), &request(tools, 2000)).unwrap_err();
    assert!(err.starts_with("no candidate of the route 'r' can serve this request: dear (max_price)"), "{err}");
}

#[test]
fn the_strategy_is_checked_in_config() {
    let bad = |route: &str| {
        let text =
            format!(r#"{{"providers":{{"m":{{"kind":"mock"}}}},"models":[{{"name":"a","provider":"m","model":"x"}}],"routes":[{route}]}}"#);
        Config::parse(&text).unwrap_err().into_iter().map(|p| p.path).collect::<Vec<_>>()
    };
    assert_eq!(bad(r#"{"name":"r","steps":[{"model":"a"}],"max_price":1}"#), vec!["routes[0].max_price"]);
    assert_eq!(bad(r#"{"name":"r","strategy":"cheapest_capable","steps":[{"pool":[{"model":"a"}]}]}"#), vec!["routes[0].steps"]);
}
