//! Weir's web console: pages rendered on the server with Leptos, links and forms only, over the
//! [`ConsoleData`] trait the gateway implements with its admin API's own operations.
//!
//! Every page and form needs a signed-in operator (see [`auth`]): pages redirect a visitor who
//! is not to the sign-in page, forms refuse them, and every form carries the session's token
//! against cross-site request forgery (forms posted from another origin are refused too). A
//! signed-out session counts as not signed in, at every replica, whoever holds its cookie.
//! Cookies carry `Secure` when the gateway says the browser came over HTTPS.

pub mod auth;
pub mod data;
pub mod fmt;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

pub use data::{ConsoleData, DataError, DataResult, Page, TraceFilter};

const STYLESHEET: &str = include_str!("../assets/console.css");
const PAGE_SIZE: u32 = 50;

#[derive(Clone)]
struct Console {
    data: Arc<dyn ConsoleData>,
}

/// The console's routes, to be served at the root of the admin port.
pub fn router(data: Arc<dyn ConsoleData>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/console.css", get(stylesheet))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/settings/time-zone", post(set_time_zone))
        .route("/traces", get(traces))
        .route("/events/{id}", get(event))
        .route("/agents", get(agents).post(create_agent))
        .route("/agents/{name}", get(agent))
        .route("/agents/{name}/keys", post(create_key))
        .route("/agents/{name}/budgets", post(set_budget))
        .route("/agents/{name}/limits", post(set_limits))
        .route("/keys/{id}/revoke", post(revoke_key))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}/approve", post(approve))
        .route("/approvals/{id}/deny", post(deny))
        .route("/tools", get(tools))
        .route("/models", get(models))
        .route("/tools/{server}/{tool}/approve", post(approve_tool))
        .with_state(Console { data })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Renders with times in the operator's chosen offset from UTC (the `weir_tz` cookie).
fn zoned(headers: &HeaderMap, render: impl FnOnce() -> String) -> String {
    let minutes = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("weir_tz="))
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|m| (-14 * 60..=14 * 60).contains(m))
        .unwrap_or(0);
    fmt::with_offset(minutes, render)
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    r.headers_mut().insert("content-security-policy", HeaderValue::from_static("default-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"));
    r
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], STYLESHEET).into_response()
}

/// The signed-in operator's session and form token.
struct Operator {
    session: auth::Session,
    csrf: String,
}

impl Console {
    /// The operator of a valid cookie whose session was not signed out (checked in memory).
    fn operator(&self, headers: &HeaderMap) -> Option<Operator> {
        let key = self.data.signing_key();
        let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(auth::cookie_value)?;
        let session = auth::verify(&key, cookie, now()).filter(|s| !self.data.is_signed_out(&s.id))?;
        let csrf = auth::csrf_token(&key, &session.id);
        Some(Operator { session, csrf })
    }

    /// For a form: the operator, when signed in, posting from this origin, with the session's
    /// form token; a refusal otherwise.
    fn form_operator(&self, headers: &HeaderMap, csrf: &str) -> Result<Operator, Box<Response>> {
        if !same_origin(headers) {
            return Err(Box::new(refusal(StatusCode::FORBIDDEN, "This form was posted from another site and was refused.")));
        }
        let Some(op) = self.operator(headers) else {
            return Err(Box::new(refusal(StatusCode::FORBIDDEN, "You are not signed in (or your sign-in expired). Sign in and try again.")));
        };
        if !auth::csrf_ok(&self.data.signing_key(), &op.session.id, csrf) {
            return Err(Box::new(refusal(StatusCode::FORBIDDEN, "This form's security token is missing or stale. Reload the page and try again.")));
        }
        Ok(op)
    }
}

/// Whether the cookies this answer sets carry `Secure`: the gateway decides from the TCP peer
/// and the headers (it alone knows which proxies to believe).
struct SecureCookies(bool);

impl axum::extract::FromRequestParts<Console> for SecureCookies {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, c: &Console) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(c.data.reached_over_https(peer, &parts.headers)))
    }
}

/// `to` with `cookie` set on the way.
fn redirect_setting(to: &str, cookie: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// A page's operator: a handler taking it runs only for a signed-in operator; anyone else is
/// sent to sign in.
struct SignedIn(Operator);

impl axum::extract::FromRequestParts<Console> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, c: &Console) -> Result<Self, Response> {
        c.operator(&parts.headers).map(SignedIn).ok_or_else(|| Redirect::to("/sign-in").into_response())
    }
}

