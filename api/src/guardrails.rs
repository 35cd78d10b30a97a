//! Guardrails: what is configured, and the actions set for agents and models.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One configured guardrail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardrailView {
    pub name: String,
    /// `pii`, `secrets`, `injection`, `custom` or `webhook`.
    pub detector: String,
    /// The configured action: `block`, `mask`, `flag` or `off`.
    pub action: String,
    /// Where it runs: `request`, `response`, `tool_arguments`, `tool_result`, `resource`,
    /// `prompt`.
    pub apply_to: Vec<String>,
}

/// `GET /api/v1/guardrails`: the configured guardrails and every override, agents' by agent
/// name and models' by model name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardrailsList {
    pub guardrails: Vec<GuardrailView>,
    pub agents: BTreeMap<String, BTreeMap<String, String>>,
    pub models: BTreeMap<String, BTreeMap<String, String>>,
}

/// `PUT /api/v1/guardrails/agents/{name}` and `/models/{name}`: guardrail name to action; an
/// empty map removes the overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardrailOverrides {
    pub overrides: BTreeMap<String, String>,
}

/// One guardrail's verdict on one direction of a call, as an audit event's `guardrails` lists
/// them: what it found counted by type (never the values), and the action taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardrailVerdict {
    pub guardrail: String,
    pub action: String,
    pub direction: String,
    pub counts: BTreeMap<String, u32>,
}
