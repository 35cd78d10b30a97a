"""Tiny pure-ASGI middleware that records raw HTTP traffic as JSON lines.

Shared by agent_v1.py and agent_v03.py (no a2a-sdk import, works in both
venvs). Enabled with ``--wire-log FILE``. Each record is one line:

  {"dir": "req",  "id": N, "t": ..., "method", "path", "query", "headers": [[k, v], ...], "body": "..."}
  {"dir": "resp", "id": N, "t": ..., "status", "headers": [[k, v], ...]}
  {"dir": "chunk","id": N, "t": ..., "data": "..."}      # one per body chunk (SSE frames arrive one per chunk)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

_counter = itertools.count(1)
_lock = threading.Lock()


class WireLogMiddleware:
    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path
        self._fh = open(path, 'a', encoding='utf-8')  # noqa: SIM115

    def _write(self, rec: dict[str, Any]) -> None:
        rec['t'] = round(time.time(), 3)
        with _lock:
            self._fh.write(json.dumps(rec) + '\n')
            self._fh.flush()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        rid = next(_counter)
        body_parts: list[bytes] = []
        logged_req = False

        def _hdrs(raw: list) -> list[list[str]]:
            return [[k.decode('latin-1'), v.decode('latin-1')] for k, v in raw]

        def log_req() -> None:
            nonlocal logged_req
            if logged_req:
                return
            logged_req = True
            self._write(
                {
                    'dir': 'req',
                    'id': rid,
                    'method': scope['method'],
                    'path': scope['path'],
                    'query': scope.get('query_string', b'').decode('latin-1'),
                    'headers': _hdrs(scope.get('headers', [])),
                    'body': b''.join(body_parts).decode('utf-8', 'replace'),
                }
            )

        # Read the whole request body up-front, then replay it.
        more = True
        while more:
            msg = await receive()
            if msg['type'] != 'http.request':
                break
            body_parts.append(msg.get('body', b''))
            more = msg.get('more_body', False)
        log_req()
        replayed = False

        async def replay_receive() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {
                    'type': 'http.request',
                    'body': b''.join(body_parts),
                    'more_body': False,
                }
            return await receive()

        async def logging_send(msg: dict) -> None:
            if msg['type'] == 'http.response.start':
                self._write(
                    {
                        'dir': 'resp',
                        'id': rid,
                        'status': msg['status'],
                        'headers': _hdrs(msg.get('headers', [])),
                    }
                )
            elif msg['type'] == 'http.response.body':
                data = msg.get('body', b'')
                if data:
                    self._write(
                        {
                            'dir': 'chunk',
                            'id': rid,
                            'data': data.decode('utf-8', 'replace'),
                        }
                    )
            await send(msg)

        await self.app(scope, replay_receive, logging_send)
