//! Tool calls held until a person approves them.
//!
//! A held call is a row in the database (`pending`), so that a decision taken through any
//! replica's admin API reaches the call wherever it waits: the waiter is woken at once by a
//! decision on its own replica and otherwise sees one within [`POLL`]. The call ends one of four
//! ways — approved (it goes to the backend), denied, expired, or abandoned by a client that
//! cancelled or went away — and exactly one of them wins, because each is a conditional update
//! of the pending row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{ApprovalRow, ApprovalStatus, NewApproval, Store, StoreError};

/// How often a waiting call looks for a decision taken on another replica.
pub const POLL: Duration = Duration::from_millis(250);

/// How a held call ended.
#[derive(Debug)]
pub enum Held {
    Approved(ApprovalRow),
    Denied(ApprovalRow),
    Expired(ApprovalRow),
    /// The client cancelled the call or went away (`true`: this waiter marked it so, and
    /// records the decision).
    Abandoned(ApprovalRow, bool),
    /// The hold could not be recorded or followed: the database is away.
    Unavailable(StoreError),
}

#[derive(Default)]
pub struct Approvals {
    local: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Approvals {
    /// Wakes the call held for `id` on this replica, if any (after a decision was stored).
    pub fn wake(&self, id: &str) {
        if let Some(n) = self.local.lock().unwrap_or_else(PoisonError::into_inner).get(id) {
            n.notify_one();
        }
    }

    /// Records the call as pending and waits for its end. `expired_by_me` in the result tells
    /// whether this waiter settled an expiry (and so records it).
    pub async fn hold(&self, store: &Store, new: &NewApproval<'_>, timeout: Duration, cancel: &CancellationToken, gone: &CancellationToken) -> (Held, bool) {
        if let Err(e) = store.insert_approval(new).await {
            return (Held::Unavailable(e), false);
        }
        let notify = Arc::new(Notify::new());
        self.local.lock().unwrap_or_else(PoisonError::into_inner).insert(new.id.to_string(), notify.clone());
        let out = self.wait(store, new.id, timeout, &notify, cancel, gone).await;
        self.local.lock().unwrap_or_else(PoisonError::into_inner).remove(new.id);
        out
    }

    async fn wait(&self, store: &Store, id: &str, timeout: Duration, notify: &Notify, cancel: &CancellationToken, gone: &CancellationToken) -> (Held, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        // Whether this waiter settled the approval (expired or abandoned it), kept across
        // retries so that the decision is recorded once, by the one that made it.
        let mut settled_here = false;
        let mut settled = false;
        loop {
            // What ends the wait from this side, if anything.
            let mut settle: Option<(ApprovalStatus, &str)> = None;
            if !settled {
                tokio::select! {
                    () = notify.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                    () = tokio::time::sleep_until(deadline) => settle = Some((ApprovalStatus::Expired, "no decision in time")),
                    () = cancel.cancelled() => settle = Some((ApprovalStatus::Abandoned, "the client cancelled the call")),
                    () = gone.cancelled() => settle = Some((ApprovalStatus::Abandoned, "the client went away")),
                }
            }
            if let Some((to, why)) = settle {
                match store.settle_approval(id, to, None, Some(why)).await {
                    Ok(won) => {
                        settled_here = won;
                        settled = true;
                    }
                    Err(e) => {
                        tracing::warn!(approval = id, error = %e, "cannot settle an approval; retrying");
                        if tokio::time::Instant::now() > deadline + Duration::from_secs(30) {
                            return (Held::Unavailable(e), false);
                        }
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                }
            }
            let row = match store.approval(id).await {
                Ok(Some(r)) => r,
                Ok(None) => return (Held::Unavailable(StoreError::NotFound(format!("approval {id} is gone"))), false),
                Err(e) => {
                    tracing::debug!(approval = id, error = %e, "approval not readable; retrying");
                    if tokio::time::Instant::now() > deadline + Duration::from_secs(30) {
                        return (Held::Unavailable(e), false);
                    }
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            return match row.status {
                ApprovalStatus::Pending => {
                    settled = false;
                    continue;
                }
                ApprovalStatus::Approved => (Held::Approved(row), false),
                ApprovalStatus::Denied => (Held::Denied(row), false),
                ApprovalStatus::Expired => (Held::Expired(row), settled_here),
                ApprovalStatus::Abandoned => (Held::Abandoned(row, settled_here), settled_here),
            };
        }
    }
}
