//! Guardrails on a streamed answer, in the client's protocol, event by event.
//!
//! - Text (chat `delta.content`, Anthropic `text_delta`, responses `output_text.delta`) goes
//!   through a masker per choice or block: a value split across events is still masked, and
//!   only as much text is held back as a value could still need; what is held goes out at the
//!   end of its block, in an event of the protocol's own kind, before the block's end.
//! - Tool-call arguments, streamed in fragments, are held until the call is complete, then
//!   checked, masked or blocked, and sent as one fragment before any of them reaches the agent.
//! - A value a blocking guardrail finds ends the stream with the protocol's own error event;
//!   nothing of the value goes out.
//! - Guardrails that only flag, prompt injection, and webhooks see the whole text when the
//!   stream ends (their verdict is recorded: what was sent cannot be taken back).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem::Finder;
use serde_json::{json, Value};

use super::Api;
use crate::guard::engine::Verdict;
use crate::guard::json;
use super::record::{CallRecorder, Ending};
use crate::guard::policy::{Action, Detector, Direction, Policy};
use crate::guard::streamed::TextMasker;
use crate::guard::webhook;
use crate::sse::{write_event as push_event, SseEvent, SseSplitter};

/// The most texts (choices, blocks, outputs) and tool calls a stream may have open at once: far
/// more than an answer has (`n` choices, a message's blocks), few enough that what each holds
/// stays small.
const MAX_OPEN: usize = 256;

/// Tool-call arguments held until the call is complete.
#[derive(Default)]
struct HeldCall {
    /// Chat: the call's first fragment (its id, type and name), as JSON.
    head: Option<String>,
    arguments: String,
}

/// A chat tool call whole: its first fragment with all of its `arguments` (a JSON string)
/// in place of the piece it carried.
fn write_call(out: &mut Vec<u8>, key: (u64, u64), head: Option<&str>, arguments: &str) {
    let quoted = serde_json::to_string(arguments).unwrap_or_default();
    if let Some((h, Some(t))) = head.and_then(|h| CallFragment::read(h, 0).map(|c| (h, c.arguments))) {
        out.extend_from_slice(&h.as_bytes()[..t.start - 1]);
        out.extend_from_slice(quoted.as_bytes());
        out.extend_from_slice(&h.as_bytes()[t.end + 1..]);
        return;
    }
    // A first fragment without arguments, or none.
    let mut call = head.and_then(|h| serde_json::from_str::<Value>(h).ok()).filter(Value::is_object).unwrap_or_else(|| json!({"index": key.1}));
    if !call.get("function").is_some_and(Value::is_object) {
        call["function"] = json!({});
    }
    call["function"]["arguments"] = Value::String(arguments.to_string());
    let _ = serde_json::to_writer(&mut *out, &call);
}

/// The members a chunk Weir adds to a chat stream starts with: its kind, then the values of
/// [`crate::llm::CHAT_HEAD_MEMBERS`] a chunk of the provider's had (JSON texts, in that order).
fn head_of(values: [Option<&str>; 5]) -> String {
    let mut head = String::from("\"object\":\"chat.completion.chunk\"");
    for (key, v) in crate::llm::CHAT_HEAD_MEMBERS.iter().zip(values) {
        if let Some(v) = v {
            head.push_str(",\"");
            head.push_str(key);
            head.push_str("\":");
            head.push_str(v);
        }
    }
    head
}

/// A chat chunk of the common shapes, read without a tree of values: no choice, or one
/// choice with a delta of `role`, `content`, `refusal` (null) and `tool_calls`, its
/// `finish_reason` and null `logprobs`, and no usage. Any other member of a choice or its
/// delta, or a member given twice, and it is not read (`None`).
struct ChatChunk<'a> {
    /// The values of [`crate::llm::CHAT_HEAD_MEMBERS`]; `None` when they are the previous
    /// chunk's (the chunk began with the same bytes, up to its choices).
    head: Option<[Option<&'a str>; 5]>,
    choices: usize,
    index: u64,
    /// The delta's `content`, when a string.
    content: Option<json::Text>,
    role: bool,
    delta_members: usize,
    /// Where the delta's `tool_calls` array starts and ends.
    tool_calls: Option<(usize, usize)>,
    finish: bool,
}

/// What the chunks of a stream begin with, up to their choices: the members before them are
/// read once, and a chunk that begins with the same bytes is read from its choices on.
#[derive(Default)]
struct ChatPrefix {
    /// Up to and including the `[` that opens the choices.
    bytes: Vec<u8>,
    /// The head of a chunk Weir adds, from those members.
    head: String,
}

