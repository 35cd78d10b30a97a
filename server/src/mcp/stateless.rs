//! The stateless revision (2026-07-28) at the edge of `/mcp` and `/mcp/{server}`: no
//! `initialize` and no `Mcp-Session-Id`; every request carries its client's revision,
//! capabilities and identity in `params._meta`, and names its method (and tool, prompt or
//! resource) in headers that must agree with the body before anything else is done with it.
//!
//! A client of this revision needs no session with Weir, but a backend of an older one needs
//! one with its client: Weir keeps it on the client's behalf, under an id derived from who asks
//! (agent, end user, endpoint) and what the client declared (capabilities, name), so that the
//! same client reaches the same backend sessions from any replica, and a client that declares
//! other capabilities gets backend sessions that know them. These sessions are bounded like any
//! other (`mcp.max_sessions_per_agent`, `mcp.session_idle_secs`). When every backend of the
//! endpoint speaks this revision too, nothing is shared: the session is this replica's alone,
//! and no request costs a Redis round trip.
//!
//! What a backend of an older revision asks of its client while a call runs (sampling,
//! elicitation, roots) becomes the call's `input_required` answer; the client's retry carries
//! the answers back (`rounds`).

use super::*;

/// The stateless revision.
pub const STATELESS: &str = "2026-07-28";
pub(super) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(super) const META_CAPS: &str = "io.modelcontextprotocol/clientCapabilities";
pub(super) const META_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub(super) const META_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub(super) const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub(super) const META_SUBSCRIPTION: &str = "io.modelcontextprotocol/subscriptionId";
/// A header disagrees with the body (or one the revision requires is missing).
pub(super) const HEADER_MISMATCH: i64 = -32020;
/// Answering needs a capability the client did not declare.
pub(super) const MISSING_CAPABILITY: i64 = -32021;
pub(super) const UNSUPPORTED_VERSION: i64 = -32022;

/// Methods of the older revisions this one removed: refused as unknown, as the revision says.
const REMOVED: [&str; 6] = ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "notifications/initialized"];

/// Every revision Weir's endpoints serve, newest first.
pub(super) fn supported_versions() -> Vec<&'static str> {
    std::iter::once(STATELESS).chain(PROTOCOL_VERSIONS).collect()
}

/// Whether a message follows the stateless revision: no session, and a revision in
/// `MCP-Protocol-Version` that is none of the session revisions (an unknown one too: the
/// answer says which Weir serves), or, without the header, one in `_meta`.
pub(super) fn is_stateless(headers: &HeaderMap, msg: &Value) -> bool {
    if headers.contains_key("mcp-session-id") {
        return false;
    }
    match headers.get("mcp-protocol-version") {
        Some(v) => !PROTOCOL_VERSIONS.contains(&v.to_str().unwrap_or("")),
        None => jsonrpc::method(msg) != "initialize" && msg.pointer("/params/_meta").and_then(|m| m.get(META_VERSION)).is_some(),
    }
}

/// GET and DELETE of the stateless revision: it has no session stream and no session to end.
pub(super) fn method_not_allowed(headers: &HeaderMap) -> Option<Response> {
    if headers.contains_key("mcp-session-id") {
        return None;
    }
    let v = headers.get("mcp-protocol-version")?.to_str().unwrap_or("");
    if PROTOCOL_VERSIONS.contains(&v) {
        return None;
    }
    let mut r = rpc_error(StatusCode::METHOD_NOT_ALLOWED, Value::Null, jsonrpc::INVALID_REQUEST, format!("revision {STATELESS} has no session stream or session: POST requests (subscriptions/listen for notifications)"));
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    Some(r)
}

/// What a request's `_meta` says of its client.
pub(super) struct Meta {
    pub caps: Value,
    pub info: Value,
    /// The least severe log level the client wants (`notifications/message`); none: no logs.
    pub level: Option<String>,
}

impl Meta {
    /// Whether the client declared `capability` (`sampling`, `elicitation`, `roots`).
    pub fn declares(&self, capability: &str) -> bool {
        self.caps.get(capability).is_some_and(Value::is_object)
    }

