//! Counters behind budgets and rate limits: one trait, an in-process implementation and (in
//! `redis.rs`) a Redis one shared by replicas.
//!
//! A counter holds committed usage plus outstanding reservations. `reserve` is all-or-nothing
//! across every counter a call touches: it adds each amount only if every counter stays within
//! its limit. `adjust` later moves a counter by the difference between real usage and the
//! reservation.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::future::BoxFuture;

/// One counter a call must fit in.
#[derive(Debug, Clone)]
pub struct Charge {
    pub key: String,
    pub amount: i64,
    pub limit: i64,
    /// When the counter's window ends (unix ms); the counter may be forgotten after it.
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Delta {
    pub key: String,
    /// Real usage minus what was reserved.
    pub delta: i64,
    /// Real usage: applied instead of `delta` when the reservation was made against state that
    /// has since been lost and rebuilt (a Redis restart).
    pub full: i64,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Every charge fitted; the counters' values after it, in order.
    Admitted { values: Vec<i64>, epoch: String },
    /// Charge `index` did not fit; nothing was added.
    Refused { index: usize, current: i64 },
    /// The shared state was lost (Redis restarted) and must be rebuilt before use.
    NeedsSeed,
}

#[derive(Debug, thiserror::Error)]
#[error("counter store unavailable: {0}")]
pub struct CounterError(pub String);

pub trait Counters: Send + Sync {
    fn reserve<'a>(&'a self, charges: &'a [Charge], now_ms: i64) -> BoxFuture<'a, Result<Reserved, CounterError>>;
    fn adjust<'a>(&'a self, deltas: &'a [Delta], epoch: &'a str, now_ms: i64) -> BoxFuture<'a, Result<(), CounterError>>;
    fn read<'a>(&'a self, keys: &'a [String], now_ms: i64) -> BoxFuture<'a, Result<Vec<i64>, CounterError>>;
    /// Whether the state is there (false after Redis lost its data).
    fn seeded<'a>(&'a self) -> BoxFuture<'a, Result<bool, CounterError>> {
        Box::pin(async { Ok(true) })
    }
    /// Sets counters rebuilt from the audit store, unless another replica already did.
    fn seed<'a>(&'a self, values: &'a [(String, i64, i64)], now_ms: i64) -> BoxFuture<'a, Result<(), CounterError>>;
}

/// This process's own counters.
#[derive(Default)]
pub struct InProcess {
    map: Mutex<HashMap<String, (i64, i64)>>,
    ops: std::sync::atomic::AtomicU64,
}

impl InProcess {
    /// Forgets counters whose window has ended, now and then.
    fn sweep(map: &mut HashMap<String, (i64, i64)>, now_ms: i64) {
        map.retain(|_, (_, expires)| *expires > now_ms);
    }

    pub fn reserve_now(&self, charges: &[Charge], now_ms: i64) -> Reserved {
        let Ok(mut map) = self.map.lock() else { return Reserved::NeedsSeed };
        if self.ops.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(4096) {
            Self::sweep(&mut map, now_ms);
        }
        for (i, c) in charges.iter().enumerate() {
            let cur = map.get(&c.key).filter(|(_, e)| *e > now_ms).map_or(0, |(v, _)| *v);
            if cur + c.amount > c.limit {
                return Reserved::Refused { index: i, current: cur };
            }
        }
        let mut values = Vec::with_capacity(charges.len());
        for c in charges {
            let entry = map.entry(c.key.clone()).or_insert((0, c.expires_at_ms));
            if entry.1 <= now_ms {
                *entry = (0, c.expires_at_ms);
            }
            entry.0 += c.amount;
            values.push(entry.0);
        }
        Reserved::Admitted { values, epoch: String::new() }
    }

    pub fn adjust_now(&self, deltas: &[Delta], now_ms: i64) {
        let Ok(mut map) = self.map.lock() else { return };
        for d in deltas {
            if d.expires_at_ms <= now_ms {
                continue;
            }
            let entry = map.entry(d.key.clone()).or_insert((0, d.expires_at_ms));
            entry.0 += d.delta;
        }
    }

    pub fn read_now(&self, keys: &[String], now_ms: i64) -> Vec<i64> {
        let Ok(map) = self.map.lock() else { return vec![0; keys.len()] };
        keys.iter().map(|k| map.get(k).filter(|(_, e)| *e > now_ms).map_or(0, |(v, _)| *v)).collect()
    }

    pub fn seed_now(&self, values: &[(String, i64, i64)]) {
        let Ok(mut map) = self.map.lock() else { return };
        for (k, v, expires) in values {
            map.insert(k.clone(), (*v, *expires));
        }
    }
}

impl Counters for InProcess {
    fn reserve<'a>(&'a self, charges: &'a [Charge], now_ms: i64) -> BoxFuture<'a, Result<Reserved, CounterError>> {
        let r = self.reserve_now(charges, now_ms);
        Box::pin(async move { Ok(r) })
    }
    fn adjust<'a>(&'a self, deltas: &'a [Delta], _epoch: &'a str, now_ms: i64) -> BoxFuture<'a, Result<(), CounterError>> {
        self.adjust_now(deltas, now_ms);
        Box::pin(async { Ok(()) })
    }
    fn read<'a>(&'a self, keys: &'a [String], now_ms: i64) -> BoxFuture<'a, Result<Vec<i64>, CounterError>> {
        let v = self.read_now(keys, now_ms);
        Box::pin(async move { Ok(v) })
    }
    fn seed<'a>(&'a self, values: &'a [(String, i64, i64)], _now_ms: i64) -> BoxFuture<'a, Result<(), CounterError>> {
        self.seed_now(values);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(key: &str, amount: i64, limit: i64) -> Charge {
        Charge { key: key.into(), amount, limit, expires_at_ms: 10_000 }
    }

    #[test]
    fn reserve_is_all_or_nothing() {
        let c = InProcess::default();
        assert!(matches!(c.reserve_now(&[charge("a", 6, 10), charge("b", 6, 100)], 0), Reserved::Admitted { .. }));
        // "a" would overflow: neither counter moves.
        assert_eq!(c.reserve_now(&[charge("b", 6, 100), charge("a", 6, 10)], 0), Reserved::Refused { index: 1, current: 6 });
        assert_eq!(c.read_now(&["a".into(), "b".into()], 0), vec![6, 6]);
        c.adjust_now(&[Delta { key: "a".into(), delta: -4, full: 2, expires_at_ms: 10_000 }], 0);
        assert_eq!(c.read_now(&["a".into()], 0), vec![2]);
        assert!(matches!(c.reserve_now(&[charge("a", 8, 10)], 0), Reserved::Admitted { .. }));
    }

    #[test]
    fn counters_reset_when_their_window_ends() {
        let c = InProcess::default();
        c.reserve_now(&[charge("a", 10, 10)], 0);
        assert!(matches!(c.reserve_now(&[charge("a", 1, 10)], 9_999), Reserved::Refused { .. }));
        let next = Charge { key: "a".into(), amount: 10, limit: 10, expires_at_ms: 20_000 };
        assert!(matches!(c.reserve_now(&[next], 10_000), Reserved::Admitted { .. }));
    }
}
