#!/usr/bin/env python3
"""Fixture A2A agent speaking protocol v0.3 (a2a-sdk 0.3.x).

Run with the .venv-a2a03 interpreter (requirements-v03.txt):

    .venv-a2a03/bin/python tests/a2a/agent_v03.py --port 9102 [--prefix /some/path]
        [--name NAME] [--security] [--rest-path /rest] [--wire-log FILE]

Serves (everything under --prefix, default none):
  GET  {prefix}/.well-known/agent-card.json        public card
  GET  {prefix}/.well-known/agent.json             same card (legacy path)
  GET  {prefix}/agent/authenticatedExtendedCard    extended card (legacy, deprecated)
  POST {prefix}  and  {prefix}/                    JSON-RPC 2.0 (message/send, ...)
  {prefix}{rest-path}/v1/message:send ...          HTTP+JSON routes (incl. GET /v1/card)

Card: url = http://127.0.0.1:PORT{prefix} ("/" when no prefix),
preferredTransport JSONRPC, additionalInterfaces = [JSONRPC, HTTP+JSON].

Executor behaviour by user text (see README.md): default echo, "message...",
"stream...", "slow", "slow ticking", "die", "headers", "contact...".

Prints "READY" (flushed) on stdout once listening.  With --port 0 a free port
is chosen and "PORT=N" is printed before READY.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys

from pathlib import Path

import httpx
import uvicorn

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.apps.rest.rest_adapter import RESTAdapter
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
    TaskUpdater,
)
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    APIKeySecurityScheme,
    HTTPAuthSecurityScheme,
    In,
    Part,
    SecurityScheme,
    TaskState,
    TextPart,
)
from a2a.utils import new_agent_text_message, new_task


sys.path.insert(0, str(Path(__file__).resolve().parent))
from wirelog import WireLogMiddleware  # noqa: E402


INTERESTING_HEADERS = (
    'authorization',
    'a2a-version',
    'a2a-extensions',
    'x-a2a-extensions',
    'traceparent',
    'tracestate',
    'x-api-key',
    'x-request-id',
    'content-type',
    'accept',
    'forwarded',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
)

SLOW_MAX_SECONDS = 600.0
TICK_SECONDS = 0.2


async def wait_ticking(
    ev: asyncio.Event, updater: TaskUpdater | None, limit: float
) -> None:
    """Waits for ev (TimeoutError after limit seconds); with an updater, puts
    a working status on the task's queue every TICK_SECONDS meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError
        step = left if updater is None else min(left, TICK_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ev.wait(), step)
            return
        if updater is not None:
            await updater.update_status(TaskState.working)

# What the "contact" behaviour answers with.
CONTACT_EMAIL = 'ops.desk@example.com'


def text_part(t: str) -> Part:
    return Part(root=TextPart(text=t))


