//! Secrets: provider and cloud API keys, VCS and chat tokens, JWTs, PEM private keys, and
//! high-entropy values given to a secret-like name — `password=…`, `"client_secret": "…"`,
//! `Authorization: Bearer …`, the password of a connection URL or of a `.pgpass` line, a
//! password in running text (`the Wi-Fi password is …`, `la contraseña es …`).
//!
//! A SIMD search of the text for literal cues — the providers' prefixes (`sk-`, `AKIA`,
//! `-----BEGIN`), secret-like names (`token`, `Passwort`) — decides what runs: a provider's
//! pattern where its prefix occurs, a name's value read right after the name. Prose without a
//! cue costs a fraction of a microsecond per KB, and every step is linear in the length of the
//! text. Placeholders (`<your-key>`, `xxxx`, `${TOKEN}`, `changeme`), references
//! (`process.env.X`, `{{ vault_x }}`), documented samples and values that are ids, hashes or
//! encoded text rather than random key material are not secrets.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

use super::{Finding, Kind};

fn pattern(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| unreachable!("static pattern: {e}"))
}

const PEM: usize = 0;

/// Shapes with a recognisable prefix, and the kind each is, in order of precedence.
static SHAPES: LazyLock<[(Kind, Regex); 10]> = LazyLock::new(|| {
    [
        (Kind::PrivateKey, pattern(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
        (Kind::AnthropicKey, pattern(r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{32,}")),
        (Kind::OpenAiKey, pattern(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
        // Access keys only: AIDA, AROA, AGPA… are ids of users, roles and groups, not secrets.
        (Kind::AwsAccessKey, pattern(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
        (Kind::GithubToken, pattern(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})")),
        (Kind::GitlabToken, pattern(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
        (Kind::SlackToken, pattern(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}|\bxapp-\d-[A-Za-z0-9\-]{10,}")),
        (Kind::StripeKey, pattern(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
        // Its end is checked in code: a key may end in `-`, where `\b` would not hold.
        (Kind::GoogleApiKey, pattern(r"\bAIza[0-9A-Za-z_\-]{35}")),
        (Kind::Jwt, pattern(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    ]
});

/// The opening line of a private key block, for a block that does not end (cut off).
static PEM_BEGIN: LazyLock<Regex> = LazyLock::new(|| pattern(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"));

/// What a cue found by [`CUES`] calls for.
#[derive(Clone, Copy)]
enum Cue {
    /// The shapes of [`SHAPES`] whose bits are set.
    Shapes(u16),
    /// A text about AWS: 40 characters of base64 in it are a secret access key.
    Aws,
    /// A word in a secret-like name (`token`, `PASSWORD`, `apiKey`, `contraseña`).
    Name,
    /// `Bearer` and the token after it.
    Bearer,
    /// `://`: a URL, perhaps with a password.
    Url,
}

/// The literal cues, case-sensitive, and what each calls for. They are searched as two sets of
/// at most 32 literals, the size at which the search runs 32 bytes a step (a case-insensitive
/// search, or one set of 64, would be several times slower); a cue may be the inside of a
/// word in either case (`ecret` for `secret` and `Secret`).
const CUES: [&[(&str, Cue)]; 2] = [
    &[
        ("-----BEGIN", Cue::Shapes(1 << PEM)),
        ("sk-", Cue::Shapes(1 << 1 | 1 << 2)),
        ("AKIA", Cue::Shapes(1 << 3)),
        ("ASIA", Cue::Shapes(1 << 3)),
        ("ghp_", Cue::Shapes(1 << 4)),
        ("gho_", Cue::Shapes(1 << 4)),
        ("ghu_", Cue::Shapes(1 << 4)),
        ("ghs_", Cue::Shapes(1 << 4)),
        ("ghr_", Cue::Shapes(1 << 4)),
        ("github_pat_", Cue::Shapes(1 << 4)),
        ("glpat-", Cue::Shapes(1 << 5)),
        ("xox", Cue::Shapes(1 << 6)),
        ("xapp-", Cue::Shapes(1 << 6)),
        ("_live_", Cue::Shapes(1 << 7)),
        ("_test_", Cue::Shapes(1 << 7)),
        ("AIza", Cue::Shapes(1 << 8)),
        ("eyJ", Cue::Shapes(1 << 9)),
        ("://", Cue::Url),
        ("aws", Cue::Aws),
        ("AWS", Cue::Aws),
        ("Aws", Cue::Aws),
        ("mazon", Cue::Aws),
        ("earer", Cue::Bearer),
        ("EARER", Cue::Bearer),
        ("ecret", Cue::Name),
        ("ECRET", Cue::Name),
        ("oken", Cue::Name),
        ("OKEN", Cue::Name),
        ("pwd", Cue::Name),
        ("PWD", Cue::Name),
    ],
    &[
        ("pass", Cue::Name),
        ("Pass", Cue::Name),
        ("PASS", Cue::Name),
        ("key", Cue::Name),
        ("Key", Cue::Name),
        ("KEY", Cue::Name),
        ("auth", Cue::Name),
        ("Auth", Cue::Name),
        ("AUTH", Cue::Name),
        ("uthoriz", Cue::Name),
        ("redenti", Cue::Name),
        ("REDENTI", Cue::Name),
        // Words for "password": contraseña, senha, wachtwoord, Kennwort, salasana, lösenord,
        // adgangskode, hasło, heslo, şifre (and their capitalised and plain-ASCII spellings).
        ("ntrase", Cue::Name),
        ("enha", Cue::Name),
        ("chtwoord", Cue::Name),
        ("nnwort", Cue::Name),
        ("asana", Cue::Name),
        ("senord", Cue::Name),
        ("gskode", Cue::Name),
        ("asło", Cue::Name),
        ("aslo", Cue::Name),
        ("eslo", Cue::Name),
        ("ifre", Cue::Name),
        ("aseña", Cue::Name),
        ("jelsz", Cue::Name),
        ("Jelsz", Cue::Name),
        ("пароль", Cue::Name),
        ("Пароль", Cue::Name),
        ("κωδικ", Cue::Name),
        ("パスワード", Cue::Name),
        ("密码", Cue::Name),
        ("密碼", Cue::Name),
    ],
];

static CUE_SEARCH: LazyLock<[AhoCorasick; 2]> = LazyLock::new(|| CUES.map(|cues| automaton(cues.iter().map(|(p, _)| *p), false)));

fn automaton<'a>(literals: impl IntoIterator<Item = &'a str>, any_case: bool) -> AhoCorasick {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .ascii_case_insensitive(any_case)
        .build(literals)
        .unwrap_or_else(|e| unreachable!("static literals: {e}"))
}

/// Spans already reported, to keep one finding per span: the shapes first, then the named
/// values. Non-overlapping, so the span starting last before `end` is the only one to check.
#[derive(Default)]
struct Taken(BTreeMap<usize, usize>);

impl Taken {
    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.0.range(..end).next_back().is_some_and(|(_, &e)| e > start)
    }

    fn take(&mut self, out: &mut Vec<Finding>, kind: Kind, start: usize, end: usize) {
        if start < end && !self.overlaps(start, end) {
            self.0.insert(start, end);
            out.push(Finding::new(kind, start, end));
        }
    }
}

/// Finds secrets in `text`.
pub fn scan(text: &str, out: &mut Vec<Finding>) {
    let mut shapes = 0u16;
    let mut about_aws = false;
    let mut names: Vec<usize> = Vec::new();
    let mut bearers: Vec<usize> = Vec::new();
    let mut urls: Vec<usize> = Vec::new();
    for (cues, search) in CUES.iter().zip(CUE_SEARCH.iter()) {
        for m in search.find_iter(text) {
            match cues[m.pattern().as_usize()].1 {
                Cue::Shapes(bits) => shapes |= bits,
                Cue::Aws => about_aws = true,
                Cue::Name => names.push(m.start()),
                // `earer` is inside `Bearer`.
                Cue::Bearer => bearers.push(m.start().saturating_sub(1)),
                Cue::Url => urls.push(m.start()),
            }
        }
    }
    names.sort_unstable();
    let mut taken = Taken::default();
    for (i, (kind, re)) in SHAPES.iter().enumerate() {
        if shapes & (1 << i) == 0 {
            continue;
        }
        for m in re.find_iter(text) {
            let mut end = m.end();
            if *kind == Kind::GoogleApiKey && byte_at(text, end).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                continue;
            }
            if *kind == Kind::PrivateKey {
                end = escaped_line_break_after(text, m.start(), end);
            }
            if shape_ok(*kind, m.as_str()) && !documented(text, m.start()) && !documented_after(text, end) {
                taken.take(out, *kind, m.start(), end);
            }
        }
    }
    if shapes & (1 << PEM) != 0 {
        unterminated_private_keys(text, &mut taken, out);
    }
    if about_aws || shapes & (1 << 3) != 0 {
        aws_secret_keys(text, &mut taken, out);
    }
    let mut done = 0;
    for at in names {
        if at < done {
            continue;
        }
        let Some(name) = Name::around(text, at) else { continue };
        // The value first, the name's words only for a value that could be a secret: most
        // names in code and prose are given nothing random.
        let value = name.value(text);
        done = name.read_to.get();
        let Some((start, end, given)) = value else { continue };
        let v = &text[start..end];
        if taken.overlaps(start, end) || !random_value(v, given, true) {
            continue;
        }
        // Words between the name and the value that say it is about the secret, not the secret
        // (`the token hash is …`, `the password's length: …`).
        if given == Given::Loose && text[name.end..start].split(|c: char| !c.is_alphabetic()).any(|w| is_one_of(w, ABOUT) || w.eq_ignore_ascii_case("commit")) {
            continue;
        }
        let Some(class) = name.class(text) else { continue };
        // A password said in words is not a hex string; a key or a token may be.
        if class == Class::Password && given == Given::Loose && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        if !documented(text, start) && !documented_after(text, end) {
            taken.take(out, Kind::GenericSecret, start, end);
        }
    }
    for at in bearers {
        if let Some((start, end)) = bearer_token(text, at) {
            taken.take(out, Kind::GenericSecret, start, end);
        }
    }
    for at in urls {
        if let Some((start, end)) = url_password(text, at) {
            taken.take(out, Kind::GenericSecret, start, end);
        }
    }
    pgpass_passwords(text, &mut taken, out);
}

fn byte_at(text: &str, i: usize) -> Option<u8> {
    text.as_bytes().get(i).copied()
}

/// A private key block in a JSON or YAML string, its line breaks written `\n`, ends with one
/// too: it belongs to the value.
fn escaped_line_break_after(text: &str, start: usize, end: usize) -> usize {
    let header_end = text[start..end].find("-----\\").map(|i| start + i + 5);
    if header_end.is_none_or(|h| !text[h..].starts_with("\\n") && !text[h..].starts_with("\\r\\n")) {
        return end;
    }
    let rest = &text[end..];
    let tail = rest.strip_prefix("\\r").unwrap_or(rest);
    if tail.starts_with("\\n") {
        return end + (rest.len() - tail.len()) + 2;
    }
    end
}

/// A private key block that does not end (cut off by a log or a paste): its first line and
/// the key material after it, if there is enough of it to be a key.
fn unterminated_private_keys(text: &str, taken: &mut Taken, out: &mut Vec<Finding>) {
    let b = text.as_bytes();
    for m in PEM_BEGIN.find_iter(text) {
        if taken.overlaps(m.start(), m.end()) || documented(text, m.start()) {
            continue;
        }
        let mut i = m.end();
        let mut last = m.end();
        let mut material = 0usize;
        while i < b.len() && i - m.end() < 16 * 1024 {
            match b[i] {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                    material += 1;
                    last = i + 1;
                }
                b'\\' if matches!(b.get(i + 1), Some(b'n' | b'r' | b'/')) => i += 1,
                // Another block's markers end this one.
                b'-' if b[i..].starts_with(b"-----") => break,
                b' ' | b'\t' | b'\r' | b'\n' | b':' | b',' | b'-' => {}
                _ => break,
            }
            i += 1;
        }
        if material >= 64 && shape_ok(Kind::PrivateKey, &text[m.start()..last]) {
            taken.take(out, Kind::PrivateKey, m.start(), last);
        }
    }
}

/// AWS secret access keys: exactly 40 characters of base64, in a text about AWS.
fn aws_secret_keys(text: &str, taken: &mut Taken, out: &mut Vec<Finding>) {
    let b = text.as_bytes();
    let key_byte = |x: u8| x.is_ascii_alphanumeric() || x == b'+' || x == b'/';
    let mut i = 0;
    while i < b.len() {
        if !key_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && key_byte(b[i]) {
            i += 1;
        }
        let v = &text[start..i];
        if i - start == 40 && b.get(i) != Some(&b'=') && random_mix(v) && !placeholder(v) && !documented(text, start) {
            taken.take(out, Kind::AwsSecretKey, start, i);
        }
    }
}

/// A shape's own checks: a private key block holds key material, not just its markers; a
/// token's random part is random, not `xxxx`, `abc123…` or words.
fn shape_ok(kind: Kind, m: &str) -> bool {
    match kind {
        Kind::PrivateKey => {
            let mut run = 0usize;
            let mut longest = 0usize;
            let mut prev = 0u8;
            for b in m.bytes() {
                if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
                    // `\n` and `\/` in a JSON string: the `n` ends a line, the `/` is key material.
                    if !(prev == b'\\' && b == b'n') {
                        run += 1;
                        longest = longest.max(run);
                    }
                } else if b != b'\\' {
                    run = 0;
                }
                prev = b;
            }
            let lower = m.to_ascii_lowercase();
            longest >= 40 && !["...", "…", "<", "redacted", "paste", "your", "****"].iter().any(|w| lower.contains(w))
        }
        _ => {
            // The part after the prefix: upper case or digits in it, as random keys have.
            let body = m.get(m.len().min(12)..).unwrap_or("");
            !placeholder(m)
                && body.bytes().any(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && (m.len() < 16 || entropy(m) >= 2.5)
        }
    }
}

/// Credentials printed in providers' documentation for everyone to copy (the jwt.io sample's
/// signature, Stripe's documented test keys): samples wherever they appear.
const PUBLISHED_SAMPLES: &[&str] = &["SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_BQokikJOvBiI2HlWgH4olfQ2"];

/// Text that says the value after it is a sample (`the example token is …`): the words
/// themselves, not a path or a host (`examples/`, `api.example.com`).
fn documented(text: &str, start: usize) -> bool {
    let from = text[..start].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
    let b = text.as_bytes();
    let glued = |i: usize| b.get(i).is_some_and(|&x| x.is_ascii_alphanumeric() || matches!(x, b'/' | b'_' | b'-' | b'@'));
    DOCUMENTATION.find_iter(&text[from..start]).any(|m| {
        let (s, mut e) = (from + m.start(), from + m.end());
        if b.get(e) == Some(&b's') {
            e += 1;
        }
        // `example.com` is a host; `example.` ends a sentence.
        let host = b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_alphanumeric);
        (s == 0 || !b[s - 1].is_ascii_alphanumeric()) && !glued(e) && !host
    })
}

static DOCUMENTATION: LazyLock<AhoCorasick> = LazyLock::new(|| automaton(["example", "sample", "tutorial", "placeholder"], true));

/// Text right after a value that says it is a sample (`…, which is only an example`,
/// `is Stripe's documented test key`).
fn documented_after(text: &str, end: usize) -> bool {
    let rest = &text[end..];
    let near = &rest[..rest.char_indices().nth(48).map_or(rest.len(), |(i, _)| i)];
    SAID_AFTER.is_match(&near[..near.find('\n').unwrap_or(near.len())])
}

static SAID_AFTER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    automaton(
        [
            "an example", "a sample", "example key", "example token", "sample key", "sample token", "(example)", "(sample)", "documented", "documentation",
            "for illustration", "not a real", "isn't real", "is fake", "dummy",
        ],
        true,
    )
});

/// Upper and lower case letters and digits, as random key material has.
fn random_mix(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_uppercase()) && v.bytes().any(|b| b.is_ascii_lowercase()) && v.bytes().any(|b| b.is_ascii_digit())
}

/// What documentation, templates and configuration put where a secret goes: placeholders,
/// masks, variable and template references, values read at run time.
fn placeholder(v: &str) -> bool {
    let repeated = |c: u8| v.bytes().filter(|&x| x == c).count() * 2 >= v.len();
    PLACEHOLDERS.is_match(v)
        || PUBLISHED_SAMPLES.iter().any(|k| v.contains(k))
        || v.contains('<')
        || reference(v)
        || v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("env.") || p.eq_ignore_ascii_case("ref+"))
        || repeated(b'x')
        || repeated(b'X')
        || repeated(b'*')
        || repeated(b'0')
        || sequential(v)
}

/// A variable's name in the syntax of a shell, a batch file or a format string (`$DB_PASSWORD`,
/// `%API_KEY%`, `%(secret)s`); `${…}` and `$(…)` are [`PLACEHOLDERS`].
fn reference(v: &str) -> bool {
    // A name is one case or a few words in camel case; `$isreMlzDNNk7JHE` is a password.
    let name = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && case_changes(s) <= 2;
    v.strip_prefix('$').is_some_and(name) || v.strip_prefix('%').and_then(|r| r.strip_suffix('%')).is_some_and(name)
}

static PLACEHOLDERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    automaton(
        [
            "example", "your", "xxxx", "placeholder", "changeme", "redacted", "dummy", "masked", "replace", "insert", "fake", "sample", "notreal",
            "process.env", "environ", "getenv", "env(", "secretkeyref", "valuefrom", "vault:", "!vault", "enc[", "arn:", "${", "{{", "}}", "%(", "$(", "#{",
            "<%", "...", "…", "****", "[truncated",
        ],
        true,
    )
});

/// `abcdef…`, `123456…`, `aaaa…`: most neighbours equal or one apart.
fn sequential(v: &str) -> bool {
    let alnum: Vec<u8> = v.bytes().filter(u8::is_ascii_alphanumeric).collect();
    if alnum.len() < 10 {
        return false;
    }
    let steps = alnum.windows(2).filter(|w| w[1] == w[0] || w[1] == w[0].wrapping_add(1)).count();
    steps * 2 >= alnum.len() - 1
}

/// Shannon entropy in bits per byte.
fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// How a value was given: after `name =`, `name:` or `--name` (`Strict`), or in running text
/// (`Loose`), where only a value that could be nothing but random counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Given {
    Strict,
    Loose,
}

/// Random key material or a generated password, not a word, an identifier, a path, a date, a
/// UUID, a hash given where a secret goes, or base64 of text: at least 3 bits of entropy per
/// character over 10 characters or more, letters with digits or symbols or both cases.
/// `hex`: a hex string counts in running text too (a key or a token may be one; a password
/// said in words is not).
fn random_value(v: &str, given: Given, hex: bool) -> bool {
    let n = v.len();
    if !(10..MAX_VALUE).contains(&n) || !v.is_ascii() || v.contains(char::is_whitespace) || placeholder(v) || assignment(v) {
        return false;
    }
    // In running text a password is one word: not a call, a list, a path or a URL.
    if given == Given::Loose && (v.contains(['(', ')', '[', ']', '{', '}', '<', '>', '"', '\'', ',', ';', '`', '\\', '|']) || v.starts_with('/') || v.starts_with("~/") || v.starts_with("./") || v.starts_with("../") || v.contains("://")) {
        return false;
    }
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    let digit = v.bytes().any(|b| b.is_ascii_digit());
    let symbol = v.bytes().any(|b| !b.is_ascii_alphanumeric());
    if !(upper || lower) || entropy(v) < 3.0 {
        return false;
    }
    if v.bytes().all(|b| b.is_ascii_hexdigit()) && !(upper && lower) {
        return (hex || given == Given::Strict) && digit && n >= if given == Given::Loose { 32 } else { 16 };
    }
    if uuid(v) || date(v) || encoded_text(v) || weak(v) || wordy(v) {
        return false;
    }
    let classes = [upper, lower, digit, symbol].iter().filter(|&&c| c).count();
    match given {
        Given::Loose => classes >= 3 && (digit || (symbol && upper && lower)),
        Given::Strict if digit => n >= 12 || classes >= 3,
        // Letters only: both cases, changing as often as chance would have it (an
        // identifier's `TokenProviderFactory` changes case once a word).
        Given::Strict => upper && lower && n >= 12 && (symbol || case_changes(v) * 3 >= n),
    }
}

/// `capacity=100`, `info=v1`: another setting, not a value.
fn assignment(v: &str) -> bool {
    v.find('=').is_some_and(|i| i >= 3 && v[..i].bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
}

fn case_changes(v: &str) -> usize {
    v.as_bytes().windows(2).filter(|w| w[0].is_ascii_alphabetic() && w[1].is_ascii_alphabetic() && w[0].is_ascii_uppercase() != w[1].is_ascii_uppercase()).count()
}

fn uuid(v: &str) -> bool {
    let v = v.trim_start_matches('{').trim_end_matches('}');
    let groups: Vec<&str> = v.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `2024-03-11…`: a date or a timestamp.
fn date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5..7].iter().all(u8::is_ascii_digit)
}

/// Base64 of ordinary text or of a JSON object (a cursor): not key material.
fn encoded_text(v: &str) -> bool {
    if v.len() < 16 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')) {
        return false;
    }
    let mut bits = 0u32;
    let mut n = 0u32;
    let mut decoded = Vec::with_capacity(v.len() * 3 / 4);
    for b in v.bytes().take_while(|&b| b != b'=') {
        let x = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            _ => 63,
        };
        bits = (bits << 6) | u32::from(x);
        n += 6;
        if n >= 8 {
            n -= 8;
            decoded.push((bits >> n) as u8);
        }
    }
    let printable = decoded.iter().filter(|&&b| b == b' ' || b == b'\n' || b.is_ascii_graphic()).count();
    let spaces = decoded.iter().filter(|&&b| b == b' ').count();
    printable * 10 >= decoded.len() * 9 && (spaces >= 2 || decoded.first() == Some(&b'{'))
}

/// A common password under light disguise (`P@ssw0rd1`, `Welcome2024!`).
fn weak(v: &str) -> bool {
    if v.len() > 24 {
        return false;
    }
    let plain: String = v
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            c => c,
        })
        .collect();
    ["password", "passwort", "welcome", "letmein", "qwerty", "admin", "changeme", "default", "iloveyou", "trustnoi", "secret", "master", "sunshine", "football"]
        .iter()
        .any(|w| plain.contains(w))
}

/// Words joined: an identifier, a path or a phrase (`process.env.DB_PASSWORD`,
/// `projects/acme/secrets/db`, `TokenAuthV3`, `correct-horse-battery-staple`) — common words, or
/// whole lower-case words between separators, making up much of it. Random text has neither.
fn wordy(v: &str) -> bool {
    let mut word_bytes = 0;
    let mut words = 0;
    for segment in v.split(['.', '_', '/', '-', ':', ' ']) {
        if segment.len() >= 5 && segment.bytes().all(|b| b.is_ascii_lowercase()) && segment.bytes().any(|b| b"aeiouy".contains(&b)) {
            words += 1;
            word_bytes += segment.len();
            continue;
        }
        for part in segment.split(|c: char| !c.is_ascii_alphabetic()) {
            // Words within a part: a capital and lower case letters after it, or lower case only.
            let mut rest = part;
            while !rest.is_empty() {
                let cut = rest.char_indices().skip(1).find(|&(_, c)| c.is_ascii_uppercase()).map_or(rest.len(), |(i, _)| i);
                let (word, tail) = rest.split_at(cut);
                if word.len() >= 3 && is_one_of(word, COMMON_WORDS) {
                    words += 1;
                    word_bytes += word.len();
                }
                rest = tail;
            }
        }
    }
    words >= 2 && word_bytes * 5 >= v.len() * 2
}

/// Words of identifiers, settings and placeholders.
const COMMON_WORDS: &[&str] = &[
    "access", "account", "admin", "alpha", "and", "api", "app", "auth", "aws", "azure", "backup", "bar", "base", "baz", "bearer", "beta", "billing",
    "bucket", "build", "cache", "callback", "capacity", "change", "cipher", "client", "config", "cookie", "create", "customer", "data", "database",
    "default", "delete", "demo", "deploy", "dev", "disabled", "docker", "dummy", "enabled", "encryption", "env", "event", "example", "factory", "fake",
    "false", "file", "final", "foo", "for", "from", "generate", "generated", "get", "github", "gitlab", "goes", "google", "hash", "hello", "here", "hook",
    "insert", "item", "job", "key", "limit", "list", "local", "login", "main", "manager", "master", "my", "name", "new", "none", "null", "old", "only",
    "openai", "order", "our", "pass", "password", "path", "payment", "placeholder", "private", "process", "prod", "provider", "public", "queue", "random",
    "rate", "read", "refresh", "release", "replace", "report", "reset", "salt", "sample", "secret", "secure", "server", "service", "session", "set",
    "setting", "settings", "signing", "site", "slack", "staging", "store", "string", "stripe", "sync", "temp", "test", "text", "that", "the", "this", "tmp",
    "token", "true", "type", "update", "user", "value", "vault", "version", "web", "webhook", "with", "worker", "world", "write", "your",
];

/// A name that may be given a secret: an identifier (`DB_PASSWORD`, `clientSecret`,
/// `x-api-key`, `--token`) or a word in running text (`password`, `contraseña`).
struct Name {
    start: usize,
    end: usize,
    /// A command-line flag (`--password`): its value follows after a space.
    flag: bool,
    /// `Authorization`: its value is a scheme (`Basic`, `Bearer`) and a credential.
    authorization: bool,
    /// The end of a value read up to [`MAX_VALUE`] without an end: names inside it are not
    /// read again (in `password=password=…` that would be quadratic).
    read_to: std::cell::Cell<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A password: in running text too (`the password is …`).
    Password,
    /// A key, token or secret.
    Secret,
}

/// Words that say a value is about a secret, not the secret (sorted, as the other word lists): its id, its type, where it is,
/// when it expires, how long it must be (`private_key_id`, `token_type`, `secret_ref`,
/// `password_min_length`).
const ABOUT: &[&str] = &[
    "age", "alg", "algorithm", "arn", "at", "attempts", "changed", "checksum", "complexity", "count", "crc", "created", "date", "derivation", "description",
    "digest", "dir", "enabled", "encoding", "endpoint", "env", "error", "exp", "expiration", "expires", "expiry", "field", "file", "filename", "files",
    "fingerprint", "fingerprints", "form", "format", "generator", "hash", "hashed", "hasher", "hashers", "header", "help", "hint", "history", "id", "ids",
    "index", "input", "interval", "kdf", "keys", "kid", "kind", "label", "last", "last4", "len", "length", "less", "lifetime", "limit", "location",
    "manager", "mask", "max", "md5", "message", "method", "min", "mode", "name", "names", "param", "path", "pattern", "policy", "prefix", "prompt",
    "provider", "ref", "reference", "refresh", "regex", "required", "reset", "retries", "rotated", "rotation", "rules", "salt", "scope", "scopes", "secure",
    "sha", "sha1", "sha256", "sha512", "size", "source", "state", "status", "store", "strategy", "strength", "template", "text", "thumbprint", "time",
    "timeout", "timestamp", "title", "tokens", "ts", "ttl", "type", "types", "updated", "uri", "url", "usage", "used", "validator", "var", "version",
];

/// Words before `token` or `key` that make it not a credential (`next_page_token`,
/// `public_key`, `max_tokens`, `cache key`).
const NOT_CREDENTIAL: &[&str] = &[
    "cache", "completion", "continuation", "cursor", "foreign", "gpg", "host", "idempotency", "input", "max", "min", "next", "num", "object", "output",
    "page", "pagination", "partition", "pgp", "primary", "prompt", "pub", "public", "publishable", "resume", "sort", "ssh", "sync", "total",
];

/// What qualifies `key` as a credential (`api_key`, `AccountKey`, `secretKey`).
const KEY_QUALIFIERS: &[&str] = &[
    "access", "account", "admin", "aes", "api", "app", "auth", "cipher", "client", "consumer", "crypto", "deploy", "enc", "encrypt", "encryption", "hmac",
    "jwt", "license", "master", "private", "root", "secret", "service", "session", "shared", "sharedaccess", "sign", "signing", "storage", "subscription",
    "webhook", "x",
];

/// Words for "password" in other languages, by their start.
const PASSWORD_WORDS: &[&str] = &[
    "contrase", "passe", "passwort", "kennwort", "senha", "wachtwoord", "hasło", "haslo", "lösenord", "losenord", "adgangskode", "passord", "salasana",
    "heslo", "jelszó", "şifre", "sifre", "пароль", "κωδικ", "パスワード", "密码", "密碼", "비밀번호",
];

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `name`'s words, lower case, split at `_`, `-`, `.` and case changes (`secretAccessKey`,
/// `APIKey`, `AWS_SECRET_ACCESS_KEY`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next_lower)) {
                out.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        out.push(word);
    }
    out
}

