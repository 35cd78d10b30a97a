//! Removing secrets from captured bodies before they are stored.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

pub const REDACTED: &str = "[REDACTED]";

/// Credentials with a recognisable shape: provider and Weir keys, cloud and VCS tokens, bearer
/// tokens, JWTs and PEM private keys.
static TOKEN_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        r"|\bsk-[A-Za-z0-9_\-]{16,}",
        r"|\bwk_[A-Za-z0-9]{16,}",
        r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{30,}",
        r"|\bgithub_pat_[A-Za-z0-9_]{30,}",
        r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}",
        r"|\bAIza[0-9A-Za-z_\-]{35}",
        r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,}=*",
    ))
    .unwrap_or_else(|e| unreachable!("static pattern: {e}"))
});

/// JSON members whose name says they hold a secret: the name stays, the value goes.
static SECRET_MEMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("(?:password|passwd|secret|client_secret|api_key|apikey|api-key|access_token|refresh_token|private_key|authorization|x-api-key)"\s*:\s*)"(?:[^"\\]|\\.)*""#)
        .unwrap_or_else(|e| unreachable!("static pattern: {e}"))
});

/// Literal starts of everything the patterns above can match, for a quick first pass: most
/// bodies hold none, and then neither pattern needs to run. ASCII case is ignored, which only
/// ever lets more text through to the patterns.
static MARKERS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "-----BEGIN", "sk-", "wk_", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "eyJ",
            "bearer", "password", "passwd", "secret", "api_key", "apikey", "api-key", "access_token", "refresh_token",
            "private_key", "authorization",
        ])
        .unwrap_or_else(|e| unreachable!("static literals: {e}"))
});

/// The secrets this gateway holds (provider keys, credentials configured for MCP backends, the
/// admin token): wherever one appears — a provider or backend that echoes what it was sent, in
/// what an agent receives, a captured body, an audit field or a log line — it is removed,
/// whatever its shape. Each is searched for with its own vectorised substring finder: a
/// handful of exact strings, looked for in every answer Weir relays, where a general automaton
/// would spend far more per byte.
struct KnownSecrets {
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl KnownSecrets {
    /// The leftmost match at or after `from`, the longest there: (start, end).
    fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        let rest = hay.get(from..)?;
        self.finders.iter().filter_map(|f| f.find(rest).map(|i| (from + i, from + i + f.needle().len()))).min_by_key(|&(start, end)| (start, usize::MAX - end))
    }

    fn holds(&self, hay: &[u8]) -> bool {
        self.finders.iter().any(|f| f.find(hay).is_some())
    }

