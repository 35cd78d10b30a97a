//! Traces: the audit trail's calls, filtered, and one call with its conversation.

use leptos::prelude::*;
use weir_api::{Approval, AuditEvent, EventsPage, Facets};

use super::{attempts, events_table, q, reason, session_link, status_cell, tokens, what};
use crate::data::TraceFilter;
use crate::{conversation, fmt};

/// A filter field the console could not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// What the traces page shows.
pub struct TracesView<'a> {
    pub filter: &'a TraceFilter,
    pub page: &'a EventsPage,
    /// Calls held for a person now that the filters let through (first page only).
    pub held: &'a [Approval],
    pub facets: &'a Facets,
    pub errors: &'a [FieldError],
    pub follow: bool,
    pub gateway_url: &'a str,
}

fn filter_input(label: &'static str, name: &'static str, value: Option<String>, list: Option<&'static str>, errors: &[FieldError]) -> impl IntoView {
    let error = errors.iter().find(|e| e.field == name).map(|e| e.message.clone());
    let invalid = error.is_some();
    let id = format!("f-{name}");
    let error_id = format!("f-{name}-error");
    let described = invalid.then(|| error_id.clone());
    let label_for = id.clone();
    let class = if invalid { "invalid" } else { "" };
    view! {
        <label class=class for=label_for>{label}
            <input type="text" id=id name=name value=value.unwrap_or_default() list=list aria-invalid=invalid.then_some("true") aria-describedby=described/>
            {error.map(|m| view! { <span class="field-error" id=error_id>{m}</span> })}
        </label>
    }
}

fn select_input(label: &'static str, name: &'static str, value: Option<String>, options: &'static [&'static str]) -> impl IntoView {
    let current = value.unwrap_or_default().to_ascii_lowercase();
    let opts = options.iter().map(|o| view! { <option value=*o selected=current == *o>{*o}</option> }).collect_view();
    view! {
        <label>{label}
            <select name=name><option value="">"any"</option>{opts}</select>
        </label>
    }
}

fn datalist(id: &'static str, names: &[String]) -> impl IntoView {
    let opts = names.iter().map(|n| view! { <option value=n.clone()></option> }).collect_view();
    view! { <datalist id=id>{opts}</datalist> }
}