fn password_word(w: &str) -> bool {
    (w.contains("passw") && !w.ends_with("less"))
        || w.contains("passphrase")
        || w == "pass"
        || w == "pw"
        || w.ends_with("pwd")
        || (w.ends_with("pass") && w.len() <= 10 && !matches!(w, "bypass" | "compass" | "overpass" | "underpass" | "trespass" | "surpass" | "sshpass"))
        || PASSWORD_WORDS.iter().any(|p| w.starts_with(p))
}

fn key_word(w: &str, prev: Option<&str>) -> bool {
    if w == "key" {
        return prev.is_some_and(|p| is_one_of(p, KEY_QUALIFIERS));
    }
    w.strip_suffix("key").is_some_and(|q| is_one_of(q, KEY_QUALIFIERS)) || w == "apikeys"
}

fn secret_word(w: &str, prev: Option<&str>) -> bool {
    (w.contains("secret") && !w.starts_with("secretar"))
        || w == "token"
        || (w.ends_with("token") && w.len() > 5)
        || key_word(w, prev)
        || matches!(w, "credential" | "credentials" | "creds" | "auth" | "oauth" | "authorization")
}

impl Name {
    /// The identifier or word around the cue at `at`.
    fn around(text: &str, at: usize) -> Option<Self> {
        let start = text[..at].char_indices().rev().take(64).take_while(|&(_, c)| ident_char(c)).last().map_or(at, |(i, _)| i);
        let end = text[at..].char_indices().take(64).take_while(|&(_, c)| ident_char(c)).last().map_or(at, |(i, c)| at + i + c.len_utf8());
        let ident = text[start..end].trim_end_matches(['.', '-']);
        let end = start + ident.len();
        let authorization = ident.len() >= 13 && ident.is_char_boundary(ident.len() - 13) && ident[ident.len() - 13..].eq_ignore_ascii_case("authorization");
        (end > start).then(|| Self { start, end, flag: ident.starts_with('-'), authorization, read_to: std::cell::Cell::new(end) })
    }

