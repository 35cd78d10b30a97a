//! The floor under Weir's overhead figures: a bare HTTP/1.1 reverse proxy built like Weir's
//! LLM path (one single-threaded runtime per thread, hyper on both sides, provider connections
//! kept per thread) that does nothing else — no key check, no JSON, no budgets, no audit, no
//! spans. `bench/run.py` measures it beside nginx and Weir in the same run, so that the part of
//! Weir's added latency that any extra hop costs on the machine can be told from Weir's own.
//!
//! `bare_proxy LISTEN UPSTREAM_HOST:PORT [THREADS]` — forwards every request's method, path,
//! headers and body to the upstream and relays the answer.

use std::cell::RefCell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Pool = Rc<RefCell<Vec<SendRequest<Full<Bytes>>>>>;

async fn connection(pool: &Pool, upstream: &str) -> std::io::Result<SendRequest<Full<Bytes>>> {
    loop {
        // The borrow ends before the await below: other connections share the pool.
        let Some(mut sender) = pool.borrow_mut().pop() else { break };
        if sender.ready().await.is_ok() {
            return Ok(sender);
        }
    }
    let tcp = tokio::net::TcpStream::connect(upstream).await?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(std::io::Error::other)?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn forward(req: Request<Incoming>, pool: Pool, upstream: Rc<str>) -> Result<Response<Full<Bytes>>, Infallible> {
    let bad_gateway = || {
        let mut r = Response::new(Full::new(Bytes::from_static(b"bad gateway")));
        *r.status_mut() = StatusCode::BAD_GATEWAY;
        r
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else { return Ok(bad_gateway()) };
    let Ok(mut sender) = connection(&pool, &upstream).await else { return Ok(bad_gateway()) };
    let up = Request::from_parts(parts, Full::new(body));
    let Ok(resp) = sender.send_request(up).await else { return Ok(bad_gateway()) };
    let (parts, body) = resp.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else { return Ok(bad_gateway()) };
    pool.borrow_mut().push(sender);
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn serve_thread(listener: std::net::TcpListener, upstream: String) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let pool: Pool = Rc::new(RefCell::new(Vec::new()));
        let upstream: Rc<str> = Rc::from(upstream);
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let (pool, upstream) = (pool.clone(), upstream.clone());
            tokio::task::spawn_local(async move {
                let service = hyper::service::service_fn(move |req| forward(req, pool.clone(), upstream.clone()));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    })
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bare_proxy LISTEN UPSTREAM_HOST:PORT [THREADS]");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().map_err(std::io::Error::other)?;
    let threads: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    // One listening socket, accepted from by every thread.
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (l, u) = (listener.try_clone(), upstream.clone());
            std::thread::spawn(move || l.and_then(|l| serve_thread(l, u)))
        })
        .collect();
    for h in handles {
        if let Ok(Err(e)) = h.join() {
            eprintln!("bare_proxy: {e}");
        }
    }
    Ok(())
}
