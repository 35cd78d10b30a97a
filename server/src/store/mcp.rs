//! MCP rows: tool calls held for approval, and the tool definitions Weir has pinned.
//!
//! Every state change of an approval is a conditional update (`WHERE status = 'pending'`), so
//! that when a person's decision, the expiry and the client's departure race — on one replica
//! or several — exactly one wins and the others see that they lost.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{bump_generation, now_ms, Arg, Store, StoreError, Where};

pub use weir_api::{Approval as ApprovalRow, ApprovalStatus};

fn approval_from_row(r: &AnyRow) -> Result<ApprovalRow, StoreError> {
    let status: String = r.try_get("status")?;
    let arguments: String = r.try_get("arguments")?;
    Ok(ApprovalRow {
        id: r.try_get("id")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        status: ApprovalStatus::parse(&status).ok_or_else(|| StoreError::Conflict(format!("unknown approval status `{status}`")))?,
        agent_id: r.try_get("agent_id")?,
        agent_name: r.try_get("agent_name")?,
        end_user: r.try_get("end_user")?,
        session_id: r.try_get("session_id")?,
        server: r.try_get("server")?,
        tool: r.try_get("tool")?,
        arguments: serde_json::from_str(&arguments).unwrap_or(serde_json::Value::Null),
        rule: r.try_get("rule")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        reason: r.try_get("reason")?,
    })
}

/// A tool as Weir last saw it, with its pin.
#[derive(Debug, Clone, Serialize)]
pub struct ToolRow {
    pub server: String,
    pub tool: String,
    pub pinned_hash: String,
    pub pinned_definition: serde_json::Value,
    pub current_hash: String,
    pub current_definition: serde_json::Value,
    pub findings: serde_json::Value,
    pub approved_hash: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
    pub first_seen_at: i64,
    pub changed_at: Option<i64>,
    pub seen_at: i64,
}

impl ToolRow {
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        let json = |col: &str| -> Result<serde_json::Value, StoreError> {
            let text: String = r.try_get(col)?;
            Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
        };
        Ok(Self {
            server: r.try_get("server")?,
            tool: r.try_get("tool")?,
            pinned_hash: r.try_get("pinned_hash")?,
            pinned_definition: json("pinned_definition")?,
            current_hash: r.try_get("current_hash")?,
            current_definition: json("current_definition")?,
            findings: json("findings")?,
            approved_hash: r.try_get("approved_hash")?,
            approved_by: r.try_get("approved_by")?,
            approved_at: r.try_get("approved_at")?,
            first_seen_at: r.try_get("first_seen_at")?,
            changed_at: r.try_get("changed_at")?,
            seen_at: r.try_get("seen_at")?,
        })
    }
}

const TOOL_ROW: &str = "SELECT * FROM mcp_tools WHERE server = $1 AND tool = $2";

/// A new held call.
pub struct NewApproval<'a> {
    pub id: &'a str,
    pub expires_at: i64,
    pub agent_id: Option<&'a str>,
    pub agent_name: Option<&'a str>,
    pub end_user: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub server: &'a str,
    pub tool: &'a str,
    pub arguments: &'a serde_json::Value,
    pub rule: Option<i64>,
}

impl Store {
    pub async fn insert_approval(&self, a: &NewApproval<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mcp_approvals (id, created_at, expires_at, status, agent_id, agent_name, end_user, session_id, server, tool, arguments, rule) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(a.id)
        .bind(now_ms())
        .bind(a.expires_at)
        .bind(a.agent_id)
        .bind(a.agent_name)
        .bind(a.end_user)
        .bind(a.session_id)
        .bind(a.server)
        .bind(a.tool)
        .bind(a.arguments.to_string())
        .bind(a.rule)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn approval(&self, id: &str) -> Result<Option<ApprovalRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM mcp_approvals WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(approval_from_row).transpose()
    }

    /// Newest first; `before` is the keyset cursor `(created_at, id)`.
    pub async fn list_approvals(&self, status: Option<ApprovalStatus>, before: Option<(i64, String)>, limit: i64) -> Result<Vec<ApprovalRow>, StoreError> {
        let mut w = Where::new("SELECT * FROM mcp_approvals WHERE 1 = 1");
        if let Some(s) = status {
            w.and("status = $?", Arg::Text(s.as_str().to_string()));
        }
        if let Some((ts, id)) = before {
            w.and2("(created_at < $1? OR (created_at = $1? AND id < $2?))", Arg::Int(ts), Arg::Text(id));
        }
        let rows = w.fetch(&self.pool, &format!(" ORDER BY created_at DESC, id DESC LIMIT {}", limit.clamp(1, 1000))).await?;
        rows.iter().map(approval_from_row).collect()
    }

