//! What the real APIs refuse, refused here too (400, in the API's own error shape), so that a
//! request Weir mangled — a translation that drops Anthropic's `max_tokens`, a tool result that
//! no longer follows its tool call, a thinking block whose signature was altered — fails a test
//! instead of passing against a lenient fake.
//!
//! The rules are the providers' documented ones for the fields Weir touches; fields the fake
//! does not know pass, as they do at the providers (which ignore or check them on their own).

use base64::Engine;
use serde_json::{Map, Value};

use crate::{thinking_signature, Api};

/// Why the request would be refused, in the provider's words; `None` when it would be served.
pub(crate) fn refusal(api: Api, body: &Value) -> Option<String> {
    let Some(obj) = body.as_object() else {
        return Some("the request body must be a JSON object".into());
    };
    match obj.get("model") {
        Some(Value::String(m)) if !m.is_empty() => {}
        Some(_) => return Some("model: Input should be a valid string".into()),
        None => {
            return Some(match api {
                Api::Messages => "model: Field required".into(),
                _ => "you must provide a model parameter".into(),
            })
        }
    }
    match api {
        Api::Chat => chat(obj),
        Api::Responses => {
            (!obj.contains_key("input")).then(|| "Missing required parameter: 'input'.".into())
        }
        Api::Embeddings => {
            (!obj.contains_key("input")).then(|| "'input' is a required property".into())
        }
        Api::Messages => messages(obj),
    }
}

/// A tool (or schema) name as both APIs accept it: `^[a-zA-Z0-9_-]{1,64}$`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_base64(data: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .is_ok()
}

fn is_http_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|p| {
        url.len() > p.len()
            && url
                .get(..p.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(p))
    })
}

const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

fn non_null<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn chat(obj: &Map<String, Value>) -> Option<String> {
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return Some("Missing required parameter: 'messages'.".into());
    };
    if messages.is_empty() {
        return Some("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.".into());
    }
    if let Some(t) = non_null(obj, "temperature") {
        if !t.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t)) {
            return Some(format!("Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {t} instead."));
        }
    }
    for key in ["max_tokens", "max_completion_tokens"] {
        if let Some(m) = non_null(obj, key) {
            if m.as_u64().is_none_or(|m| m < 1) {
                return Some(format!("Invalid '{key}': integer below minimum value. Expected a value >= 1, but got {m} instead."));
            }
        }
    }
    match non_null(obj, "stop") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            if a.len() > 4 {
                return Some(format!("Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {} instead.", a.len()));
            }
        }
        Some(other) => return Some(format!("Invalid type for 'stop': expected one of a string or array of strings, but got {} instead.", type_name(other))),
    }
    if let Some(e) = non_null(obj, "reasoning_effort") {
        const EFFORTS: [&str; 6] = ["none", "minimal", "low", "medium", "high", "xhigh"];
        if !e.as_str().is_some_and(|e| EFFORTS.contains(&e)) {
            let shown = e.as_str().map_or_else(|| e.to_string(), str::to_string);
            return Some(format!("Invalid value: '{shown}'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', and 'xhigh'."));
        }
    }
    if let Some(why) = chat_response_format(obj).or_else(|| chat_tools(obj)) {
        return Some(why);
    }
    // A tool message answers a tool call of the assistant message before it, and every tool call
    // is answered before the conversation goes on.
    let mut open_calls: Vec<String> = Vec::new();
    let mut unanswered: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "tool" && !unanswered.is_empty() {
            return Some(format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                unanswered.join(", ")
            ));
        }
        if let Some(parts) = m.get("content").and_then(Value::as_array) {
            for (j, part) in parts.iter().enumerate() {
                if part.get("type").and_then(Value::as_str) != Some("image_url") {
                    continue;
                }
                if role != "user" {
                    return Some(format!("Invalid 'messages[{i}]'. Image URLs are only allowed for messages with role 'user', but this message with role '{role}' contains an image URL."));
                }
                if let Some(why) =
                    chat_image(part, &format!("messages[{i}].content[{j}].image_url"))
                {
                    return Some(why);
                }
            }
        }
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
                unanswered.clone_from(&open_calls);
            }
            "tool" => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
                if !open_calls.iter().any(|c| c == id) {
                    return Some("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into());
                }
                unanswered.retain(|c| c != id);
            }
            other => return Some(format!("Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.")),
        }
    }
    None
}

