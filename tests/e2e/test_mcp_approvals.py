"""Calls held for a person's approval: `require_approval = true` rules, the admin API that
decides them, and what the client sees — the result when approved, an error with the reason
when denied or expired, nothing called when it went away — with the official `mcp` Python SDK
through the `weir` binary. The backend (`tests/mcp-node/fixture-server.mjs`, official
TypeScript SDK) reports the calls it served, so "nothing was called" is checked where it
happens. On SQLite and Postgres; a decision taken on a second Weir sharing the database reaches
the call held on the first.
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
from mcp.shared.exceptions import MCPError

from conftest import ADMIN_TOKEN, Weir, eventually
from test_mcp import ACCEPT, FIXTURE, _require_node, connect, text_of
from test_mcp_policy import Client, served, start, stop

pytestmark = pytest.mark.anyio

APPROVAL_TIMEOUT = 4


def approvals_config(spool: Path) -> str:
    from conftest import base_sections

    return base_sections(spool) + f"""
[mcp]
request_timeout_secs = 30
approval_timeout_secs = {APPROVAL_TIMEOUT}

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]

[[mcp.rules]]
tools = ["fix__deploy"]
agents = ["e2e"]
require_approval = true

[[mcp.rules]]
tools = ["fix__*"]
agents = ["e2e"]
"""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def weir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    _require_node()
    directory = tmp_path_factory.mktemp(f"weir-approvals-{request.param}")
    w = start(directory, request.param, approvals_config(directory / "audit.spool"))
    try:
        yield w
    finally:
        stop(w)


def admin_post(w: Weir, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{w.admin}{path}", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)


def pending(w: Weir, env: str) -> dict[str, Any]:
    """The pending approval of the deploy call with this `env`, once it exists."""

    def find() -> dict[str, Any] | None:
        r = w.admin_get("/api/v1/approvals", status="pending")
        assert r.status_code == 200, r.text
        return next((a for a in r.json()["approvals"] if a["arguments"].get("env") == env), None)

    return eventually(find, 10, f"a pending approval for env {env}")


async def apending(w: Weir, env: str) -> dict[str, Any]:
    """As `pending`, for async tests: the event loop keeps running the call meanwhile."""
    with anyio.fail_after(10):
        while True:
            r = w.admin_get("/api/v1/approvals", status="pending")
            assert r.status_code == 200, r.text
            found = next((a for a in r.json()["approvals"] if a["arguments"].get("env") == env), None)
            if found:
                return found
            await anyio.sleep(0.05)


def deployed(w: Weir, env: str) -> bool:
    return any(c["tool"] == "deploy" and c["args"].get("env") == env for c in served(w, "fix"))


def decision_event(w: Weir, approval_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        events = w.admin_get("/api/v1/audit/events", kind="approval", limit=200).json()["events"]
        return next((e for e in events if e["approval_id"] == approval_id), None)

    return eventually(find, 10, f"the audit event of approval {approval_id}")


async def test_an_approved_call_reaches_the_backend_and_its_result_the_client(weir: Weir) -> None:
    env = f"approve-{secrets.token_hex(3)}"
    progress: list[str | None] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with connect(weir) as (s, _):
        async with anyio.create_task_group() as tg:
            box: list[Any] = []

            async def call() -> None:
                box.append(await s.call_tool("fix__deploy", {"env": env}, progress_callback=on_progress))

            tg.start_soon(call)
            a = await apending(weir, env)
            assert (a["agent_name"], a["tool"], a["server"], a["rule"], a["status"]) == ("e2e", "fix__deploy", "fix", 1, "pending")
            assert a["session_id"], "the agent session the call came in (its MCP session, without x-weir-session)"
            assert not deployed(weir, env), "nothing reaches the backend before the decision"
            r = admin_post(weir, f"/api/v1/approvals/{a['id']}/approve", {"by": "alice", "reason": "change window"})
            assert r.status_code == 200, r.text
            assert r.json()["approval"]["status"] == "approved"
    assert text_of(box[0]) == f"deployed to {env}"
    assert deployed(weir, env)
    assert progress and "waiting for a person to approve" in (progress[0] or ""), progress
    event = decision_event(weir, a["id"])
    assert (event["operation"], event["decided_by"], event["tool_name"], event["agent_name"]) == ("approved", "alice", "fix__deploy", "e2e")
    assert event["error_message"] == "change window"
    # Deciding twice is a conflict, and changes nothing.
    again = admin_post(weir, f"/api/v1/approvals/{a['id']}/deny")
    assert again.status_code == 409 and "approved" in again.json()["error"]["message"]

    def call_event() -> dict[str, Any] | None:
        events = weir.admin_get("/api/v1/audit/events", tool="fix__deploy", kind="mcp", limit=200).json()["events"]
        return next((e for e in events if e["approval_id"] == a["id"]), None)

    call = eventually(call_event, 10, "the call's own audit event")
    assert (call["policy_decision"], call["outcome"]) == ("approval", "ok")


async def test_a_denied_call_gets_an_error_with_the_reason(weir: Weir) -> None:
    env = f"deny-{secrets.token_hex(3)}"
    async with connect(weir) as (s, _):
        async with anyio.create_task_group() as tg:
            box: list[BaseException] = []

            async def call() -> None:
                try:
                    await s.call_tool("fix__deploy", {"env": env})
                except MCPError as e:
                    box.append(e)

            tg.start_soon(call)
            a = await apending(weir, env)
            assert admin_post(weir, f"/api/v1/approvals/{a['id']}/deny", {"by": "bob", "reason": "not during the freeze"}).status_code == 200
    assert box, "the call must fail"
    err = box[0].error
    assert err.code == -32003
    assert "denied by bob: not during the freeze" in err.message
    assert err.data["reason"] == "approval_denied" and err.data["approval_id"] == a["id"]
    assert not deployed(weir, env)
    assert decision_event(weir, a["id"])["operation"] == "denied"


async def test_an_unanswered_call_expires(weir: Weir) -> None:
    env = f"expire-{secrets.token_hex(3)}"
    started = time.monotonic()
    async with connect(weir) as (s, _):
        with pytest.raises(MCPError) as raised:
            await s.call_tool("fix__deploy", {"env": env})
    took = time.monotonic() - started
    assert APPROVAL_TIMEOUT - 0.5 <= took < APPROVAL_TIMEOUT + 5, took
    assert raised.value.error.data["reason"] == "approval_expired"
    assert "expired" in raised.value.error.message
    rows = weir.admin_get("/api/v1/approvals", status="expired").json()["approvals"]
    a = next(r for r in rows if r["arguments"]["env"] == env)
    assert admin_post(weir, f"/api/v1/approvals/{a['id']}/approve").status_code == 409
    assert decision_event(weir, a["id"])["operation"] == "expired"
    assert not deployed(weir, env)


async def test_a_client_that_cancels_abandons_its_approval(weir: Weir) -> None:
    env = f"cancel-{secrets.token_hex(3)}"
    async with connect(weir) as (s, _):
        with anyio.move_on_after(1.0):
            await s.call_tool("fix__deploy", {"env": env})
        await s.send_ping()

    def abandoned() -> dict[str, Any] | None:
        rows = weir.admin_get("/api/v1/approvals", status="abandoned").json()["approvals"]
        return next((r for r in rows if r["arguments"]["env"] == env), None)

    a = eventually(abandoned, 10, "the approval to be abandoned")
    r = admin_post(weir, f"/api/v1/approvals/{a['id']}/approve")
    assert r.status_code == 409 and "abandoned" in r.json()["error"]["message"]
    time.sleep(0.5)
    assert not deployed(weir, env), "approving an abandoned call calls nothing"


def test_a_client_that_goes_away_abandons_its_approval_and_nothing_is_called(weir: Weir) -> None:
    env = f"gone-{secrets.token_hex(3)}"
    c = Client(weir, weir.key).open()
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "fix__deploy", "arguments": {"env": env}}}
    with httpx.Client(timeout=30) as http:
        with http.stream("POST", c.url, json=body, headers=c.headers) as r:
            # The answer is an event stream at once, held open while a person decides.
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            a = pending(weir, env)
    # The connection is closed here, with the call still pending.

    def abandoned() -> bool:
        got = weir.admin_get(f"/api/v1/approvals/{a['id']}").json()["approval"]
        return got["status"] == "abandoned" and "went away" in (got["reason"] or "")

    eventually(abandoned, 10, "the approval to be abandoned")
    assert admin_post(weir, f"/api/v1/approvals/{a['id']}/approve").status_code == 409
    time.sleep(0.5)
    assert not deployed(weir, env)


def test_the_approvals_api_refuses_what_it_cannot_do(weir: Weir) -> None:
    assert admin_post(weir, "/api/v1/approvals/no-such-id/approve").status_code == 404
    assert weir.admin_get("/api/v1/approvals/no-such-id").status_code == 404
    r = weir.admin_get("/api/v1/approvals", status="maybe")
    assert r.status_code == 400 and "status" in r.json()["error"]["message"]
    r = httpx.post(f"{weir.admin}/api/v1/approvals/x/approve", content=b"{nope", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 400
    assert httpx.get(f"{weir.admin}/api/v1/approvals").status_code == 401
    # History pages newest first with a cursor.
    first = weir.admin_get("/api/v1/approvals", limit=1).json()
    assert len(first["approvals"]) == 1 and first["next_cursor"]
    second = weir.admin_get("/api/v1/approvals", limit=1, cursor=first["next_cursor"]).json()
    assert second["approvals"][0]["id"] != first["approvals"][0]["id"]


async def test_a_decision_on_another_replica_reaches_the_held_call(weir: Weir, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Replicas share Postgres; on SQLite, two processes share the database file."""
    directory = tmp_path_factory.mktemp("weir-approvals-replica")
    replica = start_replica(directory, weir)
    try:
        env = f"replica-{secrets.token_hex(3)}"
        async with connect(weir) as (s, _):
            async with anyio.create_task_group() as tg:
                box: list[Any] = []

                async def call() -> None:
                    box.append(await s.call_tool("fix__deploy", {"env": env}))

                tg.start_soon(call)
                a = await apending(replica, env)
                assert admin_post(replica, f"/api/v1/approvals/{a['id']}/approve", {"by": "carol"}).status_code == 200
        assert text_of(box[0]) == f"deployed to {env}"
    finally:
        replica_stop(replica)


