//! Call metrics in the OpenTelemetry GenAI and MCP semantic conventions, kept from the audit
//! events as they are recorded and served in Prometheus text at `/metrics`.
//!
//! Histograms: `gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
//! `gen_ai.client.operation.time_to_first_chunk` and `mcp.server.operation.duration` (with the
//! buckets the conventions advise), named as Prometheus names them (dots to underscores, the
//! unit as a suffix). Labels are bounded: operation, model, provider, agent, token type, MCP
//! method and server, error type — never a user, session or request id, or a raw path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::{Kind, Metric, Table, Value};
use crate::audit::AuditEvent;

const TOKEN_BUCKETS: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 67108864.0];
const SECONDS_BUCKETS: &[f64] = &[0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

struct Histogram {
    /// One count per bucket, the last above the highest bound.
    counts: Vec<AtomicU64>,
    /// The sum in millionths of the unit.
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(buckets: &'static [f64]) -> Self {
        Self { counts: (0..=buckets.len()).map(|_| AtomicU64::new(0)).collect(), sum_micros: AtomicU64::new(0), count: AtomicU64::new(0) }
    }

    fn observe(&self, buckets: &[f64], v: f64) {
        let i = buckets.iter().position(|b| v <= *b).unwrap_or(buckets.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add((v.max(0.0) * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }
}

/// One histogram: a series per attribute set.
struct Family {
    name: &'static str,
    prometheus: &'static str,
    unit: &'static str,
    help: &'static str,
    buckets: &'static [f64],
    table: Table<Histogram>,
}

impl Family {
    fn new(name: &'static str, prometheus: &'static str, unit: &'static str, help: &'static str, buckets: &'static [f64], keys: &'static [&'static str]) -> Self {
        Self { name, prometheus, unit, help, buckets, table: Table::new(keys) }
    }

    fn observe(&self, values: &[&str], v: f64) {
        self.table.with(values, || Histogram::new(self.buckets), |h| h.observe(self.buckets, v));
    }

    fn metric(&self) -> Metric {
        let bounds = self.buckets;
        let mut m = Metric::new(self.name, self.prometheus, self.unit, Kind::Histogram, self.help);
        m.points = self.table.points(|h| {
            let counts: Vec<u64> = h.counts.iter().map(|c| c.load(Relaxed)).collect();
            // Read apart from the buckets, the count could be behind them; the buckets decide.
            let count = counts.iter().sum();
            Value::Buckets { bounds, counts, sum: h.sum_micros.load(Relaxed) as f64 / 1e6, count }
        });
        m
    }
}

const LLM_KEYS: [&str; 4] = ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "weir.agent"];

/// The names a label may take, from configuration: anything else a client sends is `unknown`
/// (a model) or `other` (an MCP method or server).
#[derive(Debug, Default)]
pub struct KnownNames {
    pub models: std::collections::HashSet<String>,
    pub mcp_servers: std::collections::HashSet<String>,
    pub guardrails: std::collections::HashSet<String>,
}

impl KnownNames {
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            models: config.models.iter().map(|m| m.name.clone()).collect(),
            mcp_servers: config.mcp.servers.iter().map(|s| s.name.clone()).collect(),
            guardrails: config.guardrails.list.iter().map(|g| g.name.clone()).collect(),
        }
    }
}

/// MCP methods as labels: the protocol's own (any other a client sends is `other`).
const MCP_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/list",
    "tasks/result",
    "tasks/cancel",
];

pub struct CallMetrics {
    known: arc_swap::ArcSwap<KnownNames>,
    token_usage: Family,
    duration: Family,
    first_chunk: Family,
    mcp_duration: Family,
    a2a_duration: Family,
    failover: Table<AtomicU64>,
    guardrails: Table<AtomicU64>,
    /// Response cache lookups by outcome; what hits saved (tokens, and cost in micro-USD).
    cache: Table<AtomicU64>,
    cache_saved_tokens: Table<AtomicU64>,
    cache_saved_micro_usd: Table<AtomicU64>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        const TOKENS: &[&str] = &["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "weir.agent", "gen_ai.token.type"];
        const DURATION: &[&str] = &["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "weir.agent", "error.type"];
        const MCP: &[&str] = &["mcp.method.name", "weir.mcp.server", "error.type", "weir.agent"];
        const A2A: &[&str] = &["weir.a2a.method", "gen_ai.agent.name", "error.type", "weir.agent"];
        Self {
            known: arc_swap::ArcSwap::from_pointee(KnownNames::default()),
            token_usage: Family::new(
                "gen_ai.client.token.usage",
                "gen_ai_client_token_usage",
                "{token}",
                "Tokens used per LLM call (gen_ai.client.token.usage).",
                TOKEN_BUCKETS,
                TOKENS,
            ),
            duration: Family::new(
                "gen_ai.client.operation.duration",
                "gen_ai_client_operation_duration_seconds",
                "s",
                "LLM call duration (gen_ai.client.operation.duration).",
                SECONDS_BUCKETS,
                DURATION,
            ),
            first_chunk: Family::new(
                "gen_ai.client.operation.time_to_first_chunk",
                "gen_ai_client_operation_time_to_first_chunk_seconds",
                "s",
                "Time to the first chunk of a streamed LLM answer (gen_ai.client.operation.time_to_first_chunk).",
                SECONDS_BUCKETS,
                &LLM_KEYS,
            ),
            mcp_duration: Family::new(
                "mcp.server.operation.duration",
                "mcp_server_operation_duration_seconds",
                "s",
                "MCP request duration at Weir's endpoint (mcp.server.operation.duration).",
                SECONDS_BUCKETS,
                MCP,
            ),
            a2a_duration: Family::new(
                "weir.a2a.operation.duration",
                "weir_a2a_operation_duration_seconds",
                "s",
                "A2A request duration at Weir's endpoint, by method (v1.0's names for both versions), agent called, error and caller.",
                SECONDS_BUCKETS,
                A2A,
            ),
            failover: Table::new(&["target", "outcome"]),
            guardrails: Table::new(&["weir.guardrail", "weir.guardrail.action", "weir.guardrail.direction", "weir.call.kind"]),
            cache: Table::new(&["weir.cache.outcome", "gen_ai.request.model", "weir.agent"]),
            cache_saved_tokens: Table::new(&["gen_ai.request.model", "weir.agent"]),
            cache_saved_micro_usd: Table::new(&["gen_ai.request.model", "weir.agent"]),
        }
    }
}

impl CallMetrics {
    /// The configured names labels may take (at start and on each config reload).
    pub fn set_known(&self, known: KnownNames) {
        self.known.store(std::sync::Arc::new(known));
    }

    /// Counts one recorded call.
    pub fn observe(&self, e: &AuditEvent) {
        fn text(v: &Option<String>) -> &str {
            v.as_deref().unwrap_or("")
        }
        let known = self.known.load();
        let error = text(&e.error_type);
        if let Some(fired) = e.guardrails.as_deref() {
            // Guardrail names come from configuration; a record that names another is not counted.
            for f in serde_json::from_str::<Vec<crate::guard::engine::Fired>>(fired).unwrap_or_default() {
                if known.guardrails.contains(&f.guardrail) {
                    self.guardrails.with(&[&f.guardrail, f.action.as_str(), f.direction.as_str(), &e.kind], AtomicU64::default, |c| {
                        c.fetch_add(1, Relaxed);
                    });
                }
            }
        }
        match e.kind.as_str() {
            "llm" => {
                let model = match e.model_requested.as_deref() {
                    Some(m) if known.models.contains(m) => m,
                    _ => "unknown",
                };
                let base = [e.operation.as_str(), text(&e.provider), model, text(&e.agent_name)];
                let [op, provider, model, agent] = base;
                for (kind, n) in [("input", e.input_tokens), ("output", e.output_tokens)] {
                    if let Some(n) = n {
                        self.token_usage.observe(&[op, provider, model, agent, kind], n as f64);
                    }
                }
                self.duration.observe(&[op, provider, model, agent, error], e.latency_ms / 1000.0);
                if let Some(outcome) = e.cache.as_deref() {
                    let outcome = ["hit", "semantic_hit", "miss", "bypass"].into_iter().find(|o| *o == outcome).unwrap_or("other");
                    self.cache.with(&[outcome, model, agent], AtomicU64::default, |c| {
                        c.fetch_add(1, Relaxed);
                    });
                    if let Some(n) = e.cache_saved_tokens {
                        self.cache_saved_tokens.with(&[model, agent], AtomicU64::default, |c| {
                            c.fetch_add(u64::try_from(n).unwrap_or(0), Relaxed);
                        });
                    }
                    if let Some(usd) = e.cache_saved_cost_usd {
                        self.cache_saved_micro_usd.with(&[model, agent], AtomicU64::default, |c| {
                            c.fetch_add((usd.max(0.0) * 1e6).round() as u64, Relaxed);
                        });
                    }
                }
                if let Some(t) = e.ttft_ms.filter(|_| e.streamed) {
                    self.first_chunk.observe(&base, t / 1000.0);
                }
                // Only calls that tried more than one target, or one more than once, are read.
                if let Some(attempts) = e.attempts.as_deref().filter(|a| a.contains("},{")) {
                    for a in serde_json::from_str::<Vec<serde_json::Value>>(attempts).unwrap_or_default() {
                        let target = format!("{}/{}", a["provider"].as_str().unwrap_or(""), a["model"].as_str().unwrap_or(""));
                        let outcome = if a["error"].is_null() { "ok" } else { "error" };
                        self.failover.with(&[&target, outcome], AtomicU64::default, |c| {
                            c.fetch_add(1, Relaxed);
                        });
                    }
                }
            }
            "mcp" => {
                let method = MCP_METHODS.iter().find(|m| **m == e.operation).copied().unwrap_or("other");
                let server = match e.mcp_server.as_deref() {
                    None => "",
                    Some(s) if known.mcp_servers.contains(s) => s,
                    Some(_) => "other",
                };
                self.mcp_duration.observe(&[method, server, error, text(&e.agent_name)], e.latency_ms / 1000.0);
            }
            // Targets are registered agents (a request to an unknown one is not recorded).
            "a2a" => {
                let method = crate::a2a::protocol::metric_method(&e.operation);
                self.a2a_duration.observe(&[method, text(&e.a2a_target), error, text(&e.agent_name)], e.latency_ms / 1000.0);
            }
            _ => {}
        }
    }

    /// The call metrics as they stand.
    pub fn collect(&self, out: &mut Vec<Metric>) {
        for f in [&self.token_usage, &self.duration, &self.first_chunk, &self.mcp_duration, &self.a2a_duration] {
            out.push(f.metric());
        }
        let mut failover = Metric::new(
            "weir.failover.attempts",
            "weir_failover_attempts_total",
            "{attempt}",
            Kind::Counter,
            "Tries of each target in calls that needed more than one (retries and failovers), by outcome.",
        );
        failover.points = self.failover.points(|c| Value::Int(c.load(Relaxed)));
        out.push(failover);
        let mut guardrails = Metric::new(
            "weir.guardrail.verdicts",
            "weir_guardrail_verdicts_total",
            "{verdict}",
            Kind::Counter,
            "Calls on which a guardrail fired, by guardrail, action taken, direction and kind of call.",
        );
        guardrails.points = self.guardrails.points(|c| Value::Int(c.load(Relaxed)));
        out.push(guardrails);
        let mut cache = Metric::new(
            "weir.cache.lookups",
            "weir_cache_lookups_total",
            "{call}",
            Kind::Counter,
            "LLM calls the response cache was on for, by outcome (hit, semantic_hit, miss, bypass), model and agent.",
        );
        cache.points = self.cache.points(|c| Value::Int(c.load(Relaxed)));
        out.push(cache);
        let mut saved = Metric::new(
            "weir.cache.saved.tokens",
            "weir_cache_saved_tokens_total",
            "{token}",
            Kind::Counter,
            "Provider tokens that answers served from the cache took to make, saved by serving them again.",
        );
        saved.points = self.cache_saved_tokens.points(|c| Value::Int(c.load(Relaxed)));
        out.push(saved);
        let mut saved_cost = Metric::new(
            "weir.cache.saved.cost",
            "weir_cache_saved_cost_usd_total",
            "USD",
            Kind::Counter,
            "What answers served from the cache cost to make, saved by serving them again.",
        );
        saved_cost.points = self.cache_saved_micro_usd.points(|c| Value::Float(c.load(Relaxed) as f64 / 1e6));
        out.push(saved_cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_configuration_never_from_what_a_client_sent() {
        let m = CallMetrics::default();
        m.set_known(KnownNames { models: ["gpt-x".to_string()].into(), mcp_servers: ["files".to_string()].into(), ..Default::default() });
        for i in 0..300 {
            m.observe(&AuditEvent { kind: "llm".into(), operation: "chat".into(), model_requested: Some(format!("made-up-{i}")), latency_ms: 1.0, ..Default::default() });
            m.observe(&AuditEvent { kind: "mcp".into(), operation: format!("x/{i}"), mcp_server: Some(format!("srv{i}")), latency_ms: 1.0, ..Default::default() });
        }
        m.observe(&AuditEvent { kind: "llm".into(), operation: "chat".into(), model_requested: Some("gpt-x".into()), latency_ms: 1.0, ..Default::default() });
        m.observe(&AuditEvent { kind: "mcp".into(), operation: "tools/call".into(), mcp_server: Some("files".into()), latency_ms: 1.0, ..Default::default() });
        let mut metrics = Vec::new();
        m.collect(&mut metrics);
        let out = super::super::prometheus::render(&metrics);
        assert!(!out.contains("made-up") && !out.contains("x/1") && !out.contains("srv1"), "a client's names became labels");
        assert!(out.contains(r#"gen_ai_request_model="unknown""#) && out.contains(r#"gen_ai_request_model="gpt-x""#));
        assert!(out.contains(r#"mcp_method_name="other",weir_mcp_server="other""#) && out.contains(r#"mcp_method_name="tools/call",weir_mcp_server="files""#));
        // 300 made-up names later, one series each for the unknowns.
        assert_eq!(out.matches("gen_ai_client_operation_duration_seconds_count{").count(), 2, "{out}");
    }

    #[test]
    fn histograms_render_cumulative_buckets_with_bounded_labels() {
        let m = CallMetrics::default();
        m.set_known(KnownNames { models: ["gpt-x".to_string()].into(), ..Default::default() });
        let e = AuditEvent {
            kind: "llm".into(),
            operation: "chat".into(),
            provider: Some("openai".into()),
            model_requested: Some("gpt-x".into()),
            agent_name: Some("bot".into()),
            session_id: Some("s-1".into()),
            end_user: Some("alice".into()),
            input_tokens: Some(10),
            output_tokens: Some(300),
            latency_ms: 150.0,
            ..Default::default()
        };
        m.observe(&e);
        m.observe(&e);
        let mut metrics = Vec::new();
        m.collect(&mut metrics);
        let out = super::super::prometheus::render(&metrics);
        assert!(out.contains(r#"gen_ai_client_token_usage_bucket{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",gen_ai_token_type="input",le="16"} 2"#), "{out}");
        assert!(out.contains(r#"gen_ai_client_token_usage_bucket{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",gen_ai_token_type="output",le="256"} 0"#));
        assert!(out.contains(r#"gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",error_type=""} 2"#));
        assert!(out.contains(r#"gen_ai_client_operation_duration_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",error_type=""} 0.3"#));
        assert!(!out.contains("s-1") && !out.contains("alice"), "no session or user label");
    }
}
