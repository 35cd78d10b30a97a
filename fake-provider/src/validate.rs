//! What the real APIs refuse, refused here too (400, in the API's own error shape), so that a
//! request Weir mangled — a translation that drops Anthropic's `max_tokens`, a tool result that
//! no longer follows its tool call — fails a test instead of passing against a lenient fake.
//!
//! The rules are the providers' documented ones for the fields Weir touches; fields the fake
//! does not know pass, as they do at the providers (which ignore or check them on their own).

use serde_json::Value;

use crate::Api;

/// Why the request would be refused, in the provider's words; `None` when it would be served.
pub(crate) fn refusal(api: Api, body: &Value) -> Option<String> {
    let Some(obj) = body.as_object() else { return Some("the request body must be a JSON object".into()) };
    match obj.get("model") {
        Some(Value::String(m)) if !m.is_empty() => {}
        Some(_) => return Some("model: Input should be a valid string".into()),
        None => return Some(match api {
            Api::Messages => "model: Field required".into(),
            _ => "you must provide a model parameter".into(),
        }),
    }
    match api {
        Api::Chat => chat(obj),
        Api::Responses => (!obj.contains_key("input")).then(|| "Missing required parameter: 'input'.".into()),
        Api::Embeddings => (!obj.contains_key("input")).then(|| "'input' is a required property".into()),
        Api::Messages => messages(obj),
    }
}

fn chat(obj: &serde_json::Map<String, Value>) -> Option<String> {
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else { return Some("Missing required parameter: 'messages'.".into()) };
    if messages.is_empty() {
        return Some("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.".into());
    }
    if let Some(t) = obj.get("temperature").filter(|t| !t.is_null()) {
        if !t.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t)) {
            return Some(format!("Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {t} instead."));
        }
    }
    for key in ["max_tokens", "max_completion_tokens"] {
        if let Some(m) = obj.get(key).filter(|m| !m.is_null()) {
            if m.as_u64().is_none_or(|m| m < 1) {
                return Some(format!("Invalid '{key}': integer below minimum value. Expected a value >= 1, but got {m} instead."));
            }
        }
    }
    // A tool message answers a tool call of the assistant message before it.
    let mut open_calls: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "system" | "developer" | "user" => open_calls.clear(),
            "assistant" => {
                open_calls.clear();
                for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                    let id = call.get("id").and_then(Value::as_str);
                    let name = call.pointer("/function/name").and_then(Value::as_str);
                    let args = call.pointer("/function/arguments");
                    if id.is_none() || name.is_none() || !args.is_some_and(Value::is_string) {
                        return Some(format!("Invalid 'messages[{i}].tool_calls': each needs an id, a function name and arguments as a string."));
                    }
                    open_calls.push(id.unwrap_or_default().to_string());
                }
            }
            "tool" => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
                if !open_calls.iter().any(|c| c == id) {
                    return Some("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into());
                }
            }
            other => return Some(format!("Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.")),
        }
    }
    None
}

fn messages(obj: &serde_json::Map<String, Value>) -> Option<String> {
    match obj.get("max_tokens") {
        None => return Some("max_tokens: Field required".into()),
        Some(m) if m.as_u64().is_none_or(|m| m < 1) => return Some("max_tokens: Input should be greater than or equal to 1".into()),
        _ => {}
    }
    if let Some(t) = obj.get("temperature").filter(|t| !t.is_null()) {
        if !t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)) {
            return Some("temperature: Input should be less than or equal to 1".into());
        }
    }
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else { return Some("messages: Field required".into()) };
    // Each tool_result answers a tool_use of the assistant message just before it, and each
    // tool_use is answered in the message just after it.
    let mut open: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let blocks: Vec<&Value> = match m.get("content") {
            Some(Value::Array(b)) => b.iter().collect(),
            Some(Value::String(_)) => Vec::new(),
            _ => return Some(format!("messages.{i}.content: Field required")),
        };
        let kinds = |ty: &str| -> Vec<String> { blocks.iter().filter(|b| b.get("type").and_then(Value::as_str) == Some(ty)).filter_map(|b| b.get(if ty == "tool_use" { "id" } else { "tool_use_id" }).and_then(Value::as_str).map(str::to_string)).collect() };
        match role {
            "user" => {
                let results = kinds("tool_result");
                if let Some(stray) = results.iter().find(|r| !open.contains(r)) {
                    return Some(format!(
                        "messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {stray}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    ));
                }
                if let Some(missing) = open.iter().find(|o| !results.contains(o)) {
                    return Some(format!(
                        "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                        i.saturating_sub(1)
                    ));
                }
                open.clear();
            }
            "assistant" => {
                if let Some(missing) = open.first() {
                    return Some(format!(
                        "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                        i.saturating_sub(1)
                    ));
                }
                open = kinds("tool_use");
            }
            other => return Some(format!("messages.{i}.role: Input should be 'user' or 'assistant' (got '{other}')")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::refusal;
    use crate::Api;

    #[test]
    fn anthropic_rules() {
        let ok = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(refusal(Api::Messages, &ok), None);
        let no_max = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(refusal(Api::Messages, &no_max).as_deref(), Some("max_tokens: Field required"));
        let system_role = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]});
        assert!(refusal(Api::Messages, &system_role).unwrap().contains("'user' or 'assistant'"));
        let round_trip = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "w", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": "sunny"}]},
        ]});
        assert_eq!(refusal(Api::Messages, &round_trip), None);
        let stray = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_9", "content": "?"}]},
        ]});
        assert!(refusal(Api::Messages, &stray).unwrap().contains("unexpected `tool_use_id`"));
        let unanswered = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "w", "input": {}}]},
            {"role": "user", "content": "never mind"},
        ]});
        assert!(refusal(Api::Messages, &unanswered).unwrap().contains("without `tool_result`"));
    }

    #[test]
    fn openai_rules() {
        let ok = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(refusal(Api::Chat, &ok), None);
        assert!(refusal(Api::Chat, &json!({"model": "m"})).unwrap().contains("'messages'"));
        assert!(refusal(Api::Chat, &json!({"messages": []})).unwrap().contains("model"));
        let orphan_tool = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c1", "content": "x"}]});
        assert!(refusal(Api::Chat, &orphan_tool).unwrap().contains("must be a response to a preceeding message with 'tool_calls'"));
        let round_trip = json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]});
        assert_eq!(refusal(Api::Chat, &round_trip), None);
        assert!(refusal(Api::Chat, &json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3})).is_some());
        assert!(refusal(Api::Responses, &json!({"model": "m"})).is_some());
        assert!(refusal(Api::Embeddings, &json!({"model": "m", "input": "x"})).is_none());
    }
}
