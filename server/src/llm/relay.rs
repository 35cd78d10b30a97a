//! Relaying a provider's SSE stream to the client, event by event as it arrives.
//!
//! Events are handled whole, as soon as each is complete (a partial event is of no use to an
//! SSE client), and pass through the stream's stages in order:
//!
//! 1. usage: every event of the provider is read (in the provider's protocol) for usage, the
//!    served model and finish reasons;
//! 2. shape ([`StreamStages`]): the event is passed on as it is — less the usage chunk Weir
//!    itself asked an OpenAI provider for (`stream_options.include_usage`) when the client did
//!    not — or translated into the client's protocol;
//! 3. secrets: a secret of Weir's config is replaced (a provider echoing its key).
//!
//! The stream is
//! bounded: past the provider's `max_response_bytes` in all, or a single event past the
//! splitter's cap, it ends with the protocol's own error event. When the stream ends — finished,
//! broken, cut, or dropped because the client left — the call is recorded once.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::Stream;

use super::record::{CallRecorder, Ending};
use super::translate::StreamTranslator;
use super::cached::StreamFill;
use super::guard_stream::StreamGuard;
use super::usage::StreamObserver;
use super::{Api, UpstreamBody};
use crate::sse::{SseEvent, SseSplitter};

/// What a stream's events become for the client.
pub struct StreamStages {
    /// Leave out the usage chunk Weir asked for on the client's behalf.
    strip_usage_chunk: bool,
    translator: Option<StreamTranslator>,
    /// The guardrails on the answer, in the client's protocol.
    guard: Option<StreamGuard>,
    /// The answer assembled for the response cache, as the client gets it.
    fill: Option<StreamFill>,
}

impl StreamStages {
    /// Events passed on as the provider sent them.
    pub fn passed(strip_usage_chunk: bool) -> Self {
        Self { strip_usage_chunk, translator: None, guard: None, fill: None }
    }

    /// With the guardrails on the answer.
    pub fn guarded(mut self, guard: Option<StreamGuard>) -> Self {
        self.guard = guard;
        self
    }

    /// With the answer stored in the response cache once it completed.
    pub fn filled(mut self, fill: Option<StreamFill>) -> Self {
        self.fill = fill;
        self
    }

    /// Events translated into the client's protocol.
    pub fn translated(translator: StreamTranslator) -> Self {
        Self { strip_usage_chunk: false, translator: Some(translator), guard: None, fill: None }
    }

    /// One event, already read for usage (`usage_only`: it is the usage chunk and nothing else);
    /// what the client gets of it goes to `out`. Fails with the refusal when a guardrail blocks
    /// the answer.
    fn event(&mut self, ev: &SseEvent, usage_only: bool, out: &mut crate::joined::Joined) -> Result<(), String> {
        match &mut self.translator {
            None if usage_only && self.strip_usage_chunk => {}
            None => {
                let raw = clean(&ev.raw);
                match &mut self.guard {
                    None => out.push(raw),
                    // The event as read goes to the guard, not split from its bytes again
                    // (unless a secret of Weir's config was taken out of it).
                    Some(g) if raw.as_ptr() == ev.raw.as_ptr() => {
                        let mut guarded = Vec::with_capacity(raw.len() + 64);
                        g.filter_event(ev, &mut guarded)?;
                        out.push(Bytes::from(guarded));
                    }
                    Some(g) => out.push(g.filter(&raw)?),
                }
            }
            Some(t) => {
                // The translated event is handed on as written, not copied.
                let mut translated = Vec::new();
                t.event(ev, &mut translated);
                if !translated.is_empty() {
                    let raw = clean(&Bytes::from(translated));
                    out.push(match &mut self.guard {
                        Some(g) => g.filter(&raw)?,
                        None => raw,
                    });
                }
            }
        }
        Ok(())
    }

    /// The provider's stream ended: what the client's still needs.
    fn end(&mut self) -> Bytes {
        let Some(t) = &mut self.translator else { return Bytes::new() };
        let mut out = Vec::new();
        t.end(&mut out);
        Bytes::from(out)
    }
}

