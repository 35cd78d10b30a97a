"""What an MCP client can make Weir hold, and how often it may ask: requests per minute per
agent (`mcp_rpm`, set with the CLI and the admin API, batches counted item by item), sessions
per agent (the longest unused ended), `initialize` params, batch sizes, and the memory of tool
names a backend does not have (so that guessing names does not relist a backend per guess).

Backend: `tests/mcp-node/fixture-server.mjs` (official TypeScript SDK) over stdio as `fix`, and
as `guarded` with `suspicious_tools = "hide"` (whose calls Weir checks against the tools it lists).
The official `mcp` SDK is the client where it can be; raw HTTP where a test needs exact bytes.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from conftest import ADMIN_TOKEN, AGENT, Weir, base_sections, clear_of_the_minutes_end, eventually
from test_mcp import FIXTURE, _require_node, connect
from test_mcp_policy import Client, start, stop

MCP = f"""
[mcp]
request_timeout_secs = 30
max_sessions_per_agent = 3
max_initialize_params_bytes = 4096
max_batch_items = 4
unknown_tool_relist_secs = 30

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]

# Tools of this one are checked before a call: a name not seen listed makes Weir list them.
[[mcp.servers]]
name = "guarded"
command = ["node", "{FIXTURE}", "stdio"]
suspicious_tools = "hide"
"""


@pytest.fixture(scope="module")
def weir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    _require_node()
    directory = tmp_path_factory.mktemp("weir-mcp-limits")
    w = start(directory, "sqlite", base_sections(directory / "audit.spool") + MCP)
    try:
        yield w
    finally:
        stop(w)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def new_agent(weir: Weir, stem: str) -> tuple[str, str]:
    """A new agent and its key, loaded by Weir (a session it opens to check is ended at once)."""
    name = f"{stem}-{secrets.token_hex(3)}"
    weir.cli("agents", "create", name)
    key = weir.create_key(name)
    eventually(lambda: Client(weir, key).status_of_initialize() == 200, 5, f"{name}'s key to be loaded")
    return name, key


def put_limits(weir: Weir, agent: str, body: dict[str, Any]) -> httpx.Response:
    return weir.admin_http.put(f"{weir.admin}/api/v1/agents/{agent}/limits", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


def test_mcp_requests_per_minute_are_limited_per_agent_with_the_cli(weir: Weir) -> None:
    agent, key = new_agent(weir, "busy")
    weir.cli("limits", "set", agent, "--mcp-rpm", "5")
    shown = weir.cli("limits", "show", agent).stdout
    assert "MCP requests per minute: 5" in shown, shown
    c = Client(weir, key).open()  # initialize: one request

    def refused() -> httpx.Response | None:
        r = httpx.post(c.url, json={"jsonrpc": "2.0", "id": 9, "method": "ping"}, headers=c.headers, timeout=10)
        return r if r.status_code == 429 else None

    r = eventually(refused, 10, "the limit to apply")
    body = r.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == 9, body
    assert body["error"]["code"] == -32005 and "MCP requests per minute exceeded" in body["error"]["message"], body
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["x-ratelimit-limit-requests"] == "5" and r.headers["x-ratelimit-remaining-requests"] == "0"
    # Another agent is not held back.
    other = Client(weir, new_agent(weir, "calm")[1]).open()
    assert other.request("ping", {})["result"] == {}


def test_the_admin_api_sets_mcp_rpm_and_a_batch_counts_each_item(weir: Weir) -> None:
    agent, key = new_agent(weir, "batcher")
    r = put_limits(weir, agent, {"mcp_rpm": 4})
    assert r.status_code == 200, r.text
    assert r.json()["mcp_rpm"] == 4, r.json()
    assert put_limits(weir, agent, {"mcp_rpm": 4, "model": "gpt-test"}).status_code == 400

    def opened() -> Client | None:
        try:
            return Client(weir, key, version="2025-03-26").open()
        except AssertionError:
            return None

    clear_of_the_minutes_end()
    c = eventually(opened, 10, "a session under the new limit")  # initialize and initialized: 2 of 4
    batch = [{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(1, 3)]
    r = c.raw(json.dumps(batch).encode())  # 2 more: 4 of 4
    assert r.status_code == 200, r.text
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    r = c.raw(json.dumps(batch[:1]).encode())
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == -32005
    # Notifications count too: a client cannot flood a backend with them. A cancellation
    # still goes through: it stops work.
    r = c.raw(json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}}).encode())
    assert r.status_code == 429, r.text
    r = c.raw(json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}).encode())
    assert r.status_code == 202, r.text


@pytest.mark.anyio
async def test_the_official_client_sees_the_limit_as_an_error(weir: Weir) -> None:
    agent, key = new_agent(weir, "sdk")
    weir.cli("limits", "set", agent, "--mcp-rpm", "3")
    await anyio.sleep(1.5)
    clear_of_the_minutes_end()
    with pytest.raises(Exception) as e:
        async with connect(weir, key=key) as (s, _):
            for _ in range(5):
                await s.send_ping()
    assert "MCP requests per minute exceeded" in repr(e.value), repr(e.value)


def test_batches_are_refused_where_the_revision_has_none_and_capped_where_it_has(weir: Weir) -> None:
    _, key = new_agent(weir, "batches")
    item = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    modern = Client(weir, key).open()
    r = modern.raw(json.dumps([item]).encode())
    assert r.status_code == 400 and "not part of protocol revision 2025-11-25" in r.json()["error"]["message"], r.text
    old = Client(weir, key, version="2025-03-26").open()
    r = old.raw(json.dumps([{**item, "id": i} for i in range(5)]).encode())
    assert r.status_code == 400 and "at most 4" in r.json()["error"]["message"], r.text
    r = old.raw(json.dumps([{**item, "id": i} for i in range(4)]).encode())
    assert r.status_code == 200 and len(r.json()) == 4, r.text


def test_an_agents_sessions_are_capped_and_the_longest_unused_ends(weir: Weir) -> None:
    _, key = new_agent(weir, "sessions")
    first, second, third = (Client(weir, key).open() for _ in range(3))
    # The first is used again: the second is now the longest unused.
    assert first.request("ping", {})["result"] == {}
    fourth = Client(weir, key).open()
    r = httpx.post(second.url, json={"jsonrpc": "2.0", "id": 5, "method": "ping"}, headers=second.headers, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == -32001, r.text
    for c in (first, third, fourth):
        assert c.request("ping", {})["result"] == {}
    # Other agents' sessions do not count.
    Client(weir, new_agent(weir, "elsewhere")[1]).open()
    assert third.request("ping", {})["result"] == {}


def test_initialize_params_are_bounded(weir: Weir) -> None:
    c = Client(weir, weir.key)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {"experimental": {"x": "y" * 5000}}, "clientInfo": {"name": "big", "version": "1"}}}
    r = httpx.post(c.url, json=init, headers=c.headers, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == -32602 and "at most 4096" in r.json()["error"]["message"]
    assert "mcp-session-id" not in r.headers
    init["params"]["capabilities"]["experimental"]["x"] = "y" * 1000
    assert httpx.post(c.url, json=init, headers=c.headers, timeout=10).status_code == 200


def tools_lists(weir: Weir) -> int:
    c = Client(weir, weir.key).open()
    return json.loads(c.call("guarded__cancellations", {})["result"]["content"][0]["text"])["tools_lists"]


def test_calls_to_a_made_up_tool_do_not_relist_the_backend_each_time(weir: Weir) -> None:
    c = Client(weir, weir.key).open()
    c.tools()  # the real ones are known
    before = tools_lists(weir)
    for _ in range(20):
        # A new name each time: what is bounded is the listings, not the names remembered.
        msg = c.call(f"guarded__guess_{secrets.token_hex(3)}", {})
        assert "error" in msg, msg
        assert msg["error"]["code"] == -32602 and "unknown tool" in msg["error"]["message"], msg
    after = tools_lists(weir)
    assert after - before <= 1, f"the backend was asked for its tools {after - before} times for 20 calls"
    # A real tool is unaffected.
    assert "result" in c.call("guarded__echo", {"text": "still here"})
