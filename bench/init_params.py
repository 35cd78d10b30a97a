#!/usr/bin/env python3
"""What MCP clients' `initialize` params cost Weir's memory: a session keeps them for its life,
so their size is capped (`mcp.max_initialize_params_bytes`, 64 KiB by default).

For each build given, Weir starts (SQLite, one Streamable HTTP backend: the fixture server) and
this script reads its resident memory (VmRSS), sends --calls `initialize` requests whose params
carry --big-kb of data, reads it again, then sends as many whose params are just under the cap
and reads it once more. Each build runs in the same session of this script, one after the other.

Usage:  python3 bench/init_params.py [--bin NAME=PATH ...] [--calls 40] [--big-kb 3072]
        (default: --bin this=target/release/weir)
Needs Linux, Python 3.11 (stdlib only), Node.js and `npm ci` done in tests/mcp-node.
Results are printed and written to bench/out/init-params.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mcp as bench  # noqa: E402 - the MCP benchmark's helpers

UNDER_CAP_BYTES = 60 * 1024


def initialize(base: str, key: str, pad_bytes: int) -> int:
    params = {"protocolVersion": "2025-11-25", "capabilities": {"experimental": {"pad": {"data": "x" * pad_bytes}}}, "clientInfo": {"name": "init-params-bench", "version": "1"}}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}).encode()
    req = urllib.request.Request(
        f"{base}/mcp",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def measure(name: str, binary: Path, tmp: Path, direct: str, calls: int, big: int) -> dict:
    bench.WEIR_BIN = binary
    config = tmp / f"{name}.toml"
    # A message must hold the big params for them to reach the session at all.
    config.write_text(f'[mcp]\nmax_message_bytes = {big + 1024 * 1024}\n[[mcp.servers]]\nname = "fix"\nurl = "{direct}"\n')
    proc, base, key = bench.start_weir(name, tmp, config, f"sqlite://{tmp / (name + '.db')}", {})
    try:
        for _ in range(3):
            initialize(base, key, 16)  # warm up
        time.sleep(0.5)
        before = bench.rss_kb(proc.pid)
        big_status = [initialize(base, key, big) for _ in range(calls)]
        time.sleep(1)
        after_big = bench.rss_kb(proc.pid)
        small_status = [initialize(base, key, UNDER_CAP_BYTES) for _ in range(calls)]
        time.sleep(1)
        after_small = bench.rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "name": name,
        "before_mb": before / 1024,
        "after_big_mb": after_big / 1024,
        "big_accepted": sum(s == 200 for s in big_status),
        "big_refused": sum(s == 400 for s in big_status),
        "after_small_mb": after_small / 1024,
        "small_accepted": sum(s == 200 for s in small_status),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", default=[], help="NAME=PATH of a weir binary (repeatable)")
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--big-kb", type=int, default=3072)
    args = ap.parse_args()
    bins = [tuple(b.split("=", 1)) for b in args.bin] or [("this", str(bench.WEIR_BIN))]
    if not (bench.ROOT / "tests" / "mcp-node" / "node_modules").exists():
        sys.exit("run `npm ci` in tests/mcp-node first")
    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-init-"))
    port = bench.free_port()
    fixture = subprocess.Popen(["node", str(bench.FIXTURE), "http", str(port)], env={**os.environ, "FIXTURE_JSON_RESPONSE": "1"}, cwd=bench.FIXTURE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench.wait_http(f"http://127.0.0.1:{port}/", "the fixture")
        rows = [measure(name, Path(path), tmp, f"http://127.0.0.1:{port}/mcp", args.calls, args.big_kb * 1024) for name, path in bins]
    finally:
        fixture.terminate()
    lines = [
        f"| build (`bench/init_params.py --calls {args.calls} --big-kb {args.big_kb}`) | RSS before | after {args.calls} × {args.big_kb} KB params | accepted / refused | after {args.calls} × {UNDER_CAP_BYTES // 1024} KB params (accepted) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['before_mb']:.1f} MB | {r['after_big_mb']:.1f} MB | {r['big_accepted']} / {r['big_refused']} | {r['after_small_mb']:.1f} MB ({r['small_accepted']}) |")
    text = "\n".join(lines)
    print(text)
    bench.OUT_DIR.mkdir(parents=True, exist_ok=True)
    (bench.OUT_DIR / "init-params.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
