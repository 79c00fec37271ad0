//! What the platform keeps, as pure state machines and their storage formats: spend control
//! with its GCRA rate limiter, the ledger and the recent stats (tenant Durable Object), breakers (target Durable Object), the response
//! cache and the similar-prompt index, stored conversations (conversation Durable Objects),
//! runtime keys (KV), cost and analytics points; and what
//! one isolate keeps in memory: its recent cache entries ([`recent`]), the identical requests
//! in flight ([`inflight`]) and the settlements waiting for their tenant's object
//! ([`settle_queue`]).
//!
//! Invariants: nothing here does I/O or reads a clock (time comes in as `now_ms`). A Durable
//! Object or the edge loads a state, calls one function here, and stores or sends what it
//! returns; SQL is built here from fixed strings, with every value a bound parameter.

pub mod analytics;
pub mod cache;
pub mod conversation;
pub mod cost;
pub mod gcra;
pub mod health;
pub mod inflight;
pub mod job;
pub mod keystore;
pub mod ledger;
pub mod recent;
pub mod settle_queue;
pub mod similar;
pub mod spend;
pub mod stats;
