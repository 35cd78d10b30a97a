#!/usr/bin/env python3
"""Weir's A2A overhead benchmark: a non-streamed message straight to an A2A agent and through
Weir (`/a2a/{agent}`), and what Weir's memory does meanwhile.

The agent is tests/a2a/agent_v1.py (the official Python SDK, a2a-sdk 1.3.0) over JSON-RPC; it
answers a `hello` message with a completed task (one artifact, `echo: hello`). The requests:
  v1.0  `SendMessage` with `A2A-Version: 1.0`;
  v0.3  `message/send` with no version header (the agent's v0.3 compat mode).
server/examples/bench_a2a.rs sends them in rounds — for each version once directly, once
through Weir — sequentially on kept connections, so that whatever slows the machine slows
every side alike. Every message has a new id. Audit records (with bodies) stay on, as by
default; no rule applies (every caller may call every agent).

Measured, repeated --runs times (medians reported):
  a. message latency p50 and p99 per side, and what Weir adds (Weir minus direct);
  b. Weir's resident memory (VmRSS) before the first message and after each run, and its growth
     a message once the first run has warmed it (Weir remembers the owner of every task created
     through it, up to `a2a.max_tasks`).

With --callgrind N it instead counts the instructions Weir spends per message, under
`valgrind --tool=callgrind`, the way bench/callgrind.py does: one gateway thread, the same
warm-up, runs with N1 = N/5 and N1 + N messages, and one that idles after N1 to take out the work
that runs by the clock; (I(N1 + N) − I(N1) − idle share) / N, by kind of thread. The messages
come from this script (outside valgrind). Results in bench/out/a2a-callgrind.md.

Usage:  python3 bench/a2a.py [--runs 5] [--calls 2000] [--versions 1.0 0.3] [--skip-build]
        python3 bench/a2a.py --callgrind 1000 [--idle 20] [--keep] [--skip-build]
Needs Linux, Python 3.11 (stdlib only), cargo, the test suite's .venv (scripts/test sets it up)
and, for --callgrind, valgrind. Results are printed and written to
bench/out/a2a.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp import OUT_DIR, ROOT, TARGET, WEIR_BIN, diff, log, med, rss_kb, start_weir, stop_processes  # noqa: E402 - the MCP benchmark's helpers

sys.path.insert(0, str(ROOT / "tests" / "a2a"))
from agents import python_for, spawn_agent  # noqa: E402 - the fixture agents' launcher

LOADGEN = TARGET / "examples" / "bench_a2a"
AGENT = "echo"
TARGET_ADDED_P50_MS = 0.3
# Side names of bench_a2a's output, by version.
SUFFIX = {"1.0": "v1", "0.3": "v03"}


def weir_config(agent_url: str, extra: str = "") -> str:
    return f"""{extra}
