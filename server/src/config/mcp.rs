//! `[mcp]`: the MCP gateway's settings, its backend servers and its access rules.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{http, invalid, parse_headers, ConfigError};
use crate::mcp::policy::{ArgConstraint, Glob, Rule};

/// `[mcp]`: the MCP gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpSection {
    /// The agent an MCP client without a key acts as (off unless set; for local use).
    pub anonymous_agent: Option<String>,
    /// A session unused for this long expires (its backend sessions end too).
    pub session_idle_secs: u64,
    /// The largest JSON-RPC message accepted from a client.
    pub max_message_bytes: usize,
    /// Browser origins (`scheme://host[:port]`, or `*`) allowed to call `/mcp` besides
    /// loopback ones and those of `allowed_hosts`.
    pub allowed_origins: Vec<String>,
    /// Names (`host` or `host:port`) clients may reach `/mcp` by, in the `Host` header, besides
    /// loopback ones. Empty: any name when Weir listens on a non-loopback address, loopback names
    /// only when it listens on loopback (against DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// The longest Weir waits for a backend's answer to one request.
    pub request_timeout_secs: u64,
    /// How long a call held for approval waits for a person's decision before it expires.
    pub approval_timeout_secs: u64,
    /// With shared sessions (Redis): how long a stream's events can be replayed to a client
    /// resuming with `Last-Event-ID`, and how many of them at most, per stream.
    pub replay_window_secs: u64,
    pub replay_max_events: usize,
    /// The largest message (a JSON answer, or one event of a stream) read from a backend.
    pub max_backend_message_bytes: usize,
    /// Open MCP sessions per agent; past it, the agent's longest-idle session is ended.
    pub max_sessions_per_agent: usize,
    /// The largest `initialize` params a client may send (kept for the session's life).
    pub max_initialize_params_bytes: usize,
    /// Items in a JSON-RPC batch, where revision 2025-03-26 (the last with batches) was agreed.
    pub max_batch_items: usize,
    /// How long a tool or prompt name no backend lists is remembered as unknown (so that calls
    /// to it do not relist every backend each time), and how many such names at most.
    pub unknown_tool_relist_secs: u64,
    pub servers: Vec<McpServerSection>,
    pub rules: Vec<McpRuleSection>,
}

impl Default for McpSection {
    fn default() -> Self {
        Self {
            anonymous_agent: None,
            session_idle_secs: 1800,
            max_message_bytes: 4 * 1024 * 1024,
            allowed_origins: vec![],
            allowed_hosts: vec![],
            request_timeout_secs: 300,
            approval_timeout_secs: 600,
            replay_window_secs: 300,
            replay_max_events: 1000,
            max_backend_message_bytes: 16 * 1024 * 1024,
            max_sessions_per_agent: 128,
            max_initialize_params_bytes: 64 * 1024,
            max_batch_items: 16,
            unknown_tool_relist_secs: 30,
            servers: vec![],
            rules: vec![],
        }
    }
}

/// `[[mcp.servers]]`: a backend MCP server, by `url` (Streamable HTTP or legacy HTTP+SSE) or
/// `command` (stdio).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerSection {
    pub name: String,
    #[serde(default)]
    pub url: Option<String>,
    /// For a `url` server: `streamable-http` or `sse` (the HTTP+SSE transport of protocol
    /// revision 2024-11-05). Unset, Weir tries Streamable HTTP and falls back to SSE as the
    /// spec's backwards-compatibility rule says.
    #[serde(default)]
    pub transport: Option<String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Environment for a stdio server's process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Headers sent with every request to an HTTP server (its auth, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// What to do with a tool whose definition scanning finds suspicious, or that changed since
    /// it was pinned: `flag` (default: listed, and flagged for operators), `hide` (suspicious
    /// tools are left out of lists and their calls refused), `block_until_approved` (suspicious
    /// or changed tools are hidden until an operator approves that exact definition).
    #[serde(default)]
    pub suspicious_tools: Option<String>,
}

