//! Tool-level access control: which agent (and end user) may call which tool, with which
//! arguments.
//!
//! Rules name tools in their prefixed form (`server__tool`) whichever endpoint a call came
//! through. With no rule at all, every call is allowed (a gateway that only records); once any
//! rule exists, what no rule allows is denied. A rule allows a call when its tool pattern, agent
//! and user match and every argument constraint holds on the *normalised* argument value, so a
//! `../` cannot walk out of an allowed path prefix. This module decides; it never calls anything.

use serde_json::Value;

/// A glob over names: `*` any run of characters, `?` one character; everything else literal
/// and case-sensitive (tool names are matched exactly as the backend lists them).
#[derive(Debug, Clone, PartialEq)]
pub struct Glob(String);

impl Glob {
    pub fn new(pattern: &str) -> Self {
        Self(pattern.to_string())
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn glob_match(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard matching with one backtrack point: linear in practice.
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// A constraint on one argument of a call.
#[derive(Debug, Clone)]
pub enum ArgConstraint {
    /// A string that, once normalised as a path (`.`/`..` resolved, repeated `/` collapsed),
    /// lies under this absolute prefix.
    PathPrefix(String),
    /// One of these JSON values exactly.
    OneOf(Vec<Value>),
    /// A string matching this regular expression in full.
    Pattern(regex::Regex),
}

#[derive(Debug, Clone)]
pub struct ToolRule {
    /// 1-based position in the config, as errors name it.
    pub number: usize,
    pub tools: Vec<Glob>,
    pub agents: Vec<Glob>,
    /// `None`: any user, or none.
    pub users: Option<Vec<Glob>>,
    pub arguments: Vec<(String, ArgConstraint)>,
    pub require_approval: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// `rule`: the rule that allowed it (`None` when there are no rules at all).
    Allow { rule: Option<usize> },
    /// Allowed once a person approves it.
    NeedsApproval { rule: usize },
    Deny { rule: Option<usize>, reason: String },
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Allow { .. } => "allow",
            Self::NeedsApproval { .. } => "approval",
            Self::Deny { .. } => "deny",
        }
    }
    pub fn rule(&self) -> Option<usize> {
        match self {
            Self::Allow { rule } | Self::Deny { rule, .. } => *rule,
            Self::NeedsApproval { rule } => Some(*rule),
        }
    }
}

impl ToolRule {
    fn applies(&self, tool: &str, agent: &str, user: Option<&str>) -> bool {
        self.tools.iter().any(|g| g.matches(tool))
            && self.agents.iter().any(|g| g.matches(agent))
            && match (&self.users, user) {
                (None, _) => true,
                (Some(users), Some(u)) => users.iter().any(|g| g.matches(u)),
                (Some(_), None) => false,
            }
    }

