//! Answers to a client: a JSON body when the backend answered alone, an SSE stream when it sent
//! anything first (progress, its own requests), kept for resumption by event id.

use super::*;

/// A message as the client receives it: its JSON text, without any secret of Weir's config (a
/// backend may echo the credential Weir sent it). Every message to a client is written by this.
pub(super) fn wire_text(msg: &Value) -> String {
    let text = msg.to_string();
    match crate::audit::redact_known_text(&text) {
        std::borrow::Cow::Owned(clean) => clean,
        std::borrow::Cow::Borrowed(_) => text,
    }
}

/// A JSON-RPC error as an HTTP response.
pub(super) fn rpc_error(status: StatusCode, id: Value, code: i64, message: impl Into<String>) -> Response {
    json_status(status, &jsonrpc::error(id, code, message))
}

pub(super) fn json_response(msg: &Value) -> Response {
    json_status(StatusCode::OK, msg)
}

pub(super) fn json_status(status: StatusCode, msg: &Value) -> Response {
    let mut r = (status, wire_text(msg)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A backend's message mapped for the client (with shared sessions a request's new id recorded
/// in Redis, so the answer may reach any replica) and appended to `stream`; returns it with its
/// event id (none when the store could not keep it: it is sent all the same, not resumable).
pub(super) async fn append_for_client(sh: Option<&Shared>, store: &dyn StreamStore, session: &Session, server: &str, msg: Value, stream: &str, last: bool) -> Option<(String, Option<String>)> {
    let (m, pending) = session.to_client(server, msg)?;
    if let (Some(sh), Some((weir_id, p))) = (sh, pending) {
        if let Err(e) = sh.put_request(&session.id, &weir_id, &p).await {
            tracing::warn!(session = %session.id, error = %e, "backend request not recorded in Redis; only this replica can take its answer");
        }
    }
    // Written out (and cleaned of secrets) once: the same text is recorded and sent.
    let text = wire_text(&m);
    match store.append(stream, &text, last).await {
        Ok(id) => Some((text, Some(id))),
        Err(e) => {
            tracing::warn!(session = %session.id, error = %e, "MCP stream event not recorded; it cannot be resumed");
            Some((text, None))
        }
    }
}

/// The client's answer to a backend's request, to that backend: from this replica when it
/// holds the request or reaches the backend session, else through the replica that does.
pub(super) async fn deliver_answer(state: &AppState, session: &Arc<Session>, msg: Value) {
    let (server, answer) = match &state.mcp.shared {
        // One Weir keeps what it asked in the session.
        None => match session.from_client_answer(msg) {
            Some(found) => found,
            None => {
                tracing::debug!(session = %session.id, "client answered a request Weir does not know");
                return;
            }
        },
        // Shared sessions keep it in Redis.
        Some(sh) => {
            let weir_id = jsonrpc::id(&msg);
            let pending = match sh.take_request(&session.id, weir_id.as_str().unwrap_or_default()).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    tracing::debug!(session = %session.id, "client answered a request no replica knows");
                    return;
                }
                Err(e) => {
                    tracing::warn!(session = %session.id, error = %e, "client's answer lost: the MCP session store is unreachable");
                    return;
                }
            };
            let mut answer = msg;
            answer["id"] = pending.backend_id;
            if pending.replica != sh.replica && !state.mcp.adoptable(&pending.server) {
                let relayed = Relayed { session: session.id.clone(), server: pending.server, message: answer };
                if let Err(e) = sh.relay(&pending.replica, &relayed).await {
                    tracing::warn!(session = %session.id, error = %e, "client's answer could not be passed to the replica holding its backend");
                }
                return;
            }
            (pending.server, answer)
        }
    };
    let link = match state.mcp.shared {
        // Any replica reaches a Streamable HTTP backend session.
        Some(_) => state.mcp.link(session, &server).await.ok(),
        None => session.link(&server).await,
    };
    match link {
        Some(link) => {
            if let Err(e) = link.send(answer).await {
                tracing::warn!(server, error = %e, "client's answer could not reach the backend");
            }
        }
        None => tracing::debug!(server, "client answered a backend that is no longer linked"),
    }
}

