//! MCP tools as Weir saw them: pins, findings, and who may call them.

use serde::{Deserialize, Serialize};

/// What scanning found in a tool's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    /// Where: `description`, `inputSchema.properties.path.description`, …
    pub location: String,
    pub excerpt: String,
}

/// A rule that names a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRule {
    pub rule: usize,
    pub agents: Vec<String>,
    pub users: Option<Vec<String>>,
    pub arguments: Vec<String>,
    pub require_approval: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolView {
    pub server: String,
    /// The backend's own name.
    pub tool: String,
    /// As agents call it: `server__tool`.
    pub name: String,
    pub rules: Vec<ToolRule>,
    pub callable_by: String,
    /// The server's `suspicious_tools` action.
    pub action: String,
    pub flagged: bool,
    pub withheld: bool,
    pub withheld_because: Option<String>,
    pub findings: Vec<Finding>,
    pub changed: bool,
    /// Where the definition differs from its pin (when `changed`).
    pub diff: serde_json::Value,
    pub pinned_hash: String,
    pub current_hash: String,
    pub approved_hash: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
    pub first_seen_at: i64,
    pub changed_at: Option<i64>,
    pub seen_at: i64,
    pub definition: serde_json::Value,
}

/// `GET /api/v1/tools`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolsList {
    pub tools: Vec<ToolView>,
}