impl<'a> ChatChunk<'a> {
    fn read(data: &'a str, prefix: &mut ChatPrefix) -> Option<Self> {
        let mut c = ChatChunk { head: None, choices: 0, index: 0, content: None, role: false, delta_members: 0, tool_calls: None, finish: false };
        let mut choices: Option<(usize, usize)> = None;
        let mut usage = None;
        let mut twice = false;
        let mut head = [None; 5];
        // Where the last head member ends.
        let mut head_end = 0;
        // Where the usage member starts.
        let mut usage_at = usize::MAX;
        let mut member = |k: &str, s: usize, e: usize| {
            if k == "choices" {
                twice |= choices.replace((s, e)).is_some();
            } else if k == "usage" {
                twice |= usage.replace(&data[s..e]).is_some();
                usage_at = s;
            } else if let Some(p) = crate::llm::CHAT_HEAD_MEMBERS.iter().position(|h| *h == k) {
                twice |= head[p].replace(&data[s..e]).is_some();
                head_end = e;
            }
        };
        let same = !prefix.bytes.is_empty() && data.as_bytes().starts_with(&prefix.bytes);
        if same {
            let open = prefix.bytes.len() - 1;
            let end = json::value_end(data.as_bytes(), open)?;
            member("choices", open, end);
            json::members_after(data, end, &mut member)?;
            if head_end > 0 {
                return None;
            }
        } else {
            json::members(data, 0, &mut member)?;
        }
        let (at, _) = choices?;
        if twice || !data[at..].starts_with('[') {
            return None;
        }
        if !same {
            // The bytes before the choices are kept only when they are the head's alone.
            if head_end < at && usage_at > at {
                prefix.bytes = data.as_bytes()[..=at].to_vec();
                prefix.head = head_of(head);
            }
            c.head = Some(head);
        }
        // The choices are read in place: no choice, or one whose object the array closes after
        // (a second one, or anything else, and the chunk is not read here).
        let b = data.as_bytes();
        let first = json::skip_space(b, at + 1);
        if b.get(first) == Some(&b']') {
            return Some(c);
        }
        if usage.is_some_and(|u| u != "null") {
            return None;
        }
        c.choices = 1;
        let (mut index, mut delta, mut finish, mut other) = (None, None, None, false);
        let choice_end = json::members(data, first, |k, s, e| {
            let v = &data[s..e];
            match k {
                "index" => twice |= index.replace(v.parse::<u64>().ok()).is_some(),
                "delta" => twice |= delta.replace(s).is_some(),
                "finish_reason" => twice |= finish.replace(v != "null").is_some(),
                "logprobs" => other |= v != "null",
                _ => other = true,
            }
        })?;
        if b.get(json::skip_space(b, choice_end)) != Some(&b']') {
            return None;
        }
        c.index = index??;
        c.finish = finish.unwrap_or(false);
        if twice || other {
            return None;
        }
        let Some(delta) = delta else { return Some(c) };
        let (mut content, mut role, mut calls) = (None, None, None);
        json::members(data, delta, |k, s, e| {
            c.delta_members += 1;
            let v = &data[s..e];
            match k {
                "content" => twice |= content.replace((s, e)).is_some(),
                "role" => twice |= role.replace(()).is_some(),
                "refusal" => other |= v != "null",
                "tool_calls" => twice |= calls.replace((s, e)).is_some(),
                _ => other = true,
            }
        })?;
        if twice || other {
            return None;
        }
        c.role = role.is_some();
        if let Some((s, e)) = content {
            if &data[s..e] != "null" {
                c.content = Some(json::string_at(data, s, e)?);
            }
        }
        if let Some((s, _)) = calls {
            if !data[s..].starts_with('[') {
                return None;
            }
        }
        c.tool_calls = calls;
        Some(c)
    }
}

/// The bytes around the one string that changes from chunk to chunk of a kind (a text piece,
/// a piece of a tool call's arguments) in the last such chunk that was read whole: a chunk that
/// is those bytes around a string is the same kind for the same choice (and call), and only
/// that string needs reading.
#[derive(Default)]
struct Template {
    before: Vec<u8>,
    after: Vec<u8>,
    key: (u64, u64),
}

impl Template {
    fn of(data: &str, t: json::Text, key: (u64, u64)) -> Self {
        Self { before: data.as_bytes()[..t.start].to_vec(), after: data.as_bytes()[t.end..].to_vec(), key }
    }

    /// The string of `data`, when `data` is this template around one.
    fn string_in(&self, data: &str) -> Option<json::Text> {
        let b = data.as_bytes();
        if self.before.is_empty() || !b.starts_with(&self.before) {
            return None;
        }
        let start = self.before.len();
        let (end, escaped) = json::string_end(b, start);
        (end < b.len() && b[end..] == self.after[..]).then_some(json::Text { start, end, escaped, trusted: false })
    }
}

/// A fragment of a chat tool call: its index and the piece of arguments it carries.
struct CallFragment {
    index: u64,
    /// It names the call (its first fragment).
    head: bool,
    arguments: Option<json::Text>,
}

impl CallFragment {
    fn read(data: &str, at: usize) -> Option<Self> {
        let (mut index, mut function, mut head, mut twice) = (None, None, false, false);
        json::members(data, at, |k, s, e| match k {
            "index" => twice |= index.replace(&data[s..e]).is_some(),
            "function" => twice |= function.replace(s).is_some(),
            _ => head = true,
        })?;
        let index = match index {
            Some(v) => v.parse().ok()?,
            None => 0,
        };
        let mut arguments = None;
        if let Some(f) = function {
            json::members(data, f, |k, s, e| {
                if k == "arguments" {
                    twice |= arguments.replace((s, e)).is_some();
                }
            })?;
        }
        // A member given twice: which one a client reads is its parser's choice.
        if twice {
            return None;
        }
        let arguments = match arguments {
            Some((s, e)) => Some(json::string_at(data, s, e)?),
            None => None,
        };
        Some(Self { index, head, arguments })
    }
}

pub struct StreamGuard {
    client: Api,
    policy: Policy,
    /// The guardrails that mask or block values.
    masking: Policy,
    /// The guardrails that find values, whatever they do about them.
    values: Policy,
    /// Who the call is for, as a webhook is told.
    pub context: webhook::Context,
    /// The members a chunk Weir adds to a chat stream starts with (`"id":…,"object":…`), from
    /// the first chunk with choices.
    chat_head: String,
    chat_prefix: ChatPrefix,
    text_template: Template,
    arguments_template: Template,
    splitter: SseSplitter,
    events: Vec<SseEvent>,
    /// By choice (chat), block (messages) or output and content index (responses).
    texts: BTreeMap<(u64, u64), TextMasker>,
    calls: BTreeMap<(u64, u64), HeldCall>,
    /// Everything the answer said, for what is checked once it ends (bounded by the
    /// provider's answer limit).
    pub text: String,
    pub verdict: Verdict,
}

/// What a guarded event turned into.
type Out = Vec<u8>;

/// The number that is the only member `key` of `data`, read from its text.
fn int_member(data: &str, key: &'static str) -> Option<u64> {
    let at = json::member_value(data, key)?;
    let digits: &str = &data[at..at + data[at..].bytes().take_while(u8::is_ascii_digit).count()];
    digits.parse().ok()
}

