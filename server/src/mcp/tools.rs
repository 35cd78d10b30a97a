//! What Weir knows of each backend tool's definition: its scan findings and its pin.
//!
//! A definition is learned from a backend's `tools/list` answer. A new one (by the hash of its
//! canonical JSON) is scanned once and recorded in the database: pinned when the tool is new, or
//! as a change from the pin. What is known is kept here, in memory, so that lists and calls ask
//! nothing of the database; it is reloaded when another replica or an operator changes a pin.
//! Per server, the configured action decides what a suspicious or changed tool is allowed:
//!
//! | action | suspicious (findings) | changed since pinned |
//! | --- | --- | --- |
//! | `flag` | listed, callable, flagged | listed, callable, flagged |
//! | `hide` | hidden, calls refused (unless approved) | listed, callable, flagged |
//! | `block_until_approved` | hidden until approved | hidden until approved |

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::scan::{self, Finding};
use crate::config::SuspiciousTools;
use crate::store::{Store, ToolRow};

#[derive(Debug, Clone)]
struct Known {
    /// The current definition's hash.
    hash: String,
    pinned_hash: String,
    approved_hash: Option<String>,
    findings: Vec<Finding>,
    /// Whether this definition is in the database (a failed write is tried again next time).
    recorded: bool,
}

impl Known {
    fn from_row(r: &ToolRow) -> Self {
        Self {
            hash: r.current_hash.clone(),
            pinned_hash: r.pinned_hash.clone(),
            approved_hash: r.approved_hash.clone(),
            findings: serde_json::from_value(r.findings.clone()).unwrap_or_default(),
            recorded: true,
        }
    }

    fn withheld(&self, action: SuspiciousTools) -> Option<String> {
        let approved = self.approved_hash.as_deref() == Some(self.hash.as_str());
        let suspicious = !self.findings.is_empty();
        let changed = self.hash != self.pinned_hash;
        let rules = || self.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>().join(", ");
        match action {
            SuspiciousTools::Flag => None,
            SuspiciousTools::Hide if suspicious && !approved => Some(format!("its definition looks like tool poisoning ({})", rules())),
            SuspiciousTools::Hide => None,
            SuspiciousTools::BlockUntilApproved if approved => None,
            SuspiciousTools::BlockUntilApproved if suspicious => {
                Some(format!("its definition looks like tool poisoning ({}) and awaits an operator's approval", rules()))
            }
            SuspiciousTools::BlockUntilApproved if changed => Some("its definition changed since it was pinned and awaits an operator's approval".into()),
            SuspiciousTools::BlockUntilApproved => None,
        }
    }
}

/// Whether a tool may be listed and called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused, and why (said to the caller).
    Withheld(String),
    /// Weir has not seen this tool's definition yet.
    Unknown,
}

pub struct ToolGuard {
    store: Store,
    known: RwLock<HashMap<(String, String), Known>>,
    /// Counts what was written into `known` one tool at a time (learned, approved), under its
    /// lock: a reload whose rows were read before such a write does not replace it.
    writes: std::sync::atomic::AtomicU64,
}

