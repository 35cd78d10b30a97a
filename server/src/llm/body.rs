//! A JSON request body, read once as its top-level members left raw.
//!
//! Weir reads a handful of members (`model`, the output caps, the end user, `stream`) and sets
//! at most three; everything else must reach the provider untouched. So the body is validated
//! and split into members whose values stay slices of the original bytes: a prompt of many
//! kilobytes is scanned once and copied once (when the body is rewritten), never turned into a
//! tree of values. Member order is kept. A top-level key given twice is refused: parsers
//! disagree on which value wins, so Weir's reading (the model it checks and prices) and the
//! provider's could differ. Nesting is limited as it is for every JSON Weir reads.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Each key (unescaped) with its value's JSON text, in the body's order.
type MemberList<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

#[derive(Clone)]
pub struct RequestBody<'a> {
    members: MemberList<'a>,
    /// Whether a member was set since the body was read.
    changed: bool,
}

/// How deep arrays and objects may nest: serde_json's own limit for what it parses into values,
/// and so the one MCP messages have.
pub const MAX_DEPTH: usize = 127;
/// Top-level members at most (no provider API has more than a few dozen).
pub const MAX_MEMBERS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is not valid JSON: {0} (line {1}, column {2})")]
    Json(String, usize, usize),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("request body has the member `{0}` twice")]
    DuplicateKey(String),
    #[error("request body nests arrays and objects deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("request body has more than {MAX_MEMBERS} top-level members")]
    TooManyMembers,
}

impl<'a> RequestBody<'a> {
    pub fn parse(raw: &'a [u8]) -> Result<Self, BodyError> {
        // Most bodies are read by the scan alone; whatever it does not take (an error to name,
        // a key with escapes, a member twice, too many, too deep) is read by serde_json, whose
        // reading is the reference: the scan takes nothing serde_json refuses and splits what
        // it takes into the same members (`tests::the_scan_agrees_with_serde_json`).
        let members = match scan::object(raw) {
            Some(members) => members,
            None => with_serde(raw)?,
        };
        Ok(Self { members, changed: false })
    }

    /// A member's value, as the JSON text it was given as.
    fn raw(&self, key: &str) -> Option<&str> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Whether the member is present at all (whatever its value).
    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// The member read as `T`; `None` when absent or of another shape.
    pub fn get<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        self.raw(key).and_then(|v| serde_json::from_str(v).ok())
    }

    /// Sets a member, in place when present, else at the end.
    pub fn set(&mut self, key: &str, value: &Value) {
        let Ok(raw) = serde_json::to_string(value) else { return };
        self.changed = true;
        match self.members.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Cow::Owned(raw),
            None => self.members.push((Cow::Owned(key.to_string()), Cow::Owned(raw))),
        }
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Every member, in the body's order, with its value as the JSON text it was given as.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Every member, in the body's order, with its value read as a raw JSON value (for the
    /// translations, which read values further; this reads each value's text once more).
    pub fn raw_members(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        // Every value was read as valid JSON, so each reads again.
        self.members.iter().filter_map(|(k, v)| Some((&**k, serde_json::from_str::<&RawValue>(v).ok()?)))
    }

    /// The body as it goes upstream.
    pub fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self.members.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (i, (k, v)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // A key is a string; writing one to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &**k);
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
        }
        out.push(b'}');
        out
    }
}

/// The body read by serde_json (see `RequestBody::parse`).
fn with_serde(raw: &[u8]) -> Result<MemberList<'_>, BodyError> {
    let members = match serde_json::from_slice::<Members<'_>>(raw) {
        Ok(Members(Some(members))) => members,
        Ok(Members(None)) => return Err(BodyError::NotAnObject),
        Err(e) if e.is_data() => {
            let text = e.to_string();
            return Err(match text.strip_prefix(DUPLICATE) {
                Some(rest) => BodyError::DuplicateKey(rest.split('`').next().unwrap_or_default().to_string()),
                None if text.starts_with(TOO_MANY) => BodyError::TooManyMembers,
                None => BodyError::NotAnObject,
            });
        }
        Err(e) => return Err(BodyError::Json(e.to_string(), e.line(), e.column())),
    };
    // Raw members are skipped over without serde_json's depth limit: checked here.
    if nests_deeper_than(raw, MAX_DEPTH) {
        return Err(BodyError::TooDeep);
    }
    Ok(members)
}