    /// The first argument constraint the call breaks, said for the caller.
    fn broken_constraint(&self, args: &Value) -> Option<String> {
        for (name, c) in &self.arguments {
            let v = args.get(name);
            let ok = match (c, v) {
                (_, None) => false,
                (ArgConstraint::PathPrefix(prefix), Some(Value::String(s))) => path_under(s, prefix),
                (ArgConstraint::OneOf(values), Some(v)) => values.contains(v),
                (ArgConstraint::Pattern(re), Some(Value::String(s))) => re.is_match(s),
                _ => false,
            };
            if !ok {
                let what = match c {
                    ArgConstraint::PathPrefix(p) => format!("must be a path under {p}"),
                    ArgConstraint::OneOf(values) => {
                        format!("must be one of {}", values.iter().map(Value::to_string).collect::<Vec<_>>().join(", "))
                    }
                    ArgConstraint::Pattern(re) => format!("must match {}", re.as_str()),
                };
                return Some(format!("argument `{name}` {what}"));
            }
        }
        None
    }
}

/// Whether `tool` (prefixed) may be called by `agent` for `user` with `args`.
pub fn decide(rules: &[ToolRule], tool: &str, agent: &str, user: Option<&str>, args: &Value) -> Decision {
    if rules.is_empty() {
        return Decision::Allow { rule: None };
    }
    let mut refusal: Option<(usize, String)> = None;
    for r in rules.iter().filter(|r| r.applies(tool, agent, user)) {
        match r.broken_constraint(args) {
            None if r.require_approval => return Decision::NeedsApproval { rule: r.number },
            None => return Decision::Allow { rule: Some(r.number) },
            Some(why) => {
                refusal.get_or_insert((r.number, why));
            }
        }
    }
    match refusal {
        Some((rule, why)) => Decision::Deny { rule: Some(rule), reason: format!("denied by policy: rule {rule}: {why}") },
        None => Decision::Deny { rule: None, reason: format!("denied by policy: no rule allows `{tool}` for this agent") },
    }
}

/// Whether `tools/list` shows `tool` to this agent: some rule could allow it (argument
/// constraints are checked per call).
pub fn may_see(rules: &[ToolRule], tool: &str, agent: &str, user: Option<&str>) -> bool {
    rules.is_empty() || rules.iter().any(|r| r.applies(tool, agent, user))
}

/// Lexical normalisation of an absolute path: `.` dropped, `..` resolved, `//` collapsed.
/// `None` for a relative path, a NUL byte, or `..` above the root.
pub fn normalize_path(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

fn path_under(path: &str, prefix: &str) -> bool {
    let (Some(p), Some(pre)) = (normalize_path(path), normalize_path(prefix)) else { return false };
    pre == "/" || p == pre || p.strip_prefix(&pre).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(number: usize, tools: &[&str], agents: &[&str]) -> ToolRule {
        ToolRule {
            number,
            tools: tools.iter().map(|t| Glob::new(t)).collect(),
            agents: agents.iter().map(|a| Glob::new(a)).collect(),
            users: None,
            arguments: vec![],
            require_approval: false,
        }
    }

    #[test]
    fn globs() {
        assert!(Glob::new("files__read_*").matches("files__read_file"));
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("a?c").matches("abc"));
        assert!(!Glob::new("files__read_*").matches("files__write_file"));
        // Case-sensitive: a name that differs in case is another name.
        assert!(!Glob::new("files__read_*").matches("FILES__READ_file"));
        assert!(Glob::new("*__echo").matches("everything__echo"));
        assert!(!Glob::new("*__echo").matches("everything__echo2"));
    }

    #[test]
    fn no_rules_allow_everything_and_any_rule_denies_the_rest() {
        assert_eq!(decide(&[], "a__b", "x", None, &json!({})), Decision::Allow { rule: None });
        let rules = vec![rule(1, &["files__read_*"], &["researcher"])];
        assert_eq!(decide(&rules, "files__read_file", "researcher", None, &json!({})), Decision::Allow { rule: Some(1) });
        assert!(matches!(decide(&rules, "files__write_file", "researcher", None, &json!({})), Decision::Deny { rule: None, .. }));
        assert!(matches!(decide(&rules, "files__read_file", "other", None, &json!({})), Decision::Deny { .. }));
        assert!(may_see(&rules, "files__read_file", "researcher", None));
        assert!(!may_see(&rules, "files__write_file", "researcher", None));
    }

    #[test]
    fn users_and_approval() {
        let mut r = rule(1, &["*"], &["*"]);
        r.users = Some(vec![Glob::new("alice")]);
        r.require_approval = true;
        let rules = vec![r];
        assert_eq!(decide(&rules, "a__b", "x", Some("alice"), &json!({})), Decision::NeedsApproval { rule: 1 });
        assert!(matches!(decide(&rules, "a__b", "x", Some("bob"), &json!({})), Decision::Deny { .. }));
        assert!(matches!(decide(&rules, "a__b", "x", None, &json!({})), Decision::Deny { .. }));
    }

    #[test]
    fn path_prefixes_hold_after_normalisation() {
        let mut r = rule(2, &["files__*"], &["*"]);
        r.arguments = vec![("path".into(), ArgConstraint::PathPrefix("/data/".into()))];
        let rules = vec![r];
        let call = |p: Value| decide(&rules, "files__read", "a", None, &json!({"path": p}));
        assert_eq!(call(json!("/data/x.txt")), Decision::Allow { rule: Some(2) });
        assert_eq!(call(json!("/data//sub/./x")), Decision::Allow { rule: Some(2) });
        for bad in [json!("/data/../etc/passwd"), json!("/etc/passwd"), json!("/database"), json!("data/x"), json!("/data/\0x"), json!(5), json!("/../data/x/../../etc")] {
            match call(bad.clone()) {
                Decision::Deny { rule, reason } => {
                    assert_eq!(rule, Some(2), "{bad}");
                    assert!(reason.contains("argument `path` must be a path under /data/"), "{reason}");
                }
                d => panic!("{bad} was not denied: {d:?}"),
            }
        }
        // A missing argument breaks the constraint too.
        assert!(matches!(decide(&rules, "files__read", "a", None, &json!({})), Decision::Deny { .. }));
    }

    #[test]
    fn value_sets_and_patterns() {
        let mut r = rule(1, &["*"], &["*"]);
        r.arguments = vec![
            ("mode".into(), ArgConstraint::OneOf(vec![json!("r"), json!("ro")])),
            ("name".into(), ArgConstraint::Pattern(regex::Regex::new("^(?:[a-z]+)$").unwrap())),
        ];
        let rules = vec![r];
        assert!(matches!(decide(&rules, "a__b", "x", None, &json!({"mode": "r", "name": "abc"})), Decision::Allow { .. }));
        assert!(matches!(decide(&rules, "a__b", "x", None, &json!({"mode": "rw", "name": "abc"})), Decision::Deny { .. }));
        assert!(matches!(decide(&rules, "a__b", "x", None, &json!({"mode": "r", "name": "abc1"})), Decision::Deny { .. }));
    }

    #[test]
    fn a_later_rule_can_allow_what_an_earlier_one_constrains() {
        let mut narrow = rule(1, &["files__*"], &["*"]);
        narrow.arguments = vec![("path".into(), ArgConstraint::PathPrefix("/data".into()))];
        let wide = rule(2, &["files__*"], &["admin"]);
        let rules = vec![narrow, wide];
        assert_eq!(decide(&rules, "files__read", "admin", None, &json!({"path": "/etc"})), Decision::Allow { rule: Some(2) });
        assert!(matches!(decide(&rules, "files__read", "user", None, &json!({"path": "/etc"})), Decision::Deny { rule: Some(1), .. }));
    }
}
