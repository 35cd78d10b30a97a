"""MCP revision 2026-07-28 (stateless) through Weir, on both sides and bridged to 2025-11-25:
official SDK clients of each revision (Python `mcp` 2.x) against backends of each revision — a
2025-11-25 server from npm (`@modelcontextprotocol/server-everything`), the 1.x fixture of
`tests/mcp-node`, and the 2026-07-28 fixture written with the TypeScript SDK's 2.x packages
(`tests/mcp-conformance/fixture-server-2026.mjs`, stateless only). What a backend of one
revision asks of its client reaches a client of the other (sampling, elicitation and roots as
`input_required` round trips one way, as requests the other), a bridged round trip goes on at
another replica, `subscriptions/listen` carries an older backend's resource updates, and the
revision's header and `_meta` checks refuse what they must.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import mcp.types as t
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import ADMIN_TOKEN, AGENT, REPO_ROOT, TestDatabase, Weir, base_sections, eventually, free_port, running_replicas
from test_cache_replicas import CuttableProxy
from test_mcp import EVERYTHING, FIXTURE, HttpBackend, connect, start_mcp_weir, text_of

MODERN_FIXTURE = REPO_ROOT / "tests" / "mcp-conformance" / "fixture-server-2026.mjs"
# A server of both revisions written with the Python SDK (`mcp` 2.x, MCPServer).
PY_SERVER = Path(__file__).parent / "py_mcp_server.py"
REV = "2026-07-28"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def _require_modern_fixture() -> None:
    if not (REPO_ROOT / "tests" / "mcp-conformance" / "node_modules" / "@modelcontextprotocol" / "server").exists():
        pytest.exit("the 2026-07-28 fixture's packages are missing: run `bash tests/mcp-conformance/run.sh --setup`", returncode=2)


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, HttpBackend]]:
    _require_modern_fixture()
    d = tmp_path_factory.mktemp("stateless-backends")
    env = dict(os.environ)
    every, fix, modern, py = free_port(), free_port(), free_port(), free_port()
    out = {
        "py": HttpBackend("py", py, [sys.executable, str(PY_SERVER), str(py)], env, d / "py.log"),
        "every": HttpBackend("every", every, ["node", str(EVERYTHING), "streamableHttp"], {**env, "PORT": str(every)}, d / "every.log"),
        "fix": HttpBackend("fix", fix, ["node", str(FIXTURE), "http", str(fix)], env, d / "fix.log"),
        "modern": HttpBackend("modern", modern, ["node", str(MODERN_FIXTURE), "--port", str(modern), "--modern-only"], env, d / "modern.log"),
    }
    try:
        for b in out.values():
            b.start()
        yield out
    finally:
        for b in out.values():
            b.stop()


def config(backends: dict[str, HttpBackend], spool: Path, extra: str = "") -> str:
    return base_sections(spool) + f"""
[mcp]
request_timeout_secs = 30
{extra}

[[mcp.servers]]
name = "every"
url = "{backends['every'].url}"

[[mcp.servers]]
name = "fix"
url = "{backends['fix'].url}"

[[mcp.servers]]
name = "modern"
url = "{backends['modern'].url}"

[[mcp.servers]]
name = "py"
url = "{backends['py'].url}"

[[mcp.rules]]
tools = ["fix__deploy"]
agents = ["{AGENT}"]
require_approval = true

# Every tool but one, for the agents of these tests.
[[mcp.rules]]
tools = ["every__*", "fix__*", "py__*", "modern__test_s*", "modern__test_el*", "modern__test_t*", "modern__test_i*"]
resources = ["*"]
prompts = ["*"]
agents = ["{AGENT}", "stateless-other"]
"""


@pytest.fixture(scope="module")
def weir(backends: dict[str, HttpBackend], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    directory = tmp_path_factory.mktemp("weir-stateless")
    w = start_mcp_weir(directory, config(backends, directory / "audit.spool"))
    try:
        yield w
    finally:
        from conftest import _stop_weir

        _stop_weir(w)
        w.admin_http.close()


@asynccontextmanager
async def stateless(weir: Weir, path: str = "/mcp", **options: Any) -> AsyncIterator[Client]:
    """The Python SDK's high-level client, negotiating the revision itself (`auto`)."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {weir.key}"}, timeout=60) as http:
        async with Client(streamable_http_client(f"{weir.base}{path}", http_client=http), mode="auto", **options) as client:
            yield client


