//! Slow, idle and greedy clients on both ports: header-read, idle and body-read timeouts, and
//! the caps on open connections; and that a request waiting for its answer is never cut.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, GatewayOptions, TestGateway};

/// Short timeouts (1 s head and body, 2 s idle) and small caps, on both ports.
async fn strict(extra_server: &str) -> TestGateway {
    let server_toml = format!("header_read_timeout_secs = 1\nidle_timeout_secs = 2\nbody_read_timeout_secs = 1\n{extra_server}");
    TestGateway::start_with(Backend::Sqlite, GatewayOptions { server_toml, ..Default::default() }).await
}

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// Reads until the peer closes (or `limit` passes); returns what was read and whether it closed.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end.into(), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// A connection that got an answer to one request and is kept open; `None` when it was closed
/// without one.
async fn served_connection(base: &str) -> Option<TcpStream> {
    let mut tcp = TcpStream::connect(addr(base)).await.unwrap();
    let _ = tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(tcp),
        _ => None,
    }
}

#[tokio::test]
async fn half_sent_request_heads_are_closed_after_the_head_timeout_on_both_ports() {
    let gw = strict("").await;
    for base in [&gw.base, &gw.admin] {
        let mut slow = Vec::new();
        for _ in 0..20 {
            let mut tcp = TcpStream::connect(addr(base)).await.unwrap();
            tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
            slow.push(tcp);
        }
        let started = Instant::now();
        for tcp in &mut slow {
            let (_, closed) = read_until_closed(tcp, Duration::from_secs(5)).await;
            assert!(closed, "{base}: a connection with half a head stayed open");
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(800) && took < Duration::from_secs(4), "{base}: closed after {took:?}, head timeout is 1 s");
    }
    assert!(gw.state.gates.gateway.timed_out.load(std::sync::atomic::Ordering::Relaxed) >= 20);
    gw.stop().await;
}

/// A client whose first byte arrives alone (`P`, as HTTP/2's preface also starts) is still an
/// HTTP/1 client: its later request heads keep their deadline.
#[tokio::test]
async fn a_first_byte_alone_does_not_make_a_connection_http2() {
    let gw = strict("").await;
    let mut tcp = TcpStream::connect(addr(&gw.base)).await.unwrap();
    tcp.write_all(b"P").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tcp.write_all(b"OST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 "), "{}", String::from_utf8_lossy(&buf[..n]));
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(closed);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1700), "half a head was cut after {took:?}: the idle timeout (2 s), not the head timeout (1 s)");
    gw.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_after_the_idle_timeout_not_the_head_timeout() {
    let gw = strict("").await;
    let mut tcp = TcpStream::connect(addr(&gw.base)).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Idle past the head timeout (1 s), within the idle one (2 s): the connection still serves.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "a kept-alive connection idle for 1.5 s was cut");
    // Then idle past the idle timeout: closed.
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(closed, "an idle connection stayed open");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1700) && took < Duration::from_secs(4), "idle connection closed after {took:?}, idle timeout is 2 s");
    gw.stop().await;
}

#[tokio::test]
async fn a_stalled_request_body_gets_408_in_the_callers_protocol() {
    let gw = strict("").await;
    // LLM route: OpenAI error shape.
    let mut tcp = TcpStream::connect(addr(&gw.base)).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"model\":",
        gw.key
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (out, _) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"type\":\"invalid_request_error\"") && text.contains("stopped arriving"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // MCP route: a JSON-RPC error.
    let mut tcp = TcpStream::connect(addr(&gw.base)).await.unwrap();
    let head = format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{{\"jsonrpc\":", gw.key);
    tcp.write_all(head.as_bytes()).await.unwrap();
    let (out, _) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"jsonrpc\":\"2.0\"") && text.contains("-32600"), "{text}");
    gw.stop().await;
}

