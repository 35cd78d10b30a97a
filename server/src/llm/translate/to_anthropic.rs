//! OpenAI requests (chat completions, responses) as Anthropic messages requests.
//!
//! The request is read as borrowed shapes — its members left raw until needed, strings
//! borrowed from the body, tool schemas and thinking blocks never parsed — and the Anthropic
//! request written straight from them, without a tree of values: a translated call costs about
//! what reading its body once does.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{dropped, effort_budget, refuse};
use crate::llm::body::RequestBody;
use crate::llm::error::{ErrorKind, LlmError};

/// `max_tokens` when the client set no output cap (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;
/// A redacted thinking block's data, given as a reasoning item's `encrypted_content`.
pub const REDACTED_PREFIX: &str = "redacted:";

use super::raw::{bool_of, is_null, is_true, str_of, text_of, u64_of, Raw, TypeOnly};

fn bad(field: &'static str, why: &str) -> LlmError {
    LlmError::new(ErrorKind::BadRequest, format!("`{field}` {why}")).param(field)
}

// -- what is written ---------------------------------------------------------------------------

/// One Anthropic content block.
enum Block<'a> {
    Text(Cow<'a, str>),
    ImageBase64 { media_type: Cow<'a, str>, data: Cow<'a, str> },
    ImageUrl(Cow<'a, str>),
    ToolUse { id: Cow<'a, str>, name: Cow<'a, str>, input: Input<'a> },
    ToolResult { id: Cow<'a, str>, content: ToolContent<'a> },
    Thinking { thinking: String, signature: Cow<'a, str> },
    RedactedThinking(Cow<'a, str>),
    /// A block the client sent back as Weir gave it (thinking, with its signature).
    Raw(Raw<'a>),
}

enum Input<'a> {
    Borrowed(Raw<'a>),
    Owned(Box<RawValue>),
    Empty,
}

enum ToolContent<'a> {
    Text(Cow<'a, str>),
    Blocks(Vec<Block<'a>>),
}

impl Serialize for Block<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "lowercase")]
        enum Source<'s> {
            Base64 { media_type: &'s str, data: &'s str },
            Url { url: &'s str },
        }
        if let Self::Raw(raw) = self {
            return raw.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Raw(_) => {}
            Self::Text(t) => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", t)?;
            }
            Self::ImageBase64 { media_type, data } => {
                m.serialize_entry("type", "image")?;
                m.serialize_entry("source", &Source::Base64 { media_type, data })?;
            }
            Self::ImageUrl(url) => {
                m.serialize_entry("type", "image")?;
                m.serialize_entry("source", &Source::Url { url })?;
            }
            Self::ToolUse { id, name, input } => {
                m.serialize_entry("type", "tool_use")?;
                m.serialize_entry("id", id)?;
                m.serialize_entry("name", name)?;
                match input {
                    Input::Borrowed(r) => m.serialize_entry("input", r)?,
                    Input::Owned(r) => m.serialize_entry("input", r)?,
                    Input::Empty => m.serialize_entry("input", &serde_json::Map::new())?,
                }
            }
            Self::ToolResult { id, content } => {
                m.serialize_entry("type", "tool_result")?;
                m.serialize_entry("tool_use_id", id)?;
                match content {
                    ToolContent::Text(t) => m.serialize_entry("content", t)?,
                    ToolContent::Blocks(b) => m.serialize_entry("content", b)?,
                }
            }
            Self::Thinking { thinking, signature } => {
                m.serialize_entry("type", "thinking")?;
                m.serialize_entry("thinking", thinking)?;
                m.serialize_entry("signature", signature)?;
            }
            Self::RedactedThinking(data) => {
                m.serialize_entry("type", "redacted_thinking")?;
                m.serialize_entry("data", data)?;
            }
        }
        m.end()
    }
}

/// The messages request being built: system text, and turns whose consecutive ones of one role
/// are merged (Anthropic wants user and assistant turns to alternate).
#[derive(Default)]
struct Conversation<'a> {
    system: Vec<Cow<'a, str>>,
    messages: Vec<(&'static str, Vec<Block<'a>>)>,
}

impl<'a> Conversation<'a> {
    fn system_text(&mut self, text: Cow<'a, str>) {
        if !text.is_empty() {
            self.system.push(text);
        }
    }

    fn push(&mut self, role: &'static str, blocks: Vec<Block<'a>>) {
        if blocks.is_empty() {
            return;
        }
        match self.messages.last_mut() {
            Some((r, b)) if *r == role => b.extend(blocks),
            _ => self.messages.push((role, blocks)),
        }
    }
}

