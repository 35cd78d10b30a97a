//! The LLM routes: OpenAI-style chat completions, responses and embeddings, Anthropic
//! messages, and the model list.
//!
//! A request flows one way: authenticate → read and check the body → pick the model's target →
//! forward → relay the answer (streamed chunk by chunk, or whole) → record. Handlers are thin;
//! [`forward`] holds the flow. This module never talks to the database: identity comes from
//! the in-memory key index and records go to the audit queue.

mod body;
mod error;
mod estimate;
mod record;
mod relay;
pub mod route;
mod transport;
mod upstream;
mod usage;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use opentelemetry::Context;
use serde_json::{json, Value};

pub use error::{Dialect, ErrorKind, LlmError};
pub use estimate::estimate_input;
pub use transport::{Transport, TransportError, UpstreamBody, UpstreamResponse};
use record::{CallRecorder, Ending};

use crate::state::{client_ip, AppState, Runtime};
use crate::limits::{CallShape, Refusal};
use crate::audit::AuditEvent;
use crate::config::ProviderKind;
use crate::identity::{presented_key, Principal};
use crate::store::now_ms;
use crate::telemetry;

/// The provider API a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Chat,
    Responses,
    Embeddings,
    Messages,
}

impl Api {
    pub fn route(self) -> &'static str {
        match self {
            Self::Chat => "/v1/chat/completions",
            Self::Responses => "/v1/responses",
            Self::Embeddings => "/v1/embeddings",
            Self::Messages => "/v1/messages",
        }
    }
    pub fn dialect(self) -> Dialect {
        match self {
            Self::Messages => Dialect::Anthropic,
            _ => Dialect::OpenAi,
        }
    }
    pub fn kind(self) -> ProviderKind {
        match self {
            Self::Messages => ProviderKind::Anthropic,
            _ => ProviderKind::Openai,
        }
    }
    /// `gen_ai.operation.name`.
    pub fn operation_name(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            _ => "chat",
        }
    }
    /// The field that caps output tokens, where Weir sets one.
    pub fn max_output_field(self) -> &'static str {
        match self {
            Self::Chat => "max_completion_tokens",
            Self::Responses => "max_output_tokens",
            Self::Messages | Self::Embeddings => "max_tokens",
        }
    }
    /// The audit trail's `operation`.
    fn operation(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Responses => "responses",
            Self::Embeddings => "embeddings",
            Self::Messages => "messages",
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions).fallback(method_not_allowed))
        .route("/v1/responses", post(responses).fallback(method_not_allowed))
        .route("/v1/embeddings", post(embeddings).fallback(method_not_allowed))
        .route("/v1/messages", post(messages).fallback(method_not_allowed))
        .route("/v1/models", get(list_models).fallback(method_not_allowed))
}

// Each call's state machine (several KB: the provider call, the recorder) is made in a box of
// its own at its first poll, so that what the router boxes and moves per request stays small.
async fn chat_completions(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(proxy(state, Api::Chat, req)).await
}
async fn responses(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(proxy(state, Api::Responses, req)).await
}
async fn embeddings(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(proxy(state, Api::Embeddings, req)).await
}
async fn messages(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(proxy(state, Api::Messages, req)).await
}

/// The error shape a request that matched no LLM route expects.
pub fn dialect_of(uri: &Uri, headers: &HeaderMap) -> Dialect {
    if uri.path().starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let resp = LlmError::new(ErrorKind::MethodNotAllowed, format!("{method} is not supported on {}", uri.path()))
        .to_response(dialect_of(&uri, &headers));
    with_request_id(resp, &new_request_id().1)
}

/// Any other path under `/v1/`: a clear 404, never a silent pass-through.
pub async fn unknown_route(uri: Uri, headers: HeaderMap) -> Response {
    let resp = LlmError::new(ErrorKind::NotFound, format!("Weir does not serve {}", uri.path()))
        .code("unknown_url")
        .to_response(dialect_of(&uri, &headers));
    with_request_id(resp, &new_request_id().1)
}

fn new_request_id() -> (String, HeaderValue) {
    let id = uuid::Uuid::now_v7().to_string();
    let hv = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    (id, hv)
}

