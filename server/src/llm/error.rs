//! Errors on the LLM routes, rendered in the caller's protocol.
//!
//! The client sees a clear message in the OpenAI or Anthropic error shape; internal detail
//! (database errors, upstream transport errors) goes to the log only.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which error shape the caller speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    /// The client stopped sending its request body.
    RequestTimeout,
    /// A budget or rate limit does not leave room for the call.
    RateLimited,
    /// The provider could not be reached (connect failure, no key configured).
    Unreachable,
    /// The provider did not answer in time.
    Timeout,
    /// The provider answered with something that is not a usable response.
    BadUpstream,
    /// The provider's answer was larger than its `max_response_bytes`.
    UpstreamTooLarge,
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct LlmError {
    pub kind: ErrorKind,
    pub message: String,
    /// OpenAI's machine-readable `code`.
    pub code: Option<&'static str>,
    pub param: Option<&'static str>,
    /// Extra response headers (`retry-after`, `x-ratelimit-*`).
    pub headers: Vec<(String, String)>,
}

impl LlmError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), code: None, param: None, headers: Vec::new() }
    }
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
    pub fn param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unreachable | ErrorKind::BadUpstream | ErrorKind::UpstreamTooLarge => StatusCode::BAD_GATEWAY,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `error.type` recorded on spans and in the audit trail.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::BadRequest => "invalid_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::RateLimited => "limit_exceeded",
            ErrorKind::Unreachable => "provider_unreachable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::BadUpstream => "bad_upstream_response",
            ErrorKind::UpstreamTooLarge => "upstream_too_large",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    pub fn to_response(&self, dialect: Dialect) -> Response {
        let body = match dialect {
            Dialect::OpenAi => {
                let ty = match self.kind {
                    ErrorKind::Unauthorized => "authentication_error",
                    ErrorKind::Forbidden => "permission_error",
                    ErrorKind::RateLimited => "rate_limit_error",
                    ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::BadUpstream | ErrorKind::UpstreamTooLarge | ErrorKind::Unavailable => "api_error",
                    _ => "invalid_request_error",
                };
                json!({"error": {"message": self.message, "type": ty, "param": self.param, "code": self.code}})
            }
            Dialect::Anthropic => {
                let ty = match self.kind {
                    ErrorKind::BadRequest | ErrorKind::MethodNotAllowed | ErrorKind::RequestTimeout => "invalid_request_error",
                    ErrorKind::Unauthorized => "authentication_error",
                    ErrorKind::Forbidden => "permission_error",
                    ErrorKind::NotFound => "not_found_error",
                    ErrorKind::PayloadTooLarge => "request_too_large",
                    ErrorKind::RateLimited => "rate_limit_error",
                    ErrorKind::Timeout => "timeout_error",
                    ErrorKind::Unavailable => "overloaded_error",
                    ErrorKind::Unreachable | ErrorKind::BadUpstream | ErrorKind::UpstreamTooLarge => "api_error",
                };
                json!({"type": "error", "error": {"type": ty, "message": self.message}})
            }
        };
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if self.kind == ErrorKind::Unauthorized && dialect == Dialect::OpenAi {
            resp.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"weir\""));
        }
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (axum::http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(resp: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn openai_shape() {
        let e = LlmError::new(ErrorKind::NotFound, "no such model").code("model_not_found").param("model");
        let resp = e.to_response(Dialect::OpenAi);
        assert_eq!(resp.status(), 404);
        let v = body(resp).await;
        assert_eq!(v["error"]["message"], "no such model");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["param"], "model");
    }

    #[tokio::test]
    async fn anthropic_shape() {
        let resp = LlmError::new(ErrorKind::Unauthorized, "invalid API key").to_response(Dialect::Anthropic);
        assert_eq!(resp.status(), 401);
        let v = body(resp).await;
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "authentication_error");
        assert_eq!(v["error"]["message"], "invalid API key");
    }
}
