//! Records of MCP requests: one audit event and one SERVER span per request, named as the MCP
//! semantic conventions pin them (`{mcp.method.name} {target}`), continuing the trace in
//! `params._meta.traceparent` (or the HTTP `traceparent`).

use std::time::Instant;

use axum::http::HeaderMap;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use serde_json::Value;

use crate::{call, jsonrpc};
use super::policy::Decision;
use super::session::Session;
use crate::state::AppState;
use crate::audit::{AuditEvent, Captured};
use crate::store::ApprovalRow;
use crate::telemetry::{self, semconv};

pub struct McpRecord {
    event: AuditEvent,
    cx: Context,
    request: Option<bytes::Bytes>,
    /// What the audit copy keeps of the answer, when it is not the answer as sent (a value a
    /// guardrail only flagged is masked there).
    response: Option<Value>,
    capture: Option<usize>,
}

impl McpRecord {
    pub fn begin(state: &AppState, session: &Session, msg: &Value, headers: &HeaderMap, _unused: Option<()>) -> Self {
        // What the client named is kept, within bounds (span names, audit rows).
        let method = crate::audit::clip(jsonrpc::method(msg)).to_string();
        let target = match method.as_str() {
            "tools/call" | "prompts/get" => msg.pointer("/params/name").and_then(Value::as_str),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => msg.pointer("/params/uri").and_then(Value::as_str),
            _ => None,
        }
        .map(|t| crate::audit::clip(t).to_string());
        let rt = state.runtime.load();
        let capture = rt.config.audit.capture_bodies.then_some(rt.config.audit.body_max_bytes);

        // The caller's trace: `_meta.traceparent` first (MCP's own carrier), then HTTP.
        let mut carrier = headers.clone();
        for key in ["traceparent", "tracestate"] {
            if let Some(v) = msg.pointer(&format!("/params/_meta/{key}")).and_then(Value::as_str) {
                if let Ok(hv) = axum::http::HeaderValue::from_str(v) {
                    carrier.insert(key, hv);
                }
            }
        }
        let parent = telemetry::extract_parent(&carrier);
        let tracer = &state.telemetry.tracer;
        let mut attrs = vec![
            KeyValue::new(semconv::MCP_METHOD_NAME, method.clone()),
            KeyValue::new(semconv::MCP_SESSION_ID, session.id.clone()),
            KeyValue::new(semconv::MCP_PROTOCOL_VERSION, session.protocol_version.clone()),
            KeyValue::new(semconv::WEIR_AGENT, session.principal.agent_name.clone()),
        ];
        if let Some(id) = msg.get("id") {
            attrs.push(KeyValue::new(semconv::JSONRPC_REQUEST_ID, id.to_string().trim_matches('"').to_string()));
        }
        if method == "tools/call" {
            attrs.push(KeyValue::new(semconv::GEN_AI_OPERATION_NAME, "execute_tool"));
            if let Some(t) = &target {
                attrs.push(KeyValue::new(semconv::GEN_AI_TOOL_NAME, t.clone()));
            }
        }
        let name = match target {
            Some(t) => format!("{method} {t}"),
            None => method.clone(),
        };
        let cx = state.telemetry.start_session_span(&parent, Some(&session.trace_anchor), || tracer.span_builder(name).with_kind(SpanKind::Server).with_attributes(attrs));
        let event = AuditEvent {
            operation: method,
            agent_id: Some(session.principal.agent_id.clone()),
            agent_name: Some(session.principal.agent_name.clone()),
            key_id: session.principal.key_id.clone(),
            end_user: session.principal.end_user.clone(),
            // The agent session: `x-weir-session` on this request, else the one sent at
            // `initialize`, else the MCP session (as `trace_session` says) — the value an LLM
            // call of the same session records, so both form one timeline.
            session_id: Some(call::agent_session(headers).unwrap_or_else(|| session.trace_session.clone())),
            mcp_session_id: Some(session.id.clone()),
            mcp_server: session.scope.clone(),
            ..call::new_event(&cx, "mcp", uuid::Uuid::now_v7().to_string())
        };
        let request = msg.get("params").map(|p| bytes::Bytes::from(p.to_string()));
        Self { event, cx, request, response: None, capture }
    }

    /// Carries this request's trace to the backend in `params._meta` (`traceparent`, and
    /// `tracestate` when there is one), so the backend's own spans join the agent's trace.
    pub fn propagate(&self, msg: &mut Value) {
        let mut carrier = HeaderMap::new();
        telemetry::inject_context(&self.cx, &mut carrier);
        if carrier.is_empty() {
            return;
        }
        let Some(params) = msg.as_object_mut().map(|m| m.entry("params").or_insert_with(|| Value::Object(Default::default()))) else { return };
        let Some(params) = params.as_object_mut() else { return };
        let Some(meta) = params.entry("_meta").or_insert_with(|| Value::Object(Default::default())).as_object_mut() else { return };
        for (k, v) in &carrier {
            if let Ok(v) = v.to_str() {
                meta.insert(k.as_str().to_string(), Value::String(v.to_string()));
            }
        }
    }

    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The agent session this request belongs to.
    pub fn session_id(&self) -> Option<&str> {
        self.event.session_id.as_deref()
    }

    /// How long the call waited for a person's decision: left out of the latency rollups.
    pub fn set_approval_wait(&mut self, waited: std::time::Duration) {
        self.event.approval_wait_ms = Some(waited.as_secs_f64() * 1000.0);
    }

