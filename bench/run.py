#!/usr/bin/env python3
"""Weir's overhead benchmark: the same calls sent straight to a stand-in provider and through Weir.

The provider is nginx answering with canned OpenAI bodies (bench/nginx.conf.template), so it
costs next to nothing and whatever is added on the way through Weir is Weir's own: routing, key
check, usage accounting and the audit trail with body capture, which stays on.

Measured, direct and through Weir alternately, each repeated --runs times (medians reported):

  a. latency at a fixed 2000 requests/s (oha -q): p50 and p99, and every non-200 answer counted;
  b. saturation throughput (oha, no rate limit): requests/s and the ratio Weir / direct;
  c. streaming time to first body byte, from a sequential keep-alive Python client;
  d. Weir's peak resident memory (VmHWM) after everything above.

Beside them, a and b are also measured through a bare proxy (server/examples/bare_proxy.rs: the
same thread-per-core hyper plumbing as Weir's LLM path and nothing else), so that what an extra
hop costs on this machine can be told apart from what Weir's own work costs.

Usage:  python3 bench/run.py [--runs 5] [--duration 10] [--skip-build] [--keep]

Needs Linux, Python 3.11 (stdlib only), cargo, and either nginx and oha on PATH or the right to
install them (apt-get, cargo install). Results are printed and written to bench/out/results.md.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import datetime as dt
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
OUT_DIR = BENCH_DIR / "out"
NGINX_TEMPLATE = BENCH_DIR / "nginx.conf.template"
WEIR_BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "weir"
BARE_BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "examples" / "bare_proxy"

RATE_RPS = 2000
RATE_CONNECTIONS = 50
SATURATION_CONNECTIONS = 64
TTFT_REQUESTS = 300
TTFT_WARMUP = 30
WARMUP_SECONDS = 2

CHAT_BODY = '{"model":"gpt-bench","messages":[{"role":"user","content":"hello"}]}'
STREAM_BODY = '{"model":"gpt-bench-stream","messages":[{"role":"user","content":"hello"}],"stream":true}'

# Pass/fail thresholds.
TARGET_ADDED_P50_MS = 0.15
TARGET_ADDED_P99_MS = 0.6
TARGET_THROUGHPUT_RATIO = 0.5
TARGET_PEAK_RSS_MB = 80.0
TARGET_ADDED_TTFT_MS = 1.0

SIDES = ("direct", "bare", "weir")
# The bare proxy buffers whole answers, so time to first byte is measured direct and through Weir.
TTFT_SIDES = ("direct", "weir")


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


class BenchError(Exception):
    """A failure that ends the run with a message rather than a traceback."""


# ---------------------------------------------------------------------------------------------
# Child processes. Every long-lived child is registered here and stopped on any exit: normal
# return, error, Ctrl-C, SIGTERM/SIGHUP. Children run in their own session so a terminal Ctrl-C
# reaches only this script, which then stops them in order (Weir before the nginx it calls). On
# Linux they are also told to exit if this script dies without cleaning up (PR_SET_PDEATHSIG).
# ---------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        except Exception:  # best effort: cleanup below still runs on every ordinary exit
            pass


class Children:
    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
        self._procs.append((name, proc))
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        """Drop a child that has exited (short-lived ones like oha)."""
        self._procs = [(n, p) for n, p in self._procs if p is not proc]

    def stop_all(self) -> None:
        # A second Ctrl-C must not interrupt the cleanup half-way.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            # Newest first: Weir goes before nginx.
            while self._procs:
                name, proc = self._procs.pop()
                if proc.poll() is not None:
                    continue
                log(f"stopping {name} (pid {proc.pid})")
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            signal.signal(signal.SIGINT, previous)


CHILDREN = Children()
atexit.register(CHILDREN.stop_all)


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------


def run_cmd(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    log("$ " + shlex.join(argv))
    return subprocess.run(argv, **kwargs)


def which(name: str, extra_dirs: list[Path]) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in extra_dirs:
        candidate = d / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def cargo_bin_dir() -> Path:
    return Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin"


def ensure_nginx() -> str:
    extra = [Path("/usr/sbin"), Path("/sbin"), Path("/usr/local/sbin"), Path("/usr/local/nginx/sbin")]
    path = which("nginx", extra)
    if path:
        log(f"nginx: using {path}")
        return path
    log("nginx: not found; installing it with apt-get")
    if not shutil.which("apt-get"):
        raise BenchError("nginx is not installed and apt-get is not available; install nginx and retry")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def install() -> bool:
        # nginx-light is the smallest build; newer releases only ship `nginx`.
        for package in ("nginx-light", "nginx"):
            if run_cmd([*sudo, "apt-get", "install", "-y", "--no-install-recommends", package], env=env).returncode == 0:
                return True
        return False

    # Try with the package lists as they are first; refresh them only when that fails.
    if not install():
        run_cmd([*sudo, "apt-get", "update"], env=env, check=True)
        if not install():
            raise BenchError("could not install nginx with apt-get")
    path = which("nginx", extra)
    if not path:
        raise BenchError("nginx was installed but cannot be found")
    log(f"nginx: installed at {path}")
    return path


def ensure_oha() -> str:
    path = which("oha", [cargo_bin_dir()])
    if path:
        log(f"oha: using {path}")
        return path
    log("oha: not found; installing it with cargo (takes a few minutes, once)")
    run_cmd(["cargo", "install", "oha", "--locked"], check=True)
    path = which("oha", [cargo_bin_dir()])
    if not path:
        raise BenchError(f"oha was installed but is neither on PATH nor in {cargo_bin_dir()}")
    log(f"oha: installed at {path}")
    return path


def build_weir(skip: bool) -> None:
    if skip:
        log(f"weir: --skip-build, using {WEIR_BIN}")
    else:
        log("weir: building the release binary (cargo decides whether anything changed)")
        run_cmd(["cargo", "build", "--release", "-p", "weir-server", "--bin", "weir", "--example", "bare_proxy"], cwd=ROOT, check=True)
    for binary in (WEIR_BIN, BARE_BIN):
        if not binary.is_file():
            raise BenchError(f"{binary} does not exist; run without --skip-build")


@dataclass
class Oha:
    path: str
    version: str
    # How this version is asked for machine-readable output and a plain (TUI-less) run.
    flags: list[str]

    @classmethod
    def probe(cls, path: str) -> Oha:
        help_text = subprocess.run([path, "--help"], capture_output=True, text=True, check=True).stdout
        version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
        flags: list[str] = []
        if "--output-format" in help_text:
            flags += ["--output-format", "json"]
        elif "--json" in help_text:
            flags += ["--json"]
        else:
            raise BenchError(f"{version}: found no JSON output option in `oha --help`")
        if "--no-tui" in help_text:
            flags.append("--no-tui")
        # Without this, requests still in flight at the deadline are cut and counted as errors.
        if "--wait-ongoing-requests-after-deadline" in help_text:
            flags.append("--wait-ongoing-requests-after-deadline")
        return cls(path, version, flags)

    def argv(self, url: str, key: str, duration: int, load: list[str]) -> list[str]:
        return [
            self.path, *self.flags, *load, "-z", f"{duration}s",
            "-m", "POST", "-H", f"authorization: Bearer {key}", "-H", "content-type: application/json",
            "-d", CHAT_BODY, url,
        ]  # fmt: skip

    def run(self, argv: list[str], duration: int) -> dict:
        proc = CHILDREN.start("oha", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=duration + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise BenchError("oha did not finish in time")
        finally:
            if proc.poll() is not None:
                CHILDREN.forget(proc)
        if proc.returncode != 0:
            raise BenchError(f"oha failed (exit {proc.returncode}): {err.strip()[-2000:]}")
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            raise BenchError(f"oha printed something that is not JSON: {out[:500]!r}")


@dataclass
class OhaResult:
    p50_ms: float
    p99_ms: float
    rps: float
    total: int
    non_200: int  # answers other than 200, plus requests that got no answer at all

    @classmethod
    def parse(cls, report: dict) -> OhaResult:
        pct = report["latencyPercentiles"]
        statuses = {int(k): v for k, v in report.get("statusCodeDistribution", {}).items()}
        errors = sum(report.get("errorDistribution", {}).values())
        ok = statuses.get(200, 0)
        total = sum(statuses.values()) + errors
        return cls(
            p50_ms=pct["p50"] * 1000.0,
            p99_ms=pct["p99"] * 1000.0,
            rps=report["summary"]["requestsPerSec"],
            total=total,
            non_200=total - ok,
        )

    def describe(self) -> str:
        return f"p50 {self.p50_ms:.3f} ms  p99 {self.p99_ms:.3f} ms  {self.rps:,.0f} req/s  n={self.total}  non-200 {self.non_200}"


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, proc: subprocess.Popen, check, log_file: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
            raise BenchError(f"{what} exited with status {proc.returncode}; its log ends:\n{tail}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(f"{what} was not ready after {timeout:.0f} s (log: {log_file})")


def http_status(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def start_nginx(nginx: str, tmp: Path) -> tuple[int, str]:
    prefix = tmp / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    text = NGINX_TEMPLATE.read_text().replace("@@PREFIX@@", str(prefix)).replace("@@PORT@@", str(port))
    conf.write_text(text)
    error_log = prefix / "error.log"
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip().rpartition("/")[2]
    # -e: the error log nginx uses before it has read the config (else the compiled-in path,
    # typically /var/log/nginx, which may not be writable).
    argv = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(error_log)]
    log(f"starting nginx on 127.0.0.1:{port}: {shlex.join(argv)}")
    with open(prefix / "stdout.log", "wb") as out:
        proc = CHILDREN.start("nginx", argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for("nginx", proc, lambda: http_status(f"{base}/v1/chat/completions", "POST", CHAT_BODY.encode())[0] == 200, error_log)
    return port, version


@dataclass
class Weir:
    proc: subprocess.Popen
    port: int
    admin_port: int
    admin_token: str
    key: str
    db_path: Path

    def readyz(self) -> dict:
        status, body = http_status(f"http://127.0.0.1:{self.admin_port}/readyz")
        if status != 200:
            raise BenchError(f"Weir's /readyz answered {status}: {body[:300]!r}")
        return json.loads(body)

    def wait_audit_drained(self, timeout: float = 120.0) -> dict:
        """Let the audit writer catch up, so that one measurement's backlog is not the next one's load."""
        start = time.monotonic()
        deadline = start + timeout
        while True:
            r = self.readyz()
            if r.get("audit_queued", 0) == 0 and r.get("audit_spooled", 0) == 0:
                if (waited := time.monotonic() - start) >= 1.0:
                    log(f"audit backlog written in {waited:.1f} s")
                return r
            if time.monotonic() > deadline:
                raise BenchError(f"the audit backlog did not drain in {timeout:.0f} s: {r}")
            time.sleep(0.2)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
        raise BenchError("VmHWM not found in /proc/<pid>/status")


def start_bare(nginx_port: int, tmp: Path) -> int:
    port = free_port()
    log_file = tmp / "bare.log"
    log(f"starting the bare proxy on 127.0.0.1:{port}")
    with open(log_file, "wb") as out:
        proc = CHILDREN.start("bare proxy", [str(BARE_BIN), f"127.0.0.1:{port}", f"127.0.0.1:{nginx_port}"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    wait_for("bare proxy", proc, lambda: http_status(url, "POST", CHAT_BODY.encode())[0] == 200, log_file)
    return port


def weir_config(nginx_port: int, tmp: Path) -> str:
    upstream = f"http://127.0.0.1:{nginx_port}"
    return f"""\
