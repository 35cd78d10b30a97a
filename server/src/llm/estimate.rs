//! Token estimates for calls whose usage the provider never reported (a stream cut short).
//!
//! Counting is done with tiktoken's `o200k_base` encoding: loaded lazily, the first time an
//! estimate is needed, and always run on a blocking thread, never on the async workers (a large
//! prompt costs milliseconds). The count is an estimate for every provider; events carry a flag
//! saying so.

use serde_json::Value;

/// Counts tokens of `text` (blocking).
pub fn count_tokens(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton().encode_ordinary(text).len() as u64
}

/// The text a request sends the model: every string in it but the model name and a few
/// control fields, plus a small per-message overhead.
pub fn request_text(body: &Value) -> (String, u64) {
    let mut out = String::new();
    let mut messages = 0u64;
    collect(body, None, &mut out, &mut messages);
    (out, messages)
}

fn collect(v: &Value, key: Option<&str>, out: &mut String, messages: &mut u64) {
    match v {
        Value::String(s) if !matches!(key, Some("model" | "role" | "type" | "user" | "id" | "tool_call_id" | "service_tier" | "reasoning_effort")) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => {
            if matches!(key, Some("messages" | "input")) {
                *messages += items.len() as u64;
            }
            for item in items {
                collect(item, key, out, messages);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if k == "metadata" || k == "stream_options" {
                    continue;
                }
                collect(v, Some(k), out, messages);
            }
        }
        _ => {}
    }
}

/// Estimated input tokens of a request body.
pub fn estimate_input(body: &[u8]) -> u64 {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return count_tokens(&String::from_utf8_lossy(body));
    };
    let (text, messages) = request_text(&v);
    // Chat formats add a few tokens per message for roles and separators.
    count_tokens(&text) + messages * 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_message_text_not_control_fields() {
        let body = br#"{"model":"gpt-4o-mini-with-a-very-long-name-that-would-count","messages":[{"role":"user","content":"Hello world"}],"stream":true}"#;
        let n = estimate_input(body);
        // "Hello world\n" is 3 tokens in o200k; one message adds 3.
        assert!((4..=8).contains(&n), "{n}");
        assert_eq!(count_tokens(""), 0);
        assert!(count_tokens("The quick brown fox jumps over the lazy dog") >= 9);
    }
}
