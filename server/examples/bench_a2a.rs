//! The A2A load generator of `bench/a2a.py`: a non-streamed message straight to an A2A agent
//! over JSON-RPC and through Weir (`/a2a/{agent}`).
//!
//!   bench_a2a latency DIRECT_URL WEIR_URL KEY CALLS VERSION...
//!       For each VERSION (`1.0`: `SendMessage` with `A2A-Version: 1.0`; `0.3`: `message/send`
//!       with no version header), one side straight to the agent at DIRECT_URL and one through
//!       Weir at WEIR_URL (the agent's endpoint, `…/a2a/NAME`) with KEY. Then CALLS rounds
//!       after a tenth as many unrecorded, each sending one message on every side in turn,
//!       sequentially on kept connections, so that drift on a busy machine hits every side
//!       alike. Every message has a new `messageId`; every answer must be a completed task.
//!       Prints one JSON line of latency percentiles (ms), sides named `direct_v1`, `weir_v1`,
//!       `direct_v03`, `weir_v03`.

use std::time::Instant;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

/// A protocol version's request and what a completed task's answer carries.
#[derive(Clone, Copy)]
enum Version {
    V1,
    V03,
}

impl Version {
    fn parse(s: &str) -> anyhow::Result<Self> {
        match s {
            "1.0" => Ok(Self::V1),
            "0.3" => Ok(Self::V03),
            _ => bail!("unknown A2A version `{s}` (1.0 or 0.3)"),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V03 => "v03",
        }
    }

    /// A `hello` message with a fresh id, as a JSON-RPC request of this version.
    fn body(self, id: usize) -> Value {
        let message_id = uuid::Uuid::new_v4().to_string();
        match self {
            Self::V1 => json!({"jsonrpc": "2.0", "id": id.to_string(), "method": "SendMessage", "params": {
                "message": {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "hello"}]}}}),
            Self::V03 => json!({"jsonrpc": "2.0", "id": id.to_string(), "method": "message/send", "params": {
                "message": {"kind": "message", "messageId": message_id, "role": "user", "parts": [{"kind": "text", "text": "hello"}]}}}),
        }
    }

    /// What a completed task's answer holds (the fixture agent echoes the text back).
    fn completed(self) -> &'static [u8] {
        match self {
            Self::V1 => b"\"TASK_STATE_COMPLETED\"",
            Self::V03 => b"\"completed\"",
        }
    }
}

struct Side {
    name: String,
    url: String,
    key: Option<String>,
    version: Version,
    samples: Vec<f64>,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn send(http: &reqwest::Client, s: &Side, id: usize) -> anyhow::Result<f64> {
    let mut req = http.post(&s.url).header("content-type", "application/json").header("accept", "application/json").body(s.version.body(id).to_string());
    if let Version::V1 = s.version {
        req = req.header("a2a-version", "1.0");
    }
    if let Some(k) = &s.key {
        req = req.bearer_auth(k);
    }
    let t0 = Instant::now();
    let resp = req.send().await.with_context(|| format!("POST {}", s.url))?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    let took = t0.elapsed();
    if !status.is_success() || !contains(&bytes, b"echo: hello") || !contains(&bytes, s.version.completed()) || contains(&bytes, b"\"error\"") {
        bail!("{}: HTTP {status}: {}", s.name, String::from_utf8_lossy(&bytes));
    }
    Ok(took.as_secs_f64() * 1000.0)
}

async fn latency(direct: &str, weir: &str, key: &str, calls: usize, versions: &[Version]) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).pool_max_idle_per_host(4).build()?;
    let mut sides = Vec::new();
    for &v in versions {
        sides.push(Side { name: format!("direct_{}", v.suffix()), url: direct.to_string(), key: None, version: v, samples: vec![] });
        sides.push(Side { name: format!("weir_{}", v.suffix()), url: weir.to_string(), key: Some(key.to_string()), version: v, samples: vec![] });
    }
    let warmup = calls / 10;
    for round in 0..calls + warmup {
        for s in sides.iter_mut() {
            let took = send(&http, s, round).await?;
            if round >= warmup {
                s.samples.push(took);
            }
        }
    }
    let mut out = serde_json::Map::new();
    for s in sides.iter_mut() {
        s.samples.sort_by(f64::total_cmp);
        out.insert(s.name.clone(), json!({"p50": percentile(&s.samples, 0.5), "p90": percentile(&s.samples, 0.9), "p99": percentile(&s.samples, 0.99), "n": s.samples.len()}));
    }
    println!("{}", Value::Object(out));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_a2a latency DIRECT_URL WEIR_URL KEY CALLS VERSION... (VERSION: 1.0 or 0.3)";
    match args.first().map(String::as_str) {
        Some("latency") if args.len() >= 6 => {
            let versions = args[5..].iter().map(|v| Version::parse(v)).collect::<anyhow::Result<Vec<_>>>()?;
            latency(&args[1], &args[2], &args[3], args[4].parse().context(usage)?, &versions).await
        }
        _ => bail!("{usage}"),
    }
}
