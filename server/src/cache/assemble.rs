//! A streamed answer, as the client got it, assembled into the whole answer of its protocol — so
//! that it can be stored and served again whole or streamed. Only a stream that completed
//! assembles: chat's every choice finished and `[DONE]`, messages' `message_stop`, responses'
//! `response.completed`.

use serde_json::{json, Map, Value};

use crate::llm::usage::Usage;
use crate::llm::Api;
use crate::sse::SseEvent;

pub enum Assembler {
    Chat(Chat),
    Messages(Messages),
    Responses(Option<Value>),
    /// Embeddings are not streamed.
    None,
}

#[derive(Default)]
pub struct Chat {
    head: Map<String, Value>,
    choices: Vec<ChatChoice>,
    usage: Option<Value>,
    done: bool,
    failed: bool,
}

#[derive(Default)]
struct ChatChoice {
    role: Option<Value>,
    content: Option<String>,
    /// Other delta members: strings are joined, arrays extended, anything else kept as last sent.
    extra: Map<String, Value>,
    calls: Vec<ChatCall>,
    finish_reason: Option<Value>,
    /// Token log probabilities, when asked for: each list (`content`, `refusal`) joined.
    logprobs: Option<Map<String, Value>>,
}

#[derive(Default)]
struct ChatCall {
    id: Option<Value>,
    name: String,
    arguments: String,
}

#[derive(Default)]
pub struct Messages {
    message: Option<Map<String, Value>>,
    blocks: Vec<Option<Map<String, Value>>>,
    /// Each tool use block's streamed input.
    partial_json: Vec<String>,
    stopped: bool,
}

impl Assembler {
    pub fn new(api: Api) -> Self {
        match api {
            Api::Chat => Self::Chat(Chat::default()),
            Api::Messages => Self::Messages(Messages::default()),
            Api::Responses => Self::Responses(None),
            Api::Embeddings => Self::None,
        }
    }

    /// Takes the stream's next event; returns about how many bytes of it the answer keeps.
    pub fn event(&mut self, ev: &SseEvent) -> usize {
        if let (Self::Chat(c), "[DONE]") = (&mut *self, ev.data.as_str()) {
            c.done = true;
            return 0;
        }
        let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&ev.data) else { return 0 };
        match self {
            Self::Chat(c) => c.chunk(data),
            Self::Messages(m) => m.event(data),
            Self::Responses(whole) => {
                if data.get("type").and_then(Value::as_str) == Some("response.completed") {
                    *whole = data.get("response").cloned().filter(|r| r.get("status").and_then(Value::as_str) == Some("completed"));
                    return whole.as_ref().map_or(0, size);
                }
                0
            }
            Self::None => 0,
        }
    }

    /// Whether the stream's last event came (the answer may still be incomplete: a choice
    /// without its end).
    pub fn ended(&self) -> bool {
        match self {
            Self::Chat(c) => c.done,
            Self::Messages(m) => m.stopped,
            Self::Responses(whole) => whole.is_some(),
            Self::None => false,
        }
    }

    /// The whole answer, if the stream completed; `usage` is the provider's, for a chat stream
    /// whose usage chunk the client did not get.
    pub fn finish(self, usage: &Usage) -> Option<Value> {
        match self {
            Self::Chat(c) => c.finish(usage),
            Self::Messages(m) => m.finish(),
            Self::Responses(whole) => whole,
            Self::None => None,
        }
    }
}

/// Adds a streamed piece to what a member holds so far; returns about how many bytes it adds.
fn join(into: &mut Map<String, Value>, key: &str, piece: &Value) -> usize {
    match (into.get_mut(key), piece) {
        (Some(Value::String(s)), Value::String(p)) => s.push_str(p),
        (Some(Value::Array(a)), Value::Array(p)) => a.extend(p.iter().cloned()),
        _ => {
            into.insert(key.to_string(), piece.clone());
        }
    }
    size(piece)
}

/// About how many bytes an object's members are written in (as [`size`]).
fn members_size(o: &Map<String, Value>) -> usize {
    o.iter().map(|(k, v)| k.len() + size(v)).sum()
}