/// `[[mcp.rules]]`: who may use which tools, resources, prompts and other methods (at least
/// one of the four lists).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpRuleSection {
    /// `server__tool` names or globs.
    #[serde(default)]
    pub tools: Vec<String>,
    /// `server+uri` URIs or globs (resources, and the templates that stand for them).
    #[serde(default)]
    pub resources: Vec<String>,
    /// `server__prompt` names or globs.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// `server__method` names or globs: methods Weir does not know, on `/mcp/{server}`.
    #[serde(default)]
    pub methods: Vec<String>,
    pub agents: Vec<String>,
    #[serde(default)]
    pub users: Option<Vec<String>>,
    /// Argument name → constraint.
    #[serde(default)]
    pub arguments: BTreeMap<String, McpArgSection>,
    #[serde(default)]
    pub require_approval: bool,
}

/// One constraint on an argument: exactly one of the fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpArgSection {
    pub path_prefix: Option<String>,
    pub one_of: Option<Vec<serde_json::Value>>,
    pub pattern: Option<String>,
}

/// Which HTTP transport a `url` server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlTransport {
    /// Streamable HTTP (revision 2025-03-26 and later).
    StreamableHttp,
    /// The legacy HTTP+SSE transport (revision 2024-11-05): an event stream from a GET, messages
    /// POSTed to the endpoint its first event names.
    Sse,
    /// Streamable HTTP, or SSE when the server refuses the `initialize` POST with 400, 404 or 405.
    Detect,
}

/// What Weir does with a tool that scanning finds suspicious or that changed since it was pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SuspiciousTools {
    #[default]
    Flag,
    Hide,
    BlockUntilApproved,
}

impl SuspiciousTools {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Hide => "hide",
            Self::BlockUntilApproved => "block_until_approved",
        }
    }
}

#[derive(Debug, Clone)]
pub enum McpTransport {
    Http { url: String, headers: Vec<(http::HeaderName, http::HeaderValue)>, kind: UrlTransport },
    Stdio { command: Vec<String>, env: Vec<(String, String)> },
}

#[derive(Debug, Clone)]
pub struct McpServer {
    pub name: String,
    pub transport: McpTransport,
    pub suspicious_tools: SuspiciousTools,
}

impl McpConfig {
    /// The configured action for `server`'s suspicious or changed tools.
    pub fn suspicious_tools(&self, server: &str) -> SuspiciousTools {
        self.servers.iter().find(|s| s.name == server).map_or(SuspiciousTools::Flag, |s| s.suspicious_tools)
    }
}

#[derive(Debug, Clone)]
pub struct McpConfig {
    pub anonymous_agent: Option<String>,
    pub session_idle: Duration,
    pub max_message_bytes: usize,
    pub allowed_origins: Vec<String>,
    /// Lower-cased.
    pub allowed_hosts: Vec<String>,
    pub request_timeout: Duration,
    pub approval_timeout: Duration,
    pub replay_window: Duration,
    pub replay_max_events: usize,
    pub max_backend_message_bytes: usize,
    pub max_sessions_per_agent: usize,
    pub max_initialize_params_bytes: usize,
    pub max_batch_items: usize,
    pub unknown_tool_relist: Duration,
    pub servers: Vec<McpServer>,
    pub rules: Vec<crate::mcp::policy::Rule>,
}

