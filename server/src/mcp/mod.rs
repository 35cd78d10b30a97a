//! The MCP gateway: `/mcp` (every backend this agent may use, as one server) and
//! `/mcp/{server}` (one backend, its names unchanged), over Streamable HTTP.
//!
//! A request flows: origin check → authenticate → session → parse → route (by the prefix of a
//! tool or prompt name, or of a resource URI) → authorise (`tools/call`) → backend → answer
//! (JSON when the backend's answer came alone, SSE when the backend sent anything first) →
//! record (audit event and span). This module never blocks on the database on a request's path
//! except at `initialize` of an anonymous session; records go to the audit queue.

pub mod approvals;
pub mod backend;
pub mod jsonrpc;
pub mod names;
pub mod policy;
mod record;
pub use record::record_decision;
pub mod scan;
pub mod session;
pub mod shared;
pub mod streams;
pub mod tools;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::state::AppState;
use crate::config::{McpConfig, McpTransport};
use backend::http::HttpServer;
use backend::stdio::{StdioLink, StdioServer};
use backend::{BackendError, InitParams, Link, Related, Sink, SINK_CAPACITY};
use jsonrpc::Kind;
use policy::Decision;
use record::McpRecord;
use session::{LocalSessions, Session, SessionMap, SessionPrincipal};
use shared::{Relayed, Shared};
use streams::StreamStore;
use approvals::{Approvals, Held};
use tools::{ToolGuard, Verdict};
use crate::config::SuspiciousTools;
use crate::store::{NewApproval, Store};

/// Revisions Weir serves, newest first.
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// How often an SSE stream says it is alive while nothing else flows.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The backends Weir knows and the sessions that use them.
pub struct McpGateway {
    pub sessions: Arc<dyn SessionMap>,
    http: HashMap<String, Arc<HttpServer>>,
    stdio: HashMap<String, Arc<StdioServer>>,
    /// Server names in config order: the order of aggregate lists.
    order: Vec<String>,
    /// Cancelled when Weir shuts down: open session streams end.
    pub closing: tokio_util::sync::CancellationToken,
    /// What Weir knows of each backend tool's definition (findings, pins).
    pub tools: ToolGuard,
    /// Tool names a backend did not list when asked, remembered for a while.
    pub relists: tools::Relists,
    /// Calls held for a person's approval on this replica.
    pub approvals: Approvals,
    /// Sessions shared with the other replicas (Redis), when `WEIR_REDIS_URL` is set.
    pub shared: Option<Arc<Shared>>,
    /// Where the SSE streams Weir serves are kept for resumption (Redis, or memory).
    pub streams: Arc<dyn StreamStore>,
}

