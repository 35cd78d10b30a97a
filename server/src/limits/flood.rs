//! Per-client-IP request-rate protection for both listeners, ahead of any key lookup.
//!
//! The client IP is the peer's, or — when the peer is a trusted proxy — the nearest untrusted
//! address in `X-Forwarded-For`. This guards the process against floods; budgets and rate
//! limits per agent are the limiter's job.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use governor::middleware::NoOpMiddleware;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted: Arc<Vec<IpAddr>>,
}

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0).ok_or(GovernorError::UnableToExtractKey)?;
        Ok(crate::state::client_ip(peer, req.headers(), &self.trusted))
    }
}

type Middleware = NoOpMiddleware<governor::clock::QuantaInstant>;
pub type FloodConfig = Arc<GovernorConfig<ClientIpKey, Middleware>>;
pub type FloodLayer = GovernorLayer<ClientIpKey, Middleware, Body>;

/// The layer, or `None` when `requests_per_second` is 0. A task forgets idle addresses.
pub fn flood_guard(requests_per_second: u64, burst: u32, trusted: &[IpAddr]) -> Option<(FloodLayer, FloodConfig)> {
    if requests_per_second == 0 {
        return None;
    }
    let config = GovernorConfigBuilder::default()
        .per_nanosecond((1_000_000_000 / requests_per_second).max(1))
        .burst_size(burst.max(1))
        .key_extractor(ClientIpKey { trusted: Arc::new(trusted.to_vec()) })
        .finish()?;
    let config = Arc::new(config);
    let layer = GovernorLayer::new(config.clone()).error_handler(|e| {
        let (wait, status) = match &e {
            GovernorError::TooManyRequests { wait_time, .. } => (*wait_time, StatusCode::TOO_MANY_REQUESTS),
            _ => (1, StatusCode::BAD_REQUEST),
        };
        let body = serde_json::json!({"error": {
            "message": format!("too many requests from this address; retry in {wait}s"),
            "type": "rate_limit_error", "code": "ip_rate_limited", "param": null}});
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert("content-type", axum::http::HeaderValue::from_static("application/json"));
        if let Ok(v) = axum::http::HeaderValue::from_str(&wait.max(1).to_string()) {
            headers.insert("retry-after", v);
        }
        resp
    });
    Some((layer, config))
}

/// Drops per-address state that has not been used lately.
pub fn spawn_forget_idle(
    config: FloodConfig,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = crate::periodic::ticker(Duration::from_secs(60));
        while crate::periodic::next_tick(&mut ticker, &stop).await {
            config.limiter().retain_recent();
        }
    })
}
