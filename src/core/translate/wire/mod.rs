//! Serde mirrors of each vendor's JSON: data only.

pub mod anthropic;
pub mod gemini;
pub mod openai;