fn index(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

impl StreamGuard {
    /// A guard for a stream of `client`'s protocol, when a guardrail runs on answers.
    pub fn new(client: Api, policy: &Policy, context: webhook::Context, max_event: usize) -> Option<Self> {
        if !policy.any(Direction::Response) {
            return None;
        }
        Some(Self {
            client,
            policy: policy.clone(),
            masking: policy.with_only(|g, a| g.detector.masks() && a >= Action::Mask),
            values: policy.with_only(|g, _| g.detector.masks()),
            context,
            chat_head: String::new(),
            chat_prefix: ChatPrefix::default(),
            text_template: Template::default(),
            arguments_template: Template::default(),
            splitter: SseSplitter::with_max_event(max_event),
            events: Vec::new(),
            texts: BTreeMap::new(),
            calls: BTreeMap::new(),
            text: String::new(),
            verdict: Verdict::default(),
        })
    }

    /// The next piece of the text at `key`: what of it goes out now.
    fn push_text(&mut self, key: (u64, u64), piece: &str) -> Result<String, String> {
        if !self.texts.contains_key(&key) {
            self.room()?;
        }
        self.text.push_str(piece);
        let policy = &self.policy;
        let masker = self.texts.entry(key).or_insert_with(|| TextMasker::new(policy));
        let released = masker.push(piece, &mut self.verdict);
        self.blocked()?;
        Ok(released)
    }

    /// Whether another text or call may be held: a provider that opens choices, blocks or
    /// calls without end is refused before what it holds grows past [`MAX_OPEN`].
    fn room(&self) -> Result<(), String> {
        if self.texts.len() + self.calls.len() >= MAX_OPEN {
            return Err(format!("the answer opens more than {MAX_OPEN} texts and tool calls at once"));
        }
        Ok(())
    }

    /// The call held at `key`, opened if it is not yet.
    fn call(&mut self, key: (u64, u64)) -> Result<&mut HeldCall, String> {
        if !self.calls.contains_key(&key) {
            self.room()?;
        }
        Ok(self.calls.entry(key).or_default())
    }

    /// Takes the next bytes of the client's stream; returns what goes on, or the guardrail's
    /// refusal when a blocking guardrail found something.
    pub fn filter(&mut self, bytes: &[u8]) -> Result<Bytes, String> {
        self.events.clear();
        if self.splitter.push(bytes, &mut self.events).is_err() {
            return Err("the answer holds an event too large to check".into());
        }
        let mut out = Vec::with_capacity(bytes.len() + 64);
        for ev in std::mem::take(&mut self.events) {
            self.filter_event(&ev, &mut out)?;
        }
        Ok(Bytes::from(out))
    }

    /// The stream ended: anything still held goes out (a stream cut before its blocks ended).
    pub fn finish(&mut self) -> Result<Bytes, String> {
        let mut out = Vec::new();
        let rest = self.splitter.take_pending();
        if !rest.is_empty() {
            let mut with_end = rest.to_vec();
            with_end.extend_from_slice(b"\n\n");
            out.extend_from_slice(&self.filter(&with_end)?);
        }
        for (_, mut m) in std::mem::take(&mut self.texts) {
            let rest = m.finish(&mut self.verdict);
            self.blocked()?;
            // Text of a block that never ended has no event of its own left to ride in; it is
            // recorded, not sent.
            self.text.push_str(&rest);
        }
        Ok(Bytes::from(out))
    }

    fn blocked(&self) -> Result<(), String> {
        match self.verdict.refusal("the answer") {
            Some(m) => Err(m),
            None => Ok(()),
        }
    }

    /// The common events — a piece of text, a piece of a tool call's arguments, a choice's end,
    /// the usage chunk — handled without reading the event as JSON values: a text piece is
    /// replaced in place by what the masker releases. `None` when the event is of another kind.
    fn common_event(&mut self, ev: &SseEvent, out: &mut Out) -> Option<Result<(), String>> {
        static TEXT_DELTA: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"type\":\"text_delta\""));
        let data = ev.data.as_str();
        // An event whose data came in several lines, or with lines of its own beside the data,
        // is written again whole by the general reading.
        if memchr::memchr2(b'\n', b'\r', data.as_bytes()).is_some() {
            return None;
        }
        match self.client {
            Api::Chat if ev.event.is_none() && ev.id.is_none() => self.chat_fast(data, &ev.raw, out),
            Api::Messages if ev.event.as_deref() == Some("content_block_delta") && TEXT_DELTA.find(data.as_bytes()).is_some() => {
                let t = json::member_string(data, "text")?;
                let key = (int_member(data, "index")?, 0);
                Some(self.text_in_place(ev.event.as_deref(), data, t, key, out))
            }
            _ => None,
        }
    }

    /// A text piece at `t` in `data`, through the masker, and the event with what it released
    /// in its place (none for a messages event that released nothing).
    fn text_in_place(&mut self, event: Option<&str>, data: &str, t: json::Text, key: (u64, u64), out: &mut Out) -> Result<(), String> {
        let piece = json::read(data, &t).into_owned();
        let released = self.push_text(key, &piece)?;
        if released.is_empty() && self.client == Api::Messages {
            return Ok(());
        }
        if let Some(e) = event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(e.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&data.as_bytes()[..t.start - 1]);
        out.extend_from_slice(serde_json::to_string(&released).unwrap_or_default().as_bytes());
        out.extend_from_slice(&data.as_bytes()[t.end + 1..]);
        out.extend_from_slice(b"\n\n");
        Ok(())
    }

    /// A chat chunk of one of the common shapes, read without a tree of values: the usage
    /// chunk (no choices) goes out as it came; one choice with only text, only tool-call
    /// fragments, or an end with nothing else in its delta. Anything else (several choices,
    /// log probabilities, members this does not know) is `None`, for the general reading.
    fn chat_fast(&mut self, data: &str, raw: &[u8], out: &mut Out) -> Option<Result<(), String>> {
        if let Some(t) = self.text_template.string_in(data) {
            return Some(self.text_in_place(None, data, t, self.text_template.key, out));
        }
        if let Some(t) = self.arguments_template.string_in(data) {
            if let Some(held) = self.calls.get_mut(&self.arguments_template.key) {
                held.arguments.push_str(&json::read(data, &t));
                return Some(Ok(()));
            }
        }
        let c = ChatChunk::read(data, &mut self.chat_prefix)?;
        if c.choices == 0 {
            out.extend_from_slice(raw);
            return Some(Ok(()));
        }
        let head = |prefix: &ChatPrefix| c.head.map_or_else(|| prefix.head.clone(), head_of);
        if self.chat_head.is_empty() {
            self.chat_head = head(&self.chat_prefix);
        }
        let no_text = c.content.is_none_or(|t| t.start == t.end);
        if let Some(calls) = c.tool_calls {
            // Fragments of tool calls and nothing else: held, the chunk dropped.
            if c.finish || !no_text || c.role {
                return None;
            }
            let mut fragments = Vec::new();
            json::elements(data, calls.0, |s, e| fragments.push((s, e)))?;
            // All read before any is held: one that cannot be read leaves the chunk whole to
            // the general reading.
            let fragments = fragments.into_iter().map(|(s, e)| Some((s, e, CallFragment::read(data, s)?))).collect::<Option<Vec<_>>>()?;
            let one = fragments.len() == 1;
            for (s, e, call) in fragments {
                let key = (c.index, call.index);
                let held = match self.call(key) {
                    Ok(held) => held,
                    Err(e) => return Some(Err(e)),
                };
                let mut template = None;
                if let Some(a) = call.arguments {
                    held.arguments.push_str(&json::read(data, &a));
                    if one && !call.head && held.head.is_some() {
                        template = Some(Template::of(data, a, key));
                    }
                }
                if held.head.is_none() {
                    held.head = Some(data[s..e].to_string());
                }
                if let Some(t) = template {
                    self.arguments_template = t;
                }
            }
            return Some(Ok(()));
        }
        if c.finish {
            // A choice's end: what it holds goes out before it, then the chunk as it came.
            if !no_text {
                return None;
            }
            let head = head(&self.chat_prefix);
            return Some(self.chat_flush(c.index, &head, out).map(|()| out.extend_from_slice(raw)));
        }
        let Some(t) = c.content else {
            // Nothing to check in the delta: as it came, or dropped when it is empty.
            if c.delta_members > 0 {
                out.extend_from_slice(raw);
            }
            return Some(Ok(()));
        };
        self.text_template = Template::of(data, t, (c.index, 0));
        Some(self.text_in_place(None, data, t, (c.index, 0), out))
    }

    /// Takes the next event of the client's stream, as the relay read it (or as `filter` split
    /// it); what goes on is added to `out`. Fails with the guardrail's refusal when a blocking
    /// guardrail found something.
    pub fn filter_event(&mut self, ev: &SseEvent, out: &mut Out) -> Result<(), String> {
        if let Some(done) = self.common_event(ev, out) {
            return done;
        }
        let parsed = if ev.data.starts_with('{') { serde_json::from_str::<Value>(&ev.data).ok() } else { None };
        let Some(mut data) = parsed else {
            // `[DONE]`, comments, pings: nothing to check.
            if ev.data == "[DONE]" {
                self.flush_all(out)?;
            }
            out.extend_from_slice(&ev.raw);
            return Ok(());
        };
        match self.client {
            Api::Chat => self.chat(&mut data, &ev.raw, out)?,
            Api::Messages => self.messages(ev.event.as_deref(), &mut data, out)?,
            Api::Responses => self.responses(ev.event.as_deref(), &mut data, out)?,
            Api::Embeddings => push_event(out, ev.event.as_deref(), &data),
        }
        Ok(())
    }

    /// Every held text and call of a chat stream, before `[DONE]`.
    fn flush_all(&mut self, out: &mut Out) -> Result<(), String> {
        if self.client != Api::Chat {
            return Ok(());
        }
        let mut choices: Vec<u64> = self.texts.keys().chain(self.calls.keys()).map(|k| k.0).collect();
        choices.dedup();
        if self.chat_head.is_empty() {
            self.chat_head = head_of([None; 5]);
        }
        let head = self.chat_head.clone();
        for c in choices {
            self.chat_flush(c, &head, out)?;
        }
        Ok(())
    }

    fn chat(&mut self, data: &mut Value, raw: &[u8], out: &mut Out) -> Result<(), String> {
        let Some(choices) = data.get_mut("choices").and_then(Value::as_array_mut).map(std::mem::take) else {
            push_event(out, None, data);
            return Ok(());
        };
        if choices.is_empty() {
            // The usage chunk: nothing to check, passed as it came.
            out.extend_from_slice(raw);
            return Ok(());
        }
        // The members a chunk Weir adds repeats, as this chunk has them.
        let values = crate::llm::CHAT_HEAD_MEMBERS.map(|k| data.get(k).map(Value::to_string));
        let head = head_of(values.each_ref().map(Option::as_deref));
        if self.chat_head.is_empty() {
            self.chat_head.clone_from(&head);
        }
        let all = choices.len();
        let mut kept = Vec::with_capacity(all);
        let mut finished = Vec::new();
        // Nothing of the chunk changed: it goes out as it came, not written again.
        let mut changed = false;
        for mut choice in choices {
            let i = index(&choice, "index");
            let finish = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
                if let Some(Value::String(s)) = delta.get("content") {
                    let mut released = self.push_text((i, 0), s)?;
                    // The choice ends in this chunk: what its text still holds goes out in it,
                    // after what the chunk releases (a flush before the chunk would put the
                    // answer's end before its middle).
                    if finish {
                        if let Some(mut m) = self.texts.remove(&(i, 0)) {
                            released.push_str(&m.finish(&mut self.verdict));
                            self.blocked()?;
                        }
                    }
                    changed |= released != *s;
                    delta.insert("content".into(), Value::String(released));
                }
                if let Some(Value::Array(calls)) = delta.remove("tool_calls") {
                    changed = true;
                    for c in calls {
                        let held = self.call((i, index(&c, "index")))?;
                        if let Some(a) = c.pointer("/function/arguments").and_then(Value::as_str) {
                            held.arguments.push_str(a);
                        }
                        if held.head.is_none() {
                            held.head = Some(c.to_string());
                        }
                    }
                }
            }
            let empty = choice.get("delta").and_then(Value::as_object).is_none_or(|d| d.iter().all(|(k, v)| k == "content" && v.as_str() == Some("")));
            if finish {
                finished.push(i);
            }
            if finish || !empty || choice.get("logprobs").is_some_and(|l| !l.is_null()) {
                kept.push(choice);
            }
        }
        for i in finished {
            self.chat_flush(i, &head, out)?;
        }
        if kept.is_empty() && data.get("usage").is_none_or(Value::is_null) {
            return Ok(());
        }
        if !changed && kept.len() == all {
            out.extend_from_slice(raw);
            return Ok(());
        }
        data["choices"] = Value::Array(kept);
        push_event(out, None, data);
        Ok(())
    }

    /// What choice `i` still holds, in a chunk of its own starting with the members `head`.
    fn chat_flush(&mut self, i: u64, head: &str, out: &mut Out) -> Result<(), String> {
        let mut delta = Vec::new();
        if let Some(mut m) = self.texts.remove(&(i, 0)) {
            let rest = m.finish(&mut self.verdict);
            self.blocked()?;
            if !rest.is_empty() {
                delta.extend_from_slice(b"\"content\":");
                delta.extend_from_slice(serde_json::to_string(&rest).unwrap_or_default().as_bytes());
            }
        }
        let keys: Vec<(u64, u64)> = self.calls.range((i, 0)..=(i, u64::MAX)).map(|(k, _)| *k).collect();
        let mut calls = 0;
        for k in keys {
            let Some(held) = self.calls.remove(&k) else { continue };
            let arguments = self.check_arguments(&held.arguments)?;
            delta.extend_from_slice(match (calls, delta.is_empty()) {
                (0, true) => b"\"tool_calls\":[".as_slice(),
                (0, false) => b",\"tool_calls\":[",
                _ => b",",
            });
            write_call(&mut delta, k, held.head.as_deref(), &arguments);
            calls += 1;
        }
        if calls > 0 {
            delta.push(b']');
        }
        if delta.is_empty() {
            return Ok(());
        }
        out.extend_from_slice(b"data: {");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(format!(",\"choices\":[{{\"index\":{i},\"delta\":{{").as_bytes());
        out.extend_from_slice(&delta);
        out.extend_from_slice(b"},\"finish_reason\":null}]}\n\n");
        Ok(())
    }

    /// A tool call's whole arguments, checked: masked, or the refusal.
    fn check_arguments(&mut self, arguments: &str) -> Result<String, String> {
        self.text.push_str(arguments);
        let json = serde_json::from_str::<serde::de::IgnoredAny>(arguments).is_ok();
        // The values; injection is judged on the whole text at the end.
        let checked = if json { self.values.check_json(Direction::Response, arguments) } else { self.values.check_text(Direction::Response, arguments, false) };
        self.verdict.merge(checked.verdict);
        self.blocked()?;
        Ok(checked.outgoing.unwrap_or_else(|| arguments.to_string()))
    }

    fn messages(&mut self, event: Option<&str>, data: &mut Value, out: &mut Out) -> Result<(), String> {
        let ty = data.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        let i = index(data, "index");
        match ty.as_str() {
            "content_block_start" if data.pointer("/content_block/type").and_then(Value::as_str) == Some("tool_use") => {
                *self.call((i, 0))? = HeldCall::default();
            }
            "content_block_delta" => match data.pointer("/delta/type").and_then(Value::as_str) {
                Some("text_delta") => {
                    let piece = data.pointer("/delta/text").and_then(Value::as_str).unwrap_or("").to_string();
                    let released = self.push_text((i, 0), &piece)?;
                    if released.is_empty() {
                        return Ok(());
                    }
                    data["delta"]["text"] = Value::String(released);
                }
                Some("input_json_delta") => {
                    if let Some(held) = self.calls.get_mut(&(i, 0)) {
                        held.arguments.push_str(data.pointer("/delta/partial_json").and_then(Value::as_str).unwrap_or(""));
                        return Ok(());
                    }
                }
                _ => {}
            },
            "content_block_stop" => {
                if let Some(mut m) = self.texts.remove(&(i, 0)) {
                    let rest = m.finish(&mut self.verdict);
                    self.blocked()?;
                    if !rest.is_empty() {
                        push_event(out, Some("content_block_delta"), &json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": rest}}));
                    }
                }
                if let Some(held) = self.calls.remove(&(i, 0)) {
                    let arguments = self.check_arguments(&held.arguments)?;
                    if !arguments.is_empty() {
                        push_event(out, Some("content_block_delta"), &json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": arguments}}));
                    }
                }
            }
            _ => {}
        }
        push_event(out, event, data);
        Ok(())
    }

    fn responses(&mut self, event: Option<&str>, data: &mut Value, out: &mut Out) -> Result<(), String> {
        let ty = data.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        let key = (index(data, "output_index"), index(data, "content_index"));
        match ty.as_str() {
            "response.output_text.delta" => {
                let piece = data.get("delta").and_then(Value::as_str).unwrap_or("").to_string();
                let released = self.push_text(key, &piece)?;
                if released.is_empty() {
                    return Ok(());
                }
                data["delta"] = Value::String(released);
            }
            "response.output_text.done" => {
                if let Some(mut m) = self.texts.remove(&key) {
                    let rest = m.finish(&mut self.verdict);
                    self.blocked()?;
                    if !rest.is_empty() {
                        let mut delta = data.clone();
                        delta["type"] = json!("response.output_text.delta");
                        if let Some(o) = delta.as_object_mut() {
                            o.remove("text");
                            o.remove("logprobs");
                        }
                        delta["delta"] = Value::String(rest);
                        push_event(out, Some("response.output_text.delta"), &delta);
                    }
                }
                self.mask_whole(data);
            }
            "response.function_call_arguments.delta" => {
                let held = self.call(key)?;
                held.arguments.push_str(data.get("delta").and_then(Value::as_str).unwrap_or(""));
                return Ok(());
            }
            "response.function_call_arguments.done" => {
                let held = self.calls.remove(&key).unwrap_or_default();
                let whole = data.get("arguments").and_then(Value::as_str).map_or(held.arguments, str::to_string);
                let arguments = self.check_arguments(&whole)?;
                let mut delta = data.clone();
                delta["type"] = json!("response.function_call_arguments.delta");
                if let Some(o) = delta.as_object_mut() {
                    o.remove("arguments");
                }
                delta["delta"] = Value::String(arguments.clone());
                push_event(out, Some("response.function_call_arguments.delta"), &delta);
                data["arguments"] = Value::String(arguments);
            }
            // Events that repeat the whole text or arguments so far carry them masked.
            "response.content_part.done" | "response.output_item.done" | "response.completed" | "response.incomplete" => self.mask_whole(data),
            _ => {}
        }
        push_event(out, event, data);
        Ok(())
    }

    /// Masks, without counting again, what an event that repeats the answer so far carries.
    fn mask_whole(&self, data: &mut Value) {
        let raw = data.to_string();
        if let Some(masked) = self.masking.check_json(Direction::Response, &raw).masked_all() {
            if let Ok(v) = serde_json::from_str(&masked) {
                *data = v;
            }
        }
    }

    /// What only judges a whole text (guardrails that flag, prompt injection) judges the
    /// stream's, once it ended; recorded as flagged.
    pub fn judge_whole(&mut self) {
        let dir = Direction::Response;
        let at_end = self.policy.with_only(|g, a| match g.detector {
            Detector::Injection => a >= Action::Flag,
            _ => g.detector.masks() && a == Action::Flag,
        });
        if at_end.any(dir) && !self.text.is_empty() {
            let checked = at_end.check_text(dir, &self.text, false);
            self.verdict.merge(checked.verdict.after_the_fact());
        }
    }

    /// The stream ended (or was cut): the whole text through what only judges a whole text
    /// (guardrails that flag, prompt injection, webhooks), recorded with what was masked or
    /// blocked on the way; then the call is recorded. A webhook is waited for off the
    /// client's path.
    pub fn finish_call(mut self, mut rec: CallRecorder, ending: Ending) {
        let dir = Direction::Response;
        self.judge_whole();
        // The audit copy keeps every value found masked, those only flagged too.
        let masking = self.policy.with_only(|g, a| g.detector.masks() && a >= Action::Flag);
        rec.rewrite_captured_response(|body| masking.check_json(dir, body).masked_all());
        rec.update_event(|ev| self.verdict.record(ev));
        if self.policy.has_webhooks(dir) && !self.text.is_empty() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let mut v = Verdict::default();
                    self.policy.check_webhooks(dir, &self.text, true, true, &self.context, &mut v).await;
                    rec.update_event(|ev| v.after_the_fact().record(ev));
                    rec.finish(ending);
                });
                return;
            }
        }
        rec.finish(ending);
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::guard;
    use super::*;

    fn events(raw: &str) -> Vec<SseEvent> {
        let mut out = Vec::new();
        SseSplitter::default().push(raw.as_bytes(), &mut out).unwrap();
        out
    }

    #[test]
    fn events_handed_over_are_masked_and_unchanged_chunks_go_out_as_they_came() {
        let head = r#""id":"c1","object":"chat.completion.chunk","created":1,"model":"m""#;
        // Spaced as some providers write them, so a chunk written again would differ.
        let finish = format!("data: {{{head}, \"choices\": [{{\"index\": 0, \"delta\": {{}}, \"logprobs\": null, \"finish_reason\": \"stop\"}}]}}\n\n");
        let usage = format!("data: {{{head}, \"choices\": [], \"usage\": {{\"prompt_tokens\": 3, \"completion_tokens\": 9, \"total_tokens\": 12}}}}\n\n");
        let mut stream = String::new();
        for piece in ["Write to jane.d", "oe@example.org", " about the order, thanks."] {
            stream.push_str(&format!("data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n", serde_json::to_string(piece).unwrap()));
        }
        stream.push_str(&finish);
        stream.push_str(&usage);
        stream.push_str("data: [DONE]\n\n");
        let mut g = guard();
        let mut out = Vec::new();
        for ev in events(&stream) {
            g.filter_event(&ev, &mut out).unwrap();
        }
        let out = String::from_utf8(out).unwrap();
        let text: String = events(&out)
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
            .filter_map(|v| v.pointer("/choices/0/delta/content").and_then(Value::as_str).map(str::to_string))
            .collect();
        assert_eq!(text, "Write to [EMAIL] about the order, thanks.");
        assert!(!out.contains("jane.d") && !out.contains("example.org"), "{out}");
        // The choice's end and the usage chunk are the provider's bytes, in order, then [DONE].
        let at = out.find(&finish).expect("the finish chunk as it came");
        assert!(out[at..].starts_with(&format!("{finish}{usage}data: [DONE]\n\n")), "{out}");
    }
}

