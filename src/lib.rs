//! Switchyard: an LLM gateway that runs as a Cloudflare Worker.
//!
//! `core` decides (pure, tested on the host); `edge` performs (wasm32 only: the JS↔wasm
//! boundary, the clock, randomness). See README.md for the request path.

// Every public item of the core must be documented (clippy runs with `-D warnings`).
#[warn(missing_docs)]
pub mod core;

#[cfg(target_arch = "wasm32")]
mod edge;

// The wasm allocator and the header blocks are plain memory and string handling: their
// tests run on the host too.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "edge/block.rs"]
mod block;
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "edge/pool.rs"]
mod pool;
