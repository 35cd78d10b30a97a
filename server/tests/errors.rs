//! Bad input and failing providers get clear errors in the caller's protocol.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both;
use crate::support::*;

async fn openai_error(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status(), status);
    assert!(resp.headers().get("x-request-id").is_some(), "errors carry a request id too");
    let v: Value = resp.json().await.expect("JSON error body");
    assert!(v["error"]["message"].is_string(), "OpenAI shape: {v}");
    assert!(v["error"]["type"].is_string(), "OpenAI shape: {v}");
    v
}

async fn anthropic_error(resp: reqwest::Response, status: u16, ty: &str) -> Value {
    assert_eq!(resp.status(), status);
    let v: Value = resp.json().await.expect("JSON error body");
    assert_eq!(v["type"], "error", "Anthropic shape: {v}");
    assert_eq!(v["error"]["type"], ty, "{v}");
    v
}

both!(bad_requests_get_clear_errors, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let chat = gw.url("/v1/chat/completions");

    let resp = gw.http.post(&chat).bearer_auth(&gw.key).body("{\"model\": \"gpt-test\",\n \"messages\": [}").send().await.unwrap();
    let v = openai_error(resp, 400).await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("not valid JSON") && msg.contains("line 2"), "says where: {msg}");

    let big = "x".repeat(21 * 1024 * 1024);
    let resp = gw.http.post(&chat).bearer_auth(&gw.key).body(big).send().await.unwrap();
    openai_error(resp, 413).await;

    let resp = gw.post("/v1/chat/completions", json!({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]})).await;
    let v = openai_error(resp, 404).await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("no-such-model") && msg.contains("gpt-test") && msg.contains("claude-test"), "names the available ones: {msg}");
    assert_eq!(v["error"]["code"], "model_not_found");

    let resp = gw.post("/v1/chat/completions", json!({"messages": [{"role": "user", "content": "hi"}]})).await;
    let v = openai_error(resp, 400).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("model"));

    // A model of the other protocol is translated; what the translation cannot carry is
    // refused by name, in the caller's shape.
    let resp = gw.post("/v1/chat/completions", json!({"model": "claude-test", "n": 2, "messages": [{"role": "user", "content": "hi"}]})).await;
    let v = openai_error(resp, 400).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("`n`"), "{v}");
    assert_eq!(v["error"]["param"], "n");

    let (narrow, _) = gw.new_key("narrow", Some(vec!["claude-test".into()]), None).await;
    let resp = gw.http.post(&chat).bearer_auth(&narrow).json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    let v = openai_error(resp, 403).await;
    assert_eq!(v["error"]["code"], "model_not_allowed");

    let resp = gw.http.post(gw.url("/v1/audio/speech")).bearer_auth(&gw.key).json(&json!({})).send().await.unwrap();
    let v = openai_error(resp, 404).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("/v1/audio/speech"));

    let resp = gw.http.get(&chat).bearer_auth(&gw.key).send().await.unwrap();
    openai_error(resp, 405).await;

    // The same on the Anthropic route, in Anthropic's shape.
    let msgs = gw.url("/v1/messages");
    let resp = gw.http.post(&msgs).header("x-api-key", &gw.key).body("nope").send().await.unwrap();
    anthropic_error(resp, 400, "invalid_request_error").await;
    let resp = gw.http.post(&msgs).header("x-api-key", &gw.key).json(&json!({"model": "nope", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    anthropic_error(resp, 404, "not_found_error").await;
    let resp = gw.http.post(&msgs).header("x-api-key", "wk_wrong").json(&json!({"model": "claude-test", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    anthropic_error(resp, 401, "authentication_error").await;
    let resp = gw.http.post(gw.url("/v1/messages/batches")).header("x-api-key", &gw.key).json(&json!({})).send().await.unwrap();
    anthropic_error(resp, 404, "not_found_error").await;
    gw.stop().await;
});

both!(keys_missing_wrong_expired_revoked_get_401, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let chat = gw.url("/v1/chat/completions");
    let body = json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]});

    let resp = gw.http.post(&chat).json(&body).send().await.unwrap();
    let v = openai_error(resp, 401).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("missing"));

    let resp = gw.http.post(&chat).bearer_auth("wk_not_a_real_key_at_all").json(&body).send().await.unwrap();
    openai_error(resp, 401).await;

    let (short, _) = gw.new_key("bot", None, Some(Duration::from_millis(300))).await;
    let resp = gw.http.post(&chat).bearer_auth(&short).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200, "valid before it expires");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resp = gw.http.post(&chat).bearer_auth(&short).json(&body).send().await.unwrap();
    let v = openai_error(resp, 401).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"));

    let (doomed, doomed_id) = gw.new_key("bot", None, None).await;
    assert_eq!(gw.http.post(&chat).bearer_auth(&doomed).json(&body).send().await.unwrap().status(), 200);
    gw.store.revoke_key(&doomed_id).await.unwrap();
    weir_server::app::reload_from_store(&gw.state).await.unwrap();
    let resp = gw.http.post(&chat).bearer_auth(&doomed).json(&body).send().await.unwrap();
    let v = openai_error(resp, 401).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
    // A 401 never reached the provider.
    let ups = gw.fake.state.requests().len();
    assert_eq!(ups, 2);
    gw.stop().await;
});