    /// `hay` with every match replaced, or `None` when it holds none.
    fn replace(&self, hay: &[u8]) -> Option<Vec<u8>> {
        let (mut start, mut end) = self.find(hay, 0)?;
        let mut out = Vec::with_capacity(hay.len());
        let mut at = 0;
        loop {
            out.extend_from_slice(&hay[at..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            at = end;
            match self.find(hay, at) {
                Some(m) => (start, end) = m,
                None => break,
            }
        }
        out.extend_from_slice(&hay[at..]);
        Some(out)
    }
}

static KNOWN: LazyLock<arc_swap::ArcSwapOption<KnownSecrets>> = LazyLock::new(arc_swap::ArcSwapOption::empty);

/// Every secret known so far. Secrets are learnt and, in a running gateway, never forgotten: a
/// config reload adds the new config's, and the old ones stay known (a replaced key may still
/// be in use by a call in flight, and MCP backends keep the credentials they started with).
/// It grows only with edits of the config file.
static SOURCES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Replaces every known secret (values shorter than 8 characters are left out: too likely to
/// be ordinary text). Each is also looked for as it appears inside a JSON string.
pub fn set_known_secrets(secrets: impl IntoIterator<Item = String>) {
    let mut known = SOURCES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *known = secrets.into_iter().collect();
    install(&known);
}

/// Adds secrets to the known ones (a config coming into force, a generated admin token).
pub fn learn_secrets(secrets: impl IntoIterator<Item = String>) {
    let mut known = SOURCES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for s in secrets {
        if !known.contains(&s) {
            known.push(s);
        }
    }
    install(&known);
}

fn install(known: &[String]) {
    let mut values: Vec<String> = Vec::new();
    for s in known.iter().filter(|s| s.len() >= 8) {
        let escaped = serde_json::to_string(s).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != s && !values.iter().any(|v| v == escaped) {
            values.push(escaped.to_string());
        }
        if !values.contains(s) {
            values.push(s.clone());
        }
    }
    let known = (!values.is_empty()).then(|| KnownSecrets { finders: values.iter().map(|v| memchr::memmem::Finder::new(v.as_bytes()).into_owned()).collect() });
    KNOWN.store(known.map(std::sync::Arc::new));
}

/// Whether `bytes` hold a secret of this gateway's config.
pub fn holds_known_secret(bytes: &[u8]) -> bool {
    KNOWN.load().as_deref().is_some_and(|k| k.holds(bytes))
}

/// `bytes` with every secret of this gateway's config replaced, or `None` when they hold none
/// (the common case costs one scan and no copy).
pub fn redact_known_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    KNOWN.load().as_deref()?.replace(bytes)
}

/// `text` with every secret of this gateway's config replaced.
pub fn redact_known_text(text: &str) -> Cow<'_, str> {
    redact_known(Cow::Borrowed(text))
}

/// The known secrets are one set for the process: unit tests that change it take turns.
#[cfg(test)]
pub(crate) static KNOWN_SET: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn redact_known(text: Cow<'_, str>) -> Cow<'_, str> {
    match redact_known_bytes(text.as_bytes()) {
        // Whole secrets (text) replaced by text: still UTF-8.
        Some(clean) => Cow::Owned(String::from_utf8(clean).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
        None => text,
    }
}

pub fn redact_secrets(text: &str) -> String {
    redact(text).into_owned()
}

/// `text` without credential-shaped tokens and without the config's secrets: for a message
/// that goes where no secret may (a span's status, say).
pub fn scrub_text(text: &str) -> String {
    redact_known(redact(text)).into_owned()
}

fn redact(text: &str) -> Cow<'_, str> {
    if !MARKERS.is_match(text) {
        return Cow::Borrowed(text);
    }
    match TOKEN_PATTERN.replace_all(text, REDACTED) {
        Cow::Borrowed(t) => SECRET_MEMBER.replace_all(t, format!("$1\"{REDACTED}\"")),
        Cow::Owned(t) => Cow::Owned(SECRET_MEMBER.replace_all(&t, format!("$1\"{REDACTED}\"")).into_owned()),
    }
}

/// The text stored for a body: redacted, then cut to `max` bytes on a character boundary with
/// a marker saying how much was cut. Redaction looks a little past the cut so that a secret
/// straddling it is still recognised.
pub fn capture_body(body: &[u8], max: usize) -> String {
    let window = &body[..body.len().min(max.saturating_add(1024))];
    // NUL is valid UTF-8 but no text column (Postgres) takes it.
    let text: Cow<'_, str> = match std::str::from_utf8(window) {
        Ok(t) if memchr::memchr(0, window).is_none() => Cow::Borrowed(t),
        _ => Cow::Owned(String::from_utf8_lossy(window).replace('\0', "\u{FFFD}")),
    };
    let mut out = redact_known(redact(&text)).into_owned();
    if body.len() > max || out.len() > max {
        let mut cut = max.min(out.len());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(&format!("…[truncated; {} bytes in all]", body.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_known_token_shapes() {
        let cases = [
            "sk-proj-abcdefghijklmnopqrstuvwx",
            "sk-ant-api03-abcdefghijklmnop_qrstu",
            "wk_3kQ9x7ZbLmP2aR5tY8uW1vN4",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "xoxb-1234567890-abcdefghij",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ];
        for secret in cases {
            let text = format!("my key is {secret} ok");
            let out = redact_secrets(&text);
            assert!(!out.contains(secret), "{secret} survived: {out}");
            assert_eq!(out, format!("my key is {REDACTED} ok"));
        }
    }

    use super::KNOWN_SET;

    #[test]
    fn known_secrets_are_removed_whatever_their_shape() {
        let _turn = KNOWN_SET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        set_known_secrets(["plain-credential-42".to_string(), "short".to_string()]);
        let out = capture_body(br#"{"echo": "auth was plain-credential-42", "n": "short"}"#, 1000);
        assert_eq!(out, r#"{"echo": "auth was [REDACTED]", "n": "short"}"#);
        set_known_secrets(Vec::new());
        assert!(capture_body(b"plain-credential-42", 100).contains("plain-credential-42"));
    }

    #[test]
    fn overlapping_and_repeated_secrets_are_all_replaced() {
        let _turn = KNOWN_SET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        set_known_secrets(["abcdefgh".to_string(), "abcdefgh-longer".to_string()]);
        assert_eq!(redact_known_text("x abcdefgh-longer y abcdefgh z abcdefghabcdefgh"), "x [REDACTED] y [REDACTED] z [REDACTED][REDACTED]");
        set_known_secrets(Vec::new());
    }

    #[test]
    fn secrets_learnt_stay_known_when_more_are_learnt() {
        let _turn = KNOWN_SET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        set_known_secrets(Vec::new());
        learn_secrets(["first-config-key-1234".to_string()]);
        learn_secrets(["second-config-key-5678".to_string(), "first-config-key-1234".to_string()]);
        assert_eq!(redact_known_text("first-config-key-1234 second-config-key-5678"), "[REDACTED] [REDACTED]");
        set_known_secrets(Vec::new());
        assert_eq!(redact_known_text("first-config-key-1234"), "first-config-key-1234");
    }

    #[test]
    fn known_secrets_are_found_in_bytes_and_in_json_strings() {
        let _turn = KNOWN_SET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        set_known_secrets(["tok/with\"quote-9".to_string(), "abcdefgh12345".to_string()]);
        assert!(holds_known_secret(b"x abcdefgh12345 y"));
        assert_eq!(redact_known_bytes(b"x abcdefgh12345 y").unwrap(), b"x [REDACTED] y");
        assert_eq!(redact_known_bytes(b"nothing here"), None);
        // As a JSON string carries it: the quote escaped.
        let json = serde_json::json!({"echo": "tok/with\"quote-9"}).to_string();
        assert_eq!(String::from_utf8(redact_known_bytes(json.as_bytes()).unwrap()).unwrap(), r#"{"echo":"[REDACTED]"}"#);
        assert_eq!(redact_known_text("a abcdefgh12345"), "a [REDACTED]");
        set_known_secrets(Vec::new());
        assert!(!holds_known_secret(b"abcdefgh12345"));
    }

    #[test]
    fn redacts_bearer_and_pem() {
        let out = redact_secrets("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345");
        assert_eq!(out, format!("Authorization: {REDACTED}"));
        let pem = "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- y";
        assert_eq!(redact_secrets(pem), format!("x {REDACTED} y"));
    }

    #[test]
    fn redacts_secret_json_members_keeping_names() {
        let out = redact_secrets(r#"{"user":"ann","password":"hunter2 \"x\"","Api_Key":"k"}"#);
        assert_eq!(out, format!(r#"{{"user":"ann","password":"{REDACTED}","Api_Key":"{REDACTED}"}}"#));
    }

    #[test]
    fn every_pattern_has_a_marker() {
        // Each shape the patterns redact must pass the quick first pass, whatever its case.
        for secret in [
            "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----",
            "sk-abcdefghijklmnopqrstu",
            "wk_abcdefghijklmnopqrst",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_abcdefghijklmnopqrstuvwxyz0123456789",
            "xoxp-1234567890-abcdefghij",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
            "BEARER abcdefghijklmnopqrstuvwxyz",
            r#""PassWord":"x""#,
            r#""client_secret":"x""#,
            r#""X-Api-Key":"x""#,
            r#""refresh_token":"x""#,
        ] {
            assert!(MARKERS.is_match(secret), "{secret}");
            assert!(redact_secrets(secret).contains(REDACTED), "{secret}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"ask about skeletons and tasks"}]}"#;
        assert_eq!(redact_secrets(text), text);
    }

    #[test]
    fn capture_cuts_on_char_boundary_and_says_so() {
        let body = "é".repeat(100);
        let out = capture_body(body.as_bytes(), 11);
        assert!(out.starts_with("ééééé"), "{out}");
        assert!(out.contains("[truncated; 200 bytes in all]"), "{out}");
        assert_eq!(capture_body(b"short", 100), "short");
        assert_eq!(capture_body(b"a\0b", 100), "a\u{FFFD}b");
    }

    #[test]
    fn capture_redacts_a_secret_straddling_the_cut() {
        let body = "aaaa sk-abcdefghijklmnopqrstuvwxyz tail";
        let out = capture_body(body.as_bytes(), 12);
        assert!(!out.contains("sk-abcdef"), "{out}");
    }
}
