//! The admin REST API (`/api/v1/...`) and the health routes, on the admin port.
//!
//! Every `/api` route requires the admin token as `Authorization: Bearer <token>`; only
//! `/healthz` and `/readyz` are open. Handlers call the same operations as the CLI
//! ([`crate::identity`]) and never hold SQL of their own.
//!
//! Each resource's handlers live in a module of their own; this module holds the routes, the
//! error shape, the token check and the helpers the resources share (pages and cursors, times,
//! optional bodies, name matching).

mod a2a;
mod agents;
mod approvals;
mod audit;
mod cache;
mod guardrails;
mod keys;
mod limits;
mod models;
mod overview;
mod sessions;
mod tools;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::{healthz, AppState};
use crate::identity::IdentityError;
use crate::store::StoreError;

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
        .route("/api/v1/agents", get(agents::list_agents).post(agents::create_agent))
        .route("/api/v1/agents/{name}", get(agents::get_agent).patch(agents::update_agent))
        .route("/api/v1/keys", get(keys::list_keys).post(keys::create_key))
        .route("/api/v1/keys/{id}", axum::routing::delete(keys::revoke_key).patch(keys::update_key))
        .route("/api/v1/keys/{id}/revoke", post(keys::revoke_key))
        .route("/api/v1/agents/{name}/budgets", get(limits::get_budgets).put(limits::put_budget).delete(limits::delete_budget))
        .route("/api/v1/agents/{name}/limits", get(limits::get_limits).put(limits::put_limits))
        .route("/api/v1/budgets", get(limits::all_budgets))
        .route("/api/v1/models", get(models::list_models))
        .route("/api/v1/cache", get(cache::settings).delete(cache::purge))
        .route("/api/v1/cache/agents/{name}", axum::routing::put(cache::put_agent))
        .route("/api/v1/cache/models/{name}", axum::routing::put(cache::put_model))
        .route("/api/v1/guardrails", get(guardrails::list))
        .route("/api/v1/guardrails/agents/{name}", axum::routing::put(guardrails::put_agent))
        .route("/api/v1/guardrails/models/{name}", axum::routing::put(guardrails::put_model))
        .route("/api/v1/overview", get(overview::overview))
        .route("/api/v1/audit/events", get(audit::list_events))
        .route("/api/v1/audit/events/{id}", get(audit::get_event))
        .route("/api/v1/audit/facets", get(audit::facets))
        .route("/api/v1/sessions", get(sessions::list_sessions))
        .route("/api/v1/approvals", get(approvals::list_approvals))
        .route("/api/v1/approvals/{id}", get(approvals::get_approval))
        .route("/api/v1/approvals/{id}/approve", post(approvals::approve_call))
        .route("/api/v1/approvals/{id}/deny", post(approvals::deny_call))
        .route("/api/v1/tools", get(tools::list_tools))
        .route("/api/v1/a2a", get(a2a::registry))
        .route("/api/v1/a2a/agents/{name}", axum::routing::put(a2a::put_agent).delete(a2a::delete_agent))
        .route("/api/v1/a2a/rules", axum::routing::put(a2a::put_rules))
        .route("/api/v1/tools/{server}/{tool}/approve", post(tools::approve_tool))
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

// -- helpers shared by the resources ---------------------------------------------------------

/// This replica applies its own change at once; others follow the change counter.
async fn refresh_keys(state: &AppState) {
    if let Err(e) = crate::state::reload_from_store(state).await {
        tracing::warn!(error = %e, "key index reload after an admin change failed; the periodic refresh will retry");
    }
}

/// The agent named `name`, or a 404 naming it.
async fn agent_or_404(state: &AppState, name: &str) -> Result<crate::store::AgentRow, ApiError> {
    state.store.agent_by_name(name).await?.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no agent named `{name}`")))
}

/// A query's time, as RFC 3339 or unix milliseconds; `field` names it in the error.
fn parse_time(field: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| ApiError::bad_request(format!("{field}: expected RFC 3339 time or unix milliseconds, got `{v}`")))
}

/// A page's cursor: the keyset position (time, then id) of the last row returned.
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

/// The position an [`encode_cursor`] cursor names; `None` for anything else.
fn decode_cursor(c: &str) -> Option<(i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (ts, id) = text.split_once(':')?;
    Some((ts.parse().ok()?, id.to_string()))
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
