//! The LLM path's edges: bodies Weir must not read one way while the provider reads another,
//! what crosses to the provider and back, answers too large or endless, providers that echo
//! their credentials, and metric labels a client cannot grow.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{wait_for_event, Backend, GatewayOptions, TestGateway, ADMIN_TOKEN, PROVIDER_KEY};

fn chat(content: &str) -> Value {
    json!({"model": "gpt-test", "messages": [{"role": "user", "content": content}]})
}

async fn raw_post(gw: &TestGateway, path: &str, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = gw.http.post(gw.url(path)).bearer_auth(&gw.key).header("content-type", "application/json").body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_body_naming_a_top_level_member_twice_is_refused_before_anything_goes_upstream() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    // Checked and priced as one model, served as another by a provider that keeps the first.
    let body = r#"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"model":"gpt-expensive"}"#;
    let resp = raw_post(&gw, "/v1/chat/completions", body, &[]).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "duplicate_member");
    assert!(v["error"]["message"].as_str().unwrap().contains("`model` twice"), "{v}");
    let body = r#"{"model":"claude-test","max_tokens":5,"max_tokens":50000,"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = raw_post(&gw, "/v1/messages", body, &[]).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(gw.fake.state.requests().is_empty(), "a refused body reached the provider");
    gw.stop().await;
}

#[tokio::test]
async fn bodies_nested_deeper_than_mcp_allows_are_refused() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    let deep = format!(r#"{{"model":"gpt-test","messages":[{{"role":"user","content":{}"hi"{}}}]}}"#, "[".repeat(5000), "]".repeat(5000));
    let resp = raw_post(&gw, "/v1/chat/completions", &deep, &[]).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("deeper than 127"), "{v}");
    // Brackets in text are text.
    let resp = gw.post("/v1/chat/completions", chat(&"[{".repeat(2000))).await;
    assert_eq!(resp.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn a_reservation_counts_the_largest_output_cap_for_each_answer_asked_for() {
    let limits = "[[limits.budgets]]\nagent = \"*\"\ntokens = 10000000\nperiod = \"hour\"\n".to_string();
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: limits, ..Default::default() }).await;
    let call = |n: u32| {
        let body = json!({"model": "gpt-test", "n": n, "max_tokens": 10, "max_completion_tokens": 100, "messages": [{"role": "user", "content": "hi"}]});
        gw.post("/v1/chat/completions", body)
    };
    let one = call(1).await;
    assert_eq!(one.status(), 200);
    let four = call(4).await;
    assert_eq!(four.status(), 200);
    let one = wait_for_event(&gw.store, &crate::support::request_id(&one), Duration::from_secs(5)).await;
    let four = wait_for_event(&gw.store, &crate::support::request_id(&four), Duration::from_secs(5)).await;
    // Same body length, so the same input bound: the output part is 100 per answer.
    assert_eq!(four.reserved_tokens.unwrap() - one.reserved_tokens.unwrap(), 300, "{one:?} / {four:?}");
    gw.stop().await;
}

