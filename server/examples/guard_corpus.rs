//! Recall and precision of the guardrail detectors on a split of the labelled corpus in
//! `tests/guardrails/corpus/` (`tuning` while detectors are worked on; `heldout` only to report
//! figures, never to tune against).
//!
//!     cargo run --release -p weir-server --example guard_corpus -- tuning [pii|secrets|injection|injection-rules|tools] [--misses]
//!
//! The split is `tuning` or `heldout` of the first corpus, or `corpus2/tuning` / `corpus2/heldout`
//! of the second (written later, by other hands, against detectors it had not seen).
//!
//! A finding counts as found when it covers an expected value of its kind; any other finding on
//! a line is a false alarm. Recall = values found / values expected; precision = findings that
//! are expected values / all findings.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use weir_server::guard::{injection, pii, secrets, Finding};

#[derive(Deserialize)]
struct Line {
    id: String,
    text: String,
    #[serde(default)]
    expect: Vec<Expected>,
}

#[derive(Deserialize)]
struct Expected {
    #[serde(rename = "type")]
    ty: String,
    value: String,
}

#[derive(Default)]
struct Score {
    expected: u32,
    found: u32,
    findings: u32,
    true_findings: u32,
}

type Error = Box<dyn std::error::Error>;

/// `tuning` → `tests/guardrails/corpus/tuning/pii.jsonl`; `corpus2/heldout` →
/// `tests/guardrails/corpus2/heldout/pii.jsonl`.
fn corpus_path(split: &str, corpus: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guardrails");
    let dir = if split.contains('/') { root.join(split) } else { root.join("corpus").join(split) };
    dir.join(format!("{corpus}.jsonl"))
}

fn main() -> Result<(), Error> {
    let split = std::env::args().nth(1).unwrap_or_else(|| "tuning".into());
    let corpus = std::env::args().nth(2).filter(|a| !a.starts_with("--")).unwrap_or_else(|| "pii".into());
    let misses = std::env::args().any(|a| a == "--misses");
    if corpus == "injection" || corpus == "injection-rules" {
        return injection_scores(&split, misses, if corpus == "injection" { injection::scan } else { injection::scan_rules });
    }
    if corpus == "tools" {
        return tool_scores(&split, misses);
    }
    let scan: fn(&str, &mut Vec<Finding>) = match corpus.as_str() {
        "secrets" => secrets::scan,
        _ => pii::scan,
    };
    let path = corpus_path(&split, &corpus);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    for raw in text.lines().filter(|l| !l.trim().is_empty()) {
        let line: Line = serde_json::from_str(raw)?;
        let mut found: Vec<Finding> = Vec::new();
        scan(&line.text, &mut found);
        let mut covered = vec![false; found.len()];
        for e in &line.expect {
            let s = scores.entry(e.ty.clone()).or_default();
            s.expected += 1;
            let spans: Vec<(usize, usize)> = line.text.match_indices(&e.value).map(|(i, v)| (i, i + v.len())).collect();
            let hit = found.iter().enumerate().find(|(_, f)| f.kind.as_str() == e.ty && spans.iter().any(|&(a, b)| f.start <= a && f.end >= b));
            match hit {
                Some((i, _)) => {
                    s.found += 1;
                    covered[i] = true;
                }
                None if misses => println!("missed {} {} {:?} in {:?}", line.id, e.ty, e.value, line.text),
                None => {}
            }
        }
        for (f, ok) in found.iter().zip(&covered) {
            let s = scores.entry(f.kind.as_str().to_string()).or_default();
            s.findings += 1;
            if *ok {
                s.true_findings += 1;
            } else if misses {
                println!("false alarm {} {} {:?} in {:?}", line.id, f.kind.as_str(), &line.text[f.start..f.end], line.text);
            }
        }
    }
    println!("| {split} | expected | found | recall | findings | precision |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (ty, s) in &scores {
        let pct = |a: u32, b: u32| if b == 0 { "—".to_string() } else { format!("{:.1} %", 100.0 * f64::from(a) / f64::from(b)) };
        println!("| {ty} | {} | {} | {} | {} | {} |", s.expected, s.found, pct(s.found, s.expected), s.findings, pct(s.true_findings, s.findings));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Labelled {
    id: String,
    label: String,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    tool: serde_json::Value,
}

/// Injections caught (by class) and benign texts flagged, by the whole detector or (with
/// `injection-rules`) by its rules alone, without the learned model.
fn injection_scores(split: &str, misses: bool, scan: fn(&str) -> Vec<injection::Class>) -> Result<(), Error> {
    labelled_scores(split, "injection", "injection", "injections", misses, |line| {
        let found = scan(&line.text);
        (!found.is_empty()).then(|| format!("{found:?}: {:?}", line.text.chars().take(160).collect::<String>()))
    })
}

/// Poisoned tool definitions caught (by class) and benign ones flagged.
fn tool_scores(split: &str, misses: bool) -> Result<(), Error> {
    labelled_scores(split, "tools", "poisoned", "poisoned", misses, |line| {
        let found = weir_server::guard::tools::scan_tool(&line.tool);
        (!found.is_empty()).then(|| format!("{:?}", found.iter().map(|f| (f.rule, f.location.as_str(), f.excerpt.as_str())).collect::<Vec<_>>()))
    })
}

/// A labelled corpus scored: items labelled `positive` caught (by class), the others flagged.
/// `judge` says what it found in an item, if anything.
fn labelled_scores(split: &str, corpus: &str, positive: &str, heading: &str, misses: bool, judge: impl Fn(&Labelled) -> Option<String>) -> Result<(), Error> {
    let path = corpus_path(split, corpus);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut by_class: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let (mut benign, mut flagged) = (0u32, 0u32);
    for raw in text.lines().filter(|l| !l.trim().is_empty()) {
        let line: Labelled = serde_json::from_str(raw)?;
        let found = judge(&line);
        if line.label == positive {
            let e = by_class.entry(line.class.clone().unwrap_or_default()).or_default();
            e.0 += 1;
            match found {
                Some(_) => e.1 += 1,
                None if misses => println!("missed {} {:?}", line.id, line.class),
                None => {}
            }
        } else {
            benign += 1;
            if let Some(what) = found {
                flagged += 1;
                if misses {
                    println!("false alarm {}: {what}", line.id);
                }
            }
        }
    }
    println!("| {split} | {heading} | caught | recall |");
    println!("| --- | ---: | ---: | ---: |");
    let (mut all, mut caught) = (0, 0);
    for (class, (n, c)) in &by_class {
        all += n;
        caught += c;
        println!("| {class} | {n} | {c} | {:.1} % |", 100.0 * f64::from(*c) / f64::from(*n));
    }
    println!("| all | {all} | {caught} | {:.1} % |", 100.0 * f64::from(caught) / f64::from(all.max(1)));
    println!("benign flagged: {flagged} of {benign}");
    Ok(())
}
