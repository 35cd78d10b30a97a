//! A backend reached over Streamable HTTP: one backend session per Weir session.
//!
//! Requests are POSTed with `Accept: application/json, text/event-stream`; a JSON answer is the
//! response, an SSE answer carries related messages and then the response. After initialising,
//! a GET stream (when the backend offers one) carries the backend's unsolicited messages. When
//! the backend answers that it does not know the session (404, or 400 naming the session, as
//! some servers do), the link initialises a new backend session and retries the request once,
//! so the client's Weir session carries on across a backend restart.
//!
//! A backend of revision 2026-07-28 has no session: asked `server/discover` first (until the
//! server is known to keep sessions), it is spoken to statelessly from then on — every request
//! with the client's `_meta` and the revision's headers, its `subscriptions/listen` stream in
//! place of the GET stream, and for a client of an older revision its `input_required` answers
//! turned into the requests that client knows, and retried with the client's answers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{deliver, read_capped, signal, BackendError, BodyFault, InitParams, Related, Sink};
use crate::config::UrlTransport;
use crate::sse::SseSplitter;
use crate::jsonrpc::{self, Kind};

/// How many times in a row a response stream is resumed without an event arriving in between.
const MAX_RESUMES: u32 = 5;
/// How long a stream that ended early waits to be resumed when its server asked for no delay.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The longest `retry` Weir follows: a server asking more is resumed after this.
const MAX_RETRY_MS: u64 = 30_000;

/// A backend reached by URL, over Streamable HTTP or the legacy SSE transport (`sse.rs`).
pub struct HttpServer {
    pub name: Arc<str>,
    pub url: String,
    pub headers: HeaderMap,
    pub client: reqwest::Client,
    /// The longest a request may take, response included.
    pub timeout: Duration,
    pub transport: UrlTransport,
    /// With `transport` unset: set once a connection found the server speaks only the legacy
    /// SSE transport, so later sessions go straight to it. Cleared when SSE fails there (the
    /// server may have been replaced by a Streamable HTTP one).
    pub detected_sse: std::sync::atomic::AtomicBool,
    /// The largest message read from it (a JSON answer, one event of a stream):
    /// `mcp.max_backend_message_bytes`.
    pub max_message: usize,
    /// Which revision it speaks, once a link found out ([`Era`]).
    pub era: std::sync::atomic::AtomicU8,
}

/// Which revision a backend reached by URL speaks: one with sessions (`initialize`), or the
/// stateless one (`server/discover`, `_meta` on every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Unknown = 0,
    Sessions = 1,
    Stateless = 2,
}

impl HttpServer {
    pub fn era(&self) -> Era {
        match self.era.load(Ordering::Relaxed) {
            1 => Era::Sessions,
            2 => Era::Stateless,
            _ => Era::Unknown,
        }
    }

    fn set_era(&self, era: Era) {
        self.era.store(era as u8, Ordering::Relaxed);
    }

    /// Reads a whole answer body within `max_message`.
    pub(super) async fn body(&self, resp: reqwest::Response) -> Result<bytes::Bytes, BackendError> {
        read_capped(resp, self.max_message).await.map_err(|e| match e {
            BodyFault::TooLarge => self.too_large(),
            BodyFault::Transport(e) => BackendError::Unavailable(self.name.clone(), transport_reason(&e)),
        })
    }

    /// A splitter for its event streams, refusing an event past `max_message`.
    pub(super) fn splitter(&self) -> SseSplitter {
        SseSplitter::with_max_event(self.max_message)
    }

    pub(super) fn too_large(&self) -> BackendError {
        BackendError::TooLarge(self.name.clone(), self.max_message)
    }
}

struct State {
    session: Option<String>,
    version: String,
    init_result: Value,
    /// Bumped by each initialisation, so concurrent requests that all saw the session lost
    /// re-initialise it once.
    generation: u64,
    /// The backend speaks the stateless revision: no session; `_meta` on every request.
    stateless: bool,
    /// With a stateless backend: the log level the client set (`logLevel` in `_meta`), and the
    /// resources it subscribed to (carried by the backend's `subscriptions/listen`).
    level: Option<String>,
    subscriptions: std::collections::BTreeSet<String>,
}

impl State {
    fn new(session: Option<String>, version: String, init_result: Value, generation: u64) -> Self {
        let stateless = version == STATELESS;
        Self { session, version, init_result, generation, stateless, level: None, subscriptions: Default::default() }
    }
}