impl McpGateway {
    /// Builds the backends from config and starts the stdio processes.
    pub fn start(cfg: &McpConfig, store: Store, shared: Option<Arc<Shared>>) -> anyhow::Result<Arc<Self>> {
        let mut http = HashMap::new();
        let mut stdio = HashMap::new();
        for s in &cfg.servers {
            let name: Arc<str> = Arc::from(s.name.as_str());
            match &s.transport {
                McpTransport::Http { url, headers, kind } => {
                    let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).tcp_nodelay(true).build()?;
                    let mut hm = HeaderMap::new();
                    for (k, v) in headers {
                        hm.insert(k.clone(), v.clone());
                    }
                    http.insert(
                        s.name.clone(),
                        Arc::new(HttpServer {
                            name,
                            url: url.clone(),
                            headers: hm,
                            client,
                            timeout: cfg.request_timeout,
                            transport: *kind,
                            detected_sse: Default::default(),
                            max_message: cfg.max_backend_message_bytes,
                        }),
                    );
                }
                McpTransport::Stdio { command, env } => {
                    let server = StdioServer::new(name, command.clone(), env.clone(), cfg.request_timeout, cfg.max_backend_message_bytes);
                    server.supervise();
                    stdio.insert(s.name.clone(), server);
                }
            }
        }
        Ok(Arc::new(Self {
            sessions: Arc::new(LocalSessions::default()),
            http,
            stdio,
            order: cfg.servers.iter().map(|s| s.name.clone()).collect(),
            closing: Default::default(),
            tools: ToolGuard::new(store),
            relists: Default::default(),
            approvals: Approvals::default(),
            streams: match &shared {
                Some(sh) => Arc::new(streams::RedisStreams(sh.clone())),
                None => Arc::new(streams::MemoryStreams::new(cfg.replay_window, cfg.replay_max_events)),
            },
            shared,
        }))
    }

    /// Passes on the answers other replicas relay for backends only this one reaches.
    pub fn spawn_relay(self: &Arc<Self>, stop: tokio_util::sync::CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
        let shared = self.shared.clone()?;
        let (tx, mut rx) = mpsc::channel::<Relayed>(SINK_CAPACITY);
        let sub = shared.subscribe(tx, stop.clone());
        let me = self.clone();
        Some(tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                let Some(session) = me.sessions.get(&r.session) else { continue };
                match session.link(&r.server).await {
                    Some(link) => {
                        if let Err(e) = link.send(r.message).await {
                            tracing::warn!(server = %r.server, error = %e, "relayed answer could not reach the backend");
                        }
                    }
                    None => tracing::debug!(server = %r.server, "relayed answer for a backend no longer linked"),
                }
            }
            sub.abort();
        }))
    }

    /// Whether any replica reaches `server`'s backend sessions (Streamable HTTP: by session id),
    /// rather than only the one that made them (stdio, legacy SSE).
    fn adoptable(&self, server: &str) -> bool {
        self.http.get(server).is_some_and(|h| h.transport != crate::config::UrlTransport::Sse && !h.detected_sse.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// A session another replica began, made ready to serve here: its stream relayed to Redis.
    fn adopt_session(&self, id: &str, rec: shared::SessionRecord, backends: HashMap<String, shared::BackendRecord>) -> Arc<Session> {
        let Some(sh) = &self.shared else { unreachable!("adopting needs shared sessions") };
        let (session, new) = self.sessions.get_or_insert(Session::restore(id, rec, backends, sh.replica.clone()));
        if new {
            self.start_pump(&session);
        }
        session
    }

    /// Takes on the backend sessions Redis now records for a session this replica holds.
    async fn follow(&self, session: &Session, backends: HashMap<String, shared::BackendRecord>) {
        for (server, rec) in backends {
            if session.note_backend(&server, &rec) {
                if let Some(link) = session.link(&server).await {
                    if let Link::Http(h) = &*link {
                        h.follow(&rec);
                    }
                }
            }
        }
    }

    /// Records a session begun here in Redis. When Redis is out of reach the session works at
    /// this replica alone, and is recorded at its first request once Redis answers again.
    async fn record_session(&self, session: &Session) {
        let Some(sh) = &self.shared else { return };
        let backends: Vec<(String, shared::BackendRecord)> = session.backends.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        match sh.create(&session.id, &session.record(), &backends).await {
            Ok(()) => session.recorded.store(true, std::sync::atomic::Ordering::Relaxed),
            Err(e) => tracing::warn!(session = %session.id, error = %e, "MCP session not recorded in Redis; other replicas cannot serve it yet"),
        }
    }

    /// Records in Redis the backend session this replica's link uses, when it is new or changed
    /// (a backend that lost its session got a new one).
    async fn publish_backend(&self, session: &Session, server: &str, link: &Link) {
        let (Some(sh), Link::Http(h)) = (&self.shared, link) else { return };
        if session.backend_record(server).map(|r| r.session) == Some(h.backend_session()) {
            return;
        }
        let rec = h.record();
        session.note_backend(server, &rec);
        if let Err(e) = sh.set_backend(&session.id, server, &rec).await {
            tracing::warn!(session = %session.id, server, error = %e, "backend session not recorded in Redis; other replicas will make their own");
        }
    }

    /// Messages for the client's session stream go to the session's stream in the store (with
    /// shared sessions from whichever replica receives them), for whoever holds the client's GET.
    /// Once per session (later calls find the messages taken already).
    fn start_pump(&self, session: &Arc<Session>) {
        let Some(mut rx) = session.take_outbox() else { return };
        let (weak, ended) = (Arc::downgrade(session), session.ended.clone());
        let (sh, store) = (self.shared.clone(), self.streams.clone());
        let stream = store.session_stream(&session.id);
        tokio::spawn(async move {
            loop {
                let (server, related) = *tokio::select! {
                    () = ended.cancelled() => return,
                    m = rx.recv() => match m {
                        Some(m) => m,
                        None => return,
                    },
                };
                // Word of a backend's answer stream concerns a request's own stream, not this one.
                let Related::Message(m) = related else { continue };
                let Some(session) = weak.upgrade() else { return };
                // Boxed: the task stays small while it waits (an idle session costs little).
                Box::pin(append_for_client(sh.as_deref(), &*store, &session, &server, m, &stream, false)).await;
            }
        });
    }

    /// Keeps an agent within its number of sessions: past it, its longest-unused sessions end
    /// (counted at every replica when sessions are shared).
    async fn cap_agent_sessions(&self, new: &Session, max: usize) {
        let agent = &new.principal.agent_id;
        let evicted: Vec<Arc<Session>> = match &self.shared {
            Some(sh) => match sh.admit_agent_session(agent, &new.id, max).await {
                Ok(ids) => ids.iter().filter_map(|id| self.sessions.remove(id)).collect(),
                Err(e) => {
                    tracing::warn!(agent = %new.principal.agent_name, error = %e, "MCP session not counted among its agent's (Redis unreachable); counted here alone");
                    self.sessions.evict_oldest(agent, max, &new.id)
                }
            },
            None => self.sessions.evict_oldest(agent, max, &new.id),
        };
        for s in evicted {
            tracing::info!(session = %s.id, agent = %s.principal.agent_name, max, "MCP session ended: its agent opened more than mcp.max_sessions_per_agent");
            s.close().await;
            self.streams.forget(&s.id).await;
        }
    }

    pub fn knows(&self, server: &str) -> bool {
        self.http.contains_key(server) || self.stdio.contains_key(server)
    }

    /// The process id of a stdio server's running process (for tests and the admin API).
    pub async fn stdio_pid(&self, server: &str) -> Option<u32> {
        self.stdio.get(server)?.pid().await
    }

    /// Ends every session's backend sessions and stops the stdio processes.
    pub async fn shutdown(&self) {
        for s in self.sessions.take_idle(-1) {
            // Shared sessions live on at the other replicas.
            if self.shared.is_some() {
                s.release().await;
            } else {
                s.close().await;
            }
        }
        for s in self.stdio.values() {
            s.shutdown().await;
        }
    }

    /// Ends sessions idle for longer than the configured time.
    pub async fn expire_idle(&self, idle: Duration) {
        let expired = self.sessions.take_idle(i64::try_from(idle.as_millis()).unwrap_or(i64::MAX));
        for s in expired {
            // A shared session idle here may be in use at another replica: only this replica
            // lets go of it, unless Redis says it expired everywhere.
            if let Some(sh) = &self.shared {
                if sh.exists(&s.id).await.unwrap_or(true) {
                    s.release().await;
                    continue;
                }
            }
            tracing::info!(session = %s.id, agent = %s.principal.agent_name, "MCP session expired");
            s.close().await;
            self.streams.forget(&s.id).await;
        }
    }

    async fn connect(&self, server: &str, session: &Session) -> Result<Link, BackendError> {
        if let Some(h) = self.http.get(server) {
            let init = InitParams { protocol_version: session.protocol_version.clone(), params: session.client_params.clone() };
            // A backend session another replica made is used as it is.
            if self.adoptable(server) {
                if let Some(rec) = session.backend_record(server).filter(|r| r.session.is_some()) {
                    return Ok(Link::Http(Box::new(backend::http::HttpLink::adopt(h.clone(), init, session.unsolicited.clone(), &rec))));
                }
            }
            return Link::connect_url(h.clone(), init, session.unsolicited.clone()).await;
        }
        if let Some(s) = self.stdio.get(server) {
            return Ok(Link::Stdio(StdioLink::connect(s.clone(), session.id.clone(), session.unsolicited.clone()).await?));
        }
        Err(BackendError::Unavailable(Arc::from(server), "not configured".into()))
    }

    /// The session's link to `server`, connecting (again) if it has none.
    async fn link(&self, session: &Session, server: &str) -> Result<Arc<Link>, BackendError> {
        if let Some(l) = session.link(server).await {
            return Ok(l);
        }
        let mut links = session.links.write().await;
        if let Some(l) = links.get(server) {
            return Ok(l.clone());
        }
        match self.connect(server, session).await {
            Ok(l) => {
                let l = Arc::new(l);
                self.publish_backend(session, server, &l).await;
                if session.is_listening() {
                    // Not awaited: the client's stream is open already.
                    drop(l.listen());
                }
                links.insert(server.to_string(), l.clone());
                session.down.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(server);
                Ok(l)
            }
            Err(e) => {
                session.down.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(server.to_string(), e.to_string());
                Err(e)
            }
        }
    }

    /// The servers a session reaches: its one server, or every configured one.
    fn servers_of(&self, session: &Session) -> Vec<String> {
        match &session.scope {
            Some(s) => vec![s.clone()],
            None => self.order.clone(),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mcp", post(post_aggregate).get(get_aggregate).delete(delete_aggregate))
        .route("/mcp/{server}", post(post_server).get(get_server).delete(delete_server))
}

async fn post_aggregate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle_post(state, None, headers, body).await
}
async fn post_server(State(state): State<AppState>, Path(server): Path<String>, headers: HeaderMap, body: Body) -> Response {
    handle_post(state, Some(server), headers, body).await
}
async fn get_aggregate(State(state): State<AppState>, headers: HeaderMap) -> Response {
    handle_get(state, None, headers).await
}
async fn get_server(State(state): State<AppState>, Path(server): Path<String>, headers: HeaderMap) -> Response {
    handle_get(state, Some(server), headers).await
}
async fn delete_aggregate(State(state): State<AppState>, headers: HeaderMap) -> Response {
    handle_delete(state, None, headers).await
}
async fn delete_server(State(state): State<AppState>, Path(server): Path<String>, headers: HeaderMap) -> Response {
    handle_delete(state, Some(server), headers).await
}

/// A message as the client receives it: its JSON text, without any secret of Weir's config (a
/// backend may echo the credential Weir sent it). Every message to a client is written by this.
fn wire_text(msg: &Value) -> String {
    let text = msg.to_string();
    match crate::audit::redact_known_text(&text) {
        std::borrow::Cow::Owned(clean) => clean,
        std::borrow::Cow::Borrowed(_) => text,
    }
}

/// A JSON-RPC error as an HTTP response.
fn rpc_error(status: StatusCode, id: Value, code: i64, message: impl Into<String>) -> Response {
    json_status(status, &jsonrpc::error(id, code, message))
}

fn json_response(msg: &Value) -> Response {
    json_status(StatusCode::OK, msg)
}

fn json_status(status: StatusCode, msg: &Value) -> Response {
    let mut r = (status, wire_text(msg)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Against DNS rebinding: a request must name Weir by a host it answers to (on a loopback
/// listener, a loopback name or one of `mcp.allowed_hosts`; elsewhere, any name unless
/// `allowed_hosts` lists them), and a browser's `Origin` must be a loopback origin, one of an
/// allowed host, or one of `mcp.allowed_origins`. Clients that send no `Origin` (not browsers)
/// pass the origin check. The `Host` a request names never vouches for its `Origin`.
fn origin_refused(headers: &HeaderMap, cfg: &McpConfig, listen: std::net::SocketAddr) -> Option<Response> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let host_ok = if host.is_empty() {
        // HTTP/1.0 or HTTP/2 without :authority: nothing to rebind.
        true
    } else if is_loopback_authority(host) || host_allowed(host, &cfg.allowed_hosts) {
        true
    } else {
        cfg.allowed_hosts.is_empty() && !listen.ip().is_loopback()
    };
    if !host_ok {
        return Some(rpc_error(StatusCode::FORBIDDEN, Value::Null, jsonrpc::INVALID_REQUEST, format!("host `{host}` is not allowed (see mcp.allowed_hosts)")));
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("");
    if cfg.allowed_origins.iter().any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return None;
    }
    let authority = origin.split_once("://").map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if !authority.is_empty() && (is_loopback_authority(authority) || host_allowed(authority, &cfg.allowed_hosts)) {
        return None;
    }
    Some(rpc_error(StatusCode::FORBIDDEN, Value::Null, jsonrpc::INVALID_REQUEST, format!("origin `{origin}` is not allowed (see mcp.allowed_origins)")))
}

/// `host[:port]` split into the host (brackets kept for IPv6) and whether a port followed.
fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_once(']').map_or(authority, |(h, _)| &authority[..=h.len()]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { authority })
}

fn is_loopback_authority(authority: &str) -> bool {
    let h = host_part(authority).to_ascii_lowercase();
    h == "localhost" || h == "[::1]" || h.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// An allowed host entry matches the authority exactly, or its host when the entry has no port.
fn host_allowed(authority: &str, allowed: &[String]) -> bool {
    let authority = authority.to_ascii_lowercase();
    let host = host_part(&authority);
    allowed.iter().any(|a| *a == authority || *a == host)
}

fn unauthorized(message: &str) -> Response {
    let mut r = rpc_error(StatusCode::UNAUTHORIZED, Value::Null, jsonrpc::UNAUTHORIZED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"weir\", error=\"invalid_token\", error_description=\"a Weir agent key is required\""),
    );
    r
}

/// Who is calling: the key's agent, or the anonymous agent when no key was sent and one is
/// configured.
async fn caller(state: &AppState, headers: &HeaderMap, cfg: &McpConfig) -> Result<SessionPrincipal, Response> {
    let end_user = headers.get("x-weir-user").and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty()).map(|s| s.chars().take(256).collect());
    match state.keys.authenticate(headers) {
        Ok(p) => Ok(SessionPrincipal { agent_id: p.agent_id, agent_name: p.agent_name.to_string(), key_id: Some(p.key_id.to_string()), end_user }),
        Err(e) => {
            let Some(anon) = cfg.anonymous_agent.as_deref().filter(|_| crate::identity::presented_key(headers).is_none()) else {
                return Err(unauthorized(e.message()));
            };
            let agent = match state.store.agent_by_name(anon).await {
                Ok(Some(a)) => a,
                Ok(None) => crate::identity::create_agent(&state.store, anon, None).await.map_err(|e| {
                    tracing::error!(error = %e, "cannot create the anonymous MCP agent");
                    rpc_error(StatusCode::SERVICE_UNAVAILABLE, Value::Null, jsonrpc::INTERNAL_ERROR, "the anonymous agent cannot be set up")
                })?,
                Err(e) => {
                    tracing::error!(error = %e, "cannot look up the anonymous MCP agent");
                    return Err(rpc_error(StatusCode::SERVICE_UNAVAILABLE, Value::Null, jsonrpc::INTERNAL_ERROR, "the database is unavailable"));
                }
            };
            Ok(SessionPrincipal { agent_id: agent.id, agent_name: agent.name, key_id: None, end_user })
        }
    }
}

/// The session a request names, checked against the endpoint and the caller. With shared
/// sessions Redis is asked every time (one round trip, which also keeps the session alive
/// everywhere): a session begun at another replica is taken on here, one ended elsewhere is
/// let go.
async fn find_session(state: &AppState, scope: &Option<String>, headers: &HeaderMap, caller: &SessionPrincipal) -> Result<Arc<Session>, Box<Response>> {
    let Some(id) = headers.get("mcp-session-id").and_then(|v| v.to_str().ok()) else {
        return Err(Box::new(rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::INVALID_REQUEST, "Mcp-Session-Id header is required")));
    };
    let local = state.mcp.sessions.get(id);
    let found = match &state.mcp.shared {
        None => local,
        Some(sh) => match sh.load(id, &caller.agent_id).await {
            Ok(Some((rec, backends))) => Some(match local {
                Some(s) => {
                    state.mcp.follow(&s, backends).await;
                    s
                }
                None => state.mcp.adopt_session(id, rec, backends),
            }),
            Ok(None) => match local {
                // Begun here while Redis was out of reach: recorded now.
                Some(s) if !s.recorded.load(std::sync::atomic::Ordering::Relaxed) => {
                    state.mcp.record_session(&s).await;
                    Some(s)
                }
                // Ended (DELETE) or expired: its backend sessions end with it.
                _ => {
                    if let Some(s) = state.mcp.sessions.remove(id) {
                        s.close().await;
                    }
                    None
                }
            },
            Err(e) => {
                tracing::warn!(session = id, error = %e, "MCP session store unreachable");
                match local {
                    // Served from what this replica holds until Redis is back.
                    Some(s) => Some(s),
                    None => {
                        return Err(Box::new(rpc_error(
                            StatusCode::SERVICE_UNAVAILABLE,
                            Value::Null,
                            jsonrpc::INTERNAL_ERROR,
                            "the MCP session store (Redis) is unreachable; try again",
                        )))
                    }
                }
            }
        },
    };
    match found {
        // A session is only ever used by the agent that began it, on the endpoint it began on.
        Some(s) if &s.scope == scope && s.principal.agent_id == caller.agent_id => {
            s.touch();
            Ok(s)
        }
        _ => Err(Box::new(rpc_error(StatusCode::NOT_FOUND, Value::Null, jsonrpc::SESSION_NOT_FOUND, "session not found or expired; initialize a new one"))),
    }
}

/// A backend's message mapped for the client (with shared sessions a request's new id recorded
/// in Redis, so the answer may reach any replica) and appended to `stream`; returns it with its
/// event id (none when the store could not keep it: it is sent all the same, not resumable).
async fn append_for_client(sh: Option<&Shared>, store: &dyn StreamStore, session: &Session, server: &str, msg: Value, stream: &str, last: bool) -> Option<(String, Option<String>)> {
    let (m, pending) = session.to_client(server, msg)?;
    if let (Some(sh), Some((weir_id, p))) = (sh, pending) {
        if let Err(e) = sh.put_request(&session.id, &weir_id, &p).await {
            tracing::warn!(session = %session.id, error = %e, "backend request not recorded in Redis; only this replica can take its answer");
        }
    }
    // Written out (and cleaned of secrets) once: the same text is recorded and sent.
    let text = wire_text(&m);
    match store.append(stream, &text, last).await {
        Ok(id) => Some((text, Some(id))),
        Err(e) => {
            tracing::warn!(session = %session.id, error = %e, "MCP stream event not recorded; it cannot be resumed");
            Some((text, None))
        }
    }
}

fn version_refused(headers: &HeaderMap) -> Option<Response> {
    let v = headers.get("mcp-protocol-version")?.to_str().unwrap_or("");
    (!PROTOCOL_VERSIONS.contains(&v)).then(|| {
        rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            jsonrpc::INVALID_REQUEST,
            format!("unsupported MCP-Protocol-Version `{v}`; supported: {}", PROTOCOL_VERSIONS.join(", ")),
        )
    })
}

