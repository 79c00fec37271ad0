//! The judge gate's model call (README, "Cascade"): the request that asks a model to score an
//! answer against the route's rubric, and the reading of its verdict. The judge is asked for a
//! JSON object `{"score": <0 to 1>, "reason": "<one sentence>"}`, with temperature 0; the
//! first `{` to the last `}` of its text is read, so a fenced or prefaced object is read too.
//! A text without a number `score` between 0 and 1 is no verdict (the gate's `on_error`
//! decides).

use crate::core::config::Judge;
use crate::core::pipeline::context::instructed;
use crate::core::types::ChatRequest;
use serde_json::Value;

/// The most tokens the judge may write.
pub const JUDGE_MAX_TOKENS: u32 = 300;

/// The judge's instructions, before the rubric.
const INSTRUCTIONS: &str = "You grade an assistant's answer to a user's request against a rubric. Reply with only a JSON \
object {\"score\": <a number from 0 to 1>, \"reason\": \"<one sentence>\"}, where 1 means the answer fully meets the rubric \
and 0 that it does not meet it at all.\n\nRubric: ";

/// The request asking `model` (the upstream name) to score `answer` to `question`.
pub fn request(model: &str, judge: &Judge, question: &str, answer: &str) -> ChatRequest {
    let mut system = String::with_capacity(INSTRUCTIONS.len() + judge.rubric.len());
    system.push_str(INSTRUCTIONS);
    system.push_str(&judge.rubric);
    let user = format!("<request>\n{question}\n</request>\n\n<answer>\n{answer}\n</answer>");
    instructed(model, system, user, JUDGE_MAX_TOKENS)
}

/// The judge's verdict from its text: `None` when it gave no score from 0 to 1; `Some(None)`
/// when the score reaches `threshold`; otherwise why the answer fails, in words for the
/// re-prompt (the score as the judge wrote it, and its reason).
pub fn grade(text: &str, threshold: f64) -> Option<Option<String>> {
    let (start, end) = (text.find('{')?, text.rfind('}')?);
    let v: Value = serde_json::from_slice(text.get(start..=end)?.as_bytes()).ok()?;
    let score = v.get("score").filter(|s| s.as_f64().is_some_and(|s| (0.0..=1.0).contains(&s)))?;
    if score.as_f64() >= Some(threshold) {
        return Some(None);
    }
    let mut why = String::from("the judge scored it ");
    why.push_str(&score.to_string());
    why.push_str(", below the threshold");
    if let Some(reason) = v.get("reason").and_then(Value::as_str).map(str::trim).filter(|r| !r.is_empty()) {
        why.push_str(": ");
        why.extend(reason.chars().take(500));
    }
    Some(Some(why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::OnError;

    #[test]
    fn the_request_carries_the_rubric_question_and_answer() {
        let judge = Judge { model: "j".into(), rubric: "Shows its work.".into(), threshold: 0.7, on_error: OnError::Fail };
        let r = request("gpt-j", &judge, "What is 2+2?", "4");
        assert_eq!((r.model.as_str(), r.messages.len(), r.stream), ("gpt-j", 2, false));
        assert!(r.messages[0].content.text().ends_with("Rubric: Shows its work."));
        assert_eq!(r.messages[1].content.text(), "<request>\nWhat is 2+2?\n</request>\n\n<answer>\n4\n</answer>");
        assert_eq!((r.sampling.temperature, r.max_output_tokens), (Some(0.0), Some(JUDGE_MAX_TOKENS)));
    }

    #[test]
    fn verdicts_are_read_or_refused() {
        assert_eq!(grade(r#"{"score": 0.8, "reason": "fine"}"#, 0.8), Some(None));
        assert_eq!(grade("Sure:\n```json\n{\"score\":1}\n```", 0.7), Some(None));
        let low = grade(r#"{"score": 0.25, "reason": " no final line "}"#, 0.7);
        assert_eq!(low, Some(Some("the judge scored it 0.25, below the threshold: no final line".into())));
        assert_eq!(grade(r#"{"score": 0}"#, 0.7), Some(Some("the judge scored it 0, below the threshold".into())));
        for bad in ["0.9", r#"{"score":"high"}"#, r#"{"score":1.5}"#, r#"{"reason":"ok"}"#, "{not json}", ""] {
            assert_eq!(grade(bad, 0.5), None, "{bad}");
        }
    }
}
