//! Stage 5 of a call: the model's targets in plan order, each attempt its own CLIENT span,
//! each target called in its own protocol (the request translated when the provider speaks
//! another than the client). Retried on connection errors, timeouts, 429 and 5xx, never once
//! an answer is being relayed.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use opentelemetry::Context;
use serde_json::Value;

use super::error::{ErrorKind, LlmError};
use super::pipeline::{LlmCall, Parsed};
use super::record::Ending;
use super::guard_stream::StreamGuard;
use super::relay::StreamStages;
use super::translate::Translation;
use super::{provider_error_message, route, timeout_error, transport_error, upstream, usage, without_secrets, Api, UpstreamBody, UpstreamResponse};
use crate::config::{Model, Provider};
use crate::identity::presented_key;
use crate::state::{AppState, Runtime};
use crate::telemetry;

/// What the provider answered, ready for the client.
#[expect(clippy::large_enum_variant, reason = "a whole answer is the common case: made once per call and consumed at once, unboxed")]
pub enum Answer {
    /// A whole answer, and how the call ended.
    Whole(Response, Ending),
    /// The head of a streamed answer; its body is relayed through the stream's stages.
    Stream(Box<StreamAnswer>),
}

pub struct StreamAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: UpstreamBody,
    /// The protocol the provider streams in.
    pub upstream: Api,
    pub stages: StreamStages,
    pub max_bytes: usize,
}

/// How an attempt's answer reaches the client, should it be streamed.
#[derive(Clone, Copy)]
enum Shape {
    /// As sent; whether Weir asked for the usage chunk the client did not.
    Passed(bool),
    /// Translated; whether the client asked for the usage chunk.
    Translated(Translation, bool),
}

enum Failure {
    Error(LlmError),
    Provider(ProviderFailure),
}

