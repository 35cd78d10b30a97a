//! An OpenAI client (chat completions or responses) on an Anthropic provider.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::now_secs;
use super::sse;
use super::to_anthropic::REDACTED_PREFIX;
use crate::sse::SseEvent;

type Obj = Map<String, Value>;

// -- answers ---------------------------------------------------------------------------------------

fn finish_reason(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// An Anthropic answer, read without a tree of values.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    content: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<AnswerUsage>,
}

#[derive(Deserialize, Default)]
struct AnswerUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct AnswerBlock<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct Completion<'a> {
    id: Option<&'a RawValue>,
    object: &'static str,
    created: u64,
    model: Option<&'a RawValue>,
    choices: [Choice<'a>; 1],
    usage: ChatUsage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: CompletionMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct CompletionMessage<'a> {
    role: &'static str,
    content: Option<String>,
    refusal: Option<()>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<CompletionCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    thinking_blocks: Vec<&'a RawValue>,
}

#[derive(Serialize)]
struct CompletionCall<'a> {
    id: Option<&'a RawValue>,
    #[serde(rename = "type")]
    ty: &'static str,
    function: CallOut<'a>,
}

#[derive(Serialize)]
struct CallOut<'a> {
    name: Option<&'a RawValue>,
    arguments: &'a str,
}

#[derive(Serialize)]
struct ChatUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: Cached,
}

#[derive(Serialize)]
struct Cached {
    cached_tokens: u64,
}

impl AnswerUsage {
    /// Read from a usage member held as a value; `None` when there is none.
    fn of(v: Option<&Value>) -> Option<Self> {
        v.and_then(|u| Self::deserialize(u).ok())
    }

    /// Input (cached tokens counted in, as OpenAI counts them), cached, output.
    fn totals(&self) -> (u64, u64, u64) {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let input = self.input_tokens.unwrap_or(0) + cached + self.cache_creation_input_tokens.unwrap_or(0);
        (input, cached, self.output_tokens.unwrap_or(0))
    }

    /// As chat completions say it.
    fn chat(&self) -> ChatUsage {
        let (input, cached, output) = self.totals();
        ChatUsage { prompt_tokens: input, completion_tokens: output, total_tokens: input + output, prompt_tokens_details: Cached { cached_tokens: cached } }
    }

    /// As the responses API says it.
    fn responses(&self) -> Value {
        let (input, cached, output) = self.totals();
        json!({
            "input_tokens": input,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input + output,
        })
    }
}

/// An Anthropic answer as a chat completion.
pub fn chat_response(body: &[u8]) -> Option<Vec<u8>> {
    let a: Answer<'_> = serde_json::from_slice(body).ok()?;
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut thinking_blocks = Vec::new();
    let mut reasoning: Vec<Cow<'_, str>> = Vec::new();
    for raw in &a.content {
        let b: AnswerBlock<'_> = serde_json::from_str(raw.get()).ok()?;
        match b.ty.as_deref() {
            Some("text") => text.push_str(b.text.as_deref().unwrap_or("")),
            Some("tool_use") => calls.push(CompletionCall {
                id: b.id,
                ty: "function",
                function: CallOut { name: b.name, arguments: b.input.map_or("{}", RawValue::get) },
            }),
            Some(ty @ ("thinking" | "redacted_thinking")) => {
                if ty == "thinking" {
                    reasoning.push(b.thinking.unwrap_or_default());
                }
                thinking_blocks.push(*raw);
            }
            _ => {}
        }
    }
    let content = if text.is_empty() && !calls.is_empty() { None } else { Some(text) };
    let usage = a.usage.unwrap_or_default().chat();
    let completion = Completion {
        id: a.id,
        object: "chat.completion",
        created: now_secs(),
        model: a.model,
        choices: [Choice {
            index: 0,
            message: CompletionMessage {
                role: "assistant",
                content,
                refusal: None,
                tool_calls: calls,
                reasoning_content: (!thinking_blocks.is_empty()).then(|| reasoning.join("\n")),
                thinking_blocks,
            },
            logprobs: None,
            finish_reason: finish_reason(a.stop_reason.as_deref()),
        }],
        usage,
    };
    serde_json::to_vec(&completion).ok()
}

