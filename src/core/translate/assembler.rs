//! Rebuild a complete answer from the canonical events of a stream, so a streamed answer can
//! be cached like a non-streamed one.
//!
//! Invariant: `finish` yields an answer only for a stream that ended cleanly (`Done` seen, no
//! error); a cut stream or one with an error event never becomes a cached answer.

use crate::core::types::{ChatResponse, Choice, StreamEvent, ToolCall, Usage};
use crate::core::util::vecmap::VecMap;

/// Accumulates a stream's canonical events into one [`ChatResponse`]: text and argument
/// fragments are appended per choice and call, the last `Usage` wins. Feed every event with
/// [`push`](Self::push), then call [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct Assembler {
    id: String,
    model: String,
    created: u64,
    choices: VecMap<u32, Choice>,
    usage: Option<Usage>,
    done: bool,
    failed: bool,
}

impl Assembler {
    /// Take one event, in stream order. An `Error` event marks the stream failed for good.
    pub fn push(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::Start { id, model, created } => {
                (self.id, self.model, self.created) = (id.clone(), model.clone(), *created);
            }
            StreamEvent::TextDelta { index, text } => {
                self.choice(*index).content.get_or_insert_with(String::new).push_str(text);
            }
            StreamEvent::ToolCallDelta { index, call_index, id, name, arguments } => {
                let calls = &mut self.choice(*index).tool_calls;
                let at = *call_index as usize;
                if calls.len() <= at {
                    calls.resize(at + 1, ToolCall { id: String::new(), name: String::new(), arguments: String::new() });
                }
                let call = &mut calls[at];
                if let Some(id) = id {
                    call.id.clone_from(id);
                }
                if let Some(name) = name {
                    call.name.clone_from(name);
                }
                call.arguments.push_str(arguments);
            }
            StreamEvent::Finish { index, reason } => self.choice(*index).finish_reason = Some(reason.clone()),
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Error { .. } => self.failed = true,
            StreamEvent::Done => self.done = true,
        }
    }

    fn choice(&mut self, index: u32) -> &mut Choice {
        self.choices.get_or_insert_with(index, || Choice {
            index,
            content: None,
            refusal: None,
            tool_calls: Vec::new(),
            finish_reason: None,
        })
    }

    /// The whole answer, if the stream ended cleanly.
    pub fn finish(self) -> Option<ChatResponse> {
        (self.done && !self.failed).then(|| ChatResponse {
            id: self.id,
            model: self.model,
            created: self.created,
            choices: self.choices.into_values().collect(),
            usage: self.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::FinishReason;

    #[test]
    fn a_clean_stream_becomes_one_answer() {
        let mut a = Assembler::default();
        for ev in [
            StreamEvent::Start { id: "c1".into(), model: "m".into(), created: 7 },
            StreamEvent::TextDelta { index: 0, text: "Hel".into() },
            StreamEvent::TextDelta { index: 0, text: "lo".into() },
            StreamEvent::ToolCallDelta {
                index: 0,
                call_index: 0,
                id: Some("t1".into()),
                name: Some("f".into()),
                arguments: "{\"a\":".into(),
            },
            StreamEvent::ToolCallDelta { index: 0, call_index: 0, id: None, name: None, arguments: "1}".into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
            StreamEvent::Usage(Usage { input_tokens: 3, output_tokens: 2, ..Default::default() }),
            StreamEvent::Done,
        ] {
            a.push(&ev);
        }
        let r = a.finish().unwrap();
        assert_eq!((r.id.as_str(), r.created), ("c1", 7));
        assert_eq!(r.choices[0].content.as_deref(), Some("Hello"));
        assert_eq!(r.choices[0].tool_calls[0], ToolCall { id: "t1".into(), name: "f".into(), arguments: "{\"a\":1}".into() });
        assert_eq!(r.usage.unwrap().output_tokens, 2);
    }

    #[test]
    fn cut_or_failed_streams_yield_nothing() {
        let mut a = Assembler::default();
        a.push(&StreamEvent::TextDelta { index: 0, text: "x".into() });
        assert!(a.finish().is_none());
        let mut a = Assembler::default();
        a.push(&StreamEvent::Error { message: "boom".into() });
        a.push(&StreamEvent::Done);
        assert!(a.finish().is_none());
    }
}
