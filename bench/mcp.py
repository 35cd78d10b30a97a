#!/usr/bin/env python3
"""Weir's MCP overhead benchmark: `tools/call` straight to an MCP server and through Weir, and
the memory an idle MCP session costs Weir.

The backend is tests/mcp-node/fixture-server.mjs (the official TypeScript SDK) over Streamable
HTTP with JSON responses, its `echo` tool called with a short text. server/examples/bench_mcp.rs
calls it in rounds — once directly, once on Weir's one-server endpoint (/mcp/fix), once on the
aggregate (/mcp, as fix__echo) — sequentially on kept connections, so that whatever slows the
machine slows every side alike. Audit records (with bodies) stay on, as by default.

Measured, each repeated --runs times (medians reported):
  a. tools/call latency p50 and p99 per side, and what Weir adds (Weir minus direct);
  b. Weir's resident memory (VmRSS) before and after opening --sessions idle sessions on
     /mcp/fix (a Streamable HTTP backend: each Weir session holds a backend session) and on
     /mcp/fixstdio (a stdio backend, shared by every session); the growth per session.

With --replicas it measures shared sessions instead: two Weir replicas on one Redis and one
Postgres (WEIR_REDIS_URL, default redis://127.0.0.1:6379; WEIR_BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432), a session begun at the first and called at both, beside a
Weir without Redis and the server directly; what a call at another replica than the session's
first adds. Results in bench/out/mcp-replicas.md.

With --stateless it measures revision 2026-07-28: tools/call of `greet` on
tests/mcp-conformance/fixture-server-2026.mjs (the TypeScript SDK's 2.x packages, stateless only)
directly and through Weir's /mcp/modern, and a stateless client's call of the 1.x fixture's `echo`
through Weir (/mcp/fix: Weir keeps the backend session on the client's behalf); with
--redis (WEIR_REDIS_URL, default redis://127.0.0.1:6379) the Weir has shared sessions, to show a
stateless pair needs no Redis round trip. Results in bench/out/mcp-stateless.md.

Usage:  python3 bench/mcp.py [--runs 5] [--calls 2000] [--sessions 1000] [--skip-build]
                          [--suspicious-tools flag|hide|block_until_approved] [--replicas]
                          [--stateless [--redis]]
Needs Linux, Python 3.11 (stdlib only), cargo, Node.js and `npm ci` done in tests/mcp-node.
Results are printed and written to bench/out/mcp.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
WEIR_BIN = TARGET / "weir"
LOADGEN = TARGET / "examples" / "bench_mcp"
FIXTURE = ROOT / "tests" / "mcp-node" / "fixture-server.mjs"
FIXTURE_2026 = ROOT / "tests" / "mcp-conformance" / "fixture-server-2026.mjs"

TARGET_ADDED_P50_MS = 0.3
TARGET_SESSION_KB = 10.0


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM, newest first; killed when one has not stopped within 15 s."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not answer at {url}")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_weir(name: str, tmp: Path, config: Path, database: str, extra_env: dict[str, str], key: str | None = None) -> tuple[subprocess.Popen[bytes], str, str]:
    """`weir serve` on free ports; the agent `bench` and its key are made first unless `key`
    (one already in `database`) is given. Returns the process, its base URL and the key."""
    gw, admin = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEIR_")},
        "WEIR_DATABASE_URL": database,
        "WEIR_LISTEN": f"127.0.0.1:{gw}",
        "WEIR_ADMIN_LISTEN": f"127.0.0.1:{admin}",
        "WEIR_ADMIN_TOKEN": "bench-admin-token",
        "WEIR_LOG": "warn",
        **extra_env,
    }
    cli = [str(WEIR_BIN), "--config", str(config)]
    if key is None:
        subprocess.run([*cli, "agents", "create", "bench"], env=env, check=True, capture_output=True)
        key = subprocess.run([*cli, "keys", "create", "bench"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    log(f"{name} on {gw}")
    proc = subprocess.Popen([*cli, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / f"{name}.log", "wb"))
    wait_http(f"http://127.0.0.1:{admin}/readyz", name)
    return proc, f"http://127.0.0.1:{gw}", key


def publish(lines: list[str], name: str) -> None:
    """Prints a benchmark's table and writes it to bench/out/`name`."""
    text = "\n".join(lines)
    print("\n" + text)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / name).write_text(text + "\n")


