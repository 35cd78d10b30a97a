//! Guardrails: the configured ones, and the actions set for one agent or one model (laid over
//! the configured actions; an agent's over a model's). A change reaches every replica within
//! the key refresh interval.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use weir_api::{GuardrailOverrides, GuardrailView, GuardrailsList};

use super::{agent_or_404, refresh_keys, AdminJson, ApiError};
use crate::guard::policy::{Action, Detector, Direction, Overrides};
use crate::state::AppState;
use crate::store::OverrideScope;

fn detector_name(d: &Detector) -> &'static str {
    match d {
        Detector::Pii(_) => "pii",
        Detector::Secrets(_) => "secrets",
        Detector::Injection => "injection",
        Detector::Custom(_) => "custom",
        Detector::Webhook(_) => "webhook",
    }
}

fn as_strings(o: &Overrides) -> BTreeMap<String, String> {
    o.iter().map(|(k, v)| (k.clone(), v.as_str().to_string())).collect()
}

pub(super) async fn list(State(state): State<AppState>) -> Result<Json<GuardrailsList>, ApiError> {
    let guardrails = state.runtime.load().config.guardrails.clone();
    let table = state.store.guardrail_overrides().await?;
    let names: BTreeMap<String, String> = state.store.list_agents().await?.into_iter().map(|a| (a.id, a.name)).collect();
    Ok(Json(GuardrailsList {
        guardrails: guardrails
            .list
            .iter()
            .map(|g| GuardrailView {
                name: g.name.clone(),
                detector: detector_name(&g.detector).into(),
                action: g.action.as_str().into(),
                apply_to: Direction::ALL.iter().filter(|d| g.apply_to.contains(**d)).map(|d| d.as_str().to_string()).collect(),
            })
            .collect(),
        agents: table.agents.iter().filter_map(|(id, o)| names.get(id).map(|n| (n.clone(), as_strings(o)))).collect(),
        models: table.models.iter().map(|(m, o)| (m.clone(), as_strings(o))).collect(),
    }))
}

/// The overrides in a body, checked against the configured guardrails.
fn checked(state: &AppState, body: &GuardrailOverrides) -> Result<Overrides, ApiError> {
    let guardrails = state.runtime.load().config.guardrails.clone();
    let mut out = Overrides::new();
    for (name, action) in &body.overrides {
        let Some(i) = guardrails.index(name) else {
            let known: Vec<&str> = guardrails.list.iter().map(|g| g.name.as_str()).collect();
            return Err(ApiError::bad_request(format!("no guardrail named `{}`; configured: {}", crate::audit::clip(name), if known.is_empty() { "none".into() } else { known.join(", ") })));
        };
        let Some(a) = Action::parse(action) else {
            return Err(ApiError::bad_request(format!("`{}` is not an action: use block, mask, flag or off", crate::audit::clip(action))));
        };
        if a == Action::Mask && matches!(guardrails.list[i].detector, Detector::Injection) {
            return Err(ApiError::bad_request("prompt injection is found as an attempt, not a value: use block, flag or off"));
        }
        out.insert(name.clone(), a);
    }
    Ok(out)
}

pub(super) async fn put_agent(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<GuardrailOverrides>) -> Result<Json<GuardrailOverrides>, ApiError> {
    let agent = agent_or_404(&state, &name).await?;
    let over = checked(&state, &body)?;
    state.store.set_guardrail_overrides(OverrideScope::Agent, &agent.id, &over).await?;
    refresh_keys(&state).await;
    Ok(Json(GuardrailOverrides { overrides: as_strings(&over) }))
}

pub(super) async fn put_model(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<GuardrailOverrides>) -> Result<Json<GuardrailOverrides>, ApiError> {
    if state.runtime.load().config.model(&name).is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no model named `{}`", crate::audit::clip(&name))));
    }
    let over = checked(&state, &body)?;
    state.store.set_guardrail_overrides(OverrideScope::Model, &name, &over).await?;
    refresh_keys(&state).await;
    Ok(Json(GuardrailOverrides { overrides: as_strings(&over) }))
}
