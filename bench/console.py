#!/usr/bin/env python3
"""The console's page times on a large audit trail: seeds a Postgres database with 1,000,000
audit events (320,000 of them in the last 24 hours, the rest over the 29 days before) from
1,000 agents, 300 of them with budgets, with the rollups the audit writer keeps (hourly,
minutely for the last two hours, one row per agent session, refused calls); starts
`weir serve` (release) on it; signs in; and times each console page, sequentially, on a kept
connection. Reports p50 and p95 per page (server time plus a loopback round trip).

Usage:  python3 bench/console.py [--requests 40] [--skip-build] [--keep-db] [--events 1000000]
Needs Linux, Python 3.11 (stdlib only), cargo, and PostgreSQL at WEIR_TEST_POSTGRES_URL
(default postgres://postgres@127.0.0.1:5432) with psql on PATH. Not part of the test suite.
Results are printed and written to bench/out/console.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
WEIR_BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "weir"
PG = (os.environ.get("WEIR_TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB = "weir_bench_console"
TOKEN = "bench-console-admin-token"
TARGET_P95_MS = 100.0

EVENTS = 1_000_000
RECENT = 320_000
AGENTS = 1_000


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def psql(db: str, sql: str) -> str:
    return subprocess.run(["psql", f"{PG}/{db}", "-v", "ON_ERROR_STOP=1", "-Atqc", sql], check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_sql(events: int, recent: int) -> str:
    """The seeding statements: agents, events, and every rollup the audit writer keeps, as it
    would have kept them (hourly with refused calls, minutely for the last two hours, sessions;
    latency histograms without time spent waiting for approval)."""
    return f"""
BEGIN;
INSERT INTO agents (id, name, capture_bodies, created_at)
  SELECT 'ag-' || g, 'agent-' || lpad(g::text, 4, '0'), NULL, 0 FROM generate_series(1, {AGENTS}) g;
INSERT INTO audit_events (id, ts, request_id, trace_id, span_id, kind, operation, agent_id, agent_name, end_user, session_id,
    model_requested, model_served, provider, status_code, outcome, error_type, latency_ms, ttft_ms, streamed,
    input_tokens, output_tokens, usage_estimated, cost_usd, request_body, response_body, mcp_server, tool_name, policy_decision,
    mcp_session_id, approval_wait_ms)
SELECT lpad(to_hex(ts), 12, '0') || '-' || md5(g::text), ts, md5('r' || g), md5('t' || g), left(md5('s' || g), 16),
    CASE WHEN g % 4 = 0 THEN 'mcp' ELSE 'llm' END,
    CASE WHEN g % 4 = 0 THEN 'tools/call' ELSE 'chat' END,
    'ag-' || a, 'agent-' || lpad(a::text, 4, '0'), CASE WHEN g % 3 = 0 THEN 'user-' || (g % 50) END,
    -- An agent's session: 25 of its calls, LLM and MCP alike.
    'sess-' || a || '-' || (g / ({AGENTS} * 25)),
    CASE WHEN g % 4 <> 0 THEN (ARRAY['gpt-4o-mini', 'gpt-4o', 'claude-sonnet'])[1 + g % 3] END,
    CASE WHEN g % 4 <> 0 THEN (ARRAY['gpt-4o-mini', 'gpt-4o', 'claude-sonnet'])[1 + g % 3] END,
    CASE WHEN g % 4 <> 0 THEN 'openai' END,
    CASE WHEN g % 50 = 0 THEN 502 WHEN g % 97 = 0 THEN 429 ELSE 200 END,
    CASE WHEN g % 50 = 0 OR g % 97 = 0 THEN 'error' ELSE 'ok' END,
    CASE WHEN g % 50 = 0 THEN 'provider_unreachable' WHEN g % 97 = 0 THEN 'limit_exceeded' END,
    5 + (g % 997) * 1.7, CASE WHEN g % 4 <> 0 THEN 3 + (g % 300) END, g % 2,
    CASE WHEN g % 4 <> 0 THEN 50 + g % 2000 END, CASE WHEN g % 4 <> 0 THEN 20 + g % 800 END, 0,
    CASE WHEN g % 4 <> 0 THEN (50 + g % 2000) * 0.00000015 + (20 + g % 800) * 0.0000006 END,
    '{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"question number ' || g || ' about the quarterly report"}}]}}',
    '{{"id":"chatcmpl-' || g || '","choices":[{{"message":{{"role":"assistant","content":"an answer of moderate length for request ' || g || '"}}}}]}}',
    CASE WHEN g % 4 = 0 THEN 'files' END, CASE WHEN g % 4 = 0 THEN 'files__read_file' END,
    CASE WHEN g % 40 = 0 THEN 'approval' WHEN g % 4 = 0 THEN 'allow' END,
    CASE WHEN g % 4 = 0 THEN md5('m' || a || '-' || (g / ({AGENTS} * 25))) END,
    -- Every tenth tool call was held: half its latency spent waiting for a person.
    CASE WHEN g % 40 = 0 THEN (5 + (g % 997) * 1.7) / 2 END
