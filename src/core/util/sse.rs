//! Incremental Server-Sent Events parser: bytes in any split, events out.
//!
//! Follows the WHATWG event-stream rules (<https://html.spec.whatwg.org/multipage/server-sent-events.html>):
//! lines end in LF, CR or CRLF; `data:` lines join with `\n`; a blank line dispatches; lines
//! starting with `:` are comments; one space after the colon is dropped.
//! Invariant: the output does not depend on how the input was split (property-tested).
//! A line longer than `max_line` is an error, so a hostile upstream cannot grow memory unbounded.

/// One dispatched Server-Sent Event: the lines between two blank lines, comments and fields
/// other than `event` and `data` dropped. Only events with at least one `data:` line are
/// dispatched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The last `event:` field's value (e.g. Anthropic's `message_delta`); `None` when the
    /// event had no `event:` line, which the spec reads as `message`.
    pub event: Option<String>,
    /// The `data:` lines' values joined with `\n`, without a trailing newline; may be empty
    /// (`data:` alone).
    pub data: String,
}

/// Error from [`SseParser::push`]: a line grew past the parser's `max_line` bytes without
/// ending. The stream is broken from here on; the caller should abort it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong;

/// Incremental event-stream parser: feed bytes with [`push`](Self::push) as they arrive,
/// call [`finish`](Self::finish) at end of input. Holds at most one partial line (bounded by
/// `max_line`) and one partial event. `Default` allows lines of up to 4 MiB.
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    pending: SseEvent,
    has_data: bool,
    /// The previous chunk ended in CR: a leading LF in the next chunk belongs to it.
    after_cr: bool,
    max_line: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(4 << 20)
    }
}

impl SseParser {
    /// A parser refusing any line longer than `max_line` bytes (its line ending not counted).
    pub fn new(max_line: usize) -> Self {
        SseParser { line: Vec::new(), pending: SseEvent::default(), has_data: false, after_cr: false, max_line }
    }

    /// Feed bytes; returns the events completed by them.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<SseEvent>, LineTooLong> {
        let mut out = Vec::new();
        if bytes.is_empty() {
            return Ok(out);
        }
        if self.after_cr && bytes[0] == b'\n' {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&bytes[..pos]);
            let is_cr = bytes[pos] == b'\r';
            let mut next = pos + 1;
            if is_cr {
                if next < bytes.len() {
                    if bytes[next] == b'\n' {
                        next += 1;
                    }
                } else {
                    self.after_cr = true;
                }
            }
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, &mut out);
            bytes = &bytes[next..];
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > self.max_line {
            return Err(LineTooLong);
        }
        Ok(out)
    }

    /// End of input: a final event without its blank line is still delivered.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, &mut out);
        }
        self.dispatch(&mut out);
        out
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => (&text[..i], text[i + 1..].strip_prefix(' ').unwrap_or(&text[i + 1..])),
            None => (&text[..], ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(std::mem::take(&mut self.pending));
        } else {
            self.pending = SseEvent::default();
        }
        self.has_data = false;
    }
}

/// Frame one `data:` event.
pub fn frame(data: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c).unwrap());
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn basic_events_comments_and_names() {
        let evs = parse_all(&[b": ping\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n"]);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event.as_deref(), Some("message_start"));
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(evs[1].data, "x\ny");
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        let evs = parse_all(&[b"data: a\r\n\r\ndata: b\r\rdata:c\n\n"]);
        let data: Vec<_> = evs.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["a", "b", "c"]);
    }

    #[test]
    fn crlf_split_between_chunks() {
        assert_eq!(parse_all(&[b"data: a\r", b"\n\r", b"\n"]).len(), 1);
    }

    #[test]
    fn unterminated_final_event_is_delivered() {
        assert_eq!(parse_all(&[b"data: [DONE]"])[0].data, "[DONE]");
    }

    #[test]
    fn long_lines_are_refused() {
        let mut p = SseParser::new(8);
        assert_eq!(p.push(b"data: 0123456789"), Err(LineTooLong));
    }

    #[test]
    fn frame_splits_newlines() {
        assert_eq!(frame("a\nb"), b"data: a\ndata: b\n\n");
        assert_eq!(parse_all(&[&frame("a\nb")])[0].data, "a\nb");
    }

    proptest! {
        #[test]
        fn split_invariance(cuts in proptest::collection::vec(0usize..200, 0..12)) {
            let input: &[u8] = b"event: e\r\ndata: {\"x\": 1}\r\n\r\n: c\n\ndata: one\ndata: two\n\ndata: \xce\xbb\r\rdata: [DONE]\n\n";
            let whole = parse_all(&[input]);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
            points.sort();
            let mut chunks = Vec::new();
            let mut last = 0;
            for p in points { chunks.push(&input[last..p]); last = p; }
            chunks.push(&input[last..]);
            prop_assert_eq!(parse_all(&chunks), whole);
        }
    }
}
