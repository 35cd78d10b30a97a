//! Test harness: databases, the fake provider, a gateway on port 0, the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio::sync::oneshot;
use weir_fake_provider::FakeProvider;
use weir_server::app::{App, AppState};
use weir_server::audit::AuditEvent;
use weir_server::config::{Config, Env};
use weir_server::identity::{self, KeyRequest};
use weir_server::store::{AuditFilter, Store};
use weir_server::telemetry::Telemetry;

pub const PROVIDER_KEY: &str = "sk-fake-provider-key-0123456789";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both!(name, |backend| async move { … })`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::support::Backend::Postgres).await
            }
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("WEIR_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend, dir: &Path) -> Self {
        match backend {
            Backend::Sqlite => Self { url: format!("sqlite://{}", dir.join("weir.db").display()), backend, pg_name: None },
            Backend::Postgres => {
                let name = format!("weir_t_{}", uuid::Uuid::new_v4().simple());
                let base = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.expect("connect to the test Postgres");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
                conn.close().await.ok();
                Self { url: format!("{base}/{name}"), backend, pg_name: Some(name) }
            }
        }
    }

    /// A handle on an existing database that this handle does not own (never dropped by it).
    pub fn from_url(url: &str) -> Self {
        Self { url: url.to_string(), backend: Backend::Postgres, pg_name: None }
    }

    /// The URL through another host:port (a TCP proxy in front of Postgres).
    pub fn url_via(&self, addr: std::net::SocketAddr) -> String {
        let name = self.pg_name.as_deref().expect("postgres only");
        let user = postgres_admin_url().split("://").nth(1).and_then(|r| r.split('@').next()).unwrap_or("postgres").to_string();
        format!("postgres://{user}@{addr}/{name}")
    }

    pub async fn store(&self) -> Store {
        let s = Store::connect(&self.url, 2).await.expect("connect");
        s.migrate().await.expect("migrate");
        s
    }

    pub async fn drop_db(self) {
        if let Some(name) = self.pg_name {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&format!("{}/postgres", postgres_admin_url())).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        }
    }
}

/// A config naming the fake provider under several models.
pub fn config_toml(fake: &FakeProvider, audit: &str, extra: &str) -> String {
    config_toml_with(fake, &Sections { audit: audit.into(), extra: extra.into(), ..Default::default() })
}

/// Lines for the config's tables, beyond what every test config has.
#[derive(Default, Clone)]
pub struct Sections {
    pub audit: String,
    pub server: String,
    pub limits: String,
    pub failover: String,
    /// Appended at the end: more `[[providers]]`, `[[models]]`, `[[limits.budgets]]`, ...
    pub extra: String,
}

pub fn config_toml_with(fake: &FakeProvider, s: &Sections) -> String {
    let audit = s.audit.as_str();
    let extra = s.extra.as_str();
    format!(
        r#"
[audit]
{audit}

[identity]
refresh_interval_ms = 200

[server]
reload_interval_ms = 200
{server}

[limits]
{limits}

[failover]
{failover}

[[providers]]
name = "fake-openai"
kind = "openai"
base_url = "{openai}"
api_key_env = "FAKE_PROVIDER_KEY"
read_timeout_ms = 3000
# The fake takes its orders from a header: passed on like the SDKs' own.
forward_headers = ["openai-beta", "x-fake-behavior"]

[[providers]]
name = "fake-anthropic"
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "FAKE_PROVIDER_KEY"
forward_headers = ["anthropic-version", "anthropic-beta", "x-fake-behavior"]

[[providers]]
name = "nowhere"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
connect_timeout_ms = 500

[[providers]]
name = "keyless"
kind = "openai"
base_url = "{openai}"
api_key_env = "WEIR_TEST_UNSET_KEY"

[[models]]
name = "gpt-test"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 1.0, output_per_mtok = 2.0 }}

[[models]]
name = "claude-test"
targets = [{{ provider = "fake-anthropic", model = "claude-x" }}]
price = {{ input_per_mtok = 3.0, output_per_mtok = 15.0 }}

[[models]]
name = "embed-test"
targets = [{{ provider = "fake-openai", model = "text-embedding-x" }}]
price = {{ input_per_mtok = 0.02, output_per_mtok = 0.0 }}

[[models]]
name = "dead-test"
targets = [{{ provider = "nowhere", model = "x" }}]

[[models]]
name = "keyless-test"
targets = [{{ provider = "keyless", model = "x" }}]
{extra}
"#,
        openai = fake.openai_base(),
        anthropic = fake.anthropic_base(),
        audit = if audit.is_empty() { "flush_interval_ms = 50" } else { audit },
        server = s.server,
        limits = s.limits,
        failover = s.failover,
    )
}

pub fn test_env(extra: &[(&str, &str)]) -> Env {
    let mut pairs: Vec<(String, String)> = vec![
        ("FAKE_PROVIDER_KEY".into(), PROVIDER_KEY.into()),
        ("WEIR_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("WEIR_LISTEN".into(), "127.0.0.1:0".into()),
        ("WEIR_ADMIN_LISTEN".into(), "127.0.0.1:0".into()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    pairs.into_iter().collect()
}

#[derive(Default)]
pub struct GatewayOptions {
    /// Lines for the `[audit]` table.
    pub audit_toml: String,
    pub extra_toml: String,
    /// Lines for the `[server]`, `[limits]` and `[failover]` tables.
    pub server_toml: String,
    pub limits_toml: String,
    pub failover_toml: String,
    /// The clock budget windows follow.
    pub clock: Option<std::sync::Arc<dyn weir_server::limits::Clock>>,
    /// Use this database (shared with another gateway) instead of a new one.
    pub db_url: Option<String>,
    pub env: Vec<(String, String)>,
    pub telemetry: Option<Telemetry>,
    /// Reach the (Postgres) database through a proxy at this address.
    pub db_via: Option<std::net::SocketAddr>,
}

/// Weir in-process on port 0, with an agent `bot` and a key for it.
pub struct TestGateway {
    pub base: String,
    pub admin: String,
    pub state: AppState,
    pub fake: FakeProvider,
    pub key: String,
    pub db: TestDb,
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestGateway {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, GatewayOptions::default()).await
    }

    pub async fn start_with(backend: Backend, opts: GatewayOptions) -> Self {
        // `RUST_LOG=weir_server=debug cargo nextest run …` shows the gateway's log.
        let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeProvider::spawn(Some(PROVIDER_KEY)).await.expect("fake provider");
        let db = match &opts.db_url {
            Some(url) => TestDb::from_url(url),
            None => TestDb::new(backend, dir.path()).await,
        };
        let spool = dir.path().join("audit.spool");
        let config_path = dir.path().join("weir.toml");
        let sections = Sections {
            audit: opts.audit_toml.clone(),
            server: opts.server_toml.clone(),
            limits: opts.limits_toml.clone(),
            failover: opts.failover_toml.clone(),
            extra: opts.extra_toml.clone(),
        };
        std::fs::write(&config_path, config_toml_with(&fake, &sections)).expect("write config");
        let db_url = match opts.db_via {
            Some(addr) => db.url_via(addr),
            None => db.url.clone(),
        };
        let mut env_pairs: Vec<(&str, &str)> = vec![("WEIR_DATABASE_URL", &db_url)];
        let spool_s = spool.display().to_string();
        let extra: Vec<(&str, &str)> = opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env_pairs.extend(extra);
        let env = test_env(&env_pairs);
        let mut config = Config::load(Some(&config_path), &env).expect("config");
        if config.audit.spool_path == "weir-audit.spool" {
            config.audit.spool_path = spool_s;
        }
        let telemetry = opts.telemetry.unwrap_or_else(Telemetry::disabled);
        let clock = opts.clock.clone().unwrap_or_else(|| std::sync::Arc::new(weir_server::limits::SystemClock));
        let app = App::build_with_clock(config, &env, telemetry, clock).await.expect("build");
        let base = format!("http://{}", app.gateway_addr());
        let admin = format!("http://{}", app.admin_addr());
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        let store = state.store.clone();
        if store.agent_by_name("bot").await.expect("lookup").is_none() {
            identity::create_agent(&store, "bot", None).await.expect("agent");
        }
        let key = identity::create_key(&store, KeyRequest { agent: "bot".into(), expires_in: None, models: None }).await.expect("key").secret;
        weir_server::app::reload_from_store(&state).await.expect("reload keys");
        Self {
            base,
            admin,
            state,
            fake,
            key,
            db,
            store,
            dir,
            config_path,
            http: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin)
    }

    /// POST JSON with this gateway's key.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.post(self.url(path)).bearer_auth(&self.key).json(&body).send().await.expect("request")
    }

    /// POST JSON with this gateway's key, telling the fake provider how to behave.
    pub async fn post_behaving(&self, path: &str, behavior: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.post(self.url(path)).bearer_auth(&self.key).header("x-fake-behavior", behavior).json(&body).send().await.expect("request")
    }

    pub async fn new_key(&self, agent: &str, models: Option<Vec<String>>, expires_in: Option<Duration>) -> (String, String) {
        if self.store.agent_by_name(agent).await.expect("lookup").is_none() {
            identity::create_agent(&self.store, agent, None).await.expect("agent");
        }
        let k = identity::create_key(&self.store, KeyRequest { agent: agent.into(), expires_in, models }).await.expect("key");
        weir_server::app::reload_from_store(&self.state).await.expect("reload");
        (k.secret, k.row.id)
    }

    /// Waits until the audit event of `request_id` is in the database.
    pub async fn event(&self, request_id: &str) -> AuditEvent {
        wait_for_event(&self.store, request_id, Duration::from_secs(10)).await
    }

    /// Stops the gateway but leaves its database for another to use; returns it (with the
    /// database handle, to drop later).
    pub async fn stop_keep_db(mut self) -> Self {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
        }
        self
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
        }
        let db = std::mem::replace(&mut self.db, TestDb { url: String::new(), backend: Backend::Sqlite, pg_name: None });
        db.drop_db().await;
    }
}

/// Creates `agent` and a key for it directly in the store (as the CLI does); returns the key.
pub async fn seed_agent_key(store: &Store, agent: &str) -> String {
    identity::create_agent(store, agent, None).await.expect("agent");
    identity::create_key(store, KeyRequest { agent: agent.into(), expires_in: None, models: None }).await.expect("key").secret
}

pub async fn wait_for_event(store: &Store, request_id: &str, timeout: Duration) -> AuditEvent {
    let deadline = Instant::now() + timeout;
    loop {
        let found = store
            .query_audit_events(&AuditFilter { request_id: Some(request_id.to_string()), limit: 10, ..Default::default() })
            .await
            .unwrap_or_default();
        if let Some(e) = found.into_iter().next() {
            return e;
        }
        assert!(Instant::now() < deadline, "no audit event for request {request_id} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub fn request_id(resp: &reqwest::Response) -> String {
    resp.headers().get("x-request-id").expect("x-request-id").to_str().expect("ascii").to_string()
}

/// Polls `check` until it returns true, or fails after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn weir_bin() -> &'static str {
    env!("CARGO_BIN_EXE_weir")
}

/// The real binary, with a fresh environment of its own.
pub fn weir_command(env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(weir_bin());
    cmd.env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("WEIR_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null());
    cmd.kill_on_drop(true);
    cmd
}

/// Picks a free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A running `weir serve` process.
pub struct WeirProcess {
    pub child: tokio::process::Child,
    pub base: String,
    pub admin: String,
    pub log: PathBuf,
}

impl WeirProcess {
    pub async fn start(config: &Path, env: &[(&str, &str)], log: PathBuf) -> Self {
        let port = free_port();
        let admin_port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let admin_listen = format!("127.0.0.1:{admin_port}");
        let mut all: Vec<(&str, &str)> = env.to_vec();
        all.push(("WEIR_LISTEN", &listen));
        all.push(("WEIR_ADMIN_LISTEN", &admin_listen));
        let log_file = std::fs::File::create(&log).expect("log file");
        // A working directory of its own: anything relative (the default spool file) stays apart.
        let cwd = log.with_extension("cwd");
        std::fs::create_dir_all(&cwd).expect("working directory");
        let mut cmd = weir_command(&all);
        cmd.args(["serve", "--config"]).arg(config).current_dir(&cwd).stdout(Stdio::null()).stderr(log_file);
        let child = cmd.spawn().expect("spawn weir");
        let p = Self { child, base: format!("http://{listen}"), admin: format!("http://{admin_listen}"), log };
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", p.admin);
        eventually(Duration::from_secs(20), "weir to answer /healthz", || {
            let client = client.clone();
            let url = url.clone();
            async move { client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        p
    }

    pub fn sigterm(&self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
    }

    pub async fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(timeout, self.child.wait()).await.expect("weir did not exit in time").expect("wait")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A TCP proxy that can be cut (every connection closed, new ones dropped) and restored: how
/// tests take a database away without stopping the shared server.
pub struct TcpProxy {
    pub addr: std::net::SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Default::default();
        let (cut2, conns2) = (cut.clone(), conns.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if cut2.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let h = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().expect("lock").push(h);
            }
        });
        Self { addr, cut, conns, task }
    }

    /// Closes every connection and refuses new ones; returns once the old ones are gone.
    pub async fn cut(&self) {
        self.close_all();
        let handles: Vec<_> = self.conns.lock().expect("lock").drain(..).collect();
        for h in handles {
            let _ = h.await;
        }
    }

    fn close_all(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for h in self.conns.lock().expect("lock").iter() {
            h.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.close_all();
        self.task.abort();
    }
}

/// Counts of audit rows per request id, read straight from Postgres.
pub async fn audit_rows_per_request(db_url: &str) -> std::collections::HashMap<String, i64> {
    use sqlx::Row;
    let mut conn = sqlx::PgConnection::connect(db_url).await.expect("connect");
    let rows = sqlx::query("SELECT request_id, COUNT(*) AS n FROM audit_events GROUP BY request_id").fetch_all(&mut conn).await.expect("query");
    rows.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1))).collect()
}

pub fn redis_url() -> String {
    std::env::var("WEIR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of one test's own in the shared Redis.
pub fn redis_prefix() -> String {
    format!("weir-test-{}:", uuid::Uuid::new_v4().simple())
}

/// A `redis-server` of this test's own on a free port, which the test may stop and restart.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let mut r = Self { port: free_port(), child: None };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// (Re)starts it empty: nothing is saved to disk.
    pub async fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server installed");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        eventually(Duration::from_secs(10), "private redis to listen", || {
            let addr = addr.clone();
            async move { tokio::net::TcpStream::connect(addr).await.is_ok() }
        })
        .await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `[mcp]` with the end-to-end tests' fixture MCP server (official TypeScript SDK) over stdio as
/// `fix`, and `more` lines after it (rules, say). Needs `npm ci` in tests/mcp-node.
pub fn mcp_fixture_toml(more: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf();
    let fixture = root.join("tests/mcp-node/fixture-server.mjs");
    let sdk = root.join("tests/mcp-node/node_modules/@modelcontextprotocol/sdk");
    assert!(sdk.exists(), "{} is missing: run `npm ci` in tests/mcp-node (scripts/test does)", sdk.display());
    format!("[mcp]\nrequest_timeout_secs = 20\n{more}\n\n[[mcp.servers]]\nname = \"fix\"\ncommand = [\"node\", \"{}\", \"stdio\"]\n", fixture.display())
}

/// Initialises an MCP session at `/mcp` (revision 2025-11-25) with the gateway's key; its id.
pub async fn open_mcp_session(gw: &TestGateway) -> String {
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let resp = gw.http.post(gw.url("/mcp")).bearer_auth(&gw.key).header("accept", "application/json, text/event-stream").json(&init).send().await.expect("initialize");
    assert_eq!(resp.status(), 200);
    resp.headers()["mcp-session-id"].to_str().expect("ascii").to_string()
}

/// A POST of `msg` to `/mcp` in `session` (revision 2025-11-25), taking JSON or SSE.
pub fn mcp_request(gw: &TestGateway, session: &str, msg: &serde_json::Value) -> reqwest::RequestBuilder {
    gw.http
        .post(gw.url("/mcp"))
        .bearer_auth(&gw.key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(msg)
}

/// The JSON-RPC message whose id is `id` in an MCP answer's body, SSE or JSON.
pub fn mcp_answer(body: &str, id: i64) -> serde_json::Value {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .chain(std::iter::once(body))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
        .find(|m| m["id"] == serde_json::json!(id))
        .unwrap_or_else(|| panic!("no answer {id} in {body}"))
}

/// The end-to-end tests' fixture MCP server (official TypeScript SDK) over Streamable HTTP, on
/// a port of its own, with `env` added to its environment. Stopped when dropped.
pub struct HttpFixture {
    child: tokio::process::Child,
    pub port: u16,
}

impl HttpFixture {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncBufReadExt;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf();
        let port = free_port();
        let mut child = tokio::process::Command::new("node")
            .arg(root.join("tests/mcp-node/fixture-server.mjs"))
            .args(["http", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the fixture (node)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("the fixture to listen in time");
        assert!(first.expect("read").is_some_and(|l| l.starts_with("listening")), "the fixture did not start");
        Self { child, port }
    }

    /// Its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// One of its plain HTTP endpoints (`/endless`, `/sessions`), as JSON.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("http://127.0.0.1:{}{path}", self.port)).await.expect("fixture").json().await.expect("JSON")
    }
}

impl Drop for HttpFixture {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The end-to-end tests' fixture A2A agent (the official a2a-sdk 1.x server, v1.0 with v0.3
/// compatibility) on a port of its own, run with the suite's Python environment (`.venv`, which
/// scripts/test sets up first). Stopped when dropped.
pub struct A2aAgent {
    child: tokio::process::Child,
    pub url: String,
}

impl A2aAgent {
    pub async fn start() -> Self {
        use tokio::io::AsyncBufReadExt;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf();
        let python = root.join(".venv/bin/python");
        assert!(python.exists(), "{} is missing: scripts/test sets up the Python environment", python.display());
        let mut child = tokio::process::Command::new(python)
            .arg(root.join("tests/a2a/agent_v1.py"))
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the A2A fixture agent");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut port = None;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.expect("the agent to listen in time").expect("read");
            match line.as_deref() {
                Some(l) if l.starts_with("PORT=") => port = l[5..].trim().parse::<u16>().ok(),
                Some("READY") => break,
                Some(_) => {}
                None => panic!("the A2A fixture agent exited while starting"),
            }
        }
        Self { child, url: format!("http://127.0.0.1:{}", port.expect("the agent's port")) }
    }
}

impl Drop for A2aAgent {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
