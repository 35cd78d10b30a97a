//! The audit trail: one event per call, written off the request path.
//!
//! Owns the event model, secret redaction of captured bodies, and the batched writer that
//! survives a database outage (memory, then a spool file). It must never make a request wait on
//! the database, and never drop an event without counting and logging it.

mod redact;
pub mod stats;
mod writer;

pub use redact::{capture_body, holds_known_secret, redact_known_bytes, redact_known_text, redact_secrets, learn_secrets, scrub_text, set_known_secrets};
#[cfg(test)]
pub(crate) use redact::KNOWN_SET;
pub use writer::{spawn_writer, AuditSink, AuditStats, AuditWriter, Captured};


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

pub use weir_api::AuditEvent;

/// Removes every secret of Weir's config from the event's text (bodies are captured redacted
/// already): a provider or backend may echo a credential into an error message.
pub fn scrub_known_secrets(ev: &mut AuditEvent) {
    for field in [
        &mut ev.error_message,
        &mut ev.error_type,
        &mut ev.attempts,
        &mut ev.end_user,
        &mut ev.session_id,
        &mut ev.model_requested,
        &mut ev.model_served,
        &mut ev.tool_name,
        &mut ev.decided_by,
        &mut ev.backend_session_id,
        &mut ev.client_ip,
    ] {
        if let Some(text) = field.as_mut() {
            if let std::borrow::Cow::Owned(clean) = redact::redact_known_text(text) {
                *text = clean;
            }
        }
    }
}