def start_replica(directory: Path, first: Weir) -> Weir:
    """A second `weir serve` on the first one's database and config."""
    from conftest import _start_weir, free_port

    listen, admin_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = {**first.env, "WEIR_LISTEN": listen, "WEIR_ADMIN_LISTEN": admin_listen}
    config = directory / "weir.toml"
    config.write_text(first.config.read_text().replace(str(first.config.parent / "audit.spool"), str(directory / "audit.spool")))
    w = Weir(backend=first.backend, base=f"http://{listen}", admin=f"http://{admin_listen}", key=first.key, config=config, log=directory / "weir.log", db=first.db, env=env)
    _start_weir(w)
    return w


def replica_stop(w: Weir) -> None:
    from conftest import _stop_weir

    try:
        assert _stop_weir(w) == 0, f"the replica did not stop cleanly; log:\n{w.log_text()}"
    finally:
        _stop_weir(w)
        w.admin_http.close()


def test_the_held_answer_is_kept_alive_as_an_event_stream(weir: Weir) -> None:
    """While a call waits, its answer is an open event stream (no response yet); after the
    decision the response arrives on it."""
    env = f"stream-{secrets.token_hex(3)}"
    c = Client(weir, weir.key).open()
    body = {"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "fix__deploy", "arguments": {"env": env}}}
    with httpx.Client(timeout=30) as http:
        with http.stream("POST", c.url, json=body, headers={**c.headers, "Accept": ACCEPT}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            a = pending(weir, env)
            assert admin_post(weir, f"/api/v1/approvals/{a['id']}/approve").status_code == 200
            text = r.read().decode()
    data = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    assert data[-1]["id"] == 6 and data[-1]["result"]["content"][0]["text"] == f"deployed to {env}"


async def test_an_approved_call_is_checked_again_before_it_runs(weir: Weir) -> None:
    """A call approved after its agent's key was revoked does not run."""
    env = f"revoked-{secrets.token_hex(3)}"
    key = weir.create_key()
    eventually(lambda: Client(weir, key).status_of_initialize() == 200, 5, "the new key to be loaded")
    async with connect(weir, key=key) as (s, _):
        async with anyio.create_task_group() as tg:
            box: list[Any] = []

            async def call() -> None:
                try:
                    await s.call_tool("fix__deploy", {"env": env})
                except MCPError as e:
                    box.append(e.error)

            tg.start_soon(call)
            a = await apending(weir, env)
            weir.cli("keys", "revoke", weir.key_id(key))
            await anyio.sleep(1.0)  # the key index reloads within its refresh interval
            assert admin_post(weir, f"/api/v1/approvals/{a['id']}/approve").status_code == 200
    assert box and "revoked" in box[0].message, box
    assert not deployed(weir, env)
