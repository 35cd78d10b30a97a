//! OpenTelemetry: the tracer, W3C trace-context propagation and the semantic-convention names.
//!
//! Attribute and span names live in [`semconv`] alone (pinned to semconv v1.41), so moving to a
//! later version is one change. Spans are exported over OTLP only when the standard
//! `OTEL_EXPORTER_OTLP_*` variables ask for it; without them spans still carry real trace and
//! span ids, which the audit trail records. Nothing here ever records a secret.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanBuilder, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::config::Env;

/// Names from the OpenTelemetry semantic conventions (v1.41; GenAI and MCP are "development").
pub mod semconv {
    pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
    pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
    pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
    pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
    pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
    pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
    pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
    pub const ERROR_TYPE: &str = "error.type";
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    pub const HTTP_ROUTE: &str = "http.route";
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    pub const SERVER_ADDRESS: &str = "server.address";
    pub const SERVER_PORT: &str = "server.port";
    pub const URL_SCHEME: &str = "url.scheme";
    pub const MCP_METHOD_NAME: &str = "mcp.method.name";
    pub const MCP_SESSION_ID: &str = "mcp.session.id";
    pub const MCP_PROTOCOL_VERSION: &str = "mcp.protocol.version";
    pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
    pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
    pub const JSONRPC_REQUEST_ID: &str = "jsonrpc.request.id";
    pub const RPC_RESPONSE_STATUS_CODE: &str = "rpc.response.status_code";

    // Weir's own.
    pub const WEIR_AGENT: &str = "weir.agent";
    pub const WEIR_END_USER: &str = "weir.end_user";
    pub const WEIR_COST_USD: &str = "weir.cost_usd";
    pub const WEIR_REQUEST_ID: &str = "weir.request_id";
    pub const WEIR_USAGE_ESTIMATED: &str = "weir.usage.estimated";
    pub const WEIR_TIME_TO_FIRST_CHUNK_MS: &str = "weir.time_to_first_chunk_ms";
    pub const WEIR_MCP_SERVER: &str = "weir.mcp.server";
    pub const WEIR_A2A_METHOD: &str = "weir.a2a.method";
    pub const WEIR_A2A_VERSION: &str = "weir.a2a.version";
    pub const WEIR_A2A_TASK_ID: &str = "weir.a2a.task_id";
    pub const WEIR_A2A_TASK_STATE: &str = "weir.a2a.task_state";
    pub const WEIR_POLICY_DECISION: &str = "weir.policy.decision";
    pub const WEIR_APPROVAL_ID: &str = "weir.approval.id";
    pub const WEIR_APPROVAL_STATUS: &str = "weir.approval.status";
    pub const WEIR_GUARDRAIL_NAMES: &str = "weir.guardrail.names";
    pub const WEIR_GUARDRAIL_ACTION: &str = "weir.guardrail.action";
    pub const WEIR_CACHE_OUTCOME: &str = "weir.cache.outcome";
    pub const WEIR_CACHE_ORIGIN: &str = "weir.cache.origin_request_id";
    pub const WEIR_CACHE_SIMILARITY: &str = "weir.cache.similarity";
    pub const WEIR_GUARDRAIL_BLOCKED_BY: &str = "weir.guardrail.blocked_by";
    pub const WEIR_GUARDRAIL_FINDINGS: &str = "weir.guardrail.findings";
}

pub mod queue;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{0}: `{1}` is not one of grpc, http/protobuf")]
    Protocol(String, String),
    #[error("{0}: `{1}` is not one of otlp, none")]
    Exporter(&'static str, String),
    #[error("cannot build the OTLP exporter: {0}")]
    Build(String),
}

