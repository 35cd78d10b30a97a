//! The admin API's records, defined once: the server answers with these types and the console
//! reads them back as the same types, so the two cannot drift apart. Each type's JSON shape is
//! the admin API's contract (documented in the README): add fields freely, rename none.
//!
//! Pure data: no I/O, no server state.

pub mod a2a;
pub mod agents;
pub mod approvals;
pub mod audit;
pub mod cache;
pub mod guardrails;
pub mod models;
pub mod overview;
pub mod sessions;
pub mod tools;

pub use a2a::{A2aAgentPut, A2aAgentView, A2aCardSummary, A2aRegistry, A2aRuleView, A2aRulesPut, A2aSkill};
pub use agents::{Agent, AgentBudgets, AgentDetail, AgentLimits, AgentOne, AgentsList, BudgetWindow, BudgetsList, CreatedKey, Key, KeyOne, KeysList, RateLimit};
pub use approvals::{Approval, ApprovalOne, ApprovalStatus, ApprovalsPage};
pub use audit::{AuditEvent, EventOne, EventsPage, Facets};
pub use cache::{CachePurged, CacheSettingView, CacheSettingsList};
pub use guardrails::{GuardrailOverrides, GuardrailVerdict, GuardrailView, GuardrailsList};
pub use models::{ModelHour, ModelView, ModelsList, Price, ProviderView, TargetView};
pub use overview::{AgentSummary, BudgetOfAgent, CacheSummary, KindSummary, Overview, SeriesPoint, TimeSeries};
pub use sessions::{Session, SessionsPage};
pub use tools::{Finding, ToolRule, ToolView, ToolsList};

/// The body of every admin API error.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorDetail {
    /// A machine code: `invalid_request`, `not_found`, `conflict`, `database_unavailable`, …
    pub code: String,
    pub message: String,
}
