//! What every A2A request shares: the target agents' cards (fetched from the agents, kept as
//! their `Cache-Control` says and revalidated with their `ETag`), the connections to them, and
//! who owns which task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use serde_json::Value;

use super::card::{self, Routes};
use super::protocol::Version;
use super::tasks::TaskOwners;
use crate::config::{A2aAgent, A2aConfig, A2aRule};
use crate::store::{A2aAgentRow, A2aRuleRow, Store, StoreError};
use crate::llm::Transport;

/// How long a card that could not be read is not asked for again (the last one is served).
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The least time a card is kept, whatever its `Cache-Control` says: a `no-cache` card is not
/// fetched once per request.
const LEAST_FRESH: Duration = Duration::from_secs(1);

/// An agent's card as last fetched.
#[derive(Clone)]
pub struct CardEntry {
    pub card: Value,
    pub routes: Routes,
    pub versions: Vec<Version>,
    etag: Option<HeaderValue>,
    fresh_until: Instant,
    /// The card URL and base URL it was fetched for (a reload that moves the agent drops it).
    source: (String, String),
}

impl CardEntry {
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.fresh_until
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("the agent's card could not be fetched: {0}")]
    Fetch(String),
    #[error("the agent's card answered HTTP {0}")]
    Status(u16),
    #[error("the agent's card is not a JSON object")]
    Invalid,
}

/// The agents and rules set through the admin API or the console (reloaded with the keys).
#[derive(Default)]
pub struct Stored {
    pub agents: Vec<A2aAgent>,
    pub rules: Vec<A2aRule>,
}

impl Stored {
    /// The stored rows, validated as the config file's are; a row that does not validate (set
    /// by an older version, say) is left out and logged.
    pub fn of(agents: &[A2aAgentRow], rules: &[A2aRuleRow], config: &A2aConfig) -> Self {
        let mut out = Self::default();
        for row in agents {
            match agent_of_row(row, config) {
                Ok(a) => out.agents.push(a),
                Err(e) => tracing::warn!(agent = %row.name, error = %e, "stored A2A agent left out"),
            }
        }
        for (i, r) in rules.iter().enumerate() {
            match rule_of_row(r, i + 1) {
                Ok(rule) => out.rules.push(rule),
                Err(e) => tracing::warn!(rule = i + 1, error = %e, "stored A2A rule left out"),
            }
        }
        out
    }
}

/// An agent as the admin API sets it, checked as the config file's are.
pub fn agent_of_row(row: &A2aAgentRow, config: &A2aConfig) -> Result<A2aAgent, String> {
    crate::config::a2a::check_agent_name(&row.name)?;
    let (base_url, card_url) = crate::config::a2a::agent_urls(Some(&row.url), Some(&row.card_url).filter(|c| !c.is_empty()).map(String::as_str))?;
    let mut headers = Vec::new();
    for (k, v) in &row.headers {
        let name = axum::http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("`{k}` is not a valid header name"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("the value of header `{k}` is not valid"))?;
        headers.push((name, value));
    }
    let proxy = crate::config::proxy_from_env(&config.proxy_env, &base_url);
    Ok(A2aAgent { name: row.name.clone(), card_url, base_url, headers, proxy })
}

/// A rule as the admin API sets it.
pub fn rule_of_row(row: &A2aRuleRow, number: usize) -> Result<A2aRule, String> {
    use crate::mcp::policy::Glob;
    if row.agents.is_empty() || row.targets.is_empty() || row.skills.as_ref().is_some_and(Vec::is_empty) {
        return Err("a rule names at least one caller, one target and (when given) one skill; `*` for any".into());
    }
    let globs = |l: &[String]| l.iter().map(|s| Glob::new(s)).collect();
    Ok(A2aRule { number, agents: globs(&row.agents), targets: globs(&row.targets), skills: row.skills.as_deref().map(globs) })
}

pub struct A2aGateway {
    /// Agents and rules of the admin API.
    pub stored: arc_swap::ArcSwap<Stored>,
    cards: Mutex<HashMap<String, Arc<CardEntry>>>,
    /// One refresh of a card at a time per agent.
    /// Each agent's turn to refresh its card.
    refreshing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Agents whose card could not be read (none cached), and why: not asked again for a while.
    failures: Mutex<HashMap<String, (Instant, String)>>,
    transports: Mutex<HashMap<String, Arc<Transport>>>,
    http: reqwest::Client,
    pub owners: TaskOwners,
}