impl ToolGuard {
    pub fn new(store: Store) -> Self {
        Self { store, known: RwLock::new(HashMap::new()), writes: std::sync::atomic::AtomicU64::new(0) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(String, String), Known>> {
        self.known.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<(String, String), Known>> {
        self.known.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reloads every known definition from the database (pins approved or changed elsewhere).
    /// Rows read before a tool was learned or approved here would undo it: then they are read
    /// again (the write is in the database by then), up to three times, and otherwise what is
    /// known stays until the next reload.
    pub async fn reload(&self) -> Result<(), crate::store::StoreError> {
        for _ in 0..3 {
            let writes = self.writes.load(std::sync::atomic::Ordering::SeqCst);
            let rows = self.store.list_tools().await?;
            let fresh = rows.iter().map(|r| ((r.server.clone(), r.tool.clone()), Known::from_row(r))).collect();
            if self.replace_unless_written(fresh, writes) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Replaces what is known with `fresh`, read when [`Self::put`] had written `writes` times,
    /// unless it has written since.
    fn replace_unless_written(&self, fresh: HashMap<(String, String), Known>, writes: u64) -> bool {
        let mut known = self.write();
        let unchanged = self.writes.load(std::sync::atomic::Ordering::SeqCst) == writes;
        if unchanged {
            *known = fresh;
        }
        unchanged
    }

    /// Writes what is known of one tool.
    fn put(&self, key: (String, String), known: Known) {
        let mut map = self.write();
        self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        map.insert(key, known);
    }

    /// Learns the definitions of one `tools/list` page of `server` (scanning and recording
    /// those not seen before) and returns, for each, whether it may be listed.
    pub async fn learn(&self, server: &str, action: SuspiciousTools, tools: &[Value]) -> Vec<bool> {
        let mut out = Vec::with_capacity(tools.len());
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                out.push(false);
                continue;
            };
            let (text, hash) = scan::canonical(tool);
            let key = (server.to_string(), name.to_string());
            let seen = self.read().get(&key).is_some_and(|k| k.hash == hash && k.recorded);
            if !seen {
                let findings = scan::scan_tool(tool);
                let before = self.read().get(&key).cloned();
                let known = self.record(server, name, &hash, &text, findings, before).await;
                self.put(key.clone(), known);
            }
            out.push(self.read().get(&key).is_none_or(|k| k.withheld(action).is_none()));
        }
        out
    }

    async fn record(&self, server: &str, name: &str, hash: &str, text: &str, findings: Vec<Finding>, before: Option<Known>) -> Known {
        let findings_json = serde_json::to_string(&findings).unwrap_or_else(|_| "[]".into());
        match self.store.record_tool(server, name, hash, text, &findings_json).await {
            Ok(row) => {
                let known = Known::from_row(&row);
                if !known.findings.is_empty() {
                    tracing::warn!(server, tool = name, findings = %findings_json, "MCP tool definition looks like tool poisoning");
                }
                if known.hash != known.pinned_hash {
                    let diff = serde_json::Value::Array(scan::diff(&row.pinned_definition, &row.current_definition)).to_string();
                    tracing::warn!(server, tool = name, diff = %diff, "MCP tool definition changed since it was pinned");
                }
                known
            }
            Err(e) => {
                // Not recorded: judged against the pin known before (a change stays a change), or
                // pinned here when the tool is new; what scanning found applies either way.
                tracing::error!(server, tool = name, error = %e, "cannot record an MCP tool definition");
                let (pinned_hash, approved_hash) = before.map_or_else(|| (hash.to_string(), None), |b| (b.pinned_hash, b.approved_hash));
                Known { hash: hash.to_string(), pinned_hash, approved_hash, findings, recorded: false }
            }
        }
    }

    /// Whether `tool` (the backend's name) on `server` may be called. `flag` servers never
    /// look anything up.
    pub fn verdict(&self, server: &str, tool: &str, action: SuspiciousTools) -> Verdict {
        if action == SuspiciousTools::Flag {
            return Verdict::Allowed;
        }
        match self.read().get(&(server.to_string(), tool.to_string())) {
            None => Verdict::Unknown,
            Some(k) => k.withheld(action).map_or(Verdict::Allowed, Verdict::Withheld),
        }
    }

    /// How many known tools have findings, and how many changed since pinned.
    pub fn flag_counts(&self) -> (usize, usize) {
        let known = self.read();
        (known.values().filter(|k| !k.findings.is_empty()).count(), known.values().filter(|k| k.hash != k.pinned_hash).count())
    }

    /// After an operator approved a definition: what is known of that tool now.
    pub fn update(&self, row: &ToolRow) {
        self.put((row.server.clone(), row.tool.clone()), Known::from_row(row));
    }

    /// Whether the tool is listed under `action`, for the admin API.
    pub fn row_withheld(row: &ToolRow, action: SuspiciousTools) -> Option<String> {
        Known::from_row(row).withheld(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(findings: bool, changed: bool, approved: bool) -> Known {
        Known {
            hash: "h2".into(),
            pinned_hash: if changed { "h1" } else { "h2" }.into(),
            approved_hash: approved.then(|| "h2".into()),
            findings: if findings { vec![Finding { rule: "hidden-markup".into(), location: "description".into(), excerpt: "<IMPORTANT>".into() }] } else { vec![] },
            recorded: true,
        }
    }

    #[tokio::test]
    async fn a_reload_read_before_a_tool_was_approved_does_not_undo_the_approval() {
        let guard = ToolGuard::new(Store::connect("sqlite::memory:", 1).await.unwrap());
        let key = ("srv".to_string(), "deploy".to_string());
        let read_before = guard.writes.load(std::sync::atomic::Ordering::SeqCst);
        guard.put(key.clone(), known(false, true, true));
        // Rows read before the approval (the tool unknown then) do not replace it…
        assert!(!guard.replace_unless_written(HashMap::new(), read_before));
        assert_eq!(guard.verdict("srv", "deploy", SuspiciousTools::BlockUntilApproved), Verdict::Allowed);
        // …rows read after it do.
        let read_after = guard.writes.load(std::sync::atomic::Ordering::SeqCst);
        assert!(guard.replace_unless_written(HashMap::new(), read_after));
        assert_eq!(guard.verdict("srv", "deploy", SuspiciousTools::BlockUntilApproved), Verdict::Unknown);
    }

    #[test]
    fn each_action_withholds_what_the_table_says() {
        use SuspiciousTools::*;
        for (findings, changed, approved, flag, hide, block) in [
            (false, false, false, true, true, true),
            (true, false, false, true, false, false),
            (false, true, false, true, true, false),
            (true, true, false, true, false, false),
            (true, false, true, true, true, true),
            (false, true, true, true, true, true),
        ] {
            let k = known(findings, changed, approved);
            assert_eq!(k.withheld(Flag).is_none(), flag, "flag {findings} {changed} {approved}");
            assert_eq!(k.withheld(Hide).is_none(), hide, "hide {findings} {changed} {approved}");
            assert_eq!(k.withheld(BlockUntilApproved).is_none(), block, "block {findings} {changed} {approved}");
        }
    }
}

/// When each server's tools were last listed because a client called a name Weir had not seen
/// listed: a server is listed again for that at most once per interval, and a call to an
/// unknown name in between is refused at once (a client guessing names would otherwise have
/// Weir relist a backend per guess). Calls that find a listing under way wait for it instead of
/// starting another. Keyed by configured server only: nothing a client names is kept.
#[derive(Default)]
pub struct Relists {
    servers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<LastListing>>>>,
}

/// When a server was last listed for an unknown name, and whether that worked.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastListing {
    at: Option<(Instant, bool)>,
}

/// How long a failed listing holds the next back: short, as the backend may be back soon, but
/// long enough that callers waiting on a failing backend do not list it one after another.
const FAILED_LISTING_BACKOFF: Duration = Duration::from_secs(2);

impl LastListing {
    /// Whether another listing is not due yet: a successful one is good for `interval`, a
    /// failed one holds the next back for a moment.
    pub fn recent(&self, interval: Duration) -> bool {
        self.at.is_some_and(|(at, ok)| at.elapsed() < if ok { interval } else { FAILED_LISTING_BACKOFF.min(interval) })
    }

    pub fn note(&mut self, ok: bool) {
        self.at = Some((Instant::now(), ok));
    }
}

impl Relists {
    /// The server's turn to be listed: held while listing; holds when it was last listed.
    pub async fn turn(&self, server: &str) -> tokio::sync::OwnedMutexGuard<LastListing> {
        let gate = {
            let mut servers = self.servers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            servers.entry(server.to_string()).or_default().clone()
        };
        gate.lock_owned().await
    }
}

#[cfg(test)]
mod relist_tests {
    use super::*;

    #[tokio::test]
    async fn a_server_is_relisted_at_most_once_per_interval_and_callers_wait_for_a_listing_under_way() {
        let r = Arc::new(Relists::default());
        let every = Duration::from_millis(200);
        let mut s = r.turn("s").await;
        assert!(!s.recent(every));
        // Another caller for the same server waits; one for another server does not.
        let waiting = tokio::spawn({
            let r = r.clone();
            async move { *r.turn("s").await }
        });
        assert!(!r.turn("t").await.recent(every), "per server");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "a listing under way is waited for");
        s.note(true);
        drop(s);
        assert!(waiting.await.unwrap().recent(every), "the waiter sees the listing just made");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!r.turn("s").await.recent(every), "due again after the interval");
        // A failed listing holds the next back too, for a shorter while.
        r.turn("t").await.note(false);
        assert!(r.turn("t").await.recent(Duration::from_secs(30)));
    }
}
