"""The A2A gateway end to end: the official `a2a-sdk` clients and servers of both deployed
protocol versions (1.3.0 for v1.0, with its v0.3 compatibility, and 0.3.26 for v0.3) talking
through the `weir` binary, over both bindings HTTP carries (JSON-RPC and HTTP+JSON).

The target agents are the fixtures of tests/a2a (`agent_v1.py`, `agent_v03.py`), spawned once
for the module, each with its own behaviour by message text (echo, `stream…`, `slow`, `die`,
`headers`, `contact…`). Most tests talk to one Weir on Postgres; a Weir on SQLite (no trusted
proxies, private webhooks allowed) is the smoke test of the other backend, and two replicas on
one Postgres and one Redis show task ownership shared between replicas.

Callers (Weir agents) of the main Weir, and the rules that bind them:

- `e2e`, `bob`, `dave`, `limited`: any target, any skill (rule 1); `limited` has `a2a_rpm = 2`;
- `alice`: targets `v1` and `solo`, skill `echo` only (rule 2);
- `carol`: no rule at all.

Needs `.venv` (tests/requirements.txt, a2a-sdk 1.3.0) and `.venv-a2a03`
(tests/a2a/requirements-v03.txt, a2a-sdk 0.3.26); scripts/test sets both up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from conftest import (
    ADMIN_TOKEN,
    PROVIDER_KEY,
    REPO_ROOT,
    FakeProvider,
    TestDatabase,
    Weir,
    _start_weir,
    _stop_weir,
    base_sections,
    clean_env,
    clear_of_the_minutes_end,
    eventually,
    free_port,
    running_replicas,
    told_providers,
)

A2A_DIR = REPO_ROOT / "tests" / "a2a"
sys.path.insert(0, str(A2A_DIR))
from agents import python_for, spawn_agent  # noqa: E402

SSE_FIXTURE = Path(__file__).parent / "sse_fixture_server.py"

# A public address the fixture agents may try to deliver push notifications to, harmlessly.
PUBLIC_HOOK = "http://93.184.216.34:9/weir-e2e-hook"
# Credentials Weir sends to the targets (their `headers` in the config); never a caller's key.
V1_CREDENTIAL = "Bearer target-credential-v1"
V03_CREDENTIAL = "target-credential-v03"
# What the fixtures' "contact" behaviour answers with (an address no caller sent).
CONTACT_EMAIL = "ops.desk@example.com"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"

# JSON-RPC error codes.
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
TASK_NOT_FOUND, VERSION_NOT_SUPPORTED = -32001, -32009
DENIED, UNAUTHORIZED, RATE_LIMITED, AGENT_UNAVAILABLE = -32050, -32051, -32052, -32053

# -------------------------------------------------------------------------------------------
# Target agents
# -------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    kind: str  # "v1" or "v03"
    process: subprocess.Popen[str]
    base: str  # the agent's own base URL

    @property
    def origin(self) -> str:
        return self.base.split("/", 3)[2]


# name: (fixture, path prefix, extra arguments)
TARGETS: dict[str, tuple[str, str, list[str]]] = {
    "v1": ("v1", "", []),
    "v1only": ("v1", "", ["--no-compat", "--security"]),
    "v03": ("v03", "", ["--security"]),
    "prefixed": ("v1", "/agents/x", ["--rest-path", "/rest", "--security", "--signed", "--grpc-url", "127.0.0.1:50051"]),
    "prefixed03": ("v03", "/agents/y", ["--rest-path", "/rest"]),
    "solo": ("v1", "", ["--skills", "echo"]),
    # Each dies on its first "die"; one per scenario.
    "die1": ("v1", "", []),
    "die1r": ("v1", "", []),
    "die03": ("v03", "", []),
}


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    for kind in ("v1", "v03"):
        if not os.access(python_for(kind), os.X_OK):
            pytest.exit(f"missing {python_for(kind)}: run `bash tests/a2a/setup-venvs.sh`", returncode=2)
    logs = tmp_path_factory.mktemp("a2a-agents")
    files: list[Any] = []

    out: dict[str, Target] = {}

    def start(name: str) -> None:
        kind, prefix, extra = TARGETS[name]
        err = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed at teardown
        files.append(err)
        proc, base = spawn_agent(kind, prefix=prefix, name=f"fixture-{name}", extra_args=extra, stderr=err)
        out[name] = Target(name, kind, proc, base)

    try:
        with ThreadPoolExecutor(len(TARGETS)) as pool:
            list(pool.map(start, TARGETS))
        yield out
    finally:
        for t in out.values():
            if t.process.poll() is None:
                t.process.terminate()
        for t in out.values():
            try:
                t.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                t.process.kill()
                t.process.wait()
            if t.process.stdout:
                t.process.stdout.close()
        for f in files:
            f.close()


def agents_toml(targets: dict[str, Target], names: list[str] | None = None) -> str:
    out = ""
    for name in names or list(targets):
        t = targets[name]
        if name == "prefixed":
            where = f'card_url = "{t.base}/.well-known/agent-card.json"'
        elif name == "prefixed03":
            where = f'card_url = "{t.base}/.well-known/agent.json"'
        else:
            where = f'url = "{t.base}"'
        headers = ""
        if name == "v1":
            headers = f'headers = {{ Authorization = "{V1_CREDENTIAL}" }}'
        elif name == "v03":
            headers = f'headers = {{ "X-API-Key" = "{V03_CREDENTIAL}" }}'
        out += f'\n[[a2a.agents]]\nname = "{name}"\n{where}\n{headers}\n'
    return out


# -------------------------------------------------------------------------------------------
# Weirs
# -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve(backend: str, directory: Path, text: str, agents: tuple[str, ...]) -> Iterator[tuple[Weir, dict[str, str]]]:
    """A `weir serve` on its own database, with `agents` created and a key for each."""
    config = directory / "weir.toml"
    config.write_text(text)
    db = TestDatabase.create(backend, directory)
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = clean_env({"WEIR_DATABASE_URL": db.url, "WEIR_LISTEN": listen, "WEIR_ADMIN_LISTEN": admin, "WEIR_ADMIN_TOKEN": ADMIN_TOKEN, "WEIR_LOG": "info", "FAKE_PROVIDER_KEY": PROVIDER_KEY})
    w = Weir(backend=backend, base=f"http://{listen}", admin=f"http://{admin}", key="", config=config, log=directory / "weir.log", db=db, env=env)
    keys: dict[str, str] = {}
    try:
        for a in agents:
            w.cli("agents", "create", a)
            keys[a] = w.create_key(a)
        w.key = keys[agents[0]]
        _start_weir(w)
        yield w, keys
        status = _stop_weir(w)
        assert status == 0, f"weir exited with status {status} after SIGTERM; log:\n{w.log_text()}"
    finally:
        _stop_weir(w)
        w.admin_http.close()
        db.drop()


@pytest.fixture(scope="module")
def mcp_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The official MCP Python SDK's fixture server on legacy SSE: its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("a2a-mcp") / "fixsse.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(SSE_FIXTURE), str(port)], stdin=subprocess.DEVNULL, stdout=out, stderr=out)

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the MCP fixture exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return True
        except httpx.HTTPError:
            return False

    try:
        eventually(up, 20, "the MCP fixture to listen")
        yield f"http://127.0.0.1:{port}/sse"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


CALLERS = ("e2e", "alice", "bob", "carol", "dave", "limited")


def main_config(spool: Path, targets: dict[str, Target], fake: FakeProvider, mcp_url: str) -> str:
    base = base_sections(spool).replace("[server]\n", '[server]\ntrusted_proxies = ["127.0.0.1"]\n')
    return base + told_providers(fake) + f"""
[[models]]
name = "gpt-test"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]

[mcp]
request_timeout_secs = 30

[[mcp.servers]]
name = "fixsse"
url = "{mcp_url}"
transport = "sse"

[[limits.rates]]
agent = "limited"
a2a_rpm = 2

[guardrails]
enabled = true
pii = {{ action = "mask", types = ["email"] }}
secrets = {{ action = "off" }}
injection = {{ action = "off" }}

[[guardrails.custom]]
name = "weapons"
action = "block"
keywords = ["nerve agent"]

# Answers only: a request naming it passes, the agent's echo of it is blocked.
[[guardrails.custom]]
name = "leak"
action = "block"
keywords = ["forbidden answer"]
apply_to = ["response"]

[a2a]
max_message_bytes = 65536
{agents_toml(targets)}
# Registered, never listening.
[[a2a.agents]]
name = "gone"
url = "http://127.0.0.1:{free_port()}"
[[a2a.rules]]
agents = ["e2e", "bob", "dave", "limited"]
targets = ["*"]

[[a2a.rules]]
agents = ["alice"]
targets = ["v1", "solo"]
skills = ["echo"]
"""


@pytest.fixture(scope="module")
def gateway(targets: dict[str, Target], fake_provider: FakeProvider, mcp_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Weir, dict[str, str]]]:
    d = tmp_path_factory.mktemp("weir-a2a-pg")
    with serve("postgres", d, main_config(d / "audit.spool", targets, fake_provider, mcp_backend), CALLERS) as got:
        yield got


@pytest.fixture(scope="module")
def weir(gateway: tuple[Weir, dict[str, str]]) -> Weir:
    return gateway[0]


@pytest.fixture(scope="module")
def keys(gateway: tuple[Weir, dict[str, str]]) -> dict[str, str]:
    return gateway[1]


@pytest.fixture(scope="module")
def lite(targets: dict[str, Target], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    """On SQLite, no rules, no trusted proxies, private webhooks allowed."""
    d = tmp_path_factory.mktemp("weir-a2a-sqlite")
    text = base_sections(d / "audit.spool") + "\n[a2a]\nallow_private_webhooks = true\n" + agents_toml(targets, ["v1", "v03"])
    with serve("sqlite", d, text, ("e2e",)) as (w, _):
        yield w


@dataclass
class Cluster:
    replicas: list[Weir]
    keys: dict[str, str]


PUBLIC_URL = "https://a2a-gw.example.net"


@pytest.fixture(scope="module")
def cluster(targets: dict[str, Target], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two replicas on one Postgres and one Redis (owners of tasks in Redis), `public_url` set."""
    d = tmp_path_factory.mktemp("weir-a2a-replicas")
    db = TestDatabase.create("postgres", d)
    prefix = f"weir-e2e-{secrets.token_hex(4)}:"

    def config(rd: Path) -> str:
        base = base_sections(rd / "audit.spool").replace("[server]\n", '[server]\ntrusted_proxies = ["127.0.0.1"]\n')
        return base + f'\n[limits]\nredis_prefix = "{prefix}"\n\n[a2a]\npublic_url = "{PUBLIC_URL}"\n' + agents_toml(targets, ["v1"])

    try:
        with running_replicas(d, db, 2, config, {"WEIR_REDIS_URL": "redis://127.0.0.1:6379"}, ("bob", "dave")) as (replicas, keys):
            yield Cluster(replicas, keys)
    finally:
        db.drop()


