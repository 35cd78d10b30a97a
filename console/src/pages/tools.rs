//! MCP tools as Weir saw them: who may call them, what scanning found, changes from the pin.

use leptos::prelude::*;
use weir_api::ToolView;

use super::q;

fn rules_text(t: &ToolView) -> String {
    if t.rules.is_empty() {
        return t.callable_by.clone();
    }
    t.rules
        .iter()
        .map(|r| {
            let users = r.users.as_ref().map(|u| u.join(", ")).unwrap_or_default();
            let args = r.arguments.join(", ");
            format!(
                "rule {}: {}{}{}{}",
                r.rule,
                r.agents.join(", "),
                if users.is_empty() { String::new() } else { format!(" for {users}") },
                if args.is_empty() { String::new() } else { format!(", constrains {args}") },
                if r.require_approval { ", needs approval" } else { "" },
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn tools(tools: &[ToolView], csrf: &str) -> impl IntoView {
    let rows = tools
        .iter()
        .map(|t| {
            let finding_items = t
                .findings
                .iter()
                .map(|f| view! { <li><strong>{f.rule.clone()}</strong> " in " {f.location.clone()} ": " <q>{f.excerpt.clone()}</q></li> })
                .collect_view();
            let diff = (!t.diff.is_null()).then(|| serde_json::to_string_pretty(&t.diff).unwrap_or_default());
            let state = match (t.flagged, t.withheld) {
                (_, true) => format!("withheld: {}", t.withheld_because.clone().unwrap_or_default()),
                (true, false) => "flagged".to_string(),
                _ => "ok".to_string(),
            };
            let action = format!("/tools/{}/{}/approve", q(&t.server), q(&t.tool));
            let hash = t.current_hash.clone();
            let csrf = csrf.to_string();
            let approvable = t.flagged || t.withheld;
            let traces = format!("/traces?tool={}", q(&t.name));
            view! {
                <tr class=if t.withheld { "withheld" } else if t.flagged { "flagged" } else { "" }>
                    <td><a href=traces><code>{t.name.clone()}</code></a></td>
                    <td>{rules_text(t)}</td>
                    <td>{t.action.clone()}</td>
                    <td>{state}</td>
                    <td>
                        {(!t.findings.is_empty()).then(|| view! { <ul class="findings">{finding_items}</ul> })}
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
