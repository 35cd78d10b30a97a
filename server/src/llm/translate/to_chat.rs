//! An Anthropic messages request as a chat completions request, and the chat completion back as
//! an Anthropic message, read as borrowed shapes and written without a tree of values.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::raw::{is_null, is_true, str_of, text_of, Raw, TypeOnly};
use super::{budget_effort, dropped, refuse};
use crate::llm::body::RequestBody;
use crate::llm::error::{ErrorKind, LlmError};

fn bad(field: &'static str, why: &str) -> LlmError {
    LlmError::new(ErrorKind::BadRequest, format!("{field}: {why}")).param(field)
}

// -- the request -------------------------------------------------------------------------------

/// One chat message being written.
enum Message<'a> {
    System(Cow<'a, str>),
    UserText(Cow<'a, str>),
    UserParts(Vec<Part<'a>>),
    Assistant { text: String, calls: Vec<Call<'a>> },
    Tool { id: Cow<'a, str>, content: Cow<'a, str> },
}

enum Part<'a> {
    Text(Option<Raw<'a>>),
    Image(Cow<'a, str>),
}

struct Call<'a> {
    id: Option<Raw<'a>>,
    name: Option<Raw<'a>>,
    arguments: Cow<'a, str>,
}

impl Serialize for Part<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Url<'u> {
            url: &'u str,
        }
        let mut m = s.serialize_map(Some(2))?;
        match self {
            Self::Text(t) => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", t)?;
            }
            Self::Image(url) => {
                m.serialize_entry("type", "image_url")?;
                m.serialize_entry("image_url", &Url { url })?;
            }
        }
        m.end()
    }
}

impl Serialize for Call<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Function<'f> {
            name: Option<Raw<'f>>,
            arguments: &'f str,
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("type", "function")?;
        m.serialize_entry("function", &Function { name: self.name, arguments: &self.arguments })?;
        m.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Self::System(t) => {
                m.serialize_entry("role", "system")?;
                m.serialize_entry("content", t)?;
            }
            Self::UserText(t) => {
                m.serialize_entry("role", "user")?;
                m.serialize_entry("content", t)?;
            }
            Self::UserParts(p) => {
                m.serialize_entry("role", "user")?;
                m.serialize_entry("content", p)?;
            }
            Self::Assistant { text, calls } => {
                m.serialize_entry("role", "assistant")?;
                if text.is_empty() && !calls.is_empty() {
                    m.serialize_entry("content", &())?;
                } else {
                    m.serialize_entry("content", text)?;
                }
                if !calls.is_empty() {
                    m.serialize_entry("tool_calls", calls)?;
                }
            }
            Self::Tool { id, content } => {
                m.serialize_entry("role", "tool")?;
                m.serialize_entry("tool_call_id", id)?;
                m.serialize_entry("content", content)?;
            }
        }
        m.end()
    }
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow, default)]
    role: Option<Raw<'a>>,
    #[serde(borrow, default)]
    content: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct BlockIn<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    text: Option<Raw<'a>>,
    #[serde(borrow, default)]
    source: Option<Source<'a>>,
    #[serde(borrow, default)]
    id: Option<Raw<'a>>,
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    input: Option<Raw<'a>>,
    #[serde(borrow, default)]
    tool_use_id: Option<Raw<'a>>,
    #[serde(borrow, default)]
    content: Option<Raw<'a>>,
    #[serde(borrow, default)]
    is_error: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct Source<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    media_type: Option<Raw<'a>>,
    #[serde(borrow, default)]
    data: Option<Raw<'a>>,
    #[serde(borrow, default)]
    url: Option<Raw<'a>>,
}

fn type_of<'a>(raw: Option<Raw<'a>>) -> Cow<'a, str> {
    raw.and_then(str_of).unwrap_or_default()
}

