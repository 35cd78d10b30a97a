//! The console's pages: Leptos views rendered to HTML on the server. Links and forms only —
//! nothing needs JavaScript; charts are SVG drawn here ([`crate::charts`]).

mod a2a;
mod agents;
mod approvals;
mod overview;
mod sessions;
mod tools;
mod traces;

pub use a2a::a2a;
pub use agents::{agent, agents};
pub use approvals::approvals;
pub use overview::{model_cache, model_guardrails, models, overview};
pub use sessions::{session, sessions, SessionView};
pub use tools::tools;
pub use traces::{event, traces, FieldError, ToolFindings, TracesView};

use leptos::prelude::*;
use weir_api::{AuditEvent, BudgetWindow};

use crate::charts;
use crate::fmt;

/// A whole document.
pub fn render(view: impl IntoView + 'static) -> String {
    let owner = Owner::new();
    owner.with(|| format!("<!DOCTYPE html>{}", view.into_view().to_html()))
}

/// A path segment or query value, percent-encoded: names come from agents and backends.
fn q(v: &str) -> String {
    fmt::query_escape(v)
}

fn head(title: &str, refresh: bool) -> impl IntoView {
    let title = format!("{title} · Weir");
    view! {
        <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            {refresh.then(|| view! { <meta http-equiv="refresh" content="5"/> })}
            <title>{title}</title>
            <link rel="stylesheet" href="/console.css"/>
        </head>
    }
}

/// What every signed-in page carries around its content.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub csrf: String,
    /// Tool calls waiting for a person (shown in the navigation); `None` when unknown.
    pub pending: Option<i64>,
    pub flash: Option<String>,
    /// Reload every 5 seconds (following traces).
    pub refresh: bool,
}

/// The signed-in frame: navigation, sign-out, and the page's own content.
pub fn shell(title: &str, active: &'static str, frame: Frame, body: impl IntoView + 'static) -> impl IntoView {
    let nav = [("Overview", "/"), ("Traces", "/traces"), ("Sessions", "/sessions"), ("Agents", "/agents"), ("Approvals", "/approvals"), ("Tools", "/tools"), ("Agents called", "/a2a"), ("Models", "/models")];
    let pending = frame.pending.unwrap_or(0);
    let links = nav
        .into_iter()
        .map(|(label, href)| {
            let class = if href == active { "active" } else { "" };
            let badge = (href == "/approvals" && pending > 0).then(|| {
                let title = format!("{pending} tool call{} waiting for a person", if pending == 1 { "" } else { "s" });
                view! { " " <span class="badge" title=title>{fmt::int(pending)}</span> }
            });
            view! { <a href=href class=class>{label}{badge}</a> }
        })
        .collect_view();
    let heading = title.to_string();
    let zone_form = zone_form(&frame.csrf);
    let csrf = frame.csrf.clone();
    view! {
        <html lang="en">
            {head(title, frame.refresh)}
            <body>
                <header>
                    <a class="brand" href="/">"Weir"</a>
                    <nav>{links}</nav>
                    {zone_form}
                    <form method="post" action="/sign-out" class="signout">
                        <input type="hidden" name="csrf" value=csrf/>
                        <button type="submit">"Sign out"</button>
                    </form>
                </header>
                <main>
                    <h1>{heading}</h1>
                    {frame.flash.map(|f| view! { <p class="flash">{f}</p> })}
                    {body}
                </main>
            </body>
        </html>
    }
}

/// The operator's time zone, as an offset from UTC (kept in a cookie of this browser).
fn zone_form(csrf: &str) -> impl IntoView {
    let current = fmt::offset();
    let options = (-12..=14)
        .map(|h| {
            let minutes = h * 60;
            let label = fmt::zone_name(minutes);
            view! { <option value=minutes.to_string() selected=minutes == current>{label}</option> }
        })
        .collect_view();
    let csrf = csrf.to_string();
    view! {
        <form method="post" action="/settings/time-zone" class="zone">
            <input type="hidden" name="csrf" value=csrf/>
            <select name="offset" aria-label="time zone">{options}</select>
            <button type="submit">"Set"</button>
        </form>
    }
}

