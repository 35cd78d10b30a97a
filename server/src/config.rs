//! Typed configuration: the TOML file, `WEIR_*` environment overrides and the embedded defaults.
//!
//! Everything here is validated before any port is bound; a validation error names the key and
//! what is wrong. This module owns parsing and validation only: it never reads the process
//! environment itself (callers hand it an [`Env`] snapshot) and never touches the network.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The configuration used when neither `--config` nor `WEIR_CONFIG` names a file.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../examples/default.toml");

/// A snapshot of environment variables. `main` captures the process environment once; tests
/// build their own, so nothing ever needs to mutate the real environment.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The proxy the standard variables give for `url`: `HTTPS_PROXY` or `HTTP_PROXY` by scheme,
/// then `ALL_PROXY` (upper or lower case), unless `NO_PROXY` names the host, a domain it is in,
/// or `*`.
pub fn proxy_from_env(env: &Env, url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let var = |name: &str| env.get(name).or_else(|| env.get(&name.to_ascii_lowercase())).map(str::to_string);
    if let Some(no) = var("NO_PROXY") {
        let excluded = no.split(',').map(|e| e.trim().trim_start_matches('.').trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()).any(|e| {
            !e.is_empty() && (e == "*" || host == e || host.ends_with(&format!(".{e}")))
        });
        if excluded {
            return None;
        }
    }
    let by_scheme = if parsed.scheme() == "https" { var("HTTPS_PROXY") } else { var("HTTP_PROXY") };
    by_scheme.or_else(|| var("ALL_PROXY"))
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Parse(String),
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), problem: problem.into() }
}

// ---------------------------------------------------------------------------------------------
// File shape. `deny_unknown_fields` everywhere: a misspelt key is an error, not a silent default.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub audit: AuditSection,
    #[serde(default)]
    pub identity: IdentitySection,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub failover: FailoverSection,
    #[serde(default)]
    pub providers: Vec<ProviderSection>,
    #[serde(default)]
    pub models: Vec<ModelSection>,
    #[serde(default)]
    pub mcp: McpSection,
}

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

