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

/// Which Weir path (below `/a2a/{agent}`) goes to which path at the agent. Every route stays
/// on the origin the agent was registered with: a card names paths, never where Weir sends a
/// caller's request or the agent's credentials (a card that names another host — `localhost`
/// as seen from the agent, or a metadata address — has its interface's path taken at the
/// agent's own origin). The longest matching Weir path wins; the empty one is the base path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Routes(Vec<Route>);

#[derive(Debug, Clone, PartialEq)]
struct Route {
    /// The interface's URL as the card writes it (no trailing slash), to find it by.
    url: String,
    /// Below `/a2a/{agent}`, no trailing slash (`""`, `/rest`, `/_interface/1`).
    weir: String,
    /// The path at the agent's origin, trailing slash kept (`/`, `/agents/echo/`, `/rpc`).
    path: String,
}

impl Routes {
    /// The routes for an agent at `base` (no trailing slash) with this card.
    pub fn of(base: &str, card: &Value) -> Self {
        let (_, base_path) = split(base);
        let base_path = base_path.trim_end_matches('/').to_string();
        let mut routes = vec![Route { url: base.trim_end_matches('/').to_string(), weir: String::new(), path: base_path.clone() }];
        let mut foreign = 0usize;
        for url in interface_urls(card) {
            let key = url.trim_end_matches('/').to_string();
            let (_, path) = split(&url);
            if let Some(known) = routes.iter_mut().find(|r| r.url == key) {
                // The base URL as the card writes it: its trailing slash is kept (a server may
                // insist on it).
                if known.weir.is_empty() && path.ends_with('/') {
                    known.path = path.to_string();
                }
                continue;
            }
            let weir = match path.trim_end_matches('/').strip_prefix(base_path.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
                // Elsewhere on the agent: a path of its own below the agent's at Weir.
                _ => {
                    foreign += 1;
                    format!("/_interface/{foreign}")
                }
            };
            routes.push(Route { url: key, weir, path: path.to_string() });
        }
        Self(routes)
    }

    /// Weir's path (below `/a2a/{agent}`) for one of the agent's URLs.
    pub fn weir_path(&self, url: &str) -> Option<&str> {
        let url = url.trim_end_matches('/');
        self.0.iter().find(|r| r.url == url).map(|r| r.weir.as_str())
    }

    /// The path at the agent for `path` (what follows `/a2a/{agent}`, as sent), and the part of
    /// `path` below the interface it names.
    pub fn upstream<'p>(&self, path: &'p str) -> (String, &'p str) {
        let mut best: Option<&Route> = None;
        for r in &self.0 {
            let covers = path == r.weir || (path.starts_with(r.weir.as_str()) && path[r.weir.len()..].starts_with('/'));
            if covers && best.is_none_or(|b| r.weir.len() > b.weir.len()) {
                best = Some(r);
            }
        }
        let Some(r) = best else { return (path.to_string(), path) };
        let below = &path[r.weir.len()..];
        let at = if below.is_empty() || below == "/" {
            if r.path.is_empty() { "/".to_string() } else { r.path.clone() }
        } else {
            format!("{}{below}", r.path.trim_end_matches('/'))
        };
        (at, below)
    }
}

/// `scheme://host[:port]` of a URL, and its path (`""` when it has none).
pub fn split(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => (&url[..after_scheme + i], &url[after_scheme + i..]),
        None => (url, ""),
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
        // And back: Weir's paths go to the agent's paths, the card's trailing slash kept.
        assert_eq!(routes.upstream("/rest/v1/message:send"), ("/agents/echo/rest/v1/message:send".to_string(), "/v1/message:send"));
        assert_eq!(routes.upstream(""), ("/agents/echo/".to_string(), ""));
        assert_eq!(routes.upstream("/restless"), ("/agents/echo/restless".to_string(), "/restless"));
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
        // Another host's interface is its path at the agent's own origin.
        assert_eq!(list[3]["url"], "http://weir:4000/a2a/echo/x");
        assert_eq!(routes.upstream("/x/message:send"), ("/x/message:send".to_string(), "/message:send"));
        assert_eq!(routes.upstream("/a2a/jsonrpc"), ("/a2a/jsonrpc".to_string(), ""));
        assert_eq!(out["securitySchemes"], json!({"weir": {"httpAuthSecurityScheme": {"scheme": "Bearer", "description": WEIR_KEY}}}));
        assert_eq!(out["securityRequirements"], json!([{"schemes": {"weir": {}}}]));
        assert!(out.get("security").is_none());
        assert!(out.get("url").is_none());
        assert_eq!(versions(&card), vec![Version::V03, Version::V10]);
        assert_eq!(versions(&v03_card(base)), vec![Version::V03]);
    }

    #[test]
    fn an_interface_outside_the_agents_path_gets_a_path_of_its_own_at_the_agents_origin() {
        let card = json!({"url": "http://localhost:9000/rpc/", "protocolVersion": "0.3.0", "preferredTransport": "JSONRPC"});
        let routes = Routes::of("http://agent.internal:9000/agents/echo", &card);
        let out = rewrite(&card, &routes, "https://weir/a2a/echo");
        assert_eq!(out["url"], "https://weir/a2a/echo/_interface/1");
        // Its path (trailing slash kept), never its host: Weir sends to agent.internal only.
        assert_eq!(routes.upstream("/_interface/1"), ("/rpc/".to_string(), ""));
        assert_eq!(routes.upstream(""), ("/agents/echo".to_string(), ""));
    }

    #[test]
    fn the_public_address_is_configured_or_the_requests() {
        assert_eq!(public_base(Some("https://weir.example.com/"), Some("x"), None, false), "https://weir.example.com");
        assert_eq!(public_base(None, Some("127.0.0.1:4000"), None, false), "http://127.0.0.1:4000");
        assert_eq!(public_base(None, Some("127.0.0.1:4000"), Some("gw.example.com"), true), "https://gw.example.com");
    }
}
