//! Weir's web console: pages rendered on the server with Leptos, links and forms only, over the
//! [`ConsoleData`] trait the gateway implements with its admin API's own operations.
//!
//! Every page and form needs a signed-in operator (see [`auth`]): pages redirect a visitor who
//! is not to the sign-in page, forms refuse them, and every form carries the session's token
//! against cross-site request forgery (forms posted from another origin are refused too). A
//! signed-out session counts as not signed in, at every replica, whoever holds its cookie.
//! Cookies carry `Secure` when the gateway says the browser came over HTTPS.

pub mod auth;
pub mod charts;
pub mod conversation;
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
use weir_api::AuditEvent;

use pages::{FieldError, Frame};

pub use data::{AgentView, ConsoleData, DataError, DataResult, TraceFilter};

const STYLESHEET: &str = concat!(include_str!("../assets/console.css"), include_str!("../assets/charts.css"), include_str!("../assets/conversation.css"));
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
        .route("/sessions", get(sessions))
        .route("/sessions/{id}", get(session))
        .route("/agents", get(agents).post(create_agent))
        .route("/agents/{name}", get(agent))
        .route("/agents/{name}/keys", post(create_key))
        .route("/agents/{name}/budgets", post(set_budget))
        .route("/agents/{name}/limits", post(set_limits))
        .route("/agents/{name}/guardrails", post(set_agent_guardrails))
        .route("/models/guardrails", post(set_model_guardrails))
        .route("/agents/{name}/cache", post(set_agent_cache))
        .route("/agents/{name}/cache/purge", post(purge_agent_cache))
        .route("/models/cache", post(set_model_cache))
        .route("/models/cache/purge", post(purge_model_cache))
        .route("/keys/{id}/revoke", post(revoke_key))
        .route("/keys/{id}/models", post(set_key_models))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}/approve", post(approve))
        .route("/approvals/{id}/deny", post(deny))
        .route("/tools", get(tools))
        .route("/models", get(models))
        .route("/tools/{server}/{tool}/approve", post(approve_tool))
        .route("/a2a", get(a2a_page))
        .route("/a2a/agents", post(register_a2a_agent))
        .route("/a2a/agents/{name}/delete", post(remove_a2a_agent))
        .route("/a2a/rules", post(add_a2a_rule))
        .route("/a2a/rules/{number}/delete", post(remove_a2a_rule))
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

/// Scripts from nowhere, styles from the stylesheet only (no inline `style`), images from here or
/// inline (a conversation's pictures), forms to here, no framing.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    r.headers_mut().insert("content-security-policy", HeaderValue::from_static(CSP));
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
    /// A page's frame: the form token, the waiting approvals for the navigation (left out when
    /// the database cannot say), a flash message.
    async fn frame(&self, op: &Operator, flash: Option<String>) -> Frame {
        Frame { csrf: op.csrf.clone(), pending: self.data.pending_approvals().await.ok(), flash, refresh: false }
    }

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
            "key-models" => "The key's models are set. Every replica applies them within 2 seconds.",
            "guardrails" => "Guardrail actions set. Every replica applies them within 2 seconds.",
            "cache" => "Cache setting saved. Every replica applies it within 2 seconds.",
            "cache-purged" => "Cached answers purged.",
            "a2a-agent" => "Agent registered. Every replica serves it within 2 seconds.",
            "a2a-agent-removed" => "Agent removed. Every replica stops serving it within 2 seconds.",
            "a2a-rules" => "Rules saved. Every replica applies them within 2 seconds.",
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
        Ok(o) => {
            let frame = Frame { csrf: op.csrf.clone(), pending: Some(o.pending_approvals), flash: None, refresh: false };
            html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Overview", "/", frame, pages::overview(&o, &c.data.gateway_url())))))
        }
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

/// A time as the events API takes it: RFC 3339 or unix milliseconds as typed, or a while ago
/// (`15m`, `2h`, `7d`) from `now` (unix ms).
fn parse_when(v: &str, now_ms: i64) -> Result<String, String> {
    let v = v.trim();
    if v.parse::<i64>().is_ok() || time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).is_ok() {
        return Ok(v.to_string());
    }
    let unit = v.chars().last().unwrap_or(' ');
    let per = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => 0,
    };
    match v[..v.len() - unit.len_utf8().min(v.len())].trim().parse::<i64>() {
        Ok(n) if per > 0 && (0..=3650 * 86_400_000 / per).contains(&n) => Ok((now_ms - n * per).to_string()),
        _ => Err("Not a time: use 2026-11-25T12:00:00Z, unix milliseconds, or a while ago such as 15m, 2h, 7d.".into()),
    }
}

