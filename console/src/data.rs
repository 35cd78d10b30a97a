//! What the console needs from the gateway, as a trait the server implements.
//!
//! Records come in the admin API's own types (crate `weir-api`), because the server answers them
//! with the very operations behind its admin API: the console is a second face of that API,
//! never a second implementation of it, and the two cannot disagree on a field.

use std::net::IpAddr;

use axum::http::HeaderMap;
use weir_api::{Agent, AgentLimits, Approval, AuditEvent, BudgetWindow, EventsPage, Facets, Key, ModelsList, Overview, SessionsPage, ToolView};

/// A failure the console shows to the operator (the message is safe to show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The request was refused: bad input, not found, a conflict. The message says why.
    Refused(String),
    /// The gateway could not answer (its database is away, say).
    Unavailable(String),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) | Self::Unavailable(m) => f.write_str(m),
        }
    }
}

pub type DataResult<T> = Result<T, DataError>;

/// Filters of the traces page, as the audit events API takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct TraceFilter {
    pub agent: Option<String>,
    pub user: Option<String>,
    pub session: Option<String>,
    pub kind: Option<String>,
    pub model: Option<String>,
    pub tool: Option<String>,
    /// An MCP server.
    pub server: Option<String>,
    /// An A2A target agent.
    pub target: Option<String>,
    pub outcome: Option<String>,
    /// Calls a guardrail fired on: `any`, `flag`, `mask`, `block` or a guardrail's name.
    pub guardrail: Option<String>,
    /// An HTTP status code.
    pub status: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// One request (a cached answer's origin, say).
    pub request_id: Option<String>,
    pub cursor: Option<String>,
}

impl TraceFilter {
    /// The non-empty filters as query pairs (the cursor left out).
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let fields: [(&'static str, &Option<String>); 14] = [
            ("agent", &self.agent),
            ("user", &self.user),
            ("session", &self.session),
            ("kind", &self.kind),
            ("model", &self.model),
            ("tool", &self.tool),
            ("server", &self.server),
            ("target", &self.target),
            ("outcome", &self.outcome),
            ("guardrail", &self.guardrail),
            ("status", &self.status),
            ("since", &self.since),
            ("until", &self.until),
            ("request_id", &self.request_id),
        ];
        fields.into_iter().filter_map(|(k, v)| v.as_deref().filter(|s| !s.trim().is_empty()).map(|s| (k, s.trim()))).collect()
    }
}

/// An agent as its page shows it: the record, its keys, its budgets (each window with its use,
/// and on the agent's own page how many calls it refused and its use over the window), and on
/// its own page its rate limits.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub agent: Agent,
    pub keys: Vec<Key>,
    pub budgets: Vec<BudgetWindow>,
    pub limits: Option<AgentLimits>,
    /// The configured guardrails and the overrides set (on the agent's own page).
    pub guardrails: Option<weir_api::GuardrailsList>,
    /// The response cache's settings (on the agent's own page).
    pub cache: Option<weir_api::CacheSettingsList>,
}

