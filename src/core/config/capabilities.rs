//! Named capabilities (`capabilities.NAME`; README, "Capabilities"): a task callers ask for
//! by name (`POST /v1/capabilities/NAME`, or `model: "cap:NAME"`) instead of a model. Each
//! has a prompt template with named inputs, an input schema, an output contract, gates and a
//! ladder of models. At config load a capability compiles into a hidden cascade route named
//! `cap:NAME` ([`Capability::route`]), so a request for it runs through the ordinary
//! pipeline; this file holds the schema, the templates and that compilation.
//!
//! ```json
//! "capabilities": {"extract": {
//!   "system": "Extract the fields.", "user": "Text: {{text}}",
//!   "input_schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
//!   "output": {"json_schema": {"type": "object", "required": ["name"]}},
//!   "ladder": ["small", "large"], "max_attempts": 4, "max_cost_usd": 0.05
//! }}
//! ```
//!
//! Templates: `{{field}}` (spaces inside the braces allowed) is replaced by the input's field,
//! a string as it is and any other JSON value serialised; a field name is ASCII letters,
//! digits and `_`. Anything else between `{{` and `}}` is left as written.

use super::gates::{Gates, Strategy};
use super::routes::{RetryPolicy, RouteConfig, StepConfig};
use serde_json::{Map, Value};

/// The public-name prefix of a capability (`cap:NAME`), also its hidden route's name.
pub const CAP_PREFIX: &str = "cap:";

/// One capability as written in config.
#[derive(Debug, Clone, PartialEq)]
pub struct Capability {
    /// The system message's template (absent: no system message).
    pub system: Option<String>,
    /// The user message's template.
    pub user: String,
    /// The input's JSON Schema (the subset the `json` gate checks); absent: every template
    /// field is required, of any type.
    pub input_schema: Option<Value>,
    /// `"text"` (the default) or `{"json_schema": {...}}`: the answer is JSON valid against it.
    pub output: Value,
    /// Gates on the answer, as a cascade route's (a JSON output adds the `json` gate).
    pub gates: Option<Gates>,
    /// The rungs, cheapest first, as model names.
    pub ladder: Vec<String>,
    /// The most upstream calls one request makes (re-prompts and retries included).
    pub max_attempts: Option<u32>,
    /// No re-prompt or escalation starts once the request has spent this much.
    pub max_cost_usd: Option<f64>,
    /// A rung whose recorded gate pass rate (the tenant's) is below this is skipped.
    pub min_pass_rate: Option<f64>,
    /// The checked answers a rung needs on record before its pass rate counts (default 10).
    pub min_samples: u32,
}

crate::de_struct!(
    Capability,
    required,
    deny {
        system: default,
        user,
        input_schema: default,
        output: default,
        gates: default,
        ladder,
        max_attempts: default,
        max_cost_usd: default,
        min_pass_rate: default,
        min_samples: default(ten())
    }
);

fn ten() -> u32 {
    10
}

impl Capability {
    /// The output's JSON Schema, when the output contract is JSON.
    pub fn output_schema(&self) -> Option<&Value> {
        self.output.get("json_schema")
    }

    /// The hidden cascade route this capability is served by, named `cap:NAME`: its rungs
    /// (with a route's default retries and deadline), its gates, and a JSON output's schema as
    /// the `json` gate (unless the gates set one).
    pub fn route(&self, name: &str) -> RouteConfig {
        let mut gates = self.gates.clone().unwrap_or_default();
        if gates.json.is_none() {
            gates.json = self.output_schema().cloned();
        }
        RouteConfig {
            name: format!("{CAP_PREFIX}{name}"),
            steps: self
                .ladder
                .iter()
                .map(|m| StepConfig::Model { model: m.clone(), max_retries: None, timeout_ms: None, gates: true })
                .collect(),
            retry: RetryPolicy::default(),
            deadline_ms: 120_000,
            cache: None,
            context: None,
            strategy: Strategy::Cascade,
            gates: Some(gates),
            max_price: None,
            min_pass_rate: self.min_pass_rate,
            min_samples: self.min_samples,
        }
    }

    /// The names its templates use, each once, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in self.system.iter().chain(std::iter::once(&self.user)) {
            let mut rest = t.as_str();
            while let Some((_, field, _, after)) = next(rest) {
                if let Some(f) = field.filter(|f| !out.contains(f)) {
                    out.push(f);
                }
                rest = after;
            }
        }
        out
    }

    /// What is wrong with it on its own (model names are checked by the config's
    /// validation), each as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match &self.input_schema {
            Some(Value::Object(s)) => {
                let props = s.get("properties").and_then(Value::as_object);
                for f in self.fields().into_iter().filter(|f| !props.is_some_and(|p| p.contains_key(*f))) {
                    out.push(("user", format!("the template field '{f}' is not in input_schema.properties")));
                }
            }
            Some(_) => out.push(("input_schema", "must be a JSON Schema object".into())),
            None => {}
        }
        if !matches!(&self.output, Value::Null) && self.output != "text" && !self.output_schema().is_some_and(Value::is_object) {
            out.push(("output", "must be \"text\" or {\"json_schema\": {...}}".into()));
        }
        if let Some(problem) = self.gates.as_ref().and_then(Gates::problem) {
            out.push(("gates", problem.into()));
        }
        if self.ladder.is_empty() {
            out.push(("ladder", "needs at least one model".into()));
        }
        if self.max_attempts == Some(0) {
            out.push(("max_attempts", "must be at least 1".into()));
        }
        if self.min_pass_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            out.push(("min_pass_rate", "must be between 0 and 1".into()));
        }
        if self.max_cost_usd.is_some_and(|c| !(c > 0.0 && c < 1e6)) {
            out.push(("max_cost_usd", "must be a positive number of USD".into()));
        }
        out
    }
}

/// The first placeholder of `t`: the text before it, the field it names (`None`: not a
/// field name), the placeholder as written, and the text after it.
fn next(t: &str) -> Option<(&str, Option<&str>, &str, &str)> {
    let start = t.find("{{")?;
    let end = start + 2 + t[start + 2..].find("}}")?;
    let name = t[start + 2..end].trim();
    let field = (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(name);
    Some((&t[..start], field, &t[start..end + 2], &t[end + 2..]))
}

/// `template` with each `{{field}}` replaced by `input`'s field (a string as it is, another
/// value serialised, an absent one as the empty string).
pub fn render(template: &str, input: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some((before, field, raw, after)) = next(rest) {
        out.push_str(before);
        match field.map(|f| input.get(f)) {
            Some(Some(Value::String(s))) => out.push_str(s),
            Some(Some(v)) => out.push_str(&v.to_string()),
            Some(None) => {}
            None => out.push_str(raw),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "capabilities_tests.rs"]
mod tests;