async fn handle_post(state: AppState, scope: Option<String>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let rt = state.runtime.load_full();
    let cfg = &rt.config.mcp;
    if let Some(r) = origin_refused(&headers, cfg, rt.config.listen) {
        return r;
    }
    let caller = match caller(&state, &headers, cfg).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(s) = &scope {
        if !state.mcp.knows(s) {
            return rpc_error(StatusCode::NOT_FOUND, Value::Null, jsonrpc::INVALID_REQUEST, format!("there is no MCP server `{s}`"));
        }
    }
    let bytes = match axum::body::to_bytes(body, cfg.max_message_bytes).await {
        Ok(b) => b,
        Err(e) => {
            let (status, message) = match crate::serve::BodyFault::of(&e) {
                crate::serve::BodyFault::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, format!("message larger than the {}-byte limit", cfg.max_message_bytes)),
                crate::serve::BodyFault::Stalled => (StatusCode::REQUEST_TIMEOUT, "the message stopped arriving before it was complete".to_string()),
                crate::serve::BodyFault::Broken => (StatusCode::BAD_REQUEST, "the message could not be read".to_string()),
            };
            return rpc_error(status, Value::Null, jsonrpc::INVALID_REQUEST, message);
        }
    };
    let msg: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::PARSE_ERROR, format!("parse error: {e}")),
    };

    if msg.is_array() {
        return handle_batch(&state, &scope, &headers, &caller, msg, started).await;
    }
    let kind = jsonrpc::kind(&msg);
    if kind == Kind::Invalid {
        return rpc_error(StatusCode::BAD_REQUEST, jsonrpc::id(&msg), jsonrpc::INVALID_REQUEST, "not a valid JSON-RPC 2.0 message");
    }
    let limit_headers = if counts_against_rate(&msg) {
        match admit_requests(&state, &caller, 1, jsonrpc::id(&msg)).await {
            Ok(h) => h,
            Err(r) => return r,
        }
    } else {
        Vec::new()
    };
    let mut resp = if kind == Kind::Request && jsonrpc::method(&msg) == "initialize" {
        if headers.contains_key("mcp-session-id") {
            return rpc_error(StatusCode::BAD_REQUEST, jsonrpc::id(&msg), jsonrpc::INVALID_REQUEST, "initialize must not carry an Mcp-Session-Id");
        }
        // The params live as long as the session: bounded (the message alone is 4 MB by default).
        let params = msg.get("params").map_or(0, |p| if bytes.len() <= cfg.max_initialize_params_bytes { 0 } else { p.to_string().len() });
        if params > cfg.max_initialize_params_bytes {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                jsonrpc::id(&msg),
                jsonrpc::INVALID_PARAMS,
                format!("initialize params of {params} bytes; at most {} are kept for a session", cfg.max_initialize_params_bytes),
            );
        }
        initialize(&state, scope, caller, msg, &headers, started).await
    } else {
        answer_message(state, scope, caller, kind, msg, &headers, started).await
    };
    resp.headers_mut().extend(limit_headers);
    resp
}

/// Counts `n` requests against the caller's MCP requests per minute: the `x-ratelimit-*`
/// headers to send, or the refusal (429 with `retry-after`) to answer with.
/// Whether a client's message counts against the agent's MCP requests per minute: every
/// request and notification does, except a cancellation (refusing it would keep the work it
/// cancels going) and a client's answers to backends' requests (they were asked for).
fn counts_against_rate(msg: &Value) -> bool {
    match jsonrpc::kind(msg) {
        Kind::Request => true,
        Kind::Notification => jsonrpc::method(msg) != "notifications/cancelled",
        Kind::Response | Kind::Invalid => false,
    }
}

/// `id` is the refused request's (null for a batch or a notification).
async fn admit_requests(state: &AppState, caller: &SessionPrincipal, n: usize, id: Value) -> Result<Vec<(axum::http::HeaderName, HeaderValue)>, Response> {
    match state.limiter.admit_mcp(&caller.agent_id, &caller.agent_name, n as u64).await {
        Ok(h) => Ok(h),
        Err(refusal) => {
            let (status, code) = match refusal {
                crate::limits::Refusal::Exceeded { .. } => (StatusCode::TOO_MANY_REQUESTS, jsonrpc::RATE_LIMITED),
                crate::limits::Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, jsonrpc::INTERNAL_ERROR),
            };
            let mut r = rpc_error(status, id, code, refusal.message());
            if let crate::limits::Refusal::Exceeded { headers, .. } = refusal {
                for (k, v) in headers {
                    if let (Ok(k), Ok(v)) = (axum::http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
                        r.headers_mut().insert(k, v);
                    }
                }
            }
            Err(r)
        }
    }
}

/// A message other than `initialize`, in its session.
async fn answer_message(state: AppState, scope: Option<String>, caller: SessionPrincipal, kind: Kind, msg: Value, headers: &HeaderMap, started: Instant) -> Response {
    if let Some(r) = version_refused(headers) {
        return r;
    }
    let session = match find_session(&state, &scope, headers, &caller).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match kind {
        Kind::Request => {
            let wants_sse = accepts_sse(headers);
            answer_request(state, session, msg, wants_sse, headers, started).await
        }
        Kind::Notification => {
            client_notification(&state, &session, msg).await;
            StatusCode::ACCEPTED.into_response()
        }
        Kind::Response => {
            deliver_answer(&state, &session, msg).await;
            StatusCode::ACCEPTED.into_response()
        }
        Kind::Invalid => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// The client's answer to a backend's request, to that backend: from this replica when it
/// holds the request or reaches the backend session, else through the replica that does.
async fn deliver_answer(state: &AppState, session: &Arc<Session>, msg: Value) {
    let (server, answer) = match &state.mcp.shared {
        // One Weir keeps what it asked in the session.
        None => match session.from_client_answer(msg) {
            Some(found) => found,
            None => {
                tracing::debug!(session = %session.id, "client answered a request Weir does not know");
                return;
            }
        },
        // Shared sessions keep it in Redis.
        Some(sh) => {
            let weir_id = jsonrpc::id(&msg);
            let pending = match sh.take_request(&session.id, weir_id.as_str().unwrap_or_default()).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    tracing::debug!(session = %session.id, "client answered a request no replica knows");
                    return;
                }
                Err(e) => {
                    tracing::warn!(session = %session.id, error = %e, "client's answer lost: the MCP session store is unreachable");
                    return;
                }
            };
            let mut answer = msg;
            answer["id"] = pending.backend_id;
            if pending.replica != sh.replica && !state.mcp.adoptable(&pending.server) {
                let relayed = Relayed { session: session.id.clone(), server: pending.server, message: answer };
                if let Err(e) = sh.relay(&pending.replica, &relayed).await {
                    tracing::warn!(session = %session.id, error = %e, "client's answer could not be passed to the replica holding its backend");
                }
                return;
            }
            (pending.server, answer)
        }
    };
    let link = match state.mcp.shared {
        // Any replica reaches a Streamable HTTP backend session.
        Some(_) => state.mcp.link(session, &server).await.ok(),
        None => session.link(&server).await,
    };
    match link {
        Some(link) => {
            if let Err(e) = link.send(answer).await {
                tracing::warn!(server, error = %e, "client's answer could not reach the backend");
            }
        }
        None => tracing::debug!(server, "client answered a backend that is no longer linked"),
    }
}

fn accepts_sse(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/event-stream"))
}