/// The filters as the events API takes them, or the fields that cannot be.
fn checked_filter(f: &TraceFilter, now_ms: i64) -> (TraceFilter, Vec<FieldError>) {
    let mut out = f.clone();
    let mut errors = Vec::new();
    for (field, value, slot) in [("since", f.since.as_deref(), &mut out.since), ("until", f.until.as_deref(), &mut out.until)] {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            match parse_when(v, now_ms) {
                Ok(t) => *slot = Some(t),
                Err(message) => errors.push(FieldError { field, message }),
            }
        }
    }
    if let Some(s) = f.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if !s.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n)) {
            errors.push(FieldError { field: "status", message: "An HTTP status is a number from 100 to 599.".into() });
        }
    }
    (out, errors)
}

/// Whether a held call passes the traces' filters (names whatever their case).
fn held_matches(a: &weir_api::Approval, f: &TraceFilter) -> bool {
    let same = |want: &Option<String>, have: Option<&str>| want.as_deref().map(str::trim).filter(|w| !w.is_empty()).is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)));
    let kind_ok = f.kind.as_deref().map(str::trim).is_none_or(|k| k.is_empty() || k.eq_ignore_ascii_case("mcp"));
    let unset = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
    kind_ok
        && unset(&f.model)
        && unset(&f.outcome)
        && unset(&f.guardrail)
        && unset(&f.status)
        && unset(&f.until)
        && same(&f.agent, a.agent_name.as_deref())
        && same(&f.user, a.end_user.as_deref())
        && same(&f.session, a.session_id.as_deref())
        && same(&f.server, Some(&a.server))
        && same(&f.tool, Some(&a.tool))
}

async fn traces(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(q): Query<TraceQuery>) -> Response {
    let follow = q.follow.is_some();
    let (filter, mut errors) = checked_filter(&q.filter, now() * 1000);
    let page = if errors.is_empty() {
        match c.data.events(&filter, PAGE_SIZE).await {
            Ok(p) => p,
            Err(DataError::Refused(m)) => {
                // The cursor is the one field a person does not type.
                let field = if m.contains("cursor") { "cursor" } else { "since" };
                errors.push(FieldError { field, message: if field == "cursor" { "That page link is stale: start again from the first page.".into() } else { "A filter is not valid.".into() } });
                Default::default()
            }
            Err(e) => return data_error(&e),
        }
    } else {
        Default::default()
    };
    let first_page = q.filter.cursor.as_deref().is_none_or(str::is_empty);
    let held: Vec<weir_api::Approval> = if first_page && errors.is_empty() {
        c.data.approvals(Some("pending")).await.unwrap_or_default().into_iter().filter(|a| held_matches(a, &q.filter)).collect()
    } else {
        Vec::new()
    };
    let facets = c.data.facets().await.unwrap_or_default();
    let mut frame = c.frame(&op, None).await;
    frame.refresh = follow;
    let gateway = c.data.gateway_url();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let view = pages::TracesView { filter: &q.filter, page: &page, held: &held, facets: &facets, errors: &errors, follow, gateway_url: &gateway };
    html(status, zoned(&headers, || pages::render(pages::shell("Traces", "/traces", frame, pages::traces(view)))))
}

/// Poisoning findings and pin changes of the tools these calls used, by prefixed name.
async fn tool_findings(c: &Console, events: &[AuditEvent]) -> pages::ToolFindings {
    let mut findings = pages::ToolFindings::new();
    if events.iter().any(|x| x.tool_name.is_some()) {
        for t in c.data.tools().await.unwrap_or_default() {
            let mut items: Vec<String> = t.findings.iter().map(|f| format!("{} in {}: {}", f.rule, f.location, f.excerpt)).collect();
            if t.changed {
                items.push("its definition changed since it was pinned".into());
            }
            findings.insert(t.name, items);
        }
    }
    findings
}

