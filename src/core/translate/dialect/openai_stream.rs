//! Canonical stream events to OpenAI `chat.completion.chunk` SSE frames, or for a legacy
//! Completions caller `text_completion` frames (`choices[].text`, no tool calls).
//!
//! Reference: <https://platform.openai.com/docs/api-reference/chat-streaming/streaming> and
//! <https://platform.openai.com/docs/api-reference/completions/object>.
//! The first chunk of each choice carries `role: "assistant"`; with `include_usage`, a final
//! chunk has empty `choices` and the `usage` object; the stream ends with `data: [DONE]`.

use super::completions::completion_id;
use super::openai::encode_usage;
use crate::core::error::Code;
use crate::core::types::{StreamEvent, Usage};
use crate::core::util::sse::frame;
use crate::json;
use serde_json::Value;

/// Canonical stream events to `chat.completion.chunk` SSE frames. Remembers the id, model and
/// creation time from `Start` for every chunk, adds `role: "assistant"` to each choice's first
/// delta, and sends the closing `data: [DONE]` once.
#[derive(Debug, Default)]
pub struct OpenAiStreamEncoder {
    id: String,
    model: String,
    created: u64,
    role_sent: Vec<u32>,
    include_usage: bool,
    done: bool,
    /// Legacy Completions frames (`text_completion`) instead of chat chunks.
    text: bool,
}

impl OpenAiStreamEncoder {
    /// An encoder; with `include_usage` (the caller's `stream_options.include_usage`) a `Usage`
    /// event becomes a final chunk with empty `choices`, else it is dropped.
    pub fn new(include_usage: bool) -> Self {
        OpenAiStreamEncoder { include_usage, ..Default::default() }
    }

    /// An encoder of legacy Completions frames: the id as `cmpl-…`, each text delta as
    /// `choices[].text`, tool-call deltas dropped (a Completions caller sends no tools).
    pub fn text_completion(include_usage: bool) -> Self {
        OpenAiStreamEncoder { include_usage, text: true, ..Default::default() }
    }

    fn chunk(&self, choices: Value, usage: Option<&Usage>) -> Vec<u8> {
        let object = if self.text { "text_completion" } else { "chat.completion.chunk" };
        let mut c = json!({"id": self.id, "object": object, "created": self.created, "model": self.model, "choices": choices});
        if let Some(u) = usage {
            c["usage"] = encode_usage(u);
        }
        frame(&c.to_string())
    }

    fn delta(&mut self, index: u32, mut delta: Value, finish: Option<&str>) -> Vec<u8> {
        if self.text {
            let text = delta.get_mut("content").map(Value::take).unwrap_or_else(|| "".into());
            return self.chunk(json!([{"text": text, "index": index, "logprobs": null, "finish_reason": finish}]), None);
        }
        if !self.role_sent.contains(&index) {
            self.role_sent.push(index);
            delta["role"] = "assistant".into();
        }
        self.chunk(json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}]), None)
    }

    /// Frames for one event (empty when the event has no OpenAI frame of its own).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<u8> {
        match ev {
            StreamEvent::Start { id, model, created } => {
                self.id = if self.text { completion_id(id) } else { id.clone() };
                self.model = model.clone();
                self.created = *created;
                Vec::new()
            }
            StreamEvent::TextDelta { index, text } => self.delta(*index, json!({"content": text}), None),
            StreamEvent::ToolCallDelta { .. } if self.text => Vec::new(),
            StreamEvent::ToolCallDelta { index, call_index, id, name, arguments } => {
                let mut call = json!({"index": call_index, "function": {"arguments": arguments}});
                if let Some(id) = id {
                    call["id"] = id.as_str().into();
                    call["type"] = "function".into();
                }
                if let Some(name) = name {
                    call["function"]["name"] = name.as_str().into();
                }
                self.delta(*index, json!({"tool_calls": [call]}), None)
            }
            StreamEvent::Finish { index, reason } => self.delta(*index, json!({}), Some(reason.as_str())),
            StreamEvent::Usage(u) if self.include_usage => self.chunk(json!([]), Some(u)),
            StreamEvent::Usage(_) => Vec::new(),
            StreamEvent::Error { message } => frame(
                &json!({"error": {"message": message, "type": "upstream_error", "code": Code::StreamError.as_str(), "param": null}})
                    .to_string(),
            ),
            StreamEvent::Done => self.finish(),
        }
    }

    /// The closing `[DONE]` frame, once.
    pub fn finish(&mut self) -> Vec<u8> {
        if std::mem::replace(&mut self.done, true) {
            return Vec::new();
        }
        frame("[DONE]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::FinishReason;
    use crate::core::util::sse::SseParser;

    fn frames(events: &[StreamEvent], include_usage: bool) -> Vec<String> {
        let mut enc = OpenAiStreamEncoder::new(include_usage);
        let bytes: Vec<u8> = events.iter().flat_map(|e| enc.push(e)).collect();
        let mut p = SseParser::default();
        p.push(&bytes).unwrap().into_iter().map(|e| e.data).collect()
    }

    #[test]
    fn role_first_then_content_finish_usage_done() {
        let evs = [
            StreamEvent::Start { id: "c".into(), model: "m".into(), created: 1 },
            StreamEvent::TextDelta { index: 0, text: "Hi".into() },
            StreamEvent::TextDelta { index: 0, text: "!".into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::Stop },
            StreamEvent::Usage(Usage { input_tokens: 2, output_tokens: 2, ..Default::default() }),
            StreamEvent::Done,
        ];
        let f = frames(&evs, true);
        assert_eq!(f.len(), 5);
        let first: Value = serde_json::from_str(&f[0]).unwrap();
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(first["choices"][0]["delta"]["content"], "Hi");
        let second: Value = serde_json::from_str(&f[1]).unwrap();
        assert!(second["choices"][0]["delta"].get("role").is_none());
        let usage: Value = serde_json::from_str(&f[3]).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 4);
        assert_eq!(f[4], "[DONE]");
    }

    #[test]
    fn usage_omitted_unless_asked() {
        let f = frames(&[StreamEvent::Usage(Usage::default()), StreamEvent::Done], false);
        assert_eq!(f, ["[DONE]"]);
    }

    #[test]
    fn tool_call_deltas() {
        let evs =
            [StreamEvent::ToolCallDelta { index: 0, call_index: 0, id: Some("t1".into()), name: Some("f".into()), arguments: "{".into() }];
        let v: Value = serde_json::from_str(&frames(&evs, false)[0]).unwrap();
        let call = &v["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(
            (call["id"].as_str(), call["function"]["name"].as_str(), call["type"].as_str()),
            (Some("t1"), Some("f"), Some("function"))
        );
    }
}