def meta(caps: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": REV,
        "io.modelcontextprotocol/clientCapabilities": caps or {},
        "io.modelcontextprotocol/clientInfo": {"name": "e2e-raw", "version": "1"},
    }


def post(base: str, key: str, method: str, params: dict[str, Any], *, path: str = "/mcp", headers: dict[str, str] | None = None, rid: Any = 1) -> httpx.Response:
    """One stateless request on the wire, with the headers the revision requires (unless
    `headers` says otherwise)."""
    h = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": REV, "Mcp-Method": method}
    name = params.get("uri") if method == "resources/read" else params.get("name")
    if name is not None:
        h["Mcp-Name"] = name
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    return httpx.post(f"{base}{path}", json={"jsonrpc": "2.0", "id": rid, "method": method, "params": params}, headers=h, timeout=30)


# -------------------------------------------------------------------------------------------
# A stateless client
# -------------------------------------------------------------------------------------------


async def test_a_stateless_client_uses_backends_of_both_revisions_on_the_aggregate(weir: Weir) -> None:
    async with stateless(weir) as c:
        assert c.session.protocol_version == REV, "the SDK found Weir speaks the stateless revision"
        names = {tool.name for tool in (await c.list_tools()).tools}
        assert {"fix__echo", "every__echo", "modern__test_simple_text"} <= names
        assert text_of(await c.call_tool("fix__echo", {"text": "from a 2025 backend"})) == "from a 2025 backend"
        assert "simple text" in text_of(await c.call_tool("modern__test_simple_text", {}))


