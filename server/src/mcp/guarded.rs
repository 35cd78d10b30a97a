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

/// Checks the JSON value at `pointer` of `msg` in `dir`: masked in place, recorded; the audit
/// copy is returned when it differs from what goes on. `Err` names the guardrail that blocks.
async fn check(policy: &Policy, session: &Session, dir: Direction, msg: &mut Value, pointer: &str, rec: &mut McpRecord) -> Result<Option<Value>, String> {
    let Some(part) = msg.pointer(pointer) else { return Ok(None) };
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
    if let Some(message) = verdict.refusal(what) {
        return Err(message);
    }
    if let Some(out) = outgoing.and_then(|o| serde_json::from_str::<Value>(&o).ok()) {
        if let Some(slot) = msg.pointer_mut(pointer) {
            *slot = out;
        }
    }
    Ok(captured.and_then(|c| serde_json::from_str(&c).ok()))
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
    match check(&policy, session, Direction::ToolArguments, msg, "/params/arguments", rec).await {
        Ok(captured) => {
            let mut kept = msg.get("params").cloned().unwrap_or(Value::Null);
            if let Some(c) = captured {
                kept["arguments"] = c;
            }
            rec.set_request(&kept);
            Ok(())
        }
        Err(message) => {
            // The audit copy of a refused call keeps its values masked.
            let mut kept = msg.get("params").cloned().unwrap_or(Value::Null);
            if let Some(args) = kept.get("arguments").map(Value::to_string) {
                if let Some(c) = policy.check_json(Direction::ToolArguments, &args).captured.and_then(|c| serde_json::from_str(&c).ok()) {
                    kept["arguments"] = c;
                }
            }
            rec.set_request(&kept);
            Err(blocked(jsonrpc::id(msg), message))
        }
    }
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
    match check(&policy, session, dir, &mut answer, "/result", rec).await {
        Ok(captured) => {
            if let Some(c) = captured {
                rec.set_response(json!({"result": c}));
            }
            Ok(answer)
        }
        Err(message) => Err(blocked(jsonrpc::id(&answer), message)),
    }
}
