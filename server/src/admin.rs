//! The admin REST API (`/api/v1/...`) and the health routes, on the admin port.
//!
//! Every `/api` route requires the admin token as `Authorization: Bearer <token>`; only
//! `/healthz` and `/readyz` are open. Handlers call the same operations as the CLI
//! ([`crate::identity`]) and never hold SQL of their own.

use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::{healthz, AppState};
use crate::identity::{self, IdentityError, KeyRequest};
use crate::store::{ApprovalStatus, AuditFilter, StoreError};

/// The admin port: the API, the health routes, and the console.
pub fn router(state: AppState) -> Router {
    let api = api_router(state.clone()).with_state(state.clone());
    let console = crate::console::GatewayConsole::new(api.clone(), &state);
    let open = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics)).with_state(state);
    Router::new()
        .merge(api)
        .merge(open)
        .merge(weir_console::router(std::sync::Arc::new(console)))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such admin route") })
}

/// The admin API's routes alone (the console calls them in-process).
fn api_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/agents", get(list_agents).post(create_agent))
        .route("/api/v1/agents/{name}", get(get_agent).patch(update_agent))
        .route("/api/v1/keys", get(list_keys).post(create_key))
        .route("/api/v1/keys/{id}", axum::routing::delete(revoke_key))
        .route("/api/v1/keys/{id}/revoke", post(revoke_key))
        .route("/api/v1/agents/{name}/budgets", get(get_budgets).put(put_budget).delete(delete_budget))
        .route("/api/v1/agents/{name}/limits", get(get_limits).put(put_limits))
        .route("/api/v1/budgets", get(all_budgets))
        .route("/api/v1/models", get(list_models))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/audit/events", get(list_events))
        .route("/api/v1/audit/events/{id}", get(get_event))
        .route("/api/v1/approvals", get(list_approvals))
        .route("/api/v1/approvals/{id}", get(get_approval))
        .route("/api/v1/approvals/{id}/approve", post(approve_call))
        .route("/api/v1/approvals/{id}/deny", post(deny_call))
        .route("/api/v1/tools", get(list_tools))
        .route("/api/v1/tools/{server}/{tool}/approve", post(approve_tool))
        // Deny by default: everything above needs the token.
        .route_layer(middleware::from_fn_with_state(state, require_admin_token))
}

/// Errors of the admin API: a status, a machine code and a message; internals only in the log.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response()
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid(m) => Self::bad_request(m),
            IdentityError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            IdentityError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            IdentityError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            other => {
                tracing::error!(error = %other, "admin API: database error");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "the database is unavailable; try again")
            }
        }
    }
}

/// Admin JSON bodies: a malformed one is a 400 saying why, in the admin error shape.
pub struct AdminJson<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for AdminJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::bad_request("could not read the request body"))?;
        serde_json::from_slice(&bytes).map(AdminJson).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// Whether `presented` is the admin token. Digests are compared: equal length, and no early
/// exit revealing a common prefix.
pub fn admin_token_matches(token: &str, presented: &str) -> bool {
    Sha256::digest(presented.as_bytes()) == Sha256::digest(token.as_bytes())
}

async fn require_admin_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let ok = presented.is_some_and(|p| admin_token_matches(state.admin_token.expose_secret(), p));
    if !ok {
        let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "admin token required: Authorization: Bearer <token>").into_response();
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer realm=\"weir-admin\""));
        return resp;
    }
    next.run(req).await
}