    /// What the name says its value is, if a secret: a password, or a key, token or secret.
    fn class(&self, text: &str) -> Option<Class> {
        let words = words(&text[self.start..self.end]);
        // The word before, for a name written as words (`API key`, `Secret Access Key`).
        let before = text[..self.start].trim_end_matches([' ', '\t']);
        let prev_word = (before.len() < self.start).then(|| words_of_prev(before)).flatten();
        let mut class = None;
        let mut last = 0;
        for (i, w) in words.iter().enumerate() {
            let prev = if i == 0 { prev_word.as_deref() } else { Some(words[i - 1].as_str()) };
            let found = if password_word(w) {
                Some(Class::Password)
            } else if secret_word(w, prev) && !prev.is_some_and(|p| is_one_of(p, NOT_CREDENTIAL)) {
                Some(Class::Secret)
            } else {
                None
            };
            if let Some(c) = found {
                class = Some(if class == Some(Class::Password) { Class::Password } else { c });
                last = i;
            }
        }
        let class = class?;
        (!words[last + 1..].iter().any(|w| is_one_of(w, ABOUT))).then_some(class)
    }

    /// The value given to this name, if one is, and how.
    fn value(&self, text: &str) -> Option<(usize, usize, Given)> {
        let b = text.as_bytes();
        let mut i = self.end;
        // The name's closing quote (`"password": …`, `\"token\": …`, `env["TOKEN"] = …`).
        if b.get(i) == Some(&b'\\') && matches!(b.get(i + 1), Some(b'"' | b'\'')) {
            i += 2;
        } else if matches!(b.get(i), Some(b'"' | b'\'' | b'`')) {
            i += 1;
        }
        if b.get(i) == Some(&b']') {
            i += 1;
        }
        // `<password>…</password>`.
        if self.start > 0 && b[self.start - 1] == b'<' && b.get(i) == Some(&b'>') {
            let v = &b[i + 1..ceil_char(text, (i + 1 + MAX_VALUE).min(b.len()))];
            let len = v.iter().position(|&x| x == b'<' || x == b'\n').unwrap_or(v.len());
            return self.read(i + 1, i + 1 + len, Given::Strict);
        }
        i = skip_blanks(b, i);
        let sep = match (b.get(i), b.get(i + 1)) {
            (Some(b'='), Some(b'>')) | (Some(b':'), Some(b'=')) => 2,
            (Some(b':'), Some(b':' | b'/')) => return None,
            (Some(b'=' | b':'), _) => 1,
            _ => 0,
        };
        if sep > 0 {
            i = skip_blanks(b, i + sep);
            // A YAML block scalar (`|`, `>-`): the value is on the next line.
            if matches!(b.get(i), Some(b'|' | b'>')) {
                let indicator_end = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'-' | b'+')));
                let line_end = skip_blanks(b, indicator_end);
                if matches!(b.get(line_end), Some(b'\n' | b'\r')) {
                    i = skip_blanks(b, line_end + 1 + usize::from(b[line_end..].starts_with(b"\r\n")));
                }
            }
            if self.authorization {
                return self.scheme_credential(text, i);
            }
            let (start, end) = value_at(text, i)?;
            return self.read(start, end, Given::Strict);
        }
        // `--password …` says what it gives as plainly as `password=…`.
        if self.flag {
            let (start, end) = value_at(text, i)?;
            return self.read(start, end, Given::Strict);
        }
        self.in_running_text(text, i)
    }

    /// `the password for the guest network is …`, `la contraseña del wifi es …`: a few words,
    /// then a value that could be nothing but random.
    fn in_running_text(&self, text: &str, mut i: usize) -> Option<(usize, usize, Given)> {
        let b = text.as_bytes();
        // A word in a sentence, not a part of a path (`projects/acme/secrets/db`).
        let path = |x: Option<&u8>| matches!(x, Some(b'/' | b'\\'));
        if path(self.start.checked_sub(1).and_then(|j| b.get(j))) || path(b.get(self.end)) {
            return None;
        }
        for _ in 0..7 {
            i = skip_blanks(b, i);
            if i >= b.len() || b[i] == b'\n' || i - self.end > 64 {
                return None;
            }
            let (start, end) = value_at(text, i)?;
            let token = &text[start..end];
            let word = token.trim_end_matches([':', ',', '-']);
            if word.chars().all(char::is_alphabetic) || matches!(token, ":" | "-" | "—" | "=" | "–") {
                i = end + usize::from(matches!(b.get(end), Some(b'"' | b'\'' | b'`')));
                continue;
            }
            return self.read(start, end, Given::Loose);
        }
        None
    }

    /// `Authorization: Basic …`, `Authorization: Token …`.
    fn scheme_credential(&self, text: &str, i: usize) -> Option<(usize, usize, Given)> {
        let b = text.as_bytes();
        let quoted = usize::from(matches!(b.get(i), Some(b'"' | b'\'')));
        let scheme_end = text[i + quoted..].find(|c: char| !c.is_ascii_alphanumeric() && c != '-').map_or(text.len(), |j| i + quoted + j);
        let scheme = text[i + quoted..scheme_end].to_ascii_lowercase();
        if !matches!(scheme.as_str(), "basic" | "bearer" | "token" | "bot" | "apikey" | "api-key" | "key" | "sso-key") {
            return None;
        }
        let (start, end) = value_at(text, skip_blanks(b, scheme_end))?;
        self.read(start, end, Given::Strict)
    }

    fn read(&self, start: usize, end: usize, given: Given) -> Option<(usize, usize, Given)> {
        if end - start >= MAX_VALUE {
            self.read_to.set(end);
        }
        Some((start, end, given))
    }
}

