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

use weir_api::{
    AgentBudgets, AgentDetail, AgentLimits, AgentOne, AgentSummary, AgentsList, ApprovalOne, ApprovalsPage, BudgetOfAgent, BudgetsList, CreatedKey, EventOne, EventsPage, Facets,
    KeyOne, KeysList, KindSummary, ModelHour, ModelView, ModelsList, Overview, ProviderView, RateLimit, SeriesPoint, Session, SessionsPage, TargetView, TimeSeries, ToolRule,
    ToolView, ToolsList,
};

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
        .route("/api/v1/keys/{id}", axum::routing::delete(revoke_key).patch(update_key))
        .route("/api/v1/keys/{id}/revoke", post(revoke_key))
        .route("/api/v1/agents/{name}/budgets", get(get_budgets).put(put_budget).delete(delete_budget))
        .route("/api/v1/agents/{name}/limits", get(get_limits).put(put_limits))
        .route("/api/v1/budgets", get(all_budgets))
        .route("/api/v1/models", get(list_models))
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/audit/events", get(list_events))
        .route("/api/v1/audit/events/{id}", get(get_event))
        .route("/api/v1/audit/facets", get(facets))
        .route("/api/v1/sessions", get(list_sessions))
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

async fn list_agents(State(state): State<AppState>) -> Result<Json<AgentsList>, ApiError> {
    Ok(Json(AgentsList { agents: state.store.list_agents().await? }))
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

async fn get_agent(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<AgentDetail>, ApiError> {
    let agent = state
        .store
        .agent_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no agent named `{name}`")))?;
    let keys = state.store.list_keys(Some(&name)).await?;
    Ok(Json(AgentDetail { agent, keys }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentPatch {
    /// `null` returns the agent to the configured default.
    capture_bodies: Option<bool>,
}

async fn update_agent(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<AgentPatch>) -> Result<Json<AgentOne>, ApiError> {
    let agent = state.store.set_agent_capture_bodies(&name, body.capture_bodies).await?;
    refresh_keys(&state).await;
    Ok(Json(AgentOne { agent }))
}

// -- keys -------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct KeyListQuery {
    agent: Option<String>,
}

async fn list_keys(State(state): State<AppState>, Query(q): Query<KeyListQuery>) -> Result<Json<KeysList>, ApiError> {
    Ok(Json(KeysList { keys: state.store.list_keys(q.agent.as_deref()).await? }))
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
    Ok((StatusCode::CREATED, Json(CreatedKey { row: new.row, key: new.secret })).into_response())
}

async fn revoke_key(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<KeyOne>, ApiError> {
    let key = state.store.revoke_key(&id).await?;
    refresh_keys(&state).await;
    Ok(Json(KeyOne { key }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyPatch {
    /// The models the key may call; `null`: every model.
    models: Option<Vec<String>>,
}

/// Sets a key's model allowlist; every replica applies it within 2 seconds.
async fn update_key(State(state): State<AppState>, Path(id): Path<String>, AdminJson(body): AdminJson<KeyPatch>) -> Result<Json<KeyOne>, ApiError> {
    if let Some(models) = &body.models {
        if models.is_empty() {
            return Err(ApiError::bad_request("models must name at least one model (null allows every model)"));
        }
        let rt = state.runtime.load();
        if let Some(unknown) = models.iter().find(|m| rt.config.model(m).is_none()) {
            let known: Vec<&str> = rt.config.models.iter().map(|m| m.name.as_str()).collect();
            return Err(ApiError::bad_request(format!("unknown model `{unknown}` (configured: {})", known.join(", "))));
        }
    }
    let key = state.store.set_key_models(&id, body.models.as_deref()).await?;
    refresh_keys(&state).await;
    Ok(Json(KeyOne { key }))
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BudgetsQuery {
    /// With each window's refused calls and use over time.
    #[serde(default)]
    detail: bool,
}

/// Each budget that applies to the agent, with its usage and what remains in the open window;
/// with `detail=true` also the calls refused in the window and the use across it.
async fn get_budgets(State(state): State<AppState>, Path(name): Path<String>, query: Result<Query<BudgetsQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<AgentBudgets>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let agent = agent_or_404(&state, &name).await?;
    let mut budgets = state.limiter.report(&agent.id, &agent.name).await;
    if q.detail {
        for w in &mut budgets {
            budget_detail(&state, &agent.name, w).await?;
        }
    }
    Ok(Json(AgentBudgets { agent: agent.name, budgets }))
}

/// The longest a budget's use is drawn back over (a lifetime budget's window never opens).
const BUDGET_HISTORY_MS: i64 = 90 * 24 * 3_600_000;

/// A window's refused calls (every limit's, for the agent) and its use step by step, cumulative,
/// from the rollups: by the minute for windows of an hour or less, else by the hour. A budget
/// of one model gets no usage line (the rollups are per agent, not per model).
async fn budget_detail(state: &AppState, agent: &str, w: &mut weir_api::BudgetWindow) -> Result<(), StoreError> {
    let now = crate::store::now_ms();
    let short = matches!(w.period.as_str(), "minute" | "hour");
    let step = if short { crate::store::Step::Minute } else { crate::store::Step::Hour };
    let since = w.window_start_ms.max(now - BUDGET_HISTORY_MS);
    let rows = state.store.series_since(since, step, Some(agent)).await?;
    w.refused_calls = Some(rows.iter().map(|r| r.refused).sum());
    if w.model.is_none() {
        let mut total = 0.0;
        let mut usage: Vec<(i64, f64)> = Vec::new();
        for r in rows.iter().filter(|r| r.kind == "llm") {
            total += if w.kind == "cost_usd" { r.cost_usd } else { (r.input_tokens + r.output_tokens) as f64 };
            match usage.last_mut() {
                Some(last) if last.0 == r.start_ms => last.1 = total,
                _ => usage.push((r.start_ms, total)),
            }
        }
        // The counter may have started after calls earlier in the window (a budget set today
        // counts from when it was set): the line ends at the counter's own value.
        let before_counting = (total - w.used).max(0.0);
        for point in &mut usage {
            point.1 = (point.1 - before_counting).max(0.0);
        }
        w.usage = Some(usage);
    }
    Ok(())
}

async fn all_budgets(State(state): State<AppState>) -> Result<Json<BudgetsList>, ApiError> {
    let mut agents = Vec::new();
    for agent in state.store.list_agents().await? {
        let budgets = state.limiter.report(&agent.id, &agent.name).await;
        if !budgets.is_empty() {
            agents.push(AgentBudgets { agent: agent.name, budgets });
        }
    }
    Ok(Json(BudgetsList { agents }))
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

async fn put_budget(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<BudgetBody>) -> Result<Json<AgentBudgets>, ApiError> {
    agent_or_404(&state, &name).await?;
    let rt = state.runtime.load();
    let models: Vec<&str> = rt.config.models.iter().map(|m| m.name.as_str()).collect();
    let change = crate::limits::BudgetChange::parse(body.tokens, body.cost_usd, &body.period, body.model.as_deref(), &models).map_err(ApiError::bad_request)?;
    change.apply(&state.store, &name).await?;
    refresh_keys(&state).await;
    get_budgets(State(state), Path(name), Ok(Query(BudgetsQuery::default()))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetSelector {
    period: String,
    kind: String,
    #[serde(default)]
    model: Option<String>,
}

async fn delete_budget(State(state): State<AppState>, Path(name): Path<String>, Query(q): Query<BudgetSelector>) -> Result<Json<AgentBudgets>, ApiError> {
    agent_or_404(&state, &name).await?;
    let removed = state.store.delete_budget(&name, q.model.as_deref().unwrap_or_default(), &q.kind, &q.period).await?;
    if !removed {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such budget is set for this agent"));
    }
    refresh_keys(&state).await;
    get_budgets(State(state), Path(name), Ok(Query(BudgetsQuery::default()))).await
}

async fn get_limits(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<AgentLimits>, ApiError> {
    let agent = agent_or_404(&state, &name).await?;
    let policy = state.limiter.policy_for(&agent.name);
    let limits = policy.rates.iter().map(|r| RateLimit { model: r.model.clone(), rpm: r.rpm, tpm: r.tpm, source: r.source.into() }).collect();
    Ok(Json(AgentLimits { agent: agent.name, limits, mcp_rpm: policy.mcp_rpm }))
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

async fn put_limits(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<LimitsBody>) -> Result<Json<AgentLimits>, ApiError> {
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

/// Models with their targets' circuits, and each model's last hour of calls (requests, errors,
/// mean latency) when the database can say; and the providers, with whether each has its key.
async fn list_models(State(state): State<AppState>) -> Json<ModelsList> {
    let recent = match state.store.model_stats_since(crate::store::now_ms() - 3_600_000).await {
        Ok(rows) => rows.into_iter().map(|(m, n, e, l)| (m, (n, e, l))).collect::<std::collections::HashMap<_, _>>(),
        Err(e) => {
            tracing::debug!(error = %e, "model statistics unavailable");
            Default::default()
        }
    };
    let rt = state.runtime.load();
    let as_text = |v: serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
    let models = rt
        .config
        .models
        .iter()
        .map(|m| {
            let targets = m
                .targets
                .iter()
                .map(|t| {
                    let circuit = state.circuits.view(&crate::llm::route::target_key(t));
                    TargetView {
                        provider: t.provider.clone(),
                        model: t.model.clone(),
                        priority: t.priority,
                        weight: t.weight,
                        circuit: circuit.as_ref().map_or_else(|| "closed".to_string(), |c| as_text(json!(c.state))),
                        consecutive_failures: circuit.as_ref().map_or(0, |c| c.consecutive_failures),
                        reopens_in_ms: circuit.as_ref().and_then(|c| c.reopens_in_ms),
                        failures: circuit.as_ref().map_or(0, |c| c.failures),
                        successes: circuit.as_ref().map_or(0, |c| c.successes),
                    }
                })
                .collect();
            let (requests, errors, latency) = recent.get(&m.name).copied().unwrap_or((0, 0, 0.0));
            let error_rate = if requests > 0 { errors as f64 / requests as f64 } else { 0.0 };
            let last_hour = ModelHour { requests, errors, error_rate, mean_latency_ms: (requests > 0).then_some(latency) };
            ModelView { name: m.name.clone(), kind: m.kind.as_str().into(), price: m.price, targets, last_hour }
        })
        .collect();
    let providers = rt
        .config
        .providers
        .values()
        .map(|p| ProviderView { name: p.name.clone(), kind: p.kind.as_str().into(), base_url: p.base_url.clone(), api_key_env: p.api_key_env.clone(), key_set: p.api_key.is_some() })
        .collect();
    Json(ModelsList { models, providers })
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

/// The names the events' filters can take: agents (from the store), models and MCP servers
/// (from the configuration), and the tools Weir has listed (as agents call them).
async fn known_names(state: &AppState) -> Result<Facets, StoreError> {
    let mut agents: Vec<String> = state.store.list_agents().await?.into_iter().map(|a| a.name).collect();
    let rt = state.runtime.load();
    let mut models: Vec<String> = rt.config.models.iter().map(|m| m.name.clone()).collect();
    let mut servers: Vec<String> = rt.config.mcp.servers.iter().map(|s| s.name.clone()).collect();
    let mut tools: Vec<String> = state.store.list_tools().await?.iter().map(|t| crate::mcp::names::prefixed(&t.server, &t.tool)).collect();
    for list in [&mut agents, &mut models, &mut servers, &mut tools] {
        list.sort();
        list.dedup();
    }
    Ok(Facets { agents, models, servers, tools })
}

async fn facets(State(state): State<AppState>) -> Result<Json<Facets>, ApiError> {
    Ok(Json(known_names(&state).await?))
}

/// A filter value as the name it stands for: names match whatever their case (`Support-Bot`
/// finds `support-bot`); a value no known name matches is kept as typed (it matches nothing,
/// or what was recorded under a name since removed).
fn canonical(value: Option<String>, known: &[String]) -> Option<String> {
    let v = value?;
    if known.contains(&v) {
        return Some(v);
    }
    Some(known.iter().find(|k| k.eq_ignore_ascii_case(&v)).cloned().unwrap_or(v))
}

async fn list_events(State(state): State<AppState>, query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<EventsPage>, ApiError> {
    let Query(mut q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (limit, before) = page(q.limit, q.cursor.as_deref())?;
    if q.agent.is_some() || q.model.is_some() || q.tool.is_some() || q.server.is_some() {
        let known = known_names(&state).await?;
        q.agent = canonical(q.agent, &known.agents);
        q.model = canonical(q.model, &known.models);
        q.tool = canonical(q.tool, &known.tools);
        q.server = canonical(q.server, &known.servers);
    }
    let lower = |v: Option<String>| v.map(|v| v.to_ascii_lowercase());
    q.kind = lower(q.kind);
    q.outcome = lower(q.outcome);
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
    Ok(Json(EventsPage { events, next_cursor }))
}

async fn get_event(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<EventOne>, ApiError> {
    match state.store.audit_event(&id).await? {
        Some(event) => Ok(Json(EventOne { event })),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no audit event `{id}`"))),
    }
}

// -- sessions ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SessionQuery {
    agent: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Sessions (an agent's calls sharing `x-weir-session`, or an MCP session), most recently active
/// first, from the rollup the audit writer keeps.
async fn list_sessions(State(state): State<AppState>, query: Result<Query<SessionQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<SessionsPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (limit, before) = page(q.limit, q.cursor.as_deref())?;
    let before = before
        .map(|(ts, key)| key.split_once('\n').map(|(agent, session)| (ts, agent.to_string(), session.to_string())).ok_or_else(|| ApiError::bad_request("cursor is not one this API returned")))
        .transpose()?;
    let agent = match q.agent.filter(|a| !a.is_empty()) {
        Some(a) => canonical(Some(a), &known_names(&state).await?.agents),
        None => None,
    };
    let sessions: Vec<Session> = state.store.list_sessions(&crate::store::SessionFilter { agent, before, limit }).await?;
    let next_cursor = (sessions.len() as i64 == limit).then(|| sessions.last().map(|s| encode_cursor(s.last_ts, &format!("{}\n{}", s.agent, s.session_id)))).flatten();
    Ok(Json(SessionsPage { sessions, next_cursor }))
}

// -- overview ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OverviewQuery {
    hours: Option<i64>,
}

/// The latency at percentile `p` (0–1) of a histogram of `(bucket, count)` in bucket order.
fn percentile(buckets: &[(i64, i64)], p: f64) -> Option<f64> {
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    let want = ((total as f64) * p).ceil().max(1.0) as i64;
    let mut seen = 0;
    buckets
        .iter()
        .find(|(_, n)| {
            seen += n;
            seen >= want
        })
        .map(|(b, _)| crate::store::bucket_latency_ms(*b))
}

/// A period from the rollups, step by step, a point per step and kind that had traffic.
async fn series(state: &AppState, since: i64, step: crate::store::Step, step_ms: i64) -> Result<TimeSeries, StoreError> {
    let from = since.div_euclid(step_ms) * step_ms;
    let rows = state.store.series_since(from, step, None).await?;
    let mut latency: std::collections::HashMap<(i64, String), Vec<(i64, i64)>> = Default::default();
    for (start, kind, bucket, count) in state.store.latency_series_since(from, step).await? {
        latency.entry((start, kind)).or_default().push((bucket, count));
    }
    for buckets in latency.values_mut() {
        buckets.sort_unstable();
    }
    let points = rows
        .into_iter()
        .map(|r| {
            let buckets = latency.get(&(r.start_ms, r.kind.clone())).map(Vec::as_slice).unwrap_or_default();
            SeriesPoint {
                start_ms: r.start_ms,
                tokens: r.input_tokens + r.output_tokens,
                p50_ms: percentile(buckets, 0.5),
                p95_ms: percentile(buckets, 0.95),
                kind: r.kind,
                requests: r.requests,
                errors: r.errors,
                cost_usd: r.cost_usd,
            }
        })
        .collect();
    Ok(TimeSeries { from_ms: from, to_ms: crate::store::now_ms(), step_ms, points })
}

/// The last `hours` (default 24, by the hour) from the rollups the audit writer keeps: per kind
/// requests, errors, tokens, cost and p50/p95 latency (a person's approval time left out); the
/// agents that used most tokens and most cost; the budgets closest to running out; the period
/// by the hour and the last hour by the minute; and the calls waiting for a person.
async fn overview(State(state): State<AppState>, query: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<Overview>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let hours = q.hours.unwrap_or(24);
    if !(1..=24 * 90).contains(&hours) {
        return Err(ApiError::bad_request("hours must be between 1 and 2160"));
    }
    let now = crate::store::now_ms();
    let since = now - hours * 3_600_000;
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
    let kinds = kinds
        .iter()
        .map(|(kind, s)| {
            let buckets: Vec<(i64, i64)> = latency.iter().filter(|(k, _, _)| k == kind).map(|(_, b, n)| (*b, *n)).collect();
            KindSummary {
                kind: kind.clone(),
                requests: s.requests,
                errors: s.errors,
                input_tokens: s.input_tokens,
                output_tokens: s.output_tokens,
                tokens: s.input_tokens + s.output_tokens,
                cost_usd: s.cost_usd,
                p50_ms: percentile(&buckets, 0.5),
                p95_ms: percentile(&buckets, 0.95),
            }
        })
        .collect();
    let summaries: Vec<AgentSummary> = agents
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, s)| AgentSummary { agent: name.clone(), requests: s.requests, tokens: s.input_tokens + s.output_tokens, cost_usd: s.cost_usd, errors: s.errors })
        .collect();
    let top = |by: fn(&AgentSummary, &AgentSummary) -> std::cmp::Ordering| {
        let mut v = summaries.clone();
        v.sort_by(|a, b| by(a, b).then_with(|| a.agent.cmp(&b.agent)));
        v.truncate(10);
        v
    };
    let top_agents = top(|a, b| b.tokens.cmp(&a.tokens));
    let top_agents_by_cost = top(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    let mut budgets_closest = Vec::new();
    for agent in state.store.list_agents().await? {
        for window in state.limiter.report(&agent.id, &agent.name).await {
            if window.limit > 0.0 {
                budgets_closest.push(BudgetOfAgent { agent: agent.name.clone(), fraction_used: window.used / window.limit, window });
            }
        }
    }
    budgets_closest.sort_by(|a, b| b.fraction_used.total_cmp(&a.fraction_used));
    budgets_closest.truncate(10);
    let hourly = series(&state, since, crate::store::Step::Hour, 3_600_000).await?;
    let last_hour = series(&state, now - 3_600_000, crate::store::Step::Minute, 60_000).await?;
    let pending_approvals = state.store.count_pending_approvals(now).await?;
    Ok(Json(Overview { hours, since_ms: since.div_euclid(3_600_000) * 3_600_000, kinds, top_agents, top_agents_by_cost, budgets_closest, hourly, last_hour, pending_approvals }))
}

// -- approvals and tools ---------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApprovalQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_approvals(State(state): State<AppState>, query: Result<Query<ApprovalQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<ApprovalsPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => Some(ApprovalStatus::parse(s).ok_or_else(|| ApiError::bad_request(format!("status: `{s}` is not one of pending, approved, denied, expired, abandoned")))?),
    };
    let (limit, before) = page(q.limit, q.cursor.as_deref())?;
    let approvals = state.store.list_approvals(status, before, limit).await?;
    let next_cursor = (approvals.len() as i64 == limit).then(|| approvals.last().map(|r| encode_cursor(r.created_at, &r.id))).flatten();
    let pending = state.store.count_pending_approvals(crate::store::now_ms()).await?;
    Ok(Json(ApprovalsPage { approvals, next_cursor, pending }))
}

async fn get_approval(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ApprovalOne>, ApiError> {
    match state.store.approval(&id).await? {
        Some(approval) => Ok(Json(ApprovalOne { approval })),
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

async fn approve_call(State(state): State<AppState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<ApprovalOne>, ApiError> {
    decide(state, id, ApprovalStatus::Approved, body).await
}

async fn deny_call(State(state): State<AppState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<ApprovalOne>, ApiError> {
    decide(state, id, ApprovalStatus::Denied, body).await
}

/// Settles a pending approval; 409 when it is no longer pending (decided, expired, or
/// abandoned by its client: approving it then calls nothing).
async fn decide(state: AppState, id: String, to: ApprovalStatus, body: axum::body::Bytes) -> Result<Json<ApprovalOne>, ApiError> {
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
    Ok(Json(ApprovalOne { approval: row }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ToolQuery {
    flagged: Option<bool>,
    server: Option<String>,
}

/// Every tool Weir has seen, with its pin, findings, change (a diff from the pin) and whether
/// its server's action withholds it now.
async fn list_tools(State(state): State<AppState>, query: Result<Query<ToolQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<ToolsList>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let rt = state.runtime.load_full();
    let rows = state.store.list_tools().await?;
    let tools = rows
        .into_iter()
        .filter(|r| q.server.as_deref().is_none_or(|s| s == r.server))
        .filter_map(|r| {
            let findings: Vec<weir_api::Finding> = serde_json::from_value(r.findings.clone()).unwrap_or_default();
            let changed = r.current_hash != r.pinned_hash;
            let flagged = !findings.is_empty() || changed;
            if q.flagged.is_some_and(|want| want != flagged) {
                return None;
            }
            let action = rt.config.mcp.suspicious_tools(&r.server);
            let withheld = crate::mcp::tools::ToolGuard::row_withheld(&r, action);
            let name = crate::mcp::names::prefixed(&r.server, &r.tool);
            // The rules that name this tool: who may call it, and how.
            let rules: Vec<ToolRule> = rt
                .config
                .mcp
                .rules
                .iter()
                .filter(|rule| rule.tools.iter().any(|g| g.matches(&name)))
                .map(|rule| ToolRule {
                    rule: rule.number,
                    agents: rule.agents.iter().map(|g| g.as_str().to_string()).collect(),
                    users: rule.users.as_ref().map(|u| u.iter().map(|g| g.as_str().to_string()).collect()),
                    arguments: rule.arguments.iter().map(|(a, _)| a.as_str().to_string()).collect(),
                    require_approval: rule.require_approval,
                })
                .collect();
            let callable_by = match (rt.config.mcp.rules.is_empty(), rules.is_empty()) {
                (true, _) => "every agent (there are no rules)",
                (false, true) => "no agent: no rule names it",
                (false, false) => "the agents its rules name",
            };
            Some(ToolView {
                diff: if changed { serde_json::Value::Array(crate::mcp::scan::diff(&r.pinned_definition, &r.current_definition)) } else { serde_json::Value::Null },
                server: r.server,
                tool: r.tool,
                name,
                rules,
                callable_by: callable_by.into(),
                action: action.as_str().into(),
                flagged,
                withheld: withheld.is_some(),
                withheld_because: withheld.map(|w| w.to_string()),
                findings,
                changed,
                pinned_hash: r.pinned_hash,
                current_hash: r.current_hash,
                approved_hash: r.approved_hash,
                approved_by: r.approved_by,
                approved_at: r.approved_at,
                first_seen_at: r.first_seen_at,
                changed_at: r.changed_at,
                seen_at: r.seen_at,
                definition: r.current_definition,
            })
        })
        .collect();
    Ok(Json(ToolsList { tools }))
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