impl McpSection {
    pub(super) fn validate(&self) -> Result<McpConfig, ConfigError> {
        let mut servers: Vec<McpServer> = Vec::new();
        for (i, s) in self.servers.iter().enumerate() {
            let key = format!("mcp.servers[{i}]");
            // Before the name's own check: a name met twice passed it the first time.
            if servers.iter().any(|x| x.name == s.name) {
                return Err(invalid(format!("{key}.name"), format!("`{}` is configured twice", s.name)));
            }
            servers.push(s.validate(&key)?);
        }
        let mut rules = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            rules.push(r.validate(&format!("mcp.rules[{i}]"), i + 1)?);
        }
        if self.session_idle_secs == 0 {
            return Err(invalid("mcp.session_idle_secs", "must be at least 1"));
        }
        if self.max_message_bytes < 1024 {
            return Err(invalid("mcp.max_message_bytes", "must be at least 1024"));
        }
        if self.approval_timeout_secs == 0 {
            return Err(invalid("mcp.approval_timeout_secs", "must be at least 1"));
        }
        if self.request_timeout_secs == 0 {
            return Err(invalid("mcp.request_timeout_secs", "must be at least 1"));
        }
        if self.replay_window_secs == 0 {
            return Err(invalid("mcp.replay_window_secs", "must be at least 1"));
        }
        if self.replay_max_events == 0 {
            return Err(invalid("mcp.replay_max_events", "must be at least 1"));
        }
        for (key, v, least) in [
            ("max_backend_message_bytes", self.max_backend_message_bytes, 1024),
            ("max_sessions_per_agent", self.max_sessions_per_agent, 1),
            ("max_initialize_params_bytes", self.max_initialize_params_bytes, 1024),
            ("max_batch_items", self.max_batch_items, 1),
        ] {
            if v < least {
                return Err(invalid(format!("mcp.{key}"), format!("must be at least {least}")));
            }
        }
        for (i, h) in self.allowed_hosts.iter().enumerate() {
            if h.trim().is_empty() || h.contains("://") || h.contains('/') {
                return Err(invalid(format!("mcp.allowed_hosts[{i}]"), "must be a host name, optionally with :port (no scheme or path)"));
            }
        }
        for (i, o) in self.allowed_origins.iter().enumerate() {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                return Err(invalid(format!("mcp.allowed_origins[{i}]"), "must be `*` or an origin such as https://app.example.com"));
            }
        }
        if let Some(a) = &self.anonymous_agent {
            if a.trim().is_empty() {
                return Err(invalid("mcp.anonymous_agent", "must name an agent"));
            }
        }
        Ok(McpConfig {
            anonymous_agent: self.anonymous_agent.clone(),
            session_idle: Duration::from_secs(self.session_idle_secs),
            max_message_bytes: self.max_message_bytes,
            allowed_origins: self.allowed_origins.clone(),
            allowed_hosts: self.allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            approval_timeout: Duration::from_secs(self.approval_timeout_secs),
            replay_window: Duration::from_secs(self.replay_window_secs),
            replay_max_events: self.replay_max_events,
            max_backend_message_bytes: self.max_backend_message_bytes,
            max_sessions_per_agent: self.max_sessions_per_agent,
            max_initialize_params_bytes: self.max_initialize_params_bytes,
            max_batch_items: self.max_batch_items,
            unknown_tool_relist: Duration::from_secs(self.unknown_tool_relist_secs),
            servers,
            rules,
        })
    }
}

