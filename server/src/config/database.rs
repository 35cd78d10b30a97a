//! `[database]`: where agents, keys and audit events are stored.

use serde::Deserialize;

use super::{invalid, ConfigError, Env};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self { url: "sqlite://weir.db".into(), max_connections: 8 }
    }
}

impl DatabaseSection {
    /// The URL to connect to (`WEIR_DATABASE_URL` wins over `url`), once it and the pool size
    /// are checked.
    pub(super) fn validate(&self, env: &Env) -> Result<String, ConfigError> {
        let database_url = env.get("WEIR_DATABASE_URL").unwrap_or(&self.url).to_string();
        let db_key = if env.get("WEIR_DATABASE_URL").is_some() { "WEIR_DATABASE_URL" } else { "database.url" };
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(invalid(db_key, "must start with sqlite:, postgres:// or postgresql://"));
        }
        if self.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be greater than 0"));
        }
        Ok(database_url)
    }
}
