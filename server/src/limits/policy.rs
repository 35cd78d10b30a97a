//! Who may spend what: budgets and rate limits per agent, from config defaults and from what
//! was set through the CLI, admin API or console (which wins for the same scope).

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{LimitsSection, Period};
use crate::store::{BudgetRow, RateRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    Tokens,
    CostUsd,
}

impl BudgetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tokens => "tokens",
            Self::CostUsd => "cost_usd",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tokens" => Some(Self::Tokens),
            "cost_usd" => Some(Self::CostUsd),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// `None`: every model.
    pub model: Option<String>,
    pub kind: BudgetKind,
    pub period: Period,
    /// Tokens, or US dollars.
    pub amount: f64,
    /// `config` or `set`.
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub model: Option<String>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub source: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentPolicy {
    pub budgets: Vec<Budget>,
    pub rates: Vec<Rate>,
    /// MCP requests per minute: a limit of the agent as a whole, kept apart from the LLM rate
    /// limits (setting one never clears the other).
    pub mcp_rpm: Option<u64>,
    /// A2A requests per minute (config only), likewise apart.
    pub a2a_rpm: Option<u64>,
}

impl AgentPolicy {
    fn put_budget(&mut self, b: Budget) {
        self.budgets.retain(|x| !(x.model == b.model && x.kind == b.kind && x.period == b.period));
        self.budgets.push(b);
    }
    fn put_rate(&mut self, r: Rate) {
        self.rates.retain(|x| x.model != r.model);
        self.rates.push(r);
    }
}

/// Every agent's effective policy: `*` defaults, then agent-specific config, then what was set.
#[derive(Debug, Default)]
pub struct PolicyIndex {
    default: Arc<AgentPolicy>,
    by_agent: HashMap<String, Arc<AgentPolicy>>,
}

impl PolicyIndex {
    pub fn build(config: &LimitsSection, budgets: &[BudgetRow], rates: &[RateRow]) -> Self {
        let mut default = AgentPolicy::default();
        let mut specific: HashMap<String, AgentPolicy> = HashMap::new();
        for b in &config.budgets {
            let budget = Budget {
                model: b.model.clone(),
                kind: if b.tokens.is_some() { BudgetKind::Tokens } else { BudgetKind::CostUsd },
                period: b.period,
                amount: b.tokens.map(|t| t as f64).or(b.cost_usd).unwrap_or(0.0),
                source: "config",
            };
            if b.agent == "*" {
                default.put_budget(budget);
            } else {
                specific.entry(b.agent.clone()).or_default().put_budget(budget);
            }
        }
        for r in &config.rates {
            let target = if r.agent == "*" { &mut default } else { specific.entry(r.agent.clone()).or_default() };
            if r.rpm.is_some() || r.tpm.is_some() {
                target.put_rate(Rate { model: r.model.clone(), rpm: r.rpm, tpm: r.tpm, source: "config" });
            }
            if r.mcp_rpm.is_some() {
                target.mcp_rpm = r.mcp_rpm;
            }
            if r.a2a_rpm.is_some() {
                target.a2a_rpm = r.a2a_rpm;
            }
        }
        // Agent-specific entries sit on top of the defaults.
        let mut merged: HashMap<String, AgentPolicy> = specific
            .into_iter()
            .map(|(agent, own)| {
                let mut p = default.clone();
                for b in own.budgets {
                    p.put_budget(b);
                }
                for r in own.rates {
                    p.put_rate(r);
                }
                p.mcp_rpm = own.mcp_rpm.or(p.mcp_rpm);
                p.a2a_rpm = own.a2a_rpm.or(p.a2a_rpm);
                (agent, p)
            })
            .collect();
        for row in budgets {
            let (Some(kind), Some(period)) = (BudgetKind::parse(&row.kind), Period::parse(&row.period)) else { continue };
            merged.entry(row.agent.clone()).or_insert_with(|| default.clone()).put_budget(Budget {
                model: (!row.model.is_empty()).then(|| row.model.clone()),
                kind,
                period,
                amount: row.amount,
                source: "set",
            });
        }
        for row in rates {
            let p = merged.entry(row.agent.clone()).or_insert_with(|| default.clone());
            // A row set only for MCP leaves the LLM limits of its scope as they were.
            if row.rates.rpm.is_some() || row.rates.tpm.is_some() || (row.rates.mcp_rpm.is_none() && row.rates.a2a_rpm.is_none()) {
                p.put_rate(Rate {
                    model: (!row.model.is_empty()).then(|| row.model.clone()),
                    rpm: row.rates.rpm.map(|v| v.max(0) as u64),
                    tpm: row.rates.tpm.map(|v| v.max(0) as u64),
                    source: "set",
                });
            }
            if let Some(m) = row.rates.mcp_rpm {
                p.mcp_rpm = Some(m.max(0) as u64);
            }
            if let Some(m) = row.rates.a2a_rpm {
                p.a2a_rpm = Some(m.max(0) as u64);
            }
        }
        for p in merged.values_mut() {
            p.rates.retain(|r| r.rpm.is_some() || r.tpm.is_some());
        }
        Self { default: Arc::new(default), by_agent: merged.into_iter().map(|(k, v)| (k, Arc::new(v))).collect() }
    }

