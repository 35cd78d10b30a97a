//! How Weir reaches a provider: HTTP/1.1 connections kept per worker thread.
//!
//! Every gateway worker thread keeps its own idle connections to each provider origin, so a
//! call is sent, answered and relayed on the thread that accepted it, without handing bytes or
//! wake-ups to another thread. Measured on the LLM path, this costs a third of the CPU per call
//! that a shared `reqwest` client does (whose pool, per-call URL parsing and timers dominated
//! the gateway's own work). When an HTTP proxy applies to a provider — its `proxy` key, or the
//! standard `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` variables outside `NO_PROXY` — calls to it
//! go through `reqwest`, which speaks to proxies.
//!
//! A connection goes back to its thread's pool only once its response has been read to the
//! end; a response abandoned half-way (the client left) closes its connection, which is how
//! the provider learns the call was cancelled. A request that fails on a pooled connection
//! before it was written (the provider had closed the idle connection) is sent again on a new
//! one; nothing that may have reached the provider is ever repeated here.

use std::cell::RefCell;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use bytes::Bytes;
use futures_util::Stream;
use http_body_util::Full;
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Idle connections kept per origin and thread.
const MAX_IDLE_PER_ORIGIN: usize = 256;
/// An idle connection older than this is closed rather than reused: providers close theirs
/// after a while, and a request must not race that.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("{0}")]
    Http(#[from] hyper::Error),
    #[error("{0}")]
    Proxied(#[from] reqwest::Error),
    #[error("the provider stopped sending")]
    ReadTimeout,
    #[error("invalid request: {0}")]
    Request(String),
    #[error("the answer is larger than the {0}-byte limit")]
    TooLarge(usize),
}

impl TransportError {
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::ConnectTimeout | Self::ReadTimeout => true,
            Self::Proxied(e) => e.is_timeout(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    https: bool,
    host: Arc<str>,
    port: u16,
}

/// The way to one provider, built when the config is (re)loaded.
pub struct Transport {
    origin: Origin,
    /// `host[:port]`, as the `Host` header says it.
    authority: HeaderValue,
    /// The base URL's path, without a trailing slash (`/v1`, or empty).
    base_path: String,
    base_url: String,
    connect_timeout: Duration,
    /// Longest wait for the response head once the request is sent.
    read_timeout: Duration,
    /// Set when the provider is reached through an HTTP proxy.
    proxied: Option<reqwest::Client>,
}

/// A provider's answer: status, headers and a body read as it arrives.
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: UpstreamBody,
}

impl Transport {
    /// `proxy`: the proxy URL to use for this provider, if any.
    pub fn new(base_url: &str, connect_timeout: Duration, read_timeout: Duration, proxy: Option<&str>) -> Result<Self, String> {
        let uri: Uri = base_url.parse().map_err(|e| format!("`{base_url}` is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("`{base_url}` is not an http(s) URL")),
        };
        let host = uri.host().ok_or_else(|| format!("`{base_url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = HeaderValue::from_str(uri.authority().map_or(host, |a| a.as_str())).map_err(|e| e.to_string())?;
        let proxied = match proxy {
            Some(p) => Some(
                reqwest::Client::builder()
                    .proxy(reqwest::Proxy::all(p).map_err(|e| format!("proxy `{p}`: {e}"))?)
                    .connect_timeout(connect_timeout)
                    .read_timeout(read_timeout)
                    .tcp_nodelay(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        Ok(Self {
            origin: Origin { https, host: Arc::from(host.trim_start_matches('[').trim_end_matches(']')), port },
            authority,
            base_path: uri.path().trim_end_matches('/').to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            connect_timeout,
            read_timeout,
            proxied,
        })
    }

    /// POSTs `body` to the provider's `path` (appended to its base URL; `query` as given).
    /// Resolves when the response head has arrived.
    pub async fn post(&self, path: &str, query: Option<&str>, headers: HeaderMap, body: Bytes) -> Result<UpstreamResponse, TransportError> {
        self.send(Method::POST, path, query, headers, body).await
    }

    /// Sends a `method` request to `path` (appended to the base URL; `query` as given).
    /// Resolves when the response head has arrived.
    pub async fn send(&self, method: Method, path: &str, query: Option<&str>, headers: HeaderMap, body: Bytes) -> Result<UpstreamResponse, TransportError> {
        if let Some(client) = &self.proxied {
            let url = match query {
                Some(q) if !q.is_empty() => format!("{}{path}?{q}", self.base_url),
                _ => format!("{}{path}", self.base_url),
            };
            let resp = client.request(method, url).headers(headers).body(body).send().await?;
            let (status, headers) = (resp.status(), resp.headers().clone());
            return Ok(UpstreamResponse { status, headers, body: UpstreamBody::proxied(resp) });
        }
        let mut target = String::with_capacity(self.base_path.len() + path.len() + query.map_or(0, |q| q.len() + 1));
        target.push_str(&self.base_path);
        target.push_str(path);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            target.push('?');
            target.push_str(q);
        }
        let build = |headers: HeaderMap, body: Bytes| -> Result<Request<Full<Bytes>>, TransportError> {
            let mut req = Request::new(Full::new(body));
            *req.method_mut() = method.clone();
            *req.uri_mut() = target.parse().map_err(|e: axum::http::uri::InvalidUri| TransportError::Request(e.to_string()))?;
            *req.headers_mut() = headers;
            req.headers_mut().insert(axum::http::header::HOST, self.authority.clone());
            Ok(req)
        };
        // A pooled connection the provider has closed fails before the request is written;
        // then (and only then) the request goes again on a fresh connection.
        if let Some(mut sender) = checkout(&self.origin).await {
            match self.head(sender.send_request(build(headers.clone(), body.clone())?)).await {
                Ok(resp) => return Ok(self.response(resp, sender)),
                Err(TransportError::Http(e)) if e.is_canceled() || e.is_closed() => {}
                Err(e) => return Err(e),
            }
        }
        let mut sender = self.connect().await?;
        let resp = self.head(sender.send_request(build(headers, body)?)).await?;
        Ok(self.response(resp, sender))
    }

    /// The response head, within the read timeout.
    async fn head(
        &self,
        sent: impl std::future::Future<Output = Result<hyper::Response<Incoming>, hyper::Error>>,
    ) -> Result<hyper::Response<Incoming>, TransportError> {
        match tokio::time::timeout(self.read_timeout, sent).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(TransportError::ReadTimeout),
        }
    }

    fn response(&self, resp: hyper::Response<Incoming>, sender: SendRequest<Full<Bytes>>) -> UpstreamResponse {
        let (parts, body) = resp.into_parts();
        UpstreamResponse {
            status: parts.status,
            headers: parts.headers,
            body: UpstreamBody::pooled(body, Some((self.origin.clone(), sender))),
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let origin = &self.origin;
        let connecting = async {
            let tcp = TcpStream::connect((&*origin.host, origin.port)).await.map_err(TransportError::Connect)?;
            let _ = tcp.set_nodelay(true);
            if origin.https {
                let name = rustls::pki_types::ServerName::try_from(origin.host.to_string())
                    .map_err(|e| TransportError::Tls(std::io::Error::other(e)))?;
                let tls = TLS.connect(name, tcp).await.map_err(TransportError::Tls)?;
                handshake(tls).await
            } else {
                handshake(tcp).await
            }
        };
        match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::ConnectTimeout),
        }
    }
}

static TLS: LazyLock<tokio_rustls::TlsConnector> = LazyLock::new(|| {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|e| unreachable!("ring supports the default protocol versions: {e}"));
    tokio_rustls::TlsConnector::from(Arc::new(config))
});

async fn handshake<IO>(io: IO) -> Result<SendRequest<Full<Bytes>>, TransportError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(io)).await?;
    // The connection is driven on this thread's runtime; it ends when the sender is dropped
    // or the provider closes it.
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "provider connection closed");
        }
    });
    Ok(sender)
}

struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

thread_local! {
    static IDLE: RefCell<HashMap<Origin, Vec<Idle>>> = RefCell::new(HashMap::new());
}

/// The most recently used live connection to `origin` on this thread, ready for a request.
async fn checkout(origin: &Origin) -> Option<SendRequest<Full<Bytes>>> {
    loop {
        let idle = IDLE.with_borrow_mut(|pools| pools.get_mut(origin).and_then(Vec::pop))?;
        if idle.since.elapsed() > IDLE_TIMEOUT || idle.sender.is_closed() {
            continue;
        }
        let mut sender = idle.sender;
        // Ready at once unless the connection task has not yet seen the previous response end.
        if sender.ready().await.is_ok() {
            return Some(sender);
        }
    }
}

fn checkin(origin: Origin, sender: SendRequest<Full<Bytes>>) {
    if sender.is_closed() {
        return;
    }
    IDLE.with_borrow_mut(|pools| {
        let idle = pools.entry(origin).or_default();
        if idle.len() < MAX_IDLE_PER_ORIGIN {
            idle.push(Idle { sender, since: Instant::now() });
        }
    });
}

/// A response body, chunk by chunk as the provider sends it.
pub struct UpstreamBody(BodyInner);

enum BodyInner {
    Pooled {
        body: Incoming,
        /// The connection, returned to the pool when the body has been read to its end.
        conn: Option<(Origin, SendRequest<Full<Bytes>>)>,
        /// Longest wait for the next chunk, when set.
        idle_limit: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
    },
    Proxied(Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>),
}

