//! MCP sessions shared through Redis, when Redis goes away: the sessions a replica holds carry
//! on, others are refused with 503 (never a wrong 404), a session begun meanwhile works at its
//! replica and is recorded once Redis answers again.

use serde_json::{json, Value};

use crate::support::*;

async fn mcp_post(gw: &TestGateway, session: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = gw.http.post(gw.url("/mcp")).bearer_auth(&gw.key).header("accept", "application/json, text/event-stream").header("mcp-protocol-version", "2025-11-25");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.json(&body).send().await.unwrap()
}

/// A gateway sharing its MCP sessions through the Redis at `redis`, under a prefix of its own.
async fn shared_gateway(redis: &str, mcp: &str) -> (TestGateway, String) {
    let prefix = redis_prefix();
    let gw = TestGateway::start_with(
        Backend::Sqlite,
        GatewayOptions {
            extra_toml: mcp_fixture_toml(mcp),
            limits_toml: format!("redis_prefix = \"{prefix}\""),
            env: vec![("WEIR_REDIS_URL".into(), redis.to_string())],
            ..Default::default()
        },
    )
    .await;
    (gw, prefix)
}

async fn initialize(gw: &TestGateway) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let resp = mcp_post(gw, None, init).await;
    assert_eq!(resp.status(), 200);
    resp.headers()["mcp-session-id"].to_str().unwrap().to_string()
}

async fn echo(gw: &TestGateway, session: &str, text: &str) -> (u16, Value) {
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fix__echo", "arguments": {"text": text}}});
    let resp = mcp_post(gw, Some(session), call).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_keeps_held_sessions_and_refuses_unknown_ones_with_503() {
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let (gw, prefix) = shared_gateway(&format!("redis://{}", proxy.addr), "").await;
    assert!(gw.state.mcp.shared.is_some(), "Redis makes sessions shared");
    let held = initialize(&gw).await;
    assert_eq!(echo(&gw, &held, "before").await.1["result"]["content"][0]["text"], "before");

    proxy.cut().await;
    // The session this replica holds carries on.
    let (status, body) = echo(&gw, &held, "during").await;
    assert_eq!((status, &body["result"]["content"][0]["text"]), (200, &json!("during")), "{body}");
    // One it does not hold cannot be checked: 503, saying why, not a 404 that would end it.
    let (status, body) = echo(&gw, "0123456789abcdef0123456789abcdef", "x").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("Redis"), "{body}");
    // A session begun meanwhile works here.
    let begun = initialize(&gw).await;
    assert_eq!(echo(&gw, &begun, "new").await.0, 200);

    proxy.restore();
    let g = &gw;
    let b = begun.clone();
    eventually(std::time::Duration::from_secs(10), "Redis to answer again", || {
        let b = b.clone();
        async move { echo(g, &b, "after").await.0 == 200 }
    })
    .await;
    // Both sessions are in Redis now; an unknown one is a plain 404 again.
    let mut redis = redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for s in [&held, &begun] {
        let exists: bool = redis::cmd("EXISTS").arg(format!("{prefix}mcp:s:{s}")).query_async(&mut redis).await.unwrap();
        assert!(exists, "session {s} recorded");
    }
    assert_eq!(echo(&gw, "0123456789abcdef0123456789abcdef", "x").await.0, 404);
    assert_eq!(echo(&gw, &held, "still").await.0, 200);
    gw.stop().await;
}

/// A shared session unused for `session_idle_secs` expires in Redis: every replica answers 404
/// for it then, and the replica that finds it gone ends what it held of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_session_idle_past_its_time_is_gone_everywhere() {
    let (gw, prefix) = shared_gateway(&redis_url(), "session_idle_secs = 1").await;
    let session = initialize(&gw).await;
    assert_eq!(echo(&gw, &session, "alive").await.0, 200);
    let mut redis = redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}mcp:s:{session}");
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut redis).await.unwrap();
    assert!((0..=1).contains(&ttl), "the record lives for the idle time: {ttl}");
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut redis).await.unwrap();
    assert!(!exists, "expired in Redis");
    let (status, body) = echo(&gw, &session, "late").await;
    assert_eq!(status, 404, "{body}");
    assert!(gw.state.mcp.sessions.get(&session).is_none(), "let go of here too");
    gw.stop().await;
}

