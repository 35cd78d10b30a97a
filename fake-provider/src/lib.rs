//! A fake LLM provider for Weir's tests and benchmarks.
//!
//! It speaks OpenAI's chat completions, responses and embeddings APIs and Anthropic's messages
//! API, streaming included, in their real wire formats, and can be told to fail, stall,
//! rate-limit, cut a stream or leave usage out. A behaviour comes from (first match wins) the
//! `POST /_fake/script` queue, the `x-fake-behavior` request header, or a suffix on the model
//! name (`gpt-x@status=500`); the syntax is `key=value,flag`, e.g.
//! `stall_ms=2000`, `cut_after=2`, `status=503`, `ratelimit`, `no_usage`, `garbage`,
//! `chunk_delay_ms=20`, `chunks=5`, `usage_in=50,usage_out=50` (fixed token counts),
//! `echo_auth` (401 quoting the credential it was sent, as some providers do), `pad=N` (a whole
//! answer padded to N bytes or more), `endless` (a stream that never ends),
//! `unterminated` (a stream whose first event never ends), `error_event` (a stream broken off by
//! an error event that quotes the credential received).
//!
//! Like the real APIs, answers carry headers about the provider account (organisation, its
//! rate limits).
//!
//! `GET /_fake/requests` returns every request received (path, headers, body) and
//! `GET /_fake/stats` counts requests and calls abandoned by the caller before they completed.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod validate;

pub const REPLY: &str = "Hello from the fake provider.";

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Behavior {
    /// Answer with this HTTP status and an error body in the API's shape.
    pub status: Option<u16>,
    /// Wait this long before the response head.
    pub stall_ms: Option<u64>,
    /// Wait this long between stream chunks.
    pub chunk_delay_ms: Option<u64>,
    /// Break the connection after this many stream events.
    pub cut_after: Option<usize>,
    /// Leave usage out of the response (streams: no usage chunk / event).
    pub no_usage: bool,
    /// Answer 429 with `retry-after`.
    pub ratelimit: bool,
    /// Answer 200 with a body that is not JSON.
    pub garbage: bool,
    /// Number of content chunks in a stream (words of the reply are spread over them).
    pub chunks: Option<usize>,
    /// Report these token counts instead of counting words.
    pub usage_in: Option<u64>,
    pub usage_out: Option<u64>,
    /// Answer 401 with an error that quotes the credential received.
    pub echo_auth: bool,
    /// Pad a whole answer to at least this many bytes.
    pub pad: Option<usize>,
    /// Stream events for ever.
    pub endless: bool,
    /// Stream one event that never ends.
    pub unterminated: bool,
    /// A stream that breaks off after its first event with an error event in the API's shape,
    /// quoting the credential received (as providers that echo it do).
    pub error_event: bool,
}

impl Behavior {
    pub fn parse(spec: &str) -> Self {
        let mut b = Self::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let num = v.parse::<u64>().ok();
            match k {
                "status" => b.status = num.and_then(|n| u16::try_from(n).ok()),
                "stall_ms" => b.stall_ms = num,
                "chunk_delay_ms" => b.chunk_delay_ms = num,
                "cut_after" => b.cut_after = num.map(|n| n as usize),
                "chunks" => b.chunks = num.map(|n| n as usize),
                "usage_in" => b.usage_in = num,
                "usage_out" => b.usage_out = num,
                "no_usage" => b.no_usage = true,
                "ratelimit" => b.ratelimit = true,
                "garbage" => b.garbage = true,
                "echo_auth" => b.echo_auth = true,
                "pad" => b.pad = num.map(|n| n as usize),
                "endless" => b.endless = true,
                "unterminated" => b.unterminated = true,
                "error_event" => b.error_event = true,
                _ => {}
            }
        }
        b
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub path: String,
    /// The query string, as received.
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct FakeState {
    requests: Mutex<Vec<RecordedRequest>>,
    script: Mutex<VecDeque<Behavior>>,
    pub received: AtomicU64,
    pub completed: AtomicU64,
    /// Calls whose caller went away before the response (or stream) completed.
    pub abandoned: AtomicU64,
    expected_key: Option<String>,
}

impl FakeState {
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        if let Ok(mut s) = self.script.lock() {
            s.extend(behaviors);
        }
    }
}

