//! `[identity]`: how replicas learn of changed agents and keys.

use std::time::Duration;

use serde::Deserialize;

use super::{invalid, ConfigError};

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


impl IdentitySection {
    /// How often to refresh.
    pub(super) fn validate(&self) -> Result<Duration, ConfigError> {
        if self.refresh_interval_ms == 0 {
            return Err(invalid("identity.refresh_interval_ms", "must be greater than 0"));
        }
        Ok(Duration::from_millis(self.refresh_interval_ms))
    }
}
