//! The semantic cache's own costs with the built-in model: a lookup (embed the question, search
//! the partition's index, verify the candidates above the threshold) with 100,000 questions in
//! one partition and context, and what the index holds in memory.
//!
//!     cargo run --release -p weir-server --example bench_semantic [-- ENTRIES]
//!
//! Instructions per lookup (stable where wall time is not), 4,000 lookups counted:
//!
//!     valgrind --tool=callgrind --toggle-collect='*lookup_once*' target/release/examples/bench_semantic
//!
//! The stored questions are generated from templates (all distinct, support-style, 9 to 16
//! words, no numbers: all in one group of the index, the worst case). Lookups alternate a paraphrase of a stored question (served) with a question on
//! the same topics that is not stored (not served), 2,000 of each; best of five rounds, in µs per
//! lookup, one thread. The answers' store is not part of it (the exact cache's lookup is measured
//! by `bench_cache`).

use std::time::Instant;

use weir_server::cache::embed::similarity;
use weir_server::cache::semantic::{Group, Question, SemanticCache, DEFAULT_THRESHOLD};
use weir_server::cache::verify::{verify, Signature};

const VERBS: [&str; 25] = [
    "reset", "rotate", "export", "archive", "rename", "restore", "configure", "migrate", "audit", "monitor", "encrypt", "schedule", "verify", "share", "clone", "tag", "resize", "upgrade",
    "inspect", "validate", "index", "compress", "replicate", "throttle", "snapshot",
];
const THINGS: [&str; 40] = [
    "password", "API key", "database", "invoice", "user account", "backup", "cron job", "dashboard", "webhook", "SSL certificate", "log file", "DNS record", "storage bucket", "team workspace",
    "billing plan", "container image", "message queue", "search index", "load balancer", "service mesh", "feature flag", "secret vault", "audit trail", "email template", "payment method",
    "shipping label", "support ticket", "customer profile", "sales report", "data pipeline", "model registry", "build cache", "test suite", "release branch", "mobile build",
    "analytics event", "access policy", "firewall rule", "VPN profile", "printer queue",
];
const PLACES: [&str; 20] = [
    "staging", "production", "the EU region", "my laptop", "the admin console", "Kubernetes", "AWS", "the mobile app", "our CI pipeline", "the billing portal", "Azure", "the web UI",
    "the command line", "Terraform", "the partner portal", "GitHub Actions", "the data warehouse", "our Slack workspace", "the iOS app", "the intranet",
];
const HOW: [&str; 5] = ["", " safely", " without downtime", " quickly", " automatically"];

/// The `i`th stored question (all distinct, no numbers: one group of the index), and a
/// paraphrase of it.
fn question(i: usize) -> (String, String) {
    let (v, t, p, h) = (VERBS[i % 25], THINGS[(i / 25) % 40], PLACES[(i / 1000) % 20], HOW[(i / 20_000) % 5]);
    (format!("How do I {v} the {t} on {p}{h}?"), format!("What are the steps to {v} the {t} on {p}{h}?"))
}

/// The verification step over the candidates (a function of its own, so that
/// `valgrind --tool=callgrind --toggle-collect='*lookup_once*'` can count a lookup).
#[inline(never)]
fn verified(text: &str, found: &[weir_server::cache::semantic::Candidate]) -> bool {
    let asked = Signature::of(text);
    found.iter().any(|c| verify(&asked, &Signature::of(&c.question.text)).is_ok())
}

