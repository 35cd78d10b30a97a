//! The database: pools, migrations and every SQL statement Weir runs.
//!
//! One interface over SQLite (the embedded default) and Postgres (scaled out), through sqlx's
//! `Any` driver. Every statement is written once in the SQL both engines accept, with `$n`
//! placeholders bound in ascending order, and the test suite runs each of them on both engines.
//! This module never decides policy: it stores and fetches rows.
//!
//! Split by concern: `agents` (agents and keys), `console` (console sign-outs), `limits`
//! (budgets and rate limits), `audit` (writing, reading and deleting audit events, with the
//! rollups they add to), `rollups` (usage, overview and sessions read from the rollups) and
//! `mcp` (approvals and pinned tool definitions). This file holds the pool, migrations, errors and the
//! small SQL helpers they share.

mod a2a;
mod agents;
mod audit;
mod console;
mod cache;
mod guardrails;
mod limits;
mod mcp;
mod rollups;
mod sqlite_audit;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

pub use a2a::{A2aAgentRow, A2aRuleRow};
pub use agents::{AgentRow, KeyIndexRow, KeyRow};
pub use audit::AuditFilter;
pub use cache::CacheSettings;
pub use guardrails::OverrideScope;
// The batch aggregation and rollup upserts both audit writers share.
use audit::{Rollups, UPSERT_DAILY, UPSERT_HOURLY, UPSERT_LATENCY_HOURLY, UPSERT_LATENCY_MINUTELY, UPSERT_MINUTELY, UPSERT_SESSION};
pub use limits::{BudgetRow, RateRow, RateValues};
pub use mcp::{ApprovalRow, ApprovalStatus, NewApproval, ToolRow};
pub use rollups::{
    bucket_latency_ms, latency_bucket, working_latency_ms, HourSums, SeriesRow, Session, SessionFilter, Step, UsageRow, HOUR_MS,
    MINUTELY_KEEP_MS, MINUTE_MS,
};
pub use sqlite_audit::{AuditInsertError, SqliteAuditWriter};

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