/// `word` (in any case) is one of `sorted`, a sorted list of lower-case ASCII words.
fn is_one_of(word: &str, sorted: &[&str]) -> bool {
    let mut lower = [0u8; 24];
    if word.len() > lower.len() || !word.is_ascii() {
        return false;
    }
    for (l, b) in lower.iter_mut().zip(word.bytes()) {
        *l = b.to_ascii_lowercase();
    }
    let lower = &lower[..word.len()];
    sorted.binary_search_by(|w| w.as_bytes().cmp(lower)).is_ok()
}

/// The last word of `before`, lower case.
fn words_of_prev(before: &str) -> Option<String> {
    let word: String = before.chars().rev().take(32).take_while(|c| c.is_alphanumeric()).collect::<Vec<_>>().into_iter().rev().collect();
    (!word.is_empty()).then(|| word.to_lowercase())
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// The value at `i`: quoted, up to its closing quote on the line; or bare, up to a blank, a
/// quote, a `,` or `;` (and an `&` in a URL's query).
fn value_at(text: &str, i: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    // No value is longer than this: looking further would make a text of names quadratic.
    let limit = |from: usize| ceil_char(text, (from + MAX_VALUE).min(b.len()));
    let line_end = |from: usize| memchr::memchr(b'\n', &b[from.min(b.len())..limit(from)]).map_or(limit(from), |j| from + j);
    match b.get(i)? {
        b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\'')) => {
            let quote = [b'\\', b[i + 1]];
            let start = i + 2;
            let end = memchr::memmem::find(&b[start..line_end(start)], &quote).map_or(line_end(start), |j| start + j);
            Some((start, end))
        }
        &q @ (b'"' | b'\'' | b'`') => {
            let start = i + 1;
            let stop = line_end(start);
            let end = memchr::memchr(q, &b[start..stop]).map_or(stop, |j| start + j);
            Some((start, end))
        }
        b'\n' | b'\r' => None,
        _ => {
            let stop = limit(i);
            let end = text[i..stop].find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ',' | ';')).map_or(stop, |j| i + j);
            let mut v = &text[i..end];
            // In a URL's query (`?token=…&page=2`) an `&` ends the value.
            if let Some(amp) = v.find('&') {
                let from = i.saturating_sub(256);
                if b[from..i].iter().rposition(|x| matches!(x, b'?' | b'&' | b' ' | b'\n')).is_some_and(|j| matches!(b[from + j], b'?' | b'&')) {
                    v = &v[..amp];
                }
            }
            // A closing bracket that the value did not open is the text's.
            let v = if v.ends_with(')') && !v.contains('(') || v.ends_with(']') && !v.contains('[') || v.ends_with('}') && !v.contains('{') { &v[..v.len() - 1] } else { v };
            Some((i, i + v.len()))
        }
    }
}