impl A2aGateway {
    pub fn new(config: &A2aConfig, redis: Option<(&str, &str)>) -> anyhow::Result<Self> {
        let owners = match redis {
            Some((url, prefix)) => TaskOwners::redis(url, prefix)?,
            None => TaskOwners::memory(config.max_tasks),
        };
        // Redirects are not followed: they would take the agent's credentials elsewhere.
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).timeout(Duration::from_secs(15)).redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Self { stored: arc_swap::ArcSwap::from_pointee(Stored::default()), cards: Mutex::new(HashMap::new()), refreshing: Mutex::new(HashMap::new()), failures: Mutex::new(HashMap::new()), transports: Mutex::new(HashMap::new()), http, owners })
    }

    /// The card as cached, fresh or not (the relay takes a stale card's routes rather than
    /// wait for the agent).
    pub fn cached(&self, agent: &A2aAgent) -> Option<Arc<CardEntry>> {
        let cards = self.cards.lock().unwrap_or_else(|p| p.into_inner());
        cards.get(&agent.name).filter(|e| e.source.0 == agent.card_url && e.source.1 == agent.base_url).cloned()
    }

    /// The card, fetched when none is cached or the cached one is stale. A stale card is kept
    /// when the agent cannot be reached (and said so in the log).
    pub async fn card(&self, agent: &A2aAgent, config: &A2aConfig) -> Result<Arc<CardEntry>, CardError> {
        if let Some(e) = self.cached(agent).filter(|e| e.is_fresh()) {
            return Ok(e);
        }
        // A stale card is served while one request refreshes it; without one, the callers wait
        // for that refresh. Each agent has its own turn: a dead agent holds up nobody else's.
        let turn = {
            let mut turns = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
            turns.entry(agent.name.clone()).or_default().clone()
        };
        let old = self.cached(agent);
        let _one = match (turn.try_lock(), &old) {
            (Ok(g), _) => g,
            (Err(_), Some(o)) => return Ok(o.clone()),
            (Err(_), None) => turn.lock().await,
        };
        let old = self.cached(agent);
        if let Some(e) = old.as_ref().filter(|e| e.is_fresh()) {
            return Ok(e.clone());
        }
        if let Some(failed) = self.failed_recently(agent) {
            return Err(failed);
        }
        match self.fetch(agent, config, old.as_deref()).await {
            Ok(e) => {
                let e = Arc::new(e);
                self.cards.lock().unwrap_or_else(|p| p.into_inner()).insert(agent.name.clone(), e.clone());
                self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&agent.name);
                Ok(e)
            }
            Err(err) => {
                tracing::warn!(agent = %agent.name, error = %err, "the agent's card could not be read");
                match old {
                    // Kept, and not asked again for a while.
                    Some(o) => {
                        let kept = Arc::new(CardEntry { fresh_until: Instant::now() + RETRY_AFTER, ..o.as_ref().clone() });
                        self.cards.lock().unwrap_or_else(|p| p.into_inner()).insert(agent.name.clone(), kept.clone());
                        Ok(kept)
                    }
                    None => {
                        let why = match &err {
                            CardError::Fetch(why) => why.clone(),
                            other => other.to_string(),
                        };
                        self.failures.lock().unwrap_or_else(|p| p.into_inner()).insert(agent.name.clone(), (Instant::now(), why));
                        Err(err)
                    }
                }
            }
        }
    }

    /// The error of a fetch that failed less than [`RETRY_AFTER`] ago.
    fn failed_recently(&self, agent: &A2aAgent) -> Option<CardError> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(&agent.name).filter(|(at, _)| at.elapsed() < RETRY_AFTER).map(|(_, why)| CardError::Fetch(why.clone()))
    }

    async fn fetch(&self, agent: &A2aAgent, config: &A2aConfig, old: Option<&CardEntry>) -> Result<CardEntry, CardError> {
        let mut req = self.http.get(&agent.card_url).header(header::ACCEPT, "application/json");
        for (k, v) in &agent.headers {
            req = req.header(k, v);
        }
        if let Some(tag) = old.and_then(|o| o.etag.as_ref()) {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let mut resp = req.send().await.map_err(|e| CardError::Fetch(e.without_url().to_string()))?;
        let ttl = freshness(resp.headers(), config.card_ttl).max(LEAST_FRESH);
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            if let Some(o) = old {
                return Ok(CardEntry { card: o.card.clone(), routes: o.routes.clone(), versions: o.versions.clone(), etag: o.etag.clone(), fresh_until: Instant::now() + ttl, source: o.source.clone() });
            }
        }
        if !resp.status().is_success() {
            return Err(CardError::Status(resp.status().as_u16()));
        }
        let etag = resp.headers().get(header::ETAG).cloned();
        // Read within the bound, not whole first.
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| CardError::Fetch(e.without_url().to_string()))? {
            if body.len() + chunk.len() > config.max_answer_bytes {
                return Err(CardError::Invalid);
            }
            body.extend_from_slice(&chunk);
        }
        let card: Value = serde_json::from_slice(&body).map_err(|_| CardError::Invalid)?;
        if !card.is_object() {
            return Err(CardError::Invalid);
        }
        let routes = Routes::of(&agent.base_url, &card);
        let versions = card::versions(&card);
        Ok(CardEntry { card, routes, versions, etag, fresh_until: Instant::now() + ttl, source: (agent.card_url.clone(), agent.base_url.clone()) })
    }

    /// The connection pool for an origin (`scheme://host[:port]`) of `agent`.
    pub fn transport(&self, agent: &A2aAgent, origin: &str, config: &A2aConfig) -> Result<Arc<Transport>, String> {
        let key = format!("{origin} {} {}", agent.proxy.as_deref().unwrap_or(""), config.request_timeout.as_millis());
        let mut map = self.transports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(&key) {
            return Ok(t.clone());
        }
        let t = Arc::new(Transport::new(origin, Duration::from_secs(5), config.request_timeout, agent.proxy.as_deref())?);
        // Bounded: origins come from agents' cards.
        if map.len() >= 1024 {
            map.clear();
        }
        map.insert(key, t.clone());
        Ok(t)
    }

    /// Reloads the stored agents and rules.
    pub async fn reload(&self, store: &Store, config: &A2aConfig) -> Result<(), StoreError> {
        let (agents, rules) = (store.a2a_agents().await?, store.a2a_rules().await?);
        // What Weir relays, captures and logs loses the stored credentials too, as the file's.
        crate::audit::learn_secrets(
            agents.iter().flat_map(|a| a.headers.iter()).filter(|(k, _)| crate::config::names_a_credential(k)).flat_map(|(_, v)| crate::config::credential_value(v)),
        );
        self.stored.store(Arc::new(Stored::of(&agents, &rules, config)));
        Ok(())
    }

    /// The agent of this name: the config file's, else a stored one.
    pub fn agent<'a>(&self, config: &'a A2aConfig, stored: &'a Stored, name: &str) -> Option<&'a A2aAgent> {
        config.agents.iter().find(|a| a.name == name).or_else(|| stored.agents.iter().find(|a| a.name == name))
    }
}

