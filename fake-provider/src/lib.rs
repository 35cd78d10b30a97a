//! A fake LLM provider for Weir's tests and benchmarks.
//!
//! It speaks OpenAI's chat completions, responses and embeddings APIs and Anthropic's messages
//! API, streaming included, in their real wire formats, and can be told to fail, stall,
//! rate-limit, cut a stream or leave usage out. A behaviour comes from (first match wins) the
//! `POST /_fake/script` queue, the `x-fake-behavior` request header, or a suffix on the model
//! name (`gpt-x@status=500`); the syntax is `key=value,flag`, e.g.
//! `stall_ms=2000`, `cut_after=2`, `status=503`, `ratelimit`, `no_usage`, `garbage`, `bad_byte`, `one_write`,
//! `chunk_delay_ms=20`, `chunks=5` (`char_chunks`: split by characters, not words), `say=B64`
//! (answer this text, base64url), `say_args=B64` (the first tool call's arguments), `usage_in=50,usage_out=50` (fixed token counts),
//! `echo_auth` (401 quoting the credential it was sent, as some providers do), `pad=N` (a whole
//! answer padded to N bytes or more), `endless` (a stream that never ends),
//! `unterminated` (a stream whose first event never ends), `error_event` (a stream broken off by
//! an error event that quotes the credential received), `parallel_tools` (call the first two
//! tools, not only the first), `cached_in=N` (N input tokens read from the prompt cache: chat
//! `prompt_tokens_details.cached_tokens`, counted in `prompt_tokens`; Anthropic
//! `cache_read_input_tokens`, not counted in `input_tokens`; responses
//! `input_tokens_details.cached_tokens`).
//!
//! Requests are checked as the real APIs check them, refusals being 400s in the API's error
//! shape (tool definitions and pairing, image sources, `response_format`, `reasoning_effort`,
//! `thinking` and the sampling parameters it excludes, thinking signatures, `stop`), and the
//! chat and messages answers follow what the request asks for; without any of the features
//! below the answer is [`REPLY`].
//! - Tools: with `tools` (chat `tool_choice` not `"none"`, the last message not a `tool` one;
//!   Anthropic `tool_choice.type` not `none`, no `tool_result` in the last user message) the
//!   answer calls the tool named by `tool_choice`, else the first one (the first two with
//!   `parallel_tools`, unless `parallel_tool_calls: false` / `disable_parallel_tool_use`), with
//!   arguments made from its schema by [`example_from_schema`]; finish reason `tool_calls` /
//!   stop reason `tool_use`. Tool results are answered `"Tool results: "` and their texts joined
//!   by `" | "`.
//! - Images in the last user message: [`REPLY`] and `" I see N image(s): "` then, for each,
//!   `base64 <media type>` or `url <url>`, joined by `", "`.
//! - Structured output: chat `response_format` `json_schema` (an example of the schema) or
//!   `json_object` (`{}`); Anthropic `output_config.format` `json_schema`.
//! - Reasoning: chat `reasoning_effort` low to xhigh reports [`REASONING_TOKENS`] reasoning tokens
//!   (part of `completion_tokens`); Anthropic `thinking` enabled or adaptive starts the answer with
//!   a [`THINKING`] block signed by [`thinking_signature`], its words counted in `output_tokens`.
//!   Thinking blocks sent back must carry that signature.
//! - Stop sequences (chat `stop`, Anthropic `stop_sequences`) cut the text before the first one
//!   found (finish reason `stop` / stop reason `stop_sequence`); a cap (chat
//!   `max_completion_tokens` or `max_tokens`, Anthropic `max_tokens`) below the text's word count
//!   cuts it to that many words (`length` / `max_tokens`).
//!
//! Output tokens are the words sent (each tool call counting one plus the words of its
//! arguments, reasoning and thinking included), unless `usage_out` says otherwise.
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

mod answer;
mod validate;