/// A turn's content: a single text block is said as a string.
struct Turn<'t, 'a>(&'t [Block<'a>]);

impl Serialize for Turn<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            [Block::Text(t)] => s.serialize_str(t),
            blocks => s.collect_seq(blocks),
        }
    }
}

enum Choice<'a> {
    Auto,
    None,
    Any,
    Tool(Cow<'a, str>),
}

struct Tool<'a> {
    name: Cow<'a, str>,
    description: Option<Raw<'a>>,
    schema: Option<Raw<'a>>,
    strict: bool,
}

/// What both OpenAI request shapes set, gathered before the request is written.
#[derive(Default)]
struct Request<'a> {
    model: &'a str,
    passed: Vec<(&'a str, Raw<'a>)>,
    stop: Option<StopSequences<'a>>,
    max_tokens: Option<u64>,
    effort: Option<Cow<'a, str>>,
    tools: Option<Vec<Tool<'a>>>,
    tool_choice: Option<Choice<'a>>,
    parallel: Option<bool>,
    schema: Option<Raw<'a>>,
    user: Option<Raw<'a>>,
    conversation: Conversation<'a>,
}

enum StopSequences<'a> {
    One(Raw<'a>),
    Many(Raw<'a>),
}

impl Request<'_> {
    fn write(self) -> Result<Vec<u8>, LlmError> {
        let budget = self.effort.as_deref().and_then(effort_budget);
        let max_tokens = match (self.max_tokens, budget) {
            (Some(m), _) => m,
            // The client's cap bounds reasoning and answer together, as Anthropic's does; with
            // no cap the answer keeps room of its own.
            (None, Some(b)) => DEFAULT_MAX_TOKENS + b,
            (None, None) => DEFAULT_MAX_TOKENS,
        };
        let thinking = budget.and_then(|b| {
            let b = b.min(max_tokens.saturating_sub(1));
            if b < MIN_THINKING_BUDGET {
                tracing::debug!(max_tokens, "output cap too small for a thinking budget; the call goes without thinking");
                return None;
            }
            Some(b)
        });
        let tools = self.tools.filter(|t| !t.is_empty());
        let mut choice = None;
        let mut no_parallel = false;
        if tools.is_some() {
            let c = self.tool_choice.unwrap_or(Choice::Auto);
            no_parallel = self.parallel == Some(false) && !matches!(c, Choice::None);
            if no_parallel || !matches!(c, Choice::Auto) {
                choice = Some(c);
            }
        } else if matches!(self.tool_choice, Some(Choice::Any | Choice::Tool(_))) {
            // Anthropic takes no tool choice without tools; a forced one cannot be kept.
            return Err(refuse("tool_choice", "asks for a tool but the request has no `tools`"));
        }

        let mut out = Vec::with_capacity(4096);
        let mut ser = serde_json::Serializer::new(&mut out);
        let e = |e: serde_json::Error| LlmError::new(ErrorKind::BadRequest, e.to_string());
        let mut m = ser.serialize_map(None).map_err(e)?;
        m.serialize_entry("model", self.model).map_err(e)?;
        for (k, v) in &self.passed {
            m.serialize_entry(k, v).map_err(e)?;
        }
        match &self.stop {
            Some(StopSequences::One(s)) => m.serialize_entry("stop_sequences", &[s]).map_err(e)?,
            Some(StopSequences::Many(s)) => m.serialize_entry("stop_sequences", s).map_err(e)?,
            None => {}
        }
        m.serialize_entry("max_tokens", &max_tokens).map_err(e)?;
        if let Some(b) = thinking {
            m.serialize_entry("thinking", &Thinking { ty: "enabled", budget_tokens: b }).map_err(e)?;
        }
        if let Some(tools) = &tools {
            m.serialize_entry("tools", &ToolsOut(tools)).map_err(e)?;
        }
        if let Some(c) = &choice {
            m.serialize_entry("tool_choice", &ChoiceOut(c, no_parallel)).map_err(e)?;
        }
        if let Some(schema) = self.schema {
            m.serialize_entry("output_config", &OutputConfig { format: Format { ty: "json_schema", schema } }).map_err(e)?;
        }
        if let Some(u) = self.user {
            m.serialize_entry("metadata", &Metadata { user_id: u }).map_err(e)?;
        }
        let conv = &self.conversation;
        if !conv.system.is_empty() {
            m.serialize_entry("system", &SystemOut(&conv.system)).map_err(e)?;
        }
        m.serialize_entry("messages", &MessagesOut(&conv.messages)).map_err(e)?;
        m.end().map_err(e)?;
        Ok(out)
    }
}

