//! What a budget and rate-limit check costs per call: reserve + settle for a typical 2 KB
//! prompt, with an hourly token budget, a monthly cost budget and an RPM/TPM limit applying —
//! on the in-process counters and on Redis (one loopback round trip each way).
//!
//! `cargo run --release -p weir-server --example bench_limits [REDIS_URL]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weir_server::config::{BudgetSection, LimitsSection, Period, Price, RateSection};
use weir_server::limits::redis::RedisCounters;
use weir_server::limits::{CallShape, Counters, Limiter, SystemClock};
use weir_server::store::Store;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(name: &str, limiter: &Limiter, n: usize) {
    let prompt = "lorem ipsum dolor sit amet ".repeat(75);
    let body = Bytes::from(serde_json::to_vec(&serde_json::json!({"model": "gpt", "max_tokens": 256, "messages": [{"role": "user", "content": prompt}]})).unwrap_or_default());
    let price = Some(Price { input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: None });
    let shape = CallShape {
        agent_id: "agent-1",
        agent_name: "bench",
        model: "gpt",
        body: &body,
        requested_max_output: Some(256),
        choices: 1,
        has_output: true,
        price,
        bytes_per_token: 2.0,
        token_margin: 1.05,
        exact_input: weir_server::llm::estimate_input,
    };
    let mut admit = Vec::with_capacity(n);
    let mut settle = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let a = limiter.admit(&shape).await.ok().flatten();
        admit.push(t.elapsed());
        if let Some(a) = a {
            let t = Instant::now();
            limiter.settle(&a, 700, 0.0003).await;
            settle.push(t.elapsed());
        }
    }
    admit.sort();
    settle.sort();
    let total: Vec<Duration> = {
        let mut v: Vec<Duration> = admit.iter().zip(&settle).map(|(a, b)| *a + *b).collect();
        v.sort();
        v
    };
    println!(
        "{name:<12} body {} B  admit p50 {:>8.2?} p99 {:>8.2?}   settle p50 {:>8.2?} p99 {:>8.2?}   admit+settle p50 {:>8.2?} p99 {:>8.2?}",
        body.len(),
        percentile(&admit, 0.5),
        percentile(&admit, 0.99),
        percentile(&settle, 0.5),
        percentile(&settle, 0.99),
        percentile(&total, 0.5),
        percentile(&total, 0.99)
    );
}

fn limits() -> LimitsSection {
    LimitsSection {
        budgets: vec![
            BudgetSection { agent: "*".into(), model: None, tokens: Some(u64::MAX / 4), cost_usd: None, period: Period::Hour },
            BudgetSection { agent: "*".into(), model: None, tokens: None, cost_usd: Some(1e9), period: Period::Month },
        ],
        rates: vec![RateSection { agent: "*".into(), model: None, rpm: Some(u64::MAX / 4), tpm: Some(u64::MAX / 4), mcp_rpm: None, a2a_rpm: None }],
        redis_prefix: format!("weir-bench-{}:", std::process::id()),
        ..Default::default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite://{}/b.db", dir.path().display()), 1).await?;
    store.migrate().await?;
    let local = Limiter::new(store.clone(), &limits(), None, Arc::new(SystemClock));
    measure("warm-up", &local, 2_000).await;
    measure("in-process", &local, 50_000).await;
    let url = std::env::args().nth(1).unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let redis: Arc<dyn Counters> = Arc::new(RedisCounters::new(&url, &limits().redis_prefix)?);
    let shared = Limiter::new(store, &limits(), Some(redis), Arc::new(SystemClock));
    measure("warm-up", &shared, 500).await;
    measure("redis", &shared, 10_000).await;
    Ok(())
}
