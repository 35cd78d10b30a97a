//! CPU a translation adds to a call: an OpenAI chat completions request (`bench/translate/
//! chat_request.json`, a support agent's 2 KB turn with two tools and a tool round trip) turned
//! into an Anthropic messages request, and the provider's answer turned back — whole
//! (`messages_answer.json`) and streamed (`messages_stream.sse`, 21 events); and the same turn
//! the other way (`messages_request.json` to chat completions, `chat_answer.json` and
//! `chat_stream.sse` back).
//!
//!     cargo run --release -p weir-server --example bench_translate [-- ITERATIONS]
//!
//! Each measure runs ITERATIONS times (default 20000) on one thread, after a warm-up, and the
//! best of five rounds is printed in µs per call. Run under `valgrind --tool=callgrind` with a
//! small ITERATIONS to count instructions instead.


use axum::http::StatusCode;
use weir_server::llm::Translation;
use weir_server::sse::{SseEvent, SseSplitter};

#[path = "common/timing.rs"]
mod timing;
use timing::{best_us, read};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    // The request as a client sends it: compact JSON.
    let request: serde_json::Value = serde_json::from_slice(&read("chat_request.json")?)?;
    let request = serde_json::to_vec(&request)?;
    let answer = read("messages_answer.json")?;
    let stream = read("messages_stream.sse")?;
    let mut events: Vec<SseEvent> = Vec::new();
    SseSplitter::default().push(&stream, &mut events)?;
    let t = Translation::ChatToMessages;
    // What is timed translates.
    t.request(&request, "claude-bench").map_err(|e| e.message)?;
    t.response(&answer).ok_or("the answer does not translate")?;

    let req_us = best_us(n, || {
        std::hint::black_box(t.request(std::hint::black_box(&request), "claude-bench").ok());
    });
    let ans_us = best_us(n, || {
        std::hint::black_box(t.response(std::hint::black_box(&answer)));
    });
    let stream_us = best_us(n, || {
        let mut tr = t.stream(true);
        let mut out = Vec::with_capacity(8192);
        for ev in &events {
            tr.event(ev, &mut out);
        }
        tr.end(&mut out);
        std::hint::black_box(out);
    });
    // For scale: what only reading the request as JSON values and writing it back costs.
    let floor_us = best_us(n, || {
        let v: serde_json::Value = serde_json::from_slice(std::hint::black_box(&request)).unwrap_or_default();
        std::hint::black_box(serde_json::to_vec(&v).ok());
    });
    let err_us = best_us(n, || {
        std::hint::black_box(t.error_body(StatusCode::TOO_MANY_REQUESTS, br#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#));
    });
    // The other way: an Anthropic client on an OpenAI provider.
    let a_request: serde_json::Value = serde_json::from_slice(&read("messages_request.json")?)?;
    let a_request = serde_json::to_vec(&a_request)?;
    let a_answer = read("chat_answer.json")?;
    let back = Translation::MessagesToChat;
    back.request(&a_request, "gpt-bench").map_err(|e| e.message)?;
    back.response(&a_answer).ok_or("the chat answer does not translate")?;
    let a_req_us = best_us(n, || {
        std::hint::black_box(back.request(std::hint::black_box(&a_request), "gpt-bench").ok());
    });
    let a_ans_us = best_us(n, || {
        std::hint::black_box(back.response(std::hint::black_box(&a_answer)));
    });
    let a_stream = read("chat_stream.sse")?;
    let mut a_events: Vec<SseEvent> = Vec::new();
    SseSplitter::default().push(&a_stream, &mut a_events)?;
    let a_stream_us = best_us(n, || {
        let mut tr = back.stream(true);
        let mut out = Vec::with_capacity(8192);
        for ev in &a_events {
            tr.event(ev, &mut out);
        }
        tr.end(&mut out);
        std::hint::black_box(out);
    });
    println!("request: {} bytes; answer: {} bytes; stream: {} events", request.len(), answer.len(), events.len());
    println!("| translation | µs per call |");
    println!("| --- | ---: |");
    println!("| request (chat → messages) | {req_us:.2} |");
    println!("| whole answer (messages → chat) | {ans_us:.2} |");
    println!("| streamed answer, {} events | {stream_us:.2} |", events.len());
    println!("| error body | {err_us:.2} |");
    println!("| request + whole answer | {:.2} |", req_us + ans_us);
    println!("| request + streamed answer | {:.2} |", req_us + stream_us);
    println!("| (for scale: the request parsed as JSON values and written back) | {floor_us:.2} |");
    println!("| Anthropic client: request (messages → chat), {} bytes | {a_req_us:.2} |", a_request.len());
    println!("| Anthropic client: whole answer (chat → messages) | {a_ans_us:.2} |");
    println!("| Anthropic client: streamed answer, {} chunks (chat → messages) | {a_stream_us:.2} |", a_events.len());
    println!("| Anthropic client: request + whole answer | {:.2} |", a_req_us + a_ans_us);
    println!("| Anthropic client: request + streamed answer | {:.2} |", a_req_us + a_stream_us);
    Ok(())
}
