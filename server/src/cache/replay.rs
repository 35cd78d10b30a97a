//! A whole answer written as the stream its protocol would have sent: the same content, tool
//! calls, reasoning and usage, in the events the protocol's SDKs read. Each text goes out in one
//! delta (a replay has nothing to wait for).

use serde_json::{json, Map, Value};

use crate::llm::Api;
use crate::sse::write_event as event;

/// The stream of `whole`, an answer of `api`; `include_usage`: a chat client asked for the usage
/// chunk. `None` when `whole` is not an answer of that protocol.
pub fn stream(api: Api, whole: &Value, include_usage: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    match api {
        Api::Chat => chat(whole, include_usage, &mut out)?,
        Api::Messages => messages(whole, &mut out)?,
        Api::Responses => responses(whole, &mut out)?,
        Api::Embeddings => return None,
    }
    Some(out)
}


fn chat(whole: &Value, include_usage: bool, out: &mut Vec<u8>) -> Option<()> {
    let choices = whole.get("choices")?.as_array()?;
    let mut head = Map::new();
    for key in crate::llm::CHAT_HEAD_MEMBERS {
        if let Some(v) = whole.get(key) {
            head.insert(key.into(), v.clone());
        }
    }
    head.insert("object".into(), json!("chat.completion.chunk"));
    let chunk = |choice: Value| {
        let mut c = head.clone();
        c.insert("choices".into(), json!([choice]));
        Value::Object(c)
    };
    for (i, choice) in choices.iter().enumerate() {
        let index = choice.get("index").cloned().unwrap_or_else(|| json!(i));
        let message = choice.get("message").and_then(Value::as_object)?;
        let role = message.get("role").cloned().unwrap_or_else(|| json!("assistant"));
        event(out, None, &chunk(json!({"index": index, "delta": {"role": role, "content": ""}, "logprobs": null, "finish_reason": null})));
        // Reasoning and other members first, as providers stream them before the text.
        for (k, v) in message {
            if matches!(k.as_str(), "role" | "content" | "tool_calls") || v.is_null() {
                continue;
            }
            event(out, None, &chunk(json!({"index": index, "delta": {k: v}, "logprobs": null, "finish_reason": null})));
        }
        // The text in one delta, with its tokens' log probabilities when the answer has them.
        let logprobs = choice.get("logprobs").cloned().unwrap_or(Value::Null);
        if let Some(text) = message.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            event(out, None, &chunk(json!({"index": index, "delta": {"content": text}, "logprobs": logprobs, "finish_reason": null})));
        } else if !logprobs.is_null() {
            event(out, None, &chunk(json!({"index": index, "delta": {}, "logprobs": logprobs, "finish_reason": null})));
        }
        for (j, call) in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let mut c = call.clone();
            if let Some(o) = c.as_object_mut() {
                o.insert("index".into(), json!(j));
            }
            event(out, None, &chunk(json!({"index": index, "delta": {"tool_calls": [c]}, "logprobs": null, "finish_reason": null})));
        }
        event(out, None, &chunk(json!({"index": index, "delta": {}, "logprobs": null, "finish_reason": choice.get("finish_reason")})));
    }
    if include_usage {
        if let Some(u) = whole.get("usage") {
            let mut c = head.clone();
            c.insert("choices".into(), json!([]));
            c.insert("usage".into(), u.clone());
            event(out, None, &Value::Object(c));
        }
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    Some(())
}

fn messages(whole: &Value, out: &mut Vec<u8>) -> Option<()> {
    let mut message = whole.as_object()?.clone();
    let content = message.remove("content")?;
    let blocks = content.as_array()?;
    let usage = message.get("usage").cloned().unwrap_or_else(|| json!({}));
    let (stop_reason, stop_sequence) = (message.get("stop_reason").cloned().unwrap_or(Value::Null), message.get("stop_sequence").cloned().unwrap_or(Value::Null));
    message.insert("content".into(), json!([]));
    message.insert("stop_reason".into(), Value::Null);
    message.insert("stop_sequence".into(), Value::Null);
    event(out, Some("message_start"), &json!({"type": "message_start", "message": message}));
    for (i, block) in blocks.iter().enumerate() {
        let ty = block.get("type").and_then(Value::as_str).unwrap_or("");
        let delta = |out: &mut Vec<u8>, d: Value| event(out, Some("content_block_delta"), &json!({"type": "content_block_delta", "index": i, "delta": d}));
        let start = |out: &mut Vec<u8>, b: Value| event(out, Some("content_block_start"), &json!({"type": "content_block_start", "index": i, "content_block": b}));
        match ty {
            "text" => {
                let mut empty = block.clone();
                empty["text"] = json!("");
                if let Some(o) = empty.as_object_mut() {
                    o.remove("citations");
                }
                start(out, empty);
                for c in block.get("citations").and_then(Value::as_array).into_iter().flatten() {
                    delta(out, json!({"type": "citations_delta", "citation": c}));
                }
                delta(out, json!({"type": "text_delta", "text": block.get("text").cloned().unwrap_or_else(|| json!(""))}));
            }
            "thinking" => {
                start(out, json!({"type": "thinking", "thinking": "", "signature": ""}));
                delta(out, json!({"type": "thinking_delta", "thinking": block.get("thinking").cloned().unwrap_or_else(|| json!(""))}));
                if let Some(sig) = block.get("signature") {
                    delta(out, json!({"type": "signature_delta", "signature": sig}));
                }
            }
            "tool_use" | "server_tool_use" => {
                let mut empty = block.clone();
                empty["input"] = json!({});
                start(out, empty);
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                delta(out, json!({"type": "input_json_delta", "partial_json": input.to_string()}));
            }
            // Blocks streamed whole in their start event (redacted thinking, tool results).
            _ => start(out, block.clone()),
        }
        event(out, Some("content_block_stop"), &json!({"type": "content_block_stop", "index": i}));
    }
    event(out, Some("message_delta"), &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence}, "usage": usage}));
    event(out, Some("message_stop"), &json!({"type": "message_stop"}));
    Some(())
}

