//! Weir's MCP sessions: the `Mcp-Session-Id` Weir issues, who holds it, and its backend links.
//!
//! A session is created by `initialize`, lives while it is used, and expires after
//! `mcp.session_idle_secs` without a request (its backend sessions are ended then, as on
//! `DELETE`). Sessions live behind [`SessionMap`], a trait, so that a shared store can hold
//! them for several replicas; the in-process map is the one this build provides.
//!
//! Ids of the backends' requests to the client are rewritten here, so that two backends'
//! request ids never meet on the client's side, and mapped back when the client answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use super::backend::{Link, Sink, SINK_CAPACITY};
use crate::jsonrpc::{self, Kind};
use super::names;
use super::shared::{BackendRecord, PendingRequest, SessionRecord};
use crate::store::now_ms;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A client request in flight: the backend it went to (once routed) and what ends it when the
/// client cancels it.
struct Inflight {
    server: Option<String>,
    cancel: CancellationToken,
    /// Fires when the client stops waiting for the answer (its connection went away): only a
    /// call held for approval acts on it (it is abandoned); other calls carry on, as the spec
    /// says a disconnection is not a cancellation.
    gone: CancellationToken,
    /// Notified when the client resumes the request's answer stream (`Last-Event-ID`): a
    /// backend stream that ended early is resumed then (see `Related::Paused`).
    client_back: Arc<Notify>,
    /// The name of the request's answer stream, once it has one.
    stream: Option<String>,
}

impl Inflight {
    fn new(server: Option<String>, cancel: CancellationToken, gone: CancellationToken) -> Self {
        Self { server, cancel, gone, client_back: Arc::new(Notify::new()), stream: None }
    }
}

/// The longest the client's stream, and requests meanwhile, wait for the backends' streams.
const STREAMS_OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The receiving end of a session's own stream.
pub type Outbox = mpsc::Receiver<super::backend::Tagged>;

/// Who a session acts for.
#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub agent_id: String,
    pub agent_name: String,
    pub key_id: Option<String>,
    pub end_user: Option<String>,
}

pub struct Session {
    pub id: String,
    pub principal: SessionPrincipal,
    /// `None` on the aggregate `/mcp`; the server's name on `/mcp/{server}`.
    pub scope: Option<String>,
    pub protocol_version: String,
    /// The client's `initialize` params.
    pub client_params: Value,
    /// The agent session this MCP session belongs to, for traces: `x-weir-session` when the
    /// client sent one at `initialize` (so its LLM and MCP calls share one trace), else the MCP
    /// session's own id.
    pub trace_session: String,
    /// The trace of that agent session (derived once: every request's span joins it).
    pub trace_anchor: opentelemetry::trace::SpanContext,
    /// Connected backends, by server name.
    pub links: tokio::sync::RwLock<HashMap<String, Arc<Link>>>,
    /// Backends that could not be reached at the last attempt, with why.
    pub down: Mutex<HashMap<String, String>>,
    /// The session's own stream (GET): where unsolicited backend messages wait for the client.
    pub unsolicited: Sink,
    outbox: Mutex<Option<Outbox>>,
    /// Weir's id of a backend request to the client → (server, the backend's id).
    server_requests: Mutex<HashMap<String, (String, Value)>>,
    /// The client's requests in flight (for cancellation).
    inflight: Mutex<HashMap<String, Inflight>>,
    /// The answer streams of requests in flight, by name → the request's id key: how a
    /// client's `Last-Event-ID` finds its request.
    request_streams: Mutex<HashMap<String, String>>,
    last_seen_ms: AtomicI64,
    next_id: AtomicU64,
    /// Set once the client opens its session stream (GET).
    listening: AtomicBool,
    /// `false` while the backends' streams are being opened for the client's: requests wait
    /// for them, so that a backend's message sent in answer cannot miss its stream.
    streams_ready: tokio::sync::watch::Sender<bool>,
    /// With shared sessions: the backend sessions as Redis last said (adopted by links made
    /// here), and the replica's mark on the ids it gives backends' requests.
    pub backends: Mutex<HashMap<String, BackendRecord>>,
    replica: Option<String>,
    /// Fires when this replica lets go of the session (ended, expired, or idle here).
    pub ended: CancellationToken,
    /// Whether Redis holds the session's record (not yet, when Redis was out of reach at
    /// `initialize`).
    pub recorded: AtomicBool,
    /// For a client of the stateless revision: its calls in flight that may take input, newest
    /// last. A backend's request that comes unrelated to any call (on its own stream) goes to
    /// the newest, as the only one the client can answer it with.
    input_calls: Mutex<Vec<(u64, Sink)>>,
    /// Kept by this replica alone, though sessions are shared: a stateless client whose backends
    /// are stateless too (its streams stay in this process, never in Redis).
    local: AtomicBool,
    /// For a session under a derived id: a mark of this instance of it (see `to_client`).
    pub instance: Option<String>,
    /// The `subscriptions/listen` streams open on it here.
    pub listens: std::sync::atomic::AtomicUsize,
}

