//! An inbound HTTP request as the driver saw it, borrowed for one step or owned across
//! asynchronous ones.

/// An inbound HTTP request, as the edge saw it.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// The HTTP method, upper case as the platform gives it (`GET`, `POST`, `OPTIONS`).
    pub method: &'a str,
    /// The URL's path, without the query string.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    /// The request headers as `(name, value)` pairs, in the order received; look them up with
    /// [`Inbound::header`], which ignores case.
    pub headers: &'a [(String, String)],
    /// The body as read; empty when the driver read none (`GET`, `HEAD`, or `declared_len`
    /// set).
    pub body: &'a [u8],
    /// `content-length` as declared, when the edge refused to read an oversized body.
    pub declared_len: Option<usize>,
    /// When the request arrived, in Unix milliseconds.
    pub now_ms: u64,
    /// Per-request randomness from the edge: the request id when the caller gave none, route
    /// pool order, retry jitter, spend leases.
    pub seed: u64,
    /// Random bytes for making secrets (the edge supplies them on admin routes only).
    pub entropy: &'a [u8],
}

#[cfg(test)]
impl<'a> Inbound<'a> {
    /// A request for tests: no query, no declared length, at time 0, seed 9, no entropy
    /// (set other fields with `Inbound { now_ms: .., ..Inbound::test(..) }`).
    pub fn test(method: &'a str, path: &'a str, headers: &'a [(String, String)], body: &'a [u8]) -> Inbound<'a> {
        Inbound { method, path, query: "", headers, body, declared_len: None, now_ms: 0, seed: 9, entropy: &[] }
    }
}

impl Inbound<'_> {
    /// The first header of that name (case-insensitive), its value as received.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An inbound request kept across an asynchronous step: every field of [`Inbound`] but the
/// entropy, which is never kept.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedInbound {
    /// The HTTP method ([`Inbound::method`]).
    pub method: String,
    /// The path, without the query string ([`Inbound::path`]).
    pub path: String,
    /// The query string, without `?` ([`Inbound::query`]).
    pub query: String,
    /// The request headers in the order received ([`Inbound::headers`]).
    pub headers: Vec<(String, String)>,
    /// The body as read ([`Inbound::body`]).
    pub body: Vec<u8>,
    /// The declared length of an unread oversized body ([`Inbound::declared_len`]).
    pub declared_len: Option<usize>,
    /// When the request arrived, in Unix milliseconds, not when it resumed
    /// ([`Inbound::now_ms`]).
    pub now_ms: u64,
    /// The request's randomness ([`Inbound::seed`]).
    pub seed: u64,
}

impl OwnedInbound {
    /// Copy a borrowed request to keep it across an asynchronous step (its entropy dropped).
    pub fn from(inb: &Inbound) -> Self {
        OwnedInbound {
            method: inb.method.to_string(),
            path: inb.path.to_string(),
            query: inb.query.to_string(),
            headers: inb.headers.to_vec(),
            body: inb.body.to_vec(),
            declared_len: inb.declared_len,
            now_ms: inb.now_ms,
            seed: inb.seed,
        }
    }

    /// Borrow it back as an [`Inbound`], with no entropy.
    pub fn view(&self) -> Inbound<'_> {
        Inbound {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
            declared_len: self.declared_len,
            now_ms: self.now_ms,
            seed: self.seed,
            entropy: &[],
        }
    }
}