# -------------------------------------------------------------------------------------------
# Speaking A2A
# -------------------------------------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def _message(base: dict[str, Any], context: str | None, task: str | None, skill: str | None) -> dict[str, Any]:
    """A user message with its optional context, task and skill."""
    if context:
        base["contextId"] = context
    if task:
        base["taskId"] = task
    if skill:
        base["metadata"] = {"skill": skill}
    return base


def msg10(text: str, *, context: str | None = None, task: str | None = None, skill: str | None = None) -> dict[str, Any]:
    return _message({"messageId": new_id(), "role": "ROLE_USER", "parts": [{"text": text}]}, context, task, skill)


def msg03(text: str, *, context: str | None = None, task: str | None = None, skill: str | None = None) -> dict[str, Any]:
    return _message({"kind": "message", "messageId": new_id(), "role": "user", "parts": [{"kind": "text", "text": text}]}, context, task, skill)


def msg03_rest(text: str) -> dict[str, Any]:
    """A message in v0.3's REST shape (the 0.3 proto: `content`, not `parts`)."""
    return {"messageId": new_id(), "role": "ROLE_USER", "content": [{"text": text}]}


def auth(key: str | None, version: str | None = "1.0", **extra: str) -> dict[str, str]:
    h: dict[str, str] = {}
    if key:
        h["Authorization"] = f"Bearer {key}"
    if version:
        h["A2A-Version"] = version
    h.update(extra)
    return h


def rpc(url: str, key: str | None, method: str, params: Any = None, *, version: str | None = "1.0", headers: dict[str, str] | None = None, rid: Any = None) -> httpx.Response:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid if rid is not None else new_id(), "method": method}
    if params is not None:
        body["params"] = params
    return httpx.post(url, json=body, headers={**auth(key, version), **(headers or {})}, timeout=30)


@dataclass
class Sse:
    status: int
    headers: httpx.Headers
    events: list[tuple[str | None, Any]]  # (event name, parsed data)
    raw: str


