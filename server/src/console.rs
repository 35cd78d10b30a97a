//! The console's data, answered by the admin API itself: each operation is an in-process
//! request to the admin API's router, with the admin token, so the console and the API can never
//! disagree about what an operation does.
//!
//! Console sign-ins are the one thing here that is not an admin API resource: signing out is
//! recorded in the store directly, and every replica keeps the signed-out sessions in memory
//! ([`SignedOutSessions`]), so checking a cookie never touches the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use serde::de::DeserializeOwned;
use weir_api::{AgentBudgets, AgentDetail, AgentLimits, AgentsList, Approval, ApprovalsPage, AuditEvent, BudgetsList, CreatedKey, ErrorBody, EventOne, EventsPage, Facets, KeysList, ModelsList, Overview, SessionsPage, ToolView, ToolsList};
use weir_console::data::AgentView;
use weir_console::{ConsoleData, DataError, DataResult, TraceFilter};

use crate::state::{AppState, Runtime};
use crate::store::{now_ms, Store, StoreError};

/// Console sessions ended by signing out, by id, with when each cookie expires (unix ms).
///
/// A sign-out is never undone, so a reload adds what the database holds to what this replica
/// already knows (a reload that read the database just before this replica's own sign-out
/// cannot lose it); entries leave only once their cookies have expired, which bounds the set by
/// the sign-outs of one session lifetime.
#[derive(Default)]
pub struct SignedOutSessions(ArcSwap<HashMap<String, i64>>);

impl SignedOutSessions {
    pub fn contains(&self, session: &str) -> bool {
        self.0.load().contains_key(session)
    }

    fn merge(&self, signed_out: &[(String, i64)], now: i64) {
        self.0.rcu(|known| {
            let known = known.iter().map(|(id, exp)| (id.clone(), *exp));
            known.chain(signed_out.iter().cloned()).filter(|(_, exp)| *exp > now).collect::<HashMap<_, _>>()
        });
    }

    /// Loads the sign-outs recorded by every replica (and drops the expired ones).
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let now = now_ms();
        let rows = store.console_signouts(now).await?;
        self.merge(&rows, now);
        Ok(())
    }
}

pub struct GatewayConsole {
    api: Router,
    token: String,
    key: Vec<u8>,
    gateway_url: String,
    store: Store,
    signed_out: Arc<SignedOutSessions>,
    /// For `server.trusted_proxies`, read at each request so a config reload applies.
    runtime: Arc<ArcSwap<Runtime>>,
}

impl GatewayConsole {
    pub fn new(api: Router, state: &AppState) -> Self {
        let token = state.admin_token.expose_secret();
        let key = Sha256::digest(format!("weir-console\u{0}{token}").as_bytes()).to_vec();
        let gateway = state.runtime.load().config.listen;
        let host = if gateway.ip().is_unspecified() { format!("localhost:{}", gateway.port()) } else { gateway.to_string() };
        Self {
            api,
            token: token.to_string(),
            key,
            gateway_url: format!("http://{host}"),
            store: state.store.clone(),
            signed_out: state.console_signouts.clone(),
            runtime: state.runtime.clone(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> DataResult<(StatusCode, bytes::Bytes)> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .map_err(|e| DataError::Refused(format!("bad request: {e}")))?;
        let resp = self.api.clone().oneshot(req).await.map_err(|e| DataError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024).await.map_err(|e| DataError::Unavailable(e.to_string()))?;
        Ok((status, bytes))
    }

    /// The answer of a call that must succeed, as the API's type; its error message otherwise.
    async fn ok<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Value>) -> DataResult<T> {
        self.found(method, path, body).await?.ok_or_else(|| DataError::Refused("not found".into()))
    }

    /// Like [`Self::ok`], with a 404 as `None`.
    async fn found<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Value>) -> DataResult<Option<T>> {
        let (status, bytes) = self.call(method, path, body).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map(Some).map_err(|e| DataError::Unavailable(format!("the admin API answered in an unexpected shape: {e}")));
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes).map(|b| b.error.message).unwrap_or_else(|_| "the request failed".to_string());
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::SERVICE_UNAVAILABLE => Err(DataError::Unavailable(message)),
            _ => Err(DataError::Refused(message)),
        }
    }

    /// A call whose answer is not needed.
    async fn run(&self, method: Method, path: &str, body: Option<Value>) -> DataResult<()> {
        self.ok::<serde::de::IgnoredAny>(method, path, body).await.map(drop)
    }
}

