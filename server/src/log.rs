//! Where Weir's log lines go: standard error, without any secret of the running config.
//!
//! Log lines quote what providers and backends answered, and those may echo a credential Weir
//! sent them; every line is checked against the config's secrets (the audit redactor's set)
//! before it is written. The log never carries the generated admin token: that is shown once
//! on standard error outside the log (see `app`).

use std::io::Write;

/// A `tracing-subscriber` writer: each formatted event, its secrets replaced, to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretFreeStderr;

/// Writes what it is given to `W`, with the config's secrets replaced.
pub struct SecretFree<W>(pub W);

impl<W: Write> Write for SecretFree<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes a whole event at once: a secret cannot straddle two writes.
        match crate::audit::redact_known_bytes(buf) {
            Some(clean) => self.0.write_all(&clean)?,
            None => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SecretFreeStderr {
    type Writer = SecretFree<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        SecretFree(std::io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_loses_the_configs_secrets() {
        let _turn = crate::audit::KNOWN_SET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        crate::audit::set_known_secrets(["sk-provider-key-for-logs".to_string()]);
        let mut out = SecretFree(Vec::new());
        let line = br#"{"level":"WARN","fields":{"error":"provider said: Incorrect API key provided: Bearer sk-provider-key-for-logs"}}"#;
        out.write_all(line).unwrap();
        let text = String::from_utf8(out.0).unwrap();
        crate::audit::set_known_secrets(Vec::new());
        assert!(!text.contains("sk-provider-key-for-logs") && text.contains("Bearer [REDACTED]"), "{text}");
    }
}
