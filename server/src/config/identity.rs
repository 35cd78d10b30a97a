//! `[identity]`: how replicas learn of changed agents and keys.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySection {
    /// How often each replica checks the database for changed agents and keys.
    pub refresh_interval_ms: u64,
}

impl Default for IdentitySection {
    fn default() -> Self {
        Self { refresh_interval_ms: 500 }
    }
}

