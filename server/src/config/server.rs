//! `[server]`: the listeners, their connection limits and the per-address guard.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: String,
    pub admin_listen: String,
    /// Largest request body accepted on the gateway port.
    pub max_body_bytes: usize,
    /// How long SIGTERM waits for in-flight requests and streams before closing them.
    pub drain_timeout_secs: u64,
    /// Peers whose `X-Forwarded-For` is believed (exact IPs).
    pub trusted_proxies: Vec<String>,
    /// How often the config file is checked for changes.
    pub reload_interval_ms: u64,
    /// Per client IP, on both listeners, before any key lookup: sustained requests per second
    /// (0 turns the guard off) and the burst allowed above it.
    pub ip_requests_per_second: u64,
    pub ip_burst: u32,
    /// Threads serving the gateway port, each with its own connections to providers;
    /// 0 means one per CPU.
    pub workers: usize,
    /// Both ports: a request's head must be complete this long after the connection opened
    /// (or after the request's first byte, on a kept-alive connection).
    pub header_read_timeout_secs: u64,
    /// Both ports: a kept-alive connection with no request in flight closes after this long.
    pub idle_timeout_secs: u64,
    /// Both ports: a request body that delivers nothing for this long is refused with 408.
    pub body_read_timeout_secs: u64,
    /// Both ports, each: open connections at most, all clients together …
    pub max_connections: usize,
    /// … and per client address (peers in `trusted_proxies` are exempt).
    pub max_connections_per_client: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4000".into(),
            admin_listen: "127.0.0.1:4001".into(),
            max_body_bytes: 20 * 1024 * 1024,
            drain_timeout_secs: 30,
            trusted_proxies: Vec::new(),
            reload_interval_ms: 1000,
            ip_requests_per_second: 10_000,
            ip_burst: 20_000,
            workers: 0,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_read_timeout_secs: 30,
            max_connections: 10_000,
            max_connections_per_client: 256,
        }
    }
}

impl From<&ServerSection> for crate::serve::ConnSettings {
    fn from(srv: &ServerSection) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(srv.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(srv.idle_timeout_secs),
            body_read_timeout: Duration::from_secs(srv.body_read_timeout_secs),
            max_connections: srv.max_connections,
            max_connections_per_client: srv.max_connections_per_client,
        }
    }
}