/// What the telemetry pipeline did, for `/metrics`.
#[derive(Debug, Default)]
pub struct TelemetryStats {
    pub spans_exported: AtomicU64,
    /// Spans a request offered when the export queue was full.
    pub spans_dropped_queue_full: AtomicU64,
    /// Spans in batches the exporter could not deliver.
    pub spans_dropped_export_failed: AtomicU64,
    pub trace_export_failures: AtomicU64,
    pub metric_export_failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

/// Where and how often metrics are pushed over OTLP.
#[derive(Debug, Clone)]
pub struct MetricsExport {
    pub protocol: Protocol,
    /// The full address: for http/protobuf with the `/v1/metrics` path.
    pub endpoint: String,
    pub headers: std::collections::HashMap<String, String>,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    pub service: String,
}

/// An OTLP signal's settings from the standard variables: the signal's own, else the general
/// ones. `None` when neither endpoint is set or the signal's exporter is `none`.
struct Signal {
    protocol: Protocol,
    endpoint: String,
    headers: std::collections::HashMap<String, String>,
    timeout: std::time::Duration,
}

fn signal(env: &Env, signal: &str, path: &str, exporter_var: &'static str) -> Result<Option<Signal>, TelemetryError> {
    let upper = signal.to_ascii_uppercase();
    match env.get(exporter_var).map(str::trim) {
        None | Some("" | "otlp") => {}
        Some("none") => return Ok(None),
        Some(other) => return Err(TelemetryError::Exporter(exporter_var, other.to_string())),
    }
    let own = env.get(&format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")).filter(|v| !v.is_empty());
    let base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.is_empty());
    if own.is_none() && base.is_none() {
        return Ok(None);
    }
    let own_protocol = format!("OTEL_EXPORTER_OTLP_{upper}_PROTOCOL");
    let protocol_var = if env.get(&own_protocol).is_some() { own_protocol } else { "OTEL_EXPORTER_OTLP_PROTOCOL".to_string() };
    let protocol = match env.get(&protocol_var).unwrap_or("http/protobuf") {
        "grpc" => Protocol::Grpc,
        "http/protobuf" => Protocol::HttpProtobuf,
        other => return Err(TelemetryError::Protocol(protocol_var, other.to_string())),
    };
    // The general endpoint gets the signal's path over HTTP; a signal's own is used as it is.
    let endpoint = match (protocol, own, base) {
        (_, Some(e), _) => e.to_string(),
        (Protocol::Grpc, None, Some(b)) => b.to_string(),
        (Protocol::HttpProtobuf, None, Some(b)) => format!("{}{path}", b.trim_end_matches('/')),
        (_, None, None) => unreachable!("checked above"),
    };
    let headers = parse_headers(env.get(&format!("OTEL_EXPORTER_OTLP_{upper}_HEADERS")).or_else(|| env.get("OTEL_EXPORTER_OTLP_HEADERS")));
    let own_timeout = format!("OTEL_EXPORTER_OTLP_{upper}_TIMEOUT");
    let timeout = millis(env, if env.get(&own_timeout).is_some() { &own_timeout } else { "OTEL_EXPORTER_OTLP_TIMEOUT" }, 10_000);
    Ok(Some(Signal { protocol, endpoint, headers, timeout }))
}

fn millis(env: &Env, name: &str, default: u64) -> std::time::Duration {
    std::time::Duration::from_millis(env.get(name).and_then(|v| v.trim().parse().ok()).filter(|n| *n > 0).unwrap_or(default))
}

/// The tracer provider. Dropping it does not flush; call [`Telemetry::shutdown`].
#[derive(Clone)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    pub tracer: SdkTracer,
    pub exporting: bool,
    pub stats: Arc<TelemetryStats>,
    pub metrics_export: Option<MetricsExport>,
}

