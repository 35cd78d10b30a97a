//! `[a2a]`: the A2A gateway's settings, the agents it fronts and who may call them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{http, invalid, parse_headers, ConfigError, Env};
use crate::mcp::policy::Glob;

/// `[a2a]`: the A2A gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct A2aSection {
    /// The address callers reach Weir at (`https://weir.example.com`), written into the agent
    /// cards Weir serves. Unset: the request's own `Host` (or, from a trusted proxy,
    /// `X-Forwarded-Host` and `X-Forwarded-Proto`).
    pub public_url: Option<String>,
    /// Push-notification webhooks on private, loopback or link-local addresses are refused
    /// unless this is set (a caller must not make a target agent call into Weir's network).
    pub allow_private_webhooks: bool,
    /// The largest request body accepted from a caller.
    pub max_message_bytes: usize,
    /// The largest answer (a JSON body, or one event of a stream) read from a target agent.
    pub max_answer_bytes: usize,
    /// The longest Weir waits for a target's answer head; a stream may then run as long as
    /// events keep coming within `stream_idle_secs`.
    pub request_timeout_secs: u64,
    pub stream_idle_secs: u64,
    /// How long a fetched agent card is kept when the agent's `Cache-Control` names no
    /// `max-age` (and the most it is kept in any case).
    pub card_ttl_secs: u64,
    /// Task owners remembered (a task created through Weir belongs to its caller): at most
    /// this many per replica in memory, each for `task_ttl_secs` (in Redis when it is set).
    pub max_tasks: usize,
    pub task_ttl_secs: u64,
    pub agents: Vec<A2aAgentSection>,
    pub rules: Vec<A2aRuleSection>,
}

impl Default for A2aSection {
    fn default() -> Self {
        Self {
            public_url: None,
            allow_private_webhooks: false,
            max_message_bytes: 4 * 1024 * 1024,
            max_answer_bytes: 16 * 1024 * 1024,
            request_timeout_secs: 300,
            stream_idle_secs: 300,
            card_ttl_secs: 300,
            max_tasks: 100_000,
            task_ttl_secs: 7 * 24 * 3600,
            agents: vec![],
            rules: vec![],
        }
    }
}

/// `[[a2a.agents]]`: a target agent, by its base URL (`url`, where its card is at
/// `/.well-known/agent-card.json`) or its card's URL (`card_url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2aAgentSection {
    pub name: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub card_url: Option<String>,
    /// Headers sent with every request to the agent (its credentials, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `[[a2a.rules]]`: which calling agents may call which target agents, and (optionally) which
/// of their skills.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct A2aRuleSection {
    /// Calling agents (Weir agent names or globs).
    pub agents: Vec<String>,
    /// Target agents (registry names or globs).
    pub targets: Vec<String>,
    /// Skill ids or globs; absent: every skill.
    #[serde(default)]
    pub skills: Option<Vec<String>>,
}

/// A target agent, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct A2aAgent {
    pub name: String,
    /// Where the agent's card is read.
    pub card_url: String,
    /// The agent's base URL: requests go here until its card says otherwise.
    pub base_url: String,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The HTTP proxy the agent is reached through (`HTTPS_PROXY` and the like, outside
    /// `NO_PROXY`).
    pub proxy: Option<String>,
}

/// A rule, validated.
#[derive(Debug, Clone)]
pub struct A2aRule {
    /// Its number in the file, from 1 (what an audit record names).
    pub number: usize,
    pub agents: Vec<Glob>,
    pub targets: Vec<Glob>,
    pub skills: Option<Vec<Glob>>,
}

#[derive(Debug, Clone)]
pub struct A2aConfig {
    pub public_url: Option<String>,
    pub allow_private_webhooks: bool,
    pub max_message_bytes: usize,
    pub max_answer_bytes: usize,
    pub request_timeout: Duration,
    pub stream_idle: Duration,
    pub card_ttl: Duration,
    pub max_tasks: usize,
    pub task_ttl: Duration,
    pub agents: Vec<A2aAgent>,
    pub rules: Vec<A2aRule>,
    /// The proxy variables of the environment Weir started in (`HTTPS_PROXY` and the like):
    /// agents registered through the admin API are reached through them as the file's are.
    pub proxy_env: Env,
}