pub struct FakeProvider {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProvider {
    /// Starts on 127.0.0.1 on a free port. With `expected_key`, requests without that key (as
    /// `Authorization: Bearer` or `x-api-key`) get 401.
    pub async fn spawn(expected_key: Option<&str>) -> std::io::Result<Self> {
        Self::spawn_on("127.0.0.1:0".parse().map_err(std::io::Error::other)?, expected_key).await
    }

    pub async fn spawn_on(addr: SocketAddr, expected_key: Option<&str>) -> std::io::Result<Self> {
        let state = Arc::new(FakeState { expected_key: expected_key.map(str::to_string), ..Default::default() });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, state, task })
    }

    /// Base URL for an OpenAI-kind provider.
    pub fn openai_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
    /// Base URL for an Anthropic-kind provider.
    pub fn anthropic_base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn router(state: Arc<FakeState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/responses", post(responses))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/messages", post(messages))
        .route("/_fake/requests", get(list_requests).delete(clear_requests))
        .route("/_fake/script", post(push_script))
        .route("/_fake/stats", get(stats))
        .with_state(state)
}

async fn list_requests(State(s): State<Arc<FakeState>>) -> Json<Vec<RecordedRequest>> {
    Json(s.requests())
}

async fn clear_requests(State(s): State<Arc<FakeState>>) -> StatusCode {
    if let Ok(mut r) = s.requests.lock() {
        r.clear();
    }
    StatusCode::NO_CONTENT
}

async fn push_script(State(s): State<Arc<FakeState>>, Json(bs): Json<Vec<Behavior>>) -> StatusCode {
    s.script(bs);
    StatusCode::NO_CONTENT
}

