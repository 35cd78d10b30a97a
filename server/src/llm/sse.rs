//! Splitting a Server-Sent Events byte stream into events, as chunks arrive.
//!
//! Only complete events are returned; a partial event waits for its next bytes. The raw bytes
//! of each event are kept so that a relay can forward exactly what the provider sent.

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

#[derive(Debug, Default)]
pub struct SseSplitter {
    buf: BytesMut,
}

impl SseSplitter {
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        self.buf.extend_from_slice(chunk);
        while let Some(end) = event_end(&self.buf) {
            let raw = self.buf.split_to(end).freeze();
            if let Some(ev) = parse_event(raw) {
                out.push(ev);
            }
        }
    }

    /// Bytes received that do not yet form a complete event.
    #[cfg(test)]
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn take_pending(&mut self) -> Bytes {
        self.buf.split().freeze()
    }
}

/// Index just past the blank line ending the first event (`\n\n`, `\r\n\r\n` or `\r\r`).
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'\n' => match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            },
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse_event(raw: Bytes) -> Option<SseEvent> {
    let text = std::str::from_utf8(&raw).ok()?;
    let mut event = None;
    let mut id = None;
    let mut retry = None;
    let mut data: Option<String> = None;
    for line in text.split(['\n', '\r']) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
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
            s.push(c.as_bytes(), &mut out);
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
        s.push(b"data: x\n", &mut out);
        assert!(out.is_empty());
        assert_eq!(s.pending(), b"data: x\n");
        s.push(b"\n", &mut out);
        assert_eq!(out.len(), 1);
        assert!(s.pending().is_empty());
    }
}