/// An `image_url` content part: an http(s) URL or a base64 data URL of a supported image type.
fn chat_image(part: &Value, param: &str) -> Option<String> {
    let Some(url) = part.pointer("/image_url/url").and_then(Value::as_str) else {
        return Some(format!("Missing required parameter: '{param}.url'."));
    };
    if is_http_url(url) {
        return None;
    }
    let expected = format!("Invalid '{param}.url'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got");
    let Some((meta, data)) = url.strip_prefix("data:").and_then(|r| r.split_once(',')) else {
        return Some(format!(
            "{expected} a value that is neither a data URL nor an http(s) URL."
        ));
    };
    let Some(media) = meta.strip_suffix(";base64") else {
        return Some(format!("{expected} a data URL that is not base64-encoded."));
    };
    if !IMAGE_TYPES.contains(&media) {
        return Some(format!("{expected} unsupported MIME type '{media}'."));
    }
    if !valid_base64(data) {
        return Some(format!("{expected} a value that is not valid base64."));
    }
    None
}

fn chat_response_format(obj: &Map<String, Value>) -> Option<String> {
    let format = non_null(obj, "response_format")?;
    match format.get("type").and_then(Value::as_str) {
        Some("text" | "json_object") => None,
        Some("json_schema") => {
            let Some(js) = format.get("json_schema").and_then(Value::as_object) else { return Some("Missing required parameter: 'response_format.json_schema'.".into()) };
            let Some(name) = js.get("name") else { return Some("Missing required parameter: 'response_format.json_schema.name'.".into()) };
            if !name.as_str().is_some_and(valid_name) {
                return Some("Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.".into());
            }
            match non_null(js, "schema") {
                Some(s) if !s.is_object() => Some(format!("Invalid type for 'response_format.json_schema.schema': expected an object, but got {} instead.", type_name(s))),
                _ => None,
            }
        }
        Some(other) => Some(format!("Invalid value: '{other}'. Supported values are: 'json_object', 'json_schema', and 'text'.")),
        None => Some("Missing required parameter: 'response_format.type'.".into()),
    }
}

fn chat_tools(obj: &Map<String, Value>) -> Option<String> {
    let tools: &[Value] = match non_null(obj, "tools") {
        None => &[],
        Some(Value::Array(t)) => t,
        Some(other) => {
            return Some(format!(
                "Invalid type for 'tools': expected an array of objects, but got {} instead.",
                type_name(other)
            ))
        }
    };
    let mut names = Vec::new();
    for (i, t) in tools.iter().enumerate() {
        match t.get("type").and_then(Value::as_str) {
            Some("function") => {}
            Some(other) => {
                return Some(format!(
                    "Invalid value: '{other}'. Supported values are: 'function'."
                ))
            }
            None => return Some(format!("Missing required parameter: 'tools[{i}].type'.")),
        }
        let Some(name) = t.pointer("/function/name").and_then(Value::as_str) else {
            return Some(format!(
                "Missing required parameter: 'tools[{i}].function.name'."
            ));
        };
        if !valid_name(name) {
            return Some(format!("Invalid 'tools[{i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."));
        }
        if let Some(p) = t
            .pointer("/function/parameters")
            .filter(|p| !p.is_null() && !p.is_object())
        {
            return Some(format!("Invalid type for 'tools[{i}].function.parameters': expected an object, but got {} instead.", type_name(p)));
        }
        names.push(name);
    }
    let only_with_tools = "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.";
    match non_null(obj, "tool_choice") {
        None => None,
        Some(Value::String(c)) => match c.as_str() {
            "none" => None,
            "auto" | "required" => names.is_empty().then(|| only_with_tools.into()),
            other => Some(format!("Invalid value: '{other}'. Supported values are: 'none', 'auto', and 'required'.")),
        },
        Some(Value::Object(c)) => {
            if names.is_empty() {
                return Some(only_with_tools.into());
            }
            if c.get("type").and_then(Value::as_str) != Some("function") {
                return None;
            }
            match c.get("function").and_then(|f| f.get("name")).and_then(Value::as_str) {
                None => Some("Missing required parameter: 'tool_choice.function.name'.".into()),
                Some(n) if !names.contains(&n) => Some(format!("Invalid value for 'tool_choice': the function '{n}' named in 'tool_choice' is not among the 'tools'.")),
                Some(_) => None,
            }
        }
        Some(other) => Some(format!("Invalid type for 'tool_choice': expected one of a string or an object, but got {} instead.", type_name(other))),
    }
}