async fn stats(State(s): State<Arc<FakeState>>) -> Json<Value> {
    Json(json!({
        "received": s.received.load(Ordering::SeqCst),
        "completed": s.completed.load(Ordering::SeqCst),
        "abandoned": s.abandoned.load(Ordering::SeqCst),
    }))
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Api {
    Chat,
    Responses,
    Embeddings,
    Messages,
}

/// Counts a call abandoned when dropped before `done`.
struct Completion {
    state: Arc<FakeState>,
    done: bool,
}

impl Completion {
    fn finish(mut self) {
        self.done = true;
        self.state.completed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.done {
            self.state.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn chat(State(s): State<Arc<FakeState>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Api::Chat, "/v1/chat/completions", uri.query(), headers, body).await
}
async fn responses(State(s): State<Arc<FakeState>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Api::Responses, "/v1/responses", uri.query(), headers, body).await
}
async fn embeddings(State(s): State<Arc<FakeState>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Api::Embeddings, "/v1/embeddings", uri.query(), headers, body).await
}
async fn messages(State(s): State<Arc<FakeState>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    serve(s, Api::Messages, "/v1/messages", uri.query(), headers, body).await
}

fn error_body(api: Api, status: u16, message: &str) -> Value {
    if api == Api::Messages {
        let ty = match status {
            401 => "authentication_error",
            429 => "rate_limit_error",
            400 => "invalid_request_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        json!({"type": "error", "error": {"type": ty, "message": message}})
    } else {
        let ty = match status {
            401 => "invalid_request_error",
            429 => "requests",
            400 => "invalid_request_error",
            _ => "server_error",
        };
        json!({"error": {"message": message, "type": ty, "param": null, "code": null}})
    }
}

/// Whitespace-separated words in every string of the request but the model: the fake's
/// deterministic "token" count.
fn count_words(v: &Value, key: Option<&str>) -> u64 {
    match v {
        Value::String(s) if key != Some("model") && key != Some("role") => s.split_whitespace().count() as u64,
        Value::Array(a) => a.iter().map(|x| count_words(x, key)).sum(),
        Value::Object(m) => m.iter().map(|(k, x)| count_words(x, Some(k))).sum(),
        _ => 0,
    }
}

async fn serve(s: Arc<FakeState>, api: Api, path: &str, query: Option<&str>, headers: HeaderMap, body: Bytes) -> Response {
    s.received.fetch_add(1, Ordering::SeqCst);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut r) = s.requests.lock() {
        r.push(RecordedRequest {
            path: path.to_string(),
            query: query.map(str::to_string),
            headers: headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect(),
            body: parsed.clone(),
        });
    }
    let completion = Completion { state: s.clone(), done: false };
    if let Some(expected) = &s.expected_key {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let x_api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if bearer != Some(expected) && x_api_key != Some(expected) {
            completion.finish();
            return (StatusCode::UNAUTHORIZED, Json(error_body(api, 401, "Incorrect API key provided"))).into_response();
        }
    }
    // What the real API refuses is refused here, before any behaviour is acted on.
    if let Some(why) = validate::refusal(api, &parsed) {
        completion.finish();
        return (StatusCode::BAD_REQUEST, Json(error_body(api, 400, &why))).into_response();
    }
    let model_full = parsed.get("model").and_then(Value::as_str).unwrap_or("fake-model").to_string();
    let (model, model_spec) = model_full.split_once('@').map(|(m, s)| (m.to_string(), Some(s.to_string()))).unwrap_or((model_full.clone(), None));
    let scripted = s.script.lock().ok().and_then(|mut q| q.pop_front());
    let behavior = scripted
        .or_else(|| headers.get("x-fake-behavior").and_then(|v| v.to_str().ok()).map(Behavior::parse))
        .or_else(|| model_spec.as_deref().map(Behavior::parse))
        .unwrap_or_default();

    if let Some(ms) = behavior.stall_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if behavior.echo_auth {
        completion.finish();
        let sent = headers.get("authorization").or_else(|| headers.get("x-api-key")).and_then(|v| v.to_str().ok()).unwrap_or("");
        let message = format!("Incorrect API key provided: {sent}. You can find your API key at https://example.invalid/keys.");
        let mut r = (StatusCode::UNAUTHORIZED, Json(error_body(api, 401, &message))).into_response();
        r.headers_mut().insert("x-echoed-authorization", sent.parse().unwrap_or_else(|_| "x".parse().unwrap_or_else(|_| unreachable!())));
        return r;
    }
    if behavior.ratelimit {
        completion.finish();
        let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(error_body(api, 429, "Rate limit reached for requests"))).into_response();
        r.headers_mut().insert("retry-after", "1".parse().unwrap_or_else(|_| unreachable!()));
        r.headers_mut().insert("x-ratelimit-remaining-requests", "0".parse().unwrap_or_else(|_| unreachable!()));
        return r;
    }
    if let Some(code) = behavior.status {
        completion.finish();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, Json(error_body(api, code, "The fake provider was told to fail"))).into_response();
    }
    if behavior.garbage {
        completion.finish();
        return (StatusCode::OK, [("content-type", "application/json")], "<html>not json</html>").into_response();
    }

    let input_tokens = behavior.usage_in.unwrap_or_else(|| count_words(&parsed, None) + 1);
    let reply_words: Vec<&str> = REPLY.split_inclusive(' ').collect();
    let output_tokens = behavior.usage_out.unwrap_or(reply_words.len() as u64);
    let stream = parsed.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let mut resp_headers = HeaderMap::new();
    resp_headers.insert("x-request-id", "req_fake_upstream".parse().unwrap_or_else(|_| unreachable!()));
    for (k, v) in account_headers(api) {
        resp_headers.insert(*k, v.parse().unwrap_or_else(|_| unreachable!()));
    }

    if !stream || api == Api::Embeddings {
        let mut body = whole_body(api, &model, &parsed, input_tokens, output_tokens, behavior.no_usage);
        if let (Some(n), Some(o)) = (behavior.pad, body.as_object_mut()) {
            o.insert("padding".into(), json!("x".repeat(n)));
        }
        completion.finish();
        return (StatusCode::OK, resp_headers, Json(body)).into_response();
    }
    resp_headers.insert("content-type", "text/event-stream".parse().unwrap_or_else(|_| unreachable!()));
    if behavior.endless || behavior.unterminated {
        // Never finished: the caller decides when it has had enough.
        let unterminated = behavior.unterminated;
        let first = if unterminated { Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"") } else { Bytes::new() };
        let event = if unterminated { Bytes::from(vec![b'x'; 8192]) } else { Bytes::from(format!("data: {}\n\n", json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": {"content": "more "}, "finish_reason": null}]}))) };
        let body = stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(stream::repeat_with(move || Ok::<_, std::io::Error>(event.clone())).then(|c| async move {
            tokio::task::yield_now().await;
            c
        }));
        drop(completion);
        return (StatusCode::OK, resp_headers, Body::from_stream(body)).into_response();
    }

    let include_usage = parsed.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
    let mut events = stream_events(api, &model, &reply_words, behavior.chunks, input_tokens, output_tokens, include_usage && !behavior.no_usage, behavior.no_usage);
    if behavior.error_event {
        let sent = headers.get("authorization").or_else(|| headers.get("x-api-key")).and_then(|v| v.to_str().ok()).unwrap_or("");
        let body = error_body(api, 500, &format!("The server had an error processing the request made with {sent}"));
        events.truncate(1);
        events.push(match api {
            Api::Messages => format!("event: error\ndata: {body}\n\n"),
            Api::Responses => format!("event: error\ndata: {}\n\n", json!({"type": "error", "code": "server_error", "message": body["error"]["message"], "param": null, "sequence_number": 1})),
            _ => format!("data: {body}\n\n"),
        });
    }
    // A cut needs the events before it on the wire first: without a pause, the connection could
    // be torn down before they are flushed.
    let delay = behavior.chunk_delay_ms.or(behavior.cut_after.map(|_| 20)).map(Duration::from_millis);
    let cut_after = behavior.cut_after;
    let total = events.len();
    let mut completion = Some(completion);
    let body = stream::iter(events.into_iter().enumerate()).then(move |(i, ev)| {
        let done = if i + 1 == total { completion.take() } else { None };
        async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            if let Some(c) = done {
                c.finish();
            }
            (i, ev)
        }
    });
    let body = body.map(move |(i, ev)| {
        if cut_after.is_some_and(|n| i >= n) {
            Err(std::io::Error::other("cut"))
        } else {
            Ok(Bytes::from(ev))
        }
    });
    let body = body.take_while({
        let mut failed = false;
        move |r| {
            let keep = !failed;
            failed |= r.is_err();
            futures_util::future::ready(keep)
        }
    });
    resp_headers.insert("cache-control", "no-cache".parse().unwrap_or_else(|_| unreachable!()));
    (StatusCode::OK, resp_headers, Body::from_stream(body)).into_response()
}