fn with_request_id(mut resp: Response, id: &HeaderValue) -> Response {
    resp.headers_mut().insert("x-request-id", id.clone());
    // Anthropic's SDKs read the id from `request-id`.
    resp.headers_mut().insert("request-id", id.clone());
    resp
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(256).collect()).filter(|s: &String| !s.is_empty())
}

async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (request_id, rid) = new_request_id();
    let parent = telemetry::extract_parent(&headers);
    let server_cx = record::start_server_span(&state.telemetry, &parent, None, "GET", "/v1/models", &request_id);
    let dialect = if headers.contains_key("anthropic-version") { Dialect::Anthropic } else { Dialect::OpenAi };
    let principal = match state.keys.authenticate(&headers) {
        Ok(p) => p,
        Err(e) => {
            record::end_server_span(&server_cx, 401, Some("unauthorized"));
            return with_request_id(LlmError::new(ErrorKind::Unauthorized, e.message()).code("invalid_api_key").to_response(dialect), &rid);
        }
    };
    let rt = state.runtime.load();
    let visible = rt.config.models.iter().filter(|m| principal.may_use_model(&m.name));
    let body = match dialect {
        Dialect::OpenAi => json!({
            "object": "list",
            "data": visible.map(|m| json!({"id": m.name, "object": "model", "created": 0, "owned_by": m.targets[0].provider})).collect::<Vec<_>>(),
        }),
        Dialect::Anthropic => {
            let data: Vec<Value> = visible
                .map(|m| json!({"id": m.name, "type": "model", "display_name": m.name, "created_at": "1970-01-01T00:00:00Z"}))
                .collect();
            let first = data.first().map(|m| m["id"].clone());
            let last = data.last().map(|m| m["id"].clone());
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
        }
    };
    record::end_server_span(&server_cx, 200, None);
    with_request_id(axum::Json(body).into_response(), &rid)
}

/// One LLM call: everything from the raw request to the response the client gets.
async fn proxy(state: AppState, api: Api, req: Request) -> Response {
    let started = Instant::now();
    let ts = now_ms();
    let (request_id, rid) = new_request_id();
    let (parts, body) = req.into_parts();
    let dialect = api.dialect();
    let parent = telemetry::extract_parent(&parts.headers);
    let principal = state.keys.authenticate(&parts.headers);
    // An agent's session is a trace of its own: the agent is part of its identity.
    let session = match &principal {
        Ok(p) => parts.headers.get("x-weir-session").and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty()).map(|s| telemetry::session_context(&p.agent_id, s)),
        Err(_) => None,
    };
    let server_cx = record::start_server_span(&state.telemetry, &parent, session.as_ref(), "POST", api.route(), &request_id);

    let principal = match principal {
        Ok(p) => p,
        Err(e) => {
            record::end_server_span(&server_cx, 401, Some("unauthorized"));
            tracing::debug!(route = api.route(), reason = e.message(), "request refused: bad key");
            return with_request_id(LlmError::new(ErrorKind::Unauthorized, e.message()).code("invalid_api_key").to_response(dialect), &rid);
        }
    };

    let client_ip = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| client_ip(c.0, &parts.headers, &state.runtime.load().config.trusted_proxies));
    let event = AuditEvent {
        id: uuid::Uuid::now_v7().to_string(),
        ts,
        request_id,
        kind: "llm".into(),
        operation: api.operation().into(),
        agent_id: Some(principal.agent_id.clone()),
        agent_name: Some(principal.agent_name.to_string()),
        key_id: Some(principal.key_id.to_string()),
        end_user: header_str(&parts.headers, "x-weir-user"),
        session_id: header_str(&parts.headers, "x-weir-session"),
        client_ip: client_ip.map(|ip| ip.to_string()),
        ..Default::default()
    };
    let mut rec = CallRecorder::new(state.audit.clone(), event, started, server_cx);
    let rt = state.runtime.load_full();
    match forward(&state, &rt, api, &parts.headers, parts.uri.query(), body, &principal, &mut rec, &rid).await {
        Ok(Forwarded::Whole(resp, ending)) => {
            rec.finish(ending);
            resp
        }
        Ok(Forwarded::Stream(build)) => build(rec),
        Err(e) => {
            if e.status().is_server_error() {
                tracing::warn!(route = api.route(), error = %e.message, "call failed");
            }
            rec.fail(&e);
            with_request_id(e.to_response(dialect), &rid)
        }
    }
}

