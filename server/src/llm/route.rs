//! Which target serves a call: the plan (priority groups, weights) and a circuit breaker per
//! target.
//!
//! A target's circuit opens after `circuit_failures` consecutive failures and stays open for a
//! cooldown that doubles each time it reopens (up to `circuit_max_cooldown_ms`); then one probe
//! is let through (half-open): success closes it, failure opens it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::config::{FailoverSection, Model, Target};

pub fn target_key(t: &Target) -> String {
    format!("{}/{}", t.provider, t.model)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Circuit {
    failures: u32,
    state: CircuitState,
    open_until: Option<Instant>,
    /// How many times it has opened in a row (the cooldown doubles with each).
    opens: u32,
    probe_in_flight: bool,
    total_failures: u64,
    total_successes: u64,
}

impl Default for Circuit {
    fn default() -> Self {
        Self { failures: 0, state: CircuitState::Closed, open_until: None, opens: 0, probe_in_flight: false, total_failures: 0, total_successes: 0 }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CircuitView {
    pub target: String,
    pub state: CircuitState,
    pub consecutive_failures: u32,
    pub reopens_in_ms: Option<u64>,
    pub failures: u64,
    pub successes: u64,
}

#[derive(Default)]
pub struct Circuits {
    map: Mutex<HashMap<String, Circuit>>,
}

impl Circuits {
    /// The targets in the order to try them: by priority; within a priority, a weighted random
    /// order. Targets whose circuit is open go last (they are tried only when all else fails).
    pub fn plan<'m>(&self, model: &'m Model) -> Vec<&'m Target> {
        if let [only] = model.targets.as_slice() {
            return vec![only];
        }
        let mut groups: Vec<(u32, Vec<&Target>)> = Vec::new();
        for t in &model.targets {
            match groups.iter_mut().find(|(p, _)| *p == t.priority) {
                Some((_, g)) => g.push(t),
                None => groups.push((t.priority, vec![t])),
            }
        }
        groups.sort_by_key(|(p, _)| *p);
        let mut rng = rand::rng();
        let mut out = Vec::with_capacity(model.targets.len());
        for (_, mut g) in groups {
            while !g.is_empty() {
                let total: u32 = g.iter().map(|t| t.weight).sum();
                let mut pick = rng.random_range(0..total.max(1));
                let idx = g.iter().position(|t| {
                    if pick < t.weight {
                        true
                    } else {
                        pick -= t.weight;
                        false
                    }
                });
                out.push(g.remove(idx.unwrap_or(0)));
            }
        }
        let now = Instant::now();
        let open: Vec<bool> = {
            let map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            out.iter()
                .map(|t| map.get(&target_key(t)).is_some_and(|c| c.state == CircuitState::Open && c.open_until.is_some_and(|u| u > now)))
                .collect()
        };
        let (mut healthy, mut failing): (Vec<_>, Vec<_>) = out.into_iter().zip(open).partition(|(_, o)| !o);
        healthy.append(&mut failing);
        healthy.into_iter().map(|(t, _)| t).collect()
    }

    /// Whether a call may go to this target now.
    pub fn allow(&self, key: &str) -> bool {
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(c) = map.get_mut(key) else { return true };
        match c.state {
            CircuitState::Closed => true,
            CircuitState::Open => {
                if c.open_until.is_some_and(|u| Instant::now() >= u) {
                    c.state = CircuitState::HalfOpen;
                    c.probe_in_flight = true;
                    true
                } else {
                    false
                }
            }
            CircuitState::HalfOpen => {
                if c.probe_in_flight {
                    false
                } else {
                    c.probe_in_flight = true;
                    true
                }
            }
        }
    }

    pub fn success(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = match map.get_mut(key) {
            Some(c) => c,
            None => map.entry(key.to_string()).or_default(),
        };
        if c.state != CircuitState::Closed {
            tracing::info!(target = key, "circuit closed: the target answers again");
        }
        *c = Circuit { total_failures: c.total_failures, total_successes: c.total_successes + 1, ..Default::default() };
    }

    pub fn failure(&self, key: &str, cfg: &FailoverSection) {
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = map.entry(key.to_string()).or_default();
        c.failures += 1;
        c.total_failures += 1;
        c.probe_in_flight = false;
        let reopen = c.state == CircuitState::HalfOpen;
        if reopen || c.failures >= cfg.circuit_failures {
            let factor = 1u64 << c.opens.min(16);
            let cooldown = (cfg.circuit_cooldown_ms.saturating_mul(factor)).min(cfg.circuit_max_cooldown_ms);
            c.state = CircuitState::Open;
            c.open_until = Some(Instant::now() + Duration::from_millis(cooldown));
            c.opens += 1;
            tracing::warn!(target = key, cooldown_ms = cooldown, "circuit opened: target ejected after consecutive failures");
        }
    }

    pub fn views(&self) -> Vec<CircuitView> {
        let map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let mut v: Vec<CircuitView> = map
            .iter()
            .map(|(k, c)| CircuitView {
                target: k.clone(),
                state: c.state,
                consecutive_failures: c.failures,
                reopens_in_ms: c.open_until.filter(|_| c.state == CircuitState::Open).map(|u| u.saturating_duration_since(now).as_millis() as u64),
                failures: c.total_failures,
                successes: c.total_successes,
            })
            .collect();
        v.sort_by(|a, b| a.target.cmp(&b.target));
        v
    }

    pub fn view(&self, key: &str) -> Option<CircuitView> {
        self.views().into_iter().find(|v| v.target == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;

    fn target(p: &str, priority: u32, weight: u32) -> Target {
        Target { provider: p.into(), model: "m".into(), priority, weight }
    }

    fn cfg() -> FailoverSection {
        FailoverSection { circuit_failures: 2, circuit_cooldown_ms: 50, circuit_max_cooldown_ms: 150, ..Default::default() }
    }

    #[test]
    fn circuit_opens_probes_and_closes() {
        let c = Circuits::default();
        let k = "a/m";
        assert!(c.allow(k));
        c.failure(k, &cfg());
        assert!(c.allow(k), "one failure is not enough");
        c.failure(k, &cfg());
        assert!(!c.allow(k), "open after two");
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.allow(k), "half-open: one probe");
        assert!(!c.allow(k), "only one probe at a time");
        c.failure(k, &cfg());
        assert_eq!(c.view(k).unwrap().state, CircuitState::Open);
        // Reopened: the cooldown doubled (100 ms).
        std::thread::sleep(Duration::from_millis(60));
        assert!(!c.allow(k));
        std::thread::sleep(Duration::from_millis(50));
        assert!(c.allow(k));
        c.success(k);
        assert_eq!(c.view(k).unwrap().state, CircuitState::Closed);
        assert!(c.allow(k) && c.allow(k));
    }

    #[test]
    fn plan_orders_by_priority_and_puts_open_circuits_last() {
        let model = Model {
            name: "m".into(),
            kind: ProviderKind::Openai,
            targets: vec![target("a", 0, 1), target("b", 1, 1), target("c", 1, 1)],
            price: None,
        };
        let c = Circuits::default();
        let plan = c.plan(&model);
        assert_eq!(plan[0].provider, "a");
        c.failure("a/m", &cfg());
        c.failure("a/m", &cfg());
        let plan = c.plan(&model);
        assert_eq!(plan.last().unwrap().provider, "a");
        // Weighted group: b (weight 9) comes first most of the time.
        let model = Model { targets: vec![target("b", 0, 9), target("c", 0, 1)], ..model };
        let firsts = (0..200).filter(|_| c.plan(&model)[0].provider == "b").count();
        assert!(firsts > 150, "{firsts}");
    }
}
