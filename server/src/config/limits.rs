//! `[limits]`: budgets, rate limits and what happens to them while Redis is unreachable.

use serde::Deserialize;

use super::{invalid, ConfigError, Model};

/// What happens to budget and rate-limit checks while Redis is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisFailure {
    /// Fall back to this replica's own counters (logged, counted in a metric).
    FailOpen,
    /// Refuse LLM calls with 503 until Redis is back.
    FailClosed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    pub redis_failure: RedisFailure,
    /// Keys in Redis start with this.
    pub redis_prefix: String,
    /// The output maximum Weir sets upstream when a budget or TPM limit applies and the client
    /// gave none.
    pub default_max_output_tokens: u64,
    /// Budgets every agent gets unless one is set for it (CLI, admin API, console).
    pub budgets: Vec<BudgetSection>,
    /// Rate limits likewise.
    pub rates: Vec<RateSection>,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            redis_failure: RedisFailure::FailOpen,
            redis_prefix: "weir:".into(),
            default_max_output_tokens: 4096,
            budgets: Vec::new(),
            rates: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSection {
    /// An agent name, or `*` for every agent.
    pub agent: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub tokens: Option<u64>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
    pub period: Period,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSection {
    pub agent: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub rpm: Option<u64>,
    #[serde(default)]
    pub tpm: Option<u64>,
    /// MCP requests per minute (not per model).
    #[serde(default)]
    pub mcp_rpm: Option<u64>,
    /// A2A requests per minute, to every target agent together (not per model).
    #[serde(default)]
    pub a2a_rpm: Option<u64>,
}

/// A budget window, calendar-aligned in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Minute,
    Hour,
    Day,
    Month,
    Lifetime,
}

impl Period {
    pub const ALL: [Period; 5] = [Period::Minute, Period::Hour, Period::Day, Period::Month, Period::Lifetime];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Month => "month",
            Self::Lifetime => "lifetime",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl LimitsSection {
    /// Budgets and rates may name only the models `models` defines.
    pub(super) fn validate(&self, models: &[Model]) -> Result<(), ConfigError> {
        if self.redis_prefix.is_empty() {
            return Err(invalid("limits.redis_prefix", "must not be empty"));
        }
        if self.default_max_output_tokens == 0 {
            return Err(invalid("limits.default_max_output_tokens", "must be at least 1"));
        }
        let check_scope = |key: &str, agent: &str, model: &Option<String>| -> Result<(), ConfigError> {
            if agent != "*" {
                crate::identity::parse_agent_name(agent).map_err(|e| invalid(format!("{key}.agent"), e))?;
            }
            if let Some(m) = model {
                if !models.iter().any(|x| &x.name == m) {
                    return Err(invalid(format!("{key}.model"), format!("unknown model `{m}`")));
                }
            }
            Ok(())
        };
        for (i, b) in self.budgets.iter().enumerate() {
            let key = format!("limits.budgets[{i}]");
            check_scope(&key, &b.agent, &b.model)?;
            match (b.tokens, b.cost_usd) {
                (Some(_), Some(_)) | (None, None) => return Err(invalid(key, "set exactly one of tokens and cost_usd")),
                (None, Some(c)) if !(c.is_finite() && c >= 0.0) => return Err(invalid(format!("{key}.cost_usd"), "must be a non-negative number")),
                _ => {}
            }
        }
        for (i, r) in self.rates.iter().enumerate() {
            let key = format!("limits.rates[{i}]");
            check_scope(&key, &r.agent, &r.model)?;
            if r.rpm.is_none() && r.tpm.is_none() && r.mcp_rpm.is_none() && r.a2a_rpm.is_none() {
                return Err(invalid(key, "set rpm, tpm, mcp_rpm, a2a_rpm or several"));
            }
            if r.mcp_rpm.is_some() && r.model.is_some() {
                return Err(invalid(format!("{key}.mcp_rpm"), "is per agent: give it in an entry without `model`"));
            }
            if r.a2a_rpm.is_some() && r.model.is_some() {
                return Err(invalid(format!("{key}.a2a_rpm"), "is per agent: give it in an entry without `model`"));
            }
        }
        Ok(())
    }
}
