//! Serde mirrors of each vendor's JSON: data only.
//!
//! Invariants: types here only deserialise and hold no logic (translation lives in
//! `providers`). They are lenient: absent fields default, unknown fields are ignored, and
//! tagged enums have an `Other` catch-all, so a new vendor field or value never breaks
//! parsing. A field is required only where its absence makes an answer malformed (a
//! completion's `choices`, a message's `content`). Only the fields the gateway reads are
//! mirrored.

pub mod anthropic;
pub mod gemini;
pub mod openai;