/// With shared sessions a `Last-Event-ID` that is not one of Redis's entry ids is refused at
/// once, not read from Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_event_id_weir_never_sent_is_refused() {
    let (gw, _) = shared_gateway(&redis_url(), "").await;
    let session = initialize(&gw).await;
    for bad in ["12", "x-1", "a.1/zz", "../1-0"] {
        let r = gw
            .http
            .get(gw.url("/mcp"))
            .bearer_auth(&gw.key)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session)
            .header("last-event-id", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    gw.stop().await;
}

/// An agent's sessions are counted at every replica: past `mcp.max_sessions_per_agent`, its
/// longest-unused session ends everywhere, whichever replica began it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_sessions_are_capped_across_replicas_longest_unused_first() {
    let prefix = redis_prefix();
    let options = |db_url: Option<String>| GatewayOptions {
        extra_toml: mcp_fixture_toml("max_sessions_per_agent = 3"),
        limits_toml: format!("redis_prefix = \"{prefix}\""),
        env: vec![("WEIR_REDIS_URL".into(), "redis://127.0.0.1:6379".into())],
        db_url,
        ..Default::default()
    };
    let a = TestGateway::start_with(Backend::Sqlite, options(None)).await;
    // The same database, so the same agent.
    let b = TestGateway::start_with(Backend::Sqlite, options(Some(a.db.url.clone()))).await;
    let s1 = initialize(&a).await;
    let s2 = initialize(&b).await;
    let s3 = initialize(&a).await;
    // s1 is used again (at the other replica): s2 is now the longest unused.
    assert_eq!(echo(&b, &s1, "again").await.0, 200);
    let s4 = initialize(&b).await;
    for gw in [&a, &b] {
        let (status, body) = echo(gw, &s2, "gone").await;
        assert_eq!(status, 404, "{body}");
        for s in [&s1, &s3, &s4] {
            assert_eq!(echo(gw, s, "kept").await.0, 200);
        }
    }
    // A session its client ended no longer counts: one more fits without ending another.
    let r = a.http.delete(a.url("/mcp")).bearer_auth(&a.key).header("mcp-protocol-version", "2025-11-25").header("mcp-session-id", &s3).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let s5 = initialize(&b).await;
    for s in [&s1, &s4, &s5] {
        assert_eq!(echo(&a, s, "still kept").await.0, 200, "{s} was ended though only three sessions were open");
    }
    b.stop().await;
    a.stop().await;
}

/// A replica whose clock runs ahead records its sessions as used "later": a session admitted at
/// a replica behind it is still the newest, and never the one ended to make room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_session_is_never_the_one_ended_whatever_the_other_replicas_clocks_say() {
    let prefix = redis_prefix();
    let sh = weir_server::mcp::shared::Shared::new(&redis_url(), &prefix, std::time::Duration::from_secs(600), std::time::Duration::from_secs(60), 100).unwrap();
    let mut redis = redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}mcp:agent:ag-1:sessions");
    let ahead = weir_server::store::now_ms() + 3_600_000;
    let _: () = redis::cmd("ZADD").arg(&key).arg(ahead).arg("from-a-fast-clock").query_async(&mut redis).await.unwrap();
    let evicted = sh.admit_agent_session("ag-1", "new", 1).await.unwrap();
    assert_eq!(evicted, vec!["from-a-fast-clock".to_string()]);
    let members: Vec<String> = redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query_async(&mut redis).await.unwrap();
    assert_eq!(members, vec!["new".to_string()]);
    // Admitting one already counted (recorded first) neither ends it nor counts it twice.
    assert!(sh.admit_agent_session("ag-1", "new", 1).await.unwrap().is_empty());
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
}