/// The model's targets in plan order until one answers.
pub async fn upstream(call: &mut LlmCall, state: &AppState, rt: &Runtime, model: &Model, parts: &Parts, mut parsed: Parsed<'_>) -> Result<Answer, LlmError> {
    let cfg = &rt.config;
    let client = call.client;
    let failover = &cfg.failover;
    let deadline = Instant::now() + Duration::from_millis(failover.deadline_ms);
    let plan = state.circuits.plan(model);
    // The body as admitted, before any target's rewrites: what a translation starts from.
    let admitted = plan.iter().any(|t| cfg.providers.get(&t.provider).is_some_and(|p| p.kind != client.kind())).then(|| parsed.json.clone());
    let mut last_failure: Option<Failure> = None;
    let mut retry_after: Option<Duration> = None;
    for attempt in 0..failover.max_attempts as usize {
        let target = &plan[attempt % plan.len()];
        if attempt > 0 {
            // A target tried before waits for its retry-after (or a short backoff); a fresh one
            // is tried at once.
            let wait = if attempt >= plan.len() {
                retry_after.take().unwrap_or(Duration::from_millis(100 << attempt.min(5)))
            } else {
                Duration::ZERO
            };
            if wait > Duration::from_millis(failover.max_retry_after_ms) || Instant::now() + wait >= deadline {
                break;
            }
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        let Some(provider) = cfg.providers.get(&target.provider) else { continue };
        let Some(transport) = rt.transports.get(&provider.name) else { continue };
        let rec = &mut call.rec;
        if provider.api_key.is_none() {
            if let Some(var) = &provider.api_key_env {
                let e = LlmError::new(ErrorKind::Unreachable, format!("provider `{}` has no API key: the gateway's {var} is not set", provider.name));
                rec.record_attempt(provider, &target.model, None, Some(e.error_type()), 0.0);
                last_failure = Some(Failure::Error(e));
                continue;
            }
        }
        let circuit = route::target_key(target);
        if !state.circuits.allow(&circuit) {
            rec.record_attempt(provider, &target.model, None, Some("circuit_open"), 0.0);
            if last_failure.is_none() {
                last_failure = Some(Failure::Error(LlmError::new(
                    ErrorKind::Unavailable,
                    format!("every target of model `{}` is failing; try again shortly", model.name),
                )));
            }
            continue;
        }

        // The request in the target's protocol.
        let translation = Translation::between(client, provider.kind)?;
        let upstream_api = translation.map_or(client, Translation::upstream);
        let (upstream_body, shape) = match (translation, &admitted) {
            (Some(t), Some(body)) => {
                let translated = t.request_body(body, &target.model)?;
                (Bytes::from(translated.body), Shape::Translated(t, translated.include_usage))
            }
            _ => {
                let weir_asked_usage = upstream::rewrite_body(client, &mut parsed.json, &target.model);
                let body = if parsed.json.changed() { Bytes::from(parsed.json.to_bytes()) } else { parsed.raw.clone() };
                (body, Shape::Passed(weir_asked_usage))
            }
        };
        rec.update_event(|ev| {
            ev.provider = Some(provider.name.clone());
            ev.model_served = Some(target.model.clone());
            ev.upstream_operation = Some(upstream_api.operation().into());
        });
        let client_cx: Context = rec.start_client_span(&state.telemetry, client, &parsed.facts.model, provider, parsed.facts.max_tokens);
        let mut up_headers = upstream::upstream_headers(&parts.headers, provider, presented_key(&parts.headers));
        telemetry::inject_context(&client_cx, &mut up_headers);
        let attempt_started = Instant::now();
        // Connecting and the wait for the head have their own limits (in the transport); this
        // one keeps the attempt within the call's deadline.
        let head_timeout = (provider.connect_timeout + provider.read_timeout).min(deadline.saturating_duration_since(Instant::now()));
        let query = upstream::upstream_query(parts.uri.query(), provider);
        let send = transport.post(upstream::endpoint_path(provider, upstream_api), query.as_deref(), up_headers, upstream_body);
        let resp = match tokio::time::timeout(head_timeout, send).await {
            Err(_) => Err(timeout_error(provider)),
            Ok(Err(e)) => Err(transport_error(provider, &e)),
            Ok(Ok(r)) => Ok(r),
        };
        let elapsed_ms = attempt_started.elapsed().as_secs_f64() * 1000.0;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                state.circuits.failure(&circuit, failover);
                rec.record_attempt(provider, &target.model, None, Some(e.error_type()), elapsed_ms);
                rec.fail_attempt(e.error_type(), &e.message);
                last_failure = Some(Failure::Error(e));
                continue;
            }
        };
        let status = resp.status;
        if status.is_success() {
            state.circuits.success(&circuit);
            rec.record_attempt(provider, &target.model, Some(status.as_u16()), None, elapsed_ms);
            return success(call, provider, resp, upstream_api, translation, shape).await;
        }

        // An error answer: read it (what a provider echoes of its credentials removed), then
        // retry or pass it through.
        let resp_headers = upstream::downstream_headers(&resp.headers, call.request_id.header());
        let bytes = match tokio::time::timeout(provider.request_timeout, resp.body.collect(provider.max_response_bytes)).await {
            Ok(Ok(b)) => without_secrets(b),
            Ok(Err(_)) | Err(_) => Bytes::new(),
        };
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        if retryable {
            state.circuits.failure(&circuit, failover);
            retry_after = resp_headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|secs| Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
        } else {
            // The provider is healthy; the request is what it refused.
            state.circuits.success(&circuit);
        }
        let error_type = format!("provider_{}", status.as_u16());
        let rec = &mut call.rec;
        rec.record_attempt(provider, &target.model, Some(status.as_u16()), Some(&error_type), elapsed_ms);
        let failure = ProviderFailure { provider: provider.name.clone(), status, headers: resp_headers, bytes, translation };
        if !retryable {
            return Ok(failure.into_answer(client, call.request_id.header()));
        }
        rec.fail_attempt(&error_type, &provider_error_message(&failure.bytes));
        last_failure = Some(Failure::Provider(failure));
    }
    match last_failure {
        Some(Failure::Provider(f)) => Ok(f.into_answer(client, call.request_id.header())),
        Some(Failure::Error(e)) => Err(e),
        None => Err(LlmError::new(ErrorKind::Unavailable, format!("no target of model `{}` could be tried", model.name))),
    }
}

/// A provider's own error answer, relayed in the caller's shape.
struct ProviderFailure {
    provider: String,
    status: StatusCode,
    headers: HeaderMap,
    bytes: Bytes,
    /// The translation of the attempt that failed: its error is said in the client's shape.
    translation: Option<Translation>,
}