#[cfg(test)]
mod chat_shapes {
    use super::tests_support::*;
    use serde_json::{json, Value};

    /// A chat stream: `pieces` of (choice, text) or (choice, tool call fragment), then each
    /// choice's end, a usage chunk and `[DONE]`; `compact` writes chunks without spaces.
    fn stream(parts: &[(u64, Part)], compact: bool, extra: Option<(&str, Value)>) -> String {
        let mut out = String::new();
        let mut chunk = |choice: Value| {
            let mut c = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "gpt-x", "system_fingerprint": "fp", "choices": [choice]});
            if let Some((k, v)) = &extra {
                c["choices"][0][*k] = v.clone();
            }
            let text = if compact { c.to_string() } else { serde_json::to_string_pretty(&c).unwrap().replace('\n', " ") };
            out.push_str(&format!("data: {text}\n\n"));
        };
        let mut choices = Vec::new();
        for (i, part) in parts {
            if !choices.contains(i) {
                choices.push(*i);
                chunk(json!({"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}));
            }
            let delta = match part {
                Part::Text(t) => json!({"content": t}),
                Part::Call { index, head: true, args } => json!({"tool_calls": [{"index": index, "id": format!("call_{index}"), "type": "function", "function": {"name": "open_ticket", "arguments": args}}]}),
                Part::Call { index, head: false, args } => json!({"tool_calls": [{"index": index, "function": {"arguments": args}}]}),
            };
            chunk(json!({"index": i, "delta": delta, "logprobs": null, "finish_reason": null}));
        }
        for i in choices {
            chunk(json!({"index": i, "delta": {}, "logprobs": null, "finish_reason": "stop"}));
        }
        out.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}\n\n");
        out.push_str("data: [DONE]\n\n");
        out
    }

    #[test]
    fn every_chunk_shape_is_masked_and_reassembles() {
        use Part::*;
        let parts = vec![
            (0, Text("Mail jane.d".into())),
            (1, Text("Other choice: bob@exa".into())),
            (0, Text("oe@example.org \"quoted\"\nline é ".into())),
            (1, Text("mple.com end".into())),
            (0, Call { index: 0, head: true, args: String::new() }),
            (0, Call { index: 0, head: false, args: "{\"note\": \"card 4111 1111 ".into() }),
            (0, Call { index: 0, head: false, args: "1111 1111, mail x@y.example\"}".into() }),
            (0, Call { index: 1, head: true, args: "{\"a\":".into() }),
            (0, Call { index: 1, head: false, args: "1}".into() }),
        ];
        for compact in [true, false] {
            for extra in [None, Some(("logprobs", json!({"content": []})))] {
                let raw = stream(&parts, compact, extra.clone());
                let (text, calls, order) = run(&raw);
                assert_eq!(text[&0], "Mail [EMAIL] \"quoted\"\nline é ", "compact {compact}, {extra:?}");
                assert_eq!(text[&1], "Other choice: [EMAIL] end");
                assert_eq!(calls[&(0, 0)], ("call_0".to_string(), "{\"note\": \"card [CARD], mail [EMAIL]\"}".to_string()));
                assert_eq!(calls[&(0, 1)], ("call_1".to_string(), "{\"a\":1}".to_string()));
                assert!(!raw_out(&raw).contains("jane.d") && !raw_out(&raw).contains("4111"));
                // Each choice's held text and calls go out before its end, the usage chunk
                // and [DONE] last.
                assert_eq!(order.last().map(String::as_str), Some("[DONE]"));
                assert_eq!(order[order.len() - 2], "usage");
                // Read by the common shapes' reading unless a choice has log probabilities.
                assert_eq!(guarded(&raw).1, extra.is_none());
            }
        }
    }
}

