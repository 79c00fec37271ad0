//! Serde mirrors of each vendor's JSON: data only.

pub mod openai;
