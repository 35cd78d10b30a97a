//! The LLM routes: OpenAI-style chat completions, responses and embeddings, Anthropic
//! messages, and the model list.
//!
//! A call is one [`pipeline::LlmCall`] value passed through named stages in one direction:
//! authenticate → parse → resolve the model → admit (limits) → upstream with failover
//! (translating per target when the provider speaks another protocol) → relay (a chain of
//! stream stages) → settle and record. This module never talks to the database: identity
//! comes from the in-memory key index and records go to the audit queue.

pub mod body;
mod cached;
mod error;
mod estimate;
mod failover;
pub mod guard_stream;
mod pipeline;
mod record;
mod relay;
pub mod route;
mod translate;
mod transport;
mod upstream;
pub mod usage;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub use error::{Dialect, ErrorKind, LlmError};
pub use estimate::estimate_input;
pub use translate::{StreamTranslator, Translation};
pub use transport::{Transport, TransportError, UpstreamBody, UpstreamResponse};

use crate::call::{self, RequestId};
use crate::config::ProviderKind;
use crate::limits::Refusal;
use crate::identity::KeyIndex;
use crate::state::{AppState, CurrentRuntime};
use crate::telemetry::{self, Telemetry};

/// The members of a chat completion (and of each of its stream's chunks) beside its choices
/// and usage: what a chunk Weir writes carries over from the provider's.
pub const CHAT_HEAD_MEMBERS: [&str; 5] = ["id", "created", "model", "system_fingerprint", "service_tier"];

/// The provider API a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Chat,
    Responses,
    Embeddings,
    Messages,
}

impl Api {
    pub fn route(self) -> &'static str {
        match self {
            Self::Chat => "/v1/chat/completions",
            Self::Responses => "/v1/responses",
            Self::Embeddings => "/v1/embeddings",
            Self::Messages => "/v1/messages",
        }
    }
    pub fn dialect(self) -> Dialect {
        match self {
            Self::Messages => Dialect::Anthropic,
            _ => Dialect::OpenAi,
        }
    }
    pub fn kind(self) -> ProviderKind {
        match self {
            Self::Messages => ProviderKind::Anthropic,
            _ => ProviderKind::Openai,
        }
    }
    /// `gen_ai.operation.name`.
    pub fn operation_name(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            _ => "chat",
        }
    }
    /// The field that caps output tokens, where Weir sets one.
    pub fn max_output_field(self) -> &'static str {
        match self {
            Self::Chat => "max_completion_tokens",
            Self::Responses => "max_output_tokens",
            Self::Messages | Self::Embeddings => "max_tokens",
        }
    }
    /// The audit trail's `operation` (and `upstream_operation`).
    pub fn operation(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Responses => "responses",
            Self::Embeddings => "embeddings",
            Self::Messages => "messages",
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions).fallback(method_not_allowed))
        .route("/v1/responses", post(responses).fallback(method_not_allowed))
        .route("/v1/embeddings", post(embeddings).fallback(method_not_allowed))
        .route("/v1/messages", post(messages).fallback(method_not_allowed))
        .route("/v1/models", get(list_models).fallback(method_not_allowed))
}

// Each call's state machine (several KB: the provider call, the recorder) is made in a box of
// its own at its first poll, so that what the router boxes and moves per request stays small.
async fn chat_completions(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(pipeline::run(state, Api::Chat, req)).await
}
async fn responses(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(pipeline::run(state, Api::Responses, req)).await
}
async fn embeddings(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(pipeline::run(state, Api::Embeddings, req)).await
}
async fn messages(State(state): State<AppState>, req: Request) -> Response {
    Box::pin(pipeline::run(state, Api::Messages, req)).await
}

/// The error shape a request that matched no LLM route expects.
pub fn dialect_of(uri: &Uri, headers: &HeaderMap) -> Dialect {
    if uri.path().starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let resp = LlmError::new(ErrorKind::MethodNotAllowed, format!("{method} is not supported on {}", uri.path()))
        .to_response(dialect_of(&uri, &headers));
    RequestId::new().stamp(resp)
}

/// Any other path under `/v1/`: a clear 404, never a silent pass-through.
pub async fn unknown_route(uri: Uri, headers: HeaderMap) -> Response {
    let resp = LlmError::new(ErrorKind::NotFound, format!("Weir does not serve {}", uri.path()))
        .code("unknown_url")
        .to_response(dialect_of(&uri, &headers));
    RequestId::new().stamp(resp)
}

