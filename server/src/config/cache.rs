//! `[cache]`: the response cache — whether it is on (for every call, per model, per agent),
//! how long answers are kept, how much memory it may take, and which agents share answers.
//!
//! Answers are partitioned by agent: an agent is served only answers made for it, unless a
//! `[[cache.scopes]]` entry names it with others, who then share one partition.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{invalid, ConfigError, Model};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partition {
    /// One partition per agent (or per shared scope).
    Agent,
    /// One per agent (or scope) and end user (`x-weir-user`, or the body's `user`).
    AgentUser,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSection {
    /// The cache's default for every model and agent (models and agents may say otherwise).
    pub enabled: bool,
    /// How long an answer is served from the cache.
    pub ttl_secs: u64,
    /// Answers kept in this replica's memory at most, and their bytes at most (the least
    /// recently used go first).
    pub max_entries: usize,
    pub max_bytes: usize,
    /// An answer larger than this is not kept.
    pub max_entry_bytes: usize,
    /// Answers kept per partition at most (in memory and in Redis).
    pub partition_max_entries: usize,
    pub partition: Partition,
    /// How long a lookup in Redis may take before it counts as a miss.
    pub lookup_timeout_ms: u64,
    /// Request headers whose values are part of the key, as HTTP's `Vary` says (headers a
    /// provider answers differently to: API versions and betas).
    pub vary_headers: Vec<String>,
    pub scopes: Vec<ScopeSection>,
    pub models: Vec<ModelCacheSection>,
    pub agents: Vec<AgentCacheSection>,
    pub semantic: SemanticSection,
}

/// `[cache.semantic]`: answering a paraphrase of a stored question with its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SemanticSection {
    /// The default for every model and agent (each may say otherwise, `semantic = true`).
    pub enabled: bool,
    /// How similar (cosine, 0 to 1) a stored question must be before the verification step
    /// compares it; the step decides.
    pub threshold: f32,
    /// A model2vec model directory to embed with instead of the built-in potion-base-8M.
    pub model_dir: Option<String>,
    /// Or an embeddings model Weir routes (a `[[models]]` entry whose first target is an
    /// OpenAI-style provider): each question is embedded through `/v1/embeddings` there.
    pub embeddings_model: Option<String>,
    /// A question (the last user turn) longer than this is only cached exactly.
    pub max_prompt_bytes: usize,
    /// Questions indexed in this replica at most (each partition at most
    /// `partition_max_entries`; the oldest go first), and their bytes at most.
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for SemanticSection {
    fn default() -> Self {
        Self { enabled: false, threshold: crate::cache::semantic::DEFAULT_THRESHOLD, model_dir: None, embeddings_model: None, max_prompt_bytes: 2048, max_entries: 100_000, max_bytes: 128 * 1024 * 1024 }
    }
}

impl Default for CacheSection {
    fn default() -> Self {
        Self {
            enabled: false,
            ttl_secs: 3600,
            max_entries: 10_000,
            max_bytes: 64 * 1024 * 1024,
            max_entry_bytes: 1024 * 1024,
            partition_max_entries: 1000,
            partition: Partition::Agent,
            lookup_timeout_ms: 50,
            vary_headers: ["anthropic-version", "anthropic-beta", "openai-beta"].map(String::from).to_vec(),
            scopes: Vec::new(),
            models: Vec::new(),
            agents: Vec::new(),
            semantic: SemanticSection::default(),
        }
    }
}

/// Agents that share one partition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSection {
    pub name: String,
    pub agents: Vec<String>,
}

/// A model's own setting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCacheSection {
    pub model: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// The semantic cache for it too.
    #[serde(default)]
    pub semantic: Option<bool>,
}

/// An agent's own setting (the admin API and console may set one too; theirs wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentCacheSection {
    pub agent: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// The semantic cache for it too.
    #[serde(default)]
    pub semantic: Option<bool>,
}

/// On or off, and for how long: a model's or an agent's setting, each part optional — the
/// admin API's own record, so what the config, the database and the API hold is one type.
pub use weir_api::CacheSettingView as CacheSetting;