fn messages(obj: &Map<String, Value>) -> Option<String> {
    let max_tokens = match obj.get("max_tokens") {
        None => return Some("max_tokens: Field required".into()),
        Some(m) => match m.as_u64().filter(|m| *m >= 1) {
            Some(m) => m,
            None => return Some("max_tokens: Input should be greater than or equal to 1".into()),
        },
    };
    if let Some(t) = non_null(obj, "temperature") {
        if !t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)) {
            return Some("temperature: Input should be less than or equal to 1".into());
        }
    }
    if let Some(s) = non_null(obj, "stop_sequences") {
        if !s.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Some("stop_sequences: Input should be a valid list of strings".into());
        }
    }
    let thinking = match thinking(obj, max_tokens) {
        Ok(on) => on,
        Err(why) => return Some(why),
    };
    if let Some(why) = output_config(obj).or_else(|| anthropic_tools(obj)) {
        return Some(why);
    }
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return Some("messages: Field required".into());
    };
    // Each tool_result answers a tool_use of the assistant message just before it, and each
    // tool_use is answered in the message just after it.
    let mut open: Vec<String> = Vec::new();
    let mut tool_use_ids: Vec<&str> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let blocks: Vec<&Value> = match m.get("content") {
            Some(Value::Array(b)) => b.iter().collect(),
            Some(Value::String(_)) => Vec::new(),
            _ => return Some(format!("messages.{i}.content: Field required")),
        };
        let kinds = |ty: &str| -> Vec<String> {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some(ty))
                .filter_map(|b| {
                    b.get(if ty == "tool_use" {
                        "id"
                    } else {
                        "tool_use_id"
                    })
                    .and_then(Value::as_str)
                    .map(str::to_string)
                })
                .collect()
        };
        for (j, b) in blocks.iter().enumerate() {
            match b.get("type").and_then(Value::as_str) {
                Some("image") => {
                    if let Some(why) = anthropic_image(b, &format!("messages.{i}.content.{j}")) {
                        return Some(why);
                    }
                }
                Some("tool_result") => {
                    for (k, inner) in b
                        .get("content")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        if inner.get("type").and_then(Value::as_str) == Some("image") {
                            if let Some(why) = anthropic_image(
                                inner,
                                &format!("messages.{i}.content.{j}.content.{k}"),
                            ) {
                                return Some(why);
                            }
                        }
                    }
                }
                Some("tool_use") => {
                    let id = b.get("id").and_then(Value::as_str).unwrap_or("");
                    if tool_use_ids.contains(&id) {
                        return Some(format!(
                            "messages.{i}.content.{j}: `tool_use` ids must be unique"
                        ));
                    }
                    tool_use_ids.push(id);
                }
                Some("thinking") => {
                    let text = b.get("thinking").and_then(Value::as_str).unwrap_or("");
                    if b.get("signature").and_then(Value::as_str)
                        != Some(thinking_signature(text).as_str())
                    {
                        return Some(format!(
                            "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                        ));
                    }
                }
                _ => {}
            }
        }
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
            other => {
                return Some(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant' (got '{other}')"
                ))
            }
        }
    }
    if thinking {
        return final_tool_turn_thinking(messages);
    }
    None
}

