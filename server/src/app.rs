//! Assembling Weir: state, listeners, routers, background tasks and the drain on shutdown.
//!
//! [`App::build`] connects the store, applies migrations, loads the key index and binds both
//! listeners (port 0 works, for tests); [`App::run`] serves until the shutdown future resolves,
//! then drains. Nothing here handles a request itself.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::audit::{spawn_writer, AuditWriter};
use crate::config::{Config, Env};
use crate::identity::KeyIndex;
use crate::limits::{Clock, Counters, Limiter, SystemClock};
use crate::llm::route::Circuits;
use crate::store::Store;
use crate::telemetry::Telemetry;

pub use crate::state::{client_ip, forwarded_https, AppState, Gates, Runtime};

pub struct App {
    gateway: TcpListener,
    admin: TcpListener,
    state: AppState,
    /// Whether the admin token was generated for this run (no `WEIR_ADMIN_TOKEN`).
    generated_admin_token: bool,
    writer: AuditWriter,
    stop_tasks: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
}

impl App {
    pub async fn build(config: Config, env: &Env, telemetry: Telemetry) -> anyhow::Result<Self> {
        Self::build_with_clock(config, env, telemetry, Arc::new(SystemClock)).await
    }

    /// As [`App::build`], with the clock budget windows follow (tests move it by hand).
    pub async fn build_with_clock(config: Config, env: &Env, telemetry: Telemetry, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        for w in &config.warnings {
            tracing::warn!("{w}");
        }
        let store = Store::connect(&config.database_url, config.database_max_connections)
            .await
            .context("opening the database")?;
        migrate_with_retry(&store).await?;
        let keys = KeyIndex::default();
        keys.reload(&store).await.context("loading keys")?;
        let shared: Option<Arc<dyn Counters>> = match &config.redis_url {
            Some(url) => Some(Arc::new(crate::limits::redis::RedisCounters::new(url, &config.limits.redis_prefix).context("WEIR_REDIS_URL")?)),
            None => None,
        };
        let limiter = Arc::new(Limiter::new(store.clone(), &config.limits, shared.clone(), clock));
        limiter.reload(&store).await.context("loading budgets and limits")?;
        // In-process counters start from what the audit store says was used in the windows now
        // open, so a restart changes no budget. With Redis they are the fallback (fail_open).
        limiter.seed_local().await.context("rebuilding budget usage from the audit store")?;

        let console_signouts = Arc::new(crate::console::SignedOutSessions::default());
        console_signouts.reload(&store).await.context("loading console sign-outs")?;

        // A generated token is never logged (logs travel on, to files and collectors): the
        // caller shows it once, outside the log (see `App::generated_admin_token`).
        let generated_admin_token = config.admin_token.is_none();
        let admin_token = match &config.admin_token {
            Some(t) => t.clone(),
            None => {
                tracing::warn!("WEIR_ADMIN_TOKEN is not set; generated an admin token for this run, shown once on standard error");
                let token = format!("wat_{}", &crate::identity::generate_key_secret()[3..]);
                crate::audit::learn_secrets([token.clone()]);
                SecretString::from(token)
            }
        };

        let gateway = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let admin = TcpListener::bind(config.admin_listen).await.with_context(|| format!("binding {}", config.admin_listen))?;

        let (audit, writer) = spawn_writer(&config.database_url, &config.audit).context("starting the audit writer")?;
        audit.metrics().set_known(crate::metrics::KnownNames::of(&config));
        let drain_timeout = config.drain_timeout;
        let refresh = config.identity_refresh;
        let reload_every = config.reload_interval;
        let source = config.source.clone();
        let retention_days = config.audit.retention_days;
        let retention_every = Duration::from_secs(config.audit.retention_interval_secs);
        // With Redis, MCP sessions are shared by every replica.
        let shared_sessions = match &config.redis_url {
            Some(url) => Some(
                crate::mcp::shared::Shared::new(url, &config.limits.redis_prefix, config.mcp.session_idle, config.mcp.replay_window, config.mcp.replay_max_events)
                    .context("WEIR_REDIS_URL")?,
            ),
            None => None,
        };
        let mcp = crate::mcp::McpGateway::start(&config.mcp, store.clone(), shared_sessions).context("starting the MCP backends")?;
        // With Redis, who owns which A2A task is known at every replica.
        let a2a = crate::a2a::A2aGateway::new(&config.a2a, config.redis_url.as_deref().map(|u| (u, config.limits.redis_prefix.as_str()))).context("starting the A2A gateway")?;
        if let Err(e) = mcp.tools.reload().await {
            tracing::warn!(error = %e, "cannot load pinned MCP tool definitions; they load at the next change");
        }
        // The cache's store and bounds are chosen once: a reload keeps the entries and the
        // bounds. With Redis, answers are shared by every replica.
        let cache_store: Arc<dyn crate::cache::CacheStore> = match &config.redis_url {
            Some(url) => Arc::new(crate::cache::redis::RedisStore::new(url, &config.limits.redis_prefix, config.cache.partition_max_entries).context("WEIR_REDIS_URL")?),
            None => Arc::new(crate::cache::memory::MemoryStore::new(config.cache.max_entries, config.cache.max_bytes, config.cache.partition_max_entries)),
        };
        // The semantic index: this replica's, kept in step with the others' through Redis.
        let shared_questions = match &config.redis_url {
            Some(url) => Some(crate::cache::semantic::SharedLog::new(url, &config.limits.redis_prefix).context("WEIR_REDIS_URL")?),
            None => None,
        };
        let sem = &config.cache.semantic;
        // A model directory is loaded now: a model that does not load stops the start.
        let embedder = sem.model_dir.as_deref().map(crate::cache::embed::Embedder::from_dir).transpose().map_err(|e| anyhow::anyhow!("cache.semantic.model_dir: {e}"))?;
        let semantic = crate::cache::semantic::SemanticCache::new(embedder, sem.max_entries, sem.max_bytes, config.cache.partition_max_entries, shared_questions);
        let cache = crate::cache::ResponseCache::new(cache_store, Arc::new(semantic));
        let state = AppState {
            runtime: Arc::new(ArcSwap::from_pointee(Runtime::new(config)?)),
            store: store.clone(),
            keys: keys.clone(),
            audit,
            telemetry,
            admin_token: Arc::new(admin_token),
            limiter,
            circuits: Arc::new(Circuits::default()),
            reload_lock: Arc::new(tokio::sync::Mutex::new(())),
            mcp,
            a2a: Arc::new(a2a),
            console_signouts,
            gates: Gates { gateway: crate::serve::ConnGate::new("gateway"), admin: crate::serve::ConnGate::new("admin") },
            guard_overrides: Arc::default(),
            cache,
        };
        let stop_tasks = CancellationToken::new();
        let mut tasks = vec![spawn_change_watch(state.clone(), refresh, stop_tasks.clone())];
        if let Some(path) = source {
            tasks.push(spawn_config_reload(state.clone(), path, env.clone(), reload_every, stop_tasks.clone()));
        }
        // Minutely rollups are kept two hours whatever the retention, pruned at least every
        // five minutes.
        tasks.push(spawn_minutely_pruning(store.clone(), retention_every.min(Duration::from_secs(300)), stop_tasks.clone()));
        if retention_days > 0 {
            tasks.push(spawn_retention(store, retention_days, retention_every, stop_tasks.clone()));
        }
        tasks.push(spawn_mcp_expiry(state.clone(), stop_tasks.clone()));
        if let Some(relay) = state.mcp.spawn_relay(stop_tasks.clone()) {
            tasks.push(relay);
        }
        if let Some(export) = state.telemetry.metrics_export.clone() {
            tasks.push(crate::metrics::otlp::spawn(state.clone(), export, stop_tasks.clone()).context("starting the OTLP metric export")?);
        }
        Ok(Self { gateway, admin, state, generated_admin_token, writer, stop_tasks, tasks, drain_timeout })
    }

