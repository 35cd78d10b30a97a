//! The response cache: its settings (the default, and on/off, TTL and the semantic cache per
//! agent and per model, laid over the config's; a change reaches every replica within the key
//! refresh interval), and purging stored answers, of an agent (its partition: its scope's, when
//! a scope names it), of a model, or both. With Redis the purge is shared by every replica at
//! once; without it, it empties this process's cache.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use weir_api::{CachePurged, CacheSettingsList};

use super::{agent_or_404, refresh_keys, AdminJson, ApiError};
use crate::cache::Purge;
use crate::config::cache::ttl_problem;
use crate::config::CacheSetting;
use crate::state::AppState;
use crate::store::OverrideScope;

pub(super) async fn settings(State(state): State<AppState>) -> Result<Json<CacheSettingsList>, ApiError> {
    let rt = state.runtime.load_full();
    let cfg = &rt.config.cache;
    let stored = state.store.cache_settings().await?;
    let names: BTreeMap<String, String> = state.store.list_agents().await?.into_iter().map(|a| (a.id, a.name)).collect();
    Ok(Json(CacheSettingsList {
        enabled: cfg.enabled,
        ttl_secs: cfg.ttl.as_secs(),
        semantic: cfg.semantic.enabled,
        shared: rt.config.redis_url.is_some(),
        config_agents: cfg.agents.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        config_models: cfg.models.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        agents: stored.agents.iter().filter_map(|(id, v)| names.get(id).map(|n| (n.clone(), *v))).collect(),
        models: stored.models.iter().map(|(k, v)| (k.clone(), *v)).collect(),
    }))
}

fn checked(body: CacheSetting) -> Result<CacheSetting, ApiError> {
    match body.ttl_secs.and_then(ttl_problem) {
        Some(p) => Err(ApiError::bad_request(format!("ttl_secs {p}"))),
        None => Ok(body),
    }
}

/// Sets an agent's own setting (`{}` removes it).
pub(super) async fn put_agent(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<CacheSetting>) -> Result<Json<CacheSetting>, ApiError> {
    let agent = agent_or_404(&state, &name).await?;
    let setting = checked(body)?;
    state.store.set_cache_setting(OverrideScope::Agent, &agent.id, setting).await?;
    refresh_keys(&state).await;
    Ok(Json(setting))
}

/// Sets a model's own setting (`{}` removes it).
pub(super) async fn put_model(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<CacheSetting>) -> Result<Json<CacheSetting>, ApiError> {
    if state.runtime.load().config.model(&name).is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no model named `{}`", crate::audit::clip(&name))));
    }
    let setting = checked(body)?;
    state.store.set_cache_setting(OverrideScope::Model, &name, setting).await?;
    refresh_keys(&state).await;
    Ok(Json(setting))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PurgeQuery {
    agent: Option<String>,
    model: Option<String>,
}

pub(super) async fn purge(State(state): State<AppState>, query: Result<Query<PurgeQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<CachePurged>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let rt = state.runtime.load_full();
    let partition = match &q.agent {
        Some(name) => {
            let agent = agent_or_404(&state, name).await?;
            Some(crate::cache::key::partition(&rt.config.cache, &agent.id, &agent.name))
        }
        None => None,
    };
    if let Some(m) = &q.model {
        if rt.config.model(m).is_none() {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no model named `{}`", crate::audit::clip(m))));
        }
    }
    let purged = state.cache.purge(&Purge { partition, model: q.model }).await.map_err(|e| {
        tracing::warn!(error = %e, "response cache purge failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cache_unavailable", "the cache's store could not be reached; try again")
    })?;
    Ok(Json(CachePurged { purged }))
}