def parse_sse(text: str) -> list[tuple[str | None, Any]]:
    out: list[tuple[str | None, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            joined = "\n".join(data)
            try:
                out.append((name, json.loads(joined)))
            except ValueError:
                out.append((name, joined))
    return out


def stream(method: str, url: str, headers: dict[str, str], json_body: Any = None) -> Sse:
    """A streamed request read to its end (a stream that does not end cleanly fails here)."""
    with httpx.Client(timeout=30) as c:
        with c.stream(method, url, headers={"Accept": "text/event-stream", **headers}, json=json_body) as r:
            raw = r.read().decode()
    return Sse(r.status_code, r.headers, parse_sse(raw) if "text/event-stream" in r.headers.get("content-type", "") else [], raw)


def rpc_stream(url: str, key: str, method: str, params: Any, *, version: str | None = "1.0", headers: dict[str, str] | None = None) -> Sse:
    body = {"jsonrpc": "2.0", "id": new_id(), "method": method, "params": params}
    return stream("POST", url, {**auth(key, version), **(headers or {})}, body)


def result(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text}"
    body = resp.json()
    assert "error" not in body, body
    return body.get("result")


def rpc_error(resp: httpx.Response, code: int, version: str = "1.0", reason: str | None = None, status: int = 200) -> dict[str, Any]:
    """The JSON-RPC error of an answer: its code, HTTP status, and (v1.0) its ErrorInfo."""
    assert resp.status_code == status, f"HTTP {resp.status_code} (wanted {status}): {resp.text}"
    body = resp.json()
    assert body.get("jsonrpc") == "2.0" and "result" not in body, body
    err = body["error"]
    assert err["code"] == code, body
    assert isinstance(err.get("message"), str) and err["message"], body
    if version == "1.0":
        assert isinstance(err.get("data"), list) and err["data"][0]["@type"] == ERROR_INFO, f"a v1.0 error carries ErrorInfo: {body}"
        if reason:
            assert err["data"][0]["reason"] == reason, body
    return err


def rest_error(resp: httpx.Response, status: int, reason: str | None = None, version: str = "1.0") -> dict[str, Any]:
    """A REST error: its HTTP status and google.rpc.Status body (v0.3: `message` beside it)."""
    assert resp.status_code == status, f"HTTP {resp.status_code} (wanted {status}): {resp.text}"
    body = resp.json()
    err = body["error"]
    assert err["code"] == status and isinstance(err["status"], str) and err["message"], body
    assert err["details"][0]["@type"] == ERROR_INFO, body
    if reason:
        assert err["details"][0]["reason"] == reason, body
    if version == "0.3":
        assert body["message"] == err["message"], body
    return err


def task_of(res: Any) -> dict[str, Any]:
    """The task of a v1.0 send result (`{"task": …}`) or v0.3 one (the task itself)."""
    if isinstance(res, dict) and "task" in res:
        return res["task"]
    assert isinstance(res, dict) and (res.get("kind") == "task" or "status" in res), res
    return res


def texts(v: Any) -> list[str]:
    """Every text part in a value (history included)."""
    out: list[str] = []
    if isinstance(v, dict):
        for k, child in v.items():
            if k in ("parts", "content") and isinstance(child, list):
                out += [p["text"] for p in child if isinstance(p, dict) and isinstance(p.get("text"), str)]
            else:
                out += texts(child)
    elif isinstance(v, list):
        for child in v:
            out += texts(child)
    return out


def artifact_texts(task: dict[str, Any]) -> list[str]:
    return [p["text"] for a in task.get("artifacts", []) for p in a["parts"] if "text" in p]


def seen_headers(task: dict[str, Any]) -> dict[str, str]:
    """What the fixture's "headers" behaviour reports the agent received."""
    (text,) = artifact_texts(task)
    return json.loads(text)


def url(w: Weir, target: str, path: str = "") -> str:
    return f"{w.base}/a2a/{target}{path}"


def slow_task10(w: Weir, key: str, target: str = "v1", context: str | None = None) -> dict[str, Any]:
    """A task that stays working until cancelled (v1.0 JSON-RPC, returnImmediately)."""
    t = task_of(result(rpc(url(w, target), key, "SendMessage", {"message": msg10("slow", context=context), "configuration": {"returnImmediately": True}})))
    assert t["status"]["state"] in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"), t
    return t


def slow_task03(w: Weir, key: str, target: str = "v03") -> dict[str, Any]:
    t = task_of(result(rpc(url(w, target), key, "message/send", {"message": msg03("slow"), "configuration": {"blocking": False}}, version=None)))
    assert t["status"]["state"] in ("submitted", "working"), t
    return t


def audit(w: Weir, resp: httpx.Response | Sse) -> dict[str, Any]:
    rid = resp.headers.get("x-request-id")
    assert rid, f"no x-request-id on the answer: {dict(resp.headers)}"
    return w.audit_event(rid, timeout=10)


def guard_findings(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{f['guardrail']}/{f['direction']}": f for f in json.loads(event["guardrails"] or "[]")}


# -------------------------------------------------------------------------------------------
# 1. The official SDK clients through Weir
# -------------------------------------------------------------------------------------------

# name: (client script, its venv, target, URL below /a2a/{target}, extra arguments, checks passed)
DEMOS: dict[str, tuple[str, str, str, str, list[str], int]] = {
    "sdk1.3-v1.0-to-v1-agent": ("client_demo_v1.py", "v1", "v1", "", [], 22),
    "sdk1.3-v0.3-to-v1-agent": ("client_demo_v1.py", "v1", "v1", "", ["--protocol-version", "0.3"], 20),
    "sdk1.3-v0.3-to-v0.3-agent": ("client_demo_v1.py", "v1", "v03", "", ["--protocol-version", "0.3"], 20),
    "sdk0.3-to-v0.3-agent": ("client_demo_v03.py", "v03", "v03", "", [], 20),
    "sdk0.3-to-v1-agent-compat": ("client_demo_v03.py", "v03", "v1", "/.well-known/agent.json", [], 20),
}


@pytest.fixture(scope="module")
def demo_runs(weir: Weir, keys: dict[str, str], targets: dict[str, Target], tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every client demo through Weir, run at once (each is independent)."""
    d = tmp_path_factory.mktemp("a2a-demos")
    env = {**os.environ, "A2A_PUSH_URL": PUBLIC_HOOK}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, (script, venv, target, below, extra, _) in DEMOS.items():
        argv = [python_for(venv), str(A2A_DIR / script), url(weir, target, below), "-H", f"Authorization: Bearer {keys['e2e']}", *extra]
        with open(d / f"{name}.out", "wb") as out, open(d / f"{name}.err", "wb") as err:
            procs[name] = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    runs: dict[str, subprocess.CompletedProcess[str]] = {}
    deadline = time.monotonic() + 150
    for name, p in procs.items():
        try:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        runs[name] = subprocess.CompletedProcess(p.args, p.returncode, (d / f"{name}.out").read_text(errors="replace"), (d / f"{name}.err").read_text(errors="replace"))
    return runs


@pytest.mark.parametrize("demo", list(DEMOS))
def test_the_official_sdk_client_works_through_weir(demo: str, demo_runs: dict[str, subprocess.CompletedProcess[str]], weir: Weir) -> None:
    run = demo_runs[demo]
    weir_base = weir.base
    expected = DEMOS[demo][5]
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    report = f"{demo} exited {run.returncode}\n--- stdout\n{run.stdout[-6000:]}\n--- stderr\n{run.stderr[-3000:]}"
    assert run.returncode == 0, report
    assert tail == f"demo: {expected} ok, 0 failed", report
    # Every interface the client used was Weir's.
    used = [line.split(" url=", 1)[1] for line in run.stdout.splitlines() if line.startswith("=== ")]
    assert len(used) == 2 and all(u.startswith(f"{weir_base}/a2a/") for u in used), used


# -------------------------------------------------------------------------------------------
# 2. Agent cards
# -------------------------------------------------------------------------------------------


def card(w: Weir, target: str, path: str = "/.well-known/agent-card.json", headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = httpx.get(url(w, target, path), headers=headers or {}, timeout=30)
    assert r.status_code == 200, f"{r.status_code}: {r.text}"
    return r.json()


def interface_urls(c: dict[str, Any]) -> list[str]:
    out = [i["url"] for i in c.get("supportedInterfaces", [])] + [i["url"] for i in c.get("additionalInterfaces", [])]
    if "url" in c:
        out.append(c["url"])
    return out


def assert_no_upstream(c: dict[str, Any], t: Target) -> None:
    text = json.dumps(c)
    assert t.origin not in text, f"the agent's own address {t.origin} leaks in the card Weir serves: {text}"
    assert "signatures" not in c


def test_v03_card_points_every_interface_at_weir_with_weirs_security(weir: Weir, targets: dict[str, Target]) -> None:
    c = card(weir, "v03")  # no key: the card is public
    w = url(weir, "v03")
    assert c["name"] == "fixture-v03" and c["protocolVersion"] == "0.3.0" and c["preferredTransport"] == "JSONRPC"
    assert c["url"] == w
    assert c["additionalInterfaces"] == [{"transport": "JSONRPC", "url": w}, {"transport": "HTTP+JSON", "url": w}]
    assert [s["id"] for s in c["skills"]] == ["echo", "slow"]
    # The agent declared bearer + apiKey of its own; callers see only Weir's.
    assert list(c["securitySchemes"]) == ["weir"]
    assert c["securitySchemes"]["weir"]["type"] == "http" and c["securitySchemes"]["weir"]["scheme"].lower() == "bearer"
    assert c["security"] == [{"weir": []}]
    assert "securityRequirements" not in c
    assert_no_upstream(c, targets["v03"])
    assert card(weir, "v03", "/.well-known/agent.json") == c, "the legacy card path serves the same card"


def test_v1_card_with_v03_compat_points_all_four_interfaces_at_weir(weir: Weir, targets: dict[str, Target]) -> None:
    c = card(weir, "v1")
    w = url(weir, "v1")
    assert [(i["protocolBinding"], i["protocolVersion"], i["url"]) for i in c["supportedInterfaces"]] == [
        ("JSONRPC", "1.0", w),
        ("HTTP+JSON", "1.0", w),
        ("JSONRPC", "0.3", w),
        ("HTTP+JSON", "0.3", w),
    ]
    # The v0.3 fields the SDK merges into a compat card are rewritten too.
    assert c["url"] == w and [i["url"] for i in c["additionalInterfaces"]] == [w]
    assert list(c["securitySchemes"]) == ["weir"]
    assert c["securitySchemes"]["weir"]["httpAuthSecurityScheme"]["scheme"].lower() == "bearer"
    assert c["securityRequirements"] == [{"schemes": {"weir": {}}}]
    assert c["security"] == [{"weir": []}]
    assert_no_upstream(c, targets["v1"])


def test_v1_only_card_lists_v10_interfaces_and_only_weirs_security(weir: Weir, targets: dict[str, Target]) -> None:
    c = card(weir, "v1only", headers={"A2A-Version": "1.0"})
    w = url(weir, "v1only")
    assert [(i["protocolBinding"], i["protocolVersion"], i["url"]) for i in c["supportedInterfaces"]] == [("JSONRPC", "1.0", w), ("HTTP+JSON", "1.0", w)]
    assert "url" not in c and "additionalInterfaces" not in c
    assert list(c["securitySchemes"]) == ["weir"], "the agent's bearer and apiKey schemes are gone"
    assert "httpAuthSecurityScheme" in c["securitySchemes"]["weir"]
    assert c["securityRequirements"] == [{"schemes": {"weir": {}}}]
    assert "security" not in c
    assert_no_upstream(c, targets["v1only"])


def test_card_of_an_agent_below_a_path_maps_each_interface_once_and_is_usable(weir: Weir, keys: dict[str, str], targets: dict[str, Target]) -> None:
    c = card(weir, "prefixed")
    w = url(weir, "prefixed")
    got = [(i["protocolBinding"], i["protocolVersion"], i["url"]) for i in c["supportedInterfaces"]]
    assert got == [("JSONRPC", "1.0", w), ("HTTP+JSON", "1.0", f"{w}/rest"), ("JSONRPC", "0.3", w), ("HTTP+JSON", "0.3", f"{w}/rest")], "no gRPC, no doubled path"
    assert c["url"] == w and [i["url"] for i in c["additionalInterfaces"]] == [f"{w}/rest"]
    assert "/agents/x" not in json.dumps(c) and "50051" not in json.dumps(c)
    assert "signatures" not in c, "the agent's signature signs its own URLs: dropped"
    assert list(c["securitySchemes"]) == ["weir"]
    assert_no_upstream(c, targets["prefixed"])
    key = keys["e2e"]
    # Each interface, as the card names it, reaches the agent.
    t = task_of(result(rpc(c["supportedInterfaces"][0]["url"], key, "SendMessage", {"message": msg10("via jsonrpc")})))
    assert artifact_texts(t) == ["echo: via jsonrpc"]
    rest = c["supportedInterfaces"][1]["url"]
    r = httpx.post(f"{rest}/message:send", headers=auth(key), json={"message": msg10("via rest")}, timeout=30)
    assert r.status_code == 200, r.text
    assert artifact_texts(r.json()["task"]) == ["echo: via rest"]
    r = httpx.post(f"{rest}/v1/message:send", headers=auth(key, None), json={"message": msg03_rest("via rest 0.3"), "configuration": {"blocking": True}}, timeout=30)
    assert r.status_code == 200, r.text
    assert artifact_texts(r.json()["task"]) == ["echo: via rest 0.3"]
    t = task_of(result(rpc(c["url"], key, "message/send", {"message": msg03("via jsonrpc 0.3")}, version=None)))
    assert artifact_texts(t) == ["echo: via jsonrpc 0.3"]


def test_v03_card_of_an_agent_below_a_path_registered_by_its_legacy_card_url(weir: Weir, keys: dict[str, str], targets: dict[str, Target]) -> None:
    c = card(weir, "prefixed03")
    w = url(weir, "prefixed03")
    assert c["url"] == w
    assert c["additionalInterfaces"] == [{"transport": "JSONRPC", "url": w}, {"transport": "HTTP+JSON", "url": f"{w}/rest"}]
    assert "/agents/y" not in json.dumps(c)
    assert_no_upstream(c, targets["prefixed03"])
    t = task_of(result(rpc(c["url"], keys["e2e"], "message/send", {"message": msg03("deep")}, version=None)))
    assert artifact_texts(t) == ["echo: deep"]
    r = httpx.post(f"{w}/rest/v1/message:send", headers=auth(keys["e2e"], None), json={"message": msg03_rest("deep rest"), "configuration": {"blocking": True}}, timeout=30)
    assert r.status_code == 200, r.text
    assert artifact_texts(r.json()["task"]) == ["echo: deep rest"]


FORWARDED = {"X-Forwarded-Host": "gw.example.com", "X-Forwarded-Proto": "https"}


def test_card_from_a_trusted_proxy_uses_the_forwarded_host_and_scheme(weir: Weir) -> None:
    c = card(weir, "v1", headers=FORWARDED)
    urls = interface_urls(c)
    assert urls and all(u == "https://gw.example.com/a2a/v1" for u in urls), urls


def test_card_without_a_proxy_uses_the_host_the_caller_asked(weir: Weir) -> None:
    c = card(weir, "v03", headers={"Host": "weir.internal:4000"})
    assert set(interface_urls(c)) == {"http://weir.internal:4000/a2a/v03"}


def test_card_ignores_forwarded_host_from_an_untrusted_peer(lite: Weir) -> None:
    c = card(lite, "v1", headers=FORWARDED)
    urls = interface_urls(c)
    assert urls and all(u == url(lite, "v1") for u in urls), urls
    assert "gw.example.com" not in json.dumps(c)


def test_card_uses_the_configured_public_url_over_forwarded_host(cluster: Cluster) -> None:
    c = card(cluster.replicas[0], "v1", headers=FORWARDED)
    urls = interface_urls(c)
    assert urls and all(u == f"{PUBLIC_URL}/a2a/v1" for u in urls), urls


def test_the_extended_card_is_rewritten_like_the_public_one(weir: Weir, keys: dict[str, str], targets: dict[str, Target]) -> None:
    key = keys["e2e"]
    w = url(weir, "prefixed")
    for got in (
        result(rpc(w, key, "GetExtendedAgentCard", {})),
        httpx.get(f"{w}/rest/extendedAgentCard", headers=auth(key), timeout=30).json(),
    ):
        assert "extended-only" in [s["id"] for s in got["skills"]], got
        assert {i["url"] for i in got["supportedInterfaces"]} == {w, f"{w}/rest"}, got
        assert list(got["securitySchemes"]) == ["weir"] and "signatures" not in got
        assert_no_upstream(got, targets["prefixed"])
    w = url(weir, "v03")
    for got in (
        result(rpc(w, key, "agent/getAuthenticatedExtendedCard", None, version=None)),
        httpx.get(f"{w}/v1/card", headers=auth(key, None), timeout=30).json(),
    ):
        assert "extended-only" in [s["id"] for s in got["skills"]], got
        assert set(interface_urls(got)) == {w}, got
        assert list(got["securitySchemes"]) == ["weir"]
        assert_no_upstream(got, targets["v03"])


def test_a_target_that_cannot_be_reached_is_agent_unavailable(weir: Weir, keys: dict[str, str]) -> None:
    r = httpx.get(url(weir, "gone", "/.well-known/agent-card.json"), timeout=30)
    rest_error(r, 502, "AGENT_UNAVAILABLE")
    r = rpc(url(weir, "gone"), keys["e2e"], "SendMessage", {"message": msg10("hello")})
    rpc_error(r, AGENT_UNAVAILABLE, reason="AGENT_UNAVAILABLE")
    ev = audit(weir, r)
    assert (ev["a2a_target"], ev["outcome"], ev["status_code"]) == ("gone", "error", r.status_code) and ev["error_type"] == "upstream_unavailable"
    rest_error(httpx.post(url(weir, "gone", "/message:send"), headers=auth(keys["e2e"]), json={"message": msg10("hello")}, timeout=30), 502, "AGENT_UNAVAILABLE")


# -------------------------------------------------------------------------------------------
# 3. Rules: who may call whom, and which skills
# -------------------------------------------------------------------------------------------


def test_a_skill_outside_the_callers_rule_is_denied_on_both_bindings(weir: Weir, keys: dict[str, str]) -> None:
    alice = keys["alice"]
    r = rpc(url(weir, "v1"), alice, "SendMessage", {"message": msg10("hello", skill="slow")})
    err = rpc_error(r, DENIED, reason="DENIED_BY_POLICY")
    assert "slow" in err["message"], err
    ev = audit(weir, r)
    assert (ev["kind"], ev["agent_name"], ev["a2a_target"], ev["policy_decision"], ev["tool_name"]) == ("a2a", "alice", "v1", "deny", "slow")
    assert ev["outcome"] == "error" and ev["error_type"] == "denied_by_policy"
    r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(alice), json={"message": msg10("hello", skill="slow")}, timeout=30)
    rest_error(r, 403, "DENIED_BY_POLICY")
    assert audit(weir, r)["policy_decision"] == "deny"
    # v0.3 on the same agent (its compat), the error in v0.3's shape.
    r = rpc(url(weir, "v1"), alice, "message/send", {"message": msg03("hello", skill="slow")}, version=None)
    rpc_error(r, DENIED, version="0.3")
    r = httpx.post(url(weir, "v1", "/v1/message:send"), headers=auth(alice, None), json={"message": msg03_rest("hello"), "metadata": {"skill": "slow"}}, timeout=30)
    rest_error(r, 403, "DENIED_BY_POLICY", version="0.3")


def test_a_message_naming_no_skill_is_denied_when_the_card_has_several(weir: Weir, keys: dict[str, str]) -> None:
    r = rpc(url(weir, "v1"), keys["alice"], "SendMessage", {"message": msg10("hello")})
    err = rpc_error(r, DENIED, reason="DENIED_BY_POLICY")
    assert "skill" in err["message"], err
    assert audit(weir, r)["policy_decision"] == "deny"


def test_the_allowed_skill_passes_and_reads_of_the_callers_task_need_no_skill(weir: Weir, keys: dict[str, str]) -> None:
    alice = keys["alice"]
    r = rpc(url(weir, "v1"), alice, "SendMessage", {"message": msg10("allowed", skill="echo")})
    t = task_of(result(r))
    assert artifact_texts(t) == ["echo: allowed"]
    ev = audit(weir, r)
    assert (ev["policy_decision"], ev["policy_rule"], ev["tool_name"], ev["outcome"]) == ("allow", 2, "echo", "ok")
    # The skill may be named in the request's metadata too.
    r = rpc(url(weir, "v1"), alice, "SendMessage", {"message": msg10("allowed too"), "metadata": {"skill": "echo"}})
    assert artifact_texts(task_of(result(r))) == ["echo: allowed too"]
    got = result(rpc(url(weir, "v1"), alice, "GetTask", {"id": t["id"]}))
    assert got["id"] == t["id"]
    ev = audit(weir, rpc(url(weir, "v1"), alice, "GetTask", {"id": t["id"]}))
    assert ev["policy_decision"] == "allow" and ev["outcome"] == "ok"


def test_a_message_naming_no_skill_takes_the_only_skill_of_the_card(weir: Weir, keys: dict[str, str]) -> None:
    r = rpc(url(weir, "solo"), keys["alice"], "SendMessage", {"message": msg10("just one")})
    assert artifact_texts(task_of(result(r))) == ["echo: just one"]
    ev = audit(weir, r)
    assert ev["tool_name"] == "echo" and ev["policy_decision"] == "allow"


def test_a_caller_without_a_rule_or_outside_its_targets_is_denied(weir: Weir, keys: dict[str, str]) -> None:
    r = rpc(url(weir, "v1"), keys["carol"], "SendMessage", {"message": msg10("hello", skill="echo")})
    rpc_error(r, DENIED, reason="DENIED_BY_POLICY")
    ev = audit(weir, r)
    assert ev["agent_name"] == "carol" and ev["policy_decision"] == "deny"
    r = httpx.get(url(weir, "v1", "/tasks"), headers=auth(keys["carol"]), timeout=30)
    rest_error(r, 403, "DENIED_BY_POLICY")
    # alice may call v1 and solo only.
    r = rpc(url(weir, "v03"), keys["alice"], "message/send", {"message": msg03("hello", skill="echo")}, version=None)
    rpc_error(r, DENIED, version="0.3")


# -------------------------------------------------------------------------------------------
# 4. A task is its caller's
# -------------------------------------------------------------------------------------------


def test_another_callers_v10_task_does_not_exist_for_them_on_jsonrpc(weir: Weir, keys: dict[str, str]) -> None:
    bob, dave = keys["bob"], keys["dave"]
    ctx = new_id()
    theirs = slow_task10(weir, bob, context=ctx)
    mine = task_of(result(rpc(url(weir, "v1"), dave, "SendMessage", {"message": msg10("dave's own", context=ctx)})))
    u = url(weir, "v1")
    try:
        rpc_error(rpc(u, dave, "GetTask", {"id": theirs["id"]}), TASK_NOT_FOUND, reason="TASK_NOT_FOUND")
        rpc_error(rpc(u, dave, "CancelTask", {"id": theirs["id"]}), TASK_NOT_FOUND, reason="TASK_NOT_FOUND")
        sub = rpc_stream(u, dave, "SubscribeToTask", {"id": theirs["id"]})
        assert sub.status == 200 and "text/event-stream" not in sub.headers.get("content-type", ""), sub.raw
        assert json.loads(sub.raw)["error"]["code"] == TASK_NOT_FOUND, sub.raw
        rpc_error(rpc(u, dave, "CreateTaskPushNotificationConfig", {"taskId": theirs["id"], "url": PUBLIC_HOOK}), TASK_NOT_FOUND)
        rpc_error(rpc(u, dave, "ListTaskPushNotificationConfigs", {"taskId": theirs["id"]}), TASK_NOT_FOUND)
        rpc_error(rpc(u, dave, "SendMessage", {"message": msg10("hijack", context=ctx, task=theirs["id"])}), TASK_NOT_FOUND)
        # Both tasks are in one context at the agent; each caller lists only its own.
        listed = result(rpc(u, dave, "ListTasks", {"contextId": ctx, "pageSize": 100}))
        assert [t["id"] for t in listed["tasks"]] == [mine["id"]], listed
        assert listed["totalSize"] == 1
        listed = result(rpc(u, bob, "ListTasks", {"contextId": ctx, "pageSize": 100}))
        assert [t["id"] for t in listed["tasks"]] == [theirs["id"]], listed
        # Its owner still has it.
        assert result(rpc(u, bob, "GetTask", {"id": theirs["id"]}))["status"]["state"] == "TASK_STATE_WORKING"
    finally:
        canceled = result(rpc(u, bob, "CancelTask", {"id": theirs["id"]}))
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"


def test_another_callers_v10_task_does_not_exist_for_them_on_rest(weir: Weir, keys: dict[str, str]) -> None:
    bob, dave = keys["bob"], keys["dave"]
    ctx = new_id()
    r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(bob), json={"message": msg10("slow", context=ctx), "configuration": {"returnImmediately": True}}, timeout=30)
    assert r.status_code == 200, r.text
    theirs = r.json()["task"]
    r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(dave), json={"message": msg10("dave's own", context=ctx)}, timeout=30)
    mine = r.json()["task"]
    tid = theirs["id"]
    try:
        rest_error(httpx.get(url(weir, "v1", f"/tasks/{tid}"), headers=auth(dave), timeout=30), 404, "TASK_NOT_FOUND")
        rest_error(httpx.post(url(weir, "v1", f"/tasks/{tid}:cancel"), headers=auth(dave), json={"id": tid}, timeout=30), 404, "TASK_NOT_FOUND")
        sub = stream("POST", url(weir, "v1", f"/tasks/{tid}:subscribe"), auth(dave))
        assert sub.status == 404 and json.loads(sub.raw)["error"]["details"][0]["reason"] == "TASK_NOT_FOUND", sub.raw
        rest_error(httpx.post(url(weir, "v1", f"/tasks/{tid}/pushNotificationConfigs"), headers=auth(dave), json={"url": PUBLIC_HOOK}, timeout=30), 404, "TASK_NOT_FOUND")
        rest_error(httpx.get(url(weir, "v1", f"/tasks/{tid}/pushNotificationConfigs"), headers=auth(dave), timeout=30), 404, "TASK_NOT_FOUND")
        r = httpx.get(url(weir, "v1", "/tasks"), headers=auth(dave), params={"contextId": ctx, "pageSize": 100}, timeout=30)
        assert r.status_code == 200, r.text
        assert [t["id"] for t in r.json()["tasks"]] == [mine["id"]], r.text
        # With a tenant segment first, and on the v0.3 compat server's `/v1/tasks` (its v1.0 list).
        rest_error(httpx.get(url(weir, "v1", f"/acme/tasks/{tid}"), headers=auth(dave), timeout=30), 404, "TASK_NOT_FOUND")
        for path in ("/acme/tasks", "/v1/tasks"):
            r = httpx.get(url(weir, "v1", path), headers=auth(dave), params={"contextId": ctx, "pageSize": 100}, timeout=30)
            assert r.status_code == 200 and [t["id"] for t in r.json()["tasks"]] == [mine["id"]], (path, r.text)
        r = httpx.get(url(weir, "v1", f"/tasks/{tid}"), headers=auth(bob), timeout=30)
        assert r.status_code == 200 and r.json()["id"] == tid, r.text
    finally:
        r = httpx.post(url(weir, "v1", f"/tasks/{tid}:cancel"), headers=auth(bob), json={"id": tid}, timeout=30)
    assert r.status_code == 200 and r.json()["status"]["state"] == "TASK_STATE_CANCELED", r.text


def test_another_callers_v03_task_does_not_exist_for_them_on_both_bindings(weir: Weir, keys: dict[str, str]) -> None:
    bob, dave = keys["bob"], keys["dave"]
    u = url(weir, "v03")
    theirs = slow_task03(weir, bob)
    tid = theirs["id"]
    try:
        rpc_error(rpc(u, dave, "tasks/get", {"id": tid}, version=None), TASK_NOT_FOUND, version="0.3")
        rpc_error(rpc(u, dave, "tasks/cancel", {"id": tid}, version=None), TASK_NOT_FOUND, version="0.3")
        sub = rpc_stream(u, dave, "tasks/resubscribe", {"id": tid}, version=None)
        errors = [d for _, d in sub.events if isinstance(d, dict) and "error" in d] or ([json.loads(sub.raw)] if sub.raw.startswith("{") else [])
        assert sub.status == 200 and errors and errors[0]["error"]["code"] == TASK_NOT_FOUND, sub.raw
        rpc_error(rpc(u, dave, "tasks/pushNotificationConfig/get", {"id": tid}, version=None), TASK_NOT_FOUND, version="0.3")
        rpc_error(rpc(u, dave, "tasks/pushNotificationConfig/set", {"taskId": tid, "pushNotificationConfig": {"url": PUBLIC_HOOK}}, version=None), TASK_NOT_FOUND, version="0.3")
        rpc_error(rpc(u, dave, "message/send", {"message": msg03("hijack", task=tid, context=theirs["contextId"])}, version=None), TASK_NOT_FOUND, version="0.3")
        rest_error(httpx.get(f"{u}/v1/tasks/{tid}", headers=auth(dave, None), timeout=30), 404, "TASK_NOT_FOUND", version="0.3")
        rest_error(httpx.post(f"{u}/v1/tasks/{tid}:cancel", headers=auth(dave, None), json={"name": f"tasks/{tid}"}, timeout=30), 404, "TASK_NOT_FOUND", version="0.3")
        sub = stream("GET", f"{u}/v1/tasks/{tid}:subscribe", auth(dave, None))
        assert sub.status == 404, sub.raw
        assert result(rpc(u, bob, "tasks/get", {"id": tid}, version=None))["id"] == tid
        r = httpx.get(f"{u}/v1/tasks/{tid}", headers=auth(bob, None), timeout=30)
        assert r.status_code == 200 and r.json()["id"] == tid, r.text
    finally:
        canceled = result(rpc(u, bob, "tasks/cancel", {"id": tid}, version=None))
    assert canceled["status"]["state"] == "canceled"


def test_a_message_continuing_another_callers_task_is_refused_on_rest(weir: Weir, keys: dict[str, str]) -> None:
    """A REST send names the task it continues in its body (not its path): that task must be
    the caller's, as on JSON-RPC."""
    bob, dave = keys["bob"], keys["dave"]
    theirs = task_of(result(rpc(url(weir, "v1"), bob, "SendMessage", {"message": msg10("bob's")})))
    for path in ("/message:send", "/message:stream"):
        r = httpx.post(url(weir, "v1", path), headers=auth(dave), json={"message": msg10("hijack", task=theirs["id"], context=theirs["contextId"])}, timeout=30)
        rest_error(r, 404, "TASK_NOT_FOUND")
    theirs03 = task_of(result(rpc(url(weir, "v03"), bob, "message/send", {"message": msg03("bob's")}, version=None)))
    body = {"message": {**msg03_rest("hijack"), "taskId": theirs03["id"], "contextId": theirs03["contextId"]}, "configuration": {"blocking": True}}
    rest_error(httpx.post(url(weir, "v03", "/v1/message:send"), headers=auth(dave, None), json=body, timeout=30), 404, "TASK_NOT_FOUND", version="0.3")


@pytest.mark.parametrize("what", ["cancel another caller's task", "send a blocked phrase"])
def test_a_rest_request_cannot_pass_for_jsonrpc(weir: Weir, keys: dict[str, str], what: str) -> None:
    """A body with a `jsonrpc` member posted at a REST path is still a REST request to the
    target (it goes to that path): Weir must judge it as the target will read it."""
    bob, dave = keys["bob"], keys["dave"]
    disguise = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
    if what == "send a blocked phrase":
        r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(dave), json={**disguise, "message": msg10("all about the nerve agent")}, timeout=30)
        assert "nerve agent" not in r.text, f"the blocked message reached the agent: {r.text[:400]}"
        assert r.status_code >= 400 or "error" in r.json(), r.text
        return
    theirs = slow_task10(weir, bob)
    try:
        r = httpx.post(url(weir, "v1", f"/tasks/{theirs['id']}:cancel"), headers=auth(dave), json=disguise, timeout=30)
        assert theirs["id"] not in r.text, f"another caller's task was cancelled: {r.status_code} {r.text[:400]}"
        assert result(rpc(url(weir, "v1"), bob, "GetTask", {"id": theirs["id"]}))["status"]["state"] == "TASK_STATE_WORKING"
    finally:
        rpc(url(weir, "v1"), bob, "CancelTask", {"id": theirs["id"]})


def test_a_task_named_twice_in_params_is_checked_as_the_agent_reads_it(weir: Weir, keys: dict[str, str]) -> None:
    """GetTask/CancelTask address the task by `id`; a second, unknown field naming the caller's
    own task must not pass the check for another's."""
    bob, dave = keys["bob"], keys["dave"]
    u = url(weir, "v1")
    theirs = slow_task10(weir, bob)
    mine = task_of(result(rpc(u, dave, "SendMessage", {"message": msg10("dave's own")})))
    theirs03 = slow_task03(weir, bob)
    mine03 = task_of(result(rpc(url(weir, "v03"), dave, "message/send", {"message": msg03("dave's own")}, version=None)))
    try:
        for decoy in ({"taskId": mine["id"]}, {"name": f"tasks/{mine['id']}"}):
            r = rpc(u, dave, "GetTask", {"id": theirs["id"], **decoy})
            assert theirs["id"] not in r.text, f"{decoy}: another caller's task was read: {r.text[:300]}"
            rpc_error(r, TASK_NOT_FOUND)
            rpc_error(rpc(u, dave, "CancelTask", {"id": theirs["id"], **decoy}), TASK_NOT_FOUND)
        r = rpc(url(weir, "v03"), dave, "tasks/get", {"id": theirs03["id"], "taskId": mine03["id"]}, version=None)
        assert theirs03["id"] not in r.text, f"another caller's task was read: {r.text[:300]}"
        rpc_error(r, TASK_NOT_FOUND, version="0.3")
        assert result(rpc(u, bob, "GetTask", {"id": theirs["id"]}))["status"]["state"] == "TASK_STATE_WORKING"
    finally:
        rpc(u, bob, "CancelTask", {"id": theirs["id"]})
        rpc(url(weir, "v03"), bob, "tasks/cancel", {"id": theirs03["id"]}, version=None)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/tasks%3F"),  # decoded: `/tasks?` — the agent would list everyone's tasks
        ("POST", "/tasks/{victim}:cancel%23/tasks"),  # decoded `#`: the agent would cancel the victim's
        ("GET", "/tasks/{victim}%3F/tasks/{mine}"),  # decoded `?`: the agent would read the victim's
        ("GET", "/tasks/%2E%2E/tasks/{victim}"),
        ("POST", "/tasks/{mine}/pushNotificationConfigs%3F"),  # would hide a webhook from the check
    ],
)
def test_a_path_that_reads_differently_decoded_is_refused_before_the_agent(weir: Weir, keys: dict[str, str], method: str, path: str) -> None:
    bob, dave = keys["bob"], keys["dave"]
    victim = slow_task10(weir, bob)
    mine = task_of(result(rpc(url(weir, "v1"), dave, "SendMessage", {"message": msg10("dave's own")})))
    try:
        target = url(weir, "v1", path.format(victim=victim["id"], mine=mine["id"]))
        r = httpx.request(method, target, headers=auth(dave), json={"url": "http://169.254.169.254/"} if method == "POST" else None, timeout=20)
        assert victim["id"] not in r.text, r.text[:300]
        rest_error(r, 400)
        # The victim's task runs on, untouched.
        assert result(rpc(url(weir, "v1"), bob, "GetTask", {"id": victim["id"]}))["status"]["state"] == "TASK_STATE_WORKING"
    finally:
        rpc(url(weir, "v1"), bob, "CancelTask", {"id": victim["id"]})


def test_operations_a2a_does_not_define_are_not_relayed(weir: Weir, keys: dict[str, str]) -> None:
    dave = keys["dave"]
    rpc_error(rpc(url(weir, "v1"), dave, "tasks/list", {}), -32601, reason="METHOD_NOT_FOUND")
    rpc_error(rpc(url(weir, "v1"), dave, "ExportEverything", {"id": "x"}), -32601, reason="METHOD_NOT_FOUND")
    rest_error(httpx.get(url(weir, "v1", "/admin"), headers=auth(dave), timeout=10), 404)
    rest_error(httpx.post(url(weir, "v1", "/tasks/x:pause"), headers=auth(dave), timeout=10), 404)
    rest_error(httpx.delete(url(weir, "v1", "/tasks/x"), headers=auth(dave), timeout=10), 404)


def test_a_v03_request_without_jsonrpc_is_checked_like_any_other(weir: Weir, keys: dict[str, str]) -> None:
    """The 0.3 server takes a request without `"jsonrpc"`; Weir reads it as JSON-RPC too, so the
    caller's task check applies."""
    bob, dave = keys["bob"], keys["dave"]
    theirs = slow_task03(weir, bob)
    try:
        bare = {"id": 1, "method": "tasks/get", "params": {"id": theirs["id"]}}
        r = httpx.post(url(weir, "v03"), json=bare, headers=auth(dave, None), timeout=20)
        assert theirs["id"] not in r.text, r.text[:300]
        rpc_error(r, TASK_NOT_FOUND, version="0.3")
        cont = {"id": 2, "method": "message/send", "params": {"message": msg03("hijack", task=theirs["id"])}}
        rpc_error(httpx.post(url(weir, "v03"), json=cont, headers=auth(dave, None), timeout=20), TASK_NOT_FOUND, version="0.3")
    finally:
        rpc(url(weir, "v03"), bob, "tasks/cancel", {"id": theirs["id"]}, version=None)


def test_a_v03_push_config_request_is_checked_on_the_task_its_id_names(weir: Weir, keys: dict[str, str]) -> None:
    """v0.3's push-config get/delete read `id` as the task: a `taskId` naming the caller's own
    task beside it must not pass the check for another's."""
    bob, dave = keys["bob"], keys["dave"]
    theirs = slow_task03(weir, bob)
    mine = slow_task03(weir, dave)
    u = url(weir, "v03")
    try:
        cfg = {"taskId": theirs["id"], "pushNotificationConfig": {"id": "c1", "url": "http://93.184.216.34:9/hook", "token": "bobs-secret-token"}}
        result(rpc(u, bob, "tasks/pushNotificationConfig/set", cfg, version=None))
        for method in ("tasks/pushNotificationConfig/get", "tasks/pushNotificationConfig/delete"):
            r = rpc(u, dave, method, {"id": theirs["id"], "taskId": mine["id"], "pushNotificationConfigId": "c1"}, version=None)
            assert "bobs-secret-token" not in r.text, r.text[:300]
            rpc_error(r, TASK_NOT_FOUND, version="0.3")
        got = result(rpc(u, bob, "tasks/pushNotificationConfig/get", {"id": theirs["id"], "pushNotificationConfigId": "c1"}, version=None))
        assert got["pushNotificationConfig"]["token"] == "bobs-secret-token", "still there: the delete was refused"
    finally:
        rpc(u, bob, "tasks/cancel", {"id": theirs["id"]}, version=None)
        rpc(u, dave, "tasks/cancel", {"id": mine["id"]}, version=None)


def test_every_skill_a_message_names_must_be_allowed(weir: Weir, keys: dict[str, str]) -> None:
    """`alice` may call skill `echo` only: a message naming `echo` in its metadata and `slow` in
    the request's is denied (the agent might read either)."""
    params = {"message": msg10("two skills", skill="echo"), "metadata": {"skill": "slow"}}
    err = rpc_error(rpc(url(weir, "v1"), keys["alice"], "SendMessage", params), DENIED)
    assert "skill `slow`" in err["message"], err


def test_a_message_may_refer_only_to_the_callers_own_tasks(weir: Weir, keys: dict[str, str]) -> None:
    bob, dave = keys["bob"], keys["dave"]
    theirs = task_of(result(rpc(url(weir, "v1"), bob, "SendMessage", {"message": msg10("bob's")})))
    m = msg10("about bob's task")
    m["referenceTaskIds"] = [theirs["id"]]
    rpc_error(rpc(url(weir, "v1"), dave, "SendMessage", {"message": m}), TASK_NOT_FOUND)


def test_a_task_is_its_callers_at_every_replica(cluster: Cluster) -> None:
    r0, r1 = cluster.replicas
    bob, dave = cluster.keys["bob"], cluster.keys["dave"]
    ctx = new_id()
    t = slow_task10(r0, bob, context=ctx)
    try:
        assert result(rpc(url(r1, "v1"), bob, "GetTask", {"id": t["id"]}))["id"] == t["id"]
        rpc_error(rpc(url(r1, "v1"), dave, "GetTask", {"id": t["id"]}), TASK_NOT_FOUND)
        rpc_error(rpc(url(r1, "v1"), dave, "CancelTask", {"id": t["id"]}), TASK_NOT_FOUND)
        assert result(rpc(url(r1, "v1"), dave, "ListTasks", {"contextId": ctx}))["tasks"] == []
        assert [x["id"] for x in result(rpc(url(r1, "v1"), bob, "ListTasks", {"contextId": ctx}))["tasks"]] == [t["id"]]
    finally:
        canceled = result(rpc(url(r1, "v1"), bob, "CancelTask", {"id": t["id"]}))
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"


# -------------------------------------------------------------------------------------------
# 5. Push-notification webhooks
# -------------------------------------------------------------------------------------------

PRIVATE_HOOKS = ["http://127.0.0.1:9/hook", "http://localhost:8080/hook", "http://169.254.169.254/latest", "http://10.1.2.3/hook", "http://[::1]:9/hook"]


def test_a_push_url_on_a_private_address_is_refused_in_every_place_it_can_be_given(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    v1, v03 = url(weir, "v1"), url(weir, "v03")
    own = slow_task10(weir, key)
    own03 = slow_task03(weir, key)
    try:
        for hook in PRIVATE_HOOKS:
            # v1.0 JSON-RPC: in a send's configuration, and as a config of one's own task.
            r = rpc(v1, key, "SendMessage", {"message": msg10("hello"), "configuration": {"taskPushNotificationConfig": {"url": hook}}})
            err = rpc_error(r, INVALID_PARAMS, reason="INVALID_PARAMS")
            assert "push" in err["message"].lower(), err
            rpc_error(rpc(v1, key, "CreateTaskPushNotificationConfig", {"taskId": own["id"], "id": "c1", "url": hook}), INVALID_PARAMS)
            # v1.0 REST.
            rest_error(httpx.post(url(weir, "v1", "/message:send"), headers=auth(key), json={"message": msg10("hello"), "configuration": {"taskPushNotificationConfig": {"url": hook}}}, timeout=30), 400, "INVALID_PARAMS")
            rest_error(httpx.post(url(weir, "v1", f"/tasks/{own['id']}/pushNotificationConfigs"), headers=auth(key), json={"url": hook}, timeout=30), 400, "INVALID_PARAMS")
        hook = PRIVATE_HOOKS[0]
        # v0.3 JSON-RPC and REST.
        rpc_error(rpc(v03, key, "message/send", {"message": msg03("hello"), "configuration": {"pushNotificationConfig": {"url": hook}}}, version=None), INVALID_PARAMS, version="0.3")
        rpc_error(rpc(v03, key, "tasks/pushNotificationConfig/set", {"taskId": own03["id"], "pushNotificationConfig": {"id": "c1", "url": hook}}, version=None), INVALID_PARAMS, version="0.3")
        body = {"parent": f"tasks/{own03['id']}", "configId": "c1", "config": {"name": f"tasks/{own03['id']}/pushNotificationConfigs/c1", "pushNotificationConfig": {"id": "c1", "url": hook}}}
        rest_error(httpx.post(f"{v03}/v1/tasks/{own03['id']}/pushNotificationConfigs", headers=auth(key, None), json=body, timeout=30), 400, "INVALID_PARAMS", version="0.3")
        rest_error(httpx.post(f"{v03}/v1/message:send", headers=auth(key, None), json={"message": msg03_rest("hello"), "configuration": {"pushNotification": {"url": hook}}}, timeout=30), 400, "INVALID_PARAMS", version="0.3")
        # Nothing refused reached the agent: no config was stored.
        assert result(rpc(v1, key, "ListTaskPushNotificationConfigs", {"taskId": own["id"]})).get("configs", []) == []
        # A public address is accepted, in both versions.
        cfg = result(rpc(v1, key, "CreateTaskPushNotificationConfig", {"taskId": own["id"], "id": "c1", "url": PUBLIC_HOOK}))
        assert cfg["url"] == PUBLIC_HOOK
        t = task_of(result(rpc(v1, key, "SendMessage", {"message": msg10("hello hooked"), "configuration": {"taskPushNotificationConfig": {"url": PUBLIC_HOOK}}})))
        assert artifact_texts(t) == ["echo: hello hooked"]
        cfg = result(rpc(v03, key, "tasks/pushNotificationConfig/set", {"taskId": own03["id"], "pushNotificationConfig": {"id": "c1", "url": PUBLIC_HOOK}}, version=None))
        assert cfg["pushNotificationConfig"]["url"] == PUBLIC_HOOK
    finally:
        rpc(v1, key, "CancelTask", {"id": own["id"]})
        rpc(v03, key, "tasks/cancel", {"id": own03["id"]}, version=None)


def test_a_push_url_spelled_with_protobufs_field_names_is_checked_too(weir: Weir, keys: dict[str, str]) -> None:
    """Protobuf JSON (v1.0 JSON-RPC and REST, v0.3 REST) reads a field by its JSON name or its
    proto name; the 1.x SDK's own v0.3 REST transport writes the proto names
    (`config.push_notification_config`). A private URL is refused however it is spelled."""
    key = keys["e2e"]
    hook = "http://127.0.0.1:9/hook"
    own03 = slow_task03(weir, key)
    try:
        body = {"parent": f"tasks/{own03['id']}", "config_id": "c2", "config": {"name": f"tasks/{own03['id']}/pushNotificationConfigs/c2", "push_notification_config": {"id": "c2", "url": hook}}}
        r = httpx.post(url(weir, "v03", f"/v1/tasks/{own03['id']}/pushNotificationConfigs"), headers=auth(key, "0.3"), json=body, timeout=30)
        rest_error(r, 400, "INVALID_PARAMS", version="0.3")
        r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(key), json={"message": msg10("hello"), "configuration": {"task_push_notification_config": {"url": hook}}}, timeout=30)
        rest_error(r, 400, "INVALID_PARAMS")
        r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("hello"), "configuration": {"task_push_notification_config": {"url": hook}}})
        rpc_error(r, INVALID_PARAMS)
    finally:
        rpc(url(weir, "v03"), key, "tasks/cancel", {"id": own03["id"]}, version=None)


