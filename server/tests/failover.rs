//! Failover: a model's targets are tried in order on connection errors, timeouts, 429 and 5xx
//! (not other 4xx, and never once a stream has begun), each target behind a circuit breaker.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use weir_fake_provider::{Behavior, FakeProvider};

use crate::support::*;

struct Setup {
    gw: TestGateway,
    backup: FakeProvider,
}

async fn setup(extra: &str) -> Setup {
    setup_with(extra, "circuit_failures = 2\ncircuit_cooldown_ms = 400").await
}

async fn setup_with(extra: &str, failover: &str) -> Setup {
    let backup = FakeProvider::spawn(Some(PROVIDER_KEY)).await.unwrap();
    let toml = format!(
        r#"
[[providers]]
name = "backup"
kind = "openai"
base_url = "{}"
api_key_env = "FAKE_PROVIDER_KEY"

[[models]]
name = "fo-test"
targets = [{{ provider = "fake-openai", model = "primary-model" }}, {{ provider = "backup", model = "backup-model" }}]
price = {{ input_per_mtok = 1.0, output_per_mtok = 1.0 }}

[[models]]
name = "fo-dead"
targets = [{{ provider = "nowhere", model = "x" }}, {{ provider = "backup", model = "backup-model" }}]
{extra}
"#,
        backup.openai_base()
    );
    let gw = TestGateway::start_with(
        Backend::Sqlite,
        GatewayOptions { extra_toml: toml, failover_toml: failover.into(), ..Default::default() },
    )
    .await;
    Setup { gw, backup }
}

fn fail(b: Behavior) -> Vec<Behavior> {
    vec![b]
}