impl McpServerSection {
    fn validate(&self, key: &str) -> Result<McpServer, ConfigError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !self.name.contains("__")
            // `files_` + `__` + `read` would split as `files` + `_read`.
            && !self.name.ends_with('_');
        if !name_ok {
            return Err(invalid(format!("{key}.name"), "must be 1 to 64 of A-Z a-z 0-9 - _, without `__` and not ending in `_`"));
        }
        let transport = match (&self.url, &self.command) {
            (Some(url), None) => {
                match reqwest::Url::parse(url) {
                    Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
                    _ => return Err(invalid(format!("{key}.url"), format!("`{url}` is not an http(s) URL"))),
                }
                if !self.env.is_empty() {
                    return Err(invalid(format!("{key}.env"), "applies to `command` servers only"));
                }
                let headers = parse_headers(key, &self.headers)?;
                let kind = match self.transport.as_deref() {
                    None => UrlTransport::Detect,
                    Some("streamable-http") => UrlTransport::StreamableHttp,
                    Some("sse") => UrlTransport::Sse,
                    Some(other) => return Err(invalid(format!("{key}.transport"), format!("`{other}` is not a transport; use `streamable-http` or `sse`"))),
                };
                McpTransport::Http { url: url.clone(), headers, kind }
            }
            (None, Some(cmd)) if !cmd.is_empty() && !cmd[0].is_empty() => {
                if !self.headers.is_empty() {
                    return Err(invalid(format!("{key}.headers"), "applies to `url` servers only"));
                }
                if self.transport.is_some() {
                    return Err(invalid(format!("{key}.transport"), "applies to `url` servers only"));
                }
                McpTransport::Stdio { command: cmd.clone(), env: self.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect() }
            }
            (None, Some(_)) => return Err(invalid(format!("{key}.command"), "must name a program")),
            _ => return Err(invalid(key, "needs exactly one of `url` or `command`")),
        };
        let suspicious_tools = match self.suspicious_tools.as_deref() {
            None | Some("flag") => SuspiciousTools::Flag,
            Some("hide") => SuspiciousTools::Hide,
            Some("block_until_approved") => SuspiciousTools::BlockUntilApproved,
            Some(other) => return Err(invalid(format!("{key}.suspicious_tools"), format!("`{other}` is not an action; use `flag`, `hide` or `block_until_approved`"))),
        };
        Ok(McpServer { name: self.name.clone(), transport, suspicious_tools })
    }
}

impl McpRuleSection {
    /// The rule as policy reads it; `number` counts rules from 1, in the file's order.
    fn validate(&self, key: &str, number: usize) -> Result<Rule, ConfigError> {
        if self.tools.is_empty() && self.resources.is_empty() && self.prompts.is_empty() && self.methods.is_empty() {
            return Err(invalid(key, "must list tools, resources, prompts or methods"));
        }
        for (field, names, form, sep) in [("tools", &self.tools, "server__tool", "__"), ("prompts", &self.prompts, "server__prompt", "__"), ("methods", &self.methods, "server__method", "__"), ("resources", &self.resources, "server+uri", "+")] {
            for t in names {
                if t.is_empty() || (!t.contains(sep) && t != "*") {
                    return Err(invalid(format!("{key}.{field}"), format!("`{t}` must name {field} as {form}")));
                }
            }
        }
        if self.require_approval && (!self.resources.is_empty() || !self.prompts.is_empty() || !self.methods.is_empty()) {
            return Err(invalid(format!("{key}.require_approval"), "applies to tool calls only: put resources, prompts and methods in a rule of their own"));
        }
        if !self.arguments.is_empty() && self.tools.is_empty() && self.prompts.is_empty() {
            return Err(invalid(format!("{key}.arguments"), "constrains tool calls and prompts: the rule names neither"));
        }
        if self.agents.is_empty() {
            return Err(invalid(format!("{key}.agents"), "must list at least one agent (or \"*\")"));
        }
        let mut arguments = Vec::new();
        for (arg, c) in &self.arguments {
            arguments.push((arg.clone(), c.validate(&format!("{key}.arguments.{arg}"))?));
        }
        // A resource pattern names URIs as rules see them: normalised (a literal pattern must
        // be written as the normalised URI it allows).
        let globs = |names: &[String]| names.iter().map(|t| Glob::new(t)).collect::<Vec<_>>();
        Ok(Rule {
            number,
            tools: globs(&self.tools),
            resources: globs(&self.resources),
            prompts: globs(&self.prompts),
            methods: globs(&self.methods),
            agents: self.agents.iter().map(|a| Glob::new(a)).collect(),
            users: self.users.as_ref().map(|u| u.iter().map(|x| Glob::new(x)).collect()),
            arguments,
            require_approval: self.require_approval,
        })
    }
}

