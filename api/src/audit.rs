//! The audit trail's events, and the pages they are read in.

use serde::{Deserialize, Serialize};

/// One call through Weir, as stored in `audit_events`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    /// Unix milliseconds when the request arrived.
    pub ts: i64,
    pub request_id: String,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub kind: String,
    pub operation: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub key_id: Option<String>,
    pub end_user: Option<String>,
    pub session_id: Option<String>,
    pub model_requested: Option<String>,
    pub model_served: Option<String>,
    pub provider: Option<String>,
    pub status_code: i64,
    /// `ok`, `error` or `cancelled` (the client went away first).
    pub outcome: String,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub streamed: bool,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cached_input_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    /// Usage was estimated by Weir (a stream cut before the provider reported it).
    pub usage_estimated: bool,
    pub cost_usd: Option<f64>,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub client_ip: Option<String>,
    /// Tokens reserved against budgets and limits before the call.
    pub reserved_tokens: Option<i64>,
    /// Tokens used beyond the reservation (charged all the same).
    pub excess_tokens: Option<i64>,
    /// JSON list of the targets tried, in order, with their outcome.
    pub attempts: Option<String>,
    /// MCP: the backend server the request went to.
    pub mcp_server: Option<String>,
    /// MCP `tools/call`: the tool, as `server__tool`.
    pub tool_name: Option<String>,
    /// MCP: the backend's own session id.
    pub backend_session_id: Option<String>,
    /// MCP `tools/call`: `allow`, `deny` or `approval`.
    pub policy_decision: Option<String>,
    /// The number of the `[[mcp.rules]]` entry that decided it.
    pub policy_rule: Option<i64>,
    /// MCP: the approval a held call waited for (on the call's event and on its decision's).
    pub approval_id: Option<String>,
    /// Who decided an approval (on the decision's event).
    pub decided_by: Option<String>,
    /// MCP: the client's session with Weir (`Mcp-Session-Id`); `session_id` holds the
    /// `x-weir-session` the call belongs to, so LLM and MCP calls of one session share it.
    #[serde(default)]
    pub mcp_session_id: Option<String>,
    /// MCP: how long a held call waited for a person (left out of latency percentiles).
    #[serde(default)]
    pub approval_wait_ms: Option<f64>,
    /// LLM: the protocol the provider was called in (`chat`, `responses`, `embeddings`,
    /// `messages`); differs from `operation`, the client's, when the call was translated.
    #[serde(default)]
    pub upstream_operation: Option<String>,
    /// JSON list of the guardrails that fired: each with its action, the direction it fired
    /// on and its findings counted by type (never the values found).
    #[serde(default)]
    pub guardrails: Option<String>,
    /// The most severe guardrail action taken (`flag`, `mask`, `block`).
    #[serde(default)]
    pub guardrail_action: Option<String>,
    /// LLM: what the response cache did (`hit`, `semantic_hit`, `miss`, or `bypass` when the
    /// client's `Cache-Control` skipped it); none when the cache is off for the call.
    #[serde(default)]
    pub cache: Option<String>,
    /// A hit: the request whose answer it was served from.
    #[serde(default)]
    pub cache_origin: Option<String>,
    /// A semantic hit: the similarity of the prompt it matched.
    #[serde(default)]
    pub cache_similarity: Option<f64>,
    /// A hit: the tokens and cost the answer took to make, saved this time.
    #[serde(default)]
    pub cache_saved_tokens: Option<i64>,
    #[serde(default)]
    pub cache_saved_cost_usd: Option<f64>,
    /// A2A: the target agent (its registry name).
    #[serde(default)]
    pub a2a_target: Option<String>,
    /// A2A: the task the call created or named, its context (the A2A session) and the task's
    /// state as last reported (`completed`, `input-required`, …, v0.3's spelling).
    #[serde(default)]
    pub a2a_task_id: Option<String>,
    #[serde(default)]
    pub a2a_context_id: Option<String>,
    #[serde(default)]
    pub a2a_task_state: Option<String>,
}

impl AuditEvent {
    /// Whether this call's usage counts against budgets (a call the limiter refused does not).
    pub fn counts_as_usage(&self) -> bool {
        self.kind == "llm" && self.error_type.as_deref() != Some("limit_exceeded")
    }
}

/// `GET /api/v1/audit/events`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<AuditEvent>,
    /// The cursor of the next (older) page; none on the last.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/audit/events/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOne {
    pub event: AuditEvent,
}

/// `GET /api/v1/audit/facets`: the names the events' filters can take, from the configuration
/// and the stores (never from what clients typed): agents, models, MCP servers and tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    pub agents: Vec<String>,
    pub models: Vec<String>,
    pub servers: Vec<String>,
    pub tools: Vec<String>,
}