fn responses(whole: &Value, out: &mut Vec<u8>) -> Option<()> {
    let items = whole.get("output")?.as_array()?;
    let mut seq = 0u64;
    let mut emit = |out: &mut Vec<u8>, ty: &str, mut data: Value| {
        data["type"] = json!(ty);
        data["sequence_number"] = json!(seq);
        seq += 1;
        event(out, Some(ty), &data);
    };
    let mut started = whole.clone();
    started["status"] = json!("in_progress");
    started["output"] = json!([]);
    if let Some(o) = started.as_object_mut() {
        o.remove("usage");
    }
    emit(out, "response.created", json!({"response": started.clone()}));
    emit(out, "response.in_progress", json!({"response": started}));
    for (i, item) in items.iter().enumerate() {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        match item.get("type").and_then(Value::as_str).unwrap_or("") {
            "message" => {
                let mut added = item.clone();
                added["status"] = json!("in_progress");
                added["content"] = json!([]);
                emit(out, "response.output_item.added", json!({"output_index": i, "item": added}));
                for (j, part) in item.get("content").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let at = json!({"item_id": id, "output_index": i, "content_index": j});
                    let with = |extra: Value| {
                        let mut v = at.clone();
                        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                            o.extend(e);
                        }
                        v
                    };
                    let text = part.get("text").cloned();
                    let mut empty = part.clone();
                    if text.is_some() {
                        empty["text"] = json!("");
                    }
                    emit(out, "response.content_part.added", with(json!({"part": empty})));
                    if let Some(t) = text {
                        let delta_type = if part.get("type").and_then(Value::as_str) == Some("refusal") { "response.refusal.delta" } else { "response.output_text.delta" };
                        let done_type = if delta_type == "response.refusal.delta" { "response.refusal.done" } else { "response.output_text.done" };
                        let key = if delta_type == "response.refusal.delta" { "refusal" } else { "text" };
                        emit(out, delta_type, with(json!({"delta": t, "logprobs": []})));
                        emit(out, done_type, with(json!({key: t, "logprobs": []})));
                    }
                    emit(out, "response.content_part.done", with(json!({"part": part})));
                }
            }
            "function_call" => {
                let mut added = item.clone();
                added["status"] = json!("in_progress");
                added["arguments"] = json!("");
                emit(out, "response.output_item.added", json!({"output_index": i, "item": added}));
                let args = item.get("arguments").cloned().unwrap_or_else(|| json!(""));
                emit(out, "response.function_call_arguments.delta", json!({"item_id": id, "output_index": i, "delta": args}));
                emit(out, "response.function_call_arguments.done", json!({"item_id": id, "output_index": i, "arguments": args}));
            }
            _ => emit(out, "response.output_item.added", json!({"output_index": i, "item": item})),
        }
        emit(out, "response.output_item.done", json!({"output_index": i, "item": item}));
    }
    emit(out, "response.completed", json!({"response": whole}));
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::assemble::Assembler;
    use super::*;
    use crate::llm::usage::Usage;
    use crate::sse::SseSplitter;

    /// Replayed, then assembled again: the same answer.
    fn round_trip(api: Api, whole: &Value) -> Value {
        let bytes = stream(api, whole, true).unwrap();
        let mut events = Vec::new();
        SseSplitter::default().push(&bytes, &mut events).unwrap();
        let mut a = Assembler::new(api);
        for e in &events {
            a.event(e);
        }
        a.finish(&Usage::default()).unwrap()
    }

    #[test]
    fn every_protocol_replays_to_a_stream_that_assembles_to_the_same_answer() {
        let chat = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null, "reasoning_content": "Because.",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}, "logprobs": null, "finish_reason": "tool_calls"},
                {"index": 1, "message": {"role": "assistant", "content": "Other", "refusal": null},
                    "logprobs": {"content": [{"token": "Other", "logprob": -0.1, "bytes": [79, 116, 104, 101, 114], "top_logprobs": []}]}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}});
        assert_eq!(round_trip(Api::Chat, &chat), chat);
        let messages = json!({"id": "msg", "type": "message", "role": "assistant", "model": "c",
            "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "sig"}, {"type": "text", "text": "Hi"},
                {"type": "redacted_thinking", "data": "xyz"}, {"type": "tool_use", "id": "t", "name": "f", "input": {"q": [1, 2]}}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 4, "output_tokens": 6}});
        assert_eq!(round_trip(Api::Messages, &messages), messages);
        let responses = json!({"id": "r", "object": "response", "status": "completed", "model": "m",
            "output": [{"type": "reasoning", "id": "rs", "summary": []},
                {"type": "message", "id": "m1", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
                {"type": "function_call", "id": "fc", "call_id": "c1", "name": "f", "arguments": "{}", "status": "completed"}],
            "usage": {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}});
        assert_eq!(round_trip(Api::Responses, &responses), responses);
    }

    #[test]
    fn chat_sends_the_usage_chunk_only_when_asked() {
        let chat = json!({"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}});
        let with = String::from_utf8(stream(Api::Chat, &chat, true).unwrap()).unwrap();
        let without = String::from_utf8(stream(Api::Chat, &chat, false).unwrap()).unwrap();
        assert!(with.contains("\"usage\"") && !without.contains("\"usage\""));
        assert!(with.ends_with("data: [DONE]\n\n") && without.ends_with("data: [DONE]\n\n"));
        assert!(stream(Api::Chat, &json!({"no": "choices"}), true).is_none());
    }
}