#[derive(Serialize)]
struct Thinking {
    #[serde(rename = "type")]
    ty: &'static str,
    budget_tokens: u64,
}

#[derive(Serialize)]
struct OutputConfig<'a> {
    format: Format<'a>,
}

#[derive(Serialize)]
struct Format<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    schema: Raw<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    user_id: Raw<'a>,
}

struct SystemOut<'s, 'a>(&'s [Cow<'a, str>]);

impl Serialize for SystemOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| Block::Text(Cow::Borrowed(t))))
    }
}

struct MessagesOut<'s, 'a>(&'s [(&'static str, Vec<Block<'a>>)]);

impl Serialize for MessagesOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Message<'t, 'a> {
            role: &'static str,
            content: Turn<'t, 'a>,
        }
        s.collect_seq(self.0.iter().map(|(role, blocks)| Message { role, content: Turn(blocks) }))
    }
}

struct ToolsOut<'s, 'a>(&'s [Tool<'a>]);

impl Serialize for ToolsOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToolOut))
    }
}

struct ToolOut<'t, 'a>(&'t Tool<'a>);

impl Serialize for ToolOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &t.name)?;
        match t.schema {
            Some(schema) => m.serialize_entry("input_schema", schema)?,
            None => m.serialize_entry("input_schema", &serde_json::json!({"type": "object", "properties": {}}))?,
        }
        if let Some(d) = t.description {
            m.serialize_entry("description", d)?;
        }
        if t.strict {
            m.serialize_entry("strict", &true)?;
        }
        m.end()
    }
}

struct ChoiceOut<'c, 'a>(&'c Choice<'a>, bool);

impl Serialize for ChoiceOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            Choice::Auto => m.serialize_entry("type", "auto")?,
            Choice::None => m.serialize_entry("type", "none")?,
            Choice::Any => m.serialize_entry("type", "any")?,
            Choice::Tool(name) => {
                m.serialize_entry("type", "tool")?;
                m.serialize_entry("name", name)?;
            }
        }
        if self.1 {
            m.serialize_entry("disable_parallel_tool_use", &true)?;
        }
        m.end()
    }
}

// -- what is read ----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct FunctionDef<'a> {
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    description: Option<Raw<'a>>,
    #[serde(borrow, default)]
    parameters: Option<Raw<'a>>,
    #[serde(borrow, default)]
    strict: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct ToolDef<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    function: Option<FunctionDef<'a>>,
}

/// Only function tools cross; a tool of another type is a provider built-in.
fn function_type(ty: Option<Raw<'_>>) -> Result<(), LlmError> {
    let ty = ty.and_then(str_of).unwrap_or_default();
    if ty != "function" {
        return Err(refuse("tools", &format!("of type `{ty}` (a provider built-in tool) has no counterpart at an Anthropic provider; only function tools are translated")));
    }
    Ok(())
}

/// A chat completions tool, `{"type":"function","function":{…}}`.
fn chat_tool(def: ToolDef<'_>) -> Result<Tool<'_>, LlmError> {
    function_type(def.ty)?;
    anthropic_tool(def.function.ok_or_else(|| bad("tools", "needs a `function`"))?)
}

/// A responses tool: the function's members at the top.
fn tool<'a>(raw: Raw<'a>) -> Result<Tool<'a>, LlmError> {
    let def: ToolDef<'a> = serde_json::from_str(raw.get()).map_err(|_| bad("tools", "must hold tool objects"))?;
    function_type(def.ty)?;
    anthropic_tool(serde_json::from_str::<FunctionDef<'a>>(raw.get()).map_err(|_| bad("tools", "must hold tool objects"))?)
}

fn anthropic_tool(f: FunctionDef<'_>) -> Result<Tool<'_>, LlmError> {
    let name = f.name.and_then(str_of).ok_or_else(|| bad("tools", "needs a function `name`"))?;
    Ok(Tool {
        name,
        description: f.description.filter(|d| d.get().starts_with('"')),
        schema: f.parameters.filter(|p| !is_null(p)),
        strict: is_true(f.strict),
    })
}

fn tools<'a>(raw: Raw<'a>) -> Result<Vec<Raw<'a>>, LlmError> {
    serde_json::from_str(raw.get()).map_err(|_| bad("tools", "must be an array"))
}

