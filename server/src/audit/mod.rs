//! The audit trail: one event per call, written off the request path.
//!
//! Owns the event model, secret redaction of captured bodies, and the batched writer that
//! survives a database outage (memory, then a spool file). It must never make a request wait on
//! the database, and never drop an event without counting and logging it.

mod redact;
mod writer;

pub use redact::{capture_body, holds_known_secret, redact_known_bytes, redact_known_text, redact_secrets, learn_secrets, scrub_text, set_known_secrets};
#[cfg(test)]
pub(crate) use redact::KNOWN_SET;
pub use writer::{spawn_writer, AuditSink, AuditStats, AuditWriter, Captured};

use serde::{Deserialize, Serialize};

/// Text a client sent (a model, tool or resource name, a method), cut on a character boundary
/// to a length fit for a message, an audit field or a span: a client's name is its own, but its
/// size is not.
pub fn clip(text: &str) -> &str {
    const MAX: usize = 256;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One call through Weir, as stored in `audit_events`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    /// Unix milliseconds when the request arrived.
    pub ts: i64,
    pub request_id: String,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub kind: String,
    pub operation: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub key_id: Option<String>,
    pub end_user: Option<String>,
    pub session_id: Option<String>,
    pub model_requested: Option<String>,
    pub model_served: Option<String>,
    pub provider: Option<String>,
    pub status_code: i64,
    /// `ok`, `error` or `cancelled` (the client went away first).
    pub outcome: String,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub streamed: bool,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cached_input_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    /// Usage was estimated by Weir (a stream cut before the provider reported it).
    pub usage_estimated: bool,
    pub cost_usd: Option<f64>,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub client_ip: Option<String>,
    /// Tokens reserved against budgets and limits before the call.
    pub reserved_tokens: Option<i64>,
    /// Tokens used beyond the reservation (charged all the same).
    pub excess_tokens: Option<i64>,
    /// JSON list of the targets tried, in order, with their outcome.
    pub attempts: Option<String>,
    /// MCP: the backend server the request went to.
    pub mcp_server: Option<String>,
    /// MCP `tools/call`: the tool, as `server__tool`.
    pub tool_name: Option<String>,
    /// MCP: the backend's own session id.
    pub backend_session_id: Option<String>,
    /// MCP `tools/call`: `allow`, `deny` or `approval`.
    pub policy_decision: Option<String>,
    /// The number of the `[[mcp.rules]]` entry that decided it.
    pub policy_rule: Option<i64>,
    /// MCP: the approval a held call waited for (on the call's event and on its decision's).
    pub approval_id: Option<String>,
    /// Who decided an approval (on the decision's event).
    pub decided_by: Option<String>,
}

impl AuditEvent {
    /// Removes every secret of Weir's config from the event's text (bodies are captured
    /// redacted already): a provider or backend may echo a credential into an error message.
    pub fn scrub_known_secrets(&mut self) {
        for field in [
            &mut self.error_message,
            &mut self.error_type,
            &mut self.attempts,
            &mut self.end_user,
            &mut self.session_id,
            &mut self.model_requested,
            &mut self.model_served,
            &mut self.tool_name,
            &mut self.decided_by,
            &mut self.backend_session_id,
            &mut self.client_ip,
        ] {
            if let Some(text) = field.as_mut() {
                if let std::borrow::Cow::Owned(clean) = redact::redact_known_text(text) {
                    *text = clean;
                }
            }
        }
    }

    /// Whether this call's usage counts against budgets (a call the limiter refused does not).
    pub fn counts_as_usage(&self) -> bool {
        self.kind == "llm" && self.error_type.as_deref() != Some("limit_exceeded")
    }
}