async def test_discover_and_lists_say_the_revisions_and_how_long_to_keep_them(weir: Weir) -> None:
    r = post(weir.base, weir.key, "server/discover", {"_meta": meta()})
    assert r.status_code == 200, r.text
    d = r.json()["result"]
    assert d["supportedVersions"][0] == REV and "2025-11-25" in d["supportedVersions"]
    assert d["resultType"] == "complete" and "tools" in d["capabilities"]
    assert d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "weir"
    # The aggregate of a backend that gives no hints and one that does: not to be kept, private.
    assert (d["ttlMs"], d["cacheScope"]) == (0, "private")
    lst = post(weir.base, weir.key, "tools/list", {"_meta": meta()}).json()["result"]
    assert (lst["ttlMs"], lst["cacheScope"], lst["resultType"]) == (0, "private", "complete")
    # One stateless backend alone: its own hints (the fixture keeps lists 30 s, privately;
    # discover 30 s, publicly).
    alone = post(weir.base, weir.key, "tools/list", {"_meta": meta()}, path="/mcp/modern").json()["result"]
    assert (alone["ttlMs"], alone["cacheScope"]) == (30000, "private")
    d1 = post(weir.base, weir.key, "server/discover", {"_meta": meta()}, path="/mcp/modern").json()["result"]
    assert (d1["ttlMs"], d1["cacheScope"]) == (30000, "public")
    assert d1["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "weir-conformance-fixture-2026"
    read = post(weir.base, weir.key, "resources/read", {"uri": "test://static-text", "_meta": meta()}, path="/mcp/modern").json()["result"]
    assert (read["ttlMs"], read["cacheScope"]) == (60000, "public")


async def test_the_revisions_checks_refuse_what_they_must(weir: Weir) -> None:
    call = {"name": "fix__echo", "arguments": {"text": "x"}, "_meta": meta()}
    # A header that disagrees with the body, or is missing.
    r = post(weir.base, weir.key, "tools/call", call, headers={"Mcp-Name": "fix__served"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32020), r.text
    r = post(weir.base, weir.key, "tools/call", call, headers={"Mcp-Method": "tools/list"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32020)
    r = post(weir.base, weir.key, "tools/call", call, headers={"Mcp-Name": None})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32020)
    r = post(weir.base, weir.key, "tools/call", {**call, "_meta": {**meta(), "io.modelcontextprotocol/protocolVersion": "2099-01-01"}})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32020), "header and _meta disagree"
    # An encoded header value is read decoded.
    r = post(weir.base, weir.key, "tools/call", call, headers={"Mcp-Name": "=?base64?Zml4X19lY2hv?="})
    assert r.status_code == 200 and text_of(t.CallToolResult.model_validate(r.json()["result"])) == "x"
    # No _meta, or one without what the revision requires.
    r = post(weir.base, weir.key, "tools/list", {})
    assert (r.status_code, r.json()["error"]["code"], r.json()["id"]) == (400, -32602, 1)
    m = meta()
    del m["io.modelcontextprotocol/clientCapabilities"]
    assert post(weir.base, weir.key, "tools/list", {"_meta": m}).status_code == 400
    # A revision Weir does not serve: which it does.
    r = post(weir.base, weir.key, "tools/list", {"_meta": {**meta(), "io.modelcontextprotocol/protocolVersion": "v9"}}, headers={"MCP-Protocol-Version": "v9"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32022)
    assert r.json()["error"]["data"] == {"supported": [REV, "2025-11-25", "2025-06-18", "2025-03-26"], "requested": "v9"}
    # _meta is bounded like initialize params (64 KiB by default).
    big = {**meta(), "io.modelcontextprotocol/clientInfo": {"name": "x" * 70_000, "version": "1"}}
    r = post(weir.base, weir.key, "tools/list", {"_meta": big})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32602) and "mcp.max_initialize_params_bytes" in r.json()["error"]["message"]
    # Methods the revision removed, and no session stream.
    for method in ("initialize", "ping", "logging/setLevel", "resources/subscribe"):
        r = post(weir.base, weir.key, method, {"_meta": meta()})
        assert (r.status_code, r.json()["error"]["code"]) == (404, -32601), method
    g = httpx.get(f"{weir.base}/mcp", headers={"Authorization": f"Bearer {weir.key}", "Accept": "text/event-stream", "MCP-Protocol-Version": REV})
    assert g.status_code == 405 and g.headers["allow"] == "POST"
    # A batch is not one message.
    r = httpx.post(f"{weir.base}/mcp", json=[{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta()}}], headers={"Authorization": f"Bearer {weir.key}", "MCP-Protocol-Version": REV, "Mcp-Method": "tools/list"})
    assert r.status_code == 400
    # An Mcp-Param-* header must carry an argument of the call.
    r = post(weir.base, weir.key, "tools/call", call, headers={"Mcp-Param-Region": "not-an-argument"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32020)
    assert post(weir.base, weir.key, "tools/call", call, headers={"Mcp-Param-Text": "x"}).status_code == 200
    # A subscription watches at most 256 resources.
    r = post(weir.base, weir.key, "subscriptions/listen", {"_meta": meta(), "notifications": {"resourceSubscriptions": [f"every+test://{i}" for i in range(257)]}})
    assert (r.status_code, r.json()["error"]["code"]) == (400, -32602) and "at most 256" in r.json()["error"]["message"]
    # Without a key, nothing is said of the backends.
    r = post(weir.base, "not-a-key", "tools/list", {"_meta": meta()})
    assert r.status_code == 401


async def test_rules_apply_to_a_stateless_client_as_to_any(weir: Weir) -> None:
    async with stateless(weir) as c:
        names = {tool.name for tool in (await c.list_tools()).tools}
        assert "modern__test_error_handling" not in names, "a denied tool is not listed"
        with pytest.raises(MCPError, match="denied by policy"):
            await c.call_tool("modern__test_error_handling", {})
    raw = post(weir.base, weir.key, "tools/call", {"name": "modern__test_error_handling", "arguments": {}, "_meta": meta()})
    assert raw.json()["error"]["code"] == -32003, raw.text


async def test_a_stateless_clients_call_is_held_for_approval_and_audited_like_any(weir: Weir) -> None:
    env = f"stateless-{os.getpid()}-{free_port()}"
    box: list[httpx.Response] = []

    def call() -> None:
        box.append(post(weir.base, weir.key, "tools/call", {"name": "fix__deploy", "arguments": {"env": env}, "_meta": meta()}, rid=77))

    import threading

    th = threading.Thread(target=call)
    th.start()

    def held() -> dict[str, Any] | None:
        r = weir.admin_get("/api/v1/approvals", status="pending")
        return next((a for a in r.json()["approvals"] if a["arguments"].get("env") == env), None)

    a = eventually(held, 15, "the stateless call held for approval")
    assert (a["agent_name"], a["tool"]) == (AGENT, "fix__deploy")
    assert not box, "nothing answered before the decision"
    r = httpx.post(f"{weir.admin}/api/v1/approvals/{a['id']}/approve", json={"by": "alice"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    th.join(30)
    done = box[0].json()
    assert done["id"] == 77 and done["result"]["resultType"] == "complete" and f"deployed to {env}" in json.dumps(done["result"])

    def audited() -> dict[str, Any] | None:
        events = weir.admin_get("/api/v1/audit/events", kind="mcp", tool="fix__deploy", limit=50).json()["events"]
        return next((e for e in events if e.get("approval_id") == a["id"]), None)

    e = eventually(audited, 15, "the audit event of the stateless call")
    assert (e["agent_name"], e["tool_name"], e["status_code"]) == (AGENT, "fix__deploy", 200), e


async def test_a_stateless_backends_input_round_trip_passes_through_to_a_stateless_client(weir: Weir) -> None:
    asked: list[Any] = []

    async def sampling(ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        asked.append(params)
        return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text="straight through"), model="m", stop_reason="endTurn")

    async with stateless(weir, sampling_callback=sampling) as c:
        r = await c.call_tool("modern__test_sampling", {"prompt": "hello"})
    assert "straight through" in text_of(r) and len(asked) == 1


# -------------------------------------------------------------------------------------------
# Bridged: a stateless client, a backend with sessions
# -------------------------------------------------------------------------------------------


async def test_a_2025_backends_sampling_request_becomes_a_round_trip_of_the_stateless_client(weir: Weir) -> None:
    asked: list[t.CreateMessageRequestParams] = []

    async def sampling(ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        asked.append(params)
        return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text="the client's own answer"), model="m", stop_reason="endTurn")

    async with stateless(weir, sampling_callback=sampling) as c:
        r = await c.call_tool("every__trigger-sampling-request", {"prompt": "say something", "maxTokens": 20})
    assert "the client's own answer" in text_of(r), "the backend used the sampled answer"
    assert len(asked) == 1 and "say something" in json.dumps(asked[0].model_dump())


async def test_a_2025_backends_elicitation_and_roots_reach_the_stateless_client(weir: Weir) -> None:
    async def elicit(ctx: Any, params: Any) -> t.ElicitResult:
        return t.ElicitResult(action="accept", content={"color": "red", "number": 7, "pets": ["cats"]})

    async def roots(ctx: Any) -> t.ListRootsResult:
        return t.ListRootsResult(roots=[t.Root(uri="file:///srv/bridged", name="bridged")])

    async with stateless(weir, elicitation_callback=elicit, list_roots_callback=roots) as c:
        e = await c.call_tool("every__trigger-elicitation-request", {})
        r = await c.call_tool("fix__roots", {})
    assert "red" in json.dumps(e.model_dump()), e
    assert "file:///srv/bridged" in text_of(r)


async def test_a_backend_request_the_client_did_not_declare_is_an_error_naming_the_capability(weir: Weir) -> None:
    # No sampling declared: the backend is refused, and the client told what it lacks.
    r = post(weir.base, weir.key, "tools/call", {"name": "fix__roots", "arguments": {}, "_meta": meta({"elicitation": {}})})
    assert r.status_code == 400, r.text
    e = r.json()["error"]
    assert e["code"] == -32021 and e["data"] == {"requiredCapabilities": {"roots": {}}} and "`fix`" in e["message"]
    # The backend went on (it was answered): the next call is served.
    assert text_of(t.CallToolResult.model_validate(post(weir.base, weir.key, "tools/call", {"name": "every__echo", "arguments": {"message": "still here"}, "_meta": meta()}).json()["result"])) != ""


async def test_a_tampered_or_foreign_request_state_is_refused(weir: Weir) -> None:
    caps = {"sampling": {}}
    first = post(weir.base, weir.key, "tools/call", {"name": "every__trigger-sampling-request", "arguments": {"prompt": "p", "maxTokens": 5}, "_meta": meta(caps)}).json()["result"]
    assert first["resultType"] == "input_required"
    (key, asked), = first["inputRequests"].items()
    assert asked["method"] == "sampling/createMessage"
    answer = {"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "m", "stopReason": "endTurn"}
    retry = {"name": "every__trigger-sampling-request", "arguments": {"prompt": "p", "maxTokens": 5}, "inputResponses": {key: answer}, "_meta": meta(caps)}
    bad = post(weir.base, weir.key, "tools/call", {**retry, "requestState": first["requestState"] + "-TAMPERED"}, rid=2)
    assert bad.json()["error"]["code"] == -32602
    # Another agent cannot continue it.
    weir.cli("agents", "create", "stateless-other")
    other = weir.create_key("stateless-other")
    eventually(lambda: post(weir.base, other, "tools/list", {"_meta": meta()}).status_code == 200 or None, 15, "the new key to be taken")
    foreign = post(weir.base, other, "tools/call", {**retry, "requestState": first["requestState"]}, rid=3)
    assert foreign.json()["error"]["code"] == -32602, foreign.text
    # A wrong answer shape is refused; the round trip is still there for the right one.
    wrong = post(weir.base, weir.key, "tools/call", {**retry, "inputResponses": {key: 12345}, "requestState": first["requestState"]}, rid=4)
    assert wrong.json()["error"]["code"] == -32602
    done = post(weir.base, weir.key, "tools/call", {**retry, "requestState": first["requestState"]}, rid=5).json()
    assert done["id"] == 5 and done["result"]["resultType"] == "complete" and "ok" in json.dumps(done["result"])


# -------------------------------------------------------------------------------------------
# Bridged: a client with a session, a stateless backend
# -------------------------------------------------------------------------------------------


async def test_a_stateless_backends_input_requests_reach_a_2025_client_as_requests(weir: Weir) -> None:
    async def sampling(ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text="sampled for a 2025 client"), model="m", stop_reason="endTurn")

    async def elicit(ctx: Any, params: Any) -> t.ElicitResult:
        return t.ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})

    async with connect(weir, "/mcp/modern", sampling_callback=sampling, elicitation_callback=elicit) as (s, _):
        assert s.protocol_version == "2025-11-25"
        r = await s.call_tool("test_sampling", {"prompt": "hi"})
        e = await s.call_tool("test_elicitation", {"message": "who are you?"})
    assert "sampled for a 2025 client" in text_of(r)
    assert "ada" in json.dumps(e.model_dump())


