//! A backend reached over the legacy HTTP+SSE transport (protocol revision 2024-11-05): one event
//! stream (a GET) per Weir session, whose first event, `endpoint`, names the URL messages are
//! POSTed to; everything the backend sends, responses included, arrives on that one stream.
//!
//! Since a response no longer comes back on the request that asked for it, the link matches
//! answers by id: request ids and progress tokens are replaced with the link's own, so that they
//! never collide, and restored on the way back. What else the backend sends is routed as a stdio
//! server's is: progress to the request whose token it carries; its requests to the client,
//! logging and cancellations to the newest request still waiting (the transport cannot say which
//! one they relate to); the rest to the session's own stream.
//!
//! When the stream drops, the requests waiting on it fail and the link opens a new one (a new
//! backend session, initialised again with the client's params): at once in the background,
//! and, while that fails, at the next request, so the client's Weir session carries on. The link
//! never POSTs to an endpoint of another origin than the configured URL: the server's headers
//! (its credentials) go to that origin only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use axum::http::StatusCode;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use reqwest::Url;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::http::{transport_reason, HttpServer};
use super::{deliver, BackendError, InitParams, Sink};
use crate::sse::{SseEvent, SseSplitter};
use crate::jsonrpc::{self, Kind};

/// The longest pause between attempts to open a new stream after one was lost.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Pending {
    answer: oneshot::Sender<Value>,
    original_id: Value,
    related: Sink,
    progress_key: Option<String>,
}

/// One event stream and the backend session it carries.
struct Stream {
    /// Where messages are POSTed: the URL the `endpoint` event named.
    endpoint: Url,
    /// The session id in the endpoint's query, where the server puts one there.
    session: Option<String>,
    /// Requests waiting for their answer, by the id the link gave them.
    pending: Mutex<HashMap<u64, Pending>>,
    /// The link's progress token → (the client's token, the stream it goes to).
    progress: Mutex<HashMap<String, (Value, Sink)>>,
    /// Fired when the stream ends or is given up; its reader stops then.
    ended: CancellationToken,
    /// Set when the reader dropped the stream for an event past `mcp.max_backend_message_bytes`
    /// (what waited on it is told so).
    oversized: AtomicBool,
}

impl Stream {
    /// Ends the stream: its reader stops (closing the GET) and whatever waited on it fails.
    fn end(&self) {
        self.ended.cancel();
        lock(&self.pending).clear();
        lock(&self.progress).clear();
    }

    /// The related-message sink of the newest request still waiting.
    fn newest_waiting(&self) -> Option<Sink> {
        lock(&self.pending).iter().max_by_key(|(id, _)| **id).map(|(_, p)| p.related.clone())
    }

    /// Where a message from the backend goes.
    fn route(&self, name: &Arc<str>, unsolicited: &Sink, mut msg: Value) {
        tracing::trace!(server = %name, message = %msg, "from the event stream");
        match jsonrpc::kind(&msg) {
            Kind::Response => {
                let Some(id) = msg.get("id").and_then(Value::as_u64) else { return };
                let Some(pending) = lock(&self.pending).remove(&id) else { return };
                if let Some(k) = &pending.progress_key {
                    lock(&self.progress).remove(k);
                }
                msg["id"] = pending.original_id;
                let _ = pending.answer.send(msg);
            }
            Kind::Request => deliver(&self.newest_waiting().unwrap_or_else(|| unsolicited.clone()), name, msg),
            Kind::Notification => match jsonrpc::method(&msg) {
                "notifications/progress" => {
                    let token = msg.pointer("/params/progressToken").and_then(Value::as_str).map(str::to_string);
                    if let Some((original, sink)) = token.and_then(|t| lock(&self.progress).get(&t).cloned()) {
                        msg["params"]["progressToken"] = original;
                        deliver(&sink, name, msg);
                    }
                }
                "notifications/message" | "notifications/cancelled" => deliver(&self.newest_waiting().unwrap_or_else(|| unsolicited.clone()), name, msg),
                _ => deliver(unsolicited, name, msg),
            },
            Kind::Invalid => tracing::debug!(server = %name, "ignoring a message that is not JSON-RPC"),
        }
    }
}

/// Drops a request's pending entry (and its progress token) when its waiter goes.
struct Forget<'a> {
    stream: &'a Stream,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(pending) = lock(&self.stream.pending).remove(&self.id) {
            if let Some(k) = pending.progress_key {
                lock(&self.stream.progress).remove(&k);
            }
        }
    }
}