/// Whether thinking is on (enabled or adaptive), or why the `thinking` parameter, or a sampling
/// parameter that does not go with it, is refused.
fn thinking(obj: &Map<String, Value>, max_tokens: u64) -> Result<bool, String> {
    let Some(t) = non_null(obj, "thinking") else {
        return Ok(false);
    };
    let on = match t.get("type").and_then(Value::as_str) {
        Some("enabled") => {
            let Some(budget) = t.get("budget_tokens") else { return Err("thinking.enabled.budget_tokens: Field required".into()) };
            match budget.as_u64() {
                Some(b) if b >= 1024 => {
                    if b >= max_tokens {
                        return Err("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size".into());
                    }
                }
                _ => return Err("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024".into()),
            }
            true
        }
        Some("adaptive") => true,
        Some("disabled") => false,
        other => {
            return Err(format!(
                "thinking: Input tag '{}' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'",
                other.unwrap_or("")
            ))
        }
    };
    if on {
        if non_null(obj, "temperature").is_some_and(|t| t.as_f64() != Some(1.0)) {
            return Err("`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility".into());
        }
        if matches!(
            obj.get("tool_choice")
                .and_then(|c| c.get("type"))
                .and_then(Value::as_str),
            Some("any" | "tool")
        ) {
            return Err("Thinking may not be enabled when tool_choice forces tool use.".into());
        }
        if non_null(obj, "top_k").is_some() {
            return Err("`top_k` may not be set when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility".into());
        }
    }
    Ok(on)
}

/// With thinking on, a conversation that ends in a tool-use turn (an assistant message with
/// `tool_use` blocks, then the user message with their results) needs that assistant message to
/// start with its thinking.
fn final_tool_turn_thinking(messages: &[Value]) -> Option<String> {
    let [.., assistant, user] = messages else {
        return None;
    };
    let blocks_of = |m: &Value| {
        m.get("content")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let has = |blocks: &[Value], ty: &str| {
        blocks
            .iter()
            .any(|b| b.get("type").and_then(Value::as_str) == Some(ty))
    };
    let (a, u) = (blocks_of(assistant), blocks_of(user));
    if assistant.get("role").and_then(Value::as_str) != Some("assistant")
        || user.get("role").and_then(Value::as_str) != Some("user")
        || !has(&a, "tool_use")
        || !has(&u, "tool_result")
    {
        return None;
    }
    let first = a
        .first()
        .and_then(|b| b.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if matches!(first, "thinking" | "redacted_thinking") {
        return None;
    }
    Some(format!(
        "messages.{}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
        messages.len() - 2
    ))
}

/// An `image` block: a base64 source of a supported media type, or an http(s) URL source.
fn anthropic_image(block: &Value, at: &str) -> Option<String> {
    let Some(source) = block.get("source").and_then(Value::as_object) else {
        return Some(format!("{at}.image.source: Field required"));
    };
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            if !source.get("media_type").and_then(Value::as_str).is_some_and(|t| IMAGE_TYPES.contains(&t)) {
                return Some(format!("{at}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"));
            }
            match source.get("data").and_then(Value::as_str) {
                None => Some(format!("{at}.image.source.base64.data: Field required")),
                Some(d) if !valid_base64(d) => Some(format!("{at}.image.source.base64.data: The image data is not valid base64")),
                Some(_) => None,
            }
        }
        Some("url") => match source.get("url").and_then(Value::as_str) {
            Some(u) if is_http_url(u) => None,
            Some(_) => Some(format!("{at}.image.source.url.url: Only HTTP and HTTPS URLs are supported")),
            None => Some(format!("{at}.image.source.url.url: Field required")),
        },
        other => Some(format!("{at}.image.source: Input tag '{}' found using 'type' does not match any of the expected tags: 'base64', 'url'", other.unwrap_or(""))),
    }
}

fn output_config(obj: &Map<String, Value>) -> Option<String> {
    let format = non_null(obj, "output_config")
        .and_then(|c| c.get("format"))
        .filter(|f| !f.is_null())?;
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => match format.get("schema") {
            Some(Value::Object(_)) => None,
            Some(_) => Some("output_config.format.schema: Input should be a valid dictionary".into()),
            None => Some("output_config.format.schema: Field required".into()),
        },
        other => Some(format!("output_config.format: Input tag '{}' found using 'type' does not match any of the expected tags: 'json_schema'", other.unwrap_or(""))),
    }
}

