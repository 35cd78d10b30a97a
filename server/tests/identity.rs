//! Keys created or revoked elsewhere (the CLI, another replica) take effect within 2 seconds,
//! without the key check touching the database.

use std::time::{Duration, Instant};

use serde_json::json;
use weir_server::identity::{self, KeyRequest};

use crate::both;
use crate::support::*;

both!(keys_changed_elsewhere_apply_within_two_seconds, |backend| async move {
    let gw = TestGateway::start(backend).await;
    // Another process writes the database directly, as `weir keys create` does.
    let other = gw.db.store().await;
    let new = identity::create_key(&other, KeyRequest { agent: "bot".into(), expires_in: None, models: None }).await.unwrap();
    let started = Instant::now();
    let body = json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]});
    loop {
        let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&new.secret).json(&body).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 401);
        assert!(started.elapsed() < Duration::from_secs(2), "new key not accepted within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    other.revoke_key(&new.row.id).await.unwrap();
    let started = Instant::now();
    loop {
        let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&new.secret).json(&body).send().await.unwrap();
        if r.status() == 401 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "revoked key still accepted after 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    other.close().await;
    gw.stop().await;
});

both!(stored_keys_are_hashes_only, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let rows = gw.store.load_key_index().await.unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(r.key_hash.len(), 64);
        assert!(!r.key_hash.contains("wk_"));
    }
    let listed = serde_json::to_string(&gw.store.list_keys(None).await.unwrap()).unwrap();
    assert!(!listed.contains(&gw.key), "no stored field holds the key");
    gw.stop().await;
});