#[derive(Deserialize)]
struct ChoiceDef<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    function: Option<NameOnly<'a>>,
}

#[derive(Deserialize)]
struct NameOnly<'a> {
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
}

fn tool_choice<'a>(raw: Raw<'a>) -> Result<Choice<'a>, LlmError> {
    if let Some(s) = str_of(raw) {
        return match &*s {
            "auto" => Ok(Choice::Auto),
            "none" => Ok(Choice::None),
            "required" => Ok(Choice::Any),
            other => Err(bad("tool_choice", &format!("`{other}` is not a tool choice"))),
        };
    }
    let c: ChoiceDef<'a> = serde_json::from_str(raw.get()).map_err(|_| bad("tool_choice", "is not a tool choice"))?;
    let name = c.function.and_then(|f| f.name).or(c.name).and_then(str_of);
    match (c.ty.and_then(str_of), name) {
        (Some(ty), Some(name)) if ty == "function" => Ok(Choice::Tool(name)),
        (Some(ty), _) => Err(refuse("tool_choice", &format!("of type `{ty}` has no counterpart at an Anthropic provider"))),
        _ => Err(bad("tool_choice", "is not a tool choice")),
    }
}

#[derive(Deserialize)]
struct FormatDef<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    schema: Option<Raw<'a>>,
    #[serde(borrow, default)]
    json_schema: Option<SchemaOnly<'a>>,
}

#[derive(Deserialize)]
struct SchemaOnly<'a> {
    #[serde(borrow, default)]
    schema: Option<Raw<'a>>,
}

/// A `json_schema` output format's schema; `text` (or none) means no format.
fn output_format<'a>(raw: Option<Raw<'a>>, chat: bool, field: &'static str) -> Result<Option<Raw<'a>>, LlmError> {
    let Some(f) = raw.and_then(|r| serde_json::from_str::<FormatDef<'a>>(r.get()).ok()) else { return Ok(None) };
    let schema = if chat { f.json_schema.and_then(|j| j.schema) } else { f.schema };
    match f.ty.and_then(str_of).as_deref() {
        Some("json_schema") => schema.filter(|s| s.get().starts_with('{')).map(Some).ok_or_else(|| bad(field, "of type `json_schema` needs a `schema`")),
        Some("text") | None => Ok(None),
        Some("json_object") => Err(refuse(field, "of type `json_object` (JSON without a schema) has no counterpart at an Anthropic provider; give a `json_schema`")),
        Some(other) => Err(bad(field, &format!("of type `{other}` is not an output format"))),
    }
}

/// A tool call's `arguments` (a JSON text) as the object Anthropic's `input` is.
fn arguments<'a>(args: Option<Raw<'a>>) -> Result<Input<'a>, LlmError> {
    let not_object = || bad("messages", "holds a tool call whose `arguments` are not a JSON object");
    let Some(args) = args.filter(|a| !is_null(a)) else { return Ok(Input::Empty) };
    if args.get().starts_with('{') {
        return Ok(Input::Borrowed(args));
    }
    let text = str_of(args).ok_or_else(not_object)?;
    if text.trim().is_empty() {
        return Ok(Input::Empty);
    }
    let raw: Box<RawValue> = serde_json::from_str(&text).map_err(|_| not_object())?;
    if !raw.get().starts_with('{') {
        return Err(not_object());
    }
    Ok(Input::Owned(raw))
}