FROM (
  SELECT g, 1 + (g::bigint * 7919) % {AGENTS} AS a,
    CASE WHEN g <= {recent} THEN now_ms - (g::bigint * 86400000 / {recent})
         ELSE now_ms - 86400000 - ((g - {recent})::bigint * 29 * 86400000 / ({events} - {recent})) END AS ts
  FROM generate_series(1, {events}) g, (SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms) n
) s;
CREATE TEMP VIEW seeded AS
  SELECT ts, kind, COALESCE(agent_name, '') AS agent_name, session_id, outcome, error_type, latency_ms, input_tokens, output_tokens, cost_usd,
         CASE WHEN work < 0.05 THEN 0 ELSE floor(ln(work / 0.05) / ln(1.2))::bigint + 1 END AS bucket
  FROM (SELECT *, GREATEST(latency_ms - COALESCE(approval_wait_ms, 0), 0) AS work FROM audit_events) e;
INSERT INTO audit_hourly (hour, kind, agent_name, requests, errors, refused, input_tokens, output_tokens, cost_usd)
  SELECT (ts / 3600000) * 3600000, kind, agent_name, count(*), sum(CASE WHEN outcome <> 'ok' THEN 1 ELSE 0 END),
         sum(CASE WHEN error_type = 'limit_exceeded' THEN 1 ELSE 0 END),
         sum(COALESCE(input_tokens, 0)), sum(COALESCE(output_tokens, 0)), sum(COALESCE(cost_usd, 0))
  FROM seeded GROUP BY 1, 2, 3;
INSERT INTO audit_latency_hourly (hour, kind, bucket, count)
  SELECT (ts / 3600000) * 3600000, kind, bucket, count(*) FROM seeded GROUP BY 1, 2, 3;
-- Minutes are kept two hours.
INSERT INTO audit_minutely (minute, kind, agent_name, requests, errors, refused, input_tokens, output_tokens, cost_usd)
  SELECT (ts / 60000) * 60000, kind, agent_name, count(*), sum(CASE WHEN outcome <> 'ok' THEN 1 ELSE 0 END),
         sum(CASE WHEN error_type = 'limit_exceeded' THEN 1 ELSE 0 END),
         sum(COALESCE(input_tokens, 0)), sum(COALESCE(output_tokens, 0)), sum(COALESCE(cost_usd, 0))
  FROM seeded WHERE ts >= (extract(epoch FROM now()) * 1000)::bigint / 60000 * 60000 - 7200000 GROUP BY 1, 2, 3;
INSERT INTO audit_latency_minutely (minute, kind, bucket, count)
  SELECT (ts / 60000) * 60000, kind, bucket, count(*)
  FROM seeded WHERE ts >= (extract(epoch FROM now()) * 1000)::bigint / 60000 * 60000 - 7200000 GROUP BY 1, 2, 3;
INSERT INTO audit_sessions (agent_name, session_id, first_ts, last_ts, end_ts, llm_calls, mcp_calls, approvals, errors,
    input_tokens, output_tokens, cost_usd)
  SELECT agent_name, session_id, min(ts), max(ts), max(ts + trunc(latency_ms))::bigint,
         sum(CASE WHEN kind = 'llm' THEN 1 ELSE 0 END), sum(CASE WHEN kind = 'mcp' THEN 1 ELSE 0 END),
         sum(CASE WHEN kind = 'approval' THEN 1 ELSE 0 END), sum(CASE WHEN outcome <> 'ok' THEN 1 ELSE 0 END),
         sum(COALESCE(input_tokens, 0)), sum(COALESCE(output_tokens, 0)), sum(COALESCE(cost_usd, 0))
  FROM seeded WHERE session_id IS NOT NULL GROUP BY 1, 2;
INSERT INTO budgets (id, agent_id, model, kind, period, amount, updated_at)
  SELECT 'b-' || g, 'ag-' || g, '', 'tokens', 'day', 500000 + g * 1000, 0 FROM generate_series(1, 300) g;
