//! A small closed-loop load generator for `bench/cache.py`: CONCURRENCY keep-alive connections
//! each sending the chat request of `bench/translate/chat_request.json` back to back for SECONDS,
//! then the requests per second answered 200 (and how many were not).
//!
//!     bench_load URL KEY SECONDS CONCURRENCY (hit | miss)
//!
//! `hit`: the same request every time. `miss`: the same request with `Cache-Control: no-cache`,
//! so each call skips the lookup, goes to the provider and stores its answer: a miss's work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, key, seconds, concurrency, mode] = &args[..] else {
        return Err("usage: bench_load URL KEY SECONDS CONCURRENCY (hit | miss)".into());
    };
    let seconds: u64 = seconds.parse()?;
    let concurrency: usize = concurrency.parse()?;
    let miss = mode == "miss";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/translate/chat_request.json");
    let body = bytes::Bytes::from(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
        let (url, key, body, ok, bad) = (format!("{url}/v1/chat/completions"), key.clone(), body.clone(), ok.clone(), bad.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let mut req = client.post(&url).bearer_auth(&key).header("content-type", "application/json").body(body.clone());
                if miss {
                    req = req.header("cache-control", "no-cache");
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let took = started.elapsed().as_secs_f64();
    println!("{:.1} {}", ok.load(Ordering::Relaxed) as f64 / took, bad.load(Ordering::Relaxed));
    Ok(())
}
