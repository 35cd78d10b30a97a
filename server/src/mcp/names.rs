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

/// An aggregate list cursor: for each backend (by position in the visible list) that has more,
/// its own cursor.
pub fn encode_cursor(pending: &[(usize, String)]) -> String {
    let raw = json!({ "p": pending }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

pub fn decode_cursor(cursor: &str) -> Option<Vec<(usize, String)>> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    let pending: Vec<(usize, String)> = serde_json::from_value(v.get("p")?.clone()).ok()?;
    (!pending.is_empty()).then_some(pending)
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
        let pending = vec![(0, "first".to_string()), (3, "a/b=c".to_string())];
        assert_eq!(decode_cursor(&encode_cursor(&pending)), Some(pending));
        assert_eq!(decode_cursor(&encode_cursor(&[])), None, "nothing pending is no cursor");
        assert_eq!(decode_cursor("not a cursor"), None);
    }
}
