//! JSON-RPC 2.0 as MCP (and A2A) use it: telling messages apart and building answers.
//!
//! Messages stay `serde_json::Value` end to end: Weir relays what backends and clients send,
//! fields it does not model included, and only reads or rewrites the few it must (ids, names,
//! URIs). It never builds a message by re-serialising a typed copy of one it received.

use serde_json::{json, Map, Value};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// Server errors (-32000 to -32099) that Weir itself raises.
pub const BACKEND_UNAVAILABLE: i64 = -32000;
pub const SESSION_NOT_FOUND: i64 = -32001;
pub const DENIED_BY_POLICY: i64 = -32003;
pub const UNAUTHORIZED: i64 = -32004;
/// The agent's MCP requests per minute are used up (with HTTP 429 and `retry-after`).
pub const RATE_LIMITED: i64 = -32005;
/// A request the client cancelled (recorded in the audit trail; never sent to the client).
pub const REQUEST_CANCELLED: i64 = -32800;

/// What a JSON value is, as a JSON-RPC message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
    Response,
    Invalid,
}

pub fn kind(msg: &Value) -> Kind {
    let Some(obj) = msg.as_object() else { return Kind::Invalid };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Kind::Invalid;
    }
    let has_method = obj.get("method").is_some_and(Value::is_string);
    let id_ok = obj.get("id").is_some_and(|id| id.is_string() || id.is_i64() || id.is_u64());
    match (has_method, obj.contains_key("id")) {
        (true, true) if id_ok => Kind::Request,
        (true, false) => Kind::Notification,
        (false, true) if obj.contains_key("result") != obj.contains_key("error") => Kind::Response,
        _ => Kind::Invalid,
    }
}

pub fn method(msg: &Value) -> &str {
    msg.get("method").and_then(Value::as_str).unwrap_or("")
}

pub fn id(msg: &Value) -> Value {
    msg.get("id").cloned().unwrap_or(Value::Null)
}

pub fn params(msg: &Value) -> Option<&Map<String, Value>> {
    msg.get("params").and_then(Value::as_object)
}

pub fn params_mut(msg: &mut Value) -> Option<&mut Map<String, Value>> {
    msg.get_mut("params").and_then(Value::as_object_mut)
}

/// The string form of an id, for maps keyed by id (`"7"` and `7` stay apart).
pub fn id_key(id: &Value) -> String {
    id.to_string()
}

pub fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

pub fn error_with_data(id: Value, code: i64, message: impl Into<String>, data: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into(), "data": data}})
}

pub fn request(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// The error object of a response, if it is one.
pub fn error_of(msg: &Value) -> Option<(i64, String)> {
    let e = msg.get("error")?;
    Some((e.get("code").and_then(Value::as_i64).unwrap_or(INTERNAL_ERROR), e.get("message").and_then(Value::as_str).unwrap_or("").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_messages_apart() {
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})), Kind::Request);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": "a", "method": "ping"})), Kind::Request);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})), Kind::Notification);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": 1, "result": {}})), Kind::Response);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "x"}})), Kind::Response);
        // Invalid: wrong version, null or fractional id, both result and error, no method.
        assert_eq!(kind(&json!({"jsonrpc": "1.0", "id": 1, "method": "ping"})), Kind::Invalid);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": null, "method": "ping"})), Kind::Invalid);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"})), Kind::Invalid);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {}})), Kind::Invalid);
        assert_eq!(kind(&json!({"jsonrpc": "2.0", "id": 1})), Kind::Invalid);
        assert_eq!(kind(&json!([1, 2])), Kind::Invalid);
    }

    #[test]
    fn id_keys_keep_numbers_and_strings_apart() {
        assert_ne!(id_key(&json!(7)), id_key(&json!("7")));
    }
}
