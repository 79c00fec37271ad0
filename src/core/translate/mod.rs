//! Translation: what callers speak (`dialect`), what upstreams speak (`providers`, over the
//! data-only mirrors in `wire`), embeddings, streamed answers rebuilt whole, and the messages
//! of stored conversations (`history`).
//!
//! Invariants: everything here is pure and works on bytes and canonical types (no I/O).
//! Each conversion is narrow (request out, response in, stream in, error in). Streams are
//! incremental state machines, `push` then `finish`, whose output does not depend on how the
//! input bytes were split. Upstream error text is sanitised before it can reach a caller, and
//! `extra` fields reach only an upstream speaking the caller's own dialect.

pub mod assembler;
pub mod dialect;
pub mod embeddings;
pub mod history;
pub mod providers;
pub mod tool_id;
pub mod wire;