type StreamBuilder = Box<dyn FnOnce(CallRecorder) -> Response + Send>;

#[expect(clippy::large_enum_variant, reason = "made once per call and consumed at once")]
enum Forwarded {
    Whole(Response, Ending),
    /// The response head is ready; the body relays the provider's stream and records the call
    /// when it ends.
    Stream(StreamBuilder),
}

#[expect(clippy::too_many_arguments, reason = "the request's parts, passed once, read-only")]
async fn forward(
    state: &AppState,
    rt: &Runtime,
    api: Api,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
    principal: &Principal,
    rec: &mut CallRecorder,
    rid: &HeaderValue,
) -> Result<Forwarded, LlmError> {
    let cfg = &rt.config;
    let limit = cfg.max_body_bytes;
    let raw = read_body(body, limit).await?;
    let capture = principal.capture_bodies.unwrap_or(cfg.audit.capture_bodies).then_some(cfg.audit.body_max_bytes);
    rec.set_request_body(raw.clone(), capture);

    let mut json = match body::RequestBody::parse(&raw) {
        Ok(b) => b,
        Err(e @ body::BodyError::Json(..)) => return Err(LlmError::new(ErrorKind::BadRequest, e.to_string()).code("invalid_json")),
        Err(e @ body::BodyError::DuplicateKey(_)) => return Err(LlmError::new(ErrorKind::BadRequest, e.to_string()).code("duplicate_member")),
        Err(e) => return Err(LlmError::new(ErrorKind::BadRequest, e.to_string())),
    };
    let facts = upstream::request_facts(api, &json);
    rec.update_event(|ev| {
        ev.model_requested = (!facts.model.is_empty()).then(|| crate::audit::clip(&facts.model).to_string());
        if ev.end_user.is_none() {
            ev.end_user = facts.end_user.clone();
        }
    });
    if facts.model.is_empty() {
        return Err(if json.has("model") {
            LlmError::new(ErrorKind::BadRequest, "`model` must be a non-empty string").param("model")
        } else {
            LlmError::new(ErrorKind::BadRequest, "`model` is required").param("model")
        });
    }
    let Some(model) = cfg.model(&facts.model) else {
        let available: Vec<&str> = cfg.models.iter().filter(|m| principal.may_use_model(&m.name)).map(|m| m.name.as_str()).collect();
        return Err(LlmError::new(
            ErrorKind::NotFound,
            format!(
                "model `{}` does not exist; available models: {}",
                crate::audit::clip(&facts.model),
                if available.is_empty() { "none".to_string() } else { available.join(", ") }
            ),
        )
        .code("model_not_found")
        .param("model"));
    };
    if !principal.may_use_model(&model.name) {
        return Err(LlmError::new(ErrorKind::Forbidden, format!("this key may not use model `{}`", model.name)).code("model_not_allowed"));
    }
    if model.kind != api.kind() {
        let route = if model.kind == ProviderKind::Anthropic { "/v1/messages" } else { "/v1/chat/completions or /v1/responses" };
        return Err(LlmError::new(
            ErrorKind::BadRequest,
            format!("model `{}` is served over the {} API; call it on {route}", model.name, model.kind.as_str()),
        )
        .param("model"));
    }
    rec.set_price(model.price);

    // Budgets and rate limits: the call's upper bound is reserved before anything goes
    // upstream, and refused here if it does not fit.
    let first = cfg.providers.get(&model.targets[0].provider);
    let shape = CallShape {
        agent_id: &principal.agent_id,
        agent_name: &principal.agent_name,
        model: &model.name,
        body: &raw,
        requested_max_output: facts.max_tokens.and_then(|m| u64::try_from(m).ok()),
        choices: facts.choices,
        has_output: api != Api::Embeddings,
        price: model.price,
        bytes_per_token: first.map_or(2.0, |p| p.bytes_per_token),
        token_margin: first.map_or(1.05, |p| p.token_margin),
        exact_input: estimate::estimate_input,
    };
    let admission = state.limiter.admit(&shape).await.map_err(limit_error)?;
    let mut limit_headers = Vec::new();
    if let Some(adm) = admission {
        if let Some(max) = adm.inject_max_output {
            json.set(api.max_output_field(), &Value::from(max));
        }
        limit_headers = adm.headers(state.limiter.now_ms());
        rec.set_admission(state.limiter.clone(), adm);
    }

    // Failover: the model's targets in plan order, each attempt its own span; retried on
    // connection errors, timeouts, 429 and 5xx, never once a response is being relayed.
    let failover = &cfg.failover;
    let deadline = Instant::now() + Duration::from_millis(failover.deadline_ms);
    let plan = state.circuits.plan(model);
    let mut last_failure: Option<Failure> = None;
    let mut retry_after: Option<Duration> = None;
    for attempt in 0..failover.max_attempts as usize {
        let target = &plan[attempt % plan.len()];
        if attempt > 0 {
            // A target tried before waits for its retry-after (or a short backoff); a fresh one
            // is tried at once.
            let wait = if attempt >= plan.len() {
                retry_after.take().unwrap_or(Duration::from_millis(100 << attempt.min(5)))
            } else {
                Duration::ZERO
            };
            if wait > Duration::from_millis(failover.max_retry_after_ms) || Instant::now() + wait >= deadline {
                break;
            }
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        let Some(provider) = cfg.providers.get(&target.provider) else { continue };
        let Some(transport) = rt.transports.get(&provider.name) else { continue };
        if provider.api_key.is_none() {
            if let Some(var) = &provider.api_key_env {
                let e = LlmError::new(ErrorKind::Unreachable, format!("provider `{}` has no API key: the gateway's {var} is not set", provider.name));
                rec.record_attempt(provider, &target.model, None, Some(e.error_type()), 0.0);
                last_failure = Some(Failure::Error(e));
                continue;
            }
        }
        let circuit = route::target_key(target);
        if !state.circuits.allow(&circuit) {
            rec.record_attempt(provider, &target.model, None, Some("circuit_open"), 0.0);
            if last_failure.is_none() {
                last_failure = Some(Failure::Error(LlmError::new(
                    ErrorKind::Unavailable,
                    format!("every target of model `{}` is failing; try again shortly", model.name),
                )));
            }
            continue;
        }

        let weir_asked_usage = upstream::rewrite_body(api, &mut json, &target.model);
        let upstream_body = if json.changed() { bytes::Bytes::from(json.to_bytes()) } else { raw.clone() };
        rec.update_event(|ev| {
            ev.provider = Some(provider.name.clone());
            ev.model_served = Some(target.model.clone());
        });
        let client_cx: Context = rec.start_client_span(&state.telemetry, api, &facts.model, provider, facts.max_tokens);
        let mut up_headers = upstream::upstream_headers(headers, provider, presented_key(headers));
        telemetry::inject_context(&client_cx, &mut up_headers);
        let attempt_started = Instant::now();
        // Connecting and the wait for the head have their own limits (in the transport); this
        // one keeps the attempt within the call's deadline.
        let head_timeout = (provider.connect_timeout + provider.read_timeout).min(deadline.saturating_duration_since(Instant::now()));
        let query = upstream::upstream_query(query, provider);
        let send = transport.post(upstream::endpoint_path(provider, api), query.as_deref(), up_headers, upstream_body);
        let resp = match tokio::time::timeout(head_timeout, send).await {
            Err(_) => Err(timeout_error(provider)),
            Ok(Err(e)) => Err(transport_error(provider, &e)),
            Ok(Ok(r)) => Ok(r),
        };
        let elapsed_ms = attempt_started.elapsed().as_secs_f64() * 1000.0;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                state.circuits.failure(&circuit, failover);
                rec.record_attempt(provider, &target.model, None, Some(e.error_type()), elapsed_ms);
                rec.fail_attempt(e.error_type(), &e.message);
                last_failure = Some(Failure::Error(e));
                continue;
            }
        };
        let status = resp.status;
        if status.is_success() {
            state.circuits.success(&circuit);
            rec.record_attempt(provider, &target.model, Some(status.as_u16()), None, elapsed_ms);
            return relay_success(api, provider, resp, rec, rid, weir_asked_usage, &limit_headers).await;
        }

        // An error answer: read it (what a provider echoes of its credentials removed), then
        // retry or pass it through.
        let resp_headers = upstream::downstream_headers(&resp.headers, rid);
        let bytes = match tokio::time::timeout(provider.request_timeout, resp.body.collect(provider.max_response_bytes)).await {
            Ok(Ok(b)) => without_secrets(b),
            Ok(Err(_)) | Err(_) => bytes::Bytes::new(),
        };
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        if retryable {
            state.circuits.failure(&circuit, failover);
            retry_after = resp_headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|secs| Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
        } else {
            // The provider is healthy; the request is what it refused.
            state.circuits.success(&circuit);
        }
        let error_type = format!("provider_{}", status.as_u16());
        rec.record_attempt(provider, &target.model, Some(status.as_u16()), Some(&error_type), elapsed_ms);
        let failure = ProviderFailure { provider: provider.name.clone(), status, headers: resp_headers, bytes };
        if !retryable {
            return Ok(failure.into_forwarded(api, rid));
        }
        rec.fail_attempt(&error_type, &provider_error_message(&failure.bytes));
        last_failure = Some(Failure::Provider(failure));
    }
    match last_failure {
        Some(Failure::Provider(f)) => Ok(f.into_forwarded(api, rid)),
        Some(Failure::Error(e)) => Err(e),
        None => Err(LlmError::new(ErrorKind::Unavailable, format!("no target of model `{}` could be tried", model.name))),
    }
}

