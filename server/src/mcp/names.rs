//! Names on the aggregate endpoint: `{server}__{name}` for tools and prompts, and resource URIs
//! prefixed with `{server}+` so that every one round-trips to the backend it came from.
//!
//! Server names cannot contain `__` (config refuses them), so the first `__` splits a prefixed
//! name unambiguously; a backend's own name may contain `__`.

use base64::Engine as _;
use serde_json::{json, Value};

pub const SEPARATOR: &str = "__";

pub fn prefixed(server: &str, name: &str) -> String {
    format!("{server}{SEPARATOR}{name}")
}

/// `files__read_file` → (`files`, `read_file`).
pub fn split(prefixed: &str) -> Option<(&str, &str)> {
    let (server, name) = prefixed.split_once(SEPARATOR)?;
    (!server.is_empty() && !name.is_empty()).then_some((server, name))
}

/// A backend resource URI as the aggregate shows it: `demo://x` from `everything` →
/// `everything+demo://x` (still a URI: `+` is allowed in a scheme).
pub fn prefixed_uri(server: &str, uri: &str) -> String {
    format!("{server}+{uri}")
}

/// The inverse of [`prefixed_uri`].
pub fn split_uri(uri: &str) -> Option<(&str, &str)> {
    let (server, rest) = uri.split_once('+')?;
    (!server.is_empty() && !rest.is_empty()).then_some((server, rest))
}

/// An aggregate list cursor: which backend (by position in the visible list) and that
/// backend's own cursor.
pub fn encode_cursor(backend: usize, inner: Option<&str>) -> String {
    let raw = json!({"b": backend, "c": inner}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

pub fn decode_cursor(cursor: &str) -> Option<(usize, Option<String>)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    let b = usize::try_from(v.get("b")?.as_u64()?).ok()?;
    let c = v.get("c").and_then(Value::as_str).map(str::to_string);
    Some((b, c))
}

/// Rewrites resource URIs inside a message from a backend (`uri` fields of resources, resource
/// contents, resource links and embedded resources; `uriTemplate` of templates) to their
/// aggregate form.
pub fn prefix_uris(server: &str, v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["uri", "uriTemplate"] {
                if let Some(Value::String(s)) = map.get_mut(key) {
                    *s = prefixed_uri(server, s);
                }
            }
            for (k, child) in map.iter_mut() {
                if k != "uri" && k != "uriTemplate" && k != "_meta" {
                    prefix_uris(server, child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| prefix_uris(server, i)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(split(&prefixed("files", "read_file")), Some(("files", "read_file")));
        // The tool's own name may hold `__`; the server's cannot.
        assert_eq!(split("files__a__b"), Some(("files", "a__b")));
        assert_eq!(split("files"), None);
        assert_eq!(split("__x"), None);
        assert_eq!(split("files__"), None);
    }

    #[test]
    fn uris_round_trip() {
        let u = prefixed_uri("everything", "demo://resource/static/document/a.md");
        assert_eq!(u, "everything+demo://resource/static/document/a.md");
        assert_eq!(split_uri(&u), Some(("everything", "demo://resource/static/document/a.md")));
        let mut v = json!({"resources": [{"uri": "file:///a", "name": "a"}], "resourceTemplates": [{"uriTemplate": "x://{id}"}]});
        prefix_uris("s", &mut v);
        assert_eq!(v["resources"][0]["uri"], "s+file:///a");
        assert_eq!(v["resourceTemplates"][0]["uriTemplate"], "s+x://{id}");
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(2, Some("abc"))), Some((2, Some("abc".into()))));
        assert_eq!(decode_cursor(&encode_cursor(0, None)), Some((0, None)));
        assert_eq!(decode_cursor("not a cursor"), None);
    }
}
