//! The response cache, as the admin API shows and changes it.

use serde::{Deserialize, Serialize};

/// `DELETE /api/v1/cache?agent=&model=`: how many stored answers were removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachePurged {
    pub purged: u64,
}

/// An agent's or a model's own setting: on or off, the TTL, and whether the semantic cache is
/// on too (a paraphrase of a stored question served its answer); each unset when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettingView {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    #[serde(default)]
    pub semantic: Option<bool>,
}

/// `GET /api/v1/cache`: the default and every agent's and model's own setting (the config's
/// and those set through the admin API or console; the latter win).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheSettingsList {
    pub enabled: bool,
    pub ttl_secs: u64,
    /// Whether the semantic cache is on by default (models and agents may say otherwise).
    #[serde(default)]
    pub semantic: bool,
    /// Whether answers are shared by every replica (Redis) or kept by each process.
    pub shared: bool,
    pub config_agents: std::collections::BTreeMap<String, CacheSettingView>,
    pub config_models: std::collections::BTreeMap<String, CacheSettingView>,
    pub agents: std::collections::BTreeMap<String, CacheSettingView>,
    pub models: std::collections::BTreeMap<String, CacheSettingView>,
}
