//! A backend Weir runs as a child process, speaking newline-delimited JSON-RPC on stdin/stdout.
//!
//! One process per configured server, shared by every Weir session: Weir initialises it once
//! (declaring sampling, elicitation and roots, so the server offers everything), restarts it
//! when it exits, and stops it on shutdown. Sessions are multiplexed onto it: request ids and
//! progress tokens are remapped so that two clients' ids never meet, and what the process sends
//! back is routed — responses and progress to the request they belong to, resource updates to
//! the sessions that subscribed, list changes to every session. A stdio server cannot say which
//! request one of its own requests (sampling, elicitation) relates to; Weir hands it to the
//! session whose request to this server is the most recent still waiting.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{deliver, BackendError, Sink};
use crate::jsonrpc::{self, Kind};

/// The protocol revision Weir asks a stdio server for.
const STDIO_PROTOCOL_VERSION: &str = "2025-11-25";
const INIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest line of the process's standard error logged; the rest of a longer one is skipped.
const MAX_STDERR_LINE_BYTES: usize = 8 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct StdioServer {
    pub name: Arc<str>,
    command: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
    /// The longest line (one message) read from the process: `mcp.max_backend_message_bytes`.
    max_message: usize,
    current: tokio::sync::Mutex<Option<Arc<Proc>>>,
    /// Each session's stream for this server's unsolicited messages; survives restarts.
    sessions: Mutex<HashMap<String, Sink>>,
    /// Resource URI → sessions subscribed to it.
    subscriptions: Mutex<HashMap<String, HashSet<String>>>,
    stop: CancellationToken,
    seq: AtomicU64,
}

struct Pending {
    answer: oneshot::Sender<Value>,
    original_id: Value,
    session: String,
    related: Sink,
    progress_key: Option<String>,
    seq: u64,
}

/// Drops a request's pending entry (and its progress token) when its waiter goes.
struct Forget<'a> {
    proc: &'a Proc,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(pending) = lock(&self.proc.pending).remove(&self.id) {
            if let Some(k) = pending.progress_key {
                lock(&self.proc.progress).remove(&k);
            }
        }
    }
}

struct Proc {
    stdin: mpsc::Sender<String>,
    pending: Mutex<HashMap<u64, Pending>>,
    /// Weir's progress token → (the client's token, the stream it goes to).
    progress: Mutex<HashMap<String, (Value, Sink)>>,
    init_result: Value,
    next_id: AtomicU64,
    exited: CancellationToken,
    /// Set when Weir stopped the process for a line past the limit (what waited on it is told
    /// so).
    oversized: AtomicBool,
    child: Mutex<Option<tokio::process::Child>>,
    pid: Option<u32>,
}

impl StdioServer {
    pub fn new(name: Arc<str>, command: Vec<String>, env: Vec<(String, String)>, timeout: Duration, max_message: usize) -> Arc<Self> {
        Arc::new(Self {
            name,
            command,
            env,
            timeout,
            max_message,
            current: tokio::sync::Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
            seq: AtomicU64::new(0),
        })
    }

    fn unavailable(&self, why: impl Into<String>) -> BackendError {
        BackendError::Unavailable(self.name.clone(), why.into())
    }

    /// The running process, started (and initialised) if there is none.
    async fn proc(self: &Arc<Self>) -> Result<Arc<Proc>, BackendError> {
        let mut cur = self.current.lock().await;
        if let Some(p) = cur.as_ref() {
            if !p.exited.is_cancelled() {
                return Ok(p.clone());
            }
        }
        if self.stop.is_cancelled() {
            return Err(self.unavailable("Weir is shutting down"));
        }
        let p = self.spawn().await?;
        *cur = Some(p.clone());
        Ok(p)
    }

