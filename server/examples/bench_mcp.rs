//! The MCP load generator of `bench/mcp.py`: `tools/call` latency straight to a Streamable HTTP
//! MCP server and through Weir, and many idle sessions opened through Weir.
//!
//!   bench_mcp latency DIRECT_URL WEIR_BASE SERVER KEY TOOL CALLS
//!       One session direct, one on Weir's one-server endpoint (WEIR_BASE/mcp/SERVER), one on the
//!       aggregate (WEIR_BASE/mcp, tool SERVER__TOOL); then CALLS rounds, each calling the tool
//!       once on every side in turn, sequentially on kept connections, so that drift on a busy
//!       machine hits every side alike. Prints one JSON line of latency percentiles (ms).
//!   bench_mcp sessions URL KEY COUNT
//!       Opens COUNT sessions (initialize + notifications/initialized) and leaves them idle.
//!   bench_mcp stateless DIRECT_URL WEIR_BASE SERVER KEY TOOL BRIDGED_DIRECT BRIDGED TOOL2 CALLS
//!       Revision 2026-07-28 (no session; `_meta` and the revision's headers on every request):
//!       a stateless server directly, on Weir's one-server endpoint (WEIR_BASE/mcp/SERVER), and a
//!       server with sessions, directly (a session of its own, BRIDGED_DIRECT) and reached by a
//!       stateless client through Weir (WEIR_BASE/mcp/BRIDGED, its tool TOOL2), in rounds as
//!       `latency` does. TOOL is called with `{"name": "hello"}`, TOOL2 with `{"text": "hello"}`.
//!   bench_mcp replicas DIRECT_URL LOCAL_BASE LOCAL_KEY A_BASE B_BASE SHARED_KEY SERVER TOOL CALLS
//!       Shared sessions: one session on a Weir without Redis (LOCAL), one begun on replica A and
//!       called in turn at A (its first replica) and at B (another), on WEIR/mcp/SERVER; and the
//!       server directly. Prints the percentiles of each side as `latency` does.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

const ACCEPT: &str = "application/json, text/event-stream";
const VERSION: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";

struct Side {
    name: &'static str,
    url: String,
    key: Option<String>,
    tool: String,
    args: Value,
    session: String,
    /// Revision 2026-07-28: no session, `_meta` and headers on every request.
    stateless: bool,
    samples: Vec<f64>,
}

impl Side {
    fn new(name: &'static str, url: String, key: Option<&str>, tool: &str) -> Self {
        Self { name, url, key: key.map(str::to_string), tool: tool.to_string(), args: json!({"text": "hello"}), session: String::new(), stateless: false, samples: vec![] }
    }

    fn stateless(mut self, args: Value) -> Self {
        self.stateless = true;
        self.args = args;
        self
    }
}

async fn post(http: &reqwest::Client, url: &str, key: Option<&str>, session: Option<&str>, body: &Value) -> anyhow::Result<reqwest::Response> {
    let mut req = http.post(url).header("accept", ACCEPT).header("content-type", "application/json").body(body.to_string());
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s).header("mcp-protocol-version", VERSION);
    }
    req.send().await.with_context(|| format!("POST {url}"))
}

async fn open_session(http: &reqwest::Client, url: &str, key: Option<&str>) -> anyhow::Result<String> {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}});
    let resp = post(http, url, key, None, &init).await?;
    if !resp.status().is_success() {
        bail!("initialize at {url}: HTTP {}", resp.status());
    }
    let session = resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).context("no Mcp-Session-Id")?.to_string();
    let _ = resp.bytes().await;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let resp = post(http, url, key, Some(&session), &note).await?;
    if !resp.status().is_success() {
        bail!("initialized at {url}: HTTP {}", resp.status());
    }
    Ok(session)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latency(direct: &str, weir: &str, server: &str, key: &str, tool: &str, calls: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).pool_max_idle_per_host(4).build()?;
    let mut sides = vec![
        Side::new("direct", direct.to_string(), None, tool),
        Side::new("weir_server", format!("{weir}/mcp/{server}"), Some(key), tool),
        Side::new("weir_aggregate", format!("{weir}/mcp"), Some(key), &format!("{server}__{tool}")),
    ];
    for s in &mut sides {
        s.session = open_session(&http, &s.url, s.key.as_deref()).await?;
    }
    measure(&http, &mut sides, calls).await
}

