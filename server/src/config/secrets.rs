//! The secrets a configuration holds, learnt so that they can be removed wherever they show up.

use secrecy::ExposeSecret;

use super::{http, Config, McpTransport};

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
        for a in &self.a2a.agents {
            out.extend(a.headers.iter().filter_map(header_value).flatten());
            out.extend(url_secrets(&a.base_url));
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
}

/// Whether a header or variable name says its value is a credential.
pub(crate) fn names_a_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "passw", "credential", "cookie", "signature", "session"].iter().any(|w| name.contains(w))
}

/// A credential as it may be echoed: the whole value, the token after an auth scheme
/// (`Bearer …`, `Basic …`, in any case), and a `Basic` credential's password once decoded.
pub(crate) fn credential_value(value: &str) -> Vec<String> {
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
    use crate::config::Env;

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
}