async fn event(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let e = match c.data.event(&id).await {
        Ok(Some(e)) => e,
        Ok(None) => return refusal(StatusCode::NOT_FOUND, "There is no such event."),
        Err(e) => return data_error(&e),
    };
    let findings = tool_findings(&c, std::slice::from_ref(&e)).await;
    let title = format!("{} {}", e.kind, e.operation);
    let frame = c.frame(&op, None).await;
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell(&title, "/traces", frame, pages::event(&e, &findings)))))
}

// -- sessions ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct SessionsQuery {
    agent: Option<String>,
    cursor: Option<String>,
}

async fn sessions(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(q): Query<SessionsQuery>) -> Response {
    let agent = q.agent.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let page = match c.data.sessions(agent, q.cursor.as_deref(), PAGE_SIZE).await {
        Ok(p) => p,
        Err(e) => return data_error(&e),
    };
    let agents = c.data.facets().await.map(|f| f.agents).unwrap_or_default();
    let frame = c.frame(&op, None).await;
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Sessions", "/sessions", frame, pages::sessions(&page, agent, &agents)))))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SessionQuery {
    agent: String,
}

/// The calls a session page shows at most (the latest).
const SESSION_CALLS: u32 = 500;

/// One session: its calls, LLM and MCP together, as a waterfall and a timeline. A session is an
/// agent's: another agent using the same name is another session.
async fn session(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Path(id): Path<String>, Query(q): Query<SessionQuery>) -> Response {
    let filter = TraceFilter { session: Some(id.clone()), agent: Some(q.agent.clone()).filter(|a| !a.is_empty()), ..Default::default() };
    // One more than is shown: whether there were more is known, not guessed from a full page.
    let mut page = match c.data.events(&filter, SESSION_CALLS + 1).await {
        Ok(p) => p,
        Err(e) => return data_error(&e),
    };
    let truncated = page.events.len() > SESSION_CALLS as usize;
    page.events.truncate(SESSION_CALLS as usize);
    if page.events.is_empty() {
        return refusal(StatusCode::NOT_FOUND, "There is no such session (or its calls have left the audit trail).");
    }
    // Without an agent in the link, the session is the agent's of its latest call.
    let agent = if q.agent.is_empty() { page.events[0].agent_name.clone().unwrap_or_default() } else { q.agent.clone() };
    page.events.retain(|e| e.agent_name.as_deref().unwrap_or("") == agent);
    page.events.reverse();
    let findings = tool_findings(&c, &page.events).await;
    let frame = c.frame(&op, None).await;
    let title = format!("Session {id}");
    let view = pages::SessionView { agent: &agent, id: &id, events: &page.events, truncated, findings: &findings };
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell(&title, "/sessions", frame, pages::session(view)))))
}

// -- agents -----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

async fn agents(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(d): Query<Done>) -> Response {
    match c.data.agents().await {
        Ok(list) => {
            let frame = c.frame(&op, flash(d.done.as_deref())).await;
            html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Agents", "/agents", frame, pages::agents(&list, &op.csrf, &c.data.gateway_url())))))
        }
        Err(e) => data_error(&e),
    }
}