/// What the real APIs say about the account a call was made with.
fn account_headers(api: Api) -> &'static [(&'static str, &'static str)] {
    match api {
        Api::Messages => &[
            ("anthropic-organization-id", "org-fake-anthropic"),
            ("anthropic-ratelimit-requests-limit", "4000"),
            ("anthropic-ratelimit-requests-remaining", "3999"),
        ],
        _ => &[
            ("openai-organization", "org-fake-provider-account"),
            ("openai-processing-ms", "3"),
            ("x-ratelimit-limit-requests", "10000"),
            ("x-ratelimit-remaining-requests", "9999"),
        ],
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn whole_body(api: Api, model: &str, req: &Value, input: u64, output: u64, no_usage: bool) -> Value {
    let mut body = match api {
        Api::Chat => json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": now(), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY, "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
                      "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
            "system_fingerprint": "fp_fake"
        }),
        Api::Responses => responses_object(model, "completed", Some(REPLY), input, output),
        Api::Embeddings => {
            let inputs = match req.get("input") {
                Some(Value::Array(a)) => a.len().max(1),
                _ => 1,
            };
            let base64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
            let data: Vec<Value> = (0..inputs)
                .map(|i| {
                    let v: Vec<f32> = (0..8).map(|j| (i as f32 + 1.0) * 0.1 + j as f32 * 0.01).collect();
                    let embedding = if base64 {
                        let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                        json!(base64::engine::general_purpose::STANDARD.encode(bytes))
                    } else {
                        json!(v)
                    };
                    json!({"object": "embedding", "index": i, "embedding": embedding})
                })
                .collect();
            json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": input, "total_tokens": input}})
        }
        Api::Messages => json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        }),
    };
    if no_usage {
        if let Some(o) = body.as_object_mut() {
            o.remove("usage");
        }
    }
    body
}

