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

/// Response headers that describe the provider account Weir calls with (its organisation, its
/// own rate limits), which are Weir's business, not the agent's.
fn describes_provider_account(name: &str) -> bool {
    matches!(name, "openai-organization" | "openai-project" | "anthropic-organization-id")
        || name.starts_with("x-ratelimit-")
        || name.starts_with("anthropic-ratelimit-")
}

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

/// Headers for the upstream request: the provider's key and version, and of the agent's
/// headers only those the provider's `forward_headers` lists — never one carrying the agent's
/// Weir key, whatever its name.
pub fn upstream_headers(client: &HeaderMap, provider: &Provider, weir_key: Option<&str>) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(provider.forward_headers.len() + provider.headers.len() + 3);
    for name in &provider.forward_headers {
        for value in client.get_all(name) {
            if weir_key.is_some_and(|key| memchr::memmem::find(value.as_bytes(), key.as_bytes()).is_some()) {
                continue;
            }
            out.append(name.clone(), value.clone());
        }
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

/// The agent's query string as it goes upstream: only the parameters the provider's
/// `forward_query` names (none by default).
pub fn upstream_query<'q>(query: Option<&'q str>, provider: &Provider) -> Option<std::borrow::Cow<'q, str>> {
    let query = query.filter(|q| !q.is_empty())?;
    if provider.forward_query.is_empty() {
        return None;
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(n, _)| n);
            provider.forward_query.iter().any(|allowed| allowed == name)
        })
        .collect();
    match kept.len() {
        0 => None,
        n if n == query.split('&').count() => Some(std::borrow::Cow::Borrowed(query)),
        _ => Some(std::borrow::Cow::Owned(kept.join("&"))),
    }
}

/// Response headers passed back to the client: everything but hop-by-hop and framing, and
/// what describes the provider account.
pub fn downstream_headers(upstream: &HeaderMap, request_id: &HeaderValue) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(upstream.len() + 1);
    for (name, value) in upstream {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "content-length" || n == "content-encoding" || n == "set-cookie" || describes_provider_account(n) {
            continue;
        }
        // A provider echoing a credential in a header does not pass it on.
        if crate::audit::holds_known_secret(value.as_bytes()) {
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
    /// The largest output cap the body gives.
    pub max_tokens: Option<i64>,
    /// Answers asked for (`n`), each up to `max_tokens`.
    pub choices: u64,
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
    // Whichever output cap the provider honours, the largest bounds the call.
    let max_tokens = ["max_tokens", "max_completion_tokens", "max_output_tokens"].iter().filter_map(|k| body.get::<i64>(k)).max();
    // OpenAI's `n` asks for several answers, each up to the cap (providers allow up to 128).
    let choices = match api {
        Api::Chat => body.get::<i64>("n").map_or(1, |n| n.clamp(1, 128) as u64),
        _ => 1,
    };
    RequestFacts { model: body.get::<String>("model").unwrap_or_default(), end_user, max_tokens, choices }
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
            forward_headers: crate::config::default_forward_headers(kind).iter().map(|n| HeaderName::from_static(n)).collect(),
            forward_query: vec![],
            max_response_bytes: 1 << 20,
        }
    }

    #[test]
    fn only_listed_headers_go_upstream_and_never_the_weir_key() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer wk_agentkey123".parse().unwrap());
        h.insert("x-api-key", "wk_agentkey123".parse().unwrap());
        h.insert("api-key", "wk_agentkey123".parse().unwrap());
        h.insert("connection", "keep-alive, x-secret-hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-weir-session", "s1".parse().unwrap());
        h.insert("openai-organization", "org-agent-picked".parse().unwrap());
        h.insert("openai-project", "proj-agent-picked".parse().unwrap());
        h.insert("openai-beta", "assistants=v2".parse().unwrap());
        h.insert("x-stainless-lang", "python".parse().unwrap());
        h.insert("traceparent", "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01".parse().unwrap());
        let mut p = provider(ProviderKind::Openai, "http://x/v1");
        let out = upstream_headers(&h, &p, Some("wk_agentkey123"));
        assert_eq!(out.get("authorization").unwrap(), "Bearer sk-provider-secret");
        assert_eq!(out.get("openai-beta").unwrap(), "assistants=v2", "what the SDKs need passes");
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["openai-beta", "content-type", "authorization"], "nothing else passes by default");
        // Listed, an agent's header passes, unless it carries the Weir key.
        p.forward_headers = vec![HeaderName::from_static("openai-organization"), HeaderName::from_static("api-key")];
        let out = upstream_headers(&h, &p, Some("wk_agentkey123"));
        assert_eq!(out.get("openai-organization").unwrap(), "org-agent-picked");
        assert!(out.get("api-key").is_none());
        assert!(out.values().all(|v| !v.to_str().unwrap_or("").contains("wk_agentkey123")));
    }

    #[test]
    fn only_listed_query_parameters_go_upstream() {
        let mut p = provider(ProviderKind::Openai, "http://x/v1");
        assert_eq!(upstream_query(Some("api-version=2024-01-01&x=1"), &p), None);
        p.forward_query = vec!["api-version".into()];
        assert_eq!(upstream_query(Some("api-version=2024-01-01&x=1"), &p).as_deref(), Some("api-version=2024-01-01"));
        assert_eq!(upstream_query(Some("api-version=1"), &p).as_deref(), Some("api-version=1"));
        assert_eq!(upstream_query(Some("x=1"), &p), None);
        assert_eq!(upstream_query(None, &p), None);
    }

    #[test]
    fn response_headers_about_the_provider_account_stay_with_weir() {
        let mut h = HeaderMap::new();
        h.insert("openai-organization", "org-weir".parse().unwrap());
        h.insert("openai-project", "proj-weir".parse().unwrap());
        h.insert("x-ratelimit-remaining-tokens", "99".parse().unwrap());
        h.insert("anthropic-ratelimit-requests-remaining", "5".parse().unwrap());
        h.insert("openai-processing-ms", "7".parse().unwrap());
        let out = downstream_headers(&h, &HeaderValue::from_static("weir-1"));
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["openai-processing-ms", "x-request-id", "request-id"]);
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
    fn facts_take_the_largest_output_cap_and_the_number_of_answers() {
        let b = RequestBody::parse(br#"{"model":"m","max_tokens":10,"max_completion_tokens":500,"n":3}"#).unwrap();
        let f = request_facts(Api::Chat, &b);
        assert_eq!((f.max_tokens, f.choices), (Some(500), 3));
        let b = RequestBody::parse(br#"{"model":"m","max_output_tokens":70,"max_tokens":7}"#).unwrap();
        assert_eq!(request_facts(Api::Responses, &b).max_tokens, Some(70));
        assert_eq!(request_facts(Api::Chat, &RequestBody::parse(br#"{"model":"m","n":0}"#).unwrap()).choices, 1);
        assert_eq!(request_facts(Api::Chat, &RequestBody::parse(br#"{"model":"m","n":100000}"#).unwrap()).choices, 128);
        assert_eq!(request_facts(Api::Messages, &RequestBody::parse(br#"{"model":"m","n":4}"#).unwrap()).choices, 1);
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