tokio::task_local! {
    /// Headers of the client's request that go on to a stateless backend as they are (its
    /// `Mcp-Param-*`), for the task that runs the request.
    pub static FORWARD_HEADERS: Arc<Vec<(axum::http::HeaderName, HeaderValue)>>;
}

/// The stateless revision.
const STATELESS: &str = crate::mcp::stateless::STATELESS;
/// The most rounds of input one request of a session client goes through with a stateless
/// backend before Weir gives up on it.
const MAX_ROUNDS: usize = 16;
/// The most resources a session client subscribes to at one stateless backend.
const MAX_SUBSCRIPTIONS: usize = 256;

pub struct HttpLink {
    server: Arc<HttpServer>,
    init: InitParams,
    state: std::sync::Mutex<State>,
    reinit: tokio::sync::Mutex<()>,
    unsolicited: Sink,
    get_task: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// Whether the client listens on its session stream: only then is the backend's GET stream
    /// held open (an idle session costs no connection to the backend).
    listening: AtomicBool,
    next_id: AtomicU64,
    /// With a stateless backend and a client of a session revision: what the backend asked of
    /// the client (`input_required`), by the id Weir asked it under, awaiting the client.
    waiting: std::sync::Mutex<std::collections::HashMap<String, tokio::sync::oneshot::Sender<Value>>>,
    /// The client's `_meta` for a stateless backend, made once.
    meta: std::sync::OnceLock<Value>,
}

/// Forgets what a request still waits for when it ends (answered, timed out or dropped).
struct Waits<'a> {
    link: &'a HttpLink,
    ids: Vec<String>,
}

impl Drop for Waits<'_> {
    fn drop(&mut self) {
        let mut w = self.link.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for id in &self.ids {
            w.remove(id);
        }
    }
}

enum Posted {
    /// The backend does not know the session it was sent.
    SessionLost,
    Response(reqwest::Response),
}

impl HttpLink {
    fn new(server: Arc<HttpServer>, init: InitParams, unsolicited: Sink, state: State) -> Self {
        Self {
            server,
            state: std::sync::Mutex::new(state),
            init,
            reinit: tokio::sync::Mutex::new(()),
            unsolicited,
            get_task: std::sync::Mutex::new(None),
            listening: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            waiting: Default::default(),
            meta: std::sync::OnceLock::new(),
        }
    }

    /// A link to the backend: stateless when it says so at `server/discover` (asked until the
    /// backend is known to keep sessions), else a backend session of its own.
    pub async fn connect(server: Arc<HttpServer>, init: InitParams, unsolicited: Sink) -> Result<Self, BackendError> {
        let state = State::new(None, session_revision(&init.protocol_version).to_string(), Value::Null, 0);
        let link = Self::new(server.clone(), init, unsolicited, state);
        if server.era() != Era::Sessions && link.discover().await? {
            return Ok(link);
        }
        match link.initialize().await {
            // A server that kept sessions may have been replaced by a stateless one.
            Err(BackendError::InitializeRefused(..)) if server.era() == Era::Sessions && link.discover().await? => Ok(link),
            r => r.map(|()| link),
        }
    }

    fn next(&self, what: &str) -> Value {
        json!(format!("weir-{what}-{}", self.next_id.fetch_add(1, Ordering::Relaxed)))
    }

    /// What the client is, as a stateless backend reads it on every request.
    fn meta(&self) -> Value {
        let mut meta = self
            .meta
            .get_or_init(|| {
                let caps = self.init.params.get("capabilities").cloned().unwrap_or_else(|| json!({}));
                let info = self.init.params.get("clientInfo").cloned().unwrap_or_else(|| json!({"name": "weir", "version": env!("CARGO_PKG_VERSION")}));
                json!({
                    "io.modelcontextprotocol/protocolVersion": STATELESS,
                    "io.modelcontextprotocol/clientCapabilities": caps,
                    "io.modelcontextprotocol/clientInfo": info,
                })
            })
            .clone();
        if let Some(l) = &self.lock().level {
            meta["io.modelcontextprotocol/logLevel"] = json!(l);
        }
        meta
    }

