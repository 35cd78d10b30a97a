//! Agents and their API keys: creating and listing them, revoking keys, and the rows the
//! in-memory key index is built from.
//!
//! Every change bumps the change counter in the same transaction, so that replicas reload. It
//! never sees a plain key: only its hash and its prefix.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{bump_generation, commit_change, is_unique_violation, now_ms, Store, StoreError};

pub use weir_api::{Agent as AgentRow, Key as KeyRow};

impl Store {
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
}

fn parse_models(text: Option<String>) -> Option<Vec<String>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

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
