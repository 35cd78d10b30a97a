//! What writing the audit trail costs per call on SQLite: events shaped like the benchmark's
//! (an LLM call with its request and response bodies captured) inserted through the audit
//! writer's SQLite path in batches, into a fresh file with Weir's schema.
//!
//! `cargo run --release -p weir-server --example bench_audit [EVENTS] [BATCH]`

use std::time::Instant;

use weir_server::audit::AuditEvent;
use weir_server::store::{SqliteAuditWriter, Store};

/// This process's CPU time (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    ticks / 100.0
}

fn event(i: usize, ts: i64) -> AuditEvent {
    AuditEvent {
        id: uuid::Uuid::now_v7().to_string(),
        ts: ts + i as i64 / 10,
        request_id: uuid::Uuid::now_v7().to_string(),
        trace_id: Some(format!("{:032x}", i)),
        span_id: Some(format!("{:016x}", i)),
        kind: "llm".into(),
        operation: "chat".into(),
        agent_id: Some("01a211c8-1d84-753f-b426-da232001c2ba".into()),
        agent_name: Some("bench".into()),
        key_id: Some("key_5D2R3JLFxyyY".into()),
        model_requested: Some("gpt-bench".into()),
        model_served: Some("gpt-4o-mini-2024-07-18".into()),
        provider: Some("bench".into()),
        status_code: 200,
        outcome: "ok".into(),
        latency_ms: 0.4,
        ttft_ms: Some(0.35),
        input_tokens: Some(8),
        output_tokens: Some(9),
        cost_usd: Some(0.0000066),
        request_body: Some(r#"{"model":"gpt-bench","messages":[{"role":"user","content":"hello"}]}"#.into()),
        response_body: Some(r#"{"id":"chatcmpl-BenchB9MBs8CjcvOU2jLn4n570S5q","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":9,"total_tokens":17}}"#.into()),
        client_ip: Some("127.0.0.1".into()),
        reserved_tokens: Some(4200),
        ..Default::default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = Store::connect(&url, 1).await?;
    store.migrate().await?;
    store.close().await;
    let mut writer = SqliteAuditWriter::for_url(&url).ok_or_else(|| anyhow::anyhow!("not a SQLite file URL"))?;
    let ts = weir_server::store::now_ms();
    let events: Vec<AuditEvent> = (0..n).map(|i| event(i, ts)).collect();
    let started = Instant::now();
    let cpu = cpu_seconds();
    for chunk in events.chunks(batch) {
        writer.insert(chunk).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let took = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    println!(
        "{n} events in batches of {batch}: {:.2} s, {:.1} µs per event ({:.1} µs of CPU), {:.0} events/s",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64,
        cpu * 1e6 / n as f64,
        n as f64 / took.as_secs_f64()
    );
    Ok(())
}