pub fn refused(message: &str) -> impl IntoView {
    let message = message.to_string();
    view! {
        <html lang="en">
            {head("Refused", false)}
            <body class="signin">
                <main>
                    <h1>"Refused"</h1>
                    <p class="error">{message}</p>
                    <p><a href="/">"Back to the console"</a></p>
                </main>
            </body>
        </html>
    }
}

pub fn sign_in(error: Option<&str>) -> impl IntoView {
    let error = error.map(str::to_string);
    view! {
        <html lang="en">
            {head("Sign in", false)}
            <body class="signin">
                <main>
                    <h1>"Weir"</h1>
                    <p>"Sign in with the admin token (" <code>"WEIR_ADMIN_TOKEN"</code> ", or the one Weir printed at start)."</p>
                    {error.map(|e| view! { <p class="error">{e}</p> })}
                    <form method="post" action="/sign-in">
                        <label for="token">"Admin token"</label>
                        <input type="password" id="token" name="token" autocomplete="current-password" required=true autofocus=true/>
                        <button type="submit">"Sign in"</button>
                    </form>
                </main>
            </body>
        </html>
    }
}

/// Why a call failed, in a few words, from what the audit trail recorded.
pub fn reason(e: &AuditEvent) -> String {
    if e.outcome == "ok" {
        return String::new();
    }
    if e.outcome == "cancelled" {
        return "client went away".into();
    }
    let ty = e.error_type.as_deref().unwrap_or("");
    let text = match ty {
        "limit_exceeded" => {
            let m = e.error_message.as_deref().unwrap_or("");
            if m.contains("budget") {
                "budget spent"
            } else {
                "rate limited"
            }
        }
        "unauthorized" => "bad or missing key",
        "forbidden" => "not allowed",
        "denied_by_policy" => "policy denied",
        "approval_denied" => "denied by a person",
        "approval_expired" => "approval expired",
        "approval_unavailable" => "approval unavailable",
        "tool_withheld" => "tool withheld (flagged)",
        "unknown_tool" | "unknown_resource" | "unknown_name" => "unknown tool or resource",
        "not_found" => "unknown model or route",
        "invalid_request" | "invalid_params" | "invalid_cursor" => "bad request",
        "payload_too_large" => "request too large",
        "request_timeout" => "client too slow",
        "timeout" | "backend_timeout" => "timeout",
        "provider_unreachable" => "provider unreachable",
        "backend_unavailable" => "backend unavailable",
        "bad_upstream_response" => "bad upstream answer",
        "upstream_too_large" | "backend_message_too_large" => "upstream answer too large",
        "unavailable" => "unavailable",
        "tool_error" => "tool reported an error",
        "backend_error" => "backend error",
        "method_not_found" => "unknown method",
        "key_revoked" => "key revoked",
        t if t.starts_with("provider_") => return format!("upstream {}", &t["provider_".len()..]),
        "" if e.status_code >= 500 => return format!("error {}", e.status_code),
        "" => "error",
        other => return other.replace('_', " "),
    };
    text.to_string()
}

/// One target a call tried: `(provider, model, status, error, ms)`.
pub type Attempt = (String, String, Option<i64>, Option<String>, Option<f64>);

/// The targets a call tried, from its `attempts` (JSON list).
pub fn attempts(e: &AuditEvent) -> Vec<Attempt> {
    let Some(list) = e.attempts.as_deref().and_then(|a| serde_json::from_str::<Vec<serde_json::Value>>(a).ok()) else { return Vec::new() };
    list.iter()
        .map(|a| {
            let text = |k: &str| a.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
            (
                text("provider").unwrap_or_default(),
                text("model").unwrap_or_default(),
                a.get("status").and_then(serde_json::Value::as_i64),
                text("error").or_else(|| text("error_type")),
                a.get("latency_ms").and_then(serde_json::Value::as_f64),
            )
        })
        .collect()
}

/// A call a later target answered after an earlier one failed.
pub fn rescued_by_failover(e: &AuditEvent) -> bool {
    e.outcome == "ok" && attempts(e).len() > 1
}

