//! What every MCP request shares: the backends, the local and shared session maps, the
//! approvals waiting, the tool guard.

use super::*;

/// Revisions Weir serves, newest first.
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// How often an SSE stream says it is alive while nothing else flows.
pub(super) const KEEPALIVE: Duration = Duration::from_secs(15);

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
    /// The key the state of bridged round trips is signed with (shared by every replica).
    state_key: tokio::sync::OnceCell<Vec<u8>>,
    /// Backends' list pages they said may be kept (`ttlMs`).
    pub(super) lists: Arc<listcache::ListCache>,
    /// The streams of sessions this replica keeps alone (in memory, whatever `streams` is).
    local_streams: Arc<dyn StreamStore>,
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
                            era: Default::default(),
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
            state_key: tokio::sync::OnceCell::new(),
            lists: Arc::default(),
            local_streams: Arc::new(streams::MemoryStreams::new(cfg.replay_window, cfg.replay_max_events)),
        }))
    }

    /// The key bridged round trips' state is signed with: this replica's own, or with shared
    /// sessions the one every replica reads from Redis.
    pub(super) async fn state_key(&self) -> Result<Vec<u8>, shared::SharedError> {
        self.state_key
            .get_or_try_init(|| async {
                match &self.shared {
                    Some(sh) => sh.state_key().await.map(String::into_bytes),
                    None => Ok(rand::random::<[u8; 32]>().to_vec()),
                }
            })
            .await
            .cloned()
    }

    /// The shared key as Redis has it now (another replica may have made a new one after Redis
    /// lost it); `None` without shared sessions or when Redis cannot say.
    pub(super) async fn reload_state_key(&self) -> Option<Vec<u8>> {
        self.shared.as_ref()?.state_key().await.ok().map(String::into_bytes)
    }

    /// The shared store a session uses: none for one this replica keeps alone.
    pub(super) fn shared_for(&self, session: &Session) -> Option<&Arc<Shared>> {
        self.shared.as_ref().filter(|_| !session.is_local())
    }

    /// Where a session's streams are kept: Redis (or memory, without it), or this process's
    /// memory for a session this replica keeps alone.
    pub(super) fn streams_of(&self, session: &Session) -> Arc<dyn StreamStore> {
        if session.is_local() {
            self.local_streams.clone()
        } else {
            self.streams.clone()
        }
    }

    /// Whether a stateless client of `scope` needs a session kept for it: some backend there
    /// keeps sessions (or has not said yet that it does not).
    pub(super) fn keeps_state(&self, scope: &Option<String>) -> bool {
        let stateless = |s: &String| self.http.get(s).is_some_and(|h| h.era() == backend::http::Era::Stateless);
        match scope {
            Some(s) => !stateless(s),
            None => !self.order.iter().all(stateless),
        }
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
    pub(super) fn adoptable(&self, server: &str) -> bool {
        // A stateless backend's answers to what it asked go back with the retry of the replica
        // that waits for them.
        self.http.get(server).is_some_and(|h| {
            h.transport != crate::config::UrlTransport::Sse && !h.detected_sse.load(std::sync::atomic::Ordering::Relaxed) && h.era() != backend::http::Era::Stateless
        })
    }

    /// A session another replica began, made ready to serve here: its stream relayed to Redis.
    pub(super) fn adopt_session(&self, id: &str, rec: shared::SessionRecord, backends: HashMap<String, shared::BackendRecord>) -> Arc<Session> {
        let Some(sh) = &self.shared else { unreachable!("adopting needs shared sessions") };
        let (session, new) = self.sessions.get_or_insert(Session::restore(id, rec, backends, sh.replica.clone()));
        if new {
            self.start_pump(&session);
        }
        session
    }

    /// Takes on the backend sessions Redis now records for a session this replica holds.
    pub(super) async fn follow(&self, session: &Session, backends: HashMap<String, shared::BackendRecord>) {
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
    pub(super) async fn record_session(&self, session: &Session) {
        let Some(sh) = &self.shared else { return };
        let backends: Vec<(String, shared::BackendRecord)> = session.backends.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        match sh.create(&session.id, &session.record(), &backends).await {
            Ok(()) => session.recorded.store(true, std::sync::atomic::Ordering::Relaxed),
            Err(e) => tracing::warn!(session = %session.id, error = %e, "MCP session not recorded in Redis; other replicas cannot serve it yet"),
        }
    }

    /// Records in Redis the backend session this replica's link uses, when it is new or changed
    /// (a backend that lost its session got a new one).
    pub(super) async fn publish_backend(&self, session: &Session, server: &str, link: &Link) {
        let (Some(sh), Link::Http(h)) = (self.shared_for(session), link) else { return };
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
    pub(super) fn start_pump(&self, session: &Arc<Session>) {
        let Some(mut rx) = session.take_outbox() else { return };
        let (weak, ended) = (Arc::downgrade(session), session.ended.clone());
        let (sh, store) = (self.shared_for(session).cloned(), self.streams_of(session));
        let lists = self.lists.clone();
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
                // A list a backend says changed is fetched again, not taken from what was kept.
                if let Some(list) = jsonrpc::method(&m).strip_prefix("notifications/").and_then(|n| n.strip_suffix("/list_changed")) {
                    lists.forget(&server, &format!("{list}/list"));
                }
                let Some(session) = weak.upgrade() else { return };
                // A stateless client has no stream for a backend's requests: one goes to the
                // call that can take it, or is answered that nothing can.
                if session.protocol_version == stateless::STATELESS && jsonrpc::kind(&m) == Kind::Request {
                    match session.input_call() {
                        Some(call) => backend::deliver(&call, &server, m),
                        None => {
                            // Not waited for: one slow backend holds up no other message.
                            let (session, server) = (session.clone(), server.clone());
                            tokio::spawn(async move { rounds::refuse_unasked(&session, &server, &m).await });
                        }
                    }
                    continue;
                }
                // Boxed: the task stays small while it waits (an idle session costs little).
                Box::pin(append_for_client(sh.as_deref(), &*store, &session, &server, m, &stream, false)).await;
            }
        });
    }

    /// Keeps an agent within its number of sessions: past it, its longest-unused sessions end
    /// (counted at every replica when sessions are shared; here alone for one this replica
    /// keeps alone).
    pub(super) async fn cap_agent_sessions(&self, new: &Session, max: usize) {
        let agent = &new.principal.agent_id;
        let evicted: Vec<Arc<Session>> = match self.shared_for(new) {
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
            self.streams_of(&s).forget(&s.id).await;
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
            self.streams_of(&s).forget(&s.id).await;
        }
    }

    pub(super) async fn connect(&self, server: &str, session: &Session) -> Result<Link, BackendError> {
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
    pub(super) async fn link(&self, session: &Session, server: &str) -> Result<Arc<Link>, BackendError> {
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
    pub(super) fn servers_of(&self, session: &Session) -> Vec<String> {
        match &session.scope {
            Some(s) => vec![s.clone()],
            None => self.order.clone(),
        }
    }
}
