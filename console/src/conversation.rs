//! A recorded call read as a conversation: the request's turns (system prompt, user and
//! assistant messages, tool calls and their results) and the answer's, from the bodies the audit
//! trail kept, for OpenAI Chat Completions and Responses, Anthropic Messages and MCP.
//!
//! Bodies come as recorded: possibly cut mid-JSON (the audit trail ends a cut body with a
//! `…[truncated; N bytes in all]` marker), and streamed answers as the raw server-sent events the
//! provider sent. Nothing here may panic on what a body holds: what cannot be read is shown as
//! recorded, with a note saying why. Rendering escapes everything (text only, never inner HTML),
//! shows images only from `data:image/` URLs (an `https:` one is a link), and is bounded so that a huge body
//! cannot make a huge page.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde_json::Value;

/// Turns rendered, request and answer together; the rest are counted, not shown.
const MAX_TURNS: usize = 500;
/// Parts rendered in all, so that one turn of ten thousand images cannot make a huge page.
const MAX_PARTS: usize = 2_000;
/// Bytes of one text (or tool arguments, result, raw stream) rendered; the rest is cut.
const MAX_TEXT: usize = 64 * 1024;
/// How the audit trail ends a body it cut (see `capture_body` in the server).
const CUT_MARKER: &str = "…[truncated; ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// An `https:` or `data:` URL (anything else is kept too, and shown as text).
    Image { url: String, media_type: Option<String> },
    /// `arguments` pretty-printed when they are JSON, as sent otherwise.
    ToolCall { id: Option<String>, name: String, arguments: String },
    ToolResult { id: Option<String>, content: String, is_error: bool },
    Thinking(String),
    /// A part this module does not know, as its raw JSON (or a body as recorded).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    pub name: Option<String>,
    pub parts: Vec<Part>,
}

impl Turn {
    fn new(role: Role, parts: Vec<Part>) -> Self {
        Self { role, name: None, parts }
    }

    fn named(role: Role, name: Option<String>, parts: Vec<Part>) -> Self {
        Self { role, name, parts }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    /// The request's turns, oldest first.
    pub turns: Vec<Turn>,
    /// The response's turns.
    pub answer: Vec<Turn>,
    /// A streamed answer as the provider sent it.
    pub raw_stream: Option<String>,
    /// What the reader should know about how the bodies were read (cut, not JSON, an error).
    pub note: Option<String>,
}

// -- reading bodies ---------------------------------------------------------------------------

/// A body as recorded, without the audit trail's cut marker.
struct Body<'a> {
    text: &'a str,
    /// Bytes kept and bytes in all, when the body was cut.
    cut: Option<(usize, String)>,
}

impl<'a> Body<'a> {
    fn of(recorded: &'a str) -> Self {
        if let Some(at) = recorded.rfind(CUT_MARKER) {
            let tail = &recorded[at + CUT_MARKER.len()..];
            if let Some(total) = tail.strip_suffix(" bytes in all]").filter(|t| t.bytes().all(|b| b.is_ascii_digit())) {
                return Self { text: &recorded[..at], cut: Some((at, total.to_string())) };
            }
        }
        Self { text: recorded, cut: None }
    }

    /// Why `what` (the request or the answer) is shown as recorded.
    fn unread_note(&self, what: &str) -> String {
        match &self.cut {
            Some((kept, total)) => format!("The {what} body was cut at {kept} of {total} bytes; showing it as recorded."),
            None => format!("The {what} body is not JSON this page can read; showing it as recorded."),
        }
    }
}

fn non_empty(body: Option<&str>) -> Option<&str> {
    body.filter(|b| !b.trim().is_empty())
}

/// A turn holding a body as recorded.
fn as_recorded(role: Role, text: &str) -> Turn {
    Turn::named(role, Some("as recorded".into()), vec![Part::Text(text.to_string())])
}

/// Whether a body is server-sent events rather than JSON.
fn looks_like_sse(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("data:") || t.starts_with("event:") || t.starts_with("id:") || t.starts_with(':')
}

/// A stream's events: each one's `event:` name and its `data:` parsed as JSON (data that is not
/// JSON, such as a last event cut short, is left out), and whether `data: [DONE]` came.
fn sse_events(text: &str) -> (Vec<(Option<String>, Value)>, bool) {
    let mut events = Vec::new();
    let mut done = false;
    let (mut name, mut data): (Option<String>, Option<String>) = (None, None);
    let mut dispatch = |name: &mut Option<String>, data: &mut Option<String>| {
        if let Some(d) = data.take() {
            if d.trim() == "[DONE]" {
                done = true;
            } else if let Ok(v) = serde_json::from_str::<Value>(&d) {
                events.push((name.clone(), v));
            }
        }
        *name = None;
    };
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            dispatch(&mut name, &mut data);
        } else if let Some(v) = line.strip_prefix("data:") {
            let v = v.strip_prefix(' ').unwrap_or(v);
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(v);
                }
                None => data = Some(v.to_string()),
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            name = Some(v.trim().to_string());
        }
    }
    dispatch(&mut name, &mut data);
    (events, done)
}

// -- small readers ----------------------------------------------------------------------------

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn string_of(v: &Value, key: &str) -> Option<String> {
    str_of(v, key).map(str::to_string)
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Tool arguments as sent: pretty when they are JSON, as they are otherwise (a model may well
/// send arguments that do not parse).
fn pretty_args(raw: &str) -> String {
    serde_json::from_str::<Value>(raw).map(|v| pretty(&v)).unwrap_or_else(|_| raw.to_string())
}

/// A JSON value that holds arguments: a string of JSON (OpenAI) or an object (Anthropic, MCP).
fn args_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => pretty_args(s),
        Some(other) => pretty(other),
    }
}

/// The texts of a content that is a string or an array of parts with `text`.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().or_else(|| str_of(i, "text"))).collect::<Vec<_>>().join("\n"),
        Value::Null => String::new(),
        other => pretty(other),
    }
}

/// The media type a `data:` URL names.
fn data_url_type(url: &str) -> Option<String> {
    let rest = url.get(..5).filter(|s| s.eq_ignore_ascii_case("data:")).map(|_| &url[5..])?;
    let end = rest.find([';', ',']).unwrap_or(rest.len());
    Some(rest[..end].to_string()).filter(|t| !t.is_empty())
}

fn image(url: String, media_type: Option<String>) -> Part {
    let media_type = media_type.or_else(|| data_url_type(&url));
    Part::Image { url, media_type }
}

/// An error object's words: `{"error": {"message": …}}` (OpenAI, Anthropic) or `{"message": …}`.
fn error_words(v: &Value) -> Option<String> {
    let e = v.get("error").filter(|e| !e.is_null())?;
    let message = str_of(e, "message").map(str::to_string).unwrap_or_else(|| text_of(e));
    Some(match str_of(e, "type").or_else(|| str_of(e, "code")) {
        Some(kind) => format!("The provider answered with an error ({kind}): {message}"),
        None => format!("The provider answered with an error: {message}"),
    })
}

/// Adds a turn, joining it to the last one when both are the assistant's: the Responses API
/// gives each output (reasoning, message, function call) as its own item.
fn push_joined(turns: &mut Vec<Turn>, turn: Turn) {
    if turn.parts.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == Role::Assistant && turn.role == Role::Assistant && last.name == turn.name => last.parts.extend(turn.parts),
        _ => turns.push(turn),
    }
}

// -- LLM APIs ---------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Api {
    Chat,
    Responses,
    Messages,
    Embeddings,
}

impl Api {
    fn of(operation: &str) -> Option<Self> {
        match operation {
            "chat" | "chat.completions" | "chat_completions" => Some(Self::Chat),
            "responses" => Some(Self::Responses),
            "messages" => Some(Self::Messages),
            "embeddings" => Some(Self::Embeddings),
            _ => None,
        }
    }

    fn request(self, v: &Value) -> Vec<Turn> {
        match self {
            Self::Chat => chat_request(v),
            Self::Responses => responses_request(v),
            Self::Messages => anthropic_request(v),
            Self::Embeddings => embeddings_request(v),
        }
    }

    fn response(self, v: &Value) -> Vec<Turn> {
        match self {
            Self::Chat => chat_response(v),
            Self::Responses => responses_output(v),
            Self::Messages => anthropic_response(v),
            Self::Embeddings => embeddings_response(v),
        }
    }

