//! What one LLM call leaves behind: its audit event and its spans.
//!
//! A [`CallRecorder`] is created once a request is authenticated and travels with the call —
//! into the stream relay for streamed responses. Whichever way the call ends (answered, failed,
//! the client gone), exactly one event is recorded and both spans end: dropping an unfinished
//! recorder records the call as cancelled.

use std::time::Instant;

use bytes::Bytes;
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use super::error::LlmError;
use super::usage::{ResponseFacts, Usage};
use super::Api;
use std::sync::Arc;

use crate::audit::{AuditEvent, AuditSink, Captured};
use crate::limits::{Admission, Limiter};
use crate::config::{Price, Provider};
use crate::telemetry::{self, semconv, Telemetry};

/// How a call ended, as far as the recorder needs to know.
pub struct Ending {
    pub status: u16,
    pub error: Option<(String, String)>,
    pub facts: ResponseFacts,
    /// Output text seen in a stream, for estimating when usage never came.
    pub stream_text: Option<String>,
    pub cancelled: bool,
}

impl Ending {
    pub fn ok(status: u16, facts: ResponseFacts) -> Self {
        Self { status, error: None, facts, stream_text: None, cancelled: false }
    }
    pub fn failed(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error: Some((error_type.to_string(), message.into())),
            facts: ResponseFacts::default(),
            stream_text: None,
            cancelled: false,
        }
    }
}

/// Records one call. Holds the call until it is finished (or dropped, which records it as
/// cancelled); afterwards it holds nothing. The call is boxed: the recorder moves with the call
/// through its stages (and into a stream's relay), a pointer rather than a kilobyte each time.
pub struct CallRecorder(Option<Box<Call>>);

struct Call {
    sink: AuditSink,
    event: AuditEvent,
    started: Instant,
    server_cx: Context,
    client_cx: Option<Context>,
    price: Option<Price>,
    capture_max: Option<usize>,
    request_body: Option<Bytes>,
    response_body: Vec<u8>,
    streamed: bool,
    admission: Option<(Arc<Limiter>, Admission)>,
    attempts: Vec<Attempt>,
}

/// One try of one target, as the audit trail lists it.
#[derive(serde::Serialize)]
struct Attempt {
    provider: String,
    model: String,
    status: Option<u16>,
    error: Option<String>,
    latency_ms: f64,
}

impl CallRecorder {
    pub fn new(sink: AuditSink, event: AuditEvent, started: Instant, server_cx: Context) -> Self {
        Self(Some(Box::new(Call {
            sink,
            event,
            started,
            server_cx,
            client_cx: None,
            price: None,
            capture_max: None,
            request_body: None,
            response_body: Vec::new(),
            streamed: false,
            admission: None,
            attempts: Vec::new(),
        })))
    }

    /// The reservation to settle when the call is over.
    pub fn set_admission(&mut self, limiter: Arc<Limiter>, admission: Admission) {
        if let Some(c) = self.0.as_mut() {
            c.event.reserved_tokens = Some(admission.reserved_tokens);
            c.admission = Some((limiter, admission));
        }
    }

    /// One try of one target, for the audit trail.
    pub fn record_attempt(&mut self, provider: &Provider, model: &str, status: Option<u16>, error: Option<&str>, latency_ms: f64) {
        if let Some(c) = self.0.as_mut() {
            c.attempts.push(Attempt {
                provider: provider.name.clone(),
                model: model.to_string(),
                status,
                error: error.map(str::to_string),
                latency_ms: (latency_ms * 1000.0).round() / 1000.0,
            });
        }
    }