async fn list_models(State(keys): State<KeyIndex>, State(telemetry): State<Telemetry>, State(runtime): State<CurrentRuntime>, headers: HeaderMap) -> Response {
    let rid = RequestId::new();
    let parent = telemetry::extract_parent(&headers);
    let server_cx = call::start_server_span(&telemetry, &parent, None, "GET", "/v1/models", &rid.id);
    let dialect = if headers.contains_key("anthropic-version") { Dialect::Anthropic } else { Dialect::OpenAi };
    let principal = match keys.authenticate(&headers) {
        Ok(p) => p,
        Err(e) => {
            call::end_server_span(&server_cx, 401, Some("unauthorized"));
            return rid.stamp(LlmError::new(ErrorKind::Unauthorized, e.message()).code("invalid_api_key").to_response(dialect));
        }
    };
    let rt = runtime.0.load();
    let visible = rt.config.models.iter().filter(|m| principal.may_use_model(&m.name));
    let body = match dialect {
        Dialect::OpenAi => json!({
            "object": "list",
            "data": visible.map(|m| json!({"id": m.name, "object": "model", "created": 0, "owned_by": m.targets[0].provider})).collect::<Vec<_>>(),
        }),
        Dialect::Anthropic => {
            let data: Vec<Value> = visible
                .map(|m| json!({"id": m.name, "type": "model", "display_name": m.name, "created_at": "1970-01-01T00:00:00Z"}))
                .collect();
            let first = data.first().map(|m| m["id"].clone());
            let last = data.last().map(|m| m["id"].clone());
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
        }
    };
    call::end_server_span(&server_cx, 200, None);
    rid.stamp(axum::Json(body).into_response())
}

fn limit_error(r: Refusal) -> LlmError {
    let message = r.message();
    match r {
        Refusal::Exceeded { headers, .. } => {
            let mut e = LlmError::new(ErrorKind::RateLimited, message).code("rate_limit_exceeded");
            e.headers = headers;
            e
        }
        Refusal::Unavailable => LlmError::new(ErrorKind::Unavailable, message),
    }
}

/// Past the limit, a body is still read (and dropped) up to this many more bytes, so that the
/// client, still writing, gets to read the 413 instead of a broken pipe.
const DISCARD_PAST_LIMIT: usize = 64 * 1024 * 1024;

async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, LlmError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) if crate::serve::BodyFault::of(&e) == crate::serve::BodyFault::Stalled => {
                return Err(LlmError::new(ErrorKind::RequestTimeout, "the request body stopped arriving before it was complete"));
            }
            Err(_) => return Err(LlmError::new(ErrorKind::BadRequest, "could not read the request body")),
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > limit.saturating_add(DISCARD_PAST_LIMIT) {
                break;
            }
        }
    }
    if seen > limit {
        return Err(LlmError::new(ErrorKind::PayloadTooLarge, format!("request body is larger than the {limit}-byte limit")));
    }
    Ok(buf.freeze())
}

/// A provider's answer without any secret of Weir's config in it (a provider may echo the key
/// it was sent); as it was, without a copy, when it holds none.
fn without_secrets(body: bytes::Bytes) -> bytes::Bytes {
    match crate::audit::redact_known_bytes(&body) {
        Some(clean) => bytes::Bytes::from(clean),
        None => body,
    }
}

fn provider_error_message(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let msg = v
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| e.get("message").and_then(Value::as_str).or_else(|| e.as_str()))
        .map(str::to_string);
    msg.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let t: String = text.trim().chars().take(200).collect();
        if t.is_empty() { "(empty body)".into() } else { t }
    })
}

fn timeout_error(provider: &crate::config::Provider) -> LlmError {
    LlmError::new(ErrorKind::Timeout, format!("provider `{}` did not answer in time", provider.name))
}

fn transport_error(provider: &crate::config::Provider, e: &TransportError) -> LlmError {
    tracing::warn!(provider = %provider.name, error = %e, "provider request failed");
    if let TransportError::TooLarge(max) = e {
        LlmError::new(ErrorKind::UpstreamTooLarge, format!("provider `{}` answered with more than the {max}-byte limit", provider.name)).code("upstream_too_large")
    } else if e.is_timeout() {
        timeout_error(provider)
    } else {
        LlmError::new(ErrorKind::Unreachable, format!("provider `{}` is unreachable", provider.name))
    }
}