fn enc(s: &str) -> String {
    weir_console::fmt::query_escape(s)
}

/// A number typed into a form: thousands separators allowed; empty is `null`.
fn whole_number(what: &str, v: &str) -> DataResult<Value> {
    let v = v.replace([',', '_', ' '], "");
    if v.is_empty() {
        return Ok(Value::Null);
    }
    v.parse::<u64>().map(|n| json!(n)).map_err(|_| DataError::Refused(format!("{what}: `{v}` is not a whole number")))
}

#[async_trait::async_trait]
impl ConsoleData for GatewayConsole {
    fn is_admin_token(&self, token: &str) -> bool {
        crate::admin::admin_token_matches(&self.token, token)
    }

    fn signing_key(&self) -> Vec<u8> {
        self.key.clone()
    }

    fn gateway_url(&self) -> String {
        self.gateway_url.clone()
    }

    fn is_signed_out(&self, session: &str) -> bool {
        self.signed_out.contains(session)
    }

    async fn sign_out(&self, session: &str, expires: i64) -> DataResult<()> {
        let expires_at = expires.saturating_mul(1000);
        let now = now_ms();
        if let Err(e) = self.store.record_console_signout(session, expires_at, now).await {
            tracing::error!(error = %e, "console sign-out not recorded");
            return Err(DataError::Unavailable("Signing out could not be recorded (the database is unavailable), so you are still signed in. Try again.".into()));
        }
        // This replica refuses the cookie at once; the others within their next reload.
        self.signed_out.merge(&[(session.to_string(), expires_at)], now);
        Ok(())
    }

    fn reached_over_https(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        peer.is_some_and(|peer| crate::state::forwarded_https(peer, headers, &self.runtime.load().config.trusted_proxies))
    }

    async fn overview(&self) -> DataResult<Overview> {
        self.ok(Method::GET, "/api/v1/overview?hours=24", None).await
    }

    async fn pending_approvals(&self) -> DataResult<i64> {
        let page: ApprovalsPage = self.ok(Method::GET, "/api/v1/approvals?status=pending&limit=1", None).await?;
        Ok(page.pending)
    }

    async fn events(&self, filter: &TraceFilter, limit: u32) -> DataResult<EventsPage> {
        let mut q: Vec<String> = filter.pairs().into_iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
        q.push(format!("limit={limit}"));
        if let Some(c) = filter.cursor.as_deref().filter(|c| !c.is_empty()) {
            q.push(format!("cursor={}", enc(c)));
        }
        self.ok(Method::GET, &format!("/api/v1/audit/events?{}", q.join("&")), None).await
    }

    async fn event(&self, id: &str) -> DataResult<Option<AuditEvent>> {
        Ok(self.found::<EventOne>(Method::GET, &format!("/api/v1/audit/events/{}", enc(id)), None).await?.map(|e| e.event))
    }

    async fn facets(&self) -> DataResult<Facets> {
        self.ok(Method::GET, "/api/v1/audit/facets", None).await
    }

    async fn sessions(&self, agent: Option<&str>, cursor: Option<&str>, limit: u32) -> DataResult<SessionsPage> {
        let mut q = vec![format!("limit={limit}")];
        if let Some(a) = agent.filter(|a| !a.is_empty()) {
            q.push(format!("agent={}", enc(a)));
        }
        if let Some(c) = cursor.filter(|c| !c.is_empty()) {
            q.push(format!("cursor={}", enc(c)));
        }
        self.ok(Method::GET, &format!("/api/v1/sessions?{}", q.join("&")), None).await
    }

    async fn agents(&self) -> DataResult<Vec<AgentView>> {
        let agents: AgentsList = self.ok(Method::GET, "/api/v1/agents", None).await?;
        let keys: KeysList = self.ok(Method::GET, "/api/v1/keys", None).await?;
        let budgets: BudgetsList = self.ok(Method::GET, "/api/v1/budgets", None).await?;
        Ok(agents
            .agents
            .into_iter()
            .map(|agent| AgentView {
                keys: keys.keys.iter().filter(|k| k.agent == agent.name).cloned().collect(),
                budgets: budgets.agents.iter().find(|b| b.agent == agent.name).map(|b| b.budgets.clone()).unwrap_or_default(),
                limits: None,
                guardrails: None,
                cache: None,
                agent,
            })
            .collect())
    }