/// The cache's settings, validated.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub enabled: bool,
    pub ttl: Duration,
    pub max_entries: usize,
    pub max_bytes: usize,
    pub max_entry_bytes: usize,
    pub partition_max_entries: usize,
    pub partition: Partition,
    pub lookup_timeout: Duration,
    /// Request headers whose values are part of the key (lower case, sorted).
    pub vary_headers: Vec<axum::http::HeaderName>,
    /// Agent name → the scope it shares a partition in.
    pub scope_of: BTreeMap<String, String>,
    pub models: BTreeMap<String, CacheSetting>,
    pub agents: BTreeMap<String, CacheSetting>,
    pub semantic: SemanticConfig,
}

/// The semantic cache's settings, validated.
#[derive(Debug, Clone)]
pub struct SemanticConfig {
    pub enabled: bool,
    pub threshold: f32,
    pub model_dir: Option<std::path::PathBuf>,
    pub embeddings_model: Option<String>,
    pub max_prompt_bytes: usize,
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// Whether a call uses the cache, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub ttl: Duration,
    /// Whether a paraphrase may be served too.
    pub semantic: bool,
}

/// The longest an answer may be kept (a TTL is also a bound on what a client can make Weir hold).
const MAX_TTL_SECS: u64 = 30 * 24 * 3600;

/// Why a TTL cannot be one, if it cannot (the config and the admin API check alike).
pub fn ttl_problem(ttl_secs: u64) -> Option<String> {
    (ttl_secs == 0 || ttl_secs > MAX_TTL_SECS).then(|| format!("must be 1 to {MAX_TTL_SECS} seconds"))
}

