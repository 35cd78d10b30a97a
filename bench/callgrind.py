#!/usr/bin/env python3
"""CPU per call, counted in instructions: two Weir builds side by side under
`valgrind --tool=callgrind`, on the LLM path and on an MCP `tools/call`.

Wall time on this 2-core machine moves with whatever else runs; instruction counts do not. For
each build and each path, Weir runs under callgrind with the same config and the same warm-up,
once with N1 measured calls and once with N2; instructions per call are
(I(N2) − I(N1)) / (N2 − N1), so start-up, warm-up and shutdown cancel out. Counts are kept per
kind of thread: the gateway threads (the request path), the audit writer, the rest. Work that
runs by the clock (the audit writer's 10 ms drain, 1 s background ticks) is measured in a third
run that idles after N1 calls, and taken out in proportion to the time the extra calls took.

- LLM path: `POST /v1/chat/completions` (non-streamed, ~0.5 KB body) with the agent's key, two
  budgets and an RPM limit applying, audit with body capture on SQLite; the upstream is the
  fake provider (release build, outside valgrind).
- With `--translated` (this tree only): the 2 KB chat request of `bench/translate/chat_request.json`
  once to an OpenAI-kind model (same protocol) and once to an Anthropic-kind one (translated to
  Anthropic messages and its answer back), so the difference is what translation adds per call.
- With `--guardrails` (this tree only): the 2 KB chat request to a model whose answer is ~1.5 KB
  of text (`gpt-bench-2k`), once without guardrails and once with the default policy
  (`[guardrails] enabled = true`: PII and secrets masked, injection flagged, on the request and
  the answer), so the difference is what the guardrails add per call.
- With `--cache` (this tree only): the same 2 KB call with a 1.5 KB answer, the response cache on
  (`[cache] enabled = true`): every call a new question (a miss, its answer stored) and every call
  the same question (a hit after the warm-up), so the two can be compared.
- MCP path: `tools/call echo` on `/mcp/fix`, the fixture server (official TypeScript SDK) over
  Streamable HTTP with JSON answers, audit with bodies on.
- With `--stateless` (this tree only): MCP revision 2026-07-28, `tools/call greet` on
  `/mcp/modern` (tests/mcp-conformance/fixture-server-2026.mjs, stateless on both sides) and a
  stateless client's `tools/call echo` on `/mcp/fix` (bridged to the 2025-11-25 fixture).

The calls are sequential on one kept-alive connection from this script (outside valgrind).

Usage:
    python3 bench/callgrind.py --base-rev REV            # builds REV into target/callgrind-base
    python3 bench/callgrind.py --base-bin PATH/TO/weir   # or compare with a binary at hand
    options: --n1 200 --n2 1200 --repeat 1 --skip-build

Needs valgrind, node (tests/mcp-node installed) and cargo. Prints a table and writes
bench/out/callgrind.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
FIXTURE = ROOT / "tests" / "mcp-node" / "fixture-server.mjs"
FIXTURE_2026 = ROOT / "tests" / "mcp-conformance" / "fixture-server-2026.mjs"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FAKE_KEY = "sk-callgrind-fake-key-0123456789"
PROMPT = "Summarise the quarterly report in three short bullet points for the leadership team. " * 5
CHAT_BODY = json.dumps({"model": "gpt-bench", "max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}]})
_REQUEST_2K = json.loads((ROOT / "bench" / "translate" / "chat_request.json").read_text())
CHAT_2K = json.dumps({**_REQUEST_2K, "model": "gpt-bench"}, separators=(",", ":"))
CHAT_2K_TRANSLATED = json.dumps({**_REQUEST_2K, "model": "claude-bench"}, separators=(",", ":"))
CHAT_2K_LONG_ANSWER = json.dumps({**_REQUEST_2K, "model": "gpt-bench-2k"}, separators=(",", ":"))
# A support agent's answer (~1.5 KB), what `gpt-bench-2k` says.
ANSWER_2K = (
    "Thanks for your patience. I looked at order 88412 and the shipment left our warehouse on Tuesday; "
    "the carrier scanned it in the regional hub this morning, so delivery should happen within two working days. "
    "If the parcel has not arrived by Friday, reply to this message and I will open a trace with the carrier. "
    "About the refund you asked for on the earlier order: it was approved yesterday and the amount goes back "
    "to the card you paid with; banks usually take three to five working days to show it. "
    "I also checked your account settings. Notifications are on for shipping updates but off for invoices, "
    "which is why the last invoice did not reach your inbox; you can switch them on under Settings, then Messages. "
    "Your subscription renews on the first of next month at the same price, and nothing else changes. "
    "If you would like to move to the yearly plan, I can apply the current discount before the renewal date. "
    "Finally, the replacement charger you mentioned is in stock; I have reserved one for you for the next seven days. "
    "Let me know if you want it sent to the same address or picked up at the store near you. "
    "Is there anything else I can help you with today? Have a good afternoon."
)
_B64_ANSWER = __import__("base64").urlsafe_b64encode(ANSWER_2K.encode()).decode().rstrip("=")
WARMUP = 50


def log(msg: str) -> None:
    print(f"[callgrind] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {timeout:.0f} s")


def build(base_rev: str | None, skip: bool) -> Path | None:
    if skip:
        return None
    log("building this tree's release binaries")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "weir-server", "-p", "weir-fake-provider"], cwd=ROOT, check=True)
    if base_rev is None:
        return None
    base_dir = TARGET / "callgrind-base"
    tree = Path(tempfile.mkdtemp(prefix="weir-base-src-"))
    log(f"building {base_rev} into {base_dir}")
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), base_rev], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    try:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "weir-server"], cwd=tree, check=True, env={**os.environ, "CARGO_TARGET_DIR": str(base_dir)})
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    return base_dir / "release" / "weir"


def measured_settings(tmp: Path) -> str:
    """The settings instructions are counted under (bench/a2a.py measures with them too)."""
    return f"""
