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
use std::fmt::{self, Write};
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
    fn emit(&mut self, out: &mut String, kind: &str, members: fmt::Arguments) {
        let _ = write!(out, "event: {kind}\ndata: {{\"type\":\"{kind}\",{members},\"sequence_number\":{}}}\n\n", self.seq);
        self.seq += 1;
    }

    /// An event carrying the whole response, with status `status`.
    fn emit_response(&mut self, out: &mut String, kind: &str, status: &Status) {
        let response = self.echo.response(&self.head, status, &self.output, self.usage.as_ref());
        self.emit(out, kind, format_args!("\"response\":{response}"));
    }

    fn start(&mut self, out: &mut String) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        self.emit_response(out, "response.created", &Status::InProgress);
        self.emit_response(out, "response.in_progress", &Status::InProgress);
    }

    /// The open item's id and output index.
    fn at(&self, prefix: &str) -> (String, usize) {
        let index = self.output.len();
        (self.echo.item_id(prefix, index), index)
    }

    fn open_text(&mut self, out: &mut String) {
        let (id, i) = self.at("msg");
        let item = format_args!(r#"{{"id":"{id}","type":"message","status":"in_progress","role":"assistant","content":[]}}"#);
        self.emit(out, "response.output_item.added", format_args!(r#""output_index":{i},"item":{item}"#));
        let part = text_part("");
        self.emit(
            out,
            "response.content_part.added",
            format_args!(r#""item_id":"{id}","output_index":{i},"content_index":0,"part":{part}"#),
        );
        self.open = Some(Open::Text(String::new()));
    }

    fn open_call(&mut self, out: &mut String, call_index: u32, call: ToolCall) {
        let (id, i) = self.at("fc");
        let item = call_item(&id, "in_progress", &call);
        self.emit(out, "response.output_item.added", format_args!(r#""output_index":{i},"item":{item}"#));
        self.open = Some(Open::Call(call_index, call));
    }

    /// Close the open item, if any: its `.done` events, and the item into the output.
    fn close(&mut self, out: &mut String) {
        let item = match self.open.take() {
            None => return,
            Some(Open::Text(text)) => {
                let (id, i) = self.at("msg");
                let (part, q) = (text_part(&text), quoted(&text));
                let at = format_args!(r#""item_id":"{id}","output_index":{i},"content_index":0"#);
                self.emit(out, "response.output_text.done", format_args!(r#"{at},"text":{q},"logprobs":[]"#));
                self.emit(out, "response.content_part.done", format_args!(r#"{at},"part":{part}"#));
                message_item(&id, Status::of(self.finish.as_ref()).item(), &text, None)
            }
            Some(Open::Call(_, call)) => {
                let (id, i) = self.at("fc");
                let (name, arguments) = (quoted(&call.name), quoted(&call.arguments));
                let done = format_args!(r#""item_id":"{id}","output_index":{i},"name":{name},"arguments":{arguments}"#);
                self.emit(out, "response.function_call_arguments.done", done);
                call_item(&id, "completed", &call)
            }
        };
        let i = self.output.len();
        self.emit(out, "response.output_item.done", format_args!(r#""output_index":{i},"item":{item}"#));
        self.output.push(item);
    }

    fn text(&mut self, out: &mut String, text: &str) {
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
        let ((id, i), q) = (self.at("msg"), quoted(text));
        self.emit(
            out,
            "response.output_text.delta",
            format_args!(r#""item_id":"{id}","output_index":{i},"content_index":0,"delta":{q},"logprobs":[]"#),
        );
    }

    fn call(&mut self, out: &mut String, call_index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) {
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
        let ((id, i), q) = (self.at("fc"), quoted(arguments));
        self.emit(out, "response.function_call_arguments.delta", format_args!(r#""item_id":"{id}","output_index":{i},"delta":{q}"#));
    }

    /// Bytes for one event (empty when it has no frame of its own yet).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        let mut out = String::new();
        if self.done {
            return Vec::new();
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
        out.into_bytes()
    }

    /// The closing `response.completed` (or `response.incomplete`), once; an answer with no
    /// output item gets one empty message, as the whole answer would.
    fn end(&mut self, out: &mut String) {
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
        let mut out = String::new();
        if !std::mem::replace(&mut self.done, true) {
            self.start(&mut out);
            self.emit_response(&mut out, "response.failed", &Status::Failed(message.to_string()));
        }
        out.into_bytes()
    }
}

#[cfg(test)]
#[path = "responses_stream_tests.rs"]
mod tests;