impl CacheSection {
    pub(super) fn validate(&self, models: &[Model]) -> Result<CacheConfig, ConfigError> {
        let ttl = |key: &str, t: u64| ttl_problem(t).map_or(Ok(()), |p| Err(invalid(key, p)));
        ttl("cache.ttl_secs", self.ttl_secs)?;
        if self.max_entries == 0 || self.max_bytes == 0 || self.partition_max_entries == 0 {
            return Err(invalid("cache", "max_entries, max_bytes and partition_max_entries must be positive"));
        }
        if self.max_entry_bytes == 0 || self.max_entry_bytes > self.max_bytes {
            return Err(invalid("cache.max_entry_bytes", "must be positive and at most max_bytes"));
        }
        if self.lookup_timeout_ms == 0 || self.lookup_timeout_ms > 10_000 {
            return Err(invalid("cache.lookup_timeout_ms", "must be 1 to 10000"));
        }
        let mut vary_headers = Vec::new();
        for (i, h) in self.vary_headers.iter().enumerate() {
            let name = axum::http::HeaderName::from_bytes(h.trim().to_ascii_lowercase().as_bytes()).map_err(|_| invalid(format!("cache.vary_headers[{i}]"), format!("`{h}` is not a header name")))?;
            vary_headers.push(name);
        }
        vary_headers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        vary_headers.dedup();
        let mut scope_of = BTreeMap::new();
        for (i, s) in self.scopes.iter().enumerate() {
            if s.name.trim().is_empty() || s.name.len() > 200 {
                return Err(invalid(format!("cache.scopes[{i}].name"), "must be 1 to 200 characters"));
            }
            if self.scopes[..i].iter().any(|o| o.name == s.name) {
                return Err(invalid(format!("cache.scopes[{i}].name"), format!("scope `{}` is defined twice", s.name)));
            }
            if s.agents.len() < 2 {
                return Err(invalid(format!("cache.scopes[{i}].agents"), "must name at least two agents (an agent alone has its own partition)"));
            }
            for a in &s.agents {
                if let Some(other) = scope_of.insert(a.clone(), s.name.clone()) {
                    return Err(invalid(format!("cache.scopes[{i}].agents"), format!("agent `{a}` is already in scope `{other}`")));
                }
            }
        }
        let mut model_settings = BTreeMap::new();
        for (i, m) in self.models.iter().enumerate() {
            let key = format!("cache.models[{i}]");
            if !models.iter().any(|x| x.name == m.model) {
                return Err(invalid(format!("{key}.model"), format!("unknown model `{}`", m.model)));
            }
            if let Some(t) = m.ttl_secs {
                ttl(&format!("{key}.ttl_secs"), t)?;
            }
            if model_settings.insert(m.model.clone(), CacheSetting { enabled: m.enabled, ttl_secs: m.ttl_secs, semantic: m.semantic }).is_some() {
                return Err(invalid(format!("{key}.model"), format!("model `{}` is listed twice", m.model)));
            }
        }
        let mut agent_settings = BTreeMap::new();
        for (i, a) in self.agents.iter().enumerate() {
            let key = format!("cache.agents[{i}]");
            if let Some(t) = a.ttl_secs {
                ttl(&format!("{key}.ttl_secs"), t)?;
            }
            if agent_settings.insert(a.agent.clone(), CacheSetting { enabled: a.enabled, ttl_secs: a.ttl_secs, semantic: a.semantic }).is_some() {
                return Err(invalid(format!("{key}.agent"), format!("agent `{}` is listed twice", a.agent)));
            }
        }
        let sem = &self.semantic;
        if !(0.0..=1.0).contains(&sem.threshold) || sem.threshold.is_nan() {
            return Err(invalid("cache.semantic.threshold", "must be 0 to 1"));
        }
        if sem.max_prompt_bytes == 0 || sem.max_prompt_bytes > 8192 {
            return Err(invalid("cache.semantic.max_prompt_bytes", "must be 1 to 8192"));
        }
        if sem.max_entries == 0 || sem.max_entries > 10_000_000 {
            return Err(invalid("cache.semantic.max_entries", "must be 1 to 10000000"));
        }
        if sem.max_bytes < 1024 * 1024 {
            return Err(invalid("cache.semantic.max_bytes", "must be at least 1048576"));
        }
        let model_dir = sem.model_dir.as_ref().map(std::path::PathBuf::from);
        if let Some(dir) = &model_dir {
            if !["model.safetensors", "tokenizer.json", "config.json"].iter().all(|f| dir.join(f).is_file()) {
                return Err(invalid("cache.semantic.model_dir", format!("{} holds no model2vec model (model.safetensors, tokenizer.json, config.json)", dir.display())));
            }
        }
        if let Some(name) = &sem.embeddings_model {
            if model_dir.is_some() {
                return Err(invalid("cache.semantic.embeddings_model", "name either model_dir or embeddings_model, not both"));
            }
            let Some(m) = models.iter().find(|m| m.name == *name) else {
                return Err(invalid("cache.semantic.embeddings_model", format!("unknown model `{name}`")));
            };
            if m.kind != super::ProviderKind::Openai {
                return Err(invalid("cache.semantic.embeddings_model", format!("model `{name}` is not served by an OpenAI-style provider (its /v1/embeddings embeds the questions)")));
            }
        }
        Ok(CacheConfig {
            enabled: self.enabled,
            ttl: Duration::from_secs(self.ttl_secs),
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
            max_entry_bytes: self.max_entry_bytes,
            partition_max_entries: self.partition_max_entries,
            partition: self.partition,
            lookup_timeout: Duration::from_millis(self.lookup_timeout_ms),
            vary_headers,
            scope_of,
            models: model_settings,
            agents: agent_settings,
            semantic: SemanticConfig { enabled: sem.enabled, threshold: sem.threshold, model_dir, embeddings_model: sem.embeddings_model.clone(), max_prompt_bytes: sem.max_prompt_bytes, max_entries: sem.max_entries, max_bytes: sem.max_bytes },
        })
    }
}

impl CacheConfig {
    /// Whether calls to `model` by `agent` use the cache, for how long an answer is kept, and
    /// whether a paraphrase may be served: each from the agent's setting (the admin API's,
    /// `stored.0`, over the file's), then the model's (likewise, `stored.1`), then the default.
    /// `None` when the cache is off for them.
    pub fn setting_for(&self, model: &str, agent: &str, stored: (Option<CacheSetting>, Option<CacheSetting>)) -> Option<CachePolicy> {
        let layers = [stored.0, self.agents.get(agent).copied(), stored.1, self.models.get(model).copied()];
        let enabled = layers.iter().flatten().find_map(|s| s.enabled).unwrap_or(self.enabled);
        let ttl = layers.iter().flatten().find_map(|s| s.ttl_secs).map_or(self.ttl, Duration::from_secs);
        let semantic = layers.iter().flatten().find_map(|s| s.semantic).unwrap_or(self.semantic.enabled);
        enabled.then_some(CachePolicy { ttl, semantic })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Env};