fn validate_mcp(m: &McpSection) -> Result<McpConfig, ConfigError> {
    use crate::mcp::policy::{ArgConstraint, Glob, Rule};
    let mut servers: Vec<McpServer> = Vec::new();
    for (i, s) in m.servers.iter().enumerate() {
        let key = format!("mcp.servers[{i}]");
        let name_ok = !s.name.is_empty()
            && s.name.len() <= 64
            && s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !s.name.contains("__")
            // `files_` + `__` + `read` would split as `files` + `_read`.
            && !s.name.ends_with('_');
        if !name_ok {
            return Err(invalid(format!("{key}.name"), "must be 1 to 64 of A-Z a-z 0-9 - _, without `__` and not ending in `_`"));
        }
        if servers.iter().any(|x| x.name == s.name) {
            return Err(invalid(format!("{key}.name"), format!("`{}` is configured twice", s.name)));
        }
        let transport = match (&s.url, &s.command) {
            (Some(url), None) => {
                match reqwest::Url::parse(url) {
                    Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
                    _ => return Err(invalid(format!("{key}.url"), format!("`{url}` is not an http(s) URL"))),
                }
                if !s.env.is_empty() {
                    return Err(invalid(format!("{key}.env"), "applies to `command` servers only"));
                }
                let mut headers = Vec::new();
                for (name, value) in &s.headers {
                    let n = http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| invalid(format!("{key}.headers"), format!("`{name}` is not a valid header name")))?;
                    let v = http::HeaderValue::from_str(value).map_err(|_| invalid(format!("{key}.headers.{name}"), "is not a valid header value"))?;
                    headers.push((n, v));
                }
                let kind = match s.transport.as_deref() {
                    None => UrlTransport::Detect,
                    Some("streamable-http") => UrlTransport::StreamableHttp,
                    Some("sse") => UrlTransport::Sse,
                    Some(other) => return Err(invalid(format!("{key}.transport"), format!("`{other}` is not a transport; use `streamable-http` or `sse`"))),
                };
                McpTransport::Http { url: url.clone(), headers, kind }
            }
            (None, Some(cmd)) if !cmd.is_empty() && !cmd[0].is_empty() => {
                if !s.headers.is_empty() {
                    return Err(invalid(format!("{key}.headers"), "applies to `url` servers only"));
                }
                if s.transport.is_some() {
                    return Err(invalid(format!("{key}.transport"), "applies to `url` servers only"));
                }
                McpTransport::Stdio { command: cmd.clone(), env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect() }
            }
            (None, Some(_)) => return Err(invalid(format!("{key}.command"), "must name a program")),
            _ => return Err(invalid(key, "needs exactly one of `url` or `command`")),
        };
        let suspicious_tools = match s.suspicious_tools.as_deref() {
            None | Some("flag") => SuspiciousTools::Flag,
            Some("hide") => SuspiciousTools::Hide,
            Some("block_until_approved") => SuspiciousTools::BlockUntilApproved,
            Some(other) => return Err(invalid(format!("{key}.suspicious_tools"), format!("`{other}` is not an action; use `flag`, `hide` or `block_until_approved`"))),
        };
        servers.push(McpServer { name: s.name.clone(), transport, suspicious_tools });
    }
    let mut rules = Vec::new();
    for (i, r) in m.rules.iter().enumerate() {
        let key = format!("mcp.rules[{i}]");
        if r.tools.is_empty() && r.resources.is_empty() && r.prompts.is_empty() && r.methods.is_empty() {
            return Err(invalid(key, "must list tools, resources, prompts or methods"));
        }
        for (field, names, form, sep) in [("tools", &r.tools, "server__tool", "__"), ("prompts", &r.prompts, "server__prompt", "__"), ("methods", &r.methods, "server__method", "__"), ("resources", &r.resources, "server+uri", "+")] {
            for t in names {
                if t.is_empty() || (!t.contains(sep) && t != "*") {
                    return Err(invalid(format!("{key}.{field}"), format!("`{t}` must name {field} as {form}")));
                }
            }
        }
        if r.require_approval && (!r.resources.is_empty() || !r.prompts.is_empty() || !r.methods.is_empty()) {
            return Err(invalid(format!("{key}.require_approval"), "applies to tool calls only: put resources, prompts and methods in a rule of their own"));
        }
        if !r.arguments.is_empty() && r.tools.is_empty() && r.prompts.is_empty() {
            return Err(invalid(format!("{key}.arguments"), "constrains tool calls and prompts: the rule names neither"));
        }
        if r.agents.is_empty() {
            return Err(invalid(format!("{key}.agents"), "must list at least one agent (or \"*\")"));
        }
        let mut arguments = Vec::new();
        for (arg, c) in &r.arguments {
            let ckey = format!("{key}.arguments.{arg}");
            let constraint = match (&c.path_prefix, &c.one_of, &c.pattern) {
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
            };
            arguments.push((arg.clone(), constraint));
        }
        // A resource pattern names URIs as rules see them: normalised (a literal pattern must
        // be written as the normalised URI it allows).
        let globs = |names: &[String]| names.iter().map(|t| Glob::new(t)).collect::<Vec<_>>();
        rules.push(Rule {
            number: i + 1,
            tools: globs(&r.tools),
            resources: globs(&r.resources),
            prompts: globs(&r.prompts),
            methods: globs(&r.methods),
            agents: r.agents.iter().map(|a| Glob::new(a)).collect(),
            users: r.users.as_ref().map(|u| u.iter().map(|x| Glob::new(x)).collect()),
            arguments,
            require_approval: r.require_approval,
        });
    }
    if m.session_idle_secs == 0 {
        return Err(invalid("mcp.session_idle_secs", "must be at least 1"));
    }
    if m.max_message_bytes < 1024 {
        return Err(invalid("mcp.max_message_bytes", "must be at least 1024"));
    }
    if m.approval_timeout_secs == 0 {
        return Err(invalid("mcp.approval_timeout_secs", "must be at least 1"));
    }
    if m.request_timeout_secs == 0 {
        return Err(invalid("mcp.request_timeout_secs", "must be at least 1"));
    }
    if m.replay_window_secs == 0 {
        return Err(invalid("mcp.replay_window_secs", "must be at least 1"));
    }
    if m.replay_max_events == 0 {
        return Err(invalid("mcp.replay_max_events", "must be at least 1"));
    }
    for (key, v, least) in [
        ("max_backend_message_bytes", m.max_backend_message_bytes, 1024),
        ("max_sessions_per_agent", m.max_sessions_per_agent, 1),
        ("max_initialize_params_bytes", m.max_initialize_params_bytes, 1024),
        ("max_batch_items", m.max_batch_items, 1),
    ] {
        if v < least {
            return Err(invalid(format!("mcp.{key}"), format!("must be at least {least}")));
        }
    }
    for (i, h) in m.allowed_hosts.iter().enumerate() {
        if h.trim().is_empty() || h.contains("://") || h.contains('/') {
            return Err(invalid(format!("mcp.allowed_hosts[{i}]"), "must be a host name, optionally with :port (no scheme or path)"));
        }
    }
    for (i, o) in m.allowed_origins.iter().enumerate() {
        if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
            return Err(invalid(format!("mcp.allowed_origins[{i}]"), "must be `*` or an origin such as https://app.example.com"));
        }
    }
    if let Some(a) = &m.anonymous_agent {
        if a.trim().is_empty() {
            return Err(invalid("mcp.anonymous_agent", "must name an agent"));
        }
    }
    Ok(McpConfig {
        anonymous_agent: m.anonymous_agent.clone(),
        session_idle: Duration::from_secs(m.session_idle_secs),
        max_message_bytes: m.max_message_bytes,
        allowed_origins: m.allowed_origins.clone(),
        allowed_hosts: m.allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        request_timeout: Duration::from_secs(m.request_timeout_secs),
        approval_timeout: Duration::from_secs(m.approval_timeout_secs),
        replay_window: Duration::from_secs(m.replay_window_secs),
        replay_max_events: m.replay_max_events,
        max_backend_message_bytes: m.max_backend_message_bytes,
        max_sessions_per_agent: m.max_sessions_per_agent,
        max_initialize_params_bytes: m.max_initialize_params_bytes,
        max_batch_items: m.max_batch_items,
        unknown_tool_relist: Duration::from_secs(m.unknown_tool_relist_secs),
        servers,
        rules,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: String,
    pub admin_listen: String,
    /// Largest request body accepted on the gateway port.
    pub max_body_bytes: usize,
    /// How long SIGTERM waits for in-flight requests and streams before closing them.
    pub drain_timeout_secs: u64,
    /// Peers whose `X-Forwarded-For` is believed (exact IPs).
    pub trusted_proxies: Vec<String>,
    /// How often the config file is checked for changes.
    pub reload_interval_ms: u64,
    /// Per client IP, on both listeners, before any key lookup: sustained requests per second
    /// (0 turns the guard off) and the burst allowed above it.
    pub ip_requests_per_second: u64,
    pub ip_burst: u32,
    /// Threads serving the gateway port, each with its own connections to providers;
    /// 0 means one per CPU.
    pub workers: usize,
    /// Both ports: a request's head must be complete this long after the connection opened
    /// (or after the request's first byte, on a kept-alive connection).
    pub header_read_timeout_secs: u64,
    /// Both ports: a kept-alive connection with no request in flight closes after this long.
    pub idle_timeout_secs: u64,
    /// Both ports: a request body that delivers nothing for this long is refused with 408.
    pub body_read_timeout_secs: u64,
    /// Both ports, each: open connections at most, all clients together …
    pub max_connections: usize,
    /// … and per client address (peers in `trusted_proxies` are exempt).
    pub max_connections_per_client: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4000".into(),
            admin_listen: "127.0.0.1:4001".into(),
            max_body_bytes: 20 * 1024 * 1024,
            drain_timeout_secs: 30,
            trusted_proxies: Vec::new(),
            reload_interval_ms: 1000,
            ip_requests_per_second: 10_000,
            ip_burst: 20_000,
            workers: 0,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_read_timeout_secs: 30,
            max_connections: 10_000,
            max_connections_per_client: 256,
        }
    }
}

