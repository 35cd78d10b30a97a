//! Sessions: an agent's calls that share `x-weir-session` (or one MCP session), listed, and one
//! as a waterfall and a timeline.

use leptos::prelude::*;
use weir_api::{AuditEvent, Session, SessionsPage};

use super::traces::{describe, status, ToolFindings};
use super::{q, session_link, tokens};
use crate::charts::{self, Span, SpanKind};
use crate::fmt;

fn duration(s: &Session) -> String {
    fmt::ms(Some((s.end_ts - s.first_ts).max(0) as f64))
}

pub fn sessions(page: &SessionsPage, agent: Option<&str>, agents: &[String]) -> impl IntoView {
    let rows = page
        .sessions
        .iter()
        .map(|s| {
            let agent_href = format!("/agents/{}", q(&s.agent));
            let errors_class = if s.errors > 0 { "num bad" } else { "num" };
            view! {
                <tr>
                    <td>{session_link(Some(&s.agent), &s.session_id)}</td>
                    <td><a href=agent_href>{s.agent.clone()}</a></td>
                    <td data-label="started">{fmt::time(s.first_ts)}</td>
                    <td class="num" data-label="duration">{duration(s)}</td>
                    <td class="num" data-label="LLM calls">{fmt::int(s.llm_calls)}</td>
                    <td class="num" data-label="MCP calls">{fmt::int(s.mcp_calls)}</td>
                    <td class="num" data-label="A2A calls">{fmt::int(s.a2a_calls)}</td>
                    <td class="num" data-label="tokens">{fmt::int(s.input_tokens + s.output_tokens)}</td>
                    <td class="num" data-label="cost">{fmt::cost(Some(s.cost_usd))}</td>
                    <td class=errors_class data-label="errors">{fmt::int(s.errors)}</td>
                </tr>
            }
        })
        .collect_view();
    let current = agent.unwrap_or("").to_string();
    let options = agents.iter().map(|a| view! { <option value=a.clone() selected=a.eq_ignore_ascii_case(&current)>{a.clone()}</option> }).collect_view();
    let next_href = page.next_cursor.as_ref().map(|c| format!("/sessions?agent={}&cursor={}", q(&current), q(c)));
    let empty = page.sessions.is_empty();
    view! {
        <form method="get" action="/sessions" class="filters">
            <label>"agent" <select name="agent"><option value="">"every agent"</option>{options}</select></label>
            <button type="submit">"Show"</button>
        </form>
        {if empty {
            view! { <p class="empty">"No sessions yet. Calls that send the header x-weir-session: <name> (and MCP sessions, and A2A contexts) are grouped here, LLM, MCP and A2A calls together."</p> }.into_any()
        } else {
            view! {
                <table class="sessions">
                    <thead><tr><th>"session"</th><th>"agent"</th><th>{format!("started ({})", fmt::zone_label())}</th><th>"duration"</th><th>"LLM calls"</th><th>"MCP calls"</th><th>"A2A calls"</th><th>"tokens"</th><th>"cost"</th><th>"errors"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }.into_any()
        }}
        {next_href.map(|h| view! { <p><a href=h class="next">"Older →"</a></p> })}
    }
}

/// What one session's page shows.
pub struct SessionView<'a> {
    pub agent: &'a str,
    pub id: &'a str,
    /// Oldest first.
    pub events: &'a [AuditEvent],
    /// More calls than shown (the newest are shown).
    pub truncated: bool,
    pub findings: &'a ToolFindings,
}

