//! The LLM routes forward faithfully, stream chunk by chunk, and record every call.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::both;
use crate::support::*;

async fn sse_events(resp: reqwest::Response) -> Vec<String> {
    let text = resp.text().await.expect("stream body");
    text.split("\n\n").filter(|e| !e.trim().is_empty()).map(str::to_string).collect()
}

both!(chat_is_forwarded_and_recorded, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("x-weir-session", "sess-1")
        .header("x-weir-user", "alice")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "say hello to me"}], "vendor_extension": {"keep": [1, 2]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], weir_fake_provider::REPLY);
    assert_eq!(body["usage"]["prompt_tokens"], 5);

    let up = gw.fake.state.requests();
    let up = up.last().unwrap();
    assert_eq!(up.body["model"], "gpt-4o-mini", "the target's model name goes upstream");
    assert_eq!(up.body["vendor_extension"], json!({"keep": [1, 2]}), "unknown fields pass through untouched");
    assert_eq!(up.header("authorization"), Some(format!("Bearer {PROVIDER_KEY}").as_str()));
    assert!(up.headers.iter().all(|(_, v)| !v.contains(&gw.key)), "the Weir key never goes upstream");
    assert!(up.header("x-weir-session").is_none());
    let tp = up.header("traceparent").expect("traceparent propagated");
    assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "the caller's trace continues: {tp}");

    let ev = gw.event(&rid).await;
    assert_eq!(ev.agent_name.as_deref(), Some("bot"));
    assert_eq!(ev.operation, "chat");
    assert_eq!(ev.model_requested.as_deref(), Some("gpt-test"));
    assert_eq!(ev.model_served.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(ev.provider.as_deref(), Some("fake-openai"));
    assert_eq!(ev.session_id.as_deref(), Some("sess-1"));
    assert_eq!(ev.end_user.as_deref(), Some("alice"));
    assert_eq!(ev.status_code, 200);
    assert_eq!(ev.outcome, "ok");
    assert_eq!(ev.input_tokens, Some(5));
    assert_eq!(ev.output_tokens, Some(5));
    assert!(!ev.usage_estimated);
    let cost = ev.cost_usd.unwrap();
    assert!((cost - (5.0 * 1.0 + 5.0 * 2.0) / 1e6).abs() < 1e-12, "{cost}");
    assert_eq!(ev.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert!(ev.request_body.as_deref().unwrap().contains("say hello to me"));
    assert!(ev.response_body.as_deref().unwrap().contains(weir_fake_provider::REPLY));
    assert!(ev.latency_ms > 0.0);
    gw.stop().await;
});

both!(chat_stream_hides_the_usage_chunk_weir_asked_for, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let rid = request_id(&resp);
    let events = sse_events(resp).await;
    assert_eq!(events.last().unwrap(), "data: [DONE]");
    assert!(events.iter().all(|e| !e.contains("\"choices\":[]")), "no usage-only chunk reaches a client that did not ask: {events:?}");
    let text: String = events
        .iter()
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, weir_fake_provider::REPLY);
    let up = gw.fake.state.requests();
    assert_eq!(up.last().unwrap().body["stream_options"]["include_usage"], true, "Weir asks upstream for usage");
    let ev = gw.event(&rid).await;
    assert!(ev.streamed);
    assert_eq!(ev.input_tokens, Some(2));
    assert_eq!(ev.output_tokens, Some(5));
    assert!(!ev.usage_estimated);
    assert!(ev.ttft_ms.unwrap() <= ev.latency_ms);
    gw.stop().await;
});

