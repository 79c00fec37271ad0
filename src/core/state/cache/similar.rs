//! Helpers for the similar-prompt lookup: the text that is embedded, and how close two
//! embeddings are. The bucket a prompt is compared within is [`super::prefix_hash`].

use super::key::last_user;
use crate::core::types::*;

/// The last user message's text, when its content is text only and not blank. Content with
/// images or other parts gives `None`: text alone cannot tell such prompts apart.
pub fn last_user_text(req: &ChatRequest) -> Option<String> {
    let content = &req.messages[last_user(req)?].content;
    let text_only = match content {
        Content::None => false,
        Content::Text(_) => true,
        Content::Parts(parts) => parts.iter().all(|p| matches!(p, Part::Text(_))),
    };
    let text = content.text();
    (text_only && !text.trim().is_empty()).then_some(text)
}

/// Cosine similarity of two embeddings; 0 for different lengths, a zero vector or non-finite input.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b).map(|(x, y)| (f64::from(*x), f64::from(*y))) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let c = dot / (na.sqrt() * nb.sqrt());
    if c.is_finite() {
        c.clamp(-1.0, 1.0) as f32
    } else {
        0.0
    }
}