class FixtureExecutor(AgentExecutor):
    """Behaviour is chosen by the text of the user message."""

    def __init__(self) -> None:
        self._cancel_events: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}

    async def execute(
        self, context: RequestContext, event_queue: EventQueue
    ) -> None:
        text = context.get_user_input().strip()
        task = context.current_task
        if task is None and text.startswith('message'):
            # Direct reply: a single Message, no Task is created.
            await event_queue.enqueue_event(
                new_agent_text_message(
                    f'echo: {text}', context_id=context.context_id
                )
            )
            return
        if task is None:
            task = new_task(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)

        def agent_msg(t: str):  # noqa: ANN202
            return updater.new_agent_message([text_part(t)])

        if text.startswith('contact'):
            # An answer holding an e-mail address the caller never sent (for
            # guardrails on answers): working, one artifact, completed.
            await updater.start_work(agent_msg('looking it up'))
            await updater.add_artifact(
                [text_part(f'write to {CONTACT_EMAIL}')],
                artifact_id='contact',
                name='contact',
            )
            await updater.complete(agent_msg(f'ask {CONTACT_EMAIL}'))
            return

        if text.startswith('stream'):
            await updater.start_work(agent_msg('streaming'))
            for i in range(3):
                await asyncio.sleep(0.05)
                await updater.add_artifact(
                    [text_part(f'chunk {i}')],
                    artifact_id='stream-artifact',
                    name='stream',
                    append=i > 0,
                    last_chunk=i == 2,
                )
            await updater.complete(agent_msg('stream done'))
            return

        if text in ('slow', 'slow ticking'):
            # The 0.3 handler gives cancel() a *tap* of the task queue, and
            # events put on a tap are not seen by other taps (e.g. a
            # tasks/resubscribe stream).  So the canceled status is emitted
            # here, on the task's main queue, once cancel() signals us.
            # "slow ticking" also puts a working status (no message) on the
            # queue every TICK_SECONDS: a 0.3 resubscription begins with no
            # snapshot, so a tick is how its caller knows it is listening.
            ev, done = asyncio.Event(), asyncio.Event()
            self._cancel_events[task.id] = (ev, done)
            await updater.start_work(agent_msg('working slowly'))
            try:
                await wait_ticking(
                    ev,
                    updater if text == 'slow ticking' else None,
                    SLOW_MAX_SECONDS,
                )
                await updater.cancel(agent_msg('canceled'))
            except TimeoutError:
                await updater.complete(agent_msg('slow timed out'))
            finally:
                done.set()
                self._cancel_events.pop(task.id, None)
            return

        if text == 'die':
            await updater.start_work(agent_msg('about to die'))
            await asyncio.sleep(0.3)
            sys.stdout.flush()
            os._exit(1)

        if text == 'headers':
            state = context.call_context.state if context.call_context else {}
            hdrs = state.get('headers', {}) or {}
            lower = {k.lower(): v for k, v in hdrs.items()}
            picked = {k: lower[k] for k in INTERESTING_HEADERS if k in lower}
            body = json.dumps(picked, sort_keys=True)
            await updater.add_artifact(
                [text_part(body)], artifact_id='headers', name='headers'
            )
            await updater.complete(agent_msg(body))
            return

        reply = f'echo: {text}'
        await updater.add_artifact(
            [text_part(reply)], artifact_id='echo', name='echo'
        )
        await updater.complete(agent_msg(reply))

    async def cancel(
        self, context: RequestContext, event_queue: EventQueue
    ) -> None:
        task_id = context.task_id or (
            context.current_task.id if context.current_task else None
        )
        if task_id and task_id in self._cancel_events:
            ev, done = self._cancel_events[task_id]
            ev.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 5)
            return
        context_id = context.context_id or (
            context.current_task.context_id if context.current_task else ''
        )
        updater = TaskUpdater(event_queue, task_id or '', context_id or '')
        await updater.cancel(updater.new_agent_message([text_part('canceled')]))


