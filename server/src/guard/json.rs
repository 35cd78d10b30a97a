//! The texts of a JSON document, found in its raw bytes: every string value that carries text
//! (message contents, tool arguments and results, instructions), not the identifiers beside it
//! (ids, roles, types, model names, signatures, base64 data). A text can be replaced in place
//! without parsing or re-serialising the rest of the document.

use std::borrow::Cow;

/// One string value that carries text: the bytes between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub start: usize,
    pub end: usize,
    /// It holds escapes, so it must be decoded to be read.
    pub escaped: bool,
    /// Written by whoever set the agent up (a system or developer message, a top-level
    /// `system` or `instructions`), not by a user or a tool.
    pub trusted: bool,
}

/// Members whose string values name or identify things rather than carry text.
fn identifier(key: &[u8]) -> bool {
    matches!(
        key,
        b"model"
            | b"id"
            | b"type"
            | b"role"
            | b"object"
            | b"name"
            | b"tool_call_id"
            | b"tool_use_id"
            | b"call_id"
            | b"item_id"
            | b"signature"
            | b"encrypted_content"
            | b"data"
            | b"media_type"
            | b"mimeType"
            | b"finish_reason"
            | b"stop_reason"
            | b"status"
            | b"system_fingerprint"
            | b"service_tier"
            | b"detail"
            | b"format"
            | b"previous_response_id"
            | b"uri"
            | b"blob"
    )
}

/// How a document is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A model API's request or answer: its identifiers are passed over, and what the operator
    /// wrote (a system or developer message, `system`, `instructions`) is trusted.
    Model,
    /// Anything else — an MCP tool's arguments or result, a resource, a prompt — whose shape
    /// its sender chose: every string is read except the protocol's own few (a content item's
    /// `type`, `mimeType`, `uri`, `blob`, and the opaque `requestState` a server asks back
    /// unchanged), and nothing is trusted, whatever `role` it claims.
    Foreign,
}

impl Reading {
    fn passes_over(self, key: &[u8]) -> bool {
        match self {
            Self::Model => identifier(key),
            Self::Foreign => matches!(key, b"type" | b"mimeType" | b"uri" | b"blob" | b"requestState"),
        }
    }
}

/// Top-level members whose whole value is the operator's.
fn operator_member(key: &[u8]) -> bool {
    matches!(key, b"system" | b"instructions")
}

struct Frame {
    object: bool,
    /// The member being read (objects), as a byte range.
    key: (usize, usize),
    expect_key: bool,
    /// The member this container is the value of.
    owner: (usize, usize),
    /// Texts found before this container opened.
    first_text: usize,
    /// A `role` of `system` or `developer` was met in it.
    operator_role: bool,
    trusted: bool,
}

/// Where the string that starts after the quote at `from` ends (the index of its closing
/// quote), and whether it holds escapes.
pub fn string_end(raw: &[u8], from: usize) -> (usize, bool) {
    let mut i = from;
    let mut escaped = false;
    // Most strings of a document are short (keys, identifiers): their first 16 bytes are read
    // eight at a time, and only the rest of a long one is searched.
    while i < from + 16 {
        let Some(w) = word_at(raw, i) else { break };
        let m = bytes_equal(w, b'"') | bytes_equal(w, b'\\');
        if m != 0 {
            // The lowest marked byte is the first quote or backslash.
            let at = i + (m.trailing_zeros() / 8) as usize;
            if raw[at] == b'"' {
                return (at, false);
            }
            i = at;
            break;
        }
        i += 8;
    }
    while let Some(off) = memchr::memchr2(b'"', b'\\', &raw[i..]) {
        let at = i + off;
        if raw[at] == b'\\' {
            escaped = true;
            i = at + 2;
            if i > raw.len() {
                return (raw.len(), escaped);
            }
        } else {
            return (at, escaped);
        }
    }
    (raw.len(), escaped)
}

