//! Capabilities at the front door (README, "Capabilities"): `POST /v1/capabilities/NAME`
//! with `{"input": {...}}`, and `model: "cap:NAME"` on the chat APIs, whose last user
//! message is the input (its text as a JSON object when it parses as one, else
//! `{"input": text}`). Either way the input is checked against the capability's input
//! schema (a 400 `input_invalid`, before anything goes upstream), the request's messages
//! become the capability's rendered templates, and the request is planned on the
//! capability's hidden cascade route `cap:NAME` like any other.

use crate::core::config::{render, Capability, Config, CAP_PREFIX};
use crate::core::error::{Code, GatewayError};
use crate::core::front::inbound::Inbound;
use crate::core::front::plan::{check_body, Asked, Planner};
use crate::core::front::principal::Principal;
use crate::core::pipeline::gates;
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::session::Session;
use crate::core::pipeline::target::Payload;
use crate::core::translate::dialect::fields::parse_object;
use crate::core::types::{ChatRequest, Content, Dialect, Message, ResponseFormat, Role};
use crate::core::util::json_value::put;
use serde_json::{Map, Value};

/// A chat request whose model and messages the capability's fill in.
const SHELL: &str = r#"{"model":"cap","messages":[{"role":"user","content":""}]}"#;

/// The path before a capability's name.
pub const PATH_PREFIX: &str = "/v1/capabilities/";

/// For a chat request naming `cap:NAME`: its input taken from the last user message,
/// checked, and its messages replaced by the capability's prompt. Other requests are left as
/// they are.
pub fn rewrite(config: &Config, req: &mut ChatRequest) -> Result<(), GatewayError> {
    let Some(cap) = config.capability(&req.model) else { return Ok(()) };
    let text = req.messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.text()).unwrap_or_default();
    let input = match serde_json::from_slice::<Value>(text.as_bytes()) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let mut m = Map::new();
            put(&mut m, "input", Value::String(text));
            Value::Object(m)
        }
    };
    apply(config, cap, req, &input)
}

/// `input` checked against `cap`, and `req`'s messages replaced by the rendered prompt.
fn apply(config: &Config, cap: &Capability, req: &mut ChatRequest, input: &Value) -> Result<(), GatewayError> {
    check_input(cap, input)?;
    let Value::Object(input) = input else { return Ok(()) };
    req.messages = cap.system.iter().map(|s| Message::new(Role::System, Content::Text(render(s, input)))).collect();
    req.messages.push(Message::new(Role::User, Content::Text(render(&cap.user, input))));
    req.raw = None;
    let json_rungs = cap.ladder.iter().all(|m| config.model(m).is_some_and(|m| m.capabilities.json));
    if let Some(schema) = cap.output_schema().filter(|_| json_rungs) {
        req.response_format =
            Some(ResponseFormat::JsonSchema { name: "output".into(), schema: Some(schema.clone()), strict: None, description: None });
    }
    Ok(())
}

/// The input against the capability's `input_schema` (without one: every template field
/// present).
fn check_input(cap: &Capability, input: &Value) -> Result<(), GatewayError> {
    let why = match &cap.input_schema {
        Some(schema) => gates::conforms(input, schema, "input", 0).err(),
        None => cap.fields().into_iter().find(|f| input.get(*f).is_none()).map(|f| format!("input: missing required property '{f}'")),
    };
    match why {
        Some(why) => {
            Err(GatewayError::new(Code::InputInvalid, format!("the input does not fit the capability: {why}")).with_param("input"))
        }
        None => Ok(()),
    }
}

/// `POST /v1/capabilities/NAME`: the body's `input` as a `cap:NAME` chat request, planned
/// with the reply in the capability's shape.
pub fn start(
    p: &Planner,
    who: &Principal,
    inb: &Inbound,
    request_id: String,
    cors_origin: Option<String>,
) -> Result<(Session, Action), GatewayError> {
    let name = format!("{CAP_PREFIX}{}", &inb.path[PATH_PREFIX.len()..]);
    let Some(cap) = p.config.capability(&name) else {
        return Err(GatewayError::new(Code::CapabilityNotFound, format!("the capability '{name}' does not exist")));
    };
    check_body(p.config, inb)?;
    let body = parse_object(inb.body)?;
    let Some(input @ Value::Object(_)) = body.get("input") else {
        return Err(GatewayError::new(Code::InvalidValue, "the body must be {\"input\": {...}}, input a JSON object").with_param("input"));
    };
    let mut req = crate::core::translate::dialect::decode_request(Dialect::OpenAi, SHELL.as_bytes())?;
    req.model = name.clone();
    apply(p.config, cap, &mut req, input)?;
    let asked = Asked { dialect: Dialect::OpenAi, request_id, cors_origin, name, include_usage: false, capability: true };
    p.plan(who, inb, asked, Payload::Chat(Box::new(req)), None)
}

#[cfg(test)]
#[path = "capability_tests.rs"]
mod tests;
