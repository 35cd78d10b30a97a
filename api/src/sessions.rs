//! Sessions: an agent's calls grouped by `x-weir-session` (or its MCP session, or its A2A context).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `""` for calls without an agent.
    pub agent: String,
    pub session_id: String,
    /// Unix ms of its first call's start, its last call's start, and its last call's end.
    pub first_ts: i64,
    pub last_ts: i64,
    pub end_ts: i64,
    pub llm_calls: i64,
    pub mcp_calls: i64,
    /// Decisions on held tool calls.
    pub approvals: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// Calls to other agents (A2A).
    #[serde(default)]
    pub a2a_calls: i64,
}

/// `GET /api/v1/sessions`: the most recently active first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionsPage {
    pub sessions: Vec<Session>,
    pub next_cursor: Option<String>,
}
