//! Usage and overview reads: sums from the hourly, minutely and daily rollups, latency
//! histograms, sessions, and the per-model and per-agent figures read from the audit trail.
//!
//! The rollups are written with the audit events they count (in `audit`); this module never
//! writes. It holds what both sides agree on: the period widths and the latency buckets.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError};
use crate::audit::AuditEvent;

/// Sums of one hour (or minute), kind and agent in the `audit_hourly` (`audit_minutely`) rollup.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct HourSums {
    pub requests: i64,
    pub errors: i64,
    /// Calls the limiter refused (`error_type` `limit_exceeded`).
    pub refused: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// Calls the response cache was on for, its hits, and what they saved (read apart: see
    /// [`Store::cache_since`]).
    pub cache_lookups: i64,
    pub cache_hits: i64,
    pub cache_saved_tokens: i64,
    pub cache_saved_cost_usd: f64,
}

impl HourSums {
    /// Adds `other` in.
    pub fn add(&mut self, other: &HourSums) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.refused += other.refused;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
        self.cache_lookups += other.cache_lookups;
        self.cache_hits += other.cache_hits;
        self.cache_saved_tokens += other.cache_saved_tokens;
        self.cache_saved_cost_usd += other.cache_saved_cost_usd;
    }

    /// Read from six columns from `first` on: requests, errors, refused, input and output
    /// tokens, cost — the order every rollup query selects them in.
    fn from_row(r: &AnyRow, first: usize) -> Result<Self, StoreError> {
        Ok(Self {
            requests: r.try_get(first)?,
            errors: r.try_get(first + 1)?,
            refused: r.try_get(first + 2)?,
            input_tokens: r.try_get(first + 3)?,
            output_tokens: r.try_get(first + 4)?,
            cost_usd: r.try_get(first + 5)?,
            ..Default::default()
        })
    }
}

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;

/// The latency the histograms count: the call's own, less the time it waited for a person to
/// approve it (that measures the person, not the call), never below zero.
pub fn working_latency_ms(e: &AuditEvent) -> f64 {
    (e.latency_ms - e.approval_wait_ms.unwrap_or(0.0)).max(0.0)
}

/// How long minutely rollups are kept.
pub const MINUTELY_KEEP_MS: i64 = 2 * HOUR_MS;

const LATENCY_BASE_MS: f64 = 0.05;
const LATENCY_FACTOR: f64 = 1.2;

/// The histogram bucket of a latency: 0 below 0.05 ms, then ×1.2 per bucket (about ±10%).
pub fn latency_bucket(ms: f64) -> i64 {
    if ms.is_nan() || ms < LATENCY_BASE_MS {
        return 0;
    }
    ((ms / LATENCY_BASE_MS).ln() / LATENCY_FACTOR.ln()).floor() as i64 + 1
}

/// A bucket's representative latency: the geometric middle of its range.
pub fn bucket_latency_ms(bucket: i64) -> f64 {
    if bucket <= 0 {
        return LATENCY_BASE_MS / 2.0;
    }
    LATENCY_BASE_MS * LATENCY_FACTOR.powf(bucket as f64 - 0.5)
}

impl Store {
    /// Per requested model since `since_ms`: requests, errors and mean latency of LLM calls.
    pub async fn model_stats_since(&self, since_ms: i64) -> Result<Vec<(String, i64, i64, f64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT model_requested, COUNT(*), CAST(SUM(CASE WHEN outcome = 'ok' THEN 0 ELSE 1 END) AS BIGINT), CAST(AVG(latency_ms) AS DOUBLE PRECISION) \
             FROM audit_events WHERE ts >= $1 AND kind = 'llm' AND model_requested IS NOT NULL GROUP BY model_requested",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
    }