pub use answer::{
    example_from_schema, thinking_signature, REASONING_TOKENS, THINKING, TOOL_RESULTS,
};
use answer::{words, Answer};

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
    /// A whole answer with a byte that is not UTF-8 at the start of its text (a broken
    /// provider; JSON must be UTF-8).
    pub bad_byte: bool,
    /// A stream's events written at once, in one piece of the body (read together).
    pub one_write: bool,
    /// Number of content chunks in a stream (words of the reply are spread over them); also the
    /// number of pieces (at least two) a tool call's arguments are streamed in.
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
    /// Call the first two tools at once instead of the first one only (unless the request
    /// forbids parallel calls).
    pub parallel_tools: bool,
    /// Report this many input tokens as read from the prompt cache.
    pub cached_in: Option<u64>,
    /// Spread a streamed text over `chunks` pieces by characters, not by words (a word may be
    /// split across events, as real providers' tokens split them).
    pub char_chunks: bool,
    /// Answer this text (given base64url-encoded, so that it may hold commas) instead of the
    /// planned one.
    pub say: Option<String>,
    /// Give the first tool call these arguments (a JSON object, base64url-encoded).
    pub say_args: Option<String>,
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
                "bad_byte" => b.bad_byte = true,
                "one_write" => b.one_write = true,
                "echo_auth" => b.echo_auth = true,
                "pad" => b.pad = num.map(|n| n as usize),
                "endless" => b.endless = true,
                "unterminated" => b.unterminated = true,
                "error_event" => b.error_event = true,
                "parallel_tools" => b.parallel_tools = true,
                "cached_in" => b.cached_in = num,
                "char_chunks" => b.char_chunks = true,
                "say" => b.say = decode_b64(v),
                "say_args" => b.say_args = decode_b64(v),
                _ => {}
            }
        }
        b
    }
}

fn decode_b64(v: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()
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
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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
        Self::spawn_on(
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
            expected_key,
        )
        .await
    }

    pub async fn spawn_on(addr: SocketAddr, expected_key: Option<&str>) -> std::io::Result<Self> {
        let state = Arc::new(FakeState {
            expected_key: expected_key.map(str::to_string),
            ..Default::default()
        });
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

async fn chat(
    State(s): State<Arc<FakeState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        s,
        Api::Chat,
        "/v1/chat/completions",
        uri.query(),
        headers,
        body,
    )
    .await
}
async fn responses(
    State(s): State<Arc<FakeState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        s,
        Api::Responses,
        "/v1/responses",
        uri.query(),
        headers,
        body,
    )
    .await
}
async fn embeddings(
    State(s): State<Arc<FakeState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        s,
        Api::Embeddings,
        "/v1/embeddings",
        uri.query(),
        headers,
        body,
    )
    .await
}
async fn messages(
    State(s): State<Arc<FakeState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
        Value::String(s) if key != Some("model") && key != Some("role") => {
            s.split_whitespace().count() as u64
        }
        Value::Array(a) => a.iter().map(|x| count_words(x, key)).sum(),
        Value::Object(m) => m.iter().map(|(k, x)| count_words(x, Some(k))).sum(),
        _ => 0,
    }
}