/// `data:image/png;base64,AAAA` split, keeping what is borrowed borrowed.
fn image_block(url: Cow<'_, str>) -> Block<'_> {
    fn split(url: &str) -> Option<(usize, usize)> {
        let rest = url.strip_prefix("data:")?;
        let comma = rest.find(',')?;
        rest[..comma].strip_suffix(";base64")?;
        Some((5 + comma - ";base64".len(), 5 + comma + 1))
    }
    match (split(&url), url) {
        (Some((media_end, data_start)), Cow::Borrowed(u)) => Block::ImageBase64 { media_type: Cow::Borrowed(&u[5..media_end]), data: Cow::Borrowed(&u[data_start..]) },
        (Some((media_end, data_start)), Cow::Owned(u)) => Block::ImageBase64 { media_type: Cow::Owned(u[5..media_end].to_string()), data: Cow::Owned(u[data_start..].to_string()) },
        (None, url) => Block::ImageUrl(url),
    }
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    text: Option<Raw<'a>>,
    #[serde(borrow, default)]
    refusal: Option<Raw<'a>>,
    #[serde(borrow, default)]
    image_url: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct UrlOnly<'a> {
    #[serde(borrow, default)]
    url: Option<Raw<'a>>,
}

/// Content parts of a user (or assistant) message as Anthropic blocks.
fn user_blocks<'a>(content: Option<Raw<'a>>, field: &'static str) -> Result<Vec<Block<'a>>, LlmError> {
    let Some(c) = content.filter(|c| !is_null(c)) else { return Ok(Vec::new()) };
    if let Some(s) = str_of(c) {
        return Ok(if s.is_empty() { Vec::new() } else { vec![Block::Text(s)] });
    }
    let parts: Vec<Part<'a>> = serde_json::from_str(c.get()).map_err(|_| bad(field, "holds content that is neither a string nor an array of parts"))?;
    parts
        .into_iter()
        .map(|p| {
            let ty = p.ty.and_then(str_of).unwrap_or_default();
            match &*ty {
                "text" | "input_text" | "output_text" => Ok(Block::Text(p.text.and_then(str_of).unwrap_or_default())),
                "refusal" => Ok(Block::Text(p.refusal.and_then(str_of).unwrap_or_default())),
                "image_url" | "input_image" => {
                    let url = p.image_url.and_then(|u| {
                        if u.get().starts_with('{') {
                            serde_json::from_str::<UrlOnly<'a>>(u.get()).ok().and_then(|o| o.url).and_then(str_of)
                        } else {
                            str_of(u)
                        }
                    });
                    let url = url.ok_or_else(|| refuse(field, "holds an image without a URL (a file id has no counterpart at an Anthropic provider)"))?;
                    Ok(image_block(url))
                }
                other => Err(refuse(field, &format!("holds a `{other}` content part, which has no counterpart at an Anthropic provider"))),
            }
        })
        .collect()
}

/// Thinking blocks an assistant message carries back (`thinking_blocks`, as Weir gives them).
fn thinking_blocks<'a>(raw: Option<Raw<'a>>) -> Vec<Block<'a>> {
    let Some(list) = raw.and_then(|r| serde_json::from_str::<Vec<Raw<'a>>>(r.get()).ok()) else { return Vec::new() };
    list.into_iter()
        .filter(|b| {
            let ty = serde_json::from_str::<TypeOnly<'_>>(b.get()).ok().and_then(|t| t.ty).and_then(str_of);
            matches!(ty.as_deref(), Some("thinking" | "redacted_thinking"))
        })
        .map(Block::Raw)
        .collect()
}

// -- chat completions --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ChatMessage<'a> {
    #[serde(borrow, default)]
    role: Option<Raw<'a>>,
    #[serde(borrow, default)]
    content: Option<Raw<'a>>,
    #[serde(borrow, default)]
    tool_calls: Option<Raw<'a>>,
    #[serde(borrow, default)]
    tool_call_id: Option<Raw<'a>>,
    #[serde(borrow, default)]
    thinking_blocks: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow, default)]
    id: Option<Raw<'a>>,
    #[serde(borrow, default)]
    function: Option<CallFunction<'a>>,
}

#[derive(Deserialize)]
struct CallFunction<'a> {
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct StreamOptions<'a> {
    #[serde(borrow, default)]
    include_usage: Option<Raw<'a>>,
}