def test_a_private_push_url_is_accepted_when_allowed(lite: Weir) -> None:
    own = slow_task10(lite, lite.key)
    try:
        cfg = result(rpc(url(lite, "v1"), lite.key, "CreateTaskPushNotificationConfig", {"taskId": own["id"], "id": "c1", "url": "http://127.0.0.1:9/hook"}))
        assert cfg["url"] == "http://127.0.0.1:9/hook"
    finally:
        rpc(url(lite, "v1"), lite.key, "CancelTask", {"id": own["id"]})


# -------------------------------------------------------------------------------------------
# 6. A target that dies mid-stream
# -------------------------------------------------------------------------------------------


def assert_broken_stream_recorded(w: Weir, rid: str, target: str) -> None:
    ev = w.audit_event(rid, timeout=10)
    assert (ev["kind"], ev["a2a_target"], ev["streamed"]) == ("a2a", target, True), ev
    assert ev["outcome"] == "error" and ev["error_type"] == "upstream_stream_broken", ev
    assert ev["a2a_task_id"] and ev["a2a_task_state"] == "working", ev


def test_the_sdk_client_gets_a_clean_error_when_the_target_dies_mid_stream(weir: Weir, keys: dict[str, str], targets: dict[str, Target]) -> None:
    from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
    from a2a.client.errors import A2AClientError
    from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest

    rids: list[str] = []

    async def keep_rid(resp: httpx.Response) -> None:
        if "x-request-id" in resp.headers:
            rids.append(resp.headers["x-request-id"])

    async def run() -> tuple[list[Any], BaseException | None]:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {keys['e2e']}"}, timeout=30, event_hooks={"response": [keep_rid]}) as http:
            c = await A2ACardResolver(http, url(weir, "die1")).get_agent_card()
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=True, supported_protocol_bindings=["JSONRPC"])).create(c)
            got: list[Any] = []
            try:
                async for e in client.send_message(SendMessageRequest(message=Message(role=Role.ROLE_USER, message_id=new_id(), parts=[Part(text="die")]))):
                    got.append(e)
            except A2AClientError as e:
                return got, e
            return got, None

    events, error = asyncio.run(run())
    assert error is not None, f"the stream ended as if complete: {events}"
    # Weir's own error event, not the SDK's "incomplete chunked read".
    assert f"JSON-RPC Error {AGENT_UNAVAILABLE}" in str(error) and "die1" in str(error), repr(error)
    assert [e.WhichOneof("payload") for e in events] == ["task", "status_update"], events
    assert targets["die1"].process.wait(timeout=10) != 0, "the agent died"
    assert_broken_stream_recorded(weir, rids[-1], "die1")