enum Failure {
    Error(LlmError),
    Provider(ProviderFailure),
}

/// A provider's own error answer, relayed in the caller's shape.
struct ProviderFailure {
    provider: String,
    status: StatusCode,
    headers: HeaderMap,
    bytes: bytes::Bytes,
}

impl ProviderFailure {
    fn into_forwarded(self, api: Api, rid: &HeaderValue) -> Forwarded {
        let message = provider_error_message(&self.bytes);
        let ending = Ending::failed(self.status.as_u16(), &format!("provider_{}", self.status.as_u16()), message.clone());
        // Passed through as it is when it is JSON in the shape this route speaks; otherwise
        // said in that shape.
        if serde_json::from_slice::<Value>(&self.bytes).is_ok_and(|v| v.get("error").is_some()) {
            let mut out = Response::new(Body::from(self.bytes));
            *out.status_mut() = self.status;
            *out.headers_mut() = self.headers;
            out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Forwarded::Whole(out, ending);
        }
        let kind = match self.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::BadUpstream,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Unavailable,
            StatusCode::GATEWAY_TIMEOUT => ErrorKind::Timeout,
            s if s.is_client_error() => ErrorKind::BadRequest,
            _ => ErrorKind::BadUpstream,
        };
        let mut out = LlmError::new(kind, format!("provider `{}` answered HTTP {}: {message}", self.provider, self.status.as_u16())).to_response(api.dialect());
        *out.status_mut() = self.status;
        if let Some(v) = self.headers.get(header::RETRY_AFTER) {
            out.headers_mut().insert(header::RETRY_AFTER, v.clone());
        }
        out.headers_mut().insert("x-request-id", rid.clone());
        out.headers_mut().insert("request-id", rid.clone());
        Forwarded::Whole(out, ending)
    }
}

