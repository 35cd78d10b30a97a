//! What is done about findings: the configured guardrails (each a detector, an action and the
//! places it applies to) and the policy a call runs under once an agent's or a model's
//! overrides are laid over them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::Kind;

/// What a guardrail does when its detector finds something, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not run.
    Off,
    /// Allowed and recorded.
    Flag,
    /// The value is replaced (`[EMAIL]`) before it leaves Weir.
    Mask,
    /// The call (or the stream, from there on) is refused.
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Flag => "flag",
            Self::Mask => "mask",
            Self::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "flag" => Some(Self::Flag),
            "mask" => Some(Self::Mask),
            "block" => Some(Self::Block),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a text is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// What an agent sends a model.
    Request,
    /// What a model answers.
    Response,
    /// The arguments of an MCP tool call.
    ToolArguments,
    /// What an MCP tool returns.
    ToolResult,
    /// The contents of an MCP `resources/read`.
    Resource,
    /// The messages of an MCP `prompts/get`.
    Prompt,
}

impl Direction {
    pub const ALL: [Direction; 6] = [Self::Request, Self::Response, Self::ToolArguments, Self::ToolResult, Self::Resource, Self::Prompt];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Response => "response",
            Self::ToolArguments => "tool_arguments",
            Self::ToolResult => "tool_result",
            Self::Resource => "resource",
            Self::Prompt => "prompt",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directions(u8);

impl Directions {
    pub fn all() -> Self {
        Self(Direction::ALL.iter().fold(0, |a, d| a | d.bit()))
    }

    pub fn of(dirs: &[Direction]) -> Self {
        Self(dirs.iter().fold(0, |a, d| a | d.bit()))
    }

    pub fn contains(self, d: Direction) -> bool {
        self.0 & d.bit() != 0
    }
}

/// A custom detector: regular expressions and keywords (whole words, any case).
#[derive(Debug)]
pub struct Custom {
    /// One alternation of every pattern and keyword.
    pub re: Regex,
    /// What a masked value becomes (`[CODENAME]`).
    pub mask: String,
}

/// What a webhook guardrail calls.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub timeout: Duration,
    /// What is done when the webhook does not answer in time or answers nonsense.
    pub on_failure: FailureMode,
    /// Headers sent with each call (an authorization header, say).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// The call goes on, and the failure is recorded.
    Allow,
    /// The call is refused.
    Block,
}

/// What a guardrail looks for.
#[derive(Debug)]
pub enum Detector {
    /// Personal data of these kinds.
    Pii(Vec<Kind>),
    /// Credentials of these kinds.
    Secrets(Vec<Kind>),
    /// Prompt injection (instruction override, role impersonation, exfiltration, concealment,
    /// hidden text, tool steering). It finds classes, not values: it flags or blocks; a mask
    /// action is taken as flag.
    Injection,
    Custom(Custom),
    Webhook(Webhook),
}

impl Detector {
    /// Whether its findings are values that can be masked.
    pub fn masks(&self) -> bool {
        matches!(self, Self::Pii(_) | Self::Secrets(_) | Self::Custom(_))
    }
}

/// One configured guardrail.
#[derive(Debug)]
pub struct Guardrail {
    pub name: String,
    pub detector: Detector,
    pub action: Action,
    pub apply_to: Directions,
}

/// Every configured guardrail, in the order they run.
#[derive(Debug, Default)]
pub struct Guardrails {
    pub list: Vec<Guardrail>,
}

/// An agent's or a model's replacement actions, by guardrail name.
pub type Overrides = BTreeMap<String, Action>;

/// Every agent's and model's overrides, as the database holds them (refreshed in the
/// background, so a change reaches every replica within the refresh interval).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OverrideTable {
    /// By agent id.
    pub agents: HashMap<String, Overrides>,
    /// By model name.
    pub models: HashMap<String, Overrides>,
}

#[derive(Debug, Default)]
pub struct GuardOverrides(ArcSwap<OverrideTable>);

impl GuardOverrides {
    /// The policy of a call of `agent_id` on `model`.
    pub fn policy(&self, guardrails: &Arc<Guardrails>, model: &str, agent_id: &str) -> Policy {
        let t = self.0.load();
        guardrails.policy(t.models.get(model), t.agents.get(agent_id))
    }

    pub fn replace(&self, table: OverrideTable) {
        if **self.0.load() != table {
            self.0.store(Arc::new(table));
        }
    }

    pub fn table(&self) -> Arc<OverrideTable> {
        self.0.load_full()
    }
}

impl Guardrails {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|g| g.name == name)
    }

    /// The actions a call runs under: the configured ones, then the model's overrides, then the
    /// agent's (the most specific wins).
    pub fn policy(self: &Arc<Self>, model: Option<&Overrides>, agent: Option<&Overrides>) -> Policy {
        let mut actions: Vec<Action> = self.list.iter().map(|g| g.action).collect();
        for over in [model, agent].into_iter().flatten() {
            for (name, action) in over {
                if let Some(i) = self.index(name) {
                    actions[i] = *action;
                }
            }
        }
        Policy { guardrails: Arc::clone(self), actions }
    }
}

/// The guardrails of one call, with the actions it runs under.
#[derive(Debug, Clone)]
pub struct Policy {
    pub guardrails: Arc<Guardrails>,
    pub actions: Vec<Action>,
}

impl Policy {
    /// The guardrails that run on texts met in `dir`, with their actions.
    pub fn active(&self, dir: Direction) -> impl Iterator<Item = (usize, &Guardrail, Action)> {
        self.guardrails.list.iter().zip(&self.actions).enumerate().filter(move |(_, (g, a))| **a != Action::Off && g.apply_to.contains(dir)).map(|(i, (g, a))| (i, g, *a))
    }

    /// This policy with only the guardrails `keep` keeps (the others off).
    pub fn with_only(&self, keep: impl Fn(&Guardrail, Action) -> bool) -> Policy {
        let actions = self.guardrails.list.iter().zip(&self.actions).map(|(g, a)| if keep(g, *a) { *a } else { Action::Off }).collect();
        Policy { guardrails: Arc::clone(&self.guardrails), actions }
    }

    /// Whether anything runs on `dir`.
    pub fn any(&self, dir: Direction) -> bool {
        self.active(dir).next().is_some()
    }
}