# Written by bench/run.py.
[server]
drain_timeout_secs = 1
# The per-address flood guard stays on, set high enough never to refuse the load generator.
ip_requests_per_second = 1000000
ip_burst = 1000000

# Budgets and a rate limit apply to every call, so their cost is in the figures; none is ever
# reached.
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

[audit]
spool_path = "{tmp / 'weir-audit.spool'}"

[[providers]]
name = "bench"
kind = "openai"
base_url = "{upstream}/v1"

[[providers]]
name = "bench-stream"
kind = "openai"
base_url = "{upstream}/stream/v1"

[[models]]
name = "gpt-bench"
targets = [{{ provider = "bench", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 0.15, output_per_mtok = 0.6 }}

[[models]]
name = "gpt-bench-stream"
targets = [{{ provider = "bench-stream", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 0.15, output_per_mtok = 0.6 }}
"""


def start_weir(nginx_port: int, tmp: Path, telemetry: bool = False, guardrails: bool = False) -> Weir:
    config = tmp / "weir.toml"
    # With --guardrails, the default policy: PII and secrets masked, prompt injection flagged,
    # on every request and answer (streams included).
    config.write_text(weir_config(nginx_port, tmp) + ("\n[guardrails]\nenabled = true\n" if guardrails else ""))
    db_path = tmp / "weir.db"
    port, admin_port = free_port(), free_port()
    while admin_port == port:
        admin_port = free_port()
    admin_token = "bench-admin-token-" + os.urandom(8).hex()
    # Start from a clean environment as far as Weir is concerned: no stray WEIR_* or OTEL_*
    # setting from the caller's shell may change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIR_", "OTEL_"))}
    env.update(
        WEIR_DATABASE_URL=f"sqlite://{db_path}",
        WEIR_LISTEN=f"127.0.0.1:{port}",
        WEIR_ADMIN_LISTEN=f"127.0.0.1:{admin_port}",
        WEIR_ADMIN_TOKEN=admin_token,
        WEIR_LOG="warn",
    )
    if telemetry:
        # Spans and metrics over OTLP/HTTP to nginx, which accepts and discards them.
        env.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{nginx_port}",
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_METRIC_EXPORT_INTERVAL="5000",
        )
    base = [str(WEIR_BIN), "--config", str(config)]

    # The agent and its key go into the database before the server starts, so the server
    # loads them at start-up. The key is printed alone on stdout.
    run_cmd([*base, "agents", "create", "bench"], env=env, check=True, stdout=subprocess.DEVNULL)
    created = run_cmd([*base, "keys", "create", "bench"], env=env, check=True, stdout=subprocess.PIPE, text=True)
    key = created.stdout.strip()
    if not key or len(key.split()) != 1:
        raise BenchError(f"unexpected output from `weir keys create`: {created.stdout!r}")

    log_file = tmp / "weir.log"
    log(f"starting weir on 127.0.0.1:{port} (admin 127.0.0.1:{admin_port})")
    with open(log_file, "wb") as out:
        proc = CHILDREN.start("weir", [*base, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    weir = Weir(proc, port, admin_port, admin_token, key, db_path)
    wait_for("weir", proc, lambda: http_status(f"http://127.0.0.1:{admin_port}/readyz")[0] == 200, log_file)
    return weir


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def check_endpoints(urls: dict[str, str], stream_urls: dict[str, str], key: str) -> None:
    """One call of each kind on each side, so that a misconfiguration fails here, loudly."""
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    for side in TTFT_SIDES:
        status, body = http_status(urls[side], "POST", CHAT_BODY.encode(), headers)
        if status != 200 or json.loads(body).get("object") != "chat.completion":
            raise BenchError(f"{side}: POST {urls[side]} answered {status}: {body[:500]!r}")
        status, body = http_status(stream_urls[side], "POST", STREAM_BODY.encode(), headers)
        if status != 200 or b"data: [DONE]" not in body:
            raise BenchError(f"{side}: streaming POST {stream_urls[side]} answered {status}: {body[:500]!r}")
    log("sanity check: plain and streaming calls answer 200, direct and through Weir")


def measure_ttft(port: int, path: str, key: str) -> float:
    """Median milliseconds from sending a streaming request to reading the first body byte."""
    body = STREAM_BODY.encode()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples: list[float] = []
    try:
        for i in range(TTFT_WARMUP + TTFT_REQUESTS):
            t0 = time.perf_counter_ns()
            # A bytes body goes out in the same send as the headers (no Nagle/delayed-ACK stall).
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            first = resp.read(1)
            t1 = time.perf_counter_ns()
            rest = resp.read()  # read to the end so the connection can be reused
            if resp.status != 200 or b"data: [DONE]" not in first + rest:
                raise BenchError(f"streaming request to :{port}{path} answered {resp.status}: {(first + rest)[:300]!r}")
            if i >= TTFT_WARMUP:
                samples.append((t1 - t0) / 1e6)
    finally:
        conn.close()
    return statistics.median(samples)


@dataclass
class Results:
    rate: dict[str, list[OhaResult]] = field(default_factory=lambda: {s: [] for s in SIDES})
    saturation: dict[str, list[OhaResult]] = field(default_factory=lambda: {s: [] for s in SIDES})
    ttft: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in TTFT_SIDES})
    # Every call sent to Weir, warm-up included: what the audit trail should hold at the end.
    weir_calls: int = 0


def run_benchmark(oha: Oha, weir: Weir, nginx_port: int, bare_port: int, runs: int, duration: int) -> tuple[Results, dict[str, list[str]]]:
    results = Results()
    urls = {
        "direct": f"http://127.0.0.1:{nginx_port}/v1/chat/completions",
        "bare": f"http://127.0.0.1:{bare_port}/v1/chat/completions",
        "weir": f"http://127.0.0.1:{weir.port}/v1/chat/completions",
    }
    stream_targets = {
        "direct": (nginx_port, "/stream/v1/chat/completions"),
        "weir": (weir.port, "/v1/chat/completions"),
    }
    check_endpoints({s: urls[s] for s in TTFT_SIDES}, {s: f"http://127.0.0.1:{p}{path}" for s, (p, path) in stream_targets.items()}, weir.key)
    results.weir_calls += 2

    rate_load = ["-q", str(RATE_RPS), "-c", str(RATE_CONNECTIONS)]
    sat_load = ["-c", str(SATURATION_CONNECTIONS)]
    commands = {
        "rate": [oha.argv(urls[s], weir.key, duration, rate_load) for s in SIDES],
        "saturation": [oha.argv(urls[s], weir.key, duration, sat_load) for s in SIDES],
    }

    # After each measurement through Weir: count its calls and let the audit writer catch up.
    def settle(side: str, calls: int) -> None:
        if side == "weir":
            results.weir_calls += calls
            weir.wait_audit_drained()

    # Warm both paths (connection pools, page cache, SQLite) before anything is recorded.
    for side in SIDES:
        log(f"warm-up: {WARMUP_SECONDS} s at {RATE_RPS} req/s, {side}")
        warm = OhaResult.parse(oha.run(oha.argv(urls[side], weir.key, WARMUP_SECONDS, rate_load), WARMUP_SECONDS))
        settle(side, warm.total)

    for run in range(runs):
        # Alternate which side goes first (direct, weir / weir, direct, ...) so that a slow drift
        # of the machine's speed does not favour one side.
        order = SIDES if run % 2 == 0 else SIDES[::-1]
        tag = f"run {run + 1}/{runs}"
        for side in order:
            r = OhaResult.parse(oha.run(oha.argv(urls[side], weir.key, duration, rate_load), duration))
            results.rate[side].append(r)
            log(f"{tag}  {RATE_RPS} req/s  {side:<6}  {r.describe()}")
            settle(side, r.total)
        for side in order:
            r = OhaResult.parse(oha.run(oha.argv(urls[side], weir.key, duration, sat_load), duration))
            results.saturation[side].append(r)
            log(f"{tag}  saturation  {side:<6}  {r.describe()}")
            settle(side, r.total)
        for side in (s for s in order if s in TTFT_SIDES):
            ms = measure_ttft(*stream_targets[side], weir.key)
            results.ttft[side].append(ms)
            log(f"{tag}  stream TTFT {side:<6}  median {ms:.3f} ms over {TTFT_REQUESTS} requests")
            settle(side, TTFT_WARMUP + TTFT_REQUESTS)

    def display(argv: list[str]) -> str:
        return shlex.join(["oha", *argv[1:]]).replace(weir.key, "<key>")

    return results, {k: [display(a) for a in v] for k, v in commands.items()}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "cpu model"):
                return value.strip()
    except OSError:
        pass
    return "unknown"


def git_revision() -> str:
    r = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    results: Results,
    commands: dict[str, list[str]],
    peak_rss_mb: float,
    audit: dict,
    outcomes: dict[str, int],
    runs: int,
    duration: int,
    oha: Oha,
    nginx_version: str,
    spans: dict[str, float] | None = None,
) -> str:
    med = statistics.median
    p50 = {s: med(r.p50_ms for r in results.rate[s]) for s in SIDES}
    p99 = {s: med(r.p99_ms for r in results.rate[s]) for s in SIDES}
    non_200 = {s: sum(r.non_200 for r in results.rate[s]) for s in SIDES}
    sent = {s: sum(r.total for r in results.rate[s]) for s in SIDES}
    sat_non_200 = {s: sum(r.non_200 for r in results.saturation[s]) for s in SIDES}
    rps = {s: med(r.rps for r in results.saturation[s]) for s in SIDES}
    ttft = {s: med(results.ttft[s]) for s in TTFT_SIDES}
    added_p50 = p50["weir"] - p50["direct"]
    added_p99 = p99["weir"] - p99["direct"]
    ratio = rps["weir"] / rps["direct"]
    added_ttft = ttft["weir"] - ttft["direct"]
    stored = sum(outcomes.values())
    by_outcome = ", ".join(f"{k} {v:,}" for k, v in outcomes.items()) or "none"
    dropped = audit.get("audit_dropped", "?")

    def rate_pct(side: str) -> str:
        return f"{100.0 * (sent[side] - non_200[side]) / sent[side]:.3f} % ({non_200[side]} non-200 of {sent[side]:,})"

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Weir overhead benchmark",
        "",
        "| | |",
        "|---|---|",
        f"| Date | {now} |",
        f"| nproc | {os.cpu_count()} |",
        f"| CPU | {cpu_model()} |",
        f"| Weir | `target/release/weir` at `{git_revision()}`; audit on, bodies captured, SQLite |",
        f"| Telemetry | {'spans and metrics exported over OTLP/HTTP (to nginx, discarded): ' + ', '.join(f'{k} {v:,.0f}' for k, v in spans.items()) if spans is not None else 'off (spans get ids, nothing exported)'} |",
        f"| Upstream | nginx {nginx_version}, canned OpenAI answers (bench/nginx.conf.template) |",
        f"| Load | {oha.version}; {runs} run{'s' if runs != 1 else ''} × {duration} s per side and measurement, sides alternated, medians |",
        f"| Rate command | `{commands['rate'][-1]}` (and the same against nginx and the bare proxy) |",
        f"| Saturation command | `{commands['saturation'][-1]}` (likewise) |",
        f"| Streaming TTFT | Python http.client, one keep-alive connection, {TTFT_REQUESTS} sequential requests after {TTFT_WARMUP} warm-up, `\"stream\": true` |",
        "",
        "| Measure | Direct | Through Weir | Added | Target | Result |",
        "|---|---:|---:|---:|---|---|",
        f"| p50 latency at {RATE_RPS} req/s (ms) | {p50['direct']:.3f} | {p50['weir']:.3f} | {added_p50:+.3f} | added ≤ {TARGET_ADDED_P50_MS} | {verdict(added_p50 <= TARGET_ADDED_P50_MS)} |",
        f"| p99 latency at {RATE_RPS} req/s (ms) | {p99['direct']:.3f} | {p99['weir']:.3f} | {added_p99:+.3f} | added ≤ {TARGET_ADDED_P99_MS} | {verdict(added_p99 <= TARGET_ADDED_P99_MS)} |",
        f"| Success at {RATE_RPS} req/s | {rate_pct('direct')} | {rate_pct('weir')} | | 0 non-200 | {verdict(non_200['direct'] == 0 and non_200['weir'] == 0)} |",
        f"| Saturation throughput, -c {SATURATION_CONNECTIONS} (req/s) | {rps['direct']:,.0f} | {rps['weir']:,.0f} | ×{ratio:.2f} | ≥ ×{TARGET_THROUGHPUT_RATIO} of direct | {verdict(ratio >= TARGET_THROUGHPUT_RATIO)} |",
        f"| Non-200 at saturation | {sat_non_200['direct']} | {sat_non_200['weir']} | | 0 | {verdict(sat_non_200['direct'] == 0 and sat_non_200['weir'] == 0)} |",
        f"| Streaming time to first byte, median (ms) | {ttft['direct']:.3f} | {ttft['weir']:.3f} | {added_ttft:+.3f} | added ≤ {TARGET_ADDED_TTFT_MS} | {verdict(added_ttft <= TARGET_ADDED_TTFT_MS)} |",
        f"| Weir peak RSS, VmHWM (MB) | | {peak_rss_mb:.1f} | | ≤ {TARGET_PEAK_RSS_MB:.0f} | {verdict(peak_rss_mb <= TARGET_PEAK_RSS_MB)} |",
        f"| Audit events stored / calls sent through Weir | | {stored:,} / {results.weir_calls:,} ({by_outcome}; dropped {dropped}) "
        f"| | all, 0 dropped | {verdict(stored == results.weir_calls and dropped == 0)} |",
        "",
        "The floor: a bare proxy (server/examples/bare_proxy.rs — Weir's plumbing, none of its work) in the same run:",
        "",
        "| Measure | Direct | Bare proxy | Through Weir | Bare proxy adds | Weir adds over the bare proxy |",
        "|---|---:|---:|---:|---:|---:|",
        f"| p50 at {RATE_RPS} req/s (ms) | {p50['direct']:.3f} | {p50['bare']:.3f} | {p50['weir']:.3f} | {p50['bare'] - p50['direct']:+.3f} | {p50['weir'] - p50['bare']:+.3f} |",
        f"| p99 at {RATE_RPS} req/s (ms) | {p99['direct']:.3f} | {p99['bare']:.3f} | {p99['weir']:.3f} | {p99['bare'] - p99['direct']:+.3f} | {p99['weir'] - p99['bare']:+.3f} |",
        f"| Saturation (req/s) | {rps['direct']:,.0f} | {rps['bare']:,.0f} | {rps['weir']:,.0f} | ×{rps['bare'] / rps['direct']:.2f} of direct | ×{rps['weir'] / rps['bare']:.2f} of the bare proxy |",
        f"| Non-200 at {RATE_RPS} req/s and at saturation | {non_200['direct'] + sat_non_200['direct']} | {non_200['bare'] + sat_non_200['bare']} | {non_200['weir'] + sat_non_200['weir']} | | |",
        "",
        "Per run (direct / bare proxy / through Weir):",
        "",
        f"| Run | p50 at {RATE_RPS} req/s (ms) | p99 at {RATE_RPS} req/s (ms) | Saturation (req/s) | Stream TTFT, direct / Weir (ms) |",
        "|---:|---|---|---|---|",
    ]
    for i in range(runs):
        r = {s: results.rate[s][i] for s in SIDES}
        t = {s: results.saturation[s][i] for s in SIDES}
        lines.append(
            f"| {i + 1} | {' / '.join(f'{r[s].p50_ms:.3f}' for s in SIDES)} | {' / '.join(f'{r[s].p99_ms:.3f}' for s in SIDES)} "
            f"| {' / '.join(f'{t[s].rps:,.0f}' for s in SIDES)} | {results.ttft['direct'][i]:.3f} / {results.ttft['weir'][i]:.3f} |"
        )
    lines += [
        "",
        "Added = median through Weir − median direct. Load generator, nginx and Weir share the "
        "machine's cores, so on a small machine the figures include their contention.",
    ]
    return "\n".join(lines) + "\n"


def span_counts(weir: Weir) -> dict[str, float]:
    """Spans exported and dropped, from Weir's /metrics."""
    _, body = http_status(f"http://127.0.0.1:{weir.admin_port}/metrics")
    counts = {}
    for line in body.decode().splitlines():
        if line.startswith(("weir_spans_exported_total", "weir_spans_dropped_total", "weir_telemetry_export_failures_total")):
            name, value = line.rsplit(" ", 1)
            counts[name] = float(value)
    return counts


def audit_outcomes(db_path: Path) -> dict[str, int]:
    """Stored audit events by outcome (ok, error, cancelled)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)) as db:
        return dict(db.execute("SELECT outcome, count(*) FROM audit_events GROUP BY outcome ORDER BY outcome").fetchall())


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each measurement (default 5)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per oha measurement (default 10)")
    parser.add_argument("--skip-build", action="store_true", help="use target/release/weir as it is")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (configs, logs, audit database)")
    parser.add_argument("--telemetry", action="store_true", help="Weir exports spans and metrics over OTLP/HTTP (to nginx, which discards them)")
    parser.add_argument("--guardrails", action="store_true", help="Weir runs the default guardrail policy on every request and answer")
    args = parser.parse_args()
    if args.runs < 1 or args.duration < 1:
        parser.error("--runs and --duration must be at least 1")
    if not sys.platform.startswith("linux"):
        raise BenchError("this benchmark reads /proc and needs Linux")

    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)

    nginx = ensure_nginx()
    oha = Oha.probe(ensure_oha())
    log(f"oha: {oha.version}, output flags {' '.join(oha.flags)}")
    build_weir(args.skip_build)

    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-"))
    log(f"working directory {tmp}")
    keep = args.keep
    try:
        nginx_port, nginx_version = start_nginx(nginx, tmp)
        bare_port = start_bare(nginx_port, tmp)
        weir = start_weir(nginx_port, tmp, args.telemetry, args.guardrails)
        results, commands = run_benchmark(oha, weir, nginx_port, bare_port, args.runs, args.duration)
        spans = span_counts(weir) if args.telemetry else None
        # Read after every measurement, while Weir still runs: its high-water mark over the run.
        peak_rss = weir.peak_rss_mb()
        audit = weir.wait_audit_drained()
        CHILDREN.stop_all()  # Weir flushes and closes the database; then it can be counted
        outcomes = audit_outcomes(weir.db_path)
        text = report(results, commands, peak_rss, audit, outcomes, args.runs, args.duration, oha, nginx_version, spans)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUT_DIR / "results.md").write_text(text)
        print()
        print(text, end="")
        log(f"written to {(OUT_DIR / 'results.md').relative_to(ROOT)}")
    except BaseException as e:
        # Keep the logs of a failure; an interruption needs no inspection.
        keep = keep or not isinstance(e, (KeyboardInterrupt, SystemExit))
        raise
    finally:
        CHILDREN.stop_all()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept {tmp} (configs, logs, audit database) for inspection")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(file=sys.stderr)
        log("interrupted")
        sys.exit(130)
    except (BenchError, subprocess.CalledProcessError) as e:
        log(f"error: {e}")
        sys.exit(1)