/// Ends a stream being opened unless it was put to use: a caller that gives up half way (timed
/// out, or cancelled by its client) leaves no backend session behind.
struct Opening(Option<Arc<Stream>>);

impl Drop for Opening {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.end();
        }
    }
}

struct Live {
    stream: Arc<Stream>,
    init_result: Value,
}

enum Posted {
    Accepted,
    /// The backend does not know the stream's session (it restarted, say).
    SessionLost,
}

struct Inner {
    server: Arc<HttpServer>,
    init: InitParams,
    unsolicited: Sink,
    live: Mutex<Option<Live>>,
    /// Held while a stream is opened, so that callers that all found it lost open one.
    opening: tokio::sync::Mutex<()>,
    /// Ids (and progress tokens) of the link's requests, never reused across streams.
    next_id: AtomicU64,
    /// Fired when the link closes: no stream is opened after that.
    closed: CancellationToken,
}

pub struct SseLink {
    inner: Arc<Inner>,
}

impl SseLink {
    pub async fn connect(server: Arc<HttpServer>, init: InitParams, unsolicited: Sink) -> Result<Self, BackendError> {
        let inner = Arc::new(Inner {
            server,
            init,
            unsolicited,
            live: Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
            next_id: AtomicU64::new(1),
            closed: CancellationToken::new(),
        });
        if let Err(e) = inner.reopen().await {
            inner.close();
            return Err(e);
        }
        Ok(Self { inner })
    }

    pub fn server(&self) -> &Arc<str> {
        &self.inner.server.name
    }

    pub fn init_result(&self) -> Value {
        lock(&self.inner.live).as_ref().map_or(Value::Null, |l| l.init_result.clone())
    }

    pub fn backend_session(&self) -> Option<String> {
        lock(&self.inner.live).as_ref().and_then(|l| l.stream.session.clone())
    }

    pub async fn request(&self, mut msg: Value, related: &Sink) -> Result<Value, BackendError> {
        let inner = &self.inner;
        let original_id = jsonrpc::id(&msg);
        let token = msg.pointer("/params/_meta/progressToken").cloned();
        let fut = async {
            for attempt in 0..2 {
                let stream = inner.stream().await?;
                match inner.exchange(&stream, &mut msg, &original_id, token.as_ref(), related).await? {
                    Some(answer) => return Ok(answer),
                    None if attempt == 0 => {
                        tracing::info!(server = %inner.server.name, "backend session lost; opening a new event stream");
                        stream.end();
                    }
                    None => break,
                }
            }
            Err(inner.unavailable("the backend keeps losing its session"))
        };
        tokio::time::timeout(inner.server.timeout, fut).await.unwrap_or_else(|_| Err(BackendError::Timeout(inner.server.name.clone())))
    }

    pub async fn send(&self, msg: Value) -> Result<(), BackendError> {
        let inner = &self.inner;
        let fut = async {
            for attempt in 0..2 {
                let stream = inner.stream().await?;
                match inner.post(&stream, &msg).await? {
                    Posted::Accepted => return Ok(()),
                    Posted::SessionLost if attempt == 0 => stream.end(),
                    Posted::SessionLost => break,
                }
            }
            Err(inner.unavailable("the backend keeps losing its session"))
        };
        tokio::time::timeout(inner.server.timeout, fut).await.unwrap_or_else(|_| Err(BackendError::Timeout(inner.server.name.clone())))
    }

    pub async fn cancel(&self, client_request_id: &Value, reason: Option<&str>) {
        let Some(stream) = self.inner.current() else { return };
        let upstream = lock(&stream.pending).iter().find(|(_, p)| &p.original_id == client_request_id).map(|(id, _)| *id);
        let Some(id) = upstream else { return };
        let mut params = json!({"requestId": id});
        if let Some(r) = reason {
            params["reason"] = json!(r);
        }
        if let Err(e) = self.inner.post(&stream, &jsonrpc::notification("notifications/cancelled", params)).await {
            tracing::debug!(server = %self.inner.server.name, error = %e, "cancellation not delivered");
        }
    }

    /// Closes the event stream, which ends the backend session (the transport has no DELETE).
    pub fn close(&self) {
        self.inner.close();
    }
}

impl Drop for SseLink {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl Inner {
    fn unavailable(&self, why: impl Into<String>) -> BackendError {
        BackendError::Unavailable(self.server.name.clone(), why.into())
    }

    fn close(&self) {
        // Under the lock that a new stream is stored under, so none is stored after this.
        let live = lock(&self.live);
        self.closed.cancel();
        if let Some(l) = live.as_ref() {
            l.stream.end();
        }
    }

