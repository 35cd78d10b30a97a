"""Three Weir replicas on one Redis and one Postgres behind a round-robin proxy (a small HTTP
proxy here, one upstream per request): an MCP client, the official `mcp` SDK, does not notice
which replica answers. A session begun on one continues through all three; a backend's
sampling and elicitation requests reach the client whichever replica holds its stream, and the
answers reach the backend from whichever replica receives them; a stream cut mid-way resumes
with `Last-Event-ID` on another replica, nothing lost or repeated; a backend session that
expires is re-initialised once for every replica; a held call is approved at another replica; a
replica killed mid-session leaves the client carrying on through the others.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp.types as t
import pytest

from conftest import ADMIN_TOKEN, AGENT, TestDatabase, Weir, _start_weir, _stop_weir, base_sections, eventually, free_port, replica_of
from test_mcp import EVERYTHING, FIXTURE, HttpBackend, _require_node, connect, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length", "host"}


@dataclass
class Served:
    replica: int
    method: str
    session: str | None
    rpc: str
    last_event_id: str | None


class RoundRobin:
    """An HTTP proxy sending each request to the next live replica; it remembers what went
    where, and can cut the streams it is relaying."""

    def __init__(self, upstreams: list[int]) -> None:
        self.upstreams = upstreams
        self.dead: set[int] = set()
        self.next = 0
        self.lock = threading.Lock()
        self.served: list[Served] = []
        self.streams: list[tuple[str, socket.socket]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.forward(self)

            do_POST = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pick(self) -> int:
        with self.lock:
            for _ in range(len(self.upstreams)):
                i = self.next % len(self.upstreams)
                self.next += 1
                if i not in self.dead:
                    return i
        raise RuntimeError("no live replica")

    def forward(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else None
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP}
        for _ in range(len(self.upstreams)):
            i = self.pick()
            conn = http.client.HTTPConnection("127.0.0.1", self.upstreams[i], timeout=120)
            try:
                conn.request(h.command, h.path, body=body, headers=headers)
                resp = conn.getresponse()
                break
            except ConnectionRefusedError:
                conn.close()
                with self.lock:
                    self.dead.add(i)
        else:
            h.send_error(502)
            return
        rpc = ""
        if body:
            try:
                rpc = json.loads(body).get("method", "") if body.startswith(b"{") else "batch"
            except ValueError:
                rpc = "?"
        session = h.headers.get("mcp-session-id") or resp.getheader("mcp-session-id")
        with self.lock:
            self.served.append(Served(i, h.command, session, rpc, h.headers.get("last-event-id")))
        h.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                h.send_header(k, v)
        h.send_header("connection", "close")
        h.end_headers()
        entry = (h.command, h.connection)
        streaming = (resp.getheader("content-type") or "").startswith("text/event-stream")
        if streaming:
            with self.lock:
                self.streams.append(entry)
        try:
            while chunk := resp.read1(65536):
                h.wfile.write(chunk)
                h.wfile.flush()
        except OSError:
            pass
        finally:
            if streaming:
                with self.lock:
                    if entry in self.streams:
                        self.streams.remove(entry)
            conn.close()
            h.close_connection = True

    def cut(self, method: str) -> int:
        """Cuts every open stream of requests with `method`, as a broken connection would."""
        with self.lock:
            cut = [s for m, s in self.streams if m == method]
        for s in cut:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(cut)

    def mark(self) -> int:
        with self.lock:
            return len(self.served)

    def since(self, mark: int) -> list[Served]:
        with self.lock:
            return list(self.served[mark:])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Front:
    """What `connect` needs: the proxy's address and the agent's key."""

    base: str
    key: str


@dataclass
class Cluster:
    replicas: list[Weir]
    proxy: RoundRobin
    front: Front
    fixture: HttpBackend
    db: TestDatabase
    prefix: str
    backups: list[Any] = field(default_factory=list)

    def backend_sessions(self) -> list[str]:
        return httpx.get(f"http://127.0.0.1:{self.fixture.port}/sessions").json()


def cluster_config(spool: Path, fixture: HttpBackend, prefix: str) -> str:
    return base_sections(spool) + f"""
[limits]
redis_prefix = "{prefix}"

[mcp]
request_timeout_secs = 30
approval_timeout_secs = 30

[[mcp.servers]]
name = "fixhttp"
url = "{fixture.url}"

[[mcp.servers]]
name = "everyhttp"
url = "{{everything}}"

[[mcp.servers]]
name = "every"
command = ["node", "{EVERYTHING}", "stdio"]

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]