/// About how many bytes a value is written in: its strings' bytes, and a byte for each of its
/// other parts (at most what it is written in, so a bound reached by this count is reached).
fn size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(size).sum::<usize>() + 1,
        Value::Object(o) => members_size(o) + 1,
        _ => 1,
    }
}

impl Chat {
    fn chunk(&mut self, mut data: Map<String, Value>) -> usize {
        let mut kept = 0;
        // An error said mid-stream (some providers send one in a chunk): not an answer to keep.
        if data.get("error").is_some_and(|e| !e.is_null()) {
            self.failed = true;
        }
        if let Some(u) = data.remove("usage").filter(|u| !u.is_null()) {
            self.usage = Some(u);
        }
        let choices = data.remove("choices");
        for key in crate::llm::CHAT_HEAD_MEMBERS {
            if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
                self.head.entry(key).or_insert_with(|| v.clone());
            }
        }
        for choice in choices.as_ref().and_then(Value::as_array).into_iter().flatten() {
            let i = choice.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
            // Choices are few (`n`, bounded by the request): an index past what a request may
            // ask for is not a choice to keep.
            if i >= 128 {
                continue;
            }
            if self.choices.len() <= i {
                self.choices.resize_with(i + 1, ChatChoice::default);
            }
            let c = &mut self.choices[i];
            if let Some(delta) = choice.get("delta").and_then(Value::as_object) {
                for (k, v) in delta {
                    match (k.as_str(), v) {
                        ("role", r) if !r.is_null() => c.role = Some(r.clone()),
                        ("content", Value::String(s)) => {
                            c.content.get_or_insert_with(String::new).push_str(s);
                            kept += s.len();
                        }
                        ("tool_calls", Value::Array(calls)) => {
                            for call in calls {
                                let j = call.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                                if j >= 128 {
                                    continue;
                                }
                                if c.calls.len() <= j {
                                    c.calls.resize_with(j + 1, ChatCall::default);
                                }
                                let held = &mut c.calls[j];
                                if let Some(id) = call.get("id").filter(|v| !v.is_null()) {
                                    held.id = Some(id.clone());
                                }
                                if let Some(n) = call.pointer("/function/name").and_then(Value::as_str) {
                                    held.name.push_str(n);
                                    kept += n.len();
                                }
                                if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
                                    held.arguments.push_str(a);
                                    kept += a.len();
                                }
                            }
                        }
                        (_, v) if v.is_null() => {}
                        (k, v) => kept += join(&mut c.extra, k, v),
                    }
                }
            }
            if let Some(Value::Object(lp)) = choice.get("logprobs") {
                let into = c.logprobs.get_or_insert_with(Map::new);
                for (k, v) in lp.iter().filter(|(_, v)| !v.is_null()) {
                    kept += join(into, k, v);
                }
            }
            if let Some(f) = choice.get("finish_reason").filter(|f| !f.is_null()) {
                c.finish_reason = Some(f.clone());
            }
        }
        kept
    }

    fn finish(self, usage: &Usage) -> Option<Value> {
        let ended_in_error = |c: &ChatChoice| c.finish_reason.as_ref().is_none_or(|f| f.as_str() == Some("error"));
        if !self.done || self.failed || self.choices.is_empty() || self.choices.iter().any(ended_in_error) {
            return None;
        }
        let choices: Vec<Value> = self
            .choices
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let mut message = Map::new();
                message.insert("role".into(), c.role.unwrap_or_else(|| json!("assistant")));
                message.insert("content".into(), c.content.map_or(Value::Null, Value::String));
                message.insert("refusal".into(), Value::Null);
                message.extend(c.extra);
                if !c.calls.is_empty() {
                    let calls: Vec<Value> = c.calls.into_iter().map(|t| json!({"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}})).collect();
                    message.insert("tool_calls".into(), Value::Array(calls));
                }
                json!({"index": i, "message": message, "logprobs": c.logprobs, "finish_reason": c.finish_reason})
            })
            .collect();
        let mut whole = self.head;
        whole.insert("object".into(), json!("chat.completion"));
        whole.insert("choices".into(), Value::Array(choices));
        let usage = self.usage.or_else(|| chat_usage(usage));
        if let Some(u) = usage {
            whole.insert("usage".into(), u);
        }
        Some(Value::Object(whole))
    }
}