/// Calls the tool on every side in turn, `calls` rounds after a tenth as many unrecorded;
/// prints the percentiles of each side.
async fn measure(http: &reqwest::Client, sides: &mut [Side], calls: usize) -> anyhow::Result<()> {
    let warmup = calls / 10;
    for round in 0..calls + warmup {
        for s in sides.iter_mut() {
            let mut body = json!({"jsonrpc": "2.0", "id": round, "method": "tools/call", "params": {"name": s.tool, "arguments": s.args}});
            let t0 = Instant::now();
            let resp = if s.stateless {
                body["params"]["_meta"] = json!({
                    "io.modelcontextprotocol/protocolVersion": STATELESS,
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
                });
                let mut req = http
                    .post(&s.url)
                    .header("accept", ACCEPT)
                    .header("content-type", "application/json")
                    .header("mcp-protocol-version", STATELESS)
                    .header("mcp-method", "tools/call")
                    .header("mcp-name", &s.tool)
                    .body(body.to_string());
                if let Some(k) = &s.key {
                    req = req.bearer_auth(k);
                }
                req.send().await.with_context(|| format!("POST {}", s.url))?
            } else {
                post(http, &s.url, s.key.as_deref(), Some(&s.session), &body).await?
            };
            let status = resp.status();
            let bytes = resp.bytes().await?;
            let took = t0.elapsed();
            if !status.is_success() || !bytes.windows(5).any(|w| w == b"hello") {
                bail!("{}: HTTP {status}: {}", s.name, String::from_utf8_lossy(&bytes));
            }
            if round >= warmup {
                s.samples.push(took.as_secs_f64() * 1000.0);
            }
        }
    }
    let mut out = serde_json::Map::new();
    for s in sides.iter_mut() {
        s.samples.sort_by(f64::total_cmp);
        out.insert(s.name.to_string(), json!({"p50": percentile(&s.samples, 0.5), "p90": percentile(&s.samples, 0.9), "p99": percentile(&s.samples, 0.99), "n": s.samples.len()}));
    }
    println!("{}", Value::Object(out));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn stateless(direct: &str, weir: &str, server: &str, key: &str, tool: &str, bridged_direct: &str, bridged: &str, tool2: &str, calls: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).pool_max_idle_per_host(4).build()?;
    let hello = json!({"name": "hello"});
    let mut sides = vec![
        Side::new("direct", direct.to_string(), None, tool).stateless(hello.clone()),
        Side::new("weir_server", format!("{weir}/mcp/{server}"), Some(key), tool).stateless(hello),
        Side::new("direct_sessions", bridged_direct.to_string(), None, tool2),
        Side::new("weir_bridged", format!("{weir}/mcp/{bridged}"), Some(key), tool2).stateless(json!({"text": "hello"})),
    ];
    sides[2].session = open_session(&http, bridged_direct, None).await?;
    measure(&http, &mut sides, calls).await
}

#[allow(clippy::too_many_arguments)]
async fn replicas(direct: &str, local: &str, local_key: &str, a: &str, b: &str, shared_key: &str, server: &str, tool: &str, calls: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).pool_max_idle_per_host(4).build()?;
    let mut sides = vec![
        Side::new("direct", direct.to_string(), None, tool),
        Side::new("local", format!("{local}/mcp/{server}"), Some(local_key), tool),
        Side::new("first_replica", format!("{a}/mcp/{server}"), Some(shared_key), tool),
        Side::new("other_replica", format!("{b}/mcp/{server}"), Some(shared_key), tool),
    ];
    for s in &mut sides[..3] {
        s.session = open_session(&http, &s.url, s.key.as_deref()).await?;
    }
    // The session begun at A, used at B.
    sides[3].session = sides[2].session.clone();
    measure(&http, &mut sides, calls).await
}

async fn sessions(url: &str, key: &str, count: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let t0 = Instant::now();
    for _ in 0..count {
        open_session(&http, url, Some(key)).await?;
    }
    eprintln!("{count} sessions opened in {:.1} s", t0.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_mcp latency DIRECT_URL WEIR_BASE SERVER KEY TOOL CALLS | stateless DIRECT_URL WEIR_BASE SERVER KEY TOOL BRIDGED_DIRECT BRIDGED TOOL2 CALLS | sessions URL KEY COUNT | replicas DIRECT_URL LOCAL_BASE LOCAL_KEY A_BASE B_BASE SHARED_KEY SERVER TOOL CALLS";
    match args.first().map(String::as_str) {
        Some("replicas") if args.len() == 10 => replicas(&args[1], &args[2], &args[3], &args[4], &args[5], &args[6], &args[7], &args[8], args[9].parse().context(usage)?).await,
        Some("stateless") if args.len() == 10 => stateless(&args[1], &args[2], &args[3], &args[4], &args[5], &args[6], &args[7], &args[8], args[9].parse().context(usage)?).await,
        Some("latency") if args.len() == 7 => latency(&args[1], &args[2], &args[3], &args[4], &args[5], args[6].parse().context(usage)?).await,
        Some("sessions") if args.len() == 4 => sessions(&args[1], &args[2], args[3].parse().context(usage)?).await,
        _ => bail!("{usage}"),
    }
}
