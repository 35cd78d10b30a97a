//! Agents: their keys (with model allowlists), budgets (meters, use over the window) and limits.

use leptos::prelude::*;
use weir_api::{AuditEvent, BudgetWindow, Key};

use super::{blocked_until, budget_meter, events_table, q};
use crate::charts::{self, Unit};
use crate::data::AgentView;
use crate::fmt;

fn active_keys(keys: &[Key]) -> usize {
    keys.iter().filter(|k| k.revoked_at.is_none()).count()
}

pub fn agents(agents: &[AgentView], csrf: &str, gateway_url: &str) -> impl IntoView {
    let rows = agents
        .iter()
        .map(|a| {
            let name = a.agent.name.clone();
            let href = format!("/agents/{}", q(&name));
            let meters = a.budgets.iter().map(budget_meter).collect_view();
            let blocked = blocked_until(&a.budgets, None).map(|b| view! { <p class="blocked">{b}</p> });
            view! {
                <tr>
                    <td><a href=href>{name}</a></td>
                    <td class="num">{active_keys(&a.keys)}</td>
                    <td>{blocked}{meters}</td>
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

/// Each step's own use from `(step start, cumulative use)` points, every step from `start` to
/// `now` present (a step without calls uses nothing), so the line is flat where nothing happened.
fn step_uses(cumulative: &[(i64, f64)], start: i64, now: i64, step_ms: i64) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    let (mut prev, mut i) = (0.0, 0);
    let mut t = start;
    while t <= now {
        let mut used = 0.0;
        while i < cumulative.len() && cumulative[i].0 <= t {
            used += cumulative[i].1 - prev;
            prev = cumulative[i].1;
            i += 1;
        }
        out.push((t, used));
        t += step_ms;
    }
    out
}

/// One budget: its meter, and its use across the window with the reset time.
fn budget_section(b: &BudgetWindow) -> impl IntoView {
    let unit = if b.kind == "cost_usd" { Unit::Usd } else { Unit::Tokens };
    let chart = b.usage.as_ref().map(|usage| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let step_ms = if matches!(b.period.as_str(), "minute" | "hour") { 60_000 } else { 3_600_000 };
        let start = b.window_start_ms.max(now - 90 * 86_400_000).div_euclid(step_ms) * step_ms;
        let title = format!("{} {} budget: use across the window", b.period, if b.kind == "cost_usd" { "cost" } else { "token" });
        let svg = charts::budget_window(&title, start, b.resets_at_ms.unwrap_or(now), now, b.limit, unit, &step_uses(usage, start, now, step_ms));
        view! { <div class="chart-cell" inner_html=svg></div> }
    });
    let refused = b.refused_calls.filter(|n| *n > 0).map(|n| view! { <p class="muted">{format!("{} call{} refused by limits in this window", fmt::int(n), if n == 1 { "" } else { "s" })}</p> });
    let resets = match b.resets_at_ms {
        Some(t) => format!("resets {} {}", fmt::clock(t), fmt::zone_label()),
        None => "never resets (lifetime)".into(),
    };
    view! {
        <div class="budget-block">
            {budget_meter(b)}
            <p class="muted">{resets} " · from " {b.source.clone()}</p>
            {refused}
            {chart}
        </div>
    }
}

/// Checkboxes of the configured models; none ticked means every model.
fn model_choices(models: &[String], chosen: Option<&[String]>) -> impl IntoView {
    models
        .iter()
        .map(|m| {
            let checked = chosen.is_some_and(|c| c.iter().any(|x| x == m));
            view! { <label class="check"><input type="checkbox" name="models" value=m.clone() checked=checked/> {m.clone()}</label> }
        })
        .collect_view()
}

fn key_rows(keys: &[Key], csrf: &str, models: &[String]) -> impl IntoView {
    keys.iter()
        .map(|k| {
            let revoke = format!("/keys/{}/revoke", q(&k.id));
            let set_models = format!("/keys/{}/models", q(&k.id));
            let (c1, c2) = (csrf.to_string(), csrf.to_string());
            let (agent1, agent2) = (k.agent.clone(), k.agent.clone());
            let state = match k.revoked_at {
                Some(t) => format!("revoked {}", fmt::time(t)),
                None => "active".to_string(),
            };
            let expires = k.expires_at.map(fmt::time).unwrap_or_else(|| "never".into());
            let allowed = k.models.as_ref().map_or_else(|| "every model".to_string(), |m| m.join(", "));
            let active = k.revoked_at.is_none();
            let choices = model_choices(models, k.models.as_deref());
            view! {
                <tr>
                    <td><code>{k.prefix.clone()} "…"</code></td>
                    <td>{fmt::time(k.created_at)}</td>
                    <td>{expires}</td>
                    <td>{state}</td>
                    <td class="models">{allowed}
                        {active.then(|| view! {
                            <details><summary>"change"</summary>
                                <form method="post" action=set_models class="inline">
                                    <input type="hidden" name="csrf" value=c1/>
                                    <input type="hidden" name="agent" value=agent1/>
                                    {choices}
                                    <button type="submit">"Set models"</button>
                                </form>
                                <p class="muted">"None ticked: every model."</p>
                            </details>
                        })}
                    </td>
                    <td>{active.then(|| view! {
                        <form method="post" action=revoke class="inline">
                            <input type="hidden" name="csrf" value=c2/>
                            <input type="hidden" name="agent" value=agent2/>
                            <button type="submit" class="danger">"Revoke"</button>
                        </form>
                    })}</td>
                </tr>
            }
        })
        .collect_view()
}

pub fn agent(a: &AgentView, recent: &[AuditEvent], models: &[String], csrf: &str, new_key: Option<String>) -> impl IntoView {
    let name = a.agent.name.clone();
    let budgets = a.budgets.iter().map(budget_section).collect_view();
    let refused: i64 = a.budgets.iter().filter_map(|b| b.refused_calls).max().unwrap_or(0);
    let latest_llm = recent.iter().find(|e| e.kind == "llm");
    let blocked = blocked_until(&a.budgets, latest_llm).map(|b| {
        let refused_text = (refused > 0).then(|| format!(" — {} call{} refused so far", fmt::int(refused), if refused == 1 { "" } else { "s" }));
        view! { <p class="blocked">{b}{refused_text}</p> }
    });
    let key_action = format!("/agents/{}/keys", q(&name));
    let budget_action = format!("/agents/{}/budgets", q(&name));
    let traces = format!("/traces?agent={}", fmt::query_escape(&name));
    let sessions = format!("/sessions?agent={}", fmt::query_escape(&name));
    let (c1, c2, c3) = (csrf.to_string(), csrf.to_string(), csrf.to_string());
    let limits = a.limits.as_ref().map(|l| l.limits.clone()).unwrap_or_default();
    let mcp_rpm = a.limits.as_ref().and_then(|l| l.mcp_rpm);
    let a2a_rpm = a.limits.as_ref().and_then(|l| l.a2a_rpm);
    let limit_rows = limits
        .iter()
        .map(|l| {
            let per = |v: Option<u64>| v.map_or_else(|| "—".to_string(), |n| fmt::int(n as i64));
            view! { <tr><td>{l.model.clone().unwrap_or_else(|| "all models".into())}</td><td class="num">{per(l.rpm)}</td><td class="num">{per(l.tpm)}</td><td>{l.source.clone()}</td></tr> }
        })
        .collect_view();
    let limits_action = format!("/agents/{}/limits", q(&name));
    let recent_table = (!recent.is_empty()).then(|| events_table(recent));
    let model_options = models.iter().map(|m| view! { <option value=m.clone()></option> }).collect_view();
    let new_key_models = model_choices(models, None);
    view! {
        {blocked}
        <p><a href=traces>"This agent's traces →"</a> " · " <a href=sessions>"its sessions →"</a></p>
        {new_key.map(|k| view! {
            <div class="newkey">
                <p>"The new key — copy it now, it is not shown again:"</p>
                <pre class="key">{k}</pre>
            </div>
        })}
        <datalist id="model-names">{model_options}</datalist>
        <section>
            <h2>"Budgets"</h2>
            {a.budgets.is_empty().then(|| view! { <p class="empty">"No budgets: this agent's calls are limited by nothing but rate limits."</p> })}
            {budgets}
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
                <label>"Model (optional) " <input type="text" name="model" list="model-names"/></label>
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
            <p>"MCP requests / min: " {mcp_rpm.map_or_else(|| "no limit".to_string(), |n| fmt::int(n as i64))}</p>
            <p>"A2A requests / min: " {a2a_rpm.map_or_else(|| "no limit".to_string(), |n| fmt::int(n as i64))}</p>
            <form method="post" action=limits_action class="inline">
                <input type="hidden" name="csrf" value=c3/>
                <label>"Model (optional) " <input type="text" name="model" list="model-names"/></label>
                <label>"Requests / min " <input type="text" name="rpm" inputmode="numeric"/></label>
                <label>"Tokens / min " <input type="text" name="tpm" inputmode="numeric"/></label>
                <label>"MCP requests / min (all models only) " <input type="text" name="mcp_rpm" inputmode="numeric"/></label>
                <label>"A2A requests / min (all models only) " <input type="text" name="a2a_rpm" inputmode="numeric"/></label>
                <button type="submit">"Set limits"</button>
            </form>
            <p class="muted">"An empty field removes that limit."</p>
        </section>
        {a.cache.as_ref().map(|c| {
            let own = c.agents.get(&name).map(super::overview::cache_setting_text).unwrap_or_else(|| "none set here".into());
            let configured = c.config_agents.get(&name).map(super::overview::cache_setting_text);
            let purge = format!("/agents/{}/cache/purge", q(&name));
            view! {
                <section id="cache">
                    <h2>"Response cache"</h2>
                    <p>{format!("This agent's setting: {own}.")}{configured.map(|t| format!(" In the config: {t}."))}</p>
                    {super::overview::cache_form(format!("/agents/{}/cache", q(&name)), csrf, None)}
                    <form method="post" action=purge class="inline">
                        <input type="hidden" name="csrf" value=csrf.to_string()/>
                        <button type="submit">"Purge this agent's cached answers"</button>
                    </form>
                    <p class="muted">"An agent's setting wins over its model's; \"as configured\" in both selects with an empty TTL removes the agent's own."</p>
                </section>
            }
        })}
        {a.guardrails.as_ref().filter(|g| !g.guardrails.is_empty()).map(|g| {
            let current = g.agents.get(&name).cloned().unwrap_or_default();
            let action = format!("/agents/{}/guardrails", q(&name));
            view! {
                <section>
                    <h2>"Guardrails"</h2>
                    {super::guardrail_form(action, &g.guardrails, &current, csrf, None)}
                    <p class="muted">"An agent's actions win over its model's; \"as configured\" leaves the configured action (or the model's)."</p>
                </section>
            }
        })}
        <section>
            <h2>"Keys"</h2>
            <table>
                <thead><tr><th>"key"</th><th>{format!("created ({})", fmt::zone_label())}</th><th>"expires"</th><th>"state"</th><th>"models it may call"</th><th></th></tr></thead>
                <tbody>{key_rows(&a.keys, csrf, models)}</tbody>
            </table>
            <form method="post" action=key_action class="inline">
                <input type="hidden" name="csrf" value=c2/>
                <label>"Expires in (optional, e.g. 30d) " <input type="text" name="expires_in"/></label>
                <fieldset class="models"><legend>"Models (none ticked: every model)"</legend>{new_key_models}</fieldset>
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_step_of_the_window_has_its_own_use() {
        let h = 3_600_000;
        let steps = super::step_uses(&[(2 * h, 5.0), (4 * h, 12.0)], 0, 5 * h, h);
        assert_eq!(steps, vec![(0, 0.0), (h, 0.0), (2 * h, 5.0), (3 * h, 0.0), (4 * h, 7.0), (5 * h, 0.0)]);
    }
}