pub struct Relay {
    /// The client's protocol, for the error event a cut stream ends with.
    client: Api,
    upstream: UpstreamBody,
    splitter: SseSplitter,
    observer: StreamObserver,
    stages: StreamStages,
    events: Vec<SseEvent>,
    recorder: Option<CallRecorder>,
    status: u16,
    /// Bytes the provider may still send.
    budget: usize,
    max_bytes: usize,
    /// The answer being stored in the response cache: the stream's last bytes wait for it.
    storing: Option<super::cached::PendingPut>,
    finishing: Option<Bytes>,
}

impl Relay {
    /// Relays `upstream`, streamed by the provider in the `provider` protocol, to a client of
    /// the `client` protocol.
    pub fn new(client: Api, provider: Api, status: u16, upstream: UpstreamBody, stages: StreamStages, max_bytes: usize, mut recorder: CallRecorder) -> Self {
        recorder.set_streamed();
        Self {
            client,
            upstream,
            splitter: SseSplitter::with_max_event(max_bytes.min(crate::sse::DEFAULT_MAX_EVENT_BYTES)),
            observer: StreamObserver::new(provider),
            stages,
            events: Vec::new(),
            recorder: Some(recorder),
            status,
            budget: max_bytes,
            max_bytes,
            storing: None,
            finishing: None,
        }
    }

    /// Reads the events `chunk` completes; returns what the client gets (nothing, until an
    /// event is complete).
    fn pass(&mut self, chunk: &[u8]) -> Passed {
        self.events.clear();
        let Some(left) = self.budget.checked_sub(chunk.len()) else { return Passed::TooLarge };
        self.budget = left;
        if self.splitter.push(chunk, &mut self.events).is_err() {
            return Passed::TooLarge;
        }
        let mut out = crate::joined::Joined::default();
        for ev in &self.events {
            let usage_only = self.observer.observe(ev);
            if let Err(refusal) = self.stages.event(ev, usage_only, &mut out) {
                return Passed::Blocked(refusal, out.finish());
            }
        }
        Passed::Out(out.finish())
    }

    fn end(&mut self, ending: impl FnOnce(&mut StreamObserver, u16) -> Ending) {
        if let Some(rec) = self.recorder.take() {
            let e = ending(&mut self.observer, self.status);
            if let Some(fill) = self.stages.fill.take() {
                if e.error.is_none() && !e.cancelled {
                    self.storing = fill.finish(&e.facts);
                }
            }
            match self.stages.guard.take() {
                Some(g) => g.finish_call(rec, e),
                None => rec.finish(e),
            }
        }
    }

    /// Ends the stream with the protocol's error event: `code` and `message` say why.
    fn cut(&mut self, code: &str, message: String) -> Bytes {
        let event = error_event(self.client, code, &message);
        if let Some(rec) = self.recorder.as_mut() {
            rec.capture_response(&event);
        }
        let code = code.to_string();
        self.end(|o, status| with_text(Ending::failed(status, &code, message), o));
        event
    }
}

/// What a chunk from the provider turned into.
enum Passed {
    Out(Bytes),
    /// Past the answer's bounds.
    TooLarge,
    /// A guardrail refused the answer from here on; what the chunk's earlier events released
    /// goes out before the refusal.
    Blocked(String, Bytes),
}

/// An event's bytes without a secret of Weir's config.
fn clean(raw: &Bytes) -> Bytes {
    match crate::audit::redact_known_bytes(raw) {
        Some(c) => Bytes::from(c),
        None => raw.clone(),
    }
}