    /// Asks the backend to describe itself the stateless revision's way; `true` when it did
    /// (the link is stateless from then on), `false` when it keeps sessions.
    async fn discover(&self) -> Result<bool, BackendError> {
        let id = self.next("discover");
        let msg = jsonrpc::request(id.clone(), "server/discover", json!({"_meta": self.meta()}));
        let Posted::Response(resp) = self.post(&msg, None, Some(STATELESS)).await? else { return Ok(false) };
        let result = if resp.status().is_success() {
            match self.read_response(resp, &id, &self.unsolicited, None).await {
                Ok(answer) => answer.get("result").cloned(),
                Err(BackendError::Protocol(..) | BackendError::Unavailable(..)) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let Some(result) = result.filter(|r| r.get("supportedVersions").and_then(Value::as_array).is_some_and(|v| v.iter().any(|x| x == STATELESS))) else {
            self.server.set_era(Era::Sessions);
            return Ok(false);
        };
        let mut init = json!({
            "protocolVersion": STATELESS,
            "capabilities": result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
            "serverInfo": result.pointer("/_meta/io.modelcontextprotocol~1serverInfo").or_else(|| result.get("serverInfo")).cloned().unwrap_or_else(|| json!({"name": &*self.server.name, "version": "unknown"})),
        });
        for k in ["instructions", "ttlMs", "cacheScope"] {
            if let Some(v) = result.get(k) {
                init[k] = v.clone();
            }
        }
        {
            let mut st = self.lock();
            st.session = None;
            st.version = STATELESS.to_string();
            st.init_result = init;
            st.stateless = true;
            st.generation += 1;
        }
        self.server.set_era(Era::Stateless);
        if self.listening.load(Ordering::Relaxed) {
            self.open_get_stream(None, STATELESS.to_string(), None);
        }
        Ok(true)
    }

    /// A link to a backend session another replica initialised (recorded in Redis): used as
    /// it is, without a new `initialize`.
    pub fn adopt(server: Arc<HttpServer>, init: InitParams, unsolicited: Sink, rec: &crate::mcp::shared::BackendRecord) -> Self {
        let state = State::new(rec.session.clone(), rec.version.clone(), rec.init_result.clone(), 1);
        Self::new(server, init, unsolicited, state)
    }

    /// Takes on the backend session Redis now records (another replica initialised a new one
    /// after the backend lost the old).
    pub fn follow(&self, rec: &crate::mcp::shared::BackendRecord) {
        {
            let mut st = self.lock();
            if st.session == rec.session {
                return;
            }
            st.session.clone_from(&rec.session);
            st.version.clone_from(&rec.version);
            st.stateless = rec.version == STATELESS;
            st.init_result = rec.init_result.clone();
            st.generation += 1;
        }
        if self.listening.load(Ordering::Relaxed) {
            self.stop_get_stream();
            self.open_get_stream(rec.session.clone(), rec.version.clone(), None);
        }
    }

    /// What Redis keeps of this backend session.
    pub fn record(&self) -> crate::mcp::shared::BackendRecord {
        let st = self.lock();
        crate::mcp::shared::BackendRecord { session: st.session.clone(), version: st.version.clone(), init_result: st.init_result.clone() }
    }

    pub fn server(&self) -> &Arc<str> {
        &self.server.name
    }

    pub fn init_result(&self) -> Value {
        self.lock().init_result.clone()
    }

    pub fn backend_session(&self) -> Option<String> {
        self.lock().session.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn unavailable(&self, why: impl Into<String>) -> BackendError {
        BackendError::Unavailable(self.server.name.clone(), why.into())
    }

    async fn initialize(&self) -> Result<(), BackendError> {
        let id = json!(format!("weir-init-{}", self.next_id.fetch_add(1, Ordering::Relaxed)));
        let mut params = self.init.params.clone();
        let asked = session_revision(&self.init.protocol_version);
        if let Some(p) = params.as_object_mut() {
            p.insert("protocolVersion".into(), json!(asked));
        }
        let msg = jsonrpc::request(id.clone(), "initialize", params);
        let resp = match self.post(&msg, None, None).await? {
            Posted::Response(r) => r,
            Posted::SessionLost => return Err(self.unavailable("refused to initialize a session")),
        };
        let status = resp.status();
        if matches!(status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) {
            // What a server of the legacy SSE transport answers: the caller may try that next.
            let body = self.server.body(resp).await.unwrap_or_default();
            let why = match serde_json::from_slice::<Value>(&body).ok().as_ref().and_then(jsonrpc::error_of) {
                Some((code, message)) => format!("initialize failed ({code}): {message}"),
                None => format!("initialize refused: HTTP {}", status.as_u16()),
            };
            return Err(BackendError::InitializeRefused(self.server.name.clone(), why));
        }
        let session = resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let answer = self.read_response(resp, &id, &self.unsolicited, None).await?;
        if let Some((code, message)) = jsonrpc::error_of(&answer) {
            return Err(self.unavailable(format!("initialize failed ({code}): {message}")));
        }
        let result = answer.get("result").cloned().unwrap_or(Value::Null);
        let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or(asked).to_string();
        {
            let mut st = self.lock();
            st.session = session.clone();
            st.version = version.clone();
            st.init_result = result;
            st.stateless = false;
            st.generation += 1;
        }
        self.server.set_era(Era::Sessions);
        let note = jsonrpc::notification("notifications/initialized", json!({}));
        if let Posted::Response(r) = self.post(&note, session.as_deref(), Some(&version)).await? {
            if !r.status().is_success() {
                tracing::debug!(server = %self.server.name, status = %r.status(), "backend refused notifications/initialized");
            }
        }
        if self.listening.load(Ordering::Relaxed) {
            self.open_get_stream(session, version, None);
        }
        Ok(())
    }

    /// Initialises a new backend session unless another request already did since `seen`.
    async fn reinitialize(&self, seen: u64) -> Result<(), BackendError> {
        let _one = self.reinit.lock().await;
        if self.lock().generation != seen {
            return Ok(());
        }
        tracing::info!(server = %self.server.name, "backend session lost; initializing a new one");
        self.stop_get_stream();
        self.initialize().await
    }

    async fn post(&self, msg: &Value, session: Option<&str>, version: Option<&str>) -> Result<Posted, BackendError> {
        let mut req = self
            .server
            .client
            .post(&self.server.url)
            .headers(self.server.headers.clone())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(msg.to_string());
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        if let Some(v) = version {
            req = req.header("mcp-protocol-version", v);
            if v == STATELESS {
                // The revision's routing headers, as the body says.
                let method = jsonrpc::method(msg);
                if !method.is_empty() {
                    req = req.header("mcp-method", method);
                }
                if let Some(n) = crate::mcp::stateless::named(msg) {
                    req = req.header("mcp-name", crate::mcp::stateless::encode_header_value(n));
                }
                if method == "tools/call" {
                    if let Ok(extra) = FORWARD_HEADERS.try_with(Arc::clone) {
                        for (k, v) in extra.iter() {
                            req = req.header(k, v);
                        }
                    }
                }
            }
        }
        let resp = req.send().await.map_err(|e| self.unavailable(transport_reason(&e)))?;
        let status = resp.status();
        if session.is_some() && status == StatusCode::NOT_FOUND {
            return Ok(Posted::SessionLost);
        }
        if session.is_some() && status == StatusCode::BAD_REQUEST {
            // Some servers answer an unknown session with 400 and say so in the body.
            let body = String::from_utf8_lossy(&self.server.body(resp).await?).into_owned();
            if body.to_ascii_lowercase().contains("session") {
                return Ok(Posted::SessionLost);
            }
            return Ok(Posted::Response(rebuild(status, body)));
        }
        Ok(Posted::Response(resp))
    }

    /// Reads the answer to the request with id `want`: a JSON body, or an SSE stream whose other
    /// messages go to `related`. `client_back` is there when a client's request is answered:
    /// word of the stream's priming and early end goes to `related` too, and it fires when the
    /// client resumes its own stream.
    async fn read_response(&self, resp: reqwest::Response, want: &Value, related: &Sink, client_back: Option<&Notify>) -> Result<Value, BackendError> {
        let status = resp.status();
        let is_sse = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_sse {
            let body = self.server.body(resp).await?;
            return match serde_json::from_slice::<Value>(&body) {
                Ok(v) if jsonrpc::kind(&v) == Kind::Response => Ok(v),
                _ if !status.is_success() => Err(self.unavailable(format!("HTTP {}", status.as_u16()))),
                _ => Err(BackendError::Protocol(self.server.name.clone(), "the answer is not a JSON-RPC response".into())),
            };
        }
        // A server may end the stream before the response (SSE polling); it is resumed with a
        // GET carrying the last event id, after the delay the server asked for, or as soon as
        // the client resumes its own stream of the request (it was given the same delay).
        let session = resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut resp = resp;
        let mut splitter = self.server.splitter();
        let mut events = Vec::new();
        let mut last_id: Option<String> = None;
        let mut retry = DEFAULT_RETRY;
        let mut asked_retry = None;
        let mut resumes_without_progress = 0;
        loop {
            let (ended, oversized) = match resp.chunk().await {
                Ok(Some(chunk)) => (None, splitter.push(&chunk, &mut events).is_err()),
                Ok(None) => (Some("the response stream ended before the response".to_string()), false),
                Err(e) => (Some(transport_reason(&e)), false),
            };
            for ev in events.drain(..) {
                let has_id = ev.id.is_some();
                if let Some(id) = ev.id {
                    last_id = Some(id);
                    resumes_without_progress = 0;
                }
                if let Some(ms) = ev.retry {
                    retry = Duration::from_millis(ms.min(MAX_RETRY_MS));
                    asked_retry = Some(retry);
                }
                if ev.data.trim().is_empty() {
                    // No message: an event with an id primes the stream for resumption.
                    if has_id && client_back.is_some() {
                        signal(related, &self.server.name, Related::Primed { retry: asked_retry });
                    }
                    continue;
                }
                let Ok(msg) = serde_json::from_str::<Value>(&ev.data) else { continue };
                if jsonrpc::kind(&msg) == Kind::Response && &jsonrpc::id(&msg) == want {
                    return Ok(msg);
                }
                deliver(related, &self.server.name, msg);
            }
            if oversized {
                // The stream goes (dropped with `resp`) rather than be read on without bound.
                return Err(self.server.too_large());
            }
            let Some(why) = ended else { continue };
            let Some(id) = last_id.clone().filter(|_| resumes_without_progress < MAX_RESUMES) else {
                return Err(self.unavailable(why));
            };
            resumes_without_progress += 1;
            splitter = self.server.splitter();
            match client_back {
                Some(back) => {
                    signal(related, &self.server.name, Related::Paused { retry });
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        () = back.notified() => {}
                    }
                }
                None => tokio::time::sleep(retry).await,
            }
            let (current, version) = {
                let st = self.lock();
                (st.session.clone().or_else(|| session.clone()), st.version.clone())
            };
            resp = self.resume(current.as_deref(), &version, &id).await?;
        }
    }

    /// `GET` with `Last-Event-ID`: the rest of a stream the server ended early.
    async fn resume(&self, session: Option<&str>, version: &str, last_event_id: &str) -> Result<reqwest::Response, BackendError> {
        let mut req = self
            .server
            .client
            .get(&self.server.url)
            .headers(self.server.headers.clone())
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", version)
            .header("last-event-id", last_event_id);
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        let resp = req.send().await.map_err(|e| self.unavailable(transport_reason(&e)))?;
        if !resp.status().is_success() {
            return Err(self.unavailable(format!("resuming the response stream: HTTP {}", resp.status().as_u16())));
        }
        Ok(resp)
    }

    /// Sends a request and reads its answer; `client_back`, for a client's request, is notified
    /// when the client resumes its stream of the request (see [`Related::Paused`]).
    pub async fn request(&self, msg: Value, related: &Sink, client_back: Option<&Notify>) -> Result<Value, BackendError> {
        if self.lock().stateless {
            let fut = self.stateless_request(msg, related, client_back);
            return tokio::time::timeout(self.server.timeout, fut).await.unwrap_or_else(|_| Err(BackendError::Timeout(self.server.name.clone())));
        }
        let want = jsonrpc::id(&msg);
        let fut = async {
            for attempt in 0..2 {
                let (session, version, generation) = {
                    let st = self.lock();
                    (st.session.clone(), st.version.clone(), st.generation)
                };
                match self.post(&msg, session.as_deref(), Some(&version)).await? {
                    Posted::SessionLost if attempt == 0 => self.reinitialize(generation).await?,
                    Posted::SessionLost => break,
                    Posted::Response(resp) => return self.read_response(resp, &want, related, client_back).await,
                }
            }
            Err(self.unavailable("the backend keeps losing its session"))
        };
        tokio::time::timeout(self.server.timeout, fut).await.unwrap_or_else(|_| Err(BackendError::Timeout(self.server.name.clone())))
    }

    /// A request to a stateless backend: what a session client would have set at the session
    /// (its log level, its resource subscriptions) kept here and carried as the revision
    /// carries it; the rest sent with `_meta`. A backend's `input_required` is the client's to
    /// answer when it is of the stateless revision too; for a session client Weir asks it
    /// (requests on the request's stream, as a backend of its revision would) and retries.
    async fn stateless_request(&self, mut msg: Value, related: &Sink, client_back: Option<&Notify>) -> Result<Value, BackendError> {
        let id = jsonrpc::id(&msg);
        let method = jsonrpc::method(&msg).to_string();
        let uri = || msg.pointer("/params/uri").and_then(Value::as_str).unwrap_or("").to_string();
        match method.as_str() {
            "ping" => return Ok(jsonrpc::result(id, json!({}))),
            "logging/setLevel" => {
                self.lock().level = msg.pointer("/params/level").and_then(Value::as_str).map(str::to_string);
                return Ok(jsonrpc::result(id, json!({})));
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                let uri = uri();
                let changed = {
                    let mut st = self.lock();
                    if method == "resources/subscribe" {
                        if st.subscriptions.len() >= MAX_SUBSCRIPTIONS && !st.subscriptions.contains(&uri) {
                            return Ok(jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("at most {MAX_SUBSCRIPTIONS} resource subscriptions per session")));
                        }
                        st.subscriptions.insert(uri)
                    } else {
                        st.subscriptions.remove(&uri)
                    }
                };
                // The backend's subscription stream is opened again with the new set.
                if changed && self.listening.load(Ordering::Relaxed) {
                    self.stop_get_stream();
                    self.open_get_stream(None, STATELESS.to_string(), None);
                }
                return Ok(jsonrpc::result(id, json!({})));
            }
            _ => {}
        }
        if let Some(p) = msg.as_object_mut().map(|m| m.entry("params").or_insert_with(|| json!({}))).and_then(Value::as_object_mut) {
            let meta = p.entry("_meta").or_insert_with(|| json!({}));
            if let (Some(m), Value::Object(add)) = (meta.as_object_mut(), self.meta()) {
                m.extend(add);
            }
        }
        let asks_client = self.init.protocol_version != STATELESS && matches!(method.as_str(), "tools/call" | "prompts/get" | "resources/read");
        let mut waits = Waits { link: self, ids: Vec::new() };
        for _ in 0..MAX_ROUNDS {
            let want = jsonrpc::id(&msg);
            let Posted::Response(resp) = self.post(&msg, None, Some(STATELESS)).await? else {
                return Err(self.unavailable("refused a stateless request as of a lost session"));
            };
            let mut answer = self.read_response(resp, &want, related, client_back).await?;
            answer["id"] = id.clone();
            if !asks_client || answer.pointer("/result/resultType").and_then(Value::as_str) != Some("input_required") {
                return Ok(answer);
            }
            let result = answer.get("result").cloned().unwrap_or_default();
            let asked: Vec<(String, Value)> = result.get("inputRequests").and_then(Value::as_object).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
            let mut pending = Vec::new();
            for (key, req) in asked {
                let weir_id = self.next("input");
                let (tx, rx) = tokio::sync::oneshot::channel();
                let wid = weir_id.as_str().unwrap_or_default().to_string();
                self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(wid.clone(), tx);
                waits.ids.push(wid);
                let params = req.get("params").cloned().unwrap_or_else(|| json!({}));
                deliver(related, &self.server.name, jsonrpc::request(weir_id, req.get("method").and_then(Value::as_str).unwrap_or(""), params));
                pending.push((key, rx));
            }
            let mut responses = serde_json::Map::new();
            for (key, rx) in pending {
                let Ok(reply) = rx.await else { return Err(self.unavailable("the client's answer to the backend's request was lost")) };
                match reply.get("result") {
                    Some(r) => {
                        responses.insert(key, r.clone());
                    }
                    // The client refused what was asked: the call ends with its error.
                    None => {
                        let (code, message) = jsonrpc::error_of(&reply).unwrap_or((jsonrpc::INTERNAL_ERROR, "the client could not answer".into()));
                        return Ok(jsonrpc::error(id, code, message));
                    }
                }
            }
            msg["id"] = self.next("retry");
            if let Some(p) = msg.get_mut("params").and_then(Value::as_object_mut) {
                p.insert("inputResponses".into(), Value::Object(responses));
                match result.get("requestState") {
                    Some(s) => p.insert("requestState".into(), s.clone()),
                    None => p.remove("requestState"),
                };
            }
        }
        Err(BackendError::Protocol(self.server.name.clone(), format!("asked for input more than {MAX_ROUNDS} times in one request")))
    }

    pub async fn send(&self, msg: Value) -> Result<(), BackendError> {
        if self.lock().stateless {
            // The client's answer to what Weir asked it for the backend (a stateless backend
            // takes no messages of the kind itself).
            if jsonrpc::kind(&msg) == Kind::Response {
                let id = jsonrpc::id(&msg);
                if let Some(tx) = self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id.as_str().unwrap_or_default()) {
                    let _ = tx.send(msg);
                }
                return Ok(());
            }
            return match self.post(&msg, None, Some(STATELESS)).await? {
                Posted::Response(r) if r.status().is_success() => Ok(()),
                Posted::Response(r) => Err(self.unavailable(format!("HTTP {}", r.status().as_u16()))),
                Posted::SessionLost => Ok(()),
            };
        }
        for attempt in 0..2 {
            let (session, version, generation) = {
                let st = self.lock();
                (st.session.clone(), st.version.clone(), st.generation)
            };
            match self.post(&msg, session.as_deref(), Some(&version)).await? {
                Posted::SessionLost if attempt == 0 => self.reinitialize(generation).await?,
                Posted::SessionLost => break,
                Posted::Response(r) if r.status().is_success() => return Ok(()),
                Posted::Response(r) => return Err(self.unavailable(format!("HTTP {}", r.status().as_u16()))),
            }
        }
        Err(self.unavailable("the backend keeps losing its session"))
    }

