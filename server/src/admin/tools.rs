//! MCP tools Weir has seen: their pins, findings and rules, and approving a changed definition.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use weir_api::{ToolView, ToolsList};

use super::{optional_body, ApiError};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ToolQuery {
    flagged: Option<bool>,
    server: Option<String>,
}

/// Every tool Weir has seen, with its pin, findings, change (a diff from the pin) and whether
/// its server's action withholds it now.
pub(super) async fn list_tools(State(state): State<AppState>, query: Result<Query<ToolQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<ToolsList>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let rt = state.runtime.load_full();
    let rows = state.store.list_tools().await?;
    let tools = rows
        .into_iter()
        .filter(|r| q.server.as_deref().is_none_or(|s| s == r.server))
        .filter_map(|r| {
            let findings: Vec<weir_api::Finding> = serde_json::from_value(r.findings.clone()).unwrap_or_default();
            let changed = r.current_hash != r.pinned_hash;
            let flagged = !findings.is_empty() || changed;
            if q.flagged.is_some_and(|want| want != flagged) {
                return None;
            }
            let action = rt.config.mcp.suspicious_tools(&r.server);
            let withheld = crate::mcp::tools::ToolGuard::row_withheld(&r, action);
            let name = crate::mcp::names::prefixed(&r.server, &r.tool);
            let rules = crate::mcp::policy::rules_naming_tool(&rt.config.mcp.rules, &name);
            let callable_by = crate::mcp::policy::callable_by(&rt.config.mcp.rules, &name);
            Some(ToolView {
                diff: if changed { serde_json::Value::Array(crate::mcp::scan::diff(&r.pinned_definition, &r.current_definition)) } else { serde_json::Value::Null },
                server: r.server,
                tool: r.tool,
                name,
                rules,
                callable_by: callable_by.into(),
                action: action.as_str().into(),
                flagged,
                withheld: withheld.is_some(),
                withheld_because: withheld.map(|w| w.to_string()),
                findings,
                changed,
                pinned_hash: r.pinned_hash,
                current_hash: r.current_hash,
                approved_hash: r.approved_hash,
                approved_by: r.approved_by,
                approved_at: r.approved_at,
                first_seen_at: r.first_seen_at,
                changed_at: r.changed_at,
                seen_at: r.seen_at,
                definition: r.current_definition,
            })
        })
        .collect();
    Ok(Json(ToolsList { tools }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveToolBody {
    /// The definition approved (`current_hash` as listed); the current one when left out.
    hash: Option<String>,
    by: Option<String>,
}

pub(super) async fn approve_tool(State(state): State<AppState>, Path((server, tool)): Path<(String, String)>, body: axum::body::Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    let b: ApproveToolBody = optional_body(&body)?;
    let by = b.by.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "admin".to_string());
    let row = state.store.approve_tool(&server, &tool, b.hash.as_deref(), &by).await?;
    state.mcp.tools.update(&row);
    tracing::info!(server, tool, hash = %row.current_hash, by, "MCP tool definition approved");
    Ok(Json(json!({"tool": row})))
}
