//! Weir as an MCP *client* of the backend servers: Streamable HTTP, legacy HTTP+SSE and stdio.
//!
//! A [`Link`] is one Weir session's connection to one backend. Over HTTP (either transport) it
//! is a backend session of its own, initialised with the client's own capabilities and
//! re-initialised when the backend forgets it or its event stream drops. Over stdio every Weir
//! session shares the one process Weir runs for that server; the link multiplexes onto it (ids
//! and progress tokens remapped).
//!
//! Messages a backend sends that are not the awaited response (its requests to the client,
//! progress, logging, list changes) go to a [`Sink`] tagged with the server's name: the stream
//! of the client request that caused them, or the session's own stream. What a link learns of
//! a backend's answer stream that is not a message (it primed the stream for resumption, or
//! ended it before the response) goes the same way, as a [`Related`] of its own kind, so that
//! the client's answer can follow it.

pub mod http;
pub mod sse;
pub mod stdio;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, Notify};

use crate::config::UrlTransport;
use self::http::{HttpLink, HttpServer};
use self::sse::SseLink;

/// What a link passes on besides the awaited response: a backend's message for the client, or
/// word of the backend's answer stream (never a message; the client's answer follows it).
#[derive(Debug, Clone, PartialEq)]
pub enum Related {
    /// A backend's message for the client.
    Message(Value),
    /// Answer the client with an event stream now, with nothing to send yet (a call held for a
    /// person's approval).
    OpenStream,
    /// The backend primed its answer stream (an event with an id and no data): it may end the
    /// stream before the response and expect its client to resume it, `retry` (as it asked)
    /// later.
    Primed { retry: Option<Duration> },
    /// The backend ended its answer stream before the response (SSE polling). The link resumes
    /// it when the client resumes its own stream of the request, or after `retry`, whichever
    /// comes first.
    Paused { retry: Duration },
}

/// A [`Related`] tagged with the backend's name. Boxed: a channel allocates a block of slots up
/// front, and every session keeps one.
pub type Tagged = Box<(Arc<str>, Related)>;

/// Messages from a backend for the client.
pub type Sink = mpsc::Sender<Tagged>;

/// How many messages a stream buffers for a slow client before it drops notifications.
pub const SINK_CAPACITY: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("MCP server `{0}` is unavailable: {1}")]
    Unavailable(Arc<str>, String),
    #[error("MCP server `{0}` did not answer in time")]
    Timeout(Arc<str>),
    #[error("MCP server `{0}` answered with something that is not MCP: {1}")]
    Protocol(Arc<str>, String),
    /// The server answered Streamable HTTP's `initialize` POST with 400, 404 or 405: what a
    /// server of the legacy SSE transport does, so the spec has clients try that one next.
    #[error("MCP server `{0}` is unavailable: {1}")]
    InitializeRefused(Arc<str>, String),
    /// The server sent a message (a JSON answer, an event, a line) past
    /// `mcp.max_backend_message_bytes`: it was not read to its end.
    #[error("MCP server `{0}` sent a message larger than the {1}-byte limit")]
    TooLarge(Arc<str>, usize),
}

/// Why a backend's body was not read whole.
#[derive(Debug)]
pub enum BodyFault {
    /// Longer than the limit: read no further (the connection goes with the response).
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a backend's whole answer body, as it arrives, up to `max` bytes: a body past that is
/// refused as soon as it is known to be (by its `Content-Length`, or once `max` bytes came),
/// never buffered whole.
pub async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<bytes::Bytes, BodyFault> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyFault::TooLarge);
    }
    let mut body = crate::joined::Joined::default();
    while let Some(chunk) = resp.chunk().await.map_err(BodyFault::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(BodyFault::TooLarge);
        }
        body.push(chunk);
    }
    Ok(body.finish())
}

/// Sends to a sink without waiting: a client that does not read its stream loses notifications
/// (counted in the log), never blocks a backend.
pub fn deliver(sink: &Sink, server: &Arc<str>, msg: Value) {
    if let Err(mpsc::error::TrySendError::Full(b)) = sink.try_send(Box::new((server.clone(), Related::Message(msg)))) {
        if let Related::Message(m) = &b.1 {
            tracing::warn!(server = %server, method = super::jsonrpc::method(m), "MCP message dropped: the client is not reading its stream");
        }
    }
}

/// Says something of the backend's answer stream to a sink, without waiting (as [`deliver`]).
pub fn signal(sink: &Sink, server: &Arc<str>, what: Related) {
    if let Err(mpsc::error::TrySendError::Full(b)) = sink.try_send(Box::new((server.clone(), what))) {
        tracing::warn!(server = %server, signal = ?b.1, "MCP stream signal dropped: the client is not reading its stream");
    }
}

/// The client identity and capabilities Weir presents to a backend when it initialises it.
#[derive(Debug, Clone)]
pub struct InitParams {
    pub protocol_version: String,
    /// The client's `initialize` params (capabilities, clientInfo), passed on as they are.
    pub params: Value,
}

pub enum Link {
    Http(Box<HttpLink>),
    Sse(SseLink),
    Stdio(stdio::StdioLink),
}