    pub async fn cancel(&self, client_request_id: &Value, reason: Option<&str>) {
        let mut params = json!({"requestId": client_request_id});
        if let Some(r) = reason {
            params["reason"] = json!(r);
        }
        if let Err(e) = self.send(jsonrpc::notification("notifications/cancelled", params)).await {
            tracing::debug!(server = %self.server.name, error = %e, "cancellation not delivered");
        }
    }

    pub async fn close(&self) {
        self.stop_get_stream();
        if self.lock().stateless {
            return;
        }
        let (session, version) = {
            let st = self.lock();
            (st.session.clone(), st.version.clone())
        };
        if let Some(s) = session {
            let res = self
                .server
                .client
                .delete(&self.server.url)
                .headers(self.server.headers.clone())
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", version)
                .send()
                .await;
            if let Err(e) = res {
                tracing::debug!(server = %self.server.name, error = %e, "backend session not deleted");
            }
        }
    }

    /// Opens the backend's GET stream for its unsolicited messages, once: called when the client
    /// first opens its own session stream (and kept across reinitialisations from then on).
    /// The receiver fires once the backend has answered the GET (its stream is open then, so
    /// nothing it sends from that moment is lost), or refused it.
    pub fn listen(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        if self.listening.swap(true, Ordering::Relaxed) {
            return None;
        }
        let (session, version) = {
            let st = self.lock();
            (st.session.clone(), st.version.clone())
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.open_get_stream(session, version, Some(tx));
        Some(rx)
    }

    fn stop_get_stream(&self) {
        if let Some(t) = self.get_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            t.abort();
        }
    }

