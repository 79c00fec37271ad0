//! The pure core: every decision the gateway makes, as plain functions and state machines.
//! No `worker` types, no I/O, no clock, no randomness: time and seeds come in as numbers.

pub mod admin;
pub mod analytics;
pub mod assembler;
pub mod auth;
pub mod b64;
pub mod cache;
pub mod caps;
pub mod config;
pub mod cors;
pub mod cost;
pub mod dialect;
pub mod embeddings;
pub mod error;
pub mod exchange;
pub mod gateway;
pub mod health;
pub mod keystore;
pub mod ledger;
pub mod principal;
pub mod providers;
pub mod routes;
pub mod session;
pub mod similar;
pub mod spend;
pub mod sse;
pub mod strict_json;
pub mod tokens;
pub mod types;
pub mod vecmap;
pub mod wire;

#[cfg(test)]
mod fuzz_tests;
