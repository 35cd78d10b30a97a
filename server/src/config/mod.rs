//! Typed configuration: the TOML file, `WEIR_*` environment overrides and the embedded defaults.
//!
//! Everything here is validated before any port is bound; a validation error names the key and
//! what is wrong. This module owns parsing and validation only: it never reads the process
//! environment itself (callers hand it an [`Env`] snapshot) and never touches the network.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

mod audit;
mod database;
mod failover;
mod identity;
mod limits;
mod mcp;
mod models;
mod providers;
mod secrets;
mod server;

pub use audit::AuditSection;
pub use database::DatabaseSection;
pub use failover::FailoverSection;
pub use identity::IdentitySection;
pub use limits::{BudgetSection, LimitsSection, Period, RateSection, RedisFailure};
pub use mcp::{McpArgSection, McpConfig, McpRuleSection, McpSection, McpServer, McpServerSection, McpTransport, SuspiciousTools, UrlTransport};
pub use models::{Model, ModelSection, Price, Target, TargetSection};
pub use providers::{default_forward_headers, proxy_from_env, Provider, ProviderKind, ProviderSection};
pub use server::ServerSection;

use limits::validate_limits;
use mcp::validate_mcp;
use providers::{check_name, weirs_own_header};

/// The configuration used when neither `--config` nor `WEIR_CONFIG` names a file.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../examples/default.toml");

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

fn parse_addr(text: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| invalid(key, format!("`{text}` is not an address like 127.0.0.1:4000")))
}

/// toml's own messages already carry the key path and the line; keep them, on one line.
fn describe_toml_error(e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => format!("config is not valid: {msg} (at byte {})", span.start),
        None => format!("config is not valid: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn env() -> Env {
        Env::default()
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
    fn bad_listen_and_bad_url_rejected() {
        let err = Config::from_toml("[server]\nlisten = \"nowhere\"\n", &env()).unwrap_err().to_string();
        assert!(err.starts_with("server.listen:"), "{err}");
        let text = "[[providers]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"ftp://x\"\n";
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.starts_with("providers[0].base_url:"), "{err}");
        let text = "[[providers]]\nname = \"a\"\nkind = \"cohere\"\nbase_url = \"http://x\"\n";
        assert!(Config::from_toml(text, &env()).is_err());
    }
}