    /// The GET stream for the backend's unsolicited messages, reopened when it ends while the
    /// session lives. A backend that does not offer one (405) is left alone. A stateless
    /// backend has none: its `subscriptions/listen` stream carries list changes and the
    /// updates of the resources subscribed to instead.
    fn open_get_stream(&self, session: Option<String>, version: String, mut ready: Option<tokio::sync::oneshot::Sender<()>>) {
        if self.lock().stateless {
            return self.open_listen_stream(ready);
        }
        let Some(session) = session else { return };
        let (server, sink) = (self.server.clone(), self.unsolicited.clone());
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            let mut last_id: Option<String> = None;
            loop {
                let mut req = server
                    .client
                    .get(&server.url)
                    .headers(server.headers.clone())
                    .header("accept", "text/event-stream")
                    .header("mcp-session-id", &session)
                    .header("mcp-protocol-version", &version);
                if let Some(id) = &last_id {
                    req = req.header("last-event-id", id);
                }
                let answered = req.send().await;
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
                match answered {
                    Ok(r) if r.status().is_success() => {
                        let end = relay_stream(r, &server, &sink).await;
                        if end.last_id.is_some() {
                            last_id = end.last_id;
                        }
                        // A stream dropped for an oversized event is opened again ever more
                        // slowly: the backend may well send that event again.
                        if !end.oversized {
                            backoff = end.retry.map_or(Duration::from_millis(250), |ms| Duration::from_millis(ms.min(MAX_RETRY_MS)));
                        }
                    }
                    // Another replica holds the backend's one stream for this session: its messages
                    // reach the client through it; this one takes over when that one ends.
                    Ok(r) if r.status() == StatusCode::CONFLICT => {
                        tracing::debug!(server = %server.name, "backend GET stream held elsewhere; retrying");
                        backoff = Duration::from_millis(500);
                    }
                    Ok(r) => {
                        tracing::debug!(server = %server.name, status = %r.status(), "backend offers no GET stream");
                        return;
                    }
                    Err(e) => tracing::debug!(server = %server.name, error = %e, "backend GET stream failed"),
                }
                if sink.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        });
        *self.get_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
    }
}

