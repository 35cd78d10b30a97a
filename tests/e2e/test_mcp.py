"""The MCP gateway end to end: the official `mcp` Python SDK as the client, real MCP servers from
the npm registry behind Weir, and the `weir` binary in between.

Backends (all run by this module): `@modelcontextprotocol/server-everything` over stdio
(`every`), over Streamable HTTP (`everyhttp`) and over the legacy HTTP+SSE transport (`everysse`,
configured with `transport = "sse"`, and `everyauto`, the same server configured without
`transport`, so that Weir must detect it), `@modelcontextprotocol/server-memory` over stdio
(`memory`), `tests/mcp-node/fixture-server.mjs` — written with the official TypeScript SDK, for
what the published servers do not let a test observe — over stdio (`fix`) and Streamable HTTP
(`fixhttp`), and `sse_fixture_server.py` — the same idea with the official Python SDK — over
legacy SSE (`fixsse`, detected too). Each capability has its own test, run against a backend of
each transport that offers it, and each asserts what arrived at the other end.

Needs `npm ci` in tests/mcp-node (scripts/test does it) and Node.js on PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import mcp.types as t
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import ADMIN_TOKEN, base_sections, AGENT, REPO_ROOT, TestDatabase, Weir, _start_weir, _stop_weir, clean_env, eventually, free_port

NODE_DIR = REPO_ROOT / "tests" / "mcp-node"
EVERYTHING = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
MEMORY = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "server-memory" / "dist" / "index.js"
FIXTURE = NODE_DIR / "fixture-server.mjs"
SSE_FIXTURE = Path(__file__).parent / "sse_fixture_server.py"
BACKEND_AUTH = "backend-secret-0123"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# -------------------------------------------------------------------------------------------
# Backends and Weir
# -------------------------------------------------------------------------------------------


@dataclass
class HttpBackend:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    log: Path
    path: str = "/mcp"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=NODE_DIR, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return True
            except httpx.HTTPError:
                return False

        eventually(up, 20, f"the {self.name} backend to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _require_node() -> None:
    missing = [str(p) for p in (EVERYTHING, MEMORY) if not p.exists()]
    if missing:
        pytest.exit(f"missing MCP servers {missing}: run `npm ci` in tests/mcp-node", returncode=2)


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, HttpBackend]]:
    _require_node()
    d = tmp_path_factory.mktemp("mcp-backends")
    env = dict(os.environ)
    every_port, fix_port, every_sse_port, fix_sse_port = free_port(), free_port(), free_port(), free_port()
    out = {
        "everyhttp": HttpBackend("everyhttp", every_port, ["node", str(EVERYTHING), "streamableHttp"], {**env, "PORT": str(every_port)}, d / "everyhttp.log"),
        "fixhttp": HttpBackend("fixhttp", fix_port, ["node", str(FIXTURE), "http", str(fix_port)], env, d / "fixhttp.log"),
        "everysse": HttpBackend("everysse", every_sse_port, ["node", str(EVERYTHING), "sse"], {**env, "PORT": str(every_sse_port)}, d / "everysse.log", path="/sse"),
        "fixsse": HttpBackend("fixsse", fix_sse_port, [sys.executable, str(SSE_FIXTURE), str(fix_sse_port)], env, d / "fixsse.log", path="/sse"),
    }
    try:
        for b in out.values():
            b.start()
        yield out
    finally:
        for b in out.values():
            b.stop()


def mcp_config(backends: dict[str, HttpBackend], spool: Path, rules: str = "", extra_servers: str = "") -> str:
    return base_sections(spool) + f"""
[mcp]
request_timeout_secs = 30

[[mcp.servers]]
name = "every"
command = ["node", "{EVERYTHING}", "stdio"]

[[mcp.servers]]
name = "everyhttp"
url = "{backends['everyhttp'].url}"

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]

[[mcp.servers]]
name = "fixhttp"
url = "{backends['fixhttp'].url}"
headers = {{ "x-backend-auth" = "{BACKEND_AUTH}" }}

[[mcp.servers]]
name = "memory"
command = ["node", "{MEMORY}"]
env = {{ MEMORY_FILE_PATH = "{spool.parent / 'memory.jsonl'}" }}

[[mcp.servers]]
name = "everysse"
url = "{backends['everysse'].url}"
transport = "sse"

[[mcp.servers]]
name = "everyauto"
url = "{backends['everysse'].url}"

