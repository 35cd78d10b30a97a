//! The overview: a period's traffic per kind, the top agents, the budgets closest to running out,
//! the period step by step, and the calls waiting for a person.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use weir_api::{AgentSummary, BudgetOfAgent, CacheSummary, KindSummary, Overview, SeriesPoint, TimeSeries};

use super::ApiError;
use crate::state::AppState;
use crate::audit::stats::percentile;
use crate::store::StoreError;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct OverviewQuery {
    hours: Option<i64>,
}

/// A period from the rollups, step by step, a point per step and kind that had traffic.
async fn series(state: &AppState, since: i64, step: crate::store::Step, step_ms: i64) -> Result<TimeSeries, StoreError> {
    let from = since.div_euclid(step_ms) * step_ms;
    let rows = state.store.series_since(from, step, None).await?;
    let mut latency: std::collections::HashMap<(i64, String), Vec<(i64, i64)>> = Default::default();
    for (start, kind, bucket, count) in state.store.latency_series_since(from, step).await? {
        latency.entry((start, kind)).or_default().push((bucket, count));
    }
    for buckets in latency.values_mut() {
        buckets.sort_unstable();
    }
    let points = rows
        .into_iter()
        .map(|r| {
            let buckets = latency.get(&(r.start_ms, r.kind.clone())).map(Vec::as_slice).unwrap_or_default();
            SeriesPoint {
                start_ms: r.start_ms,
                tokens: r.sums.input_tokens + r.sums.output_tokens,
                p50_ms: percentile(buckets, 0.5),
                p95_ms: percentile(buckets, 0.95),
                kind: r.kind,
                requests: r.sums.requests,
                errors: r.sums.errors,
                cost_usd: r.sums.cost_usd,
            }
        })
        .collect();
    Ok(TimeSeries { from_ms: from, to_ms: crate::store::now_ms(), step_ms, points })
}

/// The last `hours` (default 24, by the hour) from the rollups the audit writer keeps: per kind
/// requests, errors, tokens, cost and p50/p95 latency (a person's approval time left out); the
/// agents that used most tokens and most cost; the budgets closest to running out; the period
/// by the hour and the last hour by the minute; and the calls waiting for a person.
pub(super) async fn overview(State(state): State<AppState>, query: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<Overview>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let hours = q.hours.unwrap_or(24);
    if !(1..=24 * 90).contains(&hours) {
        return Err(ApiError::bad_request("hours must be between 1 and 2160"));
    }
    let now = crate::store::now_ms();
    let since = now - hours * 3_600_000;
    let (sums, latency) = state.store.hourly_since(since).await?;
    let mut kinds: std::collections::BTreeMap<String, crate::store::HourSums> = Default::default();
    let mut agents: std::collections::HashMap<String, crate::store::HourSums> = Default::default();
    for (kind, agent, s) in &sums {
        let k = kinds.entry(kind.clone()).or_default();
        let a = agents.entry(agent.clone()).or_default();
        k.add(s);
        a.add(s);
    }
    let kinds = kinds
        .iter()
        .map(|(kind, s)| {
            let buckets: Vec<(i64, i64)> = latency.iter().filter(|(k, _, _)| k == kind).map(|(_, b, n)| (*b, *n)).collect();
            KindSummary {
                kind: kind.clone(),
                requests: s.requests,
                errors: s.errors,
                input_tokens: s.input_tokens,
                output_tokens: s.output_tokens,
                tokens: s.input_tokens + s.output_tokens,
                cost_usd: s.cost_usd,
                p50_ms: percentile(&buckets, 0.5),
                p95_ms: percentile(&buckets, 0.95),
            }
        })
        .collect();
    let summaries: Vec<AgentSummary> = agents
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, s)| AgentSummary { agent: name.clone(), requests: s.requests, tokens: s.input_tokens + s.output_tokens, cost_usd: s.cost_usd, errors: s.errors })
        .collect();
    let top = |by: fn(&AgentSummary, &AgentSummary) -> std::cmp::Ordering| {
        let mut v = summaries.clone();
        v.sort_by(|a, b| by(a, b).then_with(|| a.agent.cmp(&b.agent)));
        v.truncate(10);
        v
    };
    let top_agents = top(|a, b| b.tokens.cmp(&a.tokens));
    let top_agents_by_cost = top(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    let mut budgets_closest = Vec::new();
    for agent in state.store.list_agents().await? {
        for window in state.limiter.report(&agent.id, &agent.name).await {
            if window.limit > 0.0 {
                budgets_closest.push(BudgetOfAgent { agent: agent.name.clone(), fraction_used: window.used / window.limit, window });
            }
        }
    }
    budgets_closest.sort_by(|a, b| b.fraction_used.total_cmp(&a.fraction_used));
    budgets_closest.truncate(10);
    let hourly = series(&state, since, crate::store::Step::Hour, 3_600_000).await?;
    let last_hour = series(&state, now - 3_600_000, crate::store::Step::Minute, 60_000).await?;
    let pending_approvals = state.store.count_pending_approvals(now).await?;
    let mut cache = CacheSummary::default();
    let mut cache_by_agent = std::collections::BTreeMap::new();
    for (agent, s) in state.store.cache_since(since).await?.into_iter().filter(|(_, s)| s.cache_lookups > 0) {
        let c = CacheSummary { lookups: s.cache_lookups, hits: s.cache_hits, saved_tokens: s.cache_saved_tokens, saved_cost_usd: s.cache_saved_cost_usd };
        cache.lookups += c.lookups;
        cache.hits += c.hits;
        cache.saved_tokens += c.saved_tokens;
        cache.saved_cost_usd += c.saved_cost_usd;
        if !agent.is_empty() {
            cache_by_agent.insert(agent, c);
        }
    }
    Ok(Json(Overview {
        hours,
        since_ms: since.div_euclid(3_600_000) * 3_600_000,
        kinds,
        top_agents,
        top_agents_by_cost,
        budgets_closest,
        hourly,
        last_hour,
        pending_approvals,
        cache,
        cache_by_agent,
    }))
}
