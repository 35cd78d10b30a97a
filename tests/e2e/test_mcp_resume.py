"""One Weir without Redis: the SSE streams it serves carry event ids too, kept in its memory, so
a client whose stream is cut (here by a proxy in between) resumes it with `Last-Event-ID` and
loses or repeats nothing — the session's own stream and a call's answer alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conftest import _stop_weir, base_sections, free_port
from test_mcp import FIXTURE, HttpBackend, _require_node, start_mcp_weir
from test_mcp_replicas import Front, RoundRobin, cut_answer_stream, cut_session_stream

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Front, RoundRobin]]:
    _require_node()
    d = tmp_path_factory.mktemp("mcp-resume")
    port = free_port()
    fixture = HttpBackend("fixhttp", port, ["node", str(FIXTURE), "http", str(port)], dict(os.environ), d / "fixhttp.log")
    fixture.start()
    w = None
    proxy = None
    try:
        config = base_sections(d / "audit.spool") + f"""
[mcp]
request_timeout_secs = 30

[[mcp.servers]]
name = "fixhttp"
url = "{fixture.url}"
"""
        w = start_mcp_weir(d, config)
        proxy = RoundRobin([int(w.base.rsplit(":", 1)[1])])
        yield Front(f"http://127.0.0.1:{proxy.port}", w.key), proxy
    finally:
        if proxy is not None:
            proxy.close()
        if w is not None:
            _stop_weir(w)
            w.admin_http.close()
        fixture.stop()


async def test_a_cut_session_stream_resumes_from_memory(front: tuple[Front, RoundRobin]) -> None:
    await cut_session_stream(*front)


async def test_a_cut_answer_stream_resumes_from_memory(front: tuple[Front, RoundRobin]) -> None:
    await cut_answer_stream(*front)


def test_a_last_event_id_weir_never_sent_is_refused(front: tuple[Front, RoundRobin]) -> None:
    import httpx

    f, _ = front
    headers = {"Authorization": f"Bearer {f.key}", "accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    r = httpx.post(f"{f.base}/mcp", json=init, headers=headers)
    session = r.headers["mcp-session-id"]
    for bad in ["nope", "1-2", "../x/5", "a/b", "9" * 40]:
        r = httpx.get(f"{f.base}/mcp", headers={**headers, "mcp-session-id": session, "last-event-id": bad, "accept": "text/event-stream"})
        assert r.status_code == 400, (bad, r.status_code, r.text)
        assert "Last-Event-ID" in r.json()["error"]["message"]
    httpx.delete(f"{f.base}/mcp", headers={**headers, "mcp-session-id": session})


def test_a_newer_session_stream_takes_over_from_an_older_one(front: tuple[Front, RoundRobin]) -> None:
    import json
    import threading

    import httpx

    f, _ = front
    headers = {"Authorization": f"Bearer {f.key}", "accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    session = httpx.post(f"{f.base}/mcp", json=init, headers=headers).headers["mcp-session-id"]
    h = {**headers, "mcp-session-id": session}
    got: dict[str, list[str]] = {"old": [], "new": []}
    ended = {"old": threading.Event(), "new": threading.Event()}
    opened = {"old": threading.Event(), "new": threading.Event()}

    def listen(which: str) -> None:
        with httpx.stream("GET", f"{f.base}/mcp", headers={**h, "accept": "text/event-stream"}, timeout=30) as r:
            opened[which].set()
            try:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        got[which].append(json.loads(line[6:]).get("params", {}).get("data", ""))
            except httpx.HTTPError:
                pass
        ended[which].set()

    old = threading.Thread(target=listen, args=("old",), daemon=True)
    old.start()
    assert opened["old"].wait(10)
    new = threading.Thread(target=listen, args=("new",), daemon=True)
    new.start()
    assert opened["new"].wait(10)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fixhttp__announce", "arguments": {"count": 3, "delay_ms": 50, "tag": "takeover"}}}
    assert httpx.post(f"{f.base}/mcp", json=call, headers=h, timeout=30).status_code == 200
    assert ended["old"].wait(10), "the older stream ended"
    deadline = threading.Event()
    for _ in range(100):
        if len(got["new"]) >= 3:
            break
        deadline.wait(0.05)
    assert got["new"] == ["takeover 1", "takeover 2", "takeover 3"], got
    assert got["old"] == [], "the older stream sent nothing the newer one did"
    httpx.delete(f"{f.base}/mcp", headers=h)
    assert ended["new"].wait(10)