/// Output items of the responses API for Anthropic content blocks.
fn output_item(b: &Value, n: usize) -> Option<Value> {
    match b.get("type").and_then(Value::as_str)? {
        "text" => Some(message_item(n, b.get("text").and_then(Value::as_str).unwrap_or(""), "completed")),
        "tool_use" => Some(json!({
            "type": "function_call",
            "id": format!("fc_{}", b.get("id").and_then(Value::as_str).unwrap_or("")),
            "call_id": b.get("id"),
            "name": b.get("name"),
            "arguments": serde_json::to_string(b.get("input").unwrap_or(&json!({}))).unwrap_or_default(),
            "status": "completed",
        })),
        "thinking" => Some(reasoning_item(n, b.get("thinking").and_then(Value::as_str).unwrap_or(""), b.get("signature").and_then(Value::as_str).unwrap_or(""))),
        "redacted_thinking" => Some(json!({
            "type": "reasoning", "id": format!("rs_{n}"), "summary": [],
            "encrypted_content": format!("{REDACTED_PREFIX}{}", b.get("data").and_then(Value::as_str).unwrap_or("")),
        })),
        _ => None,
    }
}

fn message_item(n: usize, text: &str, status: &str) -> Value {
    json!({
        "type": "message", "id": format!("msg_{n}"), "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    })
}

fn reasoning_item(n: usize, text: &str, signature: &str) -> Value {
    json!({"type": "reasoning", "id": format!("rs_{n}"), "summary": [{"type": "summary_text", "text": text}], "encrypted_content": signature})
}

/// The response object around `output`.
fn response_object(id: &str, model: &Value, status: &str, stop: Option<&str>, output: Vec<Value>, usage: Option<Value>) -> Value {
    let incomplete = (status == "incomplete").then(|| json!({"reason": if stop == Some("refusal") { "content_filter" } else { "max_output_tokens" }}));
    json!({
        "id": id,
        "object": "response",
        "created_at": now_secs(),
        "status": status,
        "error": null,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "store": false,
        "usage": usage,
    })
}

fn response_id(msg_id: Option<&str>) -> String {
    format!("resp_{}", msg_id.unwrap_or("").trim_start_matches("msg_"))
}

fn response_status(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded" | "refusal") => "incomplete",
        _ => "completed",
    }
}

/// An Anthropic answer as a response object.
pub fn responses_response(v: &Obj) -> Option<Value> {
    let content = v.get("content")?.as_array()?;
    let output: Vec<Value> = content.iter().enumerate().filter_map(|(n, b)| output_item(b, n)).collect();
    let stop = v.get("stop_reason").and_then(Value::as_str);
    Some(response_object(
        &response_id(v.get("id").and_then(Value::as_str)),
        v.get("model").unwrap_or(&Value::Null),
        response_status(stop),
        stop,
        output,
        Some(AnswerUsage::of(v.get("usage")).unwrap_or_default().responses()),
    ))
}

// -- streams -----------------------------------------------------------------------------------

/// An Anthropic stream's event, read for what a translation needs.
fn parse(ev: &SseEvent) -> Option<Value> {
    if ev.data.is_empty() {
        return None;
    }
    serde_json::from_str(&ev.data).ok()
}

/// An Anthropic stream event, read without a tree of values.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(borrow, default)]
    delta: Option<EventDelta<'a>>,
    #[serde(borrow, default)]
    content_block: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<EventMessage<'a>>,
    #[serde(default)]
    usage: Option<AnswerUsage>,
    #[serde(borrow, default)]
    error: Option<EventError<'a>>,
}

#[derive(Deserialize)]
struct EventMessage<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(default)]
    usage: Option<AnswerUsage>,
}

