//! The response cache: complete, successful answers kept by a key made of everything that
//! shapes an answer, in partitions that are never shared across agents unless the config names
//! them together in one scope.
//!
//! It owns the key, the entry, the stores (this replica's memory, or Redis shared by every
//! replica) and the conversions between a stored answer and a stream ([`replay`],
//! [`assemble`]). It never decides whether a call may use the cache (the config and the
//! pipeline do) and never calls a provider. A store that fails or is slow is a miss, never a
//! failed call.

pub mod assemble;
pub mod embed;
pub mod hnsw;
pub mod key;
pub mod memory;
pub mod verify;
pub mod redis;
pub mod replay;
pub mod semantic;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use key::CacheKey;

use crate::llm::Api;

/// A complete answer as the client got it (whole JSON of the client's protocol, after the
/// response guardrails), and what it cost when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The protocol of `body` (the key holds it too: an entry is only found by calls of it).
    pub api: Api,
    pub body: String,
    /// The request whose answer this is.
    pub origin: String,
    /// Tokens and cost of making it: what a hit saves.
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// Unix milliseconds when it was stored.
    pub stored_at: i64,
    /// What the call recorded of the answer (the model that made it, its id, why it finished),
    /// so a hit need not read the answer again to record it.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub finish_reasons: Vec<String>,
}

impl Entry {
    /// Bytes it holds, for the memory bound.
    pub fn size(&self) -> usize {
        self.body.len() + self.origin.len() + 64
    }
}

/// What to purge: every entry of a partition, of a model, or of both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purge {
    pub partition: Option<String>,
    pub model: Option<String>,
}

impl Purge {
    pub fn matches(&self, key: &CacheKey) -> bool {
        self.partition.as_ref().is_none_or(|p| *p == key.partition) && self.model.as_ref().is_none_or(|m| *m == key.model)
    }
}

/// Where entries live. A store's failure is logged and counts as a miss (or as not stored).
#[async_trait::async_trait]
pub trait CacheStore: Send + Sync {
    /// The entry, if stored; `Err` when the store could not answer (logged by the store): the
    /// semantic index drops a question only when its answer is known to be gone.
    async fn get_checked(&self, key: &CacheKey) -> Result<Option<Arc<Entry>>, ()>;
    /// The entry, if stored and the store could answer: a failure is a miss.
    async fn get(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        self.get_checked(key).await.ok().flatten()
    }
    async fn put(&self, key: &CacheKey, entry: Entry, ttl: Duration);
    /// Removes the matching entries; returns how many (the error says why it could not).
    async fn purge(&self, what: &Purge) -> Result<u64, String>;
}

/// The cache every call of this replica uses.
#[derive(Clone)]
pub struct ResponseCache {
    pub store: Arc<dyn CacheStore>,
    /// The questions whose answers `store` holds, by meaning.
    pub semantic: Arc<semantic::SemanticCache>,
    /// Agents' and models' settings from the admin API and console (reloaded with the keys).
    settings: Arc<arc_swap::ArcSwap<crate::store::CacheSettings>>,
}

impl ResponseCache {
    pub fn new(store: Arc<dyn CacheStore>, semantic: Arc<semantic::SemanticCache>) -> Self {
        Self { store, semantic, settings: Arc::default() }
    }

    /// Removes the matching answers, and their questions from the semantic index.
    pub async fn purge(&self, what: &Purge) -> Result<u64, String> {
        self.semantic.purge(what).await;
        self.store.purge(what).await
    }

    pub fn replace_settings(&self, settings: crate::store::CacheSettings) {
        self.settings.store(Arc::new(settings));
    }

    /// The settings stored for an agent (by id) and for a model.
    pub fn stored(&self, agent_id: &str, model: &str) -> (Option<crate::config::CacheSetting>, Option<crate::config::CacheSetting>) {
        let s = self.settings.load();
        (s.agents.get(agent_id).copied(), s.models.get(model).copied())
    }
}

/// What the client's `Cache-Control` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientDirectives {
    /// `no-cache`: do not answer from the cache (the answer may still be stored).
    pub lookup: bool,
    /// `no-store`: neither look up nor store.
    pub store: bool,
}

impl ClientDirectives {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Self {
        let mut d = Self { lookup: true, store: true };
        for v in headers.get_all(axum::http::header::CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()) {
            for part in v.split(',').map(|p| p.trim().to_ascii_lowercase()) {
                match part.as_str() {
                    "no-cache" => d.lookup = false,
                    "no-store" => {
                        d.lookup = false;
                        d.store = false;
                    }
                    _ => {}
                }
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_directives() {
        let h = |v: &str| {
            let mut m = axum::http::HeaderMap::new();
            m.insert("cache-control", v.parse().unwrap());
            ClientDirectives::from_headers(&m)
        };
        assert_eq!(ClientDirectives::from_headers(&axum::http::HeaderMap::new()), ClientDirectives { lookup: true, store: true });
        assert_eq!(h("no-cache"), ClientDirectives { lookup: false, store: true });
        assert_eq!(h("max-age=0, No-Store"), ClientDirectives { lookup: false, store: false });
    }
}