both!(chat_stream_keeps_the_usage_chunk_the_client_asked_for, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw
        .post("/v1/chat/completions", json!({"model": "gpt-test", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    let events = sse_events(resp).await;
    let usage_chunk = events.iter().find(|e| e.contains("\"choices\":[]")).expect("usage chunk forwarded");
    assert!(usage_chunk.contains("\"prompt_tokens\":2"));
    gw.stop().await;
});

both!(anthropic_messages_plain_and_streamed, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw
        .http
        .post(gw.url("/v1/messages"))
        .header("x-api-key", &gw.key)
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-test", "max_tokens": 50, "metadata": {"user_id": "u-7"}, "messages": [{"role": "user", "content": "one two three"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], weir_fake_provider::REPLY);
    let up = gw.fake.state.requests();
    assert_eq!(up.last().unwrap().header("x-api-key"), Some(PROVIDER_KEY));
    let ev = gw.event(&rid).await;
    assert_eq!(ev.operation, "messages");
    assert_eq!(ev.end_user.as_deref(), Some("u-7"));
    // The fake counts every word it is sent, the metadata's user id included.
    assert_eq!(ev.input_tokens, Some(5));
    assert_eq!(ev.output_tokens, Some(5));
    assert!((ev.cost_usd.unwrap() - (5.0 * 3.0 + 5.0 * 15.0) / 1e6).abs() < 1e-12);

    let resp = gw
        .http
        .post(gw.url("/v1/messages"))
        .header("x-api-key", &gw.key)
        .json(&json!({"model": "claude-test", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "one two three"}]}))
        .send()
        .await
        .unwrap();
    let rid = request_id(&resp);
    let events = sse_events(resp).await;
    assert!(events.first().unwrap().starts_with("event: message_start"));
    assert!(events.last().unwrap().starts_with("event: message_stop"));
    let ev = gw.event(&rid).await;
    assert!(ev.streamed);
    assert_eq!(ev.input_tokens, Some(4));
    assert_eq!(ev.output_tokens, Some(5));
    gw.stop().await;
});

both!(responses_and_embeddings, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw.post("/v1/responses", json!({"model": "gpt-test", "input": "a b c"})).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["output"][0]["content"][0]["text"], weir_fake_provider::REPLY);
    let ev = gw.event(&rid).await;
    assert_eq!(ev.operation, "responses");
    assert_eq!(ev.input_tokens, Some(4));

    let resp = gw.post("/v1/responses", json!({"model": "gpt-test", "input": "a b c", "stream": true})).await;
    let rid = request_id(&resp);
    let events = sse_events(resp).await;
    assert!(events.last().unwrap().contains("response.completed"));
    let ev = gw.event(&rid).await;
    assert_eq!(ev.output_tokens, Some(5));
    assert!(!ev.usage_estimated);

    let resp = gw.post("/v1/embeddings", json!({"model": "embed-test", "input": ["x y", "z"]})).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let ev = gw.event(&rid).await;
    assert_eq!(ev.operation, "embeddings");
    assert_eq!(ev.input_tokens, Some(4));
    assert_eq!(ev.output_tokens, Some(0));
    gw.stop().await;
});

both!(models_list_follows_the_key_allowlist, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let v: Value = gw.http.get(gw.url("/v1/models")).bearer_auth(&gw.key).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"gpt-test") && ids.contains(&"claude-test"), "{ids:?}");
    let (limited, _) = gw.new_key("narrow", Some(vec!["claude-test".into()]), None).await;
    let v: Value = gw
        .http
        .get(gw.url("/v1/models"))
        .header("x-api-key", &limited)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["claude-test"]);
    assert_eq!(v["has_more"], false, "Anthropic clients get Anthropic's list shape");
    gw.stop().await;
});

both!(stream_is_forwarded_as_it_arrives, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let started = std::time::Instant::now();
    let resp = gw.post_behaving("/v1/chat/completions", "chunk_delay_ms=300,chunks=4", json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "hi"}]})).await;
    let mut stream = resp.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(String::from_utf8_lossy(&first).starts_with("data: "));
    let mut rest = Vec::new();
    while let Some(c) = stream.next().await {
        rest.extend_from_slice(&c.unwrap());
    }
    let total = started.elapsed();
    // 7 events 300 ms apart: the first must arrive long before the last.
    assert!(first_at < Duration::from_millis(900), "first chunk after {first_at:?}");
    assert!(total >= Duration::from_millis(1800), "whole stream took {total:?}");
    assert!(total - first_at >= Duration::from_millis(1200), "chunks were not buffered");
    gw.stop().await;
});