async fn serve(
    s: Arc<FakeState>,
    api: Api,
    path: &str,
    query: Option<&str>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.received.fetch_add(1, Ordering::SeqCst);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut r) = s.requests.lock() {
        r.push(RecordedRequest {
            path: path.to_string(),
            query: query.map(str::to_string),
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: parsed.clone(),
        });
    }
    let completion = Completion {
        state: s.clone(),
        done: false,
    };
    if let Some(expected) = &s.expected_key {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let x_api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if bearer != Some(expected) && x_api_key != Some(expected) {
            completion.finish();
            return (
                StatusCode::UNAUTHORIZED,
                Json(error_body(api, 401, "Incorrect API key provided")),
            )
                .into_response();
        }
    }
    // What the real API refuses is refused here, before any behaviour is acted on.
    if let Some(why) = validate::refusal(api, &parsed) {
        completion.finish();
        return (StatusCode::BAD_REQUEST, Json(error_body(api, 400, &why))).into_response();
    }
    let model_full = parsed
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model")
        .to_string();
    let (model, model_spec) = model_full
        .split_once('@')
        .map(|(m, s)| (m.to_string(), Some(s.to_string())))
        .unwrap_or((model_full.clone(), None));
    let scripted = s.script.lock().ok().and_then(|mut q| q.pop_front());
    let behavior = scripted
        .or_else(|| {
            headers
                .get("x-fake-behavior")
                .and_then(|v| v.to_str().ok())
                .map(Behavior::parse)
        })
        .or_else(|| model_spec.as_deref().map(Behavior::parse))
        .unwrap_or_default();

    if let Some(ms) = behavior.stall_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if behavior.echo_auth {
        completion.finish();
        let sent = headers
            .get("authorization")
            .or_else(|| headers.get("x-api-key"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let message = format!("Incorrect API key provided: {sent}. You can find your API key at https://example.invalid/keys.");
        let mut r = (
            StatusCode::UNAUTHORIZED,
            Json(error_body(api, 401, &message)),
        )
            .into_response();
        r.headers_mut().insert(
            "x-echoed-authorization",
            sent.parse()
                .unwrap_or_else(|_| "x".parse().unwrap_or_else(|_| unreachable!())),
        );
        return r;
    }
    if behavior.ratelimit {
        completion.finish();
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(error_body(api, 429, "Rate limit reached for requests")),
        )
            .into_response();
        r.headers_mut().insert(
            "retry-after",
            "1".parse().unwrap_or_else(|_| unreachable!()),
        );
        r.headers_mut().insert(
            "x-ratelimit-remaining-requests",
            "0".parse().unwrap_or_else(|_| unreachable!()),
        );
        return r;
    }
    if let Some(code) = behavior.status {
        completion.finish();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (
            status,
            Json(error_body(api, code, "The fake provider was told to fail")),
        )
            .into_response();
    }
    if behavior.garbage {
        completion.finish();
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            "<html>not json</html>",
        )
            .into_response();
    }

    let mut answer = answer::plan(api, &parsed, &behavior);
    if let Some(text) = &behavior.say {
        answer.text.clone_from(text);
    }
    if let (Some(args), Some(call)) = (&behavior.say_args, answer.calls.first_mut()) {
        if let Ok(input) = serde_json::from_str::<Value>(args) {
            call.input = input;
            call.arguments.clone_from(args);
        }
    }
    let input_tokens = behavior
        .usage_in
        .unwrap_or_else(|| count_words(&parsed, None) + 1);
    let output_tokens = behavior.usage_out.unwrap_or_else(|| answer.output_tokens());
    let counts = Counts {
        input: input_tokens,
        output: output_tokens,
        cached: behavior.cached_in.unwrap_or(0),
        reasoning: answer.reasoning_tokens.min(output_tokens),
    };
    let stream = parsed
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut resp_headers = HeaderMap::new();
    resp_headers.insert(
        "x-request-id",
        "req_fake_upstream"
            .parse()
            .unwrap_or_else(|_| unreachable!()),
    );
    for (k, v) in account_headers(api) {
        resp_headers.insert(*k, v.parse().unwrap_or_else(|_| unreachable!()));
    }

    if !stream || api == Api::Embeddings {
        let mut body = whole_body(api, &model, &parsed, &answer, &counts, behavior.no_usage);
        if let (Some(n), Some(o)) = (behavior.pad, body.as_object_mut()) {
            o.insert("padding".into(), json!("x".repeat(n)));
        }
        completion.finish();
        if behavior.bad_byte {
            let text = body.to_string();
            let at = ["\"content\":\"", "\"text\":\""].iter().find_map(|k| text.find(k).map(|i| i + k.len())).unwrap_or(0);
            let mut bytes = text.into_bytes();
            bytes.insert(at, 0xFF);
            resp_headers.insert("content-type", "application/json".parse().unwrap_or_else(|_| unreachable!()));
            return (StatusCode::OK, resp_headers, bytes).into_response();
        }
        return (StatusCode::OK, resp_headers, Json(body)).into_response();
    }
    resp_headers.insert(
        "content-type",
        "text/event-stream"
            .parse()
            .unwrap_or_else(|_| unreachable!()),
    );
    if behavior.endless || behavior.unterminated {
        // Never finished: the caller decides when it has had enough.
        let unterminated = behavior.unterminated;
        let first = if unterminated {
            Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"")
        } else {
            Bytes::new()
        };
        let event = if unterminated {
            Bytes::from(vec![b'x'; 8192])
        } else {
            Bytes::from(format!(
                "data: {}\n\n",
                json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": {"content": "more "}, "finish_reason": null}]})
            ))
        };
        let body = stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
            stream::repeat_with(move || Ok::<_, std::io::Error>(event.clone())).then(
                |c| async move {
                    tokio::task::yield_now().await;
                    c
                },
            ),
        );
        drop(completion);
        return (StatusCode::OK, resp_headers, Body::from_stream(body)).into_response();
    }

    let include_usage = parsed
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut events = stream_events(
        api,
        &model,
        &answer,
        behavior.chunks.map(|n| if behavior.char_chunks { Chunks::Chars(n) } else { Chunks::Words(n) }),
        &counts,
        include_usage && !behavior.no_usage,
        behavior.no_usage,
    );
    if behavior.error_event {
        let sent = headers
            .get("authorization")
            .or_else(|| headers.get("x-api-key"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let body = error_body(
            api,
            500,
            &format!("The server had an error processing the request made with {sent}"),
        );
        events.truncate(1);
        events.push(match api {
            Api::Messages => format!("event: error\ndata: {body}\n\n"),
            Api::Responses => format!("event: error\ndata: {}\n\n", json!({"type": "error", "code": "server_error", "message": body["error"]["message"], "param": null, "sequence_number": 1})),
            _ => format!("data: {body}\n\n"),
        });
    }
    if behavior.one_write {
        events = vec![events.concat()];
    }
    // A cut needs the events before it on the wire first: without a pause, the connection could
    // be torn down before they are flushed.
    let delay = behavior
        .chunk_delay_ms
        .or(behavior.cut_after.map(|_| 20))
        .map(Duration::from_millis);
    let cut_after = behavior.cut_after;
    let total = events.len();
    let mut completion = Some(completion);
    let body = stream::iter(events.into_iter().enumerate()).then(move |(i, ev)| {
        let done = if i + 1 == total {
            completion.take()
        } else {
            None
        };
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
    resp_headers.insert(
        "cache-control",
        "no-cache".parse().unwrap_or_else(|_| unreachable!()),
    );
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
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The token counts an answer reports.
struct Counts {
    /// Input tokens not read from the cache.
    input: u64,
    output: u64,
    /// Input tokens read from the cache.
    cached: u64,
    /// Reasoning tokens, part of `output`.
    reasoning: u64,
}

fn chat_usage(c: &Counts) -> Value {
    json!({"prompt_tokens": c.input + c.cached, "completion_tokens": c.output, "total_tokens": c.input + c.cached + c.output,
           "prompt_tokens_details": {"cached_tokens": c.cached}, "completion_tokens_details": {"reasoning_tokens": c.reasoning}})
}

fn anthropic_usage(c: &Counts, output: u64) -> Value {
    json!({"input_tokens": c.input, "output_tokens": output, "cache_creation_input_tokens": 0, "cache_read_input_tokens": c.cached})
}

fn chat_message(a: &Answer) -> Value {
    if a.calls.is_empty() {
        return json!({"role": "assistant", "content": a.text, "refusal": null});
    }
    let calls: Vec<Value> = a.calls.iter().map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})).collect();
    json!({"role": "assistant", "content": null, "tool_calls": calls, "refusal": null})
}

fn anthropic_content(a: &Answer) -> Vec<Value> {
    let mut content = Vec::new();
    if let Some(t) = &a.thinking {
        content
            .push(json!({"type": "thinking", "thinking": t, "signature": thinking_signature(t)}));
    }
    if a.calls.is_empty() {
        if !a.text.is_empty() {
            content.push(json!({"type": "text", "text": a.text}));
        }
    } else {
        content.extend(
            a.calls
                .iter()
                .map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.input})),
        );
    }
    content
}