/// How long a response may be kept: its `max-age` (none for `no-store`/`no-cache`), within
/// `most`; `most` when it says nothing.
fn freshness(headers: &HeaderMap, most: Duration) -> Duration {
    let Some(cc) = headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) else { return most };
    let mut age = None;
    for d in cc.split(',').map(str::trim) {
        let d = d.to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.map_or(most, |a| Duration::from_secs(a).min(most))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_set_through_the_api_take_the_proxy_of_the_environment_weir_started_in() {
        let env: crate::config::Env = [("HTTP_PROXY", "http://proxy:3128"), ("NO_PROXY", "internal.example"), ("OTHER", "x")].into_iter().collect();
        let cfg = crate::config::Config::from_toml("", &env).unwrap().a2a;
        let row = |url: &str| A2aAgentRow { name: "a".into(), url: url.into(), card_url: String::new(), headers: Default::default() };
        assert_eq!(agent_of_row(&row("http://agent:9"), &cfg).unwrap().proxy.as_deref(), Some("http://proxy:3128"));
        assert_eq!(agent_of_row(&row("http://a.internal.example:9"), &cfg).unwrap().proxy, None, "NO_PROXY holds");
        assert!(agent_of_row(&row("http://agent:9/x?y=1"), &cfg).is_err());
    }

    #[test]
    fn a_cards_freshness_follows_cache_control_within_the_configured_most() {
        let most = Duration::from_secs(300);
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(v));
            h
        };
        assert_eq!(freshness(&HeaderMap::new(), most), most);
        assert_eq!(freshness(&with("public, max-age=60"), most), Duration::from_secs(60));
        assert_eq!(freshness(&with("max-age=86400"), most), most);
        assert_eq!(freshness(&with("no-cache"), most), Duration::ZERO);
    }

}
