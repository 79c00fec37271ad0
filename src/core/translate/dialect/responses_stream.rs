//! Canonical stream events to the Responses API's named SSE events, as a pure incremental
//! encoder.
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses-streaming>. Order:
//! `response.created` and `response.in_progress`; per output item
//! `response.output_item.added`, then for a message `response.content_part.added`,
//! `response.output_text.delta`s, `response.output_text.done` and `response.content_part.done`,
//! for a function call `response.function_call_arguments.delta`s and `.done`; then
//! `response.output_item.done`; last `response.completed` (or `response.incomplete`) with the
//! whole response, usage included. A broken stream ends in `response.failed` with an `error`.
//! Every event is `event: <type>` and `data: <json>` whose `sequence_number` counts from 0.
//!
//! Invariants: sequence numbers are 0, 1, 2, ... with no gap; every `.added` has its `.done`
//! before the response's last event (except after `response.failed`, which ends it where it
//! stands); the last event is the only one of `response.completed`, `.incomplete` or `.failed`.

use super::responses::{call_item, message_item, text_part, Echo, Head, Status};
use crate::core::types::{FinishReason, StreamEvent, ToolCall, Usage};
use serde_json::{json, Value};
use std::rc::Rc;

/// The output item being streamed.
#[derive(Debug)]
enum Open {
    /// An assistant message's text so far.
    Text(String),
    /// A function call: its position among the choice's calls, and the call so far.
    Call(u32, ToolCall),
}

/// Canonical stream events to Responses SSE events, for the first choice only. Sends
/// `response.created` on the first event, opens and closes output items as text and tool calls
/// alternate, keeps every finished item for the closing `response.completed`, and ends once.
#[derive(Debug, Default)]
pub struct ResponsesStreamEncoder {
    echo: Rc<Echo>,
    head: Head,
    seq: u64,
    started: bool,
    done: bool,
    output: Vec<Value>,
    open: Option<Open>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ResponsesStreamEncoder {
    /// An encoder that has sent nothing yet, for the request `echo` describes.
    pub fn new(echo: Rc<Echo>) -> Self {
        ResponsesStreamEncoder { echo, ..Default::default() }
    }

    /// One event: its `type` and `sequence_number` added to `data`.
    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut data: Value) {
        data["type"] = kind.into();
        data["sequence_number"] = self.seq.into();
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(data.to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }

    fn response(&self, status: &Status) -> Value {
        self.echo.response(&self.head, status, self.output.clone(), self.usage.as_ref())
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let response = self.response(&Status::InProgress);
        self.emit(out, "response.created", json!({"response": response}));
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    /// The open item's id and output index.
    fn at(&self, prefix: &str) -> (String, usize) {
        let index = self.output.len();
        (self.echo.item_id(prefix, index), index)
    }

    fn open_text(&mut self, out: &mut Vec<u8>) {
        let (id, index) = self.at("msg");
        let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
        self.emit(out, "response.output_item.added", json!({"output_index": index, "item": item}));
        let part = json!({"item_id": id, "output_index": index, "content_index": 0, "part": text_part("")});
        self.emit(out, "response.content_part.added", part);
        self.open = Some(Open::Text(String::new()));
    }

    fn open_call(&mut self, out: &mut Vec<u8>, call_index: u32, call: ToolCall) {
        let (id, index) = self.at("fc");
        let item = call_item(&id, "in_progress", &ToolCall { arguments: String::new(), ..call.clone() });
        self.emit(out, "response.output_item.added", json!({"output_index": index, "item": item}));
        self.open = Some(Open::Call(call_index, call));
    }

    /// Close the open item, if any: its `.done` events, and the item into the output.
    fn close(&mut self, out: &mut Vec<u8>) {
        let status = Status::of(self.finish.as_ref());
        let item = match self.open.take() {
            None => return,
            Some(Open::Text(text)) => {
                let (id, index) = self.at("msg");
                let done = json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []});
                self.emit(out, "response.output_text.done", done);
                let part = json!({"item_id": id, "output_index": index, "content_index": 0, "part": text_part(&text)});
                self.emit(out, "response.content_part.done", part);
                message_item(&id, status.item(), &text, None)
            }
            Some(Open::Call(_, call)) => {
                let (id, index) = self.at("fc");
                let done = json!({"item_id": id, "output_index": index, "name": call.name, "arguments": call.arguments});
                self.emit(out, "response.function_call_arguments.done", done);
                call_item(&id, "completed", &call)
            }
        };
        let index = self.output.len();
        self.emit(out, "response.output_item.done", json!({"output_index": index, "item": item}));
        self.output.push(item);
    }

    fn text(&mut self, out: &mut Vec<u8>, text: &str) {
        if text.is_empty() {
            return;
        }
        if !matches!(self.open, Some(Open::Text(_))) {
            self.close(out);
            self.open_text(out);
        }
        if let Some(Open::Text(all)) = &mut self.open {
            all.push_str(text);
        }
        let (id, index) = self.at("msg");
        let delta = json!({"item_id": id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []});
        self.emit(out, "response.output_text.delta", delta);
    }

    fn call(&mut self, out: &mut Vec<u8>, call_index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) {
        if !matches!(self.open, Some(Open::Call(i, _)) if i == call_index) {
            self.close(out);
            let call = ToolCall { id: id.unwrap_or_default().into(), name: name.unwrap_or_default().into(), arguments: String::new() };
            self.open_call(out, call_index, call);
        }
        if arguments.is_empty() {
            return;
        }
        if let Some(Open::Call(_, call)) = &mut self.open {
            call.arguments.push_str(arguments);
        }
        let (id, index) = self.at("fc");
        self.emit(out, "response.function_call_arguments.delta", json!({"item_id": id, "output_index": index, "delta": arguments}));
    }

    /// Bytes for one event (empty when it has no frame of its own yet).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if let StreamEvent::Start { model, created, .. } = ev {
            if !self.started {
                self.head = Head { model: model.clone(), created: *created };
            }
        }
        if let StreamEvent::Error { message } = ev {
            return self.error(message);
        }
        self.start(&mut out);
        match ev {
            StreamEvent::TextDelta { index: 0, text } => self.text(&mut out, text),
            StreamEvent::ToolCallDelta { index: 0, call_index, id, name, arguments } => {
                self.call(&mut out, *call_index, id.as_deref(), name.as_deref(), arguments)
            }
            StreamEvent::Finish { index: 0, reason } => {
                self.finish = Some(reason.clone());
                self.close(&mut out);
            }
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Done => self.end(&mut out),
            _ => {}
        }
        out
    }

    /// The closing `response.completed` (or `response.incomplete`), once; an answer with no
    /// output item gets one empty message, as the whole answer would.
    fn end(&mut self, out: &mut Vec<u8>) {
        self.close(out);
        if self.output.is_empty() {
            self.open_text(out);
            self.close(out);
        }
        self.done = true;
        let status = Status::of(self.finish.as_ref());
        let kind = if matches!(status, Status::Incomplete(_)) { "response.incomplete" } else { "response.completed" };
        let response = self.response(&status);
        self.emit(out, kind, json!({"response": response}));
    }

    /// The `response.failed` event that ends a broken stream: the items finished so far, and
    /// an `error` with `message`.
    pub fn error(&mut self, message: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if std::mem::replace(&mut self.done, true) {
            return out;
        }
        self.start(&mut out);
        let response = self.response(&Status::Failed(message.to_string()));
        self.emit(&mut out, "response.failed", json!({"response": response}));
        out
    }
}

#[cfg(test)]
#[path = "responses_stream_tests.rs"]
mod tests;
