"""Shared by the client demos: waiting until a subscription is listening."""

from __future__ import annotations

import asyncio


async def until_listening(events: list, stream: asyncio.Task, limit: float = 10.0) -> None:
    """Returns once the subscription feeding `events` has had its first event,
    has ended, or `limit` seconds have passed (the checks that follow say which)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    start = loop.time()
    while not events and not stream.done() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    print(f'    listening after {loop.time() - start:.2f} s' if events else '    no event yet')