    /// Whether a backend's notification is for this client: log messages only at or above
    /// the level it asked for, and none when it asked for none.
    pub fn wants(&self, msg: &Value) -> bool {
        if jsonrpc::method(msg) != "notifications/message" {
            return true;
        }
        let Some(min) = self.level.as_deref() else { return false };
        let level = msg.pointer("/params/level").and_then(Value::as_str).unwrap_or("info");
        severity(level) >= severity(min)
    }
}

/// RFC 5424's order of the levels MCP logs at.
fn severity(level: &str) -> usize {
    ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"].iter().position(|l| *l == level).unwrap_or(1)
}

/// The name a request's `Mcp-Name` header must repeat, for the methods that have one (the
/// tasks extension's included).
pub fn named(msg: &Value) -> Option<&str> {
    let pointer = match jsonrpc::method(msg) {
        "tools/call" | "prompts/get" => "/params/name",
        "resources/read" => "/params/uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "/params/taskId",
        _ => return None,
    };
    Some(msg.pointer(pointer).and_then(Value::as_str).unwrap_or(""))
}

/// A header value as the revision encodes it: as it is, or `=?base64?…?=` when it is not
/// plain visible ASCII without surrounding space (or looks like an encoded value itself).
pub fn encode_header_value(v: &str) -> String {
    use base64::Engine;
    let visible = v.bytes().all(|b| (0x20..0x7f).contains(&b)) && !v.starts_with(' ') && !v.ends_with(' ');
    let looks_encoded = v.starts_with("=?base64?") && v.ends_with("?=");
    if visible && !looks_encoded {
        v.to_string()
    } else {
        format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(v.as_bytes()))
    }
}

/// A header value decoded (`None`: the encoding is broken).
pub fn decode_header_value(v: &str) -> Option<String> {
    use base64::Engine;
    match v.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) {
        Some(b) => String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).ok()?).ok(),
        None => Some(v.to_string()),
    }
}

