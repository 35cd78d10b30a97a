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
            // The SDKs compare the major version: every 1.x is 1.0's protocol.
            Some(v) if v == "1" || v.starts_with("1.") => Some(Self::V10),
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
    // `METHOD /path`, the path below the agent's address (an interface's path may come first).
    let Some((method, path)) = operation.split_once(' ') else { return "other" };
    let (Ok(method), Some(segs)) = (method.parse::<axum::http::Method>(), segments(path)) else { return "other" };
    (0..=segs.len()).find_map(|skip| rest_operation(&method, &segs[skip..])).map_or("other", |(op, _)| op.v1_name())
}

/// A path's segments, each percent-decoded, or `None` when one would read differently decoded
/// than as sent — holding a `/`, `?`, `#`, `\\`, a control character or bad UTF-8, or being `.`
/// or `..` — so that what Weir checks is what the agent routes. An empty path has no segment.
pub fn segments(raw: &str) -> Option<Vec<String>> {
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    if raw.is_empty() {
        return Some(Vec::new());
    }
    let raw = raw.strip_suffix('/').unwrap_or(raw);
    raw.split('/')
        .map(|seg| {
            let decoded = percent_encoding::percent_decode_str(seg).decode_utf8().ok()?;
            let bad = decoded.is_empty() || decoded == "." || decoded == ".." || decoded.chars().any(|c| matches!(c, '/' | '?' | '#' | '\\') || c.is_control());
            (!bad).then(|| decoded.into_owned())
        })
        .collect()
}

/// The REST operation of `method` on `segs` (the path below the interface's own, decoded): one
/// of A2A's routes, after at most two segments (a tenant, v0.3's `v1`), with the tasks it names
/// under every reading; `None` when it is none of A2A's routes.
pub fn rest_operation(method: &axum::http::Method, segs: &[String]) -> Option<(Operation, Vec<String>)> {
    let mut found: Option<Operation> = None;
    let mut tasks: Vec<String> = Vec::new();
    for skip in 0..=segs.len().min(2) {
        let Some((op, task)) = rest_shape(method, &segs[..skip], &segs[skip..]) else { continue };
        found.get_or_insert(op);
        if let Some(t) = task.filter(|t| !tasks.contains(t)) {
            tasks.push(t);
        }
    }
    found.map(|op| (op, tasks))
}

fn rest_shape(method: &axum::http::Method, prefix: &[String], shape: &[String]) -> Option<(Operation, Option<String>)> {
    use axum::http::Method;
    use Operation::*;
    let m = method;
    let s: Vec<&str> = shape.iter().map(String::as_str).collect();
    let one = |op: Operation, t: &str| Some((op, Some(t.to_string())));
    match s.as_slice() {
        ["message:send"] if *m == Method::POST => Some((Send, None)),
        ["message:stream"] if *m == Method::POST => Some((Stream, None)),
        ["tasks"] if *m == Method::GET => Some((ListTasks, None)),
        ["extendedAgentCard"] if *m == Method::GET => Some((ExtendedCard, None)),
        ["card"] if *m == Method::GET && prefix.last().is_some_and(|p| p == "v1") => Some((ExtendedCard, None)),
        ["agent", "authenticatedExtendedCard"] if *m == Method::GET => Some((ExtendedCard, None)),
        ["tasks", t] => match t.rsplit_once(':') {
            Some((task, "cancel")) if *m == Method::POST => one(Cancel, task),
            Some((task, "subscribe" | "resubscribe")) if *m == Method::GET || *m == Method::POST => one(Subscribe, task),
            None if *m == Method::GET => one(GetTask, t),
            _ => None,
        },
        ["tasks", t, "pushNotificationConfigs"] if *m == Method::POST => one(PushSet, t),
        ["tasks", t, "pushNotificationConfigs"] if *m == Method::GET => one(PushList, t),
        ["tasks", t, "pushNotificationConfigs", _] if *m == Method::GET => one(PushGet, t),
        ["tasks", t, "pushNotificationConfigs", _] if *m == Method::DELETE => one(PushDelete, t),
        _ => None,
    }
}

/// Every task a request's params (JSON-RPC) or body (REST) can be read as naming. An agent reads
/// one of them — `id`, `taskId`, protobuf's `task_id`, a `tasks/{id}` resource name — and which
/// one is the agent's business; so Weir takes them all, and the caller must own every one.
/// In v1.0's push-notification requests that name the task otherwise, `id` is the config's
/// (v0.3's read `id` as the task whatever else is there). A send's message may also name tasks
/// it refers to (`referenceTaskIds`): those must be the caller's too.
pub fn named_tasks(op: Operation, version: Version, params: &Value) -> Vec<String> {
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
            for key in ["referenceTaskIds", "reference_task_ids"] {
                for t in m.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    add(&mut out, t);
                }
            }
        }
        return out;
    }
    if !op.names_task() {
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
    if let Some(t) = top.get("id").and_then(Value::as_str).filter(|_| !push_op || !named_otherwise || version == Version::V03) {
        add(&mut out, t);
    }
    out
}

/// The message a send carries (its `parts` and `metadata`).
pub fn message_of(params: &Value) -> Option<&Value> {
    params.get("message").or_else(|| params.get("request"))
}

