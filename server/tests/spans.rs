//! Spans and metrics reach an OTLP collector over http/protobuf and gRPC, named and attributed
//! as the GenAI semantic conventions say, with no secret in them; a collector that stalls or
//! fails never holds a request, and what it costs is counted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{MetricsService, MetricsServiceServer};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyVal;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use weir_server::telemetry::Telemetry;

use crate::support::*;

type Spans = Arc<Mutex<Vec<(String, Span)>>>;
type Exports = Arc<Mutex<Vec<ExportMetricsServiceRequest>>>;

fn collect(spans: &Spans, req: ExportTraceServiceRequest) {
    let mut out = spans.lock().unwrap();
    for rs in req.resource_spans {
        let service = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
            .and_then(|a| a.value.as_ref())
            .and_then(|v| match &v.value {
                Some(AnyVal::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                out.push((service.clone(), s));
            }
        }
    }
}

/// An OTLP/HTTP receiver on port 0.
async fn http_collector() -> (String, Spans) {
    let (endpoint, spans, _) = http_otlp().await;
    (endpoint, spans)
}

fn protobuf(msg: impl Message) -> ([(&'static str, &'static str); 1], Vec<u8>) {
    ([("content-type", "application/x-protobuf")], msg.encode_to_vec())
}

/// An OTLP/HTTP receiver of traces and metrics on port 0.
async fn http_otlp() -> (String, Spans, Exports) {
    let spans: Spans = Arc::default();
    let exports: Exports = Arc::default();
    let (s2, e2) = (spans.clone(), exports.clone());
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let spans = s2.clone();
                async move {
                    collect(&spans, ExportTraceServiceRequest::decode(body).expect("protobuf"));
                    protobuf(ExportTraceServiceResponse::default())
                }
            }),
        )
        .route(
            "/v1/metrics",
            axum::routing::post(move |body: axum::body::Bytes| {
                let exports = e2.clone();
                async move {
                    exports.lock().unwrap().push(ExportMetricsServiceRequest::decode(body).expect("protobuf"));
                    protobuf(ExportMetricsServiceResponse::default())
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), spans, exports)
}

struct GrpcCollector(Spans);

#[tonic::async_trait]
impl TraceService for GrpcCollector {
    async fn export(&self, req: tonic::Request<ExportTraceServiceRequest>) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        collect(&self.0, req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

struct GrpcMetrics(Exports);

#[tonic::async_trait]
impl MetricsService for GrpcMetrics {
    async fn export(&self, req: tonic::Request<ExportMetricsServiceRequest>) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(req.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

async fn grpc_collector() -> (String, Spans) {
    let (endpoint, spans, _) = grpc_otlp().await;
    (endpoint, spans)
}

/// An OTLP/gRPC receiver of traces and metrics on port 0.
async fn grpc_otlp() -> (String, Spans, Exports) {
    let spans: Spans = Arc::default();
    let exports: Exports = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let traces = TraceServiceServer::new(GrpcCollector(spans.clone()));
    let metrics = MetricsServiceServer::new(GrpcMetrics(exports.clone()));
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(traces)
            .add_service(metrics)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    (format!("http://{addr}"), spans, exports)
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a AnyVal> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn attr_str(span: &Span, key: &str) -> Option<String> {
    match attr(span, key) {
        Some(AnyVal::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn attr_f64(span: &Span, key: &str) -> Option<f64> {
    match attr(span, key) {
        Some(AnyVal::DoubleValue(d)) => Some(*d),
        _ => None,
    }
}

fn attr_int(span: &Span, key: &str) -> Option<i64> {
    match attr(span, key) {
        Some(AnyVal::IntValue(i)) => Some(*i),
        _ => None,
    }
}

async fn exercise(protocol: &str, endpoint: &str, spans: &Spans) {
    let env = test_env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_SERVICE_NAME", "weir-under-test"),
    ]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    assert!(telemetry.exporting);
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), ..Default::default() }).await;
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hello there"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = gw.post("/v1/chat/completions", json!({"model": "dead-test", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 502);
    let key = gw.key.clone();
    // Stopping flushes the exporter.
    gw.stop().await;
    eventually(Duration::from_secs(5), "spans to arrive", || {
        let n = spans.lock().unwrap().len();
        async move { n >= 6 }
    })
    .await;
    let spans = spans.lock().unwrap().clone();
    assert!(spans.iter().all(|(svc, _)| svc == "weir-under-test"));
    let chat: Vec<&Span> = spans.iter().map(|(_, s)| s).filter(|s| s.name == "chat gpt-test").collect();
    assert_eq!(chat.len(), 1, "{:?}", spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>());
    let chat = chat[0];
    assert_eq!(chat.kind, 3, "CLIENT");
    assert_eq!(hex(&chat.trace_id), "0af7651916cd43dd8448eb211c80319c", "continues the caller's trace");
    let server = spans.iter().map(|(_, s)| s).find(|s| s.span_id == chat.parent_span_id).expect("server span is the parent");
    assert_eq!(server.name, "POST /v1/chat/completions");
    assert_eq!(server.kind, 2, "SERVER");
    assert_eq!(hex(&server.parent_span_id), "b7ad6b7169203331");
    assert_eq!(attr_int(server, "http.response.status_code"), Some(200));
    assert_eq!(attr_str(chat, "gen_ai.operation.name").as_deref(), Some("chat"));
    assert_eq!(attr_str(chat, "gen_ai.provider.name").as_deref(), Some("openai"));
    assert_eq!(attr_str(chat, "gen_ai.request.model").as_deref(), Some("gpt-test"));
    assert_eq!(attr_str(chat, "gen_ai.response.model").as_deref(), Some("gpt-4o-mini"));
    assert_eq!(attr_int(chat, "gen_ai.usage.input_tokens"), Some(3));
    assert_eq!(attr_int(chat, "gen_ai.usage.output_tokens"), Some(5));
    assert_eq!(attr_str(chat, "weir.agent").as_deref(), Some("bot"));
    assert!(matches!(attr(chat, "weir.cost_usd"), Some(AnyVal::DoubleValue(c)) if *c > 0.0));
    match attr(chat, "gen_ai.response.finish_reasons") {
        Some(AnyVal::ArrayValue(a)) => assert_eq!(a.values.len(), 1),
        other => panic!("finish reasons: {other:?}"),
    }
    // An unreachable provider is tried max_attempts (3) times: each attempt is its own CLIENT
    // span under the one SERVER span.
    let failed: Vec<&Span> = spans.iter().map(|(_, s)| s).filter(|s| s.name == "chat dead-test").collect();
    assert_eq!(failed.len(), 3, "one span per attempt");
    assert!(failed.iter().all(|s| attr_str(s, "error.type").as_deref() == Some("provider_unreachable")));
    assert!(failed.iter().all(|s| s.parent_span_id == failed[0].parent_span_id && s.trace_id == failed[0].trace_id));
    let dump = format!("{spans:?}");
    assert!(!dump.contains(&key), "no agent key in any span");
    assert!(!dump.contains(PROVIDER_KEY), "no provider key in any span");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_export_over_http_protobuf() {
    let (endpoint, spans) = http_collector().await;
    exercise("http/protobuf", &endpoint, &spans).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_export_over_grpc() {
    let (endpoint, spans) = grpc_collector().await;
    exercise("grpc", &endpoint, &spans).await;
}

async fn mcp_post(gw: &TestGateway, session: Option<&str>, body: serde_json::Value) -> reqwest::Response {
    let mut req = gw.http.post(gw.url("/mcp")).bearer_auth(&gw.key).header("accept", "application/json, text/event-stream").json(&body);
    if let Some(s) = session {
        req = req.header("mcp-session-id", s).header("mcp-protocol-version", "2025-11-25");
    }
    req.send().await.unwrap()
}

/// MCP requests are SERVER spans named `{mcp.method.name} {target}` with the MCP and GenAI
/// attributes DESIGN.md pins; a `traceparent` in `params._meta` is the parent, and the backend
/// receives the trace in its own `params._meta`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_requests_are_spans_that_continue_the_callers_trace_into_the_backend() {
    let (endpoint, spans) = http_collector().await;
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), extra_toml: mcp_fixture_toml(""), ..Default::default() }).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let resp = mcp_post(&gw, None, init).await;
    assert_eq!(resp.status(), 200);
    let session = resp.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let call = json!({"jsonrpc": "2.0", "id": "call-7", "method": "tools/call", "params": {"name": "fix__meta", "arguments": {}, "_meta": {"traceparent": caller}}});
    let resp = mcp_post(&gw, Some(&session), call).await;
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.unwrap();
    let backend_meta: serde_json::Value = serde_json::from_str(answer["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let denied = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "nowhere__tool", "arguments": {}}});
    assert_eq!(mcp_post(&gw, Some(&session), denied).await.status(), 200);
    gw.stop().await;
    eventually(Duration::from_secs(5), "MCP spans to arrive", || {
        let n = spans.lock().unwrap().iter().filter(|(_, s)| s.name.starts_with("tools/call")).count();
        async move { n >= 2 }
    })
    .await;
    let spans = spans.lock().unwrap().clone();
    let find = |name: &str| spans.iter().map(|(_, s)| s).find(|s| s.name == name).unwrap_or_else(|| panic!("no span `{name}` in {:?}", spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>())).clone();

    let call = find("tools/call fix__meta");
    assert_eq!(call.kind, 2, "SERVER");
    assert_eq!(hex(&call.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736", "continues the trace in params._meta");
    assert_eq!(hex(&call.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(attr_str(&call, "mcp.method.name").as_deref(), Some("tools/call"));
    assert_eq!(attr_str(&call, "mcp.session.id").as_deref(), Some(session.as_str()));
    assert_eq!(attr_str(&call, "mcp.protocol.version").as_deref(), Some("2025-11-25"));
    assert_eq!(attr_str(&call, "gen_ai.tool.name").as_deref(), Some("fix__meta"));
    assert_eq!(attr_str(&call, "gen_ai.operation.name").as_deref(), Some("execute_tool"));
    assert_eq!(attr_str(&call, "jsonrpc.request.id").as_deref(), Some("call-7"));
    assert_eq!(attr_str(&call, "weir.agent").as_deref(), Some("bot"));
    assert_eq!(attr_str(&call, "weir.mcp.server").as_deref(), Some("fix"));
    // The backend's part of the trace hangs under Weir's span.
    let to_backend = backend_meta["traceparent"].as_str().expect("traceparent in the backend's params._meta");
    assert_eq!(to_backend, format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", hex(&call.span_id)));

    let init = find("initialize");
    assert_eq!(attr_str(&init, "mcp.method.name").as_deref(), Some("initialize"));
    assert!(attr_str(&init, "gen_ai.operation.name").is_none(), "only tools/call is execute_tool");

    let failed = find("tools/call nowhere__tool");
    assert_eq!(attr_str(&failed, "error.type").as_deref(), Some("unknown_tool"));
    assert_eq!(attr_str(&failed, "rpc.response.status_code").as_deref(), Some("-32602"));
    assert_eq!(failed.status.as_ref().map(|s| s.code), Some(2), "ERROR status");
}

/// Without a caller's trace, an agent session's LLM and MCP calls share one trace derived from
/// `x-weir-session`; a caller's `traceparent` mid-session is followed, with a link to the
/// session's trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sessions_llm_and_mcp_calls_form_one_trace() {
    let (endpoint, spans) = http_collector().await;
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), extra_toml: mcp_fixture_toml(""), ..Default::default() }).await;
    let session = "trip-planner-7f3a";
    let agent_id = gw.store.agent_by_name("bot").await.unwrap().unwrap().id;
    let want = hex(&weir_server::telemetry::session_context(&agent_id, session).trace_id().to_bytes());
    let chat = |traceparent: Option<&'static str>| {
        let mut req = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&gw.key).header("x-weir-session", session);
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        req.json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "plan a trip"}]})).send()
    };
    let first = chat(None).await.unwrap();
    assert_eq!(first.status(), 200);
    let first_id = request_id(&first);
    assert_eq!(chat(None).await.unwrap().status(), 200);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let resp = gw.http.post(gw.url("/mcp")).bearer_auth(&gw.key).header("x-weir-session", session).header("accept", "application/json, text/event-stream").json(&init).send().await.unwrap();
    let mcp_session = resp.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fix__echo", "arguments": {"text": "hi"}}});
    assert_eq!(mcp_post(&gw, Some(&mcp_session), call).await.status(), 200);
    // The caller starts tracing mid-session.
    assert_eq!(chat(Some("00-11111111111111111111111111111111-2222222222222222-01")).await.unwrap().status(), 200);
    let event = wait_for_event(&gw.store, &first_id, Duration::from_secs(5)).await;
    assert_eq!(event.trace_id.as_deref(), Some(want.as_str()), "the audit trail names the session's trace");
    gw.stop().await;
    eventually(Duration::from_secs(5), "the session's spans", || {
        let n = spans.lock().unwrap().len();
        async move { n >= 8 }
    })
    .await;
    let spans: Vec<Span> = spans.lock().unwrap().iter().map(|(_, s)| s.clone()).collect();
    let servers: Vec<&Span> = spans.iter().filter(|s| s.kind == 2).collect();
    let in_session: Vec<&str> = servers.iter().filter(|s| hex(&s.trace_id) == want).map(|s| s.name.as_str()).collect();
    assert_eq!(in_session.iter().filter(|n| **n == "POST /v1/chat/completions").count(), 2, "{in_session:?}");
    assert!(in_session.contains(&"initialize") && in_session.contains(&"tools/call fix__echo"), "{in_session:?}");
    // The LLM calls' CLIENT spans hang under their SERVER spans, in the same trace.
    let chats: Vec<&Span> = spans.iter().filter(|s| s.name == "chat gpt-test" && hex(&s.trace_id) == want).collect();
    assert_eq!(chats.len(), 2);
    for c in chats {
        assert!(servers.iter().any(|s| s.span_id == c.parent_span_id), "a chat span's parent is its server span");
    }
    let followed = servers.iter().find(|s| hex(&s.trace_id) == "11111111111111111111111111111111").expect("the caller's trace is followed");
    assert_eq!(hex(&followed.parent_span_id), "2222222222222222");
    assert!(followed.links.iter().any(|l| hex(&l.trace_id) == want), "linked to the session's trace");
}

