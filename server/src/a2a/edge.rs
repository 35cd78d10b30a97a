//! The HTTP edge of `/a2a/{agent}`: the card, and every request of either binding, relayed.
//!
//! A request flows: target → card (public) or caller's key → body (bounded) → what it is
//! (binding, version, operation, task, skill) → version the target speaks → request limit →
//! rules → the task is the caller's → push-notification URL → guardrails on its text → the
//! target (the caller's key never goes on; the target's configured credentials do) → the
//! answer (task ownership, `ListTasks` narrowed to the caller's, the extended card rewritten,
//! guardrails on its text; a stream event by event) → record.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};

use super::card::{self, CARD_PATHS};
use super::gateway::CardEntry;
use super::policy::{self as rules, Decision};
use super::protocol::{self as proto, Binding, Operation, TaskFacts, Version};
use super::record::{A2aRecord, Caller};
use crate::config::{A2aAgent, A2aConfig};
use crate::guard::policy::{Direction, Policy};
use crate::jsonrpc;
use crate::llm::UpstreamResponse;
use crate::state::AppState;
use std::sync::Arc;

const A2A_VERSION: HeaderName = HeaderName::from_static("a2a-version");
const A2A_EXTENSIONS: HeaderName = HeaderName::from_static("a2a-extensions");
/// v0.3's clients name it so.
const X_A2A_EXTENSIONS: HeaderName = HeaderName::from_static("x-a2a-extensions");

pub fn routes() -> Router<AppState> {
    Router::new().route("/a2a/{agent}", any(at_root)).route("/a2a/{agent}/{*rest}", any(below_root))
}

async fn at_root(State(state): State<AppState>, Path(agent): Path<String>, req: Request) -> Response {
    handle(state, agent, req).await
}

async fn below_root(State(state): State<AppState>, Path((agent, _)): Path<(String, String)>, req: Request) -> Response {
    handle(state, agent, req).await
}

/// The path below `/a2a/{agent}` as the caller sent it, still percent-encoded: what goes to the
/// agent, and what Weir reads (decoded segment by segment) before it does.
fn raw_rest(path: &str) -> &str {
    let after = path.strip_prefix("/a2a/").unwrap_or(path);
    after.find('/').map_or("", |i| &after[i..])
}

/// Whether a path reads as one of A2A's REST routes (behind any interface path).
fn looks_rest(method: &Method, raw: &str) -> bool {
    proto::segments(raw).is_some_and(|segs| (0..=segs.len()).any(|k| proto::rest_operation(method, &segs[k..]).is_some()))
}

/// An answer Weir gives itself, in the caller's binding.
struct Refusal {
    status: StatusCode,
    code: i64,
    message: String,
    error_type: &'static str,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Refusal {
    fn new(status: StatusCode, code: i64, error_type: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), error_type, headers: Vec::new() }
    }

    /// A JSON-RPC error goes with HTTP 200, as A2A servers send theirs (a client reads the
    /// error, not the status), except where the HTTP meaning is what a client acts on: no such
    /// agent (404), a missing key (401), a body too large (413), a limit (429). A REST error
    /// goes with its HTTP status.
    fn response(&self, binding: Binding, version: Version, id: &Value) -> Response {
        let (status, body) = match binding {
            Binding::JsonRpc => {
                let kept = matches!(self.status, StatusCode::UNAUTHORIZED | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS) || self.error_type == "unknown_agent";
                let status = if kept { self.status } else { StatusCode::OK };
                (status, proto::rpc_error(version, id.clone(), self.code, &self.message))
            }
            Binding::Rest => (self.status, proto::rest_error(version, self.status.as_u16(), self.code, &self.message)),
        };
        let mut r = json_body(status, &body);
        for (k, v) in &self.headers {
            r.headers_mut().insert(k.clone(), v.clone());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"weir\""));
        }
        r
    }
}

