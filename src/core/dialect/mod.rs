//! What callers speak, to and from the canonical types.

pub mod fields;
pub mod openai;
pub mod openai_stream;