fn messages<'a>(v: Raw<'a>, out: &mut Vec<Message<'a>>) -> Result<(), LlmError> {
    let list: Vec<MessageIn<'a>> = serde_json::from_str(v.get()).map_err(|_| bad("messages", "must be an array"))?;
    for m in list {
        let blocks = m.content.filter(|c| c.get().starts_with('[')).map(|c| serde_json::from_str::<Vec<BlockIn<'a>>>(c.get())).transpose();
        let blocks = blocks.map_err(|_| bad("messages", "holds content that is not an array of blocks"))?;
        match &*type_of(m.role) {
            "user" => {
                let Some(blocks) = blocks else {
                    out.push(Message::UserText(text_of(m.content)));
                    continue;
                };
                let mut parts = Vec::new();
                for b in blocks {
                    match &*type_of(b.ty) {
                        "text" => parts.push(Part::Text(b.text)),
                        "image" => parts.push(Part::Image(image_url(b.source)?)),
                        "tool_result" => out.push(tool_message(&b)?),
                        other => return Err(refuse("messages", &format!("holds a `{other}` block, which has no counterpart at an OpenAI-compatible provider"))),
                    }
                }
                if !parts.is_empty() {
                    out.push(Message::UserParts(parts));
                }
            }
            "assistant" => {
                let mut text = String::new();
                let mut calls = Vec::new();
                match blocks {
                    None => text.push_str(&m.content.and_then(str_of).unwrap_or_default()),
                    Some(blocks) => {
                        for b in blocks {
                            match &*type_of(b.ty) {
                                "text" => text.push_str(&b.text.and_then(str_of).unwrap_or_default()),
                                "tool_use" => calls.push(Call { id: b.id, name: b.name, arguments: Cow::Borrowed(b.input.map_or("{}", RawValue::get)) }),
                                // Thinking is Anthropic's own; an OpenAI provider takes none back.
                                "thinking" | "redacted_thinking" => {}
                                other => return Err(refuse("messages", &format!("holds a `{other}` block, which has no counterpart at an OpenAI-compatible provider"))),
                            }
                        }
                    }
                }
                out.push(Message::Assistant { text, calls });
            }
            _ => return Err(bad("messages", "roles must be `user` or `assistant`")),
        }
    }
    Ok(())
}

fn image_url(source: Option<Source<'_>>) -> Result<Cow<'_, str>, LlmError> {
    let no_url = || refuse("messages", "holds an image whose source is neither base64 nor a URL (a file id has no counterpart at an OpenAI-compatible provider)");
    let s = source.ok_or_else(no_url)?;
    match &*type_of(s.ty) {
        "base64" => {
            let media = s.media_type.and_then(str_of).ok_or_else(no_url)?;
            let data = s.data.and_then(str_of).ok_or_else(no_url)?;
            Ok(Cow::Owned(format!("data:{media};base64,{data}")))
        }
        "url" => s.url.and_then(str_of).ok_or_else(no_url),
        _ => Err(no_url()),
    }
}

fn tool_message<'a>(b: &BlockIn<'a>) -> Result<Message<'a>, LlmError> {
    let id = b.tool_use_id.and_then(str_of).ok_or_else(|| bad("messages", "a `tool_result` needs a `tool_use_id`"))?;
    if let Some(c) = b.content.filter(|c| c.get().starts_with('[')) {
        let parts: Vec<TypeOnly<'_>> = serde_json::from_str(c.get()).map_err(|_| bad("messages", "holds a `tool_result` whose content is not an array of blocks"))?;
        if parts.iter().any(|p| type_of(p.ty) != "text") {
            return Err(refuse("messages", "holds a `tool_result` with non-text content, which an OpenAI-compatible provider's tool messages cannot carry"));
        }
    }
    let text = text_of(b.content);
    // A failed tool's result says so: OpenAI has no `is_error`.
    let content = if is_true(b.is_error) { Cow::Owned(format!("Error: {text}")) } else { text };
    Ok(Message::Tool { id, content })
}

#[derive(Deserialize)]
struct ToolIn<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    description: Option<Raw<'a>>,
    #[serde(borrow, default)]
    input_schema: Option<Raw<'a>>,
    #[serde(borrow, default)]
    strict: Option<Raw<'a>>,
}

struct FunctionTool<'a>(ToolIn<'a>);