async fn readyz(State(state): State<AppState>) -> Response {
    let db_up = matches!(tokio::time::timeout(Duration::from_secs(1), state.store.ping()).await, Ok(Ok(())));
    let stats = state.audit.stats();
    let spool_ok = !stats.spool_failed.load(std::sync::atomic::Ordering::Relaxed);
    let body = json!({
        "status": if db_up || spool_ok { "ready" } else { "unavailable" },
        "config": "loaded",
        "database": if db_up { "up" } else { "down" },
        "audit": if db_up { "writing" } else if spool_ok { "spooling" } else { "failing" },
        "audit_queued": stats.queued.load(std::sync::atomic::Ordering::Relaxed),
        "audit_spooled": stats.spooled.load(std::sync::atomic::Ordering::Relaxed),
        "audit_dropped": stats.dropped.load(std::sync::atomic::Ordering::Relaxed),
    });
    let status = if db_up || spool_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// Prometheus text of everything Weir reports ([`crate::metrics::collect`]).
async fn metrics(State(state): State<AppState>) -> Response {
    let out = crate::metrics::prometheus::render(&crate::metrics::collect(&state).await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

// -- agents -----------------------------------------------------------------------------------

async fn list_agents(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"agents": state.store.list_agents().await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAgent {
    name: String,
    #[serde(default)]
    capture_bodies: Option<bool>,
}

async fn create_agent(State(state): State<AppState>, AdminJson(body): AdminJson<NewAgent>) -> Result<Response, ApiError> {
    let agent = identity::create_agent(&state.store, &body.name, body.capture_bodies).await?;
    refresh_keys(&state).await;
    Ok((StatusCode::CREATED, Json(agent)).into_response())
}

async fn get_agent(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let agent = state
        .store
        .agent_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no agent named `{name}`")))?;
    let keys = state.store.list_keys(Some(&name)).await?;
    Ok(Json(json!({"agent": agent, "keys": keys})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentPatch {
    /// `null` returns the agent to the configured default.
    capture_bodies: Option<bool>,
}

async fn update_agent(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<AgentPatch>) -> Result<Json<serde_json::Value>, ApiError> {
    let agent = state.store.set_agent_capture_bodies(&name, body.capture_bodies).await?;
    refresh_keys(&state).await;
    Ok(Json(json!({"agent": agent})))
}

// -- keys -------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct KeyListQuery {
    agent: Option<String>,
}

async fn list_keys(State(state): State<AppState>, Query(q): Query<KeyListQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"keys": state.store.list_keys(q.agent.as_deref()).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    agent: String,
    /// A duration such as `30d` or `12h`.
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    models: Option<Vec<String>>,
}

async fn create_key(State(state): State<AppState>, AdminJson(body): AdminJson<NewKey>) -> Result<Response, ApiError> {
    let expires_in = match &body.expires_in {
        Some(s) => Some(humantime::parse_duration(s).map_err(|e| ApiError::bad_request(format!("expires_in: {e}")))?),
        None => None,
    };
    let new = identity::create_key(&state.store, KeyRequest { agent: body.agent, expires_in, models: body.models }).await?;
    refresh_keys(&state).await;
    let mut v = serde_json::to_value(&new.row).unwrap_or_default();
    v["key"] = json!(new.secret);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn revoke_key(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let row = state.store.revoke_key(&id).await?;
    refresh_keys(&state).await;
    Ok(Json(json!({"key": row})))
}

/// This replica applies its own change at once; others follow the change counter.
async fn refresh_keys(state: &AppState) {
    if let Err(e) = crate::app::reload_from_store(state).await {
        tracing::warn!(error = %e, "key index reload after an admin change failed; the periodic refresh will retry");
    }
}

// -- budgets and limits ----------------------------------------------------------------------

async fn agent_or_404(state: &AppState, name: &str) -> Result<crate::store::AgentRow, ApiError> {
    state.store.agent_by_name(name).await?.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no agent named `{name}`")))
}

/// Each budget that applies to the agent, with its usage and what remains in the open window.
async fn get_budgets(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let agent = agent_or_404(&state, &name).await?;
    let windows = state.limiter.report(&agent.id, &agent.name).await;
    Ok(Json(json!({"agent": agent.name, "budgets": windows})))
}

async fn all_budgets(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut out = Vec::new();
    for agent in state.store.list_agents().await? {
        let windows = state.limiter.report(&agent.id, &agent.name).await;
        if !windows.is_empty() {
            out.push(json!({"agent": agent.name, "budgets": windows}));
        }
    }
    Ok(Json(json!({"agents": out})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    period: String,
    #[serde(default)]
    tokens: Option<u64>,
    #[serde(default)]
    cost_usd: Option<f64>,
    #[serde(default)]
    model: Option<String>,
}

async fn put_budget(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<BudgetBody>) -> Result<Json<serde_json::Value>, ApiError> {
    agent_or_404(&state, &name).await?;
    let rt = state.runtime.load();
    let models: Vec<&str> = rt.config.models.iter().map(|m| m.name.as_str()).collect();
    let change = crate::limits::BudgetChange::parse(body.tokens, body.cost_usd, &body.period, body.model.as_deref(), &models).map_err(ApiError::bad_request)?;
    change.apply(&state.store, &name).await?;
    refresh_keys(&state).await;
    get_budgets(State(state), Path(name)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetSelector {
    period: String,
    kind: String,
    #[serde(default)]
    model: Option<String>,
}

async fn delete_budget(State(state): State<AppState>, Path(name): Path<String>, Query(q): Query<BudgetSelector>) -> Result<Json<serde_json::Value>, ApiError> {
    agent_or_404(&state, &name).await?;
    let removed = state.store.delete_budget(&name, q.model.as_deref().unwrap_or_default(), &q.kind, &q.period).await?;
    if !removed {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such budget is set for this agent"));
    }
    refresh_keys(&state).await;
    get_budgets(State(state), Path(name)).await
}

async fn get_limits(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let agent = agent_or_404(&state, &name).await?;
    let policy = state.limiter.policy_for(&agent.name);
    let rates: Vec<serde_json::Value> = policy
        .rates
        .iter()
        .map(|r| json!({"model": r.model, "rpm": r.rpm, "tpm": r.tpm, "source": r.source}))
        .collect();
    Ok(Json(json!({"agent": agent.name, "limits": rates, "mcp_rpm": policy.mcp_rpm})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    #[serde(default)]
    model: Option<String>,
    /// A number sets the limit, `null` removes it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    rpm: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    tpm: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    mcp_rpm: Option<Option<u64>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

async fn put_limits(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<LimitsBody>) -> Result<Json<serde_json::Value>, ApiError> {
    agent_or_404(&state, &name).await?;
    let change = crate::limits::RateChange { rpm: body.rpm, tpm: body.tpm, mcp_rpm: body.mcp_rpm };
    change.check(body.model.as_deref()).map_err(|e| {
        ApiError::bad_request(match e {
            crate::limits::RateChangeError::Nothing => "give rpm, tpm, mcp_rpm or several",
            crate::limits::RateChangeError::McpRpmWithModel => "mcp_rpm is per agent: give it without a model",
        })
    })?;
    if let Some(m) = &body.model {
        if state.runtime.load().config.model(m).is_none() {
            return Err(ApiError::bad_request(format!("unknown model `{m}`")));
        }
    }
    crate::limits::set_rate_limits(&state.store, &name, body.model.as_deref(), change).await?;
    refresh_keys(&state).await;
    get_limits(State(state), Path(name)).await
}

/// Models with their targets and each target's circuit state.
/// Models with their targets' circuits, and each model's last hour of calls (requests, errors,
/// mean latency) when the database can say.
async fn list_models(State(state): State<AppState>) -> Json<serde_json::Value> {
    let recent = match state.store.model_stats_since(crate::store::now_ms() - 3_600_000).await {
        Ok(rows) => rows.into_iter().map(|(m, n, e, l)| (m, (n, e, l))).collect::<std::collections::HashMap<_, _>>(),
        Err(e) => {
            tracing::debug!(error = %e, "model statistics unavailable");
            Default::default()
        }
    };
    let rt = state.runtime.load();
    let models: Vec<serde_json::Value> = rt
        .config
        .models
        .iter()
        .map(|m| {
            let targets: Vec<serde_json::Value> = m
                .targets
                .iter()
                .map(|t| {
                    let key = crate::llm::route::target_key(t);
                    let circuit = state.circuits.view(&key);
                    json!({
                        "provider": t.provider, "model": t.model, "priority": t.priority, "weight": t.weight,
                        "circuit": circuit.as_ref().map_or(json!("closed"), |c| json!(c.state)),
                        "consecutive_failures": circuit.as_ref().map_or(0, |c| c.consecutive_failures),
                        "reopens_in_ms": circuit.as_ref().and_then(|c| c.reopens_in_ms),
                        "failures": circuit.as_ref().map_or(0, |c| c.failures),
                        "successes": circuit.as_ref().map_or(0, |c| c.successes),
                    })
                })
                .collect();
            let (requests, errors, latency) = recent.get(&m.name).copied().unwrap_or((0, 0, 0.0));
            json!({"name": m.name, "kind": m.kind, "price": m.price, "targets": targets,
                   "last_hour": {"requests": requests, "errors": errors, "error_rate": if requests > 0 { errors as f64 / requests as f64 } else { 0.0 }, "mean_latency_ms": (requests > 0).then_some(latency)}})
        })
        .collect();
    Json(json!({"models": models}))
}

// -- audit ------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EventQuery {
    agent: Option<String>,
    user: Option<String>,
    session: Option<String>,
    kind: Option<String>,
    model: Option<String>,
    outcome: Option<String>,
    status: Option<i64>,
    request_id: Option<String>,
    tool: Option<String>,
    server: Option<String>,
    error_type: Option<String>,
    /// RFC 3339 or unix milliseconds.
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn parse_time(field: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| ApiError::bad_request(format!("{field}: expected RFC 3339 time or unix milliseconds, got `{v}`")))
}

pub fn encode_cursor(ts: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{ts}:{id}"))
}

/// A page's size (1–1000, default 50) and the keyset position its cursor names.
fn page(limit: Option<i64>, cursor: Option<&str>) -> Result<(i64, Option<(i64, String)>), ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let before = cursor.map(|c| decode_cursor(c).ok_or_else(|| ApiError::bad_request("cursor is not one this API returned"))).transpose()?;
    Ok((limit, before))
}

/// An optional JSON body: none (or only whitespace) is the default.
fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (ts, id) = text.split_once(':')?;
    Some((ts.parse().ok()?, id.to_string()))
}

async fn list_events(State(state): State<AppState>, query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (limit, before) = page(q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter {
        agent: q.agent,
        user: q.user,
        session: q.session,
        kind: q.kind,
        model: q.model,
        outcome: q.outcome,
        status: q.status,
        request_id: q.request_id,
        tool: q.tool,
        mcp_server: q.server,
        error_type: q.error_type,
        since_ms: q.since.as_deref().map(|v| parse_time("since", v)).transpose()?,
        until_ms: q.until.as_deref().map(|v| parse_time("until", v)).transpose()?,
        before,
        limit,
    };
    let events = state.store.query_audit_events(&filter).await?;
    let next_cursor = (events.len() as i64 == limit).then(|| events.last().map(|e| encode_cursor(e.ts, &e.id))).flatten();
    Ok(Json(json!({"events": events, "next_cursor": next_cursor})))
}

async fn get_event(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    match state.store.audit_event(&id).await? {
        Some(e) => Ok(Json(json!({"event": e}))),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no audit event `{id}`"))),
    }
}

// -- overview ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OverviewQuery {
    hours: Option<i64>,
}

/// The last `hours` (default 24, by the hour) from the rollups the audit writer keeps: per kind
/// requests, errors, tokens, cost and p50/p95 latency; the agents that used most tokens; the
/// budgets closest to running out.
async fn overview(State(state): State<AppState>, query: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let hours = q.hours.unwrap_or(24);
    if !(1..=24 * 90).contains(&hours) {
        return Err(ApiError::bad_request("hours must be between 1 and 2160"));
    }
    let since = crate::store::now_ms() - hours * 3_600_000;
    let (sums, latency) = state.store.hourly_since(since).await?;
    let mut kinds: std::collections::BTreeMap<String, crate::store::HourSums> = Default::default();
    let mut agents: std::collections::HashMap<String, crate::store::HourSums> = Default::default();
    for (kind, agent, s) in &sums {
        let k = kinds.entry(kind.clone()).or_default();
        let a = agents.entry(agent.clone()).or_default();
        for t in [k, a] {
            t.requests += s.requests;
            t.errors += s.errors;
            t.input_tokens += s.input_tokens;
            t.output_tokens += s.output_tokens;
            t.cost_usd += s.cost_usd;
        }
    }
    let percentile = |kind: &str, p: f64| -> Option<f64> {
        let buckets: Vec<(i64, i64)> = latency.iter().filter(|(k, _, _)| k == kind).map(|(_, b, n)| (*b, *n)).collect();
        let total: i64 = buckets.iter().map(|(_, n)| n).sum();
        let want = ((total as f64) * p).ceil().max(1.0) as i64;
        let mut seen = 0;
        buckets.iter().find(|(_, n)| {
            seen += n;
            seen >= want
        }).map(|(b, _)| crate::store::bucket_latency_ms(*b))
    };
    let by_kind: Vec<serde_json::Value> = kinds
        .iter()
        .map(|(kind, s)| {
            json!({"kind": kind, "requests": s.requests, "errors": s.errors, "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
                   "tokens": s.input_tokens + s.output_tokens, "cost_usd": s.cost_usd, "p50_ms": percentile(kind, 0.5), "p95_ms": percentile(kind, 0.95)})
        })
        .collect();
    let mut top: Vec<(&String, &crate::store::HourSums)> = agents.iter().filter(|(name, _)| !name.is_empty()).collect();
    top.sort_by(|a, b| (b.1.input_tokens + b.1.output_tokens).cmp(&(a.1.input_tokens + a.1.output_tokens)).then(a.0.cmp(b.0)));
    let top_agents: Vec<serde_json::Value> = top
        .iter()
        .take(10)
        .map(|(name, s)| json!({"agent": name, "requests": s.requests, "tokens": s.input_tokens + s.output_tokens, "cost_usd": s.cost_usd, "errors": s.errors}))
        .collect();
    let mut closest = Vec::new();
    for agent in state.store.list_agents().await? {
        for w in state.limiter.report(&agent.id, &agent.name).await {
            if w.limit > 0.0 {
                let mut v = serde_json::to_value(&w).unwrap_or_default();
                v["agent"] = json!(agent.name);
                v["fraction_used"] = json!(w.used / w.limit);
                closest.push(v);
            }
        }
    }
    closest.sort_by(|a, b| b["fraction_used"].as_f64().unwrap_or(0.0).total_cmp(&a["fraction_used"].as_f64().unwrap_or(0.0)));
    closest.truncate(10);
    Ok(Json(json!({"hours": hours, "since_ms": since.div_euclid(3_600_000) * 3_600_000, "kinds": by_kind, "top_agents": top_agents, "budgets_closest": closest})))
}

// -- approvals and tools ---------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApprovalQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_approvals(State(state): State<AppState>, query: Result<Query<ApprovalQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => Some(ApprovalStatus::parse(s).ok_or_else(|| ApiError::bad_request(format!("status: `{s}` is not one of pending, approved, denied, expired, abandoned")))?),
    };
    let (limit, before) = page(q.limit, q.cursor.as_deref())?;
    let rows = state.store.list_approvals(status, before, limit).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|r| encode_cursor(r.created_at, &r.id))).flatten();
    Ok(Json(json!({"approvals": rows, "next_cursor": next_cursor})))
}

async fn get_approval(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    match state.store.approval(&id).await? {
        Some(a) => Ok(Json(json!({"approval": a}))),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no approval `{id}`"))),
    }
}

/// The body of a decision: who decided (shown to the agent and kept in the audit trail) and why.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    by: Option<String>,
    reason: Option<String>,
}

async fn approve_call(State(state): State<AppState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    decide(state, id, ApprovalStatus::Approved, body).await
}

async fn deny_call(State(state): State<AppState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    decide(state, id, ApprovalStatus::Denied, body).await
}

/// Settles a pending approval; 409 when it is no longer pending (decided, expired, or
/// abandoned by its client: approving it then calls nothing).
async fn decide(state: AppState, id: String, to: ApprovalStatus, body: axum::body::Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    let d: DecisionBody = optional_body(&body)?;
    let by = d.by.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "admin".to_string());
    let reason = d.reason.filter(|s| !s.trim().is_empty());
    if !state.store.settle_approval(&id, to, Some(&by), reason.as_deref()).await? {
        return match state.store.approval(&id).await? {
            Some(a) if a.status == ApprovalStatus::Pending => Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("approval `{id}` has expired"))),
            Some(a) => Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("approval `{id}` is {}, not pending", a.status.as_str()))),
            None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no approval `{id}`"))),
        };
    }
    state.mcp.approvals.wake(&id);
    let row = state.store.approval(&id).await?.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no approval `{id}`")))?;
    crate::mcp::record_decision(&state, &row, None);
    Ok(Json(json!({"approval": row})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ToolQuery {
    flagged: Option<bool>,
    server: Option<String>,
}

/// Every tool Weir has seen, with its pin, findings, change (a diff from the pin) and whether
/// its server's action withholds it now.
async fn list_tools(State(state): State<AppState>, query: Result<Query<ToolQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let rt = state.runtime.load_full();
    let rows = state.store.list_tools().await?;
    let tools: Vec<serde_json::Value> = rows
        .iter()
        .filter(|r| q.server.as_deref().is_none_or(|s| s == r.server))
        .filter_map(|r| {
            let has_findings = r.findings.as_array().is_some_and(|f| !f.is_empty());
            let changed = r.current_hash != r.pinned_hash;
            let flagged = has_findings || changed;
            if q.flagged.is_some_and(|want| want != flagged) {
                return None;
            }
            let action = rt.config.mcp.suspicious_tools(&r.server);
            let withheld = crate::mcp::tools::ToolGuard::row_withheld(r, action);
            let name = crate::mcp::names::prefixed(&r.server, &r.tool);
            // The rules that name this tool: who may call it, and how.
            let rules: Vec<serde_json::Value> = rt
                .config
                .mcp
                .rules
                .iter()
                .filter(|rule| rule.tools.iter().any(|g| g.matches(&name)))
                .map(|rule| {
                    json!({
                        "rule": rule.number,
                        "agents": rule.agents.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                        "users": rule.users.as_ref().map(|u| u.iter().map(|g| g.as_str()).collect::<Vec<_>>()),
                        "arguments": rule.arguments.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
                        "require_approval": rule.require_approval,
                    })
                })
                .collect();
            let any_rules = !rt.config.mcp.rules.is_empty();
            Some(json!({
                "server": r.server,
                "tool": r.tool,
                "name": name,
                "rules": rules,
                "callable_by": match (any_rules, rules.is_empty()) {
                    (false, _) => "every agent (there are no rules)",
                    (true, true) => "no agent: no rule names it",
                    (true, false) => "the agents its rules name",
                },
                "action": action.as_str(),
                "flagged": flagged,
                "withheld": withheld.is_some(),
                "withheld_because": withheld,
                "findings": r.findings,
                "changed": changed,
                "diff": if changed { serde_json::Value::Array(crate::mcp::scan::diff(&r.pinned_definition, &r.current_definition)) } else { serde_json::Value::Null },
                "pinned_hash": r.pinned_hash,
                "current_hash": r.current_hash,
                "approved_hash": r.approved_hash,
                "approved_by": r.approved_by,
                "approved_at": r.approved_at,
                "first_seen_at": r.first_seen_at,
                "changed_at": r.changed_at,
                "seen_at": r.seen_at,
                "definition": r.current_definition,
            }))
        })
        .collect();
    Ok(Json(json!({"tools": tools})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveToolBody {
    /// The definition approved (`current_hash` as listed); the current one when left out.
    hash: Option<String>,
    by: Option<String>,
}

async fn approve_tool(State(state): State<AppState>, Path((server, tool)): Path<(String, String)>, body: axum::body::Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    let b: ApproveToolBody = optional_body(&body)?;
    let by = b.by.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "admin".to_string());
    let row = state.store.approve_tool(&server, &tool, b.hash.as_deref(), &by).await?;
    state.mcp.tools.update(&row);
    tracing::info!(server, tool, hash = %row.current_hash, by, "MCP tool definition approved");
    Ok(Json(json!({"tool": row})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = encode_cursor(1_700_000_000_123, "0190-abc");
        assert_eq!(decode_cursor(&c), Some((1_700_000_000_123, "0190-abc".to_string())));
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("nocolon")), None);
    }

    #[test]
    fn times_parse_both_ways() {
        assert_eq!(parse_time("since", "1000").unwrap(), 1000);
        assert_eq!(parse_time("since", "1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("since", "yesterday").is_err());
    }
}
