//! What the platform keeps, as pure state machines and their storage formats: spend control
//! with its GCRA rate limiter and the ledger (tenant Durable Object), breakers (target Durable Object), the response
//! cache and the similar-prompt index, runtime keys (KV), cost and analytics points; and what
//! one isolate keeps in memory: its recent cache entries ([`recent`]), the identical requests
//! in flight ([`inflight`]) and the settlements waiting for their tenant's object
//! ([`settle_queue`]).

pub mod analytics;
pub mod cache;
pub mod cost;
pub mod gcra;
pub mod health;
pub mod inflight;
pub mod keystore;
pub mod ledger;
pub mod recent;
pub mod settle_queue;
pub mod similar;
pub mod spend;
