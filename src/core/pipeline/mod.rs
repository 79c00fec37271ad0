//! One request's way through: route planning, the attempts (`session`), each attempt's
//! exchange with its upstream, and the protocol spoken with the driver.

pub mod cheapest;
pub mod context;
pub mod exchange;
pub mod gates;
pub mod judge;
pub mod protocol;
pub mod routes;
pub mod session;
pub mod subcall;
pub mod target;