/// A chat completions request as an Anthropic messages request; also whether the client asked
/// for the usage chunk.
pub fn chat_request(body: &RequestBody<'_>, model: &str) -> Result<(Vec<u8>, bool), LlmError> {
    let mut r = Request { model, ..Default::default() };
    let mut include_usage = false;
    let mut max_completion = None;
    let mut max_legacy = None;
    for (key, v) in body.raw_members() {
        if is_null(v) && key != "messages" {
            continue;
        }
        match key {
            "model" => {}
            "messages" => chat_messages(v, &mut r.conversation)?,
            "max_completion_tokens" => max_completion = Some(u64_of(v).ok_or_else(|| bad("max_completion_tokens", "must be a positive integer"))?),
            "max_tokens" => max_legacy = Some(u64_of(v).ok_or_else(|| bad("max_tokens", "must be a positive integer"))?),
            "temperature" | "top_p" | "stream" => r.passed.push((key, v)),
            "stop" => {
                r.stop = match v.get().as_bytes().first() {
                    Some(b'"') => Some(StopSequences::One(v)),
                    Some(b'[') if serde_json::from_str::<Vec<&RawValue>>(v.get()).is_ok_and(|a| a.is_empty()) => None,
                    Some(b'[') => Some(StopSequences::Many(v)),
                    _ => return Err(bad("stop", "must be a string or an array of strings")),
                }
            }
            "stream_options" => include_usage = is_true(serde_json::from_str::<StreamOptions<'_>>(v.get()).ok().and_then(|o| o.include_usage)),
            "tools" => {
                let defs: Vec<ToolDef<'_>> = serde_json::from_str(v.get()).map_err(|_| bad("tools", "must be an array of tool objects"))?;
                r.tools = Some(defs.into_iter().map(chat_tool).collect::<Result<_, _>>()?);
            }
            "tool_choice" => r.tool_choice = Some(tool_choice(v)?),
            "parallel_tool_calls" => r.parallel = bool_of(v),
            "response_format" => r.schema = output_format(Some(v), true, "response_format")?,
            "reasoning_effort" => r.effort = str_of(v),
            "user" | "safety_identifier" => {
                if key == "safety_identifier" || r.user.is_none() {
                    r.user = Some(v);
                }
            }
            "n" if u64_of(v).is_some_and(|n| n > 1) => return Err(refuse("n", "above 1 (several answers) has no counterpart at an Anthropic provider")),
            "logprobs" if v.get() == "true" => return Err(refuse("logprobs", "has no counterpart at an Anthropic provider")),
            "top_logprobs" => return Err(refuse("top_logprobs", "has no counterpart at an Anthropic provider")),
            "store" if v.get() == "true" => return Err(refuse("store", "(a stored completion) has no counterpart at an Anthropic provider")),
            "web_search_options" => return Err(refuse("web_search_options", "(OpenAI's built-in web search) has no counterpart at an Anthropic provider")),
            "audio" => return Err(refuse("audio", "(audio output) has no counterpart at an Anthropic provider")),
            "modalities" if serde_json::from_str::<Vec<&RawValue>>(v.get()).is_ok_and(|m| m.iter().any(|x| x.get() != "\"text\"")) => {
                return Err(refuse("modalities", "other than `text` have no counterpart at an Anthropic provider"))
            }
            "moderation" => return Err(refuse("moderation", "(OpenAI's moderation of input and output) has no counterpart at an Anthropic provider")),
            "functions" => return Err(refuse("functions", "(deprecated) is not translated; give `tools`")),
            "function_call" => return Err(refuse("function_call", "(deprecated) is not translated; give `tool_choice`")),
            "logit_bias" if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(v.get()).is_ok_and(|m| !m.is_empty()) => {
                return Err(refuse("logit_bias", "has no counterpart at an Anthropic provider"))
            }
            other => dropped(other),
        }
    }
    r.max_tokens = max_completion.or(max_legacy);
    Ok((r.write()?, include_usage))
}

fn chat_messages<'a>(v: Raw<'a>, conv: &mut Conversation<'a>) -> Result<(), LlmError> {
    if !v.get().starts_with('[') {
        return Err(bad("messages", "must be an array"));
    }
    let messages: Vec<ChatMessage<'a>> = serde_json::from_str(v.get()).map_err(|_| bad("messages", "must hold objects"))?;
    for m in messages {
        let role = m.role.and_then(str_of).unwrap_or_default();
        match &*role {
            "system" | "developer" => conv.system_text(text_of(m.content)),
            "user" => conv.push("user", user_blocks(m.content, "messages")?),
            "assistant" => {
                let mut blocks = thinking_blocks(m.thinking_blocks);
                blocks.extend(user_blocks(m.content, "messages")?.into_iter().filter(|b| !matches!(b, Block::Text(t) if t.is_empty())));
                if let Some(calls) = m.tool_calls.and_then(|c| serde_json::from_str::<Vec<ToolCall<'a>>>(c.get()).ok()) {
                    for c in calls {
                        let (name, args) = c.function.map_or((None, None), |f| (f.name, f.arguments));
                        blocks.push(Block::ToolUse {
                            id: c.id.and_then(str_of).unwrap_or_default(),
                            name: name.and_then(str_of).unwrap_or_default(),
                            input: arguments(args)?,
                        });
                    }
                }
                conv.push("assistant", blocks);
            }
            "tool" => {
                let id = m.tool_call_id.and_then(str_of).ok_or_else(|| bad("messages", "holds a `tool` message without `tool_call_id`"))?;
                conv.push("user", vec![Block::ToolResult { id, content: ToolContent::Text(text_of(m.content)) }]);
            }
            "function" => return Err(refuse("messages", "holds a `function` message (deprecated); use `tool` messages")),
            other => return Err(bad("messages", &format!("holds a message of unknown role `{other}`"))),
        }
    }
    Ok(())
}