[[mcp.servers]]
name = "fixsse"
url = "{backends['fixsse'].url}"
headers = {{ "x-backend-auth" = "{BACKEND_AUTH}" }}
{extra_servers}
{rules}
"""


def start_mcp_weir(directory: Path, config_text: str) -> Weir:
    config = directory / "weir.toml"
    config.write_text(config_text)
    db = TestDatabase.create("sqlite", directory)
    listen, admin_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = clean_env({"WEIR_DATABASE_URL": db.url, "WEIR_LISTEN": listen, "WEIR_ADMIN_LISTEN": admin_listen, "WEIR_ADMIN_TOKEN": ADMIN_TOKEN, "WEIR_LOG": "info"})
    w = Weir(backend="sqlite", base=f"http://{listen}", admin=f"http://{admin_listen}", key="", config=config, log=directory / "weir.log", db=db, env=env)
    w.cli("agents", "create", AGENT)
    w.key = w.create_key()
    _start_weir(w)
    return w


@pytest.fixture(scope="module")
def weir(backends: dict[str, HttpBackend], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    directory = tmp_path_factory.mktemp("weir-mcp")
    w = start_mcp_weir(directory, mcp_config(backends, directory / "audit.spool"))
    try:
        yield w
        assert _stop_weir(w) == 0, f"weir did not stop cleanly; log:\n{w.log_text()}"
    finally:
        _stop_weir(w)
        w.admin_http.close()


@dataclass
class Received:
    """What the client was sent besides responses."""

    notifications: list[Any]
    logs: list[t.LoggingMessageNotificationParams]
    sampling: list[t.CreateMessageRequestParams]
    elicitation: list[Any]


@asynccontextmanager
async def connect(weir: Weir, path: str = "/mcp", key: str | None = None, **callbacks: Any) -> AsyncIterator[tuple[ClientSession, Received]]:
    """An initialised SDK session through Weir, recording what the client receives."""
    got = Received([], [], [], [])

    async def on_message(m: Any) -> None:
        if isinstance(m, Exception):
            return
        got.notifications.append(m)

    async def on_log(params: t.LoggingMessageNotificationParams) -> None:
        got.logs.append(params)

    headers = {"Authorization": f"Bearer {key or weir.key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(f"{weir.base}{path}", http_client=http) as (read, write):
            async with ClientSession(read, write, message_handler=on_message, logging_callback=on_log, **callbacks) as session:
                await session.initialize()
                yield session, got


def text_of(result: t.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, t.TextContent))


# -------------------------------------------------------------------------------------------
# Aggregation
# -------------------------------------------------------------------------------------------


async def test_tools_of_every_backend_are_listed_with_their_server_prefix(weir: Weir) -> None:
    async with connect(weir) as (s, _):
        names = {tool.name for tool in (await s.list_tools()).tools}
    for expected in ["every__echo", "everyhttp__echo", "everysse__echo", "everyauto__echo", "fix__wait_for_cancel", "fixhttp__headers", "fixsse__headers", "memory__create_entities"]:
        assert expected in names, f"{expected} missing from {sorted(names)}"
    assert all("__" in n for n in names)


async def test_one_backend_alone_keeps_its_own_names(weir: Weir) -> None:
    async with connect(weir, "/mcp/everyhttp") as (s, _):
        names = {tool.name for tool in (await s.list_tools()).tools}
        assert "echo" in names and not any("__" in n for n in names)
        r = await s.call_tool("echo", {"message": "alone"})
    assert text_of(r) == "Echo: alone"


@pytest.mark.parametrize("server", ["every", "everyhttp", "everysse", "everyauto"])
async def test_tool_call_returns_the_backends_result(weir: Weir, server: str) -> None:
    async with connect(weir) as (s, _):
        r = await s.call_tool(f"{server}__echo", {"message": "hello through weir"})
        total = await s.call_tool(f"{server}__get-sum", {"a": 2, "b": 40})
    assert not r.is_error
    assert text_of(r) == "Echo: hello through weir"
    assert "42" in text_of(total)


@pytest.mark.parametrize("server", ["every", "everyhttp", "everysse", "everyauto"])
async def test_prompts_resources_and_templates_round_trip(weir: Weir, server: str) -> None:
    async with connect(weir) as (s, _):
        prompts = {p.name for p in (await s.list_prompts()).prompts}
        assert f"{server}__simple-prompt" in prompts, prompts
        got = await s.get_prompt(f"{server}__simple-prompt")
        assert got.messages and got.messages[0].role == "user"
        resources = (await s.list_resources()).resources
        ours = [r for r in resources if str(r.uri).startswith(f"{server}+")]
        assert ours, [str(r.uri) for r in resources][:10]
        read = await s.read_resource(ours[0].uri)
        assert read.contents, "a resource listed through Weir reads back through Weir"
        assert str(read.contents[0].uri) == str(ours[0].uri), "the URI comes back as the client knows it"
        templates = (await s.list_resource_templates()).resource_templates
        assert any(str(tpl.uri_template).startswith(f"{server}+") for tpl in templates), templates


# -------------------------------------------------------------------------------------------
# Server-initiated requests, notifications, cancellation
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["every", "everyhttp", "everysse", "everyauto"])
async def test_sampling_request_is_answered_by_the_clients_callback(weir: Weir, server: str) -> None:
    asked: list[t.CreateMessageRequestParams] = []

    async def sampling(ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        asked.append(params)
        return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text="the client's own answer"), model="client-model")

    async with connect(weir, sampling_callback=sampling) as (s, _):
        r = await s.call_tool(f"{server}__trigger-sampling-request", {"prompt": "say something", "maxTokens": 20})
    assert len(asked) == 1 and "say something" in asked[0].messages[0].content.text
    assert "the client's own answer" in text_of(r), "the backend used the sampled answer"


@pytest.mark.parametrize("server", ["fix", "fixhttp"])
async def test_roots_request_is_answered_by_the_clients_callback(weir: Weir, server: str) -> None:
    asked: list[Any] = []

    async def roots(ctx: Any) -> t.ListRootsResult:
        asked.append(ctx)
        return t.ListRootsResult(roots=[t.Root(uri="file:///srv/project", name="project")])

    async with connect(weir, list_roots_callback=roots) as (s, _):
        r = await s.call_tool(f"{server}__roots", {})
    assert len(asked) == 1
    assert json.loads(text_of(r)) == [{"uri": "file:///srv/project", "name": "project"}], "the backend got the client's roots"


@pytest.mark.parametrize("server", ["every", "everyhttp", "everysse", "everyauto"])
async def test_elicitation_request_is_answered_by_the_clients_callback(weir: Weir, server: str) -> None:
    asked: list[Any] = []

    async def elicit(ctx: Any, params: Any) -> t.ElicitResult:
        asked.append(params)
        props = params.requested_schema["properties"]
        content: dict[str, Any] = {}
        for name, schema in props.items():
            kind = schema.get("type")
            content[name] = {"boolean": True, "integer": 7, "number": 7}.get(kind, schema.get("enum", ["weir-test"])[0])
        return t.ElicitResult(action="accept", content=content)

    async with connect(weir, elicitation_callback=elicit) as (s, _):
        r = await s.call_tool(f"{server}__trigger-elicitation-request", {})
    assert len(asked) == 1
    assert "weir-test" in text_of(r) or "accept" in text_of(r).lower(), text_of(r)


@pytest.mark.parametrize("server", ["fix", "fixhttp", "fixsse"])
async def test_progress_notifications_arrive_before_the_result(weir: Weir, server: str) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with connect(weir) as (s, _):
        r = await s.call_tool(f"{server}__progress", {"steps": 5}, progress_callback=on_progress)
    assert text_of(r) == "5 steps done"
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("server", ["every", "everyhttp", "everysse", "everyauto"])
async def test_progress_of_a_long_running_operation_arrives_before_the_result(weir: Weir, server: str) -> None:
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with connect(weir) as (s, _):
        r = await s.call_tool(f"{server}__trigger-long-running-operation", {"duration": 0.5, "steps": 4}, progress_callback=on_progress)
    assert "completed" in text_of(r), text_of(r)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize("server", ["every", "everyhttp", "everysse", "everyauto"])
async def test_resource_updates_arrive_after_subscribing(weir: Weir, server: str) -> None:
    async with connect(weir) as (s, got):
        resources = (await s.list_resources()).resources
        uri = next(r.uri for r in resources if str(r.uri).startswith(f"{server}+"))
        await s.subscribe_resource(uri)
        await s.call_tool(f"{server}__toggle-subscriber-updates", {})

        def updated() -> list[Any]:
            return [n for n in got.notifications if getattr(n, "method", None) == "notifications/resources/updated"]

        with anyio.fail_after(15):
            while not updated():
                await anyio.sleep(0.1)
        await s.call_tool(f"{server}__toggle-subscriber-updates", {})
    assert any(str(n.params.uri).startswith(f"{server}+") for n in updated()), "the URI is the one the client knows"


@pytest.mark.parametrize("server", ["fix", "fixhttp", "fixsse"])
async def test_cancellation_reaches_the_backend(weir: Weir, server: str) -> None:
    async with connect(weir) as (s, _):

        async def counts() -> dict[str, int]:
            return json.loads(text_of(await s.call_tool(f"{server}__cancellations", {})))

        before = await counts()
        async with anyio.create_task_group() as tg:
            tg.start_soon(s.call_tool, f"{server}__wait_for_cancel", {})
            # Cancelled once the backend has it (cancelling earlier would test nothing).
            with anyio.fail_after(10):
                while (await counts())["started"] == before["started"]:
                    await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
        with anyio.fail_after(10):
            while True:
                now = json.loads(text_of(await s.call_tool(f"{server}__cancellations", {})))
                if now["cancelled"] > before["cancelled"]:
                    break
                await anyio.sleep(0.1)
    assert now["started"] == before["started"] + 1

    def recorded() -> dict[str, Any] | None:
        events = weir.admin_get("/api/v1/audit/events", kind="mcp", tool=f"{server}__wait_for_cancel", limit=50).json()["events"]
        return next((e for e in events if e["error_type"] == "cancelled"), None)

    event = eventually(recorded, 10, "the cancelled call's audit event")
    assert event["status_code"] == 499
    assert event["outcome"] == "error"


async def test_a_cancelled_request_gets_no_response_on_the_wire(weir: Weir) -> None:
    """Raw Streamable HTTP: after notifications/cancelled, the POST of the cancelled request ends
    without a JSON-RPC response, and the session goes on serving."""
    headers = {"Authorization": f"Bearer {weir.key}", "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=weir.base, headers=headers, timeout=30) as http:
        init = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
        assert init.status_code == 200, init.text
        h = {"Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        await http.post("/mcp", headers=h, json={"jsonrpc": "2.0", "method": "notifications/initialized"})

        async def call() -> httpx.Response:
            r = await http.post("/mcp", headers=h, json={"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "fix__wait_for_cancel", "arguments": {}}})
            await r.aread()
            return r

        async def started() -> int:
            r = await http.post("/mcp", headers=h, json={"jsonrpc": "2.0", "id": 40, "method": "tools/call", "params": {"name": "fix__cancellations", "arguments": {}}})
            answer = r.json() if r.headers["content-type"].startswith("application/json") else next(json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:"))
            return json.loads(answer["result"]["content"][0]["text"])["started"]

        before = await started()
        async with anyio.create_task_group() as tg:
            box: list[httpx.Response] = []

            async def run() -> None:
                box.append(await call())

            tg.start_soon(run)
            # Cancelled once the backend has the call (cancelling earlier would test nothing).
            with anyio.fail_after(10):
                while await started() == before:
                    await anyio.sleep(0.05)
            note = await http.post("/mcp", headers=h, json={"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 41, "reason": "user stopped it"}})
            assert note.status_code == 202
        r = box[0]
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert '"id":41' not in r.text.replace(" ", ""), r.text
        ping = await http.post("/mcp", headers=h, json={"jsonrpc": "2.0", "id": 42, "method": "ping"})
        assert ping.json() == {"jsonrpc": "2.0", "id": 42, "result": {}}


@pytest.mark.parametrize("server", ["fix", "fixhttp"])
async def test_a_backend_that_ends_its_response_stream_early_is_resumed(weir: Weir, server: str) -> None:
    """Over HTTP the fixture closes the POST's event stream after the first progress report
    (SSE polling); Weir resumes it with Last-Event-ID and the client sees one whole answer."""
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with connect(weir) as (s, _):
        r = await s.call_tool(f"{server}__interrupted", {}, progress_callback=on_progress)
    want = "finished after a resumption" if server == "fixhttp" else "finished after no resumption"
    assert text_of(r) == want
    assert seen == [1, 2]


@pytest.mark.parametrize("server", ["fix", "fixhttp"])
async def test_tool_list_changes_are_forwarded(weir: Weir, server: str) -> None:
    new_tool = f"added_{free_port()}"
    async with connect(weir) as (s, got):
        await s.call_tool(f"{server}__add_tool", {"name": new_tool})
        with anyio.fail_after(10):
            while not any(getattr(n, "method", None) == "notifications/tools/list_changed" for n in got.notifications):
                await anyio.sleep(0.05)
        names = {tool.name for tool in (await s.list_tools()).tools}
        assert f"{server}__{new_tool}" in names
        r = await s.call_tool(f"{server}__{new_tool}", {})
    assert text_of(r) == f"I am {new_tool}"


@pytest.mark.parametrize("server", ["fix", "fixhttp"])
async def test_logging_messages_follow_the_level_the_client_set(weir: Weir, server: str) -> None:
    async with connect(weir) as (s, got):
        await s.set_logging_level("warning")
        await s.call_tool(f"{server}__log_each_level", {})
        with anyio.fail_after(10):
            while len([m for m in got.logs if m.logger == "fixture"]) < 5:
                await anyio.sleep(0.05)
        await anyio.sleep(0.3)
    levels = [m.level for m in got.logs if m.logger == "fixture"]
    assert levels == ["warning", "error", "critical", "alert", "emergency"], levels


async def test_ping(weir: Weir) -> None:
    async with connect(weir) as (s, _):
        assert await s.send_ping() is not None


def sent_backend_auth(headers: dict) -> bool:
    """The backend got the configured credential (its digest says so), and its echo reached the
    client redacted."""
    return headers["sha256"].get("x-backend-auth") == hashlib.sha256(BACKEND_AUTH.encode()).hexdigest() and headers.get("x-backend-auth") == "[REDACTED]"


async def test_backend_headers_are_sent_and_the_agents_key_is_not(weir: Weir) -> None:
    async with connect(weir) as (s, _):
        headers = json.loads(text_of(await s.call_tool("fixhttp__headers", {})))
    assert sent_backend_auth(headers), headers
    assert all(weir.key not in str(v) for v in headers.values()), headers


async def test_backend_headers_go_with_a_legacy_sse_backends_stream_and_messages(weir: Weir) -> None:
    async with connect(weir) as (s, _):
        seen = json.loads(text_of(await s.call_tool("fixsse__headers", {})))
    # The stream's GET (every one so far, and at least this session's) and the call's POST.
    assert seen["streams"], "the fixture saw no event stream"
    for headers in [seen["post"], *seen["streams"]]:
        assert sent_backend_auth(headers), headers
        assert all(weir.key not in str(v) for v in headers.values()), headers
    assert seen["streams"][-1].get("accept") == "text/event-stream"


# -------------------------------------------------------------------------------------------
# Records
# -------------------------------------------------------------------------------------------


async def test_every_tool_call_is_an_audit_event(weir: Weir) -> None:
    marker = f"audit-{free_port()}"
    async with connect(weir) as (s, _):
        await s.call_tool("everyhttp__echo", {"message": marker})

    def found() -> dict[str, Any] | None:
        resp = weir.admin_get("/api/v1/audit/events", kind="mcp", limit=200)
        assert resp.status_code == 200, resp.text
        for e in resp.json()["events"]:
            if e.get("tool_name") == "everyhttp__echo" and marker in (e.get("request_body") or ""):
                return e
        return None

    event = eventually(found, 10, "the audit event of the tool call")
    assert event["agent_name"] == AGENT
    assert event["operation"] == "tools/call"
    assert event["mcp_server"] == "everyhttp"
    assert event["outcome"] == "ok"
    assert event["mcp_session_id"], "the Weir session the call came in"
    assert event["session_id"] == event["mcp_session_id"], "without x-weir-session, the agent session is the MCP session"
    assert event["backend_session_id"], "the backend's own session"
    assert marker in (event["response_body"] or "")


def audit_event_of(weir: Weir, tool: str, marker: str) -> dict[str, Any]:
    """The audit event of the call of `tool` whose request's JSON text contains `marker`."""

    def found() -> dict[str, Any] | None:
        events = weir.admin_get("/api/v1/audit/events", kind="mcp", tool=tool, limit=200).json()["events"]
        return next((e for e in events if marker in (e.get("request_body") or "")), None)

    return eventually(found, 10, f"the audit event of the {tool} call")