fn json_body(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// What a request is, read once.
struct Parsed {
    binding: Binding,
    version: Version,
    op: Operation,
    /// The JSON-RPC method, or the REST method and path.
    method: String,
    id: Value,
    /// The JSON-RPC message, or the REST body (`Null` when empty), as parsed once.
    doc: Value,
    /// Every task the request names (each must be the caller's).
    tasks: Vec<String>,
    http_method: Method,
    /// The path at the agent (the interface's path, then what the caller sent below it).
    upstream_path: String,
}

impl Parsed {
    /// The JSON-RPC params, or the REST body.
    fn params(&self) -> &Value {
        match self.binding {
            Binding::JsonRpc => self.doc.get("params").unwrap_or(&Value::Null),
            Binding::Rest => &self.doc,
        }
    }
}

async fn handle(state: AppState, name: String, req: Request) -> Response {
    let started = Instant::now();
    let rt = state.runtime.load_full();
    let cfg = &rt.config.a2a;
    let (parts, body) = req.into_parts();
    let rest = raw_rest(parts.uri.path());
    // Before the body is read, errors take the binding the path suggests (read only for them).
    let guess = || if parts.method == Method::POST && !looks_rest(&parts.method, rest) { Binding::JsonRpc } else { Binding::Rest };
    let version_guess = Version::from_header(parts.headers.get("a2a-version").and_then(|v| v.to_str().ok())).unwrap_or(Version::V10);
    let stored = state.a2a.stored.load();
    let Some(agent) = state.a2a.agent(cfg, &stored, &name) else {
        return Refusal::new(StatusCode::NOT_FOUND, jsonrpc::INVALID_REQUEST, "unknown_agent", format!("no agent `{}` is registered at Weir", crate::audit::clip(&name))).response(guess(), version_guess, &Value::Null);
    };
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if parts.method == Method::GET && CARD_PATHS.contains(&rest) {
        return serve_card(&state, agent, cfg, &parts.headers, peer, &rt.config.trusted_proxies).await;
    }
    let principal = match state.keys.authenticate(&parts.headers) {
        Ok(p) => p,
        Err(e) => return Refusal::new(StatusCode::UNAUTHORIZED, proto::UNAUTHORIZED, "unauthorized", e.message()).response(guess(), version_guess, &Value::Null),
    };
    let caller = Caller {
        agent_id: &principal.agent_id,
        agent_name: &principal.agent_name,
        key_id: Some(&principal.key_id),
        end_user: crate::call::header_str(&parts.headers, &crate::call::WEIR_USER),
    };
    let request_id = crate::call::RequestId::new();
    // A request refused before it is read through is recorded all the same (by what it is
    // as sent), so that every A2A request of a known caller leaves an audit event.
    let refused = |refusal: Refusal, binding: Binding, id: &Value| {
        let method = format!("{} {}", parts.method, crate::audit::clip(rest));
        let rec = A2aRecord::begin(&state, &caller, &agent.name, &method, version_guess, None, &parts.headers, &request_id.id, started);
        let resp = refusal.response(binding, version_guess, id);
        rec.finish_error(&state, resp.status().as_u16(), refusal.error_type, Some(refusal.message.clone()));
        request_id.stamp(resp)
    };
    let body = match read_body(body, cfg.max_message_bytes).await {
        Ok(b) => b,
        Err(r) => return refused(r, guess(), &Value::Null),
    };
    let card = match state.a2a.card(agent, cfg).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(agent = %agent.name, error = %e, "relaying without the agent's card");
            None
        }
    };
    let default_routes;
    let routes = match &card {
        Some(c) => &c.routes,
        None => {
            default_routes = card::Routes::of(&agent.base_url, &Value::Null);
            &default_routes
        }
    };
    let parsed = match parse(&parts.method, rest, routes, &parts.headers, &body) {
        Ok(p) => p,
        Err(e) => {
            let (refusal, binding, id) = *e;
            return refused(refusal, binding, &id);
        }
    };
    let context_id = proto::request_context(parsed.params());
    let mut rec = A2aRecord::begin(&state, &caller, &agent.name, &parsed.method, parsed.version, context_id.as_deref(), &parts.headers, &request_id.id, started);
    if let Some(p) = peer {
        rec.set_client_ip(crate::state::client_ip(p, &parts.headers, &rt.config.trusted_proxies));
    }
    if let Some(t) = parsed.tasks.first() {
        rec.named_task(t);
    }
    rec.set_request(body.clone());
    let call = Call { state: &state, cfg, agent, card, caller: &caller, parsed: &parsed, headers: &parts.headers, query: parts.uri.query(), peer: peer.map(|p| p.ip()), trusted: &rt.config.trusted_proxies };
    let resp = call.run(rec, body).await;
    request_id.stamp(resp)
}

