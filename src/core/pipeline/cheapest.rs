//! `cheapest_capable` routes (README, "Cheapest capable"): the steps are candidates; for one
//! request, those that cannot serve it are left out (tools, JSON output, images, a context
//! window smaller than the request's estimated size, a price above the route's `max_price`)
//! and the rest are ordered by price, cheapest first, then served as a fallback chain.
//!
//! A candidate's price is its model's input plus output price per million tokens; equal
//! prices keep the steps' order. The request's size is the same estimate context fitting
//! uses ([`crate::core::pipeline::context`]).

use crate::core::config::{Config, RouteConfig};
use crate::core::pipeline::context;
use crate::core::pipeline::routes::PlannedTarget;
use crate::core::types::{ChatRequest, Content, Part, ResponseFormat};

/// The candidates of `planned` that can serve `req`, cheapest first, with the route reason
/// (`cheapest_capable: a, cheapest of 2 capable; left out: b (tools)`); `Err`: why none can.
pub fn order(
    config: &Config,
    route: &RouteConfig,
    req: &ChatRequest,
    planned: Vec<PlannedTarget>,
) -> Result<(Vec<PlannedTarget>, String), String> {
    let tokens = context::tools_tokens(&req.tools) + req.messages.iter().map(context::message_tokens).sum::<u64>();
    let json = matches!(req.response_format, Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. }));
    let image = |c: &Content| matches!(c, Content::Parts(p) if p.iter().any(|x| matches!(x, Part::Image { .. })));
    let vision = req.messages.iter().any(|m| image(&m.content));
    let max = route.max_price.map_or(u64::MAX, |usd| (usd * 1e6).round() as u64);
    let mut kept: Vec<(u64, PlannedTarget)> = Vec::new();
    let mut left_out = Vec::new();
    for p in planned {
        let Some(m) = config.model(&p.model) else { continue };
        let (caps, price) = (m.capabilities, m.price.input + m.price.output);
        let window = m.context_window.filter(|&w| context::input_budget(w, req.max_output_tokens, m.max_output_tokens) < tokens);
        let why = match () {
            _ if !caps.tools && !req.tools.is_empty() => "tools".to_string(),
            _ if !caps.json && json => "json".into(),
            _ if !caps.vision && vision => "vision".into(),
            _ if window.is_some() => format!("context window {} < about {tokens} tokens", window.unwrap_or(0)),
            _ if price > max => "max_price".into(),
            _ => {
                // Inserted after every candidate no dearer: a stable order by price.
                let at = kept.iter().position(|(q, _)| *q > price).unwrap_or(kept.len());
                kept.insert(at, (price, p));
                continue;
            }
        };
        left_out.push(format!("{} ({why})", p.model));
    }
    let left_out = left_out.join(", ");
    let Some((_, first)) = kept.first() else {
        return Err(format!("no candidate of the route '{}' can serve this request: {left_out}", route.name));
    };
    let mut reason = format!("cheapest_capable: {}, cheapest of {} capable", first.model, kept.len());
    if !left_out.is_empty() {
        reason.push_str("; left out: ");
        reason.push_str(&left_out);
    }
    Ok((kept.into_iter().map(|(_, p)| p).collect(), reason))
}

#[cfg(test)]
#[path = "cheapest_tests.rs"]
mod tests;
