//! Translation between the OpenAI-style APIs (chat completions, responses) and Anthropic's
//! messages API, for a call whose client and provider speak different protocols.
//!
//! A translation is chosen per target, so failover may cross provider kinds. The request is
//! translated whole before it goes upstream; the answer is translated back whole, or event by
//! event for a stream; a provider's error is said again in the client's error shape. What
//! Weir counts (usage, finish reasons) is read from the provider's own answer, before it is
//! translated. Each top-level request member is mapped, dropped (a hint with no counterpart,
//! logged at debug level) or refused with a 400 naming it (a member whose loss would change
//! what the caller gets); the README lists every one. Calls whose client and provider speak
//! the same protocol are never translated.
//!
//! - [`openai_client`]: an OpenAI client (chat completions or responses) on an Anthropic
//!   provider.
//! - [`anthropic_client`]: an Anthropic client on an OpenAI-compatible provider (chat
//!   completions).

mod anthropic_client;
mod openai_client;
mod raw;
mod to_anthropic;
mod to_chat;
#[cfg(test)]
mod golden;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::error::{ErrorKind, LlmError};
use super::body::RequestBody;
use super::Api;
use crate::config::ProviderKind;
use crate::sse::{write_event as sse, SseEvent};


/// A call's translation, from the client's protocol to its provider's and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Translation {
    /// An OpenAI chat completions client on an Anthropic provider.
    ChatToMessages,
    /// An OpenAI responses client on an Anthropic provider.
    ResponsesToMessages,
    /// An Anthropic messages client on an OpenAI-compatible provider.
    MessagesToChat,
}

/// A request translated for its provider.
#[derive(Debug)]
pub struct Translated {
    pub body: Vec<u8>,
    /// The client asked for the usage chunk of a chat stream (`stream_options.include_usage`).
    pub include_usage: bool,
}

impl Translation {
    /// How a call of the `client` protocol reaches a provider of `kind`: `None` when the
    /// provider speaks the client's protocol.
    pub fn between(client: Api, kind: ProviderKind) -> Result<Option<Self>, LlmError> {
        match (client, kind) {
            (Api::Chat, ProviderKind::Anthropic) => Ok(Some(Self::ChatToMessages)),
            (Api::Responses, ProviderKind::Anthropic) => Ok(Some(Self::ResponsesToMessages)),
            (Api::Messages, ProviderKind::Openai) => Ok(Some(Self::MessagesToChat)),
            (Api::Embeddings, ProviderKind::Anthropic) => {
                Err(LlmError::new(ErrorKind::BadRequest, "the model is served by an Anthropic provider, which has no embeddings API").param("model"))
            }
            _ => Ok(None),
        }
    }

    /// The protocol the provider is called in.
    pub fn upstream(self) -> Api {
        match self {
            Self::ChatToMessages | Self::ResponsesToMessages => Api::Messages,
            Self::MessagesToChat => Api::Chat,
        }
    }

    /// The request body for the provider, naming the target's `model`.
    pub fn request(self, body: &[u8], model: &str) -> Result<Translated, LlmError> {
        let body = RequestBody::parse(body).map_err(|e| LlmError::new(ErrorKind::BadRequest, e.to_string()))?;
        self.request_body(&body, model)
    }

    /// As [`Self::request`], from a body already read (the pipeline's).
    pub fn request_body(self, body: &RequestBody<'_>, model: &str) -> Result<Translated, LlmError> {
        let (body, include_usage) = match self {
            Self::ChatToMessages => to_anthropic::chat_request(body, model)?,
            Self::ResponsesToMessages => (to_anthropic::responses_request(body, model)?, false),
            Self::MessagesToChat => (to_chat::request(body, model)?, true),
        };
        Ok(Translated { body, include_usage })
    }

    /// A provider's whole 2xx answer in the client's protocol; `None` when it is not the JSON
    /// its protocol answers with.
    pub fn response(self, body: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::ChatToMessages => openai_client::chat_response(body),
            Self::MessagesToChat => to_chat::response(body),
            Self::ResponsesToMessages => {
                let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(body) else { return None };
                serde_json::to_vec(&openai_client::responses_response(&v)?).ok()
            }
        }
    }

    /// Translates a streamed answer event by event.
    pub fn stream(self, include_usage: bool) -> StreamTranslator {
        StreamTranslator(match self {
            Self::ChatToMessages => Inner::Chat(openai_client::ChatStream::new(include_usage)),
            Self::ResponsesToMessages => Inner::Responses(Box::default()),
            Self::MessagesToChat => Inner::Messages(anthropic_client::MessagesStream::default()),
        })
    }

    /// A provider's error answer (any body) said in the client's error shape.
    pub fn error_body(self, status: StatusCode, body: &[u8]) -> Vec<u8> {
        let (ty, message, code, param) = read_error(body);
        let out = match self {
            Self::ChatToMessages | Self::ResponsesToMessages => openai_error(status, ty.as_deref(), &message, code, param),
            Self::MessagesToChat => anthropic_error(status, ty.as_deref(), &message),
        };
        serde_json::to_vec(&out).unwrap_or_default()
    }
}

