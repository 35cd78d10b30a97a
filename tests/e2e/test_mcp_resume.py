"""One Weir without Redis: the SSE streams it serves carry event ids too, kept in its memory, so
a client whose stream is cut (here by a proxy in between) resumes it with `Last-Event-ID` and
loses or repeats nothing — the session's own stream and a call's answer alike. A backend that
ends a call's stream early for its client to come back (SSE polling) is followed: the client's
stream is primed and ended in turn, and the backend's resumed when the client comes back.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import Weir, _stop_weir, base_sections, free_port
from test_mcp import FIXTURE, HttpBackend, _require_node, audit_event_of, raw_session, start_mcp_weir
from test_mcp_replicas import Front, RoundRobin, cut_answer_stream, cut_session_stream

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def weir_with_fixture(d: Path, name: str, env: dict[str, str]) -> Iterator[Weir]:
    """The fixture over HTTP as `name`, the one backend of a Weir of its own."""
    port = free_port()
    fixture = HttpBackend(name, port, ["node", str(FIXTURE), "http", str(port)], env, d / f"{name}.log")
    fixture.start()
    w = None
    try:
        config = base_sections(d / "audit.spool") + f"""
[mcp]
request_timeout_secs = 30

[[mcp.servers]]
name = "{name}"
url = "{fixture.url}"
"""
        w = start_mcp_weir(d, config)
        yield w
    finally:
        if w is not None:
            _stop_weir(w)
            w.admin_http.close()
        fixture.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Front, RoundRobin]]:
    _require_node()
    with weir_with_fixture(tmp_path_factory.mktemp("mcp-resume"), "fixhttp", dict(os.environ)) as w:
        proxy = RoundRobin([int(w.base.rsplit(":", 1)[1])])
        try:
            yield Front(f"http://127.0.0.1:{proxy.port}", w.key), proxy
        finally:
            proxy.close()


async def test_a_cut_session_stream_resumes_from_memory(front: tuple[Front, RoundRobin]) -> None:
    await cut_session_stream(*front)


async def test_a_cut_answer_stream_resumes_from_memory(front: tuple[Front, RoundRobin]) -> None:
    await cut_answer_stream(*front)


def test_a_last_event_id_weir_never_sent_is_refused(front: tuple[Front, RoundRobin]) -> None:
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
    import threading

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


# The delay the polling backend asks its clients to wait before they come back: long, so that
# an answer arriving well before it shows Weir resumed the backend when its client came back.
POLL_RETRY_MS = 6000


@pytest.fixture(scope="module")
def polling_weir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    _require_node()
    env = {**os.environ, "FIXTURE_RETRY_MS": str(POLL_RETRY_MS)}
    with weir_with_fixture(tmp_path_factory.mktemp("mcp-polling"), "fixpoll", env) as w:
        yield w


def sse_events(lines: Iterable[str]) -> list[dict[str, str]]:
    """The events of an SSE body, each as its fields (`data` lines joined), comments left out."""
    events: list[dict[str, str]] = []
    event: dict[str, str] = {}
    for line in lines:
        if line == "":
            if event:
                events.append(event)
            event = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        event[name] = f"{event[name]}\n{value}" if name == "data" and name in event else value
    if event:
        events.append(event)
    return events


def test_a_backend_polling_its_client_is_followed_without_waiting_its_retry(polling_weir: Weir) -> None:
    """The fixture's `interrupted` primes its answer stream (retry 6 s), reports progress 1,
    ends the stream, and answers 150 ms later. The client gets Weir's own priming event (an id of
    Weir's stream, the backend's retry, no data), progress 1, and the end of its stream; its
    `GET` with `Last-Event-ID` gets progress 2 and the result at once, not 6 s later; the whole
    call stays recorded (a replay from the priming event) and audited."""
    w = polling_weir
    h = raw_session(w)
    marker = f"poll-{secrets.token_hex(4)}"
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "fixpoll__interrupted", "arguments": {}, "_meta": {"progressToken": marker}}}
    half_retry = POLL_RETRY_MS / 1000 / 2

    started = time.monotonic()
    with httpx.stream("POST", f"{w.base}/mcp", json=call, headers=h, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        posted = sse_events(r.iter_lines())
    assert time.monotonic() - started < half_retry, "the client's stream ended when the backend's did"
    priming = posted[0]
    assert re.fullmatch(r"\d+/\d+", priming.get("id", "")), posted
    assert priming.get("retry") == str(POLL_RETRY_MS), posted
    assert priming.get("data", "") == "", posted
    sent = [json.loads(e["data"]) for e in posted[1:]]
    assert [m.get("params", {}).get("progress") for m in sent] == [1], posted
    assert all(e["id"].split("/")[0] == priming["id"].split("/")[0] for e in posted), "one stream of Weir's"

    resumed_at = time.monotonic()
    with httpx.stream("GET", f"{w.base}/mcp", headers={**h, "accept": "text/event-stream", "last-event-id": posted[-1]["id"]}, timeout=30) as r:
        assert r.status_code == 200
        resumed = sse_events(r.iter_lines())
    assert time.monotonic() - resumed_at < half_retry, "the backend was resumed when the client came back, not after its retry"
    got = [json.loads(e["data"]) for e in resumed]
    assert [m.get("params", {}).get("progress") for m in got[:-1]] == [2], resumed
    assert got[-1]["id"] == 7 and got[-1]["result"]["content"][0]["text"] == "finished after a resumption", resumed

    # Recorded whole after the client's stream ended: a replay from the priming event has every
    # message once and no empty event.
    with httpx.stream("GET", f"{w.base}/mcp", headers={**h, "accept": "text/event-stream", "last-event-id": priming["id"]}, timeout=30) as r:
        replay = sse_events(r.iter_lines())
    assert all(e.get("data") for e in replay), replay
    assert [e["id"] for e in replay] == [e["id"] for e in posted[1:] + resumed]

    event = audit_event_of(w, "fixpoll__interrupted", marker)
    assert event["outcome"] == "ok", event
    assert "finished after a resumption" in (event["response_body"] or ""), event
    assert event["latency_ms"] >= 150, "the call's record covers its whole time"
    httpx.delete(f"{w.base}/mcp", headers=h)