// -- responses -----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    role: Option<Raw<'a>>,
    #[serde(borrow, default)]
    content: Option<Raw<'a>>,
    #[serde(borrow, default)]
    call_id: Option<Raw<'a>>,
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Raw<'a>>,
    #[serde(borrow, default)]
    output: Option<Raw<'a>>,
    #[serde(borrow, default)]
    summary: Option<Raw<'a>>,
    #[serde(borrow, default)]
    encrypted_content: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct Reasoning<'a> {
    #[serde(borrow, default)]
    effort: Option<Raw<'a>>,
    #[serde(borrow, default)]
    summary: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct TextConfig<'a> {
    #[serde(borrow, default)]
    format: Option<Raw<'a>>,
    #[serde(borrow, default)]
    verbosity: Option<Raw<'a>>,
}

/// A responses request as an Anthropic messages request.
pub fn responses_request(body: &RequestBody<'_>, model: &str) -> Result<Vec<u8>, LlmError> {
    let mut r = Request { model, ..Default::default() };
    let mut instructions = None;
    for (key, v) in body.raw_members() {
        if is_null(v) {
            continue;
        }
        match key {
            "model" => {}
            "input" => responses_input(v, &mut r.conversation)?,
            "instructions" => instructions = Some(text_of(Some(v))),
            "max_output_tokens" => r.max_tokens = Some(u64_of(v).ok_or_else(|| bad("max_output_tokens", "must be a positive integer"))?),
            "temperature" | "top_p" | "stream" => r.passed.push((key, v)),
            "tools" => r.tools = Some(tools(v)?.into_iter().map(tool).collect::<Result<_, _>>()?),
            "tool_choice" => r.tool_choice = Some(tool_choice(v)?),
            "parallel_tool_calls" => r.parallel = bool_of(v),
            "text" => {
                let t = serde_json::from_str::<TextConfig<'_>>(v.get()).ok();
                r.schema = output_format(t.as_ref().and_then(|t| t.format), false, "text")?;
                if t.is_some_and(|t| t.verbosity.is_some()) {
                    dropped("text.verbosity");
                }
            }
            "reasoning" => {
                let reasoning = serde_json::from_str::<Reasoning<'_>>(v.get()).ok();
                r.effort = reasoning.as_ref().and_then(|x| x.effort).and_then(str_of);
                if reasoning.is_some_and(|x| x.summary.is_some()) {
                    dropped("reasoning.summary");
                }
            }
            "user" | "safety_identifier" => {
                if key == "safety_identifier" || r.user.is_none() {
                    r.user = Some(v);
                }
            }
            "previous_response_id" => return Err(refuse("previous_response_id", "needs OpenAI's stored responses; an Anthropic provider has none (send the whole conversation in `input`)")),
            "conversation" => return Err(refuse("conversation", "needs OpenAI's stored conversations; an Anthropic provider has none")),
            "store" if v.get() == "true" => return Err(refuse("store", "(a stored response) has no counterpart at an Anthropic provider; set it to false")),
            "background" if v.get() == "true" => return Err(refuse("background", "has no counterpart at an Anthropic provider")),
            "moderation" => return Err(refuse("moderation", "(OpenAI's moderation of input and output) has no counterpart at an Anthropic provider")),
            "context_management" => return Err(refuse("context_management", "(OpenAI's server-side compaction) has no counterpart at an Anthropic provider")),
            "prompt" => return Err(refuse("prompt", "(a stored prompt template) has no counterpart at an Anthropic provider")),
            "top_logprobs" if u64_of(v).is_some_and(|n| n > 0) => return Err(refuse("top_logprobs", "has no counterpart at an Anthropic provider")),
            other => dropped(other),
        }
    }
    if let Some(i) = instructions {
        r.conversation.system.insert(0, i);
        r.conversation.system.retain(|t| !t.is_empty());
    }
    r.write()
}

