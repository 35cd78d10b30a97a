//! SIGTERM drains: new connections are refused, streams in flight finish, the audit queue is
//! written before the process exits.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_streams_finish_and_refuses_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let fake = weir_fake_provider::FakeProvider::spawn(Some(PROVIDER_KEY)).await.unwrap();
    let db = TestDb::new(Backend::Sqlite, dir.path()).await;
    let store = db.store().await;
    let key = seed_agent_key(&store, "bot").await;
    let config = dir.path().join("weir.toml");
    let audit = format!("flush_interval_ms = 50\nspool_path = \"{}\"", dir.path().join("spool").display());
    std::fs::write(&config, config_toml(&fake, &audit, "")).unwrap();
    let env = [("WEIR_DATABASE_URL", db.url.as_str()), ("FAKE_PROVIDER_KEY", PROVIDER_KEY), ("WEIR_ADMIN_TOKEN", ADMIN_TOKEN)];
    let mut weir = WeirProcess::start(&config, &env, dir.path().join("weir.log")).await;

    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v1/chat/completions", weir.base))
        .bearer_auth(&key)
        .header("x-fake-behavior", "chunk_delay_ms=250,chunks=6")
        .json(&json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let rid = request_id(&resp);
    let mut stream = resp.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    weir.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = reqwest::Client::new().get(format!("{}/healthz", weir.base)).timeout(Duration::from_secs(2)).send().await;
    assert!(refused.is_err(), "new connections are refused while draining");
    let mut rest = Vec::new();
    while let Some(c) = stream.next().await {
        rest.extend_from_slice(&c.expect("the in-flight stream finishes"));
    }
    assert!(String::from_utf8_lossy(&rest).trim_end().ends_with("data: [DONE]"));
    let status = weir.wait(Duration::from_secs(20)).await;
    assert!(status.success(), "{}", weir.log_text());
    let ev = wait_for_event(&store, &rid, Duration::from_secs(1)).await;
    assert_eq!(ev.outcome, "ok", "the drained stream was recorded before exit");
}