    /// The admin token when it was generated for this run, for the caller to show once; `None`
    /// when `WEIR_ADMIN_TOKEN` set it.
    pub fn generated_admin_token(&self) -> Option<&SecretString> {
        self.generated_admin_token.then_some(&*self.state.admin_token)
    }

    /// The console's address for a person: the admin listener, with a wildcard address shown
    /// as `localhost`.
    pub fn console_url(&self) -> String {
        let admin = self.admin_addr();
        if admin.ip().is_unspecified() {
            format!("http://localhost:{}/", admin.port())
        } else {
            format!("http://{admin}/")
        }
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains: the listeners close at once (new
    /// connections are refused), in-flight calls and streams get up to the drain timeout, and
    /// the audit queue is written (or spooled).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let App { gateway, admin, state, writer, stop_tasks, tasks, drain_timeout, .. } = self;
        tracing::info!(gateway = %gateway.local_addr()?, admin = %admin.local_addr()?, "weir is serving");
        let stop = CancellationToken::new();
        let (mut gw_router, mut admin_router) = (gateway_router(state.clone()), crate::admin::router(state.clone()));
        let rt = state.runtime.load_full();
        let cfg = &rt.config;
        let mut tasks = tasks;
        // Outermost: a flood from one address is refused before any key lookup.
        if let Some((layer, governor)) = crate::limits::flood::flood_guard(cfg.ip_requests_per_second, cfg.ip_burst, &cfg.trusted_proxies) {
            gw_router = gw_router.layer(layer.clone());
            admin_router = admin_router.layer(layer);
            tasks.push(crate::limits::flood::spawn_forget_idle(governor, stop_tasks.clone()));
        }
        let workers = crate::workers::Workers::start(cfg.workers, gateway, gw_router, state.runtime.clone(), state.gates.gateway.clone(), stop.clone())
            .context("starting the gateway workers")?;
        let mut ad = tokio::spawn(serve_admin(admin, admin_router, state.runtime.clone(), state.gates.admin.clone(), stop.clone()));
        tokio::select! {
            () = shutdown => tracing::info!("shutting down: refusing new requests, draining in-flight ones"),
            r = &mut ad => { tracing::error!(result = ?r, "admin listener stopped") }
        }
        stop.cancel();
        // MCP session streams have no natural end: they close now, so the drain can finish.
        state.mcp.closing.cancel();
        let started_drain = std::time::Instant::now();
        let drained = workers.drain(drain_timeout).await;
        if !drained {
            tracing::warn!(timeout_secs = drain_timeout.as_secs(), "drain deadline reached; closed remaining connections");
        }
        if tokio::time::timeout(drain_timeout.saturating_sub(started_drain.elapsed()), &mut ad).await.is_err() {
            ad.abort();
        }
        stop_tasks.cancel();
        for t in tasks {
            let _ = t.await;
        }
        state.mcp.shutdown().await;
        writer.shutdown(Duration::from_secs(10)).await;
        state.telemetry.shutdown();
        state.store.close().await;
        tracing::info!("weir stopped");
        Ok(())
    }
}

/// The admin port: each connection served on the shared runtime, under the admin port's caps;
/// after `stop`, connections finish what is in flight.
async fn serve_admin(listener: TcpListener, router: Router, runtime: Arc<ArcSwap<Runtime>>, gate: Arc<crate::serve::ConnGate>, stop: CancellationToken) {
    let connections = tokio_util::task::TaskTracker::new();
    let dispatch = |tcp: tokio::net::TcpStream, peer: SocketAddr, permit: crate::serve::ConnPermit, settings: crate::serve::ConnSettings| {
        let (router, gate, stop) = (router.clone(), gate.clone(), stop.clone());
        connections.spawn(async move { crate::serve::serve_connection(tcp, peer, router, &settings, gate, permit, stop).await });
    };
    crate::serve::accept_loop(listener, gate.clone(), runtime, dispatch, stop.clone()).await;
    connections.close();
    connections.wait().await;
}

async fn migrate_with_retry(store: &Store) -> anyhow::Result<()> {
    let mut attempt = 0;
    loop {
        match store.migrate().await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 10 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "database not ready; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("applying migrations")),
        }
    }
}