impl HttpLink {
    fn open_listen_stream(&self, mut ready: Option<tokio::sync::oneshot::Sender<()>>) {
        let uris: Vec<String> = self.lock().subscriptions.iter().cloned().collect();
        let mut params = json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true}, "_meta": self.meta()});
        if !uris.is_empty() {
            params["notifications"]["resourceSubscriptions"] = json!(uris);
        }
        let (server, sink) = (self.server.clone(), self.unsolicited.clone());
        let id = self.next("listen");
        let msg = jsonrpc::request(id, "subscriptions/listen", params);
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            loop {
                let answered = server
                    .client
                    .post(&server.url)
                    .headers(server.headers.clone())
                    .header("accept", "application/json, text/event-stream")
                    .header("content-type", "application/json")
                    .header("mcp-protocol-version", STATELESS)
                    .header("mcp-method", "subscriptions/listen")
                    .body(msg.to_string())
                    .send()
                    .await;
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
                match answered {
                    // A stream: relayed while it lasts.
                    Ok(r) if r.status().is_success() && r.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/event-stream")) => {
                        let (tx, mut rx) = tokio::sync::mpsc::channel::<super::Tagged>(super::SINK_CAPACITY);
                        let pass = |item: super::Tagged, delivered: &mut bool| {
                            let (name, related) = *item;
                            let super::Related::Message(mut m) = related else { return };
                            *delivered = true;
                            // What the backend says of the subscription itself is Weir's.
                            if jsonrpc::kind(&m) != Kind::Notification || jsonrpc::method(&m) == "notifications/subscriptions/acknowledged" {
                                return;
                            }
                            if let Some(meta) = m.pointer_mut("/params/_meta").and_then(Value::as_object_mut) {
                                meta.remove("io.modelcontextprotocol/subscriptionId");
                            }
                            deliver(&sink, &name, m);
                        };
                        let mut delivered = false;
                        let relay = relay_stream(r, &server, &tx);
                        tokio::pin!(relay);
                        loop {
                            tokio::select! {
                                _ = &mut relay => break,
                                Some(item) = rx.recv() => pass(item, &mut delivered),
                            }
                        }
                        // What came just before the stream ended still goes.
                        while let Ok(item) = rx.try_recv() {
                            pass(item, &mut delivered);
                        }
                        // A stream that carried nothing is opened again ever more slowly.
                        if delivered {
                            backoff = Duration::from_millis(250);
                        }
                    }
                    Ok(r) if r.status().is_success() => {
                        tracing::debug!(server = %server.name, "stateless backend answered subscriptions/listen without a stream");
                        return;
                    }
                    Ok(r) => {
                        tracing::debug!(server = %server.name, status = %r.status(), "stateless backend offers no subscriptions/listen");
                        return;
                    }
                    Err(e) => tracing::debug!(server = %server.name, error = %e, "backend subscription stream failed"),
                }
                if sink.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        });
        // Whatever stream was open before (a subscription changed meanwhile) goes.
        if let Some(old) = self.get_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).replace(task) {
            old.abort();
        }
    }
}