    /// Ends the current attempt's span as failed; the next attempt starts its own.
    pub fn fail_attempt(&mut self, error_type: &str, message: &str) {
        if let Some(cx) = self.0.as_mut().and_then(|c| c.client_cx.take()).filter(|cx| cx.span().is_recording()) {
            let span = cx.span();
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type.to_string()));
            // The provider's words: they may echo what it was sent.
            span.set_status(Status::error(crate::audit::scrub_text(message)));
            span.end();
        }
    }

    /// Rewrites the captured answer (`f` gets it as text; `None` leaves it).
    pub fn rewrite_captured_response(&mut self, f: impl FnOnce(&str) -> Option<String>) {
        let Some(c) = self.0.as_mut().filter(|c| c.capture_max.is_some() && !c.response_body.is_empty()) else { return };
        let valid = match std::str::from_utf8(&c.response_body) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&c.response_body[..valid]).unwrap_or_default();
        if let Some(new) = f(text) {
            c.response_body = new.into_bytes();
        }
    }

    /// The end user the call is for, as far as it is known.
    pub fn end_user(&self) -> Option<String> {
        self.0.as_ref().and_then(|c| c.event.end_user.clone())
    }

    /// Updates the event being built (no-op once recorded).
    pub fn update_event(&mut self, f: impl FnOnce(&mut AuditEvent)) {
        if let Some(c) = self.0.as_mut() {
            f(&mut c.event);
        }
    }

    /// The request body, kept for capture (when `capture_max` is set) and for estimates.
    pub fn set_request_body(&mut self, body: Bytes, capture_max: Option<usize>) {
        if let Some(c) = self.0.as_mut() {
            c.request_body = Some(body);
            c.capture_max = capture_max;
        }
    }

    pub fn set_price(&mut self, price: Option<Price>) {
        if let Some(c) = self.0.as_mut() {
            c.price = price;
        }
    }

    pub fn set_streamed(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.streamed = true;
        }
    }

    /// Starts the `chat {model}` CLIENT span under the server span; its context is what goes
    /// upstream in `traceparent`.
    pub fn start_client_span(&mut self, telemetry: &Telemetry, api: Api, requested_model: &str, provider: &Provider, max_tokens: Option<i64>) -> Context {
        let Some(c) = self.0.as_mut() else { return Context::new() };
        let event = &c.event;
        let cx = telemetry.start_span(&c.server_cx, || {
            let mut attrs = vec![
                KeyValue::new(semconv::GEN_AI_OPERATION_NAME, api.operation_name()),
                KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, provider.kind.as_str()),
                KeyValue::new(semconv::GEN_AI_REQUEST_MODEL, requested_model.to_string()),
                KeyValue::new("weir.provider", provider.name.clone()),
            ];
            if let Some(host) = &provider.server_address {
                attrs.push(KeyValue::new(semconv::SERVER_ADDRESS, host.clone()));
            }
            if let Some(port) = provider.server_port {
                attrs.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
            }
            if let Some(m) = max_tokens {
                attrs.push(KeyValue::new(semconv::GEN_AI_REQUEST_MAX_TOKENS, m));
            }
            if let Some(agent) = &event.agent_name {
                attrs.push(KeyValue::new(semconv::WEIR_AGENT, agent.clone()));
            }
            if let Some(s) = &event.session_id {
                attrs.push(KeyValue::new(semconv::GEN_AI_CONVERSATION_ID, s.clone()));
            }
            SpanBuilder::from_name(format!("{} {requested_model}", api.operation_name())).with_kind(SpanKind::Client).with_attributes(attrs)
        });
        if let Some((trace_id, span_id)) = telemetry::ids(&cx) {
            c.event.trace_id = Some(trace_id);
            c.event.span_id = Some(span_id);
        }
        c.client_cx = Some(cx.clone());
        cx
    }

    pub fn mark_first_chunk(&mut self) {
        if let Some(c) = self.0.as_mut() {
            if c.event.ttft_ms.is_none() {
                c.event.ttft_ms = Some(c.started.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }

    pub fn capture_response(&mut self, chunk: &[u8]) {
        if let Some(c) = self.0.as_mut() {
            if let Some(max) = c.capture_max {
                // A little past the cap so that the writer can say how long the body was.
                let room = (max + 1024).saturating_sub(c.response_body.len());
                c.response_body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
        }
    }

    pub fn fail(self, err: &LlmError) {
        self.finish(Ending::failed(err.status().as_u16(), err.error_type(), err.message.clone()));
    }

    /// Records the call. When a stream ended without the provider's usage, the tokens are
    /// estimated on a blocking thread first.
    pub fn finish(mut self, ending: Ending) {
        if let Some(call) = self.0.take() {
            call.complete(ending);
        }
    }
}

impl Drop for CallRecorder {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            let mut ending = Ending::failed(499, "client_closed", "the client closed the connection before the response completed");
            ending.cancelled = true;
            call.complete(ending);
        }
    }
}

impl Call {
    fn complete(mut self: Box<Self>, ending: Ending) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        // Only a stream that produced output and then stopped short needs an estimate; a call
        // that failed before anything was generated used nothing we can count.
        let needs_estimate = self.streamed && !ending.facts.usage.is_known() && ending.stream_text.is_some();
        let captured = self.capture_max.map(|max| Captured {
            request: self.request_body.clone(),
            response: Some(Bytes::from(std::mem::take(&mut self.response_body))),
            max_bytes: max,
        });
        if needs_estimate {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let body = self.request_body.clone();
                handle.spawn_blocking(move || {
                    let input = body.as_deref().map(super::estimate::estimate_input);
                    let output = ending.stream_text.as_deref().map(super::estimate::count_tokens);
                    let mut ending = ending;
                    ending.facts.usage = Usage { input, output, cached_input: None, reasoning: None };
                    self.write(ending, captured, latency_ms, true);
                });
                return;
            }
        }
        self.write(ending, captured, latency_ms, false);
    }

    fn write(self: Box<Self>, ending: Ending, captured: Option<Captured>, latency_ms: f64, estimated: bool) {
        let Call { sink, mut event, server_cx, client_cx, price, streamed, admission, attempts, .. } = *self;
        if attempts.len() > 1 || attempts.first().is_some_and(|a| a.error.is_some()) {
            event.attempts = serde_json::to_string(&attempts).ok();
        }
        let usage = ending.facts.usage;
        event.latency_ms = latency_ms;
        event.streamed = streamed;
        event.status_code = i64::from(ending.status);
        event.outcome = if ending.cancelled {
            "cancelled".into()
        } else if ending.error.is_some() {
            "error".into()
        } else {
            "ok".into()
        };
        if let Some((ty, msg)) = &ending.error {
            event.error_type = Some(ty.clone());
            event.error_message = Some(msg.clone());
        }
        if let Some(m) = &ending.facts.model {
            event.model_served = Some(m.clone());
        }
        let to_i64 = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        event.input_tokens = to_i64(usage.input);
        event.output_tokens = to_i64(usage.output);
        event.cached_input_tokens = to_i64(usage.cached_input);
        event.reasoning_tokens = to_i64(usage.reasoning);
        event.usage_estimated = estimated;
        if usage.is_known() {
            event.cost_usd = price.map(|p| p.cost(usage.input.unwrap_or(0), usage.cached_input.unwrap_or(0), usage.output.unwrap_or(0)));
        }
        if let Some((limiter, admission)) = admission {
            // Reconcile the reservation to what was really used (nothing, for a call that
            // failed before the provider produced anything).
            let tokens = event.input_tokens.unwrap_or(0) + event.output_tokens.unwrap_or(0);
            let cost = event.cost_usd.unwrap_or(0.0);
            let excess = (tokens - admission.reserved_tokens).max(0);
            if excess > 0 {
                event.excess_tokens = Some(excess);
                tracing::warn!(request_id = %event.request_id, excess, "call used more tokens than it reserved; the excess is charged");
            }
            if !limiter.settle_local(&admission, tokens, cost) {
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        limiter.settle(&admission, tokens, cost).await;
                    });
                }
            }
        }

        if let Some(cx) = client_cx.filter(|cx| cx.span().is_recording()) {
            let span = cx.span();
            if let Some(m) = &ending.facts.model {
                span.set_attribute(KeyValue::new(semconv::GEN_AI_RESPONSE_MODEL, m.clone()));
            }
            if let Some(id) = &ending.facts.id {
                span.set_attribute(KeyValue::new(semconv::GEN_AI_RESPONSE_ID, id.clone()));
            }
            if let Some(n) = event.input_tokens {
                span.set_attribute(KeyValue::new(semconv::GEN_AI_USAGE_INPUT_TOKENS, n));
            }
            if let Some(n) = event.output_tokens {
                span.set_attribute(KeyValue::new(semconv::GEN_AI_USAGE_OUTPUT_TOKENS, n));
            }
            if !ending.facts.finish_reasons.is_empty() {
                let reasons: Vec<opentelemetry::StringValue> = ending.facts.finish_reasons.iter().map(|r| r.clone().into()).collect();
                span.set_attribute(KeyValue::new(semconv::GEN_AI_RESPONSE_FINISH_REASONS, opentelemetry::Value::Array(reasons.into())));
            }
            if let Some(c) = event.cost_usd {
                span.set_attribute(KeyValue::new(semconv::WEIR_COST_USD, c));
            }
            if let Some(t) = event.ttft_ms {
                span.set_attribute(KeyValue::new(semconv::WEIR_TIME_TO_FIRST_CHUNK_MS, t));
            }
            if estimated {
                span.set_attribute(KeyValue::new(semconv::WEIR_USAGE_ESTIMATED, true));
            }
            if let Some((ty, msg)) = &ending.error {
                span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, ty.clone()));
                span.set_status(Status::error(crate::audit::scrub_text(msg)));
            }
            span.end();
        }
        crate::call::guardrail_attributes(&server_cx, &event);
        cache_attributes(&server_cx, &event);
        crate::call::end_server_span(&server_cx, ending.status, ending.error.as_ref().map(|(t, _)| t.as_str()));
        sink.record(event, captured);
    }
}

/// What the response cache did, on the call's SERVER span.
fn cache_attributes(cx: &Context, event: &AuditEvent) {
    let span = cx.span();
    let Some(outcome) = event.cache.as_ref().filter(|_| span.is_recording()) else { return };
    span.set_attribute(KeyValue::new(semconv::WEIR_CACHE_OUTCOME, outcome.clone()));
    if let Some(o) = &event.cache_origin {
        span.set_attribute(KeyValue::new(semconv::WEIR_CACHE_ORIGIN, o.clone()));
    }
    if let Some(s) = event.cache_similarity {
        span.set_attribute(KeyValue::new(semconv::WEIR_CACHE_SIMILARITY, s));
    }
}
