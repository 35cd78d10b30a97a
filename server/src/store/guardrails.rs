//! Guardrail overrides set for agents and models through the admin API. Every change bumps the
//! change counter, so each replica's policy picks it up; applying them is the guard's business.

use sqlx::Row;

use super::{commit_change, now_ms, Store, StoreError};
use crate::guard::policy::{OverrideTable, Overrides};

/// What an override is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideScope {
    /// By agent id.
    Agent,
    /// By model name.
    Model,
}

impl OverrideScope {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Model => "model",
        }
    }
}

impl Store {
    /// Every override, agents' by id and models' by name.
    pub async fn guardrail_overrides(&self) -> Result<OverrideTable, StoreError> {
        let rows = sqlx::query("SELECT scope, name, overrides FROM guardrail_overrides").fetch_all(&self.pool).await?;
        let mut table = OverrideTable::default();
        for r in rows {
            let scope: String = r.try_get("scope")?;
            let name: String = r.try_get("name")?;
            let text: String = r.try_get("overrides")?;
            // A row this version cannot read (an action it does not know) is left out.
            let Ok(over) = serde_json::from_str::<Overrides>(&text) else {
                tracing::warn!(scope, name, "guardrail override not readable; ignored");
                continue;
            };
            match scope.as_str() {
                "agent" => table.agents.insert(name, over),
                _ => table.models.insert(name, over),
            };
        }
        Ok(table)
    }

    /// Sets the overrides of one agent (by id) or model; an empty set removes them.
    pub async fn set_guardrail_overrides(&self, scope: OverrideScope, name: &str, over: &Overrides) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if over.is_empty() {
            sqlx::query("DELETE FROM guardrail_overrides WHERE scope = $1 AND name = $2").bind(scope.as_str()).bind(name).execute(&mut *tx).await?;
        } else {
            sqlx::query(
                "INSERT INTO guardrail_overrides (scope, name, overrides, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scope, name) DO UPDATE SET overrides = excluded.overrides, updated_at = excluded.updated_at",
            )
            .bind(scope.as_str())
            .bind(name)
            .bind(serde_json::to_string(over).unwrap_or_default())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        commit_change(tx).await
    }
}