#[async_trait::async_trait]
pub trait ConsoleData: Send + Sync + 'static {
    /// Whether `token` is the admin token (compared in constant time).
    fn is_admin_token(&self, token: &str) -> bool;
    /// A secret the console signs its cookies and form tokens with; it changes when the admin
    /// token does, which signs every operator out.
    fn signing_key(&self) -> Vec<u8>;
    /// The address agents reach the gateway at, for empty states.
    fn gateway_url(&self) -> String;

    /// Whether a sign-in was ended by signing out, here or at another replica. It runs on every
    /// console request, so it answers from memory and never waits on the database.
    fn is_signed_out(&self, session: &str) -> bool;
    /// Ends a sign-in at every replica: each refuses its cookie within 2 seconds. `expires` (unix
    /// seconds) is when the cookie would stop working anyway; the record may go after it.
    async fn sign_out(&self, session: &str, expires: i64) -> DataResult<()>;
    /// Whether the browser reached the console over HTTPS, given the TCP peer (when known) and
    /// the request's headers; the console's cookies then carry `Secure`.
    fn reached_over_https(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool;

    /// The last 24 hours from the rollups (`GET /api/v1/overview`).
    async fn overview(&self) -> DataResult<Overview>;
    /// How many tool calls wait for a person now (every page's navigation shows it).
    async fn pending_approvals(&self) -> DataResult<i64>;

    /// Audit events, newest first (`GET /api/v1/audit/events`).
    async fn events(&self, filter: &TraceFilter, limit: u32) -> DataResult<EventsPage>;
    async fn event(&self, id: &str) -> DataResult<Option<AuditEvent>>;
    /// The names the traces' filters can take (`GET /api/v1/audit/facets`).
    async fn facets(&self) -> DataResult<Facets>;

    /// Sessions, most recently active first (`GET /api/v1/sessions`).
    async fn sessions(&self, agent: Option<&str>, cursor: Option<&str>, limit: u32) -> DataResult<SessionsPage>;

    /// Agents with their keys and budgets.
    async fn agents(&self) -> DataResult<Vec<AgentView>>;
    /// One agent with its keys, budgets (with refused calls and use over the window) and limits.
    async fn agent(&self, name: &str) -> DataResult<Option<AgentView>>;
    async fn create_agent(&self, name: &str) -> DataResult<()>;
    /// Creates a key and returns its secret (shown once).
    async fn create_key(&self, agent: &str, expires_in: Option<&str>, models: Option<Vec<String>>) -> DataResult<String>;
    async fn revoke_key(&self, id: &str) -> DataResult<()>;
    /// Sets the models a key may call (`None`: every model).
    async fn set_key_models(&self, id: &str, models: Option<Vec<String>>) -> DataResult<()>;
    /// Sets the limits of one scope (an empty value removes that limit); `mcp_rpm` applies to
    /// the agent as a whole and is left alone when a model is given.
    async fn set_limits(&self, agent: &str, model: Option<&str>, rpm: &str, tpm: &str, mcp_rpm: &str, a2a_rpm: &str) -> DataResult<()>;
    /// Sets one budget: `kind` is `tokens` or `cost_usd`.
    async fn set_budget(&self, agent: &str, period: &str, kind: &str, amount: &str, model: Option<&str>) -> DataResult<()>;

    /// Held tool calls (`status` as the approvals API takes it).
    async fn approvals(&self, status: Option<&str>) -> DataResult<Vec<Approval>>;
    async fn decide(&self, id: &str, approve: bool, by: &str, reason: Option<&str>) -> DataResult<()>;

    /// Models with their targets' circuit states and their last hour, and the providers
    /// (`GET /api/v1/models`).
    async fn models(&self) -> DataResult<ModelsList>;
    /// The configured guardrails and every override.
    async fn guardrails(&self) -> DataResult<weir_api::GuardrailsList>;
    /// Sets the guardrail actions of an agent (`scope` `agents`) or a model (`models`); an
    /// empty map removes them.
    async fn set_guardrails(&self, scope: &str, name: &str, overrides: std::collections::BTreeMap<String, String>) -> DataResult<()>;
    /// The response cache's default and every agent's and model's setting.
    async fn cache_settings(&self) -> DataResult<weir_api::CacheSettingsList>;
    /// Sets an agent's (`scope` `agents`) or a model's (`models`) cache setting; neither part
    /// removes it.
    async fn set_cache(&self, scope: &str, name: &str, setting: weir_api::CacheSettingView) -> DataResult<()>;
    /// Purges the cached answers of an agent, a model, or both; returns how many.
    async fn purge_cache(&self, agent: Option<&str>, model: Option<&str>) -> DataResult<u64>;

    /// Every MCP tool seen, with findings, pins and diffs (`GET /api/v1/tools`).
    async fn tools(&self) -> DataResult<Vec<ToolView>>;
    async fn approve_tool(&self, server: &str, tool: &str, hash: &str, by: &str) -> DataResult<()>;

    /// The A2A registry: agents (with what their cards say) and rules.
    async fn a2a(&self) -> DataResult<weir_api::A2aRegistry>;
    /// Registers an agent by its base URL or card URL (`url`).
    async fn register_a2a_agent(&self, name: &str, url: &str) -> DataResult<()>;
    async fn remove_a2a_agent(&self, name: &str) -> DataResult<()>;
    /// Replaces the rules set here (the config file's stay).
    async fn set_a2a_rules(&self, rules: Vec<weir_api::A2aRuleView>) -> DataResult<()>;
}