def med(runs: list[dict], side: str, q: str) -> float:
    return statistics.median(r[side][q] for r in runs)


def diff(runs: list[dict], a: str, b: str, q: str) -> float:
    """The median over runs of side `a` minus side `b`."""
    return statistics.median(r[a][q] - r[b][q] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--suspicious-tools", default="flag", choices=["flag", "hide", "block_until_approved"], help="the `fix` server's action for suspicious tools (what a call pays for tool checks)")
    ap.add_argument("--replicas", action="store_true", help="measure shared sessions across two replicas instead")
    ap.add_argument("--stateless", action="store_true", help="measure revision 2026-07-28 instead")
    ap.add_argument("--redis", action="store_true", help="with --stateless: Weir with shared sessions (Redis)")
    args = ap.parse_args()

    if not (ROOT / "tests" / "mcp-node" / "node_modules").exists():
        sys.exit("run `npm ci` in tests/mcp-node first")
    if not args.skip_build:
        log("building release binaries")
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "weir-server", "--bin", "weir", "--example", "bench_mcp"], cwd=ROOT, check=True)

    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-mcp-"))
    try:
        backend_port = free_port()
        log(f"fixture MCP server (Streamable HTTP, JSON responses) on {backend_port}")
        env = {**os.environ, "FIXTURE_JSON_RESPONSE": "1"}
        procs.append(subprocess.Popen(["node", str(FIXTURE), "http", str(backend_port)], env=env, cwd=FIXTURE.parent, stdout=subprocess.DEVNULL, stderr=open(tmp / "fixture.log", "wb")))
        wait_http(f"http://127.0.0.1:{backend_port}/", "the fixture")
        direct = f"http://127.0.0.1:{backend_port}/mcp"

        config = tmp / "weir.toml"
        config.write_text(
            f"""
[mcp]
[[mcp.servers]]
name = "fix"
url = "{direct}"
suspicious_tools = "{args.suspicious_tools}"

[[mcp.servers]]
name = "fixstdio"
command = ["node", "{FIXTURE}", "stdio"]
"""
        )
        if args.stateless:
            stateless_bench(args, tmp, procs, config, direct)
            return
        weir, base, key = start_weir("weir", tmp, config, f"sqlite://{tmp / 'weir.db'}", {})
        procs.append(weir)
        if args.replicas:
            replicas_bench(args, tmp, procs, config, direct, base, key)
            return

        runs = []
        for i in range(args.runs):
            out = subprocess.run([str(LOADGEN), "latency", direct, base, "fix", key, "echo", str(args.calls)], check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            runs.append(r)
            log(
                f"run {i + 1}: p50 direct {r['direct']['p50']:.3f} ms, /mcp/fix {r['weir_server']['p50']:.3f} ms, /mcp {r['weir_aggregate']['p50']:.3f} ms; "
                f"p99 direct {r['direct']['p99']:.3f} ms, /mcp/fix {r['weir_server']['p99']:.3f} ms"
            )

        def added(side: str, q: str) -> float:
            return diff(runs, side, "direct", q)

        memory = {}
        for server in ("fix", "fixstdio"):
            time.sleep(0.5)
            before = rss_kb(weir.pid)
            subprocess.run([str(LOADGEN), "sessions", f"{base}/mcp/{server}", key, str(args.sessions)], check=True)
            time.sleep(1.0)
            after = rss_kb(weir.pid)
            memory[server] = (before, after, (after - before) / args.sessions)
            log(f"{args.sessions} idle sessions on /mcp/{server}: RSS {before / 1024:.1f} → {after / 1024:.1f} MB, {memory[server][2]:.2f} KB per session")

        lines = [
            f"MCP benchmark, {dt.date.today().isoformat()}: {args.runs} runs × {args.calls} sequential tools/call per side; {args.sessions} idle sessions per backend kind; suspicious_tools = {args.suspicious_tools}",
            "",
            "| | direct | /mcp/fix | /mcp (aggregate) |",
            "|---|---|---|---|",
            f"| p50 (ms) | {med(runs, 'direct', 'p50'):.3f} | {med(runs, 'weir_server', 'p50'):.3f} | {med(runs, 'weir_aggregate', 'p50'):.3f} |",
            f"| p99 (ms) | {med(runs, 'direct', 'p99'):.3f} | {med(runs, 'weir_server', 'p99'):.3f} | {med(runs, 'weir_aggregate', 'p99'):.3f} |",
            f"| added p50 (ms) | | {added('weir_server', 'p50'):+.3f} | {added('weir_aggregate', 'p50'):+.3f} |",
            f"| added p99 (ms) | | {added('weir_server', 'p99'):+.3f} | {added('weir_aggregate', 'p99'):+.3f} |",
            "",
            "| idle sessions | RSS before (MB) | RSS after (MB) | per session (KB) |",
            "|---|---|---|---|",
        ]
        for server, (b, a, per) in memory.items():
            kind = "Streamable HTTP backend" if server == "fix" else "stdio backend"
            lines.append(f"| /mcp/{server} ({kind}) | {b / 1024:.1f} | {a / 1024:.1f} | {per:.2f} |")
        worst = max(added("weir_server", "p50"), added("weir_aggregate", "p50"))
        per_session = max(m[2] for m in memory.values())
        lines += [
            "",
            f"target: added p50 ≤ {TARGET_ADDED_P50_MS} ms: {'met' if worst <= TARGET_ADDED_P50_MS else 'NOT met'} ({worst:+.3f} ms)",
            f"target: ≤ {TARGET_SESSION_KB} KB per idle session: {'met' if per_session <= TARGET_SESSION_KB else 'NOT met'} ({per_session:.2f} KB)",
        ]
        publish(lines, "mcp.md")
    finally:
        stop_processes(procs)
        shutil.rmtree(tmp, ignore_errors=True)


def stateless_bench(args: argparse.Namespace, tmp: Path, procs: list[subprocess.Popen[bytes]], config: Path, legacy: str) -> None:
    if not (FIXTURE_2026.parent / "node_modules" / "@modelcontextprotocol" / "server").exists():
        sys.exit("run `bash tests/mcp-conformance/run.sh --setup` first")
    port = free_port()
    log(f"2026-07-28 fixture MCP server (stateless only) on {port}")
    procs.append(subprocess.Popen(["node", str(FIXTURE_2026), "--port", str(port), "--modern-only", "--bench"], cwd=FIXTURE_2026.parent, stdout=subprocess.DEVNULL, stderr=open(tmp / "fixture-2026.log", "wb")))
    wait_http(f"http://127.0.0.1:{port}/", "the 2026-07-28 fixture")
    direct = f"http://127.0.0.1:{port}/mcp"
    config.write_text(config.read_text() + f'\n[[mcp.servers]]\nname = "modern"\nurl = "{direct}"\n')
    redis = os.environ.get("WEIR_REDIS_URL", "redis://127.0.0.1:6379") if args.redis else None
    env = {"WEIR_REDIS_URL": redis, "WEIR_REDIS_PREFIX": f"weir-bench-{os.getpid()}:"} if redis else {}
    weir, base, key = start_weir("weir", tmp, config, f"sqlite://{tmp / 'weir.db'}", env)
    procs.append(weir)
    runs = []
    for i in range(args.runs):
        out = subprocess.run([str(LOADGEN), "stateless", direct, base, "modern", key, "greet", legacy, "fix", "echo", str(args.calls)], check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        runs.append(r)
        log(f"run {i + 1}: p50 direct {r['direct']['p50']:.3f} ms, /mcp/modern {r['weir_server']['p50']:.3f} ms, 2025 server directly {r['direct_sessions']['p50']:.3f} ms, bridged /mcp/fix {r['weir_bridged']['p50']:.3f} ms")
    added = diff(runs, "weir_server", "direct", "p50")
    bridged = diff(runs, "weir_bridged", "direct_sessions", "p50")
    lines = [
        f"MCP 2026-07-28 benchmark, {dt.date.today().isoformat()}: {args.runs} runs × {args.calls} sequential stateless tools/call per side; Weir {'with shared sessions (Redis)' if redis else 'alone'}",
        "",
        "| | 2026-07-28 server directly | /mcp/modern (2026-07-28 both sides) | 2025-11-25 server directly (a session) | /mcp/fix (stateless client, bridged) |",
        "|---|---|---|---|---|",
        f"| p50 (ms) | {med(runs, 'direct', 'p50'):.3f} | {med(runs, 'weir_server', 'p50'):.3f} | {med(runs, 'direct_sessions', 'p50'):.3f} | {med(runs, 'weir_bridged', 'p50'):.3f} |",
        f"| p99 (ms) | {med(runs, 'direct', 'p99'):.3f} | {med(runs, 'weir_server', 'p99'):.3f} | {med(runs, 'direct_sessions', 'p99'):.3f} | {med(runs, 'weir_bridged', 'p99'):.3f} |",
        f"| added p50 (ms) | | {added:+.3f} | | {bridged:+.3f} |",
        "",
        f"target: added p50 ≤ {TARGET_ADDED_P50_MS} ms: {'met' if added <= TARGET_ADDED_P50_MS else 'NOT met'} ({added:+.3f} ms)",
    ]
    publish(lines, f"mcp-stateless{'-redis' if redis else ''}.md")


def replicas_bench(args: argparse.Namespace, tmp: Path, procs: list[subprocess.Popen[bytes]], config: Path, direct: str, local: str, local_key: str) -> None:
    """Two replicas sharing sessions through Redis, beside the Weir without Redis at `local`."""
    pg = os.environ.get("WEIR_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    redis = os.environ.get("WEIR_REDIS_URL", "redis://127.0.0.1:6379")
    db = f"weir_bench_{os.getpid()}"
    subprocess.run(["psql", f"{pg}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True, capture_output=True)
    try:
        replica_config = tmp / "replica.toml"
        replica_config.write_text(config.read_text() + f'\n[limits]\nredis_prefix = "weir-bench-{os.getpid()}:"\n')
        bases = []
        key: str | None = None
        for n in range(2):
            proc, base, key = start_weir(f"replica{n}", tmp, replica_config, f"{pg}/{db}", {"WEIR_REDIS_URL": redis}, key)
            procs.append(proc)
            bases.append(base)
        runs = []
        for i in range(args.runs):
            out = subprocess.run(
                [str(LOADGEN), "replicas", direct, local, local_key, bases[0], bases[1], key, "fix", "echo", str(args.calls)], check=True, capture_output=True, text=True
            ).stdout
            r = json.loads(out)
            runs.append(r)
            log(
                f"run {i + 1}: p50 direct {r['direct']['p50']:.3f} ms, no Redis {r['local']['p50']:.3f} ms, "
                f"first replica {r['first_replica']['p50']:.3f} ms, other replica {r['other_replica']['p50']:.3f} ms"
            )

        worst = diff(runs, "other_replica", "local", "p50")
        lines = [
            f"MCP shared sessions, {dt.date.today().isoformat()}: {args.runs} runs × {args.calls} sequential tools/call per side (one session begun at the first replica, called at both)",
            "",
            "| | direct | Weir without Redis | first replica | other replica |",
            "|---|---|---|---|---|",
            f"| p50 (ms) | {med(runs, 'direct', 'p50'):.3f} | {med(runs, 'local', 'p50'):.3f} | {med(runs, 'first_replica', 'p50'):.3f} | {med(runs, 'other_replica', 'p50'):.3f} |",
            f"| p99 (ms) | {med(runs, 'direct', 'p99'):.3f} | {med(runs, 'local', 'p99'):.3f} | {med(runs, 'first_replica', 'p99'):.3f} | {med(runs, 'other_replica', 'p99'):.3f} |",
            "",
            f"other replica − Weir without Redis: p50 {worst:+.3f} ms, p99 {diff(runs, 'other_replica', 'local', 'p99'):+.3f} ms",
            f"other replica − first replica: p50 {diff(runs, 'other_replica', 'first_replica', 'p50'):+.3f} ms, p99 {diff(runs, 'other_replica', 'first_replica', 'p99'):+.3f} ms",
            f"target: a call at another replica adds ≤ 1 ms p50: {'met' if worst <= 1.0 else 'NOT met'} ({worst:+.3f} ms)",
        ]
        publish(lines, "mcp-replicas.md")
    finally:
        for p in procs[2:]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=15)
        subprocess.run(["psql", f"{pg}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], capture_output=True)


if __name__ == "__main__":
    main()