#[derive(Deserialize)]
struct EventDelta<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    signature: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EventError<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct StartedBlock<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
}

impl AnswerUsage {
    /// Fields present in `later` replace these (`message_delta` counts are cumulative).
    fn merge(&mut self, later: Option<AnswerUsage>) {
        let Some(l) = later else { return };
        self.input_tokens = l.input_tokens.or(self.input_tokens);
        self.output_tokens = l.output_tokens.or(self.output_tokens);
        self.cache_read_input_tokens = l.cache_read_input_tokens.or(self.cache_read_input_tokens);
        self.cache_creation_input_tokens = l.cache_creation_input_tokens.or(self.cache_creation_input_tokens);
    }
}

/// Anthropic events → chat completion chunks.
pub struct ChatStream {
    include_usage: bool,
    /// What every chunk starts with: `data: {"id":…,"object":…,"created":…,"model":…,`.
    head: Vec<u8>,
    usage: AnswerUsage,
    stop: Option<String>,
    /// Per Anthropic block index: the chat tool call index, for tool_use blocks.
    tool_index: Vec<Option<usize>>,
    tools: usize,
    /// The thinking block being streamed: its text and signature.
    thinking: Option<(String, String)>,
}

impl ChatStream {
    pub fn new(include_usage: bool) -> Self {
        let mut s = Self { include_usage, head: Vec::new(), usage: AnswerUsage::default(), stop: None, tool_index: Vec::new(), tools: 0, thinking: None };
        s.set_head("", None);
        s
    }