impl From<&ServerSection> for crate::serve::ConnSettings {
    fn from(srv: &ServerSection) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(srv.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(srv.idle_timeout_secs),
            body_read_timeout: Duration::from_secs(srv.body_read_timeout_secs),
            max_connections: srv.max_connections,
            max_connections_per_client: srv.max_connections_per_client,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self { url: "sqlite://weir.db".into(), max_connections: 8 }
    }
}

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySection {
    /// How often each replica checks the database for changed agents and keys.
    pub refresh_interval_ms: u64,
}

impl Default for IdentitySection {
    fn default() -> Self {
        Self { refresh_interval_ms: 500 }
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible API.
    Openai,
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: String,
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// Longest wait for the response head (and, for streams, between chunks).
    #[serde(default = "default_read_timeout")]
    pub read_timeout_ms: u64,
    /// Longest a whole non-streaming call may take.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// Extra headers sent with every upstream request (for gateways needing their own auth).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The cheap input bound for budget reservations: request bytes divided by this.
    #[serde(default)]
    pub bytes_per_token: Option<f64>,
    /// Multiplier on a tiktoken count, for providers whose tokenizer counts more.
    #[serde(default)]
    pub token_margin: Option<f64>,
    /// An HTTP proxy to reach this provider through (`http://host:port`); `""` for none.
    /// Unset: the standard `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` apply.
    #[serde(default)]
    pub proxy: Option<String>,
    /// The agent's request headers passed on to this provider (case-insensitive names). Unset:
    /// what the provider's SDKs need (`openai-beta`; `anthropic-version`, `anthropic-beta`).
    #[serde(default)]
    pub forward_headers: Option<Vec<String>>,
    /// The agent's query parameters passed on (by name); none unless listed.
    #[serde(default)]
    pub forward_query: Vec<String>,
    /// The largest answer read from this provider (a whole body, or a whole stream).
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

fn default_max_response_bytes() -> usize {
    64 * 1024 * 1024
}

/// The agent headers a provider of `kind` gets unless its `forward_headers` says otherwise.
pub fn default_forward_headers(kind: ProviderKind) -> &'static [&'static str] {
    match kind {
        ProviderKind::Openai => &["openai-beta"],
        ProviderKind::Anthropic => &["anthropic-version", "anthropic-beta"],
    }
}

fn default_connect_timeout() -> u64 {
    5_000
}
fn default_read_timeout() -> u64 {
    120_000
}
fn default_request_timeout() -> u64 {
    600_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub name: String,
    pub targets: Vec<TargetSection>,
    #[serde(default)]
    pub price: Option<Price>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    pub provider: String,
    pub model: String,
    /// Targets of equal priority form a group, chosen among by weight; lower priorities are
    /// tried first. Default: the target's position, so the list is tried in order.
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub weight: Option<u32>,
}

/// USD per million tokens.
pub use weir_api::Price;

// ---------------------------------------------------------------------------------------------
// Validated, runtime shape.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    /// Without a trailing slash.
    pub base_url: String,
    /// The base URL's host and port, for spans.
    pub server_address: Option<String>,
    pub server_port: Option<u16>,
    pub api_key: Option<SecretString>,
    pub api_key_env: Option<String>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub request_timeout: Duration,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub bytes_per_token: f64,
    pub token_margin: f64,
    /// The HTTP proxy calls to this provider go through, if any.
    pub proxy: Option<String>,
    /// Agent request headers passed on (lower-case names).
    pub forward_headers: Vec<http::HeaderName>,
    /// Agent query parameters passed on (by name).
    pub forward_query: Vec<String>,
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub provider: String,
    pub model: String,
    pub priority: u32,
    pub weight: u32,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub kind: ProviderKind,
    pub targets: Vec<Target>,
    pub price: Option<Price>,
}

/// Everything `weir serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from; `None` for the embedded defaults.
    pub source: Option<PathBuf>,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub database_url: String,
    pub database_max_connections: u32,
    pub redis_url: Option<String>,
    pub admin_token: Option<SecretString>,
    pub max_body_bytes: usize,
    pub drain_timeout: Duration,
    pub reload_interval: Duration,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub audit: AuditSection,
    pub identity_refresh: Duration,
    pub providers: BTreeMap<String, Provider>,
    /// In the order the file lists them.
    pub models: Vec<Model>,
    pub limits: LimitsSection,
    pub failover: FailoverSection,
    pub ip_requests_per_second: u64,
    pub ip_burst: u32,
    /// Gateway worker threads (at least 1).
    pub workers: usize,
    /// Per-connection timeouts and connection caps, on both ports.
    pub connections: crate::serve::ConnSettings,
    pub mcp: McpConfig,
    /// Problems that do not stop Weir (a provider key variable that is not set, say).
    pub warnings: Vec<String>,
}

pub use axum::http;