/// Ends MCP sessions left idle past `mcp.session_idle_secs` (read at each pass, so a reload
/// applies).
fn spawn_mcp_expiry(state: AppState, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = crate::periodic::ticker(Duration::from_secs(1));
        while crate::periodic::next_tick(&mut ticker, &stop).await {
            let idle = state.runtime.load().config.mcp.session_idle;
            state.mcp.expire_idle(idle).await;
            // Held calls whose waiter is gone (its replica stopped) expire here.
            match state.store.expire_approvals(crate::store::now_ms()).await {
                Ok(rows) => rows.iter().for_each(|r| crate::mcp::record_decision(&state, r, None)),
                Err(e) => tracing::debug!(error = %e, "approval expiry skipped: database unavailable"),
            }
        }
    })
}

pub fn gateway_router(state: AppState) -> Router {
    Router::new()
        .merge(crate::llm::routes())
        .merge(crate::mcp::routes())
        .merge(crate::a2a::routes())
        .route("/healthz", get(healthz))
        .fallback(gateway_fallback)
        .with_state(state)
}

pub use crate::state::healthz;

async fn gateway_fallback(req: Request) -> Response {
    let (parts, _) = req.into_parts();
    if parts.uri.path().starts_with("/v1/") || parts.uri.path() == "/v1" {
        return crate::llm::unknown_route(parts.uri, parts.headers).await;
    }
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"message": format!("Weir does not serve {}", parts.uri.path()), "type": "invalid_request_error", "code": "unknown_url"}})))
        .into_response()
}