/// Answers one client request: JSON when the backend's response came alone, SSE when the
/// backend sent related messages (its requests to the client, progress, logging) first, or
/// primed its answer stream for a client that polls. A request the client cancels gets no
/// response: its stream ends without one.
pub(super) async fn answer_request(state: AppState, session: Arc<Session>, msg: Value, wants_sse: bool, headers: &HeaderMap, started: Instant) -> Response {
    let trace = trace_headers(headers);
    let (tx, mut rx) = mpsc::channel::<backend::Tagged>(SINK_CAPACITY);
    let id = jsonrpc::id(&msg);
    let (cancel, gone) = session.begin_request(&id);
    // Until the answer is out, the client going away (this handler or its stream dropped) is
    // said on `gone`.
    let gone = GoneOnDrop(Some(gone));
    // Revisions are dates: they compare as text.
    let polls = wants_sse && session.protocol_version.as_str() >= POLLING_SINCE;
    let (st, sess, call_id) = (state.clone(), session.clone(), id.clone());
    let mut call = tokio::spawn(async move {
        let answer = run_request(&st, &sess, msg, &tx, started, &trace).await;
        sess.end_request(&call_id);
        answer
    });
    // Wait for the response or the first related item that turns the answer into a stream,
    // whichever comes first; word of the backend's stream that does not is let go.
    let first = loop {
        let got = tokio::select! {
            biased;
            r = &mut call => Ok(r),
            () = cancel.cancelled() => return cancelled_response(wants_sse),
            m = rx.recv() => match m {
                Some(m) => Err(m),
                // The call dropped its sender: it has finished, or is about to.
                None => Ok((&mut call).await),
            },
        };
        match got {
            Err(m) if !opens_stream(&m.1, wants_sse, polls) => {}
            got => break got,
        }
    };
    match first {
        Ok(_) if cancel.is_cancelled() => gone.answered(cancelled_response(wants_sse)),
        Ok(Ok(answer)) => gone.answered(json_response(&answer)),
        Ok(Err(_)) => gone.answered(rpc_error(StatusCode::INTERNAL_SERVER_ERROR, Value::Null, jsonrpc::INTERNAL_ERROR, "internal error")),
        Err(first) if wants_sse => {
            let name = match &state.mcp.shared {
                Some(sh) => format!("{}.{}", sh.replica, session.next_seq()),
                None => session.next_seq().to_string(),
            };
            // A client resuming this stream here brings a backend stream that ended early back.
            session.name_request_stream(&id, &name);
            let store = state.mcp.streams.clone();
            let rec = Recorder { stream: store.request_stream(&session.id, &name), sh: state.mcp.shared.clone(), store, name };
            let stream = async_stream(session, first, rx, call, cancel, gone, rec, polls);
            sse_response(stream)
        }
        Err(first) => {
            // The client cannot take a stream: related messages go to its session stream (which
            // maps them for the client itself).
            let _ = session.unsolicited.try_send(first);
            let forward = tokio::spawn({
                let session = session.clone();
                async move {
                    while let Some(m) = rx.recv().await {
                        if matches!(m.1, Related::Message(_)) {
                            let _ = session.unsolicited.try_send(m);
                        }
                    }
                }
            });
            let answer = call.await;
            forward.abort();
            gone.answered(match answer {
                _ if cancel.is_cancelled() => cancelled_response(false),
                Ok(a) => json_response(&a),
                Err(_) => rpc_error(StatusCode::INTERNAL_SERVER_ERROR, Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"),
            })
        }
    }
}

/// Whether a request's related item, the first to come, turns its answer into an event stream:
/// a message does (one the client cannot take on a stream goes to its session's stream); a call
/// held for approval does for a client that takes streams; a backend's priming does for a
/// client that polls (it is primed in turn). A backend's stream that ends early before any of
/// these does not: the client holds a plain answer, and the link resumes the backend on its own.
pub(super) fn opens_stream(item: &Related, wants_sse: bool, polls: bool) -> bool {
    match item {
        Related::Message(_) => true,
        Related::OpenStream => wants_sse,
        Related::Primed { .. } => polls,
        Related::Paused { .. } => false,
    }
}

/// Fires a request's `gone` token when dropped before the answer went out.
pub(super) struct GoneOnDrop(Option<tokio_util::sync::CancellationToken>);

impl GoneOnDrop {
    /// The answer is out (or about to be): nobody went away.
    fn answered<T>(mut self, r: T) -> T {
        self.0 = None;
        r
    }
}

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// The caller's W3C trace headers and its agent session (`x-weir-session`), the only headers a
/// request's record reads.
pub(super) fn trace_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in ["traceparent", "tracestate", "x-weir-session"] {
        if let Some(v) = headers.get(name) {
            out.insert(name, v.clone());
        }
    }
    out
}

