//! The pure core: every decision the gateway makes, as plain functions and state machines.
//! No I/O, no clock, no randomness: time and seeds come in as numbers.
//!
//! Layers, lowest first; a module may use only its own layer and those below it, and no
//! two modules use each other (`tests/layers.rs` checks both):
//!
//! | layer | holds |
//! |---|---|
//! | [`util`] | plain data helpers: base64, sorted-vector maps, strict JSON, SSE, hashing, calendar |
//! | [`types`], [`error`] | the canonical request/response vocabulary and the gateway error |
//! | [`config`] | the config's schema types and whole-document validation |
//! | [`translate`] | caller dialects, upstream wires and their serde mirrors, streams |
//! | [`state`] | what the platform keeps: spend and the ledger, breakers, the cache, keys, analytics |
//! | [`pipeline`] | one request across its attempts, and the protocol spoken with the driver |
//! | [`front`] | the front door: authentication, routing of paths, admin and usage APIs |

pub mod util;

pub mod error;
pub mod types;

pub mod config;

pub mod translate;

pub mod state;

pub mod pipeline;

pub mod front;

#[cfg(test)]
mod fuzz_tests;