/// Eight bytes of `raw` from `i` as one word (the first byte lowest), when there are eight.
pub(crate) fn word_at(raw: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(raw.get(i..i + 8)?.try_into().ok()?))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` equal to `b`. Only the lowest marked byte is sure to be one
/// (a borrow may mark a byte above it): enough to find the first.
pub(crate) fn bytes_equal(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// The high bit of each byte of `w` below `n` (at most 128); as for [`bytes_equal`], the lowest
/// marked byte is sure to be one.
pub(crate) fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH
}

/// Every text of `raw` (a JSON document of a model API), in document order. Malformed input
/// yields what could be read.
pub fn texts(raw: &str, out: &mut Vec<Text>) {
    texts_as(raw, Reading::Model, out);
}

/// Every text of `raw`, read as `reading` says, in document order.
pub fn texts_as(raw: &str, reading: Reading, out: &mut Vec<Text>) {
    let model = reading == Reading::Model;
    let bytes = raw.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let key_of = |r: (usize, usize)| &bytes[r.0..r.1];
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                let (owner, trusted) = match stack.last() {
                    Some(f) if f.object => (f.key, f.trusted || (model && stack.len() == 1 && operator_member(key_of(f.key)))),
                    Some(f) => (f.owner, f.trusted),
                    None => ((0, 0), false),
                };
                stack.push(Frame { object: bytes[i] == b'{', key: (0, 0), expect_key: bytes[i] == b'{', owner, first_text: out.len(), operator_role: false, trusted });
                i += 1;
            }
            b'}' | b']' => {
                if let Some(f) = stack.pop() {
                    if f.operator_role {
                        for t in &mut out[f.first_text..] {
                            t.trusted = true;
                        }
                    }
                }
                i += 1;
            }
            b',' => {
                if let Some(f) = stack.last_mut() {
                    f.expect_key = f.object;
                }
                i += 1;
            }
            b'"' => {
                let (end, escaped) = string_end(bytes, i + 1);
                let start = i + 1;
                i = end + 1;
                let Some(f) = stack.last_mut() else {
                    // A document that is one string.
                    out.push(Text { start, end, escaped, trusted: false });
                    continue;
                };
                if f.object && f.expect_key {
                    f.key = (start, end);
                    f.expect_key = false;
                    continue;
                }
                let key = if f.object { f.key } else { f.owner };
                let key = &bytes[key.0..key.1];
                let value = &bytes[start..end];
                if model && key == b"role" {
                    if f.object && matches!(value, b"system" | b"developer") {
                        f.operator_role = true;
                    }
                    continue;
                }
                if reading.passes_over(key) || value.is_empty() || value.starts_with(b"data:") {
                    continue;
                }
                let trusted = f.trusted || (model && stack.len() == 1 && operator_member(key));
                out.push(Text { start, end, escaped, trusted });
            }
            _ => i += 1,
        }
    }
}

/// The string value of the only member named `key` in `raw` (one small JSON object, such as a
/// stream event), when the document holds exactly one `"key":"` outside its strings' escapes.
pub fn member_string(raw: &str, key: &'static str) -> Option<Text> {
    let at = member_value(raw, key)?;
    let start = raw[at..].strip_prefix('"').map(|_| at + 1)?;
    let (end, escaped) = string_end(raw.as_bytes(), start);
    (end < raw.len()).then_some(Text { start, end, escaped, trusted: false })
}

