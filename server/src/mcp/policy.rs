//! Access control over MCP: which agent (and end user) may use which tool, resource, prompt or
//! other method, with which arguments.
//!
//! Rules name what they allow in the aggregate endpoint's form whichever endpoint a request
//! came through: tools and prompts as `server__name`, resources as `server+uri` (URI globs),
//! other methods as `server__method`. With no rule at all, everything is allowed (a gateway that
//! only records); once any rule exists, what no rule allows is denied — reading a resource,
//! getting a prompt, completing an argument of either, calling a method Weir does not know —
//! and lists show only what the agent may use. The protocol's plumbing (`initialize`, `ping`,
//! notifications, `logging/setLevel`, answers to a backend's requests) needs no rule.
//!
//! A rule allows a request when its target, agent and user match and every argument constraint
//! holds on the *normalised* argument value, so a `../` cannot walk out of an allowed path
//! prefix; a resource URI is matched only once its percent-escapes and `.`/`..` segments are
//! resolved, for the same reason. This module decides; it never calls anything.

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
pub struct Rule {
    /// 1-based position in the config, as errors name it.
    pub number: usize,
    /// `server__tool` globs.
    pub tools: Vec<Glob>,
    /// `server+uri` globs (resource URIs and resource templates).
    pub resources: Vec<Glob>,
    /// `server__prompt` globs.
    pub prompts: Vec<Glob>,
    /// `server__method` globs, for methods Weir does not know (passed to one server's endpoint).
    pub methods: Vec<Glob>,
    pub agents: Vec<Glob>,
    /// `None`: any user, or none.
    pub users: Option<Vec<Glob>>,
    /// Constraints on a tool call's or a prompt's arguments.
    pub arguments: Vec<(String, ArgConstraint)>,
    pub require_approval: bool,
}

