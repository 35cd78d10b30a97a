//! The shape of Weir's background loops: act on an interval until shutdown.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// An interval whose first tick is immediate and that never bursts to catch up.
pub fn ticker(every: Duration) -> Interval {
    let mut t = tokio::time::interval(every);
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

/// Waits for the next tick; `false` once `stop` is cancelled.
pub async fn next_tick(ticker: &mut Interval, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        _ = ticker.tick() => true,
    }
}
