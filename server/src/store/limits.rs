//! Budgets and rate limits set for agents through the admin API (the config's defaults are not
//! stored here).
//!
//! Every change bumps the change counter so that each replica's limiter picks it up; enforcing
//! the limits is the limiter's, never this module's.

use sqlx::Row;

use super::{commit_change, now_ms, Store, StoreError};

impl Store {
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
            "INSERT INTO rate_limits (agent_id, model, rpm, tpm, mcp_rpm, a2a_rpm, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (agent_id, model) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm, mcp_rpm = excluded.mcp_rpm, a2a_rpm = excluded.a2a_rpm, updated_at = excluded.updated_at",
        )
        .bind(&agent_id)
        .bind(model)
        .bind(rates.rpm)
        .bind(rates.tpm)
        .bind(rates.mcp_rpm)
        .bind(rates.a2a_rpm)
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
        let base = "SELECT a.name, r.model, r.rpm, r.tpm, r.mcp_rpm, r.a2a_rpm, r.updated_at FROM rate_limits r JOIN agents a ON a.id = r.agent_id";
        let rows = match agent {
            Some(name) => sqlx::query(&format!("{base} WHERE a.name = $1 ORDER BY r.model")).bind(name).fetch_all(&self.pool).await?,
            None => sqlx::query(&format!("{base} ORDER BY a.name, r.model")).fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|r| {
                Ok(RateRow {
                    agent: r.try_get(0)?,
                    model: r.try_get(1)?,
                    rates: RateValues { rpm: r.try_get(2)?, tpm: r.try_get(3)?, mcp_rpm: r.try_get(4)?, a2a_rpm: r.try_get(5)? },
                    updated_at: r.try_get(6)?,
                })
            })
            .collect()
    }
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
    /// A2A requests per minute (agent-wide scope only).
    pub a2a_rpm: Option<i64>,
}
