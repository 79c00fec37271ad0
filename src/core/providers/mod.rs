//! Canonical requests to and from what each upstream speaks, one file per provider kind.

pub mod mock;
pub mod openai;

/// An HTTP call for the edge to make. The URL's host comes only from config.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}