/// The well-known path of an agent's card (A2A v0.3 and v1.0), and its name before v0.3.
pub const CARD_PATH: &str = "/.well-known/agent-card.json";
pub const LEGACY_CARD_PATH: &str = "/.well-known/agent.json";

impl A2aSection {
    pub(super) fn validate(&self, env: &Env) -> Result<A2aConfig, ConfigError> {
        let mut agents: Vec<A2aAgent> = Vec::new();
        for (i, a) in self.agents.iter().enumerate() {
            let key = format!("a2a.agents[{i}]");
            if agents.iter().any(|x| x.name == a.name) {
                return Err(invalid(format!("{key}.name"), format!("`{}` is configured twice", a.name)));
            }
            agents.push(a.validate(&key, env)?);
        }
        let mut rules = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            rules.push(r.validate(&format!("a2a.rules[{i}]"), i + 1)?);
        }
        if let Some(u) = &self.public_url {
            let parsed = reqwest::Url::parse(u).map_err(|e| invalid("a2a.public_url", format!("is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.query().is_some() {
                return Err(invalid("a2a.public_url", "must be an http(s) URL with a host and no query"));
            }
        }
        for (key, v, least) in [
            ("max_message_bytes", self.max_message_bytes as u64, 1024),
            ("max_answer_bytes", self.max_answer_bytes as u64, 1024),
            ("request_timeout_secs", self.request_timeout_secs, 1),
            ("stream_idle_secs", self.stream_idle_secs, 1),
            ("card_ttl_secs", self.card_ttl_secs, 1),
            ("max_tasks", self.max_tasks as u64, 1),
            ("task_ttl_secs", self.task_ttl_secs, 1),
        ] {
            if v < least {
                return Err(invalid(format!("a2a.{key}"), format!("must be at least {least}")));
            }
        }
        Ok(A2aConfig {
            public_url: self.public_url.as_ref().map(|u| u.trim_end_matches('/').to_string()),
            allow_private_webhooks: self.allow_private_webhooks,
            max_message_bytes: self.max_message_bytes,
            max_answer_bytes: self.max_answer_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            stream_idle: Duration::from_secs(self.stream_idle_secs),
            card_ttl: Duration::from_secs(self.card_ttl_secs),
            max_tasks: self.max_tasks,
            task_ttl: Duration::from_secs(self.task_ttl_secs),
            agents,
            rules,
            proxy_env: PROXY_VARS.iter().flat_map(|v| [v.to_string(), v.to_ascii_lowercase()]).filter_map(|v| env.get(&v).map(|x| (v.clone(), x.to_string()))).collect(),
        })
    }
}

/// The variables that choose a proxy.
const PROXY_VARS: [&str; 4] = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"];

/// A target agent's name: it is a path segment of `/a2a/{agent}`.
pub fn check_agent_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) || name.starts_with('.') {
        return Err("may hold only letters, digits, `-`, `_` and `.` (not first)".into());
    }
    Ok(())
}