async fn read_body(body: Body, max: usize) -> Result<Bytes, Refusal> {
    match axum::body::to_bytes(body, max).await {
        Ok(b) => Ok(b),
        Err(e) if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) => {
            Err(Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, jsonrpc::INVALID_REQUEST, "body_too_large", format!("the request is larger than the {max}-byte limit")))
        }
        Err(_) => Err(Refusal::new(StatusCode::BAD_REQUEST, jsonrpc::INVALID_REQUEST, "body_unreadable", "the request body could not be read")),
    }
}

type ParseError = Box<(Refusal, Binding, Value)>;

fn parse(method: &Method, raw: &str, routes: &card::Routes, headers: &HeaderMap, body: &Bytes) -> Result<Parsed, ParseError> {
    let header_version = headers.get("a2a-version").and_then(|v| v.to_str().ok());
    let refuse = |status: StatusCode, code: i64, ty: &'static str, message: String, b: Binding, id: Value| Box::new((Refusal::new(status, code, ty, message), b, id));
    let unsupported = |b: Binding, id: Value| {
        refuse(StatusCode::BAD_REQUEST, proto::VERSION_NOT_SUPPORTED, "version_not_supported", format!("A2A version `{}` is not supported (Weir speaks 0.3 and 1.0)", crate::audit::clip(header_version.unwrap_or(""))), b, id)
    };
    // What the caller sent below the interface it addressed, read segment by segment: a path
    // that would read differently decoded is refused, so Weir checks what the agent runs.
    let (upstream_path, below) = routes.upstream(raw);
    let Some(segs) = proto::segments(below) else {
        return Err(refuse(StatusCode::BAD_REQUEST, jsonrpc::INVALID_REQUEST, "invalid_path", "the path holds an encoded `/`, `?`, `#`, `\\` or `..`, which Weir does not relay".into(), Binding::Rest, Value::Null));
    };
    let http_method = method.clone();
    if let Some((op, path_tasks)) = proto::rest_operation(method, &segs) {
        // A REST route is REST whatever its body holds.
        let version = Version::from_header(header_version).ok_or_else(|| unsupported(Binding::Rest, Value::Null))?;
        let params = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).map_err(|_| refuse(StatusCode::BAD_REQUEST, jsonrpc::PARSE_ERROR, "invalid_json", "the request body is not valid JSON".into(), Binding::Rest, Value::Null))?
        };
        let mut tasks = path_tasks;
        for t in proto::named_tasks(op, version, &params) {
            if !tasks.contains(&t) {
                tasks.push(t);
            }
        }
        let method = format!("{method} {}", crate::audit::clip(raw));
        return Ok(Parsed { binding: Binding::Rest, version, op, method, id: Value::Null, doc: params, tasks, http_method, upstream_path });
    }
    if !(*method == Method::POST && segs.is_empty()) {
        let message = format!("`{method} {}` is not an A2A operation Weir relays", crate::audit::clip(raw));
        return Err(refuse(StatusCode::NOT_FOUND, jsonrpc::METHOD_NOT_FOUND, "unknown_operation", message, Binding::Rest, Value::Null));
    }
    // JSON-RPC, at an interface's own address. (A v0.3 server takes a request without
    // `jsonrpc`; so does Weir, and reads it the same way.)
    let msg: Value = serde_json::from_slice(body).map_err(|_| refuse(StatusCode::BAD_REQUEST, jsonrpc::PARSE_ERROR, "invalid_json", "the request body is not valid JSON".into(), Binding::JsonRpc, Value::Null))?;
    if msg.is_array() {
        return Err(refuse(StatusCode::BAD_REQUEST, jsonrpc::INVALID_REQUEST, "invalid_request", "A2A takes one JSON-RPC request at a time, not a batch".into(), Binding::JsonRpc, Value::Null));
    }
    let id = jsonrpc::id(&msg);
    let name = msg.get("method").and_then(Value::as_str).ok_or_else(|| refuse(StatusCode::BAD_REQUEST, jsonrpc::INVALID_REQUEST, "invalid_request", "a JSON-RPC request needs a `method`".into(), Binding::JsonRpc, id.clone()))?;
    let Some((op, by_name)) = proto::rpc_operation(name) else {
        let message = format!("method `{}` is not one of A2A's; Weir relays A2A's methods only", crate::audit::clip(name));
        return Err(refuse(StatusCode::NOT_FOUND, jsonrpc::METHOD_NOT_FOUND, "unknown_operation", message, Binding::JsonRpc, id));
    };
    // A caller that sends no `A2A-Version` speaks 0.3, unless its method is v1.0's.
    let version = match header_version.filter(|h| !h.trim().is_empty()) {
        Some(_) => Version::from_header(header_version).ok_or_else(|| unsupported(Binding::JsonRpc, id.clone()))?,
        None => by_name,
    };
    let tasks = proto::named_tasks(op, version, msg.get("params").unwrap_or(&Value::Null));
    let method = crate::audit::clip(name).to_string();
    Ok(Parsed { binding: Binding::JsonRpc, version, op, method, id, doc: msg, tasks, http_method, upstream_path })
}

