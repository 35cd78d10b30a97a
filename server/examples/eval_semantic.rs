//! How the semantic cache's matching does on a labelled corpus of prompt pairs: for each pair,
//! whether the second prompt would be served the first one's answer (similarity at or above the
//! threshold, and the verification step agrees).
//!
//! `cargo run --release -p weir-server --example eval_semantic -- tests/cache_corpus/heldout.jsonl [threshold] [-v]`

use weir_server::cache::embed::{similarity, Embedder};
use weir_server::cache::verify::{verify, Signature};

#[expect(clippy::expect_used, reason = "a tool run by hand on the corpus files")]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map_or("tests/cache_corpus/tune.jsonl", String::as_str);
    let threshold: f32 = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(weir_server::cache::semantic::DEFAULT_THRESHOLD);
    let verbose = args.iter().any(|a| a == "-v");
    let e = Embedder::builtin();
    let text = std::fs::read_to_string(path).expect("the corpus file");
    let (mut para, mut para_hit, mut near, mut near_hit) = (0, 0, 0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let (a, b) = (v["a"].as_str().unwrap_or(""), v["b"].as_str().unwrap_or(""));
        let sim = similarity(&e.embed(a), &e.embed(b));
        let verdict = if sim < threshold { Err("similarity") } else { verify(&Signature::of(b), &Signature::of(a)) };
        let paraphrase = v["kind"] == "paraphrase";
        if paraphrase {
            para += 1;
            para_hit += usize::from(verdict.is_ok());
        } else {
            near += 1;
            near_hit += usize::from(verdict.is_ok());
        }
        if verbose && (verdict.is_ok() != paraphrase || args.iter().any(|a| a == "-vv")) {
            println!("{} {:.3} {:?} | {a} || {b}", v["id"].as_str().unwrap_or(""), sim, verdict);
            if args.iter().any(|a| a == "-vvv") {
                println!("    {:?}\n    {:?}", Signature::of(a), Signature::of(b));
            }
        }
    }
    println!("{path} at similarity ≥ {threshold}: paraphrases served {para_hit}/{para}; near-misses served {near_hit}/{near}");
}