    /// The approval a held call waited for, and how it ended.
    pub fn set_approval(&mut self, id: &str, status: &str) {
        self.event.approval_id = Some(id.to_string());
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(semconv::WEIR_APPROVAL_ID, id.to_string()));
        span.set_attribute(KeyValue::new(semconv::WEIR_APPROVAL_STATUS, status.to_string()));
    }

    pub fn set_backend(&mut self, server: &str, backend_session: Option<String>) {
        self.event.mcp_server = Some(server.to_string());
        if backend_session.is_some() {
            self.event.backend_session_id = backend_session;
        }
    }

    pub fn set_tool(&mut self, server: &str, prefixed: &str) {
        self.event.mcp_server = Some(server.to_string());
        self.event.tool_name = Some(crate::audit::clip(prefixed).to_string());
    }

    /// A guardrail check's verdict, added to the event's.
    pub fn guarded(&mut self, verdict: &crate::guard::engine::Verdict) {
        verdict.record(&mut self.event);
    }

    /// What the audit copy keeps of the request's params (masked by a guardrail).
    pub fn set_request(&mut self, params: &Value) {
        self.request = Some(bytes::Bytes::from(params.to_string()));
    }

    /// What the audit copy keeps of the answer.
    pub fn set_response(&mut self, answer: Value) {
        self.response = Some(answer);
    }

    pub fn set_decision(&mut self, d: &Decision) {
        self.event.policy_decision = Some(d.label().to_string());
        self.event.policy_rule = d.rule().and_then(|r| i64::try_from(r).ok());
        self.cx.span().set_attribute(KeyValue::new(semconv::WEIR_POLICY_DECISION, d.label()));
    }

    pub fn finish_ok(self, state: &AppState, answer: &Value, started: Instant) {
        self.finish(state, 200, None, answer, started);
    }

    pub fn finish_error(self, state: &AppState, status: u16, error_type: &str, answer: &Value, started: Instant) {
        self.finish(state, status, Some(error_type), answer, started);
    }

    fn finish(mut self, state: &AppState, status: u16, error_type: Option<&str>, answer: &Value, started: Instant) {
        let e = &mut self.event;
        e.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        e.status_code = i64::from(status);
        let span = self.cx.span();
        if let Some(s) = &e.mcp_server {
            span.set_attribute(KeyValue::new(semconv::WEIR_MCP_SERVER, s.clone()));
        }
        match error_type {
            None => e.outcome = "ok".into(),
            Some(t) => {
                e.outcome = "error".into();
                e.error_type = Some(t.to_string());
                e.error_message = jsonrpc::error_of(answer)
                    .map(|(_, m)| m)
                    .or_else(|| answer.pointer("/result/content/0/text").and_then(Value::as_str).map(|s| s.chars().take(500).collect()));
                span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, t.to_string()));
                if let Some((code, _)) = jsonrpc::error_of(answer) {
                    span.set_attribute(KeyValue::new(semconv::RPC_RESPONSE_STATUS_CODE, code.to_string()));
                }
                span.set_status(Status::error(t.to_string()));
            }
        }
        call::guardrail_attributes(&self.cx, e);
        span.end();
        let answer = self.response.as_ref().unwrap_or(answer);
        let captured = self.capture.map(|max| Captured {
            request: self.request.take(),
            response: answer.get("result").or_else(|| answer.get("error")).map(|r| bytes::Bytes::from(r.to_string())),
            max_bytes: max,
        });
        state.audit.record(self.event, captured);
    }
}

/// The audit event of a decision on a held call — approved, denied (by whom), expired or
/// abandoned — and its span, in the trace of the call it decided when that is known.
pub fn record_decision(state: &AppState, row: &ApprovalRow, trace_parent: Option<&Context>) {
    let status = row.status.as_str();
    let name = format!("approval {status} {}", row.tool);
    let parent = trace_parent.cloned().unwrap_or_default();
    let tracer = &state.telemetry.tracer;
    let attrs = vec![
        KeyValue::new(semconv::WEIR_APPROVAL_ID, row.id.clone()),
        KeyValue::new(semconv::WEIR_APPROVAL_STATUS, status),
        KeyValue::new(semconv::GEN_AI_TOOL_NAME, row.tool.clone()),
        KeyValue::new(semconv::WEIR_MCP_SERVER, row.server.clone()),
    ];
    let cx = state.telemetry.start_span(&parent, || tracer.span_builder(name).with_kind(SpanKind::Internal).with_attributes(attrs));
    cx.span().end();
    let rt = state.runtime.load();
    let captured = rt.config.audit.capture_bodies.then(|| Captured {
        request: Some(bytes::Bytes::from(row.arguments.to_string())),
        response: None,
        max_bytes: rt.config.audit.body_max_bytes,
    });
    let event = AuditEvent {
        operation: status.into(),
        agent_id: row.agent_id.clone(),
        agent_name: row.agent_name.clone(),
        end_user: row.end_user.clone(),
        session_id: row.session_id.clone(),
        status_code: 200,
        outcome: "ok".into(),
        error_message: row.reason.clone(),
        mcp_server: Some(row.server.clone()),
        tool_name: Some(row.tool.clone()),
        policy_decision: Some(status.into()),
        policy_rule: row.rule,
        approval_id: Some(row.id.clone()),
        decided_by: row.decided_by.clone(),
        ..call::new_event(&cx, "approval", uuid::Uuid::now_v7().to_string())
    };
    state.audit.record(event, captured);
}
