//! Who may call whom: `[[a2a.rules]]`, each naming calling agents, target agents and
//! (optionally) skills. With no rule every caller may call every registered agent; once any
//! rule exists, what no rule allows is denied (as with MCP's rules).

use crate::config::A2aRule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the rule of this number.
    Allow(usize),
    /// Denied, and why (for the caller).
    Deny(String),
}

/// The decision on `caller` calling `target` under the config file's rules, then the stored
/// ones (numbered after the file's). A message (`sends_message`) is for `skill`: a rule that
/// restricts skills allows it only when the skill is known and listed. A request that carries
/// no message (reading or cancelling the caller's own task) needs a rule that lets the caller
/// reach the target at all.
pub fn decide(file: &[A2aRule], stored: &[A2aRule], caller: &str, target: &str, skill: Option<&str>, sends_message: bool) -> Decision {
    let mut skill_unknown = false;
    let numbered = file.iter().map(|r| (r.number, r)).chain(stored.iter().enumerate().map(|(i, r)| (file.len() + i + 1, r)));
    for (number, r) in numbered {
        if !r.agents.iter().any(|g| g.matches(caller)) || !r.targets.iter().any(|g| g.matches(target)) {
            continue;
        }
        match (&r.skills, sends_message, skill) {
            (None, _, _) | (Some(_), false, _) => return Decision::Allow(number),
            (Some(list), true, Some(s)) if list.iter().any(|g| g.matches(s)) => return Decision::Allow(number),
            (Some(_), true, None) => skill_unknown = true,
            _ => {}
        }
    }
    if skill_unknown {
        return Decision::Deny(format!(
            "agent `{caller}` may call only some skills of `{target}`, and this message names none: set `metadata.skill` on the message"
        ));
    }
    match skill {
        Some(s) if sends_message => Decision::Deny(format!("agent `{caller}` may not call skill `{s}` of agent `{target}`")),
        _ => Decision::Deny(format!("agent `{caller}` may not call agent `{target}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::policy::Glob;

    fn rule(n: usize, agents: &[&str], targets: &[&str], skills: Option<&[&str]>) -> A2aRule {
        let g = |l: &[&str]| l.iter().map(|s| Glob::new(s)).collect();
        A2aRule { number: n, agents: g(agents), targets: g(targets), skills: skills.map(g) }
    }

    #[test]
    fn rules_allow_by_caller_target_and_skill_and_deny_the_rest() {
        let file = vec![rule(1, &["planner"], &["echo"], Some(&["echo"]))];
        let stored = vec![rule(1, &["ops-*"], &["*"], None)];
        let decide = |c, t, s, m| decide(&file, &stored, c, t, s, m);
        assert_eq!(decide("planner", "echo", Some("echo"), true), Decision::Allow(1));
        assert!(matches!(decide("planner", "echo", Some("slow"), true), Decision::Deny(m) if m.contains("skill `slow`")));
        assert!(matches!(decide("planner", "echo", None, true), Decision::Deny(m) if m.contains("names none")));
        assert_eq!(decide("planner", "echo", None, false), Decision::Allow(1), "its own task's reads need no skill");
        assert!(matches!(decide("planner", "other", Some("echo"), true), Decision::Deny(_)));
        assert_eq!(decide("ops-1", "anything", None, true), Decision::Allow(2), "a stored rule is numbered after the file's");
        assert!(matches!(decide("stranger", "echo", Some("echo"), true), Decision::Deny(m) if m.contains("`stranger`")));
    }
}
