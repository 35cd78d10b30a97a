//! The HTTP edge of `/mcp` and `/mcp/{server}`: origin and host checks, the caller and its
//! session, rate limits, batches, `initialize`, the GET stream and DELETE.

use super::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mcp", post(post_aggregate).get(get_aggregate).delete(delete_aggregate))
        .route("/mcp/{server}", post(post_server).get(get_server).delete(delete_server))
}

pub(super) async fn post_aggregate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle_post(state, None, headers, body).await
}

pub(super) async fn post_server(State(state): State<AppState>, Path(server): Path<String>, headers: HeaderMap, body: Body) -> Response {
    handle_post(state, Some(server), headers, body).await
}

pub(super) async fn get_aggregate(State(state): State<AppState>, headers: HeaderMap) -> Response {
    handle_get(state, None, headers).await
}

pub(super) async fn get_server(State(state): State<AppState>, Path(server): Path<String>, headers: HeaderMap) -> Response {
    handle_get(state, Some(server), headers).await
}

pub(super) async fn delete_aggregate(State(state): State<AppState>, headers: HeaderMap) -> Response {
    handle_delete(state, None, headers).await
}

pub(super) async fn delete_server(State(state): State<AppState>, Path(server): Path<String>, headers: HeaderMap) -> Response {
    handle_delete(state, Some(server), headers).await
}

/// Against DNS rebinding: a request must name Weir by a host it answers to (on a loopback
/// listener, a loopback name or one of `mcp.allowed_hosts`; elsewhere, any name unless
/// `allowed_hosts` lists them), and a browser's `Origin` must be a loopback origin, one of an
/// allowed host, or one of `mcp.allowed_origins`. Clients that send no `Origin` (not browsers)
/// pass the origin check. The `Host` a request names never vouches for its `Origin`.
pub(super) fn origin_refused(headers: &HeaderMap, cfg: &McpConfig, listen: std::net::SocketAddr) -> Option<Response> {
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
pub(super) fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_once(']').map_or(authority, |(h, _)| &authority[..=h.len()]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { authority })
}

pub(super) fn is_loopback_authority(authority: &str) -> bool {
    let h = host_part(authority).to_ascii_lowercase();
    h == "localhost" || h == "[::1]" || h.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// An allowed host entry matches the authority exactly, or its host when the entry has no port.
pub(super) fn host_allowed(authority: &str, allowed: &[String]) -> bool {
    let authority = authority.to_ascii_lowercase();
    let host = host_part(&authority);
    allowed.iter().any(|a| *a == authority || *a == host)
}

pub(super) fn unauthorized(message: &str) -> Response {
    let mut r = rpc_error(StatusCode::UNAUTHORIZED, Value::Null, jsonrpc::UNAUTHORIZED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"weir\", error=\"invalid_token\", error_description=\"a Weir agent key is required\""),
    );
    r
}

