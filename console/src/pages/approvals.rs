//! Tool calls held for a person: decide the pending ones, read the decided ones.

use leptos::prelude::*;
use weir_api::Approval;

use super::{q, session_link};
use crate::fmt;

fn args_text(a: &Approval) -> String {
    serde_json::to_string_pretty(&a.arguments).unwrap_or_default()
}

pub fn approvals(pending: &[Approval], history: &[Approval], csrf: &str) -> impl IntoView {
    let pending_rows = pending
        .iter()
        .map(|a| {
            let (approve, deny) = (format!("/approvals/{}/approve", q(&a.id)), format!("/approvals/{}/deny", q(&a.id)));
            let (c1, c2) = (csrf.to_string(), csrf.to_string());
            let session = a.session_id.as_deref().filter(|s| !s.is_empty()).map(|s| session_link(a.agent_name.as_deref(), s));
            view! {
                <tr>
                    <td>{fmt::time(a.created_at)}</td>
                    <td>{a.agent_name.clone().unwrap_or_default()}{session.map(|s| view! { <br/>{s} })}</td>
                    <td>{a.end_user.clone().unwrap_or_default()}</td>
                    <td><code>{a.tool.clone()}</code></td>
                    <td><pre>{args_text(a)}</pre></td>
                    <td>{fmt::time(a.expires_at)}</td>
                    <td class="decide">
                        <form method="post" action=approve class="inline">
                            <input type="hidden" name="csrf" value=c1/>
                            <input type="text" name="reason" placeholder="reason (optional)" aria-label="reason for approving"/>
                            <button type="submit">"Approve"</button>
                        </form>
                        <form method="post" action=deny class="inline">
                            <input type="hidden" name="csrf" value=c2/>
                            <input type="text" name="reason" placeholder="reason" aria-label="reason for denying"/>
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
                    <td>{fmt::time(a.created_at)}</td>
                    <td>{a.agent_name.clone().unwrap_or_default()}</td>
                    <td><code>{a.tool.clone()}</code></td>
                    <td>{a.status.as_str()}</td>
                    <td>{a.decided_by.clone().unwrap_or_default()}</td>
                    <td>{a.decided_at.map(|t| fmt::ms(Some((t - a.created_at) as f64))).unwrap_or_default()}</td>
                    <td>{a.reason.clone().unwrap_or_default()}</td>
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
                <thead><tr><th>{format!("held ({})", fmt::zone_label())}</th><th>"agent"</th><th>"tool"</th><th>"outcome"</th><th>"by"</th><th>"waited"</th><th>"reason"</th></tr></thead>
                <tbody>{history_rows}</tbody>
            </table>
        </section>
    }
}