def build_card(
    name: str,
    jsonrpc_url: str,
    rest_url: str,
    security: bool,
    extended: bool = False,
) -> AgentCard:
    skills = [
        AgentSkill(
            id='echo',
            name='Echo',
            description='Echoes the input text back as "echo: <text>".',
            tags=['echo', 'test'],
            examples=['hello'],
        ),
        AgentSkill(
            id='slow',
            name='Slow',
            description='Stays in working state until canceled.',
            tags=['slow', 'test'],
            examples=['slow'],
        ),
    ]
    if extended:
        skills.append(
            AgentSkill(
                id='extended-only',
                name='Extended only',
                description='Only listed on the authenticated extended card.',
                tags=['extended'],
            )
        )
    kwargs = {}
    if security:
        kwargs['security_schemes'] = {
            'bearer': SecurityScheme(
                root=HTTPAuthSecurityScheme(scheme='bearer', bearer_format='JWT')
            ),
            'apiKey': SecurityScheme(
                root=APIKeySecurityScheme(in_=In.header, name='X-API-Key')
            ),
        }
        kwargs['security'] = [{'bearer': []}]
    return AgentCard(
        name=name,
        description=f'Weir A2A v0.3 fixture agent ({name})',
        version='0.3.0',
        url=jsonrpc_url,
        preferred_transport='JSONRPC',
        protocol_version='0.3.0',
        additional_interfaces=[
            AgentInterface(url=jsonrpc_url, transport='JSONRPC'),
            AgentInterface(url=rest_url, transport='HTTP+JSON'),
        ],
        provider=AgentProvider(
            organization='Weir tests', url='http://127.0.0.1/'
        ),
        capabilities=AgentCapabilities(streaming=True, push_notifications=True),
        default_input_modes=['text/plain'],
        default_output_modes=['text/plain'],
        skills=skills,
        supports_authenticated_extended_card=True,
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def build_app(args: argparse.Namespace, port: int) -> Starlette:
    prefix = args.prefix.rstrip('/')
    if prefix and not prefix.startswith('/'):
        prefix = '/' + prefix
    rest_path = args.rest_path.rstrip('/')
    if rest_path and not rest_path.startswith('/'):
        rest_path = '/' + rest_path
    origin = f'http://{args.host}:{port}'
    jsonrpc_url = f'{origin}{prefix}' if prefix else f'{origin}/'
    rest_url = (
        f'{origin}{prefix}{rest_path}' if (prefix or rest_path) else f'{origin}/'
    )

    card = build_card(args.name, jsonrpc_url, rest_url, args.security)
    ext_card = build_card(
        args.name, jsonrpc_url, rest_url, args.security, extended=True
    )

    if args.no_push:
        card.capabilities.push_notifications = False
        ext_card.capabilities.push_notifications = False
    push_store = InMemoryPushNotificationConfigStore()
    push_client = httpx.AsyncClient(timeout=5)
    handler = DefaultRequestHandler(
        agent_executor=FixtureExecutor(),
        task_store=InMemoryTaskStore(),
        push_config_store=None if args.no_push else push_store,
        push_sender=None
        if args.no_push
        else BasePushNotificationSender(push_client, push_store),
    )

    # JSON-RPC app: card (+ legacy agent.json + extended card) and RPC route.
    jsonrpc_app = A2AStarletteApplication(
        agent_card=card, http_handler=handler, extended_agent_card=ext_card
    )
    routes: list = []
    # The legacy /.well-known/agent.json route is only added by the SDK when
    # the card path is the default one, so build the routes un-prefixed and
    # re-home them under the prefix.
    for r in jsonrpc_app.routes(rpc_url='/'):
        path = f'{prefix}{r.path}' if r.path != '/' else (prefix or '/')
        routes.append(Route(path, r.endpoint, methods=list(r.methods or [])))
        if r.path == '/' and prefix:
            routes.append(
                Route(f'{prefix}/', r.endpoint, methods=list(r.methods or []))
            )

    # HTTP+JSON (REST) routes from the SDK's RESTAdapter.
    rest = RESTAdapter(
        agent_card=card, http_handler=handler, extended_agent_card=ext_card
    )
    rest_routes = [
        Route(path, endpoint, methods=[method])
        for (path, method), endpoint in rest.routes().items()
    ]
    mount_at = f'{prefix}{rest_path}'
    if mount_at:
        routes.append(Mount(mount_at, routes=rest_routes))
    else:
        routes += rest_routes

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # noqa: ANN202
        yield
        await push_client.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    if args.wire_log:
        app.add_middleware(WireLogMiddleware, path=args.wire_log)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--prefix', default='')
    p.add_argument('--name', default='fixture-v03')
    p.add_argument(
        '--rest-path',
        default='',
        help='extra path (under prefix) for the HTTP+JSON interface',
    )
    p.add_argument(
        '--security',
        action='store_true',
        help='declare bearer + apiKey securitySchemes (not enforced)',
    )
    p.add_argument(
        '--no-push',
        action='store_true',
        help='no push config store (pushNotifications=false)',
    )
    p.add_argument('--wire-log', default='', help='append raw traffic (JSONL)')
    return p.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    port = args.port or free_port()
    app = build_app(args, port)
    config = uvicorn.Config(
        app, host=args.host, port=port, log_level='warning', lifespan='on'
    )
    server = uvicorn.Server(config)
    serve_task = asyncio.create_task(server.serve())
    while not server.started:
        if serve_task.done():
            await serve_task
            sys.exit(1)
        await asyncio.sleep(0.02)
    if not args.port:
        print(f'PORT={port}', flush=True)
    print('READY', flush=True)
    await serve_task


if __name__ == '__main__':
    asyncio.run(_serve(parse_args()))
