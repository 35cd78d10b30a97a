//! Every message Weir reads from an MCP backend is bounded by `mcp.max_backend_message_bytes`:
//! a JSON answer, an SSE event, a stdio line. Past it the call gets the JSON-RPC error of a
//! failing backend (audited as such, status 502), the stream or process that sent it is dropped
//! (a stdio process is restarted) rather than read on, and the next call is served.

use std::time::Duration;

use serde_json::{json, Value};
use weir_server::store::AuditFilter;

use crate::support::*;

/// The limit under test: small, so that a test's messages pass it cheaply.
const LIMIT: usize = 64 * 1024;

/// The fixture three ways: over stdio (`fix`), over Streamable HTTP answering SSE (`fixhttp`)
/// and answering plain JSON (`fixjson`).
async fn gateway() -> (TestGateway, HttpFixture, HttpFixture) {
    let sse = HttpFixture::start(&[]).await;
    let plain = HttpFixture::start(&[("FIXTURE_JSON_RESPONSE", "1")]).await;
    let servers = format!("\n[[mcp.servers]]\nname = \"fixhttp\"\nurl = \"{}\"\n\n[[mcp.servers]]\nname = \"fixjson\"\nurl = \"{}\"\n", sse.url(), plain.url());
    let gw = TestGateway::start_with(
        Backend::Sqlite,
        GatewayOptions { extra_toml: mcp_fixture_toml(&format!("max_backend_message_bytes = {LIMIT}")) + &servers, ..Default::default() },
    )
    .await;
    (gw, sse, plain)
}

/// Calls `tool` and returns the JSON-RPC answer (sent as JSON, or as an SSE stream's last event).
async fn call(gw: &TestGateway, session: &str, tool: &str, arguments: Value) -> Value {
    let msg = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
    let resp = mcp_request(gw, session, &msg).timeout(Duration::from_secs(30)).send().await.unwrap();
    mcp_answer(&resp.text().await.unwrap(), 2)
}

fn assert_too_large(answer: &Value, tool: &str) {
    assert_eq!(answer["error"]["code"], json!(-32000), "{tool}: {answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("larger than the {LIMIT}-byte limit")), "{tool}: {answer}");
}

async fn assert_echoes(gw: &TestGateway, session: &str, server: &str) {
    let answer = call(gw, session, &format!("{server}__echo"), json!({"text": "still here"})).await;
    assert_eq!(answer["result"]["content"][0]["text"], json!("still here"), "{server} serves the next call: {answer}");
}

/// The audit events of calls of `tool` that failed for a message too large.
async fn too_large_events(gw: &TestGateway, tool: &str) -> Vec<weir_server::audit::AuditEvent> {
    let filter = AuditFilter { tool: Some(tool.into()), error_type: Some("backend_message_too_large".into()), limit: 10, ..Default::default() };
    let mut found = Vec::new();
    for _ in 0..200 {
        found = gw.store.query_audit_events(&filter).await.unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_past_the_limit_is_a_backend_error_and_the_next_call_is_served() {
    let (gw, _sse, _plain) = gateway().await;
    let session = open_mcp_session(&gw).await;
    let pid = gw.state.mcp.stdio_pid("fix").await.expect("the stdio process runs");
    for server in ["fix", "fixhttp", "fixjson"] {
        let tool = format!("{server}__big");
        // Just within the limit (the answer's JSON around the text included): answered.
        let fits = call(&gw, &session, &tool, json!({"bytes": LIMIT - 1024})).await;
        assert_eq!(fits["result"]["content"][0]["text"].as_str().map(str::len), Some(LIMIT - 1024), "{server}");
        assert_too_large(&call(&gw, &session, &tool, json!({"bytes": 4 * LIMIT})).await, &tool);
        assert_echoes(&gw, &session, server).await;
        let events = too_large_events(&gw, &tool).await;
        assert_eq!(events.len(), 1, "{tool}: one call failed, and its record says why");
        assert_eq!((events[0].status_code, events[0].outcome.as_str()), (502, "error"), "{tool}");
    }
    // The stdio process that sent the line was not read on: it was restarted.
    let restarted = gw.state.mcp.stdio_pid("fix").await.expect("the stdio process runs again");
    assert_ne!(restarted, pid);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_never_ends_is_cut_off_at_the_limit() {
    let (gw, sse, _plain) = gateway().await;
    let session = open_mcp_session(&gw).await;
    let peak_before = peak_rss_bytes();

    // An SSE event without end: the call fails at once (not at the request timeout), and Weir
    // hung up on the stream.
    let started = std::time::Instant::now();
    assert_too_large(&call(&gw, &session, "fixhttp__endless", json!({})).await, "fixhttp__endless");
    assert!(started.elapsed() < Duration::from_secs(10), "refused as it came, not timed out");
    let f = &sse;
    eventually(Duration::from_secs(10), "the fixture to see its endless stream closed", || async move {
        let seen = f.get("/endless").await;
        seen["open"] == json!(0) && seen["ended"].as_array().is_some_and(|e| e.len() == 1)
    })
    .await;
    // What the fixture got to write before Weir hung up: the limit, and what the sockets between
    // them buffer.
    let written = sse.get("/endless").await["ended"][0].as_u64().unwrap();
    assert!(written < 32 * 1024 * 1024, "the fixture wrote {written} bytes before Weir hung up");
    assert_echoes(&gw, &session, "fixhttp").await;

    // A stdio line without end: the process is stopped, and started again for the next call.
    let pid = gw.state.mcp.stdio_pid("fix").await.expect("the stdio process runs");
    assert_too_large(&call(&gw, &session, "fix__endless", json!({})).await, "fix__endless");
    assert_echoes(&gw, &session, "fix").await;
    assert_ne!(gw.state.mcp.stdio_pid("fix").await, Some(pid), "restarted");

    // Neither was buffered: this process (the gateway) grew by far less than what was sent at it.
    if let (Some(before), Some(after)) = (peak_before, peak_rss_bytes()) {
        assert!(after.saturating_sub(before) < 64 * 1024 * 1024, "peak RSS grew from {before} to {after} bytes");
    }
    gw.stop().await;
}

/// This process's peak resident memory (`VmHWM`), where the system says it (Linux). Each test is
/// a process of its own under nextest.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}
