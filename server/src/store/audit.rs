//! The audit trail: writing events with the rollups they add to, reading them back, and
//! deleting them past retention.
//!
//! The in-memory aggregation of a batch and the rollup upserts here are shared with the SQLite
//! writer (`sqlite_audit`), so both writers add exactly the same sums. Rows are written as
//! recorded: this module never redacts, prices or judges an event.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rollups::{latency_bucket, working_latency_ms, HourSums, Step, HOUR_MS, MINUTE_MS};
use super::{Arg, Engine, Store, StoreError, Where};
use crate::audit::AuditEvent;

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

/// What a time rollup gains from inserted events: sums per (period start, kind, agent name),
/// and latency histogram counts per (period start, kind, bucket).
pub(super) type TimeRollup<'e> = (BTreeMap<(i64, &'e str, &'e str), HourSums>, BTreeMap<(i64, &'e str, i64), i64>);

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
        if let Some(outcome) = e.cache.as_deref() {
            s.cache_lookups += 1;
            s.cache_hits += i64::from(outcome == "hit" || outcome == "semantic_hit");
            s.cache_saved_tokens += e.cache_saved_tokens.unwrap_or(0);
            s.cache_saved_cost_usd += e.cache_saved_cost_usd.unwrap_or(0.0);
        }
        *latency.entry((start, e.kind.as_str(), latency_bucket(working_latency_ms(e)))).or_default() += 1;
    }
    (sums, latency)
}

/// One session's row in `audit_sessions`, as inserted events add to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SessionSums {
    pub(super) first_ts: i64,
    pub(super) last_ts: i64,
    pub(super) end_ts: i64,
    pub(super) llm_calls: i64,
    pub(super) mcp_calls: i64,
    pub(super) a2a_calls: i64,
    pub(super) approvals: i64,
    pub(super) errors: i64,
    pub(super) input_tokens: i64,
    pub(super) output_tokens: i64,
    pub(super) cost_usd: f64,
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
            a2a_calls: 0,
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
            "a2a" => s.a2a_calls += 1,
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
pub(super) struct Rollups<'e> {
    pub(super) daily: BTreeMap<(&'e str, &'e str, i64), (i64, i64, f64)>,
    pub(super) hourly: TimeRollup<'e>,
    pub(super) minutely: TimeRollup<'e>,
    pub(super) sessions: BTreeMap<(&'e str, &'e str), SessionSums>,
}