impl UpstreamBody {
    fn pooled(body: Incoming, conn: Option<(Origin, SendRequest<Full<Bytes>>)>) -> Self {
        Self(BodyInner::Pooled { body, conn, idle_limit: None })
    }

    fn proxied(resp: reqwest::Response) -> Self {
        Self(BodyInner::Proxied(Box::pin(resp.bytes_stream())))
    }

    /// Fails the body when no chunk arrives for `limit` (a stalled stream).
    pub fn with_chunk_timeout(mut self, limit: Duration) -> Self {
        if let BodyInner::Pooled { idle_limit, .. } = &mut self.0 {
            *idle_limit = Some((limit, Box::pin(tokio::time::sleep(limit))));
        }
        self
    }

    /// The whole body, up to `max` bytes (past it, reading stops and the body is refused).
    pub async fn collect(mut self, max: usize) -> Result<Bytes, TransportError> {
        use futures_util::StreamExt;
        let mut body = crate::joined::Joined::default();
        while let Some(chunk) = self.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > max {
                return Err(TransportError::TooLarge(max));
            }
            body.push(chunk);
        }
        Ok(body.finish())
    }
}

impl Stream for UpstreamBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.0 {
            BodyInner::Proxied(s) => s.as_mut().poll_next(cx).map(|o| o.map(|r| r.map_err(TransportError::from))),
            BodyInner::Pooled { body, conn, idle_limit } => loop {
                match Pin::new(&mut *body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Some((limit, sleep)) = idle_limit.as_mut() {
                            sleep.as_mut().reset(tokio::time::Instant::now() + *limit);
                        }
                        match frame.into_data() {
                            Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                            // Trailers and empty frames carry nothing to relay.
                            _ => continue,
                        }
                    }
                    Poll::Ready(Some(Err(e))) => {
                        conn.take();
                        return Poll::Ready(Some(Err(e.into())));
                    }
                    Poll::Ready(None) => {
                        if let Some((origin, sender)) = conn.take() {
                            checkin(origin, sender);
                        }
                        return Poll::Ready(None);
                    }
                    Poll::Pending => {
                        if let Some((_, sleep)) = idle_limit.as_mut() {
                            if sleep.as_mut().poll(cx).is_ready() {
                                conn.take();
                                return Poll::Ready(Some(Err(TransportError::ReadTimeout)));
                            }
                        }
                        return Poll::Pending;
                    }
                }
            },
        }
    }
}

use std::future::Future as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_split_into_origin_and_path() {
        let t = Transport::new("https://api.openai.com/v1", Duration::from_secs(1), Duration::from_secs(1), None).unwrap();
        assert_eq!(t.origin, Origin { https: true, host: Arc::from("api.openai.com"), port: 443 });
        assert_eq!(t.authority, "api.openai.com");
        assert_eq!(t.base_path, "/v1");
        let t = Transport::new("http://127.0.0.1:8080", Duration::from_secs(1), Duration::from_secs(1), None).unwrap();
        assert_eq!(t.origin.port, 8080);
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.base_path, "");
        let t = Transport::new("http://[::1]:9/x/", Duration::from_secs(1), Duration::from_secs(1), None).unwrap();
        assert_eq!(&*t.origin.host, "::1");
        assert_eq!(t.base_path, "/x");
        assert!(Transport::new("ftp://x", Duration::from_secs(1), Duration::from_secs(1), None).is_err());
    }
}
