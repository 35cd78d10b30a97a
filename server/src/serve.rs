//! Serving HTTP connections on both ports: how long a client may take, and how many
//! connections it may hold.
//!
//! Every connection is served by hyper through [`serve_connection`], which adds what a plain
//! `axum::serve` lacks:
//!
//! - a deadline for a request's head: a new connection must deliver its first request head
//!   within `server.header_read_timeout_secs`, and a later request's head must be complete
//!   within that time of its first byte;
//! - a deadline for an idle keep-alive connection (no request in flight, no byte received):
//!   `server.idle_timeout_secs`;
//! - a deadline for a stalled request body: a body that delivers no byte for
//!   `server.body_read_timeout_secs` fails the read (the handler answers 408 in its protocol).
//!
//! These apply only while the connection waits for the *client*. Once a request's head is in,
//! nothing here cuts the connection until its response has been sent — a long non-streamed
//! call, a call held for approval, an SSE answer or the MCP GET stream all run as long as they
//! need (their own deadlines live with them).
//!
//! Before any of that, [`ConnGate::admit`] caps open connections per listener, in total and per
//! client (the TCP peer; peers in `server.trusted_proxies` are exempt, since a proxy carries
//! many clients). A connection over a cap is closed at once and counted. This module never
//! reads a request's content.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future as _;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// How long a connection may wait on its client, and how many a listener keeps open.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnSettings {
    /// From a connection's opening (or a request's first byte) to the end of the request head.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight and nothing received.
    pub idle_timeout: Duration,
    /// The longest gap in a request body.
    pub body_read_timeout: Duration,
    /// Open connections per listener, all clients together.
    pub max_connections: usize,
    /// Open connections per client address and listener (trusted proxies exempt).
    pub max_connections_per_client: usize,
}

/// The config's defaults (`[server]`).
impl Default for ConnSettings {
    fn default() -> Self {
        Self::from(&crate::config::ServerSection::default())
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerClient,
}

/// The open connections of one listener, and those refused.
pub struct ConnGate {
    /// `gateway` or `admin`, as metrics label it.
    pub listener: &'static str,
    open: AtomicU64,
    by_client: Mutex<HashMap<IpAddr, u32>>,
    pub refused_total: AtomicU64,
    pub refused_per_client: AtomicU64,
    pub timed_out: AtomicU64,
}

impl ConnGate {
    pub fn new(listener: &'static str) -> Arc<Self> {
        Arc::new(Self {
            listener,
            open: AtomicU64::new(0),
            by_client: Mutex::new(HashMap::new()),
            refused_total: AtomicU64::new(0),
            refused_per_client: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Takes a place for a connection from `peer`, or says which cap it is over (and counts it).
    pub fn admit(self: &Arc<Self>, peer: IpAddr, settings: &ConnSettings, trusted: &[IpAddr]) -> Result<ConnPermit, Refused> {
        // One lock for both counts: the map is bounded by the total cap.
        let mut by_client = self.by_client.lock().unwrap_or_else(PoisonError::into_inner);
        if self.open.load(Ordering::Relaxed) >= settings.max_connections as u64 {
            self.refused_total.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::Total);
        }
        let counted = !trusted.contains(&peer);
        let client = client_of(peer);
        if counted {
            let n = by_client.entry(client).or_insert(0);
            if *n as usize >= settings.max_connections_per_client {
                self.refused_per_client.fetch_add(1, Ordering::Relaxed);
                return Err(Refused::PerClient);
            }
            *n += 1;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(ConnPermit { gate: self.clone(), client: counted.then_some(client) })
    }
}

/// The client a peer address stands for: an IPv4 address, or an IPv6 address's /64 (one host
/// commonly holds a whole /64, so each of its addresses is not another client).
fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

/// A connection's place under its listener's caps, given back when the connection ends.
pub struct ConnPermit {
    gate: Arc<ConnGate>,
    client: Option<IpAddr>,
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut by_client = self.gate.by_client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ip) = self.client {
            if let Some(n) = by_client.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    by_client.remove(&ip);
                }
            }
        }
        self.gate.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the service tells the connection's reader: requests in flight, and responses finished
/// (a new count starts a new wait for the client); and whether answers are moving.
struct Activity {
    in_flight: AtomicU32,
    finished: AtomicU64,
    /// Responses whose last frame hyper took and has not come back for more: their answer waits
    /// on the client (over HTTP/2, on its flow-control window).
    handed: AtomicU32,
    /// When a response last handed hyper a frame, in ms since `epoch`.
    moved_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn new() -> Self {
        Self { in_flight: AtomicU32::new(0), finished: AtomicU64::new(0), handed: AtomicU32::new(0), moved_ms: AtomicU64::new(0), epoch: Instant::now() }
    }

