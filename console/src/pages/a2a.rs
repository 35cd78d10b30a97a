//! The A2A registry: the agents callers reach through Weir (`/a2a/{agent}`), what their cards
//! say, and the rules of who may call whom; agents and rules can be added and removed here
//! (those of the config file are changed there).

use leptos::prelude::*;
use weir_api::{A2aRegistry, A2aRuleView};

use super::q;

fn list(l: &[String]) -> String {
    l.join(", ")
}

fn rule_text(r: &A2aRuleView) -> String {
    match &r.skills {
        Some(s) => format!("{} → {} (skills {})", list(&r.agents), list(&r.targets), list(s)),
        None => format!("{} → {} (any skill)", list(&r.agents), list(&r.targets)),
    }
}

/// A form that removes what the API set (an agent, a rule) by posting to `action`.
fn remove_button(action: String, csrf: &str) -> impl IntoView {
    let csrf = csrf.to_string();
    view! {
        <form method="post" action=action class="inline">
            <input type="hidden" name="csrf" value=csrf/>
            <button type="submit">"Remove"</button>
        </form>
    }
}

pub fn a2a(reg: &A2aRegistry, csrf: &str) -> impl IntoView {
    let agents = reg
        .agents
        .iter()
        .map(|a| {
            let (card, skills, versions) = match &a.card {
                Some(c) => (
                    format!("{} — {}", c.name, c.description),
                    c.skills.iter().map(|s| format!("{} ({})", s.id, s.name)).collect::<Vec<_>>().join(", "),
                    c.versions.join(", "),
                ),
                None => (format!("card unavailable: {}", a.card_error.clone().unwrap_or_default()), String::new(), String::new()),
            };
            let traces = format!("/traces?kind=a2a&target={}", q(&a.name));
            let remove = (a.source == "api").then(|| remove_button(format!("/a2a/agents/{}/delete", q(&a.name)), csrf));
            view! {
                <tr class=if a.card.is_none() { "flagged" } else { "" }>
                    <td><a href=traces><code>{a.name.clone()}</code></a></td>
                    <td><code>{a.path.clone()}</code></td>
                    <td><code>{a.url.clone()}</code></td>
                    <td>{card}</td>
                    <td>{versions}</td>
                    <td>{skills}</td>
                    <td>{a.header_names.join(", ")}</td>
                    <td>{a.source.clone()}</td>
                    <td>{remove}</td>
                </tr>
            }
        })
        .collect_view();
    let rules = reg
        .rules
        .iter()
        .map(|r| {
            let remove = (r.source == "api").then(|| remove_button(format!("/a2a/rules/{}/delete", r.number), csrf));
            view! { <tr><td>{r.number}</td><td>{rule_text(r)}</td><td>{r.source.clone()}</td><td>{remove}</td></tr> }
        })
        .collect_view();
    let open = if reg.rules.is_empty() {
        "No rule is set: every agent may call every registered agent. Once one rule exists, what no rule allows is denied."
    } else {
        "What no rule allows is denied. A message's skill is its metadata's `skill`, or the target's only skill."
    };
    view! {
        <section id="agents">
            <h2>"Agents callers reach through Weir"</h2>
            {reg.agents.is_empty().then(|| view! { <p class="empty">"No A2A agent is registered: add one below or in the config file ([[a2a.agents]])."</p> })}
            <table>
                <thead><tr><th>"agent"</th><th>"at Weir"</th><th>"its URL"</th><th>"card"</th><th>"versions"</th><th>"skills"</th><th>"headers sent"</th><th>"from"</th><th></th></tr></thead>
                <tbody>{agents}</tbody>
            </table>
            <form method="post" action="/a2a/agents" class="inline">
                <input type="hidden" name="csrf" value=csrf.to_string()/>
                <label>"Name " <input name="name" required=true pattern="[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,63}"/></label>
                <label>"Base URL or card URL " <input name="url" required=true type="url" size="40"/></label>
                <button type="submit">"Register agent"</button>
            </form>
            <p class="muted">"Credentials the agent needs are set as headers through the admin API (PUT /api/v1/a2a/agents/{name}); their values are never shown."</p>
        </section>
        <section id="rules">
            <h2>"Who may call whom"</h2>
            <p>{open}</p>
            <table><thead><tr><th>"#"</th><th>"rule"</th><th>"from"</th><th></th></tr></thead><tbody>{rules}</tbody></table>
            <form method="post" action="/a2a/rules" class="inline">
                <input type="hidden" name="csrf" value=csrf.to_string()/>
                <label>"Callers " <input name="agents" required=true placeholder="planner, ops-*"/></label>
                <label>"Targets " <input name="targets" required=true placeholder="echo"/></label>
                <label>"Skills " <input name="skills" placeholder="any"/></label>
                <button type="submit">"Add rule"</button>
            </form>
        </section>
    }
}
