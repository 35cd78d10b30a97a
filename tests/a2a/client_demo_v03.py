#!/usr/bin/env python3
"""Exercise an A2A agent with the a2a-sdk 0.3.x client (run with .venv-a2a03).

    .venv-a2a03/bin/python tests/a2a/client_demo_v03.py URL [--binding JSONRPC|HTTP+JSON|both]
        [-H 'Name: value' ...] [--die]

URL is the agent base URL (card at URL/.well-known/agent-card.json) or the
full URL of a card (anything ending in ".json").  Works against agent_v03.py
and against agent_v1.py's v0.3 compat mode (the 0.3 client reads the v0.3
top-level fields url/preferredTransport/additionalInterfaces of the card).

For each binding: send (blocking), stream, tasks/get, a "slow ticking" task
(blocking=false), push config set/get (SDK) + list/delete (raw requests; the
0.3 client has no API for them), resubscribe + cancel, "headers", the
authenticated extended card, and the TaskNotFound error.  Exit status 0 only
if every check passed; last line "demo: N ok, M failed".
"""

from __future__ import annotations

import argparse
import os
import asyncio
import json
import sys
import traceback
import uuid

from urllib.parse import urlsplit

import httpx

from listening import until_listening

from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.middleware import ClientCallContext
from a2a.types import (
    AgentCard,
    Message,
    MessageSendConfiguration,
    Part,
    PushNotificationConfig,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TaskState,
    TaskStatusUpdateEvent,
    TextPart,
    GetTaskPushNotificationConfigParams,
)



# The webhook registered for the push-config checks (a gateway in between may refuse private
# addresses; point it at a public one there).
PUSH_URL = os.environ.get('A2A_PUSH_URL', 'http://127.0.0.1:9/push-sink')

def dump(obj) -> str:  # noqa: ANN001
    if isinstance(obj, tuple):
        return ' | '.join(dump(o) for o in obj if o is not None)
    if hasattr(obj, 'model_dump'):
        return json.dumps(obj.model_dump(mode='json', by_alias=True, exclude_none=True))
    return repr(obj)


class Checker:
    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0

    def check(self, name: str, cond: bool, detail: str = '') -> bool:
        if cond:
            self.ok += 1
            print(f'  [ok]   {name}')
        else:
            self.failed += 1
            print(f'  [FAIL] {name} {detail}')
        return cond


def user_msg(text: str) -> Message:
    return Message(
        role=Role.user,
        message_id=str(uuid.uuid4()),
        parts=[Part(root=TextPart(text=text))],
    )


def split_card_url(url: str) -> tuple[str, str | None]:
    if url.endswith('.json'):
        parts = urlsplit(url)
        path = parts.path
        for suffix in ('/.well-known/agent-card.json', '/.well-known/agent.json'):
            if path.endswith(suffix):
                return f'{parts.scheme}://{parts.netloc}{path[: -len(suffix)]}', suffix
        return f'{parts.scheme}://{parts.netloc}', path
    return url.rstrip('/'), None


def texts_of_task(task: Task) -> list[str]:
    out = []
    for a in task.artifacts or []:
        for p in a.parts:
            if isinstance(p.root, TextPart):
                out.append(p.root.text)
    return out


def interface_url(card: AgentCard, binding: str) -> str | None:
    urls = {}
    urls[card.preferred_transport or 'JSONRPC'] = card.url
    for i in card.additional_interfaces or []:
        urls[i.transport] = i.url
    return urls.get(binding)


async def raw_call(
    http: httpx.AsyncClient, binding: str, url: str, method: str, params: dict, rest: tuple
) -> tuple[int, str]:
    """One raw JSON-RPC call or REST request; returns (status, body)."""
    if binding == 'JSONRPC':
        r = await http.post(
            url, json={'jsonrpc': '2.0', 'id': str(uuid.uuid4()), 'method': method, 'params': params}
        )
    else:
        verb, path = rest
        r = await http.request(verb, url.rstrip('/') + path)
    return r.status_code, r.text