/// Who is calling: the key's agent, or the anonymous agent when no key was sent and one is
/// configured.
pub(super) async fn caller(state: &AppState, headers: &HeaderMap, cfg: &McpConfig) -> Result<SessionPrincipal, Response> {
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
pub(super) async fn find_session(state: &AppState, scope: &Option<String>, headers: &HeaderMap, caller: &SessionPrincipal) -> Result<Arc<Session>, Box<Response>> {
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

pub(super) fn version_refused(headers: &HeaderMap) -> Option<Response> {
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

pub(super) async fn handle_post(state: AppState, scope: Option<String>, headers: HeaderMap, body: Body) -> Response {
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

    let stateless = stateless::is_stateless(&headers, &msg);
    if msg.is_array() {
        if stateless {
            return rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::INVALID_REQUEST, format!("revision {} takes one message per request, not a batch", stateless::STATELESS));
        }
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
    let mut resp = if stateless {
        stateless::answer(state, scope, caller, kind, msg, bytes.len(), &headers, started).await
    } else if kind == Kind::Request && jsonrpc::method(&msg) == "initialize" {
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
pub(super) fn counts_against_rate(msg: &Value) -> bool {
    match jsonrpc::kind(msg) {
        Kind::Request => true,
        Kind::Notification => jsonrpc::method(msg) != "notifications/cancelled",
        Kind::Response | Kind::Invalid => false,
    }
}

/// `id` is the refused request's (null for a batch or a notification).
pub(super) async fn admit_requests(state: &AppState, caller: &SessionPrincipal, n: usize, id: Value) -> Result<Vec<(axum::http::HeaderName, HeaderValue)>, Response> {
    match state.limiter.admit_mcp(&caller.agent_id, &caller.agent_name, n as u64).await {
        Ok(h) => Ok(h),
        Err(refusal) => {
            let (status, code) = match refusal {
                crate::limits::Refusal::Exceeded { .. } => (StatusCode::TOO_MANY_REQUESTS, jsonrpc::RATE_LIMITED),
                crate::limits::Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, jsonrpc::INTERNAL_ERROR),
            };
            let mut r = rpc_error(status, id, code, refusal.message());
            r.headers_mut().extend(refusal.http_headers());
            Err(r)
        }
    }
}

/// A message other than `initialize`, in its session.
pub(super) async fn answer_message(state: AppState, scope: Option<String>, caller: SessionPrincipal, kind: Kind, msg: Value, headers: &HeaderMap, started: Instant) -> Response {
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

pub(super) fn accepts_sse(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/event-stream"))
}

/// Batches exist only in revision 2025-03-26; later revisions refuse them.
pub(super) async fn handle_batch(state: &AppState, scope: &Option<String>, headers: &HeaderMap, caller: &SessionPrincipal, msg: Value, started: Instant) -> Response {
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

pub(super) async fn initialize(state: &AppState, scope: Option<String>, caller: SessionPrincipal, msg: Value, headers: &HeaderMap, started: Instant) -> Response {
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
pub(super) fn answers_backend_requests(params: &Value) -> bool {
    params.get("capabilities").and_then(Value::as_object).is_some_and(|c| ["sampling", "elicitation", "roots"].iter().any(|k| c.contains_key(*k)))
}

/// The aggregate's capabilities: what any backend offers, with list changes announced (Weir
/// forwards them) and logging always (Weir passes `logging/setLevel` to every backend).
pub(super) fn merge_capabilities(into: &mut Value, caps: Option<&Value>) {
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
pub(super) const POLLING_SINCE: &str = "2025-11-25";

/// GET: the session's own stream of backend messages not tied to a request.
pub(super) async fn handle_get(state: AppState, scope: Option<String>, headers: HeaderMap) -> Response {
    let rt = state.runtime.load_full();
    let cfg = &rt.config.mcp;
    if let Some(r) = origin_refused(&headers, cfg, rt.config.listen) {
        return r;
    }
    if let Some(r) = stateless::method_not_allowed(&headers) {
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
pub(super) const STREAM_POLL: Duration = Duration::from_secs(5);

/// GET: the session's own stream, from where the client's `Last-Event-ID` says (or where its
/// last GET stopped); with the id of an event of a request's answer, the rest of that answer.
pub(super) async fn stream_get(state: &AppState, session: Arc<Session>, headers: &HeaderMap) -> Response {
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
            let Some(events) = read_for_client(&mut *reader, &stream, &pos, &closing, &ended, &out_tx, &session.id).await else { return };
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

/// The next events of a session's stream for a client listening on it; `None` once the
/// listening is over (Weir shuts down, the session ends here, the client went away). A read that
/// fails is tried again a second later.
pub(super) async fn read_for_client(
    reader: &mut dyn streams::StreamReader,
    stream: &str,
    pos: &str,
    closing: &tokio_util::sync::CancellationToken,
    ended: &tokio_util::sync::CancellationToken,
    out: &mpsc::Sender<Bytes>,
    session: &str,
) -> Option<Vec<shared::Event>> {
    loop {
        let read = tokio::select! {
            () = closing.cancelled() => return None,
            () = ended.cancelled() => return None,
            () = out.closed() => return None,
            r = reader.read(stream, pos, STREAM_POLL) => r,
        };
        match read {
            Ok(events) => return Some(events),
            Err(e) => {
                tracing::warn!(session, error = %e, "MCP session stream read failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// DELETE: ends the session and its backend sessions.
pub(super) async fn handle_delete(state: AppState, scope: Option<String>, headers: HeaderMap) -> Response {
    let rt = state.runtime.load_full();
    let cfg = &rt.config.mcp;
    if let Some(r) = origin_refused(&headers, cfg, rt.config.listen) {
        return r;
    }
    if let Some(r) = stateless::method_not_allowed(&headers) {
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
    state.mcp.streams_of(&session).forget(&session.id).await;
    if let Some(sh) = &state.mcp.shared {
        if let Err(e) = sh.leave_agent(&session.principal.agent_id, &session.id).await {
            tracing::warn!(session = %session.id, error = %e, "ended MCP session still counted among its agent's until it is the oldest");
        }
    }
    session.close().await;
    StatusCode::NO_CONTENT.into_response()
}