both!(cut_stream_is_estimated_and_flagged, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw.post_behaving("/v1/chat/completions", "cut_after=4", json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "tell me a long story"}]})).await;
    let rid = request_id(&resp);
    assert_eq!(resp.status(), 200);
    let body = resp.text().await;
    assert!(body.is_err(), "a stream the provider broke off is broken for the client too");
    let ev = gw.event(&rid).await;
    assert_eq!(ev.outcome, "error");
    assert_eq!(ev.error_type.as_deref(), Some("stream_interrupted"));
    assert!(ev.usage_estimated, "usage never arrived, so it is estimated");
    assert!(ev.input_tokens.unwrap() >= 5, "{:?}", ev.input_tokens);
    assert!(ev.output_tokens.unwrap() >= 2, "{:?}", ev.output_tokens);
    assert!(ev.cost_usd.is_some());
    gw.stop().await;
});

both!(client_disconnect_cancels_upstream, |backend| async move {
    let gw = TestGateway::start(backend).await;
    // Non-streaming: the client gives up while the provider stalls.
    let req = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("x-fake-behavior", "stall_ms=5000")
        .header("x-weir-session", "cancel-1")
        .json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}))
        .timeout(Duration::from_millis(400))
        .send()
        .await;
    assert!(req.is_err());
    let fake = gw.fake.state.clone();
    eventually(Duration::from_secs(3), "the provider call to be abandoned", || {
        let fake = fake.clone();
        async move { fake.abandoned.load(std::sync::atomic::Ordering::SeqCst) >= 1 }
    })
    .await;
    // Streaming: the client drops the stream half-way.
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("x-fake-behavior", "chunk_delay_ms=200,chunks=20")
        .header("x-weir-session", "cancel-2")
        .json(&json!({"model": "gpt-test", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let rid = request_id(&resp);
    let mut s = resp.bytes_stream();
    let _ = s.next().await;
    let _ = s.next().await;
    drop(s);
    eventually(Duration::from_secs(3), "the provider stream to be abandoned", || {
        let fake = fake.clone();
        async move { fake.abandoned.load(std::sync::atomic::Ordering::SeqCst) >= 2 }
    })
    .await;
    let ev = gw.event(&rid).await;
    assert_eq!(ev.outcome, "cancelled");
    assert_eq!(ev.status_code, 499);
    assert!(ev.usage_estimated);
    let evs = gw
        .store
        .query_audit_events(&weir_server::store::AuditFilter { session: Some("cancel-1".into()), limit: 5, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].outcome, "cancelled");
    gw.stop().await;
});

both!(secrets_in_bodies_are_redacted_and_capture_can_be_off, |backend| async move {
    let gw = TestGateway::start(backend).await;
    let resp = gw
        .post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "my key is sk-abcdefghijklmnopqrstuvwxyz123456 keep it"}]}))
        .await;
    let rid = request_id(&resp);
    let ev = gw.event(&rid).await;
    let captured = ev.request_body.unwrap();
    assert!(!captured.contains("sk-abcdefghijklmnopqrstuvwxyz123456"), "{captured}");
    assert!(captured.contains("[REDACTED]"));
    // Body capture switched off for one agent.
    gw.store.set_agent_capture_bodies("bot", Some(false)).await.unwrap();
    weir_server::app::reload_from_store(&gw.state).await.unwrap();
    let resp = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "private"}]})).await;
    let rid = request_id(&resp);
    let ev = gw.event(&rid).await;
    assert_eq!(ev.request_body, None);
    assert_eq!(ev.response_body, None);
    assert_eq!(ev.input_tokens, Some(2), "the call itself is still recorded");
    gw.stop().await;
});
