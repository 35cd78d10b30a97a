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

/// The most replacements an answer may ask for.
const MAX_REPLACEMENTS: usize = 256;

/// How far replacements may grow a text: to this many times its length, plus [`MASK_SLACK`]
/// bytes. A mask puts a placeholder where a value was; past this, the answer is not a mask
/// (each replacement applies to what the ones before it left, so `a` → `aa` twenty times over
/// would make a megabyte of a byte).
const MAX_MASK_GROWTH: usize = 4;
const MASK_SLACK: usize = 64 << 10;

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
    // Read up to the bound, never past it: a service that keeps sending is cut off there.
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
        return Said::Failed("answer_too_large".into());
    }
    let mut resp = resp;
    let mut bytes = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_ANSWER_BYTES => bytes.extend_from_slice(&chunk),
            Ok(Some(_)) => return Said::Failed("answer_too_large".into()),
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Said::Failed("timeout".into()),
            Err(_) => return Said::Failed("unreachable".into()),
        }
    }
    said(&bytes)
}

/// What a service's answer (read whole) says.
fn said(answer: &[u8]) -> Said {
    match serde_json::from_slice::<Answer>(answer) {
        Ok(a) if a.action == "pass" => Said::Pass,
        Ok(a) if a.action == "mask" && a.replacements.len() <= MAX_REPLACEMENTS => Said::Mask(a.replacements.into_iter().filter(|r| !r.find.is_empty()).collect()),
        Ok(a) if a.action == "block" => Said::Block(a.reason),
        _ => Said::Failed("bad_answer".into()),
    }
}

/// `texts` with a webhook's replacements made, each on what the ones before it left, and how
/// many were made; `None` when they would grow a text past what a mask can need.
fn replaced(texts: &[String], replacements: &[Replacement]) -> Option<(Vec<String>, u32)> {
    let mut n = 0u32;
    let mut out = Vec::with_capacity(texts.len());
    for text in texts {
        let bound = text.len().saturating_mul(MAX_MASK_GROWTH).saturating_add(MASK_SLACK);
        let mut t = text.clone();
        for r in replacements {
            let c = t.matches(&r.find).count();
            if c == 0 {
                continue;
            }
            if t.len() - c * r.find.len() + c * r.replace.len() > bound {
                return None;
            }
            n = n.saturating_add(u32::try_from(c).unwrap_or(u32::MAX));
            t = t.replace(&r.find, &r.replace);
        }
        out.push(t);
    }
    Some((out, n))
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
                json::texts_as(doc, super::engine::reading(dir), &mut t);
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
            let said = match ask(w, &body).await {
                Said::Mask(replacements) if action >= Action::Mask => match replaced(&texts, &replacements) {
                    Some((masked, n)) if n > 0 => {
                        verdict.count(&g.name, Action::Mask, dir, "masked", n);
                        let mut edits: Vec<(Text, String)> = found.iter().zip(&texts).zip(masked).filter(|((_, text), out)| out != *text).map(|((t, _), out)| (*t, out)).collect();
                        current = Some(if plain { edits.pop().map(|e| e.1).unwrap_or_default() } else { json::rewrite(doc, &edits) });
                        Said::Pass
                    }
                    Some(_) => Said::Pass,
                    None => Said::Failed("mask_too_large".into()),
                },
                said => said,
            };
            match said {
                Said::Pass => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(find: &str, replace: &str) -> Replacement {
        Replacement { find: find.into(), replace: replace.into() }
    }

    #[test]
    fn replacements_mask_each_text_and_may_not_grow_it_without_bound() {
        let texts = vec!["mail jane@corp.example or jane@corp.example".to_string(), "nothing here".to_string()];
        let (out, n) = replaced(&texts, &[r("jane@corp.example", "[EMAIL]")]).unwrap();
        assert_eq!(out, ["mail [EMAIL] or [EMAIL]", "nothing here"]);
        assert_eq!(n, 2);
        // Each replacement works on what the one before left: a doubling, 24 times over.
        let doubling: Vec<Replacement> = (0..24).map(|_| r("a", "aa")).collect();
        assert!(replaced(&texts, &doubling).is_none());
        // Placeholders longer than what they replace are masks, up to four times the text and 64 KiB.
        let names = vec!["Al ".repeat(30_000)];
        assert!(replaced(&names, &[r("Al", "[PERSON]")]).is_some());
        assert!(replaced(&names, &[r("Al", &"[PERSON]".repeat(4))]).is_none());
        // At the bound (four times the text plus 64 KiB) and one byte past it.
        let text = vec!["x".repeat(1000)];
        let at = MAX_MASK_GROWTH * 1000 + MASK_SLACK;
        assert!(replaced(&text, &[r(&text[0], &"y".repeat(at))]).is_some());
        assert!(replaced(&text, &[r(&text[0], &"y".repeat(at + 1))]).is_none());
    }

    #[test]
    fn an_answer_asks_for_at_most_256_replacements() {
        let answer = |n: usize| serde_json::to_vec(&json!({"action": "mask", "replacements": (0..n).map(|i| json!({"find": format!("v{i}"), "replace": "[X]"})).collect::<Vec<_>>()})).unwrap();
        assert!(matches!(said(&answer(MAX_REPLACEMENTS)), Said::Mask(r) if r.len() == MAX_REPLACEMENTS));
        assert!(matches!(said(&answer(MAX_REPLACEMENTS + 1)), Said::Failed(why) if why == "bad_answer"));
        assert!(matches!(said(br#"{"action": "pass"}"#), Said::Pass));
        assert!(matches!(said(br#"{"action": "allow"}"#), Said::Failed(_)));
    }
}
