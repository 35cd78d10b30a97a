//! Sessions: an agent's calls grouped by session, most recently active first.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use weir_api::{Session, SessionsPage};

use super::audit::known_names;
use super::{canonical, encode_cursor, page, ApiError};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionQuery {
    agent: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Sessions (an agent's calls sharing `x-weir-session`, or an MCP session), most recently active
/// first, from the rollup the audit writer keeps.
pub(super) async fn list_sessions(State(state): State<AppState>, query: Result<Query<SessionQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<SessionsPage>, ApiError> {
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
