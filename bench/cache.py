#!/usr/bin/env python3
"""Response cache throughput: cache hits against misses through the same Weir, in one run.

Weir (release build, cache on, in-process state, SQLite audit with bodies captured) fronts the
fake provider (release build); `server/examples/bench_load.rs` keeps CONCURRENCY keep-alive
connections busy with the 2 KB chat request of `bench/translate/chat_request.json` for DURATION
seconds: as hits (the same question every time) and as misses (`Cache-Control: no-cache`: the
lookup skipped, the provider called, the answer stored). Hit and miss runs alternate, --runs
times each; medians are reported, with the ratio.

Usage:  python3 bench/cache.py [--runs 5] [--duration 5] [--concurrency 8] [--skip-build]

On this 2-core machine the load generator, the fake provider and Weir share the cores, as they
do for every figure in the README; each run pays the same costs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FAKE_KEY = "sk-bench-cache-fake-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "weir-server", "-p", "weir-fake-provider", "--example", "bench_load"], cwd=ROOT, check=True)
    weir, fake, load = TARGET / "release" / "weir", TARGET / "release" / "weir-fake-provider", TARGET / "release" / "examples" / "bench_load"
    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-cache-"))
    upstream, port, admin = free_port(), free_port(), free_port()
    config = tmp / "weir.toml"
    config.write_text(
        f"""
[server]
# The per-address flood guard stays on, set high enough never to refuse the load generator.
ip_requests_per_second = 1000000
ip_burst = 1000000

[[providers]]
name = "fake"
kind = "openai"
base_url = "http://127.0.0.1:{upstream}/v1"
api_key_env = "FAKE_PROVIDER_KEY"

[[models]]
name = "claude-bench"
targets = [{{ provider = "fake", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 0.15, output_per_mtok = 0.6 }}

[audit]
capture_bodies = true

[cache]
enabled = true
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIR_", "OTEL_"))}
    env.update(
        WEIR_DATABASE_URL=f"sqlite://{tmp / 'weir.db'}",
        WEIR_LISTEN=f"127.0.0.1:{port}",
        WEIR_ADMIN_LISTEN=f"127.0.0.1:{admin}",
        WEIR_ADMIN_TOKEN="bench-cache-admin-token-0123456789",
        WEIR_LOG="warn",
        FAKE_PROVIDER_KEY=FAKE_KEY,
    )
    base = [str(weir), "--config", str(config)]
    subprocess.run([*base, "agents", "create", "bench"], env=env, check=True, stdout=subprocess.DEVNULL)
    key = subprocess.run([*base, "keys", "create", "bench"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    procs = [
        subprocess.Popen([str(fake), "--listen", f"127.0.0.1:{upstream}", "--api-key", FAKE_KEY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([*base, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "weir.log", "wb")),
    ]
    try:
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=2).status == 200, "weir")
        url = f"http://127.0.0.1:{port}"

        def run(mode: str, seconds: int) -> float:
            out = subprocess.run([str(load), url, key, str(seconds), str(args.concurrency), mode], check=True, capture_output=True, text=True).stdout.split()
            rps, bad = float(out[0]), int(out[1])
            if bad:
                sys.exit(f"{bad} {mode} calls did not answer 200 (config and log in {tmp})")
            return rps

        run("hit", 1)
        run("miss", 1)
        hits, misses = [], []
        for i in range(args.runs):
            hits.append(run("hit", args.duration))
            misses.append(run("miss", args.duration))
            print(f"run {i + 1}: hits {hits[-1]:,.0f} req/s, misses {misses[-1]:,.0f} req/s", flush=True)
        h, m = statistics.median(hits), statistics.median(misses)
        print(f"\n| calls | requests/s (median of {args.runs}) |\n| --- | ---: |\n| cache hits | {h:,.0f} |\n| cache misses | {m:,.0f} |\n| hits / misses | {h / m:.2f}× |")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
