//! The database goes away for 30 s under 200 requests/s: serving continues, events wait in
//! memory and then in the spool file, and once the database is back the audit table holds
//! exactly one row per request id the client received — also when Weir is stopped with SIGTERM
//! during the outage and started again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const RATE_PER_SEC: u64 = 200;

/// Sends `RATE_PER_SEC` requests a second (open loop) until `stop`; returns the request ids of
/// the responses that came back 200.
fn load(base: String, key: String, stop: tokio_util::sync::CancellationToken) -> tokio::task::JoinHandle<(Vec<String>, u64)> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
        let ids = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SEC));
        let mut inflight = Vec::new();
        while !stop.is_cancelled() {
            tick.tick().await;
            let (http, base, key, ids, failures) = (http.clone(), base.clone(), key.clone(), ids.clone(), failures.clone());
            inflight.push(tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/v1/chat/completions"))
                    .bearer_auth(key)
                    .timeout(Duration::from_secs(10))
                    .json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "outage"}]}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
                        ids.lock().unwrap().push(id);
                    }
                    _ => {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }));
            inflight.retain(|h| !h.is_finished());
        }
        for h in inflight {
            let _ = h.await;
        }
        let ids = ids.lock().unwrap().clone();
        (ids, failures.load(std::sync::atomic::Ordering::Relaxed))
    })
}

async fn assert_one_row_each(db: &TestDb, ids: &[String], within: Duration) {
    let want: HashSet<&String> = ids.iter().collect();
    assert_eq!(want.len(), ids.len(), "request ids are unique");
    let deadline = Instant::now() + within;
    loop {
        let rows = audit_rows_per_request(&db.url).await;
        let present = ids.iter().filter(|id| rows.contains_key(*id)).count();
        if present == ids.len() {
            let dupes: Vec<_> = rows.iter().filter(|(_, n)| **n != 1).collect();
            assert!(dupes.is_empty(), "duplicated audit rows: {dupes:?}");
            let extra: Vec<_> = rows.keys().filter(|k| !want.contains(k)).collect();
            assert!(extra.is_empty(), "rows for requests the client never saw answered: {}", extra.len());
            return;
        }
        assert!(Instant::now() < deadline, "only {present} of {} requests have an audit row", ids.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Small enough that a 30 s outage at 200 requests/s spills to the spool file.
const SMALL_QUEUE: &str = "memory_queue = 100\nbatch_size = 100\nflush_interval_ms = 50";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_loses_no_audit_event() {
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let gw = TestGateway::start_with(
        Backend::Postgres,
        GatewayOptions { audit_toml: SMALL_QUEUE.into(), db_via: Some(proxy.addr), ..Default::default() },
    )
    .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let loader = load(gw.base.clone(), gw.key.clone(), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    proxy.cut().await;
    let cut_at = Instant::now();
    let mut saw_spooling = false;
    while cut_at.elapsed() < Duration::from_secs(31) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ready: Value = gw.http.get(gw.admin_url("/readyz")).send().await.unwrap().json().await.unwrap();
        if ready["audit"] == "spooling" && ready["audit_spooled"].as_u64().unwrap_or(0) > 0 {
            saw_spooling = true;
        }
    }
    assert!(saw_spooling, "the spool file was used during the outage");
    proxy.restore();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let (ids, failures) = loader.await.unwrap();
    assert_eq!(failures, 0, "serving continued through the outage");
    assert!(ids.len() as u64 >= 30 * RATE_PER_SEC, "load was at least 200/s through the outage: {}", ids.len());
    let db_url = gw.db.url.clone();
    let check_db = test_db_handle(&db_url);
    assert_one_row_each(&check_db, &ids, Duration::from_secs(60)).await;
    assert_eq!(gw.state.audit.stats().dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_outage_spools_and_restart_writes() {
    let dir = tempfile::tempdir().unwrap();
    let fake = weir_fake_provider::FakeProvider::spawn(Some(PROVIDER_KEY)).await.unwrap();
    let db = TestDb::new(Backend::Postgres, dir.path()).await;
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let spool = dir.path().join("audit.spool");
    let config = dir.path().join("weir.toml");
    let audit = format!("{SMALL_QUEUE}\nspool_path = \"{}\"", spool.display());
    std::fs::write(&config, config_toml(&fake, &audit, "")).unwrap();
    let db_url = db.url_via(proxy.addr);
    let env = [("WEIR_DATABASE_URL", db_url.as_str()), ("FAKE_PROVIDER_KEY", PROVIDER_KEY), ("WEIR_ADMIN_TOKEN", ADMIN_TOKEN)];

    let store = db.store().await;
    let key = seed_agent_key(&store, "bot").await;
    store.close().await;

    let mut weir = WeirProcess::start(&config, &env, dir.path().join("weir-1.log")).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let loader = load(weir.base.clone(), key.clone(), stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    weir.sigterm();
    let status = weir.wait(Duration::from_secs(40)).await;
    stop.cancel();
    let (ids, _) = loader.await.unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}\n{}", weir.log_text());
    assert!(ids.len() > 2000, "{} requests answered", ids.len());
    let spooled = std::fs::metadata(&spool).map(|m| m.len()).unwrap_or(0);
    assert!(spooled > 0, "events waiting for the database were spooled on shutdown");

    proxy.restore();
    let mut again = WeirProcess::start(&config, &env, dir.path().join("weir-2.log")).await;
    assert_one_row_each(&db, &ids, Duration::from_secs(60)).await;
    eventually(Duration::from_secs(10), "the spool to be emptied", || {
        let n = std::fs::metadata(&spool).map(|m| m.len()).unwrap_or(0);
        async move { n == 0 }
    })
    .await;
    again.sigterm();
    again.wait(Duration::from_secs(30)).await;
    db.drop_db().await;
}

fn test_db_handle(url: &str) -> TestDb {
    TestDb::from_url(url)
}

/// An event the database refuses (here: a NUL byte, which Postgres text never takes) is set
/// aside on its own — counted and logged — and never holds back the events around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_does_not_block_the_others() {
    let gw = TestGateway::start(Backend::Postgres).await;
    let event = |id: &str, request_id: &str| weir_server::audit::AuditEvent {
        id: id.into(),
        ts: weir_server::store::now_ms(),
        request_id: request_id.into(),
        kind: "llm".into(),
        operation: "chat".into(),
        status_code: 200,
        outcome: "ok".into(),
        ..Default::default()
    };
    gw.state.audit.record(event("good-1", "r-good-1"), None);
    gw.state.audit.record(event("bad", "r-bad\0"), None);
    gw.state.audit.record(event("good-2", "r-good-2"), None);
    gw.event("r-good-1").await;
    gw.event("r-good-2").await;
    let stats = gw.state.audit.stats().clone();
    eventually(Duration::from_secs(5), "the refused event to be counted", || {
        let stats = stats.clone();
        async move { stats.dropped.load(std::sync::atomic::Ordering::Relaxed) == 1 }
    })
    .await;
    let r = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    gw.event(&request_id(&r)).await;
    gw.stop().await;
}
