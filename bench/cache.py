#!/usr/bin/env python3
"""Response cache throughput: cache hits against misses through the same Weir, in one run.

Weir (release build, cache on, in-process state, SQLite audit with bodies captured) fronts the
fake provider (release build); `server/examples/bench_load.rs` keeps CONCURRENCY keep-alive
connections busy with the 2 KB chat request of `bench/translate/chat_request.json` for DURATION
seconds: as hits (the same question every time) and as misses (`Cache-Control: no-cache`: the
lookup skipped, the provider called, the answer stored). Beside them, in the same alternation,
the same calls go to three references that pay the same costs on the same cores: straight to the
fake provider, through the bare hyper proxy of `server/examples/bare_proxy.rs`, and through nginx
as a plain reverse proxy (keep-alive to the provider; measured when nginx is on PATH or in
/usr/sbin). Every kind runs --runs times; medians are reported, with each one's ratio to a miss.

Usage:  python3 bench/cache.py [--runs 5] [--duration 5] [--concurrency 8] [--skip-build]

On this 2-core machine the load generator, the fake provider and Weir share the cores, as they
do for every figure in the README; each run pays the same costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
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
        subprocess.run(["cargo", "build", "--release", "-p", "weir-server", "-p", "weir-fake-provider", "--example", "bench_load", "--example", "bare_proxy"], cwd=ROOT, check=True)
    weir, fake, load = TARGET / "release" / "weir", TARGET / "release" / "weir-fake-provider", TARGET / "release" / "examples" / "bench_load"
    bare = TARGET / "release" / "examples" / "bare_proxy"
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-cache-"))
    upstream, port, admin, bare_port, nginx_port = free_port(), free_port(), free_port(), free_port(), free_port()
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
spool_path = "{tmp / 'weir-audit.spool'}"

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
        subprocess.Popen([str(bare), f"127.0.0.1:{bare_port}", f"127.0.0.1:{upstream}"], stdout=subprocess.DEVNULL, stderr=open(tmp / "bare.log", "wb")),
    ]
    # (kind, URL, key, bench_load mode): the key is Weir's for Weir, the provider's for the others.
    kinds = [
        ("cache hits", f"http://127.0.0.1:{port}", key, "hit"),
        ("cache misses", f"http://127.0.0.1:{port}", key, "miss"),
        ("straight to the provider", f"http://127.0.0.1:{upstream}", FAKE_KEY, "hit"),
        ("bare hyper proxy", f"http://127.0.0.1:{bare_port}", FAKE_KEY, "hit"),
    ]
    if nginx:
        prefix = tmp / "nginx"
        prefix.mkdir()
        (prefix / "nginx.conf").write_text(
            f"""worker_processes auto;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    client_max_body_size 16m;
    upstream provider {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
        )
        procs.append(subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log"), "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        kinds.append(("nginx reverse proxy", f"http://127.0.0.1:{nginx_port}", FAKE_KEY, "hit"))
    else:
        print("nginx not found: measured without it", flush=True)
    try:
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=2).status == 200, "weir")

        def run(kind: tuple[str, str, str, str], seconds: int) -> float:
            name, url, key, mode = kind
            out = subprocess.run([str(load), url, key, str(seconds), str(args.concurrency), mode], check=True, capture_output=True, text=True).stdout.split()
            rps, bad = float(out[0]), int(out[1])
            if bad:
                sys.exit(f"{bad} calls of {name} did not answer 200 (config and logs in {tmp})")
            return rps

        # Each listener up once, then a warm-up run of each kind.
        for kind in kinds:
            at = urllib.parse.urlsplit(kind[1])
            wait_until(lambda: socket.create_connection((at.hostname, at.port), timeout=2).close() is None, kind[0])
            run(kind, 1)
        figures: dict[str, list[float]] = {name: [] for name, *_ in kinds}
        for i in range(args.runs):
            for kind in kinds:
                figures[kind[0]].append(run(kind, args.duration))
            print(f"run {i + 1}: " + ", ".join(f"{name} {f[-1]:,.0f} req/s" for name, f in figures.items()), flush=True)
        medians = {name: statistics.median(f) for name, f in figures.items()}
        miss = medians["cache misses"]
        print(f"\n| calls | requests/s (median of {args.runs}) | / cache misses |\n| --- | ---: | ---: |")
        for name, m in medians.items():
            print(f"| {name} | {m:,.0f} | {m / miss:.2f}× |")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