/// A browser's `Origin` (when it sends one) must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest.trim_end_matches('/').eq_ignore_ascii_case(host))
}

fn refusal(status: StatusCode, message: &str) -> Response {
    let page = pages::refused(message);
    html(status, pages::render(page))
}

fn data_error(e: &DataError) -> Response {
    match e {
        DataError::Refused(m) => refusal(StatusCode::BAD_REQUEST, m),
        DataError::Unavailable(m) => refusal(StatusCode::SERVICE_UNAVAILABLE, m),
    }
}

/// Back to a page, with a fixed message naming what was done.
fn done(to: &str, what: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}done={what}")).into_response()
}

/// The message of a `done` code (codes only: a link cannot put words in the console's mouth).
fn flash(code: Option<&str>) -> Option<String> {
    Some(
        match code? {
            "approved" => "Approved: the call goes to its backend.",
            "denied" => "Denied: the agent was told, with your reason.",
            "tool-approved" => "Definition approved: it is the tool's pin now.",
            "agent" => "Agent created. Create a key for it below.",
            "budget" => "Budget set. Every replica applies it within 2 seconds.",
            "limits" => "Rate limits set. Every replica applies them within 2 seconds.",
            "revoked" => "Key revoked. It stops working within 2 seconds.",
            _ => return None,
        }
        .to_string(),
    )
}

// -- sign-in ----------------------------------------------------------------------------------

async fn sign_in_page(State(c): State<Console>, headers: HeaderMap) -> Response {
    if c.operator(&headers).is_some() {
        return Redirect::to("/").into_response();
    }
    html(StatusCode::OK, pages::render(pages::sign_in(None)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignIn {
    token: String,
}

async fn sign_in(State(c): State<Console>, SecureCookies(secure): SecureCookies, headers: HeaderMap, Form(f): Form<SignIn>) -> Response {
    if !same_origin(&headers) {
        return refusal(StatusCode::FORBIDDEN, "This form was posted from another site and was refused.");
    }
    if !c.data.is_admin_token(f.token.trim()) {
        tracing::warn!("console sign-in with a wrong token");
        return html(StatusCode::UNAUTHORIZED, pages::render(pages::sign_in(Some("That is not the admin token."))));
    }
    let session = auth::new_session(&c.data.signing_key(), now());
    redirect_setting("/", &auth::set_cookie(auth::COOKIE, &session, auth::SESSION_SECS, secure))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfOnly {
    csrf: String,
}

/// Ends the sign-in everywhere, not only in this browser: a copy of the cookie stops working
/// too. When that cannot be recorded the operator is told and stays signed in, to try again.
async fn sign_out(State(c): State<Console>, SecureCookies(secure): SecureCookies, headers: HeaderMap, Form(f): Form<CsrfOnly>) -> Response {
    let op = match c.form_operator(&headers, &f.csrf) {
        Ok(op) => op,
        Err(r) => return *r,
    };
    if let Err(e) = c.data.sign_out(&op.session.id, op.session.expires).await {
        return data_error(&e);
    }
    redirect_setting("/sign-in", &auth::set_cookie(auth::COOKIE, "", 0, secure))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TimeZone {
    csrf: String,
    /// Minutes east of UTC.
    offset: String,
}

/// The operator's time zone (an offset from UTC), kept in a cookie of this browser.
async fn set_time_zone(State(c): State<Console>, SecureCookies(secure): SecureCookies, headers: HeaderMap, Form(f): Form<TimeZone>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    let Some(minutes) = f.offset.trim().parse::<i32>().ok().filter(|m| (-14 * 60..=14 * 60).contains(m)) else {
        return refusal(StatusCode::BAD_REQUEST, "That is not an offset from UTC.");
    };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())))
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".into());
    redirect_setting(&back, &auth::set_cookie("weir_tz", &minutes.to_string(), 31_536_000, secure))
}

// -- overview ---------------------------------------------------------------------------------

async fn overview(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap) -> Response {
    match c.data.overview().await {
        Ok(o) => html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Overview", "/", &op.csrf, None, false, pages::overview(&o, &c.data.gateway_url()))))),
        Err(e) => data_error(&e),
    }
}

// -- traces -----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct TraceQuery {
    #[serde(flatten)]
    filter: TraceFilter,
    follow: Option<String>,
}

async fn traces(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(q): Query<TraceQuery>) -> Response {
    let follow = q.follow.is_some();
    let page = match c.data.events(&q.filter, PAGE_SIZE).await {
        Ok(p) => p,
        // The refusal's words would echo the link's: say it in the console's own.
        Err(DataError::Refused(_)) => return refusal(StatusCode::BAD_REQUEST, "A filter is not valid: times are RFC 3339 (2026-11-25T12:00:00Z) or unix milliseconds, status is a number, and the cursor must come from the Older link."),
        Err(e) => return data_error(&e),
    };
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Traces", "/traces", &op.csrf, None, follow, pages::traces(&q.filter, &page, follow, &c.data.gateway_url())))))
}

async fn event(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let e = match c.data.event(&id).await {
        Ok(Some(e)) => e,
        Ok(None) => return refusal(StatusCode::NOT_FOUND, "There is no such event."),
        Err(e) => return data_error(&e),
    };
    // A session is an agent's: another agent using the same name is another timeline.
    let session = match e.get("session_id").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => {
            let agent = e.get("agent_name").and_then(Value::as_str).map(str::to_string);
            let filter = TraceFilter { session: Some(s.to_string()), agent, ..Default::default() };
            c.data.events(&filter, 200).await.map(|p| p.items).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    // Poisoning findings and pin changes of the tools this session used.
    let mut findings = pages::ToolFindings::new();
    if session.iter().chain(std::iter::once(&e)).any(|x| x.get("tool_name").and_then(Value::as_str).is_some()) {
        for t in c.data.tools().await.unwrap_or_default() {
            let mut items: Vec<String> = t
                .get("findings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| format!("{} in {}: {}", f["rule"].as_str().unwrap_or(""), f["location"].as_str().unwrap_or(""), f["excerpt"].as_str().unwrap_or("")))
                .collect();
            if t.get("changed").and_then(Value::as_bool) == Some(true) {
                items.push("its definition changed since it was pinned".into());
            }
            if let Some(name) = t.get("name").and_then(Value::as_str) {
                findings.insert(name.to_string(), items);
            }
        }
    }
    let title = format!("{} {}", e.get("kind").and_then(Value::as_str).unwrap_or(""), e.get("operation").and_then(Value::as_str).unwrap_or(""));
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell(&title, "/traces", &op.csrf, None, false, pages::event(&e, &session, &findings)))))
}