impl Config {
    /// Every secret this config holds, to be removed wherever it shows up (see
    /// `audit::set_known_secrets`): provider keys, passwords in URLs, the admin token, and the
    /// values of providers' and MCP backends' headers and of backends' environment variables
    /// whose names say they hold a credential (a version or a log level is left alone: removing
    /// it from every answer would corrupt them). A value given as `Bearer …` counts without
    /// the scheme, and a URL's password also as it is unescaped.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let header_value = |(name, v): &(http::HeaderName, http::HeaderValue)| v.to_str().ok().filter(|_| names_a_credential(name.as_str())).map(credential_value);
        for p in self.providers.values() {
            out.extend(p.api_key.as_ref().map(|k| k.expose_secret().to_string()));
            out.extend(p.headers.iter().filter_map(header_value).flatten());
            out.extend(url_secrets(&p.base_url));
            out.extend(p.proxy.as_deref().into_iter().flat_map(url_secrets));
        }
        for s in &self.mcp.servers {
            match &s.transport {
                McpTransport::Http { url, headers, .. } => {
                    out.extend(headers.iter().filter_map(header_value).flatten());
                    out.extend(url_secrets(url));
                }
                McpTransport::Stdio { env, .. } => {
                    for (k, v) in env {
                        if names_a_credential(k) {
                            out.extend(credential_value(v));
                        }
                        // A connection string holds its password wherever it is given.
                        out.extend(url_secrets(v));
                    }
                }
            }
        }
        out.extend(url_secrets(&self.database_url));
        out.extend(self.redis_url.as_deref().into_iter().flat_map(url_secrets));
        out.extend(self.admin_token.as_ref().map(|t| t.expose_secret().to_string()));
        out
    }

    /// Load from `path` (or `WEIR_CONFIG`, or the embedded defaults), then apply `WEIR_*`.
    pub fn load(path: Option<&Path>, env: &Env) -> Result<Self, ConfigError> {
        let path: Option<PathBuf> =
            path.map(Path::to_path_buf).or_else(|| env.get("WEIR_CONFIG").map(PathBuf::from));
        let text = match &path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|source| ConfigError::Read { path: p.clone(), source })?,
            None => EMBEDDED_DEFAULT.to_string(),
        };
        let mut cfg = Self::from_toml(&text, env)?;
        cfg.source = path;
        Ok(cfg)
    }

    pub fn from_toml(text: &str, env: &Env) -> Result<Self, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse(describe_toml_error(&e)))?;
        Self::validate(file, env)
    }

    fn validate(file: FileConfig, env: &Env) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        let listen_text = env.get("WEIR_LISTEN").unwrap_or(&file.server.listen).to_string();
        let listen = parse_addr(&listen_text, if env.get("WEIR_LISTEN").is_some() { "WEIR_LISTEN" } else { "server.listen" })?;
        let admin_text = env.get("WEIR_ADMIN_LISTEN").unwrap_or(&file.server.admin_listen).to_string();
        let admin_listen = parse_addr(
            &admin_text,
            if env.get("WEIR_ADMIN_LISTEN").is_some() { "WEIR_ADMIN_LISTEN" } else { "server.admin_listen" },
        )?;
        if file.server.max_body_bytes == 0 {
            return Err(invalid("server.max_body_bytes", "must be greater than 0"));
        }
        if file.server.reload_interval_ms == 0 {
            return Err(invalid("server.reload_interval_ms", "must be greater than 0"));
        }
        let srv = &file.server;
        for (key, v) in [
            ("header_read_timeout_secs", srv.header_read_timeout_secs),
            ("idle_timeout_secs", srv.idle_timeout_secs),
            ("body_read_timeout_secs", srv.body_read_timeout_secs),
            ("max_connections", srv.max_connections as u64),
            ("max_connections_per_client", srv.max_connections_per_client as u64),
        ] {
            if v == 0 {
                return Err(invalid(format!("server.{key}"), "must be greater than 0"));
            }
        }
        if srv.max_connections_per_client > srv.max_connections {
            return Err(invalid("server.max_connections_per_client", "must not exceed server.max_connections"));
        }
        let connections = crate::serve::ConnSettings::from(srv);
        let mut trusted_proxies = Vec::new();
        for (i, p) in file.server.trusted_proxies.iter().enumerate() {
            trusted_proxies.push(
                p.parse()
                    .map_err(|_| invalid(format!("server.trusted_proxies[{i}]"), format!("`{p}` is not an IP address")))?,
            );
        }

        let database_url = env.get("WEIR_DATABASE_URL").unwrap_or(&file.database.url).to_string();
        let db_key = if env.get("WEIR_DATABASE_URL").is_some() { "WEIR_DATABASE_URL" } else { "database.url" };
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(invalid(db_key, "must start with sqlite:, postgres:// or postgresql://"));
        }
        if file.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be greater than 0"));
        }
        let redis_url = env.get("WEIR_REDIS_URL").map(str::to_string);
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid("WEIR_REDIS_URL", "must start with redis:// or rediss://"));
            }
        }
        let admin_token = env.get("WEIR_ADMIN_TOKEN").map(|t| SecretString::from(t.to_string()));
        if let Some(t) = env.get("WEIR_ADMIN_TOKEN") {
            if t.len() < 16 {
                return Err(invalid("WEIR_ADMIN_TOKEN", "must be at least 16 characters"));
            }
        }

        let a = &file.audit;
        if a.batch_size == 0 || a.batch_size > 1000 {
            return Err(invalid("audit.batch_size", "must be between 1 and 1000"));
        }
        if a.memory_queue == 0 {
            return Err(invalid("audit.memory_queue", "must be greater than 0"));
        }
        if a.flush_interval_ms == 0 {
            return Err(invalid("audit.flush_interval_ms", "must be greater than 0"));
        }
        if a.retention_interval_secs == 0 {
            return Err(invalid("audit.retention_interval_secs", "must be greater than 0"));
        }
        if a.spool_path.trim().is_empty() {
            return Err(invalid("audit.spool_path", "must not be empty"));
        }
        if file.identity.refresh_interval_ms == 0 {
            return Err(invalid("identity.refresh_interval_ms", "must be greater than 0"));
        }

        let mut providers = BTreeMap::new();
        for (i, p) in file.providers.iter().enumerate() {
            let key = format!("providers[{i}]");
            check_name(&p.name, &format!("{key}.name"))?;
            if providers.contains_key(&p.name) {
                return Err(invalid(format!("{key}.name"), format!("provider `{}` is defined twice", p.name)));
            }
            let base_url = p.base_url.trim_end_matches('/').to_string();
            let server = match reqwest::Url::parse(&base_url) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => (u.host_str().map(str::to_string), u.port_or_known_default()),
                _ => return Err(invalid(format!("{key}.base_url"), format!("`{}` is not an http(s) URL", p.base_url))),
            };
            let api_key = match &p.api_key_env {
                Some(var) => match env.get(var) {
                    Some(v) => Some(SecretString::from(v.to_string())),
                    None => {
                        warnings.push(format!(
                            "{key}.api_key_env: environment variable {var} is not set; calls to provider `{}` will fail until it is",
                            p.name
                        ));
                        None
                    }
                },
                None => None,
            };
            for (field, v) in [("connect_timeout_ms", p.connect_timeout_ms), ("read_timeout_ms", p.read_timeout_ms), ("request_timeout_ms", p.request_timeout_ms)] {
                if v == 0 {
                    return Err(invalid(format!("{key}.{field}"), "must be greater than 0"));
                }
            }
            let bytes_per_token = p.bytes_per_token.unwrap_or(2.0);
            if !(bytes_per_token.is_finite() && bytes_per_token > 0.0) {
                return Err(invalid(format!("{key}.bytes_per_token"), "must be a positive number"));
            }
            let token_margin = p.token_margin.unwrap_or(match p.kind {
                ProviderKind::Openai => 1.05,
                ProviderKind::Anthropic => 1.3,
            });
            if !(token_margin.is_finite() && token_margin >= 1.0) {
                return Err(invalid(format!("{key}.token_margin"), "must be a number of at least 1"));
            }
            let mut headers = Vec::new();
            for (name, value) in &p.headers {
                let n = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| invalid(format!("{key}.headers"), format!("`{name}` is not a valid header name")))?;
                let v = http::HeaderValue::from_str(value)
                    .map_err(|_| invalid(format!("{key}.headers.{name}"), "is not a valid header value"))?;
                headers.push((n, v));
            }
            let forward_headers = match &p.forward_headers {
                Some(names) => names.clone(),
                None => default_forward_headers(p.kind).iter().map(|n| n.to_string()).collect(),
            }
            .iter()
            .map(|n| {
                http::HeaderName::from_bytes(n.trim().to_ascii_lowercase().as_bytes())
                    .map_err(|_| invalid(format!("{key}.forward_headers"), format!("`{n}` is not a valid header name")))
            })
            .collect::<Result<Vec<_>, _>>()?;
            for n in &forward_headers {
                if weirs_own_header(n.as_str()) {
                    return Err(invalid(format!("{key}.forward_headers"), format!("`{n}` is Weir's to set, never the agent's")));
                }
            }
            let forward_query: Vec<String> = p.forward_query.iter().map(|q| q.trim().to_string()).collect();
            if forward_query.iter().any(String::is_empty) {
                return Err(invalid(format!("{key}.forward_query"), "names must not be empty"));
            }
            if p.max_response_bytes < 1024 {
                return Err(invalid(format!("{key}.max_response_bytes"), "must be at least 1024"));
            }
            let env_proxy = proxy_from_env(env, &base_url);
            providers.insert(
                p.name.clone(),
                Provider {
                    name: p.name.clone(),
                    kind: p.kind,
                    base_url,
                    server_address: server.0,
                    server_port: server.1,
                    api_key,
                    api_key_env: p.api_key_env.clone(),
                    connect_timeout: Duration::from_millis(p.connect_timeout_ms),
                    read_timeout: Duration::from_millis(p.read_timeout_ms),
                    request_timeout: Duration::from_millis(p.request_timeout_ms),
                    headers,
                    bytes_per_token,
                    token_margin,
                    proxy: match &p.proxy {
                        Some(explicit) if explicit.trim().is_empty() => None,
                        Some(explicit) => {
                            if reqwest::Url::parse(explicit).is_err() {
                                return Err(invalid(format!("{key}.proxy"), format!("`{explicit}` is not a URL")));
                            }
                            Some(explicit.clone())
                        }
                        None => env_proxy,
                    },
                    forward_headers,
                    forward_query,
                    max_response_bytes: p.max_response_bytes,
                },
            );
        }

        let mut models: Vec<Model> = Vec::new();
        for (i, m) in file.models.iter().enumerate() {
            let key = format!("models[{i}]");
            if m.name.trim().is_empty() || m.name.len() > 200 {
                return Err(invalid(format!("{key}.name"), "must be 1 to 200 characters"));
            }
            if models.iter().any(|x| x.name == m.name) {
                return Err(invalid(format!("{key}.name"), format!("model `{}` is defined twice", m.name)));
            }
            if m.targets.is_empty() {
                return Err(invalid(format!("{key}.targets"), "must list at least one target"));
            }
            let mut kind = None;
            let mut targets = Vec::new();
            for (j, t) in m.targets.iter().enumerate() {
                let tkey = format!("{key}.targets[{j}]");
                let Some(p) = providers.get(&t.provider) else {
                    let known: Vec<&str> = providers.keys().map(String::as_str).collect();
                    return Err(invalid(
                        format!("{tkey}.provider"),
                        format!("unknown provider `{}` (defined: {})", t.provider, if known.is_empty() { "none".into() } else { known.join(", ") }),
                    ));
                };
                if t.model.trim().is_empty() {
                    return Err(invalid(format!("{tkey}.model"), "must not be empty"));
                }
                match kind {
                    None => kind = Some(p.kind),
                    Some(k) if k != p.kind => {
                        return Err(invalid(
                            format!("{tkey}.provider"),
                            format!(
                                "provider `{}` speaks the {} API but the model's first target speaks {}; a model's targets must share one API kind",
                                p.name,
                                p.kind.as_str(),
                                k.as_str()
                            ),
                        ))
                    }
                    Some(_) => {}
                }
                if t.weight == Some(0) {
                    return Err(invalid(format!("{tkey}.weight"), "must be at least 1"));
                }
                targets.push(Target {
                    provider: t.provider.clone(),
                    model: t.model.clone(),
                    priority: t.priority.unwrap_or(j as u32),
                    weight: t.weight.unwrap_or(1),
                });
            }
            if let Some(price) = &m.price {
                for (field, v) in [("input_per_mtok", Some(price.input_per_mtok)), ("output_per_mtok", Some(price.output_per_mtok)), ("cached_input_per_mtok", price.cached_input_per_mtok)] {
                    if let Some(v) = v {
                        if !v.is_finite() || v < 0.0 {
                            return Err(invalid(format!("{key}.price.{field}"), "must be a non-negative number"));
                        }
                    }
                }
            }
            models.push(Model {
                name: m.name.clone(),
                kind: kind.unwrap_or(ProviderKind::Openai),
                targets,
                price: m.price,
            });
        }

        validate_limits(&file.limits, &models)?;
        let mcp = validate_mcp(&file.mcp)?;
        let f = &file.failover;
        if f.max_attempts == 0 {
            return Err(invalid("failover.max_attempts", "must be at least 1"));
        }
        if f.deadline_ms == 0 || f.circuit_cooldown_ms == 0 || f.circuit_max_cooldown_ms < f.circuit_cooldown_ms {
            return Err(invalid("failover", "deadline_ms and circuit_cooldown_ms must be positive, circuit_max_cooldown_ms at least circuit_cooldown_ms"));
        }
        if f.circuit_failures == 0 {
            return Err(invalid("failover.circuit_failures", "must be at least 1"));
        }
        if file.server.ip_requests_per_second > 0 && file.server.ip_burst == 0 {
            return Err(invalid("server.ip_burst", "must be at least 1 when ip_requests_per_second is set"));
        }

        Ok(Self {
            source: None,
            listen,
            admin_listen,
            database_url,
            database_max_connections: file.database.max_connections,
            redis_url,
            admin_token,
            max_body_bytes: file.server.max_body_bytes,
            drain_timeout: Duration::from_secs(file.server.drain_timeout_secs),
            reload_interval: Duration::from_millis(file.server.reload_interval_ms),
            trusted_proxies,
            audit: file.audit,
            identity_refresh: Duration::from_millis(file.identity.refresh_interval_ms),
            providers,
            models,
            limits: file.limits,
            failover: file.failover,
            ip_requests_per_second: file.server.ip_requests_per_second,
            ip_burst: file.server.ip_burst,
            workers: match file.server.workers {
                0 => std::thread::available_parallelism().map_or(1, usize::from),
                n => n,
            },
            connections,
            mcp,
            warnings,
        })
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

