"""Spawn the fixture A2A agents from tests (stdlib only; any Python 3.10+).

    from agents import spawn_agent
    proc, base = spawn_agent('v1', prefix='/agents/a')   # free port, waits for READY
    ...
    proc.terminate()

kind 'v1' runs agent_v1.py with .venv (a2a-sdk 1.x), 'v03' runs agent_v03.py
with .venv-a2a03 (a2a-sdk 0.3.x).  Interpreters can be overridden with
A2A_V1_PYTHON / A2A_V03_PYTHON.  Returns (Popen, base_url) where base_url is
http://127.0.0.1:PORT{prefix} (the card is at base_url + '/.well-known/agent-card.json').
"""

from __future__ import annotations

import os
import subprocess
import time

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def python_for(kind: str) -> str:
    if kind == 'v1':
        return os.environ.get('A2A_V1_PYTHON', str(ROOT / '.venv' / 'bin' / 'python'))
    return os.environ.get('A2A_V03_PYTHON', str(ROOT / '.venv-a2a03' / 'bin' / 'python'))


def spawn_agent(
    kind: str,
    port: int = 0,
    prefix: str = '',
    name: str | None = None,
    extra_args: list[str] | tuple[str, ...] = (),
    timeout: float = 30.0,
    stderr=None,  # noqa: ANN001
) -> tuple[subprocess.Popen, str]:
    script = HERE / ('agent_v1.py' if kind == 'v1' else 'agent_v03.py')
    cmd = [python_for(kind), str(script), '--port', str(port)]
    if prefix:
        cmd += ['--prefix', prefix]
    if name:
        cmd += ['--name', name]
    cmd += list(extra_args)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1
    )
    deadline = time.monotonic() + timeout
    actual_port = port
    assert proc.stdout is not None
    while True:
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f'{kind} agent did not print READY')
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f'{kind} agent exited early (rc={proc.wait()})')
        line = line.strip()
        if line.startswith('PORT='):
            actual_port = int(line[5:])
        elif line == 'READY':
            break
    p = prefix.rstrip('/')
    if p and not p.startswith('/'):
        p = '/' + p
    return proc, f'http://127.0.0.1:{actual_port}{p}'