[[mcp.rules]]
tools = ["fixhttp__deploy"]
agents = ["{AGENT}"]
require_approval = true

[[mcp.rules]]
tools = ["*"]
agents = ["{AGENT}"]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_node()
    d = tmp_path_factory.mktemp("mcp-replicas")

    fix_port, every_port = free_port(), free_port()
    fixture = HttpBackend("fixhttp", fix_port, ["node", str(FIXTURE), "http", str(fix_port)], dict(os.environ), d / "fixhttp.log")
    everything = HttpBackend("everyhttp", every_port, ["node", str(EVERYTHING), "streamableHttp"], {**os.environ, "PORT": str(every_port)}, d / "everyhttp.log")
    fixture.start()
    everything.start()
    prefix = f"weir-e2e-{secrets.token_hex(4)}:"
    db = TestDatabase.create("postgres", d)
    replicas: list[Weir] = []
    proxy: RoundRobin | None = None
    try:
        key = ""
        for n in range(3):
            rd = d / f"replica{n}"
            text = cluster_config(rd / "audit.spool", fixture, prefix).replace("{everything}", everything.url)
            w = replica_of(rd, text, db, {"WEIR_REDIS_URL": "redis://127.0.0.1:6379", "WEIR_LOG": "info,weir_server::mcp=debug"})
            if n == 0:
                w.cli("agents", "create", AGENT)
                key = w.create_key()
            w.key = key
            _start_weir(w)
            replicas.append(w)
        proxy = RoundRobin([int(w.base.rsplit(":", 1)[1]) for w in replicas])
        yield Cluster(replicas, proxy, Front(f"http://127.0.0.1:{proxy.port}", key), fixture, db, prefix, [everything])
    finally:
        if proxy is not None:
            proxy.close()
        for w in replicas:
            _stop_weir(w)
            w.admin_http.close()
        fixture.stop()
        everything.stop()
        db.drop()


def sessions_seen(served: list[Served]) -> set[str]:
    return {s.session for s in served if s.session}


async def test_a_session_begun_on_one_replica_continues_through_all_three(cluster: Cluster) -> None:
    before = set(cluster.backend_sessions())
    mark = cluster.proxy.mark()
    async with connect(cluster.front) as (s, _):
        names = {tool.name for tool in (await s.list_tools()).tools}
        assert {"fixhttp__echo", "everyhttp__echo", "every__echo", "fix__echo"} <= names
        for i in range(6):
            r = await s.call_tool("fixhttp__echo", {"text": f"hello {i}"})
            assert text_of(r) == f"hello {i}"
        # One backend session, made at initialize and used by every replica as it is.
        assert len(set(cluster.backend_sessions()) - before) == 1
    served = cluster.proxy.since(mark)
    (session,) = sessions_seen(served)
    calls = [x.replica for x in served if x.rpc == "tools/call"]
    assert set(calls) == {0, 1, 2}, f"the calls went to replicas {calls}"
    # The client's DELETE ended it everywhere: a replica that never saw it refuses it now.
    r = httpx.post(
        f"{cluster.replicas[2].base}/mcp",
        headers={"Authorization": f"Bearer {cluster.front.key}", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25", "accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 9, "method": "ping"},
    )
    assert r.status_code == 404, r.text
    eventually(lambda: set(cluster.backend_sessions()) <= before or None, 5, "the backend session to end")


@pytest.mark.parametrize("server", ["everyhttp", "every"])
async def test_sampling_answers_reach_the_backend_from_any_replica(cluster: Cluster, server: str) -> None:
    async def sampling(ctx: Any, params: t.CreateMessageRequestParams) -> t.CreateMessageResult:
        return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text="the client's own answer"), model="client-model")

    mark = cluster.proxy.mark()
    async with connect(cluster.front, sampling_callback=sampling) as (s, _):
        for _ in range(3):
            r = await s.call_tool(f"{server}__trigger-sampling-request", {"prompt": "say something", "maxTokens": 20})
            assert "the client's own answer" in text_of(r), text_of(r)
    served = cluster.proxy.since(mark)
    calls = [x.replica for x in served if x.rpc == "tools/call"]
    answers = [x.replica for x in served if x.method == "POST" and x.rpc == ""]
    assert len(answers) == 3, served
    # Answers reached the backend from another replica than the one whose call waits for them.
    assert any(a != c for a, c in zip(answers, calls)), (calls, answers)