    async fn agent(&self, name: &str) -> DataResult<Option<AgentView>> {
        let Some(detail) = self.found::<AgentDetail>(Method::GET, &format!("/api/v1/agents/{}", enc(name)), None).await? else { return Ok(None) };
        let budgets: AgentBudgets = self.ok(Method::GET, &format!("/api/v1/agents/{}/budgets?detail=true", enc(name)), None).await?;
        let limits: AgentLimits = self.ok(Method::GET, &format!("/api/v1/agents/{}/limits", enc(name)), None).await?;
        let guardrails: weir_api::GuardrailsList = self.ok(Method::GET, "/api/v1/guardrails", None).await?;
        let cache: weir_api::CacheSettingsList = self.ok(Method::GET, "/api/v1/cache", None).await?;
        Ok(Some(AgentView { agent: detail.agent, keys: detail.keys, budgets: budgets.budgets, limits: Some(limits), guardrails: Some(guardrails), cache: Some(cache) }))
    }

    async fn create_agent(&self, name: &str) -> DataResult<()> {
        self.run(Method::POST, "/api/v1/agents", Some(json!({"name": name}))).await
    }

    async fn create_key(&self, agent: &str, expires_in: Option<&str>, models: Option<Vec<String>>) -> DataResult<String> {
        let mut body = json!({"agent": agent});
        if let Some(e) = expires_in {
            body["expires_in"] = json!(e);
        }
        if let Some(m) = models {
            body["models"] = json!(m);
        }
        let created: CreatedKey = self.ok(Method::POST, "/api/v1/keys", Some(body)).await?;
        Ok(created.key)
    }

    async fn revoke_key(&self, id: &str) -> DataResult<()> {
        self.run(Method::POST, &format!("/api/v1/keys/{}/revoke", enc(id)), None).await
    }

    async fn set_key_models(&self, id: &str, models: Option<Vec<String>>) -> DataResult<()> {
        self.run(Method::PATCH, &format!("/api/v1/keys/{}", enc(id)), Some(json!({"models": models}))).await
    }

    async fn set_limits(&self, agent: &str, model: Option<&str>, rpm: &str, tpm: &str, mcp_rpm: &str, a2a_rpm: &str) -> DataResult<()> {
        let mut body = json!({"rpm": whole_number("requests per minute", rpm)?, "tpm": whole_number("tokens per minute", tpm)?});
        match model {
            Some(m) => body["model"] = json!(m),
            None => {
                body["mcp_rpm"] = whole_number("MCP requests per minute", mcp_rpm)?;
                body["a2a_rpm"] = whole_number("A2A requests per minute", a2a_rpm)?;
            }
        }
        self.run(Method::PUT, &format!("/api/v1/agents/{}/limits", enc(agent)), Some(body)).await
    }

    async fn set_budget(&self, agent: &str, period: &str, kind: &str, amount: &str, model: Option<&str>) -> DataResult<()> {
        let mut body = json!({"period": period});
        match kind {
            "tokens" => body["tokens"] = json!(amount.replace([',', '_', ' '], "").parse::<u64>().map_err(|_| DataError::Refused(format!("`{amount}` is not a whole number of tokens")))?),
            "cost_usd" => {
                body["cost_usd"] = json!(amount.trim_start_matches('$').replace(',', "").parse::<f64>().map_err(|_| DataError::Refused(format!("`{amount}` is not an amount of dollars")))?)
            }
            other => return Err(DataError::Refused(format!("`{other}` is not a budget kind"))),
        }
        if let Some(m) = model {
            body["model"] = json!(m);
        }
        self.run(Method::PUT, &format!("/api/v1/agents/{}/budgets", enc(agent)), Some(body)).await
    }

    async fn approvals(&self, status: Option<&str>) -> DataResult<Vec<Approval>> {
        let path = match status {
            Some(s) => format!("/api/v1/approvals?status={}&limit=200", enc(s)),
            None => "/api/v1/approvals?limit=200".to_string(),
        };
        Ok(self.ok::<ApprovalsPage>(Method::GET, &path, None).await?.approvals)
    }