    /// The hourly rollups since `since_ms` (rounded down to its hour): sums per kind and agent,
    /// and latency histograms per kind.
    pub async fn hourly_since(&self, since_ms: i64) -> Result<(Vec<(String, String, HourSums)>, Vec<(String, i64, i64)>), StoreError> {
        let hour = since_ms.div_euclid(3_600_000) * 3_600_000;
        let rows = sqlx::query(
            "SELECT kind, agent_name, CAST(SUM(requests) AS BIGINT), CAST(SUM(errors) AS BIGINT), CAST(SUM(refused) AS BIGINT), \
             CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(cost_usd) AS DOUBLE PRECISION) FROM audit_hourly WHERE hour >= $1 GROUP BY kind, agent_name",
        )
        .bind(hour)
        .fetch_all(&self.pool)
        .await?;
        let sums = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?, HourSums::from_row(r, 2)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows = sqlx::query("SELECT kind, bucket, CAST(SUM(count) AS BIGINT) FROM audit_latency_hourly WHERE hour >= $1 GROUP BY kind, bucket ORDER BY kind, bucket")
            .bind(hour)
            .fetch_all(&self.pool)
            .await?;
        let latency = rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?, r.try_get::<i64, _>(2)?))).collect::<Result<Vec<_>, StoreError>>()?;
        Ok((sums, latency))
    }

    /// What the response cache did since `since_ms` (rounded down to its hour), per agent name:
    /// calls it was on for, hits, tokens and cost saved.
    pub async fn cache_since(&self, since_ms: i64) -> Result<Vec<(String, HourSums)>, StoreError> {
        let hour = since_ms.div_euclid(HOUR_MS) * HOUR_MS;
        let rows = sqlx::query(
            "SELECT agent_name, CAST(SUM(cache_lookups) AS BIGINT), CAST(SUM(cache_hits) AS BIGINT), CAST(SUM(cache_saved_tokens) AS BIGINT), \
             CAST(SUM(cache_saved_cost_usd) AS DOUBLE PRECISION) FROM audit_hourly WHERE hour >= $1 AND kind = 'llm' GROUP BY agent_name",
        )
        .bind(hour)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let sums = HourSums { cache_lookups: r.try_get(1)?, cache_hits: r.try_get(2)?, cache_saved_tokens: r.try_get(3)?, cache_saved_cost_usd: r.try_get(4)?, ..Default::default() };
                Ok((r.try_get::<String, _>(0)?, sums))
            })
            .collect()
    }

    /// The rollups since `since_ms` (rounded down to its step), per step and kind: summed over
    /// agents, or one agent's. Ordered by start, then kind. A range scan of the rollup's primary
    /// key; minutes reach back two hours at most (older ones are pruned).
    pub async fn series_since(&self, since_ms: i64, step: Step, agent: Option<&str>) -> Result<Vec<SeriesRow>, StoreError> {
        let start = step.floor(since_ms);
        let sql = match (step, agent.is_some()) {
            (Step::Minute, false) => {
                "SELECT minute, kind, CAST(SUM(requests) AS BIGINT), CAST(SUM(errors) AS BIGINT), CAST(SUM(refused) AS BIGINT), \
                 CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(cost_usd) AS DOUBLE PRECISION) \
                 FROM audit_minutely WHERE minute >= $1 GROUP BY minute, kind ORDER BY minute, kind"
            }
            (Step::Minute, true) => {
                "SELECT minute, kind, requests, errors, refused, input_tokens, output_tokens, cost_usd \
                 FROM audit_minutely WHERE minute >= $1 AND agent_name = $2 ORDER BY minute, kind"
            }
            (Step::Hour, false) => {
                "SELECT hour, kind, CAST(SUM(requests) AS BIGINT), CAST(SUM(errors) AS BIGINT), CAST(SUM(refused) AS BIGINT), \
                 CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(cost_usd) AS DOUBLE PRECISION) \
                 FROM audit_hourly WHERE hour >= $1 GROUP BY hour, kind ORDER BY hour, kind"
            }
            // Through `audit_hourly_agent` (agent_name, hour).
            (Step::Hour, true) => {
                "SELECT hour, kind, requests, errors, refused, input_tokens, output_tokens, cost_usd \
                 FROM audit_hourly WHERE agent_name = $2 AND hour >= $1 ORDER BY hour, kind"
            }
        };
        let mut q = sqlx::query(sql).bind(start);
        if let Some(agent) = agent {
            q = q.bind(agent);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(SeriesRow { start_ms: r.try_get(0)?, kind: r.try_get(1)?, sums: HourSums::from_row(r, 2)? })).collect()
    }

    /// Latency histograms since `since_ms` (rounded down to its step): `(start, kind, bucket,
    /// count)` ordered by start, kind and bucket. Latencies leave out time spent waiting for
    /// approval.
    pub async fn latency_series_since(&self, since_ms: i64, step: Step) -> Result<Vec<(i64, String, i64, i64)>, StoreError> {
        let sql = match step {
            Step::Minute => "SELECT minute, kind, bucket, count FROM audit_latency_minutely WHERE minute >= $1 ORDER BY minute, kind, bucket",
            Step::Hour => "SELECT hour, kind, bucket, count FROM audit_latency_hourly WHERE hour >= $1 ORDER BY hour, kind, bucket",
        };
        let rows = sqlx::query(sql).bind(step.floor(since_ms)).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))).collect()
    }

    /// Calls of `agent` the limiter refused since the hour holding `since_ms` (budget windows
    /// start on hour boundaries).
    pub async fn refused_since(&self, agent: &str, since_ms: i64) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(refused), 0) AS BIGINT) FROM audit_hourly WHERE agent_name = $1 AND hour >= $2")
            .bind(agent)
            .bind(Step::Hour.floor(since_ms))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Sessions, the most recently active first (by their latest call's start), paged by the
    /// keyset `(last_ts, agent, session_id)` through `audit_sessions_last` (or
    /// `audit_sessions_agent_last` for one agent).
    pub async fn list_sessions(&self, f: &SessionFilter) -> Result<Vec<Session>, StoreError> {
        let limit = f.limit.clamp(1, 1000);
        let rows = match (&f.agent, &f.before) {
            (None, None) => sqlx::query(&format!("{SESSION_COLS} ORDER BY last_ts DESC, agent_name DESC, session_id DESC LIMIT $1")).bind(limit).fetch_all(&self.pool).await?,
            (None, Some((ts, agent, session))) => {
                sqlx::query(&format!(
                    "{SESSION_COLS} WHERE (last_ts, agent_name, session_id) < ($1, $2, $3) ORDER BY last_ts DESC, agent_name DESC, session_id DESC LIMIT $4"
                ))
                .bind(ts)
                .bind(agent)
                .bind(session)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            (Some(agent), None) => {
                sqlx::query(&format!("{SESSION_COLS} WHERE agent_name = $1 ORDER BY last_ts DESC, session_id DESC LIMIT $2"))
                    .bind(agent)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            (Some(agent), Some((ts, before_agent, session))) => {
                // The cursor's agent orders sessions of one timestamp across agents; within one
                // agent, a cursor from another agent's listing still pages correctly.
                let (ts, session) = match before_agent.as_str().cmp(agent.as_str()) {
                    std::cmp::Ordering::Equal => (*ts, session.as_str()),
                    // The cursor's agent sorts after `agent`: its sessions at `ts` come later
                    // in the listing, so they are still to come.
                    std::cmp::Ordering::Greater => (ts.saturating_add(1), ""),
                    // It sorts before: `agent`'s sessions at `ts` were listed already.
                    std::cmp::Ordering::Less => (*ts, ""),
                };
                sqlx::query(&format!(
                    "{SESSION_COLS} WHERE agent_name = $1 AND (last_ts, session_id) < ($2, $3) ORDER BY last_ts DESC, session_id DESC LIMIT $4"
                ))
                .bind(agent)
                .bind(ts)
                .bind(session)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(session_from_row).collect()
    }

    /// One session's row.
    pub async fn session_summary(&self, agent: &str, session_id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!("{SESSION_COLS} WHERE agent_name = $1 AND session_id = $2"))
            .bind(agent)
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Usage per agent and requested model since `ts_ms`, from the audit trail.
    pub async fn usage_since(&self, ts_ms: i64) -> Result<Vec<UsageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent_id, COALESCE(model_requested, ''), COUNT(*), \
             CAST(COALESCE(SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)), 0) AS BIGINT), \
             CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) \
             FROM audit_events WHERE ts >= $1 AND agent_id IS NOT NULL AND COALESCE(error_type, '') <> 'limit_exceeded' \
             GROUP BY agent_id, COALESCE(model_requested, '')",
        )
        .bind(ts_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(UsageRow::from_row).collect()
    }

    /// Usage per agent and model since the day holding `ts_ms`, from the daily rollup.
    pub async fn daily_usage_since(&self, ts_ms: i64) -> Result<Vec<UsageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent_id, model, CAST(SUM(requests) AS BIGINT), CAST(SUM(tokens) AS BIGINT), \
             CAST(SUM(cost_usd) AS DOUBLE PRECISION) FROM usage_daily WHERE day >= $1 GROUP BY agent_id, model",
        )
        .bind(ts_ms.div_euclid(86_400_000) * 86_400_000)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(UsageRow::from_row).collect()
    }
}