/// The event a stream of `api` ends with when Weir cuts it: what the provider itself sends
/// when a stream fails part-way.
pub fn error_event(api: Api, code: &str, message: &str) -> Bytes {
    let text = match api {
        Api::Messages => {
            let ty = if code == "guardrail_blocked" { "invalid_request_error" } else { "api_error" };
            let body = serde_json::json!({"type": "error", "error": {"type": ty, "message": message}});
            format!("event: error\ndata: {body}\n\n")
        }
        Api::Responses => {
            let body = serde_json::json!({"type": "error", "code": code, "message": message, "param": null});
            format!("event: error\ndata: {body}\n\n")
        }
        Api::Chat | Api::Embeddings => {
            let body = serde_json::json!({"error": {"message": message, "type": "api_error", "param": null, "code": code}});
            format!("data: {body}\n\n")
        }
    };
    Bytes::from(text)
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
            if let Some(put) = this.storing.as_mut() {
                if put.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.storing = None;
                if let Some(tail) = this.finishing.take().filter(|t| !t.is_empty()) {
                    return Poll::Ready(Some(Ok(tail)));
                }
            }
            if this.recorder.is_none() {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.upstream).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(rec) = this.recorder.as_mut() {
                        rec.mark_first_chunk();
                    }
                    let out = match this.pass(&chunk) {
                        Passed::Out(out) => out,
                        Passed::TooLarge => {
                            // Past its bounds: the stream ends here, saying why in the protocol's
                            // own error event (the upstream connection is dropped with it).
                            let message = format!("the provider's answer is larger than the {}-byte limit", this.max_bytes);
                            tracing::warn!(limit = this.max_bytes, "provider stream cut: too large");
                            return Poll::Ready(Some(Ok(this.cut("upstream_too_large", message))));
                        }
                        Passed::Blocked(refusal, before) => {
                            if let Some(rec) = this.recorder.as_mut() {
                                rec.capture_response(&before);
                            }
                            let refused = this.cut("guardrail_blocked", refusal);
                            return Poll::Ready(Some(Ok(if before.is_empty() { refused } else { [before, refused].concat().into() })));
                        }
                    };
                    if out.is_empty() {
                        continue;
                    }
                    if let Some(rec) = this.recorder.as_mut() {
                        rec.capture_response(&out);
                    }
                    if let Some(fill) = this.stages.fill.as_mut() {
                        fill.push(&out);
                        // The stream's last event: the answer is stored before the client gets
                        // it, so the client's next call finds it.
                        if fill.ended() && this.observer.error.is_none() {
                            if let Some(put) = this.stages.fill.take().and_then(|f| f.finish(&this.observer.facts)) {
                                this.storing = Some(put);
                                this.finishing = Some(out);
                                continue;
                            }
                        }
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
                    // What the provider sent after its last complete event (a final event
                    // without its blank line) still goes out.
                    let mut tail = clean(&this.splitter.take_pending());
                    // What of the tail went through the answer's stages already.
                    let mut staged = crate::joined::Joined::default();
                    if this.stages.translator.is_some() {
                        // A partial event cannot be translated; the translation closes the
                        // client's stream when the provider completed its own.
                        this.events.clear();
                        if !tail.is_empty() {
                            let mut with_end = tail.to_vec();
                            with_end.extend_from_slice(b"\n\n");
                            let _ = this.splitter.push(&with_end, &mut this.events);
                        }
                        for ev in std::mem::take(&mut this.events) {
                            let usage_only = this.observer.observe(&ev);
                            if let Err(refusal) = this.stages.event(&ev, usage_only, &mut staged) {
                                return Poll::Ready(Some(Ok(this.cut("guardrail_blocked", refusal))));
                            }
                        }
                        tail = this.stages.end();
                    }
                    if let Some(g) = this.stages.guard.as_mut() {
                        let guarded = g.filter(&tail).and_then(|b| Ok((b, g.finish()?)));
                        match guarded {
                            Ok((b, rest)) => {
                                staged.push(b);
                                staged.push(rest);
                            }
                            Err(refusal) => return Poll::Ready(Some(Ok(this.cut("guardrail_blocked", refusal)))),
                        }
                    } else {
                        staged.push(tail);
                    }
                    let tail = staged.finish();
                    if let Some(fill) = this.stages.fill.as_mut() {
                        fill.push(&tail);
                    }
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
                    if this.storing.is_some() {
                        // The last bytes go once the answer is stored.
                        this.finishing = Some(tail);
                        continue;
                    }
                    if !tail.is_empty() {
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
