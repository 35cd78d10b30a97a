//! What the rules allow: tool calls (with their arguments), resources by URI, prompts, and
//! methods Weir does not know, each refused with a JSON-RPC error that says why.

use super::*;

/// Which server a name or URI belongs to on this session's endpoint, and the backend's own name.
pub(super) fn resolve<'a>(session: &Session, value: &'a str, uri: bool) -> Option<(String, &'a str)> {
    match &session.scope {
        Some(s) => Some((s.clone(), value)),
        None => {
            let (server, rest) = if uri { names::split_uri(value)? } else { names::split(value)? };
            Some((server.to_string(), rest))
        }
    }
}

/// How a request that names a prompt or resource is checked against the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Getting a prompt, reading or subscribing to a resource: decided by the rules (argument
    /// constraints included).
    Use,
    /// Completing an argument: allowed when a rule could allow the prompt or template.
    Complete,
    /// Needs no rule.
    None,
}

/// Decides a request by the rules; the refusal, when it is one, says why.
pub(super) fn authorize(cfg: &McpConfig, session: &Session, target: policy::Target<'_>, args: &Value, check: Check, id: &Value, rec: &mut McpRecord) -> Result<(), McpError> {
    let (agent, user) = (&session.principal.agent_name, session.principal.end_user.as_deref());
    let decision = match check {
        Check::None => return Ok(()),
        Check::Use => policy::decide(&cfg.rules, target, agent, user, args),
        Check::Complete if cfg.rules.is_empty() => policy::Decision::Allow { rule: None },
        Check::Complete => match policy::applying_rule(&cfg.rules, target, agent, user) {
            Some(rule) => policy::Decision::Allow { rule: Some(rule) },
            None => policy::decide(&cfg.rules, target, agent, user, args),
        },
    };
    rec.set_decision(&decision);
    match decision {
        Decision::Deny { rule, reason } => Err(denied_by_policy(id.clone(), rule, reason)),
        Decision::Allow { .. } | Decision::NeedsApproval { .. } => Ok(()),
    }
}

/// A resource URI as rules name it: `server+uri`, the URI normalised (`None`: it cannot be).
pub(super) fn rule_uri(server: &str, uri: &str) -> Option<String> {
    policy::normalize_uri(uri).map(|u| names::prefixed_uri(server, &u))
}

/// A call no rule allows (or whose rule's constraint failed): says which rule, never which
/// other tools exist.
pub(super) fn denied_by_policy(id: Value, rule: Option<usize>, reason: String) -> McpError {
    McpError::new(403, "denied_by_policy", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, reason, json!({"reason": "policy", "rule": rule})))
}

/// A call to a tool whose definition its server's action withholds.
pub(super) fn tool_withheld(id: Value, name: &str, why: &str) -> McpError {
    McpError::new(403, "tool_withheld", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, format!("tool `{name}` is withheld: {why}"), json!({"reason": "tool_withheld"})))
}