fn validate_limits(limits: &LimitsSection, models: &[Model]) -> Result<(), ConfigError> {
    if limits.redis_prefix.is_empty() {
        return Err(invalid("limits.redis_prefix", "must not be empty"));
    }
    if limits.default_max_output_tokens == 0 {
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
    for (i, b) in limits.budgets.iter().enumerate() {
        let key = format!("limits.budgets[{i}]");
        check_scope(&key, &b.agent, &b.model)?;
        match (b.tokens, b.cost_usd) {
            (Some(_), Some(_)) | (None, None) => return Err(invalid(key, "set exactly one of tokens and cost_usd")),
            (None, Some(c)) if !(c.is_finite() && c >= 0.0) => return Err(invalid(format!("{key}.cost_usd"), "must be a non-negative number")),
            _ => {}
        }
    }
    for (i, r) in limits.rates.iter().enumerate() {
        let key = format!("limits.rates[{i}]");
        check_scope(&key, &r.agent, &r.model)?;
        if r.rpm.is_none() && r.tpm.is_none() && r.mcp_rpm.is_none() {
            return Err(invalid(key, "set rpm, tpm, mcp_rpm or several"));
        }
        if r.mcp_rpm.is_some() && r.model.is_some() {
            return Err(invalid(format!("{key}.mcp_rpm"), "is per agent: give it in an entry without `model`"));
        }
    }
    Ok(())
}

fn parse_addr(text: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| invalid(key, format!("`{text}` is not an address like 127.0.0.1:4000")))
}