def test_a_raw_v10_rest_stream_ends_with_an_error_event_when_the_target_dies(weir: Weir, keys: dict[str, str]) -> None:
    s = stream("POST", url(weir, "die1r", "/message:stream"), auth(keys["e2e"]), {"message": msg10("die")})
    assert s.status == 200, s.raw
    names = [n for n, _ in s.events]
    assert names == [None, None, "error"], s.raw
    assert "task" in s.events[0][1] and s.events[1][1]["statusUpdate"]["status"]["state"] == "TASK_STATE_WORKING"
    err = s.events[-1][1]["error"]
    assert err["code"] == 502 and err["status"] == "UNAVAILABLE" and err["details"][0]["reason"] == "AGENT_UNAVAILABLE", s.raw
    assert_broken_stream_recorded(weir, s.headers["x-request-id"], "die1r")


def test_a_raw_v03_jsonrpc_stream_ends_with_an_error_when_the_target_dies(weir: Weir, keys: dict[str, str]) -> None:
    s = rpc_stream(url(weir, "die03"), keys["e2e"], "message/stream", {"message": msg03("die")}, version=None)
    assert s.status == 200, s.raw
    assert len(s.events) == 3, s.raw
    assert s.events[0][1]["result"]["kind"] == "task" and s.events[1][1]["result"]["status"]["state"] == "working"
    last = s.events[-1][1]
    assert last["error"]["code"] == AGENT_UNAVAILABLE and last["jsonrpc"] == "2.0", s.raw
    assert_broken_stream_recorded(weir, s.headers["x-request-id"], "die03")


