//! A cascade's model-graded gate (`routes[].gates.judge`; README, "Cascade"): after the
//! deterministic gates pass, one model call scores the answer from 0 to 1 against a rubric.
//! The judge's own failure (no answer, or one that does not say a score) is decided by
//! `on_error`, which must be written out: there is no default.

//!
//! ```json
//! "judge": {"model": "gpt-4o-mini", "rubric": "Correct and complete.", "threshold": 0.7, "on_error": "fail"}
//! ```

use serde_json::Value;

/// What a judge that cannot give a score means for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The answer passes (fail open).
    Pass,
    /// The answer fails (fail closed).
    Fail,
}

/// The judge's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Judge {
    /// The public model that grades.
    pub model: String,
    /// What a good answer is, in words the judge reads.
    pub rubric: String,
    /// The least score that passes (default [`DEFAULT_THRESHOLD`]).
    pub threshold: f64,
    /// What the judge's failure means.
    pub on_error: OnError,
}

/// The least passing score when `threshold` is not given.
pub const DEFAULT_THRESHOLD: f64 = 0.7;

impl Judge {
    /// The settings in the gates' `judge` object (read by hand: no deserializer of its own),
    /// or what is wrong with them (the model's name is checked against the models by
    /// validation).
    pub fn read(v: &Value) -> Result<Judge, &'static str> {
        let o = v.as_object().filter(|o| o.keys().all(|k| matches!(k.as_str(), "model" | "rubric" | "threshold" | "on_error")));
        let text = |k| o?.get(k)?.as_str().filter(|s| !s.trim().is_empty()).map(str::to_string);
        let threshold =
            o.and_then(|o| o.get("threshold")).map_or(Some(DEFAULT_THRESHOLD), |t| t.as_f64().filter(|t| (0.0..=1.0).contains(t)));
        let on_error = match o.and_then(|o| o.get("on_error")?.as_str()) {
            Some("pass") => Some(OnError::Pass),
            Some("fail") => Some(OnError::Fail),
            _ => None,
        };
        match (text("model"), text("rubric"), threshold, on_error) {
            (Some(model), Some(rubric), Some(threshold), Some(on_error)) => Ok(Judge { model, rubric, threshold, on_error }),
            _ => Err("judge needs a model, a non-empty rubric, on_error \"pass\" or \"fail\", an optional threshold from 0 to 1, and nothing else"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_judge_reads_with_its_default_threshold_and_needs_on_error() {
        let j = Judge::read(&json!({"model": "m", "rubric": "r", "on_error": "pass"})).unwrap();
        assert_eq!(j, Judge { model: "m".into(), rubric: "r".into(), threshold: 0.7, on_error: OnError::Pass });
        for bad in [
            json!({"model": "m", "rubric": "r"}),
            json!({"model": "m", "rubric": "r", "on_error": "maybe"}),
            json!({"model": "m", "rubric": " ", "on_error": "fail"}),
            json!({"model": "m", "rubric": "r", "on_error": "fail", "threshold": 1.5}),
            json!({"rubric": "r", "on_error": "fail"}),
            json!({"model": "m", "rubric": "r", "on_error": "fail", "score": 1}),
            json!("m"),
        ] {
            assert!(Judge::read(&bad).is_err_and(|p| p.starts_with("judge needs")), "{bad}");
        }
    }
}
