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

pub mod a2a;
mod audit;
pub mod cache;
mod database;
mod failover;
mod guardrails;
mod identity;
mod limits;
mod mcp;
mod models;
mod providers;
mod secrets;
pub(crate) use secrets::{credential_value, names_a_credential};
mod server;

pub use a2a::{A2aAgent, A2aConfig, A2aRule, A2aSection};
pub use audit::AuditSection;
pub use cache::{CacheConfig, CacheSection, CacheSetting, Partition};
pub use database::DatabaseSection;
pub use failover::FailoverSection;
pub use guardrails::GuardrailsSection;
pub use identity::IdentitySection;
pub use limits::{BudgetSection, LimitsSection, Period, RateSection, RedisFailure};
pub use mcp::{McpArgSection, McpConfig, McpRuleSection, McpSection, McpServer, McpServerSection, McpTransport, SuspiciousTools, UrlTransport};
pub use models::{Model, ModelSection, Price, Target, TargetSection};
pub use providers::{default_forward_headers, proxy_from_env, Provider, ProviderKind, ProviderSection};
pub use server::ServerSection;

use models::validate_models;
use providers::validate_providers;

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
    #[serde(default)]
    pub guardrails: GuardrailsSection,
    #[serde(default)]
    pub cache: CacheSection,
    #[serde(default)]
    pub a2a: A2aSection,
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
    /// The guardrails every call runs under (before an agent's or a model's overrides).
    pub guardrails: std::sync::Arc<crate::guard::policy::Guardrails>,
    pub cache: CacheConfig,
    pub a2a: A2aConfig,
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

    /// Sections are checked in this order and a file is refused for the first fault met, so a
    /// file with several faults is always refused for the same one.
    fn validate(file: FileConfig, env: &Env) -> Result<Self, ConfigError> {
        let server = file.server.validate(env)?;
        let database_url = file.database.validate(env)?;
        let redis_url = redis_url(env)?;
        let admin_token = admin_token(env)?;
        file.audit.validate()?;
        let identity_refresh = file.identity.validate()?;
        let mut warnings = Vec::new();
        let providers = validate_providers(&file.providers, env, &mut warnings)?;
        let models = validate_models(&file.models, &providers)?;
        file.limits.validate(&models)?;
        let mcp = file.mcp.validate()?;
        file.failover.validate()?;
        let guardrails = file.guardrails.validate()?;
        let cache = file.cache.validate(&models)?;
        let a2a = file.a2a.validate(env)?;
        file.server.validate_ip_guard()?;

        Ok(Self {
            source: None,
            listen: server.listen,
            admin_listen: server.admin_listen,
            database_url,
            database_max_connections: file.database.max_connections,
            redis_url,
            admin_token,
            max_body_bytes: server.max_body_bytes,
            drain_timeout: server.drain_timeout,
            reload_interval: server.reload_interval,
            trusted_proxies: server.trusted_proxies,
            audit: file.audit,
            identity_refresh,
            providers,
            models,
            limits: file.limits,
            failover: file.failover,
            ip_requests_per_second: server.ip_requests_per_second,
            ip_burst: server.ip_burst,
            workers: server.workers,
            connections: server.connections,
            mcp,
            guardrails,
            cache,
            a2a,
            warnings,
        })
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// `WEIR_REDIS_URL`, the one way to give Redis (it is never in the file).
fn redis_url(env: &Env) -> Result<Option<String>, ConfigError> {
    let redis_url = env.get("WEIR_REDIS_URL").map(str::to_string);
    if let Some(url) = &redis_url {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(invalid("WEIR_REDIS_URL", "must start with redis:// or rediss://"));
        }
    }
    Ok(redis_url)
}

/// `WEIR_ADMIN_TOKEN`, the one way to give the admin token (it is never in the file).
fn admin_token(env: &Env) -> Result<Option<SecretString>, ConfigError> {
    let admin_token = env.get("WEIR_ADMIN_TOKEN").map(|t| SecretString::from(t.to_string()));
    if let Some(t) = env.get("WEIR_ADMIN_TOKEN") {
        if t.len() < 16 {
            return Err(invalid("WEIR_ADMIN_TOKEN", "must be at least 16 characters"));
        }
    }
    Ok(admin_token)
}

/// The `headers` table of the section at `key` (a provider, an MCP backend) as header pairs.
fn parse_headers(key: &str, headers: &BTreeMap<String, String>) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, ConfigError> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let n = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("{key}.headers"), format!("`{name}` is not a valid header name")))?;
        let v = http::HeaderValue::from_str(value).map_err(|_| invalid(format!("{key}.headers.{name}"), "is not a valid header value"))?;
        out.push((n, v));
    }
    Ok(out)
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