@pytest.mark.parametrize(("server", "session_id"), [("everysse", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), ("fixsse", r"[0-9a-f]{32}")])
async def test_a_legacy_sse_backends_session_is_the_one_its_endpoint_names(weir: Weir, server: str, session_id: str) -> None:
    """server-everything names its session `sessionId` in the endpoint's query, the Python SDK
    `session_id`; either is the backend session the audit trail records."""
    marker = f"audit-{free_port()}"
    async with connect(weir) as (s, _):
        assert text_of(await s.call_tool(f"{server}__echo", {"message": marker})) == f"Echo: {marker}"
    event = audit_event_of(weir, f"{server}__echo", f'"{marker}"')
    assert event["mcp_server"] == server and event["outcome"] == "ok"
    assert re.fullmatch(session_id, event["backend_session_id"] or ""), event["backend_session_id"]


# -------------------------------------------------------------------------------------------
# Several streams at once
# -------------------------------------------------------------------------------------------


async def test_concurrent_calls_in_one_session_each_get_their_own_progress(weir: Weir) -> None:
    progress: dict[int, list[float]] = {3: [], 4: [], 6: []}
    results: dict[int, str] = {}

    async with connect(weir) as (s, _):

        async def run(steps: int, server: str) -> None:
            async def on_progress(p: float, total: float | None, message: str | None) -> None:
                progress[steps].append(p)

            results[steps] = text_of(await s.call_tool(f"{server}__progress", {"steps": steps}, progress_callback=on_progress))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, 3, "fix")
            tg.start_soon(run, 4, "fixhttp")
            tg.start_soon(run, 6, "fix")
    assert results == {3: "3 steps done", 4: "4 steps done", 6: "6 steps done"}
    assert progress == {3: [1, 2, 3], 4: [1, 2, 3, 4], 6: [1, 2, 3, 4, 5, 6]}