fn responses_object(model: &str, status: &str, text: Option<&str>, input: u64, output: u64) -> Value {
    let output_items = match text {
        Some(t) => json!([{"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "text": t, "annotations": []}]}]),
        None => json!([]),
    };
    let usage = if status == "completed" {
        json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": output,
               "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": input + output})
    } else {
        Value::Null
    };
    json!({
        "id": "resp_fake", "object": "response", "created_at": now(), "status": status, "model": model,
        "output": output_items, "usage": usage, "error": null, "incomplete_details": null, "instructions": null,
        "metadata": {}, "parallel_tool_calls": true, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": [],
        "text": {"format": {"type": "text"}}
    })
}

/// Spreads the reply's words over `chunks` pieces (default: one per word).
fn pieces(words: &[&str], chunks: Option<usize>) -> Vec<String> {
    let n = chunks.unwrap_or(words.len()).clamp(1, 10_000);
    let mut out = vec![String::new(); n];
    for (i, w) in words.iter().enumerate() {
        out[i * n / words.len().max(1)].push_str(w);
    }
    out
}

fn sse(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(e) => format!("event: {e}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

#[expect(clippy::too_many_arguments, reason = "test fixture")]
fn stream_events(api: Api, model: &str, words: &[&str], chunks: Option<usize>, input: u64, output: u64, usage_chunk: bool, no_usage: bool) -> Vec<String> {
    let parts = pieces(words, chunks);
    let mut evs = Vec::new();
    match api {
        Api::Chat => {
            let created = now();
            let chunk = |delta: Value, finish: Value| {
                let mut c = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                                   "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
                if usage_chunk {
                    c["usage"] = Value::Null;
                }
                sse(None, &c)
            };
            evs.push(chunk(json!({"role": "assistant", "content": "", "refusal": null}), Value::Null));
            for p in &parts {
                evs.push(chunk(json!({"content": p}), Value::Null));
            }
            evs.push(chunk(json!({}), json!("stop")));
            if usage_chunk {
                evs.push(sse(None, &json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                    "system_fingerprint": "fp_fake", "choices": [],
                    "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
                              "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}})));
            }
            evs.push("data: [DONE]\n\n".to_string());
        }
        Api::Responses => {
            let mut seq = 0;
            let mut ev = |ty: &str, mut v: Value| {
                v["type"] = json!(ty);
                v["sequence_number"] = json!(seq);
                seq += 1;
                sse(Some(ty), &v)
            };
            evs.push(ev("response.created", json!({"response": responses_object(model, "in_progress", None, 0, 0)})));
            evs.push(ev("response.in_progress", json!({"response": responses_object(model, "in_progress", None, 0, 0)})));
            evs.push(ev("response.output_item.added", json!({"output_index": 0, "item": {"type": "message", "id": "msg_fake", "status": "in_progress", "role": "assistant", "content": []}})));
            evs.push(ev("response.content_part.added", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})));
            for p in &parts {
                evs.push(ev("response.output_text.delta", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": p, "logprobs": []})));
            }
            evs.push(ev("response.output_text.done", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "text": REPLY, "logprobs": []})));
            evs.push(ev("response.content_part.done", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": REPLY, "annotations": []}})));
            evs.push(ev("response.output_item.done", json!({"output_index": 0, "item": {"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": REPLY, "annotations": []}]}})));
            let mut done = responses_object(model, "completed", Some(REPLY), input, output);
            if no_usage {
                done["usage"] = Value::Null;
            }
            evs.push(ev("response.completed", json!({"response": done})));
        }
        Api::Messages => {
            evs.push(sse(Some("message_start"), &json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": if no_usage { Value::Null } else { json!({"input_tokens": input, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}) }}})));
            evs.push(sse(Some("content_block_start"), &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
            evs.push(sse(Some("ping"), &json!({"type": "ping"})));
            for p in &parts {
                evs.push(sse(Some("content_block_delta"), &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})));
            }
            evs.push(sse(Some("content_block_stop"), &json!({"type": "content_block_stop", "index": 0})));
            let mut delta = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output}});
            if no_usage {
                delta["usage"] = Value::Null;
            }
            evs.push(sse(Some("message_delta"), &delta));
            evs.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
        }
        Api::Embeddings => {}
    }
    evs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_specs_parse() {
        let b = Behavior::parse("status=503, stall_ms=10,no_usage,cut_after=2");
        assert_eq!(b.status, Some(503));
        assert_eq!(b.stall_ms, Some(10));
        assert_eq!(b.cut_after, Some(2));
        assert!(b.no_usage && !b.ratelimit);
    }

    #[test]
    fn pieces_cover_the_reply() {
        let words: Vec<&str> = REPLY.split_inclusive(' ').collect();
        assert_eq!(pieces(&words, Some(2)).concat(), REPLY);
        assert_eq!(pieces(&words, None).len(), words.len());
    }
}