# -------------------------------------------------------------------------------------------
# 7. What reaches the target
# -------------------------------------------------------------------------------------------


def test_the_callers_key_stays_at_weir_and_the_targets_credentials_go_on(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("headers")}, version="1.0.0", headers={"A2A-Extensions": "https://example.com/ext/a", "X-A2A-Extensions": "https://example.com/ext/b"})
    seen = seen_headers(task_of(result(r)))
    assert key not in json.dumps(seen), seen
    assert seen["authorization"] == V1_CREDENTIAL, seen
    assert "x-api-key" not in seen
    assert seen["a2a-version"] == "1.0.0", "the caller's A2A-Version goes on as it was written"
    assert seen["a2a-extensions"] == "https://example.com/ext/a" and seen["x-a2a-extensions"] == "https://example.com/ext/b", seen
    # A key given as x-api-key does not go on either (and REST alike).
    r = httpx.post(url(weir, "v1", "/message:send"), headers={"x-api-key": key, "A2A-Version": "1.0"}, json={"message": msg10("headers")}, timeout=30)
    assert r.status_code == 200, r.text
    seen = seen_headers(r.json()["task"])
    assert key not in json.dumps(seen) and "x-api-key" not in seen and seen["authorization"] == V1_CREDENTIAL, seen
    # A v0.3 caller: no A2A-Version is made up; the agent's own credential replaces nothing of the caller's.
    r = rpc(url(weir, "v03"), None, "message/send", {"message": msg03("headers")}, version=None, headers={"x-api-key": key, "X-A2A-Extensions": "https://example.com/ext/c"})
    seen = seen_headers(task_of(result(r)))
    assert key not in json.dumps(seen), seen
    assert seen["x-api-key"] == V03_CREDENTIAL and "authorization" not in seen and "a2a-version" not in seen, seen
    assert seen["x-a2a-extensions"] == "https://example.com/ext/c"


