//! `[database]`: where agents, keys and audit events are stored.

use serde::Deserialize;

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
