//! The response cache's own costs: an exact lookup of the 2 KB chat request of
//! `bench/translate/chat_request.json` (the key — a BLAKE3 hash of the body's members — and the
//! lookup in this process's memory, hit and miss, with the body's parse the pipeline makes anyway), the same lookup in Redis (one round trip),
//! and the memory bound kept while a million answers are stored.
//!
//!     cargo run --release -p weir-server --example bench_cache [-- ITERATIONS]
//!
//! Each in-process measure runs ITERATIONS times (default 20000) on one thread, after a warm-up,
//! best of five rounds, in µs per lookup. The Redis measure needs Redis at
//! `WEIR_BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`) and is skipped without it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_server::cache::memory::MemoryStore;
use weir_server::cache::redis::RedisStore;
use weir_server::cache::{CacheKey, CacheStore, Entry};
use weir_server::config::{Config, Env};
use weir_server::llm::body::RequestBody;
use weir_server::llm::Api;

#[path = "common/timing.rs"]
mod timing;
use timing::{best_us, read};

type Error = Box<dyn std::error::Error>;

fn entry(body: String) -> Entry {
    Entry { api: Api::Chat, body, origin: "req".into(), input_tokens: 600, output_tokens: 90, cost_usd: 0.001, stored_at: 0, model: Some("gpt-bench".into()), id: None, finish_reasons: vec!["stop".into()] }
}

/// Resident memory now, from /proc (Linux), in MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let cfg = Config::from_toml("[cache]\nenabled = true\n", &Env::default())?.cache;
    let request = read("chat_request.json")?;
    let answer = String::from_utf8(read("chat_answer.json")?)?;
    #[expect(clippy::expect_used, reason = "the benchmark's own fixed input")]
    let key_of = |raw: &[u8]| -> CacheKey {
        let body = RequestBody::parse(raw).expect("the bench request is JSON");
        CacheKey::new(&cfg, Api::Chat, "gpt-bench", "agent-id", "bench", None, &body)
    };
    let store = MemoryStore::new(cfg.max_entries, cfg.max_bytes, cfg.partition_max_entries);
    let key = key_of(&request);
    store.put_now(&key, entry(answer.clone()), Duration::from_secs(3600));
    // The pipeline has the body parsed already: the key is the digest of its members.
    let parsed = RequestBody::parse(&request)?;
    let key_us = best_us(n, || {
        std::hint::black_box(CacheKey::new(&cfg, Api::Chat, "gpt-bench", "agent-id", "bench", None, std::hint::black_box(&parsed)));
    });
    let parse_us = best_us(n, || {
        std::hint::black_box(key_of(std::hint::black_box(&request)));
    });
    let hit_us = best_us(n, || {
        let k = key_of(std::hint::black_box(&request));
        assert!(std::hint::black_box(store.get_now(&k)).is_some());
    });
    let mut other = request.clone();
    // Another question of the same size: a miss.
    if let Some(p) = other.iter().rposition(|b| b.is_ascii_alphabetic()) {
        other[p] = if other[p] == b'x' { b'y' } else { b'x' };
    }
    let miss_us = best_us(n, || {
        let k = key_of(std::hint::black_box(&other));
        assert!(std::hint::black_box(store.get_now(&k)).is_none());
    });
    println!("request: {} bytes; answer: {} bytes", request.len(), answer.len());
    println!("| exact cache, in process | µs per lookup |");
    println!("| --- | ---: |");
    println!("| key (BLAKE3 over the parsed body's members) | {key_us:.2} |");
    println!("| body parsed + key (the parse is the pipeline's, made once per call anyway) | {parse_us:.2} |");
    println!("| body parsed + key + lookup, hit | {hit_us:.2} |");
    println!("| body parsed + key + lookup, miss | {miss_us:.2} |");

    let url = std::env::var("WEIR_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("weir-bench-{}:", std::process::id());
    let redis = Arc::new(RedisStore::new(&url, &prefix, 1000)?);
    redis.put(&key, entry(answer.clone()), Duration::from_secs(60)).await;
    if redis.get(&key).await.is_some() {
        let rounds = (n / 4).max(100);
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..rounds {
                let k = key_of(&request);
                assert!(redis.get(&k).await.is_some());
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds));
        }
        println!("| key + lookup in Redis (one GET), hit | {best:.2} |");
        let _ = redis.purge(&weir_server::cache::Purge::default()).await;
    } else {
        println!("(Redis not reachable at {url}: its row is left out)");
    }

    // A million answers of ~1 KB through the default bounds (10,000 entries, 64 MiB).
    let before = rss_mb();
    let bounded = MemoryStore::new(cfg.max_entries, cfg.max_bytes, usize::MAX);
    let started = Instant::now();
    let mut digest = [0u8; 32];
    let body = answer.clone();
    let mut peak = (0, 0);
    for i in 0..1_000_000u32 {
        digest[..4].copy_from_slice(&i.to_le_bytes());
        let k = CacheKey { partition: format!("agent:{}", i % 50), model: "gpt-bench".into(), digest };
        bounded.put_now(&k, entry(body.clone()), Duration::from_secs(3600));
        let (len, bytes) = bounded.len_and_bytes();
        peak = (peak.0.max(len), peak.1.max(bytes));
    }
    let took = started.elapsed();
    println!();
    println!(
        "1,000,000 stores of a {}-byte answer in {:.2} s ({:.2} µs each): at most {} entries and {:.1} MB held (bounds: {} entries, {:.1} MB); resident memory {:.1} MB → {:.1} MB",
        answer.len(),
        took.as_secs_f64(),
        took.as_secs_f64(),
        peak.0,
        peak.1 as f64 / 1e6,
        cfg.max_entries,
        cfg.max_bytes as f64 / 1e6,
        before,
        rss_mb()
    );
    Ok(())
}
