//! The overview: the last hours from the audit trail's rollups.

use serde::{Deserialize, Serialize};

use crate::agents::BudgetWindow;

/// One kind of traffic (`llm`, `mcp`, `approval`, …) over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindSummary {
    pub kind: String,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    /// Latency percentiles (a person's approval time left out).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// An agent's traffic over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    pub agent: String,
    pub requests: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    pub errors: i64,
}

/// What the response cache did over the period (for every agent, or one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheSummary {
    /// LLM calls the cache was on for.
    pub lookups: i64,
    /// Those answered from it.
    pub hits: i64,
    pub saved_tokens: i64,
    pub saved_cost_usd: f64,
}

impl CacheSummary {
    /// Hits over lookups; none without lookups.
    pub fn hit_rate(&self) -> Option<f64> {
        (self.lookups > 0).then(|| self.hits as f64 / self.lookups as f64)
    }
}

/// A budget among those closest to running out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetOfAgent {
    pub agent: String,
    pub fraction_used: f64,
    #[serde(flatten)]
    pub window: BudgetWindow,
}

/// One step of a time series, for one kind of traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Unix ms at the start of the step.
    pub start_ms: i64,
    pub kind: String,
    pub requests: i64,
    pub errors: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// A period cut in steps (an hour, or a minute), with a point per step and kind that had traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
    pub points: Vec<SeriesPoint>,
}

/// `GET /api/v1/overview`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub hours: i64,
    pub since_ms: i64,
    pub kinds: Vec<KindSummary>,
    /// By tokens, most first (at most 10).
    pub top_agents: Vec<AgentSummary>,
    /// By cost, most first (at most 10).
    #[serde(default)]
    pub top_agents_by_cost: Vec<AgentSummary>,
    pub budgets_closest: Vec<BudgetOfAgent>,
    /// The period by the hour.
    #[serde(default)]
    pub hourly: TimeSeries,
    /// The last hour by the minute.
    #[serde(default)]
    pub last_hour: TimeSeries,
    /// Tool calls waiting for a person now.
    #[serde(default)]
    pub pending_approvals: i64,
    /// The response cache over the period: all agents, and by agent name.
    #[serde(default)]
    pub cache: CacheSummary,
    #[serde(default)]
    pub cache_by_agent: std::collections::BTreeMap<String, CacheSummary>,
}
