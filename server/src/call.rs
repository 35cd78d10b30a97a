//! What every call through Weir shares, whatever its protocol (LLM, MCP): its request id, the
//! agent session it belongs to, the SERVER span that starts and ends it, and the audit event
//! it leaves.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use opentelemetry::trace::{SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::audit::AuditEvent;
use crate::store::now_ms;
use crate::telemetry::{self, semconv, Telemetry};

/// A call's id, as it is recorded and as the client sees it (`x-request-id`, and
/// `request-id`, where Anthropic's SDKs read it).
pub struct RequestId {
    pub id: String,
    header: HeaderValue,
}

impl RequestId {
    pub fn new() -> Self {
        let id = uuid::Uuid::now_v7().to_string();
        let header = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        Self { id, header }
    }

    pub fn header(&self) -> &HeaderValue {
        &self.header
    }

    /// `resp` with this id in its headers.
    pub fn stamp(&self, mut resp: Response) -> Response {
        // Named once, not read from text on every answer.
        const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
        const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
        resp.headers_mut().insert(X_REQUEST_ID, self.header.clone());
        resp.headers_mut().insert(REQUEST_ID, self.header.clone());
        resp
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

/// `x-weir-user`: the end user a call is made for.
pub const WEIR_USER: HeaderName = HeaderName::from_static("x-weir-user");
/// `x-weir-session`: the agent session a call belongs to.
pub const WEIR_SESSION: HeaderName = HeaderName::from_static("x-weir-session");

/// A request header as text, cut to 256 characters; `None` when absent or empty.
pub fn header_str(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(256).collect()).filter(|s: &String| !s.is_empty())
}

/// The agent session a request belongs to (`x-weir-session`): LLM and MCP calls of one
/// session record the same value, so they form one timeline.
pub fn agent_session(headers: &HeaderMap) -> Option<String> {
    header_str(headers, &WEIR_SESSION)
}

/// A new audit event of `kind` in the span of `cx`: its ids and time; the rest to fill in.
pub fn new_event(cx: &Context, kind: &str, request_id: String) -> AuditEvent {
    let (trace_id, span_id) = telemetry::ids(cx).map_or((None, None), |(t, s)| (Some(t), Some(s)));
    AuditEvent { id: uuid::Uuid::now_v7().to_string(), ts: now_ms(), request_id, trace_id, span_id, kind: kind.into(), ..Default::default() }
}

/// The SERVER span a gateway request gets, continuing the caller's trace (or its agent
/// session's).
pub fn start_server_span(telemetry: &Telemetry, parent: &Context, session: Option<&SpanContext>, method: &'static str, route: &'static str, request_id: &str) -> Context {
    telemetry.start_session_span(parent, session, || {
        SpanBuilder::from_name(format!("{method} {route}")).with_kind(SpanKind::Server).with_attributes([
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, method),
            KeyValue::new(semconv::HTTP_ROUTE, route),
            KeyValue::new(semconv::WEIR_REQUEST_ID, request_id.to_string()),
        ])
    })
}

/// Ends the SERVER span of a request with its status.
/// The guardrails' verdicts on a call, on its span: which fired, the most severe action, the
/// one that blocked it, and how many findings in all (never the values).
pub fn guardrail_attributes(cx: &Context, event: &crate::audit::AuditEvent) {
    let span = cx.span();
    let Some(fired) = event.guardrails.as_deref().filter(|_| span.is_recording()) else { return };
    let fired: Vec<crate::guard::engine::Fired> = serde_json::from_str(fired).unwrap_or_default();
    let mut names: Vec<opentelemetry::StringValue> = Vec::new();
    let mut findings = 0i64;
    for f in &fired {
        if !names.iter().any(|n| n.as_str() == f.guardrail) {
            names.push(f.guardrail.clone().into());
        }
        findings += f.counts.values().map(|n| i64::from(*n)).sum::<i64>();
        if f.action == crate::guard::policy::Action::Block {
            span.set_attribute(KeyValue::new(semconv::WEIR_GUARDRAIL_BLOCKED_BY, f.guardrail.clone()));
        }
    }
    span.set_attribute(KeyValue::new(semconv::WEIR_GUARDRAIL_NAMES, opentelemetry::Value::Array(names.into())));
    span.set_attribute(KeyValue::new(semconv::WEIR_GUARDRAIL_FINDINGS, findings));
    if let Some(a) = &event.guardrail_action {
        span.set_attribute(KeyValue::new(semconv::WEIR_GUARDRAIL_ACTION, a.clone()));
    }
}

pub fn end_server_span(cx: &Context, status: u16, error_type: Option<&str>) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    span.set_attribute(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
    if let Some(t) = error_type {
        span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, t.to_string()));
        if status >= 500 {
            span.set_status(Status::error(t.to_string()));
        }
    }
    span.end();
}
