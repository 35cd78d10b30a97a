//! Budgets and rate limits hold exactly under concurrency — in-process, on Redis, across two
//! processes — survive restarts of Weir and of Redis, roll over with their windows, and follow
//! changes within 2 seconds.

use std::time::Duration;

use serde_json::{json, Value};
use weir_server::limits::ManualClock;

use crate::both;
use crate::support::*;

/// Every call of these tests uses exactly this many tokens (the fake is told so).
const PER_CALL: i64 = 100;
const FIXED_USAGE: &str = "usage_in=50,usage_out=50";
const HOURLY_BUDGET: &str = "[[limits.budgets]]\nagent = \"bot\"\ntokens = 1000\nperiod = \"hour\"\n";

/// A prompt whose real token count is above the 50 input tokens the fake reports, so that a
/// reservation always covers the call.
fn chat_body() -> Value {
    let words = "budget ".repeat(60);
    json!({"model": "gpt-test", "max_tokens": 50, "messages": [{"role": "user", "content": words}]})
}

async fn call(http: &reqwest::Client, base: &str, key: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .header("x-fake-behavior", FIXED_USAGE)
        .json(&chat_body())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// 60 concurrent calls, then one at a time until one is refused. Returns the calls served.
async fn exhaust(endpoints: &[(String, String)]) -> i64 {
    let http = reqwest::Client::new();
    let mut handles = Vec::new();
    for i in 0..60 {
        let (base, key) = endpoints[i % endpoints.len()].clone();
        let http = http.clone();
        handles.push(tokio::spawn(async move { call(&http, &base, &key).await }));
    }
    let mut served = 0;
    let mut check = |status: u16, body: &Value| {
        match status {
            200 => served += 1,
            429 => {
                let msg = body["error"]["message"].as_str().unwrap_or_default();
                assert!(msg.contains("token budget per hour"), "a refusal names the budget: {msg}");
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    };
    for h in handles {
        let (status, body, _) = h.await.unwrap();
        check(status, &body);
    }
    for i in 0..40 {
        let (base, key) = &endpoints[i % endpoints.len()];
        let (status, body, _) = call(&http, base, key).await;
        check(status, &body);
        if status == 429 {
            return served;
        }
    }
    panic!("no call was ever refused");
}

fn assert_exact(served: i64) {
    let used = served * PER_CALL;
    assert!(used <= 1000, "the budget was overspent: {used} of 1000");
    assert!(used >= 900, "at least 9 calls' worth is served: {used}");
}

/// A clock standing at half past an hour (2026-01-01T10:30:00Z), for tests of an hour's budget
/// in one process: the hour's window cannot roll over while they run.
fn mid_hour() -> std::sync::Arc<dyn weir_server::limits::Clock> {
    std::sync::Arc::new(ManualClock::new(1_767_263_400_000))
}

async fn used_per_hour(gw: &TestGateway) -> f64 {
    let v: Value = gw.http.get(gw.admin_url("/api/v1/agents/bot/budgets")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    v["budgets"].as_array().unwrap().iter().find(|b| b["period"] == "hour").map(|b| b["used"].as_f64().unwrap()).unwrap()
}

both!(budget_holds_under_concurrency_in_process, |backend| async move {
    let gw = TestGateway::start_with(
        backend,
        GatewayOptions { extra_toml: HOURLY_BUDGET.into(), clock: Some(mid_hour()), ..Default::default() },
    )
    .await;
    let served = exhaust(&[(gw.base.clone(), gw.key.clone())]).await;
    assert_exact(served);
    let expected = (served * PER_CALL) as f64;
    let g = &gw;
    eventually(Duration::from_secs(3), "reservations to settle to real usage", || async move { used_per_hour(g).await == expected }).await;
    gw.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_holds_under_concurrency_on_redis() {
    let prefix = redis_prefix();
    let gw = TestGateway::start_with(
        Backend::Postgres,
        GatewayOptions {
            extra_toml: HOURLY_BUDGET.into(),
            limits_toml: format!("redis_prefix = \"{prefix}\""),
            env: vec![("WEIR_REDIS_URL".into(), redis_url())],
            ..Default::default()
        },
    )
    .await;
    let served = exhaust(&[(gw.base.clone(), gw.key.clone())]).await;
    assert_exact(served);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_holds_across_two_processes_sharing_redis_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let fake = weir_fake_provider::FakeProvider::spawn(Some(PROVIDER_KEY)).await.unwrap();
    let db = TestDb::new(Backend::Postgres, dir.path()).await;
    let store = db.store().await;
    let key = seed_agent_key(&store, "bot").await;
    let prefix = redis_prefix();
    let config = dir.path().join("weir.toml");
    let sections = Sections { limits: format!("redis_prefix = \"{prefix}\""), extra: HOURLY_BUDGET.into(), ..Default::default() };
    std::fs::write(&config, config_toml_with(&fake, &sections)).unwrap();
    let redis = redis_url();
    let mut procs = Vec::new();
    for i in 0..2 {
        let env = [
            ("WEIR_DATABASE_URL", db.url.as_str()),
            ("WEIR_REDIS_URL", redis.as_str()),
            ("FAKE_PROVIDER_KEY", PROVIDER_KEY),
            ("WEIR_ADMIN_TOKEN", ADMIN_TOKEN),
        ];
        procs.push(WeirProcess::start(&config, &env, dir.path().join(format!("weir-{i}.log"))).await);
    }
    let endpoints: Vec<(String, String)> = procs.iter().map(|p| (p.base.clone(), key.clone())).collect();
    let served = exhaust(&endpoints).await;
    assert_exact(served);
    for p in &procs {
        p.sigterm();
    }
    for p in &mut procs {
        p.wait(Duration::from_secs(20)).await;
    }
    db.drop_db().await;
}

both!(usage_survives_a_restart, |backend| async move {
    let clock = mid_hour();
    let gw = TestGateway::start_with(
        backend,
        GatewayOptions { extra_toml: HOURLY_BUDGET.into(), clock: Some(clock.clone()), ..Default::default() },
    )
    .await;
    for _ in 0..3 {
        assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    }
    let g = &gw;
    eventually(Duration::from_secs(3), "usage to settle", || async move { used_per_hour(g).await == 300.0 }).await;
    let db_url = gw.db.url.clone();
    // Stopped, but its database (and, for SQLite, its directory) stays.
    let old = gw.stop_keep_db().await;
    // A new process on the same database: the window's usage is rebuilt from the audit store.
    let again = TestGateway::start_with(
        backend,
        GatewayOptions { extra_toml: HOURLY_BUDGET.into(), db_url: Some(db_url), clock: Some(clock), ..Default::default() },
    )
    .await;
    assert_eq!(used_per_hour(&again).await, 300.0);
    let mut served = 0;
    while call(&again.http, &again.base, &again.key).await.0 == 200 {
        served += 1;
        assert!(served < 20);
    }
    assert!((6..=7).contains(&served), "what remained after the restart was served, no more: {served}");
    again.stop().await;
    old.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_survives_a_redis_restart() {
    let mut redis = PrivateRedis::start().await;
    let gw = TestGateway::start_with(
        Backend::Sqlite,
        GatewayOptions { extra_toml: HOURLY_BUDGET.into(), env: vec![("WEIR_REDIS_URL".into(), redis.url())], ..Default::default() },
    )
    .await;
    for _ in 0..4 {
        assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    }
    let g = &gw;
    eventually(Duration::from_secs(3), "usage to settle", || async move { used_per_hour(g).await == 400.0 }).await;
    // Events must be in the audit store before Redis forgets: that is what the rebuild reads.
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.restart().await;
    // The first call after the restart finds the state gone and rebuilds it from the audit store.
    assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    eventually(Duration::from_secs(3), "usage rebuilt", || async move { used_per_hour(g).await == 500.0 }).await;
    let mut served = 0;
    while call(&gw.http, &gw.base, &gw.key).await.0 == 200 {
        served += 1;
        assert!(served < 20);
    }
    assert!((4..=5).contains(&served), "after a Redis restart the remaining budget is what it was: {served}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_window_rolls_over() {
    // 2026-01-01T10:00:30Z
    let clock = std::sync::Arc::new(ManualClock::new(1_767_261_630_000));
    let gw = TestGateway::start_with(
        Backend::Sqlite,
        GatewayOptions {
            extra_toml: "[[limits.budgets]]\nagent = \"*\"\ntokens = 300\nperiod = \"minute\"\n".into(),
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    let mut served = 0;
    while call(&gw.http, &gw.base, &gw.key).await.0 == 200 {
        served += 1;
        assert!(served < 10);
    }
    assert!((2..=3).contains(&served), "{served}");
    let (status, body, headers) = call(&gw.http, &gw.base, &gw.key).await;
    assert_eq!(status, 429);
    assert!(body["error"]["message"].as_str().unwrap().contains("resets at 2026-01-01T10:01:00Z"), "{body}");
    assert_eq!(headers["retry-after"], "30");
    assert_eq!(headers["x-ratelimit-limit-tokens"], "300");
    clock.advance(30_000);
    assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200, "a new minute, a new budget");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_changed_elsewhere_applies_within_two_seconds() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    let cli = gw.db.store().await;
    // Calls keep flowing while the budget changes.
    let flowing = {
        let (http, base, key) = (gw.http.clone(), gw.base.clone(), gw.key.clone());
        tokio::spawn(async move {
            for _ in 0..20 {
                call(&http, &base, &key).await;
            }
        })
    };
    cli.set_budget("bot", "", "tokens", "day", 10.0).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let (status, body, _) = call(&gw.http, &gw.base, &gw.key).await;
        if status == 429 {
            assert!(body["error"]["message"].as_str().unwrap().contains("token budget per day"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "budget not applied within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    flowing.await.unwrap();
    assert!(cli.delete_budget("bot", "", "tokens", "day").await.unwrap());
    let g = &gw;
    eventually(Duration::from_secs(2), "budget removal to apply", || async move { call(&g.http, &g.base, &g.key).await.0 == 200 }).await;
    cli.close().await;
    gw.stop().await;
}

async fn redis_cut(mode: &str) {
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let prefix = redis_prefix();
    let gw = TestGateway::start_with(
        Backend::Sqlite,
        GatewayOptions {
            extra_toml: HOURLY_BUDGET.into(),
            limits_toml: format!("redis_prefix = \"{prefix}\"\nredis_failure = \"{mode}\""),
            env: vec![("WEIR_REDIS_URL".into(), format!("redis://{}", proxy.addr))],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    proxy.cut().await;
    let (status, body, _) = call(&gw.http, &gw.base, &gw.key).await;
    if mode == "fail_open" {
        assert_eq!(status, 200, "fail_open keeps serving on local counters: {body}");
        assert!(gw.state.limiter.stats.fail_open_fallbacks.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    } else {
        assert_eq!(status, 503, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("cannot be checked"), "{body}");
    }
    proxy.restore();
    let g = &gw;
    eventually(Duration::from_secs(10), "Redis to be used again", || async move {
        let before = g.state.limiter.stats.redis_failures.load(std::sync::atomic::Ordering::Relaxed);
        let ok = call(&g.http, &g.base, &g.key).await.0 == 200;
        ok && g.state.limiter.stats.redis_failures.load(std::sync::atomic::Ordering::Relaxed) == before
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fail_open() {
    redis_cut("fail_open").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fail_closed() {
    redis_cut("fail_closed").await;
}

both!(headers_default_max_output_and_excess, |backend| async move {
    let gw = TestGateway::start_with(
        backend,
        GatewayOptions {
            extra_toml: "[[limits.budgets]]\nagent = \"bot\"\ntokens = 100000\nperiod = \"day\"\n".into(),
            limits_toml: "default_max_output_tokens = 777".into(),
            ..Default::default()
        },
    )
    .await;
    let r = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit-tokens"], "100000");
    let remaining: i64 = r.headers()["x-ratelimit-remaining-tokens"].to_str().unwrap().parse().unwrap();
    assert!(remaining < 100000 - 777, "the reservation counts: {remaining}");
    let up = gw.fake.state.requests();
    assert_eq!(up.last().unwrap().body["max_completion_tokens"], 777, "Weir sets the default output maximum upstream");
    // A provider that ignores the maximum: the excess is charged and recorded.
    let r = gw.post_behaving("/v1/chat/completions", "usage_in=5,usage_out=900", json!({"model": "gpt-test", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})).await;
    let rid = request_id(&r);
    assert!(gw.fake.state.requests().last().unwrap().body.get("max_completion_tokens").is_none(), "the client's own maximum is kept");
    let ev = gw.event(&rid).await;
    let reserved = ev.reserved_tokens.unwrap();
    assert_eq!(ev.excess_tokens, Some(905 - reserved));
    assert!(gw.state.limiter.stats.excess_tokens.load(std::sync::atomic::Ordering::Relaxed) >= (905 - reserved) as u64);
    let metrics = gw.http.get(gw.admin_url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("weir_budget_excess_tokens_total {}", 905 - reserved)), "{metrics}");
    // No budget, no injected maximum.
    gw.store.set_budget("bot", "", "tokens", "day", 0.0).await.ok();
    gw.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_tokens_per_minute() {
    let clock = std::sync::Arc::new(ManualClock::new(1_767_261_600_000));
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { clock: Some(clock.clone()), ..Default::default() }).await;
    weir_server::limits::set_rate_limits(&gw.store, "bot", None, weir_server::limits::RateChange { rpm: Some(Some(3)), ..Default::default() }).await.unwrap();
    weir_server::app::reload_from_store(&gw.state).await.unwrap();
    for _ in 0..3 {
        let (status, _, headers) = call(&gw.http, &gw.base, &gw.key).await;
        assert_eq!(status, 200);
        assert!(headers.contains_key("x-ratelimit-remaining-requests"));
    }
    let (status, body, _) = call(&gw.http, &gw.base, &gw.key).await;
    assert_eq!(status, 429);
    assert!(body["error"]["message"].as_str().unwrap().contains("requests per minute"), "{body}");
    let metrics = gw.http.get(gw.admin_url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "weir_limit_rejections_total 1"), "{metrics}");
    clock.advance(60_000);
    assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    // Tokens per minute for one model only.
    weir_server::limits::set_rate_limits(&gw.store, "bot", Some("gpt-test"), weir_server::limits::RateChange { tpm: Some(Some(150)), ..Default::default() }).await.unwrap();
    weir_server::app::reload_from_store(&gw.state).await.unwrap();
    clock.advance(60_000);
    let (status, body, _) = call(&gw.http, &gw.base, &gw.key).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = call(&gw.http, &gw.base, &gw.key).await;
    assert_eq!(status, 429);
    assert!(body["error"]["message"].as_str().unwrap().contains("tokens per minute for model gpt-test"), "{body}");
    let r = gw.post("/v1/messages", json!({"model": "claude-test", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(r.status(), 200, "the model-scoped limit leaves other models alone");
    gw.stop().await;
}

/// Setting and then clearing an agent's MCP limit leaves its LLM limits as the config says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_the_mcp_limit_keeps_the_default_llm_rate() {
    let clock = std::sync::Arc::new(ManualClock::new(1_767_261_600_000));
    let limits_toml = "[[limits.rates]]\nagent = \"*\"\nrpm = 2".to_string();
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { clock: Some(clock.clone()), limits_toml, ..Default::default() }).await;
    for mcp_rpm in [Some(5), None] {
        weir_server::limits::set_rate_limits(&gw.store, "bot", None, weir_server::limits::RateChange { mcp_rpm: Some(mcp_rpm), ..Default::default() }).await.unwrap();
    }
    weir_server::app::reload_from_store(&gw.state).await.unwrap();
    for _ in 0..2 {
        assert_eq!(call(&gw.http, &gw.base, &gw.key).await.0, 200);
    }
    let (status, body, _) = call(&gw.http, &gw.base, &gw.key).await;
    assert_eq!(status, 429, "the default rpm of 2 still applies: {body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_from_one_address_are_refused_before_key_lookup() {
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { server_toml: "ip_requests_per_second = 2\nip_burst = 3".into(), ..Default::default() }).await;
    let mut limited = 0;
    for _ in 0..10 {
        let r = gw.http.post(gw.url("/v1/chat/completions")).json(&json!({})).send().await.unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "ip_rate_limited");
            limited += 1;
        } else {
            assert_eq!(r.status(), 401);
        }
    }
    assert!(limited >= 6, "{limited}");
    let r = gw.http.get(gw.admin_url("/healthz")).send().await.unwrap();
    assert!(r.status() == 200 || r.status() == 429);
    gw.stop().await;
}

both!(budgets_and_limits_through_the_admin_api, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let put = |path: &str, body: Value| gw.http.put(gw.admin_url(path)).bearer_auth(ADMIN_TOKEN).json(&body).send();
    let r = put("/api/v1/agents/bot/budgets", json!({"period": "month", "cost_usd": 50.0})).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = put("/api/v1/agents/bot/budgets", json!({"period": "hour", "tokens": 200000, "model": "gpt-test"})).await.unwrap();
    let v: Value = r.json().await.unwrap();
    let budgets = v["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 2);
    for bad in [json!({"period": "week", "tokens": 1}), json!({"period": "hour"}), json!({"period": "hour", "tokens": 1, "cost_usd": 1.0}), json!({"period": "hour", "tokens": 1, "model": "nope"})] {
        let r = put("/api/v1/agents/bot/budgets", bad.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = put("/api/v1/agents/nobody/budgets", json!({"period": "hour", "tokens": 1})).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(gw.post("/v1/chat/completions", json!({"model": "gpt-test", "max_tokens": 5, "messages": [{"role": "user", "content": ""}]})).await.status(), 200);
    let g = &gw;
    eventually(Duration::from_secs(3), "usage in the report", || async move {
        let v: Value = g.http.get(g.admin_url("/api/v1/budgets")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
        let bot = &v["agents"][0];
        bot["agent"] == "bot"
            && bot["budgets"].as_array().unwrap().iter().any(|b| b["kind"] == "tokens" && b["used"].as_f64() == Some(1.0 + 5.0) && b["remaining"].as_f64() == Some(200000.0 - 6.0))
    })
    .await;
    let r = gw.http.delete(gw.admin_url("/api/v1/agents/bot/budgets?period=month&kind=cost_usd")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = put("/api/v1/agents/bot/limits", json!({"rpm": 100})).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["limits"][0]["rpm"], 100);
    let r = put("/api/v1/agents/bot/limits", json!({"tpm": 5000})).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["limits"][0]["rpm"], 100, "an absent field is kept");
    assert_eq!(v["limits"][0]["tpm"], 5000);
    let r = put("/api/v1/agents/bot/limits", json!({"rpm": null})).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v["limits"][0]["rpm"].is_null(), "null removes it");
    let r = put("/api/v1/agents/bot/limits", json!({})).await.unwrap();
    assert_eq!(r.status(), 400);
    gw.stop().await;
});
