//! Multi-round-trip requests for clients of the stateless revision, over backends of an older
//! one: what such a backend asks of its client while a call runs (sampling, elicitation,
//! roots) cannot reach a client that keeps no stream open, so the call's answer is an
//! `input_required` result naming what is asked, and the call goes on without the client. Its
//! further messages and its response are recorded in a request stream of the session (Redis
//! with shared sessions, memory otherwise). The client's retry (a new request, with its
//! `inputResponses` and the `requestState` Weir gave) passes the answers to the backend and
//! reads on from where the stream stopped: the next thing asked, or the response. Any replica
//! takes the retry: the state names the session and the stream, signed with a key every
//! replica shares, so that a client cannot point it elsewhere.
//!
//! Everything else a stateless client asks is answered as it comes: JSON, or an event stream
//! when the client takes one and the backend sends progress or logs first.

use super::stateless::{complete, Meta, MISSING_CAPABILITY};
use super::*;

/// What a request's driver produces: a notification to pass on (event streams only), then
/// the one answer.
enum Frame {
    Note(Value),
    Last(Value),
}

/// The requests a backend may make of its client, with the capability each needs.
fn input_capability(method: &str) -> Option<&'static str> {
    match method {
        "sampling/createMessage" => Some("sampling"),
        "elicitation/create" => Some("elicitation"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

/// The methods whose answer may be `input_required`.
fn takes_input(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read")
}

/// Answers a stateless client's request: a retry of a round trip Weir began goes on from
/// where its call stopped; anything else runs now.
pub(super) async fn run(state: AppState, session: Arc<Session>, msg: Value, meta: Meta, wants_sse: bool, headers: &HeaderMap, started: Instant) -> Response {
    let id = jsonrpc::id(&msg);
    let method = jsonrpc::method(&msg).to_string();
    if let Some(token) = msg.pointer("/params/requestState").and_then(Value::as_str).filter(|t| t.starts_with(STATE_PREFIX)) {
        let token = token.to_string();
        return resume(state, &session, id, &method, &token, msg.pointer("/params/inputResponses").cloned(), meta, wants_sse).await;
    }
    // The client's id goes no further: clients of one agent that declare alike share the
    // session Weir keeps for them (and its backend sessions), and each numbers its requests
    // its own way.
    let mut msg = msg;
    let inner = json!(format!("weir-c-{}", uuid::Uuid::new_v4().simple()));
    msg["id"] = inner.clone();
    let (tx, rx) = mpsc::channel::<backend::Tagged>(SINK_CAPACITY);
    let _tokens = session.begin_request(&inner);
    let input_call = takes_input(&method).then(|| session.begin_input_call(tx.clone()));
    let trace = trace_headers(headers);
    let (st, sess, call_id, client_id, m) = (state.clone(), session.clone(), inner, id.clone(), method.clone());
    // The client's `Mcp-Param-*` headers go on to a backend of the revision (unread here).
    let params: Vec<(axum::http::HeaderName, HeaderValue)> = headers.iter().filter(|(k, _)| k.as_str().starts_with("mcp-param-")).take(64).map(|(k, v)| (k.clone(), v.clone())).collect();
    let call = tokio::spawn(backend::http::FORWARD_HEADERS.scope(Arc::new(params), async move {
        // Ended however the call ends (answered, aborted, or panicking).
        let _ended = CallEnd { session: sess.clone(), id: call_id, input_call };
        let mut answer = run_request(&st, &sess, msg, &tx, started, &trace).await;
        answer["id"] = client_id;
        complete(&m, &mut answer);
        answer
    }));
    let (out, frames) = mpsc::channel::<Frame>(SINK_CAPACITY);
    let ctx = Ctx { state, session, meta, method, id, wants_sse };
    tokio::spawn(drive(ctx, call, rx, out));
    respond(frames).await
}

/// Ends a call's tracking in its session when dropped.
struct CallEnd {
    session: Arc<Session>,
    id: Value,
    input_call: Option<u64>,
}

impl Drop for CallEnd {
    fn drop(&mut self) {
        self.session.end_request(&self.id);
        if let Some(n) = self.input_call {
            self.session.end_input_call(n);
        }
    }
}

/// What a request's driver works with.
struct Ctx {
    state: AppState,
    session: Arc<Session>,
    meta: Meta,
    method: String,
    /// The client's id of this request (a retry's own).
    id: Value,
    wants_sse: bool,
}

impl Ctx {
    /// A backend's request to its client, while the call runs: one the client can answer is
    /// for it (`Ok(Some)`); anything else Weir answers to the backend itself, and one that needs
    /// a capability the client did not declare is the call's failure (`Err`, the capability).
    async fn triage(&self, server: &str, m: Value) -> Result<Option<Value>, &'static str> {
        let method = jsonrpc::method(&m).to_string();
        let mut missing = Ok(None);
        let reply = match input_capability(&method) {
            Some(cap) if self.meta.declares(cap) && takes_input(&self.method) => return Ok(Some(m)),
            Some(cap) => {
                if !self.meta.declares(cap) {
                    missing = Err(cap);
                }
                jsonrpc::error_with_data(
                    jsonrpc::id(&m),
                    MISSING_CAPABILITY,
                    format!("the client did not declare `{cap}`, or cannot be asked during {}", self.method),
                    json!({"requiredCapabilities": {cap: {}}}),
                )
            }
            // The revision has no ping: the client is there as far as the backend can tell.
            None if method == "ping" => jsonrpc::result(jsonrpc::id(&m), json!({})),
            None => jsonrpc::error(jsonrpc::id(&m), jsonrpc::METHOD_NOT_FOUND, format!("`{}` cannot be passed to a client of revision {}", crate::audit::clip(&method), stateless::STATELESS)),
        };
        if let Some(link) = self.session.link(server).await {
            if let Err(e) = link.send(reply).await {
                tracing::debug!(server, error = %e, "answer to a backend's request not delivered");
            }
        }
        missing
    }
}

/// The answer to a call whose backend needs a capability the client did not declare.
fn missing_capability(id: &Value, server: &str, cap: &str) -> Value {
    jsonrpc::error_with_data(
        id.clone(),
        MISSING_CAPABILITY,
        format!("MCP server `{server}` asked the client for `{cap}`, which the client did not declare in io.modelcontextprotocol/clientCapabilities"),
        json!({"requiredCapabilities": {cap: {}}}),
    )
}

/// A backend's request while no call of the stateless client can take it: answered to the
/// backend as one no client can answer.
pub(super) async fn refuse_unasked(session: &Session, server: &str, m: &Value) {
    let reply = jsonrpc::error(jsonrpc::id(m), jsonrpc::METHOD_NOT_FOUND, format!("no request of the client is in flight to ask `{}` with", crate::audit::clip(jsonrpc::method(m))));
    if let Some(link) = session.link(server).await {
        if let Err(e) = link.send(reply).await {
            tracing::debug!(server, error = %e, "answer to a backend's request not delivered");
        }
    }
}

/// What a running call gives next: a related message, or its answer.
enum Next {
    Item(backend::Tagged),
    Done(Result<Value, tokio::task::JoinError>),
}

/// Waits for a call's next related message, or its answer (messages sent before it go first).
async fn next(call: &mut tokio::task::JoinHandle<Value>, rx: &mut mpsc::Receiver<backend::Tagged>) -> Next {
    tokio::select! {
        biased;
        m = rx.recv() => match m {
            Some(m) => Next::Item(m),
            None => Next::Done((&mut *call).await),
        },
        r = &mut *call => match rx.try_recv() {
            Ok(m) => {
                // Sent before the answer: taken first; the answer is had again at once.
                *call = tokio::spawn(std::future::ready(r.unwrap_or_else(|_| jsonrpc::error(Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"))));
                Next::Item(m)
            }
            Err(_) => Next::Done(r),
        },
    }
}

/// Runs a request to its answer, passing on what the client wants meanwhile; the first thing
/// the backend asks of the client ends the round with `input_required`, and the rest of the
/// call is recorded for the retry.
async fn drive(ctx: Ctx, mut call: tokio::task::JoinHandle<Value>, mut rx: mpsc::Receiver<backend::Tagged>, out: mpsc::Sender<Frame>) {
    let answer = loop {
        let item = match next(&mut call, &mut rx).await {
            Next::Item(item) => item,
            Next::Done(r) => break r,
        };
        let (server, Related::Message(m)) = *item else { continue };
        match jsonrpc::kind(&m) {
            Kind::Request => {
                let asked = match ctx.triage(&server, m).await {
                    Ok(Some(asked)) => asked,
                    Ok(None) => continue,
                    // The backend was told; the client hears what it lacks (the call's own
                    // answer, whatever the backend makes of the refusal, is not waited for).
                    Err(cap) => {
                        let _ = out.send(Frame::Last(missing_capability(&ctx.id, &server, cap))).await;
                        return;
                    }
                };
                let last = record(&ctx, &server, asked, call, rx).await;
                let _ = out.send(Frame::Last(last)).await;
                return;
            }
            Kind::Notification if ctx.wants_sse && ctx.meta.wants(&m) => {
                if let Some((m, _)) = ctx.session.to_client(&server, m) {
                    let _ = out.send(Frame::Note(m)).await;
                }
            }
            _ => {}
        }
    };
    let answer = answer.unwrap_or_else(|_| jsonrpc::error(ctx.id.clone(), jsonrpc::INTERNAL_ERROR, "internal error"));
    let _ = out.send(Frame::Last(answer)).await;
}

/// The first thing a backend asked: recorded (its id Weir's, its answer awaited like any
/// client's), the rest of the call recorded after it in the background; the round's answer.
async fn record(ctx: &Ctx, server: &str, asked: Value, mut call: tokio::task::JoinHandle<Value>, mut rx: mpsc::Receiver<backend::Tagged>) -> Value {
    let state = &ctx.state;
    let name = match &state.mcp.shared {
        Some(sh) => format!("{}.{}", sh.replica, ctx.session.next_seq()),
        None => ctx.session.next_seq().to_string(),
    };
    let store = state.mcp.streams_of(&ctx.session);
    let stream = store.request_stream(&ctx.session.id, &name);
    let sh = state.mcp.shared_for(&ctx.session).cloned();
    let first = append_for_client(sh.as_deref(), &*store, &ctx.session, server, asked, &stream, false).await;
    let (Some((text, Some(entry))), Ok(key)) = (first, state.mcp.state_key().await) else {
        call.abort();
        return jsonrpc::error(ctx.id.clone(), jsonrpc::INTERNAL_ERROR, "the backend asked for the client's input, and the request cannot be kept for its retry (the session store is unreachable)");
    };
    let round = input_required(&ctx.id, &text, &key, &ctx.session.id, &name, &entry, state.runtime.load().config.mcp.replay_window);
    let session = ctx.session.clone();
    let meta_wants = Meta { caps: ctx.meta.caps.clone(), info: Value::Null, level: ctx.meta.level.clone() };
    let ctx2 = Ctx { state: state.clone(), session: session.clone(), meta: meta_wants, method: ctx.method.clone(), id: ctx.id.clone(), wants_sse: true };
    // The ids of what the backend asked, so that what was never answered is forgotten once the
    // call has its answer (a client may well never retry).
    let mut asked_ids = vec![jsonrpc::id(&serde_json::from_str::<Value>(&text).unwrap_or_default())];
    tokio::spawn(async move {
        let answer = loop {
            let item = match next(&mut call, &mut rx).await {
                Next::Item(item) => item,
                Next::Done(r) => break r,
            };
            let (server, Related::Message(m)) = *item else { continue };
            let m = match jsonrpc::kind(&m) {
                Kind::Request => match ctx2.triage(&server, m).await {
                    Ok(Some(m)) => m,
                    Ok(None) | Err(_) => continue,
                },
                Kind::Notification if ctx2.meta.wants(&m) => m,
                _ => continue,
            };
            if let Some((text, _)) = append_for_client(sh.as_deref(), &*store, &session, &server, m, &stream, false).await {
                if asked_ids.len() < MAX_ROUNDS_KEPT {
                    asked_ids.push(jsonrpc::id(&serde_json::from_str::<Value>(&text).unwrap_or_default()));
                }
            }
        };
        let answer = answer.unwrap_or_else(|_| jsonrpc::error(Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"));
        if let Err(e) = store.append(&stream, &wire_text(&answer), true).await {
            tracing::warn!(session = %session.id, error = %e, "the answer of a call awaiting input was not recorded; its retry will not find it");
        }
        session.forget_requests(sh.as_deref(), &asked_ids).await;
    });
    round
}

/// The most requests of one call whose pending record is forgotten when the call ends (a
/// backend asking more than this in one call leaves the rest to expire with the session).
const MAX_ROUNDS_KEPT: usize = 64;

/// The `input_required` answer naming one request of the backend's (as recorded, its id
/// Weir's): the key the client answers it under is that id.
fn input_required(id: &Value, recorded: &str, key: &[u8], session: &str, name: &str, entry: &str, window: Duration) -> Value {
    let asked: Value = serde_json::from_str(recorded).unwrap_or_default();
    let k = match jsonrpc::id(&asked) {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let expires = crate::store::now_ms() + i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
    let state = RoundState { s: session.to_string(), n: name.to_string(), e: entry.to_string(), k: vec![k.clone()], x: expires };
    let mut request = json!({"method": jsonrpc::method(&asked)});
    if let Some(p) = asked.get("params") {
        request["params"] = p.clone();
    }
    jsonrpc::result(id.clone(), json!({"resultType": "input_required", "inputRequests": {k: request}, "requestState": state.sign(key)}))
}

/// Where a round trip stopped: the session, the request stream, the entry of the last thing
/// asked, and the keys the client must answer.
#[derive(serde::Serialize, serde::Deserialize)]
struct RoundState {
    s: String,
    n: String,
    e: String,
    k: Vec<String>,
    /// When it stops being taken (ms since the epoch): the call's recording is gone by then.
    x: i64,
}

/// How Weir's request states begin (a backend of the stateless revision has states of its own,
/// passed to it untouched).
const STATE_PREFIX: &str = "weir1.";

impl RoundState {
    fn sign(&self, key: &[u8]) -> String {
        use base64::Engine;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mac = hmac_sha256(key, body.as_bytes());
        format!("{STATE_PREFIX}{body}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac))
    }

    /// The state a token carries, if Weir signed it as it is.
    fn verify(token: &str, key: &[u8]) -> Option<Self> {
        use base64::Engine;
        let (body, mac) = token.strip_prefix(STATE_PREFIX)?.split_once('.')?;
        let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(mac).ok()?;
        let want = hmac_sha256(key, body.as_bytes());
        // Compared in full whatever differs first.
        if mac.len() != want.len() || mac.iter().zip(want.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
            return None;
        }
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

/// HMAC-SHA-256 (RFC 2104).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let (mut inner, mut outer) = (Sha256::new(), Sha256::new());
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// A retry: the client's answers to what the backend asked go to the backend, then the call's
/// stream is read on from there.
#[expect(clippy::too_many_arguments, reason = "the retry's parts, as the edge read them")]
async fn resume(state: AppState, caller: &Session, id: Value, method: &str, token: &str, responses: Option<Value>, meta: Meta, wants_sse: bool) -> Response {
    let invalid = |message: String| rpc_error(StatusCode::BAD_REQUEST, id.clone(), jsonrpc::INVALID_PARAMS, message);
    let mut key = match state.mcp.state_key().await {
        Ok(k) => k,
        Err(_) => return rpc_error(StatusCode::SERVICE_UNAVAILABLE, id, jsonrpc::INTERNAL_ERROR, "the MCP session store (Redis) is unreachable; try again"),
    };
    let round = match RoundState::verify(token, &key) {
        Some(r) => r,
        // Redis may have lost the key and another replica made a new one: read it again.
        None => match state.mcp.reload_state_key().await.and_then(|k| RoundState::verify(token, &k).map(|r| (r, k))) {
            Some((r, k)) => {
                key = k;
                r
            }
            None => return invalid("requestState was not issued by this gateway, or was altered".into()),
        },
    };
    if round.x < crate::store::now_ms() {
        return invalid("requestState has expired (mcp.replay_window_secs); send the request again without it".into());
    }
    let Some(responses) = responses.as_ref().and_then(Value::as_object) else {
        return invalid("a retry with requestState needs inputResponses (an object)".into());
    };
    let session = match state.mcp.sessions.get(&round.s) {
        Some(s) => Some(s),
        None => match &state.mcp.shared {
            Some(sh) => match sh.load(&round.s, &caller.principal.agent_id).await {
                Ok(Some((rec, backends))) => Some(state.mcp.adopt_session(&round.s, rec, backends)),
                _ => None,
            },
            None => None,
        },
    };
    // Only the agent (and end user, on the endpoint) whose request it continues goes on with it.
    let Some(session) = session.filter(|s| s.principal.agent_id == caller.principal.agent_id && s.principal.end_user == caller.principal.end_user && s.scope == caller.scope) else {
        return invalid("the request this state continues is gone (its session expired); send it again without requestState".into());
    };
    let missing: Vec<&String> = round.k.iter().filter(|k| !responses.contains_key(k.as_str())).collect();
    if !missing.is_empty() {
        return invalid(format!("inputResponses lacks {}", missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")));
    }
    for k in &round.k {
        let r = &responses[k.as_str()];
        if !r.is_object() {
            return invalid(format!("inputResponses[`{k}`] must be the result object of the request it answers"));
        }
    }
    for k in &round.k {
        let answer = jsonrpc::result(json!(k), responses[k.as_str()].clone());
        deliver_answer(&state, &session, answer).await;
    }
    session.touch();
    let (out, frames) = mpsc::channel::<Frame>(SINK_CAPACITY);
    let ctx = Ctx { state, session, meta, method: method.to_string(), id, wants_sse };
    tokio::spawn(read_on(ctx, round, key, out));
    respond(frames).await
}

/// Reads a call's recorded stream after what the client just answered: notifications (for a
/// client that takes a stream), then the next thing asked or the response.
async fn read_on(ctx: Ctx, round: RoundState, key: Vec<u8>, out: mpsc::Sender<Frame>) {
    let store = ctx.state.mcp.streams_of(&ctx.session);
    let stream = store.request_stream(&round.s, &round.n);
    let timeout = ctx.state.runtime.load().config.mcp.request_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let gone = |why: &str| Frame::Last(jsonrpc::error(ctx.id.clone(), jsonrpc::INVALID_PARAMS, why.to_string()));
    let Ok(mut reader) = store.reader().await else {
        let _ = out.send(gone("the session store is unreachable; try again")).await;
        return;
    };
    let mut pos = round.e.clone();
    loop {
        if tokio::time::Instant::now() >= deadline {
            let _ = out.send(Frame::Last(jsonrpc::error(ctx.id.clone(), jsonrpc::BACKEND_UNAVAILABLE, "the backend did not go on within mcp.request_timeout_secs"))).await;
            return;
        }
        let events = tokio::select! {
            () = out.closed() => return,
            r = reader.read(&stream, &pos, STREAM_POLL) => r,
        };
        let Ok(events) = events else {
            let _ = out.send(gone("the session store is unreachable; try again")).await;
            return;
        };
        if events.is_empty() && matches!(store.exists(&stream).await, Ok(false)) {
            let _ = out.send(gone("the request this state continues is gone (past the replay window); send it again without requestState")).await;
            return;
        }
        for ev in events {
            pos.clone_from(&ev.id);
            if ev.data.is_empty() {
                continue;
            }
            let Ok(mut m) = serde_json::from_str::<Value>(&ev.data) else { continue };
            if ev.last {
                m["id"] = ctx.id.clone();
                let _ = out.send(Frame::Last(m)).await;
                return;
            }
            match jsonrpc::kind(&m) {
                Kind::Request => {
                    let _ = out.send(Frame::Last(input_required(&ctx.id, &ev.data, &key, &round.s, &round.n, &ev.id, ctx.state.runtime.load().config.mcp.replay_window))).await;
                    return;
                }
                Kind::Notification if ctx.wants_sse => {
                    let _ = out.send(Frame::Note(m)).await;
                }
                _ => {}
            }
        }
    }
}

/// The HTTP answer: JSON when the answer comes first, an event stream when a notification does
/// (only a client that takes one is sent any).
async fn respond(mut frames: mpsc::Receiver<Frame>) -> Response {
    let first = frames.recv().await;
    match first {
        None => rpc_error(StatusCode::INTERNAL_SERVER_ERROR, Value::Null, jsonrpc::INTERNAL_ERROR, "internal error"),
        Some(Frame::Last(answer)) => json_status(stateless::error_status(&answer), &answer),
        // Notifications are only sent to a client that takes a stream.
        Some(Frame::Note(note)) => {
            let (tx, rx) = mpsc::channel::<Bytes>(SINK_CAPACITY);
            let _ = tx.try_send(message_event(&wire_text(&note)));
            tokio::spawn(async move {
                while let Some(f) = frames.recv().await {
                    let (Frame::Note(m) | Frame::Last(m)) = f;
                    if tx.send(message_event(&wire_text(&m))).await.is_err() {
                        return;
                    }
                }
            });
            sse_response(tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn a_state_verifies_only_as_signed_and_with_its_key() {
        let s = RoundState { s: "s-1".into(), n: "3".into(), e: "7".into(), k: vec!["fixture/4".into()], x: 1 };
        let token = s.sign(b"key");
        let back = RoundState::verify(&token, b"key").unwrap();
        assert_eq!((back.s.as_str(), back.n.as_str(), back.e.as_str(), back.k), ("s-1", "3", "7", vec!["fixture/4".to_string()]));
        assert!(RoundState::verify(&format!("{token}-TAMPERED"), b"key").is_none());
        assert!(RoundState::verify(&token, b"other key").is_none());
        // The body changed, the signature kept.
        let (_, mac) = token.rsplit_once('.').unwrap();
        let forged = RoundState { s: "s-2".into(), n: "3".into(), e: "7".into(), k: vec![], x: 1 }.sign(b"x");
        let (body, _) = forged.rsplit_once('.').unwrap();
        assert!(RoundState::verify(&format!("{body}.{mac}"), b"key").is_none());
    }
}
