//! Agents: list, create, read (with their keys) and change whether their bodies are captured.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use weir_api::{AgentDetail, AgentOne, AgentsList};

use super::{refresh_keys, AdminJson, ApiError};
use crate::state::AppState;
use crate::identity;

pub(super) async fn list_agents(State(state): State<AppState>) -> Result<Json<AgentsList>, ApiError> {
    Ok(Json(AgentsList { agents: state.store.list_agents().await? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAgent {
    name: String,
    #[serde(default)]
    capture_bodies: Option<bool>,
}

pub(super) async fn create_agent(State(state): State<AppState>, AdminJson(body): AdminJson<NewAgent>) -> Result<Response, ApiError> {
    let agent = identity::create_agent(&state.store, &body.name, body.capture_bodies).await?;
    refresh_keys(&state).await;
    Ok((StatusCode::CREATED, Json(agent)).into_response())
}

pub(super) async fn get_agent(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<AgentDetail>, ApiError> {
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
pub(super) struct AgentPatch {
    /// `null` returns the agent to the configured default.
    capture_bodies: Option<bool>,
}

pub(super) async fn update_agent(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<AgentPatch>) -> Result<Json<AgentOne>, ApiError> {
    let agent = state.store.set_agent_capture_bodies(&name, body.capture_bodies).await?;
    refresh_keys(&state).await;
    Ok(Json(AgentOne { agent }))
}