/// Batches exist only in revision 2025-03-26; later revisions refuse them.
async fn handle_batch(state: &AppState, scope: &Option<String>, headers: &HeaderMap, caller: &SessionPrincipal, msg: Value, started: Instant) -> Response {
    let session = match find_session(state, scope, headers, caller).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if session.protocol_version != "2025-03-26" {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            jsonrpc::INVALID_REQUEST,
            format!("JSON-RPC batches are not part of protocol revision {}", session.protocol_version),
        );
    }
    let max = state.runtime.load().config.mcp.max_batch_items;
    let items = match msg {
        Value::Array(items) if items.is_empty() => return rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::INVALID_REQUEST, "empty batch"),
        Value::Array(items) if items.len() > max => {
            return rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::INVALID_REQUEST, format!("a batch of {} messages; at most {max} are taken (mcp.max_batch_items)", items.len()));
        }
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    // Each request and notification of the batch counts against the agent's MCP requests per minute.
    let requests = items.iter().filter(|i| counts_against_rate(i)).count();
    let limit_headers = match admit_requests(state, caller, requests, Value::Null).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let mut answers = Vec::new();
    for item in items {
        match jsonrpc::kind(&item) {
            Kind::Request if jsonrpc::method(&item) != "initialize" => {
                let (tx, _rx) = mpsc::channel(SINK_CAPACITY);
                let item_id = jsonrpc::id(&item);
                // Tracked like a lone request, so that a cancellation reaches it.
                let _tokens = session.begin_request(&item_id);
                answers.push(run_request(state, &session, item, &tx, started, &trace_headers(headers)).await);
                session.end_request(&item_id);
            }
            Kind::Notification => client_notification(state, &session, item).await,
            Kind::Response => deliver_answer(state, &session, item).await,
            _ => answers.push(jsonrpc::error(jsonrpc::id(&item), jsonrpc::INVALID_REQUEST, "not a valid JSON-RPC 2.0 request")),
        }
    }
    let mut r = if answers.is_empty() { StatusCode::ACCEPTED.into_response() } else { json_response(&Value::Array(answers)) };
    r.headers_mut().extend(limit_headers);
    r
}

async fn initialize(state: &AppState, scope: Option<String>, caller: SessionPrincipal, msg: Value, headers: &HeaderMap, started: Instant) -> Response {
    let id = jsonrpc::id(&msg);
    let params = msg.get("params").cloned().unwrap_or_else(|| json!({}));
    let asked = params.get("protocolVersion").and_then(Value::as_str).unwrap_or("");
    let version = if PROTOCOL_VERSIONS.contains(&asked) { asked } else { PROTOCOL_VERSIONS[0] }.to_string();
    let agent_session = headers.get("x-weir-session").and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty()).map(|s| s.chars().take(256).collect());
    let replica = state.mcp.shared.as_ref().map(|sh| sh.replica.clone());
    let session = Session::new(caller, scope.clone(), version.clone(), params, agent_session, replica);
    let rec = McpRecord::begin(state, &session, &msg, headers, None);

    // Every visible backend is connected now, in parallel; one that is down is left out (its
    // tools are missing from lists until it answers again).
    let servers = state.mcp.servers_of(&session);
    let results = futures_util::future::join_all(servers.iter().map(|s| state.mcp.link(&session, s))).await;
    let mut capabilities = json!({});
    let mut single: Option<Value> = None;
    for (server, res) in servers.iter().zip(results) {
        match res {
            Ok(link) => {
                let init = link.init_result();
                if scope.is_some() {
                    single = Some(init.clone());
                }
                merge_capabilities(&mut capabilities, init.get("capabilities"));
            }
            Err(e) => tracing::warn!(server, error = %e, "MCP backend unavailable at initialize"),
        }
    }
    let result = match (scope.as_deref(), single) {
        // One backend: its own answer, at the revision agreed with the client.
        (Some(_), Some(mut init)) => {
            init["protocolVersion"] = json!(version);
            init
        }
        (Some(server), None) => {
            let e = jsonrpc::error(id.clone(), jsonrpc::BACKEND_UNAVAILABLE, format!("MCP server `{server}` is unavailable"));
            rec.finish_error(state, 502, "backend_unavailable", &e, started);
            return json_status(StatusCode::BAD_GATEWAY, &e);
        }
        (None, _) => json!({
            "protocolVersion": version,
            "capabilities": capabilities,
            "serverInfo": {"name": "weir", "title": "Weir MCP gateway", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "Tools, prompts and resources of several MCP servers. Names are prefixed with their server: server__name.",
        }),
    };
    state.mcp.record_session(&session).await;
    state.mcp.sessions.insert(session.clone());
    state.mcp.cap_agent_sessions(&session, state.runtime.load().config.mcp.max_sessions_per_agent).await;
    // With shared sessions another replica may hold the client's stream: messages go to Redis
    // from the start. One Weir alone starts relaying them when the client first listens (an
    // idle session costs no task).
    if state.mcp.shared.is_some() {
        state.mcp.start_pump(&session);
    }
    // A client that can answer a backend's requests (sampling, elicitation, roots) will listen
    // for them: the backends' own streams are opened now, before the client's first call, so
    // that a request a backend sends on its stream meanwhile waits for the client's stream
    // instead of being sent to no one. (A client that answers nothing costs no backend stream
    // until it listens.)
    if answers_backend_requests(&session.client_params) {
        session.listen().await;
    }
    let answer = jsonrpc::result(id, result);
    rec.finish_ok(state, &answer, started);
    let mut r = json_response(&answer);
    if let Ok(v) = HeaderValue::from_str(&session.id) {
        r.headers_mut().insert("mcp-session-id", v);
    }
    r
}

/// Whether a client's `initialize` params declare that it answers requests from servers.
fn answers_backend_requests(params: &Value) -> bool {
    params.get("capabilities").and_then(Value::as_object).is_some_and(|c| ["sampling", "elicitation", "roots"].iter().any(|k| c.contains_key(*k)))
}

/// The aggregate's capabilities: what any backend offers, with list changes announced (Weir
/// forwards them) and logging always (Weir passes `logging/setLevel` to every backend).
fn merge_capabilities(into: &mut Value, caps: Option<&Value>) {
    let Some(caps) = caps.and_then(Value::as_object) else { return };
    for (k, v) in caps {
        match k.as_str() {
            "tools" | "prompts" => {
                into[k] = json!({"listChanged": true});
            }
            "resources" => {
                let subscribe = v.get("subscribe").and_then(Value::as_bool).unwrap_or(false) || into.pointer("/resources/subscribe").and_then(Value::as_bool).unwrap_or(false);
                into[k] = json!({"listChanged": true, "subscribe": subscribe});
            }
            "logging" | "completions" => {
                into[k] = json!({});
            }
            _ => {}
        }
    }
}

/// The first revision whose clients take a priming event (an id and no data) and poll: resume,
/// with `Last-Event-ID`, an answer stream the server ended before the response.
const POLLING_SINCE: &str = "2025-11-25";

/// Answers one client request: JSON when the backend's response came alone, SSE when the
/// backend sent related messages (its requests to the client, progress, logging) first, or
/// primed its answer stream for a client that polls. A request the client cancels gets no
/// response: its stream ends without one.
async fn answer_request(state: AppState, session: Arc<Session>, msg: Value, wants_sse: bool, headers: &HeaderMap, started: Instant) -> Response {
    let trace = trace_headers(headers);
    let (tx, mut rx) = mpsc::channel::<backend::Tagged>(SINK_CAPACITY);
    let id = jsonrpc::id(&msg);
    let (cancel, gone) = session.begin_request(&id);
    // Until the answer is out, the client going away (this handler or its stream dropped) is
    // said on `gone`.
    let gone = GoneOnDrop(Some(gone));
    // Revisions are dates: they compare as text.
    let polls = wants_sse && session.protocol_version.as_str() >= POLLING_SINCE;
    let (st, sess, call_id) = (state.clone(), session.clone(), id.clone());
    let mut call = tokio::spawn(async move {
        let answer = run_request(&st, &sess, msg, &tx, started, &trace).await;
        sess.end_request(&call_id);
        answer
    });
    // Wait for the response or the first related item that turns the answer into a stream,
    // whichever comes first; word of the backend's stream that does not is let go.
    let first = loop {
        let got = tokio::select! {
            biased;
            r = &mut call => Ok(r),
            () = cancel.cancelled() => return cancelled_response(wants_sse),
            m = rx.recv() => match m {
                Some(m) => Err(m),
                // The call dropped its sender: it has finished, or is about to.
                None => Ok((&mut call).await),
            },
        };
        match got {
            Err(m) if !opens_stream(&m.1, wants_sse, polls) => {}
            got => break got,
        }
    };
    match first {
        Ok(_) if cancel.is_cancelled() => gone.answered(cancelled_response(wants_sse)),
        Ok(Ok(answer)) => gone.answered(json_response(&answer)),
        Ok(Err(_)) => gone.answered(rpc_error(StatusCode::INTERNAL_SERVER_ERROR, Value::Null, jsonrpc::INTERNAL_ERROR, "internal error")),
        Err(first) if wants_sse => {
            let name = match &state.mcp.shared {
                Some(sh) => format!("{}.{}", sh.replica, session.next_seq()),
                None => session.next_seq().to_string(),
            };
            // A client resuming this stream here brings a backend stream that ended early back.
            session.name_request_stream(&id, &name);
            let store = state.mcp.streams.clone();
            let rec = Recorder { stream: store.request_stream(&session.id, &name), sh: state.mcp.shared.clone(), store, name };
            let stream = async_stream(session, first, rx, call, cancel, gone, rec, polls);
            sse_response(stream)
        }
        Err(first) => {
            // The client cannot take a stream: related messages go to its session stream (which
            // maps them for the client itself).
            let _ = session.unsolicited.try_send(first);
            let forward = tokio::spawn({
                let session = session.clone();
                async move {
                    while let Some(m) = rx.recv().await {
                        if matches!(m.1, Related::Message(_)) {
                            let _ = session.unsolicited.try_send(m);
                        }
                    }
                }
            });
            let answer = call.await;
            forward.abort();
            gone.answered(match answer {
                _ if cancel.is_cancelled() => cancelled_response(false),
                Ok(a) => json_response(&a),
                Err(_) => rpc_error(StatusCode::INTERNAL_SERVER_ERROR, Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"),
            })
        }
    }
}

/// Whether a request's related item, the first to come, turns its answer into an event stream:
/// a message does (one the client cannot take on a stream goes to its session's stream); a call
/// held for approval does for a client that takes streams; a backend's priming does for a
/// client that polls (it is primed in turn). A backend's stream that ends early before any of
/// these does not: the client holds a plain answer, and the link resumes the backend on its own.
fn opens_stream(item: &Related, wants_sse: bool, polls: bool) -> bool {
    match item {
        Related::Message(_) => true,
        Related::OpenStream => wants_sse,
        Related::Primed { .. } => polls,
        Related::Paused { .. } => false,
    }
}

/// Fires a request's `gone` token when dropped before the answer went out.
struct GoneOnDrop(Option<tokio_util::sync::CancellationToken>);

impl GoneOnDrop {
    /// The answer is out (or about to be): nobody went away.
    fn answered<T>(mut self, r: T) -> T {
        self.0 = None;
        r
    }
}

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// The caller's W3C trace headers and its agent session (`x-weir-session`), the only headers a
/// request's record reads.
fn trace_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in ["traceparent", "tracestate", "x-weir-session"] {
        if let Some(v) = headers.get(name) {
            out.insert(name, v.clone());
        }
    }
    out
}