async def test_a_2025_clients_resource_subscription_at_a_stateless_backend(weir: Weir) -> None:
    async with connect(weir, "/mcp/modern") as (s, got):
        await s.subscribe_resource("test://watched-resource")

        def updated() -> list[Any]:
            return [n for n in got.notifications if getattr(n, "method", None) == "notifications/resources/updated"]

        # The subscription is carried by a listen stream Weir opens to the backend; a change
        # made before that stream is up reaches no one, so the change is made again, each second,
        # until one reaches the client.
        with anyio.fail_after(15):
            while not updated():
                await s.call_tool("test_trigger_resource_updated", {"uri": "test://watched-resource"})
                with anyio.move_on_after(1):
                    while not updated():
                        await anyio.sleep(0.05)
    assert str(updated()[0].params.uri) == "test://watched-resource"


# -------------------------------------------------------------------------------------------
# subscriptions/listen against a backend with sessions
# -------------------------------------------------------------------------------------------


async def test_listen_carries_a_2025_backends_resource_updates_and_list_changes(weir: Weir) -> None:
    async with stateless(weir, path="/mcp/every") as c:
        uri = str((await c.list_resources()).resources[0].uri)
        async with c.listen(resource_subscriptions=[uri], tools_list_changed=True) as sub:
            await c.call_tool("toggle-subscriber-updates", {})
            with anyio.fail_after(20):
                event = await sub.__anext__()
            await c.call_tool("toggle-subscriber-updates", {})
    assert getattr(event, "uri", None) == uri, event