/// The session's calls as spans: a held tool call is its wait for a person, then the call.
fn spans(events: &[AuditEvent]) -> Vec<Span> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let href = Some(format!("/events/{}", q(&e.id)));
        let end = e.ts + e.latency_ms.round() as i64;
        let error = e.outcome != "ok";
        match e.kind.as_str() {
            "llm" => out.push(Span { label: describe(e), start_ms: e.ts, end_ms: end, kind: SpanKind::Llm, error, href }),
            "mcp" => {
                let wait = e.approval_wait_ms.unwrap_or(0.0).round() as i64;
                if wait > 0 {
                    out.push(Span { label: "waiting for approval".into(), start_ms: e.ts, end_ms: e.ts + wait, kind: SpanKind::ApprovalWait, error: false, href: href.clone() });
                }
                out.push(Span { label: describe(e), start_ms: e.ts + wait, end_ms: end.max(e.ts + wait), kind: SpanKind::Mcp, error, href });
            }
            _ => out.push(Span { label: describe(e), start_ms: e.ts, end_ms: end, kind: SpanKind::Other, error, href }),
        }
    }
    out
}

pub fn session(v: SessionView<'_>) -> impl IntoView {
    let llm = v.events.iter().filter(|e| e.kind == "llm").count();
    let mcp = v.events.iter().filter(|e| e.kind == "mcp").count();
    let errors = v.events.iter().filter(|e| e.outcome != "ok").count();
    let tokens_total: i64 = v.events.iter().map(|e| e.input_tokens.unwrap_or(0) + e.output_tokens.unwrap_or(0)).sum();
    let cost: f64 = v.events.iter().filter_map(|e| e.cost_usd).sum();
    let start = v.events.first().map_or(0, |e| e.ts);
    let end = v.events.iter().map(|e| e.ts + e.latency_ms.round() as i64).max().unwrap_or(start);
    let summary = format!(
        "{} LLM call{}, {} MCP call{}, {} error{}, {} tokens, {} — {} from {}",
        llm,
        if llm == 1 { "" } else { "s" },
        mcp,
        if mcp == 1 { "" } else { "s" },
        errors,
        if errors == 1 { "" } else { "s" },
        fmt::int(tokens_total),
        fmt::cost(Some(cost)),
        fmt::ms(Some((end - start) as f64)),
        fmt::time(start),
    );
    let waterfall = charts::waterfall(&format!("Session {}", v.id), &spans(v.events));
    let rows = v
        .events
        .iter()
        .map(|e| {
            let href = format!("/events/{}", q(&e.id));
            let flagged = e.tool_name.as_ref().and_then(|t| v.findings.get(t)).filter(|f| !f.is_empty()).map(|f| {
                let items = f.iter().map(|x| view! { <li>{x.clone()}</li> }).collect_view();
                view! { <details class="warn"><summary>"tool flagged"</summary><ul class="findings">{items}</ul></details> }
            });
            view! {
                <tr>
                    <td><a href=href>{fmt::time(e.ts)}</a></td>
                    <td>{e.kind.clone()}</td>
                    <td>{describe(e)}</td>
                    {status(e)}
                    <td class="num">{fmt::ms(Some(e.latency_ms))}</td>
                    <td class="num">{tokens(e)}</td>
                    <td class="num">{fmt::cost(e.cost_usd)}</td>
                    <td>{flagged}</td>
                </tr>
            }
        })
        .collect_view();
    let agent_href = format!("/agents/{}", q(v.agent));
    let traces_href = format!("/traces?session={}&agent={}", q(v.id), q(v.agent));
    view! {
        <p>"Agent " <a href=agent_href>{v.agent.to_string()}</a> " · " {summary} " · " <a href=traces_href>"as traces"</a></p>
        {v.truncated.then(|| view! { <p class="muted">"A long session: its latest calls are shown."</p> })}
        <section>
            <h2>"Waterfall"</h2>
            <div class="chart-cell wide" inner_html=waterfall></div>
        </section>
        <section>
            <h2>"Timeline"</h2>
            <table class="events">
                <thead><tr><th>{format!("time ({})", fmt::zone_label())}</th><th>"kind"</th><th>"what"</th><th>"status"</th><th>"why"</th><th>"latency"</th><th>"tokens"</th><th>"cost"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
