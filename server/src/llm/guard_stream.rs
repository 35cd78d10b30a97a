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

/// Tool-call arguments held until the call is complete.
#[derive(Default)]
struct HeldCall {
    /// Chat: the call's id, type and name, from its first fragment.
    head: Value,
    arguments: String,
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
    /// The last chat chunk's members other than its choices, for a chunk Weir adds.
    chat_head: Value,
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
            chat_head: json!({"object": "chat.completion.chunk"}),
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
        self.text.push_str(piece);
        let policy = &self.policy;
        let masker = self.texts.entry(key).or_insert_with(|| TextMasker::new(policy));
        let released = masker.push(piece, &mut self.verdict);
        self.blocked()?;
        Ok(released)
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

    /// The common event — a piece of text and nothing else to check — with the piece replaced
    /// in place by what the masker releases, without reading the event as JSON values.
    /// `None` when the event is of another kind.
    fn text_only(&mut self, ev: &SseEvent, out: &mut Out) -> Option<Result<(), String>> {
        static TOOL_CALLS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"tool_calls\""));
        static TEXT_DELTA: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"type\":\"text_delta\""));
        let data = ev.data.as_str();
        let (member, key) = match self.client {
            Api::Chat => {
                if let Some(tc) = TOOL_CALLS.find(data.as_bytes()) {
                    return self.chat_arguments(data, tc);
                }
                // A content piece, not a choice's end or several choices.
                if !(json::member_value(data, "finish_reason").is_some_and(|at| data[at..].starts_with("null")) && json::member_value(data, "index").is_some()) {
                    return None;
                }
                ("content", 0)
            }
            Api::Messages if ev.event.as_deref() == Some("content_block_delta") && TEXT_DELTA.find(data.as_bytes()).is_some() => ("text", 1),
            _ => return None,
        };
        let t = json::member_string(data, member)?;
        let key = if key == 0 { (0, 0) } else { (int_member(data, "index")?, 0) };
        let piece = json::read(data, &t).into_owned();
        let released = match self.push_text(key, &piece) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        if released.is_empty() && self.client == Api::Messages {
            return Some(Ok(()));
        }
        if let Some(e) = &ev.event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(e.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&data.as_bytes()[..t.start - 1]);
        out.extend_from_slice(serde_json::to_string(&released).unwrap_or_default().as_bytes());
        out.extend_from_slice(&data.as_bytes()[t.end + 1..]);
        out.extend_from_slice(b"\n\n");
        Some(Ok(()))
    }

    /// A chat chunk that only carries the next fragment of a tool call's arguments (the call's
    /// id and name came before): the fragment is held, the chunk dropped.
    fn chat_arguments(&mut self, data: &str, tc: usize) -> Option<Result<(), String>> {
        // Exactly one `id` (the chunk's): not the call's first fragment, which names it.
        json::member_value(data, "id")?;
        if !json::member_value(data, "finish_reason").is_some_and(|at| data[at..].starts_with("null")) {
            return None;
        }
        let choice = int_member(&data[..tc], "index")?;
        let tool = int_member(&data[tc..], "index")?;
        let held = self.calls.get_mut(&(choice, tool))?;
        let t = json::member_string(&data[tc..], "arguments")?;
        held.arguments.push_str(&json::read(&data[tc..], &t));
        Some(Ok(()))
    }

    /// Takes the next event of the client's stream, as the relay read it (or as `filter` split
    /// it); what goes on is added to `out`. Fails with the guardrail's refusal when a blocking
    /// guardrail found something.
    pub fn filter_event(&mut self, ev: &SseEvent, out: &mut Out) -> Result<(), String> {
        if let Some(done) = self.text_only(ev, out) {
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
        let like = self.chat_head.clone();
        for c in choices {
            self.chat_flush(c, &like, out)?;
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
        if self.chat_head.get("id").is_none() {
            for key in crate::llm::CHAT_HEAD_MEMBERS {
                if let Some(v) = data.get(key) {
                    self.chat_head[key] = v.clone();
                }
            }
        }
        let all = choices.len();
        let mut kept = Vec::with_capacity(all);
        let mut finished = Vec::new();
        // Nothing of the chunk changed: it goes out as it came, not written again.
        let mut changed = false;
        for mut choice in choices {
            let i = index(&choice, "index");
            if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
                if let Some(Value::String(s)) = delta.get("content") {
                    let released = self.push_text((i, 0), s)?;
                    changed |= released != *s;
                    delta.insert("content".into(), Value::String(released));
                }
                if let Some(Value::Array(calls)) = delta.remove("tool_calls") {
                    changed = true;
                    for c in calls {
                        let held = self.calls.entry((i, index(&c, "index"))).or_default();
                        if let Some(a) = c.pointer("/function/arguments").and_then(Value::as_str) {
                            held.arguments.push_str(a);
                        }
                        if held.head.is_null() {
                            held.head = c;
                        }
                    }
                }
            }
            let finish = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            let empty = choice.get("delta").and_then(Value::as_object).is_none_or(|d| d.iter().all(|(k, v)| k == "content" && v.as_str() == Some("")));
            if finish {
                finished.push(i);
            }
            if finish || !empty || choice.get("logprobs").is_some_and(|l| !l.is_null()) {
                kept.push(choice);
            }
        }
        for i in finished {
            self.chat_flush(i, data, out)?;
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

    /// What choice `i` still holds, in a chunk of its own shaped like `like`.
    fn chat_flush(&mut self, i: u64, like: &Value, out: &mut Out) -> Result<(), String> {
        let mut delta = serde_json::Map::new();
        if let Some(mut m) = self.texts.remove(&(i, 0)) {
            let rest = m.finish(&mut self.verdict);
            self.blocked()?;
            if !rest.is_empty() {
                delta.insert("content".into(), Value::String(rest));
            }
        }
        let keys: Vec<(u64, u64)> = self.calls.range((i, 0)..=(i, u64::MAX)).map(|(k, _)| *k).collect();
        let mut calls = Vec::new();
        for k in keys {
            let Some(held) = self.calls.remove(&k) else { continue };
            let arguments = self.check_arguments(&held.arguments)?;
            let mut head = held.head;
            if let Some(f) = head.get_mut("function").and_then(Value::as_object_mut) {
                f.insert("arguments".into(), Value::String(arguments));
            }
            calls.push(head);
        }
        if !calls.is_empty() {
            delta.insert("tool_calls".into(), Value::Array(calls));
        }
        if delta.is_empty() {
            return Ok(());
        }
        let mut chunk = like.clone();
        if let Some(o) = chunk.as_object_mut() {
            o.remove("usage");
        }
        chunk["choices"] = json!([{"index": i, "delta": delta, "finish_reason": null}]);
        push_event(out, None, &chunk);
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
                self.calls.insert((i, 0), HeldCall::default());
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
                let held = self.calls.entry(key).or_default();
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
    use super::*;
    use crate::config::{Config, Env};

    fn guard() -> StreamGuard {
        let cfg = Config::from_toml("[guardrails]\nenabled = true\n", &Env::default()).unwrap();
        StreamGuard::new(Api::Chat, &cfg.guardrails.policy(None, None), webhook::Context::default(), 1 << 20).unwrap()
    }

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