/// The answer to a POST whose request the client cancelled: an event stream that ends at once,
/// without a response (a client that takes no stream gets 202 and no body).
pub(super) fn cancelled_response(wants_sse: bool) -> Response {
    if wants_sse {
        sse_response(futures_util::stream::empty())
    } else {
        StatusCode::ACCEPTED.into_response()
    }
}

/// Where a request's answer is recorded, so that a client whose stream is cut resumes it with
/// `Last-Event-ID` (at any replica, with shared sessions).
pub(super) struct Recorder {
    sh: Option<Arc<Shared>>,
    store: Arc<dyn StreamStore>,
    stream: String,
    name: String,
}

impl Recorder {
    /// A backend's message on the request's stream: mapped for the client and recorded.
    async fn related(&self, session: &Session, server: &str, m: Value) -> Option<Bytes> {
        let (text, id) = append_for_client(self.sh.as_deref(), &*self.store, session, server, m, &self.stream, false).await?;
        Some(self.event(&text, id))
    }

    /// Weir's priming event: an empty entry recorded (no message; a place in the stream that a
    /// `Last-Event-ID` names), sent with the `retry` the backend asked of its client. `None`
    /// when the store could not record it (nothing to resume from).
    async fn prime(&self, retry: Option<Duration>) -> Option<Bytes> {
        match self.store.append(&self.stream, "", false).await {
            Ok(entry) => Some(priming_event(&format!("{}/{entry}", self.name), retry)),
            Err(e) => {
                tracing::warn!(stream = %self.name, error = %e, "MCP stream not primed: the store could not record it");
                None
            }
        }
    }

    /// The response, recorded as the stream's last event.
    async fn answer(&self, answer: &Value) -> Bytes {
        let text = wire_text(answer);
        let id = self.store.append(&self.stream, &text, true).await.ok();
        self.event(&text, id)
    }

    /// The SSE event of a recorded message (`name/entry` is its id; none when the store could
    /// not keep it).
    fn event(&self, text: &str, entry: Option<String>) -> Bytes {
        match entry {
            Some(entry) => raw_event(&format!("{}/{entry}", self.name), text),
            None => message_event(text),
        }
    }
}

/// A priming event: an id to resume from, no message, and the reconnection delay if one is
/// known.
pub(super) fn priming_event(id: &str, retry: Option<Duration>) -> Bytes {
    match retry {
        Some(r) => Bytes::from(format!("id: {id}\nretry: {}\ndata: \n\n", r.as_millis())),
        None => Bytes::from(format!("id: {id}\ndata: \n\n")),
    }
}

/// The client's end of a request's answer stream, while it is open.
pub(super) struct ClientStream {
    out: Option<mpsc::Sender<Bytes>>,
    /// Fires if the client goes away before the answer; let go of once the answer is out, or
    /// Weir ended the stream for the client to resume.
    gone: Option<GoneOnDrop>,
    /// Whether the client was sent Weir's priming event.
    primed: bool,
}

impl ClientStream {
    fn here(&self) -> bool {
        self.out.is_some()
    }

    async fn send(&mut self, bytes: Bytes) {
        if let Some(out) = &self.out {
            if out.send(bytes).await.is_err() {
                self.left();
            }
        }
    }

    /// Resolves when the client goes away (never once its stream is ended).
    async fn closed(&self) {
        match &self.out {
            Some(out) => out.closed().await,
            None => std::future::pending().await,
        }
    }

    /// The client went away: `gone` fires (held approvals are abandoned).
    fn left(&mut self) {
        self.out = None;
        drop(self.gone.take());
    }