impl ProviderFailure {
    fn into_answer(self, client: Api, rid: &HeaderValue) -> Answer {
        let message = provider_error_message(&self.bytes);
        let ending = Ending::failed(self.status.as_u16(), &format!("provider_{}", self.status.as_u16()), message.clone());
        let json_error = serde_json::from_slice::<Value>(&self.bytes).is_ok_and(|v| v.get("error").is_some());
        // A translated call's error is said again in the client's protocol; otherwise the
        // provider's JSON error passes through as it is.
        let body = match self.translation {
            Some(t) => Some(Bytes::from(t.error_body(self.status, &self.bytes))),
            None if json_error => Some(self.bytes),
            None => None,
        };
        if let Some(body) = body {
            let mut out = Response::new(Body::from(body));
            *out.status_mut() = self.status;
            *out.headers_mut() = self.headers;
            out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Answer::Whole(out, ending);
        }
        let kind = match self.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::BadUpstream,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Unavailable,
            StatusCode::GATEWAY_TIMEOUT => ErrorKind::Timeout,
            s if s.is_client_error() => ErrorKind::BadRequest,
            _ => ErrorKind::BadUpstream,
        };
        let mut out = LlmError::new(kind, format!("provider `{}` answered HTTP {}: {message}", self.provider, self.status.as_u16())).to_response(client.dialect());
        *out.status_mut() = self.status;
        if let Some(v) = self.headers.get(header::RETRY_AFTER) {
            out.headers_mut().insert(header::RETRY_AFTER, v.clone());
        }
        out.headers_mut().insert("x-request-id", rid.clone());
        out.headers_mut().insert("request-id", rid.clone());
        Answer::Whole(out, ending)
    }
}

/// A 2xx from the provider: a stream's head, or the whole answer read (and translated).
async fn success(call: &mut LlmCall, provider: &Provider, resp: UpstreamResponse, upstream_api: Api, translation: Option<Translation>, shape: Shape) -> Result<Answer, LlmError> {
    let status = resp.status;
    let is_sse = resp
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if is_sse {
        let body = resp.body.with_chunk_timeout(provider.read_timeout);
        let stages = match shape {
            Shape::Passed(weir_asked_usage) => StreamStages::passed(weir_asked_usage),
            Shape::Translated(t, include_usage) => StreamStages::translated(t.stream(include_usage)),
        };
        let max_event = provider.max_response_bytes.min(crate::sse::DEFAULT_MAX_EVENT_BYTES);
        let stages = stages.guarded(call.guard.as_ref().and_then(|p| StreamGuard::new(call.client, p, call.guard_context.clone(), max_event)));
        return Ok(Answer::Stream(Box::new(StreamAnswer { status, headers: resp.headers, body, upstream: upstream_api, stages, max_bytes: provider.max_response_bytes })));
    }
    let mut headers = upstream::downstream_headers(&resp.headers, call.request_id.header());
    for (k, v) in &call.limit_headers {
        headers.insert(k.clone(), v.clone());
    }
    let bytes = match tokio::time::timeout(provider.request_timeout, resp.body.collect(provider.max_response_bytes)).await {
        Err(_) => return Err(timeout_error(provider)),
        Ok(Err(e)) => return Err(transport_error(provider, &e)),
        Ok(Ok(b)) => without_secrets(b),
    };
    let rec = &mut call.rec;
    rec.mark_first_chunk();
    // What Weir counts is the provider's own answer, before any translation.
    let facts = usage::from_body(upstream_api, &bytes).unwrap_or_default();
    let bytes = match translation {
        None => bytes,
        Some(t) => match t.response(&bytes) {
            Some(b) => Bytes::from(b),
            None => {
                return Err(LlmError::new(ErrorKind::BadUpstream, format!("provider `{}` answered with a body that is not a {} answer", provider.name, upstream_api.operation())))
            }
        },
    };
    let (bytes, captured) = call.guard_answer(bytes).await?;
    if let Some(put) = call.cache.as_ref().and_then(|fill| fill.store(call.client, &bytes, &call.request_id.id, &facts)) {
        put.await;
    }
    let rec = &mut call.rec;
    rec.capture_response(captured.as_ref().unwrap_or(&bytes));
    if translation.is_some() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(Answer::Whole(out, Ending::ok(status.as_u16(), facts)))
}
