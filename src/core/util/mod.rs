//! Plain data helpers with no knowledge of the gateway.

pub mod b64;
pub mod calendar;
pub mod duration;
pub mod secret;
pub mod sse;
pub mod strict_json;
pub mod vecmap;
