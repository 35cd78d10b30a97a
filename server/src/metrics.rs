//! Call metrics in the OpenTelemetry GenAI and MCP semantic conventions, kept from the audit
//! events as they are recorded and served in Prometheus text at `/metrics`.
//!
//! Histograms: `gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
//! `gen_ai.client.operation.time_to_first_chunk` and `mcp.server.operation.duration` (with the
//! buckets the conventions advise), named as Prometheus names them (dots to underscores, the
//! unit as a suffix). Labels are bounded: operation, model, provider, agent, token type, MCP
//! method and server, error type — never a user, session or request id, or a raw path.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use crate::audit::AuditEvent;

const TOKEN_BUCKETS: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 67108864.0];
const SECONDS_BUCKETS: &[f64] = &[0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

struct Histogram {
    buckets: &'static [f64],
    counts: Vec<AtomicU64>,
    /// The sum in millionths of the unit.
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(buckets: &'static [f64]) -> Self {
        Self { buckets, counts: buckets.iter().map(|_| AtomicU64::new(0)).collect(), sum_micros: AtomicU64::new(0), count: AtomicU64::new(0) }
    }

    fn observe(&self, v: f64) {
        if let Some(i) = self.buckets.iter().position(|b| v <= *b) {
            self.counts[i].fetch_add(1, Relaxed);
        }
        self.sum_micros.fetch_add((v.max(0.0) * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }
}

/// A series' labels, in a fixed order.
type Labels = Vec<(&'static str, String)>;

/// One histogram family: a series per label set.
struct Family {
    name: &'static str,
    help: &'static str,
    buckets: &'static [f64],
    series: RwLock<HashMap<Labels, Arc<Histogram>>>,
}

impl Family {
    fn new(name: &'static str, help: &'static str, buckets: &'static [f64]) -> Self {
        Self { name, help, buckets, series: RwLock::new(HashMap::new()) }
    }

    fn observe(&self, labels: Labels, v: f64) {
        if let Some(h) = self.series.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&labels) {
            h.observe(v);
            return;
        }
        let mut map = self.series.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(labels).or_insert_with(|| Arc::new(Histogram::new(self.buckets))).observe(v);
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}\n# TYPE {} histogram", self.name, self.help, self.name);
        let map = self.series.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keys: Vec<&Labels> = map.keys().collect();
        keys.sort();
        for labels in keys {
            let h = &map[labels];
            let base: String = labels.iter().map(|(k, v)| format!("{k}=\"{}\",", escape(v))).collect();
            let mut cumulative = 0;
            for (b, c) in h.buckets.iter().zip(&h.counts) {
                cumulative += c.load(Relaxed);
                let _ = writeln!(out, "{}_bucket{{{base}le=\"{b}\"}} {cumulative}", self.name);
            }
            let count = h.count.load(Relaxed);
            let _ = writeln!(out, "{}_bucket{{{base}le=\"+Inf\"}} {count}", self.name);
            let trimmed = base.trim_end_matches(',');
            let _ = writeln!(out, "{}_sum{{{trimmed}}} {}", self.name, h.sum_micros.load(Relaxed) as f64 / 1e6);
            let _ = writeln!(out, "{}_count{{{trimmed}}} {count}", self.name);
        }
    }
}

/// A counter family: a count per label set.
struct Counters {
    name: &'static str,
    help: &'static str,
    series: RwLock<HashMap<Labels, AtomicU64>>,
}

impl Counters {
    fn new(name: &'static str, help: &'static str) -> Self {
        Self { name, help, series: RwLock::new(HashMap::new()) }
    }

    fn add(&self, labels: Labels, n: u64) {
        if let Some(c) = self.series.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&labels) {
            c.fetch_add(n, Relaxed);
            return;
        }
        self.series.write().unwrap_or_else(std::sync::PoisonError::into_inner).entry(labels).or_default().fetch_add(n, Relaxed);
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}\n# TYPE {} counter", self.name, self.help, self.name);
        let map = self.series.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keys: Vec<&Labels> = map.keys().collect();
        keys.sort();
        for labels in keys {
            let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            let _ = writeln!(out, "{}{{{}}} {}", self.name, l.join(","), map[labels].load(Relaxed));
        }
    }
}

