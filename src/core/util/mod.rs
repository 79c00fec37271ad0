//! Plain data helpers with no knowledge of the gateway.
//!
//! The lowest layer of the core: nothing here uses another core module, and every function is
//! pure: bad input is a `None` or an error value, never a panic (the one exception is indexing a
//! [`vecmap::VecMap`] with an absent key, as with `BTreeMap`).

pub mod b64;
pub mod calendar;
pub mod de;
pub mod decimal;
pub mod duration;
pub mod json_member;
pub mod json_value;
pub mod percent;
pub mod redact;
pub mod script;
pub mod secret;
pub mod sse;
pub mod strict_json;
pub mod vecmap;
