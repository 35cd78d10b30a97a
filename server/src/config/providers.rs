//! `[[providers]]`: the upstream LLM APIs, their credentials, timeouts, proxies and the
//! headers passed on to them.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{http, invalid, ConfigError, Env};

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

pub(super) fn check_name(name: &str, key: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("`{name}` must be 1 to 64 letters, digits, '-', '_' or '.'")))
    }
}


/// Headers only Weir sets on a call to a provider: credentials, the connection's own (hop by
/// hop), framing, trace context, and Weir's own `x-weir-*`.
pub(super) fn weirs_own_header(name: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::env;
    use crate::config::Config;

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
}