impl<'e> Rollups<'e> {
    pub(super) fn of(inserted: &[&'e AuditEvent]) -> Self {
        Self { daily: daily_rollup(inserted), hourly: time_rollup(inserted, HOUR_MS), minutely: time_rollup(inserted, MINUTE_MS), sessions: session_rollup(inserted) }
    }
}

// The rollup upserts, shared by both audit writers (`$n` placeholders; rusqlite reads them as
// numbered parameters too). Every rollup adds exactly what the rows inserted in the same
// transaction count.

pub(super) const UPSERT_DAILY: &str = "INSERT INTO usage_daily (agent_id, model, day, requests, tokens, cost_usd) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (agent_id, model, day) DO UPDATE SET requests = usage_daily.requests + excluded.requests, \
    tokens = usage_daily.tokens + excluded.tokens, cost_usd = usage_daily.cost_usd + excluded.cost_usd";

pub(super) const UPSERT_HOURLY: &str = "INSERT INTO audit_hourly (hour, kind, agent_name, requests, errors, refused, input_tokens, output_tokens, cost_usd, \
    cache_lookups, cache_hits, cache_saved_tokens, cache_saved_cost_usd) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (hour, kind, agent_name) DO UPDATE SET requests = audit_hourly.requests + excluded.requests, \
    errors = audit_hourly.errors + excluded.errors, refused = audit_hourly.refused + excluded.refused, \
    input_tokens = audit_hourly.input_tokens + excluded.input_tokens, output_tokens = audit_hourly.output_tokens + excluded.output_tokens, \
    cost_usd = audit_hourly.cost_usd + excluded.cost_usd, cache_lookups = audit_hourly.cache_lookups + excluded.cache_lookups, \
    cache_hits = audit_hourly.cache_hits + excluded.cache_hits, cache_saved_tokens = audit_hourly.cache_saved_tokens + excluded.cache_saved_tokens, \
    cache_saved_cost_usd = audit_hourly.cache_saved_cost_usd + excluded.cache_saved_cost_usd";

pub(super) const UPSERT_LATENCY_HOURLY: &str = "INSERT INTO audit_latency_hourly (hour, kind, bucket, count) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (hour, kind, bucket) DO UPDATE SET count = audit_latency_hourly.count + excluded.count";

pub(super) const UPSERT_MINUTELY: &str = "INSERT INTO audit_minutely (minute, kind, agent_name, requests, errors, refused, input_tokens, output_tokens, cost_usd, \
    cache_lookups, cache_hits, cache_saved_tokens, cache_saved_cost_usd) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (minute, kind, agent_name) DO UPDATE SET requests = audit_minutely.requests + excluded.requests, \
    errors = audit_minutely.errors + excluded.errors, refused = audit_minutely.refused + excluded.refused, \
    input_tokens = audit_minutely.input_tokens + excluded.input_tokens, output_tokens = audit_minutely.output_tokens + excluded.output_tokens, \
    cost_usd = audit_minutely.cost_usd + excluded.cost_usd, cache_lookups = audit_minutely.cache_lookups + excluded.cache_lookups, \
    cache_hits = audit_minutely.cache_hits + excluded.cache_hits, cache_saved_tokens = audit_minutely.cache_saved_tokens + excluded.cache_saved_tokens, \
    cache_saved_cost_usd = audit_minutely.cache_saved_cost_usd + excluded.cache_saved_cost_usd";

pub(super) const UPSERT_LATENCY_MINUTELY: &str = "INSERT INTO audit_latency_minutely (minute, kind, bucket, count) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (minute, kind, bucket) DO UPDATE SET count = audit_latency_minutely.count + excluded.count";

// `CASE` rather than `LEAST`/`GREATEST` (Postgres) or two-argument `MIN`/`MAX` (SQLite): the
// one form both engines accept.
pub(super) const UPSERT_SESSION: &str = "INSERT INTO audit_sessions (agent_name, session_id, first_ts, last_ts, end_ts, llm_calls, mcp_calls, approvals, \
    errors, input_tokens, output_tokens, cost_usd, a2a_calls) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
    ON CONFLICT (agent_name, session_id) DO UPDATE SET \
    first_ts = CASE WHEN excluded.first_ts < audit_sessions.first_ts THEN excluded.first_ts ELSE audit_sessions.first_ts END, \
    last_ts = CASE WHEN excluded.last_ts > audit_sessions.last_ts THEN excluded.last_ts ELSE audit_sessions.last_ts END, \
    end_ts = CASE WHEN excluded.end_ts > audit_sessions.end_ts THEN excluded.end_ts ELSE audit_sessions.end_ts END, \
    llm_calls = audit_sessions.llm_calls + excluded.llm_calls, mcp_calls = audit_sessions.mcp_calls + excluded.mcp_calls, a2a_calls = audit_sessions.a2a_calls + excluded.a2a_calls, \
    approvals = audit_sessions.approvals + excluded.approvals, errors = audit_sessions.errors + excluded.errors, \
    input_tokens = audit_sessions.input_tokens + excluded.input_tokens, output_tokens = audit_sessions.output_tokens + excluded.output_tokens, \
    cost_usd = audit_sessions.cost_usd + excluded.cost_usd";

impl Store {
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
            approval_id, decided_by, mcp_session_id, approval_wait_ms, upstream_operation, guardrails, guardrail_action, \
            cache, cache_origin, cache_similarity, cache_saved_tokens, cache_saved_cost_usd, \
            a2a_target, a2a_task_id, a2a_context_id, a2a_task_state";
        const NCOLS: usize = 55;
        // `ttft_ms`, `cost_usd`, `approval_wait_ms` and the cache's floats: a missing value is bound as NaN and stored as NULL (SQLite does
        // that itself). sqlx 0.8's `Any` driver sends a NULL float as a 4-byte float, which fixes
        // the prepared statement's parameter type wrongly for every later row.
        const NULLABLE_FLOATS: [usize; 5] = [20, 27, 42, 48, 50];
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
                .bind(e.approval_wait_ms.unwrap_or(f64::NAN))
                .bind(&e.upstream_operation)
                .bind(&e.guardrails)
                .bind(&e.guardrail_action)
                .bind(&e.cache)
                .bind(&e.cache_origin)
                .bind(e.cache_similarity.unwrap_or(f64::NAN))
                .bind(e.cache_saved_tokens)
                .bind(e.cache_saved_cost_usd.unwrap_or(f64::NAN))
                .bind(&e.a2a_target)
                .bind(&e.a2a_task_id)
                .bind(&e.a2a_context_id)
                .bind(&e.a2a_task_state);
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
                    .bind(s.cache_lookups)
                    .bind(s.cache_hits)
                    .bind(s.cache_saved_tokens)
                    .bind(s.cache_saved_cost_usd)
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
                .bind(s.a2a_calls)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
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
        if let Some(v) = &f.a2a_target {
            w.and("a2a_target = $?", Arg::Text(v.clone()));
        }
        if let Some(v) = &f.error_type {
            w.and("error_type = $?", Arg::Text(v.clone()));
        }
        match f.guardrail.as_deref() {
            None => {}
            Some("any") => w.and("guardrail_action <> $?", Arg::Text(String::new())),
            Some(a @ ("flag" | "mask" | "block")) => w.and("guardrail_action = $?", Arg::Text(a.to_string())),
            // A guardrail's name (letters, digits, `_`, `-`), as its verdict records it.
            Some(name) => w.and("guardrails LIKE $? ESCAPE '\\'", Arg::Text(format!("%\"guardrail\":\"{}\"%", name.replace('_', "\\_")))),
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

    /// Deletes minutely rollups of minutes wholly before `ts_ms`.
    pub async fn delete_minutely_before(&self, ts_ms: i64) -> Result<u64, StoreError> {
        let minute = Step::Minute.floor(ts_ms);
        // One transaction: a reader never sees a minute's sums gone and its histogram still there.
        let mut tx = self.pool.begin().await?;
        let mut n = sqlx::query("DELETE FROM audit_minutely WHERE minute < $1").bind(minute).execute(&mut *tx).await?.rows_affected();
        n += sqlx::query("DELETE FROM audit_latency_minutely WHERE minute < $1").bind(minute).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n)
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
    /// A2A: the target agent.
    pub a2a_target: Option<String>,
    pub error_type: Option<String>,
    /// Calls a guardrail fired on: `any`, an action (`flag`, `mask`, `block`), or a guardrail's
    /// name.
    pub guardrail: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Keyset cursor: rows strictly older than this `(ts, id)`.
    pub before: Option<(i64, String)>,
    pub limit: i64,
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
        upstream_operation: r.try_get("upstream_operation")?,
        guardrails: r.try_get("guardrails")?,
        guardrail_action: r.try_get("guardrail_action")?,
        cache: r.try_get("cache")?,
        cache_origin: r.try_get("cache_origin")?,
        cache_similarity: r.try_get("cache_similarity")?,
        cache_saved_tokens: r.try_get("cache_saved_tokens")?,
        cache_saved_cost_usd: r.try_get("cache_saved_cost_usd")?,
        a2a_target: r.try_get("a2a_target")?,
        a2a_task_id: r.try_get("a2a_task_id")?,
        a2a_context_id: r.try_get("a2a_context_id")?,
        a2a_task_state: r.try_get("a2a_task_state")?,
    })
}
