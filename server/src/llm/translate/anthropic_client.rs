//! An Anthropic client on an OpenAI-compatible provider (chat completions).

use std::borrow::Cow;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

/// A chat completion's usage, as a chat answer or its last stream chunk reports it.
#[derive(Deserialize, Default)]
pub(super) struct ChatUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

/// Usage as Anthropic says it: input without the cached tokens, which are reported apart.
#[derive(Serialize)]
pub(super) struct AnthropicUsage {
    input_tokens: u64,
    output_tokens: u64,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
}

impl ChatUsage {
    /// Read from a raw usage member; all zero when there is none.
    pub(super) fn of(raw: Option<&RawValue>) -> Self {
        raw.and_then(|u| serde_json::from_str(u.get()).ok()).unwrap_or_default()
    }

    pub(super) fn anthropic(&self) -> AnthropicUsage {
        let cached = self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0);
        AnthropicUsage {
            input_tokens: self.prompt_tokens.unwrap_or(0).saturating_sub(cached),
            output_tokens: self.completion_tokens.unwrap_or(0),
            cache_read_input_tokens: cached,
            cache_creation_input_tokens: 0,
        }
    }
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

/// Writes `n` in decimal, without an allocation.
fn push_number(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
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
        out.extend_from_slice(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":");
        let _ = serde_json::to_writer(&mut *out, &message_id(chunk.id.as_deref()));
        out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
        out.extend_from_slice(chunk.model.map_or("null", RawValue::get).as_bytes());
        out.extend_from_slice(b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n");
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            out.extend_from_slice(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":");
            push_number(out, index);
            out.extend_from_slice(b"}\n\n");
        }
    }

    /// Starts a block: a text block, or a tool call's (`id` and `name` raw JSON).
    fn open(&mut self, what: Open, tool: Option<(Option<&RawValue>, Option<&RawValue>)>, out: &mut Vec<u8>) -> u64 {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, what));
        out.extend_from_slice(b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":");
        push_number(out, index);
        match tool {
            None => out.extend_from_slice(b",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"),
            Some((id, name)) => {
                out.extend_from_slice(b",\"content_block\":{\"type\":\"tool_use\",\"id\":");
                out.extend_from_slice(id.map_or("null", RawValue::get).as_bytes());
                out.extend_from_slice(b",\"name\":");
                out.extend_from_slice(name.map_or("null", RawValue::get).as_bytes());
                out.extend_from_slice(b",\"input\":{}}}\n\n");
            }
        }
        index
    }

    /// A `content_block_delta` whose delta is `{"type": ty, field: raw}` (`raw` a JSON string).
    fn delta(out: &mut Vec<u8>, index: u64, ty: &str, field: &str, raw: &str) {
        out.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":");
        push_number(out, index);
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
                    _ => self.open(Open::Text, None, out),
                };
                Self::delta(out, index, "text_delta", "text", t);
            }
            for call in delta.tool_calls.into_iter().flatten() {
                let n = call.index.unwrap_or(0);
                let (name, arguments) = call.function.map_or((None, None), |f| (f.name, f.arguments));
                let index = match self.open {
                    Some((i, Open::Tool(k))) if k == n => i,
                    _ => self.open(Open::Tool(n), Some((call.id, name)), out),
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
        out.extend_from_slice(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
        out.extend_from_slice(stop_reason(self.finish.as_deref()).as_bytes());
        out.extend_from_slice(b"\",\"stop_sequence\":null},\"usage\":");
        let _ = serde_json::to_writer(&mut *out, &ChatUsage::of(self.usage.as_deref()).anthropic());
        out.extend_from_slice(b"}\n\n");
        out.extend_from_slice(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
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