#[tokio::test]
async fn only_what_a_provider_needs_crosses_and_its_account_headers_stay_with_weir() {
    let limits = "[[limits.rates]]\nagent = \"*\"\nrpm = 1000\n".to_string();
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { extra_toml: limits, ..Default::default() }).await;
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions?api-version=2024-10-21&x=1"))
        .bearer_auth(&gw.key)
        .header("openai-organization", "org-the-agent-picked")
        .header("openai-project", "proj-the-agent-picked")
        .header("api-key", "azure-key-from-agent")
        .header("openai-beta", "assistants=v2")
        .header("x-stainless-lang", "python")
        .json(&chat("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let sent = gw.fake.state.requests().pop().unwrap();
    assert_eq!(sent.query, None, "no query parameter goes by default");
    for name in ["openai-organization", "openai-project", "api-key", "x-stainless-lang"] {
        assert!(sent.header(name).is_none(), "{name} reached the provider");
    }
    assert_eq!(sent.header("openai-beta"), Some("assistants=v2"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {PROVIDER_KEY}").as_str()));
    // The provider's account (organisation, its rate limits) is not the agent's business ...
    assert!(headers.get("openai-organization").is_none());
    assert!(headers.get("x-ratelimit-limit-requests").map(|v| v.to_str().unwrap()) != Some("10000"));
    assert_eq!(headers.get("openai-processing-ms").unwrap(), "3", "other provider headers pass");
    // ... Weir's own limits are.
    assert_eq!(headers.get("x-ratelimit-limit-requests").unwrap(), "1000");
    let resp = gw.post("/v1/messages", json!({"model": "claude-test", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("anthropic-organization-id").is_none() && resp.headers().get("anthropic-ratelimit-requests-limit").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn a_provider_may_be_given_more_headers_and_query_parameters_by_name() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    // A provider of its own (added by a config edit), pointing at this test's fake.
    let extra = format!(
        "\n[[providers]]\nname = \"azure-like\"\nkind = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"FAKE_PROVIDER_KEY\"\nforward_headers = [\"openai-organization\"]\nforward_query = [\"api-version\"]\n\n[[models]]\nname = \"azure-test\"\ntargets = [{{ provider = \"azure-like\", model = \"gpt-4o-mini\" }}]\n",
        gw.fake.openai_base()
    );
    let text = std::fs::read_to_string(&gw.config_path).unwrap() + &extra;
    std::fs::write(&gw.config_path, text).unwrap();
    crate::support::eventually(Duration::from_secs(5), "the edited config to load", || async { gw.state.runtime.load().config.model("azure-test").is_some() }).await;
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions?api-version=2024-10-21&other=1"))
        .bearer_auth(&gw.key)
        .header("openai-organization", "org-listed")
        .header("openai-beta", "not-listed")
        .json(&json!({"model": "azure-test", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = gw.fake.state.requests().pop().unwrap();
    assert_eq!(sent.header("openai-organization"), Some("org-listed"));
    assert!(sent.header("openai-beta").is_none(), "a list replaces the defaults");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    gw.stop().await;
}

#[tokio::test]
async fn a_provider_echoing_its_key_never_shows_it_to_the_agent_or_the_audit_trail() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    for (path, body) in [("/v1/chat/completions", chat("hi")), ("/v1/messages", json!({"model": "claude-test", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))] {
        let resp = gw.post_behaving(path, "echo_auth", body).await;
        assert_eq!(resp.status(), 401);
        let id = crate::support::request_id(&resp);
        let headers = format!("{:?}", resp.headers());
        let text = resp.text().await.unwrap();
        assert!(text.contains("Incorrect API key provided"), "{text}");
        assert!(!text.contains(PROVIDER_KEY) && !headers.contains(PROVIDER_KEY), "the provider key reached the agent: {text} {headers}");
        assert!(text.contains("[REDACTED]"), "{text}");
        let ev = wait_for_event(&gw.store, &id, Duration::from_secs(5)).await;
        let row = serde_json::to_string(&ev).unwrap();
        assert!(!row.contains(PROVIDER_KEY), "the provider key is in the audit row: {row}");
        assert!(ev.error_message.unwrap_or_default().contains("[REDACTED]"));
    }
    gw.stop().await;
}

/// A gateway whose OpenAI provider answers at most 64 KB.
async fn small_answers() -> TestGateway {
    let gw = TestGateway::start(Backend::Sqlite).await;
    let text = std::fs::read_to_string(&gw.config_path).unwrap().replacen("read_timeout_ms = 3000", "read_timeout_ms = 3000\nmax_response_bytes = 65536", 1);
    std::fs::write(&gw.config_path, text).unwrap();
    crate::support::eventually(Duration::from_secs(5), "the edited config to load", || async {
        gw.state.runtime.load().config.providers["fake-openai"].max_response_bytes == 65536
    })
    .await;
    gw
}

#[tokio::test]
async fn an_answer_past_the_providers_size_cap_is_a_502_in_the_callers_shape() {
    let gw = small_answers().await;
    let resp = gw.post_behaving("/v1/chat/completions", "pad=100000", chat("hi")).await;
    assert_eq!(resp.status(), 502);
    let id = crate::support::request_id(&resp);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_too_large");
    assert!(v["error"]["message"].as_str().unwrap().contains("65536-byte limit"), "{v}");
    let ev = wait_for_event(&gw.store, &id, Duration::from_secs(5)).await;
    assert_eq!(ev.error_type.as_deref(), Some("upstream_too_large"));
    // Within the cap, it passes.
    assert_eq!(gw.post_behaving("/v1/chat/completions", "pad=1000", chat("hi")).await.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn an_endless_stream_ends_with_the_protocols_error_event_at_the_cap() {
    let gw = small_answers().await;
    for behavior in ["endless", "unterminated"] {
        let resp = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&gw.key)
            .header("x-fake-behavior", behavior)
            .json(&json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let id = crate::support::request_id(&resp);
        let body = tokio::time::timeout(Duration::from_secs(10), resp.text()).await.expect("the stream ended").unwrap();
        assert!(body.len() <= 65536 + 1024, "{behavior}: {} bytes relayed", body.len());
        let last = body.trim_end().rsplit("\n\n").next().unwrap();
        assert!(last.starts_with("data: {\"error\"") && last.contains("upstream_too_large"), "{behavior}: ends with {last}");
        let ev = wait_for_event(&gw.store, &id, Duration::from_secs(5)).await;
        assert_eq!(ev.error_type.as_deref(), Some("upstream_too_large"), "{behavior}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn model_names_a_client_makes_up_never_become_metric_labels() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    let metrics = || async { gw.http.get(gw.admin_url("/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().text().await.unwrap() };
    for i in 0..10 {
        let resp = gw.post("/v1/chat/completions", json!({"model": format!("invented-{i}"), "messages": [{"role": "user", "content": "hi"}]})).await;
        assert_eq!(resp.status(), 404);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = metrics().await;
    for i in 10..300 {
        gw.post("/v1/chat/completions", json!({"model": format!("invented-{i}-{}", "x".repeat(i)), "messages": [{"role": "user", "content": "hi"}]})).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = metrics().await;
    assert!(!after.contains("invented-"), "a made-up model became a label");
    assert!(after.contains(r#"gen_ai_request_model="unknown""#));
    // The same series, only their counts grew.
    assert!(after.len() < before.len() + 200, "/metrics grew from {} to {} bytes", before.len(), after.len());
    gw.stop().await;
}