fn escape(v: &str) -> String {
    v.chars().take(128).map(|c| if c == '"' || c == '\\' || c == '\n' { '_' } else { c }).collect()
}

pub struct CallMetrics {
    token_usage: Family,
    duration: Family,
    first_chunk: Family,
    mcp_duration: Family,
    failover: Counters,
}

impl Default for CallMetrics {
    fn default() -> Self {
        Self {
            token_usage: Family::new("gen_ai_client_token_usage", "Tokens used per LLM call (gen_ai.client.token.usage).", TOKEN_BUCKETS),
            duration: Family::new("gen_ai_client_operation_duration_seconds", "LLM call duration (gen_ai.client.operation.duration).", SECONDS_BUCKETS),
            first_chunk: Family::new(
                "gen_ai_client_operation_time_to_first_chunk_seconds",
                "Time to the first chunk of a streamed LLM answer (gen_ai.client.operation.time_to_first_chunk).",
                SECONDS_BUCKETS,
            ),
            mcp_duration: Family::new("mcp_server_operation_duration_seconds", "MCP request duration at Weir's endpoint (mcp.server.operation.duration).", SECONDS_BUCKETS),
            failover: Counters::new("weir_failover_attempts_total", "Tries of each target in calls that needed more than one (retries and failovers), by outcome."),
        }
    }
}

impl CallMetrics {
    /// Counts one recorded call.
    pub fn observe(&self, e: &AuditEvent) {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let error = e.error_type.clone().unwrap_or_default();
        match e.kind.as_str() {
            "llm" => {
                let base = vec![
                    ("gen_ai_operation_name", e.operation.clone()),
                    ("gen_ai_provider_name", text(&e.provider)),
                    ("gen_ai_request_model", text(&e.model_requested)),
                    ("weir_agent", text(&e.agent_name)),
                ];
                for (kind, n) in [("input", e.input_tokens), ("output", e.output_tokens)] {
                    if let Some(n) = n {
                        let mut l = base.clone();
                        l.push(("gen_ai_token_type", kind.to_string()));
                        self.token_usage.observe(l, n as f64);
                    }
                }
                let mut l = base.clone();
                l.push(("error_type", error));
                self.duration.observe(l, e.latency_ms / 1000.0);
                if let Some(t) = e.ttft_ms.filter(|_| e.streamed) {
                    self.first_chunk.observe(base, t / 1000.0);
                }
                // Only calls that tried more than one target, or one more than once, are read.
                if let Some(attempts) = e.attempts.as_deref().filter(|a| a.contains("},{")) {
                    for a in serde_json::from_str::<Vec<serde_json::Value>>(attempts).unwrap_or_default() {
                        let target = format!("{}/{}", a["provider"].as_str().unwrap_or(""), a["model"].as_str().unwrap_or(""));
                        let outcome = if a["error"].is_null() { "ok" } else { "error" };
                        self.failover.add(vec![("target", target), ("outcome", outcome.to_string())], 1);
                    }
                }
            }
            "mcp" => {
                let l = vec![("mcp_method_name", e.operation.clone()), ("weir_mcp_server", text(&e.mcp_server)), ("error_type", error), ("weir_agent", text(&e.agent_name))];
                self.mcp_duration.observe(l, e.latency_ms / 1000.0);
            }
            _ => {}
        }
    }

    pub fn render(&self, out: &mut String) {
        for f in [&self.token_usage, &self.duration, &self.first_chunk, &self.mcp_duration] {
            f.render(out);
        }
        self.failover.render(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets_with_bounded_labels() {
        let m = CallMetrics::default();
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
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains(r#"gen_ai_client_token_usage_bucket{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",gen_ai_token_type="input",le="16"} 2"#), "{out}");
        assert!(out.contains(r#"gen_ai_client_token_usage_bucket{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",gen_ai_token_type="output",le="256"} 0"#));
        assert!(out.contains(r#"gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",error_type=""} 2"#));
        assert!(out.contains(r#"gen_ai_client_operation_duration_seconds_sum{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",weir_agent="bot",error_type=""} 0.3"#));
        assert!(!out.contains("s-1") && !out.contains("alice"), "no session or user label");
    }
}
