//! The A2A registry: target agents (the config file's and those set through the API) with what
//! their cards say, and the rules of who may call whom.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A target agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct A2aAgentView {
    pub name: String,
    /// `config` (the config file; changed there) or `api` (the admin API or the console).
    pub source: String,
    /// The agent's base URL and the URL its card is read from.
    pub url: String,
    pub card_url: String,
    /// The headers Weir sends it, by name only (their values are credentials).
    pub header_names: Vec<String>,
    /// Where callers reach it through Weir (below the gateway's address).
    pub path: String,
    /// What its card says, when Weir could read it.
    pub card: Option<A2aCardSummary>,
    /// Why the card could not be read, when it could not.
    pub card_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct A2aCardSummary {
    pub name: String,
    pub description: String,
    /// The A2A versions it speaks (`0.3`, `1.0`).
    pub versions: Vec<String>,
    pub skills: Vec<A2aSkill>,
    pub streaming: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct A2aSkill {
    pub id: String,
    pub name: String,
}

/// A rule: which callers may call which targets, and which skills (`None`: any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct A2aRuleView {
    /// Its number (the config file's first, then the API's), as audit records name it.
    #[serde(default)]
    pub number: usize,
    /// `config` or `api`.
    #[serde(default)]
    pub source: String,
    pub agents: Vec<String>,
    pub targets: Vec<String>,
    #[serde(default)]
    pub skills: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct A2aRegistry {
    pub agents: Vec<A2aAgentView>,
    pub rules: Vec<A2aRuleView>,
}

/// `PUT /api/v1/a2a/agents/{name}`: registers or changes an agent (`url`, or `card_url`, or
/// both).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2aAgentPut {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub card_url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `PUT /api/v1/a2a/rules`: the API's rules, all of them, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2aRulesPut {
    pub rules: Vec<A2aRuleView>,
}