impl McpArgSection {
    fn validate(&self, ckey: &str) -> Result<ArgConstraint, ConfigError> {
        Ok(match (&self.path_prefix, &self.one_of, &self.pattern) {
            (Some(p), None, None) => {
                if crate::mcp::policy::normalize_path(p).is_none() {
                    return Err(invalid(format!("{ckey}.path_prefix"), "must be an absolute path"));
                }
                ArgConstraint::PathPrefix(p.clone())
            }
            (None, Some(values), None) if !values.is_empty() => ArgConstraint::OneOf(values.clone()),
            (None, None, Some(p)) => ArgConstraint::Pattern(
                regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| invalid(format!("{ckey}.pattern"), format!("is not a valid regular expression: {e}")))?,
            ),
            _ => return Err(invalid(ckey, "needs exactly one of path_prefix, one_of (non-empty) or pattern")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::env;
    use crate::config::Config;

    fn mcp_server(lines: &str) -> Result<McpServer, ConfigError> {
        let text = format!("[[mcp.servers]]\nname = \"a\"\n{lines}\n");
        Config::from_toml(&text, &env()).map(|c| c.mcp.servers[0].clone())
    }

    #[test]
    fn a_server_name_that_would_split_ambiguously_is_refused() {
        let err = Config::from_toml("[[mcp.servers]]\nname = \"files_\"\nurl = \"http://x/mcp\"\n", &env()).unwrap_err().to_string();
        assert!(err.starts_with("mcp.servers[0].name:") && err.contains("not ending in `_`"), "{err}");
        assert!(Config::from_toml("[[mcp.servers]]\nname = \"my_files\"\nurl = \"http://x/mcp\"\n", &env()).is_ok());
    }

    #[test]
    fn suspicious_tools_action_is_flag_unless_named_and_unknown_ones_are_refused() {
        assert_eq!(mcp_server("url = \"http://x/mcp\"").unwrap().suspicious_tools, SuspiciousTools::Flag);
        assert_eq!(mcp_server("url = \"http://x/mcp\"\nsuspicious_tools = \"hide\"").unwrap().suspicious_tools, SuspiciousTools::Hide);
        assert_eq!(mcp_server("command = [\"x\"]\nsuspicious_tools = \"block_until_approved\"").unwrap().suspicious_tools, SuspiciousTools::BlockUntilApproved);
        let err = mcp_server("url = \"http://x/mcp\"\nsuspicious_tools = \"block\"").unwrap_err().to_string();
        assert!(err.starts_with("mcp.servers[0].suspicious_tools:") && err.contains("block_until_approved"), "{err}");
        let err = Config::from_toml("[mcp]\napproval_timeout_secs = 0\n", &env()).unwrap_err().to_string();
        assert!(err.starts_with("mcp.approval_timeout_secs:"), "{err}");
    }

    fn url_transport(lines: &str) -> UrlTransport {
        match mcp_server(lines).unwrap().transport {
            McpTransport::Http { kind, .. } => kind,
            McpTransport::Stdio { .. } => panic!("a url server became a stdio one"),
        }
    }

    #[test]
    fn a_url_servers_transport_is_detected_unless_named() {
        assert_eq!(url_transport("url = \"http://x/mcp\""), UrlTransport::Detect);
        assert_eq!(url_transport("url = \"http://x/mcp\"\ntransport = \"streamable-http\""), UrlTransport::StreamableHttp);
        assert_eq!(url_transport("url = \"http://x/sse\"\ntransport = \"sse\""), UrlTransport::Sse);
    }

    #[test]
    fn an_unknown_transport_or_one_on_a_command_server_is_named() {
        let err = mcp_server("url = \"http://x/sse\"\ntransport = \"websocket\"").unwrap_err().to_string();
        assert!(err.starts_with("mcp.servers[0].transport:") && err.contains("websocket"), "{err}");
        // Values are exact: no case folding, no aliases.
        assert!(mcp_server("url = \"http://x/sse\"\ntransport = \"SSE\"").is_err());
        assert!(mcp_server("url = \"http://x/mcp\"\ntransport = \"http\"").is_err());
        let err = mcp_server("command = [\"node\", \"s.js\"]\ntransport = \"sse\"").unwrap_err().to_string();
        assert!(err.starts_with("mcp.servers[0].transport:") && err.contains("`url` servers only"), "{err}");
    }
}
