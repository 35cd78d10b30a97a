//! An agent's budgets (with their use over the open window on request) and rate limits.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use weir_api::{AgentBudgets, AgentLimits, BudgetsList, RateLimit};

use super::{agent_or_404, refresh_keys, AdminJson, ApiError};
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetsQuery {
    /// With each window's refused calls and use over time.
    #[serde(default)]
    detail: bool,
}

/// Each budget that applies to the agent, with its usage and what remains in the open window;
/// with `detail=true` also the calls refused in the window and the use across it.
pub(super) async fn get_budgets(State(state): State<AppState>, Path(name): Path<String>, query: Result<Query<BudgetsQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<AgentBudgets>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let agent = agent_or_404(&state, &name).await?;
    let mut budgets = state.limiter.report(&agent.id, &agent.name).await;
    if q.detail {
        for w in &mut budgets {
            budget_detail(&state, &agent.name, w).await?;
        }
    }
    Ok(Json(AgentBudgets { agent: agent.name, budgets }))
}

/// The longest a budget's use is drawn back over (a lifetime budget's window never opens).
const BUDGET_HISTORY_MS: i64 = 90 * 24 * 3_600_000;

/// A window's refused calls (every limit's, for the agent) and its use step by step, cumulative,
/// from the rollups: by the minute for windows of an hour or less, else by the hour. A budget
/// of one model gets no usage line (the rollups are per agent, not per model).
async fn budget_detail(state: &AppState, agent: &str, w: &mut weir_api::BudgetWindow) -> Result<(), StoreError> {
    let now = crate::store::now_ms();
    let short = matches!(w.period.as_str(), "minute" | "hour");
    let step = if short { crate::store::Step::Minute } else { crate::store::Step::Hour };
    let since = w.window_start_ms.max(now - BUDGET_HISTORY_MS);
    let rows = state.store.series_since(since, step, Some(agent)).await?;
    w.refused_calls = Some(rows.iter().map(|r| r.sums.refused).sum());
    if w.model.is_none() {
        let mut total = 0.0;
        let mut usage: Vec<(i64, f64)> = Vec::new();
        for r in rows.iter().filter(|r| r.kind == "llm") {
            total += if w.kind == "cost_usd" { r.sums.cost_usd } else { (r.sums.input_tokens + r.sums.output_tokens) as f64 };
            match usage.last_mut() {
                Some(last) if last.0 == r.start_ms => last.1 = total,
                _ => usage.push((r.start_ms, total)),
            }
        }
        // The counter may have started after calls earlier in the window (a budget set today
        // counts from when it was set): the line ends at the counter's own value.
        let before_counting = (total - w.used).max(0.0);
        for point in &mut usage {
            point.1 = (point.1 - before_counting).max(0.0);
        }
        w.usage = Some(usage);
    }
    Ok(())
}

pub(super) async fn all_budgets(State(state): State<AppState>) -> Result<Json<BudgetsList>, ApiError> {
    let mut agents = Vec::new();
    for agent in state.store.list_agents().await? {
        let budgets = state.limiter.report(&agent.id, &agent.name).await;
        if !budgets.is_empty() {
            agents.push(AgentBudgets { agent: agent.name, budgets });
        }
    }
    Ok(Json(BudgetsList { agents }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetBody {
    period: String,
    #[serde(default)]
    tokens: Option<u64>,
    #[serde(default)]
    cost_usd: Option<f64>,
    #[serde(default)]
    model: Option<String>,
}

pub(super) async fn put_budget(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<BudgetBody>) -> Result<Json<AgentBudgets>, ApiError> {
    agent_or_404(&state, &name).await?;
    let rt = state.runtime.load();
    let models: Vec<&str> = rt.config.models.iter().map(|m| m.name.as_str()).collect();
    let change = crate::limits::BudgetChange::parse(body.tokens, body.cost_usd, &body.period, body.model.as_deref(), &models).map_err(ApiError::bad_request)?;
    change.apply(&state.store, &name).await?;
    refresh_keys(&state).await;
    get_budgets(State(state), Path(name), Ok(Query(BudgetsQuery::default()))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetSelector {
    period: String,
    kind: String,
    #[serde(default)]
    model: Option<String>,
}

pub(super) async fn delete_budget(State(state): State<AppState>, Path(name): Path<String>, Query(q): Query<BudgetSelector>) -> Result<Json<AgentBudgets>, ApiError> {
    agent_or_404(&state, &name).await?;
    let removed = state.store.delete_budget(&name, q.model.as_deref().unwrap_or_default(), &q.kind, &q.period).await?;
    if !removed {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such budget is set for this agent"));
    }
    refresh_keys(&state).await;
    get_budgets(State(state), Path(name), Ok(Query(BudgetsQuery::default()))).await
}

pub(super) async fn get_limits(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<AgentLimits>, ApiError> {
    let agent = agent_or_404(&state, &name).await?;
    let policy = state.limiter.policy_for(&agent.name);
    let limits = policy.rates.iter().map(|r| RateLimit { model: r.model.clone(), rpm: r.rpm, tpm: r.tpm, source: r.source.into() }).collect();
    Ok(Json(AgentLimits { agent: agent.name, limits, mcp_rpm: policy.mcp_rpm, a2a_rpm: policy.a2a_rpm }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsBody {
    #[serde(default)]
    model: Option<String>,
    /// A number sets the limit, `null` removes it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    rpm: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    tpm: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    mcp_rpm: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    a2a_rpm: Option<Option<u64>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

pub(super) async fn put_limits(State(state): State<AppState>, Path(name): Path<String>, AdminJson(body): AdminJson<LimitsBody>) -> Result<Json<AgentLimits>, ApiError> {
    agent_or_404(&state, &name).await?;
    let change = crate::limits::RateChange { rpm: body.rpm, tpm: body.tpm, mcp_rpm: body.mcp_rpm, a2a_rpm: body.a2a_rpm };
    change.check(body.model.as_deref()).map_err(|e| {
        ApiError::bad_request(match e {
            crate::limits::RateChangeError::Nothing => "give rpm, tpm, mcp_rpm, a2a_rpm or several",
            crate::limits::RateChangeError::McpRpmWithModel => "mcp_rpm and a2a_rpm are per agent: give them without a model",
        })
    })?;
    if let Some(m) = &body.model {
        if state.runtime.load().config.model(m).is_none() {
            return Err(ApiError::bad_request(format!("unknown model `{m}`")));
        }
    }
    crate::limits::set_rate_limits(&state.store, &name, body.model.as_deref(), change).await?;
    refresh_keys(&state).await;
    get_limits(State(state), Path(name)).await
}
