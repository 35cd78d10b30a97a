//! Streamed answers (`message/stream`, `SendStreamingMessage`, `tasks/resubscribe`,
//! `SubscribeToTask`, REST `:stream` and `:subscribe`), relayed event by event as the target
//! sends them, never gathered. Each event is read for its task (the first one a send reports
//! becomes the caller's; the state is recorded) and its text parts pass the guardrails (masked
//! in place; a block ends the stream with an error event). A target that breaks off mid-stream
//! gets the caller a clean error event in its binding, and the record says so.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::edge::{guard_texts, GuardOutcome};
use super::protocol::{self as proto, Binding};
use super::record::A2aRecord;
use crate::guard::policy::{Direction, Policy};
use crate::llm::UpstreamResponse;
use crate::sse::{SseEvent, SseSplitter};
use crate::state::AppState;

/// What a stream needs of its call once the handler has returned.
pub struct StreamCall {
    pub state: AppState,
    pub target: String,
    pub caller: String,
    pub caller_name: String,
    pub end_user: Option<String>,
    pub binding: Binding,
    pub version: proto::Version,
    pub id: Value,
    /// Whether the first task the stream reports becomes the caller's (a send's stream).
    pub claims: bool,
    pub task_ttl: Duration,
    pub idle: Duration,
    pub max_event: usize,
}

/// Events queued for a slow caller before the target is read no further.
const QUEUE: usize = 16;

pub fn relay(call: StreamCall, upstream: UpstreamResponse, policy: Option<Policy>, rec: A2aRecord) -> Response {
    let status = upstream.status;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE);
    tokio::spawn(pump(call, upstream, policy, rec, tx));
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// How a stream ended.
enum End {
    Done,
    /// The caller went away.
    Left,
    /// Ended with an error event: what the record says (error type, the status it counts as).
    Failed(&'static str, u16, String),
}

async fn pump(call: StreamCall, upstream: UpstreamResponse, policy: Option<Policy>, mut rec: A2aRecord, tx: mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let status = upstream.status.as_u16();
    let mut body = upstream.body.with_chunk_timeout(call.idle);
    let mut splitter = SseSplitter::with_max_event(call.max_event);
    let mut events: Vec<SseEvent> = Vec::new();
    let mut claimed = !call.claims;
    let mut captured: Vec<u8> = Vec::new();
    let end = 'stream: loop {
        // A caller that leaves is noticed at once, not at the agent's next event.
        let next = tokio::select! {
            next = body.next() => next,
            () = tx.closed() => break End::Left,
        };
        let chunk = match next {
            None => break End::Done,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                tracing::warn!(agent = %call.target, error = %e, "the agent broke off its stream");
                let (ty, message) = if e.is_timeout() {
                    ("upstream_stream_idle", format!("agent `{}` sent nothing for {} s", call.target, call.idle.as_secs()))
                } else {
                    ("upstream_stream_broken", format!("agent `{}` broke off its stream", call.target))
                };
                let _ = tx.send(Ok(error_event(&call, proto::AGENT_UNAVAILABLE, 502, &message))).await;
                break End::Failed(ty, 502, message);
            }
        };
        events.clear();
        if splitter.push(&chunk, &mut events).is_err() {
            let message = format!("an event of agent `{}` is larger than the {}-byte limit", call.target, call.max_event);
            let _ = tx.send(Ok(error_event(&call, proto::INVALID_AGENT_RESPONSE, 502, &message))).await;
            break End::Failed("upstream_too_large", 502, message);
        }
        for ev in events.drain(..) {
            // A keep-alive comment is not the answer's first event.
            if !ev.data.is_empty() {
                rec.first_event();
            }
            let out = match handle_event(&call, &policy, &mut rec, &mut claimed, ev).await {
                Ok(out) => out,
                Err((ty, code, status, message)) => {
                    let _ = tx.send(Ok(error_event(&call, code, status, &message))).await;
                    break 'stream End::Failed(ty, status, message);
                }
            };
            if rec.capturing() && captured.len() < 1 << 20 {
                captured.extend_from_slice(&out);
            }
            if tx.send(Ok(out)).await.is_err() {
                break 'stream End::Left;
            }
        }
    };
    if !captured.is_empty() {
        rec.set_response(Bytes::from(captured));
    }
    match end {
        End::Done => rec.finish_ok(&call.state, status),
        End::Left => rec.finish_error(&call.state, 499, "client_cancelled", Some("the caller closed the stream".into())),
        End::Failed(ty, status, message) => rec.finish_error(&call.state, status, ty, Some(message)),
    }
}

/// Why an event ended the stream: error type, A2A code, HTTP status it counts as, message.
type EventError = (&'static str, i64, u16, String);

/// One event: its task read, its texts checked; the bytes that go to the caller.
async fn handle_event(call: &StreamCall, policy: &Option<Policy>, rec: &mut A2aRecord, claimed: &mut bool, ev: SseEvent) -> Result<Bytes, EventError> {
    let Ok(mut data) = serde_json::from_str::<Value>(&ev.data) else { return Ok(ev.raw) };
    let root = if call.binding == Binding::JsonRpc { "/result" } else { "" };
    let Some(result) = data.pointer(root) else { return Ok(ev.raw) };
    let facts = proto::task_facts(result);
    rec.task(&facts);
    if let (false, Some(task)) = (*claimed, facts.task_id.as_deref()) {
        match call.state.a2a.owners.claim(&call.target, task, &call.caller, call.task_ttl).await {
            Ok(true) => *claimed = true,
            Ok(false) => return Err(("task_not_found", proto::TASK_NOT_FOUND, 404, "task not found".into())),
            Err(e) => {
                tracing::error!(error = %e, "task owner not recorded");
                return Err(("store_unavailable", proto::AGENT_UNAVAILABLE, 503, "Weir cannot record the task's owner right now".into()));
            }
        }
    }
    let Some(policy) = policy else { return Ok(ev.raw) };
    let mut pointers = Vec::new();
    proto::text_parts(result, &mut String::new(), &mut pointers);
    let pointers: Vec<String> = pointers.into_iter().map(|p| format!("{root}{p}")).collect();
    let cx = crate::guard::webhook::Context { agent: call.caller_name.clone(), user: call.end_user.clone(), model: None };
    match guard_texts(policy, Direction::Response, &mut data, &pointers, &cx, rec).await {
        GuardOutcome::Unchanged => Ok(ev.raw),
        GuardOutcome::Masked => {
            let mut out = Vec::with_capacity(ev.raw.len());
            if let Some(id) = &ev.id {
                out.extend_from_slice(b"id: ");
                out.extend_from_slice(id.as_bytes());
                out.push(b'\n');
            }
            crate::sse::write_event(&mut out, ev.event.as_deref(), &data);
            Ok(Bytes::from(out))
        }
        GuardOutcome::Blocked(m) => Err(("guardrail_blocked", proto::DENIED_BY_POLICY, 403, m)),
    }
}

/// An error as the last event of a stream, in the caller's binding (v1.0 names it an `error`
/// event; a v0.3 server sends it as a plain one).
fn error_event(call: &StreamCall, code: i64, status: u16, message: &str) -> Bytes {
    let body = match call.binding {
        Binding::JsonRpc => proto::rpc_error(call.version, call.id.clone(), code, message),
        Binding::Rest => proto::rest_error(call.version, status, code, message),
    };
    let mut out = Vec::new();
    crate::sse::write_event(&mut out, (call.version == proto::Version::V10).then_some("error"), &body);
    Bytes::from(out)
}
