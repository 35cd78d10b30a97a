//! Pages of backends' lists kept as long as their backend says they may be (`ttlMs`, revision
//! 2026-07-28): a `public` page for every client, a `private` one for the session that fetched
//! it. Policy still filters every page for whoever asks; only the backend's round trip is saved.
//! Bounded: at most [`MAX_PAGES`] pages, the soonest to expire going first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most pages kept.
pub const MAX_PAGES: usize = 1024;
/// The longest a page is kept, whatever its backend says.
const MAX_TTL: Duration = Duration::from_secs(3600);

/// The caching hints of an answer made of several (`server/discover` on `/mcp`, a list on it):
/// the shortest `ttlMs` of its parts (a part that says nothing, as a backend of an older revision
/// does, is not to be kept: 0), private if any part is (or says nothing, or there is none).
#[derive(Default)]
pub struct Hints {
    ttl: Option<u64>,
    private: bool,
}

impl Hints {
    pub fn add(&mut self, part: &Value) {
        let t = part.get("ttlMs").and_then(Value::as_u64).unwrap_or(0);
        self.ttl = Some(self.ttl.map_or(t, |x| x.min(t)));
        self.private |= part.get("cacheScope").and_then(Value::as_str) != Some("public");
    }

    /// Writes them into the merged result.
    pub fn write(&self, into: &mut Value) {
        into["ttlMs"] = serde_json::json!(self.ttl.unwrap_or(0));
        into["cacheScope"] = serde_json::json!(if self.private || self.ttl.is_none() { "private" } else { "public" });
    }
}

#[derive(Default)]
pub struct ListCache {
    pages: Mutex<HashMap<Key, (Instant, Value)>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    server: String,
    method: String,
    cursor: Option<String>,
    /// The session of a private page; empty for a public one.
    session: String,
}

impl ListCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (Instant, Value)>> {
        self.pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A page still fresh: public, or this session's private one.
    pub fn get(&self, server: &str, method: &str, cursor: Option<&str>, session: &str) -> Option<Value> {
        let now = Instant::now();
        let pages = self.lock();
        let mut key = Key { server: server.to_string(), method: method.to_string(), cursor: cursor.map(str::to_string), session: String::new() };
        if let Some((until, v)) = pages.get(&key).filter(|(until, _)| *until > now) {
            let _ = until;
            return Some(v.clone());
        }
        key.session = session.to_string();
        pages.get(&key).filter(|(until, _)| *until > now).map(|(_, v)| v.clone())
    }

    /// Keeps a page its backend says may be kept (`ttlMs` above 0).
    pub fn put(&self, server: &str, method: &str, cursor: Option<&str>, session: &str, page: &Value) {
        let Some(ttl) = page.get("ttlMs").and_then(Value::as_u64).filter(|t| *t > 0) else { return };
        let public = page.get("cacheScope").and_then(Value::as_str) == Some("public");
        let until = Instant::now() + Duration::from_millis(ttl).min(MAX_TTL);
        let key = Key { server: server.to_string(), method: method.to_string(), cursor: cursor.map(str::to_string), session: if public { String::new() } else { session.to_string() } };
        let mut pages = self.lock();
        if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
            let now = Instant::now();
            pages.retain(|_, (u, _)| *u > now);
            if pages.len() >= MAX_PAGES {
                if let Some(k) = pages.iter().min_by_key(|(_, (u, _))| *u).map(|(k, _)| k.clone()) {
                    pages.remove(&k);
                }
            }
        }
        pages.insert(key, (until, page.clone()));
    }

    /// Forgets a server's pages of a kind (`tools/list` …) once it says that list changed.
    pub fn forget(&self, server: &str, method: &str) {
        self.lock().retain(|k, _| !(k.server == server && k.method == method));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn public_pages_serve_everyone_private_ones_their_session_and_none_outlive_their_ttl() {
        let c = ListCache::default();
        c.put("a", "tools/list", None, "s1", &json!({"tools": [], "ttlMs": 60_000, "cacheScope": "public"}));
        assert!(c.get("a", "tools/list", None, "s2").is_some());
        c.put("b", "tools/list", None, "s1", &json!({"tools": [], "ttlMs": 60_000, "cacheScope": "private"}));
        assert!(c.get("b", "tools/list", None, "s1").is_some());
        assert!(c.get("b", "tools/list", None, "s2").is_none());
        // Not to be kept.
        c.put("c", "tools/list", None, "s1", &json!({"tools": [], "ttlMs": 0, "cacheScope": "public"}));
        c.put("d", "tools/list", None, "s1", &json!({"tools": []}));
        assert!(c.get("c", "tools/list", None, "s1").is_none() && c.get("d", "tools/list", None, "s1").is_none());
        c.put("e", "tools/list", Some("p2"), "s1", &json!({"tools": [], "ttlMs": 1, "cacheScope": "public"}));
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.get("e", "tools/list", Some("p2"), "s1").is_none());
        c.forget("a", "tools/list");
        assert!(c.get("a", "tools/list", None, "s2").is_none() && c.get("b", "tools/list", None, "s1").is_some());
    }

    #[test]
    fn merged_hints_take_the_shortest_ttl_and_private_wins() {
        let merged = |parts: &[Value]| {
            let mut h = Hints::default();
            for p in parts {
                h.add(p);
            }
            let mut out = json!({});
            h.write(&mut out);
            (out["ttlMs"].as_u64().unwrap(), out["cacheScope"].as_str().unwrap().to_string())
        };
        let public = |t: u64| json!({"ttlMs": t, "cacheScope": "public"});
        assert_eq!(merged(&[public(500), public(300)]), (300, "public".into()));
        assert_eq!(merged(&[public(500), json!({"ttlMs": 900, "cacheScope": "private"})]), (500, "private".into()));
        assert_eq!(merged(&[public(500), json!({})]), (0, "private".into()), "a part that says nothing");
        assert_eq!(merged(&[]), (0, "private".into()));
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = ListCache::default();
        for i in 0..(MAX_PAGES + 50) {
            c.put(&format!("s{i}"), "tools/list", None, "x", &json!({"ttlMs": 60_000 + i as u64, "cacheScope": "public"}));
        }
        assert_eq!(c.len(), MAX_PAGES);
        // The soonest to expire went first.
        assert!(c.get("s0", "tools/list", None, "x").is_none());
        assert!(c.get(&format!("s{}", MAX_PAGES + 49), "tools/list", None, "x").is_some());
    }
}