    fn set_head(&mut self, id: &str, model: Option<&RawValue>) {
        #[derive(Serialize)]
        struct Head<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: Option<&'a RawValue>,
        }
        let mut head = b"data: ".to_vec();
        let _ = serde_json::to_writer(&mut head, &Head { id, object: "chat.completion.chunk", created: now_secs(), model });
        head.pop(); // the closing brace: the chunk goes on
        head.push(b',');
        self.head = head;
    }

    /// One chunk: the head, then `delta` (JSON written by `delta`) and the finish reason.
    fn chunk(&self, out: &mut Vec<u8>, delta: impl FnOnce(&mut Vec<u8>), finish: Option<&str>) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(br#""choices":[{"index":0,"delta":"#);
        delta(out);
        out.extend_from_slice(br#","logprobs":null,"finish_reason":"#);
        let _ = serde_json::to_writer(&mut *out, &finish);
        out.extend_from_slice(b"}]}\n\n");
    }

    fn json_chunk(&self, out: &mut Vec<u8>, delta: &impl Serialize) {
        self.chunk(out, |o| drop(serde_json::to_writer(o, delta)), None);
    }

    pub fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>) {
        if ev.data.is_empty() {
            return;
        }
        let Ok(e) = serde_json::from_str::<Event<'_>>(&ev.data) else { return };
        let index = e.index.unwrap_or(0);
        match &*e.ty {
            "message_start" => {
                if let Some(m) = e.message {
                    self.set_head(m.id.as_deref().unwrap_or(""), m.model);
                    self.usage.merge(m.usage);
                }
                self.chunk(out, |o| o.extend_from_slice(br#"{"role":"assistant","content":""}"#), None);
            }
            "content_block_start" => {
                let Some(b) = e.content_block.and_then(|b| serde_json::from_str::<StartedBlock<'_>>(b.get()).ok()) else { return };
                match b.ty.as_deref() {
                    Some("tool_use") => {
                        if self.tool_index.len() <= index {
                            self.tool_index.resize(index + 1, None);
                        }
                        let n = self.tools;
                        self.tools += 1;
                        self.tool_index[index] = Some(n);
                        self.json_chunk(out, &json!({"tool_calls": [{"index": n, "id": b.id, "type": "function", "function": {"name": b.name, "arguments": ""}}]}));
                    }
                    Some("thinking") => self.thinking = Some((String::new(), String::new())),
                    Some("redacted_thinking") => self.json_chunk(out, &json!({"thinking_blocks": [e.content_block]})),
                    _ => {}
                }
            }
            "content_block_delta" => {
                let Some(d) = e.delta else { return };
                match d.ty.as_deref() {
                    Some("text_delta") => {
                        let text = d.text.map_or("\"\"", RawValue::get);
                        self.chunk(
                            out,
                            |o| {
                                o.extend_from_slice(br#"{"content":"#);
                                o.extend_from_slice(text.as_bytes());
                                o.push(b'}');
                            },
                            None,
                        );
                    }
                    Some("input_json_delta") => {
                        if let Some(Some(n)) = self.tool_index.get(index) {
                            let piece = d.partial_json.as_deref().unwrap_or("");
                            if !piece.is_empty() {
                                self.json_chunk(out, &json!({"tool_calls": [{"index": n, "function": {"arguments": piece}}]}));
                            }
                        }
                    }
                    Some("thinking_delta") => {
                        let t = d.thinking.as_deref().unwrap_or("");
                        if let Some((text, _)) = self.thinking.as_mut() {
                            text.push_str(t);
                        }
                        self.json_chunk(out, &json!({"reasoning_content": t}));
                    }
                    Some("signature_delta") => {
                        if let Some((_, sig)) = self.thinking.as_mut() {
                            sig.push_str(d.signature.as_deref().unwrap_or(""));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some((thinking, signature)) = self.thinking.take() {
                    self.json_chunk(out, &json!({"thinking_blocks": [{"type": "thinking", "thinking": thinking, "signature": signature}]}));
                }
            }
            "message_delta" => {
                self.usage.merge(e.usage);
                if let Some(s) = e.delta.and_then(|d| d.stop_reason) {
                    self.stop = Some(s.into_owned());
                }
            }
            "message_stop" => {
                let finish = finish_reason(self.stop.as_deref());
                self.chunk(out, |o| o.extend_from_slice(b"{}"), Some(finish));
                if self.include_usage {
                    out.extend_from_slice(&self.head);
                    out.extend_from_slice(br#""choices":[],"usage":"#);
                    let _ = serde_json::to_writer(&mut *out, &self.usage.chat());
                    out.extend_from_slice(b"}\n\n");
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
            }
            "error" => {
                let err = e.error.unwrap_or(EventError { ty: None, message: None });
                let ty = err.ty.as_deref();
                let body = super::openai_error(super::anthropic_status(ty), ty, err.message.as_deref().unwrap_or("the provider's stream failed"), None, None);
                sse(out, None, &body);
            }
            _ => {}
        }
    }
}

/// What a responses stream holds of one output item while it is streamed.
struct OpenItem {
    /// Its index in `output`.
    output_index: usize,
    kind: ItemKind,
}

enum ItemKind {
    Text(String),
    Tool { id: String, call_id: String, name: String, arguments: String },
    Thinking { text: String, signature: String },
    Redacted(String),
}

/// Anthropic events → responses events.
#[derive(Default)]
pub struct ResponsesStream {
    id: String,
    model: Value,
    usage: AnswerUsage,
    stop: Option<String>,
    seq: u64,
    /// Per Anthropic block index, the item it streams.
    open: Vec<Option<OpenItem>>,
    output: Vec<Value>,
}

impl ResponsesStream {
    fn send(&mut self, out: &mut Vec<u8>, ty: &str, mut data: Value) {
        data["type"] = json!(ty);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        sse(out, Some(ty), &data);
    }

    fn response(&self, status: &str, output: Vec<Value>, usage: Option<Value>) -> Value {
        response_object(&self.id, &self.model, status, self.stop.as_deref(), output, usage)
    }

    pub fn event(&mut self, ev: &SseEvent, out: &mut Vec<u8>) {
        let Some(e) = parse(ev) else { return };
        match e.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                let m = e.get("message").unwrap_or(&Value::Null);
                self.id = response_id(m.get("id").and_then(Value::as_str));
                self.model = m.get("model").cloned().unwrap_or(Value::Null);
                self.usage.merge(AnswerUsage::of(m.get("usage")));
                let r = self.response("in_progress", Vec::new(), None);
                self.send(out, "response.created", json!({"response": r}));
                self.send(out, "response.in_progress", json!({"response": r}));
            }
            "content_block_start" => self.block_start(&e, out),
            "content_block_delta" => self.block_delta(&e, out),
            "content_block_stop" => self.block_stop(&e, out),
            "message_delta" => {
                self.usage.merge(AnswerUsage::of(e.get("usage")));
                if let Some(s) = e.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str) {
                    self.stop = Some(s.to_string());
                }
            }
            "message_stop" => {
                let status = response_status(self.stop.as_deref());
                let usage = self.usage.responses();
                let output = std::mem::take(&mut self.output);
                let r = self.response(status, output, Some(usage));
                let ty = if status == "completed" { "response.completed" } else { "response.incomplete" };
                self.send(out, ty, json!({"response": r}));
            }
            "error" => {
                let err = e.get("error").unwrap_or(&Value::Null);
                let body = json!({"code": err.get("type"), "message": err.get("message"), "param": null});
                self.send(out, "error", body);
            }
            _ => {}
        }
    }

    fn block_start(&mut self, e: &Value, out: &mut Vec<u8>) {
        let index = e.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        let b = e.get("content_block").unwrap_or(&Value::Null);
        let output_index = self.output.len() + self.open.iter().flatten().count();
        let (kind, item) = match b.get("type").and_then(Value::as_str) {
            Some("text") => (ItemKind::Text(String::new()), message_item(output_index, "", "in_progress")),
            Some("tool_use") => {
                let call_id = b.get("id").and_then(Value::as_str).unwrap_or("").to_string();
                let name = b.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                let id = format!("fc_{call_id}");
                let item = json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": "", "status": "in_progress"});
                (ItemKind::Tool { id, call_id, name, arguments: String::new() }, item)
            }
            Some("thinking") => (ItemKind::Thinking { text: String::new(), signature: String::new() }, json!({"type": "reasoning", "id": format!("rs_{output_index}"), "summary": []})),
            Some("redacted_thinking") => {
                let data = b.get("data").and_then(Value::as_str).unwrap_or("").to_string();
                (ItemKind::Redacted(data), json!({"type": "reasoning", "id": format!("rs_{output_index}"), "summary": []}))
            }
            _ => return,
        };
        if let ItemKind::Text(_) = kind {
            let mut added = item.clone();
            added["content"] = json!([]);
            self.send(out, "response.output_item.added", json!({"output_index": output_index, "item": added}));
            let part = json!({"type": "output_text", "text": "", "annotations": []});
            self.send(out, "response.content_part.added", json!({"item_id": format!("msg_{output_index}"), "output_index": output_index, "content_index": 0, "part": part}));
        } else {
            self.send(out, "response.output_item.added", json!({"output_index": output_index, "item": item}));
            if let ItemKind::Thinking { .. } = kind {
                let part = json!({"type": "summary_text", "text": ""});
                self.send(out, "response.reasoning_summary_part.added", json!({"item_id": format!("rs_{output_index}"), "output_index": output_index, "summary_index": 0, "part": part}));
            }
        }
        if self.open.len() <= index {
            self.open.resize_with(index + 1, || None);
        }
        self.open[index] = Some(OpenItem { output_index, kind });
    }

    fn block_delta(&mut self, e: &Value, out: &mut Vec<u8>) {
        let index = e.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        let d = e.get("delta").unwrap_or(&Value::Null);
        let Some(Some(item)) = self.open.get_mut(index) else { return };
        let n = item.output_index;
        let (ty, data) = match (&mut item.kind, d.get("type").and_then(Value::as_str)) {
            (ItemKind::Text(text), Some("text_delta")) => {
                let t = d.get("text").and_then(Value::as_str).unwrap_or("");
                text.push_str(t);
                ("response.output_text.delta", json!({"item_id": format!("msg_{n}"), "output_index": n, "content_index": 0, "delta": t, "logprobs": []}))
            }
            (ItemKind::Tool { id, arguments, .. }, Some("input_json_delta")) => {
                let t = d.get("partial_json").and_then(Value::as_str).unwrap_or("");
                if t.is_empty() {
                    return;
                }
                arguments.push_str(t);
                ("response.function_call_arguments.delta", json!({"item_id": id, "output_index": n, "delta": t}))
            }
            (ItemKind::Thinking { text, .. }, Some("thinking_delta")) => {
                let t = d.get("thinking").and_then(Value::as_str).unwrap_or("");
                text.push_str(t);
                ("response.reasoning_summary_text.delta", json!({"item_id": format!("rs_{n}"), "output_index": n, "summary_index": 0, "delta": t}))
            }
            (ItemKind::Thinking { signature, .. }, Some("signature_delta")) => {
                signature.push_str(d.get("signature").and_then(Value::as_str).unwrap_or(""));
                return;
            }
            _ => return,
        };
        self.send(out, ty, data);
    }

    fn block_stop(&mut self, e: &Value, out: &mut Vec<u8>) {
        let index = e.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        let Some(item) = self.open.get_mut(index).and_then(Option::take) else { return };
        let n = item.output_index;
        let done = match item.kind {
            ItemKind::Text(text) => {
                self.send(out, "response.output_text.done", json!({"item_id": format!("msg_{n}"), "output_index": n, "content_index": 0, "text": text, "logprobs": []}));
                let part = json!({"type": "output_text", "text": text, "annotations": []});
                self.send(out, "response.content_part.done", json!({"item_id": format!("msg_{n}"), "output_index": n, "content_index": 0, "part": part}));
                message_item(n, &text, "completed")
            }
            ItemKind::Tool { id, call_id, name, arguments } => {
                let arguments = if arguments.is_empty() { "{}".to_string() } else { arguments };
                self.send(out, "response.function_call_arguments.done", json!({"item_id": id, "output_index": n, "name": name, "arguments": arguments}));
                json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"})
            }
            ItemKind::Thinking { text, signature } => {
                self.send(out, "response.reasoning_summary_text.done", json!({"item_id": format!("rs_{n}"), "output_index": n, "summary_index": 0, "text": text}));
                let part = json!({"type": "summary_text", "text": text});
                self.send(out, "response.reasoning_summary_part.done", json!({"item_id": format!("rs_{n}"), "output_index": n, "summary_index": 0, "part": part}));
                reasoning_item(n, &text, &signature)
            }
            ItemKind::Redacted(data) => json!({"type": "reasoning", "id": format!("rs_{n}"), "summary": [], "encrypted_content": format!("{REDACTED_PREFIX}{data}")}),
        };
        self.send(out, "response.output_item.done", json!({"output_index": n, "item": done}));
        self.output.push(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thinking_tool_turn_streams_as_chat_chunks() {
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":10,"cache_read_input_tokens":4,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"w","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let mut s = ChatStream::new(true);
        let mut out = Vec::new();
        for data in events {
            s.event(&SseEvent { event: None, data: data.into(), id: None, retry: None, raw: bytes::Bytes::new() }, &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        let chunks: Vec<Value> = text.split("\n\n").filter_map(|e| e.strip_prefix("data: ")).filter(|d| *d != "[DONE]").map(|d| serde_json::from_str(d).unwrap()).collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(chunks.iter().any(|c| c["choices"][0]["delta"]["thinking_blocks"][0]["signature"] == "sig"));
        let args: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()).collect();
        assert_eq!(args, "{\"a\":1}");
        let last = chunks.last().unwrap();
        assert_eq!(last["usage"]["prompt_tokens"], 14);
        assert_eq!(last["usage"]["completion_tokens"], 7);
        assert_eq!(chunks[chunks.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
        assert!(text.ends_with("data: [DONE]\n\n"));
    }
}