# -------------------------------------------------------------------------------------------
# 8. Versions
# -------------------------------------------------------------------------------------------


def test_a_version_the_target_does_not_speak_is_refused(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    # A 0.3 request (no A2A-Version) to an agent that speaks only 1.0.
    err = rpc_error(rpc(url(weir, "v1only"), key, "message/send", {"message": msg03("hello")}, version=None), VERSION_NOT_SUPPORTED, version="0.3")
    assert "0.3" in err["message"], err
    rest_error(httpx.post(url(weir, "v1only", "/v1/message:send"), headers=auth(key, None), json={"message": msg03_rest("hello")}, timeout=30), 400, "VERSION_NOT_SUPPORTED", version="0.3")
    # A 1.0 request to an agent that speaks only 0.3.
    rpc_error(rpc(url(weir, "v03"), key, "SendMessage", {"message": msg10("hello")}), VERSION_NOT_SUPPORTED, reason="VERSION_NOT_SUPPORTED")
    # Without A2A-Version, v1.0's method names say 1.0 (a 0.3-only agent would not know them).
    rpc_error(rpc(url(weir, "v03"), key, "SendMessage", {"message": msg10("hello")}, version=None), VERSION_NOT_SUPPORTED, reason="VERSION_NOT_SUPPORTED")
    # The 1.0 agent takes 1.0.
    assert artifact_texts(task_of(result(rpc(url(weir, "v1only"), key, "SendMessage", {"message": msg10("fine")})))) == ["echo: fine"]


def test_an_unknown_a2a_version_is_refused(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("hello")}, version="2.0")
    err = rpc_error(r, VERSION_NOT_SUPPORTED, reason="VERSION_NOT_SUPPORTED")
    assert "2.0" in err["message"], err
    rest_error(httpx.get(url(weir, "v1", "/tasks"), headers=auth(key, "2.0"), timeout=30), 400, "VERSION_NOT_SUPPORTED")


# -------------------------------------------------------------------------------------------
# 9. One trace per agent session
# -------------------------------------------------------------------------------------------


async def mcp_echo(w: Weir, key: str, session: str) -> None:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}", "x-weir-session": session}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(f"{w.base}/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                r = await s.call_tool("fixsse__echo", {"message": "traced"})
                assert not r.is_error, r


def test_llm_mcp_and_a2a_calls_of_one_session_share_one_trace(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    session = f"sess-{secrets.token_hex(6)}"
    client = openai.OpenAI(base_url=f"{weir.base}/v1", api_key=key, max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-weir-session": session})
    client.close()
    llm = weir.audit_event(raw.headers["x-request-id"])
    asyncio.run(mcp_echo(weir, key, session))

    def mcp_call() -> dict[str, Any] | None:
        events = weir.admin_get("/api/v1/audit/events", session=session, kind="mcp", limit=50).json()["events"]
        return next((e for e in events if e["tool_name"] == "fixsse__echo"), None)

    mcp = eventually(mcp_call, 10, "the MCP call's audit event")
    # The A2A call names the session only as its message's contextId.
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("headers", context=session)})
    seen = seen_headers(task_of(result(r)))
    a2a = audit(weir, r)
    assert a2a["session_id"] == session and a2a["a2a_context_id"] == session
    assert llm["trace_id"] and llm["trace_id"] == mcp["trace_id"] == a2a["trace_id"], (llm["trace_id"], mcp["trace_id"], a2a["trace_id"])
    # The target continues the same trace, below Weir's span.
    _, trace, parent, _ = seen["traceparent"].split("-")
    assert trace == a2a["trace_id"] and parent == a2a["span_id"], (seen, a2a["span_id"])
    # x-weir-session names the session over the contextId.
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("hello", context=new_id())}, headers={"x-weir-session": session})
    ev = audit(weir, r)
    assert ev["session_id"] == session and ev["a2a_context_id"] != session and ev["trace_id"] == llm["trace_id"]
    # The session counts its calls of each kind, A2A's apart.
    listed = weir.admin_get("/api/v1/sessions", agent="e2e", limit=100).json()["sessions"]
    mine = next(s for s in listed if s["session_id"] == session)
    assert (mine["llm_calls"], mine["mcp_calls"] >= 1, mine["a2a_calls"]) == (1, True, 2), mine


def test_a_callers_traceparent_wins_over_the_session_trace(weir: Weir, keys: dict[str, str]) -> None:
    trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10("headers", context=f"sess-{trace}")}, headers={"traceparent": f"00-{trace}-{caller_span}-01"})
    seen = seen_headers(task_of(result(r)))
    ev = audit(weir, r)
    assert ev["trace_id"] == trace
    _, seen_trace, seen_parent, _ = seen["traceparent"].split("-")
    assert seen_trace == trace and seen_parent == ev["span_id"] != caller_span, (seen, ev["span_id"])


# -------------------------------------------------------------------------------------------
# 10. Guardrails
# -------------------------------------------------------------------------------------------

EMAIL = "jane.roe@example.org"


def test_an_email_is_masked_before_the_agent_sees_it(weir: Weir, keys: dict[str, str]) -> None:
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10(f"please write to {EMAIL} today")})
    t = task_of(result(r))
    assert artifact_texts(t) == ["echo: please write to [EMAIL] today"], "the agent got the masked text"
    assert EMAIL not in r.text
    ev = audit(weir, r)
    assert guard_findings(ev)["pii/request"]["counts"] == {"email": 1} and ev["guardrail_action"] == "mask"
    assert ev["request_body"] and EMAIL not in ev["request_body"] and "[EMAIL]" in ev["request_body"]
    # REST and v0.3 alike.
    r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(keys["e2e"]), json={"message": msg10(f"rest {EMAIL}")}, timeout=30)
    assert artifact_texts(r.json()["task"]) == ["echo: rest [EMAIL]"], r.text
    r = rpc(url(weir, "v03"), keys["e2e"], "message/send", {"message": msg03(f"v03 {EMAIL}")}, version=None)
    assert artifact_texts(task_of(result(r))) == ["echo: v03 [EMAIL]"]


def test_an_email_in_the_agents_answer_is_masked(weir: Weir, keys: dict[str, str]) -> None:
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10("contact")})
    t = task_of(result(r))
    assert artifact_texts(t) == ["write to [EMAIL]"] and texts(t["status"]) == ["ask [EMAIL]"], t
    assert CONTACT_EMAIL not in r.text
    ev = audit(weir, r)
    assert guard_findings(ev)["pii/response"]["counts"] == {"email": 2}
    assert CONTACT_EMAIL not in (ev["response_body"] or "")
    r = rpc(url(weir, "v03"), keys["e2e"], "message/send", {"message": msg03("contact")}, version=None)
    assert CONTACT_EMAIL not in r.text and artifact_texts(task_of(result(r))) == ["write to [EMAIL]"]


@pytest.mark.parametrize("binding", ["v1.0 jsonrpc", "v1.0 rest", "v0.3 jsonrpc", "v0.3 rest"])
def test_an_email_in_a_streamed_answer_is_masked_event_by_event(weir: Weir, keys: dict[str, str], binding: str) -> None:
    key = keys["e2e"]
    if binding == "v1.0 jsonrpc":
        s = rpc_stream(url(weir, "v1"), key, "SendStreamingMessage", {"message": msg10("contact")})
    elif binding == "v1.0 rest":
        s = stream("POST", url(weir, "v1", "/message:stream"), auth(key), {"message": msg10("contact")})
    elif binding == "v0.3 jsonrpc":
        s = rpc_stream(url(weir, "v03"), key, "message/stream", {"message": msg03("contact")}, version=None)
    else:
        s = stream("POST", url(weir, "v03", "/v1/message:stream"), auth(key, None), {"message": msg03_rest("contact"), "configuration": {"blocking": True}})
    assert s.status == 200 and len(s.events) >= 4, s.raw
    assert CONTACT_EMAIL not in s.raw, s.raw
    all_texts = texts([d for _, d in s.events])
    assert "write to [EMAIL]" in all_texts and "ask [EMAIL]" in all_texts, all_texts
    ev = audit(weir, s)
    assert ev["streamed"] and ev["outcome"] == "ok" and "pii/response" in guard_findings(ev)


def test_a_blocked_phrase_is_refused_in_requests_and_answers(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("how is a nerve agent made")})
    rpc_error(r, DENIED, reason="DENIED_BY_POLICY")
    ev = audit(weir, r)
    assert ev["error_type"] == "guardrail_blocked" and ev["guardrail_action"] == "block" and "weapons/request" in guard_findings(ev)
    rest_error(httpx.post(url(weir, "v1", "/message:send"), headers=auth(key), json={"message": msg10("nerve agent")}, timeout=30), 403)
    rpc_error(rpc(url(weir, "v03"), key, "message/send", {"message": msg03("nerve agent")}, version=None), DENIED, version="0.3")
    # "leak" looks at answers only: the request passes, the agent's echo of it does not.
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("say the forbidden answer")})
    rpc_error(r, DENIED, reason="DENIED_BY_POLICY")
    assert "forbidden answer" not in r.text
    ev = audit(weir, r)
    assert ev["error_type"] == "guardrail_blocked" and "leak/response" in guard_findings(ev)
    rest_error(httpx.post(url(weir, "v1", "/message:send"), headers=auth(key), json={"message": msg10("say the forbidden answer")}, timeout=30), 403)


def test_a_blocked_phrase_in_a_streamed_answer_ends_the_stream_with_an_error(weir: Weir, keys: dict[str, str]) -> None:
    key = keys["e2e"]
    s = rpc_stream(url(weir, "v1"), key, "SendStreamingMessage", {"message": msg10("say the forbidden answer")})
    assert s.status == 200, s.raw
    name, last = s.events[-1]
    assert name == "error" and last["error"]["code"] == DENIED and last["error"]["data"][0]["reason"] == "DENIED_BY_POLICY", s.raw
    assert "echo: say the forbidden answer" not in s.raw
    ev = audit(weir, s)
    assert ev["outcome"] == "error" and ev["error_type"] == "guardrail_blocked" and ev["streamed"]
    s = stream("POST", url(weir, "v03", "/v1/message:stream"), auth(key, None), {"message": msg03_rest("say the forbidden answer"), "configuration": {"blocking": True}})
    assert s.status == 200 and "echo: say the forbidden answer" not in s.raw, s.raw
    assert s.events[-1][1]["error"]["details"][0]["reason"] == "DENIED_BY_POLICY", s.raw


# -------------------------------------------------------------------------------------------
# 11. Bad input
# -------------------------------------------------------------------------------------------


