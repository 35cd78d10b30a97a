//! Guardrails on the MCP path: a tool call's arguments before they reach the backend, and what
//! comes back to the agent — tool results, `resources/read` contents and `prompts/get`
//! messages, where injected instructions arrive indirectly. The same engine and policy as an
//! LLM call's (the agent's overrides apply; there is no model).

use super::*;
use crate::guard::policy::{Direction, Policy};
use crate::guard::webhook;

/// The policy of a session's agent, when guardrails are configured.
fn policy(state: &AppState, session: &Session) -> Option<Policy> {
    let rt = state.runtime.load();
    if rt.config.guardrails.is_empty() {
        return None;
    }
    Some(state.guard_overrides.policy(&rt.config.guardrails, "", &session.principal.agent_id))
}

fn context(session: &Session) -> webhook::Context {
    webhook::Context { agent: session.principal.agent_name.clone(), user: session.principal.end_user.clone(), model: None }
}

/// What a check of one part of a message found.
struct Guarded {
    /// The audit copy of the part, when it differs from what went on: values only flagged
    /// masked too, and on a refusal every value found masked.
    captured: Option<Value>,
    /// The refusal, naming the guardrail that blocks.
    refusal: Option<String>,
}

/// Checks the JSON value at `pointer` of `msg` in `dir`: masked in place unless refused,
/// recorded.
async fn check(policy: &Policy, session: &Session, dir: Direction, msg: &mut Value, pointer: &str, rec: &mut McpRecord) -> Guarded {
    let Some(part) = msg.pointer(pointer) else { return Guarded { captured: None, refusal: None } };
    let raw = part.to_string();
    let checked = policy.check_document(dir, &raw, &context(session)).await;
    let (verdict, outgoing, captured) = (checked.verdict, checked.outgoing, checked.captured);
    rec.guarded(&verdict);
    let what = match dir {
        Direction::ToolArguments => "the tool call's arguments",
        Direction::ToolResult => "the tool's result",
        Direction::Resource => "the resource's contents",
        _ => "the prompt's messages",
    };
    let refusal = verdict.refusal(what);
    let captured = match refusal {
        // Nothing went on: the audit copy is the part with every value masked.
        Some(_) => captured.or(outgoing),
        None => {
            if let Some(out) = outgoing.and_then(|o| serde_json::from_str::<Value>(&o).ok()) {
                if let Some(slot) = msg.pointer_mut(pointer) {
                    *slot = out;
                }
            }
            captured
        }
    };
    Guarded { captured: captured.and_then(|c| serde_json::from_str(&c).ok()), refusal }
}

fn blocked(id: Value, message: String) -> McpError {
    McpError::new(403, "guardrail_blocked", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, message, json!({"reason": "guardrail"})))
}

/// A request's arguments (`tools/call`), before the request is routed.
pub(super) async fn check_request(state: &AppState, session: &Session, msg: &mut Value, rec: &mut McpRecord) -> Result<(), McpError> {
    if jsonrpc::method(msg) != "tools/call" {
        return Ok(());
    }
    let Some(policy) = policy(state, session) else { return Ok(()) };
    let guarded = check(&policy, session, Direction::ToolArguments, msg, "/params/arguments", rec).await;
    let mut kept = msg.get("params").cloned().unwrap_or(Value::Null);
    if let Some(c) = guarded.captured {
        kept["arguments"] = c;
    }
    rec.set_request(&kept);
    let Some(message) = guarded.refusal else { return Ok(()) };
    // A refused call is not routed: its record names the tool here.
    let name = msg.pointer("/params/name").and_then(Value::as_str).unwrap_or("");
    if let Some((server, tool)) = resolve(session, name, false).filter(|(s, tool)| state.mcp.knows(s) && !tool.is_empty()) {
        rec.set_tool(&server, &names::prefixed(&server, tool));
    }
    Err(blocked(jsonrpc::id(msg), message))
}

/// What a backend answered a `tools/call`, `resources/read` or `prompts/get`, before the agent
/// sees it.
pub(super) async fn check_answer(state: &AppState, session: &Session, method: &str, mut answer: Value, rec: &mut McpRecord) -> Result<Value, McpError> {
    let dir = match method {
        "tools/call" => Direction::ToolResult,
        "resources/read" => Direction::Resource,
        "prompts/get" => Direction::Prompt,
        _ => return Ok(answer),
    };
    let Some(policy) = policy(state, session) else { return Ok(answer) };
    let guarded = check(&policy, session, dir, &mut answer, "/result", rec).await;
    match guarded.refusal {
        Some(message) => Err(blocked(jsonrpc::id(&answer), message)),
        None => {
            if let Some(c) = guarded.captured {
                rec.set_response(json!({"result": c}));
            }
            Ok(answer)
        }
    }
}
