#!/usr/bin/env python3
"""Fixture A2A agent speaking protocol v1.0 (a2a-sdk 1.3.x), with v0.3 compat.

Run with the .venv interpreter (tests/requirements.txt):

    .venv/bin/python tests/a2a/agent_v1.py --port 9101 [--prefix /some/path]
        [--name NAME] [--no-compat] [--security] [--rest-path /rest]
        [--skills echo] [--signed] [--grpc-url HOST:PORT] [--wire-log FILE]

Serves (everything under --prefix, default none):
  GET  {prefix}/.well-known/agent-card.json   public card (also agent.json when compat on)
  POST {prefix}  and  {prefix}/               JSON-RPC (v1.0 methods; v0.3 methods too when compat on)
  {prefix}{rest-path}/message:send ...        HTTP+JSON v1.0 routes (+ {tenant}/ variants)
  {prefix}{rest-path}/v1/message:send ...     HTTP+JSON v0.3 routes (compat on)

Card interface URLs: http://127.0.0.1:PORT{prefix} (JSON-RPC; "/" when no prefix)
and http://127.0.0.1:PORT{prefix}{rest-path} (HTTP+JSON). With compat on, the
card lists 4 interfaces: JSONRPC 1.0, HTTP+JSON 1.0, JSONRPC 0.3, HTTP+JSON 0.3,
and the SDK merges the v0.3 top-level fields (url, preferredTransport,
protocolVersion, additionalInterfaces, supportsAuthenticatedExtendedCard) into
the served JSON so 0.3 clients can read it.

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

from a2a.helpers import (
    new_task_from_user_message,
    new_text_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import (
    create_agent_card_routes,
    create_jsonrpc_routes,
    create_rest_routes,
)
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
    TaskUpdater,
)
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentCardSignature,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    APIKeySecurityScheme,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)


sys.path.insert(0, str(Path(__file__).resolve().parent))
from wirelog import WireLogMiddleware  # noqa: E402


# Headers echoed back by the "headers" behaviour (lower-case names).
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

# What the "contact" behaviour answers with.
CONTACT_EMAIL = 'ops.desk@example.com'


class FixtureExecutor(AgentExecutor):
    """Behaviour is chosen by the text of the user message."""

    def __init__(self) -> None:
        self._cancel_events: dict[str, asyncio.Event] = {}

    async def execute(
        self, context: RequestContext, event_queue: EventQueue
    ) -> None:
        text = context.get_user_input().strip()
        task = context.current_task
        if task is None and text.startswith('message'):
            # Direct reply: a single Message, no Task is created.
            await event_queue.enqueue_event(
                new_text_message(
                    f'echo: {text}',
                    context_id=context.context_id,
                    task_id=None,
                )
            )
            return
        if task is None:
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)

        def agent_msg(t: str):  # noqa: ANN202
            return updater.new_agent_message([new_text_part(t)])

        if text.startswith('contact'):
            # An answer holding an e-mail address the caller never sent (for
            # guardrails on answers): working, one artifact, completed.
            await updater.start_work(agent_msg('looking it up'))
            await updater.add_artifact(
                [new_text_part(f'write to {CONTACT_EMAIL}')],
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
                    [new_text_part(f'chunk {i}')],
                    artifact_id='stream-artifact',
                    name='stream',
                    append=i > 0,
                    last_chunk=i == 2,
                )
            await updater.complete(agent_msg('stream done'))
            return

        if text in ('slow', 'slow ticking'):
            # A 1.0 subscription begins with the task itself, so "slow
            # ticking" needs no ticks here (see agent_v03.py).
            ev = self._cancel_events.setdefault(task.id, asyncio.Event())
            await updater.start_work(agent_msg('working slowly'))
            try:
                await asyncio.wait_for(ev.wait(), SLOW_MAX_SECONDS)
            except TimeoutError:
                await updater.complete(agent_msg('slow timed out'))
            finally:
                self._cancel_events.pop(task.id, None)
            return

        if text == 'die':
            await updater.start_work(agent_msg('about to die'))
            # Give the SSE frame time to reach the wire, then vanish.
            await asyncio.sleep(0.3)
            sys.stdout.flush()
            os._exit(1)

        if text == 'headers':
            hdrs = context.call_context.state.get('headers', {}) or {}
            lower = {k.lower(): v for k, v in hdrs.items()}
            picked = {k: lower[k] for k in INTERESTING_HEADERS if k in lower}
            body = json.dumps(picked, sort_keys=True)
            await updater.add_artifact(
                [new_text_part(body)], artifact_id='headers', name='headers'
            )
            await updater.complete(agent_msg(body))
            return

        reply = f'echo: {text}'
        await updater.add_artifact(
            [new_text_part(reply)], artifact_id='echo', name='echo'
        )
        await updater.complete(agent_msg(reply))

    async def cancel(
        self, context: RequestContext, event_queue: EventQueue
    ) -> None:
        task_id = context.task_id or (
            context.current_task.id if context.current_task else None
        )
        if task_id and task_id in self._cancel_events:
            self._cancel_events[task_id].set()
        context_id = context.context_id or (
            context.current_task.context_id if context.current_task else ''
        )
        updater = TaskUpdater(event_queue, task_id or '', context_id or '')
        await updater.cancel(
            updater.new_agent_message([new_text_part('canceled')])
        )


def build_card(
    name: str,
    jsonrpc_url: str,
    rest_url: str,
    compat: bool,
    security: bool,
    extended: bool = False,
    only_skills: list[str] | None = None,
    signed: bool = False,
    grpc_url: str = '',
) -> AgentCard:
    interfaces = [
        AgentInterface(
            url=jsonrpc_url, protocol_binding='JSONRPC', protocol_version='1.0'
        ),
        AgentInterface(
            url=rest_url, protocol_binding='HTTP+JSON', protocol_version='1.0'
        ),
    ]
    if compat:
        interfaces += [
            AgentInterface(
                url=jsonrpc_url,
                protocol_binding='JSONRPC',
                protocol_version='0.3',
            ),
            AgentInterface(
                url=rest_url,
                protocol_binding='HTTP+JSON',
                protocol_version='0.3',
            ),
        ]
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
    if only_skills:
        skills = [s for s in skills if s.id in only_skills]
    if grpc_url:
        interfaces.append(
            AgentInterface(
                url=grpc_url, protocol_binding='GRPC', protocol_version='1.0'
            )
        )
    if extended:
        skills.append(
            AgentSkill(
                id='extended-only',
                name='Extended only',
                description='Only listed on the authenticated extended card.',
                tags=['extended'],
            )
        )
    card = AgentCard(
        name=name,
        description=f'Weir A2A v1.0 fixture agent ({name})',
        version='1.0.0',
        supported_interfaces=interfaces,
        provider=AgentProvider(
            organization='Weir tests', url='http://127.0.0.1/'
        ),
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=True, extended_agent_card=True
        ),
        default_input_modes=['text/plain'],
        default_output_modes=['text/plain'],
        skills=skills,
    )
    if security:
        card.security_schemes['bearer'].CopyFrom(
            SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme='bearer', bearer_format='JWT'
                )
            )
        )
        card.security_schemes['apiKey'].CopyFrom(
            SecurityScheme(
                api_key_security_scheme=APIKeySecurityScheme(
                    location='header', name='X-API-Key'
                )
            )
        )
        req = SecurityRequirement()
        req.schemes['bearer'].CopyFrom(StringList(list=[]))
        card.security_requirements.append(req)
    if signed:
        # Not a real JWS: enough for a gateway to show it drops signatures.
        card.signatures.append(
            AgentCardSignature(
                protected='eyJhbGciOiJFUzI1NiJ9', signature='c2lnbmVk'
            )
        )
    return card


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
    compat = not args.no_compat
    origin = f'http://{args.host}:{port}'
    jsonrpc_url = f'{origin}{prefix}' if prefix else f'{origin}/'
    rest_url = f'{origin}{prefix}{rest_path}' if (prefix or rest_path) else f'{origin}/'

    extras = {
        'only_skills': [x for x in args.skills.split(',') if x] or None,
        'signed': args.signed,
        'grpc_url': args.grpc_url,
    }
    card = build_card(
        args.name, jsonrpc_url, rest_url, compat, args.security, **extras
    )
    ext_card = build_card(
        args.name,
        jsonrpc_url,
        rest_url,
        compat,
        args.security,
        extended=True,
        **extras,
    )
    if args.no_push:
        card.capabilities.push_notifications = False
        ext_card.capabilities.push_notifications = False
    if args.no_extended_card:
        card.capabilities.extended_agent_card = False
        ext_card = None

    push_store = InMemoryPushNotificationConfigStore()
    push_client = httpx.AsyncClient(timeout=5)
    handler = DefaultRequestHandler(
        agent_executor=FixtureExecutor(),
        task_store=InMemoryTaskStore(),
        agent_card=card,
        push_config_store=None if args.no_push else push_store,
        push_sender=None
        if args.no_push
        else BasePushNotificationSender(push_client, push_store),
        extended_agent_card=ext_card,
    )

    routes: list = []
    routes += create_agent_card_routes(
        card, card_url=f'{prefix}/.well-known/agent-card.json'
    )
    if compat:
        routes += create_agent_card_routes(
            card, card_url=f'{prefix}/.well-known/agent.json'
        )
    rpc_routes = create_jsonrpc_routes(
        handler, rpc_url=prefix or '/', enable_v0_3_compat=compat
    )
    routes += rpc_routes
    if prefix:
        routes.append(
            Route(f'{prefix}/', rpc_routes[0].endpoint, methods=['POST'])
        )
    rest_routes = create_rest_routes(handler, enable_v0_3_compat=compat)
    mount_at = f'{prefix}{rest_path}'
    if mount_at:
        routes.append(Mount(mount_at, routes=rest_routes))
    else:
        routes += rest_routes

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # noqa: ANN202
        yield
        await handler.aclose()
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
    p.add_argument('--name', default='fixture-v1')
    p.add_argument(
        '--rest-path',
        default='',
        help='extra path (under prefix) for the HTTP+JSON interface',
    )
    p.add_argument(
        '--no-compat', action='store_true', help='disable v0.3 compat mode'
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
    p.add_argument(
        '--no-extended-card',
        action='store_true',
        help='no authenticated extended card (extendedAgentCard=false)',
    )
    p.add_argument(
        '--skills',
        default='',
        help='comma-separated skill ids to list on the card (default: all)',
    )
    p.add_argument(
        '--signed',
        action='store_true',
        help='add a (fake) signature to the card',
    )
    p.add_argument(
        '--grpc-url',
        default='',
        help='also list a GRPC interface at this URL (not served)',
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