# -------------------------------------------------------------------------------------------
# Protocol errors, on the wire
# -------------------------------------------------------------------------------------------

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
ACCEPT = "application/json, text/event-stream"


def raw_session(weir: Weir, path: str = "/mcp", version: str = "2025-11-25") -> dict[str, str]:
    """Initialises a session with plain HTTP; the headers for its next requests."""
    body = {**INIT, "params": {**INIT["params"], "protocolVersion": version}}
    r = httpx.post(f"{weir.base}{path}", json=body, headers={"Authorization": f"Bearer {weir.key}", "Accept": ACCEPT}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["result"]["protocolVersion"] == version
    sid = r.headers["mcp-session-id"]
    headers = {"Authorization": f"Bearer {weir.key}", "Accept": ACCEPT, "Mcp-Session-Id": sid, "MCP-Protocol-Version": version}
    assert httpx.post(f"{weir.base}{path}", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers).status_code == 202
    return headers


def answer(r: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer in a response, sent as JSON or as the last event of an SSE stream."""
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in r.text.splitlines() if line.startswith("data:")]
        assert data, r.text
        return json.loads(data[-1])
    return r.json()


def test_no_key_is_401_with_the_authorization_challenge(weir: Weir) -> None:
    for headers in [{}, {"Authorization": "Bearer wk_not_a_key_0123456789abcdef"}]:
        r = httpx.post(f"{weir.base}/mcp", json=INIT, headers={**headers, "Accept": ACCEPT})
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer "), r.headers
        assert r.json()["error"]["code"] < 0 and r.json()["jsonrpc"] == "2.0"


async def test_aggregate_lists_page_across_backends(weir: Weir) -> None:
    """The fixture pages its resources (5 to a page); the aggregate's pages carry every backend's
    pages, and paging to the end yields each backend's whole list exactly once."""
    async with connect(weir, path="/mcp/fix") as (s, _):
        alone: list[str] = []
        cursor = None
        while True:
            page = await s.list_resources(params=t.PaginatedRequestParams(cursor=cursor) if cursor else None)
            alone += [str(r.uri) for r in page.resources]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(alone) == 23, alone
    async with connect(weir) as (s, _):
        seen: list[str] = []
        pages = 0
        cursor = None
        while True:
            page = await s.list_resources(params=t.PaginatedRequestParams(cursor=cursor) if cursor else None)
            pages += 1
            seen += [str(r.uri) for r in page.resources]
            cursor = page.next_cursor
            if cursor is None:
                break
            assert pages < 100, "the cursor must come to an end"
    assert pages > 1
    assert pages >= 5, "the fixture's five pages, each with the other backends' pages beside"
    for server in ("fix", "fixhttp"):
        mine = [u.split("+", 1)[1] for u in seen if u.startswith(f"{server}+")]
        assert sorted(mine) == sorted(alone), server
    assert any(u.startswith("every+") for u in seen), "unpaged backends are listed too"
    assert len(seen) == len(set(seen)), "no resource twice"


async def test_delete_ends_the_backend_sessions(weir: Weir, backends: dict[str, HttpBackend]) -> None:
    port = backends["fixhttp"].port

    def live() -> list[str]:
        return httpx.get(f"http://127.0.0.1:{port}/sessions").json()

    headers = raw_session(weir)
    r = httpx.post(f"{weir.base}/mcp", json={"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "fixhttp__headers", "arguments": {}}}, headers=headers, timeout=30)
    backend_session = json.loads(answer(r)["result"]["content"][0]["text"])["mcp-session-id"]
    assert backend_session in live()
    assert httpx.delete(f"{weir.base}/mcp", headers=headers).status_code == 204
    eventually(lambda: backend_session not in live(), 5, "the backend session to end")


def test_unknown_deleted_and_foreign_sessions_are_404(weir: Weir) -> None:
    headers = raw_session(weir)
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert answer(httpx.post(f"{weir.base}/mcp", json=ping, headers=headers))["result"] == {}
    r = httpx.post(f"{weir.base}/mcp", json=ping, headers={**headers, "Mcp-Session-Id": "0" * 32})
    assert r.status_code == 404 and "session" in r.json()["error"]["message"]
    # A session begun on /mcp is not one of /mcp/everyhttp's.
    assert httpx.post(f"{weir.base}/mcp/everyhttp", json=ping, headers=headers).status_code == 404
    # Another agent's key cannot use it.
    other = weir.create_key()
    weir.cli("agents", "create", "intruder")
    intruder = weir.create_key("intruder")
    eventually(lambda: httpx.post(f"{weir.base}/mcp", json=ping, headers={**headers, "Authorization": f"Bearer {other}"}).status_code == 200, 5, "the agent's other key to be loaded and let in")
    eventually(lambda: httpx.post(f"{weir.base}/mcp", json=ping, headers={**headers, "Authorization": f"Bearer {intruder}"}).status_code == 404, 5, "the intruder's key to be loaded and refused the session")
    assert httpx.delete(f"{weir.base}/mcp", headers=headers).status_code in (200, 204)
    assert httpx.post(f"{weir.base}/mcp", json=ping, headers=headers).status_code == 404


def test_bad_requests_get_the_json_rpc_error_the_spec_gives(weir: Weir) -> None:
    headers = raw_session(weir)
    url = f"{weir.base}/mcp"
    r = httpx.post(url, content=b'{"jsonrpc": "2.0", "id": 3, "method": ', headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == -32700
    r = httpx.post(url, json={"id": 3, "method": "ping"}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == -32600
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 4, "method": "ping"}, headers={**headers, "MCP-Protocol-Version": "1999-01-01"})
    assert r.status_code == 400 and "1999-01-01" in r.json()["error"]["message"]
    r = httpx.post(url, json=[{"jsonrpc": "2.0", "id": 5, "method": "ping"}], headers=headers)
    assert r.status_code == 400 and "batch" in r.json()["error"]["message"].lower()
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 6, "method": "no/such/method"}, headers=headers)
    assert answer(r)["error"]["code"] == -32601
    # A server Weir does not know: Weir says so. A tool the server does not have: the server does.
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "nowhere__tool", "arguments": {}}}, headers=headers)
    err = answer(r)["error"]
    assert err["code"] == -32602 and "nowhere__tool" in err["message"], r.text
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "every__no_such_tool", "arguments": {}}}, headers=headers)
    result = answer(r)["result"]
    assert result["isError"] and "no_such_tool" in result["content"][0]["text"], r.text
    big = {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "every__echo", "arguments": {"message": "x" * (5 * 1024 * 1024)}}}
    r = httpx.post(url, json=big, headers=headers, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == -32600
    r = httpx.post(url, json=INIT, headers={**headers, "Origin": "http://evil.example"})
    assert r.status_code == 403 and "origin" in r.json()["error"]["message"].lower()


def test_batches_work_where_the_revision_has_them(weir: Weir) -> None:
    headers = raw_session(weir, version="2025-03-26")
    batch = [{"jsonrpc": "2.0", "id": 10, "method": "ping"}, {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "everyhttp__echo", "arguments": {"message": "in a batch"}}}]
    r = httpx.post(f"{weir.base}/mcp", json=batch, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    answers = {a["id"]: a for a in r.json()}
    assert answers[10]["result"] == {}
    assert answers[11]["result"]["content"][0]["text"] == "Echo: in a batch"


# -------------------------------------------------------------------------------------------
# Backends that fail
# -------------------------------------------------------------------------------------------


async def test_a_restarted_http_backend_does_not_break_the_clients_session(weir: Weir, backends: dict[str, HttpBackend]) -> None:
    fixhttp = backends["fixhttp"]
    async with connect(weir) as (s, _):
        assert text_of(await s.call_tool("fixhttp__read_file", {"path": "/a"})) == "contents of /a"
        fixhttp.stop()
        fixhttp.start()  # same port, every backend session forgotten
        assert text_of(await s.call_tool("fixhttp__read_file", {"path": "/b"})) == "contents of /b"
        assert text_of(await s.call_tool("every__echo", {"message": "still here"})) == "Echo: still here"


@pytest.mark.parametrize("server", ["everysse", "everyauto"])
async def test_a_restarted_legacy_sse_backend_does_not_break_the_clients_session(weir: Weir, backends: dict[str, HttpBackend], server: str) -> None:
    """The backend's event stream drops with the process: the call waiting on it fails at once
    (not at the request timeout), and the next call finds a new stream and backend session."""
    everysse = backends["everysse"]
    marker = free_port()
    async with connect(weir) as (s, _):
        assert text_of(await s.call_tool(f"{server}__echo", {"message": f"before-{marker}"})) == f"Echo: before-{marker}"
        threading.Timer(1.0, everysse.stop).start()
        with anyio.fail_after(15), pytest.raises(MCPError) as lost:
            await s.call_tool(f"{server}__trigger-long-running-operation", {"duration": 25, "steps": 5})
        assert f"`{server}` is unavailable" in lost.value.error.message, lost.value.error.message
        everysse.start()  # same port, every backend session forgotten
        assert text_of(await s.call_tool(f"{server}__echo", {"message": f"after-{marker}"})) == f"Echo: after-{marker}"
        assert text_of(await s.call_tool(f"{server}__echo", {"message": f"again-{marker}"})) == f"Echo: again-{marker}"
        assert text_of(await s.call_tool("every__echo", {"message": "still here"})) == "Echo: still here"
    before = audit_event_of(weir, f"{server}__echo", f'"before-{marker}"')
    # The record of the first call after the drop may name the session that was lost (it is
    # read before the call reopens the stream); the next call's names the new one.
    again = audit_event_of(weir, f"{server}__echo", f'"again-{marker}"')
    assert before["session_id"] == again["session_id"], "one Weir session throughout"
    assert before["backend_session_id"] and again["backend_session_id"]
    assert before["backend_session_id"] != again["backend_session_id"], "a new backend session on the new stream"


async def test_a_killed_stdio_backend_is_restarted_and_the_session_carries_on(weir: Weir) -> None:
    def fixture_pids() -> set[int]:
        out = subprocess.run(["pgrep", "-f", f"{FIXTURE} stdio"], capture_output=True, text=True).stdout
        return {int(p) for p in out.split()}

    async with connect(weir) as (s, _):
        assert text_of(await s.call_tool("fix__read_file", {"path": "/x"})) == "contents of /x"
        before = fixture_pids()
        assert before, "the stdio fixture runs"
        for pid in before:
            os.kill(pid, 9)
        eventually(lambda: fixture_pids() - before or None, 15, "Weir to start the stdio backend again")
        with anyio.fail_after(20):
            while True:
                r = await s.call_tool("fix__read_file", {"path": "/y"})
                if not r.is_error:
                    break
                await anyio.sleep(0.2)
        assert text_of(r) == "contents of /y"


async def test_a_backend_down_leaves_the_others_served_and_its_tools_say_so(backends: dict[str, HttpBackend], tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("weir-mcp-down")
    extra = f'\n[[mcp.servers]]\nname = "gone"\nurl = "http://127.0.0.1:{free_port()}/mcp"\n'
    w = start_mcp_weir(directory, mcp_config(backends, directory / "audit.spool", extra_servers=extra))
    try:
        async with connect(w) as (s, _):
            names = {tool.name for tool in (await s.list_tools()).tools}
            assert "everyhttp__echo" in names and not any(n.startswith("gone__") for n in names)
            with pytest.raises(MCPError) as refused:
                await s.call_tool("gone__anything", {})
            assert "`gone` is unavailable" in refused.value.error.message
            assert text_of(await s.call_tool("everyhttp__echo", {"message": "fine"})) == "Echo: fine"
    finally:
        _stop_weir(w)
        w.admin_http.close()


async def test_idle_sessions_expire(backends: dict[str, HttpBackend], tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("weir-mcp-idle")
    w = start_mcp_weir(directory, mcp_config(backends, directory / "audit.spool").replace("request_timeout_secs = 30", "request_timeout_secs = 30\nsession_idle_secs = 1"))
    try:
        headers = raw_session(w)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert httpx.post(f"{w.base}/mcp", json=ping, headers=headers).status_code == 200
        # Each request keeps a session alive; left alone for longer than the idle time, it ends.
        time.sleep(3.5)
        r = httpx.post(f"{w.base}/mcp", json=ping, headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] < 0
    finally:
        _stop_weir(w)
        w.admin_http.close()


async def test_a_legacy_sse_event_past_the_backend_message_limit_fails_the_call_and_the_stream_is_opened_again(
    backends: dict[str, HttpBackend], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`mcp.max_backend_message_bytes` bounds each event of a legacy SSE backend's stream: the
    call whose answer is too large gets the backend error, the stream that carried it is dropped,
    and a new one serves the next call."""
    directory = tmp_path_factory.mktemp("weir-mcp-sse-limit")
    config = base_sections(directory / "audit.spool") + f"""
[mcp]
request_timeout_secs = 30
max_backend_message_bytes = 4096

[[mcp.servers]]
name = "fixsse"
url = "{backends['fixsse'].url}"
headers = {{ "x-backend-auth" = "{BACKEND_AUTH}" }}
"""
    w = start_mcp_weir(directory, config)
    try:
        async with connect(w) as (s, _):
            with pytest.raises(MCPError) as refused:
                await s.call_tool("fixsse__echo", {"message": "x" * 8000})
            assert refused.value.error.code == -32000
            assert "larger than the 4096-byte limit" in refused.value.error.message
            assert text_of(await s.call_tool("fixsse__echo", {"message": "small"})) == "Echo: small"
        event = audit_event_of(w, "fixsse__echo", "x" * 100)
        assert (event["status_code"], event["error_type"]) == (502, "backend_message_too_large"), event
    finally:
        _stop_weir(w)
        w.admin_http.close()