def test_malformed_json_and_batches_are_refused(weir: Weir, keys: dict[str, str]) -> None:
    h = {**auth(keys["e2e"]), "Content-Type": "application/json"}
    r = httpx.post(url(weir, "v1"), headers=h, content=b'{"jsonrpc": "2.0", "id": 1, "method": ', timeout=30)
    err = rpc_error(r, PARSE_ERROR)
    assert r.json()["id"] is None, r.text
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}, {"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": "y"}}]
    r = httpx.post(url(weir, "v1"), headers=h, json=batch, timeout=30)
    err = rpc_error(r, INVALID_REQUEST)
    assert "batch" in err["message"].lower(), err
    r = httpx.post(url(weir, "v1", "/message:send"), headers=h, content=b"{nope", timeout=30)
    rest_error(r, 400, "INVALID_REQUEST")
    # A refused request of a known caller is recorded all the same.
    ev = audit(weir, r)
    assert (ev["kind"], ev["agent_name"], ev["a2a_target"], ev["outcome"], ev["error_type"], ev["status_code"]) == ("a2a", "e2e", "v1", "error", "invalid_json", 400), ev
    assert ev["operation"] == "POST /message:send", ev


def test_a_body_over_the_limit_is_refused(weir: Weir, keys: dict[str, str]) -> None:
    big = "x" * 70_000
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10(big)})
    err = rpc_error(r, INVALID_REQUEST, status=413)
    assert "limit" in err["message"], err
    r = httpx.post(url(weir, "v1", "/message:send"), headers=auth(keys["e2e"]), json={"message": msg10(big)}, timeout=30)
    rest_error(r, 413)


def test_an_unknown_agent_is_not_found(weir: Weir, keys: dict[str, str]) -> None:
    assert httpx.get(url(weir, "nope", "/.well-known/agent-card.json"), timeout=30).status_code == 404
    r = httpx.get(url(weir, "nope", "/tasks/x"), headers=auth(keys["e2e"]), timeout=30)
    rest_error(r, 404)
    r = rpc(url(weir, "nope"), keys["e2e"], "SendMessage", {"message": msg10("hello")})
    assert r.status_code == 404, f"a JSON-RPC request to an unregistered agent: HTTP {r.status_code} {r.text}"


def test_a_missing_or_wrong_key_is_unauthorized(weir: Weir) -> None:
    for key in (None, "wk_not-a-real-key"):
        r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("hello")})
        rpc_error(r, UNAUTHORIZED, reason="UNAUTHENTICATED", status=401)
        assert r.headers["www-authenticate"].lower().startswith("bearer"), r.headers
        r = httpx.get(url(weir, "v1", "/tasks"), headers=auth(key), timeout=30)
        rest_error(r, 401, "UNAUTHENTICATED")
        assert r.headers["www-authenticate"].lower().startswith("bearer")


def test_the_a2a_request_rate_limit_refuses_with_429(weir: Weir, keys: dict[str, str]) -> None:
    clear_of_the_minutes_end()
    key = keys["limited"]
    for i in range(2):
        assert artifact_texts(task_of(result(rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10(f"n{i}")})))) == [f"echo: n{i}"]
    r = rpc(url(weir, "v1"), key, "SendMessage", {"message": msg10("one too many")})
    rpc_error(r, RATE_LIMITED, reason="RATE_LIMITED", status=429)
    ev = audit(weir, r)
    assert ev["status_code"] == 429 and ev["error_type"] == "limit_exceeded"
    rest_error(httpx.get(url(weir, "v1", "/tasks"), headers=auth(key), timeout=30), 429, "RATE_LIMITED")
    # Another caller is not held back.
    result(rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10("still fine")}))


# -------------------------------------------------------------------------------------------
# 12. The audit record
# -------------------------------------------------------------------------------------------


def test_a_send_is_recorded_with_its_task_context_and_state(weir: Weir, keys: dict[str, str]) -> None:
    ctx = new_id()
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10("hello audit", context=ctx)})
    t = task_of(result(r))
    ev = audit(weir, r)
    assert (ev["kind"], ev["operation"], ev["agent_name"], ev["a2a_target"]) == ("a2a", "SendMessage", "e2e", "v1")
    assert (ev["a2a_task_id"], ev["a2a_context_id"], ev["a2a_task_state"]) == (t["id"], ctx, "completed")
    assert (ev["status_code"], ev["outcome"], ev["streamed"], ev["session_id"]) == (200, "ok", False, ctx)
    assert ev["latency_ms"] > 0 and ev["policy_decision"] == "allow" and ev["policy_rule"] == 1
    assert ev["client_ip"] == "127.0.0.1" and ev["trace_id"] and ev["span_id"]
    assert "hello audit" in ev["request_body"] and t["id"] in ev["response_body"]
    # A read names the task it read.
    ev = audit(weir, rpc(url(weir, "v1"), keys["e2e"], "GetTask", {"id": t["id"]}))
    assert (ev["operation"], ev["a2a_task_id"], ev["a2a_task_state"]) == ("GetTask", t["id"], "completed")
    # v0.3, REST.
    r = httpx.post(url(weir, "v03", "/v1/message:send"), headers=auth(keys["e2e"], None), json={"message": msg03_rest("hello rest"), "configuration": {"blocking": True}}, timeout=30)
    assert r.status_code == 200, r.text
    ev = audit(weir, r)
    assert (ev["operation"], ev["a2a_target"], ev["a2a_task_id"], ev["a2a_task_state"]) == ("POST /v1/message:send", "v03", r.json()["task"]["id"], "completed")


def test_a_first_message_is_recorded_in_the_session_its_answer_opens(weir: Weir, keys: dict[str, str]) -> None:
    """A conversation's first message names no contextId; the agent opens one. The record's
    session is that context (the A2A session), as for every later message of it."""
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10("first of a conversation")})
    t = task_of(result(r))
    first = audit(weir, r)
    assert first["a2a_context_id"] == t["contextId"]
    r = rpc(url(weir, "v1"), keys["e2e"], "SendMessage", {"message": msg10("second", context=t["contextId"])})
    second = audit(weir, r)
    assert second["session_id"] == t["contextId"]
    assert first["session_id"] == second["session_id"], (first["session_id"], second["session_id"])


@pytest.mark.parametrize("target", ["v1", "v03"])
def test_a_stream_reaches_the_caller_event_by_event_while_it_runs(weir: Weir, keys: dict[str, str], target: str) -> None:
    """A "slow" task's stream stays open until the task is cancelled: its first events can only
    have arrived if Weir passed them on as they came."""
    key = keys["e2e"]
    if target == "v1":
        method, params, version = "SendStreamingMessage", {"message": msg10("slow")}, "1.0"
    else:
        method, params, version = "message/stream", {"message": msg03("slow")}, None
    body = {"jsonrpc": "2.0", "id": new_id(), "method": method, "params": params}
    seen: list[Any] = []
    with httpx.Client(timeout=httpx.Timeout(30, read=10)) as c:
        with c.stream("POST", url(weir, target), headers={"Accept": "text/event-stream", **auth(key, version)}, json=body) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            for line in lines:
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:]))
                    if texts(seen[-1]) == ["working slowly"]:
                        break
            task = seen[0]["result"].get("task", seen[0]["result"])
            cancel = ("CancelTask", version) if target == "v1" else ("tasks/cancel", None)
            result(rpc(url(weir, target), key, cancel[0], {"id": task["id"]}, version=cancel[1]))
            rest = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert len(seen) == 2 and rest, (seen, rest)
    assert "canceled" in json.dumps(rest[-1]).lower(), rest


@pytest.mark.parametrize("binding", ["v1.0 jsonrpc", "v1.0 rest", "v0.3 jsonrpc"])
def test_a_stream_is_recorded_as_streamed_with_the_tasks_last_state(weir: Weir, keys: dict[str, str], binding: str) -> None:
    key = keys["e2e"]
    if binding == "v1.0 jsonrpc":
        s, op, target = rpc_stream(url(weir, "v1"), key, "SendStreamingMessage", {"message": msg10("stream please")}), "SendStreamingMessage", "v1"
        first = s.events[0][1]["result"]["task"]
    elif binding == "v1.0 rest":
        s, op, target = stream("POST", url(weir, "v1", "/message:stream"), auth(key), {"message": msg10("stream please")}), "POST /message:stream", "v1"
        first = s.events[0][1]["task"]
    else:
        s, op, target = rpc_stream(url(weir, "v03"), key, "message/stream", {"message": msg03("stream please")}, version=None), "message/stream", "v03"
        first = s.events[0][1]["result"]
    assert s.status == 200 and len(s.events) == 6, s.raw
    assert texts([d for _, d in s.events[2:5]]) == ["chunk 0", "chunk 1", "chunk 2"], "relayed event by event, in order"
    ev = audit(weir, s)
    assert (ev["kind"], ev["operation"], ev["a2a_target"], ev["streamed"], ev["outcome"]) == ("a2a", op, target, True, "ok")
    assert (ev["a2a_task_id"], ev["a2a_context_id"], ev["a2a_task_state"]) == (first["id"], first["contextId"], "completed")
    assert ev["ttft_ms"] is not None and ev["ttft_ms"] <= ev["latency_ms"]


@pytest.mark.parametrize("binding", ["v1.0 jsonrpc", "v1.0 rest", "v0.3 jsonrpc", "v0.3 rest"])
def test_a_cancel_is_recorded_as_canceled_in_v03_spelling(weir: Weir, keys: dict[str, str], binding: str) -> None:
    key = keys["e2e"]
    if binding.startswith("v1.0"):
        t = slow_task10(weir, key)
        r = rpc(url(weir, "v1"), key, "CancelTask", {"id": t["id"]}) if binding.endswith("jsonrpc") else httpx.post(url(weir, "v1", f"/tasks/{t['id']}:cancel"), headers=auth(key), json={"id": t["id"]}, timeout=30)
    else:
        t = slow_task03(weir, key)
        r = rpc(url(weir, "v03"), key, "tasks/cancel", {"id": t["id"]}, version=None) if binding.endswith("jsonrpc") else httpx.post(url(weir, "v03", f"/v1/tasks/{t['id']}:cancel"), headers=auth(key, None), json={"name": f"tasks/{t['id']}"}, timeout=30)
    assert r.status_code == 200 and "error" not in r.json(), r.text
    ev = audit(weir, r)
    assert (ev["a2a_task_id"], ev["a2a_task_state"], ev["outcome"]) == (t["id"], "canceled", "ok"), ev


# -------------------------------------------------------------------------------------------
# SQLite
# -------------------------------------------------------------------------------------------


def test_sqlite_smoke_send_and_stream_are_relayed_and_recorded(lite: Weir) -> None:
    r = rpc(url(lite, "v1"), lite.key, "SendMessage", {"message": msg10("on sqlite")})
    t = task_of(result(r))
    assert artifact_texts(t) == ["echo: on sqlite"]
    ev = audit(lite, r)
    assert (ev["kind"], ev["a2a_target"], ev["a2a_task_id"], ev["a2a_task_state"], ev["policy_decision"]) == ("a2a", "v1", t["id"], "completed", None)
    s = rpc_stream(url(lite, "v03"), lite.key, "message/stream", {"message": msg03("stream on sqlite")}, version=None)
    assert s.status == 200 and len(s.events) == 6, s.raw
    ev = audit(lite, s)
    assert ev["streamed"] and ev["a2a_task_state"] == "completed" and ev["a2a_target"] == "v03"
