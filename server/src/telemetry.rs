//! OpenTelemetry: the tracer, W3C trace-context propagation and the semantic-convention names.
//!
//! Attribute and span names live in [`semconv`] alone (pinned to semconv v1.41), so moving to a
//! later version is one change. Spans are exported over OTLP only when the standard
//! `OTEL_EXPORTER_OTLP_*` variables ask for it; without them spans still carry real trace and
//! span ids, which the audit trail records. Nothing here ever records a secret.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

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
    pub const WEIR_POLICY_DECISION: &str = "weir.policy.decision";
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL: `{0}` is not one of grpc, http/protobuf")]
    Protocol(String),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
}

/// The tracer provider. Dropping it does not flush; call [`Telemetry::shutdown`].
#[derive(Clone)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    pub tracer: SdkTracer,
    pub exporting: bool,
}

impl Telemetry {
    /// Exports over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific variable)
    /// is set; the exporter reads the rest of the standard variables itself.
    pub fn from_env(env: &Env) -> Result<Self, TelemetryError> {
        let service = env.get("OTEL_SERVICE_NAME").unwrap_or("weir").to_string();
        let resource = Resource::builder().with_service_name(service).build();
        let traces_endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        let base_endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT");
        let mut builder = SdkTracerProvider::builder().with_resource(resource);
        let exporting = traces_endpoint.is_some() || base_endpoint.is_some();
        if exporting {
            use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
            let protocol = env
                .get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                .or_else(|| env.get("OTEL_EXPORTER_OTLP_PROTOCOL"))
                .unwrap_or("http/protobuf");
            let headers = parse_headers(env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| env.get("OTEL_EXPORTER_OTLP_HEADERS")));
            let exporter = match protocol {
                "grpc" => {
                    let endpoint = traces_endpoint.or(base_endpoint).unwrap_or("http://localhost:4317").to_string();
                    opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()
                }
                "http/protobuf" => {
                    // The base endpoint gets the signal path; the traces-specific one is used as is.
                    let endpoint = match (traces_endpoint, base_endpoint) {
                        (Some(t), _) => t.to_string(),
                        (None, Some(b)) => format!("{}/v1/traces", b.trim_end_matches('/')),
                        (None, None) => "http://localhost:4318/v1/traces".to_string(),
                    };
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_http()
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_endpoint(endpoint)
                        .with_headers(headers)
                        .build()
                }
                other => return Err(TelemetryError::Protocol(other.to_string())),
            }
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            builder = builder.with_batch_exporter(exporter);
        }
        let provider = builder.build();
        let tracer = provider.tracer("weir");
        Ok(Self { provider, tracer, exporting })
    }

    /// A tracer that records ids but exports nothing (tests, CLI commands).
    pub fn disabled() -> Self {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("weir");
        Self { provider, tracer, exporting: false }
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
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInject<'a>(&'a mut HeaderMap);

impl Injector for HeaderInject<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(k, v);
        }
    }
}

/// The caller's trace context from `traceparent`/`tracestate`, or an empty context.
pub fn extract_parent(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtract(headers))
}

/// Writes `traceparent` (and `tracestate`) for the span current in `cx`.
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInject(headers));
}

/// `(trace_id, span_id)` of the span in `cx`, hex, if it is valid.
pub fn ids(cx: &Context) -> Option<(String, String)> {
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

#[cfg(test)]
mod tests {
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
    fn without_traceparent_a_new_trace_starts() {
        let telemetry = Telemetry::disabled();
        let parent = extract_parent(&HeaderMap::new());
        let cx = parent.with_span(telemetry.tracer.start_with_context("root", &parent));
        assert!(ids(&cx).is_some());
    }
}