// -- agents -----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

async fn agents(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(d): Query<Done>) -> Response {
    match c.data.agents().await {
        Ok(list) => html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Agents", "/agents", &op.csrf, flash(d.done.as_deref()), false, pages::agents(&list, &op.csrf, &c.data.gateway_url()))))),
        Err(e) => data_error(&e),
    }
}

async fn agent_page(c: &Console, headers: &HeaderMap, op: &Operator, name: &str, flash_text: Option<String>, new_key: Option<String>) -> Response {
    let recent = c.data.events(&TraceFilter { agent: Some(name.to_string()), ..Default::default() }, 20).await.map(|p| p.items).unwrap_or_default();
    match c.data.agent(name).await {
        Ok(Some(a)) => html(StatusCode::OK, zoned(headers, || pages::render(pages::shell(name, "/agents", &op.csrf, flash_text, false, pages::agent(&a, &recent, &op.csrf, new_key))))),
        Ok(None) => refusal(StatusCode::NOT_FOUND, "There is no such agent."),
        Err(e) => data_error(&e),
    }
}

async fn agent(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Path(name): Path<String>, Query(d): Query<Done>) -> Response {
    agent_page(&c, &headers, &op, &name, flash(d.done.as_deref()), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewAgent {
    csrf: String,
    name: String,
}

async fn create_agent(State(c): State<Console>, headers: HeaderMap, Form(f): Form<NewAgent>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    let name = f.name.trim();
    match c.data.create_agent(name).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(name)), "agent"),
        Err(e) => data_error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewKey {
    csrf: String,
    expires_in: String,
}

/// The new key is shown in this answer (not through a redirect: it must not reach a URL).
async fn create_key(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, Form(f): Form<NewKey>) -> Response {
    let op = match c.form_operator(&headers, &f.csrf) {
        Ok(op) => op,
        Err(r) => return *r,
    };
    let expires = Some(f.expires_in.trim()).filter(|s| !s.is_empty());
    match c.data.create_key(&name, expires).await {
        Ok(secret) => agent_page(&c, &headers, &op, &name, Some("Key created.".into()), Some(secret)).await,
        Err(e) => data_error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Budget {
    csrf: String,
    period: String,
    kind: String,
    amount: String,
    model: String,
}

async fn set_budget(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, Form(f): Form<Budget>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    let model = Some(f.model.trim()).filter(|s| !s.is_empty());
    match c.data.set_budget(&name, &f.period, &f.kind, f.amount.trim(), model).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(&name)), "budget"),
        Err(e) => data_error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Revoke {
    csrf: String,
    /// The agent whose page the form was on.
    agent: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Limits {
    csrf: String,
    model: String,
    rpm: String,
    tpm: String,
    mcp_rpm: String,
}

async fn set_limits(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, Form(f): Form<Limits>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    let model = Some(f.model.trim()).filter(|s| !s.is_empty());
    match c.data.set_limits(&name, model, f.rpm.trim(), f.tpm.trim(), f.mcp_rpm.trim()).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(&name)), "limits"),
        Err(e) => data_error(&e),
    }
}