    /// The stream in use, if it has not ended.
    fn current(&self) -> Option<Arc<Stream>> {
        lock(&self.live).as_ref().map(|l| l.stream.clone()).filter(|s| !s.ended.is_cancelled())
    }

    /// The stream in use, or a new one when it was lost.
    async fn stream(self: &Arc<Self>) -> Result<Arc<Stream>, BackendError> {
        match self.current() {
            Some(s) => Ok(s),
            None => self.reopen().await,
        }
    }

    /// Opens and initialises a new stream, unless another caller did while this one waited.
    ///
    /// Boxed, its `Send` written out: opening a stream spawns the stream's reader, which calls
    /// this again when the stream drops, and the compiler cannot infer `Send` around that cycle.
    fn reopen(self: &Arc<Self>) -> BoxFuture<'_, Result<Arc<Stream>, BackendError>> {
        async move {
            let _one = self.opening.lock().await;
            if let Some(s) = self.current() {
                return Ok(s);
            }
            if self.closed.is_cancelled() {
                return Err(self.unavailable("the session has ended"));
            }
            let (stream, init_result) =
                tokio::time::timeout(self.server.timeout, self.open()).await.unwrap_or_else(|_| Err(BackendError::Timeout(self.server.name.clone())))?;
            let mut live = lock(&self.live);
            if self.closed.is_cancelled() {
                stream.end();
                return Err(self.unavailable("the session has ended"));
            }
            *live = Some(Live { stream: stream.clone(), init_result });
            Ok(stream)
        }
        .boxed()
    }

    /// GETs the event stream, waits for its endpoint, starts its reader and initialises the
    /// backend session with the client's params.
    async fn open(self: &Arc<Self>) -> Result<(Arc<Stream>, Value), BackendError> {
        let server = &self.server;
        let mut resp = server
            .client
            .get(&server.url)
            .headers(server.headers.clone())
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.unavailable(transport_reason(&e)))?;
        if !resp.status().is_success() {
            return Err(self.unavailable(format!("the event stream was refused: HTTP {}", resp.status().as_u16())));
        }
        let is_sse = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_sse {
            return Err(BackendError::Protocol(server.name.clone(), "the URL did not answer with an event stream".into()));
        }
        let mut splitter = server.splitter();
        let mut events = Vec::new();
        let endpoint = loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => splitter.push(&chunk, &mut events).map_err(|_| server.too_large())?,
                Ok(None) => return Err(self.unavailable("the event stream ended before naming its endpoint")),
                Err(e) => return Err(self.unavailable(transport_reason(&e))),
            }
            if let Some(i) = events.iter().position(|e| e.event.as_deref() == Some("endpoint")) {
                // Events before the endpoint belong to no session yet; those after it are routed.
                let endpoint = endpoint_url(&server.url, &events[i].data).map_err(|why| BackendError::Protocol(server.name.clone(), why.into()))?;
                events.drain(..=i);
                break endpoint;
            }
            events.clear();
        };
        let session = session_of(&endpoint);
        let stream = Arc::new(Stream {
            endpoint,
            session,
            pending: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
            ended: CancellationToken::new(),
            oversized: AtomicBool::new(false),
        });
        let mut opening = Opening(Some(stream.clone()));
        tokio::spawn(read(Arc::downgrade(self), stream.clone(), resp, splitter, events));

        let mut params = self.init.params.clone();
        if let Some(p) = params.as_object_mut() {
            p.insert("protocolVersion".into(), json!(self.init.protocol_version));
        }
        let mut msg = jsonrpc::request(Value::Null, "initialize", params);
        let answer = match self.exchange(&stream, &mut msg, &json!("weir-init"), None, &self.unsolicited).await? {
            Some(a) => a,
            None => return Err(self.unavailable("the endpoint does not know the session its stream began")),
        };
        if let Some((code, message)) = jsonrpc::error_of(&answer) {
            return Err(self.unavailable(format!("initialize failed ({code}): {message}")));
        }
        if let Posted::SessionLost = self.post(&stream, &jsonrpc::notification("notifications/initialized", json!({}))).await? {
            return Err(self.unavailable("the endpoint does not know the session its stream began"));
        }
        opening.0 = None;
        let result = answer.get("result").cloned().unwrap_or(Value::Null);
        Ok((stream, result))
    }

    /// Sends a request on `stream` and waits for its answer, its id back to `original_id`;
    /// `None` when the backend does not know the stream's session.
    async fn exchange(&self, stream: &Stream, msg: &mut Value, original_id: &Value, token: Option<&Value>, related: &Sink) -> Result<Option<Value>, BackendError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        msg["id"] = json!(id);
        let mut progress_key = None;
        if let Some(t) = token {
            let key = format!("weir-{id}");
            lock(&stream.progress).insert(key.clone(), (t.clone(), related.clone()));
            msg["params"]["_meta"]["progressToken"] = json!(key);
            progress_key = Some(key);
        }
        let (tx, rx) = oneshot::channel();
        lock(&stream.pending).insert(id, Pending { answer: tx, original_id: original_id.clone(), related: related.clone(), progress_key });
        // Whether answered, timed out or dropped (the client cancelled), the request stops
        // being waited for here.
        let _forget = Forget { stream, id };
        if let Posted::SessionLost = self.post(stream, msg).await? {
            return Ok(None);
        }
        tokio::select! {
            biased;
            answer = rx => answer.map(Some).map_err(|_| self.stream_lost(stream)),
            () = stream.ended.cancelled() => Err(self.stream_lost(stream)),
        }
    }

    /// Why a request waiting on `stream` got no answer: it ended.
    fn stream_lost(&self, stream: &Stream) -> BackendError {
        if stream.oversized.load(Ordering::Relaxed) {
            self.server.too_large()
        } else {
            self.unavailable("the event stream ended before the answer")
        }
    }

    /// POSTs a message to the stream's endpoint. Its answer, if any, comes on the stream.
    async fn post(&self, stream: &Stream, msg: &Value) -> Result<Posted, BackendError> {
        let resp = self
            .server
            .client
            .post(stream.endpoint.clone())
            .headers(self.server.headers.clone())
            .header("content-type", "application/json")
            .body(msg.to_string())
            .send()
            .await
            .map_err(|e| self.unavailable(transport_reason(&e)))?;
        let status = resp.status();
        // Read to the end, so that the connection is kept for the next message (one past the
        // limit is dropped instead).
        let _ = self.server.body(resp).await;
        match status {
            s if s.is_success() => Ok(Posted::Accepted),
            StatusCode::NOT_FOUND => Ok(Posted::SessionLost),
            s => Err(self.unavailable(format!("the endpoint answered HTTP {}", s.as_u16()))),
        }
    }
}