/// The answer to a POST whose request the client cancelled: an event stream that ends at once,
/// without a response (a client that takes no stream gets 202 and no body).
fn cancelled_response(wants_sse: bool) -> Response {
    if wants_sse {
        sse_response(futures_util::stream::empty())
    } else {
        StatusCode::ACCEPTED.into_response()
    }
}

/// Where a request's answer is recorded, so that a client whose stream is cut resumes it with
/// `Last-Event-ID` (at any replica, with shared sessions).
struct Recorder {
    sh: Option<Arc<Shared>>,
    store: Arc<dyn StreamStore>,
    stream: String,
    name: String,
}

impl Recorder {
    /// A backend's message on the request's stream: mapped for the client and recorded.
    async fn related(&self, session: &Session, server: &str, m: Value) -> Option<Bytes> {
        let (text, id) = append_for_client(self.sh.as_deref(), &*self.store, session, server, m, &self.stream, false).await?;
        Some(self.event(&text, id))
    }

    /// Weir's priming event: an empty entry recorded (no message; a place in the stream that a
    /// `Last-Event-ID` names), sent with the `retry` the backend asked of its client. `None`
    /// when the store could not record it (nothing to resume from).
    async fn prime(&self, retry: Option<Duration>) -> Option<Bytes> {
        match self.store.append(&self.stream, "", false).await {
            Ok(entry) => Some(priming_event(&format!("{}/{entry}", self.name), retry)),
            Err(e) => {
                tracing::warn!(stream = %self.name, error = %e, "MCP stream not primed: the store could not record it");
                None
            }
        }
    }

    /// The response, recorded as the stream's last event.
    async fn answer(&self, answer: &Value) -> Bytes {
        let text = wire_text(answer);
        let id = self.store.append(&self.stream, &text, true).await.ok();
        self.event(&text, id)
    }

    /// The SSE event of a recorded message (`name/entry` is its id; none when the store could
    /// not keep it).
    fn event(&self, text: &str, entry: Option<String>) -> Bytes {
        match entry {
            Some(entry) => raw_event(&format!("{}/{entry}", self.name), text),
            None => message_event(text),
        }
    }
}

/// A priming event: an id to resume from, no message, and the reconnection delay if one is
/// known.
fn priming_event(id: &str, retry: Option<Duration>) -> Bytes {
    match retry {
        Some(r) => Bytes::from(format!("id: {id}\nretry: {}\ndata: \n\n", r.as_millis())),
        None => Bytes::from(format!("id: {id}\ndata: \n\n")),
    }
}

/// The client's end of a request's answer stream, while it is open.
struct ClientStream {
    out: Option<mpsc::Sender<Bytes>>,
    /// Fires if the client goes away before the answer; let go of once the answer is out, or
    /// Weir ended the stream for the client to resume.
    gone: Option<GoneOnDrop>,
    /// Whether the client was sent Weir's priming event.
    primed: bool,
}

impl ClientStream {
    fn here(&self) -> bool {
        self.out.is_some()
    }

    async fn send(&mut self, bytes: Bytes) {
        if let Some(out) = &self.out {
            if out.send(bytes).await.is_err() {
                self.left();
            }
        }
    }

    /// Resolves when the client goes away (never once its stream is ended).
    async fn closed(&self) {
        match &self.out {
            Some(out) => out.closed().await,
            None => std::future::pending().await,
        }
    }

    /// The client went away: `gone` fires (held approvals are abandoned).
    fn left(&mut self) {
        self.out = None;
        drop(self.gone.take());
    }

    /// Weir ends the stream, the client to resume it: not the client going away.
    fn end_for_resume(&mut self) {
        self.out = None;
        self.answered();
    }

    /// The answer is out, or will never be (cancelled): nobody went away.
    fn answered(&mut self) {
        if let Some(g) = self.gone.take() {
            g.answered(());
        }
    }

    /// Passes one related item on: a message recorded and sent; a backend's priming answered
    /// with Weir's own (once); a backend's stream ended early ends the client's, primed first
    /// so that it can resume it, while the message's recording goes on.
    async fn pass_on(&mut self, rec: &Recorder, session: &Session, item: backend::Tagged, polls: bool) {
        let (server, item) = *item;
        match item {
            Related::Message(m) => {
                if let Some(ev) = rec.related(session, &server, m).await {
                    self.send(ev).await;
                }
            }
            Related::OpenStream => {}
            Related::Primed { retry } => {
                if polls && !self.primed {
                    self.prime(rec, retry).await;
                }
            }
            Related::Paused { retry } => {
                if polls && self.here() {
                    if !self.primed {
                        self.prime(rec, Some(retry)).await;
                    }
                    if self.primed {
                        self.end_for_resume();
                    }
                }
            }
        }
    }

    async fn prime(&mut self, rec: &Recorder, retry: Option<Duration>) {
        if let Some(ev) = rec.prime(retry).await {
            self.primed = true;
            self.send(ev).await;
        }
    }
}

