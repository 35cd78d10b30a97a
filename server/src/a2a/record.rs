//! Records of A2A requests: one audit event (`kind = "a2a"`) and one `invoke_agent {target}`
//! SERVER span per request. The span continues the caller's `traceparent`; without one, the
//! agent session's trace (`x-weir-session`, else the A2A `contextId`), so an agent's LLM,
//! tool and agent calls of one session form one trace.

use std::time::Instant;

use axum::http::HeaderMap;
use bytes::Bytes;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use serde_json::Value;

use super::protocol::{TaskFacts, Version};
use crate::audit::{AuditEvent, Captured};
use crate::call;
use crate::state::AppState;
use crate::telemetry::{self, semconv};

pub struct A2aRecord {
    event: AuditEvent,
    cx: Context,
    request: Option<Bytes>,
    response: Option<Bytes>,
    capture: Option<usize>,
    started: Instant,
}

/// Who is calling, as the record names them.
pub struct Caller<'a> {
    pub agent_id: &'a str,
    pub agent_name: &'a str,
    pub key_id: Option<&'a str>,
    pub end_user: Option<String>,
}

impl A2aRecord {
    /// `method`: the JSON-RPC method, or the REST method and path.
    #[expect(clippy::too_many_arguments, reason = "every fact a record starts with is named by the caller")]
    pub fn begin(state: &AppState, caller: &Caller<'_>, target: &str, method: &str, version: Version, context_id: Option<&str>, headers: &HeaderMap, request_id: &str, started: Instant) -> Self {
        let rt = state.runtime.load();
        let capture = rt.config.audit.capture_bodies.then_some(rt.config.audit.body_max_bytes);
        let session = call::agent_session(headers).or_else(|| context_id.map(|c| crate::audit::clip(c).to_string()));
        let anchor = session.as_deref().map(|s| telemetry::session_context(caller.agent_id, s));
        let parent = telemetry::extract_parent(headers);
        let method = crate::audit::clip(method).to_string();
        let mut attrs = vec![
            KeyValue::new(semconv::GEN_AI_OPERATION_NAME, "invoke_agent"),
            KeyValue::new(semconv::GEN_AI_AGENT_NAME, target.to_string()),
            KeyValue::new(semconv::WEIR_A2A_METHOD, method.clone()),
            KeyValue::new(semconv::WEIR_A2A_VERSION, version.as_str()),
            KeyValue::new(semconv::WEIR_AGENT, caller.agent_name.to_string()),
            KeyValue::new(semconv::WEIR_REQUEST_ID, request_id.to_string()),
        ];
        if let Some(c) = context_id {
            attrs.push(KeyValue::new(semconv::GEN_AI_CONVERSATION_ID, crate::audit::clip(c).to_string()));
        }
        let tracer = &state.telemetry.tracer;
        let cx = state.telemetry.start_session_span(&parent, anchor.as_ref(), || tracer.span_builder(format!("invoke_agent {target}")).with_kind(SpanKind::Server).with_attributes(attrs));
        let event = AuditEvent {
            operation: method,
            agent_id: Some(caller.agent_id.to_string()),
            agent_name: Some(caller.agent_name.to_string()),
            key_id: caller.key_id.map(str::to_string),
            end_user: caller.end_user.clone(),
            session_id: session,
            a2a_target: Some(target.to_string()),
            a2a_context_id: context_id.map(|c| crate::audit::clip(c).to_string()),
            ..call::new_event(&cx, "a2a", request_id.to_string())
        };
        Self { event, cx, request: None, response: None, capture, started }
    }

    pub fn context(&self) -> &Context {
        &self.cx
    }

    pub fn set_client_ip(&mut self, ip: std::net::IpAddr) {
        self.event.client_ip = Some(ip.to_string());
    }

    pub fn set_streamed(&mut self) {
        self.event.streamed = true;
    }

