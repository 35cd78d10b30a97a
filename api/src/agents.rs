//! Agents, their keys, budgets and rate limits.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    /// `None`: follows `audit.capture_bodies`.
    pub capture_bodies: Option<bool>,
    pub created_at: i64,
}

/// `GET /api/v1/agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentsList {
    pub agents: Vec<Agent>,
}

/// `GET /api/v1/agents/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDetail {
    pub agent: Agent,
    pub keys: Vec<Key>,
}

/// `PATCH /api/v1/agents/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentOne {
    pub agent: Agent,
}

/// A key as listed: never the key itself (only its first characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub id: String,
    pub agent_id: String,
    pub agent: String,
    pub prefix: String,
    /// The models the key may call; `None`: every model.
    pub models: Option<Vec<String>>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// `GET /api/v1/keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeysList {
    pub keys: Vec<Key>,
}

/// `POST /api/v1/keys/{id}/revoke`, `PATCH /api/v1/keys/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyOne {
    pub key: Key,
}

/// `POST /api/v1/keys`: the new key's record and, once, the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub row: Key,
    /// The key itself: shown here and never again.
    pub key: String,
}

/// One budget that applies to an agent, with its open window's usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetWindow {
    /// `None`: every model.
    pub model: Option<String>,
    /// `tokens` or `cost_usd`.
    pub kind: String,
    /// `minute`, `hour`, `day`, `month` or `lifetime`.
    pub period: String,
    pub limit: f64,
    pub used: f64,
    pub remaining: f64,
    pub window_start_ms: i64,
    /// When the window ends and usage starts again from 0; `None` for `lifetime`.
    pub resets_at_ms: Option<i64>,
    /// `config` (a default) or `set` (CLI, admin API, console).
    pub source: String,
    /// Calls refused because this budget was spent, in the open window (when counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_calls: Option<i64>,
    /// The amount used over the window so far, as (unix ms, cumulative amount) points (when asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Vec<(i64, f64)>>,
}

impl BudgetWindow {
    /// Whether nothing is left: the agent's calls under this budget are refused until it resets.
    pub fn spent(&self) -> bool {
        self.limit > 0.0 && self.remaining <= 0.0
    }

    /// The share used, 0 to 1 (1 when the limit is 0).
    pub fn fraction_used(&self) -> f64 {
        if self.limit > 0.0 {
            (self.used / self.limit).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }
}

/// `GET /api/v1/agents/{name}/budgets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentBudgets {
    pub agent: String,
    pub budgets: Vec<BudgetWindow>,
}

/// `GET /api/v1/budgets`: every agent with a budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetsList {
    pub agents: Vec<AgentBudgets>,
}

/// One rate-limit scope of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// `None`: all models.
    pub model: Option<String>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub source: String,
}

/// `GET /api/v1/agents/{name}/limits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentLimits {
    pub agent: String,
    pub limits: Vec<RateLimit>,
    /// MCP requests per minute; `None`: no limit.
    pub mcp_rpm: Option<u64>,
    /// A2A requests per minute; `None`: no limit.
    #[serde(default)]
    pub a2a_rpm: Option<u64>,
}
