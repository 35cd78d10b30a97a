//! The overview (the last 24 hours, charted) and the models page.

use leptos::prelude::*;
use weir_api::{ModelsList, Overview, TimeSeries};

use super::{budget_meter, q};
use crate::charts::{self, Line, Unit};
use crate::fmt;

/// The kinds of traffic a series holds, LLM first.
fn kinds_of(series: &TimeSeries) -> Vec<String> {
    let mut kinds: Vec<String> = series.points.iter().map(|p| p.kind.clone()).collect();
    kinds.sort_by_key(|k| (k != "llm", k != "mcp", k.clone()));
    kinds.dedup();
    kinds
}

/// One line of a series: a value per step for one kind (or every kind, summed).
fn line(series: &TimeSeries, label: String, kind: Option<&str>, value: impl Fn(&weir_api::SeriesPoint) -> Option<f64>) -> Line {
    let mut points: Vec<(i64, f64)> = Vec::new();
    for p in series.points.iter().filter(|p| kind.is_none_or(|k| p.kind == k)) {
        let Some(v) = value(p) else { continue };
        match points.last_mut() {
            Some(last) if last.0 == p.start_ms => last.1 += v,
            _ => points.push((p.start_ms, v)),
        }
    }
    Line { label, points }
}

/// Requests and errors, latency, tokens and cost of a period: four charts.
fn period_charts(series: &TimeSeries, period: &str) -> impl IntoView {
    let kinds = kinds_of(series);
    let (from, to, step) = (series.from_ms, series.to_ms, series.step_ms);
    let mut requests: Vec<Line> = kinds.iter().map(|k| line(series, format!("{} requests", k.to_uppercase()), Some(k), |p| Some(p.requests as f64))).collect();
    requests.push(line(series, "errors".into(), None, |p| Some(p.errors as f64)));
    let mut latency = Vec::new();
    for k in kinds.iter().filter(|k| *k != "approval") {
        latency.push(line(series, format!("{} p50", k.to_uppercase()), Some(k), |p| p.p50_ms));
        latency.push(line(series, format!("{} p95", k.to_uppercase()), Some(k), |p| p.p95_ms));
    }
    let tokens = [line(series, "tokens".into(), Some("llm"), |p| Some(p.tokens as f64))];
    let cost = [line(series, "cost".into(), Some("llm"), |p| Some(p.cost_usd))];
    let charts = [
        charts::time_chart(&format!("Requests and errors, {period}"), from, to, step, Unit::Count, &requests),
        charts::time_chart(&format!("Latency p50 / p95, {period}"), from, to, step, Unit::Ms, &latency),
        charts::time_chart(&format!("Tokens, {period}"), from, to, step, Unit::Tokens, &tokens),
        charts::time_chart(&format!("Cost, {period}"), from, to, step, Unit::Usd, &cost),
    ];
    let cells = charts.into_iter().map(|svg| view! { <div class="chart-cell" inner_html=svg></div> }).collect_view();
    view! { <div class="charts">{cells}</div> }
}

