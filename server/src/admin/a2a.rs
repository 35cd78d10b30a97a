//! The A2A registry: target agents and the rules of who may call whom. The config file's are
//! listed (and changed only there); those set here are stored and reach every replica within
//! the key refresh interval. Header values are credentials: they are stored, sent to the agent,
//! and never shown back.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use weir_api::{A2aAgentPut, A2aAgentView, A2aCardSummary, A2aRegistry, A2aRuleView, A2aRulesPut, A2aSkill};

use super::{refresh_keys, AdminJson, ApiError};
use crate::a2a::gateway::{agent_of_row, rule_of_row};
use crate::config::A2aAgent;
use crate::state::AppState;
use crate::store::{A2aAgentRow, A2aRuleRow};

/// How long listing waits for a card not yet read.
const CARD_WAIT: Duration = Duration::from_secs(2);

async fn view(state: &AppState, a: &A2aAgent, source: &str) -> A2aAgentView {
    let cfg = &state.runtime.load().config.a2a;
    let card = match state.a2a.cached(a) {
        Some(c) => Ok(c),
        None => match tokio::time::timeout(CARD_WAIT, state.a2a.card(a, cfg)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("the agent did not answer in time".to_string()),
        },
    };
    let (card, card_error) = match card {
        Ok(c) => {
            let text = |k: &str| c.card.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let skills = c.card.get("skills").and_then(|s| s.as_array()).into_iter().flatten();
            let summary = A2aCardSummary {
                name: text("name"),
                description: text("description"),
                versions: c.versions.iter().map(|v| v.as_str().to_string()).collect(),
                skills: skills
                    .map(|s| A2aSkill {
                        id: s.get("id").and_then(|v| v.as_str()).unwrap_or("").to_string(),
                        name: s.get("name").and_then(|v| v.as_str()).unwrap_or("").to_string(),
                    })
                    .collect(),
                streaming: c.card.pointer("/capabilities/streaming").and_then(|v| v.as_bool()).unwrap_or(false),
            };
            (Some(summary), None)
        }
        Err(e) => (None, Some(e)),
    };
    A2aAgentView {
        name: a.name.clone(),
        source: source.into(),
        url: a.base_url.clone(),
        card_url: a.card_url.clone(),
        header_names: a.headers.iter().map(|(k, _)| k.as_str().to_string()).collect(),
        path: format!("/a2a/{}", a.name),
        card,
        card_error,
    }
}

fn rule_view(r: &crate::config::A2aRule, number: usize, source: &str) -> A2aRuleView {
    let names = |l: &[crate::mcp::policy::Glob]| l.iter().map(|g| g.as_str().to_string()).collect();
    A2aRuleView { number, source: source.into(), agents: names(&r.agents), targets: names(&r.targets), skills: r.skills.as_deref().map(names) }
}

pub(super) async fn registry(State(state): State<AppState>) -> Result<Json<A2aRegistry>, ApiError> {
    let rt = state.runtime.load_full();
    let stored = state.a2a.stored.load_full();
    // Cards not yet read are fetched side by side, each within `CARD_WAIT`.
    let file = rt.config.a2a.agents.iter().map(|a| (a, "config"));
    let api = stored.agents.iter().filter(|a| !rt.config.a2a.agents.iter().any(|c| c.name == a.name)).map(|a| (a, "api"));
    let agents = futures_util::future::join_all(file.chain(api).map(|(a, source)| view(&state, a, source))).await;
    let file = &rt.config.a2a.rules;
    let rules = file.iter().map(|r| rule_view(r, r.number, "config")).chain(stored.rules.iter().enumerate().map(|(i, r)| rule_view(r, file.len() + i + 1, "api"))).collect();
    Ok(Json(A2aRegistry { agents, rules }))
}

pub(super) async fn put_agent(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<A2aAgentPut>) -> Result<Json<A2aAgentView>, ApiError> {
    if state.runtime.load().config.a2a.agents.iter().any(|a| a.name == name) {
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("agent `{}` is set in the config file; change it there", crate::audit::clip(&name))));
    }
    let (url, card_url) = crate::config::a2a::agent_urls(body.url.as_deref(), body.card_url.as_deref()).map_err(ApiError::bad_request)?;
    let row = A2aAgentRow { name: name.clone(), url, card_url, headers: body.headers };
    let agent = agent_of_row(&row, &state.runtime.load().config.a2a).map_err(ApiError::bad_request)?;
    state.store.put_a2a_agent(&row).await?;
    refresh_keys(&state).await;
    Ok(Json(view(&state, &agent, "api").await))
}

pub(super) async fn delete_agent(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.runtime.load().config.a2a.agents.iter().any(|a| a.name == name) {
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", format!("agent `{}` is set in the config file; remove it there", crate::audit::clip(&name))));
    }
    if !state.store.delete_a2a_agent(&name).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no agent `{}` was registered through the API", crate::audit::clip(&name))));
    }
    refresh_keys(&state).await;
    Ok(Json(serde_json::json!({"removed": name})))
}

/// Replaces the API's rules (the config file's stay first).
pub(super) async fn put_rules(State(state): State<AppState>, AdminJson(body): AdminJson<A2aRulesPut>) -> Result<Json<Vec<A2aRuleView>>, ApiError> {
    if body.rules.len() > 1000 {
        return Err(ApiError::bad_request("at most 1000 rules"));
    }
    let rows: Vec<A2aRuleRow> = body.rules.into_iter().map(|r| A2aRuleRow { agents: r.agents, targets: r.targets, skills: r.skills }).collect();
    for (i, r) in rows.iter().enumerate() {
        rule_of_row(r, i + 1).map_err(|e| ApiError::bad_request(format!("rules[{i}]: {e}")))?;
    }
    state.store.put_a2a_rules(&rows).await?;
    refresh_keys(&state).await;
    let offset = state.runtime.load().config.a2a.rules.len();
    let stored = state.a2a.stored.load_full();
    Ok(Json(stored.rules.iter().enumerate().map(|(i, r)| rule_view(r, offset + i + 1, "api")).collect()))
}
