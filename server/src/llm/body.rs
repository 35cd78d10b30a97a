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

#[derive(Clone)]
pub struct RequestBody<'a> {
    members: Vec<(Cow<'a, str>, Cow<'a, RawValue>)>,
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
        let members = match serde_json::from_slice::<Members<'a>>(raw) {
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
        Ok(Self { members, changed: false })
    }

    fn raw(&self, key: &str) -> Option<&RawValue> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Whether the member is present at all (whatever its value).
    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// The member read as `T`; `None` when absent or of another shape.
    pub fn get<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        self.raw(key).and_then(|v| serde_json::from_str(v.get()).ok())
    }

    /// Sets a member, in place when present, else at the end.
    pub fn set(&mut self, key: &str, value: &Value) {
        let Ok(raw) = serde_json::value::to_raw_value(value) else { return };
        self.changed = true;
        match self.members.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Cow::Owned(raw),
            None => self.members.push((Cow::Owned(key.to_string()), Cow::Owned(raw))),
        }
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Every member, in the body's order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.members.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The body as it goes upstream.
    pub fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self.members.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (i, (k, v)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // A key is a string; writing one to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &**k);
            out.push(b':');
            out.extend_from_slice(v.get().as_bytes());
        }
        out.push(b'}');
        out
    }
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

/// The members of a JSON object, or `None` for any other JSON value.
struct Members<'a>(Option<Vec<(Cow<'a, str>, Cow<'a, RawValue>)>>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members: Vec<(Cow<'de, str>, Cow<'de, RawValue>)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v: &'de RawValue = map.next_value()?;
                    if members.iter().any(|(existing, _)| *existing == k) {
                        return Err(serde::de::Error::custom(format_args!("{DUPLICATE}{k}`")));
                    }
                    if members.len() == MAX_MEMBERS {
                        return Err(serde::de::Error::custom(TOO_MANY));
                    }
                    members.push((k, Cow::Borrowed(v)));
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