/// The skills a message names: its metadata's `skill` and the request's (an agent may read
/// either, so a rule must allow each).
pub fn skills_of(params: &Value) -> Vec<String> {
    let from = |v: Option<&Value>| v.and_then(|m| m.get(SKILL_KEY)).and_then(Value::as_str).map(str::to_string);
    let mut out: Vec<String> = [from(message_of(params).and_then(|m| m.get("metadata"))), from(params.get("metadata"))].into_iter().flatten().collect();
    out.dedup();
    out
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
        crate::jsonrpc::METHOD_NOT_FOUND => "METHOD_NOT_FOUND",
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
        400 if code == VERSION_NOT_SUPPORTED => "FAILED_PRECONDITION",
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
        assert_eq!(Version::from_header(Some("1.3")), Some(Version::V10));
        assert_eq!(Version::from_header(Some("2.0")), None);
    }

    #[test]
    fn rest_paths_name_their_operation_and_task_with_or_without_tenant_or_v1() {
        let op = |m: Method, p: &str| rest_operation(&m, &segments(p).expect("segments"));
        let task = |t: &str| vec![t.to_string()];
        assert_eq!(op(Method::POST, "/message:send"), Some((Operation::Send, vec![])));
        assert_eq!(op(Method::POST, "/v1/message:stream"), Some((Operation::Stream, vec![])));
        assert_eq!(op(Method::GET, "/acme/tasks/t-1"), Some((Operation::GetTask, task("t-1"))));
        assert_eq!(op(Method::GET, "/v1/tasks/t%20one"), Some((Operation::GetTask, task("t one"))));
        assert_eq!(op(Method::POST, "/tasks/t-1:cancel"), Some((Operation::Cancel, task("t-1"))));
        assert_eq!(op(Method::GET, "/tasks/t-1:subscribe"), Some((Operation::Subscribe, task("t-1"))));
        assert_eq!(op(Method::GET, "/tasks"), Some((Operation::ListTasks, vec![])));
        assert_eq!(op(Method::GET, "/acme/tasks"), Some((Operation::ListTasks, vec![])));
        assert_eq!(op(Method::POST, "/tasks/t-1/pushNotificationConfigs"), Some((Operation::PushSet, task("t-1"))));
        assert_eq!(op(Method::GET, "/tasks/t-1/pushNotificationConfigs"), Some((Operation::PushList, task("t-1"))));
        assert_eq!(op(Method::GET, "/tasks/t-1/pushNotificationConfigs/c"), Some((Operation::PushGet, task("t-1"))));
        assert_eq!(op(Method::DELETE, "/tasks/t-1/pushNotificationConfigs/c"), Some((Operation::PushDelete, task("t-1"))));
        assert_eq!(op(Method::GET, "/extendedAgentCard"), Some((Operation::ExtendedCard, vec![])));
        assert_eq!(op(Method::GET, "/v1/card"), Some((Operation::ExtendedCard, vec![])));
        assert_eq!(op(Method::GET, "/agent/authenticatedExtendedCard"), Some((Operation::ExtendedCard, vec![])));
        // Whole routes only: a path that merely ends like one, or a verb A2A lacks, is none.
        assert_eq!(op(Method::GET, "/elsewhere/card"), None);
        assert_eq!(op(Method::GET, "/a/b/c/tasks"), None);
        assert_eq!(op(Method::POST, "/tasks/t-1:pause"), None);
        assert_eq!(op(Method::DELETE, "/tasks/t-1"), None);
        // Every reading counts: a tenant named `tasks` makes `/tasks/tasks/V` a read of V.
        assert_eq!(op(Method::GET, "/tasks/tasks/V"), Some((Operation::GetTask, task("V"))));
    }

    #[test]
    fn a_path_that_reads_differently_decoded_is_refused() {
        assert_eq!(segments("/tasks/a%20b/"), Some(vec!["tasks".to_string(), "a b".to_string()]));
        assert_eq!(segments(""), Some(vec![]));
        for bad in ["/tasks%3F", "/tasks/V%23/tasks", "/tasks/a%2Fb", "/tasks/..", "/tasks/%2E%2E", "/x//y", "/tasks/%5Cx", "/tasks/%FF", "/a%00b"] {
            assert_eq!(segments(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_task_a_request_can_be_read_as_naming_is_found_in_either_version() {
        let t = |op, p: Value| named_tasks(op, Version::V10, &p);
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
        assert_eq!(t(Operation::Send, json!({"message": {"referenceTaskIds": ["r1", "r2"]}})), vec!["r1", "r2"]);
        // v0.3's push methods read `id` as the task, whatever else is there.
        assert_eq!(named_tasks(Operation::PushGet, Version::V03, &json!({"id": "victim", "taskId": "mine"})), vec!["mine", "victim"]);
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
        assert_eq!(skills_of(&json!({"message": {"metadata": {"skill": "echo"}}})), vec!["echo"]);
        assert_eq!(skills_of(&json!({"message": {}, "metadata": {"skill": "slow"}})), vec!["slow"]);
        assert_eq!(skills_of(&json!({"message": {"metadata": {"skill": "echo"}}, "metadata": {"skill": "slow"}})), vec!["echo", "slow"]);
        assert!(skills_of(&json!({"message": {}})).is_empty());
        let urls = |op, p: Value| push_urls(op, &p);
        assert_eq!(urls(Operation::Send, json!({"configuration": {"pushNotificationConfig": {"url": "http://a"}}})), vec!["http://a"]);
        assert_eq!(urls(Operation::Send, json!({"configuration": {"task_push_notification_config": {"url": "http://a"}}})), vec!["http://a"]);
        assert_eq!(urls(Operation::Send, json!({"message": {"parts": [{"url": "http://file"}]}})), Vec::<String>::new(), "a file part is not a webhook");
        assert_eq!(urls(Operation::PushSet, json!({"taskId": "t", "pushNotificationConfig": {"url": "http://b"}})), vec!["http://b"]);
        assert_eq!(urls(Operation::PushSet, json!({"taskId": "t", "url": "http://c"})), vec!["http://c"]);
        assert_eq!(urls(Operation::PushSet, json!({"config": {"push_notification_config": {"url": "http://d"}}})), vec!["http://d"]);
    }
}
