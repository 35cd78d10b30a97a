//! The webhook guardrail: an outside service (Presidio, Llama Guard, one's own) shown the texts
//! of a request or an answer, with who sends them and where they go, and answering pass, mask
//! (with replacements) or block.
//!
//! Weir POSTs `{"guardrail", "direction", "agent", "user", "model", "stream", "texts": [..]}`;
//! the service answers `{"action": "pass"}`, `{"action": "mask", "replacements": [{"find":
//! "jane@corp.example", "replace": "[EMAIL]"}]}` or `{"action": "block", "reason": "…"}`. No
//! answer within the timeout, a status other than 2xx, or an answer that is none of these is a
//! failure, handled by the guardrail's failure mode.

use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::json;

use super::engine::Verdict;
use super::json::{self, Text};
use super::policy::{Action, Detector, Direction, FailureMode, Policy, Webhook};

/// Who a call is for: what a webhook is told besides the texts.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub agent: String,
    pub user: Option<String>,
    pub model: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    action: String,
    #[serde(default)]
    replacements: Vec<Replacement>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Replacement {
    find: String,
    replace: String,
}

enum Said {
    Pass,
    Mask(Vec<Replacement>),
    Block(Option<String>),
    Failed(String),
}

/// The most an answer may be: the service's reply, bounded.
const MAX_ANSWER_BYTES: usize = 1 << 20;

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| reqwest::Client::builder().pool_max_idle_per_host(16).build().unwrap_or_default());

async fn ask(w: &Webhook, body: &serde_json::Value) -> Said {
    let mut req = CLIENT.post(&w.url).timeout(w.timeout).json(body);
    for (k, v) in &w.headers {
        req = req.header(k, v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Said::Failed("timeout".into()),
        Err(_) => return Said::Failed("unreachable".into()),
    };
    if !resp.status().is_success() {
        return Said::Failed(format!("http_{}", resp.status().as_u16()));
    }
    let bytes = match resp.bytes().await {
        Ok(b) if b.len() <= MAX_ANSWER_BYTES => b,
        Ok(_) => return Said::Failed("answer_too_large".into()),
        Err(e) if e.is_timeout() => return Said::Failed("timeout".into()),
        Err(_) => return Said::Failed("unreachable".into()),
    };
    match serde_json::from_slice::<Answer>(&bytes) {
        Ok(a) if a.action == "pass" => Said::Pass,
        Ok(a) if a.action == "mask" => Said::Mask(a.replacements.into_iter().filter(|r| !r.find.is_empty()).collect()),
        Ok(a) if a.action == "block" => Said::Block(a.reason),
        _ => Said::Failed("bad_answer".into()),
    }
}

impl Policy {
    /// Checks a JSON document on `dir`: the built-in guardrails, then the webhooks on what they
    /// left. The audit copy keeps every value found masked (those a webhook masked too).
    pub async fn check_document(&self, dir: Direction, raw: &str, cx: &Context) -> super::engine::Checked {
        let mut checked = self.check_json(dir, raw);
        if checked.verdict.blocked.is_none() && self.has_webhooks(dir) {
            let doc = checked.outgoing.as_deref().unwrap_or(raw);
            if let Some(masked) = self.check_webhooks(dir, doc, false, false, cx, &mut checked.verdict).await {
                checked.captured = Some(self.check_json(dir, &masked).masked_all().unwrap_or_else(|| masked.clone()));
                checked.outgoing = Some(masked);
            }
        }
        checked
    }

    /// Whether a webhook runs on `dir`.
    pub fn has_webhooks(&self, dir: Direction) -> bool {
        self.active(dir).any(|(_, g, _)| matches!(g.detector, Detector::Webhook(_)))
    }

    /// Shows the texts of `raw` (a JSON document, or plain text when `plain`) to each webhook
    /// active on `dir`, in order, each seeing what the ones before it left. Returns the
    /// document as it goes on when a webhook masked something.
    pub async fn check_webhooks(&self, dir: Direction, raw: &str, plain: bool, stream: bool, cx: &Context, verdict: &mut Verdict) -> Option<String> {
        let mut current: Option<String> = None;
        for (_, g, action) in self.active(dir) {
            let Detector::Webhook(w) = &g.detector else { continue };
            let doc = current.as_deref().unwrap_or(raw);
            let found: Vec<Text> = if plain {
                vec![Text { start: 0, end: doc.len(), escaped: false, trusted: false }]
            } else {
                let mut t = Vec::new();
                json::texts(doc, &mut t);
                t
            };
            let texts: Vec<String> = found.iter().map(|t| if plain { doc.to_string() } else { json::read(doc, t).into_owned() }).collect();
            if texts.is_empty() {
                continue;
            }
            let body = json!({
                "guardrail": g.name,
                "direction": dir.as_str(),
                "agent": cx.agent,
                "user": cx.user,
                "model": cx.model,
                "stream": stream,
                "texts": texts,
            });
            match ask(w, &body).await {
                Said::Pass => {}
                Said::Mask(replacements) if action >= Action::Mask => {
                    let mut edits: Vec<(Text, String)> = Vec::new();
                    let mut n = 0u32;
                    for (t, text) in found.iter().zip(&texts) {
                        let mut out = text.clone();
                        for r in &replacements {
                            let c = out.matches(&r.find).count();
                            if c > 0 {
                                n += u32::try_from(c).unwrap_or(u32::MAX);
                                out = out.replace(&r.find, &r.replace);
                            }
                        }
                        if &out != text {
                            edits.push((*t, out));
                        }
                    }
                    if n > 0 {
                        verdict.count(&g.name, Action::Mask, dir, "masked", n);
                        current = Some(if plain { edits.pop().map(|e| e.1).unwrap_or_default() } else { json::rewrite(doc, &edits) });
                    }
                }
                Said::Mask(_) => verdict.count(&g.name, Action::Flag, dir, "mask", 1),
                Said::Block(reason) => {
                    let taken = if action == Action::Block { Action::Block } else { Action::Flag };
                    verdict.count(&g.name, taken, dir, "block", 1);
                    if let Some(r) = reason {
                        tracing::debug!(guardrail = g.name, reason = %crate::audit::clip(&r), "webhook guardrail said block");
                    }
                }
                Said::Failed(why) => {
                    tracing::warn!(guardrail = g.name, url = %w.url, failure = why, "webhook guardrail failed");
                    let taken = if w.on_failure == FailureMode::Block && action == Action::Block { Action::Block } else { Action::Flag };
                    verdict.count(&g.name, taken, dir, &format!("failure_{why}"), 1);
                }
            }
            if verdict.blocked.is_some() {
                break;
            }
        }
        current
    }
}