/// The HTTP status of a JSON-RPC error as the revision has it.
pub(super) fn error_status(answer: &Value) -> StatusCode {
    match jsonrpc::error_of(answer) {
        Some((jsonrpc::METHOD_NOT_FOUND, _)) => StatusCode::NOT_FOUND,
        Some((HEADER_MISMATCH | MISSING_CAPABILITY | UNSUPPORTED_VERSION, _)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// The request's `_meta`, checked: the fields the revision requires, within
/// `mcp.max_initialize_params_bytes` (it is what `initialize` params were), then the headers
/// against the body, then the revision.
/// `body` is the length of the message as it came: a `_meta` cannot be longer, so it is only
/// measured when the message is.
pub(super) fn check(msg: &Value, headers: &HeaderMap, max_meta: usize, body: usize) -> Result<Meta, Box<Response>> {
    let id = jsonrpc::id(msg);
    let invalid = |message: String| Err(Box::new(rpc_error(StatusCode::BAD_REQUEST, id.clone(), jsonrpc::INVALID_PARAMS, message)));
    let Some(meta) = msg.pointer("/params/_meta").and_then(Value::as_object) else {
        return invalid(format!("params._meta is required in revision {STATELESS}, with `{META_VERSION}` and `{META_CAPS}`"));
    };
    let size = if body <= max_meta { 0 } else { serde_json::to_vec(meta).map_or(usize::MAX, |v| v.len()) };
    if size > max_meta {
        return invalid(format!("params._meta of {size} bytes; at most {max_meta} are taken (mcp.max_initialize_params_bytes)"));
    }
    let Some(version) = meta.get(META_VERSION).and_then(Value::as_str) else {
        return invalid(format!("params._meta lacks `{META_VERSION}`"));
    };
    let Some(caps) = meta.get(META_CAPS).filter(|c| c.is_object()) else {
        return invalid(format!("params._meta lacks `{META_CAPS}` (an object)"));
    };
    let mismatch = |message: String| Err(Box::new(rpc_error(StatusCode::BAD_REQUEST, id.clone(), HEADER_MISMATCH, message)));
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    match header("mcp-protocol-version") {
        Some(h) if h == version => {}
        Some(h) => return mismatch(format!("MCP-Protocol-Version `{}` does not match the request's revision `{}`", crate::audit::clip(h), crate::audit::clip(version))),
        None => return mismatch("the MCP-Protocol-Version header is required".into()),
    }
    let method = jsonrpc::method(msg);
    match header("mcp-method") {
        Some(h) if h == method => {}
        Some(h) => return mismatch(format!("Mcp-Method `{}` does not match the request's method `{}`", crate::audit::clip(h), crate::audit::clip(method))),
        None => return mismatch("the Mcp-Method header is required".into()),
    }
    if let Some(name) = named(msg) {
        match header("mcp-name") {
            Some(h) if decode_header_value(h).as_deref() == Some(name) => {}
            Some(h) => return mismatch(format!("Mcp-Name `{}` does not match `{}` in the request", crate::audit::clip(h), crate::audit::clip(name))),
            None => return mismatch(format!("the Mcp-Name header is required on {method}")),
        }
    }
    // `Mcp-Param-*` headers go on to a stateless backend: each must carry the value of an
    // argument of the call (the one the rules saw), never anything else.
    if method == "tools/call" {
        let args = msg.pointer("/params/arguments").and_then(Value::as_object);
        for (k, v) in headers.iter().filter(|(k, _)| k.as_str().starts_with("mcp-param-")) {
            let Some(value) = v.to_str().ok().and_then(decode_header_value) else {
                return mismatch(format!("{k} is not a valid header value"));
            };
            let agrees = args.is_some_and(|a| {
                a.values().any(|x| match x {
                    Value::String(s) => *s == value,
                    Value::Number(n) => n.to_string() == value || n.as_f64().zip(value.parse::<f64>().ok()).is_some_and(|(a, b)| a == b),
                    Value::Bool(b) => b.to_string() == value,
                    _ => false,
                })
            });
            if !agrees {
                return mismatch(format!("{k} carries a value no argument of the call has"));
            }
        }
    }
    if version != STATELESS {
        let data = json!({"supported": supported_versions(), "requested": version});
        return Err(Box::new(json_status(StatusCode::BAD_REQUEST, &jsonrpc::error_with_data(id, UNSUPPORTED_VERSION, format!("unsupported protocol revision `{}`", crate::audit::clip(version)), data))));
    }
    Ok(Meta {
        caps: caps.clone(),
        info: meta.get(META_INFO).cloned().unwrap_or_else(|| json!({"name": "unnamed-client", "version": "0"})),
        level: meta.get(META_LEVEL).and_then(Value::as_str).map(str::to_string),
    })
}

/// A stateless message: a request is checked, then answered; a notification is taken; nothing
/// else is expected.
#[expect(clippy::too_many_arguments, reason = "the request's parts, as the edge read them")]
pub(super) async fn answer(state: AppState, scope: Option<String>, caller: SessionPrincipal, kind: Kind, msg: Value, body: usize, headers: &HeaderMap, started: Instant) -> Response {
    match kind {
        Kind::Request => {}
        // Taken and let be: a stateless request goes to its backend under an id of Weir's, so a
        // cancellation naming the client's id has nothing to reach.
        Kind::Notification => return StatusCode::ACCEPTED.into_response(),
        Kind::Response => {
            return rpc_error(StatusCode::BAD_REQUEST, Value::Null, jsonrpc::INVALID_REQUEST, format!("revision {STATELESS} has no requests from servers to answer; input goes in a retry's inputResponses"));
        }
        Kind::Invalid => return rpc_error(StatusCode::BAD_REQUEST, jsonrpc::id(&msg), jsonrpc::INVALID_REQUEST, "not a valid JSON-RPC 2.0 message"),
    }
    let id = jsonrpc::id(&msg);
    let meta = match check(&msg, headers, state.runtime.load().config.mcp.max_initialize_params_bytes, body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let method = jsonrpc::method(&msg).to_string();
    if REMOVED.contains(&method.as_str()) {
        return not_found(id, &method);
    }
    let session = match session_for(&state, &scope, &caller, &meta, headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match method.as_str() {
        "server/discover" => discover(&state, &session, id).await,
        "subscriptions/listen" => listen(state, session, msg, meta).await,
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" | "tools/call" | "prompts/get" | "resources/read" | "completion/complete" => {
            rounds::run(state, session, msg, meta, accepts_sse(headers), headers, started).await
        }
        // One server's endpoint passes any other method to its server (tasks, extensions),
        // once a rule allows it.
        _ if scope.is_some() => rounds::run(state, session, msg, meta, accepts_sse(headers), headers, started).await,
        _ => not_found(id, &method),
    }
}

pub(super) fn not_found(id: Value, method: &str) -> Response {
    rpc_error(StatusCode::NOT_FOUND, id, jsonrpc::METHOD_NOT_FOUND, format!("method `{}` is not part of revision {STATELESS} here", crate::audit::clip(method)))
}

/// JSON with its keys in one order, whatever order the client wrote them in.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The id of the session Weir keeps for a stateless client: who asks, where, and what the
/// client declared.
pub(super) fn bridge_id(caller: &SessionPrincipal, scope: &Option<String>, meta: &Meta) -> String {
    use sha2::Digest;
    let mut text = String::new();
    for part in [caller.agent_id.as_str(), caller.end_user.as_deref().unwrap_or(""), scope.as_deref().unwrap_or("")] {
        text.push_str(part);
        text.push('\0');
    }
    canonical(&meta.caps, &mut text);
    text.push('\0');
    text.push_str(meta.info.get("name").and_then(Value::as_str).unwrap_or(""));
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!("s-{}", hex::encode(&digest[..16]))
}

/// The session Weir keeps for this client: here already, recorded in Redis by another replica
/// (when a backend of the endpoint keeps sessions), or begun now.
async fn session_for(state: &AppState, scope: &Option<String>, caller: &SessionPrincipal, meta: &Meta, headers: &HeaderMap) -> Result<Arc<Session>, Box<Response>> {
    let id = bridge_id(caller, scope, meta);
    if let Some(s) = state.mcp.sessions.get(&id) {
        s.touch();
        return Ok(s);
    }
    let shared = state.mcp.shared.clone().filter(|_| state.mcp.keeps_state(scope));
    if let Some(sh) = &shared {
        match sh.load(&id, &caller.agent_id).await {
            Ok(Some((rec, backends))) => {
                let s = state.mcp.adopt_session(&id, rec, backends);
                s.touch();
                return Ok(s);
            }
            Ok(None) => {}
            // Begun here; recorded at a later request once Redis answers.
            Err(e) => tracing::warn!(session = %id, error = %e, "MCP session store unreachable; the stateless client's backend sessions are kept here alone"),
        }
    }
    let agent_session = headers.get("x-weir-session").and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty()).map(|s| s.chars().take(256).collect());
    let params = json!({"capabilities": meta.caps, "clientInfo": meta.info});
    let replica = state.mcp.shared.as_ref().map(|sh| sh.replica.clone());
    let fresh = Session::with_id(id, caller.clone(), scope.clone(), STATELESS.to_string(), params, agent_session, replica);
    if shared.is_none() && state.mcp.shared.is_some() {
        fresh.keep_local();
    }
    let (session, new) = state.mcp.sessions.get_or_insert(fresh);
    if new {
        // A client that answers backends' requests: the backends' own streams are opened, for
        // those a backend sends unrelated to any call.
        if answers_backend_requests(&session.client_params) {
            state.mcp.start_pump(&session);
            let servers = state.mcp.servers_of(&session);
            let _ = futures_util::future::join_all(servers.iter().map(|s| state.mcp.link(&session, s))).await;
            session.listen().await;
        }
        if shared.is_some() {
            state.mcp.record_session(&session).await;
            state.mcp.start_pump(&session);
        }
        state.mcp.cap_agent_sessions(&session, state.runtime.load().config.mcp.max_sessions_per_agent).await;
    }
    Ok(session)
}

/// A result as the revision has it: `resultType` said, and the caching hints a list or a read
/// must carry (a backend of an older revision gives none: not to be kept, and for this client
/// alone).
pub(super) fn complete(method: &str, answer: &mut Value) {
    let Some(r) = answer.get_mut("result").and_then(Value::as_object_mut) else { return };
    r.entry("resultType").or_insert_with(|| json!("complete"));
    if matches!(method, "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" | "resources/read") {
        r.entry("ttlMs").or_insert_with(|| json!(0));
        r.entry("cacheScope").or_insert_with(|| json!("private"));
    }
}

/// `server/discover`: on one server's endpoint, that server as it describes itself; on the
/// aggregate, what any backend offers. Either way with every revision Weir serves.
async fn discover(state: &AppState, session: &Arc<Session>, id: Value) -> Response {
    let servers = state.mcp.servers_of(session);
    let links = futures_util::future::join_all(servers.iter().map(|s| state.mcp.link(session, s))).await;
    let mut capabilities = json!({});
    let mut single = None;
    let mut hints = listcache::Hints::default();
    for (server, link) in servers.iter().zip(links) {
        match link {
            Ok(link) => {
                let init = link.init_result();
                merge_capabilities(&mut capabilities, init.get("capabilities"));
                hints.add(&init);
                if session.scope.is_some() {
                    single = Some(init);
                }
            }
            Err(e) => tracing::warn!(server, error = %e, "MCP backend unavailable at server/discover"),
        }
    }
    let weir = json!({"name": "weir", "title": "Weir MCP gateway", "version": env!("CARGO_PKG_VERSION")});
    let mut result = match (session.scope.as_deref(), single) {
        (Some(_), Some(init)) => {
            let mut r = json!({
                "capabilities": init.get("capabilities").cloned().unwrap_or_else(|| json!({})),
                "_meta": {META_SERVER_INFO: init.get("serverInfo").cloned().unwrap_or(weir)},
            });
            if let Some(i) = init.get("instructions") {
                r["instructions"] = i.clone();
            }
            r
        }
        (Some(server), None) => {
            return rpc_error(StatusCode::BAD_GATEWAY, id, jsonrpc::BACKEND_UNAVAILABLE, format!("MCP server `{server}` is unavailable"));
        }
        (None, _) => json!({
            "capabilities": capabilities,
            "_meta": {META_SERVER_INFO: weir},
            "instructions": "Tools, prompts and resources of several MCP servers. Names are prefixed with their server: server__name.",
        }),
    };
    result["supportedVersions"] = json!(supported_versions());
    hints.write(&mut result);
    result["resultType"] = json!("complete");
    json_response(&jsonrpc::result(id, result))
}

/// Which notifications a `subscriptions/listen` asked for.
struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: Vec<String>,
}

impl Filter {
    fn of(params: Option<&Value>) -> Self {
        let n = params.and_then(|p| p.get("notifications"));
        let flag = |k: &str| n.and_then(|n| n.get(k)).and_then(Value::as_bool).unwrap_or(false);
        let uris = n
            .and_then(|n| n.get("resourceSubscriptions"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|u| u.as_str().or_else(|| u.get("uri").and_then(Value::as_str))).map(str::to_string).collect())
            .unwrap_or_default();
        Self { tools: flag("toolsListChanged"), prompts: flag("promptsListChanged"), resources: flag("resourcesListChanged"), uris }
    }

    fn passes(&self, msg: &Value) -> bool {
        match jsonrpc::method(msg) {
            "notifications/tools/list_changed" => self.tools,
            "notifications/prompts/list_changed" => self.prompts,
            "notifications/resources/list_changed" => self.resources,
            "notifications/resources/updated" => msg.pointer("/params/uri").and_then(Value::as_str).is_some_and(|u| self.uris.iter().any(|w| w == u)),
            _ => false,
        }
    }
}

/// The most resources one `subscriptions/listen` may watch.
const MAX_LISTEN_URIS: usize = 256;
/// The most `subscriptions/listen` streams one client (one session Weir keeps) has open here.
const MAX_LISTENS: usize = 8;

/// Counts a listen stream open while it lives.
struct ListenOpen(Arc<Session>);

impl Drop for ListenOpen {
    fn drop(&mut self) {
        self.0.listens.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Unsubscribes a listen stream's resources when it ends.
struct Unsubscribe {
    state: AppState,
    session: Arc<Session>,
    uris: Vec<String>,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        if self.uris.is_empty() {
            return;
        }
        let (state, session, uris) = (self.state.clone(), self.session.clone(), std::mem::take(&mut self.uris));
        tokio::spawn(async move {
            for uri in &uris {
                subscription(&state, &session, "resources/unsubscribe", uri).await;
            }
        });
    }
}

/// `resources/subscribe` or `resources/unsubscribe` of one URI, as the client's own request
/// would be (rules, records).
async fn subscription(state: &AppState, session: &Arc<Session>, method: &str, uri: &str) -> Value {
    let msg = jsonrpc::request(json!(format!("weir-sub-{}", uuid::Uuid::new_v4().simple())), method, json!({"uri": uri}));
    let (tx, _rx) = mpsc::channel(SINK_CAPACITY);
    run_request(state, session, msg, &tx, Instant::now(), &HeaderMap::new()).await
}

/// `subscriptions/listen`: an event stream that first says what it took, then carries the
/// backends' list changes and resource updates the client asked for, each tagged with the
/// subscription. Backends of older revisions are subscribed to the resources named
/// (`resources/subscribe`, under the same rules as a read) and their own streams opened.
async fn listen(state: AppState, session: Arc<Session>, msg: Value, meta: Meta) -> Response {
    let id = jsonrpc::id(&msg);
    let filter = Filter::of(msg.get("params"));
    if filter.uris.len() > MAX_LISTEN_URIS {
        return rpc_error(StatusCode::BAD_REQUEST, id, jsonrpc::INVALID_PARAMS, format!("{} resource subscriptions; at most {MAX_LISTEN_URIS} are taken", filter.uris.len()));
    }
    // Each stream is a task and a reader: a session has a few at most.
    if session.listens.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= MAX_LISTENS {
        session.listens.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        return rpc_error(StatusCode::TOO_MANY_REQUESTS, id, jsonrpc::INVALID_REQUEST, format!("at most {MAX_LISTENS} subscriptions/listen streams are open per client at a time"));
    }
    let open = ListenOpen(session.clone());
    let servers = state.mcp.servers_of(&session);
    let _ = futures_util::future::join_all(servers.iter().map(|s| state.mcp.link(&session, s))).await;
    state.mcp.start_pump(&session);
    session.listen().await;
    let store = state.mcp.streams_of(&session);
    let stream = store.session_stream(&session.id);
    // Read from here on: what was said before this subscription is not its business.
    let Ok(mut pos) = store.tail(&stream).await else {
        return rpc_error(StatusCode::SERVICE_UNAVAILABLE, id, jsonrpc::INTERNAL_ERROR, "the MCP session store (Redis) is unreachable; try again");
    };
    for (n, uri) in filter.uris.iter().enumerate() {
        let answer = subscription(&state, &session, "resources/subscribe", uri).await;
        if let Some((code, message)) = jsonrpc::error_of(&answer) {
            // What was subscribed for this stream is let go.
            for done in &filter.uris[..n] {
                subscription(&state, &session, "resources/unsubscribe", done).await;
            }
            return rpc_error(StatusCode::OK, id, code, format!("cannot subscribe to `{}`: {message}", crate::audit::clip(uri)));
        }
    }
    // The subscription is known by its request's id.
    let sub_id = id.clone();
    let tag = move |mut m: Value| {
        if let Some(p) = m.as_object_mut().map(|o| o.entry("params").or_insert_with(|| json!({}))) {
            if let Some(p) = p.as_object_mut() {
                let meta = p.entry("_meta").or_insert_with(|| json!({}));
                meta[META_SUBSCRIPTION] = sub_id.clone();
            }
        }
        m
    };
    let ack = tag(jsonrpc::notification("notifications/subscriptions/acknowledged", json!({"notifications": msg.pointer("/params/notifications").cloned().unwrap_or_else(|| json!({}))})));
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(SINK_CAPACITY);
    let _ = out_tx.try_send(message_event(&wire_text(&ack)));
    let (closing, ended) = (state.mcp.closing.clone(), session.ended.clone());
    drop(meta);
    tokio::spawn(async move {
        let _open = open;
        // When the stream ends, so do its resource subscriptions.
        let _unsubscribe = Unsubscribe { state: state.clone(), session: session.clone(), uris: filter.uris.clone() };
        let Ok(mut reader) = store.reader().await else { return };
        loop {
            let Some(events) = read_for_client(&mut *reader, &stream, &pos, &closing, &ended, &out_tx, &session.id).await else { return };
            session.touch();
            if events.is_empty() {
                if out_tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                    return;
                }
                continue;
            }
            for ev in events {
                pos.clone_from(&ev.id);
                let Ok(m) = serde_json::from_str::<Value>(&ev.data) else { continue };
                if jsonrpc::kind(&m) != Kind::Notification || !filter.passes(&m) {
                    continue;
                }
                if out_tx.send(message_event(&wire_text(&tag(m)))).await.is_err() {
                    return;
                }
            }
        }
    });
    sse_response(tokio_stream::wrappers::ReceiverStream::new(out_rx).map(Ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn request(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 4, "method": method, "params": params})
    }

    fn meta_of(caps: Value) -> Value {
        json!({META_VERSION: STATELESS, META_CAPS: caps, META_INFO: {"name": "c", "version": "1"}})
    }

    #[expect(clippy::boxed_local, reason = "as `check` gives it")]
    fn code(r: Box<Response>) -> (u16, i64) {
        let status = r.status().as_u16();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let body = rt.block_on(axum::body::to_bytes(r.into_body(), 1 << 20)).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        (status, v["error"]["code"].as_i64().unwrap())
    }

    #[test]
    fn a_message_is_stateless_by_its_revision_and_never_with_a_session() {
        let m = request("tools/list", json!({"_meta": meta_of(json!({}))}));
        assert!(is_stateless(&headers(&[("mcp-protocol-version", STATELESS)]), &m));
        assert!(is_stateless(&headers(&[("mcp-protocol-version", "v9")]), &m), "an unknown revision is answered the stateless way");
        assert!(is_stateless(&HeaderMap::new(), &m), "_meta alone says it (the missing header is refused later)");
        assert!(!is_stateless(&headers(&[("mcp-protocol-version", "2025-11-25")]), &m));
        assert!(!is_stateless(&headers(&[("mcp-protocol-version", STATELESS), ("mcp-session-id", "s")]), &m));
        assert!(!is_stateless(&HeaderMap::new(), &request("initialize", json!({"_meta": meta_of(json!({}))}))));
        assert!(!is_stateless(&HeaderMap::new(), &request("tools/list", json!({}))));
    }

    #[test]
    fn headers_must_agree_with_the_body_and_meta_must_be_whole() {
        let ok = [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/call"), ("mcp-name", "a__b")];
        let call = request("tools/call", json!({"name": "a__b", "_meta": meta_of(json!({"sampling": {}}))}));
        let m = check(&call, &headers(&ok), 65536, usize::MAX).map_err(code).unwrap();
        assert!(m.declares("sampling") && !m.declares("elicitation"));
        assert_eq!(check(&call, &headers(&[ok[0], ok[1], ("mcp-name", "a__c")]), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, HEADER_MISMATCH)));
        assert_eq!(check(&call, &headers(&[ok[0], ok[1]]), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, HEADER_MISMATCH)));
        assert_eq!(check(&call, &headers(&[ok[0], ("mcp-method", "tools/list"), ok[2]]), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, HEADER_MISMATCH)));
        assert_eq!(check(&call, &headers(&[ok[1], ok[2]]), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, HEADER_MISMATCH)));
        assert!(check(&call, &headers(&[ok[0], ok[1], ("mcp-name", "=?base64?YV9fYg==?=")]), 65536, usize::MAX).is_ok(), "an encoded name is compared decoded");
        let bare = request("tools/call", json!({"name": "a__b"}));
        assert_eq!(check(&bare, &headers(&ok), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, jsonrpc::INVALID_PARAMS)));
        let no_caps = request("tools/call", json!({"name": "a__b", "_meta": {META_VERSION: STATELESS}}));
        assert_eq!(check(&no_caps, &headers(&ok), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, jsonrpc::INVALID_PARAMS)));
        assert_eq!(check(&call, &headers(&ok), 40, usize::MAX).map(|_| ()).map_err(code), Err((400, jsonrpc::INVALID_PARAMS)), "_meta past its bound");
        let v9 = request("tools/list", json!({"_meta": {META_VERSION: "v9", META_CAPS: {}}}));
        assert_eq!(check(&v9, &headers(&[("mcp-protocol-version", "v9"), ("mcp-method", "tools/list")]), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, UNSUPPORTED_VERSION)));
        // Mcp-Param-* headers carry arguments of the call, and nothing else.
        let with_args = request("tools/call", json!({"name": "a__b", "arguments": {"region": "eu", "n": 3}, "_meta": meta_of(json!({}))}));
        assert!(check(&with_args, &headers(&[ok[0], ok[1], ok[2], ("mcp-param-region", "eu"), ("mcp-param-n", "3")]), 65536, usize::MAX).is_ok());
        assert!(check(&with_args, &headers(&[ok[0], ok[1], ok[2], ("mcp-param-region", "=?base64?ZXU=?=")]), 65536, usize::MAX).is_ok());
        assert_eq!(check(&with_args, &headers(&[ok[0], ok[1], ok[2], ("mcp-param-region", "us")]), 65536, usize::MAX).map(|_| ()).map_err(code), Err((400, HEADER_MISMATCH)));
        // The tasks extension's methods name their task.
        let task = request("tasks/get", json!({"taskId": "t1", "_meta": meta_of(json!({}))}));
        assert!(check(&task, &headers(&[ok[0], ("mcp-method", "tasks/get"), ("mcp-name", "t1")]), 65536, usize::MAX).is_ok());
    }

    #[test]
    fn header_values_are_encoded_only_when_they_must_be_and_decode_back() {
        for v in ["plain", "file:///a b/c", "", " lead", "trail ", "naïve", "tab\there", "=?base64?abc?="] {
            let e = encode_header_value(v);
            assert!(e.bytes().all(|b| (0x20..0x7f).contains(&b)), "{e:?} is a valid header value");
            assert_eq!(decode_header_value(&e).as_deref(), Some(v));
        }
        assert_eq!(encode_header_value("plain"), "plain");
        assert_eq!(decode_header_value("=?base64?%%?="), None);
    }

    #[test]
    fn a_clients_session_is_the_same_whatever_order_it_writes_its_capabilities_in() {
        let p = SessionPrincipal { agent_id: "a1".into(), agent_name: "a".into(), key_id: None, end_user: None };
        let m = |caps: &str| Meta { caps: serde_json::from_str(caps).unwrap(), info: json!({"name": "c"}), level: None };
        let one = bridge_id(&p, &None, &m(r#"{"sampling":{},"elicitation":{"form":{}}}"#));
        assert_eq!(one, bridge_id(&p, &None, &m(r#"{"elicitation":{"form":{}},"sampling":{}}"#)));
        assert_ne!(one, bridge_id(&p, &None, &m(r#"{"sampling":{}}"#)), "other capabilities, another backend session");
        assert_ne!(one, bridge_id(&p, &Some("x".into()), &m(r#"{"sampling":{},"elicitation":{"form":{}}}"#)));
        let bob = SessionPrincipal { end_user: Some("bob".into()), ..p.clone() };
        assert_ne!(one, bridge_id(&bob, &None, &m(r#"{"sampling":{},"elicitation":{"form":{}}}"#)));
    }

    #[test]
    fn logs_reach_a_client_only_at_the_level_it_asked_for() {
        let log = |level: &str| jsonrpc::notification("notifications/message", json!({"level": level, "data": "x"}));
        let none = Meta { caps: json!({}), info: Value::Null, level: None };
        assert!(!none.wants(&log("emergency")));
        assert!(none.wants(&jsonrpc::notification("notifications/progress", json!({}))));
        let warn = Meta { level: Some("warning".into()), ..none };
        assert!(warn.wants(&log("error")) && warn.wants(&log("warning")) && !warn.wants(&log("info")));
    }

    #[test]
    fn results_say_their_type_and_lists_how_long_to_keep_them() {
        let mut list = jsonrpc::result(json!(1), json!({"tools": []}));
        complete("tools/list", &mut list);
        assert_eq!((list["result"]["resultType"].as_str(), list["result"]["ttlMs"].as_u64(), list["result"]["cacheScope"].as_str()), (Some("complete"), Some(0), Some("private")));
        let mut kept = jsonrpc::result(json!(1), json!({"tools": [], "ttlMs": 5, "cacheScope": "public", "resultType": "complete"}));
        complete("tools/list", &mut kept);
        assert_eq!(kept["result"]["ttlMs"], 5);
        let mut call = jsonrpc::result(json!(1), json!({"content": []}));
        complete("tools/call", &mut call);
        assert!(call["result"].get("ttlMs").is_none() && call["result"]["resultType"] == "complete");
        let mut err = jsonrpc::error(json!(1), -32602, "x");
        complete("tools/list", &mut err);
        assert!(err.get("result").is_none());
    }
}