impl Serialize for FunctionTool<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Function<'f, 'a>(&'f ToolIn<'a>);
        impl Serialize for Function<'_, '_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let t = self.0;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("name", &t.name)?;
                match t.input_schema {
                    Some(schema) => m.serialize_entry("parameters", schema)?,
                    None => m.serialize_entry("parameters", &serde_json::json!({"type": "object"}))?,
                }
                if let Some(d) = t.description.filter(|d| d.get().starts_with('"')) {
                    m.serialize_entry("description", d)?;
                }
                if is_true(t.strict) {
                    m.serialize_entry("strict", &true)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "function")?;
        m.serialize_entry("function", &Function(&self.0))?;
        m.end()
    }
}

#[derive(Deserialize)]
struct ChoiceIn<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    disable_parallel_tool_use: Option<Raw<'a>>,
}

enum ChoiceOut<'a> {
    Auto,
    Required,
    None,
    Named(Option<Raw<'a>>),
}

impl Serialize for ChoiceOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Named<'n> {
            #[serde(rename = "type")]
            ty: &'static str,
            function: NameOut<'n>,
        }
        #[derive(Serialize)]
        struct NameOut<'n> {
            name: Option<Raw<'n>>,
        }
        match self {
            Self::Auto => s.serialize_str("auto"),
            Self::Required => s.serialize_str("required"),
            Self::None => s.serialize_str("none"),
            Self::Named(name) => Named { ty: "function", function: NameOut { name: *name } }.serialize(s),
        }
    }
}

#[derive(Deserialize)]
struct ThinkingIn<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(default)]
    budget_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputConfigIn<'a> {
    #[serde(borrow, default)]
    format: Option<Raw<'a>>,
    #[serde(borrow, default)]
    effort: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct FormatIn<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Raw<'a>>,
    #[serde(borrow, default)]
    schema: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct MetadataIn<'a> {
    #[serde(borrow, default)]
    user_id: Option<Raw<'a>>,
}

