//! `[failover]`: retries across a model's targets and the circuits that rest failing ones.

use serde::Deserialize;

use super::{invalid, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverSection {
    /// Attempts per call, across all targets.
    pub max_attempts: u32,
    /// The whole call, every attempt included, must have a response within this.
    pub deadline_ms: u64,
    /// A `retry-after` longer than this is not waited for (the next target is tried instead).
    pub max_retry_after_ms: u64,
    /// Consecutive failures that open a target's circuit.
    pub circuit_failures: u32,
    /// How long an open circuit stays open the first time; it doubles on each reopening.
    pub circuit_cooldown_ms: u64,
    pub circuit_max_cooldown_ms: u64,
}

impl Default for FailoverSection {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            deadline_ms: 120_000,
            max_retry_after_ms: 10_000,
            circuit_failures: 5,
            circuit_cooldown_ms: 10_000,
            circuit_max_cooldown_ms: 300_000,
        }
    }
}

impl FailoverSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(invalid("failover.max_attempts", "must be at least 1"));
        }
        if self.deadline_ms == 0 || self.circuit_cooldown_ms == 0 || self.circuit_max_cooldown_ms < self.circuit_cooldown_ms {
            return Err(invalid("failover", "deadline_ms and circuit_cooldown_ms must be positive, circuit_max_cooldown_ms at least circuit_cooldown_ms"));
        }
        if self.circuit_failures == 0 {
            return Err(invalid("failover.circuit_failures", "must be at least 1"));
        }
        Ok(())
    }
}