[server]
reload_interval_ms = 3600000
# One gateway thread: every call takes the same path through one event loop.
workers = 1

[identity]
refresh_interval_ms = 3600000

[audit]
spool_path = "{tmp / 'weir-audit.spool'}"
# Rows wait in memory and go in one batch at shutdown (none written by the clock, none while
# calls run), so the rows written and the batches they go in are the same in every run.
batch_size = 1000
flush_interval_ms = 3600000
"""


def config_text(upstream: int, mcp_url: str, tmp: Path) -> str:
    # Only keys both builds know: the comparison runs the same config on each.
    return measured_settings(tmp) + f"""

[[limits.budgets]]
agent = "*"
tokens = 1000000000000
period = "day"

[[limits.budgets]]
agent = "*"
cost_usd = 1000000.0
period = "month"

[[limits.rates]]
agent = "*"
rpm = 1000000000

[[providers]]
name = "fake"
kind = "openai"
base_url = "http://127.0.0.1:{upstream}/v1"
api_key_env = "FAKE_PROVIDER_KEY"

[[providers]]
name = "fake-anthropic"
kind = "anthropic"
base_url = "http://127.0.0.1:{upstream}"
api_key_env = "FAKE_PROVIDER_KEY"

[[models]]
name = "gpt-bench"
targets = [{{ provider = "fake", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 0.15, output_per_mtok = 0.6 }}

[[models]]
name = "claude-bench"
targets = [{{ provider = "fake-anthropic", model = "claude-x" }}]
price = {{ input_per_mtok = 3.0, output_per_mtok = 15.0 }}

[[models]]
name = "gpt-bench-2k"
targets = [{{ provider = "fake", model = "gpt-4o-mini@say={_B64_ANSWER}" }}]
price = {{ input_per_mtok = 0.15, output_per_mtok = 0.6 }}

[mcp]
[[mcp.servers]]
name = "fix"
url = "{mcp_url}"
"""


class Run:
    """One Weir under callgrind: started, called, stopped; its instruction total."""

    def __init__(self, weir: Path, config: Path, tmp: Path, label: str) -> None:
        self.tmp = tmp / label
        self.tmp.mkdir()
        self.port, self.admin = free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIR_", "OTEL_", "RUST_LOG"))}
        self.env.update(
            WEIR_DATABASE_URL=f"sqlite://{self.tmp / 'weir.db'}",
            WEIR_LISTEN=f"127.0.0.1:{self.port}",
            WEIR_ADMIN_LISTEN=f"127.0.0.1:{self.admin}",
            WEIR_ADMIN_TOKEN="callgrind-admin-token-0123456789",
            WEIR_LOG="warn",
            FAKE_PROVIDER_KEY=FAKE_KEY,
        )
        base = [str(weir), "--config", str(config)]
        subprocess.run([*base, "agents", "create", "bench"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.key = subprocess.run([*base, "keys", "create", "bench"], env=self.env, check=True, capture_output=True, text=True).stdout.strip()
        self.out = self.tmp / "callgrind.out"
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={self.out}", *base, "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "valgrind.log", "wb"),
        )

        def ready() -> bool:
            c = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=5)
            c.request("GET", "/readyz")
            return c.getresponse().status == 200

        wait_until(ready, "weir under valgrind")
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def post(self, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        self.conn.request("POST", path, body=body.encode(), headers={"content-type": "application/json", **headers})
        r = self.conn.getresponse()
        data = r.read()
        return r.status, data, {k.lower(): v for k, v in r.getheaders()}

    def stop(self) -> dict[str, int]:
        """Instructions by kind of thread: `gateway` (the threads serving the gateway port),
        `audit` (the audit writer's thread), `other` (the main runtime: accept loop, admin
        port, background tasks), and `all`."""
        self.conn.close()
        # Let the audit writer finish what the calls queued (its flush interval is 200 ms).
        time.sleep(1.0)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=300)
        kinds = {"gateway": 0, "audit": 0, "other": 0}
        files = sorted(self.out.parent.glob(self.out.name + "-*"))
        if not files:
            raise SystemExit(f"no callgrind output next to {self.out}")
        for f in files:
            text = f.read_text(errors="replace")
            total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if not total:
                continue
            if "weir_server::workers::serve_handed" in text:
                kind = "gateway"
            elif "weir_server::audit::writer::spawn_writer" in text:
                kind = "audit"
            else:
                kind = "other"
            kinds[kind] += int(total.group(1))
        kinds["all"] = sum(kinds.values())
        return kinds


def llm_calls(run: Run, n: int) -> None:
    for _ in range(n):
        status, body, _ = run.post("/v1/chat/completions", CHAT_BODY, {"authorization": f"Bearer {run.key}"})
        if status != 200:
            raise SystemExit(f"LLM call answered {status}: {body[:300]!r}")


def _chat_calls(body: str):
    def calls(run: Run, n: int) -> None:
        for _ in range(n):
            status, answer, _ = run.post("/v1/chat/completions", body, {"authorization": f"Bearer {run.key}"})
            if status != 200:
                raise SystemExit(f"LLM call answered {status}: {answer[:300]!r}")

    return calls


llm2k_calls = _chat_calls(CHAT_2K)
llm2k_translated_calls = _chat_calls(CHAT_2K_TRANSLATED)
llm2k_long_answer_calls = _chat_calls(CHAT_2K_LONG_ANSWER)


def llm2k_miss_calls(run: Run, n: int) -> None:
    """Every call a question not asked before (same size): a cache miss whose answer is stored."""
    for _ in range(n):
        run.asked = getattr(run, "asked", 0) + 1
        body = CHAT_2K_LONG_ANSWER.replace('"model":"gpt-bench-2k"', f'"seed":{100_000_000 + run.asked},"model":"gpt-bench-2k"', 1)
        status, answer, h = run.post("/v1/chat/completions", body, {"authorization": f"Bearer {run.key}"})
        if status != 200 or h.get("x-weir-cache") != "miss":
            raise SystemExit(f"a cache miss answered {status} {h.get('x-weir-cache')}: {answer[:300]!r}")


def llm2k_hit_calls(run: Run, n: int) -> None:
    """The same question every time: a cache hit (after the first)."""
    for _ in range(n):
        status, answer, h = run.post("/v1/chat/completions", CHAT_2K_LONG_ANSWER, {"authorization": f"Bearer {run.key}"})
        if status != 200 or h.get("x-weir-cache") not in ("hit", "miss"):
            raise SystemExit(f"a cache call answered {status}: {answer[:300]!r}")


def mcp_calls(run: Run, n: int) -> None:
    headers = {"authorization": f"Bearer {run.key}", "accept": "application/json, text/event-stream"}
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "callgrind", "version": "1"}}}
    status, body, h = run.post("/mcp/fix", json.dumps(init), headers)
    if status != 200:
        raise SystemExit(f"initialize answered {status}: {body[:300]!r}")
    headers = {**headers, "mcp-session-id": h["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    run.post("/mcp/fix", json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), headers)
    for i in range(1, n + 1):
        call = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": f"call {i}"}}}
        status, body, _ = run.post("/mcp/fix", json.dumps(call), headers)
        if status != 200 or b'"result"' not in body:
            raise SystemExit(f"tools/call answered {status}: {body[:300]!r}")


def stateless_calls(path: str, tool: str, args: dict):
    """Stateless (2026-07-28) `tools/call`s on `path`: `_meta` and the revision's headers on each."""

    def calls(run: Run, n: int) -> None:
        headers = {"authorization": f"Bearer {run.key}", "accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": tool}
        meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": {"name": "callgrind", "version": "1"}}
        for i in range(1, n + 1):
            call = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": tool, "arguments": args, "_meta": meta}}
            status, body, _ = run.post(path, json.dumps(call), headers)
            if status != 200 or b'"complete"' not in body:
                raise SystemExit(f"stateless tools/call answered {status}: {body[:300]!r}")

    return calls


def per_call(weir: Path, config: Path, tmp: Path, label: str, calls, n1: int, n2: int, idle: float) -> dict[str, float]:
    """Instructions per call by kind of thread. Background work runs by the clock (the audit
    writer wakes every 10 ms, tasks tick every second), and a run under valgrind lasts longer
    the more calls it makes: that work is measured in a third run that, after N1 calls, waits
    `idle` seconds, and taken out of the difference for the time the extra calls took."""
    totals, took = {}, {}
    for n, wait in ((n1, 0.0), (n2, 0.0), (n1, idle)):
        run = Run(weir, config, tmp, f"{label}-{n}-{int(wait)}")
        calls(run, WARMUP)
        started = time.monotonic()
        calls(run, n)
        time.sleep(wait)
        took[(n, wait)] = time.monotonic() - started
        totals[(n, wait)] = run.stop()
        log(f"{label}: {WARMUP}+{n} calls, then {wait:.0f} s idle, in {took[(n, wait)]:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in totals[(n, wait)].items()))
    out = {}
    for k in totals[(n1, 0.0)]:
        per_second = (totals[(n1, idle)][k] - totals[(n1, 0.0)][k]) / (took[(n1, idle)] - took[(n1, 0.0)])
        extra = totals[(n2, 0.0)][k] - totals[(n1, 0.0)][k] - per_second * (took[(n2, 0.0)] - took[(n1, 0.0)])
        out[k] = extra / (n2 - n1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-rev", help="a git revision to build and compare with")
    ap.add_argument("--base-bin", type=Path, help="a weir binary to compare with (instead of --base-rev)")
    ap.add_argument("--n1", type=int, default=200)
    ap.add_argument("--n2", type=int, default=1200)
    ap.add_argument("--repeat", type=int, default=1, help="measure each side this many times (the counts should agree)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of the idle run that measures clock-driven background work")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the callgrind outputs (for callgrind_annotate)")
    ap.add_argument("--only", choices=["base", "this"], help="measure one build alone (while tuning)")
    ap.add_argument("--translated", action="store_true", help="also measure a 2 KB chat call, same protocol and translated (this tree)")
    ap.add_argument("--guardrails", action="store_true", help="also measure a 2 KB chat call with a 1.5 KB answer, without and with the default guardrails (this tree)")
    ap.add_argument("--extra-only", action="store_true", help="measure only the paths asked for with --translated, --guardrails, --cache or --stateless")
    ap.add_argument("--stateless", action="store_true", help="also measure MCP revision 2026-07-28: stateless on both sides, and bridged (this tree)")
    ap.add_argument("--cache", action="store_true", help="also measure a 2 KB chat call with a 1.5 KB answer with the response cache on, missing and hitting (this tree)")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")
    built = build(args.base_rev, args.skip_build)
    base_bin = args.base_bin or built or (TARGET / "callgrind-base" / "release" / "weir")
    new_bin = TARGET / "release" / "weir"
    fake_bin = TARGET / "release" / "weir-fake-provider"
    for b in (base_bin, new_bin, fake_bin):
        if not b.exists():
            sys.exit(f"missing {b} (build it, or give --base-rev / --base-bin)")

    tmp = Path(tempfile.mkdtemp(prefix="weir-callgrind-"))
    procs: list[subprocess.Popen] = []
    try:
        upstream = free_port()
        procs.append(subprocess.Popen([str(fake_bin), "--listen", f"127.0.0.1:{upstream}", "--api-key", FAKE_KEY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        mcp_port = free_port()
        procs.append(
            subprocess.Popen(["node", str(FIXTURE), "http", str(mcp_port)], cwd=FIXTURE.parent, env={**os.environ, "FIXTURE_JSON_RESPONSE": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

        def up(port: int) -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        modern_port = free_port()
        if args.stateless:
            procs.append(subprocess.Popen(["node", str(FIXTURE_2026), "--port", str(modern_port), "--modern-only", "--bench"], cwd=FIXTURE_2026.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_until(lambda: up(modern_port), "the 2026-07-28 fixture MCP server")

        wait_until(lambda: up(upstream), "the fake provider")
        wait_until(lambda: up(mcp_port), "the fixture MCP server")
        config = tmp / "weir.toml"
        config.write_text(config_text(upstream, f"http://127.0.0.1:{mcp_port}/mcp", tmp))
        guarded = tmp / "weir-guarded.toml"
        guarded.write_text(config_text(upstream, f"http://127.0.0.1:{mcp_port}/mcp", tmp) + "\n[guardrails]\nenabled = true\n")
        both = tmp / "weir-2026.toml"
        both.write_text(config_text(upstream, f"http://127.0.0.1:{mcp_port}/mcp", tmp) + f'\n[[mcp.servers]]\nname = "modern"\nurl = "http://127.0.0.1:{modern_port}/mcp"\n')
        cached = tmp / "weir-cached.toml"
        cached.write_text(config_text(upstream, f"http://127.0.0.1:{mcp_port}/mcp", tmp) + "\n[cache]\nenabled = true\n")

        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for rep in range(args.repeat):
            for side, binary in (("base", base_bin), ("this tree", new_bin)):
                if args.only and not side.startswith(args.only):
                    continue
                paths = [] if args.extra_only else [("LLM", llm_calls, config), ("MCP", mcp_calls, config)]
                if args.translated and side == "this tree":
                    paths += [("LLM 2 KB", llm2k_calls, config), ("LLM 2 KB translated", llm2k_translated_calls, config)]
                if args.guardrails and side == "this tree":
                    paths += [("LLM 2 KB + 1.5 KB answer", llm2k_long_answer_calls, config), ("LLM 2 KB + 1.5 KB answer, guardrails", llm2k_long_answer_calls, guarded)]
                if args.stateless and side == "this tree":
                    paths += [
                        ("MCP 2026-07-28", stateless_calls("/mcp/modern", "greet", {"name": "callgrind"}), both),
                        ("MCP 2026-07-28 bridged", stateless_calls("/mcp/fix", "echo", {"text": "callgrind"}), both),
                    ]
                if args.cache and side == "this tree":
                    paths += [("LLM 2 KB + 1.5 KB answer, cache miss", llm2k_miss_calls, cached), ("LLM 2 KB + 1.5 KB answer, cache hit", llm2k_hit_calls, cached)]
                for path, calls, cfg in paths:
                    label = f"{side.replace(' ', '-')}-{path.replace(' ', '-')}-{rep}"
                    results.setdefault((side, path), []).append(per_call(binary, cfg, tmp, label, calls, args.n1, args.n2, args.idle))

        lines = [
            f"Instructions per call (valgrind --tool=callgrind, user space), {dt.date.today().isoformat()}: "
            f"(I({args.n2}) − I({args.n1})) / {args.n2 - args.n1} after {WARMUP} warm-up calls; base {base_bin}. "
            "`gateway`: the threads serving the gateway port; `audit`: the audit writer's thread; `all`: the whole process. "
            "Clock-driven background work (measured in an idle run) is taken out of `audit` and `all`.",
            "",
            "| path | threads | base | this tree | change |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for path in (
            "LLM",
            "MCP",
            "LLM 2 KB",
            "LLM 2 KB translated",
            "LLM 2 KB + 1.5 KB answer",
            "LLM 2 KB + 1.5 KB answer, guardrails",
            "LLM 2 KB + 1.5 KB answer, cache miss",
            "LLM 2 KB + 1.5 KB answer, cache hit",
            "MCP 2026-07-28",
            "MCP 2026-07-28 bridged",
        ):
            if not results.get(("this tree", path)) and not results.get(("base", path)):
                continue
            for kind in ("gateway", "audit", "all"):
                bs = [r[kind] for r in results.get(("base", path), [])] or [float("nan")]
                ns = [r[kind] for r in results.get(("this tree", path), [])] or [float("nan")]
                b, n = sorted(bs)[len(bs) // 2], sorted(ns)[len(ns) // 2]
                spread = lambda xs: "" if len(xs) < 2 else f" ({', '.join(f'{x:,.0f}' for x in xs)})"
                change = "" if b != b else f"{100 * (n - b) / b:+.2f} %"
                lines.append(f"| {path} | {kind} | {b:,.0f}{spread(bs)} | {n:,.0f}{spread(ns)} | {change} |")
        text = "\n".join(lines)
        print(text)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUT_DIR / "callgrind.md").write_text(text + "\n")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if args.keep:
            log(f"callgrind outputs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
