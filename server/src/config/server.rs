//! `[server]`: the listeners, their connection limits and the per-address guard.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::{invalid, ConfigError, Env};
use crate::serve::ConnSettings;

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

impl From<&ServerSection> for ConnSettings {
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

/// `[server]` checked, with `WEIR_LISTEN` and `WEIR_ADMIN_LISTEN` applied.
pub(super) struct ServerSettings {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub max_body_bytes: usize,
    pub drain_timeout: Duration,
    pub reload_interval: Duration,
    pub trusted_proxies: Vec<IpAddr>,
    pub ip_requests_per_second: u64,
    pub ip_burst: u32,
    /// At least 1.
    pub workers: usize,
    pub connections: ConnSettings,
}

impl ServerSection {
    /// Checks the listeners, the body cap, the reload interval, the connection settings and the
    /// trusted proxies. The per-address guard is checked apart, by [`Self::validate_ip_guard`].
    pub(super) fn validate(&self, env: &Env) -> Result<ServerSettings, ConfigError> {
        let listen_text = env.get("WEIR_LISTEN").unwrap_or(&self.listen).to_string();
        let listen = parse_addr(&listen_text, if env.get("WEIR_LISTEN").is_some() { "WEIR_LISTEN" } else { "server.listen" })?;
        let admin_text = env.get("WEIR_ADMIN_LISTEN").unwrap_or(&self.admin_listen).to_string();
        let admin_listen = parse_addr(
            &admin_text,
            if env.get("WEIR_ADMIN_LISTEN").is_some() { "WEIR_ADMIN_LISTEN" } else { "server.admin_listen" },
        )?;
        if self.max_body_bytes == 0 {
            return Err(invalid("server.max_body_bytes", "must be greater than 0"));
        }
        if self.reload_interval_ms == 0 {
            return Err(invalid("server.reload_interval_ms", "must be greater than 0"));
        }
        for (key, v) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_client", self.max_connections_per_client as u64),
        ] {
            if v == 0 {
                return Err(invalid(format!("server.{key}"), "must be greater than 0"));
            }
        }
        if self.max_connections_per_client > self.max_connections {
            return Err(invalid("server.max_connections_per_client", "must not exceed server.max_connections"));
        }
        let mut trusted_proxies = Vec::new();
        for (i, p) in self.trusted_proxies.iter().enumerate() {
            trusted_proxies.push(
                p.parse()
                    .map_err(|_| invalid(format!("server.trusted_proxies[{i}]"), format!("`{p}` is not an IP address")))?,
            );
        }
        Ok(ServerSettings {
            listen,
            admin_listen,
            max_body_bytes: self.max_body_bytes,
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
            reload_interval: Duration::from_millis(self.reload_interval_ms),
            trusted_proxies,
            ip_requests_per_second: self.ip_requests_per_second,
            ip_burst: self.ip_burst,
            workers: match self.workers {
                0 => std::thread::available_parallelism().map_or(1, usize::from),
                n => n,
            },
            connections: ConnSettings::from(self),
        })
    }

    /// The per-address guard needs a burst whenever it has a rate.
    pub(super) fn validate_ip_guard(&self) -> Result<(), ConfigError> {
        if self.ip_requests_per_second > 0 && self.ip_burst == 0 {
            return Err(invalid("server.ip_burst", "must be at least 1 when ip_requests_per_second is set"));
        }
        Ok(())
    }
}

fn parse_addr(text: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| invalid(key, format!("`{text}` is not an address like 127.0.0.1:4000")))
}