/// What a request uses, in the aggregate endpoint's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Tool(&'a str),
    /// A resource's URI, normalised (see [`normalize_uri`]) and prefixed with its server.
    Resource(&'a str),
    /// A resource template (`server+uri-template`): allowed when some URI it stands for could be.
    Template(&'a str),
    Prompt(&'a str),
    Method(&'a str),
}

impl Target<'_> {
    /// How a refusal names what was asked for (a client's name, cut to a sane length).
    fn describe(&self) -> String {
        match self {
            Self::Tool(n) => format!("calling `{}`", crate::audit::clip(n)),
            Self::Resource(u) => format!("reading `{}`", crate::audit::clip(u)),
            Self::Template(u) => format!("the resource template `{}`", crate::audit::clip(u)),
            Self::Prompt(n) => format!("the prompt `{}`", crate::audit::clip(n)),
            Self::Method(m) => format!("the method `{}`", crate::audit::clip(m)),
        }
    }
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

impl Rule {
    fn names(&self, target: &Target<'_>) -> bool {
        match target {
            Target::Tool(n) => self.tools.iter().any(|g| g.matches(n)),
            Target::Resource(u) => self.resources.iter().any(|g| g.matches(u)),
            Target::Template(t) => t.len() <= MAX_URI_BYTES && self.resources.iter().any(|g| globs_intersect(g.as_str(), &template_glob(t))),
            Target::Prompt(n) => self.prompts.iter().any(|g| g.matches(n)),
            Target::Method(m) => self.methods.iter().any(|g| g.matches(m)),
        }
    }

    fn applies(&self, target: &Target<'_>, agent: &str, user: Option<&str>) -> bool {
        self.names(target)
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

/// Whether `target` may be used by `agent` for `user`, with `args` (a tool call's or a prompt's
/// arguments; constraints apply to those).
pub fn decide(rules: &[Rule], target: Target<'_>, agent: &str, user: Option<&str>, args: &Value) -> Decision {
    if rules.is_empty() {
        return Decision::Allow { rule: None };
    }
    let mut refusal: Option<(usize, String)> = None;
    for r in rules.iter().filter(|r| r.applies(&target, agent, user)) {
        let broken = match target {
            Target::Tool(_) | Target::Prompt(_) => r.broken_constraint(args),
            _ => None,
        };
        match broken {
            None if r.require_approval => return Decision::NeedsApproval { rule: r.number },
            None => return Decision::Allow { rule: Some(r.number) },
            Some(why) => {
                refusal.get_or_insert((r.number, why));
            }
        }
    }
    match refusal {
        Some((rule, why)) => Decision::Deny { rule: Some(rule), reason: format!("denied by policy: rule {rule}: {why}") },
        None => Decision::Deny { rule: None, reason: format!("denied by policy: no rule allows {} for this agent", target.describe()) },
    }
}

/// Whether a list shows `target` to this agent: some rule could allow it (argument
/// constraints are checked per request).
pub fn may_see(rules: &[Rule], target: Target<'_>, agent: &str, user: Option<&str>) -> bool {
    rules.is_empty() || applying_rule(rules, target, agent, user).is_some()
}

/// The first rule that names `target` for this agent and user, whatever its constraints.
pub fn applying_rule(rules: &[Rule], target: Target<'_>, agent: &str, user: Option<&str>) -> Option<usize> {
    rules.iter().find(|r| r.applies(&target, agent, user)).map(|r| r.number)
}

/// The rules that name the tool `name` (`server__tool`), in config order, as the admin API shows
/// them: who may call it, and how (argument constraints by name, approval).
pub fn rules_naming_tool(rules: &[Rule], name: &str) -> Vec<weir_api::ToolRule> {
    rules
        .iter()
        .filter(|rule| rule.names(&Target::Tool(name)))
        .map(|rule| weir_api::ToolRule {
            rule: rule.number,
            agents: rule.agents.iter().map(|g| g.as_str().to_string()).collect(),
            users: rule.users.as_ref().map(|u| u.iter().map(|g| g.as_str().to_string()).collect()),
            arguments: rule.arguments.iter().map(|(a, _)| a.clone()).collect(),
            require_approval: rule.require_approval,
        })
        .collect()
}

/// Who may call the tool `name`, said for a person: with no rules every agent may; once rules
/// exist, only the agents of the rules that name it (none when no rule does).
pub fn callable_by(rules: &[Rule], name: &str) -> &'static str {
    match (rules.is_empty(), rules.iter().any(|rule| rule.names(&Target::Tool(name)))) {
        (true, _) => "every agent (there are no rules)",
        (false, false) => "no agent: no rule names it",
        (false, true) => "the agents its rules name",
    }
}

/// A URI template as a glob: each `{expression}` stands for any text.
fn template_glob(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut depth = 0usize;
    for c in template.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push('*');
                }
                depth += 1;
            }
            '}' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether some text matches both globs (`*` any run, `?` one character): a search over pairs
/// of positions, so linear in the product of their lengths.
fn globs_intersect(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut seen = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        let k = i * (b.len() + 1) + j;
        if std::mem::replace(&mut seen[k], true) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        // A star may match nothing.
        if a.get(i) == Some(&'*') {
            todo.push((i + 1, j));
        }
        if b.get(j) == Some(&'*') {
            todo.push((i, j + 1));
        }
        // Both take one more character, if any can be both.
        if let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
            let one = x == '*' || x == '?' || y == '*' || y == '?' || x == y;
            if one {
                todo.push((if x == '*' { i } else { i + 1 }, if y == '*' { j } else { j + 1 }));
            }
        }
    }
    false
}

/// The longest resource URI (or template) rules are matched against; a longer one is refused
/// when rules exist.
pub const MAX_URI_BYTES: usize = 2048;

/// A resource URI as rules see it, read as leniently as any server might read it, so that no
/// reading escapes a rule: tab and line breaks dropped (URL parsers drop them), the scheme
/// lower-cased, the query and fragment split off where the URI itself has `?` or `#` (an
/// escaped one is part of the path), the path's percent-escapes decoded (repeatedly, as a
/// lenient server might), `\` taken as a separator (as URL parsers do for `file:`), and `.`
/// and `..` segments resolved with `//` collapsed. `None` when it is too long, cannot be read
/// as text, holds a control character once decoded, is still changing after four decodings,
/// or climbs above its root.
pub fn normalize_uri(uri: &str) -> Option<String> {
    if uri.len() > MAX_URI_BYTES {
        return None;
    }
    let raw: String = uri.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let (scheme, rest) = match raw.split_once(':') {
        Some((s, r)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) => (Some(s.to_ascii_lowercase()), r),
        _ => (None, raw.as_str()),
    };
    let (hier, tail) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (authority, path) = match hier.strip_prefix("//") {
        Some(after) => match after.find(['/', '\\']) {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        },
        None => ("", hier),
    };
    let path = decode_fully(path)?.replace('\\', "/");
    let path = if path.starts_with('/') {
        normalize_path(&path)?
    } else if path.is_empty() {
        String::new()
    } else {
        // A relative path (`urn:`-like): its segments resolved, never above its start.
        normalize_path(&format!("/{path}"))?[1..].to_string()
    };
    let (authority, tail) = (decode_fully(authority)?, decode_fully(tail)?);
    // An authority that decodes to a separator would move the path's start for a server that
    // decodes the whole URI (`file://%2Fsrv%2F..%2Fetc`): refused.
    if authority.contains(['/', '\\', '?', '#']) {
        return None;
    }
    Some(match scheme {
        Some(scheme) if hier.starts_with("//") => format!("{scheme}://{authority}{path}{tail}"),
        Some(scheme) => format!("{scheme}:{path}{tail}"),
        None => format!("{path}{tail}"),
    })
}

/// Percent-escapes decoded until nothing changes (at most four rounds); `None` when the text
/// is not UTF-8 then, holds a control character, or would change again.
fn decode_fully(text: &str) -> Option<String> {
    let mut text = text.to_string();
    for round in 0..=4 {
        let decoded = percent_decode(&text)?;
        if decoded == text {
            return (!text.chars().any(char::is_control)).then_some(text);
        }
        if round == 4 {
            return None;
        }
        text = decoded;
    }
    None
}

/// `%XX` escapes decoded (once); `None` when the result is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
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

    fn rule(number: usize, tools: &[&str], agents: &[&str]) -> Rule {
        Rule {
            number,
            tools: tools.iter().map(|t| Glob::new(t)).collect(),
            resources: vec![],
            prompts: vec![],
            methods: vec![],
            agents: agents.iter().map(|a| Glob::new(a)).collect(),
            users: None,
            arguments: vec![],
            require_approval: false,
        }
    }

    fn resources(number: usize, uris: &[&str], agents: &[&str]) -> Rule {
        Rule { resources: uris.iter().map(|u| Glob::new(u)).collect(), tools: vec![], ..rule(number, &[], agents) }
    }

    fn tool<'a>(n: &'a str) -> Target<'a> {
        Target::Tool(n)
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
        assert_eq!(decide(&[], tool("a__b"), "x", None, &json!({})), Decision::Allow { rule: None });
        let rules = vec![rule(1, &["files__read_*"], &["researcher"])];
        assert_eq!(decide(&rules, tool("files__read_file"), "researcher", None, &json!({})), Decision::Allow { rule: Some(1) });
        assert!(matches!(decide(&rules, tool("files__write_file"), "researcher", None, &json!({})), Decision::Deny { rule: None, .. }));
        assert!(matches!(decide(&rules, tool("files__read_file"), "other", None, &json!({})), Decision::Deny { .. }));
        assert!(may_see(&rules, tool("files__read_file"), "researcher", None));
        assert!(!may_see(&rules, tool("files__write_file"), "researcher", None));
    }

    #[test]
    fn users_and_approval() {
        let mut r = rule(1, &["*"], &["*"]);
        r.users = Some(vec![Glob::new("alice")]);
        r.require_approval = true;
        let rules = vec![r];
        assert_eq!(decide(&rules, tool("a__b"), "x", Some("alice"), &json!({})), Decision::NeedsApproval { rule: 1 });
        assert!(matches!(decide(&rules, tool("a__b"), "x", Some("bob"), &json!({})), Decision::Deny { .. }));
        assert!(matches!(decide(&rules, tool("a__b"), "x", None, &json!({})), Decision::Deny { .. }));
    }

    #[test]
    fn path_prefixes_hold_after_normalisation() {
        let mut r = rule(2, &["files__*"], &["*"]);
        r.arguments = vec![("path".into(), ArgConstraint::PathPrefix("/data/".into()))];
        let rules = vec![r];
        let call = |p: Value| decide(&rules, tool("files__read"), "a", None, &json!({"path": p}));
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
        assert!(matches!(decide(&rules, tool("files__read"), "a", None, &json!({})), Decision::Deny { .. }));
    }

    #[test]
    fn value_sets_and_patterns() {
        let mut r = rule(1, &["*"], &["*"]);
        r.arguments = vec![
            ("mode".into(), ArgConstraint::OneOf(vec![json!("r"), json!("ro")])),
            ("name".into(), ArgConstraint::Pattern(regex::Regex::new("^(?:[a-z]+)$").unwrap())),
        ];
        let rules = vec![r];
        assert!(matches!(decide(&rules, tool("a__b"), "x", None, &json!({"mode": "r", "name": "abc"})), Decision::Allow { .. }));
        assert!(matches!(decide(&rules, tool("a__b"), "x", None, &json!({"mode": "rw", "name": "abc"})), Decision::Deny { .. }));
        assert!(matches!(decide(&rules, tool("a__b"), "x", None, &json!({"mode": "r", "name": "abc1"})), Decision::Deny { .. }));
    }

    #[test]
    fn a_later_rule_can_allow_what_an_earlier_one_constrains() {
        let mut narrow = rule(1, &["files__*"], &["*"]);
        narrow.arguments = vec![("path".into(), ArgConstraint::PathPrefix("/data".into()))];
        let wide = rule(2, &["files__*"], &["admin"]);
        let rules = vec![narrow, wide];
        assert_eq!(decide(&rules, tool("files__read"), "admin", None, &json!({"path": "/etc"})), Decision::Allow { rule: Some(2) });
        assert!(matches!(decide(&rules, tool("files__read"), "user", None, &json!({"path": "/etc"})), Decision::Deny { rule: Some(1), .. }));
    }

    fn uri(u: &str) -> String {
        normalize_uri(u).unwrap_or_else(|| panic!("{u} did not normalise"))
    }

    #[test]
    fn uris_are_normalised_before_they_are_matched() {
        assert_eq!(uri("file:///data/./a//b/../c.txt"), "file:///data/a/c.txt");
        assert_eq!(uri("file:///data/%2e%2e/etc/passwd"), "file:///etc/passwd");
        assert_eq!(uri("file:///data/%252e%252e/etc/passwd"), "file:///etc/passwd", "decoded as often as a lenient server would");
        assert_eq!(uri("FILE:///data/x%2Fy"), "file:///data/x/y");
        assert_eq!(uri("demo://resource/static/../dynamic/1?x=../y"), "demo://resource/dynamic/1?x=../y", "only the path is resolved");
        assert_eq!(uri("test://static-text"), "test://static-text");
        assert_eq!(normalize_uri("file:///../etc/passwd"), None, "above the root");
        assert_eq!(normalize_uri("file://%2Fsrv%2Fdata%2F..%2F..%2Fetc%2Fpasswd"), None, "a separator escaped into the authority");
        assert_eq!(normalize_uri("file://host%5C..%5Cetc/passwd"), None);
        assert_eq!(normalize_uri("file://host%3F/x"), None);
        assert_eq!(normalize_uri("https://user@Host:8080/a/./b").as_deref(), Some("https://user@Host:8080/a/b"));
        assert_eq!(normalize_uri("file:///data/%00x"), None);
        assert_eq!(normalize_uri("file:///data/%ff"), None, "not text");
        // An escaped `?` or `#` is part of the path: what follows it is resolved as segments.
        assert_eq!(uri("file:///srv/data/x%3F/../../../etc/passwd"), "file:///etc/passwd");
        assert_eq!(uri("file:///srv/data/x%23/../../../etc/passwd"), "file:///etc/passwd");
        // Tab and line breaks are dropped, as URL parsers drop them; decoded ones are refused.
        assert_eq!(uri("file:///srv/data/.\t./.\t./etc/passwd"), "file:///etc/passwd");
        assert_eq!(normalize_uri("file:///srv/data/%09x"), None);
        // A backslash separates segments.
        assert_eq!(uri("file:///srv/data/..\\..\\etc\\passwd"), "file:///etc/passwd");
        assert_eq!(uri("file:///srv/data/%5c..%5c..%5cetc"), "file:///etc");
        // Still changing after four decodings: refused, not half read.
        assert_eq!(normalize_uri("file:///a/%25252525252e"), None);
        assert_eq!(normalize_uri(&format!("file:///{}", "a".repeat(MAX_URI_BYTES))), None, "too long");
    }

    #[test]
    fn resources_prompts_and_methods_are_denied_unless_a_rule_allows_them() {
        let mut prompts = rule(2, &[], &["writer"]);
        prompts.prompts = vec![Glob::new("files__summarize*")];
        let mut methods = rule(3, &[], &["*"]);
        methods.methods = vec![Glob::new("files__tasks/*")];
        let rules = vec![rule(1, &["files__read_file"], &["reader"]), prompts, methods, resources(4, &["files+file:///data/*"], &["reader"])];
        let read = |u: &str, agent: &str| decide(&rules, Target::Resource(&format!("files+{}", uri(u))), agent, None, &json!({}));
        assert_eq!(read("file:///data/report.txt", "reader"), Decision::Allow { rule: Some(4) });
        // The same file through a `..` or an escaped one: it is outside.
        for sneaky in ["file:///data/../etc/passwd", "file:///data/%2e%2e/etc/passwd", "file:///etc/passwd"] {
            match read(sneaky, "reader") {
                Decision::Deny { rule: None, reason } => assert!(reason.contains("no rule allows reading `files+file:///etc/passwd`"), "{reason}"),
                d => panic!("{sneaky}: {d:?}"),
            }
        }
        assert!(matches!(read("file:///data/report.txt", "writer"), Decision::Deny { .. }), "another agent");
        assert_eq!(decide(&rules, Target::Prompt("files__summarize_doc"), "writer", None, &json!({})), Decision::Allow { rule: Some(2) });
        assert!(matches!(decide(&rules, Target::Prompt("files__summarize_doc"), "reader", None, &json!({})), Decision::Deny { .. }));
        assert_eq!(decide(&rules, Target::Method("files__tasks/get"), "anyone", None, &json!({})), Decision::Allow { rule: Some(3) });
        match decide(&rules, Target::Method("files__made/up"), "anyone", None, &json!({})) {
            Decision::Deny { reason, .. } => assert!(reason.contains("the method `files__made/up`"), "{reason}"),
            d => panic!("{d:?}"),
        }
        // A tool rule says nothing of resources, and a resource rule nothing of tools.
        assert!(matches!(decide(&rules, tool("files__read_file"), "reader", None, &json!({})), Decision::Allow { .. }));
        assert!(matches!(read("file:///data/x", "nobody"), Decision::Deny { .. }));
        // No rules at all: everything, as before.
        assert_eq!(decide(&[], Target::Resource("files+file:///etc/passwd"), "a", None, &json!({})), Decision::Allow { rule: None });
    }

    #[test]
    fn prompt_arguments_are_constrained_like_tool_arguments() {
        let mut r = rule(1, &[], &["*"]);
        r.prompts = vec![Glob::new("files__*")];
        r.arguments = vec![("path".into(), ArgConstraint::PathPrefix("/data".into()))];
        let rules = vec![r];
        assert!(matches!(decide(&rules, Target::Prompt("files__explain"), "a", None, &json!({"path": "/data/x"})), Decision::Allow { .. }));
        assert!(matches!(decide(&rules, Target::Prompt("files__explain"), "a", None, &json!({"path": "/data/../etc"})), Decision::Deny { rule: Some(1), .. }));
    }

    #[test]
    fn a_template_is_visible_when_some_uri_it_stands_for_could_be_read() {
        let rules = vec![resources(1, &["files+file:///data/*"], &["*"])];
        let template = |t: &str| may_see(&rules, Target::Template(t), "a", None);
        assert!(template("files+file:///data/{path}"));
        assert!(template("files+file:///{path}"), "it stands for files under /data too");
        assert!(!template("files+file:///etc/{name}"));
        assert!(!template("other+file:///data/{path}"));
        assert!(template("files+file:///data/{dir}/{name}.txt"));
    }

    #[test]
    fn glob_intersection() {
        assert!(globs_intersect("a*", "*b"));
        assert!(globs_intersect("a?c", "*"));
        assert!(!globs_intersect("abc", "abd"));
        assert!(!globs_intersect("a*x", "b*"));
        assert!(globs_intersect("x*y*z", "x*z"));
        assert!(!globs_intersect("a?", "a"));
    }

    #[test]
    fn the_rules_naming_a_tool_say_who_may_call_it() {
        assert_eq!(callable_by(&[], "files__read"), "every agent (there are no rules)");
        assert!(rules_naming_tool(&[], "files__read").is_empty());

        let mut constrained = rule(2, &["files__*"], &["researcher", "ops-*"]);
        constrained.users = Some(vec![Glob::new("alice")]);
        constrained.arguments = vec![("path".into(), ArgConstraint::PathPrefix("/data/".into()))];
        constrained.require_approval = true;
        let rules = vec![rule(1, &["web__fetch"], &["*"]), constrained, rule(3, &["files__read"], &["auditor"])];

        let naming = rules_naming_tool(&rules, "files__read");
        assert_eq!(
            naming,
            vec![
                weir_api::ToolRule {
                    rule: 2,
                    agents: vec!["researcher".into(), "ops-*".into()],
                    users: Some(vec!["alice".into()]),
                    arguments: vec!["path".into()],
                    require_approval: true,
                },
                weir_api::ToolRule { rule: 3, agents: vec!["auditor".into()], users: None, arguments: vec![], require_approval: false },
            ]
        );
        assert_eq!(callable_by(&rules, "files__read"), "the agents its rules name");

        // A resource or prompt of the same name is not the tool.
        let other = vec![Rule { prompts: vec![Glob::new("files__read")], tools: vec![], ..rule(4, &[], &["*"]) }];
        assert!(rules_naming_tool(&other, "files__read").is_empty());
        assert_eq!(callable_by(&other, "files__read"), "no agent: no rule names it");
        assert_eq!(callable_by(&rules, "mail__send"), "no agent: no rule names it");
    }
}