async def test_elicitation_answers_reach_the_backend_from_any_replica(cluster: Cluster) -> None:
    asked: list[Any] = []

    async def elicit(ctx: Any, params: Any) -> t.ElicitResult:
        asked.append(params)
        content: dict[str, Any] = {}
        for name, schema in params.requested_schema["properties"].items():
            content[name] = {"boolean": True, "integer": 7, "number": 7}.get(schema.get("type"), schema.get("enum", ["weir-test"])[0])
        return t.ElicitResult(action="accept", content=content)

    mark = cluster.proxy.mark()
    async with connect(cluster.front, elicitation_callback=elicit) as (s, _):
        for _ in range(3):
            r = await s.call_tool("everyhttp__trigger-elicitation-request", {})
            assert "weir-test" in text_of(r) or "accept" in text_of(r).lower(), text_of(r)
    assert len(asked) == 3, "the client was asked each time"
    served = cluster.proxy.since(mark)
    calls = [x.replica for x in served if x.rpc == "tools/call"]
    answers = [x.replica for x in served if x.method == "POST" and x.rpc == ""]
    assert any(a != c for a, c in zip(answers, calls)), (calls, answers)


async def test_a_stdio_backend_is_each_replicas_own_process(cluster: Cluster) -> None:
    tag = secrets.token_hex(3)
    async with connect(cluster.front) as (s, _):
        for i in range(3):
            r = await s.call_tool("fix__write_file", {"path": f"/tmp/{tag}/{i}", "content": "x"})
            assert text_of(r) == f"wrote /tmp/{tag}/{i}"
    # Asked at each replica directly: its own process served the calls that reached it.
    seen = []
    for w in cluster.replicas:
        async with connect(Front(w.base, cluster.front.key)) as (s, _):
            served = json.loads(text_of(await s.call_tool("fix__served", {})))
            seen.append(sorted(c["args"]["path"] for c in served if tag in c["args"].get("path", "")))
    assert sorted(p for paths in seen for p in paths) == [f"/tmp/{tag}/{i}" for i in range(3)], seen
    assert sum(1 for paths in seen if paths) >= 2, f"the calls were served by more than one replica's process: {seen}"


async def cut_session_stream(front: Front, proxy: RoundRobin) -> list[Served]:
    """Numbered messages on the session's stream, the client's GET cut after three: the SDK
    reopens it with `Last-Event-ID` and gets every message once, in order. Returns what the
    proxy served."""
    tag = f"announce-{secrets.token_hex(3)}"
    mark = proxy.mark()
    async with connect(front) as (s, got):
        # The SDK opens its GET stream after initializing; wait for it through the proxy.
        with anyio.fail_after(5):
            while not any(x.method == "GET" for x in proxy.since(mark)):
                await anyio.sleep(0.05)
        r = await s.call_tool("fixhttp__announce", {"count": 12, "delay_ms": 150, "tag": tag})
        assert text_of(r) == "announcing 12"

        def mine() -> list[str]:
            return [str(m.data) for m in got.logs if str(m.data).startswith(tag)]

        with anyio.fail_after(10):
            while len(mine()) < 3:
                await anyio.sleep(0.05)
        assert proxy.cut("GET") >= 1
        with anyio.fail_after(20):
            while len(mine()) < 12:
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)
        assert mine() == [f"{tag} {i}" for i in range(1, 13)], mine()
    served = proxy.since(mark)
    assert any(x.method == "GET" and x.last_event_id for x in served), "the client resumed with Last-Event-ID"
    return served