/// Reloads what the database says about agents, keys, budgets, limits and console sign-outs —
/// everything the CLI, the admin API or another replica may change — whenever the change
/// counter moves. A
/// database that is away leaves what was loaded in force.
fn spawn_change_watch(state: AppState, every: Duration, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: Option<i64> = None;
        let mut ticker = crate::periodic::ticker(every);
        while crate::periodic::next_tick(&mut ticker, &stop).await {
            let generation = match state.store.generation().await {
                Ok(g) => g,
                Err(e) => {
                    tracing::debug!(error = %e, "change check skipped: database unavailable");
                    continue;
                }
            };
            if seen == Some(generation) {
                continue;
            }
            match reload_from_store(&state).await {
                Ok(()) => seen = Some(generation),
                Err(e) => tracing::warn!(error = %e, "reload after a change failed; keeping what was loaded"),
            }
        }
    })
}

pub use crate::state::reload_from_store;

fn spawn_config_reload(state: AppState, path: std::path::PathBuf, env: Env, every: Duration, stop: CancellationToken) -> JoinHandle<()> {
    let runtime = state.runtime.clone();
    tokio::spawn(async move {
        let mut last = tokio::fs::read(&path).await.ok();
        let mut ticker = crate::periodic::ticker(every);
        while crate::periodic::next_tick(&mut ticker, &stop).await {
            let Ok(bytes) = tokio::fs::read(&path).await else { continue };
            if last.as_deref() == Some(&bytes[..]) {
                continue;
            }
            last = Some(bytes.clone());
            let text = String::from_utf8_lossy(&bytes);
            let current = runtime.load();
            match Config::from_toml(&text, &env) {
                Ok(mut next) => {
                    next.source = Some(path.clone());
                    if next.listen != current.config.listen || next.admin_listen != current.config.admin_listen || next.database_url != current.config.database_url {
                        tracing::warn!("listen addresses and the database URL change only on restart; the rest of the edit applies now");
                    }
                    // What only applies at start keeps its running value.
                    next.listen = current.config.listen;
                    next.admin_listen = current.config.admin_listen;
                    next.database_url = current.config.database_url.clone();
                    next.admin_token = current.config.admin_token.clone();
                    for w in &next.warnings {
                        tracing::warn!("{w}");
                    }
                    let limits = next.limits.clone();
                    let known = crate::metrics::KnownNames::of(&next);
                    match Runtime::new(next) {
                        Ok(rt) => {
                            runtime.store(Arc::new(rt));
                            state.audit.metrics().set_known(known);
                            state.limiter.apply_config(&limits);
                            tracing::info!(path = %path.display(), "config reloaded");
                        }
                        Err(e) => tracing::error!(error = %e, "config edit refused; the previous config stays"),
                    }
                }
                Err(e) => tracing::error!(path = %path.display(), error = %e, "config edit refused; the previous config stays"),
            }
        }
    })
}

fn spawn_retention(store: Store, days: u64, every: Duration, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = crate::periodic::ticker(every);
        while crate::periodic::next_tick(&mut ticker, &stop).await {
            let cutoff = crate::store::now_ms() - i64::try_from(days).unwrap_or(i64::MAX / 86_400_000) * 86_400_000;
            match store.delete_audit_events_before(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "old audit events deleted"),
                Err(e) => tracing::warn!(error = %e, "audit retention pass failed; will retry"),
            }
        }
    })
}

fn spawn_minutely_pruning(store: Store, every: Duration, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = crate::periodic::ticker(every);
        while crate::periodic::next_tick(&mut ticker, &stop).await {
            if let Err(e) = store.delete_minutely_before(crate::store::now_ms() - crate::store::MINUTELY_KEEP_MS).await {
                tracing::warn!(error = %e, "pruning minutely audit rollups failed; will retry");
            }
        }
    })
}