#[cfg(test)]
mod chat_odd_shapes {
    use super::tests_support::*;

    /// A chunk the common reading cannot read whole goes to the general reading untouched:
    /// nothing of it is held twice.
    #[test]
    fn a_chunk_read_in_part_is_not_held_twice() {
        let head = r#""id":"c","object":"chat.completion.chunk","created":1,"model":"m""#;
        let mut raw = String::new();
        for choice in [
            r#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}"#,
            r#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}},{"index":1,"function":"odd"}]},"finish_reason":null}"#,
            r#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":null}"#,
            r#"{"index":0,"delta":{},"finish_reason":"tool_calls"}"#,
        ] {
            raw.push_str(&format!("data: {{{head},\"choices\":[{choice}]}}\n\n"));
        }
        raw.push_str("data: [DONE]\n\n");
        let (_, calls, _) = run(&raw);
        assert_eq!(calls[&(0, 0)], ("call_a".to_string(), "{\"a\":1}".to_string()));
    }
}

#[cfg(test)]
mod chat_tricky_shapes {
    use super::tests_support::*;

    const HEAD: &str = r#""id":"c","object":"chat.completion.chunk","created":1,"model":"m""#;

    fn chunk(body: &str) -> String {
        format!("data: {{{HEAD},{body}}}\n\n")
    }