    /// The answer assembled from a stream's events, whether the stream came to its end, and the
    /// errors it carried.
    fn stream(self, events: &[(Option<String>, Value)], done: bool) -> Streamed {
        match self {
            Self::Chat | Self::Embeddings => chat_stream(events, done),
            Self::Responses => responses_stream(events),
            Self::Messages => anthropic_stream(events),
        }
    }
}

struct Streamed {
    answer: Vec<Turn>,
    finished: bool,
    notes: Vec<String>,
}

/// The conversation of an LLM call: `operation` is the audit event's (`chat`, `responses`,
/// `messages`, `embeddings`), `streamed` whether the answer was streamed. `None` when the
/// operation is not one of these or there is nothing to show.
pub fn from_llm(operation: &str, streamed: bool, request: Option<&str>, response: Option<&str>) -> Option<Conversation> {
    let api = Api::of(operation)?;
    let mut c = Conversation::default();
    let mut notes = Vec::new();
    if let Some(text) = non_empty(request) {
        let body = Body::of(text);
        match serde_json::from_str::<Value>(body.text) {
            Ok(v) => c.turns = api.request(&v),
            Err(_) => {
                notes.push(body.unread_note("request"));
                c.turns = vec![as_recorded(Role::User, text)];
            }
        }
    }
    if let Some(text) = non_empty(response) {
        let body = Body::of(text);
        // A streamed call can still be answered with one JSON body (an error, say): the body's
        // shape decides, `streamed` only lets a stream with an odd first line count.
        if looks_like_sse(body.text) || (streamed && body.text.contains("\ndata:")) {
            c.raw_stream = Some(text.to_string());
            let (events, done) = sse_events(body.text);
            let s = api.stream(&events, done);
            c.answer = s.answer;
            notes.extend(s.notes);
            match &body.cut {
                Some((kept, total)) => notes.push(format!("The stream was cut at {kept} of {total} bytes; the answer shows what came before the cut.")),
                None if !s.finished => notes.push("The stream ended before its last event; the answer shows what came.".into()),
                None => {}
            }
        } else {
            match serde_json::from_str::<Value>(body.text) {
                Ok(v) => {
                    c.answer = api.response(&v);
                    notes.extend(error_words(&v));
                }
                Err(_) => {
                    notes.push(body.unread_note("response"));
                    c.answer = vec![as_recorded(Role::Assistant, text)];
                }
            }
        }
    }
    if !notes.is_empty() {
        c.note = Some(notes.join(" "));
    }
    (!c.turns.is_empty() || !c.answer.is_empty() || c.note.is_some()).then_some(c)
}

// -- OpenAI Chat Completions ------------------------------------------------------------------

fn chat_role(role: &str) -> Role {
    match role {
        "system" | "developer" => Role::System,
        "assistant" => Role::Assistant,
        "tool" | "function" => Role::Tool,
        _ => Role::User,
    }
}

/// A content part of a chat message.
fn chat_part(p: &Value) -> Part {
    match str_of(p, "type") {
        Some("text") => Part::Text(string_of(p, "text").unwrap_or_default()),
        Some("refusal") => Part::Text(format!("Refused: {}", str_of(p, "refusal").unwrap_or_default())),
        Some("image_url") => match p.get("image_url").and_then(|i| i.as_str().or_else(|| str_of(i, "url"))) {
            Some(url) => image(url.to_string(), None),
            None => Part::Other(p.to_string()),
        },
        _ => Part::Other(p.to_string()),
    }
}

/// A chat message (request or answer) as a turn.
fn chat_message(m: &Value) -> Turn {
    let role_name = str_of(m, "role").unwrap_or("user");
    let role = chat_role(role_name);
    let mut name = string_of(m, "name");
    if role_name == "developer" && name.is_none() {
        name = Some("developer".into());
    }
    let mut parts = Vec::new();
    if let Some(t) = str_of(m, "reasoning_content").or_else(|| str_of(m, "reasoning")).filter(|t| !t.is_empty()) {
        parts.push(Part::Thinking(t.to_string()));
    }
    let content = m.get("content").unwrap_or(&Value::Null);
    if role == Role::Tool {
        parts.push(Part::ToolResult { id: string_of(m, "tool_call_id"), content: text_of(content), is_error: false });
    } else {
        match content {
            Value::String(s) => parts.push(Part::Text(s.clone())),
            Value::Array(items) => parts.extend(items.iter().map(chat_part)),
            Value::Null => {}
            other => parts.push(Part::Other(other.to_string())),
        }
    }
    if let Some(r) = str_of(m, "refusal").filter(|r| !r.is_empty()) {
        parts.push(Part::Text(format!("Refused: {r}")));
    }
    for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let f = call.get("function").or_else(|| call.get("custom")).unwrap_or(&Value::Null);
        parts.push(Part::ToolCall {
            id: string_of(call, "id"),
            name: string_of(f, "name").unwrap_or_default(),
            arguments: args_of(f.get("arguments").or_else(|| f.get("input"))),
        });
    }
    if let Some(f) = m.get("function_call").filter(|f| f.is_object()) {
        parts.push(Part::ToolCall { id: None, name: string_of(f, "name").unwrap_or_default(), arguments: args_of(f.get("arguments")) });
    }
    Turn::named(role, name, parts)
}

fn chat_request(v: &Value) -> Vec<Turn> {
    v.get("messages").and_then(Value::as_array).into_iter().flatten().map(chat_message).collect()
}

/// The name of a choice, when there are several.
fn choice_name(index: u64, several: bool) -> Option<String> {
    several.then(|| format!("choice {index}"))
}

fn chat_response(v: &Value) -> Vec<Turn> {
    let choices = v.get("choices").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    choices
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let mut turn = chat_message(c.get("message")?);
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
            turn.name = choice_name(index, choices.len() > 1).or(turn.name);
            Some(turn)
        })
        .collect()
}

#[derive(Default)]
struct ToolCallPieces {
    id: Option<String>,
    name: String,
    arguments: String,
}

impl ToolCallPieces {
    /// A fragment: the id and the name come whole in the call's first chunk, the arguments in
    /// pieces after it (some servers repeat the id and name: the first ones stand).
    fn add(&mut self, id: Option<&str>, name: Option<&str>, arguments: Option<&str>) {
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            self.id.get_or_insert_with(|| id.to_string());
        }
        if let Some(name) = name.filter(|n| !n.is_empty() && self.name.is_empty()) {
            self.name = name.to_string();
        }
        self.arguments.push_str(arguments.unwrap_or_default());
    }

    fn part(self) -> Part {
        Part::ToolCall { id: self.id, name: self.name, arguments: pretty_args(&self.arguments) }
    }
}

#[derive(Default)]
struct ChoicePieces {
    thinking: String,
    text: String,
    refusal: String,
    tool_calls: BTreeMap<u64, ToolCallPieces>,
}

/// `chat.completion.chunk` events: each choice's content pieces joined, its tool calls put
/// together by their index.
fn chat_stream(events: &[(Option<String>, Value)], done: bool) -> Streamed {
    let mut choices: BTreeMap<u64, ChoicePieces> = BTreeMap::new();
    let mut finished = done;
    let mut notes = Vec::new();
    for (_, v) in events {
        notes.extend(error_words(v));
        for (i, c) in v.get("choices").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
            let pieces = choices.entry(index).or_default();
            finished |= c.get("finish_reason").is_some_and(|f| !f.is_null());
            let Some(delta) = c.get("delta") else { continue };
            pieces.thinking.push_str(str_of(delta, "reasoning_content").or_else(|| str_of(delta, "reasoning")).unwrap_or_default());
            pieces.text.push_str(str_of(delta, "content").unwrap_or_default());
            pieces.refusal.push_str(str_of(delta, "refusal").unwrap_or_default());
            for (j, call) in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let at = call.get("index").and_then(Value::as_u64).unwrap_or(j as u64);
                let f = call.get("function").unwrap_or(&Value::Null);
                pieces.tool_calls.entry(at).or_default().add(str_of(call, "id"), str_of(f, "name"), str_of(f, "arguments"));
            }
        }
    }
    let several = choices.len() > 1;
    let answer = choices
        .into_iter()
        .map(|(index, c)| {
            let mut parts = Vec::new();
            if !c.thinking.is_empty() {
                parts.push(Part::Thinking(c.thinking));
            }
            if !c.text.is_empty() {
                parts.push(Part::Text(c.text));
            }
            if !c.refusal.is_empty() {
                parts.push(Part::Text(format!("Refused: {}", c.refusal)));
            }
            parts.extend(c.tool_calls.into_values().map(ToolCallPieces::part));
            Turn::named(Role::Assistant, choice_name(index, several), parts)
        })
        .filter(|t| !t.parts.is_empty())
        .collect();
    Streamed { answer, finished, notes }
}

