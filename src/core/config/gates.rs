//! A route's strategy and its quality gates (`routes[].strategy`, `routes[].gates`; README,
//! "Cascade"). A `cascade` route tries its steps as rungs, cheapest first, and returns the
//! first answer its gates accept; a `fallback` route (the default) moves on only when a
//! target fails. This is the schema; checking an answer is the pipeline's work
//! ([`crate::core::pipeline::gates`]).
//!
//! ```json
//! "strategy": "cascade",
//! "gates": {"final_number": true, "max_chars": 4000, "forbidden": ["As an AI"]}
//! ```

use super::judge::Judge;
use serde_json::Value;

/// How a route uses its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The next step only when a target fails (today's routes).
    #[default]
    Fallback,
    /// Each step is a rung: its answer must pass the route's gates, else (after one
    /// re-prompt) the next rung is asked.
    Cascade,
    /// The steps are candidates: those that can serve the request, cheapest first, as a
    /// fallback chain (README, "Cheapest capable").
    CheapestCapable,
}

crate::de_enum!(Strategy { Fallback = "fallback", Cascade = "cascade", CheapestCapable = "cheapest_capable" });

/// Deterministic checks of an answer's text (the first choice's). Every gate set must pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gates {
    /// `true`: the text is JSON; a JSON Schema object: the text is JSON valid against it
    /// (the subset in [`crate::core::pipeline::gates`]).
    pub json: Option<Value>,
    /// The fewest characters (Unicode scalar values) the text may have.
    pub min_chars: Option<u32>,
    /// The most characters the text may have.
    pub max_chars: Option<u32>,
    /// Strings the text must contain (case-sensitive).
    pub contains: Vec<String>,
    /// Strings the text must not contain (case-sensitive).
    pub forbidden: Vec<String>,
    /// The text, trimmed, must be one of these.
    pub labels: Vec<String>,
    /// The finish reason the answer must have, as OpenAI writes it (`stop`, `length`,
    /// `tool_calls`, `content_filter`).
    pub finish_reason: Option<String>,
    /// The text has a line `#### <number>` (GSM8K's final-answer convention).
    pub final_number: bool,
    /// The writing system the text's letters must be in: a name of
    /// [`crate::core::util::script::SCRIPTS`], or several joined with `+`.
    pub script: Option<String>,
    /// The least share of the text's letters in `script` (default [`DEFAULT_SCRIPT_SHARE`]).
    pub script_min_share: Option<f64>,
    /// JavaScript regular expressions the text must match, every one (a `RegExp` source, or
    /// `/source/flags`; run by the driver, which reports a pattern its engine refuses).
    pub regex: Vec<String>,
    /// JavaScript regular expressions the text must not match, any of them.
    pub not_regex: Vec<String>,
    /// A model that scores the answer once every other gate passed: a [`Judge`]'s JSON, read
    /// by [`Gates::judge`].
    pub judge: Option<Value>,
}

/// The share of letters in the `script` gate's script it asks for by default: room for a few
/// foreign names and terms (`API`, `JSON`) in a paragraph.
pub const DEFAULT_SCRIPT_SHARE: f64 = 0.9;

crate::de_struct!(
    Gates,
    default,
    deny {
        json,
        min_chars,
        max_chars,
        contains,
        forbidden,
        labels,
        finish_reason,
        final_number,
        script,
        script_min_share,
        regex,
        not_regex,
        judge
    }
);

/// The finish reasons a gate may ask for.
const FINISH_REASONS: [&str; 4] = ["stop", "length", "tool_calls", "content_filter"];

impl Gates {
    /// Whether no gate is set.
    pub fn is_empty(&self) -> bool {
        matches!(self.json, None | Some(Value::Bool(false)))
            && self.min_chars.is_none()
            && self.max_chars.is_none()
            && self.contains.is_empty()
            && self.forbidden.is_empty()
            && self.labels.is_empty()
            && self.finish_reason.is_none()
            && !self.final_number
            && self.script.is_none()
            && self.regex.is_empty()
            && self.not_regex.is_empty()
            && self.judge.is_none()
    }

    /// The judge's settings, when they are there and valid.
    pub fn judge(&self) -> Option<Judge> {
        self.judge.as_ref().and_then(|j| Judge::read(j).ok())
    }

    /// What is wrong with these gates on their own, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        if !matches!(self.json, None | Some(Value::Bool(_)) | Some(Value::Object(_))) {
            return Some("json must be true or a JSON Schema object");
        }
        if matches!((self.min_chars, self.max_chars), (Some(lo), Some(hi)) if lo > hi) {
            return Some("min_chars must be at most max_chars");
        }
        if self.finish_reason.as_deref().is_some_and(|f| !FINISH_REASONS.contains(&f)) {
            return Some("finish_reason must be one of stop, length, tool_calls, content_filter");
        }
        let lists = [&self.contains, &self.forbidden, &self.labels, &self.regex, &self.not_regex];
        if lists.iter().any(|l| l.iter().any(String::is_empty)) {
            return Some("contains, forbidden, labels, regex and not_regex may not hold empty strings");
        }
        if self.script.as_deref().is_some_and(|s| crate::core::util::script::parse(s).is_none()) {
            return Some("script must name scripts of the README's list (several joined with +)");
        }
        if self.script_min_share.is_some_and(|m| !(m > 0.0 && m <= 1.0)) || self.script_min_share.is_some() && self.script.is_none() {
            return Some("script_min_share must be above 0 and at most 1, with a script");
        }
        self.judge.as_ref().and_then(|j| Judge::read(j).err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_read_with_their_defaults_and_refuse_unknown_fields() {
        let g: Gates = serde_json::from_str(r#"{"final_number":true,"max_chars":10}"#).unwrap();
        assert_eq!(g, Gates { final_number: true, max_chars: Some(10), ..Gates::default() });
        assert!(!g.is_empty());
        assert!(serde_json::from_str::<Gates>(r#"{"regexp":["x"]}"#).unwrap_err().to_string().contains("unknown field `regexp`"));
        assert!(serde_json::from_str::<Gates>("{}").unwrap().is_empty());
        assert!(serde_json::from_str::<Gates>(r#"{"json":false}"#).unwrap().is_empty());
        let s: Strategy = serde_json::from_str(r#""cascade""#).unwrap();
        assert_eq!(s, Strategy::Cascade);
    }

    #[test]
    fn bad_gates_are_named() {
        for (json, want) in [
            (r#"{"json":3}"#, "json must be"),
            (r#"{"min_chars":5,"max_chars":4}"#, "min_chars"),
            (r#"{"finish_reason":"end_turn"}"#, "finish_reason"),
            (r#"{"labels":["yes",""]}"#, "empty strings"),
            (r#"{"script":"Klingon"}"#, "script must"),
            (r#"{"script":"Latin","script_min_share":0}"#, "script_min_share"),
            (r#"{"script_min_share":0.5}"#, "script_min_share"),
            (r#"{"not_regex":["ok",""]}"#, "empty strings"),
            (r#"{"judge":{"model":"m","rubric":"","on_error":"pass"}}"#, "rubric"),
        ] {
            let g: Gates = serde_json::from_str(json).unwrap();
            assert!(g.problem().is_some_and(|p| p.contains(want)), "{json}: {:?}", g.problem());
        }
        let ok: Gates = serde_json::from_str(r#"{"json":{"type":"object"},"labels":["a"],"finish_reason":"stop"}"#).unwrap();
        assert_eq!(ok.problem(), None);
    }
}