impl Session {
    pub fn new(principal: SessionPrincipal, scope: Option<String>, protocol_version: String, client_params: Value, agent_session: Option<String>, replica: Option<String>) -> Arc<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let trace_session = agent_session.unwrap_or_else(|| id.clone());
        Self::build(id, principal, scope, protocol_version, client_params, trace_session, replica, None)
    }

    /// A session under an id Weir derives rather than issues: what Weir keeps, for a client of
    /// the stateless revision, of its backends that are not (see `stateless`).
    pub fn with_id(id: String, principal: SessionPrincipal, scope: Option<String>, protocol_version: String, client_params: Value, agent_session: Option<String>, replica: Option<String>) -> Arc<Self> {
        let trace_session = agent_session.unwrap_or_else(|| id.clone());
        Self::build(id, principal, scope, protocol_version, client_params, trace_session, replica, Some(hex::encode(rand::random::<[u8; 4]>())))
    }

    /// A session another replica began, as Redis records it.
    pub fn restore(id: &str, rec: SessionRecord, backends: HashMap<String, BackendRecord>, replica: String) -> Arc<Self> {
        let principal = SessionPrincipal { agent_id: rec.agent_id, agent_name: rec.agent_name, key_id: rec.key_id, end_user: rec.end_user };
        let s = Self::build(id.to_string(), principal, rec.scope, rec.protocol_version, rec.client_params, rec.trace_session, Some(replica), None);
        *lock(&s.backends) = backends;
        s.recorded.store(true, Ordering::Relaxed);
        s
    }

    /// What Redis keeps of the session.
    pub fn record(&self) -> SessionRecord {
        SessionRecord {
            agent_id: self.principal.agent_id.clone(),
            agent_name: self.principal.agent_name.clone(),
            key_id: self.principal.key_id.clone(),
            end_user: self.principal.end_user.clone(),
            scope: self.scope.clone(),
            protocol_version: self.protocol_version.clone(),
            client_params: self.client_params.clone(),
            trace_session: self.trace_session.clone(),
        }
    }

    #[expect(clippy::too_many_arguments, reason = "what a session is made of, from three places")]
    fn build(id: String, principal: SessionPrincipal, scope: Option<String>, protocol_version: String, client_params: Value, trace_session: String, replica: Option<String>, instance: Option<String>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        Arc::new(Self {
            trace_anchor: crate::telemetry::session_context(&principal.agent_id, &trace_session),
            trace_session,
            id,
            principal,
            scope,
            protocol_version,
            client_params,
            links: tokio::sync::RwLock::new(HashMap::new()),
            down: Mutex::new(HashMap::new()),
            unsolicited: tx,
            outbox: Mutex::new(Some(rx)),
            server_requests: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            request_streams: Mutex::new(HashMap::new()),
            last_seen_ms: AtomicI64::new(now_ms()),
            next_id: AtomicU64::new(1),
            listening: AtomicBool::new(false),
            streams_ready: tokio::sync::watch::Sender::new(true),
            backends: Mutex::new(HashMap::new()),
            replica,
            ended: CancellationToken::new(),
            recorded: AtomicBool::new(false),
            input_calls: Mutex::new(Vec::new()),
            local: AtomicBool::new(false),
            instance,
            listens: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Marks a session this replica keeps alone (see `local`).
    pub fn keep_local(&self) {
        self.local.store(true, Ordering::Relaxed);
    }

    pub fn is_local(&self) -> bool {
        self.local.load(Ordering::Relaxed)
    }

    /// Notes a stateless client's call that may take input; returns what forgets it.
    pub fn begin_input_call(&self, sink: Sink) -> u64 {
        let n = self.next_seq();
        lock(&self.input_calls).push((n, sink));
        n
    }

    pub fn end_input_call(&self, n: u64) {
        lock(&self.input_calls).retain(|(k, _)| *k != n);
    }

    /// Where a backend's unrelated request goes for a stateless client: its newest call that
    /// may take input.
    pub fn input_call(&self) -> Option<Sink> {
        lock(&self.input_calls).last().map(|(_, s)| s.clone())
    }

    /// A number unique within the session (on this replica).
    pub fn next_seq(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The backend session Redis records for `server`, if any.
    pub fn backend_record(&self, server: &str) -> Option<BackendRecord> {
        lock(&self.backends).get(server).cloned()
    }

    /// Notes what Redis now records for `server`; `true` when it changed.
    /// A backend session is known by its id (a new one comes with a new `initialize`), so
    /// that is all this compares, on every request of a shared session.
    pub fn note_backend(&self, server: &str, rec: &BackendRecord) -> bool {
        let mut b = lock(&self.backends);
        if b.get(server).is_some_and(|known| known.session == rec.session) {
            return false;
        }
        b.insert(server.to_string(), rec.clone());
        true
    }

    pub fn touch(&self) {
        self.last_seen_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn idle_ms(&self, now: i64) -> i64 {
        now - self.last_seen_ms.load(Ordering::Relaxed)
    }

    pub async fn link(&self, server: &str) -> Option<Arc<Link>> {
        self.links.read().await.get(server).cloned()
    }

    /// Marks the session as one whose client listens on its stream, and asks every linked
    /// backend for its unsolicited messages.
    /// Returns once every backend's stream is open (or refused), within 5 seconds, so that
    /// when the client's stream opens, the backends' are open too — as they would be if the
    /// client were connected to them directly.
    pub async fn listen(&self) {
        self.listening.store(true, Ordering::Relaxed);
        let ready: Vec<_> = self.links.read().await.values().filter_map(|l| l.listen()).collect();
        if ready.is_empty() {
            return;
        }
        self.streams_ready.send_replace(false);
        let _ = tokio::time::timeout(STREAMS_OPEN_WAIT, futures_util::future::join_all(ready)).await;
        self.streams_ready.send_replace(true);
    }

    /// Waits (at most a few seconds) while the backends' streams are being opened.
    pub async fn streams_open(&self) {
        let mut rx = self.streams_ready.subscribe();
        if !*rx.borrow() {
            let _ = tokio::time::timeout(STREAMS_OPEN_WAIT, rx.wait_for(|ready| *ready)).await;
        }
    }

    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// Takes what backends send for the session's own stream (once: the store keeps it from
    /// then on).
    pub fn take_outbox(&self) -> Option<Outbox> {
        lock(&self.outbox).take()
    }


    /// Tracks a client request from its arrival; the token fires when the client cancels it.
    pub fn begin_request(&self, client_id: &Value) -> (CancellationToken, CancellationToken) {
        let (cancel, gone) = (CancellationToken::new(), CancellationToken::new());
        lock(&self.inflight).insert(jsonrpc::id_key(client_id), Inflight::new(None, cancel.clone(), gone.clone()));
        (cancel, gone)
    }

    /// The request's cancellation and departure tokens (fresh ones for a request not tracked,
    /// such as one in a batch).
    pub fn request_tokens(&self, client_id: &Value) -> (CancellationToken, CancellationToken) {
        lock(&self.inflight).get(&jsonrpc::id_key(client_id)).map_or_else(Default::default, |r| (r.cancel.clone(), r.gone.clone()))
    }

    /// Notes the backend a request went to, tracking it if it was not yet; returns its token and
    /// whether this call began tracking it (the caller then ends it).
    pub fn route_request(&self, client_id: &Value, server: &str) -> (CancellationToken, bool) {
        let mut map = lock(&self.inflight);
        match map.get_mut(&jsonrpc::id_key(client_id)) {
            Some(r) => {
                r.server = Some(server.to_string());
                (r.cancel.clone(), false)
            }
            None => {
                let cancel = CancellationToken::new();
                map.insert(jsonrpc::id_key(client_id), Inflight::new(Some(server.to_string()), cancel.clone(), CancellationToken::new()));
                (cancel, true)
            }
        }
    }

    pub fn end_request(&self, client_id: &Value) {
        let ended = lock(&self.inflight).remove(&jsonrpc::id_key(client_id));
        if let Some(name) = ended.and_then(|r| r.stream) {
            lock(&self.request_streams).remove(&name);
        }
    }

    /// Notes that a request in flight answers on the stream `name`, so that a client resuming
    /// that stream reaches it.
    pub fn name_request_stream(&self, client_id: &Value, name: &str) {
        let key = jsonrpc::id_key(client_id);
        let mut inflight = lock(&self.inflight);
        let Some(r) = inflight.get_mut(&key) else { return };
        r.stream = Some(name.to_string());
        lock(&self.request_streams).insert(name.to_string(), key);
    }

    /// What is notified when the client resumes a request's answer stream (`None` for a request
    /// not in flight).
    pub fn client_back(&self, client_id: &Value) -> Option<Arc<Notify>> {
        lock(&self.inflight).get(&jsonrpc::id_key(client_id)).map(|r| r.client_back.clone())
    }

    /// The client resumed the answer stream `name`: the request it answers, if still in flight
    /// here, is told (its backend stream, if it ended early, is resumed now). With shared
    /// sessions a stream resumed at another replica tells nobody; the backend's `retry` applies.
    pub fn client_resumed(&self, name: &str) {
        let Some(key) = lock(&self.request_streams).get(name).cloned() else { return };
        if let Some(r) = lock(&self.inflight).get(&key) {
            // A permit is kept if the link is not waiting yet, so the resumption is not missed.
            r.client_back.notify_one();
        }
    }

    /// The backend a request in flight went to, if it has been routed.
    pub fn inflight_server(&self, client_id: &Value) -> Option<String> {
        lock(&self.inflight).get(&jsonrpc::id_key(client_id)).and_then(|r| r.server.clone())
    }

    /// Marks a request cancelled by the client: its answer is not sent.
    pub fn cancel_request(&self, client_id: &Value) {
        if let Some(r) = lock(&self.inflight).get(&jsonrpc::id_key(client_id)) {
            r.cancel.cancel();
        }
    }

    /// A backend's message as the client must see it: its requests get a Weir id (mapped back
    /// when the client answers), and on the aggregate its resource URIs get the server prefix.
    /// With shared sessions a request's new id comes back with what it maps to, for Redis (so
    /// that the answer may reach any replica); one Weir keeps it in the session.
    pub fn to_client(&self, server: &str, mut msg: Value) -> Option<(Value, Option<(String, PendingRequest)>)> {
        match jsonrpc::kind(&msg) {
            Kind::Request => {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                // A session under a derived id can be begun again under the same id: its own
                // mark keeps an old round trip's answer from meeting a new request.
                let weir_id = match (&self.replica, &self.instance) {
                    (Some(r), Some(i)) => format!("{server}/{r}.{i}.{n}"),
                    (None, Some(i)) => format!("{server}/{i}.{n}"),
                    (Some(r), None) => format!("{server}/{r}.{n}"),
                    (None, None) => format!("{server}/{n}"),
                };
                let backend_id = jsonrpc::id(&msg);
                msg["id"] = json!(weir_id);
                // Shared sessions keep it in Redis alone: the answer may reach any replica.
                let pending = match &self.replica {
                    Some(replica) => Some((weir_id, PendingRequest { server: server.to_string(), backend_id, replica: replica.clone() })),
                    None => {
                        lock(&self.server_requests).insert(jsonrpc::id_key(&json!(weir_id)), (server.to_string(), backend_id));
                        None
                    }
                };
                Some((msg, pending))
            }
            Kind::Notification => {
                if self.scope.is_none() && jsonrpc::method(&msg) == "notifications/resources/updated" {
                    if let Some(Value::String(uri)) = msg.pointer_mut("/params/uri") {
                        *uri = names::prefixed_uri(server, uri);
                    }
                }
                Some((msg, None))
            }
            Kind::Response | Kind::Invalid => None,
        }
    }

    /// Forgets the backend requests `ids` still waiting for the client's answer (their call has
    /// ended): here, and in Redis with shared sessions.
    pub async fn forget_requests(&self, sh: Option<&super::shared::Shared>, ids: &[Value]) {
        for id in ids.iter().filter(|i| i.is_string()) {
            match sh {
                Some(sh) => {
                    if let Err(e) = sh.take_request(&self.id, id.as_str().unwrap_or_default()).await {
                        tracing::debug!(session = %self.id, error = %e, "an unanswered backend request stays recorded until its session expires");
                    }
                }
                None => {
                    lock(&self.server_requests).remove(&jsonrpc::id_key(id));
                }
            }
        }
    }

    /// The client's answer to a backend request: the server it goes to, with the backend's id.
    pub fn from_client_answer(&self, mut msg: Value) -> Option<(String, Value)> {
        let (server, original) = lock(&self.server_requests).remove(&jsonrpc::id_key(&jsonrpc::id(&msg)))?;
        msg["id"] = original;
        Some((server, msg))
    }

    /// Lets go of the session on this replica only: its backend sessions stay for the replicas
    /// still serving it (links dropped here stop their streams; stdio links leave the process).
    pub async fn release(&self) {
        self.ended.cancel();
        let links: Vec<Arc<Link>> = self.links.write().await.drain().map(|(_, l)| l).collect();
        for l in links {
            if let Link::Stdio(s) = &*l {
                s.close();
            }
        }
    }

    /// Ends every backend session.
    pub async fn close(&self) {
        self.ended.cancel();
        let links: Vec<Arc<Link>> = self.links.write().await.drain().map(|(_, l)| l).collect();
        for l in links {
            l.close().await;
        }
    }
}

/// Where sessions live. The in-process map serves one replica.
pub trait SessionMap: Send + Sync {
    fn get(&self, id: &str) -> Option<Arc<Session>>;
    fn insert(&self, session: Arc<Session>);
    /// The session under `session.id`, inserting `session` when there is none; `true` when
    /// it was inserted.
    fn get_or_insert(&self, session: Arc<Session>) -> (Arc<Session>, bool);
    fn remove(&self, id: &str) -> Option<Arc<Session>>;
    /// Removes and returns the sessions idle for longer than `idle_ms`.
    fn take_idle(&self, idle_ms: i64) -> Vec<Arc<Session>>;
    /// Removes and returns `agent_id`'s longest-unused sessions beyond the `keep` most recent
    /// (never `newest`, the one just begun).
    fn evict_oldest(&self, agent_id: &str, keep: usize, newest: &str) -> Vec<Arc<Session>>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Default)]
pub struct LocalSessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl SessionMap for LocalSessions {
    fn get(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).get(id).cloned()
    }
    fn insert(&self, session: Arc<Session>) {
        lock(&self.map).insert(session.id.clone(), session);
    }
    fn get_or_insert(&self, session: Arc<Session>) -> (Arc<Session>, bool) {
        let mut map = lock(&self.map);
        if let Some(s) = map.get(&session.id) {
            return (s.clone(), false);
        }
        map.insert(session.id.clone(), session.clone());
        (session, true)
    }
    fn remove(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).remove(id)
    }
    fn take_idle(&self, idle_ms: i64) -> Vec<Arc<Session>> {
        let now = now_ms();
        let mut map = lock(&self.map);
        let idle: Vec<String> = map.iter().filter(|(_, s)| s.idle_ms(now) > idle_ms).map(|(k, _)| k.clone()).collect();
        idle.iter().filter_map(|k| map.remove(k)).collect()
    }
    fn evict_oldest(&self, agent_id: &str, keep: usize, newest: &str) -> Vec<Arc<Session>> {
        let mut map = lock(&self.map);
        let mut mine: Vec<(i64, String)> =
            map.values().filter(|s| s.principal.agent_id == agent_id && s.id != newest).map(|s| (s.last_seen_ms.load(Ordering::Relaxed), s.id.clone())).collect();
        // Room for the newest one.
        let keep = keep.saturating_sub(1);
        if mine.len() <= keep {
            return Vec::new();
        }
        mine.sort_unstable();
        let over = mine.len() - keep;
        mine.into_iter().take(over).filter_map(|(_, id)| map.remove(&id)).collect()
    }
    fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> SessionPrincipal {
        SessionPrincipal { agent_id: "a1".into(), agent_name: "a".into(), key_id: None, end_user: None }
    }

    #[tokio::test]
    async fn an_unanswered_backend_request_is_forgotten_when_its_call_ends() {
        let s = Session::with_id("s-x".into(), principal(), None, "2026-07-28".into(), json!({}), None, None);
        let ask = |n: u64| jsonrpc::request(json!(n), "elicitation/create", json!({}));
        let (first, _) = s.to_client("fix", ask(7)).unwrap();
        let (second, _) = s.to_client("fix", ask(8)).unwrap();
        // A session under a derived id marks its ids with its instance.
        assert!(jsonrpc::id(&first).as_str().unwrap().starts_with(&format!("fix/{}.", s.instance.as_deref().unwrap())));
        s.forget_requests(None, &[jsonrpc::id(&first)]).await;
        assert!(s.from_client_answer(jsonrpc::result(jsonrpc::id(&first), json!({}))).is_none(), "forgotten");
        let (server, answer) = s.from_client_answer(jsonrpc::result(jsonrpc::id(&second), json!({}))).unwrap();
        assert_eq!((server.as_str(), jsonrpc::id(&answer)), ("fix", json!(8)), "the other one is still awaited");
        // Another instance under the same id never gives the same ids.
        let again = Session::with_id("s-x".into(), principal(), None, "2026-07-28".into(), json!({}), None, None);
        let (other, _) = again.to_client("fix", ask(7)).unwrap();
        assert_ne!(jsonrpc::id(&other), jsonrpc::id(&first));
    }
}
