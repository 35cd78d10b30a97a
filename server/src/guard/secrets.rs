//! Secrets: provider and cloud API keys, VCS and chat tokens, JWTs, PEM private keys, and
//! high-entropy values given to a key-like name. A literal prefilter decides whether any
//! pattern needs to run at all; placeholders (`<your-key>`, `xxxx`, `${TOKEN}`, `changeme`) and
//! documentation examples are not secrets.

use std::sync::LazyLock;

use regex::Regex;

use super::{Finding, Kind};

fn pattern(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| unreachable!("static pattern: {e}"))
}

/// Shapes with a recognisable prefix, and the kind each is.
static SHAPES: LazyLock<Vec<(Kind, Regex)>> = LazyLock::new(|| {
    vec![
        (Kind::PrivateKey, pattern(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
        (Kind::AnthropicKey, pattern(r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{32,}")),
        (Kind::OpenAiKey, pattern(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
        // Access keys only: AIDA, AROA, AGPA… are ids of users, roles and groups, not secrets.
        (Kind::AwsAccessKey, pattern(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
        (Kind::GithubToken, pattern(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})")),
        (Kind::GitlabToken, pattern(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
        (Kind::SlackToken, pattern(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}|\bxapp-\d-[A-Za-z0-9\-]{10,}")),
        (Kind::StripeKey, pattern(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
        (Kind::GoogleApiKey, pattern(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
        (Kind::Jwt, pattern(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    ]
});

/// A value given to a name that says it is secret — `password=…`, `"api_key": "…"`,
/// `DB_PASSWORD: …`, `secretAccessKey: '…'` — the name possibly part of a longer identifier.
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r#"(?i)([A-Za-z0-9_\-]*(?:password|passwd|pwd|secret|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?token|token|private[_\-]?key|encryption[_\-]?key|signing[_\-]?key|credentials?)[A-Za-z0-9_]*)["']?\s*[:=]\s*["']?([^\s"',;]{8,})"#,
    )
});

/// Bearer tokens, and the password of a connection string (`scheme://user:pass@host`).
static BEARER_OR_URL: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?i)\bbearer\s+([A-Za-z0-9._~+/\-]{16,}=*)|[a-z][a-z0-9+.\-]*://[^:/\s@]*:([^@\s/]{8,})@"));

/// AWS secret access keys: 40 characters of base64, in a text about AWS.
static AWS_SECRET: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{40})(?:$|[^A-Za-z0-9+/=])"));

static PREFILTER: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "-----BEGIN", "sk-", "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "xapp-",
            "_live_", "_test_", "AIza", "eyJ", "secret", "passw", "pwd", "key", "token", "credential", "bearer", "://",
        ])
        .unwrap_or_else(|e| unreachable!("static literals: {e}"))
});

/// Finds secrets in `text`.
pub fn scan(text: &str, out: &mut Vec<Finding>) {
    if !PREFILTER.is_match(text) {
        return;
    }
    let first = out.len();
    for (kind, re) in SHAPES.iter() {
        for m in re.find_iter(text) {
            if !placeholder(m.as_str()) && !documented(text, m.start()) && !overlaps(&out[first..], m.start(), m.end()) && shape_ok(*kind, m.as_str()) {
                out.push(Finding::new(*kind, m.start(), m.end()));
            }
        }
    }
    let about_aws = text.contains("AKIA") || text.contains("ASIA") || text.to_ascii_lowercase().contains("aws");
    if about_aws {
        for c in AWS_SECRET.captures_iter(text) {
            let Some(v) = c.get(1) else { continue };
            if random_mix(v.as_str()) && !placeholder(v.as_str()) && !overlaps(&out[first..], v.start(), v.end()) {
                out.push(Finding::new(Kind::AwsSecretKey, v.start(), v.end()));
            }
        }
    }
    for c in NAMED.captures_iter(text).chain(BEARER_OR_URL.captures_iter(text)) {
        let Some(value) = c.get(2).or_else(|| c.get(1)) else { continue };
        if overlaps(&out[first..], value.start(), value.end()) || placeholder(value.as_str()) || documented(text, value.start()) {
            continue;
        }
        if high_entropy(value.as_str()) {
            out.push(Finding::new(Kind::GenericSecret, value.start(), value.end()));
        }
    }
}

/// A shape's own checks: a private key block holds key material, not just its markers.
fn shape_ok(kind: Kind, m: &str) -> bool {
    match kind {
        Kind::PrivateKey => {
            let mut run = 0usize;
            let mut longest = 0usize;
            for b in m.bytes() {
                if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
                    run += 1;
                    longest = longest.max(run);
                } else {
                    run = 0;
                }
            }
            longest >= 40
        }
        _ => true,
    }
}

/// Text that says the value after it is a sample (`the example token is …`).
fn documented(text: &str, start: usize) -> bool {
    let from = text[..start].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
    // The reserved example domains name hosts, not samples.
    let before = text[from..start].to_ascii_lowercase().replace("example.com", "").replace("example.org", "").replace("example.net", "");
    before.contains("example") || before.contains("sample") || before.contains("tutorial") || before.contains("placeholder")
}

/// Upper and lower case letters and digits, as random key material has.
fn random_mix(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_uppercase()) && v.bytes().any(|b| b.is_ascii_lowercase()) && v.bytes().any(|b| b.is_ascii_digit())
}

fn overlaps(found: &[Finding], start: usize, end: usize) -> bool {
    found.iter().any(|f| f.start < end && start < f.end)
}

/// What documentation and templates put where a secret goes.
fn placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let repeated = |c: char| v.chars().filter(|&x| x == c).count() * 2 >= v.len();
    lower.contains("example")
        || lower.contains("your")
        || lower.contains("xxxx")
        || lower.contains("placeholder")
        || lower.contains("changeme")
        || lower.contains("redacted")
        || lower.contains("dummy")
        || v.contains("${")
        || v.contains('<')
        || v.contains("...")
        || repeated('x')
        || repeated('X')
        || repeated('*')
        || repeated('0')
}

/// Random-looking: at least 3.0 bits per character over a value of 12 or more, with both
/// letters and digits (a word or a sentence is not a secret).
fn high_entropy(v: &str) -> bool {
    if v.len() < 12 {
        return false;
    }
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = v.bytes().any(|b| b.is_ascii_alphabetic());
    if !(has_digit && has_alpha) {
        return false;
    }
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = v.len() as f64;
    let bits: f64 = counts.iter().filter(|&&c| c > 0).map(|&c| {
        let p = f64::from(c) / n;
        -p * p.log2()
    }).sum();
    bits >= 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        super::super::found(scan, text)
    }

    #[test]
    fn shapes_by_their_prefix() {
        let k = "sk-proj-4fG7hK2mN9pQ1rS5tV8wX3yZ6aB0cD2e";
        assert_eq!(kinds(&format!("OPENAI_API_KEY={k}")), [(Kind::OpenAiKey, k)]);
        let a = "AKIAQ3EGRTYUIOPLKJHG";
        assert_eq!(kinds(&format!("aws id {a} used")), [(Kind::AwsAccessKey, a)]);
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkkuyQeYJqqqnU\n-----END PRIVATE KEY-----";
        assert_eq!(kinds(&format!("key:\n{pem}\n")), [(Kind::PrivateKey, pem)]);
    }

    #[test]
    fn samples_and_markers_alone_are_not_secrets() {
        assert!(kinds("The file must start with -----BEGIN PRIVATE KEY----- and end with -----END PRIVATE KEY-----.").is_empty());
        assert!(kinds("The tutorial uses xoxb-123-456-abcdefghij as its example token.").is_empty());
        assert!(kinds("\"RoleId\": \"AROAU54XG7OIMBLHP7GK\"").is_empty());
        let t = "glpat-m1u3xct7BIIjd9acFXIE";
        assert_eq!(kinds(&format!("{{\"url\": \"https://gitlab.example.com\", \"token\": \"{t}\"}}")), [(Kind::GitlabToken, t)]);
        let aws = "qKlD9jPUm4S7W+V6sZrDlyMegjB5BiIWBATTh+IY";
        assert_eq!(kinds(&format!("aws secret_key = \"{aws}\"")), [(Kind::AwsSecretKey, aws)]);
        assert_eq!(kinds("DB_PASSWORD=Af81S--Z052UnJv"), [(Kind::GenericSecret, "Af81S--Z052UnJv")]);
        assert_eq!(kinds("redis://:JndaEj12AcrMnWIwpP@cache:6379"), [(Kind::GenericSecret, "JndaEj12AcrMnWIwpP")]);
    }

    #[test]
    fn named_values_when_random_not_placeholders() {
        assert_eq!(kinds("password=Zq8#mK2vLp9xT4w"), [(Kind::GenericSecret, "Zq8#mK2vLp9xT4w")]);
        for not in ["password=changeme", "api_key=<your-key-here>", "token: ${TOKEN}", "the secret is patience", "sk-...", "AKIAIOSFODNN7EXAMPLE"] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
    }
}