#[derive(Debug, Clone)]
pub struct UsageRow {
    pub agent_id: String,
    pub model: String,
    pub requests: i64,
    pub tokens: i64,
    pub cost_usd: f64,
}

impl UsageRow {
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self { agent_id: r.try_get(0)?, model: r.try_get(1)?, requests: r.try_get(2)?, tokens: r.try_get(3)?, cost_usd: r.try_get(4)? })
    }
}

/// The width of a time series' steps, and the rollup that holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `audit_minutely`: the last two hours.
    Minute,
    /// `audit_hourly`: as far back as retention keeps events.
    Hour,
}

impl Step {
    pub fn ms(self) -> i64 {
        match self {
            Step::Minute => MINUTE_MS,
            Step::Hour => HOUR_MS,
        }
    }

    /// The start of the step holding `ts_ms`.
    pub fn floor(self, ts_ms: i64) -> i64 {
        ts_ms.div_euclid(self.ms()) * self.ms()
    }
}

/// One step of one kind in a time series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub start_ms: i64,
    pub kind: String,
    pub sums: HourSums,
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub agent: Option<String>,
    /// Keyset cursor: sessions strictly after this `(last_ts, agent, session_id)` in the
    /// listing's order (most recent first).
    pub before: Option<(i64, String, String)>,
    pub limit: i64,
}

pub use weir_api::Session;

const SESSION_COLS: &str = "SELECT agent_name, session_id, first_ts, last_ts, end_ts, llm_calls, mcp_calls, approvals, errors, \
    input_tokens, output_tokens, cost_usd, a2a_calls FROM audit_sessions";

fn session_from_row(r: &AnyRow) -> Result<Session, StoreError> {
    Ok(Session {
        agent: r.try_get(0)?,
        session_id: r.try_get(1)?,
        first_ts: r.try_get(2)?,
        last_ts: r.try_get(3)?,
        end_ts: r.try_get(4)?,
        llm_calls: r.try_get(5)?,
        mcp_calls: r.try_get(6)?,
        approvals: r.try_get(7)?,
        errors: r.try_get(8)?,
        input_tokens: r.try_get(9)?,
        output_tokens: r.try_get(10)?,
        cost_usd: r.try_get(11)?,
        a2a_calls: r.try_get(12)?,
    })
}