// -- OpenAI Responses -------------------------------------------------------------------------

/// A content part of a Responses message (input or output).
fn responses_part(p: &Value) -> Part {
    match str_of(p, "type") {
        Some("input_text" | "output_text" | "text" | "summary_text" | "reasoning_text") => Part::Text(string_of(p, "text").unwrap_or_default()),
        Some("refusal") => Part::Text(format!("Refused: {}", str_of(p, "refusal").unwrap_or_default())),
        Some("input_image") => match str_of(p, "image_url") {
            Some(url) => image(url.to_string(), None),
            None => Part::Other(p.to_string()),
        },
        _ => Part::Other(p.to_string()),
    }
}

/// One input or output item as a turn.
fn responses_item(item: &Value) -> Turn {
    let kind = str_of(item, "type");
    match kind {
        None | Some("message") => {
            let role_name = str_of(item, "role").unwrap_or("user");
            let name = (role_name == "developer").then(|| "developer".to_string());
            let parts = match item.get("content") {
                Some(Value::String(s)) => vec![Part::Text(s.clone())],
                Some(Value::Array(items)) => items.iter().map(responses_part).collect(),
                _ => Vec::new(),
            };
            Turn::named(chat_role(role_name), name, parts)
        }
        Some("function_call" | "custom_tool_call") => Turn::new(
            Role::Assistant,
            vec![Part::ToolCall {
                id: string_of(item, "call_id"),
                name: string_of(item, "name").unwrap_or_default(),
                arguments: args_of(item.get("arguments").or_else(|| item.get("input"))),
            }],
        ),
        Some("function_call_output" | "custom_tool_call_output") => Turn::new(
            Role::Tool,
            vec![Part::ToolResult { id: string_of(item, "call_id"), content: text_of(item.get("output").unwrap_or(&Value::Null)), is_error: false }],
        ),
        Some("reasoning") => {
            let texts: Vec<&str> = ["summary", "content"]
                .iter()
                .flat_map(|k| item.get(*k).and_then(Value::as_array).into_iter().flatten())
                .filter_map(|p| str_of(p, "text"))
                .filter(|t| !t.is_empty())
                .collect();
            let parts = if texts.is_empty() { Vec::new() } else { vec![Part::Thinking(texts.join("\n\n"))] };
            Turn::new(Role::Assistant, parts)
        }
        Some(_) => Turn::new(Role::Assistant, vec![Part::Other(item.to_string())]),
    }
}

fn responses_request(v: &Value) -> Vec<Turn> {
    let mut turns = Vec::new();
    if let Some(i) = v.get("instructions").map(text_of).filter(|i| !i.is_empty()) {
        turns.push(Turn::new(Role::System, vec![Part::Text(i)]));
    }
    match v.get("input") {
        Some(Value::String(s)) => turns.push(Turn::new(Role::User, vec![Part::Text(s.clone())])),
        Some(Value::Array(items)) => items.iter().for_each(|i| push_joined(&mut turns, responses_item(i))),
        _ => {}
    }
    turns
}

fn responses_output(v: &Value) -> Vec<Turn> {
    let mut turns = Vec::new();
    for item in v.get("output").and_then(Value::as_array).into_iter().flatten() {
        push_joined(&mut turns, responses_item(item));
    }
    turns
}

/// An output item being streamed.
#[derive(Default)]
struct ItemPieces {
    item: Value,
    done: bool,
    text: String,
    refusal: String,
    arguments: String,
    thinking: String,
}

/// Responses stream events: the final response when `response.completed` (or `.incomplete`,
/// `.failed`) carried it; otherwise the output items as far as they came.
fn responses_stream(events: &[(Option<String>, Value)]) -> Streamed {
    let mut notes = Vec::new();
    let mut items: BTreeMap<u64, ItemPieces> = BTreeMap::new();
    let mut last: Option<(&str, &Value)> = None;
    for (name, v) in events {
        let kind = str_of(v, "type").or(name.as_deref()).unwrap_or_default();
        let at = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        let delta = str_of(v, "delta").unwrap_or_default();
        match kind {
            "response.completed" | "response.incomplete" | "response.failed" => last = v.get("response").map(|r| (kind, r)),
            "response.output_item.added" | "response.output_item.done" => {
                let pieces = items.entry(at).or_default();
                pieces.item = v.get("item").cloned().unwrap_or_default();
                pieces.done = kind.ends_with(".done");
            }
            "response.output_text.delta" => items.entry(at).or_default().text.push_str(delta),
            "response.refusal.delta" => items.entry(at).or_default().refusal.push_str(delta),
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => items.entry(at).or_default().arguments.push_str(delta),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => items.entry(at).or_default().thinking.push_str(delta),
            "error" => notes.push(format!("The stream carried an error: {}", str_of(v, "message").map(str::to_string).unwrap_or_else(|| v.to_string()))),
            _ => {}
        }
    }
    if let Some((kind, response)) = last {
        notes.extend(error_words(response));
        if kind == "response.incomplete" {
            let reason = response.pointer("/incomplete_details/reason").and_then(Value::as_str).unwrap_or("unknown");
            notes.push(format!("The response is incomplete ({reason})."));
        }
        return Streamed { answer: responses_output(response), finished: true, notes };
    }
    let mut answer = Vec::new();
    for p in items.into_values() {
        let turn = if p.done {
            responses_item(&p.item)
        } else {
            match str_of(&p.item, "type") {
                Some("function_call" | "custom_tool_call") => {
                    let mut pieces = ToolCallPieces::default();
                    pieces.add(str_of(&p.item, "call_id"), str_of(&p.item, "name"), Some(&p.arguments));
                    Turn::new(Role::Assistant, vec![pieces.part()])
                }
                Some("reasoning") => Turn::new(Role::Assistant, if p.thinking.is_empty() { Vec::new() } else { vec![Part::Thinking(p.thinking)] }),
                _ => {
                    let mut parts = Vec::new();
                    if !p.text.is_empty() {
                        parts.push(Part::Text(p.text));
                    }
                    if !p.refusal.is_empty() {
                        parts.push(Part::Text(format!("Refused: {}", p.refusal)));
                    }
                    Turn::new(Role::Assistant, parts)
                }
            }
        };
        push_joined(&mut answer, turn);
    }
    Streamed { answer, finished: false, notes }
}

// -- Anthropic Messages -----------------------------------------------------------------------

/// A content block as parts (a tool result's images follow it as parts of their own).
fn anthropic_block(b: &Value) -> Vec<Part> {
    match str_of(b, "type") {
        Some("text") => vec![Part::Text(string_of(b, "text").unwrap_or_default())],
        Some("image") => anthropic_image(b).map_or_else(|| vec![Part::Other(b.to_string())], |p| vec![p]),
        Some("tool_use" | "server_tool_use" | "mcp_tool_use") => {
            vec![Part::ToolCall { id: string_of(b, "id"), name: string_of(b, "name").unwrap_or_default(), arguments: args_of(b.get("input")) }]
        }
        Some("tool_result") => {
            let content = b.get("content").unwrap_or(&Value::Null);
            let mut parts = vec![Part::ToolResult { id: string_of(b, "tool_use_id"), content: text_of(content), is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false) }];
            for inner in content.as_array().into_iter().flatten() {
                match str_of(inner, "type") {
                    Some("text") | None => {}
                    Some("image") => parts.extend(anthropic_image(inner).or_else(|| Some(Part::Other(inner.to_string())))),
                    Some(_) => parts.push(Part::Other(inner.to_string())),
                }
            }
            parts
        }
        Some("thinking") => vec![Part::Thinking(string_of(b, "thinking").unwrap_or_default())],
        Some("redacted_thinking") => vec![Part::Thinking("(redacted by the provider)".into())],
        _ => vec![Part::Other(b.to_string())],
    }
}

