//! The request Weir sends a provider: URL, headers and body.
//!
//! Forwarding hygiene lives here: the agent's Weir key never goes upstream (neither its header
//! nor any header carrying it), hop-by-hop headers are dropped, the provider's own key is added,
//! and the trace context continues in `traceparent`.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::body::RequestBody;

use super::Api;
use crate::config::{Provider, ProviderKind};

/// Headers that never cross Weir in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers Weir sets itself (or must not pass) on the way up.
const NOT_FORWARDED_UP: &[&str] = &[
    "host",
    "content-length",
    "authorization",
    "x-api-key",
    "accept-encoding",
    "cookie",
    "traceparent",
    "tracestate",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "expect",
];

pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The path a call goes to, after the provider's base URL.
pub fn endpoint_path(provider: &Provider, api: Api) -> &'static str {
    match (provider.kind, api) {
        (ProviderKind::Anthropic, _) if provider.base_url.ends_with("/v1") => "/messages",
        (ProviderKind::Anthropic, _) => "/v1/messages",
        (ProviderKind::Openai, Api::Chat) => "/chat/completions",
        (ProviderKind::Openai, Api::Responses) => "/responses",
        (ProviderKind::Openai, Api::Embeddings) => "/embeddings",
        (ProviderKind::Openai, Api::Messages) => "/messages",
    }
}

/// Headers for the upstream request, from the client's.
pub fn upstream_headers(client: &HeaderMap, provider: &Provider, weir_key: Option<&str>) -> HeaderMap {
    let connection_listed: Vec<String> = client
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    let mut out = HeaderMap::with_capacity(client.len() + 4);
    for (name, value) in client {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || NOT_FORWARDED_UP.contains(&n)
            || n.starts_with("x-weir-")
            || connection_listed.iter().any(|c| c == n)
        {
            continue;
        }
        // Whatever header it travels in, the agent's Weir key stays here.
        if let Some(key) = weir_key {
            if memchr::memmem::find(value.as_bytes(), key.as_bytes()).is_some() {
                continue;
            }
        }
        out.append(name.clone(), value.clone());
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    match provider.kind {
        ProviderKind::Openai => {
            if let Some(k) = &provider.api_key {
                if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", k.expose_secret())) {
                    let mut v = v;
                    v.set_sensitive(true);
                    out.insert(header::AUTHORIZATION, v);
                }
            }
        }
        ProviderKind::Anthropic => {
            if let Some(k) = &provider.api_key {
                if let Ok(mut v) = HeaderValue::from_str(k.expose_secret()) {
                    v.set_sensitive(true);
                    out.insert(HeaderName::from_static("x-api-key"), v);
                }
            }
            if !out.contains_key("anthropic-version") {
                out.insert(HeaderName::from_static("anthropic-version"), HeaderValue::from_static(ANTHROPIC_VERSION));
            }
        }
    }
    for (n, v) in &provider.headers {
        out.insert(n.clone(), v.clone());
    }
    out
}

