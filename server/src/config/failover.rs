//! `[failover]`: retries across a model's targets and the circuits that rest failing ones.

use serde::Deserialize;

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