enum Relayed {
    Whole(Response),
    /// The target's own error answer, relayed as it came: recorded as an error.
    Failed(Response, &'static str, String),
}

struct Call<'a> {
    state: &'a AppState,
    cfg: &'a A2aConfig,
    agent: &'a A2aAgent,
    card: Option<Arc<CardEntry>>,
    caller: &'a Caller<'a>,
    parsed: &'a Parsed,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    peer: Option<IpAddr>,
    trusted: &'a [IpAddr],
}

impl Call<'_> {
    /// The request, relayed and recorded (a stream's record ends with the stream).
    async fn run(&self, mut rec: A2aRecord, body: Bytes) -> Response {
        let (body, policy) = match self.admit(&mut rec, body).await {
            Ok(admitted) => admitted,
            Err(refusal) => return self.refused(rec, &refusal),
        };
        let resp = match self.send(&rec, body).await {
            Ok(resp) => resp,
            Err(refusal) => return self.refused(rec, &refusal),
        };
        let is_sse = resp.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("text/event-stream"));
        if is_sse {
            rec.set_streamed();
            return super::stream::relay(self.owned(), resp, policy, rec);
        }
        match self.whole(&mut rec, resp, policy).await {
            Ok(Relayed::Whole(resp)) => {
                rec.finish_ok(self.state, resp.status().as_u16());
                resp
            }
            Ok(Relayed::Failed(resp, error_type, message)) => {
                rec.finish_error(self.state, resp.status().as_u16(), error_type, Some(message));
                resp
            }
            Err(refusal) => self.refused(rec, &refusal),
        }
    }

    fn refused(&self, rec: A2aRecord, refusal: &Refusal) -> Response {
        let resp = refusal.response(self.parsed.binding, self.parsed.version, &self.parsed.id);
        rec.finish_error(self.state, resp.status().as_u16(), refusal.error_type, Some(refusal.message.clone()));
        resp
    }

    /// Everything decided before the target is called: the body that goes on, the card, and
    /// the guardrail policy for the answer.
    async fn admit(&self, rec: &mut A2aRecord, body: Bytes) -> Result<(Bytes, Option<Policy>), Refusal> {
        let (state, cfg, agent, p) = (self.state, self.cfg, self.agent, self.parsed);
        if let Some(c) = self.card.as_ref().filter(|c| !c.versions.is_empty() && !c.versions.contains(&p.version)) {
            let spoken: Vec<&str> = c.versions.iter().map(|v| v.as_str()).collect();
            return Err(Refusal::new(StatusCode::BAD_REQUEST, proto::VERSION_NOT_SUPPORTED, "version_not_supported", format!("agent `{}` does not speak A2A {} (it speaks {})", agent.name, p.version.as_str(), spoken.join(", "))));
        }
        if let Err(refusal) = state.limiter.admit_a2a(self.caller.agent_id, self.caller.agent_name, 1).await {
            let status = match &refusal {
                crate::limits::Refusal::Exceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
                crate::limits::Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let (code, ty) = if status == StatusCode::TOO_MANY_REQUESTS { (proto::RATE_LIMITED, "limit_exceeded") } else { (proto::AGENT_UNAVAILABLE, "limits_unavailable") };
            let mut r = Refusal::new(status, code, ty, refusal.message());
            r.headers = refusal.http_headers();
            return Err(r);
        }
        self.authorize(rec, self.card.as_deref().map(|c| &c.card))?;
        if !p.tasks.is_empty() {
            // Only a task this caller created may be read, cancelled, followed or continued.
            let refs: Vec<&str> = p.tasks.iter().map(String::as_str).collect();
            let owners = state.a2a.owners.owners(&agent.name, &refs, cfg.task_ttl).await.map_err(|e| {
                tracing::error!(error = %e, "task owners unavailable");
                Refusal::new(StatusCode::SERVICE_UNAVAILABLE, proto::AGENT_UNAVAILABLE, "store_unavailable", "Weir cannot check who owns the task right now; try again")
            })?;
            if owners.iter().any(|o| o.as_deref() != Some(self.caller.agent_id)) {
                return Err(Refusal::new(StatusCode::NOT_FOUND, proto::TASK_NOT_FOUND, "task_not_found", "task not found"));
            }
        }
        for url in proto::push_urls(p.op, p.params()) {
            super::webhooks::check(&url, cfg.allow_private_webhooks).await.map_err(|m| Refusal::new(StatusCode::BAD_REQUEST, jsonrpc::INVALID_PARAMS, "webhook_refused", m))?;
        }
        let policy = self.policy();
        let body = match (&policy, p.op.sends_message()) {
            (Some(policy), true) => self.guard_request(policy, rec, body).await?,
            _ => body,
        };
        Ok((body, policy))
    }

    fn policy(&self) -> Option<Policy> {
        let rt = self.state.runtime.load();
        (!rt.config.guardrails.is_empty()).then(|| self.state.guard_overrides.policy(&rt.config.guardrails, "", self.caller.agent_id))
    }

    fn guard_context(&self) -> crate::guard::webhook::Context {
        crate::guard::webhook::Context { agent: self.caller.agent_name.to_string(), user: self.caller.end_user.clone(), model: None }
    }

    /// Who may call whom: the rules, with the skill the message names (or the target's only
    /// one). Requests that carry no message (a task's reads, cancels) need a rule that lets the
    /// caller reach the target at all.
    fn authorize(&self, rec: &mut A2aRecord, card: Option<&Value>) -> Result<(), Refusal> {
        let stored = self.state.a2a.stored.load();
        if self.cfg.rules.is_empty() && stored.rules.is_empty() {
            return Ok(());
        }
        // Every skill the message names must be allowed (an agent may read either); none named:
        // the card's only skill.
        let mut skills = if self.parsed.op.sends_message() { proto::skills_of(self.parsed.params()) } else { Vec::new() };
        if skills.is_empty() && self.parsed.op.sends_message() {
            skills.extend(card.and_then(only_skill));
        }
        if !skills.is_empty() {
            rec.set_skill(&skills.join(", "));
        }
        let one = |skill: Option<&str>| rules::decide(&self.cfg.rules, &stored.rules, self.caller.agent_name, &self.agent.name, skill, self.parsed.op.sends_message());
        let decision = if skills.is_empty() {
            one(None)
        } else {
            let mut last = Decision::Deny(String::new());
            for s in &skills {
                last = one(Some(s));
                if matches!(last, Decision::Deny(_)) {
                    break;
                }
            }
            last
        };
        match decision {
            Decision::Allow(rule) => {
                rec.set_decision(true, Some(rule));
                Ok(())
            }
            Decision::Deny(why) => {
                rec.set_decision(false, None);
                Err(Refusal::new(StatusCode::FORBIDDEN, proto::DENIED_BY_POLICY, "denied_by_policy", why))
            }
        }
    }

    async fn guard_request(&self, policy: &Policy, rec: &mut A2aRecord, body: Bytes) -> Result<Bytes, Refusal> {
        // The message as parsed once, copied to be masked.
        let mut doc = self.parsed.doc.clone();
        let root = if self.parsed.binding == Binding::JsonRpc { "/params" } else { "" };
        let Some(scope) = doc.pointer(root).and_then(proto::message_of) else { return Ok(body) };
        let mut pointers = Vec::new();
        proto::text_parts(scope, &mut String::new(), &mut pointers);
        let base = format!("{root}/{}", if doc.pointer(&format!("{root}/message")).is_some() { "message" } else { "request" });
        let pointers: Vec<String> = pointers.into_iter().map(|p| format!("{base}{p}")).collect();
        match guard_texts(policy, Direction::Request, &mut doc, &pointers, &self.guard_context(), rec).await {
            GuardOutcome::Unchanged => Ok(body),
            GuardOutcome::Masked => {
                let masked = Bytes::from(doc.to_string());
                rec.set_request(masked.clone());
                Ok(masked)
            }
            GuardOutcome::Blocked(m) => Err(Refusal::new(StatusCode::FORBIDDEN, proto::DENIED_BY_POLICY, "guardrail_blocked", m)),
        }
    }

    /// The request as the target gets it: its binding's path below the interface the caller
    /// used, the caller's `A2A-*` headers and trace, the target's own credentials.
    async fn send(&self, rec: &A2aRecord, body: Bytes) -> Result<UpstreamResponse, Refusal> {
        let (state, cfg, agent) = (self.state, self.cfg, self.agent);
        // Always the origin the agent was registered with (its card names paths only).
        let (origin, _) = card::split(&agent.base_url);
        let path = &self.parsed.upstream_path;
        let transport = state.a2a.transport(agent, origin, cfg).map_err(|e| {
            tracing::error!(agent = %agent.name, error = %e, "cannot reach the agent");
            Refusal::new(StatusCode::BAD_GATEWAY, proto::AGENT_UNAVAILABLE, "upstream_unavailable", format!("agent `{}` cannot be reached", agent.name))
        })?;
        let mut headers = HeaderMap::new();
        for name in [header::CONTENT_TYPE, header::ACCEPT, A2A_VERSION, A2A_EXTENSIONS, X_A2A_EXTENSIONS, header::USER_AGENT] {
            for v in self.headers.get_all(&name) {
                headers.append(name.clone(), v.clone());
            }
        }
        if !headers.contains_key(header::CONTENT_TYPE) && !body.is_empty() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        // This call's span continues the caller's `traceparent`; the target continues it.
        crate::telemetry::inject_context(rec.context(), &mut headers);
        for (k, v) in &agent.headers {
            headers.insert(k.clone(), v.clone());
        }
        transport.send(self.method_for_target(), path, self.query, headers, body).await.map_err(|e| {
            tracing::warn!(agent = %agent.name, error = %e, "A2A request failed");
            let (status, ty) = if e.is_timeout() { (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout") } else { (StatusCode::BAD_GATEWAY, "upstream_unavailable") };
            Refusal::new(status, proto::AGENT_UNAVAILABLE, ty, format!("agent `{}` did not answer", agent.name))
        })
    }

    /// A whole (not streamed) answer, read, checked and passed on.
    async fn whole(&self, rec: &mut A2aRecord, resp: UpstreamResponse, policy: Option<Policy>) -> Result<Relayed, Refusal> {
        let (cfg, agent, p) = (self.cfg, self.agent, self.parsed);
        let status = resp.status;
        let resp_headers = resp.headers;
        let raw = resp.body.with_chunk_timeout(cfg.stream_idle).collect(cfg.max_answer_bytes).await.map_err(|e| {
            tracing::warn!(agent = %agent.name, error = %e, "reading the agent's answer failed");
            Refusal::new(StatusCode::BAD_GATEWAY, proto::INVALID_AGENT_RESPONSE, "upstream_broken", format!("agent `{}` broke off its answer", agent.name))
        })?;
        let mut answer: Value = match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(_) if !status.is_success() => {
                return Ok(Relayed::Failed(relay_head(status, &resp_headers, raw), "upstream_error", format!("agent answered HTTP {}", status.as_u16())));
            }
            Err(_) => return Err(Refusal::new(StatusCode::BAD_GATEWAY, proto::INVALID_AGENT_RESPONSE, "invalid_agent_response", format!("agent `{}` answered something that is not JSON", agent.name))),
        };
        let rpc_error = p.binding == Binding::JsonRpc && answer.get("error").is_some_and(|e| !e.is_null());
        if !status.is_success() || rpc_error {
            let message = super::record::error_message(&answer).unwrap_or_else(|| format!("agent answered HTTP {}", status.as_u16()));
            rec.set_response(raw.clone());
            return Ok(Relayed::Failed(relay_head(status, &resp_headers, raw), "upstream_error", message));
        }
        let root = if p.binding == Binding::JsonRpc { "/result" } else { "" };
        let mut changed = self.after_answer(rec, &mut answer, root).await?;
        if let Some(policy) = &policy {
            match self.guard_answer(policy, rec, &mut answer, root).await {
                GuardOutcome::Unchanged => {}
                GuardOutcome::Masked => changed = true,
                GuardOutcome::Blocked(m) => return Err(Refusal::new(StatusCode::FORBIDDEN, proto::DENIED_BY_POLICY, "guardrail_blocked", m)),
            }
        }
        let out = if changed { Bytes::from(answer.to_string()) } else { raw };
        rec.set_response(out.clone());
        Ok(Relayed::Whole(relay_head(status, &resp_headers, out)))
    }

    /// REST keeps the caller's method; JSON-RPC is always POST.
    fn method_for_target(&self) -> Method {
        match self.parsed.binding {
            Binding::JsonRpc => Method::POST,
            Binding::Rest => self.parsed.http_method.clone(),
        }
    }

    /// What an answer changes at Weir: a new task's owner, the caller's tasks only in a list,
    /// the extended card pointing at Weir. Returns whether the answer was changed.
    async fn after_answer(&self, rec: &mut A2aRecord, answer: &mut Value, root: &str) -> Result<bool, Refusal> {
        let (state, cfg, p) = (self.state, self.cfg, self.parsed);
        let Some(result) = answer.pointer_mut(root) else { return Ok(false) };
        match p.op {
            Operation::ListTasks => {
                // A list Weir cannot narrow is not passed on (it could hold anyone's tasks).
                let Some(tasks) = result.get_mut("tasks").and_then(Value::as_array_mut) else {
                    return Err(Refusal::new(StatusCode::BAD_GATEWAY, proto::INVALID_AGENT_RESPONSE, "invalid_agent_response", format!("agent `{}` answered ListTasks without a list of tasks", self.agent.name)));
                };
                let ids: Vec<String> = tasks.iter().map(|t| t.get("id").and_then(Value::as_str).unwrap_or("").to_string()).collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let owners = state.a2a.owners.owners(&self.agent.name, &refs, cfg.task_ttl).await.map_err(|e| {
                    tracing::error!(error = %e, "task owners unavailable");
                    Refusal::new(StatusCode::SERVICE_UNAVAILABLE, proto::AGENT_UNAVAILABLE, "store_unavailable", "Weir cannot check who owns the tasks right now; try again")
                })?;
                let mut keep = owners.into_iter().map(|o| o.as_deref() == Some(self.caller.agent_id));
                tasks.retain(|_| keep.next().unwrap_or(false));
                let kept = tasks.len();
                // The agent's total counts every caller's tasks: the caller learns only its page's.
                if let Some(total) = result.get_mut("totalSize") {
                    *total = json!(kept);
                }
                Ok(true)
            }
            Operation::ExtendedCard => {
                // Routed as the public card says (the relay's routes), whatever this one lists.
                let routes = self.card.as_ref().map_or_else(|| card::Routes::of(&self.agent.base_url, &Value::Null), |c| c.routes.clone());
                *result = card::rewrite(result, &routes, &self.weir_base());
                Ok(true)
            }
            _ => {
                let facts = proto::task_facts(result);
                // A second line: an answer about a task must be about one the caller named.
                if p.op.names_task() {
                    if let Some(t) = facts.task_id.as_ref().filter(|t| !p.tasks.contains(t)) {
                        tracing::warn!(agent = %self.agent.name, task = %t, "the agent answered about a task the caller did not name");
                        return Err(Refusal::new(StatusCode::NOT_FOUND, proto::TASK_NOT_FOUND, "task_not_found", "task not found"));
                    }
                }
                self.claim(rec, &facts).await?;
                Ok(false)
            }
        }
    }

    /// A task the answer reports becomes the caller's (when it is new).
    async fn claim(&self, rec: &mut A2aRecord, facts: &TaskFacts) -> Result<(), Refusal> {
        rec.task(facts);
        let Some(task) = &facts.task_id else { return Ok(()) };
        if !self.parsed.op.sends_message() {
            return Ok(());
        }
        match self.state.a2a.owners.claim(&self.agent.name, task, self.caller.agent_id, self.cfg.task_ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refusal::new(StatusCode::NOT_FOUND, proto::TASK_NOT_FOUND, "task_not_found", "task not found")),
            Err(e) => {
                tracing::error!(error = %e, "task owner not recorded");
                Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, proto::AGENT_UNAVAILABLE, "store_unavailable", "Weir cannot record the task's owner right now; try again"))
            }
        }
    }

    async fn guard_answer(&self, policy: &Policy, rec: &mut A2aRecord, answer: &mut Value, root: &str) -> GuardOutcome {
        let Some(result) = answer.pointer(root) else { return GuardOutcome::Unchanged };
        let mut pointers = Vec::new();
        proto::text_parts(result, &mut String::new(), &mut pointers);
        let pointers: Vec<String> = pointers.into_iter().map(|p| format!("{root}{p}")).collect();
        guard_texts(policy, Direction::Response, answer, &pointers, &self.guard_context(), rec).await
    }

    fn weir_base(&self) -> String {
        weir_base(self.cfg, self.headers, self.peer, self.trusted, &self.agent.name)
    }

    fn owned(&self) -> super::stream::StreamCall {
        super::stream::StreamCall {
            state: self.state.clone(),
            target: self.agent.name.clone(),
            caller: self.caller.agent_id.to_string(),
            caller_name: self.caller.agent_name.to_string(),
            end_user: self.caller.end_user.clone(),
            binding: self.parsed.binding,
            version: self.parsed.version,
            id: self.parsed.id.clone(),
            claims: self.parsed.op.sends_message(),
            task_ttl: self.cfg.task_ttl,
            idle: self.cfg.stream_idle,
            max_event: self.cfg.max_answer_bytes,
        }
    }
}