/// The SSE body of a request's answer: related messages as they come, then the response. Every
/// event is recorded, and the stream goes on to its response after the client went away, or
/// after Weir ended the client's stream because the backend ended its own early (the client
/// resumes it, and the backend's with it), so the client can resume it (at any replica, with
/// shared sessions).
#[expect(clippy::too_many_arguments, reason = "the parts of one answer, each moved into its task")]
fn async_stream(
    session: Arc<Session>,
    first: backend::Tagged,
    mut rx: mpsc::Receiver<backend::Tagged>,
    call: tokio::task::JoinHandle<Value>,
    cancel: tokio_util::sync::CancellationToken,
    gone: GoneOnDrop,
    rec: Recorder,
    polls: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(SINK_CAPACITY);
    tokio::spawn(async move {
        let mut call = call;
        let mut client = ClientStream { out: Some(out_tx), gone: Some(gone), primed: false };
        client.pass_on(&rec, &session, first, polls).await;
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        // Once every sender of related messages is gone, only the answer is left to wait for.
        let mut related_open = true;
        loop {
            tokio::select! {
                biased;
                // A cancelled request's stream ends without its response.
                () = cancel.cancelled() => {
                    client.answered();
                    return;
                }
                // The client went away: `gone` fires (held approvals are abandoned); the answer
                // is still recorded to its end, for a client that resumes it.
                () = client.closed(), if client.here() => client.left(),
                m = rx.recv(), if related_open => {
                    match m {
                        Some(item) => client.pass_on(&rec, &session, item, polls).await,
                        None => related_open = false,
                    }
                }
                answer = &mut call => {
                    if cancel.is_cancelled() {
                        client.answered();
                        return;
                    }
                    // Related messages sent before the response still go first.
                    while let Ok(item) = rx.try_recv() {
                        client.pass_on(&rec, &session, item, polls).await;
                    }
                    let answer = answer.unwrap_or_else(|_| jsonrpc::error(Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"));
                    // Recorded whether or not the client is still there.
                    let ev = rec.answer(&answer).await;
                    client.answered();
                    client.send(ev).await;
                    return;
                }
                _ = keepalive.tick(), if client.here() => {
                    client.send(Bytes::from_static(b": keepalive\n\n")).await;
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(out_rx).map(Ok)
}

/// An SSE event of a message already written out.
fn message_event(text: &str) -> Bytes {
    Bytes::from(format!("event: message\ndata: {text}\n\n"))
}

fn sse_response<S>(stream: S) -> Response
where
    S: futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
{
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Runs a request (anything but `initialize`) and returns the response message for the client.
async fn run_request(state: &AppState, session: &Arc<Session>, msg: Value, related: &Sink, started: Instant, trace_headers: &HeaderMap) -> Value {
    let id = jsonrpc::id(&msg);
    let method = jsonrpc::method(&msg).to_string();
    let rt = state.runtime.load_full();
    let mut rec = McpRecord::begin(state, session, &msg, trace_headers, None);
    let outcome: Result<Value, (u16, &'static str, Value)> = match method.as_str() {
        "ping" => Ok(jsonrpc::result(id.clone(), json!({}))),
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => list(state, session, &msg, &rt.config.mcp, &mut rec).await,
        "tools/call" => call_tool(state, session, msg, related, &rt.config.mcp, &mut rec).await,
        "prompts/get" => forward_named(state, session, msg, related, "/params/name", Check::Use, &mut rec).await,
        "resources/read" | "resources/subscribe" => forward_uri(state, session, msg, related, "/params/uri", Check::Use, &mut rec).await,
        // Ending a subscription needs no rule: it only stops what was allowed when it began.
        "resources/unsubscribe" => forward_uri(state, session, msg, related, "/params/uri", Check::None, &mut rec).await,
        // A completion follows the rule of the prompt or template it completes an argument of.
        "completion/complete" => match msg.pointer("/params/ref/type").and_then(Value::as_str) {
            Some("ref/resource") => forward_uri(state, session, msg, related, "/params/ref/uri", Check::Complete, &mut rec).await,
            Some("ref/prompt") => forward_named(state, session, msg, related, "/params/ref/name", Check::Complete, &mut rec).await,
            _ => Err((200, "invalid_params", jsonrpc::error(id.clone(), jsonrpc::INVALID_PARAMS, "completion/complete needs a ref of type ref/prompt or ref/resource"))),
        },
        "logging/setLevel" => set_level(state, session, msg, related).await,
        _ => match &session.scope {
            // On one server's endpoint any other method is that server's business, once a rule
            // allows it (by its `server__method` name).
            Some(server) => {
                let server = server.clone();
                let full = names::prefixed(&server, &method);
                match authorize(&rt.config.mcp, session, policy::Target::Method(&full), &Value::Null, Check::Use, &id, &mut rec) {
                    Ok(()) => forward(state, session, &server, msg, related, &mut rec).await,
                    Err(e) => Err(e),
                }
            }
            None => Err((200, "method_not_found", jsonrpc::error(id.clone(), jsonrpc::METHOD_NOT_FOUND, format!("method `{method}` is not supported on the aggregate endpoint")))),
        },
    };
    match outcome {
        Ok(answer) => {
            rec.finish_ok(state, &answer, started);
            answer
        }
        Err((status, error_type, answer)) => {
            rec.finish_error(state, status, error_type, &answer, started);
            answer
        }
    }
}

type Outcome = Result<Value, (u16, &'static str, Value)>;

fn backend_failure(id: Value, e: &BackendError) -> (u16, &'static str, Value) {
    let ty = match e {
        BackendError::Timeout(_) => "backend_timeout",
        BackendError::TooLarge(..) => "backend_message_too_large",
        _ => "backend_unavailable",
    };
    (502, ty, jsonrpc::error(id, jsonrpc::BACKEND_UNAVAILABLE, e.to_string()))
}

/// Sends `msg` to `server` and returns its response with the client's id. A request the client
/// cancels stops waiting (the backend was told by then).
async fn forward(state: &AppState, session: &Arc<Session>, server: &str, mut msg: Value, related: &Sink, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    rec.propagate(&mut msg);
    session.streams_open().await;
    let link = state.mcp.link(session, server).await.map_err(|e| backend_failure(id.clone(), &e))?;
    rec.set_backend(server, link.backend_session());
    let (cancel, tracked_here) = session.route_request(&id, server);
    let res = tokio::select! {
        r = link.request_resumable(msg, related, session.client_back(&id)) => Some(r),
        () = cancel.cancelled() => None,
    };
    if tracked_here {
        session.end_request(&id);
    }
    // The backend session that answered: a new one when the link had to initialise again
    // (then recorded for the other replicas).
    rec.set_backend(server, link.backend_session());
    state.mcp.publish_backend(session, server, &link).await;
    let Some(res) = res else {
        return Err((499, "cancelled", jsonrpc::error(id, jsonrpc::REQUEST_CANCELLED, "cancelled by the client")));
    };
    let mut answer = res.map_err(|e| backend_failure(id.clone(), &e))?;
    answer["id"] = id;
    if jsonrpc::error_of(&answer).is_some() {
        return Err((200, "backend_error", answer));
    }
    Ok(answer)
}

/// Which server a name or URI belongs to on this session's endpoint, and the backend's own name.
fn resolve<'a>(session: &Session, value: &'a str, uri: bool) -> Option<(String, &'a str)> {
    match &session.scope {
        Some(s) => Some((s.clone(), value)),
        None => {
            let (server, rest) = if uri { names::split_uri(value)? } else { names::split(value)? };
            Some((server.to_string(), rest))
        }
    }
}

/// How a request that names a prompt or resource is checked against the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Getting a prompt, reading or subscribing to a resource: decided by the rules (argument
    /// constraints included).
    Use,
    /// Completing an argument: allowed when a rule could allow the prompt or template.
    Complete,
    /// Needs no rule.
    None,
}

/// Decides a request by the rules; the refusal, when it is one, says why.
fn authorize(cfg: &McpConfig, session: &Session, target: policy::Target<'_>, args: &Value, check: Check, id: &Value, rec: &mut McpRecord) -> Result<(), (u16, &'static str, Value)> {
    let (agent, user) = (&session.principal.agent_name, session.principal.end_user.as_deref());
    let decision = match check {
        Check::None => return Ok(()),
        Check::Use => policy::decide(&cfg.rules, target, agent, user, args),
        Check::Complete if cfg.rules.is_empty() => policy::Decision::Allow { rule: None },
        Check::Complete => match policy::applying_rule(&cfg.rules, target, agent, user) {
            Some(rule) => policy::Decision::Allow { rule: Some(rule) },
            None => policy::decide(&cfg.rules, target, agent, user, args),
        },
    };
    rec.set_decision(&decision);
    match decision {
        Decision::Deny { rule, reason } => Err(denied_by_policy(id.clone(), rule, reason)),
        Decision::Allow { .. } | Decision::NeedsApproval { .. } => Ok(()),
    }
}

/// A resource URI as rules name it: `server+uri`, the URI normalised (`None`: it cannot be).
fn rule_uri(server: &str, uri: &str) -> Option<String> {
    policy::normalize_uri(uri).map(|u| names::prefixed_uri(server, &u))
}

async fn forward_named(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, pointer: &str, check: Check, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    let name = msg.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string();
    let Some((server, inner)) = resolve(session, &name, false).filter(|(s, inner)| state.mcp.knows(s) && !inner.is_empty()) else {
        return Err((200, "unknown_name", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("unknown name `{}`", crate::audit::clip(&name)))));
    };
    let inner = inner.to_string();
    let full = names::prefixed(&server, &inner);
    let args = msg.pointer("/params/arguments").cloned().unwrap_or_else(|| json!({}));
    authorize(&state.runtime.load().config.mcp, session, policy::Target::Prompt(&full), &args, check, &id, rec)?;
    if let Some(v) = msg.pointer_mut(pointer) {
        *v = json!(inner);
    }
    forward(state, session, &server, msg, related, rec).await
}

async fn forward_uri(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, pointer: &str, check: Check, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    let uri = msg.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string();
    let Some((server, inner)) = resolve(session, &uri, true).filter(|(s, inner)| state.mcp.knows(s) && !inner.is_empty()) else {
        return Err((200, "unknown_resource", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("unknown resource `{}`", crate::audit::clip(&uri)))));
    };
    let inner = inner.to_string();
    let cfg = &state.runtime.load().config.mcp;
    if check != Check::None && !cfg.rules.is_empty() {
        // Decided on what the URI means once escapes and dot segments are resolved; the
        // backend gets it as the client wrote it.
        let template = check == Check::Complete;
        let named = if template { Some(names::prefixed_uri(&server, &inner)) } else { rule_uri(&server, &inner) };
        let Some(named) = named else {
            let reason = format!("denied by policy: the URI `{}` cannot be read as a path (an escape or `..` that leaves its root)", crate::audit::clip(&uri));
            rec.set_decision(&Decision::Deny { rule: None, reason: reason.clone() });
            return Err(denied_by_policy(id, None, reason));
        };
        let target = if template { policy::Target::Template(&named) } else { policy::Target::Resource(&named) };
        authorize(cfg, session, target, &Value::Null, check, &id, rec)?;
    }
    if let Some(v) = msg.pointer_mut(pointer) {
        *v = json!(inner);
    }
    let mut answer = forward(state, session, &server, msg, related, rec).await?;
    if session.scope.is_none() {
        if let Some(r) = answer.get_mut("result") {
            names::prefix_uris(&server, r);
        }
    }
    Ok(answer)
}

/// `logging/setLevel` goes to every backend of the session.
async fn set_level(state: &AppState, session: &Arc<Session>, msg: Value, related: &Sink) -> Outcome {
    let id = jsonrpc::id(&msg);
    for server in state.mcp.servers_of(session) {
        if let Ok(link) = state.mcp.link(session, &server).await {
            let mut m = msg.clone();
            m["id"] = json!(format!("weir-level-{}", uuid::Uuid::new_v4().simple()));
            if let Err(e) = link.request(m, related).await {
                tracing::debug!(server, error = %e, "logging/setLevel not delivered");
            }
            state.mcp.publish_backend(session, &server, &link).await;
        }
    }
    Ok(jsonrpc::result(id, json!({})))
}

/// A list method. On the aggregate, every backend's page in one answer (names prefixed, tools
/// filtered by policy), fetched in parallel; the cursor carries the backends that have more, so
/// a client that never pages still sees every backend's first page. On one server's endpoint,
/// that server's page and cursor as they are, tools filtered by policy.
async fn list(state: &AppState, session: &Arc<Session>, msg: &Value, cfg: &McpConfig, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(msg);
    let method = jsonrpc::method(msg).to_string();
    let field = match method.as_str() {
        "tools/list" => "tools",
        "prompts/list" => "prompts",
        "resources/list" => "resources",
        _ => "resourceTemplates",
    };
    let servers = state.mcp.servers_of(session);
    let cursor = msg.pointer("/params/cursor").and_then(Value::as_str);
    let targets: Vec<(usize, Option<String>)> = match (cursor, &session.scope) {
        (None, _) => (0..servers.len()).map(|i| (i, None)).collect(),
        (Some(c), Some(_)) => vec![(0, Some(c.to_string()))],
        (Some(c), None) => match names::decode_cursor(c) {
            Some(pending) if pending.iter().all(|(i, _)| *i < servers.len()) => pending.into_iter().map(|(i, c)| (i, Some(c))).collect(),
            _ => return Err((200, "invalid_cursor", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, "invalid cursor"))),
        },
    };
    let pages = futures_util::future::join_all(targets.iter().map(|(i, inner)| list_page(state, session, &servers[*i], &method, inner.as_deref()))).await;
    let mut items = Vec::new();
    let mut pending = Vec::new();
    for ((index, _), page) in targets.iter().zip(pages) {
        let server = &servers[*index];
        let result = match page {
            Ok((result, backend_session)) => {
                rec.set_backend(server, backend_session);
                result
            }
            // One server's endpoint says what went wrong; the aggregate leaves that backend out.
            Err(PageError::Refused(mut ans)) if session.scope.is_some() => {
                ans["id"] = id;
                return Err((200, "backend_error", ans));
            }
            Err(PageError::Unavailable(e)) if session.scope.is_some() => return Err(backend_failure(id, &e)),
            Err(PageError::Refused(_)) => {
                tracing::debug!(server, method, "backend refused a list; left out");
                continue;
            }
            Err(PageError::Unavailable(e)) => {
                tracing::warn!(server, error = %e, "MCP backend unavailable; its {field} are left out");
                continue;
            }
        };
        let mut page_items: Vec<Value> = result.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
        if field == "tools" {
            // Every definition is learned (scanned, pinned) whoever asks; what the server's
            // action withholds is left out.
            let listed = state.mcp.tools.learn(server, cfg.suspicious_tools(server), &page_items).await;
            let mut listed = listed.into_iter();
            page_items.retain(|_| listed.next().unwrap_or(false));
        }
        if !cfg.rules.is_empty() {
            // Only what the agent may use is listed.
            let (agent, user) = (&session.principal.agent_name, session.principal.end_user.as_deref());
            page_items.retain(|item| {
                let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
                match field {
                    "tools" => policy::may_see(&cfg.rules, policy::Target::Tool(&names::prefixed(server, text("name"))), agent, user),
                    "prompts" => policy::may_see(&cfg.rules, policy::Target::Prompt(&names::prefixed(server, text("name"))), agent, user),
                    "resources" => rule_uri(server, text("uri")).is_some_and(|u| policy::may_see(&cfg.rules, policy::Target::Resource(&u), agent, user)),
                    _ => policy::may_see(&cfg.rules, policy::Target::Template(&names::prefixed_uri(server, text("uriTemplate"))), agent, user),
                }
            });
        }
        if session.scope.is_none() {
            for it in &mut page_items {
                if let Some(Value::String(n)) = it.get_mut("name") {
                    if field == "tools" || field == "prompts" {
                        *n = names::prefixed(server, n);
                    }
                }
                if field == "resources" || field == "resourceTemplates" {
                    names::prefix_uris(server, it);
                }
            }
        }
        if let Some(next) = result.get("nextCursor").and_then(Value::as_str) {
            pending.push((*index, next.to_string()));
        }
        items.extend(page_items);
    }
    let mut out = json!({ field: items });
    match (&session.scope, pending.as_slice()) {
        (_, []) => {}
        (Some(_), [(_, next)]) => out["nextCursor"] = json!(next),
        _ => out["nextCursor"] = json!(names::encode_cursor(&pending)),
    }
    Ok(jsonrpc::result(id, out))
}

enum PageError {
    /// The backend answered with a JSON-RPC error (the whole answer).
    Refused(Value),
    Unavailable(BackendError),
}

/// One backend's page of a list, and its backend session.
async fn list_page(state: &AppState, session: &Arc<Session>, server: &str, method: &str, cursor: Option<&str>) -> Result<(Value, Option<String>), PageError> {
    let mut req = jsonrpc::request(json!(format!("weir-list-{}", uuid::Uuid::new_v4().simple())), method, json!({}));
    if let Some(c) = cursor {
        req["params"]["cursor"] = json!(c);
    }
    let link = state.mcp.link(session, server).await.map_err(PageError::Unavailable)?;
    let (tx, _rx) = mpsc::channel(SINK_CAPACITY);
    let ans = link.request(req, &tx).await.map_err(PageError::Unavailable)?;
    state.mcp.publish_backend(session, server, &link).await;
    if jsonrpc::error_of(&ans).is_some() {
        return Err(PageError::Refused(ans));
    }
    Ok((ans.get("result").cloned().unwrap_or_else(|| json!({})), link.backend_session()))
}

/// A call no rule allows (or whose rule's constraint failed): says which rule, never which
/// other tools exist.
fn denied_by_policy(id: Value, rule: Option<usize>, reason: String) -> (u16, &'static str, Value) {
    (403, "denied_by_policy", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, reason, json!({"reason": "policy", "rule": rule})))
}

/// A call to a tool whose definition its server's action withholds.
fn tool_withheld(id: Value, name: &str, why: &str) -> (u16, &'static str, Value) {
    (403, "tool_withheld", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, format!("tool `{name}` is withheld: {why}"), json!({"reason": "tool_withheld"})))
}

/// `tools/call`: the tool must exist as the backend lists it, and policy must allow the call.
async fn call_tool(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, cfg: &McpConfig, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    let name = msg.pointer("/params/name").and_then(Value::as_str).unwrap_or("").to_string();
    let unknown = |id: Value| (200, "unknown_tool", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("unknown tool `{}`", crate::audit::clip(&name))));
    let Some((server, tool)) = resolve(session, &name, false).filter(|(s, tool)| state.mcp.knows(s) && !tool.is_empty()) else {
        return Err(unknown(id));
    };
    let tool = tool.to_string();
    let full = names::prefixed(&server, &tool);
    rec.set_tool(&server, &full);
    let args = msg.pointer("/params/arguments").cloned().unwrap_or_else(|| json!({}));
    let decision = policy::decide(&cfg.rules, policy::Target::Tool(&full), &session.principal.agent_name, session.principal.end_user.as_deref(), &args);
    rec.set_decision(&decision);
    let action = cfg.suspicious_tools(&server);
    match &decision {
        Decision::Deny { rule, reason } => return Err(denied_by_policy(id, *rule, reason.clone())),
        Decision::Allow { .. } | Decision::NeedsApproval { .. } => {}
    }
    // A tool whose definition is withheld is refused before anyone is asked to approve it.
    let mut verdict = state.mcp.tools.verdict(&server, &tool, action);
    if verdict == Verdict::Unknown {
        // Not seen listed yet: the server's tools are listed again (once, however many calls
        // ask at the same time), unless they were listed for an unknown name a moment ago.
        let mut last = state.mcp.relists.turn(&server).await;
        verdict = state.mcp.tools.verdict(&server, &tool, action);
        if verdict == Verdict::Unknown && !last.recent(cfg.unknown_tool_relist) {
            let listed = learn_tools(state, session, &server, action).await;
            last.note(listed);
            verdict = state.mcp.tools.verdict(&server, &tool, action);
        }
    }
    match verdict {
        Verdict::Allowed => {}
        Verdict::Withheld(why) => return Err(tool_withheld(id, &name, &why)),
        // Not among the backend's tools (or the backend cannot say): not callable here.
        Verdict::Unknown => return Err(unknown(id)),
    }
    if let Decision::NeedsApproval { rule } = decision {
        hold_for_approval(state, session, &msg, &server, &full, &args, rule, related, cfg, rec).await?;
        // The wait may have been long: the rules (a reload), the tool's definition and the
        // agent's key are what they are now, not what they were.
        let rt = state.runtime.load_full();
        let cfg = &rt.config.mcp;
        if let Decision::Deny { rule, reason } = policy::decide(&cfg.rules, policy::Target::Tool(&full), &session.principal.agent_name, session.principal.end_user.as_deref(), &args) {
            return Err(denied_by_policy(id, rule, reason));
        }
        if let Verdict::Withheld(why) = state.mcp.tools.verdict(&server, &tool, cfg.suspicious_tools(&server)) {
            return Err(tool_withheld(id, &name, &why));
        }
        if let Some(key_id) = &session.principal.key_id {
            if !state.keys.is_active(key_id) {
                return Err((401, "key_revoked", jsonrpc::error(id, jsonrpc::UNAUTHORIZED, "the agent's key was revoked while the call waited for approval")));
            }
        }
    }
    if let Some(v) = msg.pointer_mut("/params/name") {
        *v = json!(tool);
    }
    let mut answer = forward(state, session, &server, msg, related, rec).await?;
    if session.scope.is_none() {
        if let Some(r) = answer.get_mut("result") {
            names::prefix_uris(&server, r);
        }
    }
    if answer.pointer("/result/isError").and_then(Value::as_bool) == Some(true) {
        return Err((200, "tool_error", answer));
    }
    Ok(answer)
}

/// Learns every tool `server` lists (all pages), through this session's link: for a call to a
/// tool Weir has not seen listed yet. True when the whole list was read.
async fn learn_tools(state: &AppState, session: &Arc<Session>, server: &str, action: SuspiciousTools) -> bool {
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        match list_page(state, session, server, "tools/list", cursor.as_deref()).await {
            Ok((result, _)) => {
                let tools: Vec<Value> = result.get("tools").and_then(Value::as_array).cloned().unwrap_or_default();
                state.mcp.tools.learn(server, action, &tools).await;
                match result.get("nextCursor").and_then(Value::as_str) {
                    Some(next) => cursor = Some(next.to_string()),
                    None => return true,
                }
            }
            Err(_) => {
                tracing::warn!(server, "cannot list the backend's tools to check the one called");
                return false;
            }
        }
    }
    false
}