/// The revision a backend session is asked for: the client's, or for a client of the stateless
/// revision the newest with sessions.
fn session_revision(client: &str) -> &str {
    if client == STATELESS {
        crate::mcp::PROTOCOL_VERSIONS[0]
    } else {
        client
    }
}

impl Drop for HttpLink {
    fn drop(&mut self) {
        self.stop_get_stream();
    }
}

/// How a backend's GET stream ended.
struct StreamEnd {
    /// The last event id it gave, to resume from.
    last_id: Option<String>,
    /// The reconnection delay it asked for, in milliseconds.
    retry: Option<u64>,
    /// Dropped by Weir: an event grew past `mcp.max_backend_message_bytes`.
    oversized: bool,
}

/// Relays a GET stream until it ends, or until an event grows past the server's limit.
async fn relay_stream(mut resp: reqwest::Response, server: &HttpServer, sink: &Sink) -> StreamEnd {
    let mut splitter = server.splitter();
    let mut events = Vec::new();
    let mut end = StreamEnd { last_id: None, retry: None, oversized: false };
    while let Ok(Some(chunk)) = resp.chunk().await {
        let pushed = splitter.push(&chunk, &mut events);
        for ev in events.drain(..) {
            if ev.id.is_some() {
                end.last_id = ev.id;
            }
            if ev.retry.is_some() {
                end.retry = ev.retry;
            }
            if let Ok(msg) = serde_json::from_str::<Value>(&ev.data) {
                deliver(sink, &server.name, msg);
            }
        }
        if let Err(e) = pushed {
            tracing::warn!(server = %server.name, error = %e, "backend stream dropped");
            end.oversized = true;
            break;
        }
    }
    end
}

/// A response whose body was already read, rebuilt so that it can be read again.
fn rebuild(status: StatusCode, body: String) -> reqwest::Response {
    let mut r = axum::http::Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    reqwest::Response::from(r)
}

pub(super) fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        "the connection failed".into()
    }
}