thread_local! {
    /// A finder for each member name looked up, built once per thread: building one costs more
    /// than searching a stream event with it. The names are the code's own, so few.
    static FINDERS: std::cell::RefCell<Vec<(&'static str, memchr::memmem::Finder<'static>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where the value of the only member named `key` in `raw` starts (see [`member_string`]).
pub fn member_value(raw: &str, key: &'static str) -> Option<usize> {
    FINDERS.with_borrow_mut(|finders| {
        let i = match finders.iter().position(|(k, _)| std::ptr::eq(*k, key)) {
            Some(i) => i,
            None => {
                finders.push((key, memchr::memmem::Finder::new(key.as_bytes())));
                finders.len() - 1
            }
        };
        let mut value = None;
        let bytes = raw.as_bytes();
        for at in finders[i].1.find_iter(bytes) {
            // The key with its quotes.
            if at == 0 || bytes[at - 1] != b'"' || bytes.get(at + key.len()) != Some(&b'"') {
                continue;
            }
            let at = at - 1;
            let rest = raw[at + key.len() + 2..].trim_start();
            let Some(after) = rest.strip_prefix(':') else { continue };
            if raw[..at].ends_with('\\') || value.is_some() {
                return None;
            }
            value = Some(raw.len() - after.trim_start().len());
        }
        value
    })
}

/// Past the JSON whitespace from `i`.
pub(crate) fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Where the JSON value that starts at `at` (after any whitespace) ends, just past it; `None`
/// when it does not end in `raw`. Only the nesting and the strings are read, not checked.
pub fn value_end(raw: &[u8], at: usize) -> Option<usize> {
    let i = skip_space(raw, at);
    match *raw.get(i)? {
        b'"' => {
            let (end, _) = string_end(raw, i + 1);
            (end < raw.len()).then_some(end + 1)
        }
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < raw.len() {
                match raw[j] {
                    b'"' => {
                        j = string_end(raw, j + 1).0;
                        if j >= raw.len() {
                            return None;
                        }
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let n = raw[i..].iter().position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(raw.len() - i);
            (n > 0).then_some(i + n)
        }
    }
}

/// Reads the object that starts at `at` (after any whitespace) member by member, calling `f`
/// with each key and where its value starts and ends. Returns where the object ends, or `None`
/// when `raw` has no whole object there or a key is written with escapes.
pub fn members<'a>(raw: &'a str, at: usize, f: impl FnMut(&'a str, usize, usize)) -> Option<usize> {
    let b = raw.as_bytes();
    let i = skip_space(b, at);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let j = skip_space(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Some(j + 1);
    }
    // As if after a value: the first member follows.
    members_from(raw, j, false, f)
}

/// Goes on reading an object's members (see [`members`]) from just after a member's value.
pub fn members_after<'a>(raw: &'a str, after: usize, f: impl FnMut(&'a str, usize, usize)) -> Option<usize> {
    members_from(raw, after, true, f)
}

fn members_from<'a>(raw: &'a str, mut i: usize, mut after_value: bool, mut f: impl FnMut(&'a str, usize, usize)) -> Option<usize> {
    let b = raw.as_bytes();
    loop {
        if after_value {
            i = skip_space(b, i);
            match b.get(i) {
                Some(b',') => i = skip_space(b, i + 1),
                Some(b'}') => return Some(i + 1),
                _ => return None,
            }
        }
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key_end, escaped) = string_end(b, i + 1);
        // A key written with escapes names what it decodes to: not read here.
        if escaped {
            return None;
        }
        let key = raw.get(i + 1..key_end)?;
        i = skip_space(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_space(b, i + 1);
        let end = value_end(b, start)?;
        f(key, start, end);
        i = end;
        after_value = true;
    }
}

/// Reads the array that starts at `at` (after any whitespace) element by element, calling `f`
/// with where each starts and ends. Returns where the array ends, or `None` when `raw` has no
/// whole array there.
pub fn elements(raw: &str, at: usize, mut f: impl FnMut(usize, usize)) -> Option<usize> {
    let b = raw.as_bytes();
    let mut i = skip_space(b, at);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_space(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Some(i + 1);
    }
    loop {
        let end = value_end(b, i)?;
        f(i, end);
        i = skip_space(b, end);
        match b.get(i) {
            Some(b',') => i = skip_space(b, i + 1),
            Some(b']') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// The string at `start..end` (with its quotes) as a [`Text`], when it is one.
pub fn string_at(raw: &str, start: usize, end: usize) -> Option<Text> {
    let inner = raw.get(start..end)?.strip_prefix('"')?.strip_suffix('"')?;
    Some(Text { start: start + 1, end: end - 1, escaped: inner.contains('\\'), trusted: false })
}

/// The text as it reads (escapes decoded).
pub fn read<'a>(raw: &'a str, t: &Text) -> Cow<'a, str> {
    let inner = &raw[t.start..t.end];
    if !t.escaped {
        return Cow::Borrowed(inner);
    }
    match serde_json::from_str::<String>(&raw[t.start - 1..(t.end + 1).min(raw.len())]) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(inner),
    }
}

/// `raw` with some of its texts replaced (`edits`: a text and what it becomes, in document
/// order).
pub fn rewrite(raw: &str, edits: &[(Text, String)]) -> String {
    let mut out = String::with_capacity(raw.len() + 64);
    let mut at = 0;
    for (t, with) in edits {
        out.push_str(&raw[at..t.start - 1]);
        // Serialising a string cannot fail.
        out.push_str(&serde_json::to_string(with).unwrap_or_default());
        at = (t.end + 1).min(raw.len());
    }
    out.push_str(&raw[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(raw: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        texts(raw, &mut out);
        out.iter().map(|t| (read(raw, t).into_owned(), t.trusted)).collect()
    }

    #[test]
    fn texts_not_identifiers() {
        let raw = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"content":[{"type":"text","text":"mail a@b.example"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}],"role":"user"},{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":\"21\u00b0C\"}"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object"}}}]}"#;
        assert_eq!(
            all(raw),
            vec![("Be brief.".into(), true), ("mail a@b.example".into(), false), ("{\"temp\":\"21°C\"}".into(), false), ("Weather".into(), false)]
        );
    }

    #[test]
    fn operator_members_at_the_top() {
        let raw = r#"{"system":[{"type":"text","text":"You are terse."}],"instructions":"Answer in French.","messages":[{"role":"user","content":"hi","system":"not the operator's"}]}"#;
        assert_eq!(all(raw), vec![("You are terse.".into(), true), ("Answer in French.".into(), true), ("hi".into(), false), ("not the operator's".into(), false)]);
    }

    #[test]
    fn rewritten_in_place() {
        let raw = r#"{"a":"x \"q\" y","b":["keep","me@x.example"],"n":1}"#;
        let mut found = Vec::new();
        texts(raw, &mut found);
        let edits = vec![(found[0], "z\n".to_string()), (found[2], "[EMAIL]".to_string())];
        let out = rewrite(raw, &edits);
        assert_eq!(out, r#"{"a":"z\n","b":["keep","[EMAIL]"],"n":1}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    }

    #[test]
    fn members_and_elements_read_without_values() {
        let raw = r#" {"a" : "x\"}y", "b":[1, {"c":[2,3]}, "]"] ,"n":-1.5e3,"t":true, "o":{}}"#;
        let mut seen = Vec::new();
        let end = members(raw, 0, |k, s, e| seen.push((k, &raw[s..e])));
        assert_eq!(end, Some(raw.len()));
        assert_eq!(seen, vec![("a", r#""x\"}y""#), ("b", r#"[1, {"c":[2,3]}, "]"]"#), ("n", "-1.5e3"), ("t", "true"), ("o", "{}")]);
        let b = raw.find('[').unwrap();
        let mut items = Vec::new();
        assert!(elements(raw, b, |s, e| items.push(&raw[s..e])).is_some());
        assert_eq!(items, vec!["1", r#"{"c":[2,3]}"#, r#""]""#]);
        let mut first = None;
        members(raw, 0, |_, s, e| {
            first.get_or_insert((s, e));
        });
        let (s, e) = first.unwrap();
        let t = string_at(raw, s, e).unwrap();
        assert!(t.escaped);
        assert_eq!(read(raw, &t), "x\"}y");
        assert_eq!(string_at(raw, s + 1, e), None);
        for bad in ["", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}", "[1,", "{\"a\":\"b}", "{\"a\":[}", "{\"\\u0061\":1}"] {
            assert_eq!(members(bad, 0, |_, _, _| {}), None, "{bad:?}");
        }
        assert_eq!(elements("[1,", 0, |_, _| {}), None);
        assert_eq!(elements("[]", 0, |_, _| {}), Some(2));
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for raw in ["", "\"", "{\"a\":\"b", "{\"a\":\"b\\", "]]}}", "{\"a\":[\"x\",", "\"just a string\""] {
            let mut out = Vec::new();
            texts(raw, &mut out);
            for t in &out {
                let _ = read(raw, t);
            }
        }
    }
}