async def run_binding(
    card: AgentCard, binding: str, http: httpx.AsyncClient, ck: Checker, die: bool
) -> None:
    url = interface_url(card, binding)
    if not url:
        ck.check(f'{binding} interface in card', False)
        return
    print(f'\n=== {binding} (0.3 client) url={url}')

    def make(**kw):  # noqa: ANN003, ANN202
        return ClientFactory(
            ClientConfig(httpx_client=http, supported_transports=[binding], **kw)
        ).create(card)

    blocking = make(streaming=False)
    streaming = make(streaming=True)
    polling = make(streaming=False, polling=True)

    print('-- message/send "hello"')
    res = [e async for e in blocking.send_message(user_msg('hello'))]
    for e in res:
        print('   ', dump(e)[:700])
    task = res[-1][0] if isinstance(res[-1], tuple) else None
    ck.check(
        'send -> completed task with "echo: hello"',
        task is not None
        and task.status.state == TaskState.completed
        and texts_of_task(task) == ['echo: hello'],
    )

    print('-- message/stream "stream please"')
    kinds = []
    async for e in streaming.send_message(user_msg('stream please')):
        if isinstance(e, tuple):
            t, upd = e
            kinds.append(type(upd).__name__ if upd is not None else 'Task')
            print('   ', dump(upd if upd is not None else t)[:400])
        else:
            kinds.append('Message')
    ck.check(
        'stream -> Task, status, 3 artifact, status(final)',
        kinds.count('TaskArtifactUpdateEvent') == 3
        and kinds[-1] == 'TaskStatusUpdateEvent',
        str(kinds),
    )

    if task is not None:
        print('-- tasks/get')
        got = await blocking.get_task(TaskQueryParams(id=task.id, history_length=1))
        print('   ', dump(got)[:500])
        ck.check('get task', got.id == task.id)

    print('-- message/send "slow ticking" (blocking=false)')
    res = [e async for e in polling.send_message(user_msg('slow ticking'))]
    slow = res[-1][0]
    print('   ', dump(slow)[:400])
    ck.check('slow task not terminal', slow.status.state in (TaskState.submitted, TaskState.working))

    print('-- push config set/get (+ raw list/delete)')
    cfg = await blocking.set_task_callback(
        TaskPushNotificationConfig(
            task_id=slow.id,
            push_notification_config=PushNotificationConfig(
                id='cfg-1', url=PUSH_URL, token='tok-1'
            ),
        )
    )
    print('    set:', dump(cfg))
    got_cfg = await blocking.get_task_callback(
        GetTaskPushNotificationConfigParams(id=slow.id, push_notification_config_id='cfg-1')
    )
    print('    get:', dump(got_cfg))
    ck.check('push config roundtrip', got_cfg.push_notification_config.url == PUSH_URL)
    st, body = await raw_call(
        http, binding, url, 'tasks/pushNotificationConfig/list', {'id': slow.id},
        ('GET', f'/v1/tasks/{slow.id}/pushNotificationConfigs'),
    )
    print('    raw list:', st, body[:400])

    print('-- tasks/resubscribe + tasks/cancel')
    sub_events = []

    async def sub() -> None:
        async for e in streaming.resubscribe(TaskIdParams(id=slow.id)):
            t, upd = e
            sub_events.append(upd if upd is not None else t)
            print('    sub:', dump(sub_events[-1])[:300])

    st_task = asyncio.create_task(sub())
    # Cancel once the resubscription is listening: its first event (a tick of
    # the "slow ticking" task, or the task itself from a 1.0 agent) says so.
    await until_listening(sub_events, st_task)
    canceled = await blocking.cancel_task(TaskIdParams(id=slow.id))
    print('    cancel:', dump(canceled)[:300])
    try:
        await asyncio.wait_for(st_task, 10)
    except TimeoutError:
        st_task.cancel()
    ck.check('cancel -> canceled', canceled.status.state == TaskState.canceled)
    last = sub_events[-1] if sub_events else None
    ck.check(
        'resubscribe ended with canceled',
        last is not None and getattr(getattr(last, 'status', None), 'state', None) == TaskState.canceled,
        dump(last) if last else 'no events',
    )
    if binding == 'JSONRPC':
        st, body = await raw_call(
            http, binding, url, 'tasks/pushNotificationConfig/delete',
            {'id': slow.id, 'pushNotificationConfigId': 'cfg-1'}, ('', ''),
        )
        print('    raw delete:', st, body[:300])

    print('-- send "headers"')
    ctx = ClientCallContext(
        state={
            'http_kwargs': {
                'headers': {
                    'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
                }
            }
        }
    )
    res = [
        e
        async for e in blocking.send_message(
            user_msg('headers'), context=ctx, extensions=['https://example.com/ext/v1']
        )
    ]
    seen = json.loads(texts_of_task(res[-1][0])[0])
    print('    agent saw:', seen)
    ck.check('x-a2a-extensions reached agent', 'x-a2a-extensions' in seen, str(seen))

    print('-- authenticated extended card')
    try:
        ext = await blocking.get_card()
        print('    skills:', [s.id for s in ext.skills])
        ck.check('extended card', any(s.id == 'extended-only' for s in ext.skills))
    except Exception as e:  # noqa: BLE001
        ck.check('extended card', False, repr(e))

    print('-- tasks/get unknown task')
    try:
        await blocking.get_task(TaskQueryParams(id='no-such-task'))
        ck.check('unknown task -> error', False)
    except Exception as e:  # noqa: BLE001
        print('    error:', type(e).__name__, str(e)[:300])
        ck.check('unknown task -> error', True)

    if die:
        print('-- stream "die"')
        try:
            async for e in streaming.send_message(user_msg('die')):
                print('   ', dump(e)[:300])
            ck.check('die -> stream error', False, 'ended cleanly')
        except Exception as e:  # noqa: BLE001
            print('    error:', type(e).__name__, str(e)[:200])
            ck.check('die -> stream error', True)


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('url')
    ap.add_argument('--binding', default='both', choices=['JSONRPC', 'HTTP+JSON', 'both'])
    ap.add_argument('-H', '--header', action='append', default=[])
    ap.add_argument('--die', action='store_true')
    args = ap.parse_args()
    headers = {}
    for h in args.header:
        k, _, v = h.partition(':')
        headers[k.strip()] = v.strip()
    ck = Checker()
    base, card_path = split_card_url(args.url)
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        card = await A2ACardResolver(http, base).get_agent_card(relative_card_path=card_path)
        print('card:', card.name, card.url, card.preferred_transport,
              [(i.transport, i.url) for i in card.additional_interfaces or []])
        for b in (['JSONRPC', 'HTTP+JSON'] if args.binding == 'both' else [args.binding]):
            try:
                await run_binding(card, b, http, ck, args.die)
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                ck.check(f'{b}: no unexpected exception', False, repr(e))
    print(f'demo: {ck.ok} ok, {ck.failed} failed')
    return 0 if ck.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
