//! Agent cards as Weir serves them: the target's own card with every interface URL pointing at
//! Weir, Weir's security in place of the target's, and nothing Weir does not relay.
//!
//! Both versions are read and written in their own shape: v0.3's `url`, `preferredTransport`
//! and `additionalInterfaces[]`; v1.0's `supportedInterfaces[]` (binding, version and tenant
//! kept). A card may carry both (an agent serving v1.0 with v0.3 compatibility). The routes a
//! card implies — which Weir path goes to which of the agent's URLs — are worked out here too,
//! so that a card and the relay never disagree. A signed card's signatures are dropped: they
//! sign the agent's URLs, which Weir has replaced.

use serde_json::{json, Map, Value};

use super::protocol::Version;

/// Where a card is read below an agent's address: v0.3 and v1.0's name, and the name before.
pub const CARD_PATHS: [&str; 2] = [crate::config::a2a::CARD_PATH, crate::config::a2a::LEGACY_CARD_PATH];

const WEIR_KEY: &str = "A Weir agent key, as `Authorization: Bearer <key>`.";

/// The bindings Weir relays (HTTP carries both); others (gRPC) are left out of the card.
pub fn relayed_binding(binding: &str) -> bool {
    matches!(binding.to_ascii_uppercase().as_str(), "JSONRPC" | "HTTP+JSON" | "REST" | "HTTP_JSON")
}

/// Which Weir path (below `/a2a/{agent}`) goes to which of the agent's URLs. The longest
/// matching path wins; the empty path is the agent's base URL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Routes(Vec<(String, String)>);

impl Routes {
    /// The routes for an agent at `base` (no trailing slash) with this card.
    pub fn of(base: &str, card: &Value) -> Self {
        let mut routes = vec![(String::new(), base.to_string())];
        let mut foreign = 0usize;
        for url in interface_urls(card) {
            let url = url.trim_end_matches('/');
            if routes.iter().any(|(_, u)| u == url) {
                continue;
            }
            let suffix = match url.strip_prefix(base) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
                // Another origin or path: a path of its own below the agent's.
                _ => {
                    foreign += 1;
                    format!("/_interface/{foreign}")
                }
            };
            routes.push((suffix, url.to_string()));
        }
        Self(routes)
    }

    /// Weir's path (below `/a2a/{agent}`) for one of the agent's URLs.
    pub fn weir_path(&self, url: &str) -> Option<&str> {
        let url = url.trim_end_matches('/');
        self.0.iter().find(|(_, u)| u == url).map(|(s, _)| s.as_str())
    }

    /// The agent's URL for `path` (what follows `/a2a/{agent}`), and the part of it the route
    /// does not cover.
    pub fn upstream<'p>(&self, path: &'p str) -> (&str, &'p str) {
        let mut best: Option<&(String, String)> = None;
        for r in &self.0 {
            let covers = path == r.0 || (path.starts_with(r.0.as_str()) && path[r.0.len()..].starts_with('/'));
            if covers && best.is_none_or(|b| r.0.len() > b.0.len()) {
                best = Some(r);
            }
        }
        match best {
            Some((suffix, url)) => (url.as_str(), &path[suffix.len()..]),
            None => (self.0.first().map_or("", |r| r.1.as_str()), path),
        }
    }
}

/// Every interface URL a card names, relayed bindings only.
fn interface_urls(card: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(u) = card.get("url").and_then(Value::as_str) {
        out.push(u.to_string());
    }
    for list in ["additionalInterfaces", "supportedInterfaces"] {
        for i in card.get(list).and_then(Value::as_array).into_iter().flatten() {
            let binding = i.get("transport").or_else(|| i.get("protocolBinding")).and_then(Value::as_str).unwrap_or("JSONRPC");
            if let (Some(u), true) = (i.get("url").and_then(Value::as_str), relayed_binding(binding)) {
                out.push(u.to_string());
            }
        }
    }
    out
}

/// The protocol versions a card says its agent speaks.
pub fn versions(card: &Value) -> Vec<Version> {
    let mut out = Vec::new();
    let mut add = |v: &str| {
        let found = if v.starts_with("0.3") { Some(Version::V03) } else if v.starts_with("1.") || v == "1" { Some(Version::V10) } else { None };
        if let Some(f) = found.filter(|f| !out.contains(f)) {
            out.push(f);
        }
    };
    if card.get("url").is_some() {
        add(card.get("protocolVersion").and_then(Value::as_str).unwrap_or("0.3"));
    }
    for i in card.get("supportedInterfaces").and_then(Value::as_array).into_iter().flatten() {
        add(i.get("protocolVersion").and_then(Value::as_str).unwrap_or("1.0"));
    }
    out.sort();
    out
}