fn whole_body(
    api: Api,
    model: &str,
    req: &Value,
    answer: &Answer,
    counts: &Counts,
    no_usage: bool,
) -> Value {
    let mut body = match api {
        Api::Chat => json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": now(), "model": model,
            "choices": [{"index": 0, "message": chat_message(answer), "logprobs": null, "finish_reason": answer.chat_finish_reason()}],
            "usage": chat_usage(counts),
            "system_fingerprint": "fp_fake"
        }),
        Api::Responses => responses_object(model, "completed", Some(&answer.text), counts),
        Api::Embeddings => {
            let inputs = match req.get("input") {
                Some(Value::Array(a)) => a.len().max(1),
                _ => 1,
            };
            let base64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
            let data: Vec<Value> = (0..inputs)
                .map(|i| {
                    let v: Vec<f32> = (0..8)
                        .map(|j| (i as f32 + 1.0) * 0.1 + j as f32 * 0.01)
                        .collect();
                    let embedding = if base64 {
                        let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                        json!(base64::engine::general_purpose::STANDARD.encode(bytes))
                    } else {
                        json!(v)
                    };
                    json!({"object": "embedding", "index": i, "embedding": embedding})
                })
                .collect();
            json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": counts.input, "total_tokens": counts.input}})
        }
        Api::Messages => json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": anthropic_content(answer), "stop_reason": answer.stop_reason(), "stop_sequence": answer.stop_sequence(),
            "usage": anthropic_usage(counts, counts.output)
        }),
    };
    if no_usage {
        if let Some(o) = body.as_object_mut() {
            o.remove("usage");
        }
    }
    body
}