    /// A key written with escapes is what it decodes to, for the client: such a chunk is read
    /// by the general reading, which masks what the client will read.
    #[test]
    fn keys_written_with_escapes_are_not_passed_over() {
        let raw = [
            chunk(r#""choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"ch\u006fices":[{"index":0,"delta":{"content":"mail jane.doe@example.org now"},"finish_reason":null}]"#),
            chunk(r#""choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"","arg\u0075ments":"card 4111 1111 1111 1111"}}]},"finish_reason":null}]"#),
            chunk(r#""choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]"#),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat();
        let out = raw_out(&raw);
        assert!(!out.contains("jane.doe") && !out.contains("4111"), "{out}");
    }

    /// Some providers send a choice's last text in the chunk that ends it: that text, and what
    /// the masker still held, go out in order, before the end.
    #[test]
    fn text_in_the_chunk_that_ends_a_choice_keeps_its_place() {
        let first = "The order shipped on Monday and should arrive by Thursday. Write to jane.doe@exa";
        let last = "mple.org if it does not, and keep the receipt until then. Thanks for your patience!";
        let raw = [
            chunk(&format!(r#""choices":[{{"index":0,"delta":{{"content":{}}},"finish_reason":null}}]"#, serde_json::to_string(first).unwrap())),
            chunk(&format!(r#""choices":[{{"index":0,"delta":{{"content":{}}},"finish_reason":"stop"}}]"#, serde_json::to_string(last).unwrap())),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat();
        let (text, _, order) = run(&raw);
        assert_eq!(
            text[&0],
            "The order shipped on Monday and should arrive by Thursday. Write to [EMAIL] if it does not, and keep the receipt until then. Thanks for your patience!"
        );
        assert_eq!(order.last().map(String::as_str), Some("[DONE]"));
    }

    /// A provider that opens choice after choice is refused before what is held grows without
    /// bound; an answer with many choices, each ended, is not.
    #[test]
    fn choices_open_at_once_are_bounded() {
        let mut g = super::tests_support::guard();
        let mut out = Vec::new();
        let mut refused = None;
        for i in 0..300 {
            let raw = chunk(&format!(r#""choices":[{{"index":{i},"delta":{{"content":"text of choice {i}, nothing ended yet"}},"finish_reason":null}}]"#));
            let mut evs = Vec::new();
            crate::sse::SseSplitter::default().push(raw.as_bytes(), &mut evs).unwrap();
            if let Err(e) = g.filter_event(&evs[0], &mut out) {
                refused = Some((i, e));
                break;
            }
        }
        let (i, e) = refused.expect("refused");
        assert_eq!(i, super::MAX_OPEN, "{e}");
        assert!(e.contains("at once"), "{e}");
        let mut g = super::tests_support::guard();
        for i in 0..300 {
            let raw = chunk(&format!(r#""choices":[{{"index":{i},"delta":{{"content":"choice {i}"}},"finish_reason":"stop"}}]"#));
            let mut evs = Vec::new();
            crate::sse::SseSplitter::default().push(raw.as_bytes(), &mut evs).unwrap();
            g.filter_event(&evs[0], &mut out).unwrap();
        }
    }

    /// A member given twice in a call's first fragment: neither value goes out unchecked.
    #[test]
    fn a_call_fragment_with_a_member_twice_goes_out_checked() {
        let raw = [
            chunk(r#""choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"card 4111 1111 1111 1111","arguments":""}}]},"finish_reason":null}]"#),
            chunk(r#""choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]"#),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat();
        let out = raw_out(&raw);
        assert!(!out.contains("4111"), "{out}");
        run(&raw);
    }

    /// An event whose data came in several lines is written again on one: every event the
    /// client reads is JSON, and its text masked.
    #[test]
    fn data_in_several_lines_is_written_again_whole() {
        let raw = [
            format!("data: {{{HEAD},\ndata: \"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\ndata: \"id\":\"call_1\",\"type\":\"function\",\"function\":{{\"name\":\"f\",\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}]}}\n\n"),
            chunk(r#""choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":null}]"#),
            format!("data: {{{HEAD},\"choices\":[{{\"index\":0,\ndata: \"delta\":{{\"content\":\"write to bob@example.com\"}},\"finish_reason\":null}}]}}\n\n"),
            chunk(r#""choices":[{"index":0,"delta":{},"finish_reason":"stop"}]"#),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat();
        let (text, calls, _) = run(&raw);
        assert_eq!(text[&0], "write to [EMAIL]");
        assert_eq!(calls[&(0, 0)], ("call_1".to_string(), "{\"a\":1}".to_string()));
    }

    /// Usage given before the choices, in chunks that begin alike: each chunk's usage goes
    /// out, as the general reading sends it.
    #[test]
    fn usage_before_the_choices_is_sent_with_every_chunk() {
        let one = chunk(r#""usage":{"total_tokens":3},"choices":[{"index":0,"delta":{},"finish_reason":null}]"#);
        let raw = [one.clone(), one, "data: [DONE]\n\n".to_string()].concat();
        assert_eq!(raw_out(&raw).matches("total_tokens").count(), 2);
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::config::{Config, Env};
    use std::collections::BTreeMap;

    pub enum Part {
        Text(String),
        Call { index: u64, head: bool, args: String },
    }

    pub fn guard() -> StreamGuard {
        let cfg = Config::from_toml("[guardrails]\nenabled = true\n", &Env::default()).unwrap();
        StreamGuard::new(Api::Chat, &cfg.guardrails.policy(None, None), webhook::Context::default(), 1 << 20).unwrap()
    }

    pub fn raw_out(raw: &str) -> String {
        guarded(raw).0
    }

    /// The guard's output, and whether it read text and argument pieces by their templates.
    pub fn guarded(raw: &str) -> (String, bool) {
        let mut g = guard();
        let mut evs = Vec::new();
        SseSplitter::default().push(raw.as_bytes(), &mut evs).unwrap();
        let mut out = Vec::new();
        for ev in &evs {
            g.filter_event(ev, &mut out).unwrap();
        }
        (String::from_utf8(out).unwrap(), !g.text_template.before.is_empty() && !g.arguments_template.before.is_empty())
    }

    /// What the client reads: each choice's text, each call's id and arguments, and the kind
    /// of each event in order (`text`, `call`, `end`, `usage`, `[DONE]`).
    #[allow(clippy::type_complexity)]
    pub fn run(raw: &str) -> (BTreeMap<u64, String>, BTreeMap<(u64, u64), (String, String)>, Vec<String>) {
        let out = raw_out(raw);
        let mut evs = Vec::new();
        SseSplitter::default().push(out.as_bytes(), &mut evs).unwrap();
        let (mut text, mut calls, mut order) = (BTreeMap::new(), BTreeMap::<(u64, u64), (String, String)>::new(), Vec::new());
        let mut ended = Vec::new();
        for ev in evs {
            if ev.data == "[DONE]" {
                order.push("[DONE]".into());
                continue;
            }
            let v: Value = serde_json::from_str(&ev.data).expect("every event is JSON");
            let Some(c) = v["choices"].as_array().and_then(|c| c.first()) else {
                order.push("usage".into());
                continue;
            };
            let i = c["index"].as_u64().unwrap();
            assert!(!ended.contains(&i), "nothing of choice {i} after its end: {out}");
            if let Some(t) = c["delta"]["content"].as_str() {
                text.entry(i).or_insert_with(String::new).push_str(t);
                order.push("text".into());
            }
            for call in c["delta"]["tool_calls"].as_array().into_iter().flatten() {
                let e = calls.entry((i, call["index"].as_u64().unwrap())).or_default();
                if let Some(id) = call["id"].as_str() {
                    e.0 = id.into();
                }
                e.1.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
                order.push("call".into());
            }
            if !c["finish_reason"].is_null() {
                ended.push(i);
                order.push("end".into());
            }
        }
        (text, calls, order)
    }
}