async fn chat(gw: &TestGateway, model: &str, stream: bool) -> reqwest::Response {
    gw.post("/v1/chat/completions", json!({"model": model, "stream": stream, "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]})).await
}

fn attempts(ev: &weir_server::audit::AuditEvent) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(ev.attempts.as_deref().expect("attempts recorded")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_on_500_429_stall_and_refused_connections() {
    // A circuit that stays closed here: each failure below must reach the primary.
    let Setup { gw, backup } = setup_with("", "circuit_failures = 100").await;

    gw.fake.state.script(fail(Behavior { status: Some(500), ..Default::default() }));
    let r = chat(&gw, "fo-test", false).await;
    assert_eq!(r.status(), 200, "the agent does not notice");
    let rid = request_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "backup-model");
    let ev = gw.event(&rid).await;
    assert_eq!(ev.provider.as_deref(), Some("backup"));
    assert_eq!(ev.model_served.as_deref(), Some("backup-model"));
    let a = attempts(&ev);
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["provider"], "fake-openai");
    assert_eq!(a[0]["status"], 500);
    assert_eq!(a[1]["provider"], "backup");
    assert!(a[1]["error"].is_null());

    gw.fake.state.script(fail(Behavior { ratelimit: true, ..Default::default() }));
    let started = Instant::now();
    let r = chat(&gw, "fo-test", false).await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(900), "another target is tried at once, not after retry-after");
    let ev = gw.event(&request_id(&r)).await;
    assert_eq!(attempts(&ev)[0]["status"], 429);

    gw.fake.state.script(fail(Behavior { stall_ms: Some(8000), ..Default::default() }));
    let started = Instant::now();
    let r = chat(&gw, "fo-test", false).await;
    assert_eq!(r.status(), 200);
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(6), "per-attempt timeout, then the backup: {took:?}");
    let ev = gw.event(&request_id(&r)).await;
    assert_eq!(attempts(&ev)[0]["error"], "timeout");

    let r = chat(&gw, "fo-dead", false).await;
    assert_eq!(r.status(), 200);
    let ev = gw.event(&request_id(&r)).await;
    assert_eq!(attempts(&ev)[0]["error"], "provider_unreachable");
    assert_eq!(backup.state.requests().len(), 4);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_4xx_are_not_retried_and_exhaustion_passes_the_last_error_through() {
    let Setup { gw, backup } = setup("").await;
    gw.fake.state.script(fail(Behavior { status: Some(400), ..Default::default() }));
    let r = chat(&gw, "fo-test", false).await;
    assert_eq!(r.status(), 400, "the request itself was refused: no failover");
    assert!(backup.state.requests().is_empty());

    // Everything fails: three attempts (primary, backup, primary again), then the last answer.
    gw.fake.state.script(vec![Behavior { status: Some(502), ..Default::default() }, Behavior { status: Some(503), ..Default::default() }]);
    backup.state.script(fail(Behavior { status: Some(500), ..Default::default() }));
    let r = chat(&gw, "fo-test", false).await;
    let rid = request_id(&r);
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].is_string());
    let ev = gw.event(&rid).await;
    let a = attempts(&ev);
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(ev.outcome, "error");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_opens_after_failures_and_closes_after_a_good_probe() {
    let Setup { gw, backup } = setup("").await;
    let circuit = |gw: &TestGateway| {
        let (http, url) = (gw.http.clone(), gw.admin_url("/api/v1/models"));
        async move {
            let v: Value = http.get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
            let m = v["models"].as_array().unwrap().iter().find(|m| m["name"] == "fo-test").unwrap().clone();
            m["targets"][0]["circuit"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(circuit(&gw).await, "closed");
    gw.fake.state.script(vec![Behavior { status: Some(500), ..Default::default() }, Behavior { status: Some(500), ..Default::default() }]);
    assert_eq!(chat(&gw, "fo-test", false).await.status(), 200);
    assert_eq!(chat(&gw, "fo-test", false).await.status(), 200);
    assert_eq!(circuit(&gw).await, "open", "two consecutive failures open it");
    let primary_seen = gw.fake.state.requests().len();
    assert_eq!(chat(&gw, "fo-test", false).await.status(), 200);
    assert_eq!(gw.fake.state.requests().len(), primary_seen, "an open circuit is not called");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let r = chat(&gw, "fo-test", false).await;
    assert_eq!(r.status(), 200);
    assert_eq!(gw.fake.state.requests().len(), primary_seen + 1, "after the cooldown one probe goes to the target");
    assert_eq!(circuit(&gw).await, "closed", "a good probe closes it");
    assert_eq!(backup.state.requests().len(), 3);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_fail_over_before_the_first_byte_only() {
    let Setup { gw, backup } = setup("[[limits.budgets]]\nagent = \"bot\"\ntokens = 100000\nperiod = \"day\"\n").await;
    gw.fake.state.script(fail(Behavior { status: Some(500), ..Default::default() }));
    let r = chat(&gw, "fo-test", true).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("backup-model") && text.trim_end().ends_with("[DONE]"));

    // The backup cuts its stream mid-way: nothing is retried, usage is estimated and the
    // reservation reconciled to it.
    backup.state.script(fail(Behavior { cut_after: Some(3), ..Default::default() }));
    let primary_before = gw.fake.state.requests().len();
    gw.fake.state.script(fail(Behavior { status: Some(500), ..Default::default() }));
    let r = chat(&gw, "fo-test", true).await;
    let rid = request_id(&r);
    assert!(r.text().await.is_err(), "the cut reaches the client");
    assert_eq!(gw.fake.state.requests().len(), primary_before + 1);
    let ev = gw.event(&rid).await;
    assert!(ev.usage_estimated);
    let g = &gw;
    let first = g
        .store
        .query_audit_events(&weir_server::store::AuditFilter { model: Some("fo-test".into()), outcome: Some("ok".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    let ok_tokens: i64 = first.iter().map(|e| e.input_tokens.unwrap_or(0) + e.output_tokens.unwrap_or(0)).sum();
    let expected = (ok_tokens + ev.input_tokens.unwrap() + ev.output_tokens.unwrap()) as f64;
    eventually(Duration::from_secs(3), "the budget to show real (and estimated) usage", || async move {
        let v: Value = g.http.get(g.admin_url("/api/v1/agents/bot/budgets")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
        v["budgets"][0]["used"].as_f64() == Some(expected)
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_target_is_retried_after_its_retry_after() {
    let Setup { gw, .. } = setup_with("", "circuit_failures = 100").await;
    // The fake's 429 says `retry-after: 1`.
    gw.fake.state.script(fail(Behavior { ratelimit: true, ..Default::default() }));
    let started = Instant::now();
    let r = chat(&gw, "gpt-test", false).await;
    assert_eq!(r.status(), 200);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(3), "waited for retry-after: {took:?}");
    let ev = gw.event(&request_id(&r)).await;
    let a = attempts(&ev);
    assert_eq!(a.len(), 2);
    assert!(a.iter().all(|x| x["provider"] == "fake-openai"));
    assert_eq!(a[0]["status"], 429);

    // A retry-after longer than max_retry_after_ms is not waited for: the 429 comes back.
    let Setup { gw: strict, .. } = setup_with("", "circuit_failures = 100\nmax_retry_after_ms = 500").await;
    strict.fake.state.script(fail(Behavior { ratelimit: true, ..Default::default() }));
    let started = Instant::now();
    let r = chat(&strict, "gpt-test", false).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(started.elapsed() < Duration::from_millis(900));
    strict.stop().await;
    gw.stop().await;
}