impl Telemetry {
    /// Exports spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific
    /// variable) is set, and metrics likewise; `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER`
    /// set to `none` turn either off. Spans go through a bounded queue ([`queue::SpanQueue`]).
    pub fn from_env(env: &Env) -> Result<Self, TelemetryError> {
        let service = env.get("OTEL_SERVICE_NAME").unwrap_or("weir").to_string();
        let resource = Resource::builder().with_service_name(service.clone()).build();
        let stats = Arc::new(TelemetryStats::default());
        let mut builder = SdkTracerProvider::builder().with_resource(resource);
        let traces = signal(env, "traces", "/v1/traces", "OTEL_TRACES_EXPORTER")?;
        let exporting = traces.is_some();
        if let Some(t) = traces {
            use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
            let exporter = match t.protocol {
                Protocol::Grpc => {
                    use opentelemetry_otlp::WithTonicConfig;
                    let mut metadata = tonic::metadata::MetadataMap::new();
                    for (k, v) in &t.headers {
                        if let (Ok(k), Ok(v)) = (k.parse::<tonic::metadata::MetadataKey<tonic::metadata::Ascii>>(), v.parse()) {
                            metadata.insert(k, v);
                        }
                    }
                    opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(t.endpoint).with_timeout(t.timeout).with_metadata(metadata).build()
                }
                Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(t.endpoint)
                    .with_timeout(t.timeout)
                    .with_headers(t.headers)
                    .build(),
            }
            .map_err(|e| TelemetryError::Build(e.to_string()))?;
            let queue = queue::SpanQueue::start(exporter, queue::QueueConfig::from_env(env), stats.clone()).map_err(|e| TelemetryError::Build(e.to_string()))?;
            builder = builder.with_span_processor(queue);
        }
        let metrics_export = signal(env, "metrics", "/v1/metrics", "OTEL_METRICS_EXPORTER")?.map(|m| MetricsExport {
            protocol: m.protocol,
            endpoint: m.endpoint,
            headers: m.headers,
            interval: millis(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000),
            timeout: m.timeout,
            service: service.clone(),
        });
        let provider = builder.build();
        let tracer = provider.tracer("weir");
        Ok(Self { provider, tracer, exporting, stats, metrics_export })
    }

    /// A tracer that records ids but exports nothing (tests, CLI commands).
    pub fn disabled() -> Self {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("weir");
        Self { provider, tracer, exporting: false, stats: Arc::default(), metrics_export: None }
    }

    /// Starts a span under `parent`. When spans are exported it is a real one, built by
    /// `builder`; otherwise only its identity is made — a new span id in the parent's trace (or
    /// a new trace) — which is all the audit trail and `traceparent` need, without building
    /// a span nobody will read on every request.
    pub fn start_span(&self, parent: &Context, builder: impl FnOnce() -> SpanBuilder) -> Context {
        if self.exporting {
            let span = builder().start_with_context(&self.tracer, parent);
            return parent.with_span(span);
        }
        let span = parent.span();
        let p = span.span_context();
        let (trace_id, flags, state) = if p.is_valid() {
            (p.trace_id(), p.trace_flags(), p.trace_state().clone())
        } else {
            (TraceId::from_bytes(nonzero_random()), TraceFlags::SAMPLED, Default::default())
        };
        let span_id = SpanId::from_bytes(nonzero_random());
        parent.with_remote_span_context(SpanContext::new(trace_id, span_id, flags, false, state))
    }

    /// As [`Telemetry::start_span`], for a request of an agent session (`x-weir-session`, or
    /// the MCP session): without a caller's trace, the session's calls share one trace, whose id
    /// is derived from the session; with one, the span follows the caller and links the
    /// session's trace.
    /// A span in the trace of an agent's session (its [`session_context`]), unless the caller
    /// sent a trace of its own (then followed, with a link to the session's trace).
    pub fn start_session_span(&self, parent: &Context, session: Option<&SpanContext>, builder: impl FnOnce() -> SpanBuilder) -> Context {
        let Some(anchor) = session else { return self.start_span(parent, builder) };
        let anchor = anchor.clone();
        if parent.span().span_context().is_valid() {
            return self.start_span(parent, || builder().with_links(vec![opentelemetry::trace::Link::with_context(anchor)]));
        }
        if self.exporting {
            let span = builder().with_trace_id(anchor.trace_id()).start_with_context(&self.tracer, parent);
            return parent.with_span(span);
        }
        let span_id = SpanId::from_bytes(nonzero_random());
        parent.with_remote_span_context(SpanContext::new(anchor.trace_id(), span_id, TraceFlags::SAMPLED, false, Default::default()))
    }