[[a2a.agents]]
name = "{AGENT}"
url = "{agent_url}"
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--versions", nargs="+", default=["1.0", "0.3"], choices=list(SUFFIX), help="A2A versions measured in the same rounds")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--callgrind", type=int, metavar="N", help="count Weir's instructions per message over N messages instead")
    ap.add_argument("--idle", type=float, default=20.0, help="with --callgrind: seconds of the idle run that measures clock-driven background work")
    ap.add_argument("--keep", action="store_true", help="with --callgrind: keep the callgrind outputs (for callgrind_annotate)")
    args = ap.parse_args()

    if not Path(python_for("v1")).exists():
        sys.exit("the A2A fixtures' .venv is missing: run `bash tests/a2a/setup-venvs.sh`")
    if args.callgrind is not None and not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")
    if not args.skip_build:
        log("building release binaries")
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "weir-server", "--bin", "weir", "--example", "bench_a2a"], cwd=ROOT, check=True)

    procs: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-a2a-"))
    try:
        agent, direct = spawn_agent("v1", stderr=open(tmp / "agent.log", "wb"))
        procs.append(agent)
        log(f"fixture A2A agent (a2a-sdk 1.3.0) at {direct}")
        if args.callgrind is not None:
            callgrind_bench(args, tmp, direct)
        else:
            latency_bench(args, tmp, procs, direct)
    finally:
        stop_processes(procs)
        if args.keep:
            log(f"outputs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def latency_bench(args: argparse.Namespace, tmp: Path, procs: list[subprocess.Popen], direct: str) -> None:
    config = tmp / "weir.toml"
    config.write_text(weir_config(direct))
    weir, base, key = start_weir("weir", tmp, config, f"sqlite://{tmp / 'weir.db'}", {})
    procs.append(weir)
    time.sleep(0.5)
    rss_before = rss_kb(weir.pid)

    runs, rss_after_run = [], []
    for i in range(args.runs):
        out = subprocess.run([str(LOADGEN), "latency", direct, f"{base}/a2a/{AGENT}", key, str(args.calls), *args.versions], check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        runs.append(r)
        time.sleep(0.5)
        rss_after_run.append(rss_kb(weir.pid))
        log(
            f"run {i + 1}: "
            + "; ".join(
                f"v{v} p50 direct {r[f'direct_{SUFFIX[v]}']['p50']:.3f} ms, Weir {r[f'weir_{SUFFIX[v]}']['p50']:.3f} ms, "
                f"p99 direct {r[f'direct_{SUFFIX[v]}']['p99']:.3f} ms, Weir {r[f'weir_{SUFFIX[v]}']['p99']:.3f} ms"
                for v in args.versions
            )
            + f"; Weir RSS {rss_after_run[-1] / 1024:.1f} MB"
        )
    # Every round sends one message per version through Weir, warm-up (a tenth) included; each
    # creates a task whose owner Weir remembers. The growth after the first run (the allocator
    # and caches warm) is what the remembered tasks cost.
    per_run = (args.calls + args.calls // 10) * len(args.versions)
    later = (rss_after_run[-1] - rss_after_run[0]) * 1024 / (per_run * (args.runs - 1)) if args.runs > 1 else float("nan")

    lines = [
        f"A2A benchmark, {dt.date.today().isoformat()}: {args.runs} runs × {args.calls} sequential non-streamed messages per side "
        f"(JSON-RPC, answered with a completed task by the a2a-sdk 1.3.0 fixture agent); audit on; medians over runs",
        "",
        "| | p50 (ms) | p99 (ms) |",
        "|---|---|---|",
    ]
    for v in args.versions:
        s = SUFFIX[v]
        method = "SendMessage" if v == "1.0" else "message/send"
        lines += [
            f"| v{v} `{method}` direct | {med(runs, f'direct_{s}', 'p50'):.3f} | {med(runs, f'direct_{s}', 'p99'):.3f} |",
            f"| v{v} `{method}` through Weir | {med(runs, f'weir_{s}', 'p50'):.3f} | {med(runs, f'weir_{s}', 'p99'):.3f} |",
            f"| v{v} added by Weir | {diff(runs, f'weir_{s}', f'direct_{s}', 'p50'):+.3f} | {diff(runs, f'weir_{s}', f'direct_{s}', 'p99'):+.3f} |",
        ]
    worst = max(diff(runs, f"weir_{SUFFIX[v]}", f"direct_{SUFFIX[v]}", "p50") for v in args.versions)
    lines += [
        "",
        f"Weir RSS: {rss_before / 1024:.1f} MB before the first message, {rss_after_run[0] / 1024:.1f} MB after the first run "
        f"({per_run} messages through it), {rss_after_run[-1] / 1024:.1f} MB after the last ({per_run * args.runs}); "
        f"after the first run {later:.0f} bytes a message (each created a task whose owner Weir remembers)",
        "",
        f"target: added p50 ≤ {TARGET_ADDED_P50_MS} ms: {'met' if worst <= TARGET_ADDED_P50_MS else 'NOT met'} ({worst:+.3f} ms)",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "a2a.md").write_text(text + "\n")


def callgrind_bench(args: argparse.Namespace, tmp: Path, direct: str) -> None:
    """Instructions per message by kind of thread, per version (see bench/callgrind.py)."""
    # bench/callgrind.py's method (imported here: only this mode needs it).
    from callgrind import WARMUP, Run, measured_settings, per_call

    # The settings bench/callgrind.py measures with: one gateway thread, no reloads, audit rows
    # written in batches of 1000 and never by the clock, so every run writes the same batches.
    config = tmp / "weir.toml"
    config.write_text(weir_config(direct, measured_settings(tmp)))

    def messages(version: str):
        def calls(run: Run, n: int) -> None:
            for _ in range(n):
                if version == "1.0":
                    message = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": "hello"}]}
                    body = {"jsonrpc": "2.0", "id": "1", "method": "SendMessage", "params": {"message": message}}
                    headers, done = {"a2a-version": "1.0"}, b'"TASK_STATE_COMPLETED"'
                else:
                    message = {"kind": "message", "messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "text", "text": "hello"}]}
                    body = {"jsonrpc": "2.0", "id": "1", "method": "message/send", "params": {"message": message}}
                    headers, done = {}, b'"completed"'
                status, answer, _ = run.post(f"/a2a/{AGENT}", json.dumps(body), {"authorization": f"Bearer {run.key}", **headers})
                if status != 200 or done not in answer or b"echo: hello" not in answer:
                    raise SystemExit(f"v{version} message answered {status}: {answer[:300]!r}")

        return calls

    n1, n2 = args.callgrind // 5, args.callgrind // 5 + args.callgrind
    results = {v: per_call(WEIR_BIN, config, tmp, f"v{v}", messages(v), n1, n2, args.idle) for v in args.versions}
    lines = [
        f"A2A instructions per message (valgrind --tool=callgrind, user space), {dt.date.today().isoformat()}: "
        f"(I({n2}) − I({n1})) / {n2 - n1} after {WARMUP} warm-up messages, non-streamed JSON-RPC to the a2a-sdk 1.3.0 fixture agent, audit on. "
        "`gateway`: the threads serving the gateway port; `audit`: the audit writer's thread; `all`: the whole process. "
        "Clock-driven background work (measured in an idle run) is taken out.",
        "",
        "| message | gateway | audit | all |",
        "| --- | ---: | ---: | ---: |",
    ]
    for v, r in results.items():
        method = "SendMessage" if v == "1.0" else "message/send"
        lines.append(f"| v{v} `{method}` | {r['gateway']:,.0f} | {r['audit']:,.0f} | {r['all']:,.0f} |")
    text = "\n".join(lines)
    print("\n" + text)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "a2a-callgrind.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