/// The longest value read after a name.
const MAX_VALUE: usize = 1024;

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// `Bearer <token>`.
fn bearer_token(text: &str, at: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    if !b.get(at..at + 6).is_some_and(|w| w.eq_ignore_ascii_case(b"bearer")) || (at > 0 && b[at - 1].is_ascii_alphanumeric()) {
        return None;
    }
    let start = skip_blanks(b, at + "bearer".len());
    if start == at + "bearer".len() {
        return None;
    }
    let token = |x: u8| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'~' | b'+' | b'/' | b'-');
    let mut end = start + b[start..].iter().take(MAX_VALUE).take_while(|&&x| token(x)).count();
    end += b[end..].iter().take_while(|&&x| x == b'=').count();
    (end - start >= 16 && random_value(&text[start..end], Given::Strict, true)).then_some((start, end))
}

/// The password of `scheme://user:password@host`.
fn url_password(text: &str, at: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let scheme = b[..at].iter().rev().take(32).take_while(|x| x.is_ascii_alphanumeric() || matches!(x, b'+' | b'.' | b'-')).count();
    if scheme == 0 || !b[at - scheme..at].iter().any(u8::is_ascii_alphabetic) {
        return None;
    }
    let user_start = at + 3;
    let user = b[user_start..].iter().take(256).take_while(|&&x| !matches!(x, b':' | b'/' | b'@' | b'?' | b'#') && !x.is_ascii_whitespace()).count();
    let colon = user_start + user;
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let start = colon + 1;
    let len = b[start..].iter().take(256).take_while(|&&x| !matches!(x, b'@' | b'/') && !x.is_ascii_whitespace()).count();
    let end = start + len;
    (b.get(end) == Some(&b'@') && random_value(&text[start..end], Given::Strict, true)).then_some((start, end))
}