/// The card as a caller sees it through Weir at `weir_base` (`https://weir.example.com/a2a/echo`).
pub fn rewrite(card: &Value, routes: &Routes, weir_base: &str) -> Value {
    let Some(src) = card.as_object() else { return card.clone() };
    let mut out: Map<String, Value> = src.clone();
    let to_weir = |u: &str| -> String {
        match routes.weir_path(u) {
            Some(p) => format!("{weir_base}{p}"),
            None => weir_base.to_string(),
        }
    };
    // v0.3: `url` is the preferred transport's; gRPC ones are replaced by the first relayed one.
    let extra: Vec<Value> = src
        .get("additionalInterfaces")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter(|i| i.get("transport").and_then(Value::as_str).is_none_or(relayed_binding)).cloned().collect())
        .unwrap_or_default();
    if let Some(url) = src.get("url").and_then(Value::as_str) {
        let preferred = src.get("preferredTransport").and_then(Value::as_str).unwrap_or("JSONRPC");
        if relayed_binding(preferred) {
            out.insert("url".into(), Value::String(to_weir(url)));
        } else if let Some(first) = extra.first() {
            out.insert("url".into(), Value::String(to_weir(first.get("url").and_then(Value::as_str).unwrap_or(url))));
            out.insert("preferredTransport".into(), first.get("transport").cloned().unwrap_or(json!("JSONRPC")));
        } else {
            out.insert("url".into(), Value::String(weir_base.to_string()));
            out.insert("preferredTransport".into(), json!("JSONRPC"));
        }
    }
    if src.contains_key("additionalInterfaces") {
        let rewritten: Vec<Value> = extra
            .into_iter()
            .map(|mut i| {
                if let Some(u) = i.get("url").and_then(Value::as_str).map(to_weir) {
                    i["url"] = Value::String(u);
                }
                i
            })
            .collect();
        out.insert("additionalInterfaces".into(), Value::Array(rewritten));
    }
    if let Some(list) = src.get("supportedInterfaces").and_then(Value::as_array) {
        let rewritten: Vec<Value> = list
            .iter()
            .filter(|i| i.get("protocolBinding").and_then(Value::as_str).is_none_or(relayed_binding))
            .map(|i| {
                let mut i = i.clone();
                if let Some(u) = i.get("url").and_then(Value::as_str).map(to_weir) {
                    i["url"] = Value::String(u);
                }
                i
            })
            .collect();
        out.insert("supportedInterfaces".into(), Value::Array(rewritten));
    }
    // A caller authenticates to Weir with its agent key, never to the target. A card read by
    // both versions carries both shapes in one scheme, as the SDKs' own compatibility does.
    let v1 = src.contains_key("supportedInterfaces");
    let v03 = src.contains_key("url") || !v1;
    out.remove("signatures");
    let mut scheme = Map::new();
    if v1 {
        scheme.insert("httpAuthSecurityScheme".into(), json!({"scheme": "Bearer", "description": WEIR_KEY}));
    }
    if v03 {
        scheme.insert("type".into(), json!("http"));
        scheme.insert("scheme".into(), json!("bearer"));
        scheme.insert("description".into(), json!(WEIR_KEY));
    }
    out.insert("securitySchemes".into(), json!({"weir": Value::Object(scheme)}));
    if v03 {
        out.insert("security".into(), json!([{"weir": []}]));
    } else {
        out.remove("security");
    }
    if v1 {
        out.insert("securityRequirements".into(), json!([{"schemes": {"weir": {}}}]));
    } else {
        out.remove("securityRequirements");
    }
    if let Some(skills) = out.get_mut("skills").and_then(Value::as_array_mut) {
        for s in skills.iter_mut().filter_map(Value::as_object_mut) {
            // A skill's own requirements name the target's schemes, which callers no longer see.
            s.remove("security");
            s.remove("securityRequirements");
        }
    }
    Value::Object(out)
}