/// A 2xx from the provider: relayed as a stream or whole.
async fn relay_success(
    api: Api,
    provider: &crate::config::Provider,
    resp: UpstreamResponse,
    rec: &mut CallRecorder,
    rid: &HeaderValue,
    weir_asked_usage: bool,
    limit_headers: &[(axum::http::HeaderName, HeaderValue)],
) -> Result<Forwarded, LlmError> {
    let status = resp.status;
    let is_sse = resp
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let mut resp_headers = upstream::downstream_headers(&resp.headers, rid);
    for (k, v) in limit_headers {
        resp_headers.insert(k.clone(), v.clone());
    }
    if is_sse {
        let upstream_stream = resp.body.with_chunk_timeout(provider.read_timeout);
        let max_bytes = provider.max_response_bytes;
        return Ok(Forwarded::Stream(Box::new(move |rec: CallRecorder| {
            let relay = relay::Relay::new(api, status.as_u16(), upstream_stream, weir_asked_usage, max_bytes, rec);
            let mut out = Response::new(Body::from_stream(relay));
            *out.status_mut() = status;
            *out.headers_mut() = resp_headers;
            out.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            out
        })));
    }
    let bytes = match tokio::time::timeout(provider.request_timeout, resp.body.collect(provider.max_response_bytes)).await {
        Err(_) => return Err(timeout_error(provider)),
        Ok(Err(e)) => return Err(transport_error(provider, &e)),
        Ok(Ok(b)) => without_secrets(b),
    };
    rec.mark_first_chunk();
    rec.capture_response(&bytes);
    let facts = usage::from_body(api, &bytes).unwrap_or_default();
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = resp_headers;
    Ok(Forwarded::Whole(out, Ending::ok(status.as_u16(), facts)))
}

