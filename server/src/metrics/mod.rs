//! Weir's metrics: one snapshot model, served as Prometheus text at `/metrics` and pushed over
//! OTLP when the standard `OTEL_EXPORTER_OTLP_*` variables ask for it.
//!
//! Call metrics follow the OpenTelemetry GenAI and MCP semantic conventions ([`calls`]); Weir's
//! own cover the audit pipeline, limits, circuits, approvals, tool findings, budgets and span
//! export. Attributes are bounded: operation, model, provider, agent, token type, MCP method and
//! server, error type, target — never a user, session or request id, or a raw path.

pub mod calls;
pub mod otlp;
pub mod prometheus;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::RwLock;

pub use calls::{CallMetrics, KnownNames};

use crate::state::AppState;
use crate::store::ApprovalStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric and its points, as both exports see it.
#[derive(Debug, Clone)]
pub struct Metric {
    /// The OpenTelemetry name (`gen_ai.client.token.usage`).
    pub name: &'static str,
    /// The Prometheus name (`gen_ai_client_token_usage`).
    pub prometheus: &'static str,
    /// UCUM unit, as OTLP carries it.
    pub unit: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone)]
pub struct Point {
    /// Attribute keys in OpenTelemetry form; Prometheus writes their dots as underscores.
    pub attributes: Vec<(&'static str, String)>,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub enum Value {
    Int(u64),
    Float(f64),
    /// Explicit-bucket histogram: `counts` has one entry per bound plus the overflow bucket.
    Buckets { bounds: &'static [f64], counts: Vec<u64>, sum: f64, count: u64 },
}

impl Metric {
    fn new(name: &'static str, prometheus: &'static str, unit: &'static str, kind: Kind, help: &'static str) -> Self {
        Self { name, prometheus, unit, help, kind, points: Vec::new() }
    }

    fn single(mut self, value: Value) -> Self {
        self.points.push(Point { attributes: Vec::new(), value });
        self
    }

    fn point(&mut self, attributes: Vec<(&'static str, String)>, value: Value) {
        self.points.push(Point { attributes, value });
    }
}

/// Series keyed by attribute values under a fixed list of keys. A recorded value finds its
/// series from borrowed strings; only a new series allocates.
pub(crate) struct Table<T> {
    keys: &'static [&'static str],
    /// By the hash of the values: the series whose values hash alike.
    series: RwLock<HashMap<u64, Vec<Series<T>>, BuildHash>>,
}

/// The tables' hashing: foldhash, seeded at random per table (the standard library's SipHash
/// costs a few thousand instructions a call here, for attribute values that are names from the
/// configuration; a collision only lengthens a bucket's list).
type BuildHash = foldhash::quality::RandomState;

/// A series' attribute values (in the table's key order) and its state.
type Series<T> = (Box<[String]>, T);

/// The longest attribute value kept, in characters.
const MAX_VALUE_CHARS: usize = 128;

/// A value as it is kept: its first `MAX_VALUE_CHARS` characters.
fn clipped(v: &str) -> &str {
    if v.len() <= MAX_VALUE_CHARS {
        return v;
    }
    v.char_indices().nth(MAX_VALUE_CHARS).map_or(v, |(i, _)| &v[..i])
}

fn hash_values(build: &BuildHash, values: &[&str]) -> u64 {
    use std::hash::BuildHasher;
    let mut h = build.build_hasher();
    for v in values {
        clipped(v).hash(&mut h);
    }
    h.finish()
}

/// Whether a kept series is the one of `values` (compared as they are kept).
fn same(stored: &[String], values: &[&str]) -> bool {
    stored.len() == values.len() && stored.iter().zip(values).all(|(a, b)| a == clipped(b))
}

impl<T> Table<T> {
    pub(crate) fn new(keys: &'static [&'static str]) -> Self {
        Self { keys, series: RwLock::new(HashMap::default()) }
    }

    /// Runs `f` on the series of `values` (one per key), made by `make` the first time.
    pub(crate) fn with(&self, values: &[&str], make: impl FnOnce() -> T, f: impl FnOnce(&T)) {
        debug_assert_eq!(values.len(), self.keys.len());
        let h = {
            let map = self.series.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let h = hash_values(map.hasher(), values);
            if let Some((_, t)) = map.get(&h).and_then(|list| list.iter().find(|(k, _)| same(k, values))) {
                f(t);
                return;
            }
            h
        };
        let mut map = self.series.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = map.entry(h).or_default();
        let i = match list.iter().position(|(k, _)| same(k, values)) {
            Some(i) => i,
            None => {
                list.push((values.iter().map(|v| clipped(v).to_string()).collect(), make()));
                list.len() - 1
            }
        };
        f(&list[i].1);
    }

    /// Every series as a point, in a stable order.
    pub(crate) fn points(&self, value: impl Fn(&T) -> Value) -> Vec<Point> {
        let map = self.series.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut points: Vec<Point> = map
            .values()
            .flatten()
            .map(|(values, t)| Point { attributes: self.keys.iter().copied().zip(values.iter().cloned()).collect(), value: value(t) })
            .collect();
        points.sort_by(|a, b| a.attributes.cmp(&b.attributes));
        points
    }
}

/// Everything Weir reports, read now.
pub async fn collect(state: &AppState) -> Vec<Metric> {
    use Kind::{Counter, Gauge};
    let a = state.audit.stats();
    let l = &state.limiter.stats;
    let t = &state.telemetry.stats;
    let int = |v: &std::sync::atomic::AtomicU64| Value::Int(v.load(Relaxed));
    let mut out = vec![
        Metric::new("weir.audit.events.written", "weir_audit_events_written_total", "{event}", Counter, "Audit events written to the database.").single(int(&a.written)),
        Metric::new("weir.audit.queue.depth", "weir_audit_queue_depth", "{event}", Gauge, "Audit events waiting in memory.").single(int(&a.queued)),
        Metric::new("weir.audit.spooled", "weir_audit_spooled_events", "{event}", Gauge, "Audit events waiting in the spool file.").single(int(&a.spooled)),
        Metric::new("weir.audit.events.dropped", "weir_audit_events_dropped_total", "{event}", Counter, "Audit events lost (queue overflow, spool failure, refused by the database).")
            .single(int(&a.dropped)),
        Metric::new("weir.limit.rejections", "weir_limit_rejections_total", "{call}", Counter, "Calls refused by a budget or rate limit.").single(int(&l.refused)),
        Metric::new("weir.budget.excess.tokens", "weir_budget_excess_tokens_total", "{token}", Counter, "Tokens used beyond their reservation (charged all the same).")
            .single(int(&l.excess_tokens)),
        Metric::new("weir.budget.excess.calls", "weir_budget_excess_calls_total", "{call}", Counter, "Calls that used more tokens than they reserved.").single(int(&l.excess_calls)),
        Metric::new("weir.limits.redis.failures", "weir_limits_redis_failures_total", "{operation}", Counter, "Budget and limit operations that could not reach Redis.")
            .single(int(&l.redis_failures)),
        Metric::new("weir.limits.fail_open", "weir_limits_fail_open_total", "{check}", Counter, "Checks done on local counters because Redis was unreachable (fail_open).")
            .single(int(&l.fail_open_fallbacks)),
        Metric::new("weir.spans.exported", "weir_spans_exported_total", "{span}", Counter, "Spans handed to the OTLP exporter and accepted.").single(int(&t.spans_exported)),
    ];
    let mut dropped = Metric::new("weir.spans.dropped", "weir_spans_dropped_total", "{span}", Counter, "Spans lost: the export queue was full, or the exporter failed.");
    dropped.point(vec![("reason", "queue_full".into())], int(&t.spans_dropped_queue_full));
    dropped.point(vec![("reason", "export_failed".into())], int(&t.spans_dropped_export_failed));
    out.push(dropped);
    let mut failures = Metric::new("weir.telemetry.export.failures", "weir_telemetry_export_failures_total", "{export}", Counter, "OTLP exports that failed, by signal.");
    failures.point(vec![("signal", "traces".into())], int(&t.trace_export_failures));
    failures.point(vec![("signal", "metrics".into())], int(&t.metric_export_failures));
    out.push(failures);

    let mut open = Metric::new("weir.connections.open", "weir_connections_open", "{connection}", Gauge, "Client connections open, by port.");
    let mut refused = Metric::new(
        "weir.connections.refused",
        "weir_connections_refused_total",
        "{connection}",
        Counter,
        "Client connections closed at once because a cap was reached (in total, or for the client's address), by port.",
    );
    let mut timed_out = Metric::new(
        "weir.connections.timed_out",
        "weir_connections_timed_out_total",
        "{connection}",
        Counter,
        "Client connections closed because the client kept Weir waiting (request head or idle keep-alive), by port.",
    );
    for gate in [&state.gates.gateway, &state.gates.admin] {
        let port = || vec![("port", gate.listener.to_string())];
        open.point(port(), Value::Int(gate.open()));
        refused.point(vec![("port", gate.listener.to_string()), ("reason", "total".into())], int(&gate.refused_total));
        refused.point(vec![("port", gate.listener.to_string()), ("reason", "per_client".into())], int(&gate.refused_per_client));
        timed_out.point(port(), int(&gate.timed_out));
    }
    out.extend([open, refused, timed_out]);

    let mut circuits = Metric::new("weir.circuit.state", "weir_circuit_state", "1", Gauge, "Circuit of each target: 0 closed, 1 open, 2 half-open.");
    for c in state.circuits.views() {
        let v = match c.state {
            crate::llm::route::CircuitState::Closed => 0,
            crate::llm::route::CircuitState::Open => 1,
            crate::llm::route::CircuitState::HalfOpen => 2,
        };
        circuits.point(vec![("target", c.target.clone())], Value::Int(v));
    }
    out.push(circuits);
    state.audit.metrics().collect(&mut out);

    // What waits for people, and what scanning found.
    if let Ok(pending) = state.store.list_approvals(Some(ApprovalStatus::Pending), None, 1000).await {
        out.push(
            Metric::new("weir.approvals.pending", "weir_approvals_pending", "{call}", Gauge, "Tool calls held for a person's approval.").single(Value::Int(pending.len() as u64)),
        );
    }
    let (findings, changed) = state.mcp.tools.flag_counts();
    let mut flagged = Metric::new(
        "weir.mcp.tools.flagged",
        "weir_mcp_tools_flagged",
        "{tool}",
        Gauge,
        "MCP tools whose definitions scanning flagged (findings) or that changed since pinned.",
    );
    flagged.point(vec![("reason", "findings".into())], Value::Int(findings as u64));
    flagged.point(vec![("reason", "changed".into())], Value::Int(changed as u64));
    out.push(flagged);

    // Budget left in each open window, per agent (bounded by the agents with budgets).
    let mut remaining =
        Metric::new("weir.budget.remaining", "weir_budget_remaining", "1", Gauge, "What is left of each budget in its open window (tokens, or US dollars).");
    if let Ok(agents) = state.store.list_agents().await {
        for agent in agents {
            for w in state.limiter.report(&agent.id, &agent.name).await {
                remaining.point(
                    vec![
                        ("weir.agent", agent.name.clone()),
                        ("period", w.period),
                        ("kind", w.kind),
                        ("model", w.model.unwrap_or_default()),
                    ],
                    Value::Float(w.remaining),
                );
            }
        }
    }
    out.push(remaining);
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use super::{Table, MAX_VALUE_CHARS};

    #[test]
    fn a_series_is_found_again_whatever_the_length_of_its_values() {
        let t: Table<AtomicU64> = Table::new(&["model", "agent"]);
        let long = "m".repeat(MAX_VALUE_CHARS + 50);
        let wide = "é".repeat(MAX_VALUE_CHARS + 1);
        for _ in 0..3 {
            for values in [["a", "x"], ["a", "y"], [long.as_str(), "x"], [wide.as_str(), "x"]] {
                t.with(&values, AtomicU64::default, |c| {
                    c.fetch_add(1, Relaxed);
                });
            }
        }
        let points = t.points(|c| super::Value::Int(c.load(Relaxed)));
        // Four series, each counted three times; a long value is kept cut to its first characters.
        assert_eq!(points.len(), 4, "a value past the kept length made a new series on each call");
        assert!(points.iter().all(|p| matches!(p.value, super::Value::Int(3))));
        assert!(points.iter().any(|p| p.attributes[0].1 == "m".repeat(MAX_VALUE_CHARS)));
        assert!(points.iter().any(|p| p.attributes[0].1 == "é".repeat(MAX_VALUE_CHARS)));
    }
}