/// Weir's address as callers reach it: the configured public URL, or the request's
/// (`X-Forwarded-Host`/`-Proto` believed only from a trusted proxy).
pub fn public_base(configured: Option<&str>, host: Option<&str>, forwarded_host: Option<&str>, https: bool) -> String {
    if let Some(u) = configured {
        return u.trim_end_matches('/').to_string();
    }
    let host = forwarded_host.or(host).unwrap_or("localhost");
    format!("{}://{host}", if https { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v03_card(base: &str) -> Value {
        json!({
            "name": "Echo", "protocolVersion": "0.3.0", "url": format!("{base}/"), "preferredTransport": "JSONRPC",
            "additionalInterfaces": [
                {"url": format!("{base}/"), "transport": "JSONRPC"},
                {"url": format!("{base}/rest"), "transport": "HTTP+JSON"},
                {"url": "grpc.example.com:443", "transport": "GRPC"}
            ],
            "securitySchemes": {"target": {"type": "apiKey", "in": "header", "name": "X-Key"}},
            "security": [{"target": []}],
            "signatures": [{"protected": "x", "signature": "y"}],
            "skills": [{"id": "echo", "name": "Echo", "security": [{"target": []}]}]
        })
    }

    #[test]
    fn a_v03_card_points_every_relayed_interface_at_weir_without_doubling_the_path() {
        let base = "http://10.0.0.5:9000/agents/echo";
        let card = v03_card(base);
        let routes = Routes::of(base, &card);
        let out = rewrite(&card, &routes, "https://weir.example.com/a2a/echo");
        assert_eq!(out["url"], "https://weir.example.com/a2a/echo");
        let extra = out["additionalInterfaces"].as_array().unwrap();
        assert_eq!(extra.len(), 2, "gRPC is not relayed: {extra:?}");
        assert_eq!(extra[1]["url"], "https://weir.example.com/a2a/echo/rest");
        assert_eq!(extra[1]["transport"], "HTTP+JSON");
        assert!(out.get("signatures").is_none());
        assert_eq!(out["security"], json!([{"weir": []}]));
        assert_eq!(out["securitySchemes"]["weir"]["scheme"], "bearer");
        assert!(out["skills"][0].get("security").is_none());
        assert!(!out.to_string().contains("10.0.0.5"), "{out}");
        // And back: Weir's paths go to the agent's URLs.
        assert_eq!(routes.upstream("/rest/v1/message:send"), ("http://10.0.0.5:9000/agents/echo/rest", "/v1/message:send"));
        assert_eq!(routes.upstream(""), ("http://10.0.0.5:9000/agents/echo", ""));
        assert_eq!(routes.upstream("/restless"), ("http://10.0.0.5:9000/agents/echo", "/restless"));
    }

    #[test]
    fn a_v10_card_keeps_bindings_versions_and_tenants() {
        let base = "http://agent:8000";
        let card = json!({
            "name": "Echo",
            "supportedInterfaces": [
                {"url": "http://agent:8000/a2a/jsonrpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0", "tenant": "acme"},
                {"url": "http://agent:8000/a2a/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
                {"url": "http://agent:8000/a2a/jsonrpc", "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
                {"url": "http://other-host:7000/x", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
                {"url": "agent:50051", "protocolBinding": "GRPC", "protocolVersion": "1.0"}
            ],
            "securitySchemes": {"k": {"apiKeySecurityScheme": {"location": "header", "name": "k"}}},
            "securityRequirements": [{"schemes": {"k": {"list": []}}}]
        });
        let routes = Routes::of(base, &card);
        let out = rewrite(&card, &routes, "http://weir:4000/a2a/echo");
        let list = out["supportedInterfaces"].as_array().unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(list[0]["url"], "http://weir:4000/a2a/echo/a2a/jsonrpc");
        assert_eq!(list[0]["tenant"], "acme");
        assert_eq!(list[2]["protocolVersion"], "0.3");
        assert_eq!(list[3]["url"], "http://weir:4000/a2a/echo/_interface/1");
        assert_eq!(routes.upstream("/_interface/1/message:send"), ("http://other-host:7000/x", "/message:send"));
        assert_eq!(out["securitySchemes"], json!({"weir": {"httpAuthSecurityScheme": {"scheme": "Bearer", "description": WEIR_KEY}}}));
        assert_eq!(out["securityRequirements"], json!([{"schemes": {"weir": {}}}]));
        assert!(out.get("security").is_none());
        assert!(out.get("url").is_none());
        assert_eq!(versions(&card), vec![Version::V03, Version::V10]);
        assert_eq!(versions(&v03_card(base)), vec![Version::V03]);
    }

    #[test]
    fn the_public_address_is_configured_or_the_requests() {
        assert_eq!(public_base(Some("https://weir.example.com/"), Some("x"), None, false), "https://weir.example.com");
        assert_eq!(public_base(None, Some("127.0.0.1:4000"), None, false), "http://127.0.0.1:4000");
        assert_eq!(public_base(None, Some("127.0.0.1:4000"), Some("gw.example.com"), true), "https://gw.example.com");
    }
}
