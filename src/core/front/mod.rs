//! The front door: who is calling, what path they asked for, the small APIs (admin keys,
//! browser tokens, usage and stats) answered without an upstream, and a stored conversation's history
//! loaded before a chat request is planned (`converse`).

pub mod admin;
pub mod auth;
pub mod browser_token;
pub mod capability;
pub mod caps;
pub mod converse;
pub mod cors;
pub mod count;
pub mod flow;
pub mod gateway;
pub mod health;
pub mod inbound;
pub mod isolate;
pub mod jobs;
pub mod models;
pub mod plan;
pub mod principal;
pub mod stats;
pub mod step;
pub mod stored;
pub mod usage;
pub mod webhook;
