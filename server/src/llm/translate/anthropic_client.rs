//! An Anthropic client on an OpenAI-compatible provider (chat completions).

use std::borrow::Cow;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::sse;
use crate::sse::SseEvent;

// -- answers ---------------------------------------------------------------------------------------

pub(super) fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Chat usage as Anthropic says it: input without the cached tokens, which are reported apart.
pub(super) fn usage(u: Option<&Value>) -> Value {
    let n = |k: &str| u.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
    let cached = u.and_then(|u| u.get("prompt_tokens_details")).and_then(|d| d.get("cached_tokens")).and_then(Value::as_u64).unwrap_or(0);
    json!({
        "input_tokens": n("prompt_tokens").saturating_sub(cached),
        "output_tokens": n("completion_tokens"),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    })
}

pub(super) fn message_id(id: Option<&str>) -> String {
    match id {
        Some(id) if id.starts_with("msg_") => id.to_string(),
        Some(id) => format!("msg_{id}"),
        None => "msg_weir".to_string(),
    }
}

// -- streams -----------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Text,
    /// A tool call, by its chat index.
    Tool(u64),
}

/// A chat completion chunk, read without a tree of values.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(borrow, default)]
    choices: Vec<ChunkChoice<'a>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<ChunkError<'a>>,
}

#[derive(Deserialize)]
struct ChunkChoice<'a> {
    #[serde(borrow, default)]
    delta: Option<ChunkDelta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ChunkDelta<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<CallDelta<'a>>>,
}

#[derive(Deserialize)]
struct CallDelta<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChunkError<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

/// A JSON string's raw text that is not empty (`""`).
fn nonempty_string(raw: Option<&RawValue>) -> Option<&str> {
    raw.map(RawValue::get).filter(|t| t.starts_with('"') && *t != "\"\"")
}

/// Chat completion chunks → Anthropic events.
#[derive(Default)]
pub struct MessagesStream {
    started: bool,
    /// The Anthropic index of the block being streamed, and what it is.
    open: Option<(u64, Open)>,
    next_index: u64,
    finish: Option<String>,
    usage: Option<Box<RawValue>>,
    done: bool,
}

impl MessagesStream {
    fn start(&mut self, chunk: &Chunk<'_>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "id": message_id(chunk.id.as_deref()), "type": "message", "role": "assistant",
            "model": chunk.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        sse(out, Some("message_start"), &json!({"type": "message_start", "message": message}));
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            out.extend_from_slice(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":");
            out.extend_from_slice(index.to_string().as_bytes());
            out.extend_from_slice(b"}\n\n");
        }
    }

    fn open(&mut self, what: Open, block: Value, out: &mut Vec<u8>) -> u64 {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, what));
        sse(out, Some("content_block_start"), &json!({"type": "content_block_start", "index": index, "content_block": block}));
        index
    }

    /// A `content_block_delta` whose delta is `{"type": ty, field: raw}` (`raw` a JSON string).
    fn delta(out: &mut Vec<u8>, index: u64, ty: &str, field: &str, raw: &str) {
        out.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":");
        out.extend_from_slice(index.to_string().as_bytes());
        out.extend_from_slice(b",\"delta\":{\"type\":\"");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\",\"");
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(raw.as_bytes());
        out.extend_from_slice(b"}}\n\n");
    }

    pub fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>) {
        if ev.data.is_empty() || self.done {
            return;
        }
        if ev.data == "[DONE]" {
            return self.end(out);
        }
        let Ok(c) = serde_json::from_str::<Chunk<'_>>(&ev.data) else { return };
        if let Some(err) = &c.error {
            let body = super::anthropic_error(StatusCode::INTERNAL_SERVER_ERROR, err.ty.as_deref(), err.message.as_deref().unwrap_or("the provider's stream failed"));
            sse(out, Some("error"), &body);
            self.done = true;
            return;
        }
        self.start(&c, out);
        if let Some(u) = c.usage.filter(|u| u.get() != "null") {
            self.usage = Some(u.to_owned());
        }
        let Some(choice) = c.choices.into_iter().next() else { return };
        if let Some(delta) = choice.delta {
            if let Some(t) = nonempty_string(delta.content) {
                let index = match self.open {
                    Some((i, Open::Text)) => i,
                    _ => self.open(Open::Text, json!({"type": "text", "text": ""}), out),
                };
                Self::delta(out, index, "text_delta", "text", t);
            }
            for call in delta.tool_calls.into_iter().flatten() {
                let n = call.index.unwrap_or(0);
                let (name, arguments) = call.function.map_or((None, None), |f| (f.name, f.arguments));
                let index = match self.open {
                    Some((i, Open::Tool(k))) if k == n => i,
                    _ => self.open(Open::Tool(n), json!({"type": "tool_use", "id": call.id, "name": name, "input": {}}), out),
                };
                if let Some(a) = nonempty_string(arguments) {
                    Self::delta(out, index, "input_json_delta", "partial_json", a);
                }
            }
        }
        if let Some(f) = choice.finish_reason {
            self.finish = Some(f.into_owned());
        }
    }

    /// The provider's stream is over: the message ends, with its stop reason and usage.
    pub fn end(&mut self, out: &mut Vec<u8>) {
        if self.done || !self.started || self.finish.is_none() {
            return;
        }
        self.done = true;
        self.close(out);
        let u = self.usage.as_ref().and_then(|u| serde_json::from_str::<Value>(u.get()).ok());
        let delta = json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(self.finish.as_deref()), "stop_sequence": null}, "usage": usage(u.as_ref())});
        sse(out, Some("message_delta"), &delta);
        sse(out, Some("message_stop"), &json!({"type": "message_stop"}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent { event: None, data: data.into(), id: None, retry: None, raw: bytes::Bytes::new() }
    }

    #[test]
    fn chunks_become_the_event_sequence() {
        let mut s = MessagesStream::default();
        let mut out = Vec::new();
        for d in [
            r#"{"id":"c1","model":"gpt","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"id":"c1","model":"gpt","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
            r#"{"id":"c1","model":"gpt","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"{"id":"c1","model":"gpt","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            r#"{"id":"c1","model":"gpt","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"id":"c1","model":"gpt","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}}"#,
            "[DONE]",
        ] {
            s.event(&ev(d), &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        let types: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
        assert_eq!(
            types,
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
        );
        assert!(text.contains(r#""stop_reason":"tool_use""#));
        assert!(text.contains(r#""input_tokens":7"#) && text.contains(r#""cache_read_input_tokens":2"#));
    }
}
