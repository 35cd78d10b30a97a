//! The gateway port's worker threads: one single-threaded runtime per thread, each serving the
//! connections handed to it.
//!
//! One task accepts connections and deals them out in turn. A connection then lives on one
//! worker: its requests are read, sent to the provider (over that worker's own provider
//! connections, see `llm::transport`), answered and recorded there, with no work handed
//! between threads on the way. On a work-stealing runtime the same call woke two or three
//! threads and cost several times the CPU. Background work (reloads, the admin port, the audit
//! writer) stays off these threads.
//!
//! Shutdown: the acceptor stops at once (new connections are refused); each worker finishes
//! its connections within the drain time, then its runtime lets what requests spawned (a
//! budget settlement, say) finish briefly before it ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::state::Runtime;
use crate::serve::{ConnGate, ConnPermit, ConnSettings};

/// A connection accepted, on its way to a worker.
type Handoff = (std::net::TcpStream, SocketAddr, ConnPermit, ConnSettings);

/// The worker threads and the accept loop feeding them.
pub struct Workers {
    done: Vec<oneshot::Receiver<()>>,
    acceptor: tokio::task::JoinHandle<()>,
    /// Cancelled when the drain deadline passes: workers drop their connections.
    abort: CancellationToken,
}

impl Workers {
    /// Starts `n` workers serving `router`, and the accept loop on the current runtime.
    /// `stop` ends accepting and begins each worker's graceful drain. Connections are admitted
    /// under `gate`'s caps and served with the connection settings of the running config.
    pub fn start(n: usize, listener: TcpListener, router: Router, runtime: Arc<ArcSwap<Runtime>>, gate: Arc<ConnGate>, stop: CancellationToken) -> std::io::Result<Self> {
        let abort = CancellationToken::new();
        let mut senders = Vec::with_capacity(n);
        let mut done = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let (tx, rx) = mpsc::unbounded_channel::<Handoff>();
            let (done_tx, done_rx) = oneshot::channel();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (router, stop, abort, gate) = (router.clone(), stop.clone(), abort.clone(), gate.clone());
            std::thread::Builder::new().name(format!("weir-gateway-{i}")).spawn(move || {
                rt.block_on(serve_handed(rx, router, gate, stop, abort));
                // What requests spawned (settlements, estimates) gets a moment to finish.
                rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
                rt.shutdown_timeout(Duration::from_secs(1));
                let _ = done_tx.send(());
            })?;
            senders.push(tx);
            done.push(done_rx);
        }
        let mut next = 0usize;
        // Connections are dealt out in turn.
        let dispatch = move |tcp: TcpStream, peer: SocketAddr, permit: ConnPermit, settings: ConnSettings| {
            let Ok(std) = tcp.into_std() else { return };
            if senders[next % senders.len()].send((std, peer, permit, settings)).is_err() {
                tracing::error!("a gateway worker has stopped; connection dropped");
            }
            next = next.wrapping_add(1);
        };
        let acceptor = tokio::spawn(crate::serve::accept_loop(listener, gate, runtime, dispatch, stop));
        Ok(Self { done, acceptor, abort })
    }

    /// Waits for every worker to finish its connections, up to `deadline`; past it, open
    /// connections are closed. True when all finished in time.
    pub async fn drain(self, deadline: Duration) -> bool {
        let Self { done, acceptor, abort } = self;
        let _ = acceptor.await;
        let all = futures_util::future::join_all(done);
        tokio::pin!(all);
        match tokio::time::timeout(deadline, &mut all).await {
            Ok(_) => true,
            Err(_) => {
                abort.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(5), all).await;
                false
            }
        }
    }
}

/// One worker: serves each connection handed to it until `stop` (then lets the connections
/// finish what is in flight) or `abort`.
async fn serve_handed(
    mut rx: mpsc::UnboundedReceiver<Handoff>,
    router: Router,
    gate: Arc<ConnGate>,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        let handed = tokio::select! {
            () = stop.cancelled() => break,
            () = abort.cancelled() => return,
            h = rx.recv() => h,
        };
        // The acceptor is gone: nothing more will come.
        let Some((std, peer, permit, settings)) = handed else { break };
        // Registered with this worker's runtime, so that its readiness wakes this thread.
        let tcp = match TcpStream::from_std(std) {
            Ok(tcp) => tcp,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take over a gateway connection");
                continue;
            }
        };
        let (router, gate, stop) = (router.clone(), gate.clone(), stop.clone());
        connections.spawn(async move { crate::serve::serve_connection(tcp, peer, router, &settings, gate, permit, stop).await });
    }
    connections.close();
    tokio::select! {
        () = connections.wait() => {}
        () = abort.cancelled() => {}
    }
}
