//! The response cache's settings for agents and models, set through the admin API or the
//! console. Every change bumps the change counter, so each replica applies it within the
//! refresh interval; applying them is the cache's business.

use std::collections::HashMap;

use sqlx::Row;

use super::{commit_change, now_ms, OverrideScope, Store, StoreError};
use crate::config::CacheSetting;

/// Every stored setting: agents' by id, models' by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheSettings {
    pub agents: HashMap<String, CacheSetting>,
    pub models: HashMap<String, CacheSetting>,
}

impl Store {
    pub async fn cache_settings(&self) -> Result<CacheSettings, StoreError> {
        let rows = sqlx::query("SELECT scope, name, enabled, ttl_secs, semantic FROM cache_settings").fetch_all(&self.pool).await?;
        let mut out = CacheSettings::default();
        for r in rows {
            let scope: String = r.try_get("scope")?;
            let name: String = r.try_get("name")?;
            let enabled: Option<i64> = r.try_get("enabled")?;
            let ttl: Option<i64> = r.try_get("ttl_secs")?;
            let semantic: Option<i64> = r.try_get("semantic")?;
            let setting = CacheSetting { enabled: enabled.map(|e| e != 0), ttl_secs: ttl.and_then(|t| u64::try_from(t).ok()), semantic: semantic.map(|s| s != 0) };
            match scope.as_str() {
                "agent" => out.agents.insert(name, setting),
                _ => out.models.insert(name, setting),
            };
        }
        Ok(out)
    }

    /// Sets one agent's (by id) or model's setting; one with no part set removes it.
    pub async fn set_cache_setting(&self, scope: OverrideScope, name: &str, setting: CacheSetting) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if setting == CacheSetting::default() {
            sqlx::query("DELETE FROM cache_settings WHERE scope = $1 AND name = $2").bind(scope.as_str()).bind(name).execute(&mut *tx).await?;
        } else {
            sqlx::query(
                "INSERT INTO cache_settings (scope, name, enabled, ttl_secs, semantic, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (scope, name) DO UPDATE SET enabled = excluded.enabled, ttl_secs = excluded.ttl_secs, semantic = excluded.semantic, \
                 updated_at = excluded.updated_at",
            )
            .bind(scope.as_str())
            .bind(name)
            .bind(setting.enabled.map(i64::from))
            .bind(setting.ttl_secs.and_then(|t| i64::try_from(t).ok()))
            .bind(setting.semantic.map(i64::from))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        commit_change(tx).await
    }
}