/// How the visitor says why it refused an object (serde errors carry text only).
const DUPLICATE: &str = "weir: duplicate member `";
const TOO_MANY: &str = "weir: too many members";

/// Whether `json` (valid JSON) nests arrays and objects deeper than `max`. Strings are skipped
/// with a vectorised search, so the cost is in the structure, not the prompt text.
fn nests_deeper_than(json: &[u8], max: usize) -> bool {
    // Too short to nest that deep: each level takes two bytes at least. Nor can a body with no
    // more than `max` opening brackets in all (inside strings too), found by a vector search.
    if json.len() <= max * 2 || memchr::memchr2_iter(b'[', b'{', json).take(max + 1).count() <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            // To the closing quote (past each escape, and its escaped byte); a string that
            // never closes ends the reading.
            b'"' => i = crate::guard::json::string_end(json, i + 1).0,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// The body read without serde_json: one pass that checks the whole of JSON's grammar (RFC 8259,
/// as serde_json reads it: strings without raw control characters, the escapes JSON has, numbers
/// without leading zeros, whitespace of four kinds, nothing after the value) and keeps the
/// top-level members as slices. It answers only for what it is sure of: a body that is an
/// object of at most `MAX_MEMBERS` members with plain keys given once, nesting no deeper than
/// `MAX_DEPTH`, valid UTF-8. Anything else is `None`, and serde_json reads it (and names what is
/// wrong). Strings, most of a prompt, are searched eight bytes at a time.
mod scan {
    use std::borrow::Cow;

    use super::{MemberList, MAX_DEPTH, MAX_MEMBERS};
    use crate::guard::json;

    pub fn object(raw: &[u8]) -> Option<MemberList<'_>> {
        // Valid UTF-8 throughout, so every slice taken below is a `str`: outside strings any
        // byte that is not ASCII is a syntax error anyway.
        let text = std::str::from_utf8(raw).ok()?;
        let mut s = Scan { b: raw, i: 0 };
        s.ws();
        s.eat(b'{')?;
        let mut members: MemberList<'_> = Vec::with_capacity(8);
        s.ws();
        if s.peek() == Some(b'}') {
            s.i += 1;
        } else {
            loop {
                s.ws();
                s.eat(b'"')?;
                let from = s.i;
                if s.string()? {
                    return None;
                }
                let key = &text[from..s.i - 1];
                if members.len() == MAX_MEMBERS || members.iter().any(|(k, _)| k == key) {
                    return None;
                }
                s.ws();
                s.eat(b':')?;
                s.ws();
                let start = s.i;
                s.value()?;
                members.push((Cow::Borrowed(key), Cow::Borrowed(&text[start..s.i])));
                s.ws();
                match s.next()? {
                    b',' => {}
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        s.ws();
        (s.i == raw.len()).then_some(members)
    }

    struct Scan<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Scan<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }

        fn next(&mut self) -> Option<u8> {
            let c = self.peek()?;
            self.i += 1;
            Some(c)
        }

        fn eat(&mut self, c: u8) -> Option<()> {
            (self.next()? == c).then_some(())
        }

        fn ws(&mut self) {
            self.i = json::skip_space(self.b, self.i);
        }

        /// One value of any kind, nested ones included (the body's object is the first level).
        fn value(&mut self) -> Option<()> {
            // Per open level: whether it is an object (else an array).
            let mut objects = [false; MAX_DEPTH + 1];
            let mut depth = 0usize;
            loop {
                // A value starts here.
                self.ws();
                match self.next()? {
                    open @ (b'{' | b'[') => {
                        depth += 1;
                        if depth + 1 > MAX_DEPTH {
                            return None;
                        }
                        let object = open == b'{';
                        objects[depth] = object;
                        self.ws();
                        if self.peek() == Some(if object { b'}' } else { b']' }) {
                            // Empty: closed at once.
                            self.i += 1;
                            depth -= 1;
                        } else {
                            if object {
                                self.key()?;
                            }
                            continue;
                        }
                    }
                    b'"' => {
                        self.string()?;
                    }
                    b't' => self.rest(b"rue")?,
                    b'f' => self.rest(b"alse")?,
                    b'n' => self.rest(b"ull")?,
                    c @ (b'-' | b'0'..=b'9') => self.number(c)?,
                    _ => return None,
                }
                // A value ended: close what it ends, until the next value starts.
                loop {
                    if depth == 0 {
                        return Some(());
                    }
                    self.ws();
                    let object = objects[depth];
                    match self.next()? {
                        b',' => {
                            if object {
                                self.ws();
                                self.key()?;
                            }
                            break;
                        }
                        b'}' if object => depth -= 1,
                        b']' if !object => depth -= 1,
                        _ => return None,
                    }
                }
            }
        }

        /// A member's key and its colon (any key: below the top level keys are not read).
        fn key(&mut self) -> Option<()> {
            self.eat(b'"')?;
            self.string()?;
            self.ws();
            self.eat(b':')
        }

        fn rest(&mut self, word: &[u8]) -> Option<()> {
            let end = self.i + word.len();
            (self.b.get(self.i..end)? == word).then(|| self.i = end)
        }

        /// A number whose first byte `first` was read.
        fn number(&mut self, first: u8) -> Option<()> {
            let first = if first == b'-' { self.next()? } else { first };
            match first {
                b'0' => {}
                b'1'..=b'9' => self.digits(),
                _ => return None,
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                self.digit()?;
                self.digits();
            }
            if let Some(b'e' | b'E') = self.peek() {
                self.i += 1;
                if let Some(b'+' | b'-') = self.peek() {
                    self.i += 1;
                }
                self.digit()?;
                self.digits();
            }
            // A digit right after a leading zero ("01") is refused by what follows a value.
            Some(())
        }

        fn digit(&mut self) -> Option<()> {
            self.next()?.is_ascii_digit().then_some(())
        }

        fn digits(&mut self) {
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
        }

        /// The rest of a string whose opening quote was read, to past its closing quote;
        /// whether it holds escapes.
        fn string(&mut self) -> Option<bool> {
            let b = self.b;
            let mut i = self.i;
            let mut escaped = false;
            loop {
                i = special(b, i);
                match *b.get(i)? {
                    b'"' => {
                        self.i = i + 1;
                        return Some(escaped);
                    }
                    b'\\' => {
                        escaped = true;
                        match *b.get(i + 1)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                            b'u' => {
                                b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit).then_some(())?;
                                i += 6;
                            }
                            _ => return None,
                        }
                    }
                    // A control character, which a string must escape.
                    _ => return None,
                }
            }
        }
    }

    /// The first byte from `i` on that ends a string's plain run: a quote, a backslash or a
    /// control character (or `b.len()`). The lowest byte a word marks is always a true match.
    fn special(b: &[u8], mut i: usize) -> usize {
        while let Some(w) = json::word_at(b, i) {
            let m = json::bytes_equal(w, b'"') | json::bytes_equal(w, b'\\') | json::bytes_below(w, 0x20);
            if m != 0 {
                return i + (m.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            i += 1;
        }
        i
    }
}

/// The members of a JSON object, or `None` for any other JSON value.
struct Members<'a>(Option<MemberList<'a>>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members: MemberList<'de> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v: &'de RawValue = map.next_value()?;
                    if members.iter().any(|(existing, _)| *existing == k) {
                        return Err(serde::de::Error::custom(format_args!("{DUPLICATE}{k}`")));
                    }
                    if members.len() == MAX_MEMBERS {
                        return Err(serde::de::Error::custom(TOO_MANY));
                    }
                    members.push((k, Cow::Borrowed(v.get())));
                }
                Ok(Members(Some(members)))
            }
            // Any other JSON value: read it (so that its syntax is checked) and say so.
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Members(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Members(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Members(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Members(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Members(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Members(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Members(None))
            }
        }
        d.deserialize_any(ObjectVisitor)
    }
}

/// An object key, borrowed from the body unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan against serde_json: on every body the scan takes, serde_json gives the same
    /// members; and the scan takes every body serde_json reads with plain keys. Bodies are
    /// generated (every kind of value, escapes, numbers of each form, non-ASCII text, odd
    /// whitespace) and then broken one byte at a time (removed, added, replaced, cut).
    #[test]
    fn the_scan_agrees_with_serde_json() {
        use rand::{Rng, SeedableRng};

        fn check(raw: &[u8], taken: &mut usize) {
            let reference = with_serde(raw);
            match scan::object(raw) {
                Some(members) => {
                    *taken += 1;
                    match reference {
                        Ok(r) => assert_eq!(members, r, "{:?}", String::from_utf8_lossy(raw)),
                        Err(e) => panic!("the scan took what serde_json refuses ({e}): {:?}", String::from_utf8_lossy(raw)),
                    }
                }
                None => {
                    if let Ok(r) = reference {
                        assert!(r.iter().any(|(k, _)| matches!(k, Cow::Owned(_))), "the scan refused a plain body: {:?}", String::from_utf8_lossy(raw));
                    }
                }
            }
        }

        fn ws(rng: &mut rand::rngs::StdRng, out: &mut String) {
            out.push_str(["", "", "", " ", "\n", "\t", "\r\n  "][rng.random_range(0..7)]);
        }

        fn string(rng: &mut rand::rngs::StdRng, out: &mut String, keyish: bool) {
            const PIECES: [&str; 16] = ["a", "model", "x y", "\\\"", "\\\\", "\\n", "\\/", "\\u00e9", "\\uD83D", "é", "日本", "😀", "\u{7f}", "[{", "\\b\\f\\r\\t", "0"];
            out.push('"');
            for _ in 0..rng.random_range(0..6) {
                let piece = PIECES[rng.random_range(0..PIECES.len())];
                if keyish && piece.starts_with('\\') && rng.random_bool(0.8) {
                    continue;
                }
                out.push_str(piece);
            }
            out.push('"');
        }

        fn value(rng: &mut rand::rngs::StdRng, out: &mut String, depth: usize) {
            const NUMBERS: [&str; 12] = ["0", "-0", "7", "-12", "3.25", "-0.5", "1e10", "2E-3", "6.02e+23", "12345678901234567890123", "0.0", "-1E+0"];
            match rng.random_range(0..if depth > 4 { 4 } else { 7 }) {
                0 => string(rng, out, false),
                1 => out.push_str(NUMBERS[rng.random_range(0..NUMBERS.len())]),
                2 => out.push_str(["true", "false", "null"][rng.random_range(0..3)]),
                3 => out.push_str(NUMBERS[rng.random_range(0..NUMBERS.len())]),
                4 | 5 => object(rng, out, depth + 1),
                _ => {
                    out.push('[');
                    for i in 0..rng.random_range(0..4) {
                        if i > 0 {
                            out.push(',');
                        }
                        ws(rng, out);
                        value(rng, out, depth + 1);
                        ws(rng, out);
                    }
                    out.push(']');
                }
            }
        }

        fn object(rng: &mut rand::rngs::StdRng, out: &mut String, depth: usize) {
            out.push('{');
            ws(rng, out);
            for i in 0..rng.random_range(0..5) {
                if i > 0 {
                    out.push(',');
                    ws(rng, out);
                }
                string(rng, out, true);
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                value(rng, out, depth);
                ws(rng, out);
            }
            out.push('}');
        }

        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let (mut taken, mut read) = (0usize, 0usize);
        for _ in 0..40_000 {
            let mut body = String::new();
            ws(&mut rng, &mut body);
            object(&mut rng, &mut body, 1);
            ws(&mut rng, &mut body);
            let whole = body.into_bytes();
            check(&whole, &mut taken);
            read += 1;
            for _ in 0..4 {
                let mut broken = whole.clone();
                const BYTES: [u8; 24] = [b'"', b'\\', b',', b':', b'{', b'}', b'[', b']', b'0', b'1', b'-', b'+', b'.', b'e', b'u', b'x', b' ', 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff, b'n'];
                let at = rng.random_range(0..broken.len());
                match rng.random_range(0..4) {
                    0 => {
                        broken.remove(at);
                    }
                    1 => broken.insert(at, BYTES[rng.random_range(0..BYTES.len())]),
                    2 => broken[at] = BYTES[rng.random_range(0..BYTES.len())],
                    _ => broken.truncate(at),
                }
                check(&broken, &mut taken);
                read += 1;
            }
        }
        // Most generated bodies are whole, plain objects: the scan must take them.
        assert!(taken > read / 6, "the scan took {taken} of {read}");

        let edges: [&[u8]; 40] = [
            b"{}", b" {\n} ", b"{\"a\":01}", b"{\"a\":1.}", b"{\"a\":-}", b"{\"a\":1e}", b"{\"a\":1e+}", b"{\"a\":.5}", b"{\"a\":+1}",
            b"{\"a\":\"\\x\"}", b"{\"a\":\"\\u12\"}", b"{\"a\":\"\\u12G4\"}", b"{\"a\":\"\x01\"}", b"{\"a\":\"\x7f\"}", b"{\"a\":tru}", b"{\"a\":nul}",
            b"{\"a\":[1,]}", b"{\"a\":{,}}", b"{\"a\":1,}", b"{,}", b"{\"a\" 1}", b"{\"a\":1}x", b"{\"a\":1}}", b"\xef\xbb\xbf{}", b"{\"a\":-0.0e-0}",
            b"{\"a\":\"\xff\"}", b"{\"\xc3\":1}", b"{\"a\":[}", b"{\"a\":{\"b\"}}", b"{\"a\":{\"b\":}}", b"{\"a\":\"unterminated}", b"{\"a\":1", b"{\"a\"",
            b"{\"a\":\"\\uD800\"}", b"{\"a\":1,\"a\":2}", b"{\"a\":1,\"\\u0061\":2}", b"{\"a\x00\":1}", b"{\"a\":[[[]]],\"b\":{\"c\":{}}}", b"{\"a\":1}\n\t\r ", b"{\"a\":\"\\\\\\\"\"}",
        ];
        for raw in edges {
            check(raw, &mut taken);
        }
        for raw in [&b"{}"[..], b"{\"a\":-0.0e-0}", b"{\"a\":\"\x7f\"}", b"{\"a\":\"\\uD800\"}", b"{\"a\":[[[]]],\"b\":{\"c\":{}}}", b"{\"a\":\"\\\\\\\"\"}"] {
            assert!(scan::object(raw).is_some(), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn untouched_members_pass_byte_for_byte() {
        let raw = br#"{"model":"a","messages":[{"role":"user","content":"h\u00e9llo \"q\""}],"x":{"deep":[1,2.50,null]}}"#;
        let mut b = RequestBody::parse(raw).unwrap();
        assert!(!b.changed());
        assert_eq!(b.to_bytes(), raw.to_vec());
        b.set("model", &Value::from("b"));
        b.set("max_tokens", &Value::from(64));
        assert!(b.changed());
        assert_eq!(
            String::from_utf8(b.to_bytes()).unwrap(),
            r#"{"model":"b","messages":[{"role":"user","content":"h\u00e9llo \"q\""}],"x":{"deep":[1,2.50,null]},"max_tokens":64}"#
        );
    }

    #[test]
    fn reads_members_by_shape() {
        let b = RequestBody::parse(br#"{"model":"m","stream":true,"max_tokens":5,"metadata":{"user_id":"u"},"n":"x"}"#).unwrap();
        assert_eq!(b.get::<String>("model").as_deref(), Some("m"));
        assert_eq!(b.get::<bool>("stream"), Some(true));
        assert_eq!(b.get::<i64>("max_tokens"), Some(5));
        assert_eq!(b.get::<i64>("n"), None);
        assert!(b.has("n") && !b.has("absent"));
        assert_eq!(b.get::<Value>("metadata").unwrap()["user_id"], "u");
    }

    #[test]
    fn a_repeated_top_level_key_is_refused() {
        match RequestBody::parse(br#"{"model":"a","x":1,"model":"b"}"#) {
            Err(BodyError::DuplicateKey(k)) => assert_eq!(k, "model"),
            other => panic!("a duplicate key was accepted: {:?}", other.map(|b| b.to_bytes())),
        }
        // Escapes do not hide a repeat.
        assert!(matches!(RequestBody::parse(br#"{"model":"a","mo\u0064el":"b"}"#), Err(BodyError::DuplicateKey(_))));
        // Repeats below the top level are the provider's business.
        assert!(RequestBody::parse(br#"{"model":"a","x":{"k":1,"k":2}}"#).is_ok());
    }

    #[test]
    fn nesting_is_limited_whatever_the_strings_hold() {
        let deep = |n: usize| format!(r#"{{"model":"m","x":{}1{}}}"#, "[".repeat(n), "]".repeat(n));
        // The body itself is one level.
        assert!(RequestBody::parse(deep(MAX_DEPTH - 1).as_bytes()).is_ok());
        assert!(matches!(RequestBody::parse(deep(MAX_DEPTH).as_bytes()), Err(BodyError::TooDeep)));
        assert!(matches!(RequestBody::parse(deep(100_000).as_bytes()), Err(BodyError::TooDeep)));
        // Brackets inside strings, escaped quotes included, are text.
        let text = format!(r#"{{"model":"m","content":"{}\"{}","pad":"{}"}}"#, "[".repeat(500), "{".repeat(500), "x".repeat(300));
        assert!(RequestBody::parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn the_limit_is_the_one_mcp_messages_have() {
        // MCP messages are parsed into values by serde_json: the same depth passes both.
        for n in 100..140 {
            let text = format!("{}1{}", "[".repeat(n), "]".repeat(n));
            let as_value = serde_json::from_str::<Value>(&text).is_ok();
            assert_eq!(!nests_deeper_than(text.as_bytes(), MAX_DEPTH), as_value, "depth {n}");
        }
    }

    #[test]
    fn top_level_members_are_bounded() {
        let body = |n: usize| format!("{{{}}}", (0..n).map(|i| format!("\"k{i}\":1")).collect::<Vec<_>>().join(","));
        assert!(RequestBody::parse(body(MAX_MEMBERS).as_bytes()).is_ok());
        assert!(matches!(RequestBody::parse(body(MAX_MEMBERS + 1).as_bytes()), Err(BodyError::TooManyMembers)));
    }

    #[test]
    fn escaped_keys_are_read_and_written_back() {
        let b = RequestBody::parse(br#"{"mo\u0064el":"a"}"#).unwrap();
        assert_eq!(b.get::<String>("model").as_deref(), Some("a"));
        assert_eq!(b.to_bytes(), br#"{"model":"a"}"#.to_vec());
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        for raw in [&b"[1,2]"[..], b"\"s\"", b"3", b"null", b"true"] {
            assert!(matches!(RequestBody::parse(raw), Err(BodyError::NotAnObject)), "{raw:?}");
        }
        match RequestBody::parse(b"{\"model\": \"a\",\n \"x\": }") {
            Err(BodyError::Json(_, line, column)) => assert_eq!((line, column), (2, 7)),
            _ => panic!("malformed JSON must say where"),
        }
        assert!(matches!(RequestBody::parse(b"{\"a\":1} trailing"), Err(BodyError::Json(..))));
        assert!(matches!(RequestBody::parse(b""), Err(BodyError::Json(..))));
    }
}
