//! The Prometheus text exposition format (0.0.4) of a metrics snapshot.

use std::fmt::Write as _;

use super::{Kind, Metric, Value};

/// Label values lose what would break the line; long ones are cut.
fn escape(v: &str) -> String {
    v.chars().take(128).map(|c| if c == '"' || c == '\\' || c == '\n' { '_' } else { c }).collect()
}

/// `k="v",` for each attribute, keys with underscores for dots.
fn labels(attributes: &[(&'static str, String)]) -> String {
    let mut s = String::new();
    for (k, v) in attributes {
        let _ = write!(s, "{}=\"{}\",", k.replace('.', "_"), escape(v));
    }
    s
}

pub fn render(metrics: &[Metric]) -> String {
    let mut out = String::with_capacity(8192);
    for m in metrics {
        let kind = match m.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let name = m.prometheus;
        let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {kind}", m.help);
        for p in &m.points {
            let base = labels(&p.attributes);
            let braced = if base.is_empty() { String::new() } else { format!("{{{}}}", base.trim_end_matches(',')) };
            match &p.value {
                Value::Int(v) => {
                    let _ = writeln!(out, "{name}{braced} {v}");
                }
                Value::Float(v) => {
                    let _ = writeln!(out, "{name}{braced} {v}");
                }
                Value::Buckets { bounds, counts, sum, count } => {
                    let mut cumulative = 0;
                    for (b, c) in bounds.iter().zip(counts) {
                        cumulative += c;
                        let _ = writeln!(out, "{name}_bucket{{{base}le=\"{b}\"}} {cumulative}");
                    }
                    let _ = writeln!(out, "{name}_bucket{{{base}le=\"+Inf\"}} {count}");
                    let _ = writeln!(out, "{name}_sum{braced} {sum}");
                    let _ = writeln!(out, "{name}_count{braced} {count}");
                }
            }
        }
    }
    out
}