/// One whole lookup, for instruction counts.
#[inline(never)]
#[expect(clippy::expect_used, reason = "the built-in model is part of the binary")]
fn lookup_once(cache: &SemanticCache, group: &Group, text: &str) -> bool {
    let v = cache.embed(text).expect("the built-in model");
    let found = cache.search(group, &v, DEFAULT_THRESHOLD);
    verified(text, &found)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

#[expect(clippy::expect_used, reason = "the built-in model is part of the binary")]
fn main() {
    let entries: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    if std::env::var_os("BENCH_SIM").is_some() {
        let a = weir_server::cache::embed::quantise(&[0.0625f32; 256]);
        let b = weir_server::cache::embed::quantise(&[0.0625f32; 256]);
        let t = Instant::now();
        let mut x = 0.0;
        for _ in 0..10_000_000 {
            x += similarity(std::hint::black_box(&a), std::hint::black_box(&b));
        }
        println!("similarity: {:.1} ns ({x})", t.elapsed().as_secs_f64() * 1e9 / 1e7);
        let text = question(12_345).1;
        let t = Instant::now();
        for _ in 0..100_000 {
            std::hint::black_box(Signature::of(std::hint::black_box(&text)));
        }
        println!("signature: {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / 1e5);
        return;
    }
    let cache = SemanticCache::new(None, entries, usize::MAX, entries, None);
    let group = Group { partition: "agent:bench".into(), model: "gpt-bench".into(), context: [7; 32] };
    // Load the model before measuring memory.
    let probe = cache.embed("warm up").expect("the built-in model");
    let before = rss_mb();
    let t = Instant::now();
    let mut embed_s = 0.0;
    for i in 0..entries {
        let (text, _) = question(i);
        let e = Instant::now();
        let v = cache.embed(&text).expect("the built-in model");
        embed_s += e.elapsed().as_secs_f64();
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&(i as u64).to_le_bytes());
        cache.insert(group.clone(), Question { digest, text: text.into() }, &v);
    }
    let build = t.elapsed().as_secs_f64();
    let after = rss_mb();
    println!("{entries} questions in one partition: built in {build:.1} s ({:.1} µs per question, of which embedding {:.1} µs); index memory {:.0} MB ({:.0} bytes per question)",
        build * 1e6 / entries as f64, embed_s * 1e6 / entries as f64, after - before, (after - before) * 1024.0 * 1024.0 / entries as f64);
    drop(probe);

    // Lookups: a paraphrase of a stored question, then an unstored one on the same topics.
    let step = entries / 2000;
    let lookups: Vec<(String, bool)> = (0..2000)
        .flat_map(|k| {
            let i = k * step.max(1) % entries;
            let (_, para) = question(i);
            let (v, t) = (VERBS[(i + 5) % 25], THINGS[(i / 25 + 3) % 40]);
            [(para, true), (format!("Why does {v} fail for the {t} after the upgrade?"), false)]
        })
        .collect();
    let mut served = [0usize; 2];
    let mut rounds = Vec::new();
    let (mut embed_us, mut search_us) = (f64::INFINITY, f64::INFINITY);
    for round in 0..5 {
        let (mut e_s, mut s_s) = (0.0, 0.0);
        let t = Instant::now();
        for (text, stored) in &lookups {
            let e = Instant::now();
            let v = cache.embed(text).expect("the built-in model");
            e_s += e.elapsed().as_secs_f64();
            let s = Instant::now();
            let found = cache.search(&group, &v, DEFAULT_THRESHOLD);
            s_s += s.elapsed().as_secs_f64();
            let hit = verified(text, &found);
            if round == 0 {
                served[usize::from(*stored)] += usize::from(hit);
            }
        }
        rounds.push(t.elapsed().as_secs_f64() * 1e6 / lookups.len() as f64);
        embed_us = embed_us.min(e_s * 1e6 / lookups.len() as f64);
        search_us = search_us.min(s_s * 1e6 / lookups.len() as f64);
    }
    let best = rounds.iter().copied().fold(f64::INFINITY, f64::min);
    // The same lookups once more through one function (what callgrind counts).
    let again = lookups.iter().filter(|(text, _)| lookup_once(&cache, &group, text)).count();
    assert_eq!(again, served[0] + served[1]);
    println!("lookup (embed + search + verify): {best:.1} µs best of 5 rounds of {} (embed {embed_us:.1} µs, index search {search_us:.1} µs)", lookups.len());
    println!("served: {} of 2000 paraphrases of stored questions, {} of 2000 questions not stored", served[1], served[0]);
    // How often the index's nearest is a full scan's nearest (for 100 of the lookups).
    let stored: Vec<_> = (0..entries).map(|i| cache.embed(&question(i).0).expect("the built-in model")).collect();
    let mut agree = 0;
    for (text, _) in lookups.iter().step_by(40) {
        let v = cache.embed(text).expect("the built-in model");
        let indexed = cache.search(&group, &v, -1.0).first().map(|c| c.similarity);
        let scanned = stored.iter().map(|s| similarity(&v, s)).fold(f32::NEG_INFINITY, f32::max);
        // (Within 0.005: stored questions one word apart tie.)
        agree += usize::from(indexed.is_some_and(|s| s >= scanned - 0.005));
    }
    println!("the index's nearest is a full scan's nearest for {agree} of 100 lookups");
}