/// The URL an `endpoint` event names: relative to the configured URL, or absolute on its origin.
fn endpoint_url(configured: &str, data: &str) -> Result<Url, &'static str> {
    let base = Url::parse(configured).map_err(|_| "the configured URL is not a URL")?;
    let url = base.join(data.trim()).map_err(|_| "the endpoint event does not name a URL")?;
    if url.origin() != base.origin() {
        return Err("the endpoint event names another origin than the configured URL");
    }
    Ok(url)
}

/// The backend session an endpoint names in its query: `sessionId` (the TypeScript SDK) or
/// `session_id` (the Python SDK).
fn session_of(endpoint: &Url) -> Option<String> {
    endpoint.query_pairs().find(|(k, _)| k == "sessionId" || k == "session_id").map(|(_, v)| v.into_owned())
}

/// Routes what a stream carries until it ends; then, unless it was given up on purpose, opens a
/// new one.
async fn read(link: Weak<Inner>, stream: Arc<Stream>, mut resp: reqwest::Response, mut splitter: SseSplitter, mut events: Vec<SseEvent>) {
    let Some((name, unsolicited)) = link.upgrade().map(|l| (l.server.name.clone(), l.unsolicited.clone())) else { return };
    loop {
        for ev in events.drain(..) {
            // A stream's other events (a second `endpoint`, say) carry no message.
            if !matches!(ev.event.as_deref(), None | Some("message")) {
                continue;
            }
            match serde_json::from_str::<Value>(&ev.data) {
                Ok(msg) => stream.route(&name, &unsolicited, msg),
                Err(_) => tracing::debug!(server = %name, "ignoring an event that is not JSON"),
            }
        }
        if stream.oversized.load(Ordering::Relaxed) {
            break;
        }
        tokio::select! {
            () = stream.ended.cancelled() => return,
            chunk = resp.chunk() => match chunk {
                Ok(Some(chunk)) => {
                    if let Err(e) = splitter.push(&chunk, &mut events) {
                        // What came whole before it is still routed; the stream is not read on.
                        tracing::warn!(server = %name, error = %e, "backend event stream dropped");
                        stream.oversized.store(true, Ordering::Relaxed);
                    }
                }
                Ok(None) | Err(_) => break,
            },
        }
    }
    stream.end();
    drop(resp);
    tracing::info!(server = %name, "the backend's event stream ended; opening a new one");
    let mut backoff = Duration::from_millis(250);
    loop {
        let Some(inner) = link.upgrade() else { return };
        match inner.reopen().await {
            Ok(_) => return,
            Err(e) => tracing::debug!(server = %name, error = %e, "the event stream could not be opened again"),
        }
        let closed = inner.closed.clone();
        drop(inner);
        tokio::select! {
            () = closed.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[test]
    fn the_endpoint_is_resolved_against_the_configured_url_and_kept_on_its_origin() {
        let base = "http://10.0.0.5:3001/sse";
        let url = endpoint_url(base, "/message?sessionId=3f2a").unwrap();
        assert_eq!(url.as_str(), "http://10.0.0.5:3001/message?sessionId=3f2a");
        assert_eq!(session_of(&url).as_deref(), Some("3f2a"));
        let url = endpoint_url("http://10.0.0.5:3001/mcp/sse", "messages/?session_id=9c1e").unwrap();
        assert_eq!(url.as_str(), "http://10.0.0.5:3001/mcp/messages/?session_id=9c1e");
        assert_eq!(session_of(&url).as_deref(), Some("9c1e"));
        assert!(endpoint_url(base, "http://10.0.0.5:3001/post").is_ok_and(|u| session_of(&u).is_none()));
        // The server's headers (its credentials) never go to another origin.
        assert!(endpoint_url(base, "http://attacker.example/collect").is_err());
        assert!(endpoint_url(base, "https://10.0.0.5:3001/message").is_err());
        assert!(endpoint_url(base, "http://10.0.0.5:3002/message").is_err());
    }

    fn stream() -> Stream {
        Stream {
            endpoint: Url::parse("http://127.0.0.1:1/message").unwrap(),
            session: None,
            pending: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
            ended: CancellationToken::new(),
            oversized: AtomicBool::new(false),
        }
    }

    fn waiting(s: &Stream, id: u64, original_id: Value, token: Option<Value>) -> (oneshot::Receiver<Value>, mpsc::Receiver<crate::mcp::backend::Tagged>) {
        let (tx, rx) = oneshot::channel();
        let (related, related_rx) = mpsc::channel(8);
        let progress_key = token.map(|t| {
            let key = format!("weir-{id}");
            lock(&s.progress).insert(key.clone(), (t, related.clone()));
            key
        });
        lock(&s.pending).insert(id, Pending { answer: tx, original_id, related, progress_key });
        (rx, related_rx)
    }

    fn message(item: crate::mcp::backend::Related) -> Value {
        match item {
            crate::mcp::backend::Related::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn answers_progress_and_backend_requests_find_the_request_they_belong_to() {
        let name: Arc<str> = Arc::from("legacy");
        let (unsolicited, mut unsolicited_rx) = mpsc::channel(8);
        let s = stream();
        let (mut first, mut first_related) = waiting(&s, 1, json!("client-a"), Some(json!(7)));
        let (mut second, mut second_related) = waiting(&s, 2, json!(1), None);

        s.route(&name, &unsolicited, json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "weir-1", "progress": 1}}));
        let m = message(first_related.try_recv().unwrap().1);
        assert_eq!(m["params"]["progressToken"], json!(7), "the client's own token");
        // A backend request or log goes to the newest request still waiting.
        s.route(&name, &unsolicited, json!({"jsonrpc": "2.0", "id": 0, "method": "sampling/createMessage", "params": {}}));
        s.route(&name, &unsolicited, json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}}));
        assert_eq!(jsonrpc::method(&message(second_related.try_recv().unwrap().1)), "sampling/createMessage");
        assert_eq!(jsonrpc::method(&message(second_related.try_recv().unwrap().1)), "notifications/message");

        s.route(&name, &unsolicited, json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}}));
        assert_eq!(first.try_recv().unwrap()["id"], json!("client-a"), "the client's id restored");
        assert!(lock(&s.progress).is_empty(), "the answered request's token is forgotten");
        assert!(second.try_recv().is_err(), "the other request still waits");
        // An answer to no waiting request, and list changes, go nowhere near the requests.
        s.route(&name, &unsolicited, json!({"jsonrpc": "2.0", "id": 99, "result": {}}));
        s.route(&name, &unsolicited, json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
        assert_eq!(jsonrpc::method(&message(unsolicited_rx.try_recv().unwrap().1)), "notifications/tools/list_changed");
        assert!(unsolicited_rx.try_recv().is_err() && second_related.try_recv().is_err());

        // When the stream ends, what still waits on it learns so.
        s.end();
        assert!(matches!(second.try_recv(), Err(oneshot::error::TryRecvError::Closed)));
    }
}