/// The target's only skill, when its card lists exactly one.
fn only_skill(card: &Value) -> Option<String> {
    match card.get("skills").and_then(Value::as_array).map(Vec::as_slice) {
        Some([one]) => one.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn relay_head(status: StatusCode, upstream: &HeaderMap, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    for name in [header::CONTENT_TYPE, A2A_VERSION, A2A_EXTENSIONS, X_A2A_EXTENSIONS] {
        if let Some(v) = upstream.get(&name) {
            r.headers_mut().insert(name, v.clone());
        }
    }
    r
}

pub(super) enum GuardOutcome {
    Unchanged,
    Masked,
    Blocked(String),
}

/// Checks the texts at `pointers` of `doc` as one document (a JSON list of the texts), masking
/// them in place unless the policy blocks.
pub(super) async fn guard_texts(policy: &Policy, dir: Direction, doc: &mut Value, pointers: &[String], cx: &crate::guard::webhook::Context, rec: &mut A2aRecord) -> GuardOutcome {
    if pointers.is_empty() {
        return GuardOutcome::Unchanged;
    }
    let texts: Vec<Value> = pointers.iter().map(|p| doc.pointer(p).cloned().unwrap_or(Value::Null)).collect();
    let raw = Value::Array(texts).to_string();
    let checked = policy.check_document(dir, &raw, cx).await;
    rec.guarded(&checked.verdict);
    let what = if dir == Direction::Request { "the message" } else { "the agent's answer" };
    if let Some(m) = checked.verdict.refusal(what) {
        return GuardOutcome::Blocked(m);
    }
    let Some(out) = checked.outgoing.and_then(|o| serde_json::from_str::<Vec<Value>>(&o).ok()) else { return GuardOutcome::Unchanged };
    for (p, v) in pointers.iter().zip(out) {
        if let Some(slot) = doc.pointer_mut(p) {
            *slot = v;
        }
    }
    GuardOutcome::Masked
}

/// `https://weir.example.com/a2a/{agent}`: where callers reach this agent through Weir.
fn weir_base(cfg: &A2aConfig, headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpAddr], agent: &str) -> String {
    let from_proxy = peer.is_some_and(|p| trusted.contains(&p));
    // The nearest proxy's word (the last value), and only a host (with a port): a name that
    // could bend the card's URLs is not taken.
    let host_like = |h: &&str| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let forwarded_host = from_proxy
        .then(|| headers.get_all("x-forwarded-host").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).next_back())
        .flatten()
        .filter(host_like);
    let https = peer.is_some_and(|p| crate::state::forwarded_https(p, headers, trusted));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).filter(host_like);
    format!("{}/a2a/{agent}", card::public_base(cfg.public_url.as_deref(), host, forwarded_host, https))
}

async fn serve_card(state: &AppState, agent: &A2aAgent, cfg: &A2aConfig, headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpAddr]) -> Response {
    let entry = match state.a2a.card(agent, cfg).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(agent = %agent.name, error = %e, "agent card unavailable");
            return json_body(StatusCode::BAD_GATEWAY, &proto::rest_error(Version::V10, 502, proto::AGENT_UNAVAILABLE, &format!("the card of agent `{}` cannot be fetched", agent.name)));
        }
    };
    let base = weir_base(cfg, headers, peer.map(|p| p.ip()), trusted, &agent.name);
    let out = card::rewrite(&entry.card, &entry.routes, &base);
    let mut r = json_body(StatusCode::OK, &out);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