    async fn decide(&self, id: &str, approve: bool, by: &str, reason: Option<&str>) -> DataResult<()> {
        let verb = if approve { "approve" } else { "deny" };
        self.run(Method::POST, &format!("/api/v1/approvals/{}/{verb}", enc(id)), Some(json!({"by": by, "reason": reason}))).await
    }

    async fn guardrails(&self) -> DataResult<weir_api::GuardrailsList> {
        self.ok(Method::GET, "/api/v1/guardrails", None).await
    }

    async fn set_guardrails(&self, scope: &str, name: &str, overrides: std::collections::BTreeMap<String, String>) -> DataResult<()> {
        self.run(Method::PUT, &format!("/api/v1/guardrails/{}/{}", enc(scope), enc(name)), Some(json!({"overrides": overrides}))).await
    }

    async fn cache_settings(&self) -> DataResult<weir_api::CacheSettingsList> {
        self.ok(Method::GET, "/api/v1/cache", None).await
    }

    async fn set_cache(&self, scope: &str, name: &str, setting: weir_api::CacheSettingView) -> DataResult<()> {
        self.run(Method::PUT, &format!("/api/v1/cache/{}/{}", enc(scope), enc(name)), Some(json!(setting))).await
    }

    async fn purge_cache(&self, agent: Option<&str>, model: Option<&str>) -> DataResult<u64> {
        let mut query: Vec<String> = Vec::new();
        if let Some(a) = agent {
            query.push(format!("agent={}", enc(a)));
        }
        if let Some(m) = model {
            query.push(format!("model={}", enc(m)));
        }
        let purged: weir_api::CachePurged = self.ok(Method::DELETE, &format!("/api/v1/cache?{}", query.join("&")), None).await?;
        Ok(purged.purged)
    }

    async fn models(&self) -> DataResult<ModelsList> {
        self.ok(Method::GET, "/api/v1/models", None).await
    }

    async fn tools(&self) -> DataResult<Vec<ToolView>> {
        Ok(self.ok::<ToolsList>(Method::GET, "/api/v1/tools", None).await?.tools)
    }

    async fn approve_tool(&self, server: &str, tool: &str, hash: &str, by: &str) -> DataResult<()> {
        self.run(Method::POST, &format!("/api/v1/tools/{}/{}/approve", enc(server), enc(tool)), Some(json!({"hash": hash, "by": by}))).await
    }

    async fn a2a(&self) -> DataResult<weir_api::A2aRegistry> {
        self.ok(Method::GET, "/api/v1/a2a", None).await
    }

    async fn register_a2a_agent(&self, name: &str, url: &str) -> DataResult<()> {
        // A card's address ends in `.json`; anything else is the agent's base URL.
        let body = if url.trim_end_matches('/').ends_with(".json") { json!({"card_url": url}) } else { json!({"url": url}) };
        self.run(Method::PUT, &format!("/api/v1/a2a/agents/{}", enc(name)), Some(body)).await
    }

    async fn remove_a2a_agent(&self, name: &str) -> DataResult<()> {
        self.run(Method::DELETE, &format!("/api/v1/a2a/agents/{}", enc(name)), None).await
    }

    async fn set_a2a_rules(&self, rules: Vec<weir_api::A2aRuleView>) -> DataResult<()> {
        self.run(Method::PUT, "/api/v1/a2a/rules", Some(json!({"rules": rules}))).await
    }
}

#[cfg(test)]
mod tests {
    use super::SignedOutSessions;

    #[test]
    fn sign_outs_are_never_forgotten_before_they_expire() {
        let set = SignedOutSessions::default();
        set.merge(&[("a".into(), 1_000), ("b".into(), 3_000)], 500);
        // A reload that read the database before "a" was recorded keeps it.
        set.merge(&[("b".into(), 3_000)], 600);
        assert!(set.contains("a") && set.contains("b"));
        assert!(!set.contains("c"));
        // Expired entries leave at the next merge.
        set.merge(&[], 1_000);
        assert!(!set.contains("a") && set.contains("b"));
    }
}
