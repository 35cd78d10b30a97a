//! The state every request handler shares, and the small facts about a request that every
//! protocol needs (the client's address, whether it came over HTTPS). It sits below the
//! protocols: `llm`, `mcp`, `admin` and `metrics` take their state from here, not from the
//! assembler in [`crate::app`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::FromRef;
use axum::http::HeaderMap;
use secrecy::SecretString;

use crate::audit::AuditSink;
use crate::config::Config;
use crate::identity::KeyIndex;
use crate::limits::Limiter;
use crate::llm::route::Circuits;
use crate::llm::Transport;
use crate::store::Store;
use crate::telemetry::Telemetry;

/// The part of the state a config reload replaces as a whole.
pub struct Runtime {
    pub config: Config,
    /// How each provider is reached (connections are kept per worker thread, by origin, so a
    /// reload keeps them).
    pub transports: HashMap<String, Transport>,
}

impl Runtime {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let mut transports = HashMap::new();
        for p in config.providers.values() {
            let t = Transport::new(&p.base_url, p.connect_timeout, p.read_timeout, p.proxy.as_deref())
                .map_err(|e| anyhow::anyhow!("provider `{}`: {e}", p.name))?;
            transports.insert(p.name.clone(), t);
        }
        // What Weir relays, captures and logs loses every secret this config holds: learnt
        // once the config is sure to be used (a config refused here adds nothing).
        crate::audit::learn_secrets(config.secrets());
        Ok(Self { config, transports })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<ArcSwap<Runtime>>,
    pub store: Store,
    pub keys: KeyIndex,
    pub audit: AuditSink,
    pub telemetry: Telemetry,
    pub admin_token: Arc<SecretString>,
    pub limiter: Arc<Limiter>,
    pub circuits: Arc<Circuits>,
    /// Reloads from the database run one at a time, so a slower, older one never overwrites a
    /// newer one.
    pub reload_lock: Arc<tokio::sync::Mutex<()>>,
    pub mcp: Arc<crate::mcp::McpGateway>,
    /// Target agents' cards, connections and task owners.
    pub a2a: Arc<crate::a2a::A2aGateway>,
    /// Console sign-ins ended by signing out, at any replica (reloaded with the keys).
    pub console_signouts: Arc<crate::console::SignedOutSessions>,
    /// Open and refused connections of each port.
    pub gates: Gates,
    /// Agents' and models' guardrail overrides (reloaded with the keys).
    pub guard_overrides: Arc<crate::guard::policy::GuardOverrides>,
    /// Answers kept for calls that repeat.
    pub cache: crate::cache::ResponseCache,
}

// Sub-states: a handler that needs only part of the state names that part (`State<Store>`),
// so what it can reach is what its signature says.
impl FromRef<AppState> for Store {
    fn from_ref(s: &AppState) -> Self {
        s.store.clone()
    }
}

impl FromRef<AppState> for KeyIndex {
    fn from_ref(s: &AppState) -> Self {
        s.keys.clone()
    }
}

impl FromRef<AppState> for Telemetry {
    fn from_ref(s: &AppState) -> Self {
        s.telemetry.clone()
    }
}

/// The configuration and what was built from it, as the last reload left them.
#[derive(Clone)]
pub struct CurrentRuntime(pub Arc<ArcSwap<Runtime>>);

impl FromRef<AppState> for CurrentRuntime {
    fn from_ref(s: &AppState) -> Self {
        Self(s.runtime.clone())
    }
}

/// The connection caps of the two ports.
#[derive(Clone)]
pub struct Gates {
    pub gateway: Arc<crate::serve::ConnGate>,
    pub admin: Arc<crate::serve::ConnGate>,
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the nearest
/// untrusted address in `X-Forwarded-For`.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.ip();
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    hops.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer_ip)
}

/// Whether the client reached the proxy in front of Weir over HTTPS (Weir itself serves plain
/// HTTP). Only a trusted proxy is believed: its `X-Forwarded-Proto`, or else the `proto` of
/// `Forwarded`. Of several values the last counts, the one the nearest proxy — the peer — added:
/// earlier ones may come from the client.
pub fn forwarded_https(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> bool {
    if !trusted.contains(&peer) {
        return false;
    }
    let proto = match last_header_value(headers, "x-forwarded-proto") {
        Some(p) => Some(p),
        None => last_header_value(headers, "forwarded").and_then(|element| {
            element.split(';').find_map(|pair| pair.split_once('=').filter(|(k, _)| k.trim().eq_ignore_ascii_case("proto")).map(|(_, v)| v.trim().trim_matches('"')))
        }),
    };
    proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The last comma-separated value of a header that may repeat.
fn last_header_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).next_back()
}

/// Reloads keys, limits and console sign-outs from the database (this replica applies its own
/// changes at once).
pub async fn reload_from_store(state: &AppState) -> Result<(), crate::store::StoreError> {
    let _one_at_a_time = state.reload_lock.lock().await;
    state.keys.reload(&state.store).await?;
    state.console_signouts.reload(&state.store).await?;
    state.mcp.tools.reload().await?;
    state.a2a.reload(&state.store, &state.runtime.load().config.a2a).await?;
    state.guard_overrides.replace(state.store.guardrail_overrides().await?);
    state.cache.replace_settings(state.store.cache_settings().await?);
    state.limiter.reload(&state.store).await
}

pub async fn healthz() -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::Json(serde_json::json!({"status": "ok"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.9".parse().unwrap());
        let peer: SocketAddr = "10.0.0.2:5555".parse().unwrap();
        let proxies: Vec<IpAddr> = vec!["10.0.0.2".parse().unwrap(), "10.0.0.9".parse().unwrap()];
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(client_ip(peer, &h, &[]), peer.ip());
        // Trusted peer: the nearest hop that is not one of ours.
        assert_eq!(client_ip(peer, &h, &proxies), "203.0.113.7".parse::<IpAddr>().unwrap());
        // Only proxies in the header: the peer.
        h.insert("x-forwarded-for", "10.0.0.9".parse().unwrap());
        assert_eq!(client_ip(peer, &h, &proxies), peer.ip());
    }

    #[test]
    fn https_is_believed_only_from_trusted_proxies_and_from_the_nearest_one() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy];
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, v.parse().unwrap());
            }
            h
        };
        let https = with(&[("x-forwarded-proto", "https")]);
        assert!(forwarded_https(proxy, &https, &trusted));
        assert!(!forwarded_https("10.0.0.3".parse().unwrap(), &https, &trusted), "an untrusted peer's word is not taken");
        assert!(!forwarded_https(proxy, &HeaderMap::new(), &trusted), "no header: plain HTTP");
        assert!(!forwarded_https(proxy, &with(&[("x-forwarded-proto", "http")]), &trusted));
        // The client wrote the first value, the proxy appended the last.
        assert!(!forwarded_https(proxy, &with(&[("x-forwarded-proto", "https, http")]), &trusted));
        assert!(!forwarded_https(proxy, &with(&[("x-forwarded-proto", "https"), ("x-forwarded-proto", "http")]), &trusted));
        assert!(forwarded_https(proxy, &with(&[("forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")]), &trusted));
        assert!(forwarded_https(proxy, &with(&[("forwarded", "for=198.51.100.17, for=192.0.2.60; Proto=\"HTTPS\"")]), &trusted));
        assert!(!forwarded_https(proxy, &with(&[("forwarded", "proto=https, for=192.0.2.60;proto=http")]), &trusted));
        assert!(!forwarded_https(proxy, &with(&[("forwarded", "for=192.0.2.60")]), &trusted));
    }
}