impl Link {
    /// Connects to a server reached by URL over the transport its config names. Unnamed, the
    /// spec's backwards-compatibility rule decides: Streamable HTTP, or legacy SSE at the same
    /// URL when the server refuses the `initialize` POST with 400, 404 or 405.
    pub async fn connect_url(server: Arc<HttpServer>, init: InitParams, unsolicited: Sink) -> Result<Self, BackendError> {
        match server.transport {
            UrlTransport::StreamableHttp => Ok(Self::Http(Box::new(HttpLink::connect(server, init, unsolicited).await?))),
            UrlTransport::Sse => Ok(Self::Sse(SseLink::connect(server, init, unsolicited).await?)),
            // Found before to speak only SSE: straight to it (detected again if that fails).
            UrlTransport::Detect if server.detected_sse.load(Ordering::Relaxed) => match SseLink::connect(server.clone(), init, unsolicited).await {
                Ok(l) => Ok(Self::Sse(l)),
                Err(e) => {
                    server.detected_sse.store(false, Ordering::Relaxed);
                    Err(e)
                }
            },
            UrlTransport::Detect => match HttpLink::connect(server.clone(), init.clone(), unsolicited.clone()).await {
                Err(BackendError::InitializeRefused(name, why)) => {
                    tracing::debug!(server = %name, refusal = %why, "no Streamable HTTP at this URL; trying the legacy SSE transport");
                    match SseLink::connect(server.clone(), init, unsolicited).await {
                        Ok(l) => {
                            server.detected_sse.store(true, Ordering::Relaxed);
                            Ok(Self::Sse(l))
                        }
                        // Neither transport served: what each answered.
                        Err(BackendError::Unavailable(_, sse) | BackendError::Protocol(_, sse)) => {
                            Err(BackendError::Unavailable(name, format!("{why} (Streamable HTTP); {sse} (legacy SSE)")))
                        }
                        Err(e) => Err(e),
                    }
                }
                link => Ok(Self::Http(Box::new(link?))),
            },
        }
    }

    pub fn server(&self) -> &Arc<str> {
        match self {
            Self::Http(l) => l.server(),
            Self::Sse(l) => l.server(),
            Self::Stdio(l) => l.server(),
        }
    }

    /// The backend's `initialize` result.
    pub fn init_result(&self) -> Value {
        match self {
            Self::Http(l) => l.init_result(),
            Self::Sse(l) => l.init_result(),
            Self::Stdio(l) => l.init_result(),
        }
    }

    /// The backend's own session id, where it has one.
    pub fn backend_session(&self) -> Option<String> {
        match self {
            Self::Http(l) => l.backend_session(),
            Self::Sse(l) => l.backend_session(),
            Self::Stdio(l) => l.backend_session(),
        }
    }

    /// Sends a request; returns the response message (its id as the client sent it). Related
    /// messages go to `related` meanwhile.
    pub async fn request(&self, msg: Value, related: &Sink) -> Result<Value, BackendError> {
        self.request_resumable(msg, related, None).await
    }

    /// As [`Link::request`], for a client's request (`client_back`, its own): `related` is told
    /// of the backend's answer stream too ([`Related::Primed`], [`Related::Paused`]), and one
    /// that ended early is resumed when `client_back` is notified (the client resumed its own
    /// stream) rather than after the backend's `retry`. Streamable HTTP only; the other
    /// transports have no such streams.
    pub async fn request_resumable(&self, msg: Value, related: &Sink, client_back: Option<Arc<Notify>>) -> Result<Value, BackendError> {
        match self {
            Self::Http(l) => l.request(msg, related, client_back.as_deref()).await,
            Self::Sse(l) => l.request(msg, related).await,
            Self::Stdio(l) => l.request(msg, related).await,
        }
    }

    /// The client listens on its session stream: the backend's unsolicited messages are wanted
    /// from now on (a Streamable HTTP backend's GET stream is opened only then; the other
    /// transports carry them on their one stream anyway).
    pub fn listen(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        match self {
            Self::Http(l) => l.listen(),
            _ => None,
        }
    }

    /// Sends a notification, or the client's answer to one of the backend's requests.
    pub async fn send(&self, msg: Value) -> Result<(), BackendError> {
        match self {
            Self::Http(l) => l.send(msg).await,
            Self::Sse(l) => l.send(msg).await,
            Self::Stdio(l) => l.send(msg).await,
        }
    }

    /// Passes on the client's cancellation of one of its requests.
    pub async fn cancel(&self, client_request_id: &Value, reason: Option<&str>) {
        match self {
            Self::Http(l) => l.cancel(client_request_id, reason).await,
            Self::Sse(l) => l.cancel(client_request_id, reason).await,
            Self::Stdio(l) => l.cancel(client_request_id, reason).await,
        }
    }

    /// Ends the backend session (HTTP `DELETE`, or the SSE stream closed); a stdio process stays
    /// for other sessions.
    pub async fn close(&self) {
        match self {
            Self::Http(l) => l.close().await,
            Self::Sse(l) => l.close(),
            Self::Stdio(l) => l.close(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn response<S>(chunks: S) -> reqwest::Response
    where
        S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    {
        reqwest::Response::from(axum::http::Response::new(reqwest::Body::wrap_stream(chunks)))
    }

    fn chunks(parts: &[&'static [u8]]) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static {
        futures_util::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn a_body_is_read_whole_within_the_limit_and_refused_past_it() {
        let body = read_capped(response(chunks(&[b"abc", b"def"])), 6).await.unwrap();
        assert_eq!(&body[..], b"abcdef");
        assert!(matches!(read_capped(response(chunks(&[b"abc", b"defg"])), 6).await, Err(BodyFault::TooLarge)));
        // A body without end is refused once past the limit, not read on.
        let endless = futures_util::stream::repeat_with(|| Ok(Bytes::from_static(&[b'x'; 1024])));
        assert!(matches!(read_capped(response(endless), 64 * 1024).await, Err(BodyFault::TooLarge)));
        // A length said up front is refused before any of the body is read.
        let said = reqwest::Response::from(axum::http::Response::new(reqwest::Body::from(vec![b'x'; 100])));
        assert_eq!(said.content_length(), Some(100));
        assert!(matches!(read_capped(said, 99).await, Err(BodyFault::TooLarge)));
    }
}
