//! `[audit]`: what is recorded of each call, how it is written and how long it is kept.

use serde::Deserialize;

use super::{invalid, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// Capture request and response bodies (per-agent switch overrides this when set).
    pub capture_bodies: bool,
    /// Bodies are cut to this many bytes before they are stored.
    pub body_max_bytes: usize,
    /// Events older than this are deleted in the background; 0 keeps them forever.
    pub retention_days: u64,
    /// How often the retention pass runs.
    pub retention_interval_secs: u64,
    /// Events held in memory while the database is unreachable before they go to the spool file.
    pub memory_queue: usize,
    /// Rows per insert.
    pub batch_size: usize,
    pub flush_interval_ms: u64,
    /// Where events wait on disk while the database is unreachable.
    pub spool_path: String,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            capture_bodies: true,
            body_max_bytes: 16 * 1024,
            retention_days: 30,
            retention_interval_secs: 3600,
            memory_queue: 10_000,
            batch_size: 200,
            flush_interval_ms: 200,
            spool_path: "weir-audit.spool".into(),
        }
    }
}

impl AuditSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.batch_size == 0 || self.batch_size > 1000 {
            return Err(invalid("audit.batch_size", "must be between 1 and 1000"));
        }
        if self.memory_queue == 0 {
            return Err(invalid("audit.memory_queue", "must be greater than 0"));
        }
        if self.flush_interval_ms == 0 {
            return Err(invalid("audit.flush_interval_ms", "must be greater than 0"));
        }
        if self.retention_interval_secs == 0 {
            return Err(invalid("audit.retention_interval_secs", "must be greater than 0"));
        }
        if self.spool_path.trim().is_empty() {
            return Err(invalid("audit.spool_path", "must not be empty"));
        }
        Ok(())
    }
}
