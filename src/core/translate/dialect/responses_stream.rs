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

use super::responses::{call_item, message_item, quoted, text_part, Echo, Head, Status};
use crate::core::types::{FinishReason, StreamEvent, ToolCall, Usage};
use std::fmt::Write;
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
    /// The finished output items' JSON.
    output: Vec<String>,
    open: Option<Open>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ResponsesStreamEncoder {
    /// An encoder that has sent nothing yet, for the request `echo` describes.
    pub fn new(echo: Rc<Echo>) -> Self {
        ResponsesStreamEncoder { echo, ..Default::default() }
    }

    /// One event of type `kind` whose other members are `members` (JSON text), numbered.
    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, members: &str) {
        let mut text = String::new();
        let _ = write!(text, "event: {kind}\ndata: {{\"type\":\"{kind}\",{members},\"sequence_number\":{}}}\n\n", self.seq);
        self.seq += 1;
        out.extend_from_slice(text.as_bytes());
    }

    /// An event carrying the whole response, with status `status`.
    fn emit_response(&mut self, out: &mut Vec<u8>, kind: &str, status: &Status) {
        let response = self.echo.response(&self.head, status, &self.output, self.usage.as_ref());
        self.emit(out, kind, &format!("\"response\":{response}"));
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        self.emit_response(out, "response.created", &Status::InProgress);
        self.emit_response(out, "response.in_progress", &Status::InProgress);
    }

    /// The open item's id and output index, as JSON members.
    fn at(&self, prefix: &str) -> (String, String) {
        let index = self.output.len();
        let id = self.echo.item_id(prefix, index);
        let at = format!("\"item_id\":\"{id}\",\"output_index\":{index}");
        (id, at)
    }

    fn added(&mut self, out: &mut Vec<u8>, item: &str) {
        let members = format!("\"output_index\":{},\"item\":{item}", self.output.len());
        self.emit(out, "response.output_item.added", &members);
    }

    fn open_text(&mut self, out: &mut Vec<u8>) {
        let (id, at) = self.at("msg");
        self.added(
            out,
            &format!("{{\"id\":\"{id}\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}"),
        );
        self.emit(out, "response.content_part.added", &format!("{at},\"content_index\":0,\"part\":{}", text_part("")));
        self.open = Some(Open::Text(String::new()));
    }

    fn open_call(&mut self, out: &mut Vec<u8>, call_index: u32, call: ToolCall) {
        let (id, _) = self.at("fc");
        self.added(out, &call_item(&id, "in_progress", &call));
        self.open = Some(Open::Call(call_index, call));
    }

    /// Close the open item, if any: its `.done` events, and the item into the output.
    fn close(&mut self, out: &mut Vec<u8>) {
        let item = match self.open.take() {
            None => return,
            Some(Open::Text(text)) => {
                let (id, at) = self.at("msg");
                let (part, quoted_text) = (text_part(&text), quoted(&text));
                self.emit(out, "response.output_text.done", &format!("{at},\"content_index\":0,\"text\":{quoted_text},\"logprobs\":[]"));
                self.emit(out, "response.content_part.done", &format!("{at},\"content_index\":0,\"part\":{part}"));
                message_item(&id, Status::of(self.finish.as_ref()).item(), &text, None)
            }
            Some(Open::Call(_, call)) => {
                let (id, at) = self.at("fc");
                let done = format!("{at},\"name\":{},\"arguments\":{}", quoted(&call.name), quoted(&call.arguments));
                self.emit(out, "response.function_call_arguments.done", &done);
                call_item(&id, "completed", &call)
            }
        };
        let members = format!("\"output_index\":{},\"item\":{item}", self.output.len());
        self.emit(out, "response.output_item.done", &members);
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
        let (_, at) = self.at("msg");
        self.emit(out, "response.output_text.delta", &format!("{at},\"content_index\":0,\"delta\":{},\"logprobs\":[]", quoted(text)));
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
        let (_, at) = self.at("fc");
        self.emit(out, "response.function_call_arguments.delta", &format!("{at},\"delta\":{}", quoted(arguments)));
    }

    /// Bytes for one event (empty when it has no frame of its own yet).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        match ev {
            StreamEvent::Start { model, created, .. } if !self.started => self.head = Head { model: model.clone(), created: *created },
            StreamEvent::Error { message } => return self.error(message),
            _ => {}
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
        self.emit_response(out, kind, &status);
    }

    /// The `response.failed` event that ends a broken stream: the items finished so far, and
    /// an `error` with `message`.
    pub fn error(&mut self, message: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if std::mem::replace(&mut self.done, true) {
            return out;
        }
        self.start(&mut out);
        self.emit_response(&mut out, "response.failed", &Status::Failed(message.to_string()));
        out
    }
}

#[cfg(test)]
#[path = "responses_stream_tests.rs"]
mod tests;
