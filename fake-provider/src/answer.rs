//! What the fake answers: the reply text, or tool calls, with thinking, cut by stop sequences or
//! an output cap, all decided from the request alone (and the `parallel_tools` behaviour).

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::{Api, Behavior, REPLY};

/// The thinking an Anthropic answer starts with when `thinking` is enabled or adaptive.
pub const THINKING: &str = "I should answer briefly.";
/// How the answer to tool results starts; the results follow, joined by `" | "`.
pub const TOOL_RESULTS: &str = "Tool results: ";
/// Reasoning tokens reported by chat completions for a `reasoning_effort` other than none and
/// minimal.
pub const REASONING_TOKENS: u64 = 16;

/// A value conforming to a JSON schema: the properties listed in `required` (all of them when
/// there is no `required`), a string being its first `enum` value or `"fake"`, an integer 1, a
/// number 1.5, a boolean true, an array empty and an object generated from its own `properties`.
/// `const`, `enum`, local `$ref`s and the first branch of `anyOf` / `oneOf` / `allOf` are
/// followed too; anything else is null.
pub fn example_from_schema(schema: &Value) -> Value {
    example(schema, schema, 0)
}

fn example(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(s) = schema.as_object().filter(|_| depth < 32) else {
        return Value::Null;
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => example(target, root, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(first) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = s.get(key).and_then(Value::as_array) {
            if let Some(b) = branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .or(branches.first())
            {
                return example(b, root, depth + 1);
            }
        }
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => s.contains_key("properties").then_some("object"),
    };
    match ty {
        Some("string") => json!("fake"),
        Some("integer") => json!(1),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => {
            let required: Option<Vec<&str>> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect());
            let mut out = Map::new();
            for (name, sub) in s
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if required.as_ref().is_none_or(|r| r.contains(&name.as_str())) {
                    out.insert(name.clone(), example(sub, root, depth + 1));
                }
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}

const SIGNATURE_KEY: &[u8] = b"weir-fake-provider/thinking-signature/v1";

/// The signature of a thinking block: base64 of a 32-byte keyed hash of its text. The fake
/// signs the thinking it sends with it and checks the thinking blocks it is sent back against it.
pub fn thinking_signature(thinking: &str) -> String {
    let mut out = Vec::with_capacity(32);
    for round in 0u64..4 {
        // FNV-1a over key and text, one seed per round, then a 64-bit finaliser.
        let mut h: u64 =
            0xcbf2_9ce4_8422_2325 ^ round.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in SIGNATURE_KEY.iter().chain(thinking.as_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        out.extend_from_slice(&h.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// The text's "tokens": each word with the whitespace after it, so that the pieces put back
/// together are the text. Their number is the number of whitespace-separated words.
pub(crate) fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut prev_ws, mut has_word) = (0, false, false);
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if !ws {
            if prev_ws && has_word {
                out.push(&text[start..i]);
                start = i;
            }
            has_word = true;
        }
        prev_ws = ws;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Splits `s` into `n` pieces of about the same number of characters (fewer when `s` is shorter).
pub(crate) fn split_even(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = n.clamp(1, chars.len().max(1));
    (0..n)
        .map(|i| {
            chars[i * chars.len() / n..(i + 1) * chars.len() / n]
                .iter()
                .collect()
        })
        .collect()
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// `prefix` and 24 hex digits that no other id of this process (nor, in all likelihood, of
/// another) has.
fn unique_id(prefix: &str) -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{prefix}{:012x}{:04x}{:08x}",
        nanos & 0xffff_ffff_ffff,
        std::process::id() & 0xffff,
        n & 0xffff_ffff
    )
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    pub id: String,
    pub name: String,
    pub input: Value,
    /// `input` serialised: chat's `arguments`, the pieces of Anthropic's `input_json_delta`s.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finish {
    Stop,
    StopSequence(String),
    Length,
    ToolCalls,
}

/// One answer, before it is put in a wire format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    /// Anthropic thinking (signed with [`thinking_signature`]).
    pub thinking: Option<String>,
    /// The answer text; unused when there are tool calls.
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub finish: Finish,
    /// Chat completions' hidden reasoning, counted in the completion tokens.
    pub reasoning_tokens: u64,
}

impl Answer {
    pub fn plain(text: &str) -> Self {
        Self {
            thinking: None,
            text: text.to_string(),
            calls: Vec::new(),
            finish: Finish::Stop,
            reasoning_tokens: 0,
        }
    }

    /// Output tokens as counted by the fake: the words sent (thinking included), one per tool
    /// call plus the words of its arguments, and the hidden reasoning tokens.
    pub fn output_tokens(&self) -> u64 {
        let thinking = self.thinking.as_deref().map_or(0, |t| words(t).len()) as u64;
        let shown = if self.calls.is_empty() {
            words(&self.text).len() as u64
        } else {
            self.calls
                .iter()
                .map(|c| 1 + c.arguments.split_whitespace().count() as u64)
                .sum()
        };
        thinking + shown + self.reasoning_tokens
    }

    pub fn chat_finish_reason(&self) -> &'static str {
        match self.finish {
            Finish::Stop | Finish::StopSequence(_) => "stop",
            Finish::Length => "length",
            Finish::ToolCalls => "tool_calls",
        }
    }

    pub fn stop_reason(&self) -> &'static str {
        match self.finish {
            Finish::Stop => "end_turn",
            Finish::StopSequence(_) => "stop_sequence",
            Finish::Length => "max_tokens",
            Finish::ToolCalls => "tool_use",
        }
    }

    pub fn stop_sequence(&self) -> Value {
        match &self.finish {
            Finish::StopSequence(s) => json!(s),
            _ => Value::Null,
        }
    }
}

/// The answer to a request of `api` (already validated).
pub(crate) fn plan(api: Api, req: &Value, behavior: &Behavior) -> Answer {
    match api {
        Api::Chat => chat(req, behavior),
        Api::Messages => messages(req, behavior),
        Api::Responses | Api::Embeddings => Answer::plain(REPLY),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The text of a content that is a string or a list of text parts / blocks (joined by a space).
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn with_images(base: String, images: &[String]) -> String {
    if images.is_empty() {
        base
    } else {
        format!(
            "{base} I see {} image(s): {}",
            images.len(),
            images.join(", ")
        )
    }
}

fn calls_for(chosen: Vec<(String, Value)>, prefix: &str) -> Vec<ToolCall> {
    chosen
        .into_iter()
        .map(|(name, schema)| {
            let input = match example_from_schema(&schema) {
                Value::Object(o) => Value::Object(o),
                _ => json!({}),
            };
            ToolCall {
                id: unique_id(prefix),
                name,
                arguments: input.to_string(),
                input,
            }
        })
        .collect()
}

/// The text before the first stop sequence found in it, then cut to `cap` words.
fn cut(text: String, stops: &[String], cap: Option<u64>) -> (String, Finish) {
    let first = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|p| (p, s)))
        .min_by_key(|(p, _)| *p);
    let (kept, stop) = match first {
        Some((p, s)) => (&text[..p], Some(s.clone())),
        None => (text.as_str(), None),
    };
    let w = words(kept);
    if let Some(cap) = cap.map(|c| usize::try_from(c).unwrap_or(usize::MAX)) {
        if w.len() > cap {
            return (w[..cap].concat().trim_end().to_string(), Finish::Length);
        }
    }
    (
        kept.to_string(),
        stop.map_or(Finish::Stop, Finish::StopSequence),
    )
}

fn chat(req: &Value, behavior: &Behavior) -> Answer {
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let last = messages.last();
    let last_role = last
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let reasoning_tokens = match req.get("reasoning_effort").and_then(Value::as_str) {
        Some("low" | "medium" | "high" | "xhigh") => REASONING_TOKENS,
        _ => 0,
    };

    let tools: Vec<(String, Value)> = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let f = t.get("function")?;
            Some((
                f.get("name")?.as_str()?.to_string(),
                f.get("parameters").cloned().unwrap_or(json!({})),
            ))
        })
        .collect();
    let choice = req.get("tool_choice");
    if !tools.is_empty() && choice.and_then(Value::as_str) != Some("none") && last_role != "tool" {
        let chosen = match choice
            .and_then(|c| c.pointer("/function/name"))
            .and_then(Value::as_str)
        {
            Some(n) => vec![tools
                .iter()
                .find(|(name, _)| name == n)
                .cloned()
                .unwrap_or((n.to_string(), json!({})))],
            None => {
                let parallel = behavior.parallel_tools
                    && req.get("parallel_tool_calls").and_then(Value::as_bool) != Some(false);
                tools
                    .into_iter()
                    .take(if parallel { 2 } else { 1 })
                    .collect()
            }
        };
        return Answer {
            thinking: None,
            text: String::new(),
            calls: calls_for(chosen, "call_"),
            finish: Finish::ToolCalls,
            reasoning_tokens,
        };
    }

    let base = if last_role == "tool" {
        let after_assistant = messages
            .iter()
            .rposition(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
            .map_or(0, |i| i + 1);
        let results: Vec<String> = messages[after_assistant..]
            .iter()
            .filter(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
            .map(|m| text_of(m.get("content")))
            .collect();
        format!("{TOOL_RESULTS}{}", results.join(" | "))
    } else {
        REPLY.to_string()
    };
    let images: Vec<String> = match last
        .filter(|_| last_role == "user")
        .and_then(|m| m.get("content"))
    {
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("image_url"))
            .map(|p| {
                let url = p
                    .pointer("/image_url/url")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match url.strip_prefix("data:") {
                    Some(rest) => format!("base64 {}", rest.split([';', ',']).next().unwrap_or("")),
                    None => format!("url {url}"),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut text = with_images(base, &images);
    match req.pointer("/response_format/type").and_then(Value::as_str) {
        Some("json_schema") => {
            text = example_from_schema(
                req.pointer("/response_format/json_schema/schema")
                    .unwrap_or(&json!({})),
            )
            .to_string()
        }
        Some("json_object") => text = "{}".to_string(),
        _ => {}
    }
    let cap = ["max_completion_tokens", "max_tokens"]
        .iter()
        .filter_map(|k| req.get(*k).and_then(Value::as_u64))
        .min();
    let (text, finish) = cut(text, &strings(req.get("stop")), cap);
    Answer {
        thinking: None,
        text,
        calls: Vec::new(),
        finish,
        reasoning_tokens,
    }
}

fn messages(req: &Value, behavior: &Behavior) -> Answer {
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    let blocks: &[Value] = last_user
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let of_type = |ty: &'static str| {
        blocks
            .iter()
            .filter(move |b| b.get("type").and_then(Value::as_str) == Some(ty))
    };
    let results: Vec<String> = of_type("tool_result")
        .map(|b| text_of(b.get("content")))
        .collect();
    let thinking = matches!(
        req.pointer("/thinking/type").and_then(Value::as_str),
        Some("enabled" | "adaptive")
    )
    .then(|| THINKING.to_string());

    let tools: Vec<(String, Value)> = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| matches!(t.get("type").and_then(Value::as_str), None | Some("custom")))
        .filter_map(|t| {
            Some((
                t.get("name")?.as_str()?.to_string(),
                t.get("input_schema").cloned().unwrap_or(json!({})),
            ))
        })
        .collect();
    let choice = req.get("tool_choice");
    let choice_type = choice
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("auto");
    if !tools.is_empty() && choice_type != "none" && results.is_empty() {
        let chosen = match choice
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .filter(|_| choice_type == "tool")
        {
            Some(n) => vec![tools
                .iter()
                .find(|(name, _)| name == n)
                .cloned()
                .unwrap_or((n.to_string(), json!({})))],
            None => {
                let parallel = behavior.parallel_tools
                    && choice
                        .and_then(|c| c.get("disable_parallel_tool_use"))
                        .and_then(Value::as_bool)
                        != Some(true);
                tools
                    .into_iter()
                    .take(if parallel { 2 } else { 1 })
                    .collect()
            }
        };
        return Answer {
            thinking,
            text: String::new(),
            calls: calls_for(chosen, "toolu_"),
            finish: Finish::ToolCalls,
            reasoning_tokens: 0,
        };
    }

    let base = if results.is_empty() {
        REPLY.to_string()
    } else {
        format!("{TOOL_RESULTS}{}", results.join(" | "))
    };
    let images: Vec<String> = of_type("image")
        .map(
            |b| match b.pointer("/source/type").and_then(Value::as_str) {
                Some("url") => format!(
                    "url {}",
                    b.pointer("/source/url")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                _ => format!(
                    "base64 {}",
                    b.pointer("/source/media_type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
            },
        )
        .collect();
    let mut text = with_images(base, &images);
    if req
        .pointer("/output_config/format/type")
        .and_then(Value::as_str)
        == Some("json_schema")
    {
        text = example_from_schema(
            req.pointer("/output_config/format/schema")
                .unwrap_or(&json!({})),
        )
        .to_string();
    }
    let (text, finish) = cut(
        text,
        &strings(req.get("stop_sequences")),
        req.get("max_tokens").and_then(Value::as_u64),
    );
    Answer {
        thinking,
        text,
        calls: Vec::new(),
        finish,
        reasoning_tokens: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_give_examples() {
        let schema = json!({"type": "object", "properties": {
            "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"}, "t": {"type": "number"}, "ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}, "name": {"type": "string"}}, "required": ["lat"]},
            "optional": {"type": "string"}
        }, "required": ["city", "unit", "days", "t", "ok", "tags", "where"]});
        assert_eq!(
            example_from_schema(&schema),
            json!({"city": "fake", "unit": "celsius", "days": 1, "t": 1.5, "ok": true, "tags": [], "where": {"lat": 1.5}})
        );
        assert_eq!(
            example_from_schema(
                &json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}}})
            ),
            json!({"a": 1, "b": "fake"})
        );
        let refs = json!({"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "$defs": {"P": {"type": "object", "properties": {"x": {"type": "boolean"}}}}});
        assert_eq!(example_from_schema(&refs), json!({"p": {"x": true}}));
        assert_eq!(example_from_schema(&json!({"type": "object"})), json!({}));
    }

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(words(REPLY).len(), 5);
        assert_eq!(words(REPLY).concat(), REPLY);
        assert_eq!(words("a  b\nc"), vec!["a  ", "b\n", "c"]);
        assert!(words("").is_empty());
        assert_eq!(split_even("{}", 4), vec!["{", "}"]);
        assert_eq!(split_even("{\"a\":1}", 2).concat(), "{\"a\":1}");
    }

    #[test]
    fn cuts() {
        let stops = vec!["fake".to_string(), "from".to_string()];
        assert_eq!(
            cut(REPLY.into(), &stops, None),
            ("Hello ".to_string(), Finish::StopSequence("from".into()))
        );
        assert_eq!(
            cut(REPLY.into(), &[], Some(2)),
            ("Hello from".to_string(), Finish::Length)
        );
        assert_eq!(
            cut(REPLY.into(), &[], Some(5)),
            (REPLY.to_string(), Finish::Stop)
        );
        assert_eq!(
            cut(REPLY.into(), &["provider".into()], Some(3)),
            ("Hello from the".to_string(), Finish::Length)
        );
        assert_eq!(
            cut(REPLY.into(), &["provider".into()], Some(4)),
            (
                "Hello from the fake ".to_string(),
                Finish::StopSequence("provider".into())
            )
        );
    }

    #[test]
    fn signatures_are_deterministic_and_keyed_by_the_text() {
        assert_eq!(thinking_signature(THINKING), thinking_signature(THINKING));
        assert_ne!(
            thinking_signature(THINKING),
            thinking_signature("I should answer at length.")
        );
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(thinking_signature(THINKING))
                .map(|b| b.len())
                .ok(),
            Some(32)
        );
    }
}
