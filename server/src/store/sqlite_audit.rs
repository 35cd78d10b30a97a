//! The audit writer's own SQLite connection, through rusqlite rather than sqlx.
//!
//! Audit rows are the one write Weir makes per call, so on SQLite (the embedded default) they
//! take the cheapest path there is: one transaction per batch and one cached prepared statement
//! executed per row. Through sqlx's `Any` driver every batch was a new multi-row statement that
//! SQLite had to parse and plan again, handed to and from a worker thread — several times the
//! CPU of the call being recorded. Postgres keeps the sqlx path. This module must stay in step
//! with `insert_audit_events` in `store`: same columns, same conflict rule, same rollups (daily, hourly, minutely, sessions);
//! the tests run both.

use std::path::PathBuf;
use std::str::FromStr;

use rusqlite::{params, Connection, ErrorCode};

use super::{Rollups, UPSERT_DAILY, UPSERT_HOURLY, UPSERT_LATENCY_HOURLY, UPSERT_LATENCY_MINUTELY, UPSERT_MINUTELY, UPSERT_SESSION};
use crate::audit::AuditEvent;

/// Why a batch was not written.
#[derive(Debug)]
pub enum AuditInsertError {
    /// The file could not be opened, or was busy, locked or full: keep the events for later.
    Unavailable(String),
    /// SQLite refused the data itself: retrying the same rows will not help.
    Rejected(String),
}

pub struct SqliteAuditWriter {
    path: PathBuf,
    conn: Option<Connection>,
}

const INSERT_EVENT: &str = "INSERT INTO audit_events (id, ts, request_id, trace_id, span_id, kind, operation, agent_id, \
    agent_name, key_id, end_user, session_id, model_requested, model_served, provider, status_code, outcome, error_type, \
    error_message, latency_ms, ttft_ms, streamed, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, \
    usage_estimated, cost_usd, request_body, response_body, client_ip, reserved_tokens, excess_tokens, attempts, \
    mcp_server, tool_name, backend_session_id, policy_decision, policy_rule, approval_id, decided_by, mcp_session_id, \
    approval_wait_ms, upstream_operation, guardrails, guardrail_action, cache, cache_origin, cache_similarity, \
    cache_saved_tokens, cache_saved_cost_usd, a2a_target, a2a_task_id, a2a_context_id, a2a_task_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
    ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, \
    ?47, ?48, ?49, ?50, ?51, ?52, ?53, ?54, ?55) \
    ON CONFLICT (id) DO NOTHING";

impl SqliteAuditWriter {
    /// For a `sqlite:` URL naming a file; `None` otherwise (Postgres, or an in-memory database
    /// that only the pool holding it can see).
    pub fn for_url(url: &str) -> Option<Self> {
        if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
            return None;
        }
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
        Some(Self { path: opts.get_filename().to_path_buf(), conn: None })
    }

    fn connection(&mut self) -> Result<&mut Connection, AuditInsertError> {
        if self.conn.is_none() {
            let conn = Connection::open(&self.path).map_err(|e| AuditInsertError::Unavailable(e.to_string()))?;
            conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
                .map_err(|e| AuditInsertError::Unavailable(e.to_string()))?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| AuditInsertError::Unavailable("no connection".into()))
    }

    /// Inserts a batch in one transaction. Rows already present (a spool replayed after a
    /// crash) are skipped, and the daily rollup counts exactly the rows inserted.
    pub fn insert(&mut self, events: &[AuditEvent]) -> Result<(), AuditInsertError> {
        if events.is_empty() {
            return Ok(());
        }
        let result = self.connection().and_then(|conn| insert_batch(conn, events).map_err(classify));
        if matches!(result, Err(AuditInsertError::Unavailable(_))) {
            // Start over with a fresh connection next time.
            self.conn = None;
        }
        result
    }
}

fn classify(e: rusqlite::Error) -> AuditInsertError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::SystemIoFailure | ErrorCode::DiskFull | ErrorCode::CannotOpen
            ) =>
        {
            AuditInsertError::Unavailable(e.to_string())
        }
        rusqlite::Error::SqliteFailure(..) => AuditInsertError::Rejected(e.to_string()),
        _ => AuditInsertError::Unavailable(e.to_string()),
    }
}

fn insert_batch(conn: &mut Connection, events: &[AuditEvent]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let mut inserted = Vec::with_capacity(events.len());
    {
        let mut stmt = tx.prepare_cached(INSERT_EVENT)?;
        for e in events {
            let rows = stmt.execute(params![
                e.id,
                e.ts,
                e.request_id,
                e.trace_id,
                e.span_id,
                e.kind,
                e.operation,
                e.agent_id,
                e.agent_name,
                e.key_id,
                e.end_user,
                e.session_id,
                e.model_requested,
                e.model_served,
                e.provider,
                e.status_code,
                e.outcome,
                e.error_type,
                e.error_message,
                e.latency_ms,
                e.ttft_ms,
                i64::from(e.streamed),
                e.input_tokens,
                e.output_tokens,
                e.cached_input_tokens,
                e.reasoning_tokens,
                i64::from(e.usage_estimated),
                e.cost_usd,
                e.request_body,
                e.response_body,
                e.client_ip,
                e.reserved_tokens,
                e.excess_tokens,
                e.attempts,
                e.mcp_server,
                e.tool_name,
                e.backend_session_id,
                e.policy_decision,
                e.policy_rule,
                e.approval_id,
                e.decided_by,
                e.mcp_session_id,
                e.approval_wait_ms,
                e.upstream_operation,
                e.guardrails,
                e.guardrail_action,
                e.cache,
                e.cache_origin,
                e.cache_similarity,
                e.cache_saved_tokens,
                e.cache_saved_cost_usd,
                e.a2a_target,
                e.a2a_task_id,
                e.a2a_context_id,
                e.a2a_task_state,
            ])?;
            if rows == 1 {
                inserted.push(e);
            }
        }
        // Aggregated per batch first: each rollup row is one execution of a cached statement.
        let r = Rollups::of(&inserted);
        let mut upsert = tx.prepare_cached(UPSERT_DAILY)?;
        for ((agent, model, day), (requests, tokens, cost)) in r.daily {
            upsert.execute(params![agent, model, day, requests, tokens, cost])?;
        }
        for (upsert_sums, upsert_latency, (sums, latency)) in [(UPSERT_HOURLY, UPSERT_LATENCY_HOURLY, r.hourly), (UPSERT_MINUTELY, UPSERT_LATENCY_MINUTELY, r.minutely)] {
            let mut upsert = tx.prepare_cached(upsert_sums)?;
            for ((start, kind, agent), s) in sums {
                upsert.execute(params![start, kind, agent, s.requests, s.errors, s.refused, s.input_tokens, s.output_tokens, s.cost_usd, s.cache_lookups, s.cache_hits, s.cache_saved_tokens, s.cache_saved_cost_usd])?;
            }
            let mut upsert = tx.prepare_cached(upsert_latency)?;
            for ((start, kind, bucket), count) in latency {
                upsert.execute(params![start, kind, bucket, count])?;
            }
        }
        if !r.sessions.is_empty() {
            let mut upsert = tx.prepare_cached(UPSERT_SESSION)?;
            for ((agent, session), s) in r.sessions {
                upsert.execute(params![
                    agent,
                    session,
                    s.first_ts,
                    s.last_ts,
                    s.end_ts,
                    s.llm_calls,
                    s.mcp_calls,
                    s.approvals,
                    s.errors,
                    s.input_tokens,
                    s.output_tokens,
                    s.cost_usd,
                    s.a2a_calls
                ])?;
            }
        }
    }
    tx.commit()
}