/// An image block's source: base64 data as a `data:` URL, or its URL.
fn anthropic_image(b: &Value) -> Option<Part> {
    let source = b.get("source")?;
    let media_type = string_of(source, "media_type");
    match str_of(source, "type") {
        Some("base64") => {
            let data = str_of(source, "data")?;
            let url = format!("data:{};base64,{data}", media_type.as_deref().unwrap_or("application/octet-stream"));
            Some(Part::Image { url, media_type })
        }
        Some("url") => Some(image(string_of(source, "url")?, media_type)),
        _ => None,
    }
}

fn anthropic_content(content: &Value) -> Vec<Part> {
    match content {
        Value::String(s) => vec![Part::Text(s.clone())],
        Value::Array(blocks) => blocks.iter().flat_map(anthropic_block).collect(),
        Value::Null => Vec::new(),
        other => vec![Part::Other(other.to_string())],
    }
}

fn anthropic_request(v: &Value) -> Vec<Turn> {
    let mut turns = Vec::new();
    if let Some(system) = v.get("system").map(text_of).filter(|s| !s.is_empty()) {
        turns.push(Turn::new(Role::System, vec![Part::Text(system)]));
    }
    for m in v.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let parts = anthropic_content(m.get("content").unwrap_or(&Value::Null));
        // Tool results travel in the user's turn; a turn of nothing else is the tools'.
        let role = match str_of(m, "role") {
            Some("assistant") => Role::Assistant,
            _ if !parts.is_empty() && parts.iter().all(|p| matches!(p, Part::ToolResult { .. } | Part::Image { .. })) && parts.iter().any(|p| matches!(p, Part::ToolResult { .. })) => Role::Tool,
            _ => Role::User,
        };
        turns.push(Turn::new(role, parts));
    }
    turns
}

fn anthropic_response(v: &Value) -> Vec<Turn> {
    let parts = anthropic_content(v.get("content").unwrap_or(&Value::Null));
    if parts.is_empty() {
        return Vec::new();
    }
    vec![Turn::new(Role::Assistant, parts)]
}

/// A content block being streamed.
struct BlockPieces {
    start: Value,
    text: String,
    json: String,
    thinking: String,
}

/// Messages stream events: `message_start`, then each block's `content_block_start`, deltas
/// (`text_delta`, `input_json_delta`, `thinking_delta`) and `content_block_stop`, then
/// `message_delta` and `message_stop`.
fn anthropic_stream(events: &[(Option<String>, Value)]) -> Streamed {
    let mut blocks: BTreeMap<u64, BlockPieces> = BTreeMap::new();
    let mut finished = false;
    let mut notes = Vec::new();
    for (name, v) in events {
        let at = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match str_of(v, "type").or(name.as_deref()).unwrap_or_default() {
            "message_start" => {
                // A prefilled message starts with blocks of its own.
                for (i, b) in v.pointer("/message/content").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    blocks.insert(i as u64, BlockPieces { start: b.clone(), text: String::new(), json: String::new(), thinking: String::new() });
                }
            }
            "content_block_start" => {
                let start = v.get("content_block").cloned().unwrap_or_default();
                blocks.insert(at, BlockPieces { start, text: String::new(), json: String::new(), thinking: String::new() });
            }
            "content_block_delta" => {
                let (Some(b), Some(d)) = (blocks.get_mut(&at), v.get("delta")) else { continue };
                match str_of(d, "type") {
                    Some("text_delta") => b.text.push_str(str_of(d, "text").unwrap_or_default()),
                    Some("input_json_delta") => b.json.push_str(str_of(d, "partial_json").unwrap_or_default()),
                    Some("thinking_delta") => b.thinking.push_str(str_of(d, "thinking").unwrap_or_default()),
                    _ => {}
                }
            }
            "message_stop" => finished = true,
            "error" => notes.extend(error_words(v)),
            _ => {}
        }
    }
    let parts: Vec<Part> = blocks
        .into_values()
        .flat_map(|b| match str_of(&b.start, "type") {
            Some("text") => vec![Part::Text(format!("{}{}", str_of(&b.start, "text").unwrap_or_default(), b.text))],
            Some("thinking") => vec![Part::Thinking(format!("{}{}", str_of(&b.start, "thinking").unwrap_or_default(), b.thinking))],
            Some("tool_use" | "server_tool_use" | "mcp_tool_use") if !b.json.is_empty() => {
                vec![Part::ToolCall { id: string_of(&b.start, "id"), name: string_of(&b.start, "name").unwrap_or_default(), arguments: pretty_args(&b.json) }]
            }
            _ => anthropic_block(&b.start),
        })
        .collect();
    let answer = if parts.is_empty() { Vec::new() } else { vec![Turn::new(Role::Assistant, parts)] };
    Streamed { answer, finished, notes }
}

// -- embeddings -------------------------------------------------------------------------------

fn embeddings_request(v: &Value) -> Vec<Turn> {
    let parts = match v.get("input") {
        Some(Value::String(s)) => vec![Part::Text(s.clone())],
        Some(Value::Array(items)) => items.iter().map(|i| i.as_str().map_or_else(|| Part::Other(i.to_string()), |s| Part::Text(s.to_string()))).collect(),
        Some(other) => vec![Part::Other(other.to_string())],
        None => Vec::new(),
    };
    if parts.is_empty() {
        return Vec::new();
    }
    vec![Turn::new(Role::User, parts)]
}

fn embeddings_response(v: &Value) -> Vec<Turn> {
    let Some(data) = v.get("data").and_then(Value::as_array) else { return Vec::new() };
    let dims = data.first().and_then(|d| d.get("embedding")).map(|e| e.as_array().map_or_else(|| "base64-encoded".to_string(), |a| format!("{} dimensions", a.len())));
    let text = format!("{} embedding{}{}", data.len(), if data.len() == 1 { "" } else { "s" }, dims.map(|d| format!(" of {d}")).unwrap_or_default());
    vec![Turn::new(Role::Assistant, vec![Part::Text(text)])]
}

// -- MCP --------------------------------------------------------------------------------------

/// The conversation of an MCP call: `tools/call` as the tool call and its result,
/// `resources/read` as the read and the contents, `prompts/get` as the prompt's messages.
/// `tool` is the audit event's tool name, used when the request does not name it. The bodies
/// may be whole JSON-RPC messages or their `params` and `result` (or `error`); the answer may be
/// server-sent events. `None` for other methods.
pub fn from_mcp(method: &str, tool: Option<&str>, request: Option<&str>, response: Option<&str>) -> Option<Conversation> {
    if !matches!(method, "tools/call" | "resources/read" | "prompts/get") {
        return None;
    }
    let mut c = Conversation::default();
    let mut notes = Vec::new();
    let mut target = tool.map(str::to_string);
    if let Some(text) = non_empty(request) {
        let body = Body::of(text);
        match serde_json::from_str::<Value>(body.text) {
            Ok(v) => {
                let params = if v.get("jsonrpc").is_some() || v.get("method").is_some() { v.get("params").cloned().unwrap_or_default() } else { v };
                let (name, arguments) = match method {
                    "tools/call" => (str_of(&params, "name").map(str::to_string).or_else(|| target.clone()).unwrap_or_default(), args_of(params.get("arguments"))),
                    "resources/read" => (format!("resources/read {}", str_of(&params, "uri").unwrap_or_default()), String::new()),
                    _ => (format!("prompts/get {}", str_of(&params, "name").unwrap_or_default()), args_of(params.get("arguments"))),
                };
                if method == "tools/call" {
                    target = Some(name.clone()).filter(|n| !n.is_empty()).or(target);
                } else {
                    target = str_of(&params, "uri").or_else(|| str_of(&params, "name")).map(str::to_string).or(target);
                }
                c.turns.push(Turn::new(Role::Assistant, vec![Part::ToolCall { id: None, name, arguments }]));
            }
            Err(_) => {
                notes.push(body.unread_note("request"));
                c.turns.push(as_recorded(Role::Assistant, text));
            }
        }
    }
    if let Some(text) = non_empty(response) {
        let body = Body::of(text);
        let message = if looks_like_sse(body.text) {
            c.raw_stream = Some(text.to_string());
            // The answer is the stream's last message with a result or an error (progress
            // notifications and requests to the client come before it).
            let (events, _) = sse_events(body.text);
            events.into_iter().rev().map(|(_, v)| v).find(|v| v.get("result").is_some() || v.get("error").is_some())
        } else {
            serde_json::from_str::<Value>(body.text).ok()
        };
        match message {
            Some(v) => c.answer = mcp_answer(method, target, &v),
            None => {
                notes.push(body.unread_note("response"));
                c.answer.push(as_recorded(Role::Tool, text));
            }
        }
    }
    if !notes.is_empty() {
        c.note = Some(notes.join(" "));
    }
    (!c.turns.is_empty() || !c.answer.is_empty() || c.note.is_some()).then_some(c)
}