/// The provider's usage in chat's shape.
fn chat_usage(u: &Usage) -> Option<Value> {
    let (input, output) = (u.input?, u.output?);
    let mut v = json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output});
    if let Some(c) = u.cached_input {
        v["prompt_tokens_details"] = json!({"cached_tokens": c});
    }
    if let Some(r) = u.reasoning {
        v["completion_tokens_details"] = json!({"reasoning_tokens": r});
    }
    Some(v)
}

/// The most content blocks a message may have here (each index of a stream is one).
const MAX_BLOCKS: usize = 4096;

impl Messages {
    /// Takes an event; returns about how many bytes of it are kept.
    fn event(&mut self, mut data: Map<String, Value>) -> usize {
        let index = data.get("index").and_then(Value::as_u64).map(|i| i as usize).filter(|i| *i < MAX_BLOCKS);
        match data.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                let Some(Value::Object(m)) = data.remove("message") else { return 0 };
                let kept = members_size(&m);
                self.message = Some(m);
                kept
            }
            "content_block_start" => {
                let (Some(i), Some(Value::Object(block))) = (index, data.remove("content_block")) else { return 0 };
                if self.blocks.len() <= i {
                    self.blocks.resize(i + 1, None);
                    self.partial_json.resize(i + 1, String::new());
                }
                let kept = members_size(&block);
                self.blocks[i] = Some(block);
                kept
            }
            "content_block_delta" => {
                let Some(i) = index else { return 0 };
                let (Some(Some(block)), Some(Value::Object(delta))) = (self.blocks.get_mut(i), data.remove("delta")) else { return 0 };
                match delta.get("type").and_then(Value::as_str).unwrap_or("") {
                    "text_delta" => join(block, "text", delta.get("text").unwrap_or(&Value::Null)),
                    "thinking_delta" => join(block, "thinking", delta.get("thinking").unwrap_or(&Value::Null)),
                    "signature_delta" => join(block, "signature", delta.get("signature").unwrap_or(&Value::Null)),
                    "citations_delta" => delta.get("citation").map_or(0, |c| join(block, "citations", &Value::Array(vec![c.clone()]))),
                    "input_json_delta" => {
                        let p = delta.get("partial_json").and_then(Value::as_str).unwrap_or("");
                        self.partial_json[i].push_str(p);
                        p.len()
                    }
                    _ => 0,
                }
            }
            "content_block_stop" => {
                let Some(i) = index else { return 0 };
                if let Some(Some(block)) = self.blocks.get_mut(i) {
                    let partial = std::mem::take(&mut self.partial_json[i]);
                    if !partial.is_empty() {
                        if let Ok(input) = serde_json::from_str::<Value>(&partial) {
                            block.insert("input".into(), input);
                        }
                    }
                }
                0
            }
            "message_delta" => {
                let Some(m) = self.message.as_mut() else { return 0 };
                // (Members it replaces were counted when they came.)
                let mut kept = 0;
                if let Some(Value::Object(delta)) = data.remove("delta") {
                    for (k, v) in delta {
                        if !m.contains_key(&k) {
                            kept += k.len() + size(&v);
                        }
                        m.insert(k, v);
                    }
                }
                if let Some(Value::Object(u)) = data.remove("usage") {
                    let usage = m.entry("usage").or_insert_with(|| json!({}));
                    if let Some(into) = usage.as_object_mut() {
                        for (k, v) in u.into_iter().filter(|(_, v)| !v.is_null()) {
                            into.insert(k, v);
                        }
                    }
                }
                kept
            }
            "message_stop" => {
                self.stopped = true;
                0
            }
            _ => 0,
        }
    }

    fn finish(self) -> Option<Value> {
        let mut m = self.message.filter(|_| self.stopped)?;
        // A block that never started (an index skipped) would leave a hole: not a stream to keep.
        let blocks: Option<Vec<Value>> = self.blocks.into_iter().map(|b| b.map(Value::Object)).collect();
        m.insert("content".into(), Value::Array(blocks?));
        Some(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseSplitter;

    fn assemble(api: Api, stream: &str, usage: &Usage) -> Option<Value> {
        let mut events = Vec::new();
        SseSplitter::default().push(stream.as_bytes(), &mut events).unwrap();
        let mut a = Assembler::new(api);
        for e in &events {
            a.event(e);
        }
        a.finish(usage)
    }

    #[test]
    fn a_chat_stream_assembles_with_its_tool_calls_and_usage() {
        let head = r#""id":"c1","object":"chat.completion.chunk","created":7,"model":"m""#;
        let stream = [
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"reasoning_content":"Think "}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"reasoning_content":"hard."}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"content":"Hel"}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"content":"lo"}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"id":"call_1","type":"function","function":{{"name":"f","arguments":""}}}}]}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":{{"arguments":"{{\"a\":"}}}}]}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":{{"arguments":"1}}"}}}}]}},"finish_reason":null}}]}}"#),
            format!(r#"data: {{{head},"choices":[{{"index":0,"delta":{{}},"finish_reason":"tool_calls"}}]}}"#),
            "data: [DONE]".to_string(),
        ]
        .join("\n\n")
            + "\n\n";
        let usage = Usage { input: Some(3), output: Some(4), cached_input: None, reasoning: None };
        let whole = assemble(Api::Chat, &stream, &usage).unwrap();
        assert_eq!(
            whole,
            json!({"id": "c1", "created": 7, "model": "m", "object": "chat.completion",
                "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Hello", "refusal": null,
                    "reasoning_content": "Think hard.", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
        );
        // Cut before its end: nothing to keep.
        let cut = &stream[..stream.find("data: [DONE]").unwrap()];
        assert!(assemble(Api::Chat, cut, &usage).is_none());
        let unfinished = stream.replace(r#""finish_reason":"tool_calls""#, r#""finish_reason":null"#);
        assert!(assemble(Api::Chat, &unfinished, &usage).is_none());
        // An error said mid-stream, or a choice ended in error: nothing to keep.
        let errored = stream.replace(r#""finish_reason":"tool_calls""#, r#""finish_reason":"error""#);
        assert!(assemble(Api::Chat, &errored, &usage).is_none());
        let with_error = stream.replace("data: [DONE]", &format!("data: {{{head},\"error\":{{\"message\":\"upstream failed\"}},\"choices\":[]}}\n\ndata: [DONE]"));
        assert!(assemble(Api::Chat, &with_error, &usage).is_none());
    }

    #[test]
    fn a_messages_stream_assembles_with_thinking_and_tool_use() {
        let evs = [
            ("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "c", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}})),
            ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
            ("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi "}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "there"}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
            ("content_block_start", json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"q\": "}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"x\"}"}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 2})),
            ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}})),
            ("message_stop", json!({"type": "message_stop"})),
        ];
        let stream: String = evs.iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect();
        let whole = assemble(Api::Messages, &stream, &Usage::default()).unwrap();
        assert_eq!(
            whole,
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "c", "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 5, "output_tokens": 9},
                "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "sig"}, {"type": "text", "text": "Hi there"}, {"type": "tool_use", "id": "t1", "name": "f", "input": {"q": "x"}}]})
        );
        let cut = &stream[..stream.find("event: message_stop").unwrap()];
        assert!(assemble(Api::Messages, cut, &Usage::default()).is_none());
    }

    #[test]
    fn a_responses_stream_is_its_completed_response() {
        let done = json!({"type": "response.completed", "response": {"id": "r", "status": "completed", "output": []}});
        let stream = format!("event: response.created\ndata: {}\n\nevent: response.completed\ndata: {done}\n\n", json!({"type": "response.created", "response": {"status": "in_progress"}}));
        assert_eq!(assemble(Api::Responses, &stream, &Usage::default()), Some(done["response"].clone()));
        let incomplete = stream.replace("\"completed\",\"output\"", "\"incomplete\",\"output\"");
        assert!(assemble(Api::Responses, &incomplete, &Usage::default()).is_none());
    }
}
