//! `[[providers]]`: the upstream LLM APIs, their credentials, timeouts, proxies and the
//! headers passed on to them.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{http, invalid, parse_headers, ConfigError, Env};

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

/// The `[[providers]]` list checked, by name. A provider whose key variable is not set is
/// kept, with a warning pushed to `warnings`: its calls fail until the variable is set.
pub(super) fn validate_providers(sections: &[ProviderSection], env: &Env, warnings: &mut Vec<String>) -> Result<BTreeMap<String, Provider>, ConfigError> {
    let mut providers = BTreeMap::new();
    for (i, p) in sections.iter().enumerate() {
        let key = format!("providers[{i}]");
        // Before the name's own check: a name met twice passed it the first time.
        if providers.contains_key(&p.name) {
            return Err(invalid(format!("{key}.name"), format!("provider `{}` is defined twice", p.name)));
        }
        providers.insert(p.name.clone(), p.validate(&key, env, warnings)?);
    }
    Ok(providers)
}

impl ProviderSection {
    fn validate(&self, key: &str, env: &Env, warnings: &mut Vec<String>) -> Result<Provider, ConfigError> {
        check_name(&self.name, &format!("{key}.name"))?;
        let base_url = self.base_url.trim_end_matches('/').to_string();
        let server = match reqwest::Url::parse(&base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => (u.host_str().map(str::to_string), u.port_or_known_default()),
            _ => return Err(invalid(format!("{key}.base_url"), format!("`{}` is not an http(s) URL", self.base_url))),
        };
        let api_key = match &self.api_key_env {
            Some(var) => match env.get(var) {
                Some(v) => Some(SecretString::from(v.to_string())),
                None => {
                    warnings.push(format!(
                        "{key}.api_key_env: environment variable {var} is not set; calls to provider `{}` will fail until it is",
                        self.name
                    ));
                    None
                }
            },
            None => None,
        };
        for (field, v) in [("connect_timeout_ms", self.connect_timeout_ms), ("read_timeout_ms", self.read_timeout_ms), ("request_timeout_ms", self.request_timeout_ms)] {
            if v == 0 {
                return Err(invalid(format!("{key}.{field}"), "must be greater than 0"));
            }
        }
        let bytes_per_token = self.bytes_per_token.unwrap_or(2.0);
        if !(bytes_per_token.is_finite() && bytes_per_token > 0.0) {
            return Err(invalid(format!("{key}.bytes_per_token"), "must be a positive number"));
        }
        let token_margin = self.token_margin.unwrap_or(match self.kind {
            ProviderKind::Openai => 1.05,
            ProviderKind::Anthropic => 1.3,
        });
        if !(token_margin.is_finite() && token_margin >= 1.0) {
            return Err(invalid(format!("{key}.token_margin"), "must be a number of at least 1"));
        }
        let headers = parse_headers(key, &self.headers)?;
        let forward_headers = match &self.forward_headers {
            Some(names) => names.clone(),
            None => default_forward_headers(self.kind).iter().map(|n| n.to_string()).collect(),
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
        let forward_query: Vec<String> = self.forward_query.iter().map(|q| q.trim().to_string()).collect();
        if forward_query.iter().any(String::is_empty) {
            return Err(invalid(format!("{key}.forward_query"), "names must not be empty"));
        }
        if self.max_response_bytes < 1024 {
            return Err(invalid(format!("{key}.max_response_bytes"), "must be at least 1024"));
        }
        let proxy = match &self.proxy {
            Some(explicit) if explicit.trim().is_empty() => None,
            Some(explicit) => {
                if reqwest::Url::parse(explicit).is_err() {
                    return Err(invalid(format!("{key}.proxy"), format!("`{explicit}` is not a URL")));
                }
                Some(explicit.clone())
            }
            None => proxy_from_env(env, &base_url),
        };
        Ok(Provider {
            name: self.name.clone(),
            kind: self.kind,
            base_url,
            server_address: server.0,
            server_port: server.1,
            api_key,
            api_key_env: self.api_key_env.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            read_timeout: Duration::from_millis(self.read_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            headers,
            bytes_per_token,
            token_margin,
            proxy,
            forward_headers,
            forward_query,
            max_response_bytes: self.max_response_bytes,
        })
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