    pub fn shutdown(&self) {
        if self.exporting {
            if let Err(e) = self.provider.force_flush() {
                tracing::warn!(error = %e, "flushing spans failed");
            }
        }
        let _ = self.provider.shutdown();
    }
}

/// The trace of an agent session: its id derived from the agent and the session's name, so
/// every replica puts the session's calls in the same trace, and two agents that happen to use
/// the same name never share one; the span id names the session in links.
pub fn session_context(agent: &str, session: &str) -> SpanContext {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("weir-session\u{0}{agent}\u{0}{session}").as_bytes());
    let mut trace = [0u8; 16];
    trace.copy_from_slice(&digest[..16]);
    let mut span = [0u8; 8];
    span.copy_from_slice(&digest[16..24]);
    // All-zero ids are invalid; a digest that gives one is one in 2^64.
    if trace == [0; 16] {
        trace[15] = 1;
    }
    if span == [0; 8] {
        span[7] = 1;
    }
    SpanContext::new(TraceId::from_bytes(trace), SpanId::from_bytes(span), TraceFlags::SAMPLED, true, Default::default())
}

/// Random bytes that are not all zero (an all-zero id is invalid).
fn nonzero_random<const N: usize>() -> [u8; N] {
    loop {
        let b: [u8; N] = rand::random();
        if b.iter().any(|&x| x != 0) {
            return b;
        }
    }
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas, values URL-encoded.
fn parse_headers(text: Option<&str>) -> std::collections::HashMap<String, String> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().replace("%20", " ")))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

struct HeaderExtract<'a>(&'a HeaderMap);

impl Extractor for HeaderExtract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // The names the W3C propagator asks for on every call, without reading them as text.
        const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
        const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
        match key {
            "traceparent" => self.0.get(TRACEPARENT),
            "tracestate" => self.0.get(TRACESTATE),
            _ => self.0.get(key),
        }
        .and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The caller's trace context from `traceparent`/`tracestate`, or an empty context.
pub fn extract_parent(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtract(headers))
}

/// Writes `traceparent` (and `tracestate`, when there is one) for the span current in `cx`.
/// Written here rather than by the SDK's propagator: this runs on every call, and the header
/// is one fixed format.
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return;
    }
    let mut tp = [0u8; 55];
    tp[..3].copy_from_slice(b"00-");
    hex_into(&sc.trace_id().to_bytes(), &mut tp[3..35]);
    tp[35] = b'-';
    hex_into(&sc.span_id().to_bytes(), &mut tp[36..52]);
    tp[52] = b'-';
    hex_into(&[sc.trace_flags().to_u8()], &mut tp[53..55]);
    if let Ok(v) = HeaderValue::from_bytes(&tp) {
        headers.insert(HeaderName::from_static("traceparent"), v);
    }
    let state = sc.trace_state().header();
    if !state.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&state) {
            headers.insert(HeaderName::from_static("tracestate"), v);
        }
    }
}

fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
}

