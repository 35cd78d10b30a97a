//! The database: pools, migrations and every SQL statement Weir runs.
//!
//! One interface over SQLite (the embedded default) and Postgres (scaled out), through sqlx's
//! `Any` driver. Every statement is written once in the SQL both engines accept, with `$n`
//! placeholders bound in ascending order, and the test suite runs each of them on both engines.
//! This module never decides policy: it stores and fetches rows.

mod mcp;
mod sqlite_audit;

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::audit::AuditEvent;

pub use mcp::{ApprovalRow, ApprovalStatus, NewApproval, ToolRow};
pub use sqlite_audit::{AuditInsertError, SqliteAuditWriter};

/// Requests, tokens and cost per (agent, requested model, UTC day) of the events that count as
/// usage: what the `usage_daily` rollup gains when they are inserted.
fn daily_rollup<'e>(inserted: &[&'e AuditEvent]) -> BTreeMap<(&'e str, &'e str, i64), (i64, i64, f64)> {
    let mut rollup: BTreeMap<(&str, &str, i64), (i64, i64, f64)> = Default::default();
    for e in inserted.iter().filter(|e| e.counts_as_usage()) {
        let Some(agent) = &e.agent_id else { continue };
        let day = e.ts.div_euclid(86_400_000) * 86_400_000;
        let r = rollup.entry((agent.as_str(), e.model_requested.as_deref().unwrap_or_default(), day)).or_default();
        r.0 += 1;
        r.1 += e.input_tokens.unwrap_or(0) + e.output_tokens.unwrap_or(0);
        r.2 += e.cost_usd.unwrap_or(0.0);
    }
    rollup
}

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
}

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;

/// What a time rollup gains from inserted events: sums per (period start, kind, agent name),
/// and latency histogram counts per (period start, kind, bucket).
type TimeRollup<'e> = (BTreeMap<(i64, &'e str, &'e str), HourSums>, BTreeMap<(i64, &'e str, i64), i64>);

/// The rollups of periods `period_ms` long (an hour, a minute) that `inserted` adds to.
fn time_rollup<'e>(inserted: &[&'e AuditEvent], period_ms: i64) -> TimeRollup<'e> {
    let (mut sums, mut latency): TimeRollup<'e> = Default::default();
    for e in inserted {
        let start = e.ts.div_euclid(period_ms) * period_ms;
        let s = sums.entry((start, e.kind.as_str(), e.agent_name.as_deref().unwrap_or(""))).or_default();
        s.requests += 1;
        s.errors += i64::from(e.outcome != "ok");
        s.refused += i64::from(e.error_type.as_deref() == Some("limit_exceeded"));
        s.input_tokens += e.input_tokens.unwrap_or(0);
        s.output_tokens += e.output_tokens.unwrap_or(0);
        s.cost_usd += e.cost_usd.unwrap_or(0.0);
        *latency.entry((start, e.kind.as_str(), latency_bucket(working_latency_ms(e)))).or_default() += 1;
    }
    (sums, latency)
}

/// The latency the histograms count: the call's own, less the time it waited for a person to
/// approve it (that measures the person, not the call), never below zero.
pub fn working_latency_ms(e: &AuditEvent) -> f64 {
    (e.latency_ms - e.approval_wait_ms.unwrap_or(0.0)).max(0.0)
}

/// One session's row in `audit_sessions`, as inserted events add to it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SessionSums {
    first_ts: i64,
    last_ts: i64,
    end_ts: i64,
    llm_calls: i64,
    mcp_calls: i64,
    approvals: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
}

/// What `audit_sessions` gains from inserted events, per (agent name, session id): only events
/// with a session id count.
fn session_rollup<'e>(inserted: &[&'e AuditEvent]) -> BTreeMap<(&'e str, &'e str), SessionSums> {
    let mut rollup: BTreeMap<(&str, &str), SessionSums> = BTreeMap::new();
    for e in inserted {
        let Some(session) = e.session_id.as_deref() else { continue };
        // Whole milliseconds, cut towards zero (as the migration's backfill does).
        let end = e.ts + e.latency_ms.max(0.0) as i64;
        let s = rollup.entry((e.agent_name.as_deref().unwrap_or(""), session)).or_insert(SessionSums {
            first_ts: e.ts,
            last_ts: e.ts,
            end_ts: end,
            llm_calls: 0,
            mcp_calls: 0,
            approvals: 0,
            errors: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
        });
        s.first_ts = s.first_ts.min(e.ts);
        s.last_ts = s.last_ts.max(e.ts);
        s.end_ts = s.end_ts.max(end);
        match e.kind.as_str() {
            "llm" => s.llm_calls += 1,
            "mcp" => s.mcp_calls += 1,
            "approval" => s.approvals += 1,
            _ => {}
        }
        s.errors += i64::from(e.outcome != "ok");
        s.input_tokens += e.input_tokens.unwrap_or(0);
        s.output_tokens += e.output_tokens.unwrap_or(0);
        s.cost_usd += e.cost_usd.unwrap_or(0.0);
    }
    rollup
}

