//! One LLM call as a value passed through its stages, in one direction:
//!
//! 1. [`LlmCall::authenticate`]: the request id, the caller's key, the SERVER span;
//! 2. [`LlmCall::parse`]: the body, read within bounds and parsed once;
//! 3. [`LlmCall::resolve`]: the configured model the body names, if the key may use it;
//! 4. [`LlmCall::admit`]: budgets and rate limits, the call's upper bound reserved;
//!    then [`LlmCall::cache_lookup`]: a stored answer for the same key, served instead;
//! 5. [`failover::upstream`]: the model's targets in plan order, each in its own protocol;
//! 6. [`LlmCall::answer`]: the answer relayed, whole or through the stream's stages;
//! 7. settle and record, when the recorder is finished (or dropped).
//!
//! Each stage takes what the ones before it produced; none reaches back. A new concern (a
//! guard on the request, a cache lookup) is a stage between two of these.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::body::{BodyError, RequestBody};
use super::error::{ErrorKind, LlmError};
use super::failover::{self, Answer};
use super::record::CallRecorder;
use super::relay::Relay;
use super::upstream::{self, RequestFacts};
use super::{estimate, limit_error, read_body, Api};
use crate::audit::AuditEvent;
use crate::call::{self, RequestId};
use crate::config::Model;
use crate::guard::engine::{Checked, Verdict};
use crate::guard::policy::{Direction, Policy};
use crate::guard::webhook;
use crate::identity::Principal;
use crate::limits::CallShape;
use crate::state::{client_ip, AppState, Runtime};
use crate::telemetry;

/// A call on its way through the stages.
pub struct LlmCall {
    /// The protocol the client speaks (its route); each target's may differ.
    pub client: Api,
    pub principal: Principal,
    pub request_id: RequestId,
    /// The call's audit event and spans, until the call ends.
    pub rec: CallRecorder,
    /// Headers the limiter adds to the answer (`x-ratelimit-*`).
    pub limit_headers: Vec<(HeaderName, HeaderValue)>,
    /// The guardrails the call runs under, when any are configured.
    pub guard: Option<Policy>,
    /// Who the call is for, as guardrail webhooks are told.
    pub guard_context: webhook::Context,
    /// Where its answer is stored, when the cache is on for the call and missed.
    pub cache: Option<super::cached::CacheFill>,
}

/// A parsed request: its raw bytes, its members and what Weir reads of them.
pub struct Parsed<'a> {
    pub raw: &'a Bytes,
    pub json: RequestBody<'a>,
    pub facts: RequestFacts,
}

/// Runs one call from the raw request to the response the client gets.
pub async fn run(state: AppState, client: Api, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut call = match LlmCall::authenticate(&state, client, &parts) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let rt = state.runtime.load_full();
    let answer = call.through(&state, &rt, &parts, body).await;
    call.answer(answer)
}