/// Held calls as rows on top of the traces: they are calls too, only not finished.
fn held_rows(held: &[Approval]) -> impl IntoView {
    let rows = held
        .iter()
        .map(|a| {
            let session = a.session_id.as_deref().filter(|s| !s.is_empty()).map(|s| session_link(a.agent_name.as_deref(), s));
            let tool = format!("tools/call {}", a.tool);
            view! {
                <tr class="held">
                    <td><a href="/approvals">{fmt::time(a.created_at)}</a></td>
                    <td>"mcp"</td>
                    <td>{a.agent_name.clone().unwrap_or_default()}</td>
                    <td>{tool}</td>
                    <td class="wait">"held"</td>
                    <td class="reason"><a href="/approvals">"waiting for approval"</a></td>
                    <td class="num"></td><td class="num"></td><td class="num"></td>
                    <td>{session}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="events held">
            <caption>"Waiting for a person now"</caption>
            <tbody>{rows}</tbody>
        </table>
    }
}

pub fn traces(v: TracesView<'_>) -> impl IntoView {
    let f = v.filter.clone();
    let mut next = v.filter.pairs().into_iter().map(|(k, v)| format!("{k}={}", fmt::query_escape(v))).collect::<Vec<_>>();
    let filtered = !next.is_empty();
    let follow_href = {
        let mut q = next.clone();
        if !v.follow {
            q.push("follow=1".into());
        }
        format!("/traces?{}", q.join("&"))
    };
    let next_href = v.page.next_cursor.as_ref().map(|c| {
        next.push(format!("cursor={}", fmt::query_escape(c)));
        format!("/traces?{}", next.join("&"))
    });
    let empty = v.page.events.is_empty() && v.held.is_empty();
    let hint = if !v.errors.is_empty() {
        "Nothing is shown until the marked filter is fixed.".to_string()
    } else if filtered {
        "No calls match these filters.".to_string()
    } else {
        format!("No traces yet — point an agent's base URL at {}/v1 (LLM), its MCP client at {}/mcp, or its A2A client at {}/a2a/{{agent}}.", v.gateway_url, v.gateway_url, v.gateway_url)
    };
    let errors = v.errors;
    view! {
        <form method="get" action="/traces" class="filters">
            {filter_input("agent", "agent", f.agent, Some("agents"), errors)}
            {filter_input("user", "user", f.user, None, errors)}
            {filter_input("session", "session", f.session, None, errors)}
            {select_input("kind", "kind", f.kind, &["llm", "mcp", "a2a", "approval"])}
            {filter_input("model", "model", f.model, Some("models"), errors)}
            {filter_input("server", "server", f.server, Some("servers"), errors)}
            {filter_input("tool", "tool", f.tool, Some("tools"), errors)}
            {filter_input("target", "A2A agent", f.target, None, errors)}
            {select_input("outcome", "outcome", f.outcome, &["ok", "error", "cancelled"])}
            {select_input("guardrail", "guardrail", f.guardrail, &["any", "flag", "mask", "block"])}
            {filter_input("status", "status", f.status, None, errors)}
            {filter_input("since", "since", f.since, None, errors)}
            {filter_input("until", "until", f.until, None, errors)}
            <button type="submit">"Filter"</button>
            <a href="/traces">"Clear"</a>
            <a href=follow_href class="follow">{if v.follow { "Stop following" } else { "Follow" }}</a>
        </form>
        {datalist("agents", &v.facets.agents)}
        {datalist("models", &v.facets.models)}
        {datalist("servers", &v.facets.servers)}
        {datalist("tools", &v.facets.tools)}
        <p class="muted">"Names match whatever their case. Times: 2026-11-25T12:00:00Z, unix milliseconds, or a while ago (15m, 2h, 7d)."</p>
        {(!v.held.is_empty()).then(|| held_rows(v.held))}
        {if empty {
            view! { <p class="empty">{hint}{filtered.then(|| view! { " " <a href="/traces">"Clear the filters"</a> })}</p> }.into_any()
        } else {
            events_table(&v.page.events).into_any()
        }}
        {next_href.map(|h| view! { <p><a href=h class="next">"Older →"</a></p> })}
    }
}

/// Findings (scan findings, or a change from the pin) of a tool, by its prefixed name.
pub type ToolFindings = std::collections::HashMap<String, Vec<String>>;

fn findings_list(items: &[String]) -> impl IntoView {
    let lis = items.iter().map(|f| view! { <li>{f.clone()}</li> }).collect_view();
    view! { <ul class="findings">{lis}</ul> }
}

/// A body as captured, pretty-printed when it is JSON.
fn raw_body(label: &'static str, body: &str) -> impl IntoView {
    let pretty = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| serde_json::to_string_pretty(&v).ok()).unwrap_or_else(|| body.to_string());
    view! { <details class="raw"><summary>{label}</summary><pre>{pretty}</pre></details> }
}

/// A call's conversation, when its bodies were captured; the raw bodies a click away.
fn bodies(e: &AuditEvent) -> impl IntoView {
    let (req, resp) = (e.request_body.as_deref(), e.response_body.as_deref());
    let convo = match e.kind.as_str() {
        "llm" => conversation::from_llm(&e.operation, e.streamed, req, resp),
        "mcp" | "approval" => conversation::from_mcp(&e.operation, e.tool_name.as_deref(), req, resp),
        _ => None,
    };
    let any = req.is_some() || resp.is_some();
    view! {
        {convo.map(|c| view! { <section><h2>"Conversation"</h2>{conversation::view(&c)}</section> })}
        {any.then(|| view! {
            <section class="raw-bodies">
                {req.map(|b| raw_body("Request body as recorded", b))}
                {resp.map(|b| raw_body("Response body as recorded", b))}
            </section>
        })}
        {(!any).then(|| view! { <p class="muted">"Bodies were not captured for this call (audit.capture_bodies, or the agent's setting)."</p> })}
    }
}

/// An A2A call's task and the state it was last reported in.
fn a2a_task(e: &AuditEvent) -> String {
    match (&e.a2a_task_id, &e.a2a_task_state) {
        (Some(t), Some(s)) => format!("{t} ({s})"),
        (Some(t), None) => t.clone(),
        (None, Some(s)) => format!("({s})"),
        (None, None) => String::new(),
    }
}

pub fn event(e: &AuditEvent, findings: &ToolFindings) -> impl IntoView {
    let decision = e.kind == "approval";
    let why = reason(e);
    let policy = [e.policy_decision.clone().unwrap_or_default(), e.policy_rule.map(|r| r.to_string()).unwrap_or_default()].iter().filter(|x| !x.is_empty()).cloned().collect::<Vec<_>>().join(" rule ");
    let error_text = [e.error_type.clone().unwrap_or_default(), e.error_message.clone().unwrap_or_default()].iter().filter(|x| !x.is_empty()).cloned().collect::<Vec<_>>().join(": ");
    let fields: Vec<(&str, String)> = [
        ("time", format!("{} ({})", fmt::time(e.ts), fmt::zone_label())),
        ("kind", e.kind.clone()),
        ("operation", e.operation.clone()),
        ("agent", e.agent_name.clone().unwrap_or_default()),
        ("end user", e.end_user.clone().unwrap_or_default()),
        ("model asked", e.model_requested.clone().unwrap_or_default()),
        ("model served", e.model_served.clone().unwrap_or_default()),
        ("provider", e.provider.clone().unwrap_or_default()),
        ("translated", translated(e)),
        ("MCP server", e.mcp_server.clone().unwrap_or_default()),
        ("A2A agent called", e.a2a_target.clone().unwrap_or_default()),
        (if e.kind == "a2a" { "skill" } else { "tool" }, e.tool_name.clone().unwrap_or_default()),
        ("A2A task", a2a_task(e)),
        ("A2A context", e.a2a_context_id.clone().unwrap_or_default()),
        ("policy", policy),
        ("approval", e.approval_id.clone().unwrap_or_default()),
        ("decided by", e.decided_by.clone().unwrap_or_default()),
        // A decision's message is the approver's reason, not an error.
        (if decision { "reason" } else { "why it failed" }, if decision { e.error_message.clone().unwrap_or_default() } else { why }),
        ("status", format!("{} {}", e.status_code, e.outcome)),
        ("error", if decision { String::new() } else { error_text }),
        ("latency", fmt::ms(Some(e.latency_ms))),
        ("waiting for a person", fmt::ms(e.approval_wait_ms)),
        ("streamed", if e.streamed { "yes (the answer below is the text it assembled to)".to_string() } else { String::new() }),
        ("time to first token", fmt::ms(e.ttft_ms)),
        ("tokens", tokens(e)),
        ("cost", fmt::cost(e.cost_usd)),
        ("cache", cache_text(e)),
        ("MCP session", e.mcp_session_id.clone().unwrap_or_default()),
        ("trace id", e.trace_id.clone().unwrap_or_default()),
        ("request id", e.request_id.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .collect();
    let rows = fields.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view();
    // A hit links to the call whose answer it served.
    let origin = e.cache_origin.as_deref().filter(|o| !o.is_empty()).map(|o| {
        let href = format!("/traces?request_id={}", super::q(o));
        view! { <tr><th>"served from"</th><td><a href=href>{format!("request {o}")}</a></td></tr> }
    });
    let session = e.session_id.as_deref().filter(|s| !s.is_empty()).map(|s| {
        view! { <tr><th>"session"</th><td>{session_link(e.agent_name.as_deref(), s)}</td></tr> }
    });
    let tried = attempts(e);
    let attempts_view = (tried.len() > 1).then(|| {
        let rows = tried
            .iter()
            .enumerate()
            .map(|(i, (provider, model, status, error, ms))| {
                let outcome = match (status, error) {
                    (_, Some(err)) => err.clone(),
                    (Some(s), None) => s.to_string(),
                    (None, None) => String::new(),
                };
                view! { <tr><td class="num">{i + 1}</td><td>{provider.clone()}</td><td>{model.clone()}</td><td>{outcome}</td><td class="num">{fmt::ms(*ms)}</td></tr> }
            })
            .collect_view();
        view! {
            <section>
                <h2>"Attempts (failover)"</h2>
                <table><thead><tr><th>"#"</th><th>"provider"</th><th>"model"</th><th>"answer"</th><th>"latency"</th></tr></thead><tbody>{rows}</tbody></table>
            </section>
        }
    });
    let own = e.tool_name.as_ref().and_then(|t| findings.get(t)).filter(|f| !f.is_empty()).cloned().map(|f| {
        view! {
            <section>
                <h2>"What scanning found in this tool"</h2>
                {findings_list(&f)}
                <p><a href="/tools">"Tools →"</a></p>
            </section>
        }
    });
    let traces = format!("/traces?agent={}", q(e.agent_name.as_deref().unwrap_or("")));
    view! {
        <table class="fields"><tbody>{rows}{origin}{session}</tbody></table>
        {e.agent_name.is_some().then(|| view! { <p><a href=traces>"This agent's calls →"</a></p> })}
        {guardrails(e)}
        {own}
        {attempts_view}
        {bodies(e)}
    }
}

/// What guardrails did to the call: each that fired, where, what it did and what it found
/// (counted by type; the values are never recorded).
fn guardrails(e: &AuditEvent) -> Option<impl IntoView> {
    let verdicts: Vec<weir_api::GuardrailVerdict> = serde_json::from_str(e.guardrails.as_deref()?).ok()?;
    let rows = verdicts
        .into_iter()
        .map(|v| {
            let found = v.counts.iter().map(|(ty, n)| format!("{ty} ×{n}")).collect::<Vec<_>>().join(", ");
            let href = format!("/traces?guardrail={}", q(&v.guardrail));
            let class = format!("guard-{}", v.action);
            view! { <tr><td><a href=href>{v.guardrail}</a></td><td>{v.direction.replace('_', " ")}</td><td class=class>{v.action}</td><td>{found}</td></tr> }
        })
        .collect_view();
    Some(view! {
        <section class="guardrails">
            <h2>"Guardrails"</h2>
            <table><thead><tr><th>"guardrail"</th><th>"on"</th><th>"action"</th><th>"found"</th></tr></thead><tbody>{rows}</tbody></table>
        </section>
    })
}

/// Re-exported for the session page: a timeline row's "what".
pub(super) fn describe(e: &AuditEvent) -> String {
    what(e)
}

pub(super) fn status(e: &AuditEvent) -> impl IntoView {
    status_cell(e)
}

/// What the response cache did for the call, and what a hit saved.
fn cache_text(e: &AuditEvent) -> String {
    match e.cache.as_deref() {
        Some(hit @ ("hit" | "semantic_hit")) => {
            let how = if hit == "hit" { "hit" } else { "semantic hit" };
            let similarity = e.cache_similarity.map(|s| format!(" (similarity {s:.3})")).unwrap_or_default();
            let saved = format!("{} tokens, {}", fmt::int(e.cache_saved_tokens.unwrap_or(0)), fmt::cost(e.cache_saved_cost_usd));
            format!("{how}{similarity}: answered from the cache, saving {saved}")
        }
        Some("miss") => "miss: the answer was stored for calls that repeat this one".into(),
        Some("bypass") => "skipped (the client's Cache-Control)".into(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// "chat → messages" when the call reached a provider of the other protocol.
fn translated(e: &AuditEvent) -> String {
    match e.upstream_operation.as_deref() {
        Some(up) if up != e.operation => format!("{} → {up}", e.operation),
        _ => String::new(),
    }
}