/// An MCP content item as a part (text and embedded resources as text).
fn mcp_content(item: &Value) -> Part {
    match str_of(item, "type") {
        Some("text") => Part::Text(string_of(item, "text").unwrap_or_default()),
        Some("image") => match str_of(item, "data") {
            Some(data) => {
                let mime = string_of(item, "mimeType");
                Part::Image { url: format!("data:{};base64,{data}", mime.as_deref().unwrap_or("application/octet-stream")), media_type: mime }
            }
            None => Part::Other(item.to_string()),
        },
        Some("resource") => item.get("resource").map_or_else(|| Part::Other(item.to_string()), resource_part),
        Some("resource_link") => Part::Text(format!("Link to {} ({})", str_of(item, "name").unwrap_or("a resource"), str_of(item, "uri").unwrap_or_default())),
        _ => Part::Other(item.to_string()),
    }
}

/// A resource's contents: its text, an image, or a line saying what binary it is.
fn resource_part(r: &Value) -> Part {
    let mime = string_of(r, "mimeType");
    if let Some(text) = str_of(r, "text") {
        return Part::Text(text.to_string());
    }
    match str_of(r, "blob") {
        Some(blob) if mime.as_deref().is_some_and(|m| m.starts_with("image/")) => Part::Image { url: format!("data:{};base64,{blob}", mime.as_deref().unwrap_or_default()), media_type: mime },
        Some(blob) => Part::Text(format!("Binary contents ({}, {} bytes)", mime.as_deref().unwrap_or("no media type"), blob.len() / 4 * 3)),
        None => Part::Other(r.to_string()),
    }
}

fn mcp_answer(method: &str, target: Option<String>, v: &Value) -> Vec<Turn> {
    // A whole JSON-RPC message, or the result or error alone.
    let error = v.get("error").filter(|e| !e.is_null()).or_else(|| (v.get("code").is_some() && v.get("message").is_some() && v.get("content").is_none()).then_some(v));
    if let Some(e) = error {
        let mut content = format!("{} (code {})", str_of(e, "message").unwrap_or("error"), e.get("code").map(Value::to_string).unwrap_or_default());
        if let Some(data) = e.get("data").filter(|d| !d.is_null()) {
            content.push('\n');
            content.push_str(&pretty(data));
        }
        return vec![Turn::named(Role::Tool, target, vec![Part::ToolResult { id: None, content, is_error: true }])];
    }
    let result = v.get("result").unwrap_or(v);
    match method {
        "tools/call" => {
            let is_error = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
            let items: Vec<Part> = result.get("content").and_then(Value::as_array).into_iter().flatten().map(mcp_content).collect();
            let mut texts = Vec::new();
            let mut rest = Vec::new();
            for p in items {
                match p {
                    Part::Text(t) => texts.push(t),
                    other => rest.push(other),
                }
            }
            // structuredContent comes with its text form in `content` when the server follows
            // the spec; alone, it is the result.
            if texts.is_empty() {
                if let Some(s) = result.get("structuredContent").filter(|s| !s.is_null()) {
                    texts.push(pretty(s));
                }
            }
            let mut parts = vec![Part::ToolResult { id: None, content: texts.join("\n"), is_error }];
            parts.extend(rest);
            vec![Turn::named(Role::Tool, target, parts)]
        }
        "resources/read" => result
            .get("contents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| Turn::named(Role::Tool, string_of(r, "uri").or_else(|| target.clone()), vec![resource_part(r)]))
            .collect(),
        _ => {
            let mut turns = Vec::new();
            if let Some(d) = str_of(result, "description").filter(|d| !d.is_empty()) {
                turns.push(Turn::named(Role::Tool, target, vec![Part::Text(d.to_string())]));
            }
            for m in result.get("messages").and_then(Value::as_array).into_iter().flatten() {
                let role = if str_of(m, "role") == Some("assistant") { Role::Assistant } else { Role::User };
                let parts = match m.get("content") {
                    Some(Value::Array(items)) => items.iter().map(mcp_content).collect(),
                    Some(item @ Value::Object(_)) => vec![mcp_content(item)],
                    Some(Value::String(s)) => vec![Part::Text(s.clone())],
                    _ => Vec::new(),
                };
                turns.push(Turn::new(role, parts));
            }
            turns
        }
    }
}

// -- rendering --------------------------------------------------------------------------------

/// A text cut to `MAX_TEXT` bytes on a character boundary, and its length when it was cut.
fn bounded(text: &str) -> (String, Option<usize>) {
    if text.len() <= MAX_TEXT {
        return (text.to_string(), None);
    }
    let mut cut = MAX_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (text[..cut].to_string(), Some(text.len()))
}

fn cut_line(total: Option<usize>) -> Option<impl IntoView> {
    total.map(|n| view! { <p class="conv-cut">{format!("… cut here: {n} bytes in all.")}</p> })
}

/// A block of preformatted text, bounded.
fn pre(text: &str) -> AnyView {
    let (text, total) = bounded(text);
    view! { <pre>{text}</pre>{cut_line(total)} }.into_any()
}

/// Whether an image URL may be shown as an image: a `data:` URL of an image type. An `https:`
/// picture is a link instead: opening a page must not make the operator's browser fetch a URL an
/// agent chose (the console's CSP allows `img-src 'self' data:` only).
fn showable_image(url: &str) -> bool {
    let lower = url.get(..11).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("data:image/") && url.len() <= MAX_TEXT
}

fn https_url(url: &str) -> bool {
    url.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("https:")) && url.len() <= MAX_TEXT
}

fn part_view(part: &Part) -> AnyView {
    match part {
        Part::Text(t) => {
            let (text, total) = bounded(t);
            view! { <div class="conv-part conv-text">{text}</div>{cut_line(total)} }.into_any()
        }
        Part::Thinking(t) => view! {
            <details class="conv-part conv-thinking"><summary>"Thinking"</summary>{pre(t)}</details>
        }
        .into_any(),
        Part::Image { url, media_type } if showable_image(url) => {
            let alt = format!("image{}", media_type.as_deref().map(|m| format!(" ({m})")).unwrap_or_default());
            let url = url.clone();
            view! {
                <div class="conv-part conv-image"><img class="conv-thumb" src=url alt=alt loading="lazy" referrerpolicy="no-referrer"/></div>
            }
            .into_any()
        }
        // A data URL's bytes say nothing to a reader and could fill the page.
        Part::Image { url, media_type } if url.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:")) => {
            let line = format!("Image of {} bytes as a data: URL ({}), not shown: only https: and data:image URLs up to {MAX_TEXT} bytes are.", url.len(), media_type.clone().or_else(|| data_url_type(url)).unwrap_or_else(|| "no media type".into()));
            view! { <div class="conv-part conv-image">{line}</div> }.into_any()
        }
        Part::Image { url, .. } if https_url(url) => {
            let href = url.clone();
            let text = url.clone();
            view! { <div class="conv-part conv-image">"Image at " <a href=href rel="noopener noreferrer" target="_blank">{text}</a></div> }.into_any()
        }
        Part::Image { url, .. } => {
            let (url, total) = bounded(url);
            view! { <div class="conv-part conv-image">"Image at " <code>{url}</code> " (not shown: only data:image URLs are, and https: ones as links)"</div>{cut_line(total)} }.into_any()
        }
        Part::ToolCall { id, name, arguments } => {
            let (name, id) = (name.clone(), id.clone());
            let args = (!arguments.is_empty()).then(|| pre(arguments));
            view! {
                <div class="conv-part conv-call">
                    <div class="conv-part-head">"Calls " <code>{name}</code> {id.map(|i| view! { <span class="conv-id">{i}</span> })}</div>
                    {args}
                </div>
            }
            .into_any()
        }
        Part::ToolResult { id, content, is_error } => {
            let (class, label) = if *is_error { ("conv-part conv-result conv-error", "Error") } else { ("conv-part conv-result", "Result") };
            let id = id.clone();
            view! {
                <div class=class>
                    <div class="conv-part-head">{label} {id.map(|i| view! { " for " <span class="conv-id">{i}</span> })}</div>
                    {pre(content)}
                </div>
            }
            .into_any()
        }
        Part::Other(raw) => view! {
            <div class="conv-part conv-other"><div class="conv-part-head">"Not a part this page knows; as recorded:"</div>{pre(raw)}</div>
        }
        .into_any(),
    }
}

