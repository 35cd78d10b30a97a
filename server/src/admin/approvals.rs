//! Calls held for a person: list, read, approve and deny.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use weir_api::{ApprovalOne, ApprovalsPage};

use super::{encode_cursor, optional_body, page, ApiError};
use crate::state::AppState;
use crate::store::ApprovalStatus;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ApprovalQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

pub(super) async fn list_approvals(State(state): State<AppState>, query: Result<Query<ApprovalQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<ApprovalsPage>, ApiError> {
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

pub(super) async fn get_approval(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ApprovalOne>, ApiError> {
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

pub(super) async fn approve_call(State(state): State<AppState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<ApprovalOne>, ApiError> {
    decide(state, id, ApprovalStatus::Approved, body).await
}

pub(super) async fn deny_call(State(state): State<AppState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<ApprovalOne>, ApiError> {
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