fn responses_input<'a>(v: Raw<'a>, conv: &mut Conversation<'a>) -> Result<(), LlmError> {
    if let Some(s) = str_of(v) {
        conv.push("user", vec![Block::Text(s)]);
        return Ok(());
    }
    let items: Vec<Item<'a>> = serde_json::from_str(v.get()).map_err(|_| bad("input", "must be a string or an array of items"))?;
    for item in items {
        let ty = item.ty.and_then(str_of).unwrap_or(Cow::Borrowed("message"));
        match &*ty {
            "message" => match &*item.role.and_then(str_of).unwrap_or_default() {
                "system" | "developer" => conv.system_text(text_of(item.content)),
                "user" => conv.push("user", user_blocks(item.content, "input")?),
                "assistant" => conv.push("assistant", user_blocks(item.content, "input")?),
                other => return Err(bad("input", &format!("holds a message of unknown role `{other}`"))),
            },
            "function_call" => conv.push(
                "assistant",
                vec![Block::ToolUse {
                    id: item.call_id.and_then(str_of).unwrap_or_default(),
                    name: item.name.and_then(str_of).unwrap_or_default(),
                    input: arguments(item.arguments)?,
                }],
            ),
            "function_call_output" => {
                let id = item.call_id.and_then(str_of).ok_or_else(|| bad("input", "holds a `function_call_output` without `call_id`"))?;
                let content = match item.output {
                    Some(o) if o.get().starts_with('[') => ToolContent::Blocks(user_blocks(Some(o), "input")?),
                    other => ToolContent::Text(text_of(other)),
                };
                conv.push("user", vec![Block::ToolResult { id, content }]);
            }
            "reasoning" => {
                // Weir gives a thinking block's signature as the item's `encrypted_content`; a
                // reasoning item without one (from another provider) cannot be sent back.
                if let Some(sig) = item.encrypted_content.and_then(str_of) {
                    let block = match sig.strip_prefix(REDACTED_PREFIX) {
                        Some(data) => Block::RedactedThinking(Cow::Owned(data.to_string())),
                        None => Block::Thinking { thinking: text_of(item.summary).into_owned(), signature: sig },
                    };
                    conv.push("assistant", vec![block]);
                }
            }
            other => return Err(refuse("input", &format!("holds an item of type `{other}`, which has no counterpart at an Anthropic provider"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn parsed(b: Vec<u8>) -> Value {
        serde_json::from_slice(&b).unwrap()
    }

    #[test]
    fn tool_turns_merge_and_alternate() {
        let body = bytes(json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "w", "arguments": "{\"city\":\"Rome\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "rain"}]},
                {"role": "user", "content": "thanks"}
            ]
        }));
        let out = parsed(chat_request(&RequestBody::parse(&body).unwrap(), "claude").unwrap().0);
        let m = out["messages"].as_array().unwrap();
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[1]["content"][1]["input"]["city"], "Rome");
        assert_eq!(m[2]["content"][0]["tool_use_id"], "c1");
        assert_eq!(m[2]["content"][1]["content"], "rain");
        assert_eq!(m[2]["content"][2]["text"], "thanks");
        assert_eq!(out["system"][0]["text"], "be brief");
        assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
    }

    #[test]
    fn effort_fits_a_budget_under_the_cap() {
        let body = bytes(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "high", "max_completion_tokens": 3000}));
        let out = parsed(chat_request(&RequestBody::parse(&body).unwrap(), "c").unwrap().0);
        assert_eq!(out["max_tokens"], 3000);
        assert_eq!(out["thinking"]["budget_tokens"], 2999);
        let body = bytes(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "low", "max_completion_tokens": 500}));
        let out = parsed(chat_request(&RequestBody::parse(&body).unwrap(), "c").unwrap().0);
        assert!(out.get("thinking").is_none(), "no budget fits under 500");
    }

    #[test]
    fn refusals_name_the_member() {
        for (member, v) in [("n", json!(2)), ("logprobs", json!(true)), ("store", json!(true)), ("web_search_options", json!({})), ("logit_bias", json!({"1": 5}))] {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
            body[member] = v;
            let e = chat_request(&RequestBody::parse(&bytes(body)).unwrap(), "c").unwrap_err();
            assert_eq!(e.param, Some(member), "{}", e.message);
            assert!(e.message.contains(&format!("`{member}`")), "{}", e.message);
        }
        let body = bytes(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
        assert_eq!(responses_request(&RequestBody::parse(&body).unwrap(), "c").unwrap_err().param, Some("previous_response_id"));
        let body = bytes(json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}));
        assert_eq!(responses_request(&RequestBody::parse(&body).unwrap(), "c").unwrap_err().param, Some("tools"));
    }

}
