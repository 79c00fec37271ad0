//! Translation: what callers speak (`dialect`), what upstreams speak (`providers`, over the
//! data-only mirrors in `wire`), embeddings, and streamed answers rebuilt whole.

pub mod assembler;
pub mod dialect;
pub mod embeddings;
pub mod providers;
pub mod wire;