impl LlmCall {
    /// Stage 1: the caller's key, checked against the in-memory index; the call's span and
    /// its audit event begun. A bad key is answered at once.
    #[expect(clippy::result_large_err, reason = "the refusal is the response, built once")]
    fn authenticate(state: &AppState, client: Api, parts: &Parts) -> Result<Self, Response> {
        let started = Instant::now();
        let request_id = RequestId::new();
        let headers = &parts.headers;
        let parent = telemetry::extract_parent(headers);
        let principal = state.keys.authenticate(headers);
        // An agent's session is a trace of its own: the agent is part of its identity.
        let session = principal.as_ref().ok().and_then(|p| {
            headers.get(&call::WEIR_SESSION).and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty()).map(|s| telemetry::session_context(&p.agent_id, s))
        });
        let server_cx = call::start_server_span(&state.telemetry, &parent, session.as_ref(), "POST", client.route(), &request_id.id);
        let principal = match principal {
            Ok(p) => p,
            Err(e) => {
                call::end_server_span(&server_cx, 401, Some("unauthorized"));
                tracing::debug!(route = client.route(), reason = e.message(), "request refused: bad key");
                return Err(request_id.stamp(LlmError::new(ErrorKind::Unauthorized, e.message()).code("invalid_api_key").to_response(client.dialect())));
            }
        };
        let client_ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| client_ip(c.0, headers, &state.runtime.load().config.trusted_proxies));
        let event = AuditEvent {
            operation: client.operation().into(),
            agent_id: Some(principal.agent_id.clone()),
            agent_name: Some(principal.agent_name.to_string()),
            key_id: Some(principal.key_id.to_string()),
            end_user: call::header_str(headers, &call::WEIR_USER),
            session_id: call::agent_session(headers),
            client_ip: client_ip.map(|ip| ip.to_string()),
            ..call::new_event(&opentelemetry::Context::new(), "llm", request_id.id.clone())
        };
        let rec = CallRecorder::new(state.audit.clone(), event, started, server_cx);
        Ok(Self { client, principal, request_id, rec, limit_headers: Vec::new(), guard: None, guard_context: webhook::Context::default(), cache: None })
    }

    /// Stages 2 to 5, up to the provider's answer.
    async fn through(&mut self, state: &AppState, rt: &Runtime, parts: &Parts, body: Body) -> Result<Answer, LlmError> {
        let cfg = &rt.config;
        let raw = read_body(body, cfg.max_body_bytes).await?;
        let capture = self.principal.capture_bodies.unwrap_or(cfg.audit.capture_bodies).then_some(cfg.audit.body_max_bytes);
        self.rec.set_request_body(raw.clone(), capture);
        // The body as the guardrails left it, when they masked something.
        let guarded: Bytes;
        let mut parsed = self.parse(&raw)?;
        let model = self.resolve(rt, &parsed)?;
        if let Some(masked) = self.guard_request(state, rt, model, &parsed, capture).await? {
            guarded = masked;
            parsed = self.parse(&guarded)?;
        }
        self.admit(state, rt, model, &mut parsed).await?;
        if let Some(hit) = self.cache_lookup(state, rt, model, parts, &parsed).await? {
            return Ok(hit);
        }
        failover::upstream(self, state, rt, model, parts, parsed).await
    }

    /// Stage 2: the body parsed once; the facts the rest needs taken from it.
    fn parse<'a>(&mut self, raw: &'a Bytes) -> Result<Parsed<'a>, LlmError> {
        let json = match RequestBody::parse(raw) {
            Ok(b) => b,
            Err(e @ BodyError::Json(..)) => return Err(LlmError::new(ErrorKind::BadRequest, e.to_string()).code("invalid_json")),
            Err(e @ BodyError::DuplicateKey(_)) => return Err(LlmError::new(ErrorKind::BadRequest, e.to_string()).code("duplicate_member")),
            Err(e) => return Err(LlmError::new(ErrorKind::BadRequest, e.to_string())),
        };
        let facts = upstream::request_facts(self.client, &json);
        self.rec.update_event(|ev| {
            ev.model_requested = (!facts.model.is_empty()).then(|| crate::audit::clip(&facts.model).to_string());
            if ev.end_user.is_none() {
                ev.end_user = facts.end_user.clone();
            }
        });
        if facts.model.is_empty() {
            let why = if json.has("model") { "`model` must be a non-empty string" } else { "`model` is required" };
            return Err(LlmError::new(ErrorKind::BadRequest, why).param("model"));
        }
        Ok(Parsed { raw, json, facts })
    }

    /// Stage 3: the configured model, if this key may use it.
    fn resolve<'r>(&mut self, rt: &'r Runtime, parsed: &Parsed<'_>) -> Result<&'r Model, LlmError> {
        let cfg = &rt.config;
        let name = &parsed.facts.model;
        let Some(model) = cfg.model(name) else {
            let available: Vec<&str> = cfg.models.iter().filter(|m| self.principal.may_use_model(&m.name)).map(|m| m.name.as_str()).collect();
            return Err(LlmError::new(
                ErrorKind::NotFound,
                format!(
                    "model `{}` does not exist; available models: {}",
                    crate::audit::clip(name),
                    if available.is_empty() { "none".to_string() } else { available.join(", ") }
                ),
            )
            .code("model_not_found")
            .param("model"));
        };
        if !self.principal.may_use_model(&model.name) {
            return Err(LlmError::new(ErrorKind::Forbidden, format!("this key may not use model `{}`", model.name)).code("model_not_allowed"));
        }
        self.rec.set_price(model.price);
        Ok(model)
    }

    /// Stage 3b: the request's texts through the guardrails the call runs under (the
    /// configured ones with the model's and the agent's overrides). A block refuses the call
    /// here, naming the guardrail; what is masked is masked before anything goes upstream, and
    /// the audit copy keeps every value found masked. Returns the body as it goes on, when it
    /// changed.
    async fn guard_request(&mut self, state: &AppState, rt: &Runtime, model: &Model, parsed: &Parsed<'_>, capture: Option<usize>) -> Result<Option<Bytes>, LlmError> {
        if rt.config.guardrails.is_empty() {
            return Ok(None);
        }
        let policy = state.guard_overrides.policy(&rt.config.guardrails, &model.name, &self.principal.agent_id);
        self.guard_context = webhook::Context { agent: self.principal.agent_name.to_string(), user: self.rec.end_user(), model: Some(model.name.clone()) };
        let dir = Direction::Request;
        let Ok(text) = std::str::from_utf8(parsed.raw) else { return Ok(None) };
        let Checked { outgoing, captured, verdict } = policy.check_document(dir, text, &self.guard_context).await;
        if let Some(kept) = captured.as_ref().or(outgoing.as_ref()) {
            self.rec.set_request_body(Bytes::from(kept.clone()), capture);
        }
        self.guard = Some(policy);
        self.settle_verdict(&verdict, "the request")?;
        Ok(outgoing.map(Bytes::from))
    }

    /// Stage 6a: a whole answer's texts through the guardrails, before the client sees any of
    /// it. A block refuses the answer (the call is recorded as refused); what is masked is
    /// masked in what the client gets; the audit copy keeps every value found masked. Returns
    /// the answer as it goes on, and the audit copy when it differs.
    pub async fn guard_answer(&mut self, bytes: Bytes) -> Result<(Bytes, Option<Bytes>), LlmError> {
        let dir = Direction::Response;
        let Some(policy) = self.guard.as_ref().filter(|p| p.any(dir)) else { return Ok((bytes, None)) };
        // Not UTF-8, so not JSON: nothing the guardrails can read, so nothing the client gets
        // unread (a lenient decoder would show it what the guardrails never saw).
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(LlmError::new(ErrorKind::BadUpstream, "the provider's answer is not UTF-8 text, so the guardrails cannot read it"));
        };
        let Checked { outgoing, captured, verdict } = policy.check_document(dir, text, &self.guard_context).await;
        self.settle_verdict(&verdict, "the answer")?;
        let captured = captured.or_else(|| outgoing.clone()).map(Bytes::from);
        Ok((outgoing.map_or(bytes, Bytes::from), captured))
    }

    /// Records a guardrail check's verdict on the call; refuses `what` when a guardrail blocks.
    fn settle_verdict(&mut self, verdict: &Verdict, what: &str) -> Result<(), LlmError> {
        self.rec.update_event(|ev| verdict.record(ev));
        match verdict.refusal(what) {
            Some(message) => Err(LlmError::new(ErrorKind::BadRequest, message).code("guardrail_blocked")),
            None => Ok(()),
        }
    }

    /// Stage 4: budgets and rate limits. The call's upper bound is reserved before anything
    /// goes upstream, and refused here if it does not fit.
    async fn admit(&mut self, state: &AppState, rt: &Runtime, model: &Model, parsed: &mut Parsed<'_>) -> Result<(), LlmError> {
        let first = rt.config.providers.get(&model.targets[0].provider);
        let facts = &parsed.facts;
        let shape = CallShape {
            agent_id: &self.principal.agent_id,
            agent_name: &self.principal.agent_name,
            model: &model.name,
            body: parsed.raw,
            requested_max_output: facts.max_tokens.and_then(|m| u64::try_from(m).ok()),
            choices: facts.choices,
            has_output: self.client != Api::Embeddings,
            price: model.price,
            bytes_per_token: first.map_or(2.0, |p| p.bytes_per_token),
            token_margin: first.map_or(1.05, |p| p.token_margin),
            exact_input: estimate::estimate_input,
        };
        let Some(adm) = state.limiter.admit(&shape).await.map_err(limit_error)? else { return Ok(()) };
        if let Some(max) = adm.inject_max_output {
            parsed.json.set(self.client.max_output_field(), &Value::from(max));
        }
        self.limit_headers = adm.headers(state.limiter.now_ms());
        self.rec.set_admission(Arc::clone(&state.limiter), adm);
        Ok(())
    }

    /// Stage 6: the response the client gets. A stream's recorder travels into its relay,
    /// which records the call when the stream ends; any other answer is recorded here.
    fn answer(self, answer: Result<Answer, LlmError>) -> Response {
        let Self { client, request_id, rec, limit_headers, cache, .. } = self;
        let cache_outcome = cache.as_ref().map(|c| HeaderValue::from_static(c.outcome));
        match answer {
            Ok(Answer::Whole(mut resp, ending)) => {
                rec.finish(ending);
                if let Some(v) = cache_outcome {
                    resp.headers_mut().insert(super::cached::CACHE_HEADER, v);
                }
                resp
            }
            Ok(Answer::Stream(s)) => {
                let mut headers = upstream::downstream_headers(&s.headers, request_id.header());
                for (k, v) in limit_headers {
                    headers.insert(k, v);
                }
                if let Some(v) = cache_outcome {
                    headers.insert(super::cached::CACHE_HEADER, v);
                }
                let s = *s;
                let stages = s.stages.filled(cache.and_then(|c| super::cached::StreamFill::new(c, client, request_id.id.clone())));
                let relay = Relay::new(client, s.upstream, s.status.as_u16(), s.body, stages, s.max_bytes, rec);
                let mut out = Response::new(Body::from_stream(relay));
                *out.status_mut() = s.status;
                *out.headers_mut() = headers;
                out.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                out
            }
            Err(e) => {
                if e.status().is_server_error() {
                    tracing::warn!(route = client.route(), error = %e.message, "call failed");
                }
                rec.fail(&e);
                request_id.stamp(e.to_response(client.dialect()))
            }
        }
    }
}
