//! Relaying a provider's SSE stream to the client, chunk by chunk as it arrives.
//!
//! Bytes are forwarded as soon as they come, except in one case: when Weir itself asked an
//! OpenAI provider for the usage chunk (`stream_options.include_usage`) the client did not ask
//! for, events are forwarded whole so that the usage-only chunk can be left out. Every event is
//! also read for usage, the served model and finish reasons. When the stream ends — finished,
//! broken, or dropped because the client left — the call is recorded once.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;

use super::record::{CallRecorder, Ending};
use super::sse::{SseEvent, SseSplitter};
use super::usage::StreamObserver;
use super::{Api, UpstreamBody};

pub struct Relay {
    upstream: UpstreamBody,
    splitter: SseSplitter,
    observer: StreamObserver,
    strip_usage_chunk: bool,
    events: Vec<SseEvent>,
    recorder: Option<CallRecorder>,
    status: u16,
}

impl Relay {
    pub fn new(api: Api, status: u16, upstream: UpstreamBody, strip_usage_chunk: bool, mut recorder: CallRecorder) -> Self {
        recorder.set_streamed();
        Self {
            upstream,
            splitter: SseSplitter::default(),
            observer: StreamObserver::new(api),
            strip_usage_chunk,
            events: Vec::new(),
            recorder: Some(recorder),
            status,
        }
    }

    /// Reads the events in `chunk`; returns what the client gets.
    fn pass(&mut self, chunk: Bytes) -> Bytes {
        self.events.clear();
        self.splitter.push(&chunk, &mut self.events);
        if !self.strip_usage_chunk {
            for ev in &self.events {
                self.observer.observe(ev);
            }
            return chunk;
        }
        let mut out = BytesMut::new();
        for ev in &self.events {
            if !self.observer.observe(ev) {
                out.extend_from_slice(&ev.raw);
            }
        }
        out.freeze()
    }

    fn end(&mut self, ending: impl FnOnce(&mut StreamObserver, u16) -> Ending) {
        if let Some(rec) = self.recorder.take() {
            let e = ending(&mut self.observer, self.status);
            rec.finish(e);
        }
    }
}

fn with_text(mut e: Ending, observer: &mut StreamObserver) -> Ending {
    e.facts = std::mem::take(&mut observer.facts);
    e.stream_text = Some(std::mem::take(&mut observer.text));
    e
}

impl Stream for Relay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.recorder.is_none() {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.upstream).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(rec) = this.recorder.as_mut() {
                        rec.mark_first_chunk();
                    }
                    let out = this.pass(chunk);
                    if out.is_empty() {
                        continue;
                    }
                    if let Some(rec) = this.recorder.as_mut() {
                        rec.capture_response(&out);
                    }
                    return Poll::Ready(Some(Ok(out)));
                }
                Poll::Ready(Some(Err(e))) => {
                    let timeout = e.is_timeout();
                    tracing::warn!(error = %e, "provider stream broke off");
                    this.end(|o, status| {
                        let (ty, msg) = if timeout {
                            ("timeout", "the provider stopped sending before the stream completed")
                        } else {
                            ("stream_interrupted", "the provider's stream broke off before it completed")
                        };
                        with_text(Ending::failed(status, ty, msg), o)
                    });
                    // Breaking the client's stream tells it, as the provider told us.
                    return Poll::Ready(Some(Err(std::io::Error::other("provider stream interrupted"))));
                }
                Poll::Ready(None) => {
                    let tail = this.splitter.take_pending();
                    this.end(|o, status| {
                        if let Some(err) = o.error.take() {
                            with_text(Ending::failed(status, "provider_error", err), o)
                        } else if !o.completed && !o.facts.usage.is_known() {
                            with_text(Ending::failed(status, "stream_incomplete", "the provider ended the stream before it completed"), o)
                        } else {
                            let mut e = with_text(Ending::ok(status, Default::default()), o);
                            if e.facts.usage.is_known() {
                                e.stream_text = None;
                            }
                            e
                        }
                    });
                    if this.strip_usage_chunk && !tail.is_empty() {
                        return Poll::Ready(Some(Ok(tail)));
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // The client went away mid-stream: record what was used so far as a cancelled call.
        self.end(|o, _| {
            let mut e = with_text(Ending::failed(499, "client_closed", "the client closed the stream before it completed"), o);
            e.cancelled = true;
            e
        });
    }
}