    /// Weir ends the stream, the client to resume it: not the client going away.
    fn end_for_resume(&mut self) {
        self.out = None;
        self.answered();
    }

    /// The answer is out, or will never be (cancelled): nobody went away.
    fn answered(&mut self) {
        if let Some(g) = self.gone.take() {
            g.answered(());
        }
    }

    /// Passes one related item on: a message recorded and sent; a backend's priming answered
    /// with Weir's own (once); a backend's stream ended early ends the client's, primed first
    /// so that it can resume it, while the message's recording goes on.
    async fn pass_on(&mut self, rec: &Recorder, session: &Session, item: backend::Tagged, polls: bool) {
        let (server, item) = *item;
        match item {
            Related::Message(m) => {
                if let Some(ev) = rec.related(session, &server, m).await {
                    self.send(ev).await;
                }
            }
            Related::OpenStream => {}
            Related::Primed { retry } => {
                if polls && !self.primed {
                    self.prime(rec, retry).await;
                }
            }
            Related::Paused { retry } => {
                if polls && self.here() {
                    if !self.primed {
                        self.prime(rec, Some(retry)).await;
                    }
                    if self.primed {
                        self.end_for_resume();
                    }
                }
            }
        }
    }

    async fn prime(&mut self, rec: &Recorder, retry: Option<Duration>) {
        if let Some(ev) = rec.prime(retry).await {
            self.primed = true;
            self.send(ev).await;
        }
    }
}

/// The SSE body of a request's answer: related messages as they come, then the response. Every
/// event is recorded, and the stream goes on to its response after the client went away, or
/// after Weir ended the client's stream because the backend ended its own early (the client
/// resumes it, and the backend's with it), so the client can resume it (at any replica, with
/// shared sessions).
#[expect(clippy::too_many_arguments, reason = "the parts of one answer, each moved into its task")]
pub(super) fn async_stream(
    session: Arc<Session>,
    first: backend::Tagged,
    mut rx: mpsc::Receiver<backend::Tagged>,
    call: tokio::task::JoinHandle<Value>,
    cancel: tokio_util::sync::CancellationToken,
    gone: GoneOnDrop,
    rec: Recorder,
    polls: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(SINK_CAPACITY);
    tokio::spawn(async move {
        let mut call = call;
        let mut client = ClientStream { out: Some(out_tx), gone: Some(gone), primed: false };
        client.pass_on(&rec, &session, first, polls).await;
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        // Once every sender of related messages is gone, only the answer is left to wait for.
        let mut related_open = true;
        loop {
            tokio::select! {
                biased;
                // A cancelled request's stream ends without its response.
                () = cancel.cancelled() => {
                    client.answered();
                    return;
                }
                // The client went away: `gone` fires (held approvals are abandoned); the answer
                // is still recorded to its end, for a client that resumes it.
                () = client.closed(), if client.here() => client.left(),
                m = rx.recv(), if related_open => {
                    match m {
                        Some(item) => client.pass_on(&rec, &session, item, polls).await,
                        None => related_open = false,
                    }
                }
                answer = &mut call => {
                    if cancel.is_cancelled() {
                        client.answered();
                        return;
                    }
                    // Related messages sent before the response still go first.
                    while let Ok(item) = rx.try_recv() {
                        client.pass_on(&rec, &session, item, polls).await;
                    }
                    let answer = answer.unwrap_or_else(|_| jsonrpc::error(Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"));
                    // Recorded whether or not the client is still there.
                    let ev = rec.answer(&answer).await;
                    client.answered();
                    client.send(ev).await;
                    return;
                }
                _ = keepalive.tick(), if client.here() => {
                    client.send(Bytes::from_static(b": keepalive\n\n")).await;
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(out_rx).map(Ok)
}

/// An SSE event of a message already written out.
pub(super) fn message_event(text: &str) -> Bytes {
    Bytes::from(format!("event: message\ndata: {text}\n\n"))
}

pub(super) fn sse_response<S>(stream: S) -> Response
where
    S: futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
{
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// An SSE event whose data is already JSON text.
pub(super) fn raw_event(id: &str, data: &str) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: message\ndata: {data}\n\n"))
}