/// Renders turns, spending from the page's budgets of turns and parts.
fn turns_view(turns: &[Turn], turns_left: &mut usize, parts_left: &mut usize) -> AnyView {
    let shown = turns.len().min(*turns_left);
    *turns_left -= shown;
    let mut hidden_parts = 0;
    let items = turns[..shown]
        .iter()
        .map(|t| {
            let class = format!("conv-turn conv-{}", t.role.label());
            let take = t.parts.len().min(*parts_left);
            *parts_left -= take;
            hidden_parts += t.parts.len() - take;
            let parts = t.parts[..take].iter().map(part_view).collect_view();
            let name = t.name.clone();
            view! {
                <li class=class>
                    <div class="conv-head"><span class="conv-role">{t.role.label()}</span>{name.map(|n| view! { " " <span class="conv-name">{n}</span> })}</div>
                    {parts}
                </li>
            }
        })
        .collect_view();
    let hidden_turns = turns.len() - shown;
    let more = (hidden_turns > 0 || hidden_parts > 0).then(|| view! { <p class="conv-cut">{format!("{hidden_turns} more turns and {hidden_parts} more parts not shown here.")}</p> });
    view! { <ol class="conv-turns">{items}</ol>{more} }.into_any()
}

/// The conversation: the request's turns, the answer's, and a streamed answer's raw events a
/// click away.
pub fn view(c: &Conversation) -> AnyView {
    let (mut turns_left, mut parts_left) = (MAX_TURNS, MAX_PARTS);
    let note = c.note.clone().map(|n| view! { <p class="conv-note">{n}</p> });
    let request = (!c.turns.is_empty()).then(|| turns_view(&c.turns, &mut turns_left, &mut parts_left));
    let answer = (!c.answer.is_empty()).then(|| {
        let turns = turns_view(&c.answer, &mut turns_left, &mut parts_left);
        view! { <h3 class="conv-answer">"Answer"</h3>{turns} }
    });
    let raw = c.raw_stream.as_deref().map(|r| view! { <details class="conv-raw"><summary>"Raw stream"</summary>{pre(r)}</details> });
    view! { <div class="conversation">{note}{request}{answer}{raw}</div> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(c: &Conversation) -> String {
        let v = view(c);
        Owner::new().with(|| v.into_view().to_html())
    }

    fn call(id: &str, name: &str, arguments: &str) -> Part {
        Part::ToolCall { id: Some(id.into()), name: name.into(), arguments: arguments.into() }
    }

    fn text(t: &str) -> Part {
        Part::Text(t.into())
    }

    // -- OpenAI Chat Completions --

    #[test]
    fn chat_request_reads_every_role_content_parts_tool_calls_and_results() {
        let request = r#"{"model":"gpt-4o","messages":[
            {"role":"system","content":"You are terse."},
            {"role":"developer","content":[{"type":"text","text":"Use tools."}]},
            {"role":"user","name":"ada","content":[
                {"type":"text","text":"What is in this picture, and the weather in Paris?"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}},
                {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}},
                {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"call_abc","content":"18°C, clear"}],
            "stream":false}"#;
        let c = from_llm("chat", false, Some(request), None).unwrap();
        assert_eq!(c.note, None);
        assert_eq!(c.turns.len(), 5);
        assert_eq!(c.turns[0], Turn::new(Role::System, vec![text("You are terse.")]));
        assert_eq!(c.turns[1], Turn::named(Role::System, Some("developer".into()), vec![text("Use tools.")]));
        let user = &c.turns[2];
        assert_eq!((user.role, user.name.as_deref()), (Role::User, Some("ada")));
        assert_eq!(user.parts[1], Part::Image { url: "data:image/png;base64,iVBORw0KGgo=".into(), media_type: Some("image/png".into()) });
        assert_eq!(user.parts[2], Part::Image { url: "https://example.com/cat.jpg".into(), media_type: None });
        assert!(matches!(&user.parts[3], Part::Other(raw) if raw.contains("input_audio")), "{:?}", user.parts[3]);
        assert_eq!(c.turns[3], Turn::new(Role::Assistant, vec![call("call_abc", "get_weather", "{\n  \"city\": \"Paris\"\n}")]));
        assert_eq!(c.turns[4], Turn::new(Role::Tool, vec![Part::ToolResult { id: Some("call_abc".into()), content: "18°C, clear".into(), is_error: false }]));
    }

    #[test]
    fn chat_response_reads_the_message_its_tool_calls_and_a_refusal() {
        let response = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1730000000,"model":"gpt-4o-2024-08-06",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Checking.","refusal":null,
                "tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
            "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#;
        let c = from_llm("chat", false, None, Some(response)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Checking."), call("call_1", "lookup", "{\n  \"q\": \"x\"\n}")])]);
        let refused = r#"{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
        let c = from_llm("chat", false, None, Some(refused)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Refused: I can't help with that.")])]);
    }

    const CHAT_STREAM: &str = concat!(
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me \"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"check.\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_t\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\": \\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":9,\"total_tokens\":29}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn chat_stream_joins_content_and_assembles_tool_calls_from_fragments() {
        let c = from_llm("chat", true, None, Some(CHAT_STREAM)).unwrap();
        assert_eq!(c.note, None);
        assert_eq!(c.raw_stream.as_deref(), Some(CHAT_STREAM));
        assert_eq!(
            c.answer,
            vec![Turn::new(Role::Assistant, vec![text("Let me check."), call("call_w", "get_weather", "{\n  \"city\": \"Paris\"\n}"), call("call_t", "get_time", "{}")])]
        );
        let page = html(&c);
        assert!(page.contains("<details class=\"conv-raw\"><summary>Raw stream</summary><pre>data: {"), "{page}");
    }

    #[test]
    fn a_streamed_call_answered_with_a_json_error_shows_the_error() {
        let error = r#"{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        let c = from_llm("chat", true, None, Some(error)).unwrap();
        assert_eq!(c.raw_stream, None);
        assert_eq!(c.note.as_deref(), Some("The provider answered with an error (requests): Rate limit reached for gpt-4o"));
    }

    #[test]
    fn a_stream_that_stops_before_its_end_is_noted() {
        let cut = CHAT_STREAM.split("data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\"").next().unwrap();
        let c = from_llm("chat", true, None, Some(cut)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Let me check.")])]);
        assert!(c.note.as_deref().unwrap().contains("ended before its last event"), "{:?}", c.note);
    }

    // -- OpenAI Responses --

    #[test]
    fn responses_request_reads_instructions_messages_and_function_items() {
        let request = r#"{"model":"gpt-4.1","instructions":"Be brief.","input":[
            {"role":"user","content":[{"type":"input_text","text":"Weather?"},{"type":"input_image","image_url":"https://example.com/sky.png","detail":"auto"}]},
            {"type":"function_call","id":"fc_1","call_id":"call_9","name":"get_weather","arguments":"{\"city\":\"Oslo\"}","status":"completed"},
            {"type":"function_call_output","call_id":"call_9","output":"-3°C"}]}"#;
        let c = from_llm("responses", false, Some(request), None).unwrap();
        assert_eq!(
            c.turns,
            vec![
                Turn::new(Role::System, vec![text("Be brief.")]),
                Turn::new(Role::User, vec![text("Weather?"), Part::Image { url: "https://example.com/sky.png".into(), media_type: None }]),
                Turn::new(Role::Assistant, vec![call("call_9", "get_weather", "{\n  \"city\": \"Oslo\"\n}")]),
                Turn::new(Role::Tool, vec![Part::ToolResult { id: Some("call_9".into()), content: "-3°C".into(), is_error: false }]),
            ]
        );
        let c = from_llm("responses", false, Some(r#"{"model":"gpt-4.1","input":"Hello there"}"#), None).unwrap();
        assert_eq!(c.turns, vec![Turn::new(Role::User, vec![text("Hello there")])]);
    }

    const RESPONSE_OUTPUT: &str = r#"[
        {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Need the weather."}]},
        {"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"One moment.","annotations":[]}]},
        {"type":"function_call","id":"fc_2","call_id":"call_2","name":"get_weather","arguments":"{\"city\":\"Rome\"}","status":"completed"}]"#;

    #[test]
    fn responses_output_items_make_one_assistant_turn() {
        let response = format!(r#"{{"id":"resp_1","object":"response","status":"completed","model":"o4-mini","output":{RESPONSE_OUTPUT}}}"#);
        let c = from_llm("responses", false, None, Some(&response)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![Part::Thinking("Need the weather.".into()), text("One moment."), call("call_2", "get_weather", "{\n  \"city\": \"Rome\"\n}")])]);
    }

    #[test]
    fn responses_stream_takes_the_completed_response_or_assembles_the_deltas() {
        let head = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
            "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"id\":\"msg_2\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"msg_2\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hel\"}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"item_id\":\"msg_2\",\"output_index\":0,\"content_index\":0,\"delta\":\"lo\"}\n\n",
            "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":4,\"output_index\":1,\"item\":{\"id\":\"fc_3\",\"type\":\"function_call\",\"status\":\"in_progress\",\"call_id\":\"call_3\",\"name\":\"search\",\"arguments\":\"\"}}\n\n",
            "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":5,\"item_id\":\"fc_3\",\"output_index\":1,\"delta\":\"{\\\"q\\\":\"}\n\n",
            "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":6,\"item_id\":\"fc_3\",\"output_index\":1,\"delta\":\"\\\"rust\\\"}\"}\n\n",
        );
        let refused = "event: response.refusal.delta\ndata: {\"type\":\"response.refusal.delta\",\"sequence_number\":3,\"item_id\":\"msg_2\",\"output_index\":0,\"content_index\":0,\"delta\":\"No.\"}\n\n";
        let c = from_llm("responses", true, None, Some(refused)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Refused: No.")])]);
        let c = from_llm("responses", true, None, Some(head)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Hello"), call("call_3", "search", "{\n  \"q\": \"rust\"\n}")])]);
        assert!(c.note.is_some());
        let completed = format!(
            "{head}event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":7,\"response\":{{\"id\":\"resp_2\",\"object\":\"response\",\"status\":\"completed\",\"output\":{}}}}}\n\n",
            RESPONSE_OUTPUT.replace('\n', " ")
        );
        let c = from_llm("responses", true, None, Some(&completed)).unwrap();
        assert_eq!(c.note, None);
        assert_eq!(c.answer[0].parts[1], text("One moment."));
        assert_eq!(c.answer[0].parts.len(), 3);
    }

    // -- Anthropic Messages --

    #[test]
    fn anthropic_request_reads_system_blocks_images_tool_use_results_and_thinking() {
        let request = r#"{"model":"claude-sonnet-4-5","max_tokens":1024,
            "system":[{"type":"text","text":"You are a careful agent.","cache_control":{"type":"ephemeral"}}],
            "messages":[
              {"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},{"type":"text","text":"List the files."}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"I should call ls.","signature":"EqQB"},{"type":"tool_use","id":"toolu_01","name":"ls","input":{"path":"/tmp"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"a.txt\nb.txt"}],"is_error":false}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_02","name":"cat","input":{"path":"/tmp/c"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_02","content":"No such file","is_error":true}]},
              {"role":"user","content":"Never mind."}]}"#;
        let c = from_llm("messages", false, Some(request), None).unwrap();
        assert_eq!(c.turns.len(), 7);
        assert_eq!(c.turns[0], Turn::new(Role::System, vec![text("You are a careful agent.")]));
        assert_eq!(c.turns[1].parts, vec![Part::Image { url: "data:image/jpeg;base64,/9j/4AAQ".into(), media_type: Some("image/jpeg".into()) }, text("List the files.")]);
        assert_eq!(c.turns[2], Turn::new(Role::Assistant, vec![Part::Thinking("I should call ls.".into()), call("toolu_01", "ls", "{\n  \"path\": \"/tmp\"\n}")]));
        assert_eq!(c.turns[3], Turn::new(Role::Tool, vec![Part::ToolResult { id: Some("toolu_01".into()), content: "a.txt\nb.txt".into(), is_error: false }]));
        assert_eq!(c.turns[5], Turn::new(Role::Tool, vec![Part::ToolResult { id: Some("toolu_02".into()), content: "No such file".into(), is_error: true }]));
        assert_eq!(c.turns[6], Turn::new(Role::User, vec![text("Never mind.")]));
        let page = html(&c);
        assert!(page.contains("conv-part conv-result conv-error"), "{page}");
    }

    #[test]
    fn anthropic_response_reads_content_blocks() {
        let response = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
            "content":[{"type":"text","text":"I'll look."},{"type":"tool_use","id":"toolu_03","name":"grep","input":{"pattern":"TODO"}}],
            "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":20}}"#;
        let c = from_llm("messages", false, None, Some(response)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("I'll look."), call("toolu_03", "grep", "{\n  \"pattern\": \"TODO\"\n}")])]);
        let error = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let c = from_llm("messages", false, None, Some(error)).unwrap();
        assert!(c.note.as_deref().unwrap().contains("overloaded_error): Overloaded"), "{:?}", c.note);
    }

    #[test]
    fn anthropic_stream_assembles_text_and_tool_use() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":40,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: ping\ndata: {\"type\":\"ping\"}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Reading \"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"it now.\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_04\",\"name\":\"read_file\",\"input\":{}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\": \\\"READ\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ME.md\\\"}\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":35}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let c = from_llm("messages", true, None, Some(stream)).unwrap();
        assert_eq!(c.note, None);
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Reading it now."), call("toolu_04", "read_file", "{\n  \"path\": \"README.md\"\n}")])]);
        let thinking = concat!(
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm.\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let c = from_llm("messages", true, None, Some(thinking)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![Part::Thinking("Hmm.".into())])]);
    }

    // -- MCP --

    #[test]
    fn mcp_tools_call_shows_the_call_and_its_result() {
        let request = r#"{"name":"search_docs","arguments":{"query":"retry policy","limit":3},"_meta":{"progressToken":1}}"#;
        let response = r##"{"content":[{"type":"text","text":"Found 2 pages."},{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"},{"type":"resource","resource":{"uri":"file:///a.md","mimeType":"text/markdown","text":"# Retries"}}],"isError":false}"##;
        let c = from_mcp("tools/call", Some("docs__search_docs"), Some(request), Some(response)).unwrap();
        assert_eq!(c.turns, vec![Turn::new(Role::Assistant, vec![Part::ToolCall { id: None, name: "search_docs".into(), arguments: "{\n  \"query\": \"retry policy\",\n  \"limit\": 3\n}".into() }])]);
        assert_eq!(
            c.answer,
            vec![Turn::named(
                Role::Tool,
                Some("search_docs".into()),
                vec![Part::ToolResult { id: None, content: "Found 2 pages.\n# Retries".into(), is_error: false }, Part::Image { url: "data:image/png;base64,iVBORw0KGgo=".into(), media_type: Some("image/png".into()) }]
            )]
        );
        let structured = r#"{"jsonrpc":"2.0","id":4,"result":{"content":[],"structuredContent":{"temperature":21},"isError":true}}"#;
        let c = from_mcp("tools/call", Some("weather"), None, Some(structured)).unwrap();
        assert_eq!(c.answer[0].parts, vec![Part::ToolResult { id: None, content: "{\n  \"temperature\": 21\n}".into(), is_error: true }]);
        assert_eq!(c.answer[0].name.as_deref(), Some("weather"));
    }

    #[test]
    fn mcp_errors_and_streamed_answers_are_read() {
        let error = r#"{"code":-32602,"message":"Unknown tool: nope"}"#;
        let c = from_mcp("tools/call", Some("nope"), Some(r#"{"name":"nope","arguments":{}}"#), Some(error)).unwrap();
        assert_eq!(c.answer[0].parts, vec![Part::ToolResult { id: None, content: "Unknown tool: nope (code -32602)".into(), is_error: true }]);
        let sse = concat!(
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":50}}\n\n",
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}\n\n",
        );
        let c = from_mcp("tools/call", Some("build"), None, Some(sse)).unwrap();
        assert_eq!(c.raw_stream.as_deref(), Some(sse));
        assert_eq!(c.answer[0].parts, vec![Part::ToolResult { id: None, content: "done".into(), is_error: false }]);
        assert_eq!(from_mcp("tools/list", None, None, Some(r#"{"tools":[]}"#)), None);
    }

    #[test]
    fn mcp_resources_and_prompts_are_read() {
        let read = r#"{"contents":[{"uri":"file:///notes.txt","mimeType":"text/plain","text":"remember the milk"},{"uri":"file:///logo.png","mimeType":"image/png","blob":"iVBORw0KGgo="}]}"#;
        let c = from_mcp("resources/read", None, Some(r#"{"uri":"file:///notes.txt"}"#), Some(read)).unwrap();
        assert_eq!(c.turns[0].parts, vec![Part::ToolCall { id: None, name: "resources/read file:///notes.txt".into(), arguments: String::new() }]);
        assert_eq!(
            c.answer,
            vec![
                Turn::named(Role::Tool, Some("file:///notes.txt".into()), vec![text("remember the milk")]),
                Turn::named(Role::Tool, Some("file:///logo.png".into()), vec![Part::Image { url: "data:image/png;base64,iVBORw0KGgo=".into(), media_type: Some("image/png".into()) }]),
            ]
        );
        let prompt = r#"{"description":"A code review","messages":[{"role":"user","content":{"type":"text","text":"Review this diff."}},{"role":"assistant","content":{"type":"text","text":"Looks fine."}}]}"#;
        let c = from_mcp("prompts/get", None, Some(r#"{"name":"review","arguments":{"lang":"rust"}}"#), Some(prompt)).unwrap();
        assert_eq!(
            c.answer,
            vec![
                Turn::named(Role::Tool, Some("review".into()), vec![text("A code review")]),
                Turn::new(Role::User, vec![text("Review this diff.")]),
                Turn::new(Role::Assistant, vec![text("Looks fine.")]),
            ]
        );
    }

    // -- bodies as recorded --

    #[test]
    fn a_cut_body_is_shown_as_recorded_with_a_note() {
        let request = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Summarise th…[truncated; 90210 bytes in all]";
        let c = from_llm("chat", false, Some(request), None).unwrap();
        assert_eq!(c.note.as_deref(), Some("The request body was cut at 68 of 90210 bytes; showing it as recorded."));
        assert_eq!(c.turns, vec![as_recorded(Role::User, request)]);
        assert!(html(&c).contains("Summarise th…[truncated; 90210 bytes in all]"));
        let stream = format!("{}…[truncated; 5000 bytes in all]", &CHAT_STREAM[..400]);
        let c = from_llm("chat", true, None, Some(&stream)).unwrap();
        assert_eq!(c.answer, vec![Turn::new(Role::Assistant, vec![text("Let me ")])]);
        assert!(c.note.as_deref().unwrap().starts_with("The stream was cut at 400 of 5000 bytes"), "{:?}", c.note);
        let c = from_mcp("tools/call", None, None, Some("not json")).unwrap();
        assert_eq!(c.note.as_deref(), Some("The response body is not JSON this page can read; showing it as recorded."));
    }

    #[test]
    fn an_unknown_part_is_kept_as_its_raw_json() {
        let request = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Terms"}}]}]}"#;
        let c = from_llm("messages", false, Some(request), None).unwrap();
        let Part::Other(raw) = &c.turns[0].parts[0] else { panic!("{:?}", c.turns) };
        assert_eq!(serde_json::from_str::<Value>(raw).unwrap()["type"], "document");
        assert!(html(&c).contains("Not a part this page knows"));
    }

    #[test]
    fn nothing_to_show_is_none() {
        assert_eq!(from_llm("chat", false, None, None), None);
        assert_eq!(from_llm("chat", false, Some("  "), Some("")), None);
        assert_eq!(from_llm("moderations", false, Some("{}"), None), None);
    }

    // -- rendering --

    #[test]
    fn text_from_bodies_is_escaped() {
        let c = Conversation {
            turns: vec![Turn::named(Role::User, Some("<b>eve</b>".into()), vec![text("<script>alert(1)</script>"), call("x\"><script>", "<i>t</i>", "{\"a\":\"</pre><script>\"}")])],
            ..Default::default()
        };
        let page = html(&c);
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<b>eve") && !page.contains("<i>t"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    }

    #[test]
    fn only_https_and_data_image_urls_become_images() {
        let img = |url: &str| Part::Image { url: url.into(), media_type: None };
        let c = Conversation {
            turns: vec![Turn::new(Role::User, vec![img("javascript:alert(1)"), img("http://tracker.example/p.gif"), img("data:text/html;base64,PHNjcmlwdD4="), img("https://example.com/a.png"), img("data:image/png;base64,iVBORw0KGgo=")])],
            ..Default::default()
        };
        let page = html(&c);
        assert_eq!(page.matches("<img").count(), 1, "{page}");
        assert!(page.contains("src=\"data:image/png;base64,iVBORw0KGgo=\""), "{page}");
        assert!(page.contains("href=\"https://example.com/a.png\"") && !page.contains("src=\"https:"), "a remote picture is a link, never fetched by the page: {page}");
        assert!(page.contains("loading=\"lazy\""), "{page}");
        assert!(!page.contains("src=\"javascript:") && page.contains("<code>javascript:alert(1)</code>"), "{page}");
        assert!(page.contains("Image of 34 bytes as a data: URL (text/html)") && !page.contains("PHNjcmlwdD4="), "{page}");
        let c = Conversation { turns: vec![Turn::new(Role::User, vec![img("https://example.com/a.png\" onerror=\"alert(1)"), img("data:image/png;base64,AA\" onerror=\"alert(1)")])], ..Default::default() };
        let page = html(&c);
        assert!(page.contains("<img") && page.contains("<a href") && !page.contains("onerror=\"alert(1)\""), "an attribute cannot be closed from a URL: {page}");
    }

    #[test]
    fn rendering_is_bounded() {
        let long = "x".repeat(MAX_TEXT + 10);
        let mut turns = vec![Turn::new(Role::User, vec![text(&long)])];
        turns.extend((0..MAX_TURNS + 5).map(|i| Turn::new(Role::User, vec![text(&format!("turn {i}"))])));
        let page = html(&Conversation { turns, ..Default::default() });
        assert!(!page.contains(&long), "a long text is cut");
        assert!(page.contains(&format!("cut here: {} bytes in all", MAX_TEXT + 10)));
        assert!(page.contains("turn 498") && !page.contains("turn 499<"), "the turns past the cap are not shown");
        assert!(page.contains("6 more turns and 0 more parts not shown"), "{}", &page[page.len() - 300..]);
    }

    #[test]
    fn turns_show_role_name_tool_calls_and_the_answer() {
        let c = from_llm("chat", true, Some(r#"{"messages":[{"role":"user","name":"ada","content":"hi"}]}"#), Some(CHAT_STREAM)).unwrap();
        let page = html(&c);
        assert!(page.contains("<li class=\"conv-turn conv-user\"><div class=\"conv-head\"><span class=\"conv-role\">user</span> <span class=\"conv-name\">ada</span>"), "{page}");
        assert!(page.contains("<h3 class=\"conv-answer\">Answer</h3>"), "{page}");
        assert!(page.contains("Calls <code>get_weather</code>"), "{page}");
        assert!(page.contains("<pre>{\n  \"city\": \"Paris\"\n}</pre>"), "{page}");
        assert!(!page.contains("style="), "{page}");
    }
}
