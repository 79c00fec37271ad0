//! The cache policy: the caller's `Cache-Control` and `x-switchyard-cache` headers, the
//! route's settings and the request's sampling decide whether a request reads the cache,
//! writes it, and for how long its answer is kept.
//!
//! Request `Cache-Control` directives follow RFC 9111 §5.2.1
//! (<https://www.rfc-editor.org/rfc/rfc9111#section-5.2.1>).

use super::entry::{fresh, Entry, Freshness};
use crate::core::config::RoutePolicy;
use crate::core::types::*;

/// KV's smallest `expirationTtl`: every TTL is at least this.
pub const MIN_TTL_S: u32 = 60;
/// The header that turns caching on or off for one request.
pub const SWITCH_HEADER: &str = "x-switchyard-cache";

/// The caller's cache wishes, from its request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheControl {
    /// `x-switchyard-cache: on` (`Some(true)`) or `off` (`Some(false)`); other values are ignored.
    pub switch: Option<bool>,
    /// `Cache-Control: no-cache` or `max-age=0`: do not answer from the cache.
    pub no_cache: bool,
    /// `Cache-Control: no-store`: do not store this answer.
    pub no_store: bool,
    /// `Cache-Control: max-age=N`, N > 0: opt in, store for N seconds, accept entries at most N s old.
    pub max_age_s: Option<u32>,
}

impl CacheControl {
    /// Read every `x-switchyard-cache` and `Cache-Control` header (names case-insensitive).
    pub fn from_headers(headers: &[(String, String)]) -> CacheControl {
        let mut c = CacheControl::default();
        for (name, value) in headers {
            if name.eq_ignore_ascii_case(SWITCH_HEADER) {
                c.switch = match value.trim().to_ascii_lowercase().as_str() {
                    "on" => Some(true),
                    "off" => Some(false),
                    _ => c.switch,
                };
            } else if name.eq_ignore_ascii_case("cache-control") {
                value.split(',').for_each(|d| c.directive(d));
            }
        }
        c
    }

    fn directive(&mut self, d: &str) {
        let (name, arg) = d.split_once('=').unwrap_or((d, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-cache" => self.no_cache = true,
            "no-store" => self.no_store = true,
            "max-age" => match delta_seconds(arg) {
                Some(0) => self.no_cache = true,
                Some(n) => self.max_age_s = Some(n),
                None => {}
            },
            _ => {}
        }
    }
}

/// RFC 9111 delta-seconds, quoted or not; a value too large counts as 2^31.
fn delta_seconds(arg: &str) -> Option<u32> {
    let digits = arg.trim().trim_matches('"');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u32>().map_or(1 << 31, |n| n.min(1 << 31)))
}

/// Whether to read and write the cache for one request, and for how long to keep the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Look the request up before calling upstream.
    pub read: bool,
    /// Store the answer.
    pub write: bool,
    /// Lifetime of the stored answer, seconds (at least [`MIN_TTL_S`]).
    pub ttl_s: u32,
    /// How long past its lifetime an entry still answers when every target fails, seconds.
    pub max_stale_s: u32,
    /// The oldest entry the caller accepts, when it sent `max-age`.
    pub max_age_s: Option<u32>,
    /// Short stable code: why the cache is used or bypassed.
    pub reason: &'static str,
}

/// Neither read nor write.
pub const BYPASS: Decision = Decision { read: false, write: false, ttl_s: 0, max_stale_s: 0, max_age_s: None, reason: "not_cacheable" };

impl Decision {
    /// Freshness of `entry` for this caller: past the caller's `max-age` it is stale at best.
    pub fn judge(&self, entry: &Entry, now_ms: u64) -> Freshness {
        // Older than the caller accepts: never a hit, but (like `stale-if-error`, RFC 5861)
        // still an answer when every target fails, if the route keeps stale entries.
        match fresh(entry, now_ms, self.max_stale_s) {
            Freshness::Fresh { age_s } if self.max_age_s.is_some_and(|m| age_s > m) && self.max_stale_s > 0 => Freshness::Stale { age_s },
            Freshness::Fresh { age_s } if self.max_age_s.is_some_and(|m| age_s > m) => Freshness::Expired,
            f => f,
        }
    }

    /// KV `expirationTtl` for the write: the TTL plus the stale window.
    pub fn kv_ttl_s(&self) -> u32 {
        self.ttl_s.saturating_add(self.max_stale_s).max(MIN_TTL_S)
    }
}

/// Sampling that gives the same answer again: temperature 0, or a fixed seed.
fn deterministic(s: &Sampling) -> bool {
    s.temperature == Some(0.0) || s.seed.is_some()
}

/// Decide the cache's part in one request. `x-switchyard-cache: off` always wins; otherwise the
/// request is cached when the caller opts in, the route enables caching, or sampling is
/// deterministic. `no-cache` and `no-store` then switch off reading and writing.
pub fn decide(req: &ChatRequest, control: &CacheControl, route: &RoutePolicy) -> Decision {
    if control.switch == Some(false) {
        return Decision { reason: "client_off", ..BYPASS };
    }
    let reason = if control.switch == Some(true) || control.max_age_s.is_some() {
        "client_opt_in"
    } else if route.enabled {
        "route_enabled"
    } else if deterministic(&req.sampling) {
        "deterministic"
    } else {
        return BYPASS;
    };
    if control.no_cache && control.no_store {
        return Decision { reason: "client_no_cache_no_store", ..BYPASS };
    }
    Decision {
        read: !control.no_cache,
        write: !control.no_store,
        ttl_s: control.max_age_s.unwrap_or(route.ttl_s).max(MIN_TTL_S),
        max_stale_s: route.max_stale_s,
        max_age_s: control.max_age_s,
        reason,
    }
}
