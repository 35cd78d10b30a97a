//! Console sign-in: a session cookie signed with a key derived from the admin token, and a
//! per-session token every form carries against cross-site request forgery.
//!
//! A cookie is `session.expiry.mac`, where `mac` is an HMAC-SHA256 of `session.expiry` under the
//! signing key: any replica with the same admin token accepts it without a lookup, and changing
//! the admin token signs everyone out. Signing out cannot unsign a cookie (a copy of it would
//! keep working), so the gateway also keeps the ids of signed-out sessions until they expire
//! (see [`crate::ConsoleData::sign_out`]). The form token is the HMAC of `csrf:session`, so it is
//! bound to one sign-in and cannot be guessed from the cookie's name.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const COOKIE: &str = "weir_console";
/// How long a sign-in lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

fn mac(key: &[u8], msg: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    m.update(msg.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new signed session cookie value, valid until `now + SESSION_SECS`.
pub fn new_session(key: &[u8], now: i64) -> String {
    let id = hex::encode(rand::random::<[u8; 16]>());
    let body = format!("{id}.{}", now + SESSION_SECS);
    format!("{body}.{}", mac(key, &body))
}

/// One sign-in, as its cookie names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    /// When the cookie stops working by itself (unix seconds).
    pub expires: i64,
}

/// The session of a valid, unexpired cookie value.
pub fn verify(key: &[u8], cookie: &str, now: i64) -> Option<Session> {
    let (body, sig) = cookie.rsplit_once('.')?;
    if !equal(&mac(key, body), sig) {
        return None;
    }
    let (id, expiry) = body.split_once('.')?;
    let expires = expiry.parse::<i64>().ok()?;
    (expires > now).then(|| Session { id: id.to_string(), expires })
}

/// The form token of a session.
pub fn csrf_token(key: &[u8], session: &str) -> String {
    mac(key, &format!("csrf:{session}"))
}

pub fn csrf_ok(key: &[u8], session: &str, presented: &str) -> bool {
    equal(&csrf_token(key, session), presented)
}

/// A `Set-Cookie` value for one of the console's cookies. `Secure` when the browser reached the
/// console over HTTPS: the browser then never sends the cookie over plain HTTP.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

/// The console cookie's value in a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_verify_until_they_expire_and_only_under_their_key() {
        let key = b"one key";
        let c = new_session(key, 1_000);
        let session = verify(key, &c, 1_001).unwrap();
        assert_eq!(session.id.len(), 32);
        assert_eq!(session.expires, 1_000 + SESSION_SECS);
        assert_eq!(verify(key, &c, 1_000 + SESSION_SECS), None, "expired");
        assert_eq!(verify(b"another key", &c, 1_001), None);
        let forged = c.replace(&(1_000 + SESSION_SECS).to_string(), &(9_000 + SESSION_SECS).to_string());
        assert_eq!(verify(key, &forged, 1_001), None, "a longer expiry breaks the signature");
        assert_eq!(verify(key, "garbage", 1_001), None);
    }

    #[test]
    fn form_tokens_belong_to_one_session() {
        let key = b"k";
        let t = csrf_token(key, "s1");
        assert!(csrf_ok(key, "s1", &t));
        assert!(!csrf_ok(key, "s2", &t));
        assert!(!csrf_ok(key, "s1", ""));
    }

    #[test]
    fn cookies_are_secure_only_when_asked() {
        assert_eq!(set_cookie(COOKIE, "v", 60, false), "weir_console=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
        assert_eq!(set_cookie(COOKIE, "", 0, true), "weir_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(cookie_value("a=1; weir_console=abc.1.f; b=2"), Some("abc.1.f"));
        assert_eq!(cookie_value("weir_console_x=1"), None);
        assert_eq!(cookie_value(""), None);
    }
}
