//! How Weir reaches providers: kept connections, providers that close them, HTTP proxies.
//!
//! The upstream here is a bare HTTP/1.1 server written for the test, so that what happens on
//! the wire (connections opened, the request line, the `Host` header) can be counted exactly.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

const ANSWER: &str = r#"{"id":"chatcmpl-raw","object":"chat.completion","created":1,"model":"raw-model","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;

/// One request as it arrived: its request line and headers (lower-cased names).
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Reads one request head and its body (by `content-length`); `None` at end of stream.
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(Seen, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let mut lines = head.split("\r\n");
            let line = lines.next().unwrap_or_default().to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some((Seen { line, headers }, body));
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A provider answering every request with [`ANSWER`], counting connections. With
/// `close_after_answer` it closes each connection right after answering, as a provider closing
/// idle connections does (without saying so in a `Connection` header).
struct RawProvider {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawProvider {
    async fn start(close_after_answer: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (c, s) = (connections.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    while let Some((req, _body)) = read_request(&mut sock, &mut buf).await {
                        let asked_to_close = req.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
                        s.lock().unwrap().push(req);
                        let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}", ANSWER.len());
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                        if close_after_answer || asked_to_close {
                            let _ = sock.shutdown().await;
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, connections, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A forward HTTP proxy for `http://` targets: it takes absolute-form requests, records their
/// request lines, and passes each connection on to the target.
struct RawProxy {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    while let Some((req, body)) = read_request(&mut client, &mut buf).await {
                        s.lock().unwrap().push(req.clone());
                        // "POST http://host:port/path HTTP/1.1"
                        let mut parts = req.line.splitn(3, ' ');
                        let (method, target, version) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
                        let rest = target.strip_prefix("http://").expect("absolute-form request");
                        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                        let mut upstream = TcpStream::connect(authority).await.unwrap();
                        let mut head = format!("{method} {path} {version}\r\n");
                        for (k, v) in &req.headers {
                            if k != "proxy-connection" {
                                head.push_str(&format!("{k}: {v}\r\n"));
                            }
                        }
                        head.push_str("connection: close\r\n\r\n");
                        upstream.write_all(head.as_bytes()).await.unwrap();
                        upstream.write_all(&body).await.unwrap();
                        let mut answer = Vec::new();
                        upstream.read_to_end(&mut answer).await.unwrap();
                        if client.write_all(&answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, seen }
    }
}

fn raw_model_toml(provider: &RawProvider, proxy_line: &str) -> String {
    format!(
        r#"
[[providers]]
name = "raw"
kind = "openai"
base_url = "http://{}/v1"
{proxy_line}

[[models]]
name = "raw-test"
targets = [{{ provider = "raw", model = "raw-model" }}]
"#,
        provider.addr
    )
}

async fn call(gw: &TestGateway) -> reqwest::Response {
    gw.post("/v1/chat/completions", json!({"model": "raw-test", "messages": [{"role": "user", "content": "hi"}]})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_connections_are_kept_and_reused() {
    let raw = RawProvider::start(false).await;
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: raw_model_toml(&raw, ""), ..Default::default() }).await;
    for _ in 0..5 {
        let resp = call(&gw).await;
        assert_eq!(resp.status(), 200);
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["usage"]["total_tokens"], 4);
    }
    // Each gateway worker keeps its own provider connections; a client connection that the
    // test's HTTP client opens anew may land on another worker. Without reuse there would be 5.
    let workers = gw.state.runtime.load().config.workers;
    let conns = raw.connections.load(Ordering::SeqCst);
    assert!(conns >= 1 && conns <= workers.min(4), "five calls in a row share the workers' provider connections: {conns} for {workers} workers");
    let seen = raw.seen();
    assert_eq!(seen.len(), 5);
    for s in &seen {
        assert_eq!(s.line, "POST /v1/chat/completions HTTP/1.1");
        assert_eq!(s.header("host"), Some(raw.addr.to_string().as_str()));
        assert!(s.header("traceparent").is_some_and(|t| t.starts_with("00-")), "{s:?}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_closing_its_connections_costs_no_call() {
    let raw = RawProvider::start(true).await;
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: raw_model_toml(&raw, ""), ..Default::default() }).await;
    for i in 0..10 {
        let resp = call(&gw).await;
        assert_eq!(resp.status(), 200, "call {i}");
        // Half the calls follow at once, racing the close; half after it has surely landed.
        if i % 2 == 1 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    assert_eq!(raw.seen().len(), 10, "every call reached the provider exactly once");
    assert_eq!(raw.connections.load(Ordering::SeqCst), 10);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_with_a_proxy_is_reached_through_it() {
    let raw = RawProvider::start(false).await;
    let proxy = RawProxy::start().await;
    let line = format!("proxy = \"http://{}\"", proxy.addr);
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: raw_model_toml(&raw, &line), ..Default::default() }).await;
    let resp = call(&gw).await;
    assert_eq!(resp.status(), 200);
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, format!("POST http://{}/v1/chat/completions HTTP/1.1", raw.addr));
    assert_eq!(raw.seen().len(), 1);
    // The agent's Weir key goes no further through a proxy than without one.
    assert!(seen[0].headers.iter().all(|(_, v)| !v.contains(&gw.key)));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_proxy_variables_apply_unless_no_proxy_names_the_host() {
    let raw = RawProvider::start(false).await;
    let proxy = RawProxy::start().await;
    let proxy_url = format!("http://{}", proxy.addr);

    let env = vec![("HTTP_PROXY".to_string(), proxy_url.clone())];
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: raw_model_toml(&raw, ""), env, ..Default::default() }).await;
    assert_eq!(call(&gw).await.status(), 200);
    assert_eq!(proxy.seen.lock().unwrap().len(), 1, "HTTP_PROXY applies to an http:// provider");
    gw.stop().await;

    let env = vec![("http_proxy".to_string(), proxy_url.clone()), ("NO_PROXY".to_string(), "localhost,127.0.0.1".to_string())];
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: raw_model_toml(&raw, ""), env, ..Default::default() }).await;
    assert_eq!(call(&gw).await.status(), 200);
    assert_eq!(proxy.seen.lock().unwrap().len(), 1, "NO_PROXY names the provider's host");

    // `proxy = ""` turns the variables off for one provider.
    gw.stop().await;
    let env = vec![("HTTP_PROXY".to_string(), proxy_url)];
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: raw_model_toml(&raw, "proxy = \"\""), env, ..Default::default() }).await;
    assert_eq!(call(&gw).await.status(), 200);
    assert_eq!(proxy.seen.lock().unwrap().len(), 1);
    assert_eq!(raw.seen().len(), 3);
    gw.stop().await;
}
