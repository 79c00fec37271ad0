//! What every provider file shares: the upstream call it builds, the target it addresses,
//! and the error for a malformed answer.

use crate::core::config::ProviderKind;
use crate::core::error::{Code, GatewayError};

/// An HTTP call for the edge to make. The URL's host comes only from config.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Everything a provider needs to address one upstream model.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: ProviderKind,
    pub base_url: &'a str,
    pub model: &'a str,
    pub api_key: Option<&'a str>,
    pub api_version: &'a str,
    /// Output cap to send when the upstream requires one and the caller gave none.
    pub max_output_tokens: u32,
}

pub(crate) fn malformed(what: &str) -> GatewayError {
    GatewayError::new(Code::UpstreamMalformed, format!("the upstream sent a malformed {what}"))
}
