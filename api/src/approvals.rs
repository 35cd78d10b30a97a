//! Tool calls held for a person's approval.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Abandoned,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "expired" => Self::Expired,
            "abandoned" => Self::Abandoned,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: ApprovalStatus,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub end_user: Option<String>,
    pub session_id: Option<String>,
    pub server: String,
    pub tool: String,
    /// The call's arguments (JSON).
    pub arguments: serde_json::Value,
    pub rule: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
}

/// `GET /api/v1/approvals`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalsPage {
    pub approvals: Vec<Approval>,
    pub next_cursor: Option<String>,
    /// How many are pending now (whatever the page's filter).
    #[serde(default)]
    pub pending: i64,
}

/// `GET /api/v1/approvals/{id}`, and a decision's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalOne {
    pub approval: Approval,
}