/// Response headers passed back to the client: everything but hop-by-hop and framing.
pub fn downstream_headers(upstream: &HeaderMap, request_id: &HeaderValue) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(upstream.len() + 1);
    for (name, value) in upstream {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "content-length" || n == "content-encoding" || n == "set-cookie" {
            continue;
        }
        if n == "x-request-id" || n == "request-id" {
            // The provider's id stays visible under its own name; `x-request-id` is Weir's.
            if let Ok(hn) = HeaderName::from_bytes(format!("x-provider-{n}").as_bytes()) {
                out.append(hn, value.clone());
            }
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out.insert(HeaderName::from_static("x-request-id"), request_id.clone());
    // Anthropic's SDKs read the id from `request-id`.
    out.insert(HeaderName::from_static("request-id"), request_id.clone());
    out
}

/// What the request body asks for, read once.
#[derive(Debug, Default)]
pub struct RequestFacts {
    pub model: String,
    pub end_user: Option<String>,
    pub max_tokens: Option<i64>,
}

/// Applies the rewrites Weir must make before forwarding: the model name, when the target's
/// differs, and for OpenAI chat streams the request for a usage chunk. Returns whether Weir
/// (not the client) asked for the usage chunk. Every other member passes through untouched.
pub fn rewrite_body(api: Api, body: &mut RequestBody<'_>, target_model: &str) -> bool {
    if body.get::<String>("model").as_deref() != Some(target_model) {
        body.set("model", &Value::from(target_model));
    }
    if api == Api::Chat && body.get::<bool>("stream") == Some(true) {
        let mut opts = match body.get::<Value>("stream_options") {
            Some(Value::Object(o)) => o,
            _ => serde_json::Map::new(),
        };
        if opts.get("include_usage").and_then(Value::as_bool) != Some(true) {
            opts.insert("include_usage".into(), Value::Bool(true));
            body.set("stream_options", &Value::Object(opts));
            return true;
        }
    }
    false
}

pub fn request_facts(api: Api, body: &RequestBody<'_>) -> RequestFacts {
    #[derive(serde::Deserialize)]
    struct Metadata {
        user_id: Option<String>,
    }
    let end_user = match api {
        Api::Messages => body.get::<Metadata>("metadata").and_then(|m| m.user_id),
        _ => body.get::<String>("user").or_else(|| body.get::<String>("safety_identifier")),
    }
    .map(|s| s.chars().take(256).collect());
    let max_tokens = ["max_tokens", "max_completion_tokens", "max_output_tokens"].iter().find_map(|k| body.get::<i64>(k));
    RequestFacts { model: body.get::<String>("model").unwrap_or_default(), end_user, max_tokens }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn provider(kind: ProviderKind, base: &str) -> Provider {
        Provider {
            name: "p".into(),
            kind,
            base_url: base.into(),
            server_address: None,
            server_port: None,
            api_key: Some(secrecy::SecretString::from("sk-provider-secret")),
            api_key_env: None,
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            headers: vec![],
            bytes_per_token: 2.0,
            token_margin: 1.05,
            proxy: None,
        }
    }

    #[test]
    fn weir_key_and_hop_by_hop_never_go_upstream() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer wk_agentkey123".parse().unwrap());
        h.insert("x-api-key", "wk_agentkey123".parse().unwrap());
        h.insert("api-key", "wk_agentkey123".parse().unwrap());
        h.insert("connection", "keep-alive, x-secret-hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-weir-session", "s1".parse().unwrap());
        h.insert("openai-organization", "org-1".parse().unwrap());
        h.insert("traceparent", "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01".parse().unwrap());
        let out = upstream_headers(&h, &provider(ProviderKind::Openai, "http://x/v1"), Some("wk_agentkey123"));
        assert_eq!(out.get("authorization").unwrap(), "Bearer sk-provider-secret");
        assert!(out.get("x-api-key").is_none());
        assert!(out.get("api-key").is_none());
        assert!(out.get("connection").is_none() && out.get("x-secret-hop").is_none() && out.get("transfer-encoding").is_none());
        assert!(out.get("x-weir-session").is_none());
        assert!(out.get("traceparent").is_none(), "Weir injects its own span's context");
        assert_eq!(out.get("openai-organization").unwrap(), "org-1");
        assert!(out.values().all(|v| !v.to_str().unwrap_or("").contains("wk_agentkey123")));
    }

    #[test]
    fn anthropic_auth_and_version() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "wk_agentkey123".parse().unwrap());
        h.insert("anthropic-beta", "tools-2024".parse().unwrap());
        let out = upstream_headers(&h, &provider(ProviderKind::Anthropic, "http://a"), Some("wk_agentkey123"));
        assert_eq!(out.get("x-api-key").unwrap(), "sk-provider-secret");
        assert_eq!(out.get("anthropic-version").unwrap(), ANTHROPIC_VERSION);
        assert_eq!(out.get("anthropic-beta").unwrap(), "tools-2024");
    }

    #[test]
    fn urls() {
        assert_eq!(endpoint_path(&provider(ProviderKind::Openai, "http://x/v1"), Api::Chat), "/chat/completions");
        assert_eq!(endpoint_path(&provider(ProviderKind::Anthropic, "http://a"), Api::Messages), "/v1/messages");
        assert_eq!(endpoint_path(&provider(ProviderKind::Anthropic, "http://a/v1"), Api::Messages), "/messages");
    }

    #[test]
    fn rewrite_sets_model_and_usage_request_only() {
        let raw = br#"{"model":"alias","stream":true,"messages":[],"custom_field":{"x":1}}"#;
        let mut body = RequestBody::parse(raw).unwrap();
        assert!(rewrite_body(Api::Chat, &mut body, "real-model"));
        let out: Value = serde_json::from_slice(&body.to_bytes()).unwrap();
        assert_eq!(out["model"], "real-model");
        assert_eq!(out["stream_options"]["include_usage"], true);
        assert_eq!(out["custom_field"]["x"], 1);
        let mut body = RequestBody::parse(br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#).unwrap();
        assert!(!rewrite_body(Api::Chat, &mut body, "m"));
        assert!(!body.changed());
        let mut body = RequestBody::parse(br#"{"model":"m","stream":true,"stream_options":{"other":1}}"#).unwrap();
        assert!(rewrite_body(Api::Chat, &mut body, "m"));
        assert_eq!(body.to_bytes(), br#"{"model":"m","stream":true,"stream_options":{"other":1,"include_usage":true}}"#.to_vec());
        let mut body = RequestBody::parse(br#"{"model":"m","stream":true}"#).unwrap();
        assert!(!rewrite_body(Api::Messages, &mut body, "m"));
        assert!(!body.changed());
    }

    #[test]
    fn facts_read_end_user_per_dialect() {
        let b = RequestBody::parse(br#"{"model":"m","user":"u1","max_completion_tokens":5}"#).unwrap();
        let f = request_facts(Api::Chat, &b);
        assert_eq!(f.end_user.as_deref(), Some("u1"));
        assert_eq!(f.max_tokens, Some(5));
        let b = RequestBody::parse(br#"{"model":"m","metadata":{"user_id":"u2"},"stream":true}"#).unwrap();
        let f = request_facts(Api::Messages, &b);
        assert_eq!(f.end_user.as_deref(), Some("u2"));
    }

    #[test]
    fn downstream_keeps_provider_id_apart() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "req_up".parse().unwrap());
        h.insert("content-length", "5".parse().unwrap());
        h.insert("openai-processing-ms", "7".parse().unwrap());
        let out = downstream_headers(&h, &HeaderValue::from_static("weir-1"));
        assert_eq!(out.get("x-request-id").unwrap(), "weir-1");
        assert_eq!(out.get("request-id").unwrap(), "weir-1");
        assert_eq!(out.get("x-provider-x-request-id").unwrap(), "req_up");
        assert!(out.get("content-length").is_none());
        assert_eq!(out.get("openai-processing-ms").unwrap(), "7");
    }
}
