//! Agents, their keys, and the principal a request acts as.
//!
//! Keys are random, prefixed `wk_`, and stored only as a SHA-256 hash. Checking a key never
//! touches the database: each replica keeps an in-memory index of every key, reloaded when the
//! change counter in the database moves (every change to agents or keys bumps it), so a key
//! created or revoked anywhere takes effect everywhere within one refresh interval. This module
//! owns the key format and the index; it never decides what a principal may do beyond
//! validity, expiry and the model allowlist.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use arc_swap::ArcSwap;
use axum::http::HeaderMap;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::store::{now_ms, AgentRow, KeyIndexRow, KeyRow, Store, StoreError};

pub const KEY_PREFIX: &str = "wk_";
const KEY_RANDOM_CHARS: usize = 40;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A newly generated key: the secret (shown once) and what is stored.
pub struct NewKey {
    pub secret: String,
    pub row: KeyRow,
}

pub fn generate_key_secret() -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(KEY_PREFIX.len() + KEY_RANDOM_CHARS);
    s.push_str(KEY_PREFIX);
    for _ in 0..KEY_RANDOM_CHARS {
        s.push(BASE62[rng.random_range(0..BASE62.len())] as char);
    }
    s
}

/// Keys carry ~238 bits of randomness, so a fast hash is the right one: there is nothing to
/// brute-force that a slow hash would protect.
pub fn hash_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn short_id(prefix: &str) -> String {
    let mut rng = rand::rng();
    let tail: String = (0..12).map(|_| BASE62[rng.random_range(0..BASE62.len())] as char).collect();
    format!("{prefix}{tail}")
}

/// An agent name: what agents are called in config, rules, metrics and the console.
pub fn parse_agent_name(name: &str) -> Result<&str, String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(name)
    } else {
        Err(format!("agent name `{name}` must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit"))
    }
}

// -- operations shared by the CLI and the admin API -------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IdentityError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::NotFound(m),
            StoreError::Conflict(m) => Self::Conflict(m),
            other => Self::Store(other),
        }
    }
}

pub async fn create_agent(store: &Store, name: &str, capture_bodies: Option<bool>) -> Result<AgentRow, IdentityError> {
    parse_agent_name(name).map_err(IdentityError::Invalid)?;
    Ok(store.create_agent(&uuid::Uuid::now_v7().to_string(), name, capture_bodies).await?)
}

pub struct KeyRequest {
    pub agent: String,
    pub expires_in: Option<Duration>,
    pub models: Option<Vec<String>>,
}

pub async fn create_key(store: &Store, req: KeyRequest) -> Result<NewKey, IdentityError> {
    let agent = store
        .agent_by_name(&req.agent)
        .await?
        .ok_or_else(|| IdentityError::NotFound(format!("no agent named `{}`", req.agent)))?;
    if let Some(models) = &req.models {
        if models.is_empty() || models.iter().any(|m| m.trim().is_empty()) {
            return Err(IdentityError::Invalid("the model allowlist must name at least one model, none empty".into()));
        }
    }
    let secret = generate_key_secret();
    let now = now_ms();
    let expires_at = match req.expires_in {
        Some(d) if d.is_zero() => return Err(IdentityError::Invalid("expiry must be in the future".into())),
        Some(d) => Some(now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)),
        None => None,
    };
    let row = KeyRow {
        id: short_id("key_"),
        agent_id: agent.id,
        agent: agent.name,
        prefix: secret[..KEY_PREFIX.len() + 6].to_string(),
        models: req.models,
        expires_at,
        revoked_at: None,
        created_at: now,
    };
    store.insert_key(&row, &hex::encode(hash_key(&secret))).await?;
    Ok(NewKey { secret, row })
}

// -- the in-memory key index ------------------------------------------------------------------

/// Who is calling: the agent behind a valid key.
#[derive(Debug, Clone)]
pub struct Principal {
    pub agent_id: String,
    pub agent_name: Arc<str>,
    pub key_id: Arc<str>,
    pub models: Option<Arc<[String]>>,
    pub capture_bodies: Option<bool>,
}

impl Principal {
    pub fn may_use_model(&self, model: &str) -> bool {
        self.models.as_ref().is_none_or(|m| m.iter().any(|x| x == model))
    }
}

#[derive(Debug, Clone)]
struct IndexedKey {
    principal: Principal,
    expires_at: Option<i64>,
    revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Unknown,
    Revoked,
    Expired,
}

