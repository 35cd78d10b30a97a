//! Timing and payloads shared by the benchmark examples.

use std::path::Path;
use std::time::Instant;

/// A payload of `bench/translate/`.
pub fn read(name: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/translate").join(name);
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Best of five rounds of `n` runs of `f`, in µs per run (after a warm-up).
pub fn best_us(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n.min(1000) {
        f();
    }
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}
