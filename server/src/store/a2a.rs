//! The A2A registry's stored part: target agents and rules set through the admin API or the
//! console (the config file's are not stored). Every change bumps the change counter, so each
//! replica applies it within the refresh interval.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{commit_change, now_ms, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct A2aAgentRow {
    pub name: String,
    pub url: String,
    pub card_url: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct A2aRuleRow {
    pub agents: Vec<String>,
    pub targets: Vec<String>,
    pub skills: Option<Vec<String>>,
}

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl Store {
    pub async fn a2a_agents(&self) -> Result<Vec<A2aAgentRow>, StoreError> {
        let rows = sqlx::query("SELECT name, url, card_url, headers FROM a2a_agents ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let headers: String = r.try_get("headers")?;
                Ok(A2aAgentRow { name: r.try_get("name")?, url: r.try_get("url")?, card_url: r.try_get("card_url")?, headers: serde_json::from_str(&headers).unwrap_or_default() })
            })
            .collect()
    }

    pub async fn a2a_rules(&self) -> Result<Vec<A2aRuleRow>, StoreError> {
        let rows = sqlx::query("SELECT agents, targets, skills FROM a2a_rules ORDER BY position").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let (agents, targets): (String, String) = (r.try_get("agents")?, r.try_get("targets")?);
                let skills: Option<String> = r.try_get("skills")?;
                Ok(A2aRuleRow { agents: list(&agents), targets: list(&targets), skills: skills.as_deref().map(list) })
            })
            .collect()
    }

    /// Registers (or changes) an agent.
    pub async fn put_a2a_agent(&self, a: &A2aAgentRow) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO a2a_agents (name, url, card_url, headers, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET url = excluded.url, card_url = excluded.card_url, headers = excluded.headers, updated_at = excluded.updated_at",
        )
        .bind(&a.name)
        .bind(&a.url)
        .bind(&a.card_url)
        .bind(serde_json::to_string(&a.headers).unwrap_or_else(|_| "{}".into()))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        commit_change(tx).await
    }

    /// Removes an agent; false when none had that name.
    pub async fn delete_a2a_agent(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM a2a_agents WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected();
        commit_change(tx).await?;
        Ok(n > 0)
    }

    /// Replaces the stored rules with `rules`, in order.
    pub async fn put_a2a_rules(&self, rules: &[A2aRuleRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM a2a_rules").execute(&mut *tx).await?;
        let now = now_ms();
        for (i, r) in rules.iter().enumerate() {
            sqlx::query("INSERT INTO a2a_rules (position, agents, targets, skills, updated_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(i as i64)
                .bind(serde_json::to_string(&r.agents).unwrap_or_default())
                .bind(serde_json::to_string(&r.targets).unwrap_or_default())
                .bind(r.skills.as_ref().map(|s| serde_json::to_string(s).unwrap_or_default()))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        commit_change(tx).await
    }
}