async fn agent_page(c: &Console, headers: &HeaderMap, op: &Operator, name: &str, flash_text: Option<String>, new_key: Option<String>) -> Response {
    let recent = c.data.events(&TraceFilter { agent: Some(name.to_string()), ..Default::default() }, 20).await.map(|p| p.events).unwrap_or_default();
    let models = c.data.facets().await.map(|f| f.models).unwrap_or_default();
    match c.data.agent(name).await {
        Ok(Some(a)) => {
            let frame = c.frame(op, flash_text).await;
            html(StatusCode::OK, zoned(headers, || pages::render(pages::shell(name, "/agents", frame, pages::agent(&a, &recent, &models, &op.csrf, new_key)))))
        }
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

/// A form whose fields may repeat (checkboxes): each field's values in order.
struct Fields(Vec<(String, String)>);

impl Fields {
    /// Forms are small; a larger body is refused before it is parsed.
    const MAX_BYTES: usize = 64 * 1024;

    fn parse(body: &[u8]) -> Option<Self> {
        (body.len() <= Self::MAX_BYTES).then(|| Self(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }

    fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The ticked models; none ticked means every model.
    fn models(&self) -> Option<Vec<String>> {
        let models: Vec<String> = self.0.iter().filter(|(k, v)| k == "models" && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string()).collect();
        (!models.is_empty()).then_some(models)
    }
}

fn form_fields(body: &[u8]) -> Result<Fields, Box<Response>> {
    Fields::parse(body).ok_or_else(|| Box::new(refusal(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large.")))
}

/// The new key is shown in this answer (not through a redirect: it must not reach a URL).
async fn create_key(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let f = match form_fields(&body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let op = match c.form_operator(&headers, f.one("csrf")) {
        Ok(op) => op,
        Err(r) => return *r,
    };
    let expires = Some(f.one("expires_in").trim()).filter(|s| !s.is_empty());
    match c.data.create_key(&name, expires, f.models()).await {
        Ok(secret) => agent_page(&c, &headers, &op, &name, Some("Key created.".into()), Some(secret)).await,
        Err(e) => data_error(&e),
    }
}

async fn set_key_models(State(c): State<Console>, headers: HeaderMap, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let f = match form_fields(&body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(r) = c.form_operator(&headers, f.one("csrf")) {
        return *r;
    }
    match c.data.set_key_models(&id, f.models()).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(f.one("agent"))), "key-models"),
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
    a2a_rpm: String,
}

async fn set_limits(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, Form(f): Form<Limits>) -> Response {
    if let Err(r) = c.form_operator(&headers, &f.csrf) {
        return *r;
    }
    let model = Some(f.model.trim()).filter(|s| !s.is_empty());
    match c.data.set_limits(&name, model, f.rpm.trim(), f.tpm.trim(), f.mcp_rpm.trim(), f.a2a_rpm.trim()).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(&name)), "limits"),
        Err(e) => data_error(&e),
    }
}

/// The guardrail actions a form sets: each `g:NAME` field with a value (an empty one leaves the
/// configured action).
fn guardrail_choices(f: &Fields) -> std::collections::BTreeMap<String, String> {
    f.0.iter().filter_map(|(k, v)| k.strip_prefix("g:").filter(|_| !v.is_empty()).map(|name| (name.to_string(), v.clone()))).collect()
}

async fn set_agent_guardrails(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let f = match form_fields(&body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(r) = c.form_operator(&headers, f.one("csrf")) {
        return *r;
    }
    match c.data.set_guardrails("agents", &name, guardrail_choices(&f)).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(&name)), "guardrails"),
        Err(e) => data_error(&e),
    }
}

async fn set_model_guardrails(State(c): State<Console>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let f = match form_fields(&body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(r) = c.form_operator(&headers, f.one("csrf")) {
        return *r;
    }
    match c.data.set_guardrails("models", f.one("model"), guardrail_choices(&f)).await {
        Ok(()) => done("/models", "guardrails"),
        Err(e) => data_error(&e),
    }
}

/// A cache setting from a form: `enabled` and `semantic` (each `on`, `off`, or empty for as
/// configured) and `ttl_secs` (empty for as configured).
fn cache_setting(f: &Fields) -> Result<weir_api::CacheSettingView, Box<Response>> {
    let on_off = |field: &str| match f.one(field) {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    };
    let (enabled, semantic) = (on_off("enabled"), on_off("semantic"));
    let ttl = f.one("ttl_secs").trim();
    let ttl_secs = if ttl.is_empty() {
        None
    } else {
        Some(ttl.parse::<u64>().map_err(|_| Box::new(refusal(StatusCode::BAD_REQUEST, "The TTL is a whole number of seconds.")))?)
    };
    Ok(weir_api::CacheSettingView { enabled, ttl_secs, semantic })
}

/// The fields of a console form, once its operator is checked.
async fn operator_form(c: &Console, headers: &HeaderMap, body: &axum::body::Bytes) -> Result<Fields, Box<Response>> {
    let f = form_fields(body)?;
    c.form_operator(headers, f.one("csrf"))?;
    Ok(f)
}

async fn set_agent_cache(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let setting = match operator_form(&c, &headers, &body).await.and_then(|f| cache_setting(&f)) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match c.data.set_cache("agents", &name, setting).await {
        Ok(()) => done(&format!("/agents/{}", fmt::query_escape(&name)), "cache"),
        Err(e) => data_error(&e),
    }
}

async fn set_model_cache(State(c): State<Console>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (f, setting) = match operator_form(&c, &headers, &body).await.and_then(|f| cache_setting(&f).map(|s| (f, s))) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match c.data.set_cache("models", f.one("model"), setting).await {
        Ok(()) => done("/models", "cache"),
        Err(e) => data_error(&e),
    }
}

async fn purge_agent_cache(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    if let Err(r) = operator_form(&c, &headers, &body).await {
        return *r;
    }
    match c.data.purge_cache(Some(&name), None).await {
        Ok(_) => done(&format!("/agents/{}", fmt::query_escape(&name)), "cache-purged"),
        Err(e) => data_error(&e),
    }
}

async fn purge_model_cache(State(c): State<Console>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let f = match operator_form(&c, &headers, &body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match c.data.purge_cache(None, Some(f.one("model"))).await {
        Ok(_) => done("/models", "cache-purged"),
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
    let history: Vec<weir_api::Approval> = all.into_iter().filter(|a| a.status != weir_api::ApprovalStatus::Pending).collect();
    let frame = Frame { csrf: op.csrf.clone(), pending: Some(pending.len() as i64), flash: flash(d.done.as_deref()), refresh: false };
    html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Approvals", "/approvals", frame, pages::approvals(&pending, &history, &op.csrf)))))
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
        Ok(list) => {
            let frame = c.frame(&op, flash(d.done.as_deref())).await;
            html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Tools", "/tools", frame, pages::tools(&list, &op.csrf)))))
        }
        Err(e) => data_error(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ToolApproval {
    csrf: String,
    hash: String,
}

async fn models(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(d): Query<Done>) -> Response {
    match (c.data.models().await, c.data.guardrails().await, c.data.cache_settings().await) {
        (Ok(list), Ok(guardrails), Ok(cache)) => {
            let frame = c.frame(&op, flash(d.done.as_deref())).await;
            let body = (pages::models(&list), pages::model_guardrails(&list, &guardrails, &op.csrf), pages::model_cache(&list, &cache, &op.csrf));
            html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Models", "/models", frame, body))))
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => data_error(&e),
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

// -- agents called over A2A -------------------------------------------------------------------

async fn a2a_page(State(c): State<Console>, SignedIn(op): SignedIn, headers: HeaderMap, Query(d): Query<Done>) -> Response {
    match c.data.a2a().await {
        Ok(reg) => {
            let frame = c.frame(&op, flash(d.done.as_deref())).await;
            html(StatusCode::OK, zoned(&headers, || pages::render(pages::shell("Agents called", "/a2a", frame, pages::a2a(&reg, &op.csrf)))))
        }
        Err(e) => data_error(&e),
    }
}

async fn register_a2a_agent(State(c): State<Console>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let f = match operator_form(&c, &headers, &body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match c.data.register_a2a_agent(f.one("name").trim(), f.one("url").trim()).await {
        Ok(()) => done("/a2a", "a2a-agent"),
        Err(e) => data_error(&e),
    }
}

async fn remove_a2a_agent(State(c): State<Console>, headers: HeaderMap, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    if let Err(r) = operator_form(&c, &headers, &body).await {
        return *r;
    }
    match c.data.remove_a2a_agent(&name).await {
        Ok(()) => done("/a2a", "a2a-agent-removed"),
        Err(e) => data_error(&e),
    }
}

/// A comma-separated list typed into a form, empty parts left out.
fn names(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The rules set here (not the config file's), in order.
async fn api_rules(c: &Console) -> Result<Vec<weir_api::A2aRuleView>, Response> {
    match c.data.a2a().await {
        Ok(reg) => Ok(reg.rules.into_iter().filter(|r| r.source == "api").collect()),
        Err(e) => Err(data_error(&e)),
    }
}

async fn add_a2a_rule(State(c): State<Console>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let f = match operator_form(&c, &headers, &body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let mut rules = match api_rules(&c).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let skills = names(f.one("skills"));
    rules.push(weir_api::A2aRuleView { number: 0, source: "api".into(), agents: names(f.one("agents")), targets: names(f.one("targets")), skills: (!skills.is_empty()).then_some(skills) });
    match c.data.set_a2a_rules(rules).await {
        Ok(()) => done("/a2a", "a2a-rules"),
        Err(e) => data_error(&e),
    }
}

async fn remove_a2a_rule(State(c): State<Console>, headers: HeaderMap, Path(number): Path<usize>, body: axum::body::Bytes) -> Response {
    if let Err(r) = operator_form(&c, &headers, &body).await {
        return *r;
    }
    let mut rules = match api_rules(&c).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    rules.retain(|r| r.number != number);
    match c.data.set_a2a_rules(rules).await {
        Ok(()) => done("/a2a", "a2a-rules"),
        Err(e) => data_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_backends_and_agents_cannot_bend_form_addresses() {
        let tool = weir_api::ToolView {
            server: "srv".into(),
            tool: "../../agents/prod/limits?".into(),
            name: "srv__../../agents/prod/limits?".into(),
            rules: vec![],
            callable_by: String::new(),
            action: "warn".into(),
            flagged: true,
            withheld: false,
            withheld_because: None,
            findings: vec![],
            changed: false,
            diff: serde_json::Value::Null,
            pinned_hash: "h".into(),
            current_hash: "h".into(),
            approved_hash: None,
            approved_by: None,
            approved_at: None,
            first_seen_at: 0,
            changed_at: None,
            seen_at: 0,
            definition: serde_json::Value::Null,
        };
        let html = pages::render(pages::tools(&[tool], "token"));
        assert!(html.contains(r#"action="/tools/srv/..%2F..%2Fagents%2Fprod%2Flimits%3F/approve""#), "{html}");
        let event = AuditEvent { id: "e1".into(), session_id: Some("s&agent=other".into()), agent_name: Some("a".into()), kind: "llm".into(), ..Default::default() };
        let page = weir_api::EventsPage { events: vec![event], next_cursor: None };
        let facets = weir_api::Facets::default();
        let view = pages::TracesView { filter: &TraceFilter::default(), page: &page, held: &[], facets: &facets, errors: &[], follow: false, gateway_url: "http://gw" };
        let html = pages::render(pages::traces(view));
        assert!(html.contains("/sessions/s%26agent%3Dother?agent=a"), "{html}");
    }

    #[test]
    fn session_names_are_whole_and_a_filter_that_finds_nothing_is_not_a_first_run() {
        let events: Vec<AuditEvent> = ["ticket-1000", "ticket-1001"]
            .iter()
            .map(|s| AuditEvent { id: format!("e-{s}"), session_id: Some(s.to_string()), agent_name: Some("a".into()), kind: "llm".into(), outcome: "ok".into(), ..Default::default() })
            .collect();
        let page = weir_api::EventsPage { events, next_cursor: None };
        let facets = weir_api::Facets::default();
        let view = pages::TracesView { filter: &TraceFilter::default(), page: &page, held: &[], facets: &facets, errors: &[], follow: false, gateway_url: "http://gw" };
        let html = pages::render(pages::traces(view));
        assert!(html.contains(">ticket-1000</a>") && html.contains(">ticket-1001</a>"), "{html}");
        let empty = weir_api::EventsPage::default();
        let filter = TraceFilter { agent: Some("nobody".into()), ..Default::default() };
        let view = pages::TracesView { filter: &filter, page: &empty, held: &[], facets: &facets, errors: &[], follow: false, gateway_url: "http://gw" };
        let html = pages::render(pages::traces(view));
        assert!(html.contains("No calls match these filters.") && !html.contains("No traces yet"), "{html}");
        let view = pages::TracesView { filter: &TraceFilter::default(), page: &empty, held: &[], facets: &facets, errors: &[], follow: false, gateway_url: "http://gw" };
        assert!(pages::render(pages::traces(view)).contains("No traces yet"));
    }

    #[test]
    fn an_approvers_reason_is_a_reason_and_a_failure_says_why() {
        let decision = AuditEvent { kind: "approval".into(), operation: "denied".into(), outcome: "ok".into(), status_code: 200, error_message: Some("not on a Friday".into()), ..Default::default() };
        let html = pages::render(pages::event(&decision, &Default::default()));
        assert!(html.contains("<th>reason</th><td>not on a Friday</td>") && !html.contains("<th>error</th>"), "{html}");
        let limited = AuditEvent { kind: "llm".into(), outcome: "error".into(), status_code: 429, error_type: Some("limit_exceeded".into()), error_message: Some("token budget per day exceeded: …".into()), ..Default::default() };
        assert_eq!(pages::reason(&limited), "budget spent");
        let rated = AuditEvent { error_message: Some("requests per minute exceeded: …".into()), ..limited.clone() };
        assert_eq!(pages::reason(&rated), "rate limited");
        let upstream = AuditEvent { kind: "llm".into(), outcome: "error".into(), status_code: 502, error_type: Some("provider_503".into()), ..Default::default() };
        assert_eq!(pages::reason(&upstream), "upstream 503");
        let rescued = AuditEvent { outcome: "ok".into(), attempts: Some(r#"[{"provider":"a","model":"m","status":503,"error":"provider_503","latency_ms":1.0},{"provider":"b","model":"m","status":200,"error":null,"latency_ms":2.0}]"#.into()), ..Default::default() };
        assert!(pages::rescued_by_failover(&rescued));
        assert!(!pages::rescued_by_failover(&AuditEvent { outcome: "ok".into(), ..Default::default() }));
    }

    #[test]
    fn held_calls_pass_the_filters_they_match_whatever_the_case() {
        let held = weir_api::Approval {
            id: "ap".into(),
            created_at: 0,
            expires_at: 1,
            status: weir_api::ApprovalStatus::Pending,
            agent_id: None,
            agent_name: Some("Support-Bot".into()),
            end_user: None,
            session_id: Some("s1".into()),
            server: "fix".into(),
            tool: "fix__deploy".into(),
            arguments: serde_json::json!({}),
            rule: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        };
        let f = |agent: &str, kind: &str, tool: &str| TraceFilter { agent: Some(agent.into()), kind: Some(kind.into()), tool: Some(tool.into()), ..Default::default() };
        assert!(held_matches(&held, &f("support-bot", "", "FIX__DEPLOY")));
        assert!(held_matches(&held, &f("", "mcp", "")));
        assert!(!held_matches(&held, &f("", "llm", "")), "held calls are tool calls");
        assert!(!held_matches(&held, &f("other", "", "")));
        assert!(!held_matches(&held, &TraceFilter { outcome: Some("error".into()), ..Default::default() }), "a held call has no outcome yet");
    }

    #[test]
    fn times_are_absolute_or_a_while_ago_and_anything_else_is_marked() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_when("1700000000000", now).unwrap(), "1700000000000");
        assert_eq!(parse_when("2026-11-25T12:00:00Z", now).unwrap(), "2026-11-25T12:00:00Z");
        assert_eq!(parse_when("15m", now).unwrap(), (now - 15 * 60_000).to_string());
        assert_eq!(parse_when("2d", now).unwrap(), (now - 2 * 86_400_000).to_string());
        for bad in ["yesterday", "5x", "m", "", "é", "-3h", "99999999999d"] {
            assert!(parse_when(bad, now).is_err(), "{bad}");
        }
        let (_, errors) = checked_filter(&TraceFilter { since: Some("last tuesday".into()), status: Some("abc".into()), ..Default::default() }, now);
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["since", "status"]);
    }

    #[test]
    fn repeated_form_fields_are_all_kept() {
        let f = Fields::parse(b"csrf=t&models=gpt-x&models=claude-y&models=&agent=a%26b").unwrap();
        assert_eq!(f.one("csrf"), "t");
        assert_eq!(f.one("agent"), "a&b");
        assert_eq!(f.models(), Some(vec!["gpt-x".to_string(), "claude-y".to_string()]));
        assert_eq!(Fields::parse(b"csrf=t").unwrap().models(), None, "none ticked: every model");
        assert!(Fields::parse(&vec![b'a'; Fields::MAX_BYTES + 1]).is_none());
    }

    #[test]
    fn the_cache_form_sets_the_semantic_cache_like_the_cache_itself() {
        let setting = |body: &[u8]| cache_setting(&Fields::parse(body).unwrap()).map_err(|_| ()).unwrap();
        assert_eq!(setting(b"enabled=on&ttl_secs=60&semantic=on"), weir_api::CacheSettingView { enabled: Some(true), ttl_secs: Some(60), semantic: Some(true) });
        assert_eq!(setting(b"enabled=&ttl_secs=&semantic=off"), weir_api::CacheSettingView { enabled: None, ttl_secs: None, semantic: Some(false) });
        assert_eq!(setting(b"enabled=&ttl_secs=&semantic="), weir_api::CacheSettingView::default(), "as configured: nothing of its own");
    }
}
