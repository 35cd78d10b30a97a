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
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A connection accepted, on its way to a worker.
type Handoff = (std::net::TcpStream, SocketAddr);

/// The worker threads and the accept loop feeding them.
pub struct Workers {
    done: Vec<oneshot::Receiver<()>>,
    acceptor: tokio::task::JoinHandle<()>,
    /// Cancelled when the drain deadline passes: workers drop their connections.
    abort: CancellationToken,
}

impl Workers {
    /// Starts `n` workers serving `router`, and the accept loop on the current runtime.
    /// `stop` ends accepting and begins each worker's graceful drain.
    pub fn start(n: usize, listener: TcpListener, router: Router, stop: CancellationToken) -> std::io::Result<Self> {
        let abort = CancellationToken::new();
        let mut senders = Vec::with_capacity(n);
        let mut done = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let (tx, rx) = mpsc::unbounded_channel::<Handoff>();
            let (done_tx, done_rx) = oneshot::channel();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (router, stop, abort) = (router.clone(), stop.clone(), abort.clone());
            std::thread::Builder::new().name(format!("weir-gateway-{i}")).spawn(move || {
                runtime.block_on(serve_handed(rx, router, stop, abort));
                // What requests spawned (settlements, estimates) gets a moment to finish.
                runtime.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
                runtime.shutdown_timeout(Duration::from_secs(1));
                let _ = done_tx.send(());
            })?;
            senders.push(tx);
            done.push(done_rx);
        }
        let acceptor = tokio::spawn(accept_loop(listener, senders, stop));
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

/// Deals accepted connections out to the workers in turn, until `stop`.
async fn accept_loop(listener: TcpListener, workers: Vec<mpsc::UnboundedSender<Handoff>>, stop: CancellationToken) {
    let mut next = 0usize;
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((tcp, peer)) => {
                // Responses leave at once: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                let Ok(std) = tcp.into_std() else { continue };
                if workers[next % workers.len()].send((std, peer)).is_err() {
                    tracing::error!("a gateway worker has stopped; connection dropped");
                }
                next = next.wrapping_add(1);
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::error!(error = %e, "accepting a gateway connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One worker: serves each connection handed to it until `stop` (gracefully) or `abort`.
async fn serve_handed(rx: mpsc::UnboundedReceiver<Handoff>, router: Router, stop: CancellationToken, abort: CancellationToken) {
    use axum::serve::ListenerExt as _;
    use std::future::IntoFuture as _;
    // `tap_io` only so that axum knows the peer address (`ConnectInfo`) of this listener.
    let listener = Handed { rx, local: SocketAddr::from(([0, 0, 0, 0], 0)) }.tap_io(|_| {});
    let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(stop.cancelled_owned())
        .into_future();
    tokio::select! {
        r = serve => {
            if let Err(e) = r {
                tracing::error!(error = %e, "gateway worker stopped");
            }
        }
        () = abort.cancelled() => {}
    }
}

/// The connections handed to one worker, as a listener axum can serve.
struct Handed {
    rx: mpsc::UnboundedReceiver<Handoff>,
    local: SocketAddr,
}

impl axum::serve::Listener for Handed {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some((std, peer)) = self.rx.recv().await else {
                // The acceptor is gone (shutdown): accept nothing more. Graceful shutdown ends
                // the serve loop before this is polled again.
                std::future::pending::<()>().await;
                continue;
            };
            // Registered with this worker's runtime, so that its readiness wakes this thread.
            match TcpStream::from_std(std) {
                Ok(tcp) => return (tcp, peer),
                Err(e) => tracing::warn!(error = %e, "cannot take over a gateway connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
