//! CPU the default guardrail policy (PII and secrets masked, prompt injection flagged, on
//! requests and answers) adds to a call: the 2 KB chat completions request of
//! `bench/translate/chat_request.json` checked on its way in, and its answer on the way out —
//! whole (`chat_answer.json`) and streamed (`chat_stream.sse`: its events, as the relay reads
//! them, through the guard, then the whole text judged once the stream ends).
//!
//!     cargo run --release -p weir-server --example bench_guard [-- ITERATIONS]
//!
//! Each measure runs ITERATIONS times (default 20000) on one thread, after a warm-up, and the
//! best of five rounds is printed in µs per call. Run under `valgrind --tool=callgrind` with a
//! small ITERATIONS to count instructions instead.


use weir_server::config::{Config, Env};
use weir_server::guard::policy::Direction;
use weir_server::guard::webhook;
use weir_server::llm::guard_stream::StreamGuard;
use weir_server::llm::Api;

#[path = "common/timing.rs"]
mod timing;
use timing::{best_us, read};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let cfg = Config::from_toml("[guardrails]\nenabled = true\n", &Env::default())?;
    let policy = cfg.guardrails.policy(None, None);
    let request: serde_json::Value = serde_json::from_slice(&read("chat_request.json")?)?;
    let request = serde_json::to_string(&request)?;
    let answer = String::from_utf8(read("chat_answer.json")?)?;
    let stream = read("chat_stream.sse")?;

    let only_stream = std::env::var_os("BENCH_GUARD_STREAM_ONLY").is_some();
    let req_us = if only_stream { 0.0 } else { best_us(n, || {
        std::hint::black_box(policy.check_json(Direction::Request, std::hint::black_box(&request)));
    }) };
    let ans_us = if only_stream { 0.0 } else { best_us(n, || {
        std::hint::black_box(policy.check_json(Direction::Response, std::hint::black_box(&answer)));
    }) };
    // The relay reads the provider's events once, guarded or not, and hands them to the guard.
    let mut events = Vec::new();
    weir_server::sse::SseSplitter::default().push(&stream, &mut events)?;
    let stream_us = best_us(n, || {
        let Some(mut g) = StreamGuard::new(Api::Chat, &policy, webhook::Context::default(), 1 << 20) else { return };
        let mut out = Vec::with_capacity(stream.len() + 256);
        for ev in &events {
            if g.filter_event(ev, &mut out).is_err() {
                return;
            }
        }
        let rest = g.finish().map(|b| b.len()).unwrap_or(0);
        g.judge_whole();
        std::hint::black_box((out, rest));
    });
    println!("request: {} bytes; answer: {} bytes; stream: {} bytes", request.len(), answer.len(), stream.len());
    println!("| default policy | µs per call |");
    println!("| --- | ---: |");
    println!("| request | {req_us:.2} |");
    println!("| whole answer | {ans_us:.2} |");
    println!("| streamed answer | {stream_us:.2} |");
    println!("| request + whole answer | {:.2} |", req_us + ans_us);
    println!("| request + streamed answer | {:.2} |", req_us + stream_us);
    if only_stream {
        return Ok(());
    }
    let texts: Vec<String> = {
        let v: serde_json::Value = serde_json::from_str(&request)?;
        let mut out = Vec::new();
        collect(&v, &mut out);
        out
    };
    per_detector(&texts.join("\n"), n);
    per_detector("short text", n);
    Ok(())
}

fn per_detector(text: &str, n: u32) {
    use weir_server::guard::{injection, pii, secrets};
    let p = best_us(n, || {
        let mut v = Vec::new();
        pii::scan(std::hint::black_box(text), &mut v);
        std::hint::black_box(v);
    });
    let s = best_us(n, || {
        let mut v = Vec::new();
        secrets::scan(std::hint::black_box(text), &mut v);
        std::hint::black_box(v);
    });
    let i = best_us(n, || {
        std::hint::black_box(injection::scan(std::hint::black_box(text)));
    });
    println!("| one {}-byte text: pii / secrets / injection | {p:.2} / {s:.2} / {i:.2} |", text.len());
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}