    pub fn for_agent(&self, agent_name: &str) -> Arc<AgentPolicy> {
        self.by_agent.get(agent_name).cloned().unwrap_or_else(|| self.default.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BudgetSection, RateSection};

    #[test]
    fn set_values_override_agent_config_which_overrides_defaults() {
        let config = LimitsSection {
            budgets: vec![
                BudgetSection { agent: "*".into(), model: None, tokens: Some(1000), cost_usd: None, period: Period::Hour },
                BudgetSection { agent: "*".into(), model: None, tokens: None, cost_usd: Some(5.0), period: Period::Month },
                BudgetSection { agent: "big".into(), model: None, tokens: Some(9000), cost_usd: None, period: Period::Hour },
            ],
            rates: vec![
                RateSection { agent: "*".into(), model: None, rpm: Some(60), tpm: None, mcp_rpm: None, a2a_rpm: None },
                RateSection { agent: "*".into(), model: None, rpm: None, tpm: None, mcp_rpm: Some(30), a2a_rpm: None },
            ],
            ..Default::default()
        };
        let rows = vec![BudgetRow {
            agent: "big".into(),
            model: "gpt".into(),
            kind: "tokens".into(),
            period: "day".into(),
            amount: 50.0,
            updated_at: 0,
        }];
        let rates = vec![
            RateRow { agent: "small".into(), model: String::new(), rates: crate::store::RateValues { rpm: Some(5), tpm: Some(100), mcp_rpm: None, a2a_rpm: None }, updated_at: 0 },
            RateRow { agent: "mcp-only".into(), model: String::new(), rates: crate::store::RateValues { rpm: None, tpm: None, mcp_rpm: Some(7), a2a_rpm: None }, updated_at: 0 },
        ];
        let idx = PolicyIndex::build(&config, &rows, &rates);
        let other = idx.for_agent("other");
        assert_eq!(other.budgets.len(), 2);
        assert_eq!(other.rates[0].rpm, Some(60));
        let big = idx.for_agent("big");
        let hour = big.budgets.iter().find(|b| b.period == Period::Hour).unwrap();
        assert_eq!(hour.amount, 9000.0);
        assert!(big.budgets.iter().any(|b| b.model.as_deref() == Some("gpt") && b.amount == 50.0 && b.source == "set"));
        assert!(big.budgets.iter().any(|b| b.kind == BudgetKind::CostUsd), "defaults still apply");
        let small = idx.for_agent("small");
        assert_eq!(small.rates.len(), 1);
        assert_eq!(small.rates[0].rpm, Some(5));
        assert_eq!(small.rates[0].tpm, Some(100));
        assert_eq!(small.mcp_rpm, Some(30), "the default MCP limit still applies");
        // An MCP limit set alone keeps the LLM defaults, and an LLM entry the MCP default.
        let mcp_only = idx.for_agent("mcp-only");
        assert_eq!((mcp_only.rates[0].rpm, mcp_only.mcp_rpm), (Some(60), Some(7)));
        assert_eq!((other.rates.len(), other.mcp_rpm), (1, Some(30)), "two default entries do not overwrite each other");
    }
}
