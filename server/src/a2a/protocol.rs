//! What Weir reads of an A2A request and answer, in both deployed versions (v0.3 and v1.0) and
//! both bindings HTTP carries (JSON-RPC and HTTP+JSON/REST): the operation, the task it names,
//! the skill it asks for, the push-notification URL it registers, and the task a result or a
//! stream event reports. It never converts between versions: what a caller sends goes on as
//! it was sent.

use serde_json::Value;

/// A2A's own JSON-RPC error codes (the same in v0.3 and v1.0; -32009 is v1.0's).
pub const TASK_NOT_FOUND: i64 = -32001;
pub const UNSUPPORTED_OPERATION: i64 = -32004;
pub const INVALID_AGENT_RESPONSE: i64 = -32006;
pub const VERSION_NOT_SUPPORTED: i64 = -32009;
/// Weir's own, in the implementation-defined range and clear of A2A's block.
pub const DENIED_BY_POLICY: i64 = -32050;
pub const UNAUTHORIZED: i64 = -32051;
pub const RATE_LIMITED: i64 = -32052;
pub const AGENT_UNAVAILABLE: i64 = -32053;

/// The message metadata key that names the skill a message is for.
pub const SKILL_KEY: &str = "skill";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V03,
    V10,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V03 => "0.3",
            Self::V10 => "1.0",
        }
    }

    /// `A2A-Version` as sent (`1.0`, `0.3`, `0.3.0`); absent means 0.3, as the spec says.
    pub fn from_header(v: Option<&str>) -> Option<Self> {
        match v.map(str::trim) {
            None | Some("") => Some(Self::V03),
            Some(v) if v == "0.3" || v.starts_with("0.3.") => Some(Self::V03),
            Some(v) if v == "1.0" || v.starts_with("1.0.") || v == "1" => Some(Self::V10),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    JsonRpc,
    Rest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Send,
    Stream,
    GetTask,
    ListTasks,
    Cancel,
    Subscribe,
    PushSet,
    PushGet,
    PushList,
    PushDelete,
    ExtendedCard,
    /// A method Weir does not know: relayed as it is (a target's extension), with no task.
    Other,
}

impl Operation {
    /// Whether the answer is a stream of events.
    pub fn streams(self) -> bool {
        matches!(self, Self::Stream | Self::Subscribe)
    }

    /// Whether the request names an existing task, which must be the caller's.
    pub fn names_task(self) -> bool {
        matches!(self, Self::GetTask | Self::Cancel | Self::Subscribe | Self::PushSet | Self::PushGet | Self::PushList | Self::PushDelete)
    }

    /// Whether the request carries a message to the target.
    pub fn sends_message(self) -> bool {
        matches!(self, Self::Send | Self::Stream)
    }
}

/// A JSON-RPC method's operation and the version it belongs to.
pub fn rpc_operation(method: &str) -> Option<(Operation, Version)> {
    use Operation::*;
    use Version::*;
    Some(match method {
        "message/send" => (Send, V03),
        "message/stream" => (Stream, V03),
        "tasks/get" => (GetTask, V03),
        "tasks/cancel" => (Cancel, V03),
        "tasks/resubscribe" => (Subscribe, V03),
        "tasks/pushNotificationConfig/set" => (PushSet, V03),
        "tasks/pushNotificationConfig/get" => (PushGet, V03),
        "tasks/pushNotificationConfig/list" => (PushList, V03),
        "tasks/pushNotificationConfig/delete" => (PushDelete, V03),
        "agent/getAuthenticatedExtendedCard" => (ExtendedCard, V03),
        "SendMessage" => (Send, V10),
        "SendStreamingMessage" => (Stream, V10),
        "GetTask" => (GetTask, V10),
        "ListTasks" => (ListTasks, V10),
        "CancelTask" => (Cancel, V10),
        "SubscribeToTask" => (Subscribe, V10),
        "CreateTaskPushNotificationConfig" | "SetTaskPushNotificationConfig" => (PushSet, V10),
        "GetTaskPushNotificationConfig" => (PushGet, V10),
        "ListTaskPushNotificationConfigs" | "ListTaskPushNotificationConfig" => (PushList, V10),
        "DeleteTaskPushNotificationConfig" => (PushDelete, V10),
        "GetExtendedAgentCard" => (ExtendedCard, V10),
        _ => return None,
    })
}

impl Operation {
    /// v1.0's method name for the operation (the metrics' label, whatever the version and
    /// binding).
    pub fn v1_name(self) -> &'static str {
        match self {
            Self::Send => "SendMessage",
            Self::Stream => "SendStreamingMessage",
            Self::GetTask => "GetTask",
            Self::ListTasks => "ListTasks",
            Self::Cancel => "CancelTask",
            Self::Subscribe => "SubscribeToTask",
            Self::PushSet => "CreateTaskPushNotificationConfig",
            Self::PushGet => "GetTaskPushNotificationConfig",
            Self::PushList => "ListTaskPushNotificationConfigs",
            Self::PushDelete => "DeleteTaskPushNotificationConfig",
            Self::ExtendedCard => "GetExtendedAgentCard",
            Self::Other => "other",
        }
    }
}