    /// Starts the process at once (at Weir's start), and again whenever it exits, with a
    /// growing pause between attempts.
    pub fn supervise(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(500);
            loop {
                match me.proc().await {
                    Ok(p) => {
                        backoff = Duration::from_millis(500);
                        tokio::select! {
                            () = p.exited.cancelled() => {
                                tracing::warn!(server = %me.name, "MCP server process exited; restarting it");
                            }
                            () = me.stop.cancelled() => return,
                        }
                    }
                    Err(e) => tracing::warn!(server = %me.name, error = %e, "MCP server process could not be started"),
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = me.stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// Stops the process for good.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if let Some(p) = self.current.lock().await.take() {
            p.kill();
        }
    }

    pub async fn pid(self: &Arc<Self>) -> Option<u32> {
        self.current.lock().await.as_ref().filter(|p| !p.exited.is_cancelled()).and_then(|p| p.pid)
    }

    async fn spawn(self: &Arc<Self>) -> Result<Arc<Proc>, BackendError> {
        let (program, args) = self.command.split_first().ok_or_else(|| self.unavailable("no command configured"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| self.unavailable(format!("cannot start `{program}`: {e}")))?;
        let pid = child.id();
        let (Some(mut stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            return Err(self.unavailable("the process has no stdio"));
        };
        let (tx, mut rx) = mpsc::channel::<String>(1024);
        let exited = CancellationToken::new();

        // Writer: one line per message.
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if stdin.write_all(line.as_bytes()).await.is_err() || stdin.write_all(b"\n").await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        // Its stderr goes to Weir's log, a line at most MAX_STDERR_LINE_BYTES of it.
        let name = self.name.clone();
        tokio::spawn(async move {
            let mut err = BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                match read_line_within(&mut err, &mut line, MAX_STDERR_LINE_BYTES).await {
                    Ok(Line::Whole) => tracing::debug!(server = %name, "{}", String::from_utf8_lossy(&line)),
                    Ok(Line::TooLong) => {
                        tracing::debug!(server = %name, "{} (line cut)", String::from_utf8_lossy(&line));
                        if !matches!(skip_line(&mut err).await, Ok(true)) {
                            return;
                        }
                    }
                    Ok(Line::End) | Err(_) => return,
                }
            }
        });

        // The handshake, before anything else is routed.
        let mut reader = BufReader::new(stdout);
        let init = jsonrpc::request(
            json!(0),
            "initialize",
            json!({
                "protocolVersion": STDIO_PROTOCOL_VERSION,
                "capabilities": {"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": true}},
                "clientInfo": {"name": "weir", "version": env!("CARGO_PKG_VERSION")},
            }),
        );
        tx.send(init.to_string()).await.map_err(|_| self.unavailable("the process closed its input"))?;
        let init_result = tokio::time::timeout(INIT_TIMEOUT, async {
            let mut line = Vec::new();
            loop {
                line.clear();
                match read_line_within(&mut reader, &mut line, self.max_message).await {
                    Ok(Line::End) | Err(_) => return Err(self.unavailable("the process exited during initialization")),
                    // The process goes with `child` (killed on drop).
                    Ok(Line::TooLong) => return Err(BackendError::TooLarge(self.name.clone(), self.max_message)),
                    Ok(Line::Whole) => {}
                }
                let Ok(msg) = serde_json::from_slice::<Value>(&line) else { continue };
                if jsonrpc::kind(&msg) == Kind::Response && msg.get("id") == Some(&json!(0)) {
                    if let Some((code, m)) = jsonrpc::error_of(&msg) {
                        return Err(self.unavailable(format!("initialize failed ({code}): {m}")));
                    }
                    return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
                }
            }
        })
        .await
        .map_err(|_| BackendError::Timeout(self.name.clone()))??;
        let _ = tx.send(jsonrpc::notification("notifications/initialized", json!({})).to_string()).await;
        tracing::info!(server = %self.name, pid, "MCP server process started");

        let proc = Arc::new(Proc {
            stdin: tx,
            pending: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
            init_result,
            next_id: AtomicU64::new(1),
            exited: exited.clone(),
            oversized: AtomicBool::new(false),
            child: Mutex::new(Some(child)),
            pid,
        });
        // Reader: routes everything the process says until it exits.
        let (me, p) = (self.clone(), proc.clone());
        tokio::spawn(async move {
            let mut line = Vec::new();
            loop {
                line.clear();
                match read_line_within(&mut reader, &mut line, me.max_message).await {
                    Ok(Line::End) | Err(_) => break,
                    Ok(Line::TooLong) => {
                        // Not read on without bound: the process is stopped (and restarted by
                        // its supervisor); a message cannot be skipped without reading it.
                        tracing::warn!(server = %me.name, limit = me.max_message, "MCP server process sent a message past mcp.max_backend_message_bytes; restarting it");
                        p.oversized.store(true, Ordering::Relaxed);
                        break;
                    }
                    Ok(Line::Whole) => {}
                }
                match serde_json::from_slice::<Value>(&line) {
                    Ok(msg) => me.route(&p, msg).await,
                    Err(_) => tracing::debug!(server = %me.name, "ignoring a line that is not JSON"),
                }
            }
            // Whatever waited on this process learns it is gone.
            lock(&p.pending).clear();
            lock(&p.progress).clear();
            p.kill();
        });
        Ok(proc)
    }

    /// Where a message from the process goes.
    async fn route(&self, p: &Proc, mut msg: Value) {
        tracing::trace!(server = %self.name, message = %msg, "from the process");
        match jsonrpc::kind(&msg) {
            Kind::Response => {
                let Some(id) = msg.get("id").and_then(Value::as_u64) else { return };
                let Some(pending) = lock(&p.pending).remove(&id) else { return };
                if let Some(k) = &pending.progress_key {
                    lock(&p.progress).remove(k);
                }
                msg["id"] = pending.original_id;
                let _ = pending.answer.send(msg);
            }
            Kind::Request => {
                let newest = lock(&p.pending).values().max_by_key(|x| x.seq).map(|x| x.related.clone());
                match newest {
                    Some(sink) => deliver(&sink, &self.name, msg),
                    None => {
                        // Nobody is waiting on this server: answer what can be answered.
                        let id = jsonrpc::id(&msg);
                        let answer = match jsonrpc::method(&msg) {
                            "ping" => jsonrpc::result(id, json!({})),
                            "roots/list" => jsonrpc::result(id, json!({"roots": []})),
                            m => jsonrpc::error(id, jsonrpc::METHOD_NOT_FOUND, format!("no client is waiting on this server to answer {m}")),
                        };
                        let _ = p.stdin.send(answer.to_string()).await;
                    }
                }
            }
            Kind::Notification => {
                let method = jsonrpc::method(&msg).to_string();
                match method.as_str() {
                    "notifications/progress" => {
                        let token = msg.pointer("/params/progressToken").and_then(Value::as_str).map(str::to_string);
                        let target = token.and_then(|t| lock(&p.progress).get(&t).cloned());
                        if let Some((original, sink)) = target {
                            msg["params"]["progressToken"] = original;
                            deliver(&sink, &self.name, msg);
                        }
                    }
                    "notifications/resources/updated" => {
                        let uri = msg.pointer("/params/uri").and_then(Value::as_str).unwrap_or("").to_string();
                        let sessions: Vec<String> = lock(&self.subscriptions).get(&uri).map(|s| s.iter().cloned().collect()).unwrap_or_default();
                        let sinks = lock(&self.sessions);
                        for s in sessions.iter().filter_map(|s| sinks.get(s)) {
                            deliver(s, &self.name, msg.clone());
                        }
                    }
                    "notifications/message" | "notifications/cancelled" => {
                        let newest = lock(&p.pending).values().max_by_key(|x| x.seq).map(|x| x.related.clone());
                        match newest {
                            Some(sink) => deliver(&sink, &self.name, msg),
                            None => self.broadcast(&msg),
                        }
                    }
                    _ => self.broadcast(&msg),
                }
            }
            Kind::Invalid => tracing::debug!(server = %self.name, "ignoring a message that is not JSON-RPC"),
        }
    }

    fn broadcast(&self, msg: &Value) {
        for sink in lock(&self.sessions).values() {
            deliver(sink, &self.name, msg.clone());
        }
    }
}

impl Proc {
    fn kill(&self) {
        self.exited.cancel();
        if let Some(mut c) = lock(&self.child).take() {
            let _ = c.start_kill();
            // Reaped in the background, so no zombie is left.
            tokio::spawn(async move {
                let _ = c.wait().await;
            });
        }
    }
}

/// How a bounded read of one line ended.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line, without its end (`\n`, or the end of the stream after a last unended line).
    Whole,
    /// Longer than the limit: what was read of it is in the buffer, the rest is not read.
    TooLong,
    /// The stream ended.
    End,
}