    fn moved(&self) {
        self.moved_ms.store(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn moved_at(&self) -> Instant {
        self.epoch + Duration::from_millis(self.moved_ms.load(Ordering::Relaxed))
    }
}

/// Held from a request's head until its response has been sent (or dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn enter(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the connection is waiting for, as its reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// A request is in flight: no deadline here.
    Busy,
    /// Waiting for the client, since the `finished`-th response; `head` once a request's first
    /// byte arrived (or on a fresh connection).
    Client { since: u64, head: bool },
}

/// The connection's socket, failing a read when the client keeps Weir waiting past a deadline,
/// and a write when the client reads nothing for the idle timeout.
struct TimedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
    settings: (Duration, Duration),
    wait: Wait,
    deadline: Pin<Box<Sleep>>,
    /// Set while a write could not go out whole: the answer is still on its way to the client
    /// (a body hyper handed over is not yet sent), so the connection is not idle.
    writing: bool,
    /// Armed while the client reads nothing of what Weir sends.
    write_deadline: Option<Pin<Box<Sleep>>>,
    /// HTTP/2, known from the connection's first bytes: its frames flow between requests, so
    /// it has no request heads to wait for, only idleness.
    h2: Option<bool>,
    /// How many bytes of the HTTP/2 preface have arrived so far, while undecided.
    preface_seen: usize,
    gate: Arc<ConnGate>,
}

/// What an HTTP/2 connection starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

impl TimedIo {
    fn new(inner: TcpStream, activity: Arc<Activity>, settings: &ConnSettings, gate: Arc<ConnGate>) -> Self {
        // A fresh connection has no reason to be idle: its first head is due at once.
        let head = settings.header_read_timeout;
        Self {
            inner,
            activity,
            settings: (head, settings.idle_timeout),
            wait: Wait::Client { since: 0, head: true },
            deadline: Box::pin(tokio::time::sleep(head)),
            writing: false,
            write_deadline: None,
            h2: None,
            preface_seen: 0,
            gate,
        }
    }

    fn timed_out(&self) -> std::io::Error {
        self.gate.timed_out.fetch_add(1, Ordering::Relaxed);
        std::io::Error::new(std::io::ErrorKind::TimedOut, "the client kept the connection waiting")
    }