/// The metrics' method label of a recorded operation (a JSON-RPC method, or `METHOD /path`).
pub fn metric_method(operation: &str) -> &'static str {
    if let Some((op, _)) = rpc_operation(operation) {
        return op.v1_name();
    }
    match operation.split_once(' ') {
        Some((method, path)) => method.parse::<axum::http::Method>().map_or("other", |m| rest_operation(&m, path).0.v1_name()),
        None => "other",
    }
}

/// A REST request's operation and the task it names, from its method and path (the part after
/// the interface's own path; a tenant segment, and v0.3's `/v1`, may come first).
pub fn rest_operation(method: &axum::http::Method, path: &str) -> (Operation, Option<String>) {
    use axum::http::Method;
    use Operation::*;
    let path = path.trim_end_matches('/');
    if path.ends_with("/message:send") || path == "message:send" {
        return (Send, None);
    }
    if path.ends_with("/message:stream") || path == "message:stream" {
        return (Stream, None);
    }
    if path.ends_with("/extendedAgentCard") || path.ends_with("/card") {
        return (ExtendedCard, None);
    }
    if path.ends_with("/tasks") {
        return (if *method == Method::GET { ListTasks } else { Other }, None);
    }
    let Some(at) = path.rfind("/tasks/").or_else(|| path.starts_with("tasks/").then_some(usize::MAX)) else { return (Other, None) };
    let rest = if at == usize::MAX { &path["tasks/".len()..] } else { &path[at + "/tasks/".len()..] };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    if let Some((task, tail)) = rest.split_once('/') {
        // `{task}/pushNotificationConfigs[/{config}]`
        if tail == "pushNotificationConfigs" {
            let op = if *method == Method::POST { PushSet } else { PushList };
            return (op, Some(decode(task)));
        }
        if let Some(cfg) = tail.strip_prefix("pushNotificationConfigs/") {
            let op = if *method == Method::DELETE { PushDelete } else { PushGet };
            return (if cfg.is_empty() { Other } else { op }, Some(decode(task)));
        }
        // Something else below a task: Weir does not know it, but the task is still named.
        return (Other, Some(decode(task)));
    }
    if let Some((task, verb)) = rest.rsplit_once(':') {
        return match verb {
            "cancel" => (Cancel, Some(decode(task))),
            "subscribe" | "resubscribe" => (Subscribe, Some(decode(task))),
            _ => (Other, Some(decode(task))),
        };
    }
    if *method == Method::GET && !rest.is_empty() {
        return (GetTask, Some(decode(rest)));
    }
    (Other, None)
}