    fn cfg(extra: &str) -> Result<Config, String> {
        let text = format!("[[providers]]\nname = \"p\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9\"\n\n[[models]]\nname = \"m\"\ntargets = [{{ provider = \"p\", model = \"x\" }}]\n\n{extra}");
        Config::from_toml(&text, &Env::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_layer_agent_over_model_over_default() {
        let c = cfg("[cache]\nttl_secs = 60\n[[cache.models]]\nmodel = \"m\"\nenabled = true\nttl_secs = 30\n[[cache.agents]]\nagent = \"quiet\"\nenabled = false\n").unwrap();
        let cache = &c.cache;
        let on = |secs: u64, semantic: bool| Some(super::CachePolicy { ttl: std::time::Duration::from_secs(secs), semantic });
        assert_eq!(cache.setting_for("m", "any", (None, None)), on(30, false));
        assert_eq!(cache.setting_for("m", "quiet", (None, None)), None);
        assert_eq!(cache.setting_for("other", "any", (None, None)), None, "off by default");
        let stored = super::CacheSetting { enabled: Some(true), ttl_secs: Some(5), semantic: Some(true) };
        assert_eq!(cache.setting_for("m", "quiet", (Some(stored), None)), on(5, true), "the admin API's agent setting wins");
        let off = super::CacheSetting { enabled: Some(false), ttl_secs: None, semantic: None };
        assert_eq!(cache.setting_for("m", "any", (None, Some(off))), None, "the admin API's model setting over the file's");
        assert_eq!(cache.setting_for("other", "any", (None, Some(stored))), on(5, true));
        assert_eq!(cache.setting_for("m", "quiet", (None, Some(stored))), None, "an agent's setting over any model's");
    }

    #[test]
    fn settings_at_their_bounds_are_taken() {
        let c = cfg("[cache]\nttl_secs = 2592000\nlookup_timeout_ms = 10000\nmax_bytes = 1000\nmax_entry_bytes = 1000\n").unwrap().cache;
        assert_eq!((c.ttl.as_secs(), c.lookup_timeout.as_millis(), c.max_entry_bytes), (2_592_000, 10_000, 1000));
        assert!(cfg("[cache]\nttl_secs = 1\nlookup_timeout_ms = 1\n").is_ok());
    }

    #[test]
    fn bad_settings_are_named() {
        for (extra, key) in [
            ("[cache]\nttl_secs = 0\n", "cache.ttl_secs"),
            ("[cache]\nttl_secs = 2592001\n", "cache.ttl_secs"),
            ("[[cache.agents]]\nagent = \"a\"\nttl_secs = 2592001\n", "cache.agents[0].ttl_secs"),
            ("[cache]\nlookup_timeout_ms = 10001\n", "cache.lookup_timeout_ms"),
            ("[cache]\nlookup_timeout_ms = 0\n", "cache.lookup_timeout_ms"),
            ("[cache]\nmax_bytes = 1000\nmax_entry_bytes = 1001\n", "cache.max_entry_bytes"),
            ("[cache]\nvary_headers = [\"bad header\"]\n", "cache.vary_headers[0]"),
            ("[cache]\nmax_entry_bytes = 0\n", "cache.max_entry_bytes"),
            ("[[cache.models]]\nmodel = \"nope\"\nenabled = true\n", "cache.models[0].model"),
            ("[[cache.scopes]]\nname = \"s\"\nagents = [\"a\"]\n", "cache.scopes[0].agents"),
            ("[[cache.scopes]]\nname = \"s\"\nagents = [\"a\", \"b\"]\n[[cache.scopes]]\nname = \"t\"\nagents = [\"b\", \"c\"]\n", "cache.scopes[1].agents"),
            ("[cache]\npartition = \"global\"\n", "unknown variant `global`"),
            ("[cache.semantic]\nthreshold = 1.5\n", "cache.semantic.threshold"),
            ("[cache.semantic]\nmax_prompt_bytes = 0\n", "cache.semantic.max_prompt_bytes"),
            ("[cache.semantic]\nmax_entries = 0\n", "cache.semantic.max_entries"),
            ("[cache.semantic]\nmodel_dir = \"/nonexistent\"\n", "cache.semantic.model_dir"),
            ("[cache.semantic]\nembeddings_model = \"nope\"\n", "cache.semantic.embeddings_model"),
        ] {
            let err = cfg(extra).unwrap_err();
            assert!(err.contains(key), "{extra}: {err}");
        }
    }
}
