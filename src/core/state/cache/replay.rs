//! Replay: a stored answer sent again in the caller's dialect, as one body or as a complete
//! stream through the dialect's own stream encoder.
//!
//! A replay is built from the canonical answer, not the upstream's bytes: an Anthropic
//! caller served by an Anthropic upstream gets the upstream's own events live, but a replay
//! has only text, tool calls, the canonical stop reason and usage. That is why such an answer
//! is stored only when it held nothing more (no thinking, server tool or citation blocks, no
//! `stop_sequence` stop: see `Exchange`), so a hit never differs from what was answered.

use super::entry::{storable, Entry};
use crate::core::translate::dialect::responses::Echo;
use crate::core::translate::dialect::{self, StreamEncoder};
use crate::core::types::*;
use std::rc::Rc;

/// The reply body for a hit, in `dialect`: one JSON body, or with `stream` a complete SSE
/// stream through the dialect's own stream encoder (`echo`: a Responses caller's request, which
/// its answer repeats). `None` for an entry [`storable`] rejects.
pub fn replay(entry: &Entry, dialect: Dialect, stream: bool, include_usage: bool, echo: Option<&Rc<Echo>>) -> Option<Vec<u8>> {
    if !storable(&entry.response) {
        return None;
    }
    if !stream {
        return Some(dialect::encode_response(dialect, &entry.response, echo.map(|e| &**e)));
    }
    let mut encoder = StreamEncoder::new(dialect, include_usage, echo.cloned());
    Some(stream_events(&entry.response).iter().flat_map(|ev| encoder.push(ev)).collect())
}

/// A complete answer as the canonical events of a clean stream: each choice's text in one
/// delta, each tool call in one delta, its finish; then usage (when known) and the end.
pub fn stream_events(r: &ChatResponse) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start { id: r.id.clone(), model: r.model.clone(), created: r.created }];
    for c in &r.choices {
        if let Some(text) = c.content.as_ref().filter(|t| !t.is_empty()) {
            events.push(StreamEvent::TextDelta { index: c.index, text: text.clone() });
        }
        events.extend(c.tool_calls.iter().enumerate().map(|(i, t)| StreamEvent::ToolCallDelta {
            index: c.index,
            call_index: i as u32,
            id: Some(t.id.clone()),
            name: Some(t.name.clone()),
            arguments: t.arguments.clone(),
        }));
        if let Some(reason) = &c.finish_reason {
            events.push(StreamEvent::Finish { index: c.index, reason: reason.clone() });
        }
    }
    events.extend(r.usage.map(StreamEvent::Usage));
    events.push(StreamEvent::Done);
    events
}
