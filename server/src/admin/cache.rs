//! The response cache: purging stored answers, of an agent (its partition: its scope's, when
//! a scope names it), of a model, or both. With Redis the purge is shared by every replica at
//! once; without it, it empties this process's cache.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use weir_api::CachePurged;

use super::{agent_or_404, ApiError};
use crate::cache::Purge;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PurgeQuery {
    agent: Option<String>,
    model: Option<String>,
}

pub(super) async fn purge(State(state): State<AppState>, Query(q): Query<PurgeQuery>) -> Result<Json<CachePurged>, ApiError> {
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
    let purged = state.cache.store.purge(&Purge { partition, model: q.model }).await.map_err(|e| {
        tracing::warn!(error = %e, "response cache purge failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cache_unavailable", "the cache's store could not be reached; try again")
    })?;
    Ok(Json(CachePurged { purged }))
}
