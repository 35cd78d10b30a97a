//! The audit trail read back: events by filter and page, one event, and the names filters take.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use weir_api::{EventOne, EventsPage, Facets};

use super::{canonical, encode_cursor, page, parse_time, ApiError};
use crate::state::AppState;
use crate::store::{AuditFilter, Store, StoreError};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct EventQuery {
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
    /// A2A: the target agent.
    target: Option<String>,
    error_type: Option<String>,
    /// `any`, `flag`, `mask`, `block`, or a guardrail's name.
    guardrail: Option<String>,
    /// RFC 3339 or unix milliseconds.
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The names the events' filters can take: agents (from the store), models and MCP servers
/// (from the configuration), and the tools Weir has listed (as agents call them).
pub(super) async fn known_names(state: &AppState) -> Result<Facets, StoreError> {
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

pub(super) async fn facets(State(state): State<AppState>) -> Result<Json<Facets>, ApiError> {
    Ok(Json(known_names(&state).await?))
}

pub(super) async fn list_events(State(state): State<AppState>, query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<EventsPage>, ApiError> {
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
        a2a_target: q.target,
        error_type: q.error_type,
        guardrail: match q.guardrail {
            Some(g) if g.is_empty() || g.len() > 64 || !g.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => {
                return Err(ApiError::bad_request("guardrail: `any`, `flag`, `mask`, `block` or a guardrail's name"));
            }
            g => g,
        },
        since_ms: q.since.as_deref().map(|v| parse_time("since", v)).transpose()?,
        until_ms: q.until.as_deref().map(|v| parse_time("until", v)).transpose()?,
        before,
        limit,
    };
    let events = state.store.query_audit_events(&filter).await?;
    let next_cursor = (events.len() as i64 == limit).then(|| events.last().map(|e| encode_cursor(e.ts, &e.id))).flatten();
    Ok(Json(EventsPage { events, next_cursor }))
}

pub(super) async fn get_event(State(store): State<Store>, Path(id): Path<String>) -> Result<Json<EventOne>, ApiError> {
    match store.audit_event(&id).await? {
        Some(event) => Ok(Json(EventOne { event })),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no audit event `{id}`"))),
    }
}