async fn revoke_key(State(c): State<Console>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<Revoke>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    match c.data.revoke_key(&id).await {
        Ok(()) if f.agent.is_empty() => done("/agents", "revoked"),
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(&f.agent)), "revoked"),
        Err(e) => data_error(&e),
    }
}

// -- approvals and tools ----------------------------------------------------------------------

async fn approvals(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(d): Query<Done>) -> Response {
    let (pending, all) = match (c.data.approvals(Some("pending")).await, c.data.approvals(None).await) {
        (Ok(p), Ok(a)) => (p, a),
        (Err(e), _) | (_, Err(e)) => return data_error(&e),
    };
    let history: Vec<Value> = all.into_iter().filter(|a| a.get("status").and_then(Value::as_str) != Some("pending")).collect();
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Approvals", "/approvals", &op.csrf, flash(d.done.as_deref()), false, pages::approvals(&pending, &history, &op.csrf)))))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Decision {
    csrf: String,
    reason: String,
}

async fn decide(c: Console, headers: HeaderMap, id: String, f: Decision, approve: bool) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    let reason = Some(f.reason.trim()).filter(|s| !s.is_empty());
    match c.data.decide(&id, approve, "console", reason).await {
        Ok(()) => done("/approvals", if approve { "approved" } else { "denied" }),
        Err(e) => data_error(&e),
    }
}

async fn approve(State(c): State<Console>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<Decision>) -> Response {
    decide(c, headers, id, f, true).await
}

async fn deny(State(c): State<Console>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<Decision>) -> Response {
    decide(c, headers, id, f, false).await
}

async fn tools(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(d): Query<Done>) -> Response {
    match c.data.tools().await {
        Ok(list) => html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Tools", "/tools", &op.csrf, flash(d.done.as_deref()), false, pages::tools(&list, &op.csrf))))),
        Err(e) => data_error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ToolApproval {
    csrf: String,
    hash: String,
}

async fn models(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap) -> Response {
    match c.data.models().await {
        Ok(list) => html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Models", "/models", &op.csrf, None, false, pages::models(&list))))),
        Err(e) => data_error(&e),
    }
}

async fn approve_tool(State(c): State<Console>, headers: HeaderMap, Path((server, tool)): Path<(String, String)>, Form(f): Form<ToolApproval>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    match c.data.approve_tool(&server, &tool, &f.hash, "console").await {
        Ok(()) => done("/tools", "tool-approved"),
        Err(e) => data_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn names_from_backends_and_agents_cannot_bend_form_addresses() {
        let tool = json!({"name": "srv__../../agents/prod/limits?", "server": "srv", "tool": "../../agents/prod/limits?", "flagged": true, "current_hash": "h"});
        let html = crate::pages::render(crate::pages::tools(&[tool], "token"));
        assert!(html.contains(r#"action="/tools/srv/..%2F..%2Fagents%2Fprod%2Flimits%3F/approve""#), "{html}");
        let event = json!({"id": "e1", "session_id": "s&agent=other", "kind": "llm", "ts": 0});
        let page = crate::Page { items: vec![event], next_cursor: None };
        let html = crate::pages::render(crate::pages::traces(&Default::default(), &page, false, "http://gw"));
        assert!(html.contains("/traces?session=s%26agent%3Dother"), "{html}");
    }
}
