//! Agents' keys: list, issue, revoke, and set the models a key may call.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use weir_api::{CreatedKey, KeyOne, KeysList};

use super::{refresh_keys, AdminJson, ApiError};
use crate::state::AppState;
use crate::identity::{self, KeyRequest};

#[derive(Deserialize)]
pub(super) struct KeyListQuery {
    agent: Option<String>,
}

pub(super) async fn list_keys(State(state): State<AppState>, Query(q): Query<KeyListQuery>) -> Result<Json<KeysList>, ApiError> {
    Ok(Json(KeysList { keys: state.store.list_keys(q.agent.as_deref()).await? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewKey {
    agent: String,
    /// A duration such as `30d` or `12h`.
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    models: Option<Vec<String>>,
}

pub(super) async fn create_key(State(state): State<AppState>, AdminJson(body): AdminJson<NewKey>) -> Result<Response, ApiError> {
    let expires_in = match &body.expires_in {
        Some(s) => Some(humantime::parse_duration(s).map_err(|e| ApiError::bad_request(format!("expires_in: {e}")))?),
        None => None,
    };
    let new = identity::create_key(&state.store, KeyRequest { agent: body.agent, expires_in, models: body.models }).await?;
    refresh_keys(&state).await;
    Ok((StatusCode::CREATED, Json(CreatedKey { row: new.row, key: new.secret })).into_response())
}

pub(super) async fn revoke_key(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<KeyOne>, ApiError> {
    let key = state.store.revoke_key(&id).await?;
    refresh_keys(&state).await;
    Ok(Json(KeyOne { key }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyPatch {
    /// The models the key may call; `null`: every model.
    models: Option<Vec<String>>,
}

/// Sets a key's model allowlist; every replica applies it within 2 seconds.
pub(super) async fn update_key(State(state): State<AppState>, Path(id): Path<String>, AdminJson(body): AdminJson<KeyPatch>) -> Result<Json<KeyOne>, ApiError> {
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