UPDATE change_counter SET generation = generation + 1 WHERE id = 1;
COMMIT;
ANALYZE;
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--keep-db", action="store_true", help="keep (and reuse) the seeded database")
    ap.add_argument("--events", type=int, default=EVENTS, help="audit events to seed (32%% of them in the last 24 h)")
    args = ap.parse_args()
    if not args.skip_build:
        log("building weir (release)")
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "weir-server", "--bin", "weir"], cwd=ROOT, check=True)

    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-console-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    env.update({"WEIR_DATABASE_URL": f"{PG}/{DB}", "WEIR_ADMIN_TOKEN": TOKEN, "WEIR_LOG": "warn"})
    exists = psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'").strip() == "1"
    if exists and not args.keep_db:
        psql("postgres", f"DROP DATABASE {DB} WITH (FORCE)")
        exists = False
    if not exists:
        psql("postgres", f"CREATE DATABASE {DB}")
        subprocess.run([str(WEIR_BIN), "migrate"], env=env, check=True, capture_output=True)
        log(f"seeding {args.events:,} events from {AGENTS:,} agents")
        started = time.monotonic()
        psql(DB, seed_sql(args.events, args.events * RECENT // EVENTS))
        log(f"seeded in {time.monotonic() - started:.0f} s")
    counts = psql(DB, f"SELECT count(*), count(*) FILTER (WHERE ts >= (extract(epoch FROM now()) * 1000)::bigint - 86400000), (SELECT count(*) FROM agents) FROM audit_events")
    log(f"events, events in the last 24 h, agents: {counts.strip()}")

    gw, admin = free_port(), free_port()
    env.update({"WEIR_LISTEN": f"127.0.0.1:{gw}", "WEIR_ADMIN_LISTEN": f"127.0.0.1:{admin}"})
    weir = subprocess.Popen([str(WEIR_BIN), "serve"], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(tmp / "weir.log", "wb"))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or weir.poll() is not None:
                sys.exit(f"weir did not become ready:\n{(tmp / 'weir.log').read_text()[-3000:]}")
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=60)
        conn.request("POST", "/sign-in", body=urllib.parse.urlencode({"token": TOKEN}), headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        cookie = resp.getheader("set-cookie", "").split(";")[0]
        assert cookie.startswith("weir_console="), resp.getheaders()
        event_id = psql(DB, "SELECT id FROM audit_events ORDER BY ts DESC LIMIT 1 OFFSET 1000").strip()
        session_agent, session_id = psql(DB, "SELECT agent_name, session_id FROM audit_sessions ORDER BY last_ts DESC LIMIT 1 OFFSET 10").strip().split("|")
        budgeted = psql(DB, "SELECT a.name FROM budgets b JOIN agents a ON a.id = b.agent_id ORDER BY a.name LIMIT 1").strip() or "agent-0042"
        pages = [
            ("overview", "/"),
            ("traces", "/traces"),
            ("traces, one agent", "/traces?agent=agent-0042"),
            ("traces, one tool", "/traces?tool=files__read_file"),
            ("traces, errors a week ago", f"/traces?outcome=error&until={int(time.time() * 1000) - 7 * 86400000}"),
            ("traces, a bad time", "/traces?since=last+tuesday"),
            ("event, as a conversation", f"/events/{event_id}"),
            ("sessions", "/sessions"),
            ("sessions, one agent", f"/sessions?agent={session_agent}"),
            ("session, waterfall and timeline", f"/sessions/{urllib.parse.quote(session_id)}?agent={session_agent}"),
            ("agents", "/agents"),
            ("agent, budget charts", f"/agents/{budgeted}"),
            ("approvals", "/approvals"),
            ("tools", "/tools"),
            ("models", "/models"),
        ]
        rows = []
        for name, path in pages:
            times = []
            for i in range(args.requests + 3):
                t0 = time.perf_counter()
                conn.request("GET", path, headers={"Cookie": cookie})
                r = conn.getresponse()
                body = r.read()
                took = (time.perf_counter() - t0) * 1000
                assert r.status == (400 if "bad time" in name else 200), (path, r.status, body[:300])
                if i >= 3:
                    times.append(took)
            times.sort()
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            rows.append((name, path, statistics.median(times), p95, len(body)))
            log(f"{name}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({len(body):,} bytes)")
    finally:
        weir.send_signal(signal.SIGTERM)
        try:
            weir.wait(timeout=20)
        except subprocess.TimeoutExpired:
            weir.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep_db:
            psql("postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")

    lines = [
        f"Console benchmark, {dt.date.today().isoformat()}: {args.events:,} events ({args.events * RECENT // EVENTS:,} in the last 24 h), {AGENTS:,} agents, Postgres; {args.requests} requests per page",
        "",
        "| page | p50 (ms) | p95 (ms) | size |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} (`{path.split('?')[0]}`) | {p50:.1f} | {p95:.1f} | {size:,} B |" for name, path, p50, p95, size in rows]
    worst = max(r[3] for r in rows)
    lines += ["", f"target: every page p95 ≤ {TARGET_P95_MS:.0f} ms: {'met' if worst <= TARGET_P95_MS else 'NOT met'} (worst {worst:.1f} ms)"]
    text = "\n".join(lines)
    print("\n" + text)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "console.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