/// A messages request as a chat completions request.
pub fn request(body: &RequestBody<'_>, model: &str) -> Result<Vec<u8>, LlmError> {
    let mut passed: Vec<(&str, Raw<'_>)> = Vec::new();
    let mut system = None;
    let mut msgs = Vec::new();
    let mut effort: Option<Cow<'_, str>> = None;
    let mut output_effort: Option<Cow<'_, str>> = None;
    let mut schema = None;
    let mut tools: Vec<FunctionTool<'_>> = Vec::new();
    let mut choice: Option<ChoiceOut<'_>> = None;
    let mut no_parallel = false;
    let mut stream = false;
    for (key, v) in body.raw_members() {
        if is_null(v) {
            continue;
        }
        match key {
            "model" => {}
            "system" => system = Some(text_of(Some(v))),
            "messages" => messages(v, &mut msgs)?,
            "max_tokens" => passed.push(("max_completion_tokens", v)),
            "temperature" | "top_p" => passed.push((key, v)),
            "stream" => {
                stream = v.get() == "true";
                passed.push((key, v));
            }
            "stop_sequences" => {
                if serde_json::from_str::<Vec<Raw<'_>>>(v.get()).is_ok_and(|a| !a.is_empty()) {
                    passed.push(("stop", v));
                }
            }
            "metadata" => {
                if let Some(u) = serde_json::from_str::<MetadataIn<'_>>(v.get()).ok().and_then(|m| m.user_id).filter(|u| u.get().starts_with('"')) {
                    passed.push(("user", u));
                }
            }
            "tools" => {
                let list: Vec<ToolIn<'_>> = serde_json::from_str(v.get()).map_err(|_| bad("tools", "must be an array"))?;
                for t in list {
                    let ty = t.ty.and_then(str_of);
                    if !matches!(ty.as_deref(), None | Some("custom")) {
                        let ty = ty.unwrap_or_default();
                        return Err(refuse("tools", &format!("of type `{ty}` (an Anthropic server tool) has no counterpart at an OpenAI-compatible provider; only custom tools are translated")));
                    }
                    tools.push(FunctionTool(t));
                }
            }
            "tool_choice" => {
                let c: ChoiceIn<'_> = serde_json::from_str(v.get()).map_err(|_| bad("tool_choice", "is not a tool choice"))?;
                no_parallel = is_true(c.disable_parallel_tool_use);
                choice = Some(match &*type_of(c.ty) {
                    "auto" => ChoiceOut::Auto,
                    "any" => ChoiceOut::Required,
                    "none" => ChoiceOut::None,
                    "tool" => ChoiceOut::Named(c.name),
                    _ => return Err(bad("tool_choice", "is not a tool choice")),
                });
            }
            "thinking" => {
                let t = serde_json::from_str::<ThinkingIn<'_>>(v.get()).ok();
                effort = t.and_then(|t| match &*type_of(t.ty) {
                    "enabled" => Some(Cow::Borrowed(budget_effort(t.budget_tokens.unwrap_or(0)))),
                    "adaptive" => Some(Cow::Borrowed("medium")),
                    _ => None,
                });
            }
            "output_config" | "output_format" => {
                // `output_format` is the beta's name for what `output_config.format` is now.
                let (format, e) = if key == "output_format" {
                    (Some(v), None)
                } else {
                    serde_json::from_str::<OutputConfigIn<'_>>(v.get()).map_or((None, None), |c| (c.format, c.effort))
                };
                if let Some(f) = format.filter(|f| !is_null(f)) {
                    let f = serde_json::from_str::<FormatIn<'_>>(f.get()).ok();
                    let Some(f) = f.filter(|f| type_of(f.ty) == "json_schema") else {
                        return Err(bad("output_config", "format must be of type `json_schema`"));
                    };
                    schema = Some(f.schema);
                }
                if let Some(e) = e {
                    output_effort = str_of(e);
                }
            }
            "container" => return Err(refuse("container", "(Anthropic's code execution container) has no counterpart at an OpenAI-compatible provider")),
            "mcp_servers" => return Err(refuse("mcp_servers", "(Anthropic's MCP connector) has no counterpart at an OpenAI-compatible provider")),
            "context_management" => return Err(refuse("context_management", "has no counterpart at an OpenAI-compatible provider")),
            other => dropped(other),
        }
    }
    let has_tools = !tools.is_empty();
    if !has_tools && matches!(choice, Some(ChoiceOut::Required | ChoiceOut::Named(_))) {
        return Err(refuse("tool_choice", "asks for a tool but the request has no `tools`"));
    }
    let effort = effort.or(output_effort.filter(|e| matches!(&**e, "low" | "medium" | "high")));

    let mut out = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::new(&mut out);
    let e = |e: serde_json::Error| LlmError::new(ErrorKind::BadRequest, e.to_string());
    let mut m = ser.serialize_map(None).map_err(e)?;
    m.serialize_entry("model", model).map_err(e)?;
    for (k, v) in &passed {
        m.serialize_entry(k, v).map_err(e)?;
    }
    if let Some(s) = system.filter(|s| !s.is_empty()) {
        msgs.insert(0, Message::System(s));
    }
    m.serialize_entry("messages", &msgs).map_err(e)?;
    if has_tools {
        m.serialize_entry("tools", &tools).map_err(e)?;
        if let Some(c) = &choice {
            m.serialize_entry("tool_choice", c).map_err(e)?;
        }
        if no_parallel {
            m.serialize_entry("parallel_tool_calls", &false).map_err(e)?;
        }
    }
    if let Some(effort) = effort {
        m.serialize_entry("reasoning_effort", &effort).map_err(e)?;
    }
    if let Some(schema) = schema {
        #[derive(Serialize)]
        struct ResponseFormat<'r> {
            #[serde(rename = "type")]
            ty: &'static str,
            json_schema: JsonSchema<'r>,
        }
        #[derive(Serialize)]
        struct JsonSchema<'r> {
            name: &'static str,
            schema: Option<Raw<'r>>,
            strict: bool,
        }
        m.serialize_entry("response_format", &ResponseFormat { ty: "json_schema", json_schema: JsonSchema { name: "output", schema, strict: true } }).map_err(e)?;
    }
    if stream {
        // Usage comes last in a chat stream, and only when asked for.
        m.serialize_entry("stream_options", &serde_json::json!({"include_usage": true})).map_err(e)?;
    }
    m.end().map_err(e)?;
    Ok(out)
}

// -- the answer -----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Raw<'a>>,
    #[serde(borrow)]
    choices: Vec<ChoiceAnswer<'a>>,
    #[serde(borrow, default)]
    usage: Option<Raw<'a>>,
}