/// Reads one line into `buf` (empty on entry), at most `max` bytes of it: unlike
/// `read_line`, a line that never ends cannot grow the buffer without bound.
async fn read_line_within<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() { Line::End } else { Line::Whole });
        }
        let (take, ended) = match memchr::memchr(b'\n', available) {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if buf.len() + take > max {
            let room = max - buf.len();
            buf.extend_from_slice(&available[..room]);
            r.consume(room);
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(&available[..take]);
        r.consume(if ended { take + 1 } else { take });
        if ended {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Line::Whole);
        }
    }
}

/// Reads past the rest of a line without keeping it; `false` when the stream ended first.
async fn skip_line<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<bool> {
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        match memchr::memchr(b'\n', available) {
            Some(i) => {
                r.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = available.len();
                r.consume(n);
            }
        }
    }
}

/// One Weir session's use of a shared stdio server.
pub struct StdioLink {
    server: Arc<StdioServer>,
    session: String,
    init_result: Value,
}

impl StdioLink {
    pub async fn connect(server: Arc<StdioServer>, session: String, unsolicited: Sink) -> Result<Self, BackendError> {
        let p = server.proc().await?;
        lock(&server.sessions).insert(session.clone(), unsolicited);
        Ok(Self { init_result: p.init_result.clone(), server, session })
    }

    pub fn server(&self) -> &Arc<str> {
        &self.server.name
    }

    pub fn init_result(&self) -> Value {
        self.init_result.clone()
    }

    pub fn backend_session(&self) -> Option<String> {
        None
    }