pub fn overview(o: &Overview, gateway_url: &str) -> impl IntoView {
    let kind_rows = o
        .kinds
        .iter()
        .map(|k| {
            let href = format!("/traces?kind={}", q(&k.kind));
            view! {
                <tr>
                    <td><a href=href>{k.kind.clone()}</a></td>
                    <td class="num" data-label="requests">{fmt::int(k.requests)}</td>
                    <td class="num" data-label="errors">{fmt::int(k.errors)}</td>
                    <td class="num" data-label="tokens">{fmt::int(k.tokens)}</td>
                    <td class="num" data-label="cost">{fmt::cost(Some(k.cost_usd))}</td>
                    <td class="num" data-label="p50">{fmt::ms(k.p50_ms)}</td>
                    <td class="num" data-label="p95">{fmt::ms(k.p95_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    let by_tokens: Vec<(String, f64)> = o.top_agents.iter().filter(|a| a.tokens > 0).map(|a| (a.agent.clone(), a.tokens as f64)).collect();
    let by_cost: Vec<(String, f64)> = o.top_agents_by_cost.iter().filter(|a| a.cost_usd > 0.0).map(|a| (a.agent.clone(), a.cost_usd)).collect();
    let agent_charts = [
        (!by_tokens.is_empty()).then(|| charts::bar_list("Tokens per agent, last 24 hours", Unit::Tokens, &by_tokens)),
        (!by_cost.is_empty()).then(|| charts::bar_list("Cost per agent, last 24 hours", Unit::Usd, &by_cost)),
    ]
    .into_iter()
    .flatten()
    .map(|svg| view! { <div class="chart-cell" inner_html=svg></div> })
    .collect_view();
    let closest_rows = o
        .budgets_closest
        .iter()
        .map(|b| {
            let href = format!("/agents/{}", q(&b.agent));
            view! { <tr><td><a href=href>{b.agent.clone()}</a></td><td>{budget_meter(&b.window)}</td></tr> }
        })
        .collect_view();
    let pending = (o.pending_approvals > 0).then(|| {
        let text = format!("{} tool call{} waiting for a person", fmt::int(o.pending_approvals), if o.pending_approvals == 1 { " is" } else { "s are" });
        view! { <p class="flash attention"><a href="/approvals">{text} " — decide →"</a></p> }
    });
    let cache = (o.cache.lookups > 0).then(|| {
        let rate = |c: &weir_api::CacheSummary| c.hit_rate().map_or_else(String::new, |r| format!("{:.1} %", r * 100.0));
        let rows = o
            .cache_by_agent
            .iter()
            .map(|(agent, c)| {
                let href = format!("/agents/{}", q(agent));
                view! {
                    <tr>
                        <td><a href=href>{agent.clone()}</a></td>
                        <td class="num" data-label="hit rate">{rate(c)}</td>
                        <td class="num" data-label="hits">{fmt::int(c.hits)}</td>
                        <td class="num" data-label="calls">{fmt::int(c.lookups)}</td>
                        <td class="num" data-label="tokens saved">{fmt::int(c.saved_tokens)}</td>
                        <td class="num" data-label="cost saved">{fmt::cost(Some(c.saved_cost_usd))}</td>
                    </tr>
                }
            })
            .collect_view();
        let total = format!(
            "{} of {} calls answered from the cache ({}), saving {} tokens and {}.",
            fmt::int(o.cache.hits),
            fmt::int(o.cache.lookups),
            rate(&o.cache),
            fmt::int(o.cache.saved_tokens),
            fmt::cost(Some(o.cache.saved_cost_usd))
        );
        view! {
            <section id="cache">
                <h2>"Response cache"</h2>
                <p>{total}</p>
                <table>
                    <thead><tr><th>"agent"</th><th>"hit rate"</th><th>"hits"</th><th>"calls"</th><th>"tokens saved"</th><th>"cost saved"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
    });
    let hint = format!("Nothing in the last 24 hours — point an agent's base URL at {gateway_url}/v1, or its MCP client at {gateway_url}/mcp.");
    let quiet = o.kinds.is_empty();
    view! {
        {pending}
        <p class="muted">"The last 24 hours (by the hour) and the last hour (by the minute); latency leaves out time spent waiting for a person."</p>
        {if quiet {
            view! { <p class="empty">{hint}</p> }.into_any()
        } else {
            view! {
                <table>
                    <thead><tr><th>"kind"</th><th>"requests"</th><th>"errors"</th><th>"tokens"</th><th>"cost"</th><th>"p50"</th><th>"p95"</th></tr></thead>
                    <tbody>{kind_rows}</tbody>
                </table>
                <h2>"Last 24 hours"</h2>
                {period_charts(&o.hourly, "by the hour")}
                <h2>"Last hour"</h2>
                {period_charts(&o.last_hour, "by the minute")}
                <h2>"Agents"</h2>
                <div class="charts">{agent_charts}</div>
            }.into_any()
        }}
        {cache}
        <section>
            <h2>"Budgets closest to running out"</h2>
            {o.budgets_closest.is_empty().then(|| view! { <p class="empty">"No budgets set. Set one on an agent's page."</p> })}
            {(!o.budgets_closest.is_empty()).then(|| view! {
                <table>
                    <thead><tr><th>"agent"</th><th>"budget (open window)"</th></tr></thead>
                    <tbody>{closest_rows}</tbody>
                </table>
            })}
        </section>
    }
}

pub fn models(list: &ModelsList) -> impl IntoView {
    let rows = list
        .models
        .iter()
        .map(|m| {
            let target_items = m
                .targets
                .iter()
                .map(|t| {
                    let class = if t.circuit == "closed" { "ok" } else { "bad" };
                    let keyless = list.providers.iter().any(|p| p.name == t.provider && !p.key_set);
                    view! {
                        <li>{t.provider.clone()} " / " {t.model.clone()} " — circuit " <span class=class>{t.circuit.clone()}</span>
                            {format!(" ({} failures, {} successes)", t.failures, t.successes)}
                            {keyless.then(|| view! { " " <span class="bad">"no API key"</span> })}
                        </li>
                    }
                })
                .collect_view();
            let h = &m.last_hour;
            let href = format!("/traces?model={}", q(&m.name));
            view! {
                <tr>
                    <td><a href=href>{m.name.clone()}</a></td>
                    <td>{m.kind.clone()}</td>
                    <td><ul class="findings">{target_items}</ul></td>
                    <td class="num" data-label="calls, last hour">{fmt::int(h.requests)}</td>
                    <td class="num" data-label="errors">{if h.requests > 0 { format!("{:.1}%", h.error_rate * 100.0) } else { String::new() }}</td>
                    <td class="num" data-label="mean latency">{fmt::ms(h.mean_latency_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    let provider_rows = list
        .providers
        .iter()
        .map(|p| {
            let key = match (p.key_set, &p.api_key_env) {
                (true, Some(var)) => format!("set (from ${var})"),
                (true, None) => "set".to_string(),
                (false, Some(var)) => format!("not set: ${var} is empty or missing — its calls fail"),
                (false, None) => "none configured".to_string(),
            };
            let class = if p.key_set || p.api_key_env.is_none() { "ok" } else { "bad" };
            view! { <tr><td>{p.name.clone()}</td><td>{p.kind.clone()}</td><td><code>{p.base_url.clone()}</code></td><td class=class>{key}</td></tr> }
        })
        .collect_view();
    view! {
        {list.models.is_empty().then(|| view! { <p class="empty">"No models configured: add [[models]] to the config file."</p> })}
        <table>
            <thead><tr><th>"model"</th><th>"API"</th><th>"targets (failover order)"</th><th>"calls, last hour"</th><th>"errors"</th><th>"mean latency"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <section>
            <h2>"Providers"</h2>
            <table>
                <thead><tr><th>"provider"</th><th>"API"</th><th>"base URL"</th><th>"API key"</th></tr></thead>
                <tbody>{provider_rows}</tbody>
            </table>
        </section>
    }
}

/// Guardrail actions by model: those set, and a form to set one model's.
pub fn model_guardrails(list: &ModelsList, g: &weir_api::GuardrailsList, csrf: &str) -> impl IntoView {
    (!g.guardrails.is_empty()).then(|| {
        let set = g
            .models
            .iter()
            .map(|(m, o)| {
                let actions = o.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
                view! { <tr><td>{m.clone()}</td><td>{actions}</td></tr> }
            })
            .collect_view();
        let names: Vec<String> = list.models.iter().map(|m| m.name.clone()).collect();
        view! {
            <section>
                <h2>"Guardrails by model"</h2>
                {g.models.is_empty().then(|| view! { <p class="empty">"No model has actions of its own: every call runs the configured ones (or its agent's)."</p> })}
                {(!g.models.is_empty()).then(|| view! { <table><thead><tr><th>"model"</th><th>"actions"</th></tr></thead><tbody>{set}</tbody></table> })}
                {super::guardrail_form("/models/guardrails".to_string(), &g.guardrails, &Default::default(), csrf, Some(&names))}
                <p class="muted">"Setting every action to \"as configured\" removes the model's own."</p>
            </section>
        }
    })
}

/// A cache setting as a line of text; a TTL or semantic cache left as configured goes unsaid.
pub fn cache_setting_text(s: &weir_api::CacheSettingView) -> String {
    let on = match s.enabled {
        Some(true) => "on",
        Some(false) => "off",
        None => "on or off as configured",
    };
    let mut text = on.to_string();
    if let Some(t) = s.ttl_secs {
        text.push_str(&format!(", answers kept {t} s"));
    }
    if let Some(semantic) = s.semantic {
        text.push_str(if semantic { ", semantic on" } else { ", semantic off" });
    }
    text
}

/// The form that sets a cache setting (`names`: a model to choose, on the models page).
pub fn cache_form(action: String, csrf: &str, names: Option<&[String]>) -> impl IntoView {
    let model = names.map(|names| {
        let options = names.iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view();
        view! { <label>"Model " <select name="model">{options}</select></label> }
    });
    view! {
        <form method="post" action=action class="inline">
            <input type="hidden" name="csrf" value=csrf.to_string()/>
            {model}
            <label>"Cache " <select name="enabled">
                <option value="">"as configured"</option>
                <option value="on">"on"</option>
                <option value="off">"off"</option>
            </select></label>
            <label>"TTL (seconds) " <input type="text" name="ttl_secs" inputmode="numeric"/></label>
            <label>"Semantic " <select name="semantic">
                <option value="">"as configured"</option>
                <option value="on">"on"</option>
                <option value="off">"off"</option>
            </select></label>
            <button type="submit">"Save"</button>
        </form>
    }
}

pub fn model_cache(list: &ModelsList, c: &weir_api::CacheSettingsList, csrf: &str) -> impl IntoView {
    let mut rows: Vec<(String, String, &str)> = c.config_models.iter().map(|(m, s)| (m.clone(), cache_setting_text(s), "config")).collect();
    rows.extend(c.models.iter().map(|(m, s)| (m.clone(), cache_setting_text(s), "set here")));
    let rows = rows.into_iter().map(|(m, t, from)| view! { <tr><td>{m}</td><td>{t}</td><td>{from}</td></tr> }).collect_view();
    let names: Vec<String> = list.models.iter().map(|m| m.name.clone()).collect();
    let default = format!(
        "By default the cache is {} and keeps answers {} s{}; semantic {}.",
        if c.enabled { "on" } else { "off" },
        c.ttl_secs,
        if c.shared { ", shared by every replica through Redis" } else { " in each process" },
        if c.semantic { "on" } else { "off" }
    );
    let purge_models = names.iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view();
    view! {
        <section id="cache">
            <h2>"Response cache by model"</h2>
            <p>{default}</p>
            <table><thead><tr><th>"model"</th><th>"setting"</th><th>"from"</th></tr></thead><tbody>{rows}</tbody></table>
            {cache_form("/models/cache".to_string(), csrf, Some(&names))}
            <form method="post" action="/models/cache/purge" class="inline">
                <input type="hidden" name="csrf" value=csrf.to_string()/>
                <label>"Model " <select name="model">{purge_models}</select></label>
                <button type="submit">"Purge its cached answers"</button>
            </form>
            <p class="muted">"An agent's setting wins over its model's; a setting here wins over the config's."</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use weir_api::CacheSettingView;

    #[test]
    fn a_cache_setting_says_the_semantic_cache_only_when_it_sets_it() {
        let on = CacheSettingView { enabled: Some(true), ttl_secs: Some(60), semantic: Some(true) };
        assert_eq!(super::cache_setting_text(&on), "on, answers kept 60 s, semantic on");
        let off = CacheSettingView { enabled: None, ttl_secs: None, semantic: Some(false) };
        assert_eq!(super::cache_setting_text(&off), "on or off as configured, semantic off");
        let plain = CacheSettingView { enabled: Some(false), ttl_secs: None, semantic: None };
        assert_eq!(super::cache_setting_text(&plain), "off");
    }
}