/// Follows a provider's stream and writes the client's.
pub struct StreamTranslator(Inner);

enum Inner {
    Chat(openai_client::ChatStream),
    Responses(Box<openai_client::ResponsesStream>),
    Messages(anthropic_client::MessagesStream),
}

impl StreamTranslator {
    /// One event of the provider's stream; what the client gets for it goes to `out`.
    pub fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>) {
        match &mut self.0 {
            Inner::Chat(s) => s.event(ev, out),
            Inner::Responses(s) => s.event(ev, out),
            Inner::Messages(s) => s.event(ev, out),
        }
    }

    /// The provider's stream ended: what the client's stream still needs to be complete (when
    /// the provider completed it).
    pub fn end(&mut self, out: &mut Vec<u8>) {
        if let Inner::Messages(s) = &mut self.0 {
            s.end(out);
        }
    }
}

// -- shared pieces ------------------------------------------------------------------------------

/// A member whose loss would change what the caller gets.
fn refuse(field: &'static str, why: &str) -> LlmError {
    LlmError::new(ErrorKind::BadRequest, format!("`{field}` {why}")).param(field).code("unsupported_parameter")
}

/// A member with no counterpart, left out.
fn dropped(field: &str) {
    tracing::debug!(field, "request member has no counterpart in the provider's protocol; dropped");
}

/// Thinking budgets for OpenAI's reasoning efforts.
fn effort_budget(effort: &str) -> Option<u64> {
    match effort {
        "low" => Some(1024),
        "medium" => Some(4096),
        "high" => Some(16_384),
        "xhigh" => Some(32_768),
        _ => None,
    }
}

/// The reasoning effort nearest a thinking budget.
fn budget_effort(budget: u64) -> &'static str {
    match budget {
        0..=2047 => "low",
        2048..=8191 => "medium",
        _ => "high",
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The `type`, message, `code` and `param` of a provider's error body, whichever protocol it
/// speaks; the body's text when it is not JSON.
fn read_error(body: &[u8]) -> (Option<String>, String, Option<Value>, Option<Value>) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let err = v.get("error").unwrap_or(&v);
    let message = err.get("message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let t: String = text.trim().chars().take(500).collect();
        if t.is_empty() { "(empty body)".into() } else { t }
    });
    let ty = err.get("type").and_then(Value::as_str).map(str::to_string);
    (ty, message, err.get("code").filter(|c| !c.is_null()).cloned(), err.get("param").filter(|p| !p.is_null()).cloned())
}

/// An OpenAI error body for a provider's error.
fn openai_error(status: StatusCode, ty: Option<&str>, message: &str, code: Option<Value>, param: Option<Value>) -> Value {
    let ty = match (ty, status.as_u16()) {
        (_, 401) => "authentication_error",
        (_, 403) => "permission_error",
        (_, 404) => "not_found_error",
        (_, 429) => "rate_limit_error",
        (_, 400 | 413 | 422) => "invalid_request_error",
        (Some("overloaded_error"), _) => "overloaded_error",
        _ => "api_error",
    };
    let code = code.unwrap_or_else(|| match status.as_u16() {
        401 => json!("invalid_api_key"),
        429 => json!("rate_limit_exceeded"),
        _ => Value::Null,
    });
    json!({"error": {"message": message, "type": ty, "param": param, "code": code}})
}

/// An Anthropic error body for a provider's error.
fn anthropic_error(status: StatusCode, ty: Option<&str>, message: &str) -> Value {
    json!({"type": "error", "error": {"type": anthropic_error_type(status, ty), "message": message}})
}

fn anthropic_error_type(status: StatusCode, ty: Option<&str>) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ if ty == Some("insufficient_quota") => "rate_limit_error",
        _ => "api_error",
    }
}

/// The HTTP status an Anthropic error type stands for (in a stream, where there is none).
fn anthropic_status(ty: Option<&str>) -> StatusCode {
    match ty {
        Some("invalid_request_error") => StatusCode::BAD_REQUEST,
        Some("authentication_error") => StatusCode::UNAUTHORIZED,
        Some("permission_error") => StatusCode::FORBIDDEN,
        Some("not_found_error") => StatusCode::NOT_FOUND,
        Some("request_too_large") => StatusCode::PAYLOAD_TOO_LARGE,
        Some("rate_limit_error") => StatusCode::TOO_MANY_REQUESTS,
        Some("overloaded_error") => StatusCode::SERVICE_UNAVAILABLE,
        Some("timeout_error") => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