def listen_frames(weir: Weir, path: str, notifications: dict[str, Any], trigger: str, args: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Opens `subscriptions/listen` on `path`, calls `trigger` once it is acknowledged, and
    returns the acknowledgement and the first notification after it."""
    frames: list[dict[str, Any]] = []
    h = {"Authorization": f"Bearer {weir.key}", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": REV, "Mcp-Method": "subscriptions/listen"}
    body = {"jsonrpc": "2.0", "id": "sub-1", "method": "subscriptions/listen", "params": {"_meta": meta(), "notifications": notifications}}
    with httpx.stream("POST", f"{weir.base}{path}", json=body, headers=h, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        for line in lines:
            if line.startswith("data:"):
                frames.append(json.loads(line[5:]))
                break
        post(weir.base, weir.key, "tools/call", {"name": trigger, "arguments": args or {}, "_meta": meta()}, path=path)
        for line in lines:
            if line.startswith("data:"):
                frames.append(json.loads(line[5:]))
                break
    return frames


async def test_a_client_has_a_few_listen_streams_at_most(weir: Weir) -> None:
    import contextlib

    h = {"Authorization": f"Bearer {weir.key}", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": REV, "Mcp-Method": "subscriptions/listen"}
    m = {**meta(), "io.modelcontextprotocol/clientInfo": {"name": "many-listens", "version": "1"}}
    body = {"jsonrpc": "2.0", "id": "l", "method": "subscriptions/listen", "params": {"_meta": m, "notifications": {"toolsListChanged": True}}}
    with contextlib.ExitStack() as stack:
        for _ in range(8):
            r = stack.enter_context(httpx.stream("POST", f"{weir.base}/mcp/fix", json=body, headers=h, timeout=30))
            assert r.headers["content-type"].startswith("text/event-stream")
        ninth = httpx.post(f"{weir.base}/mcp/fix", json=body, headers=h, timeout=30)
        assert ninth.status_code == 429 and "at most 8" in ninth.json()["error"]["message"]
    # Closed streams free their places.
    def again() -> bool | None:
        with httpx.stream("POST", f"{weir.base}/mcp/fix", json=body, headers=h, timeout=30) as r:
            return r.headers["content-type"].startswith("text/event-stream") or None

    eventually(again, 10, "a listen stream once the others closed")


async def test_listen_is_acknowledged_first_and_tagged(weir: Weir) -> None:
    frames = listen_frames(weir, "/mcp/fix", {"toolsListChanged": True}, "add_tool", {"name": "added_while_listening"})
    assert frames[0]["method"] == "notifications/subscriptions/acknowledged"
    assert frames[1]["method"] == "notifications/tools/list_changed"
    assert all(f["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "sub-1" for f in frames)


# -------------------------------------------------------------------------------------------
# State across replicas
# -------------------------------------------------------------------------------------------


async def test_a_bridged_round_trip_goes_on_at_another_replica_and_stateless_pairs_need_no_redis(backends: dict[str, HttpBackend], tmp_path: Path) -> None:
    proxy = CuttableProxy(("127.0.0.1", 6379))
    prefix = f"weir-stateless-{os.getpid()}-{free_port()}:"
    db = TestDatabase.create("sqlite", tmp_path)
    env = {"WEIR_REDIS_URL": f"redis://127.0.0.1:{proxy.port}", "WEIR_REDIS_PREFIX": prefix}
    try:
        with running_replicas(tmp_path, db, 2, lambda d: config(backends, d / "audit.spool"), env) as (replicas, _):
            a, b = replicas
            caps = {"sampling": {}}
            args = {"prompt": "across replicas", "maxTokens": 5}
            first = post(a.base, a.key, "tools/call", {"name": "every__trigger-sampling-request", "arguments": args, "_meta": meta(caps)}).json()["result"]
            assert first["resultType"] == "input_required", first
            (key, _), = first["inputRequests"].items()
            answer = {"role": "assistant", "content": {"type": "text", "text": "answered at b"}, "model": "m", "stopReason": "endTurn"}
            retry = {"name": "every__trigger-sampling-request", "arguments": args, "inputResponses": {key: answer}, "requestState": first["requestState"], "_meta": meta(caps)}
            done = post(b.base, b.key, "tools/call", retry, rid=9).json()
            assert done["id"] == 9 and "answered at b" in json.dumps(done["result"]), done
            # Both sides stateless: Redis is not needed for a call, nor for a subscription.
            proxy.cut()
            for w in (a, b):
                r = post(w.base, w.key, "tools/call", {"name": "test_simple_text", "arguments": {}, "_meta": meta()}, path="/mcp/modern")
                assert r.status_code == 200 and r.json()["result"]["resultType"] == "complete", r.text
            assert [f["method"] for f in listen_frames(a, "/mcp/modern", {"toolsListChanged": True}, "test_trigger_tool_change")] == [
                "notifications/subscriptions/acknowledged",
                "notifications/tools/list_changed",
            ]
            proxy.restore()
    finally:
        proxy.close()


# -------------------------------------------------------------------------------------------
# The TypeScript SDK's 2.x client
# -------------------------------------------------------------------------------------------

TS_CLIENT = REPO_ROOT / "tests" / "mcp-conformance" / "client-2026.mjs"


def ts_client(weir: Weir, path: str, mode: str, *calls: tuple[str, dict[str, Any]], listing: bool = False) -> list[dict[str, Any]]:
    """Runs `@modelcontextprotocol/client` 2.4.0 (tests/mcp-conformance/client-2026.mjs) against
    Weir; its JSON lines, the last of which must not be a failure."""
    argv = ["node", str(TS_CLIENT), "--url", f"{weir.base}{path}", "--key", weir.key, "--mode", mode]
    if listing:
        argv.append("--list")
    for tool, args in calls:
        argv += ["--call", tool, "--args", json.dumps(args)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    return lines


def ts_text(line: dict[str, Any]) -> str:
    assert "result" in line, line
    return "".join(c.get("text", "") for c in line["result"]["content"])


async def test_the_typescript_2x_client_on_the_stateless_revision_through_weir(weir: Weir) -> None:
    lines = ts_client(
        weir,
        "/mcp",
        "2026-07-28",
        ("modern__test_sampling", {"prompt": "hi"}),
        ("every__trigger-sampling-request", {"prompt": "bridged", "maxTokens": 10}),
        ("fix__roots", {}),
        listing=True,
    )
    assert lines[0] == {"step": "connected", "protocolVersion": REV, "era": "modern"}
    assert {"modern__test_sampling", "every__trigger-sampling-request", "fix__echo"} <= set(lines[1]["tools"])
    # Its input_required round trip passed through; a 2025 backend's sampling and roots requests
    # became round trips of its own.
    assert "sampled by the ts client" in ts_text(lines[2])
    assert "sampled by the ts client" in ts_text(lines[3])
    assert "file:///srv/ts" in ts_text(lines[4])


async def test_the_typescript_2x_client_negotiates_and_reaches_a_stateless_backend_from_2025(weir: Weir) -> None:
    auto = ts_client(weir, "/mcp/modern", "auto", ("test_simple_text", {}))
    assert auto[0]["era"] == "modern" and "simple text" in ts_text(auto[1])
    legacy = ts_client(weir, "/mcp/modern", "legacy", ("test_elicitation", {"message": "who?"}), ("test_sampling", {"prompt": "x"}))
    assert legacy[0] == {"step": "connected", "protocolVersion": "2025-11-25", "era": "legacy"}
    assert "username" in ts_text(legacy[1]) and "sampled by the ts client" in ts_text(legacy[2])


async def test_weir_keeps_a_stateless_backends_list_as_long_as_it_says_and_for_whom(weir: Weir, backends: dict[str, HttpBackend]) -> None:
    def lists() -> int:
        return httpx.get(f"http://127.0.0.1:{backends['modern'].port}/counters").json()["tools_lists"]

    # The fixture keeps tools/list 30 s, privately: one fetch serves the same client again.
    mine = {"name": "lists-client", "version": "1"}
    m = {**meta({"roots": {}}), "io.modelcontextprotocol/clientInfo": mine}
    before = lists()
    first = post(weir.base, weir.key, "tools/list", {"_meta": m}, path="/mcp/modern").json()["result"]
    again = post(weir.base, weir.key, "tools/list", {"_meta": m}, path="/mcp/modern").json()["result"]
    assert first["tools"] == again["tools"] and lists() == before + 1, "the second list came from Weir"
    # Another client (another session): private means not for it.
    post(weir.base, weir.key, "tools/list", {"_meta": {**m, "io.modelcontextprotocol/clientInfo": {"name": "someone-else", "version": "1"}}}, path="/mcp/modern")
    assert lists() == before + 2
    # Rules still filter a kept page.
    assert "test_error_handling" not in {t["name"] for t in again["tools"]}



# -------------------------------------------------------------------------------------------
# The Python SDK's 2.x server behind Weir
# -------------------------------------------------------------------------------------------


async def test_the_python_2x_server_through_weir_to_clients_of_both_revisions(weir: Weir) -> None:
    async def elicit(ctx: Any, params: Any) -> t.ElicitResult:
        return t.ElicitResult(action="accept", content={"name": "Ada"})

    async def sampling(ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text="forty-two"), model="m", stop_reason="endTurn")

    # A stateless client: the server's own input_required round trips, passed through.
    async with stateless(weir, elicitation_callback=elicit, sampling_callback=sampling) as c:
        assert c.session.protocol_version == REV
        assert text_of(await c.call_tool("py__py_echo", {"text": "through"})) == "through"
        assert text_of(await c.call_tool("py__py_ask_name", {})) == "Hello, Ada!"
    # A client with a session: the same round trips as the requests it knows.
    async with connect(weir, "/mcp/py", elicitation_callback=elicit, sampling_callback=sampling) as (s, _):
        assert s.protocol_version == "2025-11-25"
        assert text_of(await s.call_tool("py_ask_name", {})) == "Hello, Ada!"
        assert text_of(await s.call_tool("py_sample", {"prompt": "the answer?"})) == "sampled: forty-two"
    # And the TypeScript 2.x client.
    lines = ts_client(weir, "/mcp/py", "2026-07-28", ("py_sample", {"prompt": "x"}))
    assert ts_text(lines[1]) == "sampled: sampled by the ts client"