/// An A2A call is an `invoke_agent {agent}` SERVER span: continuing the caller's `traceparent`
/// (and passing its own to the agent), or, without one, in the trace of the agent session its
/// message's `contextId` names — the trace an LLM call with `x-weir-session` of that name joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_calls_are_invoke_agent_spans_in_the_callers_or_the_sessions_trace() {
    let agent = A2aAgent::start().await;
    let (endpoint, spans) = http_collector().await;
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    let extra_toml = format!("[[a2a.agents]]\nname = \"helper\"\nurl = \"{}\"\n", agent.url);
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), extra_toml, ..Default::default() }).await;
    let send = |text: &str, context: &str, traceparent: Option<&'static str>| {
        let body = json!({"jsonrpc": "2.0", "id": "a-1", "method": "SendMessage", "params": {"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER", "contextId": context, "parts": [{"text": text}]}}});
        let mut req = gw.http.post(gw.url("/a2a/helper")).bearer_auth(&gw.key).header("a2a-version", "1.0");
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        req.json(&body).send()
    };
    // The caller's trace: followed, and the agent receives Weir's span as its parent.
    let resp = send("headers", "ctx-traced", Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.unwrap();
    let seen: serde_json::Value = serde_json::from_str(answer["result"]["task"]["artifacts"][0]["parts"][0]["text"].as_str().unwrap()).unwrap();
    // The session's trace: an LLM call of session `trip-9` and an A2A call whose context is it.
    let session = "trip-9";
    let agent_id = gw.store.agent_by_name("bot").await.unwrap().unwrap().id;
    let session_trace = hex(&weir_server::telemetry::session_context(&agent_id, session).trace_id().to_bytes());
    let chat = gw.http.post(gw.url("/v1/chat/completions")).bearer_auth(&gw.key).header("x-weir-session", session);
    assert_eq!(chat.json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "plan"}]})).send().await.unwrap().status(), 200);
    assert_eq!(send("hello", session, None).await.unwrap().status(), 200);
    gw.stop().await;
    eventually(Duration::from_secs(5), "the A2A spans", || {
        let n = spans.lock().unwrap().iter().filter(|(_, s)| s.name == "invoke_agent helper").count();
        async move { n >= 2 }
    })
    .await;
    let spans: Vec<Span> = spans.lock().unwrap().iter().map(|(_, s)| s.clone()).collect();
    let invoked: Vec<&Span> = spans.iter().filter(|s| s.name == "invoke_agent helper").collect();
    let traced = invoked.iter().find(|s| hex(&s.trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736").expect("the caller's trace is followed");
    assert_eq!(traced.kind, 2, "SERVER");
    assert_eq!(hex(&traced.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(attr_str(traced, "gen_ai.operation.name").as_deref(), Some("invoke_agent"));
    assert_eq!(attr_str(traced, "gen_ai.agent.name").as_deref(), Some("helper"));
    assert_eq!(attr_str(traced, "gen_ai.conversation.id").as_deref(), Some("ctx-traced"));
    assert_eq!(attr_str(traced, "weir.a2a.method").as_deref(), Some("SendMessage"));
    assert_eq!(attr_str(traced, "weir.a2a.version").as_deref(), Some("1.0"));
    assert_eq!(attr_str(traced, "weir.a2a.task_state").as_deref(), Some("completed"));
    assert!(attr_str(traced, "weir.a2a.task_id").is_some_and(|t| !t.is_empty()));
    assert_eq!(attr_str(traced, "weir.agent").as_deref(), Some("bot"));
    assert_eq!(seen["traceparent"].as_str(), Some(format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", hex(&traced.span_id)).as_str()), "the agent continues Weir's span: {seen}");
    assert!(seen.get("authorization").is_none(), "the caller's key never reaches the agent: {seen}");
    let want = invoked.iter().find(|s| attr_str(s, "gen_ai.conversation.id").as_deref() == Some(session)).map(|s| hex(&s.trace_id)).expect("the session's A2A span");
    let chat_server = spans.iter().find(|s| s.kind == 2 && s.name == "POST /v1/chat/completions").expect("the LLM call's span");
    assert_eq!(want, session_trace, "the A2A call's trace is the session's");
    assert_eq!(hex(&chat_server.trace_id), want, "the LLM call and the A2A call of one session are one trace");
}

/// The last export's metric named `name` (OpenTelemetry name).
fn last_metric(exports: &Exports, name: &str) -> Option<opentelemetry_proto::tonic::metrics::v1::Metric> {
    let exports = exports.lock().unwrap();
    exports.iter().rev().flat_map(|r| &r.resource_metrics).flat_map(|rm| &rm.scope_metrics).flat_map(|sm| &sm.metrics).find(|m| m.name == name).cloned()
}

fn kv_str(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        AnyVal::StringValue(s) => Some(s.clone()),
        _ => None,
    })
}

async fn metrics_exercise(protocol: &str) {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let (endpoint, _spans, exports) = if protocol == "grpc" { grpc_otlp().await } else { http_otlp().await };
    let env = test_env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_SERVICE_NAME", "weir-metrics"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    assert!(telemetry.metrics_export.is_some());
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), ..Default::default() }).await;
    let resp = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hello there"}]})).await;
    assert_eq!(resp.status(), 200);
    eventually(Duration::from_secs(10), "token usage pushed over OTLP", || {
        let m = last_metric(&exports, "gen_ai.client.token.usage");
        async move {
            m.and_then(|m| match m.data {
                Some(Data::Histogram(h)) => Some(h.data_points.iter().any(|p| kv_str(&p.attributes, "gen_ai.token.type").as_deref() == Some("output"))),
                _ => None,
            })
            .unwrap_or(false)
        }
    })
    .await;
    let usage = last_metric(&exports, "gen_ai.client.token.usage").unwrap();
    assert_eq!(usage.unit, "{token}");
    let Some(Data::Histogram(h)) = usage.data else { panic!("a histogram") };
    assert_eq!(h.aggregation_temporality, 2, "cumulative");
    let output = h.data_points.iter().find(|p| kv_str(&p.attributes, "gen_ai.token.type").as_deref() == Some("output")).unwrap();
    assert_eq!(kv_str(&output.attributes, "gen_ai.request.model").as_deref(), Some("gpt-test"));
    assert_eq!(kv_str(&output.attributes, "gen_ai.provider.name").as_deref(), Some("fake-openai"), "the provider as configured");
    assert_eq!(kv_str(&output.attributes, "weir.agent").as_deref(), Some("bot"));
    assert_eq!((output.count, output.sum), (1, Some(5.0)), "one call of 5 output tokens");
    assert_eq!(output.bucket_counts.len(), output.explicit_bounds.len() + 1);
    assert_eq!(output.bucket_counts.iter().sum::<u64>(), 1);
    assert!(output.start_time_unix_nano > 0 && output.time_unix_nano >= output.start_time_unix_nano);
    let duration = last_metric(&exports, "gen_ai.client.operation.duration").expect("operation duration");
    assert_eq!(duration.unit, "s");
    let Some(Data::Sum(rejections)) = last_metric(&exports, "weir.limit.rejections").and_then(|m| m.data) else { panic!("a sum") };
    assert!(rejections.is_monotonic);
    assert!(last_metric(&exports, "weir.audit.queue.depth").is_some_and(|m| matches!(m.data, Some(Data::Gauge(_)))));
    let service = exports.lock().unwrap()[0].resource_metrics[0].resource.as_ref().map(|r| kv_str(&r.attributes, "service.name"));
    assert_eq!(service, Some(Some("weir-metrics".to_string())));
    let key = gw.key.clone();
    gw.stop().await;
    let dump = format!("{:?}", exports.lock().unwrap());
    assert!(!dump.contains(&key) && !dump.contains(PROVIDER_KEY), "no key in any metric");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_export_over_http_protobuf() {
    metrics_exercise("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_export_over_grpc() {
    metrics_exercise("grpc").await;
}

/// A Prometheus sample's value from `/metrics` text.
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok())).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// A collector that accepts connections and never answers: requests are not held, spans that
/// find the queue full are dropped and counted, and batches the exporter gives up on too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_collector_holds_no_request_and_dropped_spans_are_counted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let env = test_env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{addr}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "700"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "4"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"),
        ("OTEL_BSP_SCHEDULE_DELAY", "20"),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    assert!(telemetry.exporting && telemetry.metrics_export.is_none());
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), ..Default::default() }).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..40 {
        let t = std::time::Instant::now();
        let resp = gw.post("/v1/chat/completions", json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]})).await;
        assert_eq!(resp.status(), 200);
        slowest = slowest.max(t.elapsed());
    }
    // The exporter waits 700 ms on each batch; a request that waited on it would show it.
    assert!(slowest < Duration::from_millis(400), "a request took {slowest:?}");
    let scrape = || async { gw.http.get(gw.admin_url("/metrics")).send().await.unwrap().text().await.unwrap() };
    let text = scrape().await;
    let full = sample(&text, "weir_spans_dropped_total{reason=\"queue_full\"}");
    // 40 calls, two spans each (SERVER and CLIENT): at most a batch in flight and a queue
    // of four got through.
    assert!(full >= 70.0, "dropped on a full queue: {full}");
    assert_eq!(sample(&text, "weir_spans_exported_total"), 0.0);
    eventually(Duration::from_secs(5), "a batch the exporter gave up on", || {
        let scrape = scrape();
        async move {
            let text = scrape.await;
            sample(&text, "weir_spans_dropped_total{reason=\"export_failed\"}") >= 2.0 && sample(&text, "weir_telemetry_export_failures_total{signal=\"traces\"}") >= 1.0
        }
    })
    .await;
    gw.stop().await;
}