    /// How many calls wait for a person now (pending and not past their expiry).
    pub async fn count_pending_approvals(&self, now_ms: i64) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM mcp_approvals WHERE status = 'pending' AND expires_at > $1").bind(now_ms).fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    /// Moves a pending approval to `to`; `false` when it was no longer pending (someone or
    /// something else decided first). A person's decision (approved, denied) counts only
    /// before the approval's time is up.
    pub async fn settle_approval(&self, id: &str, to: ApprovalStatus, by: Option<&str>, reason: Option<&str>) -> Result<bool, StoreError> {
        let now = now_ms();
        let deadline = if matches!(to, ApprovalStatus::Approved | ApprovalStatus::Denied) { now } else { i64::MIN };
        let n = sqlx::query("UPDATE mcp_approvals SET status = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE id = $5 AND status = 'pending' AND expires_at > $6")
            .bind(to.as_str())
            .bind(by)
            .bind(now)
            .bind(reason)
            .bind(id)
            .bind(deadline)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Marks pending approvals past their time as expired (their waiter is gone: a replica that
    /// stopped); returns them.
    pub async fn expire_approvals(&self, now: i64) -> Result<Vec<ApprovalRow>, StoreError> {
        let due = sqlx::query("SELECT * FROM mcp_approvals WHERE status = 'pending' AND expires_at <= $1").bind(now).fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in &due {
            let id: String = r.try_get("id")?;
            if self.settle_approval(&id, ApprovalStatus::Expired, None, Some("no decision in time")).await? {
                if let Some(row) = self.approval(&id).await? {
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    // -- tools ---------------------------------------------------------------------------------

    pub async fn list_tools(&self) -> Result<Vec<ToolRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM mcp_tools ORDER BY server, tool").fetch_all(&self.pool).await?;
        rows.iter().map(ToolRow::from_row).collect()
    }

    pub async fn tool(&self, server: &str, tool: &str) -> Result<Option<ToolRow>, StoreError> {
        let row = sqlx::query(TOOL_ROW).bind(server).bind(tool).fetch_optional(&self.pool).await?;
        row.as_ref().map(ToolRow::from_row).transpose()
    }

    /// Records a definition as seen: pinned when the tool is new, the current one otherwise
    /// (`changed_at` set when it first differs from the pin). Returns the row as it now is.
    /// Bumps the change counter when anything an operator or another replica cares about
    /// changed. The transaction's first statement writes, so that on SQLite it takes the write
    /// lock at once (waiting its turn) instead of failing to upgrade a read.
    pub async fn record_tool(&self, server: &str, tool: &str, hash: &str, definition: &str, findings: &str) -> Result<ToolRow, StoreError> {
        let now = now_ms();
        let before: Option<String> = sqlx::query("SELECT current_hash FROM mcp_tools WHERE server = $1 AND tool = $2")
            .bind(server)
            .bind(tool)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO mcp_tools (server, tool, pinned_hash, pinned_definition, current_hash, current_definition, findings, first_seen_at, seen_at) \
             VALUES ($1, $2, $3, $4, $3, $4, $5, $6, $6) \
             ON CONFLICT (server, tool) DO UPDATE SET current_hash = excluded.current_hash, current_definition = excluded.current_definition, \
             findings = excluded.findings, seen_at = excluded.seen_at, \
             changed_at = CASE WHEN excluded.current_hash = mcp_tools.pinned_hash THEN NULL \
                               WHEN excluded.current_hash = mcp_tools.current_hash THEN mcp_tools.changed_at \
                               ELSE COALESCE(mcp_tools.changed_at, excluded.seen_at) END",
        )
        .bind(server)
        .bind(tool)
        .bind(hash)
        .bind(definition)
        .bind(findings)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if before.as_deref() != Some(hash) {
            bump_generation(&mut tx).await?;
        }
        let row = ToolRow::from_row(&sqlx::query(TOOL_ROW).bind(server).bind(tool).fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(row)
    }

    /// An operator trusts the definition with `hash` (the current one): it becomes the pin.
    /// `NotFound` when the tool is unknown; `Conflict` when `hash` is not its current definition.
    pub async fn approve_tool(&self, server: &str, tool: &str, hash: Option<&str>, by: &str) -> Result<ToolRow, StoreError> {
        let Some(row) = self.tool(server, tool).await? else {
            return Err(StoreError::NotFound(format!("no tool `{tool}` seen on server `{server}`")));
        };
        if let Some(h) = hash {
            if h != row.current_hash {
                return Err(StoreError::Conflict(format!("`{h}` is not the current definition of `{server}__{tool}` ({})", row.current_hash)));
            }
        }
        // Only the definition the operator saw: a newer one seen meanwhile is not approved. The
        // transaction begins with its write (see `record_tool`).
        let seen = hash.unwrap_or(&row.current_hash);
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE mcp_tools SET pinned_hash = current_hash, pinned_definition = current_definition, approved_hash = current_hash, \
             approved_by = $1, approved_at = $2, changed_at = NULL WHERE server = $3 AND tool = $4 AND current_hash = $5",
        )
        .bind(by)
        .bind(now_ms())
        .bind(server)
        .bind(tool)
        .bind(seen)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict(format!("the definition of `{server}__{tool}` changed meanwhile; review it again")));
        }
        bump_generation(&mut tx).await?;
        let row = ToolRow::from_row(&sqlx::query(TOOL_ROW).bind(server).bind(tool).fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(row)
    }
}
