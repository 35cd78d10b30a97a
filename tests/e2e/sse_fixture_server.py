"""A small MCP server on the legacy HTTP+SSE transport (protocol revision 2024-11-05), written with
the official `mcp` Python SDK, for what server-everything does not let a test observe over that
transport: the headers of the event stream's GET and of each POST, progress reports, and whether
a cancellation reached the server. Its endpoint names the session `session_id` (server-everything's
names it `sessionId`), and it answers a POST to the stream's URL with 405.

    python sse_fixture_server.py PORT      (GET /sse, POST /messages/ on 127.0.0.1:PORT)
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

counters = {"started": 0, "cancelled": 0}
# The headers of every GET that opened an event stream, oldest first.
stream_headers: list[dict[str, str]] = []

server = MCPServer("weir-sse-fixture")


@server.tool()
async def echo(message: str) -> str:
    """Answers with the message."""
    return f"Echo: {message}"


@server.tool()
async def headers(ctx: Context) -> str:
    """The headers of this call's POST, and of every event stream's GET so far."""
    return json.dumps({"post": with_digests(dict(ctx.headers or {})), "streams": [with_digests(h) for h in stream_headers]})


def with_digests(headers: dict[str, str]) -> dict[str, Any]:
    """The headers, and each value's SHA-256: a gateway that keeps secrets from its clients shows
    an echoed credential as redacted, and the digest still tells what arrived."""
    return {**headers, "sha256": {k: hashlib.sha256(v.encode()).hexdigest() for k, v in headers.items()}}


@server.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Reports `steps` progress notifications, then answers."""
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps)
        await anyio.sleep(0.02)
    return f"{steps} steps done"


@server.tool()
async def wait_for_cancel() -> str:
    """Waits until the call is cancelled (or 60 s pass)."""
    counters["started"] += 1
    try:
        await anyio.sleep(60)
    except anyio.get_cancelled_exc_class():
        counters["cancelled"] += 1
        raise
    return "not cancelled"


@server.tool()
async def cancellations() -> str:
    """How many calls started and were cancelled."""
    return json.dumps(counters)


def recording_stream_headers(app: Any) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/sse":
            stream_headers.append({k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
        await app(scope, receive, send)

    return wrapped


if __name__ == "__main__":
    uvicorn.run(recording_stream_headers(server.sse_app()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