fn limit_error(r: Refusal) -> LlmError {
    let message = r.message();
    match r {
        Refusal::Exceeded { headers, .. } => {
            let mut e = LlmError::new(ErrorKind::RateLimited, message).code("rate_limit_exceeded");
            e.headers = headers;
            e
        }
        Refusal::Unavailable => LlmError::new(ErrorKind::Unavailable, message),
    }
}

/// Past the limit, a body is still read (and dropped) up to this many more bytes, so that the
/// client, still writing, gets to read the 413 instead of a broken pipe.
const DISCARD_PAST_LIMIT: usize = 64 * 1024 * 1024;

async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, LlmError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) if crate::serve::BodyFault::of(&e) == crate::serve::BodyFault::Stalled => {
                return Err(LlmError::new(ErrorKind::RequestTimeout, "the request body stopped arriving before it was complete"));
            }
            Err(_) => return Err(LlmError::new(ErrorKind::BadRequest, "could not read the request body")),
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > limit.saturating_add(DISCARD_PAST_LIMIT) {
                break;
            }
        }
    }
    if seen > limit {
        return Err(LlmError::new(ErrorKind::PayloadTooLarge, format!("request body is larger than the {limit}-byte limit")));
    }
    Ok(buf.freeze())
}

/// A provider's answer without any secret of Weir's config in it (a provider may echo the key
/// it was sent); as it was, without a copy, when it holds none.
fn without_secrets(body: bytes::Bytes) -> bytes::Bytes {
    match crate::audit::redact_known_bytes(&body) {
        Some(clean) => bytes::Bytes::from(clean),
        None => body,
    }
}

fn provider_error_message(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let msg = v
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| e.get("message").and_then(Value::as_str).or_else(|| e.as_str()))
        .map(str::to_string);
    msg.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let t: String = text.trim().chars().take(200).collect();
        if t.is_empty() { "(empty body)".into() } else { t }
    })
}

fn timeout_error(provider: &crate::config::Provider) -> LlmError {
    LlmError::new(ErrorKind::Timeout, format!("provider `{}` did not answer in time", provider.name))
}

fn transport_error(provider: &crate::config::Provider, e: &TransportError) -> LlmError {
    tracing::warn!(provider = %provider.name, error = %e, "provider request failed");
    if let TransportError::TooLarge(max) = e {
        LlmError::new(ErrorKind::UpstreamTooLarge, format!("provider `{}` answered with more than the {max}-byte limit", provider.name)).code("upstream_too_large")
    } else if e.is_timeout() {
        timeout_error(provider)
    } else {
        LlmError::new(ErrorKind::Unreachable, format!("provider `{}` is unreachable", provider.name))
    }
}
