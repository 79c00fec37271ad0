//! `GET /v1/models` and `GET /v1/models/{id}`: the models (names and aliases) the calling
//! key may use, as OpenAI's model objects. A model outside the key's scope is absent from the
//! list and not found by id, as if it did not exist.
//! Reference: <https://platform.openai.com/docs/api-reference/models>

use crate::core::config::{Config, Model};
use crate::core::error::{Code, GatewayError};
use crate::core::front::principal::Principal;
use crate::core::pipeline::protocol::Reply;
use crate::core::util::percent;
use crate::json;
use serde_json::Value;

/// OpenAI's model object for the public name `id` of `m` (the gateway knows no creation time).
fn object(id: &str, m: &Model) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": m.provider})
}

/// `GET /v1/models`: every name and alias the key may use.
pub fn list(config: &Config, who: &Principal, request_id: &str) -> Reply {
    let data: Vec<Value> = config
        .models
        .iter()
        .filter(|m| who.may_use(config, m))
        .flat_map(|m| std::iter::once(&m.name).chain(&m.aliases).map(move |id| object(id, m)))
        .collect();
    Reply::json(request_id, &json!({"object": "list", "data": data}))
}

/// `GET /v1/models/{id}`, `raw_id` as it stands in the path (percent-encoded): the model
/// object, or 404 `model_not_found` when no model the key may use has that name or alias.
pub fn retrieve(config: &Config, who: &Principal, raw_id: &str, request_id: &str) -> Result<Reply, GatewayError> {
    let id = percent::decode(raw_id).unwrap_or_default();
    match config.model(&id) {
        Some(m) if who.may_use(config, m) => Ok(Reply::json(request_id, &object(&id, m))),
        _ => {
            let shown: String = id.chars().filter(|c| !c.is_control()).take(256).collect();
            Err(GatewayError::new(Code::ModelNotFound, format!("the model '{shown}' does not exist")).with_param("model"))
        }
    }
}