/// Everything the rollups gain from a batch's inserted rows, aggregated in memory first so that
/// each rollup row is written once per batch.
struct Rollups<'e> {
    daily: BTreeMap<(&'e str, &'e str, i64), (i64, i64, f64)>,
    hourly: TimeRollup<'e>,
    minutely: TimeRollup<'e>,
    sessions: BTreeMap<(&'e str, &'e str), SessionSums>,
}

impl<'e> Rollups<'e> {
    fn of(inserted: &[&'e AuditEvent]) -> Self {
        Self { daily: daily_rollup(inserted), hourly: time_rollup(inserted, HOUR_MS), minutely: time_rollup(inserted, MINUTE_MS), sessions: session_rollup(inserted) }
    }
}

// The rollup upserts, shared by both audit writers (`$n` placeholders; rusqlite reads them as
// numbered parameters too). Every rollup adds exactly what the rows inserted in the same
// transaction count.

const UPSERT_DAILY: &str = "INSERT INTO usage_daily (agent_id, model, day, requests, tokens, cost_usd) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (agent_id, model, day) DO UPDATE SET requests = usage_daily.requests + excluded.requests, \
    tokens = usage_daily.tokens + excluded.tokens, cost_usd = usage_daily.cost_usd + excluded.cost_usd";

const UPSERT_HOURLY: &str = "INSERT INTO audit_hourly (hour, kind, agent_name, requests, errors, refused, input_tokens, output_tokens, cost_usd) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (hour, kind, agent_name) DO UPDATE SET requests = audit_hourly.requests + excluded.requests, \
    errors = audit_hourly.errors + excluded.errors, refused = audit_hourly.refused + excluded.refused, \
    input_tokens = audit_hourly.input_tokens + excluded.input_tokens, output_tokens = audit_hourly.output_tokens + excluded.output_tokens, \
    cost_usd = audit_hourly.cost_usd + excluded.cost_usd";

const UPSERT_LATENCY_HOURLY: &str = "INSERT INTO audit_latency_hourly (hour, kind, bucket, count) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (hour, kind, bucket) DO UPDATE SET count = audit_latency_hourly.count + excluded.count";

const UPSERT_MINUTELY: &str = "INSERT INTO audit_minutely (minute, kind, agent_name, requests, errors, refused, input_tokens, output_tokens, cost_usd) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (minute, kind, agent_name) DO UPDATE SET requests = audit_minutely.requests + excluded.requests, \
    errors = audit_minutely.errors + excluded.errors, refused = audit_minutely.refused + excluded.refused, \
    input_tokens = audit_minutely.input_tokens + excluded.input_tokens, output_tokens = audit_minutely.output_tokens + excluded.output_tokens, \
    cost_usd = audit_minutely.cost_usd + excluded.cost_usd";

const UPSERT_LATENCY_MINUTELY: &str = "INSERT INTO audit_latency_minutely (minute, kind, bucket, count) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (minute, kind, bucket) DO UPDATE SET count = audit_latency_minutely.count + excluded.count";

// `CASE` rather than `LEAST`/`GREATEST` (Postgres) or two-argument `MIN`/`MAX` (SQLite): the
// one form both engines accept.
const UPSERT_SESSION: &str = "INSERT INTO audit_sessions (agent_name, session_id, first_ts, last_ts, end_ts, llm_calls, mcp_calls, approvals, \
    errors, input_tokens, output_tokens, cost_usd) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
    ON CONFLICT (agent_name, session_id) DO UPDATE SET \
    first_ts = CASE WHEN excluded.first_ts < audit_sessions.first_ts THEN excluded.first_ts ELSE audit_sessions.first_ts END, \
    last_ts = CASE WHEN excluded.last_ts > audit_sessions.last_ts THEN excluded.last_ts ELSE audit_sessions.last_ts END, \
    end_ts = CASE WHEN excluded.end_ts > audit_sessions.end_ts THEN excluded.end_ts ELSE audit_sessions.end_ts END, \
    llm_calls = audit_sessions.llm_calls + excluded.llm_calls, mcp_calls = audit_sessions.mcp_calls + excluded.mcp_calls, \
    approvals = audit_sessions.approvals + excluded.approvals, errors = audit_sessions.errors + excluded.errors, \
    input_tokens = audit_sessions.input_tokens + excluded.input_tokens, output_tokens = audit_sessions.output_tokens + excluded.output_tokens, \
    cost_usd = audit_sessions.cost_usd + excluded.cost_usd";

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// RFC 3339 (UTC) for unix milliseconds.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

impl Store {
    /// Connect without touching the schema. SQLite files are created when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") { Engine::Sqlite } else { Engine::Postgres };
        let url = match engine {
            Engine::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            // Short: while the database is away, callers (the audit writer, readiness) must hear
            // so quickly rather than hang.
            .acquire_timeout(Duration::from_secs(3))
            .idle_timeout(Duration::from_secs(300))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(&url)?;
        Ok(Self { pool, engine })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.engine {
            Engine::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Engine::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Whether `e` is the database refusing the data itself (bad encoding, a type or constraint
    /// it will never accept), as opposed to being busy, locked, full or unreachable: retrying
    /// will not help.
    pub fn is_data_error(&self, e: &StoreError) -> bool {
        let StoreError::Db(sqlx::Error::Database(d)) = e else { return false };
        let Some(code) = d.code() else { return false };
        match self.engine {
            // SQLite (extended) result codes: busy, locked, I/O, full and can't-open are passing
            // trouble; anything else is about the statement or its data.
            Engine::Sqlite => code.parse::<i64>().is_ok_and(|n| !matches!(n & 0xff, 5 | 6 | 10 | 13 | 14)),
            // Postgres SQLSTATE: data exceptions, integrity violations, syntax or type errors.
            Engine::Postgres => code.starts_with("22") || code.starts_with("23") || code.starts_with("42"),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // -- change counter ------------------------------------------------------------------------

    pub async fn generation(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT generation FROM change_counter WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    // -- console sign-outs ---------------------------------------------------------------------

    /// Records that a console session was signed out (its cookie expiring at `expires_at`, unix
    /// ms) and bumps the change counter so every replica loads it. Rows of sessions expired by
    /// `now` go in the same transaction: the table holds only sign-ins that could still be used.
    pub async fn record_console_signout(&self, session_id: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO console_signouts (session_id, expires_at) VALUES ($1, $2) ON CONFLICT (session_id) DO NOTHING")
            .bind(session_id)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_signouts WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        commit_change(tx).await
    }

    /// Signed-out console sessions whose cookies have not expired by `now`: `(session id,
    /// expires_at)`.
    pub async fn console_signouts(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT session_id, expires_at FROM console_signouts WHERE expires_at > $1").bind(now).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    // -- agents --------------------------------------------------------------------------------

    pub async fn create_agent(&self, id: &str, name: &str, capture_bodies: Option<bool>) -> Result<AgentRow, StoreError> {
        let created_at = now_ms();
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("INSERT INTO agents (id, name, capture_bodies, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(capture_bodies.map(i64::from))
            .bind(created_at)
            .execute(&mut *tx)
            .await;
        if let Err(e) = res {
            if is_unique_violation(&e) {
                return Err(StoreError::Conflict(format!("agent `{name}` already exists")));
            }
            return Err(e.into());
        }
        commit_change(tx).await?;
        Ok(AgentRow { id: id.into(), name: name.into(), capture_bodies, created_at })
    }

    pub async fn list_agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = sqlx::query("SELECT id, name, capture_bodies, created_at FROM agents ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(agent_from_row).collect()
    }

    pub async fn agent_by_name(&self, name: &str) -> Result<Option<AgentRow>, StoreError> {
        let row = sqlx::query("SELECT id, name, capture_bodies, created_at FROM agents WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    pub async fn set_agent_capture_bodies(&self, name: &str, capture: Option<bool>) -> Result<AgentRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE agents SET capture_bodies = $1 WHERE name = $2")
            .bind(capture.map(i64::from))
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("no agent named `{name}`")));
        }
        commit_change(tx).await?;
        self.agent_by_name(name).await?.ok_or_else(|| StoreError::NotFound(format!("no agent named `{name}`")))
    }

    // -- keys ----------------------------------------------------------------------------------

    pub async fn insert_key(&self, key: &KeyRow, key_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, agent_id, key_hash, prefix, models, expires_at, revoked_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.id)
        .bind(&key.agent_id)
        .bind(key_hash)
        .bind(&key.prefix)
        .bind(key.models.as_ref().map(|m| serde_json::to_string(m).unwrap_or_else(|_| "[]".into())))
        .bind(key.expires_at)
        .bind(key.revoked_at)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        commit_change(tx).await?;
        Ok(())
    }

    pub async fn list_keys(&self, agent_name: Option<&str>) -> Result<Vec<KeyRow>, StoreError> {
        let base = "SELECT k.id, k.agent_id, a.name, k.prefix, k.models, k.expires_at, k.revoked_at, k.created_at \
                    FROM api_keys k JOIN agents a ON a.id = k.agent_id";
        let rows = match agent_name {
            Some(name) => {
                sqlx::query(&format!("{base} WHERE a.name = $1 ORDER BY k.created_at, k.id"))
                    .bind(name)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(&format!("{base} ORDER BY a.name, k.created_at, k.id")).fetch_all(&self.pool).await?,
        };
        rows.iter().map(key_from_row).collect()
    }

    /// Marks a key revoked. Revoking an already revoked key is not an error (and keeps the first
    /// revocation time).
    pub async fn revoke_key(&self, key_id: &str) -> Result<KeyRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(key_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            bump_generation(&mut tx).await?;
        }
        tx.commit().await?;
        self.key_by_id(key_id).await
    }

    pub async fn key_by_id(&self, key_id: &str) -> Result<KeyRow, StoreError> {
        let row = sqlx::query(
            "SELECT k.id, k.agent_id, a.name, k.prefix, k.models, k.expires_at, k.revoked_at, k.created_at \
             FROM api_keys k JOIN agents a ON a.id = k.agent_id WHERE k.id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => key_from_row(&r),
            None => Err(StoreError::NotFound(format!("no key with id `{key_id}`"))),
        }
    }

    /// Sets the models a key may call (`None`: every model); every replica applies it with its
    /// next key reload.
    pub async fn set_key_models(&self, key_id: &str, models: Option<&[String]>) -> Result<KeyRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE api_keys SET models = $1 WHERE id = $2")
            .bind(models.map(|m| serde_json::to_string(m).unwrap_or_else(|_| "[]".into())))
            .bind(key_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("no key with id `{key_id}`")));
        }
        commit_change(tx).await?;
        self.key_by_id(key_id).await
    }

    /// Everything the in-memory key index needs, in one query.
    pub async fn load_key_index(&self) -> Result<Vec<KeyIndexRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.key_hash, k.id, a.id, a.name, k.models, k.expires_at, k.revoked_at, a.capture_bodies \
             FROM api_keys k JOIN agents a ON a.id = k.agent_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyIndexRow {
                    key_hash: r.try_get(0)?,
                    key_id: r.try_get(1)?,
                    agent_id: r.try_get(2)?,
                    agent_name: r.try_get(3)?,
                    models: parse_models(r.try_get::<Option<String>, _>(4)?),
                    expires_at: r.try_get(5)?,
                    revoked_at: r.try_get(6)?,
                    capture_bodies: r.try_get::<Option<i64>, _>(7)?.map(|v| v != 0),
                })
            })
            .collect()
    }

    // -- audit ---------------------------------------------------------------------------------

    /// Inserts a batch in one statement. Rows already present (a retry after a commit whose
    /// acknowledgement was lost, a spool replayed after a crash) are skipped, so replays never
    /// duplicate an event.
    pub async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        const COLS: &str = "id, ts, request_id, trace_id, span_id, kind, operation, agent_id, agent_name, key_id, \
            end_user, session_id, model_requested, model_served, provider, status_code, outcome, error_type, \
            error_message, latency_ms, ttft_ms, streamed, input_tokens, output_tokens, cached_input_tokens, \
            reasoning_tokens, usage_estimated, cost_usd, request_body, response_body, client_ip, \
            reserved_tokens, excess_tokens, attempts, mcp_server, tool_name, backend_session_id, policy_decision, policy_rule, \
            approval_id, decided_by, mcp_session_id, approval_wait_ms";
        const NCOLS: usize = 43;
        // `ttft_ms`, `cost_usd` and `approval_wait_ms`: a missing value is bound as NaN and stored as NULL (SQLite does
        // that itself). sqlx 0.8's `Any` driver sends a NULL float as a 4-byte float, which fixes
        // the prepared statement's parameter type wrongly for every later row.
        const NULLABLE_FLOATS: [usize; 3] = [20, 27, 42];
        let mut sql = String::with_capacity(64 + events.len() * NCOLS * 5);
        sql.push_str("INSERT INTO audit_events (");
        sql.push_str(COLS);
        sql.push_str(") VALUES ");
        // Positional `?` on SQLite: there, `$n` makes binding look each parameter's name up,
        // which grows with the square of a batch's size.
        let mut n = 0;
        for (i, _) in events.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..NCOLS {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                match self.engine {
                    Engine::Sqlite => sql.push('?'),
                    Engine::Postgres if NULLABLE_FLOATS.contains(&c) => {
                        sql.push_str("NULLIF($");
                        sql.push_str(&n.to_string());
                        sql.push_str(", 'NaN'::float8)");
                    }
                    Engine::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
        let mut q = sqlx::query(&sql);
        for e in events {
            q = q
                .bind(&e.id)
                .bind(e.ts)
                .bind(&e.request_id)
                .bind(&e.trace_id)
                .bind(&e.span_id)
                .bind(&e.kind)
                .bind(&e.operation)
                .bind(&e.agent_id)
                .bind(&e.agent_name)
                .bind(&e.key_id)
                .bind(&e.end_user)
                .bind(&e.session_id)
                .bind(&e.model_requested)
                .bind(&e.model_served)
                .bind(&e.provider)
                .bind(e.status_code)
                .bind(&e.outcome)
                .bind(&e.error_type)
                .bind(&e.error_message)
                .bind(e.latency_ms)
                .bind(e.ttft_ms.unwrap_or(f64::NAN))
                .bind(i64::from(e.streamed))
                .bind(e.input_tokens)
                .bind(e.output_tokens)
                .bind(e.cached_input_tokens)
                .bind(e.reasoning_tokens)
                .bind(i64::from(e.usage_estimated))
                .bind(e.cost_usd.unwrap_or(f64::NAN))
                .bind(&e.request_body)
                .bind(&e.response_body)
                .bind(&e.client_ip)
                .bind(e.reserved_tokens)
                .bind(e.excess_tokens)
                .bind(&e.attempts)
                .bind(&e.mcp_server)
                .bind(&e.tool_name)
                .bind(&e.backend_session_id)
                .bind(&e.policy_decision)
                .bind(e.policy_rule)
                .bind(&e.approval_id)
                .bind(&e.decided_by)
                .bind(&e.mcp_session_id)
                .bind(e.approval_wait_ms.unwrap_or(f64::NAN));
        }
        let mut tx = self.pool.begin().await?;
        let inserted: std::collections::HashSet<String> =
            q.fetch_all(&mut *tx).await?.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).collect();
        // The rollups count exactly the rows this statement inserted, in the same transaction:
        // a replayed batch adds nothing twice.
        let inserted: Vec<&AuditEvent> = events.iter().filter(|e| inserted.contains(&e.id)).collect();
        let r = Rollups::of(&inserted);
        for ((agent, model, day), (requests, tokens, cost)) in r.daily {
            sqlx::query(UPSERT_DAILY).bind(agent).bind(model).bind(day).bind(requests).bind(tokens).bind(cost).execute(&mut *tx).await?;
        }
        for (upsert_sums, upsert_latency, (sums, latency)) in [(UPSERT_HOURLY, UPSERT_LATENCY_HOURLY, r.hourly), (UPSERT_MINUTELY, UPSERT_LATENCY_MINUTELY, r.minutely)] {
            for ((start, kind, agent), s) in sums {
                sqlx::query(upsert_sums)
                    .bind(start)
                    .bind(kind)
                    .bind(agent)
                    .bind(s.requests)
                    .bind(s.errors)
                    .bind(s.refused)
                    .bind(s.input_tokens)
                    .bind(s.output_tokens)
                    .bind(s.cost_usd)
                    .execute(&mut *tx)
                    .await?;
            }
            for ((start, kind, bucket), count) in latency {
                sqlx::query(upsert_latency).bind(start).bind(kind).bind(bucket).bind(count).execute(&mut *tx).await?;
            }
        }
        for ((agent, session), s) in r.sessions {
            sqlx::query(UPSERT_SESSION)
                .bind(agent)
                .bind(session)
                .bind(s.first_ts)
                .bind(s.last_ts)
                .bind(s.end_ts)
                .bind(s.llm_calls)
                .bind(s.mcp_calls)
                .bind(s.approvals)
                .bind(s.errors)
                .bind(s.input_tokens)
                .bind(s.output_tokens)
                .bind(s.cost_usd)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

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
            "SELECT kind, agent_name, CAST(SUM(requests) AS BIGINT), CAST(SUM(errors) AS BIGINT), CAST(SUM(input_tokens) AS BIGINT), \
             CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(cost_usd) AS DOUBLE PRECISION), CAST(SUM(refused) AS BIGINT) FROM audit_hourly WHERE hour >= $1 GROUP BY kind, agent_name",
        )
        .bind(hour)
        .fetch_all(&self.pool)
        .await?;
        let sums = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0)?,
                    r.try_get::<String, _>(1)?,
                    HourSums {
                        requests: r.try_get(2)?,
                        errors: r.try_get(3)?,
                        refused: r.try_get(7)?,
                        input_tokens: r.try_get(4)?,
                        output_tokens: r.try_get(5)?,
                        cost_usd: r.try_get(6)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows = sqlx::query("SELECT kind, bucket, CAST(SUM(count) AS BIGINT) FROM audit_latency_hourly WHERE hour >= $1 GROUP BY kind, bucket ORDER BY kind, bucket")
            .bind(hour)
            .fetch_all(&self.pool)
            .await?;
        let latency = rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?, r.try_get::<i64, _>(2)?))).collect::<Result<Vec<_>, StoreError>>()?;
        Ok((sums, latency))
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
        rows.iter()
            .map(|r| {
                Ok(SeriesRow {
                    start_ms: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    requests: r.try_get(2)?,
                    errors: r.try_get(3)?,
                    refused: r.try_get(4)?,
                    input_tokens: r.try_get(5)?,
                    output_tokens: r.try_get(6)?,
                    cost_usd: r.try_get(7)?,
                })
            })
            .collect()
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

    /// Deletes minutely rollups of minutes wholly before `ts_ms`.
    pub async fn delete_minutely_before(&self, ts_ms: i64) -> Result<u64, StoreError> {
        let minute = Step::Minute.floor(ts_ms);
        let mut n = sqlx::query("DELETE FROM audit_minutely WHERE minute < $1").bind(minute).execute(&self.pool).await?.rows_affected();
        n += sqlx::query("DELETE FROM audit_latency_minutely WHERE minute < $1").bind(minute).execute(&self.pool).await?.rows_affected();
        Ok(n)
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

    // -- budgets and rate limits ---------------------------------------------------------------

    async fn agent_id(&self, name: &str) -> Result<String, StoreError> {
        Ok(self.agent_by_name(name).await?.ok_or_else(|| StoreError::NotFound(format!("no agent named `{name}`")))?.id)
    }

    pub async fn set_budget(&self, agent: &str, model: &str, kind: &str, period: &str, amount: f64) -> Result<(), StoreError> {
        let agent_id = self.agent_id(agent).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO budgets (id, agent_id, model, kind, period, amount, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (agent_id, model, kind, period) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&agent_id)
        .bind(model)
        .bind(kind)
        .bind(period)
        .bind(amount)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        commit_change(tx).await?;
        Ok(())
    }

    /// Removes a budget set for an agent (its config default, if any, applies again).
    pub async fn delete_budget(&self, agent: &str, model: &str, kind: &str, period: &str) -> Result<bool, StoreError> {
        let agent_id = self.agent_id(agent).await?;
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM budgets WHERE agent_id = $1 AND model = $2 AND kind = $3 AND period = $4")
            .bind(&agent_id)
            .bind(model)
            .bind(kind)
            .bind(period)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        commit_change(tx).await?;
        Ok(n > 0)
    }

    pub async fn list_budgets(&self, agent: Option<&str>) -> Result<Vec<BudgetRow>, StoreError> {
        let base = "SELECT a.name, b.model, b.kind, b.period, b.amount, b.updated_at FROM budgets b JOIN agents a ON a.id = b.agent_id";
        let rows = match agent {
            Some(name) => sqlx::query(&format!("{base} WHERE a.name = $1 ORDER BY b.model, b.kind, b.period")).bind(name).fetch_all(&self.pool).await?,
            None => sqlx::query(&format!("{base} ORDER BY a.name, b.model, b.kind, b.period")).fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|r| {
                Ok(BudgetRow {
                    agent: r.try_get(0)?,
                    model: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    period: r.try_get(3)?,
                    amount: r.try_get(4)?,
                    updated_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Sets an agent's rate limits for one scope; `None` removes that limit.
    pub async fn set_rate(&self, agent: &str, model: &str, rates: RateValues) -> Result<(), StoreError> {
        let agent_id = self.agent_id(agent).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rate_limits (agent_id, model, rpm, tpm, mcp_rpm, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (agent_id, model) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm, mcp_rpm = excluded.mcp_rpm, updated_at = excluded.updated_at",
        )
        .bind(&agent_id)
        .bind(model)
        .bind(rates.rpm)
        .bind(rates.tpm)
        .bind(rates.mcp_rpm)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        commit_change(tx).await?;
        Ok(())
    }

    /// Removes an agent's own rate limits of one scope.
    pub async fn delete_rate(&self, agent: &str, model: &str) -> Result<(), StoreError> {
        let agent_id = self.agent_id(agent).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM rate_limits WHERE agent_id = $1 AND model = $2").bind(&agent_id).bind(model).execute(&mut *tx).await?;
        commit_change(tx).await?;
        Ok(())
    }

    pub async fn list_rates(&self, agent: Option<&str>) -> Result<Vec<RateRow>, StoreError> {
        let base = "SELECT a.name, r.model, r.rpm, r.tpm, r.mcp_rpm, r.updated_at FROM rate_limits r JOIN agents a ON a.id = r.agent_id";
        let rows = match agent {
            Some(name) => sqlx::query(&format!("{base} WHERE a.name = $1 ORDER BY r.model")).bind(name).fetch_all(&self.pool).await?,
            None => sqlx::query(&format!("{base} ORDER BY a.name, r.model")).fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|r| {
                Ok(RateRow {
                    agent: r.try_get(0)?,
                    model: r.try_get(1)?,
                    rates: RateValues { rpm: r.try_get(2)?, tpm: r.try_get(3)?, mcp_rpm: r.try_get(4)? },
                    updated_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Newest first, keyset-paginated on `(ts, id)`.
    pub async fn query_audit_events(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut w = Where::new("SELECT * FROM audit_events WHERE 1 = 1");
        if let Some(v) = &f.agent {
            w.and("agent_name = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.user {
            w.and("end_user = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.session {
            w.and("session_id = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.kind {
            w.and("kind = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.model {
            // The name the agent asked for or the one that served it.
            w.and("(model_requested = $? OR model_served = $?)", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.outcome {
            w.and("outcome = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = f.status {
            w.and("status_code = $?", Arg::Int(v));
        }
        if let Some(v) = &f.request_id {
            w.and("request_id = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.tool {
            w.and("tool_name = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.mcp_server {
            w.and("mcp_server = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.error_type {
            w.and("error_type = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = f.since_ms {
            w.and("ts >= $?", Arg::Int(v));
        }
        if let Some(v) = f.until_ms {
            w.and("ts < $?", Arg::Int(v));
        }
        if let Some((ts, id)) = &f.before {
            w.and2("(ts < $1? OR (ts = $1? AND id < $2?))", Arg::Int(*ts), Arg::Text(id.clone()));
        }
        let rows = w.fetch(&self.pool, &format!(" ORDER BY ts DESC, id DESC LIMIT {}", f.limit.clamp(1, 1000))).await?;
        rows.iter().map(audit_from_row).collect()
    }

    pub async fn audit_event(&self, id: &str) -> Result<Option<AuditEvent>, StoreError> {
        let row = sqlx::query("SELECT * FROM audit_events WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(audit_from_row).transpose()
    }

    pub async fn count_audit_events(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM audit_events").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    pub async fn delete_audit_events_before(&self, ts_ms: i64) -> Result<u64, StoreError> {
        // The hourly rollups of hours wholly before the cut go with the events they count.
        let hour = ts_ms.div_euclid(3_600_000) * 3_600_000;
        sqlx::query("DELETE FROM audit_hourly WHERE hour < $1").bind(hour).execute(&self.pool).await?;
        sqlx::query("DELETE FROM audit_latency_hourly WHERE hour < $1").bind(hour).execute(&self.pool).await?;
        // Sessions whose every call is before the cut; one that straddles it keeps its sums.
        sqlx::query("DELETE FROM audit_sessions WHERE last_ts < $1").bind(ts_ms).execute(&self.pool).await?;
        self.delete_minutely_before(ts_ms).await?;
        Ok(sqlx::query("DELETE FROM audit_events WHERE ts < $1").bind(ts_ms).execute(&self.pool).await?.rows_affected())
    }
}

enum Arg {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause built from optional filters, numbering placeholders as it goes. `$?` in a
/// condition stands for its one argument (as often as it appears); `$1?`/`$2?` for the first
/// and second of two.
struct Where {
    sql: String,
    args: Vec<Arg>,
}

impl Where {
    fn new(base: &str) -> Self {
        Self { sql: base.to_string(), args: Vec::new() }
    }
    fn and(&mut self, cond: &str, arg: Arg) {
        self.args.push(arg);
        let n = self.args.len();
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond.replace("$?", &format!("${n}")));
    }
    /// Runs the statement, with `tail` (ordering, limit) after the conditions.
    async fn fetch(self, pool: &AnyPool, tail: &str) -> Result<Vec<AnyRow>, StoreError> {
        let Where { mut sql, args } = self;
        sql.push_str(tail);
        let mut q = sqlx::query(&sql);
        for a in args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        Ok(q.fetch_all(pool).await?)
    }

    fn and2(&mut self, cond: &str, a: Arg, b: Arg) {
        self.args.push(a);
        let n1 = self.args.len();
        self.args.push(b);
        let n2 = self.args.len();
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond.replace("$1?", &format!("${n1}")).replace("$2?", &format!("${n2}")));
    }
}

async fn bump_generation(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE change_counter SET generation = generation + 1 WHERE id = 1").execute(&mut **tx).await?;
    Ok(())
}

/// Commits a change to agents, keys, budgets, limits or console sign-outs, bumping the change
/// counter in the same transaction so that every replica reloads.
async fn commit_change(mut tx: sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    bump_generation(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || d.code().as_deref() == Some("23505") || d.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

fn parse_models(text: Option<String>) -> Option<Vec<String>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

pub use weir_api::{Agent as AgentRow, Key as KeyRow};

fn agent_from_row(r: &AnyRow) -> Result<AgentRow, StoreError> {
    Ok(AgentRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        capture_bodies: r.try_get::<Option<i64>, _>(2)?.map(|v| v != 0),
        created_at: r.try_get(3)?,
    })
}

fn key_from_row(r: &AnyRow) -> Result<KeyRow, StoreError> {
    Ok(KeyRow {
        id: r.try_get(0)?,
        agent_id: r.try_get(1)?,
        agent: r.try_get(2)?,
        prefix: r.try_get(3)?,
        models: parse_models(r.try_get::<Option<String>, _>(4)?),
        expires_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

#[derive(Debug, Clone)]
pub struct KeyIndexRow {
    pub key_hash: String,
    pub key_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub models: Option<Vec<String>>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub capture_bodies: Option<bool>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BudgetRow {
    pub agent: String,
    /// Empty: every model.
    pub model: String,
    pub kind: String,
    pub period: String,
    pub amount: f64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RateRow {
    pub agent: String,
    pub model: String,
    #[serde(flatten)]
    pub rates: RateValues,
    pub updated_at: i64,
}

/// An agent's rate limits for one scope; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RateValues {
    /// LLM requests per minute.
    pub rpm: Option<i64>,
    /// LLM tokens per minute.
    pub tpm: Option<i64>,
    /// MCP requests per minute (agent-wide scope only).
    pub mcp_rpm: Option<i64>,
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

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub agent: Option<String>,
    pub user: Option<String>,
    pub session: Option<String>,
    pub kind: Option<String>,
    pub model: Option<String>,
    pub outcome: Option<String>,
    pub status: Option<i64>,
    pub request_id: Option<String>,
    /// MCP: the tool as the agent named it (`server__tool` form), the backend server, and the
    /// kind of failure.
    pub tool: Option<String>,
    pub mcp_server: Option<String>,
    pub error_type: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Keyset cursor: rows strictly older than this `(ts, id)`.
    pub before: Option<(i64, String)>,
    pub limit: i64,
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
    pub requests: i64,
    pub errors: i64,
    pub refused: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
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
    input_tokens, output_tokens, cost_usd FROM audit_sessions";

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
    })
}

fn audit_from_row(r: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: r.try_get("id")?,
        ts: r.try_get("ts")?,
        request_id: r.try_get("request_id")?,
        trace_id: r.try_get("trace_id")?,
        span_id: r.try_get("span_id")?,
        kind: r.try_get("kind")?,
        operation: r.try_get("operation")?,
        agent_id: r.try_get("agent_id")?,
        agent_name: r.try_get("agent_name")?,
        key_id: r.try_get("key_id")?,
        end_user: r.try_get("end_user")?,
        session_id: r.try_get("session_id")?,
        model_requested: r.try_get("model_requested")?,
        model_served: r.try_get("model_served")?,
        provider: r.try_get("provider")?,
        status_code: r.try_get("status_code")?,
        outcome: r.try_get("outcome")?,
        error_type: r.try_get("error_type")?,
        error_message: r.try_get("error_message")?,
        latency_ms: r.try_get("latency_ms")?,
        ttft_ms: r.try_get("ttft_ms")?,
        streamed: r.try_get::<i64, _>("streamed")? != 0,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cached_input_tokens: r.try_get("cached_input_tokens")?,
        reasoning_tokens: r.try_get("reasoning_tokens")?,
        usage_estimated: r.try_get::<i64, _>("usage_estimated")? != 0,
        cost_usd: r.try_get("cost_usd")?,
        request_body: r.try_get("request_body")?,
        response_body: r.try_get("response_body")?,
        client_ip: r.try_get("client_ip")?,
        reserved_tokens: r.try_get("reserved_tokens")?,
        excess_tokens: r.try_get("excess_tokens")?,
        attempts: r.try_get("attempts")?,
        mcp_server: r.try_get("mcp_server")?,
        tool_name: r.try_get("tool_name")?,
        backend_session_id: r.try_get("backend_session_id")?,
        policy_decision: r.try_get("policy_decision")?,
        policy_rule: r.try_get("policy_rule")?,
        approval_id: r.try_get("approval_id")?,
        decided_by: r.try_get("decided_by")?,
        mcp_session_id: r.try_get("mcp_session_id")?,
        approval_wait_ms: r.try_get("approval_wait_ms")?,
    })
}