    /// The first event of a stream arrived.
    pub fn first_event(&mut self) {
        if self.event.ttft_ms.is_none() {
            self.event.ttft_ms = Some(self.started.elapsed().as_secs_f64() * 1000.0);
        }
    }

    pub fn set_decision(&mut self, allowed: bool, rule: Option<usize>) {
        let label = if allowed { "allow" } else { "deny" };
        self.event.policy_decision = Some(label.into());
        self.event.policy_rule = rule.and_then(|r| i64::try_from(r).ok());
        self.cx.span().set_attribute(KeyValue::new(semconv::WEIR_POLICY_DECISION, label));
    }

    pub fn set_skill(&mut self, skill: &str) {
        self.event.tool_name = Some(crate::audit::clip(skill).to_string());
    }

    /// What a result or event said of the task (the latest word counts).
    pub fn task(&mut self, facts: &TaskFacts) {
        if let Some(t) = &facts.task_id {
            if self.event.a2a_task_id.is_none() {
                self.cx.span().set_attribute(KeyValue::new(semconv::WEIR_A2A_TASK_ID, t.clone()));
            }
            self.event.a2a_task_id = Some(crate::audit::clip(t).to_string());
        }
        if let Some(c) = &facts.context_id {
            if self.event.a2a_context_id.is_none() {
                self.event.a2a_context_id = Some(crate::audit::clip(c).to_string());
            }
            // A first message names no context; the one its answer opens is its session (the
            // span's trace was chosen before: later calls of the context share theirs).
            if self.event.session_id.is_none() {
                self.event.session_id = Some(crate::audit::clip(c).to_string());
            }
        }
        if let Some(s) = &facts.state {
            self.event.a2a_task_state = Some(s.clone());
        }
    }

    /// The task a request names (before the target answers).
    pub fn named_task(&mut self, task: &str) {
        self.event.a2a_task_id = Some(crate::audit::clip(task).to_string());
    }

    pub fn guarded(&mut self, verdict: &crate::guard::engine::Verdict) {
        verdict.record(&mut self.event);
    }

    pub fn set_request(&mut self, body: Bytes) {
        if self.capture.is_some() {
            self.request = Some(body);
        }
    }

    pub fn set_response(&mut self, body: Bytes) {
        if self.capture.is_some() {
            self.response = Some(body);
        }
    }

    pub fn capturing(&self) -> bool {
        self.capture.is_some()
    }

    pub fn finish_ok(self, state: &AppState, status: u16) {
        self.finish(state, status, None, None);
    }

    pub fn finish_error(self, state: &AppState, status: u16, error_type: &str, message: Option<String>) {
        self.finish(state, status, Some(error_type), message);
    }

    fn finish(mut self, state: &AppState, status: u16, error_type: Option<&str>, message: Option<String>) {
        let e = &mut self.event;
        e.latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        e.status_code = i64::from(status);
        let span = self.cx.span();
        if let Some(s) = &e.a2a_task_state {
            span.set_attribute(KeyValue::new(semconv::WEIR_A2A_TASK_STATE, s.clone()));
        }
        span.set_attribute(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
        match error_type {
            None => e.outcome = "ok".into(),
            Some(t) => {
                e.outcome = if t == "client_cancelled" { "cancelled".into() } else { "error".into() };
                e.error_type = Some(t.to_string());
                e.error_message = message.map(|m| m.chars().take(500).collect());
                span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, t.to_string()));
                span.set_status(Status::error(t.to_string()));
            }
        }
        call::guardrail_attributes(&self.cx, e);
        span.end();
        let captured = self.capture.map(|max| Captured { request: self.request.take(), response: self.response.take(), max_bytes: max });
        state.audit.record(self.event, captured);
    }
}

/// The message of a JSON-RPC error answer or a REST error body.
pub fn error_message(body: &Value) -> Option<String> {
    body.pointer("/error/message").and_then(Value::as_str).map(str::to_string)
}