#[derive(Deserialize)]
struct ChoiceAnswer<'a> {
    #[serde(borrow)]
    message: AnswerMessage<'a>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct AnswerMessage<'a> {
    #[serde(borrow, default)]
    content: Option<Raw<'a>>,
    #[serde(borrow, default)]
    refusal: Option<Raw<'a>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<AnswerCall<'a>>>,
}

#[derive(Deserialize)]
struct AnswerCall<'a> {
    #[serde(borrow, default)]
    id: Option<Raw<'a>>,
    #[serde(borrow, default)]
    function: Option<AnswerFunction<'a>>,
}

#[derive(Deserialize)]
struct AnswerFunction<'a> {
    #[serde(borrow, default)]
    name: Option<Raw<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Raw<'a>>,
}

enum AnswerBlock<'a> {
    Text(Raw<'a>),
    ToolUse { id: Option<Raw<'a>>, name: Option<Raw<'a>>, input: Option<Box<RawValue>> },
}

impl Serialize for AnswerBlock<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Text(t) => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", t)?;
            }
            Self::ToolUse { id, name, input } => {
                m.serialize_entry("type", "tool_use")?;
                m.serialize_entry("id", id)?;
                m.serialize_entry("name", name)?;
                match input {
                    Some(i) => m.serialize_entry("input", i)?,
                    None => m.serialize_entry("input", &serde_json::Map::new())?,
                }
            }
        }
        m.end()
    }
}

/// A tool call's arguments (JSON text) as Anthropic's `input` object; `None` (an empty input)
/// when they are not one.
fn input_of(args: Option<Raw<'_>>) -> Option<Box<RawValue>> {
    let text = args.and_then(str_of)?;
    match serde_json::from_str::<Box<RawValue>>(&text) {
        Ok(raw) if raw.get().starts_with('{') => Some(raw),
        _ => {
            tracing::debug!("a tool call's arguments are not a JSON object; given as an empty input");
            None
        }
    }
}

/// A chat completion as an Anthropic message.
pub fn response(body: &[u8]) -> Option<Vec<u8>> {
    let c: Completion<'_> = serde_json::from_slice(body).ok()?;
    let choice = c.choices.into_iter().next()?;
    let m = choice.message;
    let mut content = Vec::new();
    for t in [m.content, m.refusal].into_iter().flatten() {
        if t.get().starts_with('"') && t.get() != "\"\"" {
            content.push(AnswerBlock::Text(t));
        }
    }
    for call in m.tool_calls.into_iter().flatten() {
        let (name, args) = call.function.map_or((None, None), |f| (f.name, f.arguments));
        content.push(AnswerBlock::ToolUse { id: call.id, name, input: input_of(args) });
    }
    #[derive(Serialize)]
    struct Message<'a> {
        id: String,
        #[serde(rename = "type")]
        ty: &'static str,
        role: &'static str,
        model: Option<Raw<'a>>,
        content: Vec<AnswerBlock<'a>>,
        stop_reason: &'static str,
        stop_sequence: Option<()>,
        usage: super::anthropic_client::AnthropicUsage,
    }
    let message = Message {
        id: super::anthropic_client::message_id(c.id.as_deref()),
        ty: "message",
        role: "assistant",
        model: c.model,
        content,
        stop_reason: super::anthropic_client::stop_reason(choice.finish_reason.as_deref()),
        stop_sequence: None,
        usage: super::anthropic_client::ChatUsage::of(c.usage).anthropic(),
    };
    serde_json::to_vec(&message).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_results_come_first_as_tool_messages() {
        let body = json!({
            "model": "m", "max_tokens": 100, "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "42", "is_error": true}, {"type": "text", "text": "go on"}]}
            ]
        });
        let out: serde_json::Value = serde_json::from_slice(&request(&RequestBody::parse(&serde_json::to_vec(&body).unwrap()).unwrap(), "gpt").unwrap()).unwrap();
        let m = out["messages"].as_array().unwrap();
        assert_eq!(m[0], json!({"role": "system", "content": "sys"}));
        assert_eq!(m[2]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
        assert_eq!(m[3], json!({"role": "tool", "tool_call_id": "t1", "content": "Error: 42"}));
        assert_eq!(m[4]["content"][0]["text"], "go on");
        assert_eq!(out["max_completion_tokens"], 100);
    }

}