both!(provider_failures_are_reported_in_the_callers_shape, |backend| async move {
    // One attempt per call and no circuit breaking: each provider answer below is what the
    // client gets (retries and circuits have their own tests).
    let gw = TestGateway::start_with(backend, GatewayOptions { failover_toml: "max_attempts = 1\ncircuit_failures = 1000".into(), ..Default::default() }).await;
    let body = json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]});

    // Unreachable provider: 502.
    let resp = gw.post("/v1/chat/completions", json!({"model": "dead-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    let rid = request_id(&resp);
    let v = openai_error(resp, 502).await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("nowhere") && msg.contains("unreachable"), "{msg}");
    assert!(!msg.contains("tcp") && !msg.contains("os error"), "no internal error text: {msg}");
    let ev = gw.event(&rid).await;
    assert_eq!(ev.status_code, 502);
    assert_eq!(ev.error_type.as_deref(), Some("provider_unreachable"));

    // A provider without its key configured.
    let resp = gw.post("/v1/chat/completions", json!({"model": "keyless-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    let v = openai_error(resp, 502).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("WEIR_TEST_UNSET_KEY"));

    // Provider errors pass through with their status and body.
    let resp = gw.post_behaving("/v1/chat/completions", "status=500", body.clone()).await;
    let rid = request_id(&resp);
    let v = openai_error(resp, 500).await;
    assert_eq!(v["error"]["message"], "The fake provider was told to fail");
    let ev = gw.event(&rid).await;
    assert_eq!(ev.outcome, "error");
    assert_eq!(ev.error_type.as_deref(), Some("provider_500"));

    let resp = gw.post_behaving("/v1/chat/completions", "ratelimit", body.clone()).await;
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    openai_error(resp, 429).await;

    let resp = gw
        .http
        .post(gw.url("/v1/messages"))
        .header("x-api-key", &gw.key)
        .header("x-fake-behavior", "status=529")
        .json(&json!({"model": "claude-test", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    anthropic_error(resp, 529, "overloaded_error").await;

    // A provider that stalls past the read timeout (3 s in the test config): 504.
    let started = std::time::Instant::now();
    let resp = gw.post_behaving("/v1/chat/completions", "stall_ms=6000", body.clone()).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    openai_error(resp, 504).await;

    // A 200 that is not JSON is relayed as received; the call is recorded without usage.
    let resp = gw.post_behaving("/v1/chat/completions", "garbage", body.clone()).await;
    let rid = request_id(&resp);
    assert_eq!(resp.status(), 200);
    let ev = gw.event(&rid).await;
    assert_eq!(ev.input_tokens, None);
    gw.stop().await;
});