/// Holds a call for a person's approval: recorded as pending, the client's answer turned into
/// an event stream kept open with keep-alives, until it is approved (`Ok`: the call goes on),
/// denied, expires, or the client cancels or goes away.
#[allow(clippy::too_many_arguments)]
async fn hold_for_approval(
    state: &AppState,
    session: &Arc<Session>,
    msg: &Value,
    server: &str,
    full: &str,
    args: &Value,
    rule: usize,
    related: &Sink,
    cfg: &McpConfig,
    rec: &mut McpRecord,
) -> Result<(), (u16, &'static str, Value)> {
    let id = jsonrpc::id(msg);
    let approval_id = uuid::Uuid::now_v7().to_string();
    // The answer becomes an event stream without sending anything.
    let _ = related.try_send(Box::new((Arc::from(server), Related::OpenStream)));
    if let Some(token) = msg.pointer("/params/_meta/progressToken") {
        let note = jsonrpc::notification(
            "notifications/progress",
            json!({"progressToken": token, "progress": 0, "message": format!("waiting for a person to approve this call (approval {approval_id})")}),
        );
        let _ = related.try_send(Box::new((Arc::from(server), Related::Message(note))));
    }
    let (cancel, gone) = session.request_tokens(&id);
    let new = NewApproval {
        id: &approval_id,
        expires_at: crate::store::now_ms() + i64::try_from(cfg.approval_timeout.as_millis()).unwrap_or(i64::MAX / 2),
        agent_id: Some(&session.principal.agent_id),
        agent_name: Some(&session.principal.agent_name),
        end_user: session.principal.end_user.as_deref(),
        // The agent session the call belongs to, as its own record names it.
        session_id: rec.session_id(),
        server,
        tool: full,
        arguments: args,
        rule: i64::try_from(rule).ok(),
    };
    tracing::info!(approval = %approval_id, tool = full, agent = %session.principal.agent_name, "MCP tool call held for approval");
    let waiting = Instant::now();
    let (held, settled_here) = state.mcp.approvals.hold(&state.store, &new, cfg.approval_timeout, &cancel, &gone).await;
    rec.set_approval_wait(waiting.elapsed());
    let data = |row: &crate::store::ApprovalRow, reason: &str| {
        json!({"reason": reason, "approval_id": row.id, "rule": rule, "decided_by": row.decided_by, "message": row.reason})
    };
    match held {
        Held::Approved(row) => {
            rec.set_approval(&row.id, "approved");
            Ok(())
        }
        Held::Denied(row) => {
            rec.set_approval(&row.id, "denied");
            let by = row.decided_by.as_deref().unwrap_or("an operator");
            let message = match row.reason.as_deref() {
                Some(r) if !r.is_empty() => format!("the call to `{full}` was denied by {by}: {r}"),
                _ => format!("the call to `{full}` was denied by {by}"),
            };
            Err((403, "approval_denied", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, message, data(&row, "approval_denied"))))
        }
        Held::Expired(row) => {
            rec.set_approval(&row.id, "expired");
            if settled_here {
                record::record_decision(state, &row, Some(rec.context()));
            }
            let message = format!("the call to `{full}` was not approved within {} s and has expired", cfg.approval_timeout.as_secs());
            Err((408, "approval_expired", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, message, data(&row, "approval_expired"))))
        }
        Held::Abandoned(row, here) => {
            rec.set_approval(&row.id, "abandoned");
            if here {
                record::record_decision(state, &row, Some(rec.context()));
            }
            Err((499, "cancelled", jsonrpc::error(id, jsonrpc::REQUEST_CANCELLED, "cancelled by the client while waiting for approval")))
        }
        Held::Unavailable(e) => {
            tracing::error!(error = %e, tool = full, "cannot hold a call for approval");
            Err((503, "approval_unavailable", jsonrpc::error(id, jsonrpc::INTERNAL_ERROR, "the call needs approval, and approvals cannot be recorded right now; try again")))
        }
    }
}