/// One row's "what": the model for LLM calls, the tool or method for MCP, the decision for
/// approvals.
fn what(e: &AuditEvent) -> String {
    let tool = e.tool_name.clone().unwrap_or_default();
    let op = &e.operation;
    let policy = e.policy_decision.as_deref().unwrap_or("");
    match e.kind.as_str() {
        "llm" => format!("{op} {}", e.model_requested.as_deref().unwrap_or("")),
        "approval" => format!("approval {op}: {tool}"),
        // An agent call: the agent called, the method, the task's state, a denial.
        "a2a" => {
            let target = e.a2a_target.as_deref().unwrap_or("");
            let state = e.a2a_task_state.as_deref().map(|s| format!(" → {s}")).unwrap_or_default();
            let skill = if tool.is_empty() { String::new() } else { format!(" ({tool})") };
            let denied = if policy == "deny" { " [deny]" } else { "" };
            format!("{target}: {op}{skill}{state}{denied}")
        }
        // A tool call's policy decision, when it was not a plain allow.
        _ if !tool.is_empty() && !policy.is_empty() && policy != "allow" => format!("{op} {tool} [{policy}]"),
        _ if !tool.is_empty() => format!("{op} {tool}"),
        _ => op.clone(),
    }
}

fn tokens(e: &AuditEvent) -> String {
    match (e.input_tokens, e.output_tokens) {
        (None, None) => String::new(),
        (i, o) => format!("{} in / {} out", fmt::int(i.unwrap_or(0)), fmt::int(o.unwrap_or(0))),
    }
}

/// A session's name as a link to its page (whole: names differ at their ends).
fn session_link(agent: Option<&str>, session: &str) -> impl IntoView {
    let href = format!("/sessions/{}?agent={}", q(session), q(agent.unwrap_or("")));
    let title = session.to_string();
    let text = session.to_string();
    view! { <a href=href class="session" title=title>{text}</a> }
}

/// The status cell: code and outcome, why it failed, and a mark when failover rescued it.
fn status_cell(e: &AuditEvent) -> impl IntoView {
    let class = if e.outcome == "ok" { "ok" } else { "bad" };
    let why = reason(e);
    let rescued = rescued_by_failover(e).then(|| {
        let n = attempts(e).len();
        let title = format!("answered by target {n} after {} failed", n - 1);
        view! { " " <span class="failover" title=title>"↻ failover"</span> }
    });
    view! {
        <td class=class>{e.status_code.to_string()} " " {e.outcome.clone()} {rescued}</td>
        <td class="reason">{why}</td>
    }
}

fn event_rows(events: &[AuditEvent]) -> impl IntoView {
    events
        .iter()
        .map(|e| {
            let href = format!("/events/{}", q(&e.id));
            let session = e.session_id.as_deref().filter(|s| !s.is_empty()).map(|s| session_link(e.agent_name.as_deref(), s));
            view! {
                <tr>
                    <td><a href=href>{fmt::time(e.ts)}</a></td>
                    <td>{e.kind.clone()}</td>
                    <td>{e.agent_name.clone().unwrap_or_default()}</td>
                    <td>{what(e)}</td>
                    {status_cell(e)}
                    <td class="num">{fmt::ms(Some(e.latency_ms))}</td>
                    <td class="num">{tokens(e)}</td>
                    <td class="num">{fmt::cost(e.cost_usd)}</td>
                    <td>{session}</td>
                </tr>
            }
        })
        .collect_view()
}

fn events_table(events: &[AuditEvent]) -> impl IntoView {
    view! {
        <table class="events">
            <thead><tr><th>{format!("time ({})", fmt::zone_label())}</th><th>"kind"</th><th>"agent"</th><th>"what"</th><th>"status"</th><th>"why"</th><th>"latency"</th><th>"tokens"</th><th>"cost"</th><th>"session"</th></tr></thead>
            <tbody>{event_rows(events)}</tbody>
        </table>
    }
}

