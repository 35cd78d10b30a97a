//! The admin API: token required, agents and keys, audit events with filters and keyset pages.

use serde_json::{json, Value};

use crate::both;
use crate::support::*;

both!(admin_api_requires_the_token, |backend| async move {
    let gw = TestGateway::start(backend).await;
    for path in ["/api/v1/agents", "/api/v1/keys", "/api/v1/audit/events"] {
        let r = gw.http.get(gw.admin_url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        assert!(r.headers().get("www-authenticate").is_some());
        let r = gw.http.get(gw.admin_url(path)).bearer_auth("wrong-token-wrong-token").send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
    }
    let r = gw.http.post(gw.admin_url("/api/v1/agents")).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Health routes stay open, on both ports.
    assert_eq!(gw.http.get(gw.admin_url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(gw.http.get(gw.url("/healthz")).send().await.unwrap().status(), 200);
    let ready: Value = gw.http.get(gw.admin_url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], "up");
    gw.stop().await;
});

both!(agents_and_keys_through_the_admin_api, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let admin = |path: &str| gw.admin_url(path);
    let r = gw.http.post(admin("/api/v1/agents")).bearer_auth(ADMIN_TOKEN).json(&json!({"name": "researcher"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let r = gw.http.post(admin("/api/v1/agents")).bearer_auth(ADMIN_TOKEN).json(&json!({"name": "researcher"})).send().await.unwrap();
    assert_eq!(r.status(), 409, "duplicate agent");
    let r = gw.http.post(admin("/api/v1/agents")).bearer_auth(ADMIN_TOKEN).json(&json!({"name": "bad name!"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = gw.http.post(admin("/api/v1/agents")).bearer_auth(ADMIN_TOKEN).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("invalid JSON"));

    let r = gw
        .http
        .post(admin("/api/v1/keys"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"agent": "researcher", "expires_in": "30d", "models": ["gpt-test"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    let key_id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("wk_"));
    assert!(created["expires_at"].as_i64().unwrap() > weir_server::store::now_ms() + 29 * 86_400_000);

    // Effective at once on this replica.
    let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&key).json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = gw.http.post(gw.url("/v1/messages")).header("x-api-key", &key).json(&json!({"model": "claude-test", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    assert_eq!(r.status(), 403, "allowlist holds");

    let listed: Value = gw.http.get(admin("/api/v1/keys?agent=researcher")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], key_id.as_str());
    assert!(keys[0].get("key").is_none() && !listed.to_string().contains(&key), "a key is shown once, never listed");

    let r = gw.http.post(admin(&format!("/api/v1/keys/{key_id}/revoke"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&key).json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    assert_eq!(r.status(), 401, "revocation is effective at once");
    let r = gw.http.delete(admin("/api/v1/keys/key_nope")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let agent: Value = gw.http.get(admin("/api/v1/agents/researcher")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(agent["agent"]["name"], "researcher");
    assert!(agent["keys"][0]["revoked_at"].is_i64());
    let agents: Value = gw.http.get(admin("/api/v1/agents")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = agents["agents"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["bot", "researcher"]);
    gw.stop().await;
});

both!(audit_events_filter_and_paginate, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let mut rids = Vec::new();
    for i in 0..7 {
        let resp = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&gw.key)
            .header("x-weir-session", if i % 2 == 0 { "even" } else { "odd" })
            .json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        rids.push(request_id(&resp));
    }
    let resp = gw.post("/v1/messages", json!({"model": "claude-test", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})).await;
    rids.push(request_id(&resp));
    for r in &rids {
        gw.event(r).await;
    }
    let get = |q: String| {
        let http = gw.http.clone();
        let url = gw.admin_url(&format!("/api/v1/audit/events{q}"));
        async move {
            let r = http.get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    // Pages of 3, newest first, no overlap, all 8 seen.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=3&cursor={c}"),
            None => "?limit=3".to_string(),
        };
        let page = get(q).await;
        for e in page["events"].as_array().unwrap() {
            seen.push(e["request_id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected = rids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "keyset pages walk newest to oldest exactly once");

    let odd = get("?session=odd".into()).await;
    assert_eq!(odd["events"].as_array().unwrap().len(), 3);
    let claude = get("?model=claude-test".into()).await;
    assert_eq!(claude["events"].as_array().unwrap().len(), 1);
    let by_agent = get("?agent=bot&kind=llm&outcome=ok&status=200".into()).await;
    assert_eq!(by_agent["events"].as_array().unwrap().len(), 8);
    let none = get("?agent=nobody".into()).await;
    assert!(none["events"].as_array().unwrap().is_empty());
    let future = get("?since=2100-01-01T00:00:00Z".into()).await;
    assert!(future["events"].as_array().unwrap().is_empty());

    let one = get(format!("?request_id={}", rids[0])).await;
    let id = one["events"][0]["id"].as_str().unwrap().to_string();
    let r = gw.http.get(gw.admin_url(&format!("/api/v1/audit/events/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for bad in ["?limit=0", "?cursor=%%%", "?since=yesterday", "?status=abc"] {
        let r = gw.http.get(gw.admin_url(&format!("/api/v1/audit/events{bad}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    gw.stop().await;
});

both!(old_audit_events_are_deleted_in_the_background, |backend| async move {
    let gw = TestGateway::start_with(
        backend,
        GatewayOptions { audit_toml: "flush_interval_ms = 50\nretention_days = 2\nretention_interval_secs = 1".into(), ..Default::default() },
    )
    .await;
    let now = weir_server::store::now_ms();
    let event = |id: &str, age_days: i64| weir_server::audit::AuditEvent {
        id: id.into(),
        ts: now - age_days * 86_400_000,
        request_id: format!("r-{id}"),
        kind: "llm".into(),
        operation: "chat".into(),
        status_code: 200,
        outcome: "ok".into(),
        ..Default::default()
    };
    gw.store.insert_audit_events(&[event("old", 3), event("recent", 1)]).await.unwrap();
    let store = gw.store.clone();
    eventually(std::time::Duration::from_secs(5), "the old event to be deleted", || {
        let store = store.clone();
        async move { store.audit_event("old").await.unwrap().is_none() }
    })
    .await;
    assert!(gw.store.audit_event("recent").await.unwrap().is_some(), "events inside the retention window stay");
    gw.stop().await;
});

both!(the_overview_comes_from_hourly_rollups_kept_with_the_events, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": format!("hello number {i}")}]})).await;
        assert_eq!(r.status(), 200);
        ids.push(request_id(&r));
    }
    let r = gw.post("/v1/chat/completions", json!({"model": "dead-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(r.status(), 502);
    ids.push(request_id(&r));
    let mut events = Vec::new();
    for id in &ids {
        events.push(wait_for_event(&gw.store, id, std::time::Duration::from_secs(5)).await);
    }
    let overview: Value = gw.http.get(gw.admin_url("/api/v1/overview")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    let llm = overview["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "llm").expect("an llm row").clone();
    let tokens: i64 = events.iter().map(|e| e.input_tokens.unwrap_or(0) + e.output_tokens.unwrap_or(0)).sum();
    let cost: f64 = events.iter().map(|e| e.cost_usd.unwrap_or(0.0)).sum();
    assert_eq!(llm["requests"], json!(4), "{overview}");
    assert_eq!(llm["errors"], json!(1));
    assert_eq!(llm["tokens"], json!(tokens));
    assert!((llm["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-12);
    // p50 and p95 from the histogram: within a bucket (±10%) of the events' own.
    let mut lat: Vec<f64> = events.iter().map(|e| e.latency_ms).collect();
    lat.sort_by(f64::total_cmp);
    let p50 = llm["p50_ms"].as_f64().unwrap();
    assert!(p50 >= lat[1] * 0.85 && p50 <= lat[1] * 1.15, "p50 {p50} vs {lat:?}");
    assert!(llm["p95_ms"].as_f64().unwrap() >= p50);
    assert_eq!(overview["top_agents"][0]["agent"], json!("bot"));
    assert_eq!(overview["top_agents"][0]["tokens"], json!(tokens));
    // The same events written again (a replayed batch) change nothing.
    gw.store.insert_audit_events(&events).await.unwrap();
    let again: Value = gw.http.get(gw.admin_url("/api/v1/overview")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["kinds"], overview["kinds"]);
    let r = gw.http.get(gw.admin_url("/api/v1/overview?hours=0")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 400);
    gw.stop().await;
});

both!(metrics_follow_the_genai_conventions_with_bounded_labels, |backend| async move {
    let gw = TestGateway::start(backend).await;
    for _ in 0..2 {
        let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&gw.key).header("x-weir-session", "sess-metrics").header("x-weir-user", "alice@example.com").json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(gw.post("/v1/chat/completions", json!({"model": "dead-test", "messages": [{"role": "user", "content": "hi"}]})).await.status(), 502);
    let r = gw.http.put(gw.admin_url("/api/v1/agents/bot/budgets")).bearer_auth(ADMIN_TOKEN).json(&json!({"period": "day", "tokens": 1000})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = gw.http.get(gw.admin_url("/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |series: &str| -> f64 {
        text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or_else(|| panic!("no series {series} in\n{text}"))
    };
    let llm = r#"gen_ai_operation_name="chat",gen_ai_provider_name="fake-openai",gen_ai_request_model="gpt-test",weir_agent="bot""#;
    assert_eq!(value(&format!("gen_ai_client_token_usage_count{{{llm},gen_ai_token_type=\"input\"}}")), 2.0);
    assert_eq!(value(&format!("gen_ai_client_token_usage_count{{{llm},gen_ai_token_type=\"output\"}}")), 2.0);
    assert_eq!(value(&format!("gen_ai_client_operation_duration_seconds_count{{{llm},error_type=\"\"}}")), 2.0);
    assert!(text.contains(r#"error_type="provider_unreachable"}"#), "failed calls keep their error type");
    // dead-test's one target, tried three times.
    assert_eq!(value(r#"weir_failover_attempts_total{target="nowhere/x",outcome="error"}"#), 3.0);
    assert!(value("weir_approvals_pending") == 0.0);
    assert!(text.contains("weir_mcp_tools_flagged{reason=\"findings\"}"));
    let used = value(&format!("gen_ai_client_token_usage_sum{{{llm},gen_ai_token_type=\"input\"}}")) + value(&format!("gen_ai_client_token_usage_sum{{{llm},gen_ai_token_type=\"output\"}}"));
    let remaining = value(r#"weir_budget_remaining{weir_agent="bot",period="day",kind="tokens",model=""}"#);
    assert!(remaining <= 1000.0 && remaining >= 1000.0 - used, "{remaining} of 1000 with {used} used");
    assert!(!text.contains("sess-metrics") && !text.contains("alice@example.com") && !text.contains(&gw.key), "no session, user or key in any label");
    gw.stop().await;
});

both!(the_console_reads_of_the_admin_api_answer_in_their_shapes, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let get = |path: &str| {
        let url = gw.admin_url(path);
        let http = gw.http.clone();
        async move {
            let r = http.get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
            r.json::<Value>().await.unwrap()
        }
    };
    let (_, key_id) = gw.new_key("Support-Bot", None, None).await;
    let (key, _) = gw.new_key("Support-Bot", None, None).await;
    let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&key).header("x-weir-session", "ticket-7").json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    gw.event(&rid).await;

    // Names match whatever their case; other values are kept as typed.
    let found = get("/api/v1/audit/events?agent=support-bot&model=GPT-TEST").await;
    assert_eq!(found["events"].as_array().unwrap().len(), 1, "{found}");
    let none = get("/api/v1/audit/events?agent=nobody").await;
    assert!(none["events"].as_array().unwrap().is_empty());
    let facets = get("/api/v1/audit/facets").await;
    assert!(facets["agents"].as_array().unwrap().contains(&json!("Support-Bot")), "{facets}");
    assert!(facets["models"].as_array().unwrap().contains(&json!("gpt-test")), "{facets}");

    // Sessions, and the overview's series by the hour and the minute.
    let sessions = get("/api/v1/sessions?agent=support-bot").await;
    let s = &sessions["sessions"][0];
    assert_eq!((s["agent"].as_str(), s["session_id"].as_str(), s["llm_calls"].as_i64()), (Some("Support-Bot"), Some("ticket-7"), Some(1)), "{sessions}");
    let o = get("/api/v1/overview").await;
    for series in ["hourly", "last_hour"] {
        let points = o[series]["points"].as_array().unwrap();
        let llm: i64 = points.iter().filter(|p| p["kind"] == "llm").map(|p| p["requests"].as_i64().unwrap()).sum();
        assert_eq!(llm, 1, "{series}: {o}");
    }
    assert_eq!(o["hourly"]["step_ms"], 3_600_000);
    assert_eq!(o["last_hour"]["step_ms"], 60_000);
    assert_eq!(o["pending_approvals"], 0);
    assert_eq!(o["top_agents_by_cost"][0]["agent"], "Support-Bot", "{o}");

    // A provider whose key variable is empty is listed as such.
    let models = get("/api/v1/models").await;
    let keyless = models["providers"].as_array().unwrap().iter().find(|p| p["name"] == "keyless").unwrap();
    assert_eq!((keyless["key_set"].as_bool(), keyless["api_key_env"].as_str()), (Some(false), Some("WEIR_TEST_UNSET_KEY")));

    // A key's model allowlist: set, refused when unknown or empty, cleared with null.
    let patch = |body: Value| gw.http.patch(gw.admin_url(&format!("/api/v1/keys/{key_id}"))).bearer_auth(ADMIN_TOKEN).json(&body).send();
    let r = patch(json!({"models": ["claude-test"]})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["key"]["models"], json!(["claude-test"]));
    let r = patch(json!({"models": ["no-such-model"]})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unknown model `no-such-model`"));
    assert_eq!(patch(json!({"models": []})).await.unwrap().status(), 400);
    let r = patch(json!({"models": null})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["key"]["models"], Value::Null);
    let r = gw.http.patch(gw.admin_url("/api/v1/keys/key_nope")).bearer_auth(ADMIN_TOKEN).json(&json!({"models": null})).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // Budgets in detail: the calls refused in the window, and the use across it.
    let r = gw.http.put(gw.admin_url("/api/v1/agents/Support-Bot/budgets")).bearer_auth(ADMIN_TOKEN).json(&json!({"period": "day", "tokens": 1})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    weir_server::app::reload_from_store(&gw.state).await.unwrap();
    let r = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&key).json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "again"}]})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let refused = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let message = r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("this call needs") && message.contains("of 1 is left"), "{message}");
    gw.event(&refused).await;
    let b = get("/api/v1/agents/Support-Bot/budgets?detail=true").await;
    let day = &b["budgets"][0];
    assert_eq!(day["refused_calls"], 1, "{b}");
    assert!(day["usage"].as_array().is_some(), "{b}");
    let plain = get("/api/v1/agents/Support-Bot/budgets").await;
    assert!(plain["budgets"][0].get("refused_calls").is_none(), "detail only when asked: {plain}");
    gw.stop().await;
});