fn check_name(name: &str, key: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("`{name}` must be 1 to 64 letters, digits, '-', '_' or '.'")))
    }
}

/// toml's own messages already carry the key path and the line; keep them, on one line.
fn describe_toml_error(e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => format!("config is not valid: {msg} (at byte {})", span.start),
        None => format!("config is not valid: {msg}"),
    }
}

/// Headers only Weir sets on a call to a provider: credentials, the connection's own (hop by
/// hop), framing, trace context, and Weir's own `x-weir-*`.
fn weirs_own_header(name: &str) -> bool {
    matches!(
        name,
        "authorization"
            | "proxy-authorization"
            | "x-api-key"
            | "host"
            | "cookie"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
            | "traceparent"
            | "tracestate"
            | "baggage"
    ) || name.starts_with("x-weir-")
}

/// Whether a header or variable name says its value is a credential.
fn names_a_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "passw", "credential", "cookie", "signature", "session"].iter().any(|w| name.contains(w))
}

/// A credential as it may be echoed: the whole value, the token after an auth scheme
/// (`Bearer …`, `Basic …`, in any case), and a `Basic` credential's password once decoded.
fn credential_value(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    if let Some((scheme, token)) = value.split_once(' ').filter(|(scheme, _)| !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic())) {
        let token = token.trim();
        out.push(token.to_string());
        if scheme.eq_ignore_ascii_case("basic") {
            use base64::Engine as _;
            if let Some((_, password)) = base64::engine::general_purpose::STANDARD.decode(token).ok().and_then(|b| String::from_utf8(b).ok()).as_deref().and_then(|d| d.split_once(':')) {
                out.push(password.to_string());
            }
        }
    }
    out
}