/// A notification from the client: cancellation goes to the backend that has the request;
/// others go to every linked backend (Weir itself sent `initialized` to each already).
async fn client_notification(state: &AppState, session: &Arc<Session>, msg: Value) {
    let method = jsonrpc::method(&msg).to_string();
    match method.as_str() {
        "notifications/initialized" => {}
        "notifications/cancelled" => {
            let Some(req_id) = msg.pointer("/params/requestId").cloned() else { return };
            let reason = msg.pointer("/params/reason").and_then(Value::as_str).map(str::to_string);
            // The backend hears of it before Weir stops waiting for its answer (a stdio link
            // finds the backend's id of the request among those it waits for).
            if let Some(server) = session.inflight_server(&req_id) {
                if let Some(link) = session.link(&server).await {
                    link.cancel(&req_id, reason.as_deref()).await;
                }
            }
            session.cancel_request(&req_id);
        }
        _ => {
            let links: Vec<Arc<Link>> = session.links.read().await.values().cloned().collect();
            for link in links {
                if let Err(e) = link.send(msg.clone()).await {
                    tracing::debug!(server = %link.server(), error = %e, "notification not delivered");
                }
            }
        }
    }
    let _ = state;
}

/// GET: the session's own stream of backend messages not tied to a request.
async fn handle_get(state: AppState, scope: Option<String>, headers: HeaderMap) -> Response {
    let rt = state.runtime.load_full();
    let cfg = &rt.config.mcp;
    if let Some(r) = origin_refused(&headers, cfg, rt.config.listen) {
        return r;
    }
    if !accepts_sse(&headers) {
        return rpc_error(StatusCode::NOT_ACCEPTABLE, Value::Null, jsonrpc::INVALID_REQUEST, "GET /mcp needs Accept: text/event-stream");
    }
    let caller = match caller(&state, &headers, cfg).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let session = match find_session(&state, &scope, &headers, &caller).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    stream_get(&state, session, &headers).await
}

/// How long one read of a stream waits before the stream says it is alive.
const STREAM_POLL: Duration = Duration::from_secs(5);

/// GET: the session's own stream, from where the client's `Last-Event-ID` says (or where its
/// last GET stopped); with the id of an event of a request's answer, the rest of that answer.
async fn stream_get(state: &AppState, session: Arc<Session>, headers: &HeaderMap) -> Response {
    let sh = state.mcp.streams.clone();
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    // An id Weir never gave (a request's stream is `name/entry`, the session's `entry`).
    if let Some(l) = &last {
        let ok = match l.split_once('/') {
            // `n`, or `replica.n` with shared sessions.
            Some((name, entry)) => name.len() <= 64 && name.split('.').count() <= 2 && name.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())) && sh.valid_id(entry),
            None => sh.valid_id(l),
        };
        if !ok {
            return rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::INVALID_REQUEST, format!("Last-Event-ID `{}` is not an event id this session was sent", l.chars().take(80).collect::<String>()));
        }
    }
    let closing = state.mcp.closing.clone();
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(SINK_CAPACITY);
    if let Some((name, after)) = last.as_deref().and_then(|l| l.split_once('/')) {
        // The client is back for its answer: a backend stream that ended early for it to come
        // back is resumed now, not after the backend's `retry`.
        session.client_resumed(name);
        let (stream, name, after) = (sh.request_stream(&session.id, name), name.to_string(), after.to_string());
        tokio::spawn(async move {
            let Ok(mut reader) = sh.reader().await else { return };
            let mut pos = after;
            loop {
                let read = tokio::select! {
                    () = closing.cancelled() => return,
                    () = out_tx.closed() => return,
                    r = reader.read(&stream, &pos, STREAM_POLL) => r,
                };
                let Ok(events) = read else { return };
                if events.is_empty() {
                    // Past the replay window: nothing more will come on it.
                    if matches!(sh.exists(&stream).await, Ok(false)) {
                        return;
                    }
                    if out_tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                        return;
                    }
                    continue;
                }
                for ev in events {
                    pos.clone_from(&ev.id);
                    // An empty entry is a place in the stream (Weir's priming), not a message.
                    if ev.data.is_empty() {
                        continue;
                    }
                    if out_tx.send(raw_event(&format!("{name}/{}", ev.id), &ev.data)).await.is_err() {
                        return;
                    }
                    // The answer ends the request's stream.
                    if ev.last {
                        return;
                    }
                }
            }
        });
        return sse_response(tokio_stream::wrappers::ReceiverStream::new(out_rx).map(Ok));
    }
    state.mcp.start_pump(&session);
    // The session's own stream: the backends' streams are opened from here. With shared
    // sessions this replica links every backend first (one already holding a backend's stream
    // keeps it, and its messages come through Redis all the same).
    if state.mcp.shared.is_some() {
        let servers = state.mcp.servers_of(&session);
        let _ = futures_util::future::join_all(servers.iter().map(|s| state.mcp.link(&session, s))).await;
    }
    session.listen().await;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let cursor = match sh.claim_listener(&session.id, &token).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(session = %session.id, error = %e, "MCP session stream unavailable");
            return rpc_error(StatusCode::SERVICE_UNAVAILABLE, Value::Null, jsonrpc::INTERNAL_ERROR, "the MCP session store (Redis) is unreachable; try again");
        }
    };
    let stream = sh.session_stream(&session.id);
    let ended = session.ended.clone();
    tokio::spawn(async move {
        let Ok(mut reader) = sh.reader().await else { return };
        let mut pos = last.or(cursor).unwrap_or_else(|| "0".to_string());
        loop {
            let read = tokio::select! {
                () = closing.cancelled() => return,
                () = ended.cancelled() => return,
                () = out_tx.closed() => return,
                r = reader.read(&stream, &pos, STREAM_POLL) => r,
            };
            let events = match read {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(session = %session.id, error = %e, "MCP session stream read failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // A newer GET took the stream (the client reconnected, here or elsewhere): this one
            // ends, before sending anything the newer one sends too.
            if matches!(sh.still_listener(&session.id, &token, None).await, Ok(false)) {
                return;
            }
            if events.is_empty() {
                session.touch();
                if out_tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                    return;
                }
                continue;
            }
            for ev in &events {
                if out_tx.send(raw_event(&ev.id, &ev.data)).await.is_err() {
                    return;
                }
                pos.clone_from(&ev.id);
            }
            // Where a GET without Last-Event-ID picks up.
            let _ = sh.still_listener(&session.id, &token, Some(&pos)).await;
        }
    });
    sse_response(tokio_stream::wrappers::ReceiverStream::new(out_rx).map(Ok))
}

/// An SSE event whose data is already JSON text.
fn raw_event(id: &str, data: &str) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: message\ndata: {data}\n\n"))
}

/// DELETE: ends the session and its backend sessions.
async fn handle_delete(state: AppState, scope: Option<String>, headers: HeaderMap) -> Response {
    let rt = state.runtime.load_full();
    let cfg = &rt.config.mcp;
    if let Some(r) = origin_refused(&headers, cfg, rt.config.listen) {
        return r;
    }
    let caller = match caller(&state, &headers, cfg).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let session = match find_session(&state, &scope, &headers, &caller).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    state.mcp.sessions.remove(&session.id);
    state.mcp.streams.forget(&session.id).await;
    if let Some(sh) = &state.mcp.shared {
        if let Err(e) = sh.leave_agent(&session.principal.agent_id, &session.id).await {
            tracing::warn!(session = %session.id, error = %e, "ended MCP session still counted among its agent's until it is the oldest");
        }
    }
    session.close().await;
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(hosts: &[&str], origins: &[&str]) -> McpConfig {
        let mut c = crate::config::Config::from_toml("", &crate::config::Env::default()).unwrap().mcp;
        c.allowed_hosts = hosts.iter().map(|s| s.to_string()).collect();
        c.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
        c
    }

    fn req(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    fn refused(host: &str, origin: Option<&str>, c: &McpConfig, listen: &str) -> bool {
        origin_refused(&req(host, origin), c, listen.parse().unwrap()).is_some()
    }

    #[test]
    fn a_loopback_listener_answers_only_to_loopback_names() {
        let c = cfg(&[], &[]);
        let l = "127.0.0.1:4000";
        assert!(!refused("localhost:4000", None, &c, l));
        assert!(!refused("127.0.0.1:4000", None, &c, l));
        assert!(!refused("[::1]:4000", None, &c, l));
        assert!(!refused("LOCALHOST", None, &c, l));
        // A rebound name, even when its page's Origin matches it.
        assert!(refused("evil.example.com", Some("http://evil.example.com"), &c, l));
        assert!(refused("evil.example.com:4000", None, &c, l));
        assert!(refused("localhost.evil.example.com", None, &c, l));
        assert!(refused("127.0.0.1.evil.example.com:4000", None, &c, l));
    }

    #[test]
    fn browser_origins_must_be_loopback_allowed_hosts_or_listed() {
        let c = cfg(&["weir.internal"], &["https://app.example.com"]);
        let l = "0.0.0.0:4000";
        assert!(!refused("weir.internal:4000", None, &c, l));
        assert!(!refused("weir.internal:4000", Some("http://localhost:3000"), &c, l));
        assert!(!refused("weir.internal:4000", Some("https://weir.internal"), &c, l));
        assert!(!refused("weir.internal:4000", Some("https://app.example.com"), &c, l));
        assert!(refused("weir.internal:4000", Some("https://evil.example.com"), &c, l));
        assert!(refused("weir.internal:4000", Some("https://app.example.com.evil.net"), &c, l));
        assert!(refused("weir.internal:4000", Some("null"), &c, l));
        // Listed hosts bind the Host header on any listener.
        assert!(refused("other.internal", None, &c, l));
    }

    #[test]
    fn a_public_listener_without_allowed_hosts_takes_any_name_but_not_any_origin() {
        let c = cfg(&[], &[]);
        let l = "0.0.0.0:4000";
        assert!(!refused("weir.example.com", None, &c, l));
        assert!(refused("weir.example.com", Some("https://weir.example.com"), &c, l));
        assert!(!refused("weir.example.com", Some("https://weir.example.com"), &cfg(&[], &["*"]), l));
    }
}