fn anthropic_tools(obj: &Map<String, Value>) -> Option<String> {
    let tools: &[Value] = match non_null(obj, "tools") {
        None => &[],
        Some(Value::Array(t)) => t,
        Some(_) => return Some("tools: Input should be a valid list".into()),
    };
    let mut names: Vec<&str> = Vec::new();
    for (i, t) in tools.iter().enumerate() {
        let name = t.get("name").and_then(Value::as_str);
        // Server tools (`web_search_…`, `bash_…`) have fixed names and no schema.
        if matches!(t.get("type").and_then(Value::as_str), None | Some("custom")) {
            let Some(name) = name else {
                return Some(format!("tools.{i}.custom.name: Field required"));
            };
            if !valid_name(name) {
                return Some(format!(
                    "tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                ));
            }
            match t.get("input_schema") {
                None => return Some(format!("tools.{i}.custom.input_schema: Field required")),
                Some(Value::Object(s)) => {
                    if s.get("type").and_then(Value::as_str) != Some("object") {
                        return Some(format!(
                            "tools.{i}.custom.input_schema.type: Input should be 'object'"
                        ));
                    }
                }
                Some(_) => {
                    return Some(format!(
                        "tools.{i}.custom.input_schema: Input should be a valid dictionary"
                    ))
                }
            }
        }
        if let Some(name) = name {
            if names.contains(&name) {
                return Some("tools: Tool names must be unique.".into());
            }
            names.push(name);
        }
    }
    let choice = non_null(obj, "tool_choice")?;
    match choice.get("type").and_then(Value::as_str) {
        Some("auto" | "any" | "none") => None,
        Some("tool") => match choice.get("name").and_then(Value::as_str) {
            None => Some("tool_choice.tool.name: Field required".into()),
            Some(n) if !names.contains(&n) => Some(format!("tool_choice.tool.name: Tool '{n}' not found in `tools`")),
            Some(_) => None,
        },
        other => Some(format!("tool_choice: Input tag '{}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", other.unwrap_or(""))),
    }
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
        assert_eq!(
            refusal(Api::Messages, &no_max).as_deref(),
            Some("max_tokens: Field required")
        );
        let system_role = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]});
        assert!(refusal(Api::Messages, &system_role)
            .unwrap()
            .contains("'user' or 'assistant'"));
        let round_trip = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "w", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": "sunny"}]},
        ]});
        assert_eq!(refusal(Api::Messages, &round_trip), None);
        let stray = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_9", "content": "?"}]},
        ]});
        assert!(refusal(Api::Messages, &stray)
            .unwrap()
            .contains("unexpected `tool_use_id`"));
        let unanswered = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "w", "input": {}}]},
            {"role": "user", "content": "never mind"},
        ]});
        assert!(refusal(Api::Messages, &unanswered)
            .unwrap()
            .contains("without `tool_result`"));
    }

    #[test]
    fn openai_rules() {
        let ok = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(refusal(Api::Chat, &ok), None);
        assert!(refusal(Api::Chat, &json!({"model": "m"}))
            .unwrap()
            .contains("'messages'"));
        assert!(refusal(Api::Chat, &json!({"messages": []}))
            .unwrap()
            .contains("model"));
        let orphan_tool = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c1", "content": "x"}]});
        assert!(refusal(Api::Chat, &orphan_tool)
            .unwrap()
            .contains("must be a response to a preceeding message with 'tool_calls'"));
        let round_trip = json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]});
        assert_eq!(refusal(Api::Chat, &round_trip), None);
        assert!(refusal(
            Api::Chat,
            &json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3})
        )
        .is_some());
        assert!(refusal(Api::Responses, &json!({"model": "m"})).is_some());
        assert!(refusal(Api::Embeddings, &json!({"model": "m", "input": "x"})).is_none());
    }
}