/// The agent's base URL and card URL from what was configured: a card URL at the well-known
/// path gives the base URL before it; a base URL gives the well-known card beneath it.
pub fn agent_urls(url: Option<&str>, card_url: Option<&str>) -> Result<(String, String), String> {
    let check = |u: &str| -> Result<String, String> {
        let parsed = reqwest::Url::parse(u).map_err(|e| format!("`{u}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!("`{u}` must be an http(s) URL with a host"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!("`{u}` must carry no query or fragment"));
        }
        Ok(u.to_string())
    };
    match (url, card_url) {
        (Some(u), card) => {
            let base = check(u)?.trim_end_matches('/').to_string();
            let card = match card {
                Some(c) => check(c)?,
                None => format!("{base}{CARD_PATH}"),
            };
            Ok((base, card))
        }
        (None, Some(c)) => {
            let card = check(c)?;
            let base = [CARD_PATH, LEGACY_CARD_PATH]
                .iter()
                .find_map(|p| card.strip_suffix(p))
                .map(str::to_string)
                .unwrap_or_else(|| card.rsplit_once('/').map_or(card.clone(), |(b, _)| b.to_string()));
            Ok((base.trim_end_matches('/').to_string(), card))
        }
        (None, None) => Err("needs `url` (the agent's base URL) or `card_url`".into()),
    }
}

impl A2aAgentSection {
    fn validate(&self, key: &str, env: &Env) -> Result<A2aAgent, ConfigError> {
        check_agent_name(&self.name).map_err(|p| invalid(format!("{key}.name"), p))?;
        let (base_url, card_url) = agent_urls(self.url.as_deref(), self.card_url.as_deref()).map_err(|p| invalid(key, p))?;
        let headers = parse_headers(key, &self.headers)?;
        let proxy = super::proxy_from_env(env, &base_url);
        Ok(A2aAgent { name: self.name.clone(), card_url, base_url, headers, proxy })
    }
}

impl A2aRuleSection {
    fn validate(&self, key: &str, number: usize) -> Result<A2aRule, ConfigError> {
        let globs = |field: &str, list: &[String]| -> Result<Vec<Glob>, ConfigError> {
            if list.is_empty() {
                return Err(invalid(format!("{key}.{field}"), "must name at least one (`*` for any)"));
            }
            Ok(list.iter().map(|s| Glob::new(s)).collect())
        };
        Ok(A2aRule {
            number,
            agents: globs("agents", &self.agents)?,
            targets: globs("targets", &self.targets)?,
            skills: self.skills.as_deref().map(|s| globs("skills", s)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a2a(text: &str) -> Result<A2aConfig, ConfigError> {
        crate::config::Config::from_toml(text, &crate::config::Env::default()).map(|c| c.a2a)
    }

    #[test]
    fn a_base_url_gives_the_well_known_card_and_a_card_url_gives_the_base() {
        assert_eq!(
            agent_urls(Some("http://h:9/agents/echo/"), None).unwrap(),
            ("http://h:9/agents/echo".to_string(), "http://h:9/agents/echo/.well-known/agent-card.json".to_string())
        );
        assert_eq!(agent_urls(None, Some("http://h:9/p/.well-known/agent.json")).unwrap().0, "http://h:9/p");
        assert_eq!(agent_urls(None, Some("http://h:9/cards/echo.json")).unwrap().0, "http://h:9/cards");
        assert!(agent_urls(None, None).is_err());
        assert!(agent_urls(Some("ftp://h"), None).is_err());
        assert!(agent_urls(Some("http://h/?x=1"), None).is_err());
    }

    #[test]
    fn agents_and_rules_are_checked() {
        let ok = a2a("[[a2a.agents]]\nname = \"echo\"\nurl = \"http://127.0.0.1:9\"\nheaders = { Authorization = \"Bearer t\" }\n[[a2a.rules]]\nagents = [\"planner\"]\ntargets = [\"echo\"]\nskills = [\"echo\"]\n").unwrap();
        assert_eq!(ok.agents[0].card_url, "http://127.0.0.1:9/.well-known/agent-card.json");
        assert_eq!(ok.rules[0].number, 1);
        let err = |t: &str| a2a(t).unwrap_err().to_string();
        assert!(err("[[a2a.agents]]\nname = \"a/b\"\nurl = \"http://h\"\n").starts_with("a2a.agents[0].name:"));
        assert!(err("[[a2a.agents]]\nname = \"a\"\n").starts_with("a2a.agents[0]:"));
        assert!(err("[[a2a.agents]]\nname = \"a\"\nurl = \"http://h\"\n[[a2a.agents]]\nname = \"a\"\nurl = \"http://h\"\n").contains("twice"));
        assert!(err("[[a2a.rules]]\nagents = []\ntargets = [\"x\"]\n").starts_with("a2a.rules[0].agents:"));
        assert!(err("[a2a]\npublic_url = \"weir.example.com\"\n").starts_with("a2a.public_url:"));
        assert!(err("[a2a]\nmax_tasks = 0\n").starts_with("a2a.max_tasks:"));
    }
}