fn responses_object(model: &str, status: &str, text: Option<&str>, counts: &Counts) -> Value {
    let output_items = match text {
        Some(t) => {
            json!([{"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "text": t, "annotations": []}]}])
        }
        None => json!([]),
    };
    let usage = if status == "completed" {
        let input = counts.input + counts.cached;
        json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": counts.cached}, "output_tokens": counts.output,
               "output_tokens_details": {"reasoning_tokens": counts.reasoning}, "total_tokens": input + counts.output})
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

/// The pieces a tool call's arguments are streamed in: `chunks` of them, or one per 8
/// characters, and at least two.
fn argument_pieces(arguments: &str, chunks: Option<usize>) -> Vec<String> {
    answer::split_even(
        arguments,
        chunks
            .unwrap_or(arguments.chars().count().div_ceil(8))
            .max(2),
    )
}

fn sse(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(e) => format!("event: {e}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// How a streamed text is spread over events.
#[derive(Clone, Copy)]
enum Chunks {
    Words(usize),
    Chars(usize),
}

fn stream_events(
    api: Api,
    model: &str,
    answer: &Answer,
    chunks: Option<Chunks>,
    counts: &Counts,
    usage_chunk: bool,
    no_usage: bool,
) -> Vec<String> {
    let parts = match chunks {
        Some(Chunks::Chars(n)) => answer::split_even(&answer.text, n),
        Some(Chunks::Words(n)) => pieces(&words(&answer.text), Some(n)),
        None => pieces(&words(&answer.text), None),
    };
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
            if answer.calls.is_empty() {
                evs.push(chunk(
                    json!({"role": "assistant", "content": "", "refusal": null}),
                    Value::Null,
                ));
                for p in &parts {
                    evs.push(chunk(json!({"content": p}), Value::Null));
                }
            } else {
                for (i, call) in answer.calls.iter().enumerate() {
                    let head = json!([{"index": i, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}]);
                    evs.push(chunk(if i == 0 { json!({"role": "assistant", "content": null, "tool_calls": head, "refusal": null}) } else { json!({"tool_calls": head}) }, Value::Null));
                    for p in argument_pieces(&call.arguments, chunks.map(|c| match c { Chunks::Words(n) | Chunks::Chars(n) => n })) {
                        evs.push(chunk(
                            json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                            Value::Null,
                        ));
                    }
                }
            }
            evs.push(chunk(json!({}), json!(answer.chat_finish_reason())));
            if usage_chunk {
                evs.push(sse(None, &json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                    "system_fingerprint": "fp_fake", "choices": [], "usage": chat_usage(counts)})));
            }
            evs.push("data: [DONE]\n\n".to_string());
        }
        Api::Responses => {
            let text = answer.text.as_str();
            let mut seq = 0;
            let mut ev = |ty: &str, mut v: Value| {
                v["type"] = json!(ty);
                v["sequence_number"] = json!(seq);
                seq += 1;
                sse(Some(ty), &v)
            };
            let none = Counts {
                input: 0,
                output: 0,
                cached: 0,
                reasoning: 0,
            };
            evs.push(ev(
                "response.created",
                json!({"response": responses_object(model, "in_progress", None, &none)}),
            ));
            evs.push(ev(
                "response.in_progress",
                json!({"response": responses_object(model, "in_progress", None, &none)}),
            ));
            evs.push(ev("response.output_item.added", json!({"output_index": 0, "item": {"type": "message", "id": "msg_fake", "status": "in_progress", "role": "assistant", "content": []}})));
            evs.push(ev("response.content_part.added", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})));
            for p in &parts {
                evs.push(ev("response.output_text.delta", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": p, "logprobs": []})));
            }
            evs.push(ev("response.output_text.done", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "text": text, "logprobs": []})));
            evs.push(ev("response.content_part.done", json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}})));
            evs.push(ev("response.output_item.done", json!({"output_index": 0, "item": {"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}})));
            let mut done = responses_object(model, "completed", Some(text), counts);
            if no_usage {
                done["usage"] = Value::Null;
            }
            evs.push(ev("response.completed", json!({"response": done})));
        }
        Api::Messages => {
            evs.push(sse(Some("message_start"), &json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": if no_usage { Value::Null } else { anthropic_usage(counts, 1) }}})));
            let mut index = 0;
            // A ping follows the first block's start, as at the real API.
            let block_start = |evs: &mut Vec<String>, index: usize, block: Value| {
                evs.push(sse(
                    Some("content_block_start"),
                    &json!({"type": "content_block_start", "index": index, "content_block": block}),
                ));
                if index == 0 {
                    evs.push(sse(Some("ping"), &json!({"type": "ping"})));
                }
            };
            let delta = |index: usize, delta: Value| {
                sse(
                    Some("content_block_delta"),
                    &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                )
            };
            let block_stop = |index: usize| {
                sse(
                    Some("content_block_stop"),
                    &json!({"type": "content_block_stop", "index": index}),
                )
            };
            if let Some(t) = &answer.thinking {
                block_start(
                    &mut evs,
                    index,
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                );
                for w in words(t) {
                    evs.push(delta(
                        index,
                        json!({"type": "thinking_delta", "thinking": w}),
                    ));
                }
                evs.push(delta(
                    index,
                    json!({"type": "signature_delta", "signature": thinking_signature(t)}),
                ));
                evs.push(block_stop(index));
                index += 1;
            }
            if answer.calls.is_empty() {
                if !answer.text.is_empty() {
                    block_start(&mut evs, index, json!({"type": "text", "text": ""}));
                    for p in &parts {
                        evs.push(delta(index, json!({"type": "text_delta", "text": p})));
                    }
                    evs.push(block_stop(index));
                }
            } else {
                for call in &answer.calls {
                    block_start(
                        &mut evs,
                        index,
                        json!({"type": "tool_use", "id": call.id, "name": call.name, "input": {}}),
                    );
                    for p in argument_pieces(&call.arguments, chunks.map(|c| match c { Chunks::Words(n) | Chunks::Chars(n) => n })) {
                        evs.push(delta(
                            index,
                            json!({"type": "input_json_delta", "partial_json": p}),
                        ));
                    }
                    evs.push(block_stop(index));
                    index += 1;
                }
            }
            // Cumulative counts: the cache's share is restated with the input when there is one.
            let usage = if no_usage {
                Value::Null
            } else if counts.cached > 0 {
                anthropic_usage(counts, counts.output)
            } else {
                json!({"output_tokens": counts.output})
            };
            evs.push(sse(Some("message_delta"), &json!({"type": "message_delta", "delta": {"stop_reason": answer.stop_reason(), "stop_sequence": answer.stop_sequence()}, "usage": usage})));
            evs.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
        }
        Api::Embeddings => {}
    }
    evs
}

#[cfg(test)]
mod protocol_tests;

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
        let b = Behavior::parse("parallel_tools,cached_in=12");
        assert!(b.parallel_tools);
        assert_eq!(b.cached_in, Some(12));
    }

    #[test]
    fn pieces_cover_the_reply() {
        let words: Vec<&str> = REPLY.split_inclusive(' ').collect();
        assert_eq!(pieces(&words, Some(2)).concat(), REPLY);
        assert_eq!(pieces(&words, None).len(), words.len());
    }
}
