//! Canonical stream events to Anthropic Messages SSE events.
//!
//! Reference: <https://docs.anthropic.com/en/docs/build-with-claude/streaming>. Order:
//! `message_start`, then per content block `content_block_start`, deltas (`text_delta`,
//! `input_json_delta`), `content_block_stop`; then `message_delta` (stop reason and usage;
//! usage arrives last from most upstreams, so this waits for the clean end) and
//! `message_stop`. Errors are an `error` event. Only the first choice is carried.

use super::anthropic::encode_usage;
use crate::core::translate::providers::anthropic::stop_reason_from_finish;
use crate::core::translate::tool_id;
use crate::core::types::{FinishReason, StreamEvent, Usage};
use crate::json;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Tool(u32),
}

/// Canonical stream events to Anthropic SSE events, for the first choice only. Opens
/// `message_start` on the first event, opens and closes content blocks as text and tool calls
/// alternate, and holds the stop reason and usage for the closing `message_delta`. Emits
/// `message_stop` (or an `error` event) once.
#[derive(Debug, Default)]
pub struct AnthropicStreamEncoder {
    started: bool,
    open: Option<Block>,
    next_block: u32,
    stop: Option<FinishReason>,
    usage: Usage,
    done: bool,
}

fn event(name: &str, data: &Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

impl AnthropicStreamEncoder {
    /// An encoder that has sent nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, out: &mut Vec<u8>, id: &str, model: &str) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let message = json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0}});
        out.extend(event("message_start", &json!({"type": "message_start", "message": message})));
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_some() {
            out.extend(event("content_block_stop", &json!({"type": "content_block_stop", "index": self.next_block - 1})));
        }
    }

    fn open(&mut self, out: &mut Vec<u8>, block: Block, content_block: Value) {
        self.close(out);
        self.open = Some(block);
        out.extend(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": self.next_block, "content_block": content_block}),
        ));
        self.next_block += 1;
    }

    fn delta(&self, out: &mut Vec<u8>, delta: Value) {
        out.extend(event("content_block_delta", &json!({"type": "content_block_delta", "index": self.next_block - 1, "delta": delta})));
    }

    /// Bytes for one event (empty when it has no frame of its own yet).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        let mut out = Vec::new();
        match ev {
            StreamEvent::Start { id, model, .. } => {
                self.start(&mut out, id, model);
                return out;
            }
            StreamEvent::Error { message } => return self.error(message),
            _ => self.start(&mut out, "", ""),
        }
        match ev {
            StreamEvent::TextDelta { index: 0, text } => {
                if self.open != Some(Block::Text) {
                    self.open(&mut out, Block::Text, json!({"type": "text", "text": ""}));
                }
                self.delta(&mut out, json!({"type": "text_delta", "text": text}));
            }
            StreamEvent::ToolCallDelta { index: 0, call_index, id, name, arguments } => {
                if id.is_some() || name.is_some() || self.open != Some(Block::Tool(*call_index)) {
                    let block = json!({"type": "tool_use", "id": tool_id::to_anthropic(id.as_deref().unwrap_or_default()), "name": name.clone().unwrap_or_default(), "input": {}});
                    self.open(&mut out, Block::Tool(*call_index), block);
                }
                if !arguments.is_empty() {
                    self.delta(&mut out, json!({"type": "input_json_delta", "partial_json": arguments}));
                }
            }
            StreamEvent::Finish { index: 0, reason } => {
                self.close(&mut out);
                self.stop = Some(reason.clone());
            }
            StreamEvent::Usage(u) => self.usage = *u,
            StreamEvent::Done => out.extend(self.finish()),
            _ => {}
        }
        out
    }

    /// `message_delta` and `message_stop`, once.
    pub fn finish(&mut self) -> Vec<u8> {
        if std::mem::replace(&mut self.done, true) {
            return Vec::new();
        }
        let mut out = Vec::new();
        self.start(&mut out, "", "");
        self.close(&mut out);
        let stop = self.stop.as_ref().map(stop_reason_from_finish);
        out.extend(event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": encode_usage(&self.usage)}),
        ));
        out.extend(event("message_stop", &json!({"type": "message_stop"})));
        out
    }

    /// The in-band error event that ends a broken stream.
    pub fn error(&mut self, message: &str) -> Vec<u8> {
        self.done = true;
        event("error", &json!({"type": "error", "error": {"type": "api_error", "message": message}}))
    }
}