/// A budget as a meter (SVG: the console's CSP allows no inline style), with what it says.
fn budget_meter(b: &BudgetWindow) -> impl IntoView {
    let (u, l) = if b.kind == "cost_usd" { (fmt::cost(Some(b.used)), fmt::cost(Some(b.limit))) } else { (fmt::int(b.used as i64), fmt::int(b.limit as i64)) };
    let model = b.model.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
    let label = format!("{} {}{model}: {u} of {l}", b.period, if b.kind == "cost_usd" { "cost" } else { "tokens" });
    let name = format!("{} {}{model}", b.period, if b.kind == "cost_usd" { "cost" } else { "tokens" });
    let svg = charts::meter(if b.limit > 0.0 { b.used / b.limit } else { 1.0 }, &name);
    view! {
        <div class="budget">
            <span>{label}</span>
            <div class="meter-wrap" inner_html=svg></div>
        </div>
    }
}

/// "blocked: budget spent until 14:00 UTC" when a budget of the agent is spent — used up, or
/// with less left than the agent's latest call needed (`latest`: its latest LLM call, refused by
/// that budget).
fn blocked_until(budgets: &[BudgetWindow], latest: Option<&AuditEvent>) -> Option<String> {
    let refused_by = latest.filter(|e| e.error_type.as_deref() == Some("limit_exceeded")).and_then(|e| e.error_message.as_deref()).and_then(|m| {
        let kind = if m.starts_with("token budget per ") { "tokens" } else if m.starts_with("cost budget per ") { "cost_usd" } else { return None };
        let period = m.split_whitespace().nth(3)?;
        let model = m.split_once(" for model ").map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_string());
        Some((kind, period.to_string(), model))
    });
    let spent: Vec<&BudgetWindow> = budgets
        .iter()
        .filter(|b| b.spent() || refused_by.as_ref().is_some_and(|(kind, period, model)| b.kind == *kind && b.period == *period && b.model == *model))
        .collect();
    if spent.is_empty() {
        return None;
    }
    // Blocked until the last of the spent budgets resets.
    let until = spent.iter().map(|b| b.resets_at_ms).try_fold(0i64, |acc, r| r.map(|r| acc.max(r)));
    let model = spent.iter().find_map(|b| b.model.as_deref()).map(|m| format!(" for {m}")).unwrap_or_default();
    Some(match until {
        Some(t) => format!("blocked{model}: budget spent until {} {}", fmt::clock(t), fmt::zone_label()),
        None => format!("blocked{model}: a lifetime budget is spent"),
    })
}

/// A form setting one action per guardrail (`g:NAME` fields; empty: as configured), with a
/// `model` field first when `models` is given.
pub fn guardrail_form(action: String, list: &[weir_api::GuardrailView], current: &std::collections::BTreeMap<String, String>, csrf: &str, models: Option<&[String]>) -> impl IntoView {
    let rows = list
        .iter()
        .map(|g| {
            let chosen = current.get(&g.name).cloned().unwrap_or_default();
            let choices = ["", "off", "flag", "mask", "block"]
                .into_iter()
                .filter(|a| !(g.detector == "injection" && *a == "mask"))
                .map(|a| {
                    let label = if a.is_empty() { format!("as configured ({})", g.action) } else { a.to_string() };
                    view! { <option value=a selected=chosen == a>{label}</option> }
                })
                .collect_view();
            let field = format!("g:{}", g.name);
            view! { <tr><td>{g.name.clone()}</td><td>{g.detector.clone()}</td><td>{g.apply_to.join(", ").replace('_', " ")}</td><td><select name=field>{choices}</select></td></tr> }
        })
        .collect_view();
    let model_select = models.map(|ms| {
        let options = ms.iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view();
        view! { <label>"Model " <select name="model">{options}</select></label> }
    });
    view! {
        <form method="post" action=action class="guardrails">
            <input type="hidden" name="csrf" value=csrf.to_string()/>
            {model_select}
            <table>
                <thead><tr><th>"guardrail"</th><th>"detector"</th><th>"runs on"</th><th>"action"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <button type="submit">"Set guardrail actions"</button>
        </form>
    }
}