impl AuthError {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Missing => "missing API key: send your Weir key as `Authorization: Bearer <key>` or `x-api-key: <key>`",
            Self::Unknown => "invalid API key",
            Self::Revoked => "this API key has been revoked",
            Self::Expired => "this API key has expired",
        }
    }
}

#[derive(Clone)]
pub struct KeyIndex {
    keys: Arc<ArcSwap<HashMap<[u8; 32], IndexedKey>>>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        Self { keys: Arc::new(ArcSwap::from_pointee(HashMap::new())) }
    }
}

impl KeyIndex {
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let secret = presented_key(headers).ok_or(AuthError::Missing)?;
        self.check(secret)
    }

    pub fn check(&self, secret: &str) -> Result<Principal, AuthError> {
        let keys = self.keys.load();
        let entry = keys.get(&hash_key(secret)).ok_or(AuthError::Unknown)?;
        if entry.revoked {
            return Err(AuthError::Revoked);
        }
        if entry.expires_at.is_some_and(|t| t <= now_ms()) {
            return Err(AuthError::Expired);
        }
        Ok(entry.principal.clone())
    }

    fn replace(&self, rows: Vec<KeyIndexRow>) {
        let mut map = HashMap::with_capacity(rows.len());
        for r in rows {
            let Ok(bytes) = hex::decode(&r.key_hash) else { continue };
            let Ok(hash) = <[u8; 32]>::try_from(bytes.as_slice()) else { continue };
            map.insert(
                hash,
                IndexedKey {
                    principal: Principal {
                        agent_id: r.agent_id,
                        agent_name: r.agent_name.into(),
                        key_id: r.key_id.into(),
                        models: r.models.map(Into::into),
                        capture_bodies: r.capture_bodies,
                    },
                    expires_at: r.expires_at,
                    revoked: r.revoked_at.is_some(),
                },
            );
        }
        self.keys.store(Arc::new(map));
    }

    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        self.replace(store.load_key_index().await?);
        Ok(())
    }

    /// Whether the key with this id is still known, unrevoked and unexpired.
    pub fn is_active(&self, key_id: &str) -> bool {
        self.keys.load().values().any(|k| &*k.principal.key_id == key_id && !k.revoked && k.expires_at.is_none_or(|t| t > now_ms()))
    }

}

/// `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key: <key>` (Anthropic SDKs).
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    const X_API_KEY: axum::http::HeaderName = axum::http::HeaderName::from_static("x-api-key");
    headers.get(X_API_KEY).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hash_stably() {
        let a = generate_key_secret();
        let b = generate_key_secret();
        assert!(a.starts_with("wk_") && a.len() == 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
        // The FIPS 180-2 test vector: the stored hash is plain SHA-256, hex-encoded.
        assert_eq!(hex::encode(hash_key("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn presented_key_reads_both_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("x-api-key", "wk_abc".parse().unwrap());
        assert_eq!(presented_key(&h), Some("wk_abc"));
        h.insert("authorization", "Bearer wk_def".parse().unwrap());
        assert_eq!(presented_key(&h), Some("wk_def"));
        h.insert("authorization", "Basic Zm9v".parse().unwrap());
        assert_eq!(presented_key(&h), Some("wk_abc"));
    }

    #[test]
    fn index_distinguishes_unknown_revoked_expired() {
        let index = KeyIndex::default();
        let row = |secret: &str, revoked: bool, expires_at: Option<i64>| KeyIndexRow {
            key_hash: hex::encode(hash_key(secret)),
            key_id: format!("key_{secret}"),
            agent_id: "a1".into(),
            agent_name: "bot".into(),
            models: Some(vec!["m1".into()]),
            expires_at,
            revoked_at: revoked.then_some(1),
            capture_bodies: None,
        };
        index.replace(vec![row("good", false, None), row("gone", true, None), row("old", false, Some(1)), row("later", false, Some(now_ms() + 60_000))]);
        let p = index.check("good").unwrap();
        assert_eq!(&*p.agent_name, "bot");
        assert!(p.may_use_model("m1") && !p.may_use_model("m2"));
        assert_eq!(index.check("nope").unwrap_err(), AuthError::Unknown);
        assert_eq!(index.check("gone").unwrap_err(), AuthError::Revoked);
        assert_eq!(index.check("old").unwrap_err(), AuthError::Expired);
        assert!(index.check("later").is_ok());
    }

    #[test]
    fn agent_names_are_checked() {
        assert!(parse_agent_name("researcher-1").is_ok());
        assert!(parse_agent_name("").is_err());
        assert!(parse_agent_name("-x").is_err());
        assert!(parse_agent_name("a b").is_err());
    }
}
