//! Splitting a Server-Sent Events byte stream into events, as chunks arrive.
//!
//! Only complete events are returned; a partial event waits for its next bytes, up to a cap
//! (a stream that never ends an event must not grow Weir's memory without bound). Each byte is
//! scanned for the end of an event once: a partial event is not scanned again from its start
//! when more of it arrives. The raw bytes of each event are kept so that a relay can forward
//! exactly what the provider sent.

use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if any (for resuming a stream with `Last-Event-ID`).
    pub id: Option<String>,
    /// The `retry:` field in milliseconds, if any.
    pub retry: Option<u64>,
    /// The event as received, terminator included.
    pub raw: Bytes,
}

/// The largest event a splitter holds by default, before it is complete.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// An event grew past the splitter's cap before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an event of the stream is larger than {0} bytes")]
pub struct EventTooLarge(pub usize);

#[derive(Debug)]
pub struct SseSplitter {
    buf: BytesMut,
    /// Where the scan for the end of the pending event resumes (bytes before it hold none).
    scan_from: usize,
    max_event: usize,
    /// Bytes looked at so far, for tests of the scan's cost.
    scanned: u64,
}

impl Default for SseSplitter {
    fn default() -> Self {
        Self::with_max_event(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseSplitter {
    /// A splitter that refuses an event larger than `max_event` bytes.
    pub fn with_max_event(max_event: usize) -> Self {
        Self { buf: BytesMut::new(), scan_from: 0, max_event, scanned: 0 }
    }

    /// Adds `chunk`; the events it completes go to `out`. Fails once a pending event is past
    /// the cap (what was complete before it is in `out`).
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        self.buf.extend_from_slice(chunk);
        loop {
            let (end, looked) = event_end(&self.buf, self.scan_from);
            self.scanned += looked as u64;
            match end {
                Some(end) => {
                    let raw = self.buf.split_to(end).freeze();
                    self.scan_from = 0;
                    if let Some(ev) = parse_event(raw) {
                        out.push(ev);
                    }
                }
                None => {
                    // A terminator may straddle chunks: up to three bytes of one are looked at
                    // again with the next chunk.
                    self.scan_from = self.buf.len().saturating_sub(3);
                    if self.buf.len() > self.max_event {
                        return Err(EventTooLarge(self.max_event));
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Bytes scanned for event ends since this splitter was made.
    #[cfg(test)]
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Bytes received that do not yet form a complete event.
    #[cfg(test)]
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn take_pending(&mut self) -> Bytes {
        self.scan_from = 0;
        self.buf.split().freeze()
    }
}

/// Index just past the blank line ending the first event (`\n\n`, `\r\n\r\n` or `\r\r`),
/// looking from `from`; and how many bytes were looked at.
fn event_end(buf: &[u8], from: usize) -> (Option<usize>, usize) {
    let mut i = from;
    while i < buf.len() {
        // Only line breaks can end an event: jump from one to the next.
        match memchr::memchr2(b'\n', b'\r', &buf[i..]) {
            Some(off) => i += off,
            None => return (None, buf.len() - from),
        }
        match buf[i] {
            b'\n' => match buf.get(i + 1) {
                Some(b'\n') => return (Some(i + 2), i + 2 - from),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return (Some(i + 3), i + 3 - from),
                _ => {}
            },
            _ if buf.get(i + 1) == Some(&b'\r') => return (Some(i + 2), i + 2 - from),
            _ => {}
        }
        i += 1;
    }
    (None, buf.len().saturating_sub(from))
}

/// Writes one event: its `event:` line when it has a name, its data as one line of JSON.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &serde_json::Value) {
    if let Some(e) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(e.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    // Writing a `Value` to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

fn parse_event(raw: Bytes) -> Option<SseEvent> {
    let text = std::str::from_utf8(&raw).ok()?;
    let mut event = None;
    let mut id = None;
    let mut retry = None;
    let mut data: Option<String> = None;
    let bytes = text.as_bytes();
    let mut from = 0;
    while from < bytes.len() {
        // Lines end at `\n` or `\r`: found with memchr rather than char by char.
        let end = memchr::memchr2(b'\n', b'\r', &bytes[from..]).map_or(bytes.len(), |i| from + i);
        let line = &text[from..end];
        from = end + 1;
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match memchr::memchr(b':', line.as_bytes()) {
            Some(i) => (&line[..i], line[i + 1..].strip_prefix(' ').unwrap_or(&line[i + 1..])),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value.to_string()),
            "id" if !value.contains('\0') => id = Some(value.to_string()),
            "retry" => retry = value.parse().ok().or(retry),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            },
            _ => {}
        }
    }
    Some(SseEvent { event, data: data.unwrap_or_default(), id, retry, raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&str]) -> Vec<SseEvent> {
        let mut s = SseSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c.as_bytes(), &mut out).unwrap();
        }
        out
    }

    #[test]
    fn events_across_chunk_boundaries() {
        let evs = split_all(&["data: {\"a\"", ":1}\n", "\nevent: message_stop\ndata: {}\n\n", "data: [DONE]\n\n"]);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(evs[0].event, None);
        assert_eq!(&evs[0].raw[..], b"data: {\"a\":1}\n\n");
        assert_eq!(evs[1].event.as_deref(), Some("message_stop"));
        assert_eq!(evs[2].data, "[DONE]");
    }

    #[test]
    fn ids_and_retry() {
        let evs = split_all(&["id: 7\nretry: 250\ndata:\n\n", "id: 8\nretry: soon\ndata: x\n\n"]);
        assert_eq!((evs[0].id.as_deref(), evs[0].retry, evs[0].data.as_str()), (Some("7"), Some(250), ""));
        assert_eq!((evs[1].id.as_deref(), evs[1].retry), (Some("8"), None));
    }

    #[test]
    fn crlf_multiline_and_comments() {
        let evs = split_all(&[": keep-alive\r\n\r\ndata: one\r\ndata: two\r\n\r\n"]);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].data, "");
        assert_eq!(evs[1].data, "one\ntwo");
    }

    #[test]
    fn partial_event_waits() {
        let mut s = SseSplitter::default();
        let mut out = Vec::new();
        s.push(b"data: x\n", &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(s.pending(), b"data: x\n");
        s.push(b"\n", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(s.pending().is_empty());
    }

    #[test]
    fn a_long_event_arriving_in_pieces_is_scanned_once() {
        // 24 MB without a blank line, in 16 KB chunks: each byte is looked at once (plus up to
        // three again per chunk, for a terminator straddling two chunks), not once per chunk.
        let mut s = SseSplitter::with_max_event(32 * 1024 * 1024);
        let mut out = Vec::new();
        let chunk = vec![b'x'; 16 * 1024];
        let chunks = 24 * 64;
        for _ in 0..chunks {
            s.push(&chunk, &mut out).unwrap();
        }
        s.push(b"\n\n", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let total = (chunks * chunk.len() + 2) as u64;
        assert!(s.scanned() <= total + 3 * chunks as u64 + 8, "scanned {} bytes for {total}", s.scanned());
        assert!(s.pending().is_empty());
    }

    #[test]
    fn terminators_straddling_chunks_are_found() {
        for split in ["data: a\r", "data: a\r\n\r", "data: a\n"] {
            let rest = &"data: a\r\n\r\ndata: b\n\n"[split.len()..];
            let evs = split_all(&[split, rest]);
            assert_eq!(evs.len(), 2, "{split:?}");
            assert_eq!(evs[0].data, "a");
        }
        let evs = split_all(&["data: a\r", "\r", "data: b\r\r"]);
        assert_eq!(evs.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_pending_event_past_the_cap_is_refused() {
        let mut s = SseSplitter::with_max_event(1024);
        let mut out = Vec::new();
        s.push(b"data: ok\n\n", &mut out).unwrap();
        assert_eq!(s.push(&[b'x'; 1000], &mut out), Ok(()));
        assert_eq!(s.push(&[b'x'; 100], &mut out), Err(EventTooLarge(1024)));
        assert_eq!(out.len(), 1, "the complete event before it still came out");
    }
}