/// `host:port:database:user:password`, a line of a `.pgpass` file.
fn pgpass_passwords(text: &str, taken: &mut Taken, out: &mut Vec<Finding>) {
    let b = text.as_bytes();
    let mut next_line = 0;
    for colon in memchr::memchr_iter(b':', b) {
        // Some colon of the line has the port after it.
        if colon < next_line || !matches!(b.get(colon + 1), Some(b'0'..=b'9' | b'*')) {
            continue;
        }
        let start = memchr::memrchr(b'\n', &b[..colon]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &b[colon..]).map_or(b.len(), |i| colon + i);
        next_line = end;
        let line = text[start..end].trim_end_matches('\r');
        if line.bytes().any(|x| x == b' ' || x == b'\t') || memchr::memchr_iter(b':', line.as_bytes()).count() != 4 {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(host), Some(port), Some(db), Some(user), Some(password)) = (fields.next(), fields.next(), fields.next(), fields.next(), fields.next()) else { continue };
        let port_ok = port == "*" || (!port.is_empty() && port.bytes().all(|x| x.is_ascii_digit()));
        if ![host, db, user, password].iter().any(|f| f.is_empty()) && port_ok && random_value(password, Given::Strict, true) {
            let from = start + line.len() - password.len();
            taken.take(out, Kind::GenericSecret, from, from + password.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        super::super::found(scan, text)
    }

    #[test]
    fn word_lists_are_sorted_for_lookup() {
        for list in [ABOUT, NOT_CREDENTIAL, KEY_QUALIFIERS, COMMON_WORDS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|w| is_one_of(w, list)));
        }
    }

    #[test]
    fn shapes_by_their_prefix() {
        let k = "sk-proj-4fG7hK2mN9pQ1rS5tV8wX3yZ6aB0cD2e";
        assert_eq!(kinds(&format!("OPENAI_API_KEY={k}")), [(Kind::OpenAiKey, k)]);
        let a = "AKIAQ3EGRTYUIOPLKJHG";
        assert_eq!(kinds(&format!("aws id {a} used")), [(Kind::AwsAccessKey, a)]);
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkkuyQeYJqqqnU\n-----END PRIVATE KEY-----";
        assert_eq!(kinds(&format!("key:\n{pem}\n")), [(Kind::PrivateKey, pem)]);
        let g = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv-";
        assert_eq!(kinds(&format!("maps key {g}, restricted")), [(Kind::GoogleApiKey, g)]);
    }

    #[test]
    fn private_keys_in_json_strings_and_cut_off() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkkuyQeYJqqqnU";
        let pem = format!("-----BEGIN RSA PRIVATE KEY-----\\n{body}\\n{body}\\n-----END RSA PRIVATE KEY-----\\n");
        let json = format!("{{\"private_key_id\": \"8f0515da36d9fd1ca412b7d2102baec82876edfe\", \"private_key\": \"{pem}\"}}");
        assert_eq!(kinds(&json), [(Kind::PrivateKey, pem.as_str())]);
        let cut = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n{body}");
        assert_eq!(kinds(&format!("log: {cut}")), [(Kind::PrivateKey, cut.as_str())]);
        let pgp = format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{body}\n=17cb\n-----END PGP PRIVATE KEY BLOCK-----");
        assert_eq!(kinds(&pgp), [(Kind::PrivateKey, pgp.as_str())]);
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
        let k = "sk-proj-Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY";
        assert_eq!(kinds(&format!("notebooks/examples/eval.py:3: key = '{k}'")), [(Kind::OpenAiKey, k)]);
    }

    #[test]
    fn named_values_when_random_not_placeholders() {
        assert_eq!(kinds("password=Zq8#mK2vLp9xT4w"), [(Kind::GenericSecret, "Zq8#mK2vLp9xT4w")]);
        for not in [
            "password=changeme",
            "api_key=<your-key-here>",
            "token: ${TOKEN}",
            "the secret is patience",
            "sk-...",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-1234567890abcdefghijklmnopqrstuv",
            "password: P@ssw0rd2024!",
            "\"private_key_id\": \"8f0515da36d9fd1ca412b7d2102baec82876edfe\"",
            "next_page_token: CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA0eTRsMBgBIAE",
            "Idempotency-Key: 3c617fdc-981b-455d-ad05-c37efa81912b",
            "secret: dGhpcyBpcyBqdXN0IHNvbWUgb3JkaW5hcnkgdGV4dA==",
            "password_changed_at: 2024-03-11T09:47:52.183Z",
            "SECRET_KEY = settings.get_secret_key_from_vault",
        ] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
    }

    #[test]
    fn secrets_by_name_family_and_in_running_text() {
        for (text, value) in [
            ("La contraseña del wifi de la oficina es ol6VK9Xyc?Y0nwWVpc-Jya", "ol6VK9Xyc?Y0nwWVpc-Jya"),
            ("Das Passwort lautet: Xk7#pQ2mZ9rT", "Xk7#pQ2mZ9rT"),
            ("db.internal:5432:orders:app:2oY6RZ8!7vO8W3ak", "2oY6RZ8!7vO8W3ak"),
            ("machine api.example.net login bot password Lq4Rz8Tv2Wx6Yb", "Lq4Rz8Tv2Wx6Yb"),
            ("mysql --password=hT5vB8nM2kL4qW9e", "hT5vB8nM2kL4qW9e"),
            ("Authorization: Basic dXNlcjpTM2NyM3RQYXNzdzByZA==", "dXNlcjpTM2NyM3RQYXNzdzByZA=="),
            ("{\"config\": \"{\\\"apiKey\\\": \\\"a8F3kL9mQ2xR7vT1\\\"}\"}", "a8F3kL9mQ2xR7vT1"),
            ("Server=db;User Id=sa;Password=Vb7!kR2#mQ9zLw;", "Vb7!kR2#mQ9zLw"),
            ("<password>Tz4%Kq8@Lm2#Wx</password>", "Tz4%Kq8@Lm2#Wx"),
            ("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=k3J9sL2mQ8vR4xT7yU1wZ5aB6cD0eF3gH8iJ2kL4mN6=;", "k3J9sL2mQ8vR4xT7yU1wZ5aB6cD0eF3gH8iJ2kL4mN6="),
            ("GET /v1/data?access_token=Qm9vR3xT7yU1wZ5aB6cD&page=2", "Qm9vR3xT7yU1wZ5aB6cD"),
        ] {
            assert_eq!(kinds(text), [(Kind::GenericSecret, value)], "{text}");
        }
    }
}