/// The secrets a URL carries: the password of its user information (`scheme://user:password@`,
/// or the user alone when there is no password, as tokens are often given), and the values of
/// query parameters whose names say they are credentials; each as written and unescaped.
fn url_secrets(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else { return Vec::new() };
    let mut found: Vec<&str> = Vec::new();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        found.push(userinfo.split_once(':').map_or(userinfo, |(_, password)| password));
    }
    if let Some((_, query)) = rest.split_once('?') {
        let query = query.split('#').next().unwrap_or("");
        found.extend(query.split('&').filter_map(|pair| pair.split_once('=')).filter(|(k, _)| names_a_credential(k)).map(|(_, v)| v));
    }
    let mut out = Vec::new();
    for v in found.into_iter().filter(|v| !v.is_empty()) {
        out.push(v.to_string());
        if let Some(plain) = crate::mcp::policy::percent_decode(v).filter(|p| p != v) {
            out.push(plain);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::default()
    }

    #[test]
    fn proxy_variables_follow_scheme_case_and_no_proxy() {
        let env: Env = [("HTTPS_PROXY", "http://sec:3128"), ("http_proxy", "http://plain:3128")].into_iter().collect();
        assert_eq!(proxy_from_env(&env, "https://api.openai.com/v1").as_deref(), Some("http://sec:3128"));
        assert_eq!(proxy_from_env(&env, "http://10.0.0.5:8000/v1").as_deref(), Some("http://plain:3128"));
        let env: Env = [("ALL_PROXY", "http://all:1"), ("NO_PROXY", "internal.example, .corp.example,[::1]")].into_iter().collect();
        assert_eq!(proxy_from_env(&env, "https://api.anthropic.com").as_deref(), Some("http://all:1"));
        assert_eq!(proxy_from_env(&env, "https://internal.example/v1"), None);
        assert_eq!(proxy_from_env(&env, "https://llm.corp.example/v1"), None, "a domain covers its hosts");
        assert_eq!(proxy_from_env(&env, "https://notcorp.example/v1").as_deref(), Some("http://all:1"));
        let env: Env = [("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")].into_iter().collect();
        assert_eq!(proxy_from_env(&env, "https://api.openai.com"), None);
        assert_eq!(proxy_from_env(&Env::default(), "https://api.openai.com"), None);
    }

    #[test]
    fn a_provider_proxy_key_wins_over_the_variables() {
        let toml = r#"
[[providers]]
name = "a"
kind = "openai"
base_url = "https://api.openai.com/v1"
proxy = "http://explicit:8080"

[[providers]]
name = "b"
kind = "openai"
base_url = "https://api.openai.com/v1"
proxy = ""

[[providers]]
name = "c"
kind = "openai"
base_url = "https://api.openai.com/v1"
"#;
        let env: Env = [("HTTPS_PROXY", "http://fromenv:1")].into_iter().collect();
        let c = Config::from_toml(toml, &env).unwrap();
        assert_eq!(c.providers["a"].proxy.as_deref(), Some("http://explicit:8080"));
        assert_eq!(c.providers["b"].proxy, None);
        assert_eq!(c.providers["c"].proxy.as_deref(), Some("http://fromenv:1"));
        let bad = toml.replace("http://explicit:8080", "not a url");
        let e = Config::from_toml(&bad, &env).unwrap_err().to_string();
        assert!(e.contains("providers[0].proxy"), "{e}");
    }

    #[test]
    fn forward_headers_cannot_name_what_weir_sets_and_query_names_are_trimmed() {
        let toml = |forward: &str| {
            format!("[[providers]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\nforward_headers = [{forward}]\nforward_query = [\" api-version \"]\n")
        };
        for refused in ["Authorization", "proxy-authorization", "Connection", "te", "expect", "traceparent", "x-weir-session", "X-Weir-User", "host", "upgrade"] {
            let e = Config::from_toml(&toml(&format!("\"{refused}\"")), &env()).unwrap_err().to_string();
            assert!(e.contains("is Weir's to set"), "{refused}: {e}");
        }
        let c = Config::from_toml(&toml("\"openai-beta\", \"x-team\""), &env()).unwrap();
        assert_eq!(c.providers["a"].forward_headers, vec![http::HeaderName::from_static("openai-beta"), http::HeaderName::from_static("x-team")]);
        assert_eq!(c.providers["a"].forward_query, vec!["api-version".to_string()]);
    }

    #[test]
    fn every_secret_the_config_holds_is_known_to_redaction() {
        let toml = r#"
[database]
url = "postgres://weir:db%2Dpass%21word@db:5432/weir"

[[providers]]
name = "a"
kind = "openai"
base_url = "https://user:url-pass-1234@llm.example/v1"
api_key_env = "TEST_PROVIDER_KEY"
proxy = "http://proxy-user:proxy-pass-5678@proxy:3128"
headers = { "x-org-token" = "Bearer org-token-90ab", "x-team" = "research-agents" }

[[mcp.servers]]
name = "remote"
url = "https://mcp:mcp-url-pass-77@mcp.example/mcp"
headers = { Authorization = "Bearer mcp-bearer-token-1" }

[[mcp.servers]]
name = "local"
command = ["node", "server.js"]
env = { GITHUB_TOKEN = "stdio-env-secret-42", LOG_LEVEL = "verbose-logging", DATABASE_URL = "postgres://app:env-db-pass-31@db/app" }

[[mcp.servers]]
name = "tokened"
url = "https://ghp-token-as-user-55@git.example/mcp?api_key=query-key-66&page=2"
headers = { "Proxy-Authorization" = "basic dXNlcjpiYXNpYy1wYXNzLTc3" }
"#;
        let env: Env = [("TEST_PROVIDER_KEY", "sk-provider-key-abcdef"), ("WEIR_ADMIN_TOKEN", "admin-token-from-env"), ("WEIR_REDIS_URL", "redis://:redis-pass-99@cache:6379")].into_iter().collect();
        let c = Config::from_toml(toml, &env).unwrap();
        let secrets = c.secrets();
        for expected in [
            "db%2Dpass%21word",
            "db-pass!word",
            "url-pass-1234",
            "sk-provider-key-abcdef",
            "proxy-pass-5678",
            "org-token-90ab",
            "mcp-url-pass-77",
            "mcp-bearer-token-1",
            "stdio-env-secret-42",
            "admin-token-from-env",
            "redis-pass-99",
            "env-db-pass-31",
            "ghp-token-as-user-55",
            "query-key-66",
            "dXNlcjpiYXNpYy1wYXNzLTc3",
            "basic-pass-77",
        ] {
            assert!(secrets.iter().any(|s| s == expected), "{expected} missing from {secrets:?}");
        }
        for plain in ["user", "proxy-user", "mcp", "app", "weir", "llm.example", "research-agents", "verbose-logging", "2"] {
            assert!(!secrets.iter().any(|s| s == plain || s.contains("llm.example")), "{plain} is not a secret: {secrets:?}");
        }
    }

    #[test]
    fn embedded_default_is_valid_and_names_no_secret() {
        let cfg = Config::from_toml(EMBEDDED_DEFAULT, &env()).unwrap();
        assert!(cfg.providers.contains_key("openai"));
        assert!(cfg.providers.contains_key("anthropic"));
        assert!(cfg.model("gpt-4o-mini").is_some());
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:4000");
        assert_eq!(cfg.admin_listen.to_string(), "127.0.0.1:4001");
        assert_eq!(cfg.database_url, "sqlite://weir.db");
        // Keys absent from the environment are a warning, never an error.
        assert!(cfg.warnings.iter().any(|w| w.contains("OPENAI_API_KEY")));
    }

    #[test]
    fn env_overrides_file() {
        let env: Env = [("WEIR_LISTEN", "0.0.0.0:9000"), ("WEIR_DATABASE_URL", "postgres://x@h/db"), ("WEIR_ADMIN_TOKEN", "0123456789abcdef0")]
            .into_iter()
            .collect();
        let cfg = Config::from_toml("", &env).unwrap();
        assert_eq!(cfg.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(cfg.database_url, "postgres://x@h/db");
        assert!(cfg.admin_token.is_some());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("[server]\nlisten_port = 3\n", &env()).unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
    }

    #[test]
    fn mixed_api_kinds_rejected_naming_the_target() {
        let text = r#"
[[providers]]
name = "a"
kind = "openai"
base_url = "http://x/v1"
[[providers]]
name = "b"
kind = "anthropic"
base_url = "http://y"
[[models]]
name = "m"
targets = [{ provider = "a", model = "x" }, { provider = "b", model = "y" }]
"#;
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.starts_with("models[0].targets[1].provider:"), "{err}");
    }

    #[test]
    fn unknown_provider_rejected() {
        let text = "[[models]]\nname = \"m\"\ntargets = [{ provider = \"nope\", model = \"x\" }]\n";
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.contains("models[0].targets[0].provider") && err.contains("nope"), "{err}");
    }

    #[test]
    fn bad_listen_and_bad_url_rejected() {
        let err = Config::from_toml("[server]\nlisten = \"nowhere\"\n", &env()).unwrap_err().to_string();
        assert!(err.starts_with("server.listen:"), "{err}");
        let text = "[[providers]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"ftp://x\"\n";
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.starts_with("providers[0].base_url:"), "{err}");
        let text = "[[providers]]\nname = \"a\"\nkind = \"cohere\"\nbase_url = \"http://x\"\n";
        assert!(Config::from_toml(text, &env()).is_err());
    }

    #[test]
    fn negative_price_rejected() {
        let text = "[[providers]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"http://x\"\n[[models]]\nname = \"m\"\ntargets = [{ provider = \"a\", model = \"x\" }]\nprice = { input_per_mtok = -1, output_per_mtok = 1 }\n";
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.starts_with("models[0].price.input_per_mtok"), "{err}");
    }

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

    #[test]
    fn price_counts_cached_tokens_at_their_own_rate() {
        let p = Price { input_per_mtok: 2.0, output_per_mtok: 8.0, cached_input_per_mtok: Some(0.5) };
        let c = p.cost(1_000_000, 400_000, 500_000);
        assert!((c - (1.2 + 0.2 + 4.0)).abs() < 1e-9, "{c}");
        let p = Price { input_per_mtok: 1.0, output_per_mtok: 1.0, cached_input_per_mtok: None };
        assert!((p.cost(10, 5, 0) - 10.0 / 1e6).abs() < 1e-15);
    }
}
