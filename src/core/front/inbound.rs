//! An inbound HTTP request as the driver saw it, borrowed for one step or owned across
//! asynchronous ones.

/// An inbound HTTP request, as the edge saw it.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// `content-length` as declared, when the edge refused to read an oversized body.
    pub declared_len: Option<usize>,
    pub now_ms: u64,
    pub seed: u64,
    /// Random bytes for making secrets (the edge supplies them on admin routes only).
    pub entropy: &'a [u8],
}

impl Inbound<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An inbound request kept across an asynchronous step.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedInbound {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub declared_len: Option<usize>,
    pub now_ms: u64,
    pub seed: u64,
}

impl OwnedInbound {
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