/// `(trace_id, span_id)` of the span in `cx`, hex, if it is valid.
pub fn ids(cx: &Context) -> Option<(String, String)> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| (hex::encode(sc.trace_id().to_bytes()), hex::encode(sc.span_id().to_bytes())))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_sessions_calls_share_a_trace_even_when_spans_are_not_exported() {
        let t = Telemetry::disabled();
        let builder = || opentelemetry::trace::SpanBuilder::from_name("x");
        let span = |agent: &str, session: &str| ids(&t.start_session_span(&Context::new(), Some(&session_context(agent, session)), builder)).unwrap();
        let a = span("agent-a", "s-1");
        let b = span("agent-a", "s-1");
        let other = span("agent-a", "s-2");
        let other_agent = span("agent-b", "s-1");
        assert_eq!(a.0, b.0, "one trace");
        assert_ne!(a.1, b.1, "two spans");
        assert_ne!(a.0, other.0);
        assert_ne!(a.0, other_agent.0, "another agent's session of the same name is another trace");
        assert_eq!(a.0, hex::encode(session_context("agent-a", "s-1").trace_id().to_bytes()));
        let none = ids(&t.start_session_span(&Context::new(), None, builder)).unwrap();
        assert_ne!(none.0, a.0);
    }

    use super::*;
    use opentelemetry::trace::{Tracer, TraceContextExt};

    #[test]
    fn caller_traceparent_is_continued_and_reinjected() {
        let telemetry = Telemetry::disabled();
        let mut incoming = HeaderMap::new();
        incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        let parent = extract_parent(&incoming);
        let span = telemetry.tracer.start_with_context("child", &parent);
        let cx = parent.with_span(span);
        let (trace, span_id) = ids(&cx).unwrap();
        assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(span_id, "00f067aa0ba902b7");
        let mut out = HeaderMap::new();
        inject_context(&cx, &mut out);
        let tp = out.get("traceparent").unwrap().to_str().unwrap();
        assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{tp}");
        assert!(tp.contains(&span_id));
    }

    #[test]
    fn unexported_spans_still_have_identities_in_the_callers_trace() {
        let telemetry = Telemetry::disabled();
        let mut incoming = HeaderMap::new();
        incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        let parent = extract_parent(&incoming);
        let cx = telemetry.start_span(&parent, || unreachable!("nothing is built when not exporting"));
        let (trace, span_id) = ids(&cx).unwrap();
        assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(span_id, "00f067aa0ba902b7");
        let child = telemetry.start_span(&cx, || unreachable!());
        assert_eq!(ids(&child).unwrap().0, trace);
        assert_ne!(ids(&child).unwrap().1, span_id);
        let mut out = HeaderMap::new();
        inject_context(&child, &mut out);
        assert_eq!(out.get("traceparent").unwrap().to_str().unwrap(), format!("00-{trace}-{}-01", ids(&child).unwrap().1));
        // No caller trace: a new one.
        let root = telemetry.start_span(&extract_parent(&HeaderMap::new()), || unreachable!());
        assert!(ids(&root).is_some_and(|(t, _)| t != trace));
    }

    #[test]
    fn traceparent_is_written_as_the_sdk_propagator_writes_it() {
        let telemetry = Telemetry::disabled();
        let mut incoming = HeaderMap::new();
        incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
        incoming.insert("tracestate", "vendor=abc,other=1".parse().unwrap());
        let parent = extract_parent(&incoming);
        let cx = parent.with_span(telemetry.tracer.start_with_context("child", &parent));
        let mut ours = HeaderMap::new();
        inject_context(&cx, &mut ours);
        struct Inject<'a>(&'a mut HeaderMap);
        impl opentelemetry::propagation::Injector for Inject<'_> {
            fn set(&mut self, key: &str, value: String) {
                self.0.insert(HeaderName::from_bytes(key.as_bytes()).unwrap(), value.parse().unwrap());
            }
        }
        let mut sdk = HeaderMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut Inject(&mut sdk));
        assert_eq!(ours, sdk);
        let mut none = HeaderMap::new();
        inject_context(&Context::new(), &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn without_traceparent_a_new_trace_starts() {
        let telemetry = Telemetry::disabled();
        let parent = extract_parent(&HeaderMap::new());
        let cx = parent.with_span(telemetry.tracer.start_with_context("root", &parent));
        assert!(ids(&cx).is_some());
    }
}