async def cut_answer_stream(front: Front, proxy: RoundRobin) -> list[Served]:
    """Numbered messages on a call's answer, its stream cut after three: the SDK resumes it
    with `Last-Event-ID` and gets every message once, then the result. Returns what the proxy
    served."""
    tag = f"chatty-{secrets.token_hex(3)}"
    mark = proxy.mark()
    async with connect(front) as (s, got):

        def mine() -> list[str]:
            return [str(m.data) for m in got.logs if str(m.data).startswith(tag)]

        result: list[t.CallToolResult] = []

        async def call() -> None:
            result.append(await s.call_tool("fixhttp__chatty", {"count": 10, "delay_ms": 200, "tag": tag}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            with anyio.fail_after(10):
                while len(mine()) < 3:
                    await anyio.sleep(0.02)
            assert proxy.cut("POST") >= 1
        assert text_of(result[0]) == "said 10"
        assert mine() == [f"{tag} {i}" for i in range(1, 11)], mine()
    served = proxy.since(mark)
    assert any(x.method == "GET" and x.last_event_id and "/" in x.last_event_id for x in served), "the answer was resumed with the Last-Event-ID of its stream"
    return served


async def test_a_cut_session_stream_resumes_on_another_replica_without_loss_or_repeats(cluster: Cluster) -> None:
    await cut_session_stream(cluster.front, cluster.proxy)


async def test_a_cut_answer_stream_resumes_on_another_replica_without_loss_or_repeats(cluster: Cluster) -> None:
    served = await cut_answer_stream(cluster.front, cluster.proxy)
    call_replica = next(x.replica for x in served if x.rpc == "tools/call")
    resumed = [x for x in served if x.method == "GET" and x.last_event_id and "/" in x.last_event_id]
    assert any(x.replica != call_replica for x in resumed), "resumed at another replica than the one running the call"


async def test_an_expired_backend_session_is_initialised_again_once_for_every_replica(cluster: Cluster) -> None:
    async with connect(cluster.front) as (s, _):
        assert text_of(await s.call_tool("fixhttp__echo", {"text": "before"})) == "before"
        ended = httpx.post(f"http://127.0.0.1:{cluster.fixture.port}/expire").json()
        assert ended, "the backend forgot its sessions"
        for i in range(6):
            assert text_of(await s.call_tool("fixhttp__echo", {"text": f"after {i}"})) == f"after {i}"
        # One new backend session, taken on by the other replicas through Redis.
        assert len(cluster.backend_sessions()) == 1, cluster.backend_sessions()


async def test_a_call_held_at_one_replica_is_approved_at_another(cluster: Cluster) -> None:
    env = f"prod-{secrets.token_hex(3)}"
    mark = cluster.proxy.mark()

    decided_at: list[int] = []

    def approve() -> None:
        def pending() -> str | None:
            rows = cluster.replicas[0].admin_get("/api/v1/approvals", status="pending").json()["approvals"]
            return next((a["id"] for a in rows if a["arguments"].get("env") == env), None)

        approval = eventually(pending, 15, "the held call")
        # Decided through another replica than the one holding the call.
        held = next(x.replica for x in cluster.proxy.since(mark) if x.rpc == "tools/call")
        other = (held + 1) % len(cluster.replicas)
        decided_at.append(other)
        r = httpx.post(f"{cluster.replicas[other].admin}/api/v1/approvals/{approval}/approve", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json={"by": "ops"})
        assert r.status_code == 200, r.text

    approver = threading.Thread(target=approve, daemon=True)
    async with connect(cluster.front) as (s, _):
        approver.start()
        r = await s.call_tool("fixhttp__deploy", {"env": env})
        assert text_of(r) == f"deployed to {env}", text_of(r)
    approver.join(timeout=5)
    held_at = next(x.replica for x in cluster.proxy.since(mark) if x.rpc == "tools/call")
    assert decided_at and decided_at[0] != held_at, "approved at another replica than the one holding the call"


async def test_a_replica_killed_mid_session_leaves_the_client_carrying_on(cluster: Cluster) -> None:
    tag = f"after-kill-{secrets.token_hex(3)}"
    mark = cluster.proxy.mark()
    async with connect(cluster.front) as (s, got):
        for i in range(3):
            assert text_of(await s.call_tool("fixhttp__echo", {"text": f"before {i}"})) == f"before {i}"
        victim = cluster.replicas[1]
        assert victim.process is not None
        victim.process.kill()
        victim.process.wait()
        for i in range(6):
            assert text_of(await s.call_tool("fixhttp__echo", {"text": f"after {i}"})) == f"after {i}"
            assert text_of(await s.call_tool("fix__echo", {"text": f"stdio {i}"})) == f"stdio {i}"
        # Messages on the session's stream still arrive, once the client's stream is open again
        # (if it was at the replica killed, the SDK opens it anew at another).
        with anyio.fail_after(10):
            while not [x for x in cluster.proxy.since(mark) if x.method == "GET" and x.replica != 1]:
                await anyio.sleep(0.05)
        await anyio.sleep(1)
        await s.call_tool("fixhttp__announce", {"count": 3, "delay_ms": 100, "tag": tag})
        try:
            with anyio.fail_after(20):
                while len([m for m in got.logs if str(m.data).startswith(tag)]) < 3:
                    await anyio.sleep(0.05)
        except TimeoutError:
            gets = [(x.replica, x.last_event_id) for x in cluster.proxy.since(mark) if x.method == "GET"]
            logs = "\n".join(f"--- replica {i}\n" + w.log_text()[-3000:] for i, w in enumerate(cluster.replicas))
            raise AssertionError(f"announced messages missing; GETs {gets}; got {[m.data for m in got.logs]}\n{logs}") from None
    assert 1 in cluster.proxy.dead