#[test]
fn telemetry_variables_with_unknown_values_are_refused_by_name() {
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
    let e = Telemetry::from_env(&env).err().expect("refused").to_string();
    assert!(e.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && e.contains("http/json"), "{e}");
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"), ("OTEL_METRICS_EXPORTER", "prometheus")]);
    let e = Telemetry::from_env(&env).err().expect("refused").to_string();
    assert!(e.contains("OTEL_METRICS_EXPORTER"), "{e}");
    // `none` turns a signal off; without an endpoint nothing is exported.
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"), ("OTEL_TRACES_EXPORTER", "none")]);
    let t = Telemetry::from_env(&env).unwrap();
    assert!(!t.exporting && t.metrics_export.as_ref().is_some_and(|m| m.endpoint == "http://127.0.0.1:1/v1/metrics"));
    let t = Telemetry::from_env(&test_env(&[])).unwrap();
    assert!(!t.exporting && t.metrics_export.is_none());
    let env = test_env(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318/custom"), ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf")]);
    assert_eq!(Telemetry::from_env(&env).unwrap().metrics_export.unwrap().endpoint, "http://collector:4318/custom", "a signal's own endpoint is used as it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_hit_says_so_on_its_server_span_with_the_request_it_was_served_from_and_a_semantic_hit_its_similarity() {
    let (endpoint, spans) = http_collector().await;
    let env = test_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
    let telemetry = Telemetry::from_env(&env).expect("telemetry");
    let extra_toml = "[cache]\nenabled = true\n[cache.semantic]\nenabled = true\n".into();
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { telemetry: Some(telemetry), extra_toml, ..Default::default() }).await;
    let body = json!({"model": "gpt-test", "messages": [{"role": "user", "content": "How do I reset my password?"}]});
    let first = gw.post("/v1/chat/completions", body.clone()).await;
    let origin = first.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(first.headers().get("x-weir-cache").and_then(|v| v.to_str().ok()), Some("miss"));
    let second = gw.post("/v1/chat/completions", body).await;
    assert_eq!(second.headers().get("x-weir-cache").and_then(|v| v.to_str().ok()), Some("hit"));
    let paraphrase = json!({"model": "gpt-test", "messages": [{"role": "user", "content": "What are the steps to reset my password?"}]});
    let third = gw.post("/v1/chat/completions", paraphrase).await;
    assert_eq!(third.headers().get("x-weir-cache").and_then(|v| v.to_str().ok()), Some("semantic-hit"));
    let similarity: f64 = third.headers().get("x-weir-cache-similarity").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    gw.stop().await;
    eventually(Duration::from_secs(5), "the server spans", || {
        let n = spans.lock().unwrap().iter().filter(|(_, s)| s.name == "POST /v1/chat/completions").count();
        async move { n >= 3 }
    })
    .await;
    let spans = spans.lock().unwrap().clone();
    let mut server: Vec<&Span> = spans.iter().map(|(_, s)| s).filter(|s| s.name == "POST /v1/chat/completions").collect();
    server.sort_by_key(|s| s.start_time_unix_nano);
    let outcomes: Vec<Option<String>> = server.iter().map(|s| attr_str(s, "weir.cache.outcome")).collect();
    assert_eq!(outcomes, [Some("miss".to_string()), Some("hit".to_string()), Some("semantic_hit".to_string())]);
    assert_eq!(attr_str(server[1], "weir.cache.origin_request_id"), Some(origin.clone()));
    // A semantic hit: the similarity, and the request it was served from.
    assert_eq!(attr_str(server[2], "weir.cache.origin_request_id"), Some(origin));
    let on_span = attr_f64(server[2], "weir.cache.similarity").unwrap_or(0.0);
    assert!(similarity > 0.55 && (on_span - similarity).abs() < 0.001, "{on_span} {similarity}");
    assert_eq!(attr_f64(server[1], "weir.cache.similarity"), None);
    // A hit calls no provider: one CLIENT span, the miss's.
    assert_eq!(spans.iter().filter(|(_, s)| s.name == "chat gpt-test").count(), 1);
}