#[tokio::test]
async fn a_request_waiting_for_its_answer_is_not_cut_by_the_timeouts() {
    let gw = strict("").await;
    // The provider takes 2.6 s: longer than every connection timeout (1 s head and body, 2 s
    // idle), within its read timeout (3 s).
    let started = Instant::now();
    let resp = gw.post_behaving("/v1/chat/completions", "stall_ms=2600", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert!(started.elapsed() >= Duration::from_millis(2600));
    // A stream whose chunks come slowly (one every 1.2 s) runs to its end.
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("x-fake-behavior", "chunk_delay_ms=1200")
        .json(&json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "one two three"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("[DONE]"), "the slow stream was cut: {text}");
    gw.stop().await;
}

#[tokio::test]
async fn connections_over_the_caps_are_closed_at_once_and_counted() {
    let gw = strict("max_connections = 6\nmax_connections_per_client = 3").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(served_connection(&gw.base).await.expect("under the caps, a connection is served"));
    }
    // A fourth from the same address is closed without an answer.
    assert!(served_connection(&gw.base).await.is_none(), "over the per-client cap, a connection was served");
    // The admin port has caps of its own.
    assert_eq!(gw.http.get(gw.admin_url("/healthz")).send().await.unwrap().status(), 200);
    let metrics = gw.http.get(gw.admin_url("/metrics")).bearer_auth(crate::support::ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"weir_connections_refused_total{port="gateway",reason="per_client"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"weir_connections_open{port="gateway"} 3"#), "{metrics}");
    // One closed: a new one is served again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = reqwest::Client::new().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn a_trusted_proxy_is_exempt_from_the_per_client_cap_but_not_the_total() {
    let gw = strict("max_connections = 5\nmax_connections_per_client = 1\ntrusted_proxies = [\"127.0.0.1\"]").await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(served_connection(&gw.base).await.expect("a trusted proxy's connection was refused under the total cap"));
    }
    assert!(served_connection(&gw.base).await.is_none(), "over the total cap, a connection was served");
    assert_eq!(gw.state.gates.gateway.refused_total.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.stop().await;
}

/// The MCP session stream (GET) waits for the server as long as it must: quiet for longer than
/// the idle and head timeouts, it is still open and delivers what comes next.
#[tokio::test]
async fn an_mcp_session_stream_quiet_past_the_timeouts_is_not_cut() {
    use futures_util::StreamExt as _;
    let server_toml = "header_read_timeout_secs = 1\nidle_timeout_secs = 1\nbody_read_timeout_secs = 1".to_string();
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { server_toml, extra_toml: crate::support::mcp_fixture_toml(""), ..Default::default() }).await;
    let post = |session: Option<String>, body: serde_json::Value| {
        let mut req = gw.http.post(gw.url("/mcp")).bearer_auth(&gw.key).header("accept", "application/json, text/event-stream").header("mcp-protocol-version", "2025-11-25");
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        req.json(&body).send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let session = post(None, init).await.unwrap().headers()["mcp-session-id"].to_str().unwrap().to_string();
    let get = gw
        .http
        .get(gw.url("/mcp"))
        .bearer_auth(&gw.key)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let mut stream = get.bytes_stream();
    // Quiet for longer than every connection timeout (Weir's keep-alive comments come every
    // 5 s, so nothing crosses before the announcement below).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fix__announce", "arguments": {"count": 1, "delay_ms": 10, "tag": "late"}}});
    assert_eq!(post(Some(session), call).await.unwrap().status(), 200);
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("the session stream was cut")));
            if seen.contains("late 1") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(got.ok(), Some(true), "the quiet session stream did not deliver: {seen}");
    gw.stop().await;
}

/// A large answer read slowly is sent to its end (the connection is busy while it goes out),
/// and a client that reads nothing of it for the idle timeout is let go.
#[tokio::test]
async fn a_large_answer_goes_out_to_a_slow_reader_and_a_client_that_reads_nothing_is_let_go() {
    let gw = strict("").await;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nx-fake-behavior: pad=20000000\r\nContent-Length: {{len}}\r\n\r\n{{body}}",
        gw.key
    );
    let body = r#"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}"#;
    let request = request.replace("{len}", &body.len().to_string()).replace("{body}", body);
    // Slow: a little, then a pause past the head and body timeouts (1 s) but within the idle
    // timeout (2 s), which bounds how long a client may read nothing of an answer; then the rest.
    let mut slow = TcpStream::connect(addr(&gw.base)).await.unwrap();
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = slow.read(&mut buf).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (rest, _) = read_until_closed(&mut slow, Duration::from_secs(30)).await;
    got += rest.len();
    assert!(got > 20_000_000, "a slowly read answer was cut after {got} bytes");
    // Silent: it never reads; the answer cannot go out, and the connection is closed.
    let before = gw.state.gates.gateway.timed_out.load(std::sync::atomic::Ordering::Relaxed);
    let mut silent = TcpStream::connect(addr(&gw.base)).await.unwrap();
    silent.write_all(request.as_bytes()).await.unwrap();
    crate::support::eventually(Duration::from_secs(15), "the silent client to be let go", || async {
        gw.state.gates.gateway.timed_out.load(std::sync::atomic::Ordering::Relaxed) > before
    })
    .await;
    gw.stop().await;
}

/// Over HTTP/2 a client stalls an answer with flow control rather than by leaving the socket
/// full: a client that never reads the answer it asked for is let go all the same.
#[tokio::test]
async fn an_http2_client_that_reads_nothing_is_let_go() {
    let gw = strict("").await;
    let tcp = TcpStream::connect(addr(&gw.base)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new()).handshake(hyper_util::rt::TokioIo::new(tcp)).await.unwrap();
    let conn = tokio::spawn(conn);
    // An endless stream: the answer is never done, so only the client's reading could end it.
    let body = r#"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let req = axum::http::Request::post(format!("{}/v1/chat/completions", gw.base))
        .header("authorization", format!("Bearer {}", gw.key))
        .header("content-type", "application/json")
        .header("x-fake-behavior", "endless")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let before = gw.state.gates.gateway.timed_out.load(std::sync::atomic::Ordering::Relaxed);
    // Timed from the request: under load the window may fill before the answer's head is read
    // here, and the idle timeout runs from the last progress, which cannot precede the request.
    let started = Instant::now();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    // The body is never read: the window closes after the first 64 KiB.
    let ended = tokio::time::timeout(Duration::from_secs(10), conn).await;
    assert!(ended.is_ok(), "the connection of a client that reads nothing stayed open");
    assert!(started.elapsed() >= Duration::from_millis(1500), "cut after {:?}: before the idle timeout (2 s)", started.elapsed());
    assert!(gw.state.gates.gateway.timed_out.load(std::sync::atomic::Ordering::Relaxed) > before);
    drop(resp);
    gw.stop().await;
}