    /// Notes how a write went: whether the answer is still on its way, and whether the client
    /// has stopped reading it for too long.
    fn wrote(&mut self, cx: &mut Context<'_>, result: Poll<std::io::Result<usize>>, wanted: usize) -> Poll<std::io::Result<usize>> {
        match &result {
            Poll::Pending => {
                self.writing = true;
                let limit = self.settings.1;
                let deadline = self.write_deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(self.timed_out()));
                }
            }
            Poll::Ready(Ok(n)) => {
                self.writing = *n < wanted;
                self.write_deadline = None;
            }
            Poll::Ready(Err(_)) => self.write_deadline = None,
        }
        result
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.h2.is_none() && buf.filled().len() > before {
            // Decided once the whole preface came, or a byte left it (it may come a byte at a time).
            for &b in &buf.filled()[before..] {
                if b != H2_PREFACE[this.preface_seen] {
                    this.h2 = Some(false);
                    break;
                }
                this.preface_seen += 1;
                if this.preface_seen == H2_PREFACE.len() {
                    this.h2 = Some(true);
                    break;
                }
            }
        }
        let (head_timeout, idle_timeout) = this.settings;
        if this.activity.in_flight.load(Ordering::Relaxed) > 0 || this.writing {
            this.wait = Wait::Busy;
            // Over HTTP/2 a client stalls an answer with its flow-control window, not by leaving
            // the socket full: an answer waiting on the client for the idle timeout ends the
            // connection, as a full socket does over HTTP/1.
            // The timer stays armed while an answer is in flight, whether or not a frame is
            // waiting on the client at this moment: the socket may go quiet only after the
            // window closed, with no read to arm it then.
            if this.h2 == Some(true) {
                let due = this.activity.moved_at() + idle_timeout;
                if this.deadline.deadline() != due {
                    this.deadline.as_mut().reset(due);
                }
                if read.is_pending() && this.deadline.as_mut().poll(cx).is_ready() {
                    if this.activity.handed.load(Ordering::Relaxed) > 0 {
                        return Poll::Ready(Err(this.timed_out()));
                    }
                    // The answer is waiting on its provider, not on the client: look again later.
                    this.deadline.as_mut().reset(Instant::now() + idle_timeout);
                    let _ = this.deadline.as_mut().poll(cx);
                }
            }
            return read;
        }
        let finished = this.activity.finished.load(Ordering::Relaxed);
        let now = Instant::now();
        match this.wait {
            Wait::Client { since, .. } if since == finished => {}
            // A response went out since: the connection is idle until the client sends more.
            _ => {
                this.wait = Wait::Client { since: finished, head: false };
                this.deadline.as_mut().reset(now + idle_timeout);
            }
        }
        match read {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                if let (Wait::Client { since, head: false }, Some(false)) = (this.wait, this.h2) {
                    // A request began: its head is due within the head timeout.
                    this.wait = Wait::Client { since, head: true };
                    let due = (now + head_timeout).min(this.deadline.deadline());
                    this.deadline.as_mut().reset(due);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => Poll::Ready(Err(this.timed_out())),
            other => other,
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(cx, written, buf.len())
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(cx, written, bufs.iter().map(|b| b.len()).sum())
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // A TCP stream's flush is immediate: what matters is the writes above.
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that delivered nothing for the body read timeout.
#[derive(Debug, thiserror::Error)]
#[error("the client stopped sending the request body")]
pub struct BodyStalled;

/// What went wrong reading a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// Over the size limit the reader gave.
    TooLarge,
    /// The client stopped sending it (408).
    Stalled,
    /// The connection broke, or the body was malformed.
    Broken,
}

impl BodyFault {
    /// The kind of a body-reading error, from axum's `to_bytes` or a frame read.
    pub fn of(e: &axum::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if s.is::<BodyStalled>() {
                return Self::Stalled;
            }
            if s.is::<http_body_util::LengthLimitError>() {
                return Self::TooLarge;
            }
            source = s.source();
        }
        Self::Broken
    }
}

/// A request body whose reader fails once the client sends nothing for `limit`.
struct StallLimited {
    inner: Incoming,
    limit: Duration,
    /// Armed while a read waits for the client.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl HttpBody for StallLimited {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                this.deadline = None;
                Poll::Ready(r.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let limit = this.limit;
                let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if deadline.as_mut().poll(cx).is_ready() {
                    this.deadline = None;
                    return Poll::Ready(Some(Err(Box::new(BodyStalled))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that holds its request's place in flight until it has been sent, and says
/// when its last frame is still waiting to go out.
pub struct Tracked {
    inner: Body,
    in_flight: InFlight,
    /// Its last frame was taken and hyper has not come back for the next.
    handed: bool,
}

impl Tracked {
    fn settle(&mut self) {
        if std::mem::take(&mut self.handed) {
            self.in_flight.0.handed.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.settle();
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        // Asked for more: the last frame went out.
        this.settle();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &frame {
            if f.is_data() {
                this.handed = true;
                this.in_flight.0.handed.fetch_add(1, Ordering::Relaxed);
                this.in_flight.0.moved();
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Requests in flight at once on one HTTP/2 connection.
const H2_MAX_STREAMS: u32 = 64;

/// Serves one connection with `router` until it ends, or until `graceful` asks it to finish
/// what is in flight and close. Holds `permit` (its place under the caps) until then.
pub async fn serve_connection(tcp: TcpStream, peer: SocketAddr, router: Router, settings: &ConnSettings, gate: Arc<ConnGate>, permit: ConnPermit, graceful: CancellationToken) {
    let activity = Arc::new(Activity::new());
    let io = TimedIo::new(tcp, activity.clone(), settings, gate);
    let body_limit = settings.body_read_timeout;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let in_flight = InFlight::enter(&activity);
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        let req = Request::from_parts(parts, Body::new(StallLimited { inner: body, limit: body_limit, deadline: None }));
        let answered = router.clone().oneshot(req);
        async move {
            let resp = answered.await?;
            Ok::<_, Infallible>(resp.map(|inner| Tracked { inner, in_flight, handed: false }))
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // Over HTTP/2 one connection carries many requests: the caps on connections bound them too.
    builder.http2().max_concurrent_streams(H2_MAX_STREAMS);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = graceful.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(peer = %peer, error = %e, "connection ended");
    }
    drop(permit);
}

/// Accepts connections on `listener` until `stop`, each checked against `gate`'s caps (as the
/// running config says) and handed to `dispatch` with its permit and the settings it is served
/// with.
pub async fn accept_loop(
    listener: tokio::net::TcpListener,
    gate: Arc<ConnGate>,
    runtime: Arc<arc_swap::ArcSwap<crate::state::Runtime>>,
    mut dispatch: impl FnMut(TcpStream, SocketAddr, ConnPermit, ConnSettings),
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let rt = runtime.load();
                match gate.admit(peer.ip(), &rt.config.connections, &rt.config.trusted_proxies) {
                    Ok(permit) => {
                        // Responses leave at once: no Nagle delay.
                        let _ = tcp.set_nodelay(true);
                        dispatch(tcp, peer, permit, rt.config.connections.clone());
                    }
                    Err(why) => {
                        tracing::debug!(listener = gate.listener, peer = %peer, refused = ?why, "connection refused: over the connection cap");
                        // Closed at once, without a response: the client learns it cannot stay.
                        drop(tcp);
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::error!(listener = gate.listener, error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(total: usize, per_client: usize) -> ConnSettings {
        ConnSettings { max_connections: total, max_connections_per_client: per_client, ..Default::default() }
    }

    #[test]
    fn caps_count_per_client_and_in_total_and_free_on_drop() {
        let gate = ConnGate::new("gateway");
        let (a, b, proxy): (IpAddr, IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), "10.0.0.9".parse().unwrap());
        let s = settings(4, 2);
        let a1 = gate.admit(a, &s, &[proxy]).unwrap();
        let _a2 = gate.admit(a, &s, &[proxy]).unwrap();
        assert_eq!(gate.admit(a, &s, &[proxy]).err(), Some(Refused::PerClient));
        // A trusted proxy carries many clients: only the total applies to it.
        let _p1 = gate.admit(proxy, &s, &[proxy]).unwrap();
        let _b1 = gate.admit(b, &s, &[proxy]).unwrap();
        assert_eq!(gate.open(), 4);
        assert_eq!(gate.admit(b, &s, &[proxy]).err(), Some(Refused::Total));
        assert_eq!(gate.admit(proxy, &s, &[proxy]).err(), Some(Refused::Total));
        drop(a1);
        assert_eq!(gate.open(), 3);
        let _a3 = gate.admit(a, &s, &[proxy]).unwrap();
        assert_eq!(gate.refused_per_client.load(Ordering::Relaxed), 1);
        assert_eq!(gate.refused_total.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        let gate = ConnGate::new("gateway");
        let s = settings(10, 2);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _a = gate.admit(a, &s, &[]).unwrap();
        let _b = gate.admit(b, &s, &[]).unwrap();
        assert_eq!(gate.admit("2001:db8:1:2::77".parse().unwrap(), &s, &[]).err(), Some(Refused::PerClient), "the same /64");
        assert!(gate.admit(other, &s, &[]).is_ok(), "another /64");
        assert_eq!(client_of("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_gone_leaves_no_entry() {
        let gate = ConnGate::new("admin");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        drop(gate.admit(ip, &settings(10, 10), &[]).unwrap());
        assert!(gate.by_client.lock().unwrap().is_empty());
        assert_eq!(gate.open(), 0);
    }
}
