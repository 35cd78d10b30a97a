//! The console's pages: Leptos views rendered to HTML on the server. Links and forms only —
//! nothing needs JavaScript.

use leptos::prelude::*;
use serde_json::Value;

use crate::data::{Page, TraceFilter};
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

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
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

/// The signed-in frame: navigation, sign-out, and the page's own content.
pub fn shell(title: &str, active: &'static str, csrf: &str, flash: Option<String>, refresh: bool, body: impl IntoView + 'static) -> impl IntoView {
    let nav = [("Overview", "/"), ("Traces", "/traces"), ("Agents", "/agents"), ("Approvals", "/approvals"), ("Tools", "/tools"), ("Models", "/models")];
    let links = nav
        .into_iter()
        .map(|(label, href)| {
            let class = if href == active { "active" } else { "" };
            view! { <a href=href class=class>{label}</a> }
        })
        .collect_view();
    let heading = title.to_string();
    let zone_form = zone_form(csrf);
    let csrf = csrf.to_string();
    view! {
        <html lang="en">
            {head(title, refresh)}
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
                    {flash.map(|f| view! { <p class="flash">{f}</p> })}
                    {body}
                </main>
            </body>
        </html>
    }
}

/// The operator's time zone, as an offset from UTC (kept in a cookie of this browser).
fn zone_form(csrf: &str) -> impl IntoView {
    let current = fmt::offset();
    let options = (-12 * 4..=14 * 4)
        .map(|q| q * 15)
        .filter(|m| m % 60 == 0 || [-570, -210, 210, 270, 330, 345, 390, 525, 570, 630, 765, 825].contains(m))
        .map(|m| view! { <option value=m.to_string() selected=m == current>{fmt::zone_name(m)}</option> })
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

fn filter_input(label: &'static str, name: &'static str, value: Option<String>) -> impl IntoView {
    view! {
        <label>{label} <input type="text" name=name value=value.unwrap_or_default()/></label>
    }
}

/// One row's "what": the model for LLM calls, the tool or method for MCP, the decision for
/// approvals.
fn what(e: &Value) -> String {
    let (tool, model, op) = (s(e, "tool_name"), s(e, "model_requested"), s(e, "operation"));
    let policy = s(e, "policy_decision");
    match s(e, "kind").as_str() {
        "llm" => format!("{op} {model}"),
        "approval" => format!("approval {op}: {tool}"),
        // A tool call's policy decision, when it was not a plain allow.
        _ if !tool.is_empty() && !policy.is_empty() && policy != "allow" => format!("{op} {tool} [{policy}]"),
        _ if !tool.is_empty() => format!("{op} {tool}"),
        _ => op,
    }
}

fn tokens(e: &Value) -> String {
    let i = e.get("input_tokens").and_then(Value::as_i64);
    let o = e.get("output_tokens").and_then(Value::as_i64);
    match (i, o) {
        (None, None) => String::new(),
        (i, o) => format!("{} in / {} out", fmt::int(i.unwrap_or(0)), fmt::int(o.unwrap_or(0))),
    }
}

fn event_rows(events: &[Value]) -> impl IntoView {
    events
        .iter()
        .map(|e| {
            let href = format!("/events/{}", q(&s(e, "id")));
            let session = s(e, "session_id");
            let session_link = (!session.is_empty()).then(|| {
                let href = format!("/traces?session={}", q(&session));
                let short: String = session.chars().take(8).collect();
                view! { <a href=href>{short}</a> }
            });
            let status = s(e, "status_code");
            let class = if s(e, "outcome") == "ok" { "ok" } else { "bad" };
            view! {
                <tr>
                    <td><a href=href>{fmt::time(e.get("ts").and_then(Value::as_i64).unwrap_or(0))}</a></td>
                    <td>{s(e, "kind")}</td>
                    <td>{s(e, "agent_name")}</td>
                    <td>{what(e)}</td>
                    <td class=class>{status} " " {s(e, "outcome")}</td>
                    <td class="num">{fmt::ms(e.get("latency_ms").and_then(Value::as_f64))}</td>
                    <td class="num">{tokens(e)}</td>
                    <td class="num">{fmt::cost(e.get("cost_usd").and_then(Value::as_f64))}</td>
                    <td>{session_link}</td>
                </tr>
            }
        })
        .collect_view()
}

fn events_table(events: &[Value]) -> impl IntoView {
    view! {
        <table>
            <thead><tr><th>{format!("time ({})", fmt::zone_label())}</th><th>"kind"</th><th>"agent"</th><th>"what"</th><th>"status"</th><th>"latency"</th><th>"tokens"</th><th>"cost"</th><th>"session"</th></tr></thead>
            <tbody>{event_rows(events)}</tbody>
        </table>
    }
}

pub fn traces(filter: &TraceFilter, page: &Page, follow: bool, gateway_url: &str) -> impl IntoView {
    let f = filter.clone();
    let mut next = filter.pairs().into_iter().map(|(k, v)| format!("{k}={}", fmt::query_escape(v))).collect::<Vec<_>>();
    let follow_href = {
        let mut q = next.clone();
        if !follow {
            q.push("follow=1".into());
        }
        format!("/traces?{}", q.join("&"))
    };
    let next_href = page.next_cursor.as_ref().map(|c| {
        next.push(format!("cursor={}", fmt::query_escape(c)));
        format!("/traces?{}", next.join("&"))
    });
    let empty = page.items.is_empty();
    let hint = format!("No traces yet — point an agent's base URL at {gateway_url}/v1 (LLM) or its MCP client at {gateway_url}/mcp.");
    view! {
        <form method="get" action="/traces" class="filters">
            {filter_input("agent", "agent", f.agent)}
            {filter_input("user", "user", f.user)}
            {filter_input("session", "session", f.session)}
            {filter_input("kind", "kind", f.kind)}
            {filter_input("model", "model", f.model)}
            {filter_input("tool", "tool", f.tool)}
            {filter_input("outcome", "outcome", f.outcome)}
            {filter_input("status", "status", f.status)}
            {filter_input("since", "since", f.since)}
            {filter_input("until", "until", f.until)}
            <button type="submit">"Filter"</button>
            <a href="/traces">"Clear"</a>
            <a href=follow_href class="follow">{if follow { "Stop following" } else { "Follow" }}</a>
        </form>
        {if empty {
            view! { <p class="empty">{hint}</p> }.into_any()
        } else {
            events_table(&page.items).into_any()
        }}
        {next_href.map(|h| view! { <p><a href=h class="next">"Older →"</a></p> })}
    }
}

/// A body as captured, pretty-printed when it is JSON.
fn body_block(label: &'static str, body: String) -> impl IntoView {
    let pretty = serde_json::from_str::<Value>(&body).ok().and_then(|v| serde_json::to_string_pretty(&v).ok()).unwrap_or(body);
    view! {
        <section>
            <h2>{label}</h2>
            <pre>{pretty}</pre>
        </section>
    }
}

/// Findings (scan findings, or a change from the pin) of a tool, by its prefixed name.
pub type ToolFindings = std::collections::HashMap<String, Vec<String>>;

fn findings_list(items: &[String]) -> impl IntoView {
    let lis = items.iter().map(|f| view! { <li>{f.clone()}</li> }).collect_view();
    view! { <ul class="findings">{lis}</ul> }
}

/// A session as a timeline, oldest first: each call with its latency, tokens and cost, its
/// bodies a click away, and what scanning found in the tools it used.
fn timeline(events: &[Value], findings: &ToolFindings) -> impl IntoView {
    let rows = events
        .iter()
        .map(|e| {
            let href = format!("/events/{}", q(&s(e, "id")));
            let (request, response) = (s(e, "request_body"), s(e, "response_body"));
            let pretty = |b: String| serde_json::from_str::<Value>(&b).ok().and_then(|v| serde_json::to_string_pretty(&v).ok()).unwrap_or(b);
            let bodies = (!request.is_empty() || !response.is_empty()).then(|| {
                let (request, response) = (pretty(request), pretty(response));
                view! { <details><summary>"bodies"</summary><pre>{request}</pre><pre>{response}</pre></details> }
            });
            let flagged = findings.get(&s(e, "tool_name")).filter(|f| !f.is_empty()).map(|f| {
                let items = f.clone();
                view! { <details class="warn"><summary>"tool flagged"</summary>{findings_list(&items)}</details> }
            });
            let class = if s(e, "outcome") == "ok" { "ok" } else { "bad" };
            view! {
                <tr>
                    <td><a href=href>{fmt::time(e.get("ts").and_then(Value::as_i64).unwrap_or(0))}</a></td>
                    <td>{s(e, "kind")}</td>
                    <td>{what(e)}</td>
                    <td class=class>{s(e, "status_code")} " " {s(e, "outcome")}</td>
                    <td class="num">{fmt::ms(e.get("latency_ms").and_then(Value::as_f64))}</td>
                    <td class="num">{tokens(e)}</td>
                    <td class="num">{fmt::cost(e.get("cost_usd").and_then(Value::as_f64))}</td>
                    <td>{bodies}{flagged}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table>
            <thead><tr><th>{format!("time ({})", fmt::zone_label())}</th><th>"kind"</th><th>"what"</th><th>"status"</th><th>"latency"</th><th>"tokens"</th><th>"cost"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

pub fn event(e: &Value, session: &[Value], findings: &ToolFindings) -> impl IntoView {
    let fields: Vec<(&str, String)> = [
        ("time", format!("{} ({})", fmt::time(e.get("ts").and_then(Value::as_i64).unwrap_or(0)), fmt::zone_label())),
        ("kind", s(e, "kind")),
        ("operation", s(e, "operation")),
        ("agent", s(e, "agent_name")),
        ("end user", s(e, "end_user")),
        ("session", s(e, "session_id")),
        ("model asked", s(e, "model_requested")),
        ("model served", s(e, "model_served")),
        ("provider", s(e, "provider")),
        ("MCP server", s(e, "mcp_server")),
        ("tool", s(e, "tool_name")),
        ("policy", [s(e, "policy_decision"), s(e, "policy_rule")].iter().filter(|x| !x.is_empty()).cloned().collect::<Vec<_>>().join(" rule ")),
        ("approval", s(e, "approval_id")),
        ("decided by", s(e, "decided_by")),
        ("status", format!("{} {}", s(e, "status_code"), s(e, "outcome"))),
        ("error", [s(e, "error_type"), s(e, "error_message")].iter().filter(|x| !x.is_empty()).cloned().collect::<Vec<_>>().join(": ")),
        ("latency", fmt::ms(e.get("latency_ms").and_then(Value::as_f64))),
        ("time to first token", fmt::ms(e.get("ttft_ms").and_then(Value::as_f64))),
        ("tokens", tokens(e)),
        ("cost", fmt::cost(e.get("cost_usd").and_then(Value::as_f64))),
        ("trace id", s(e, "trace_id")),
        ("request id", s(e, "request_id")),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .collect();
    let rows = fields.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view();
    let request = s(e, "request_body");
    let response = s(e, "response_body");
    let session_view = (!session.is_empty()).then(|| {
        let mut ordered = session.to_vec();
        ordered.reverse();
        view! {
            <section>
                <h2>"Session timeline"</h2>
                {timeline(&ordered, findings)}
            </section>
        }
    });
    let own = findings.get(&s(e, "tool_name")).filter(|f| !f.is_empty()).cloned().map(|f| {
        view! {
            <section>
                <h2>"What scanning found in this tool"</h2>
                {findings_list(&f)}
                <p><a href="/tools">"Tools →"</a></p>
            </section>
        }
    });
    view! {
        <table class="fields"><tbody>{rows}</tbody></table>
        {own}
        {(!request.is_empty()).then(|| body_block("Request", request))}
        {(!response.is_empty()).then(|| body_block("Response", response))}
        {session_view}
    }
}

/// A budget window as a bar: used against its limit.
fn budget_bar(b: &Value) -> impl IntoView {
    let limit = b.get("limit").and_then(Value::as_f64).unwrap_or(0.0);
    let used = b.get("used").and_then(Value::as_f64).unwrap_or(0.0);
    let pct = if limit > 0.0 { (used / limit * 100.0).clamp(0.0, 100.0) } else { 100.0 };
    let kind = s(b, "kind");
    let (u, l) = if kind == "cost_usd" { (fmt::cost(Some(used)), fmt::cost(Some(limit))) } else { (fmt::int(used as i64), fmt::int(limit as i64)) };
    let model = s(b, "model");
    let label = format!("{} {}{}: {u} of {l}", s(b, "period"), if kind == "cost_usd" { "cost" } else { "tokens" }, if model.is_empty() { String::new() } else { format!(" ({model})") });
    let style = format!("width:{pct:.1}%");
    let class = if pct >= 90.0 { "bar hot" } else { "bar" };
    view! {
        <div class="budget">
            <span>{label}</span>
            <div class=class><span style=style></span></div>
        </div>
    }
}

pub fn agents(agents: &[Value], csrf: &str, gateway_url: &str) -> impl IntoView {
    let rows = agents
        .iter()
        .map(|a| {
            let name = s(a, "name");
            let href = format!("/agents/{}", q(&name));
            let keys = a.get("keys").and_then(Value::as_array).map_or(0, |k| k.iter().filter(|k| k.get("revoked_at").is_none_or(Value::is_null)).count());
            let budgets = a.get("budgets").and_then(Value::as_array).cloned().unwrap_or_default();
            let bars = budgets.iter().map(budget_bar).collect_view();
            view! {
                <tr>
                    <td><a href=href>{name}</a></td>
                    <td class="num">{keys}</td>
                    <td>{bars}</td>
                </tr>
            }
        })
        .collect_view();
    let csrf = csrf.to_string();
    let empty = agents.is_empty().then(|| {
        let hint = format!("No agents yet — create one here, then a key for it, and point the agent at {gateway_url}/v1.");
        view! { <p class="empty">{hint}</p> }
    });
    view! {
        {empty}
        <table>
            <thead><tr><th>"agent"</th><th>"active keys"</th><th>"budgets (used of limit, open window)"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <form method="post" action="/agents" class="inline">
            <input type="hidden" name="csrf" value=csrf/>
            <label>"New agent " <input type="text" name="name" required=true pattern="[A-Za-z0-9_.-]+"/></label>
            <button type="submit">"Create agent"</button>
        </form>
    }
}

pub fn agent(a: &Value, recent: &[Value], csrf: &str, new_key: Option<String>) -> impl IntoView {
    let name = s(a, "name");
    let keys = a.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
    let key_rows = keys
        .iter()
        .map(|k| {
            let id = s(k, "id");
            let revoked = k.get("revoked_at").and_then(Value::as_i64);
            let action = format!("/keys/{}/revoke", q(&id));
            let csrf = csrf.to_string();
            let agent_name = s(k, "agent");
            let state = match revoked {
                Some(t) => format!("revoked {}", fmt::time(t)),
                None => "active".to_string(),
            };
            let expires = k.get("expires_at").and_then(Value::as_i64).map(fmt::time).unwrap_or_else(|| "never".into());
            view! {
                <tr>
                    <td><code>{s(k, "prefix")} "…"</code></td>
                    <td>{fmt::time(k.get("created_at").and_then(Value::as_i64).unwrap_or(0))}</td>
                    <td>{expires}</td>
                    <td>{state}</td>
                    <td>{revoked.is_none().then(|| view! {
                        <form method="post" action=action class="inline">
                            <input type="hidden" name="csrf" value=csrf/>
                            <input type="hidden" name="agent" value=agent_name/>
                            <button type="submit" class="danger">"Revoke"</button>
                        </form>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    let budgets = a.get("budgets").and_then(Value::as_array).cloned().unwrap_or_default();
    let bars = budgets.iter().map(budget_bar).collect_view();
    let key_action = format!("/agents/{}/keys", q(&name));
    let budget_action = format!("/agents/{}/budgets", q(&name));
    let traces = format!("/traces?agent={}", fmt::query_escape(&name));
    let (c1, c2, c3) = (csrf.to_string(), csrf.to_string(), csrf.to_string());
    let limits = a.get("limits").and_then(Value::as_array).cloned().unwrap_or_default();
    let limit_rows = limits
        .iter()
        .map(|l| {
            let model = s(l, "model");
            let per = |k: &str| l.get(k).and_then(Value::as_i64).map_or_else(|| "—".to_string(), fmt::int);
            view! { <tr><td>{if model.is_empty() { "all models".to_string() } else { model }}</td><td class="num">{per("rpm")}</td><td class="num">{per("tpm")}</td><td>{s(l, "source")}</td></tr> }
        })
        .collect_view();
    let limits_action = format!("/agents/{}/limits", q(&name));
    let recent_table = (!recent.is_empty()).then(|| events_table(recent));
    view! {
        <p><a href=traces>"Recent traces of this agent →"</a></p>
        {new_key.map(|k| view! {
            <div class="newkey">
                <p>"The new key — copy it now, it is not shown again:"</p>
                <pre class="key">{k}</pre>
            </div>
        })}
        <section>
            <h2>"Budgets"</h2>
            {if budgets.is_empty() { Some(view! { <p class="empty">"No budgets: this agent's calls are limited by nothing but rate limits."</p> }) } else { None }}
            {bars}
            <form method="post" action=budget_action class="inline">
                <input type="hidden" name="csrf" value=c1/>
                <label>"Period " <select name="period">
                    <option value="minute">"minute"</option>
                    <option value="hour">"hour"</option>
                    <option value="day" selected=true>"day"</option>
                    <option value="month">"month"</option>
                    <option value="lifetime">"lifetime"</option>
                </select></label>
                <label>"Kind " <select name="kind">
                    <option value="tokens">"tokens"</option>
                    <option value="cost_usd">"cost (USD)"</option>
                </select></label>
                <label>"Amount " <input type="text" name="amount" required=true inputmode="decimal"/></label>
                <label>"Model (optional) " <input type="text" name="model"/></label>
                <button type="submit">"Set budget"</button>
            </form>
        </section>
        <section>
            <h2>"Rate limits"</h2>
            {limits.is_empty().then(|| view! { <p class="empty">"No rate limits."</p> })}
            {(!limits.is_empty()).then(|| view! {
                <table>
                    <thead><tr><th>"model"</th><th>"requests / min"</th><th>"tokens / min"</th><th>"from"</th></tr></thead>
                    <tbody>{limit_rows}</tbody>
                </table>
            })}
            <p>"MCP requests / min: " {a.get("mcp_rpm").and_then(Value::as_i64).map_or_else(|| "no limit".to_string(), fmt::int)}</p>
            <form method="post" action=limits_action class="inline">
                <input type="hidden" name="csrf" value=c3/>
                <label>"Model (optional) " <input type="text" name="model"/></label>
                <label>"Requests / min " <input type="text" name="rpm" inputmode="numeric"/></label>
                <label>"Tokens / min " <input type="text" name="tpm" inputmode="numeric"/></label>
                <label>"MCP requests / min (all models only) " <input type="text" name="mcp_rpm" inputmode="numeric"/></label>
                <button type="submit">"Set limits"</button>
            </form>
            <p class="muted">"An empty field removes that limit."</p>
        </section>
        <section>
            <h2>"Keys"</h2>
            <table>
                <thead><tr><th>"key"</th><th>{format!("created ({})", fmt::zone_label())}</th><th>"expires"</th><th>"state"</th><th></th></tr></thead>
                <tbody>{key_rows}</tbody>
            </table>
            <form method="post" action=key_action class="inline">
                <input type="hidden" name="csrf" value=c2/>
                <label>"Expires in (optional, e.g. 30d) " <input type="text" name="expires_in"/></label>
                <button type="submit">"Create key"</button>
            </form>
        </section>
        <section>
            <h2>"Recent traces"</h2>
            {recent.is_empty().then(|| view! { <p class="empty">"No calls from this agent yet."</p> })}
            {recent_table}
        </section>
    }
}

fn args_text(a: &Value) -> String {
    a.get("arguments").map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).unwrap_or_default()
}

pub fn approvals(pending: &[Value], history: &[Value], csrf: &str) -> impl IntoView {
    let pending_rows = pending
        .iter()
        .map(|a| {
            let id = s(a, "id");
            let (approve, deny) = (format!("/approvals/{}/approve", q(&id)), format!("/approvals/{}/deny", q(&id)));
            let (c1, c2) = (csrf.to_string(), csrf.to_string());
            view! {
                <tr>
                    <td>{fmt::time(a.get("created_at").and_then(Value::as_i64).unwrap_or(0))}</td>
                    <td>{s(a, "agent_name")}</td>
                    <td>{s(a, "end_user")}</td>
                    <td><code>{s(a, "tool")}</code></td>
                    <td><pre>{args_text(a)}</pre></td>
                    <td>{fmt::time(a.get("expires_at").and_then(Value::as_i64).unwrap_or(0))}</td>
                    <td class="decide">
                        <form method="post" action=approve class="inline">
                            <input type="hidden" name="csrf" value=c1/>
                            <input type="text" name="reason" placeholder="reason (optional)"/>
                            <button type="submit">"Approve"</button>
                        </form>
                        <form method="post" action=deny class="inline">
                            <input type="hidden" name="csrf" value=c2/>
                            <input type="text" name="reason" placeholder="reason"/>
                            <button type="submit" class="danger">"Deny"</button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let history_rows = history
        .iter()
        .map(|a| {
            view! {
                <tr>
                    <td>{fmt::time(a.get("created_at").and_then(Value::as_i64).unwrap_or(0))}</td>
                    <td>{s(a, "agent_name")}</td>
                    <td><code>{s(a, "tool")}</code></td>
                    <td>{s(a, "status")}</td>
                    <td>{s(a, "decided_by")}</td>
                    <td>{s(a, "reason")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section>
            <h2>"Pending"</h2>
            {if pending.is_empty() {
                view! { <p class="empty">"No tool call is waiting. Calls matching a rule with require_approval = true appear here."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <thead><tr><th>{format!("held since ({})", fmt::zone_label())}</th><th>"agent"</th><th>"user"</th><th>"tool"</th><th>"arguments"</th><th>"expires"</th><th>"decision"</th></tr></thead>
                        <tbody>{pending_rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section>
            <h2>"History"</h2>
            {history.is_empty().then(|| view! { <p class="empty">"No decisions yet."</p> })}
            <table>
                <thead><tr><th>{format!("held ({})", fmt::zone_label())}</th><th>"agent"</th><th>"tool"</th><th>"outcome"</th><th>"by"</th><th>"reason"</th></tr></thead>
                <tbody>{history_rows}</tbody>
            </table>
        </section>
    }
}

pub fn tools(tools: &[Value], csrf: &str) -> impl IntoView {
    let rows = tools
        .iter()
        .map(|t| {
            let findings = t.get("findings").and_then(Value::as_array).cloned().unwrap_or_default();
            let finding_items = findings
                .iter()
                .map(|f| view! { <li><strong>{s(f, "rule")}</strong> " in " {s(f, "location")} ": " <q>{s(f, "excerpt")}</q></li> })
                .collect_view();
            let diff = t.get("diff").filter(|d| !d.is_null()).map(|d| serde_json::to_string_pretty(d).unwrap_or_default());
            let flagged = t.get("flagged").and_then(Value::as_bool).unwrap_or(false);
            let withheld = t.get("withheld").and_then(Value::as_bool).unwrap_or(false);
            let state = match (flagged, withheld) {
                (_, true) => format!("withheld: {}", s(t, "withheld_because")),
                (true, false) => "flagged".to_string(),
                _ => "ok".to_string(),
            };
            let action = format!("/tools/{}/{}/approve", q(&s(t, "server")), q(&s(t, "tool")));
            let hash = s(t, "current_hash");
            let csrf = csrf.to_string();
            let approvable = flagged || withheld;
            let rules = t.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
            let rules_text = if rules.is_empty() {
                s(t, "callable_by")
            } else {
                rules
                    .iter()
                    .map(|r| {
                        let list = |k: &str| r.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                        let users = list("users");
                        let args = list("arguments");
                        format!(
                            "rule {}: {}{}{}{}",
                            s(r, "rule"),
                            list("agents"),
                            if users.is_empty() { String::new() } else { format!(" for {users}") },
                            if args.is_empty() { String::new() } else { format!(", constrains {args}") },
                            if r.get("require_approval").and_then(Value::as_bool) == Some(true) { ", needs approval" } else { "" },
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            view! {
                <tr class=if withheld { "withheld" } else if flagged { "flagged" } else { "" }>
                    <td><code>{s(t, "name")}</code></td>
                    <td>{rules_text}</td>
                    <td>{s(t, "action")}</td>
                    <td>{state}</td>
                    <td>
                        {(!findings.is_empty()).then(|| view! { <ul class="findings">{finding_items}</ul> })}
                        {diff.map(|d| view! { <details open=true><summary>"changed since pinned"</summary><pre>{d}</pre></details> })}
                    </td>
                    <td>{approvable.then(|| view! {
                        <form method="post" action=action class="inline">
                            <input type="hidden" name="csrf" value=csrf/>
                            <input type="hidden" name="hash" value=hash/>
                            <button type="submit">"Approve this definition"</button>
                        </form>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {tools.is_empty().then(|| view! { <p class="empty">"No MCP tools seen yet: they appear once a client lists a backend's tools through /mcp."</p> })}
        <table>
            <thead><tr><th>"tool"</th><th>"rules"</th><th>"server action"</th><th>"state"</th><th>"findings and changes"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

pub fn overview(o: &Value, gateway_url: &str) -> impl IntoView {
    let kinds = o.get("kinds").and_then(Value::as_array).cloned().unwrap_or_default();
    let top = o.get("top_agents").and_then(Value::as_array).cloned().unwrap_or_default();
    let closest = o.get("budgets_closest").and_then(Value::as_array).cloned().unwrap_or_default();
    let num = |v: &Value, k: &str| fmt::int(v.get(k).and_then(Value::as_i64).unwrap_or(0));
    let kind_rows = kinds
        .iter()
        .map(|k| {
            let href = format!("/traces?kind={}", q(&s(k, "kind")));
            view! {
                <tr>
                    <td><a href=href>{s(k, "kind")}</a></td>
                    <td class="num">{num(k, "requests")}</td>
                    <td class="num">{num(k, "errors")}</td>
                    <td class="num">{num(k, "tokens")}</td>
                    <td class="num">{fmt::cost(k.get("cost_usd").and_then(Value::as_f64))}</td>
                    <td class="num">{fmt::ms(k.get("p50_ms").and_then(Value::as_f64))}</td>
                    <td class="num">{fmt::ms(k.get("p95_ms").and_then(Value::as_f64))}</td>
                </tr>
            }
        })
        .collect_view();
    let top_rows = top
        .iter()
        .map(|a| {
            let href = format!("/agents/{}", q(&s(a, "agent")));
            view! {
                <tr>
                    <td><a href=href>{s(a, "agent")}</a></td>
                    <td class="num">{num(a, "tokens")}</td>
                    <td class="num">{num(a, "requests")}</td>
                    <td class="num">{fmt::cost(a.get("cost_usd").and_then(Value::as_f64))}</td>
                </tr>
            }
        })
        .collect_view();
    let closest_rows = closest
        .iter()
        .map(|b| {
            let href = format!("/agents/{}", q(&s(b, "agent")));
            view! { <tr><td><a href=href>{s(b, "agent")}</a></td><td>{budget_bar(b)}</td></tr> }
        })
        .collect_view();
    let hint = format!("Nothing in the last 24 hours — point an agent's base URL at {gateway_url}/v1, or its MCP client at {gateway_url}/mcp.");
    view! {
        <p class="muted">"The last 24 hours (by the hour)."</p>
        {if kinds.is_empty() {
            view! { <p class="empty">{hint}</p> }.into_any()
        } else {
            view! {
                <table>
                    <thead><tr><th>"kind"</th><th>"requests"</th><th>"errors"</th><th>"tokens"</th><th>"cost"</th><th>"p50"</th><th>"p95"</th></tr></thead>
                    <tbody>{kind_rows}</tbody>
                </table>
            }.into_any()
        }}
        <section>
            <h2>"Top agents by tokens"</h2>
            {top.is_empty().then(|| view! { <p class="empty">"No agent used tokens in the last 24 hours."</p> })}
            {(!top.is_empty()).then(|| view! {
                <table>
                    <thead><tr><th>"agent"</th><th>"tokens"</th><th>"requests"</th><th>"cost"</th></tr></thead>
                    <tbody>{top_rows}</tbody>
                </table>
            })}
        </section>
        <section>
            <h2>"Budgets closest to running out"</h2>
            {closest.is_empty().then(|| view! { <p class="empty">"No budgets set. Set one on an agent's page."</p> })}
            {(!closest.is_empty()).then(|| view! {
                <table>
                    <thead><tr><th>"agent"</th><th>"budget (open window)"</th></tr></thead>
                    <tbody>{closest_rows}</tbody>
                </table>
            })}
        </section>
    }
}

pub fn models(models: &[Value]) -> impl IntoView {
    let rows = models
        .iter()
        .map(|m| {
            let targets = m.get("targets").and_then(Value::as_array).cloned().unwrap_or_default();
            let target_items = targets
                .iter()
                .map(|t| {
                    let circuit = s(t, "circuit");
                    let class = if circuit == "closed" { "ok" } else { "bad" };
                    view! { <li>{s(t, "provider")} " / " {s(t, "model")} " — circuit " <span class=class>{circuit}</span> " (" {s(t, "failures")} " failures, " {s(t, "successes")} " successes)"</li> }
                })
                .collect_view();
            let h = m.get("last_hour").cloned().unwrap_or_default();
            let requests = h.get("requests").and_then(Value::as_i64).unwrap_or(0);
            let rate = h.get("error_rate").and_then(Value::as_f64).unwrap_or(0.0);
            let href = format!("/traces?model={}", fmt::query_escape(&s(m, "name")));
            view! {
                <tr>
                    <td><a href=href>{s(m, "name")}</a></td>
                    <td>{s(m, "kind")}</td>
                    <td><ul class="findings">{target_items}</ul></td>
                    <td class="num">{fmt::int(requests)}</td>
                    <td class="num">{if requests > 0 { format!("{:.1}%", rate * 100.0) } else { String::new() }}</td>
                    <td class="num">{fmt::ms(h.get("mean_latency_ms").and_then(Value::as_f64))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {models.is_empty().then(|| view! { <p class="empty">"No models configured: add [[models]] to the config file."</p> })}
        <table>
            <thead><tr><th>"model"</th><th>"API"</th><th>"targets (failover order)"</th><th>"calls, last hour"</th><th>"errors"</th><th>"mean latency"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