/// Every task a request's params (JSON-RPC) or body (REST) can be read as naming. An agent reads
/// one of them — `id`, `taskId`, protobuf's `task_id`, a `tasks/{id}` resource name — and which
/// one is the agent's business; so Weir takes them all, and the caller must own every one.
/// In push-notification requests that name the task otherwise, `id` is the config's.
pub fn named_tasks(op: Operation, params: &Value) -> Vec<String> {
    fn add(out: &mut Vec<String>, t: &str) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    fn task_keys(v: &Value, out: &mut Vec<String>) {
        for key in ["taskId", "task_id"] {
            if let Some(t) = v.get(key).and_then(Value::as_str) {
                add(out, t);
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    if op.sends_message() {
        if let Some(m) = message_of(params) {
            task_keys(m, &mut out);
        }
        return out;
    }
    // A method Weir does not know may act on a task too: its names count.
    if !op.names_task() && op != Operation::Other {
        return out;
    }
    let Some(top) = params.as_object() else { return out };
    // The params themselves and the objects one level down (a push config, its resource name).
    for v in std::iter::once(params).chain(top.values().filter(|v| v.is_object())) {
        task_keys(v, &mut out);
        for key in ["name", "parent"] {
            if let Some(n) = v.get(key).and_then(Value::as_str).and_then(|n| n.strip_prefix("tasks/")) {
                add(&mut out, n.split('/').next().unwrap_or(n));
            }
        }
    }
    let push_op = matches!(op, Operation::PushSet | Operation::PushGet | Operation::PushDelete | Operation::PushList);
    let named_otherwise = !out.is_empty();
    if let Some(t) = top.get("id").and_then(Value::as_str).filter(|_| !push_op || !named_otherwise) {
        add(&mut out, t);
    }
    out
}

/// The message a send carries (its `parts` and `metadata`).
pub fn message_of(params: &Value) -> Option<&Value> {
    params.get("message").or_else(|| params.get("request"))
}

/// The skill a message asks for: its metadata's `skill`, or the request's.
pub fn skill_of(params: &Value) -> Option<String> {
    let from = |v: Option<&Value>| v.and_then(|m| m.get(SKILL_KEY)).and_then(Value::as_str).map(str::to_string);
    from(message_of(params).and_then(|m| m.get("metadata"))).or_else(|| from(params.get("metadata")))
}

/// Every push-notification URL a request registers: any `url` (or `uri`) inside a member named
/// for a push-notification config (`pushNotificationConfig`, `taskPushNotificationConfig`,
/// `push_notification_config`, `config`, …) at any depth, and for a push-config request any
/// `url` in it at all (v1.0 writes the config's members at the top).
pub fn push_urls(op: Operation, params: &Value) -> Vec<String> {
    fn urls(v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 8 {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    match child {
                        Value::String(u) if k == "url" || k == "uri" => out.push(u.clone()),
                        _ => urls(child, out, depth + 1),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|c| urls(c, out, depth + 1)),
            _ => {}
        }
    }
    fn under_push_keys(v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 8 {
            return;
        }
        if let Value::Object(m) = v {
            for (k, child) in m {
                let key: String = k.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect();
                if key.contains("pushnotification") || key == "config" {
                    urls(child, out, depth + 1);
                } else if k != "message" {
                    under_push_keys(child, out, depth + 1);
                }
            }
        }
    }
    let mut out = Vec::new();
    if op == Operation::PushSet {
        urls(params, &mut out, 0);
    } else {
        under_push_keys(params, &mut out, 0);
    }
    out.dedup();
    out
}

/// What a result or a stream event says of a task: its id, context and state.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TaskFacts {
    pub task_id: Option<String>,
    pub context_id: Option<String>,
    /// Lower case, v0.3's spelling (`completed`, `input-required`), whichever version sent it.
    pub state: Option<String>,
    /// A final event of a stream (v0.3 `final`, or a terminal state).
    pub terminal: bool,
}

/// The task a result (or a stream event's result) reports.
pub fn task_facts(result: &Value) -> TaskFacts {
    let inner = ["task", "message", "statusUpdate", "artifactUpdate", "status_update", "artifact_update"]
        .iter()
        .find_map(|k| result.get(*k).filter(|v| v.is_object()))
        .unwrap_or(result);
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let is_task = inner.get("kind").and_then(Value::as_str) == Some("task") || result.get("task").is_some() || (inner.get("status").is_some() && inner.get("messageId").is_none() && inner.get("taskId").is_none());
    let task_id = if is_task { s(inner.get("id")) } else { s(inner.get("taskId")) };
    let state = s(inner.pointer("/status/state")).map(|st| normal_state(&st));
    let terminal = inner.get("final").and_then(Value::as_bool).unwrap_or(false) || state.as_deref().is_some_and(is_terminal);
    TaskFacts { task_id, context_id: s(inner.get("contextId")), state, terminal }
}

/// `TASK_STATE_INPUT_REQUIRED` (v1.0) and `input-required` (v0.3) alike as `input-required`.
pub fn normal_state(state: &str) -> String {
    let s = state.strip_prefix("TASK_STATE_").unwrap_or(state).to_ascii_lowercase().replace('_', "-");
    // v0.3's protobuf spelling (its REST binding) is `TASK_STATE_CANCELLED`.
    if s == "cancelled" {
        return "canceled".into();
    }
    s
}

pub fn is_terminal(state: &str) -> bool {
    matches!(state, "completed" | "canceled" | "failed" | "rejected")
}

/// The context a request's message names.
pub fn request_context(params: &Value) -> Option<String> {
    message_of(params).and_then(|m| m.get("contextId")).or_else(|| params.get("contextId")).and_then(Value::as_str).map(str::to_string)
}

/// The texts of the message and artifact parts in a value (a message, task, stream event or a
/// result wrapping one), as JSON pointers. A task's `history` is left out: it repeats messages
/// already checked on their way in.
pub fn text_parts(v: &Value, at: &mut String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "history" {
                    continue;
                }
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                // v0.3's REST binding calls a message's parts `content`.
                if k == "parts" || (k == "content" && child.is_array()) {
                    if let Some(parts) = child.as_array() {
                        for (i, p) in parts.iter().enumerate() {
                            if p.get("text").is_some_and(Value::is_string) {
                                out.push(format!("{at}/{i}/text"));
                            }
                        }
                    }
                } else {
                    text_parts(child, at, out);
                }
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                text_parts(child, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// The reason an error carries in v1.0's `ErrorInfo` (what the 1.x SDK maps back to its
/// exception classes).
fn reason(code: i64) -> &'static str {
    match code {
        TASK_NOT_FOUND => "TASK_NOT_FOUND",
        UNSUPPORTED_OPERATION => "UNSUPPORTED_OPERATION",
        VERSION_NOT_SUPPORTED => "VERSION_NOT_SUPPORTED",
        INVALID_AGENT_RESPONSE => "INVALID_AGENT_RESPONSE",
        DENIED_BY_POLICY => "DENIED_BY_POLICY",
        UNAUTHORIZED => "UNAUTHENTICATED",
        RATE_LIMITED => "RATE_LIMITED",
        AGENT_UNAVAILABLE => "AGENT_UNAVAILABLE",
        crate::jsonrpc::INVALID_PARAMS => "INVALID_PARAMS",
        crate::jsonrpc::PARSE_ERROR | crate::jsonrpc::INVALID_REQUEST => "INVALID_REQUEST",
        _ => "INTERNAL_ERROR",
    }
}

fn error_info(code: i64) -> Value {
    serde_json::json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason(code), "domain": "a2a-protocol.org", "metadata": {}})
}

/// A JSON-RPC error answer as the caller's version writes one: v1.0's carries `ErrorInfo`
/// details in `data`.
pub fn rpc_error(version: Version, id: Value, code: i64, message: &str) -> Value {
    match version {
        Version::V03 => crate::jsonrpc::error(id, code, message),
        Version::V10 => crate::jsonrpc::error_with_data(id, code, message, Value::Array(vec![error_info(code)])),
    }
}

/// A REST error body: v1.0's `google.rpc.Status` in an `error` member; v0.3's `{"message"}`
/// (with the v1.0 member beside it, which v0.3 clients ignore).
pub fn rest_error(version: Version, status: u16, code: i64, message: &str) -> Value {
    let status_name = match status {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        502..=504 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    let v1 = serde_json::json!({"code": status, "status": status_name, "message": message, "details": [error_info(code)]});
    match version {
        Version::V10 => serde_json::json!({"error": v1}),
        Version::V03 => serde_json::json!({"message": message, "error": v1}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;
    use serde_json::json;

    #[test]
    fn methods_of_both_versions_are_told_apart() {
        assert_eq!(rpc_operation("message/send"), Some((Operation::Send, Version::V03)));
        assert_eq!(rpc_operation("SendStreamingMessage"), Some((Operation::Stream, Version::V10)));
        assert_eq!(rpc_operation("tasks/resubscribe"), Some((Operation::Subscribe, Version::V03)));
        assert_eq!(rpc_operation("DeleteTaskPushNotificationConfig"), Some((Operation::PushDelete, Version::V10)));
        assert_eq!(rpc_operation("tools/call"), None);
        assert_eq!(Version::from_header(None), Some(Version::V03));
        assert_eq!(Version::from_header(Some("1.0")), Some(Version::V10));
        assert_eq!(Version::from_header(Some("0.3.0")), Some(Version::V03));
        assert_eq!(Version::from_header(Some("2.0")), None);
    }

    #[test]
    fn rest_paths_name_their_operation_and_task_with_or_without_tenant_or_v1() {
        let op = |m: Method, p: &str| rest_operation(&m, p);
        assert_eq!(op(Method::POST, "/message:send"), (Operation::Send, None));
        assert_eq!(op(Method::POST, "/v1/message:stream"), (Operation::Stream, None));
        assert_eq!(op(Method::GET, "/acme/tasks/t-1"), (Operation::GetTask, Some("t-1".into())));
        assert_eq!(op(Method::GET, "/v1/tasks/t%2F1"), (Operation::GetTask, Some("t/1".into())));
        assert_eq!(op(Method::POST, "/tasks/t-1:cancel"), (Operation::Cancel, Some("t-1".into())));
        assert_eq!(op(Method::GET, "/tasks/t-1:subscribe"), (Operation::Subscribe, Some("t-1".into())));
        assert_eq!(op(Method::GET, "/tasks"), (Operation::ListTasks, None));
        assert_eq!(op(Method::POST, "/tasks/t-1/pushNotificationConfigs"), (Operation::PushSet, Some("t-1".into())));
        assert_eq!(op(Method::GET, "/tasks/t-1/pushNotificationConfigs"), (Operation::PushList, Some("t-1".into())));
        assert_eq!(op(Method::GET, "/tasks/t-1/pushNotificationConfigs/c"), (Operation::PushGet, Some("t-1".into())));
        assert_eq!(op(Method::DELETE, "/tasks/t-1/pushNotificationConfigs/c"), (Operation::PushDelete, Some("t-1".into())));
        assert_eq!(op(Method::GET, "/extendedAgentCard"), (Operation::ExtendedCard, None));
        assert_eq!(op(Method::GET, "/v1/card"), (Operation::ExtendedCard, None));
        assert_eq!(op(Method::GET, "/elsewhere"), (Operation::Other, None));
        assert_eq!(op(Method::POST, "/tasks/t-1:pause"), (Operation::Other, Some("t-1".into())), "an unknown verb still names its task");
        assert_eq!(op(Method::GET, "/tasks/t-1/history"), (Operation::Other, Some("t-1".into())));
    }

    #[test]
    fn metrics_name_operations_of_either_version_and_binding_alike() {
        assert_eq!(metric_method("message/send"), "SendMessage");
        assert_eq!(metric_method("SendMessage"), "SendMessage");
        assert_eq!(metric_method("POST /v1/message:send"), "SendMessage");
        assert_eq!(metric_method("GET /tasks/6f1c"), "GetTask");
        assert_eq!(metric_method("x/unknown"), "other");
    }

    #[test]
    fn every_task_a_request_can_be_read_as_naming_is_found_in_either_version() {
        let t = |op, p: Value| named_tasks(op, &p);
        assert_eq!(t(Operation::GetTask, json!({"id": "a"})), vec!["a"]);
        assert_eq!(t(Operation::GetTask, json!({"name": "tasks/a"})), vec!["a"]);
        // Named twice: both are the caller's to check, whichever the agent reads.
        assert_eq!(t(Operation::GetTask, json!({"id": "bobs", "taskId": "mine"})), vec!["mine", "bobs"]);
        assert_eq!(t(Operation::Cancel, json!({"id": "bobs", "name": "tasks/mine"})), vec!["mine", "bobs"]);
        assert_eq!(t(Operation::GetTask, json!({"id": "bobs", "task_id": "mine"})), vec!["mine", "bobs"]);
        // Push configs: `id` is the config's when the task is named otherwise.
        assert_eq!(t(Operation::PushGet, json!({"taskId": "a", "id": "cfg"})), vec!["a"]);
        assert_eq!(t(Operation::PushSet, json!({"taskId": "a", "id": "cfg", "url": "http://x"})), vec!["a"]);
        assert_eq!(t(Operation::PushGet, json!({"id": "a", "pushNotificationConfigId": "cfg"})), vec!["a"]);
        assert_eq!(t(Operation::PushSet, json!({"taskId": "a", "pushNotificationConfig": {"url": "http://x"}})), vec!["a"]);
        assert_eq!(t(Operation::PushSet, json!({"parent": "tasks/a", "config": {"name": "tasks/b/pushNotificationConfigs/c"}})), vec!["a", "b"]);
        assert_eq!(t(Operation::Send, json!({"message": {"taskId": "a", "task_id": "b"}})), vec!["a", "b"]);
        assert!(t(Operation::Send, json!({"message": {}})).is_empty());
        assert!(t(Operation::ListTasks, json!({"id": "a"})).is_empty());
    }

    #[test]
    fn task_facts_read_both_versions_results_and_events() {
        let v03 = task_facts(&json!({"kind": "task", "id": "t", "contextId": "c", "status": {"state": "input-required"}}));
        assert_eq!(v03, TaskFacts { task_id: Some("t".into()), context_id: Some("c".into()), state: Some("input-required".into()), terminal: false });
        let v10 = task_facts(&json!({"task": {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}}));
        assert_eq!(v10.task_id.as_deref(), Some("t"));
        assert_eq!(v10.state.as_deref(), Some("completed"));
        assert!(v10.terminal);
        let ev = task_facts(&json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}));
        assert_eq!((ev.task_id.as_deref(), ev.state.as_deref(), ev.terminal), (Some("t"), Some("working"), false));
        let ev = task_facts(&json!({"kind": "status-update", "taskId": "t", "final": true, "status": {"state": "completed"}}));
        assert!(ev.terminal);
        let msg = task_facts(&json!({"kind": "message", "messageId": "m", "contextId": "c", "parts": []}));
        assert_eq!(msg.task_id, None);
    }

    #[test]
    fn text_parts_are_found_in_messages_and_artifacts_but_not_history() {
        let v = json!({"task": {"history": [{"parts": [{"text": "old"}]}], "artifacts": [{"parts": [{"kind": "text", "text": "a"}, {"file": {}}]}], "status": {"message": {"parts": [{"text": "b"}]}}}});
        let mut out = Vec::new();
        text_parts(&v, &mut String::new(), &mut out);
        out.sort();
        assert_eq!(out, vec!["/task/artifacts/0/parts/0/text".to_string(), "/task/status/message/parts/0/text".to_string()]);
    }

    #[test]
    fn skills_and_push_urls_are_read_from_the_documented_places() {
        assert_eq!(skill_of(&json!({"message": {"metadata": {"skill": "echo"}}})), Some("echo".into()));
        assert_eq!(skill_of(&json!({"message": {}, "metadata": {"skill": "slow"}})), Some("slow".into()));
        assert_eq!(skill_of(&json!({"message": {}})), None);
        let urls = |op, p: Value| push_urls(op, &p);
        assert_eq!(urls(Operation::Send, json!({"configuration": {"pushNotificationConfig": {"url": "http://a"}}})), vec!["http://a"]);
        assert_eq!(urls(Operation::Send, json!({"configuration": {"task_push_notification_config": {"url": "http://a"}}})), vec!["http://a"]);
        assert_eq!(urls(Operation::Send, json!({"message": {"parts": [{"url": "http://file"}]}})), Vec::<String>::new(), "a file part is not a webhook");
        assert_eq!(urls(Operation::PushSet, json!({"taskId": "t", "pushNotificationConfig": {"url": "http://b"}})), vec!["http://b"]);
        assert_eq!(urls(Operation::PushSet, json!({"taskId": "t", "url": "http://c"})), vec!["http://c"]);
        assert_eq!(urls(Operation::PushSet, json!({"config": {"push_notification_config": {"url": "http://d"}}})), vec!["http://d"]);
    }
}