    pub async fn request(&self, mut msg: Value, related: &Sink) -> Result<Value, BackendError> {
        let p = self.server.proc().await?;
        let id = p.next_id.fetch_add(1, Ordering::Relaxed);
        let original_id = jsonrpc::id(&msg);
        msg["id"] = json!(id);
        let mut progress_key = None;
        if let Some(token) = msg.pointer("/params/_meta/progressToken").cloned() {
            let key = format!("weir-{id}");
            lock(&p.progress).insert(key.clone(), (token, related.clone()));
            msg["params"]["_meta"]["progressToken"] = json!(key);
            progress_key = Some(key);
        }
        let method = jsonrpc::method(&msg).to_string();
        let uri = msg.pointer("/params/uri").and_then(Value::as_str).map(str::to_string);
        let (tx, rx) = oneshot::channel();
        let seq = self.server.seq.fetch_add(1, Ordering::Relaxed);
        lock(&p.pending).insert(id, Pending { answer: tx, original_id, session: self.session.clone(), related: related.clone(), progress_key, seq });
        tracing::trace!(server = %self.server.name, message = %msg, "to the process");
        if p.stdin.send(msg.to_string()).await.is_err() {
            lock(&p.pending).remove(&id);
            return Err(self.server.unavailable("the process is not running"));
        }
        // Whether answered, timed out or dropped (the client cancelled), the request stops
        // being waited for here.
        let _forget = Forget { proc: &p, id };
        let answer = match tokio::time::timeout(self.server.timeout, rx).await {
            Ok(Ok(a)) => a,
            Ok(Err(_)) if p.oversized.load(Ordering::Relaxed) => return Err(BackendError::TooLarge(self.server.name.clone(), self.server.max_message)),
            Ok(Err(_)) => return Err(self.server.unavailable("the process exited before answering")),
            Err(_) => return Err(BackendError::Timeout(self.server.name.clone())),
        };
        if answer.get("result").is_some() {
            if let Some(uri) = uri {
                let mut subs = lock(&self.server.subscriptions);
                match method.as_str() {
                    "resources/subscribe" => {
                        subs.entry(uri).or_default().insert(self.session.clone());
                    }
                    "resources/unsubscribe" => {
                        if let Some(s) = subs.get_mut(&uri) {
                            s.remove(&self.session);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(answer)
    }

    pub async fn send(&self, msg: Value) -> Result<(), BackendError> {
        let p = self.server.proc().await?;
        p.stdin.send(msg.to_string()).await.map_err(|_| self.server.unavailable("the process is not running"))
    }

    pub async fn cancel(&self, client_request_id: &Value, reason: Option<&str>) {
        let Ok(p) = self.server.proc().await else { return };
        let upstream = lock(&p.pending).iter().find(|(_, x)| x.session == self.session && &x.original_id == client_request_id).map(|(id, _)| *id);
        if let Some(id) = upstream {
            let mut params = json!({"requestId": id});
            if let Some(r) = reason {
                params["reason"] = json!(r);
            }
            let _ = p.stdin.send(jsonrpc::notification("notifications/cancelled", params).to_string()).await;
        }
    }

    pub fn close(&self) {
        lock(&self.server.sessions).remove(&self.session);
        for s in lock(&self.server.subscriptions).values_mut() {
            s.remove(&self.session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every line of `input` (through a buffer of `buffer` bytes) within `max`.
    async fn lines(input: &[u8], buffer: usize, max: usize) -> Vec<(Line, String)> {
        let mut r = BufReader::with_capacity(buffer, input);
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            let got = read_line_within(&mut r, &mut line, max).await.unwrap();
            if got == Line::End {
                return out;
            }
            let too_long = got == Line::TooLong;
            out.push((got, String::from_utf8(line).unwrap()));
            if too_long && !skip_line(&mut r).await.unwrap() {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn lines_are_read_whole_within_the_limit_across_reads() {
        // The second line is exactly the limit long.
        let got = lines(b"{\"a\":1}\r\nabcdefgh\n\nlast", 3, 8).await;
        let want = [(Line::Whole, "{\"a\":1}"), (Line::Whole, "abcdefgh"), (Line::Whole, ""), (Line::Whole, "last")];
        assert_eq!(got, want.map(|(l, s)| (l, s.to_string())));
    }

    #[tokio::test]
    async fn a_line_past_the_limit_is_cut_there_and_the_rest_is_not_kept() {
        let got = lines(b"0123456789\nok\n0123456789", 4, 6).await;
        let want = [(Line::TooLong, "012345"), (Line::Whole, "ok"), (Line::TooLong, "012345")];
        assert_eq!(got, want.map(|(l, s)| (l, s.to_string())));
    }
}
