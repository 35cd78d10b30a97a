"""End-to-end tests: the official `openai` and `anthropic` Python SDKs against the real `weir`
binary, which forwards to the fake provider (`weir-fake-provider`).

How to run, from the repository root:

    cargo build -p weir-server -p weir-fake-provider
    python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt
    .venv/bin/python -m pytest tests/e2e -q

Every test runs twice, once per audit/identity database backend:

- ``sqlite``: a fresh ``weir.db`` in a temporary directory;
- ``postgres``: a fresh database ``weir_e2e_<random>`` created with ``psql`` on the server at
  ``$WEIR_TEST_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432``, trust auth) and
  dropped afterwards.

Environment:

- ``WEIR_BIN_DIR``: where ``weir`` and ``weir-fake-provider`` are (default ``<repo>/target/debug``).
- ``WEIR_TEST_POSTGRES_URL``: the Postgres server to create test databases on.

Layout: one fake provider process for the whole session; one ``weir serve`` process per backend
(session-scoped, so the suite stays fast), each with its own config file, database, agent ``e2e``
and key created with the ``weir`` CLI before the server starts. When a test fails, the tail of
that Weir's log is attached to the failure report.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import anthropic
import httpx
import openai
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("WEIR_BIN_DIR") or REPO_ROOT / "target" / "debug")
WEIR_BIN = BIN_DIR / "weir"
FAKE_BIN = BIN_DIR / "weir-fake-provider"
POSTGRES_URL = (os.environ.get("WEIR_TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432").rstrip("/")

# The fake provider accepts only this key; Weir reads it from FAKE_PROVIDER_KEY.
PROVIDER_KEY = "sk-e2e-fake-provider-key-0123456789"
ADMIN_TOKEN = "e2e-admin-token-" + secrets.token_hex(8)
AGENT = "e2e"

# What the fake provider answers to every call.
REPLY = "Hello from the fake provider."
REPLY_TOKENS = 5  # the fake counts one token per word of the reply

# Prices per million tokens of the `gpt-test` model in the config below.
GPT_TEST_PRICE = (1.0, 2.0)

T = TypeVar("T")


def _require_binaries() -> None:
    missing = [str(p) for p in (WEIR_BIN, FAKE_BIN) if not os.access(p, os.X_OK)]
    if missing:
        pytest.exit(
            f"missing binaries {missing}: run `cargo build -p weir-server -p weir-fake-provider` "
            "or set WEIR_BIN_DIR",
            returncode=2,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment without anything that would reconfigure Weir behind our back."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIR_", "OTEL_"))}
    env.update(extra)
    return env


def eventually(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Calls `check` until it returns something other than None (or False), or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def clear_of_the_minutes_end(margin: float = 5.0) -> None:
    """Waits into the next minute when the clock's minute has under `margin` seconds left: rate
    limits count per clock minute, so a test that fills one must not straddle two."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


# -------------------------------------------------------------------------------------------
# The fake provider
# -------------------------------------------------------------------------------------------


@dataclass
class FakeProvider:
    addr: str
    process: subprocess.Popen[str]

    @property
    def openai_base(self) -> str:
        return f"http://{self.addr}/v1"

    @property
    def anthropic_base(self) -> str:
        return f"http://{self.addr}"

    def requests(self) -> list[dict[str, Any]]:
        """Every request the fake has received (path, query, headers, body), oldest first."""
        return httpx.get(f"http://{self.addr}/_fake/requests", timeout=10).json()


@pytest.fixture(scope="session")
def fake_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeProvider]:
    _require_binaries()
    log = tmp_path_factory.mktemp("fake-provider") / "fake.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [str(FAKE_BIN), "--listen", "127.0.0.1:0", "--api-key", PROVIDER_KEY],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(timeout=20)
    line = first_line[0].strip() if first_line else ""
    m = re.fullmatch(r"listening on http://(\S+)", line)
    if not m:
        proc.kill()
        proc.wait()
        pytest.fail(f"the fake provider did not start (first line {line!r}); log:\n{log.read_text()}")
    try:
        yield FakeProvider(addr=m.group(1), process=proc)
    finally:
        # The fake provider stops on Ctrl-C.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


# -------------------------------------------------------------------------------------------
# Databases
# -------------------------------------------------------------------------------------------


def _psql(sql: str) -> None:
    if shutil.which("psql") is None:
        pytest.fail("the postgres backend needs the `psql` command")
    res = subprocess.run(
        ["psql", f"{POSTGRES_URL}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if res.returncode != 0:
        raise RuntimeError(f"psql `{sql}` failed (exit {res.returncode}): {res.stderr.strip()}")


@dataclass
class TestDatabase:
    __test__ = False  # not a test class

    url: str
    pg_name: str | None = None

    @classmethod
    def create(cls, backend: str, directory: Path) -> "TestDatabase":
        if backend == "sqlite":
            return cls(url=f"sqlite://{directory / 'weir.db'}")
        name = f"weir_e2e_{secrets.token_hex(6)}"
        try:
            _psql(f"CREATE DATABASE {name}")
        except RuntimeError as e:
            pytest.fail(f"cannot create a Postgres test database on {POSTGRES_URL}: {e}")
        return cls(url=f"{POSTGRES_URL}/{name}", pg_name=name)

    def drop(self) -> None:
        if self.pg_name:
            _psql(f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)")


# -------------------------------------------------------------------------------------------
# Weir
# -------------------------------------------------------------------------------------------


def base_sections(spool: Path) -> str:
    """The config every test Weir shares: quick drains, key refreshes and audit flushes."""
    return f"""
[server]
drain_timeout_secs = 5

[identity]
refresh_interval_ms = 200

[audit]
flush_interval_ms = 50
spool_path = "{spool}"
"""


def told_providers(fake: FakeProvider) -> str:
    """The fake provider as both kinds, each passing on `x-fake-behavior`, so a test can tell the
    fake what to do per request (`say=…`, `status=…`)."""
    return f"""
[[providers]]
name = "fake-openai"
kind = "openai"
base_url = "{fake.openai_base}"
api_key_env = "FAKE_PROVIDER_KEY"
forward_headers = ["x-fake-behavior"]

[[providers]]
name = "fake-anthropic"
kind = "anthropic"
base_url = "{fake.anthropic_base}"
api_key_env = "FAKE_PROVIDER_KEY"
forward_headers = ["anthropic-version", "x-fake-behavior"]
"""


def config_toml(fake: FakeProvider, spool: Path) -> str:
    input_price, output_price = GPT_TEST_PRICE
    return base_sections(spool) + f"""

[[providers]]
name = "fake-openai"
kind = "openai"
base_url = "{fake.openai_base}"
api_key_env = "FAKE_PROVIDER_KEY"

[[providers]]
name = "fake-anthropic"
kind = "anthropic"
base_url = "{fake.anthropic_base}"
api_key_env = "FAKE_PROVIDER_KEY"

[[models]]
name = "gpt-test"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = {input_price}, output_per_mtok = {output_price} }}

[[models]]
name = "claude-test"
targets = [{{ provider = "fake-anthropic", model = "claude-x" }}]
price = {{ input_per_mtok = 3.0, output_per_mtok = 15.0 }}

[[models]]
name = "embed-test"
targets = [{{ provider = "fake-openai", model = "text-embedding-x" }}]
price = {{ input_per_mtok = 0.02, output_per_mtok = 0.0 }}

# Translated when the client speaks the other protocol; failover may cross provider kinds.
[[models]]
name = "gpt-then-claude"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini@status=503" }}, {{ provider = "fake-anthropic", model = "claude-x" }}]

[[models]]
name = "claude-parallel"
targets = [{{ provider = "fake-anthropic", model = "claude-x@parallel_tools" }}]

[[models]]
name = "gpt-parallel"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini@parallel_tools" }}]

# Providers that answer 401 quoting the credential they were sent, as some real ones do.
[[models]]
name = "gpt-echo"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini@echo_auth" }}]

[[models]]
name = "claude-echo"
targets = [{{ provider = "fake-anthropic", model = "claude-x@echo_auth" }}]

# Streams broken off by an error event that quotes the credential sent.
[[models]]
name = "gpt-echo-stream"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini@error_event" }}]

[[models]]
name = "claude-echo-stream"
targets = [{{ provider = "fake-anthropic", model = "claude-x@error_event" }}]
"""


@dataclass
class Weir:
    """A running `weir serve` with an agent and a key."""

    backend: str
    base: str
    admin: str
    key: str = field(repr=False)
    config: Path
    log: Path
    db: TestDatabase = field(repr=False)
    env: dict[str, str] = field(repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    admin_http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10), repr=False)

    def __str__(self) -> str:
        return self.base

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs `weir --config CFG ARGS…` against this Weir's database."""
        res = subprocess.run(
            [str(WEIR_BIN), "--config", str(self.config), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and res.returncode != 0:
            raise AssertionError(f"`weir {' '.join(args)}` exited {res.returncode}:\n{res.stderr}")
        return res

    def create_key(self, agent: str = AGENT) -> str:
        out = self.cli("keys", "create", agent).stdout.strip().splitlines()
        assert len(out) == 1 and out[0].startswith("wk_"), f"`weir keys create` printed {out!r}"
        return out[0]

    def key_id(self, secret: str, agent: str = AGENT) -> str:
        """The id of a key, found by its prefix in `weir keys list AGENT`."""
        lines = self.cli("keys", "list", agent).stdout.splitlines()
        assert lines and lines[0].split()[:3] == ["ID", "AGENT", "PREFIX"], lines
        for row in lines[1:]:
            cols = row.split()
            if len(cols) >= 3 and cols[1] == agent and secret.startswith(cols[2]):
                return cols[0]
        raise AssertionError(f"no row for the key in `weir keys list {agent}`:\n" + "\n".join(lines))

    def admin_get(self, path: str, **params: Any) -> httpx.Response:
        return self.admin_http.get(f"{self.admin}{path}", params=params, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def admin_put(self, path: str, json: Any) -> httpx.Response:
        r = self.admin_http.put(f"{self.admin}{path}", json=json, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.is_success, f"admin API answered {r.status_code}: {r.text}"
        return r

    def audit_events(self, request_id: str) -> list[dict[str, Any]]:
        resp = self.admin_get("/api/v1/audit/events", request_id=request_id)
        assert resp.status_code == 200, f"admin API answered {resp.status_code}: {resp.text}"
        return resp.json()["events"]

    def audit_event(self, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The audit event of one request, waiting for the asynchronous writer."""
        assert request_id, "no request id"
        events = eventually(lambda: self.audit_events(request_id) or None, timeout, f"the audit event of request {request_id}")
        assert len(events) == 1, f"{len(events)} audit events for request {request_id}: {events}"
        event = events[0]
        assert event["request_id"] == request_id
        return event

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def _start_weir(w: Weir) -> None:
    with open(w.log, "wb") as log:
        w.process = subprocess.Popen(
            [str(WEIR_BIN), "serve", "--config", str(w.config)],
            env=w.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )

    def ready() -> bool:
        if w.process is not None and w.process.poll() is not None:
            raise AssertionError(f"weir exited with status {w.process.returncode} while starting; log:\n{w.log_text()}")
        try:
            return httpx.get(f"{w.admin}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(ready, 30, "weir's /readyz to answer 200", interval=0.1)
    except AssertionError:
        _stop_weir(w)
        raise


def _stop_weir(w: Weir) -> int | None:
    if w.process is None:
        return None
    if w.process.poll() is None:
        w.process.send_signal(signal.SIGTERM)
        try:
            w.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            w.process.kill()
            w.process.wait()
            raise AssertionError(f"weir did not exit within 20 s of SIGTERM; log:\n{w.log_text()}")
    return w.process.returncode


def replica_of(directory: Path, config_text: str, db: TestDatabase, extra_env: dict[str, str]) -> Weir:
    """A Weir (not started, without a key) on `db`, its config written from `config_text` into
    `directory`: one of several replicas sharing a database."""
    directory.mkdir(exist_ok=True)
    config = directory / "weir.toml"
    config.write_text(config_text)
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = clean_env({"WEIR_DATABASE_URL": db.url, "WEIR_LISTEN": listen, "WEIR_ADMIN_LISTEN": admin, "WEIR_ADMIN_TOKEN": ADMIN_TOKEN, "WEIR_LOG": "info", **extra_env})
    return Weir(backend="postgres" if db.pg_name else "sqlite", base=f"http://{listen}", admin=f"http://{admin}", key="", config=config, log=directory / "weir.log", db=db, env=env)


@contextlib.contextmanager
def running_replicas(
    directory: Path, db: TestDatabase, count: int, config_text: Callable[[Path], str], extra_env: dict[str, str], agents: tuple[str, ...] = (AGENT,)
) -> Iterator[tuple[list[Weir], dict[str, str]]]:
    """`count` replicas of `weir serve` sharing `db`, each configured by `config_text` (given its
    own directory) into `directory/replica{n}`, with `agents` created and a key for each (the
    first's is every replica's `key`); stopped, and checked to have stopped cleanly, on exit."""
    replicas: list[Weir] = []
    keys: dict[str, str] = {}
    try:
        for n in range(count):
            rd = directory / f"replica{n}"
            rd.mkdir(exist_ok=True)
            w = replica_of(rd, config_text(rd), db, extra_env)
            if n == 0:
                for a in agents:
                    w.cli("agents", "create", a)
                    keys[a] = w.create_key(a)
            w.key = keys[agents[0]]
            _start_weir(w)
            replicas.append(w)
        yield replicas, keys
        for w in replicas:
            assert _stop_weir(w) == 0, f"weir did not stop cleanly; log:\n{w.log_text()}"
    finally:
        for w in replicas:
            _stop_weir(w)
            w.admin_http.close()


@contextlib.contextmanager
def running_weir(
    backend: str, directory: Path, config_text: Callable[[Path], str], extra_env: dict[str, str] | None = None, agents: tuple[str, ...] = (AGENT,)
) -> Iterator[Weir]:
    """A `weir serve` on its own database of `backend` and a config written by `config_text`
    (given the audit spool's path), with `agents` created and a key for the first; stopped,
    and checked to have stopped cleanly, on exit."""
    config = directory / "weir.toml"
    config.write_text(config_text(directory / "audit.spool"))
    db = TestDatabase.create(backend, directory)
    listen, admin_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = clean_env(
        {
            "WEIR_DATABASE_URL": db.url,
            "WEIR_LISTEN": listen,
            "WEIR_ADMIN_LISTEN": admin_listen,
            "WEIR_ADMIN_TOKEN": ADMIN_TOKEN,
            "WEIR_LOG": "info",
            "FAKE_PROVIDER_KEY": PROVIDER_KEY,
            **(extra_env or {}),
        }
    )
    w = Weir(backend=backend, base=f"http://{listen}", admin=f"http://{admin_listen}", key="", config=config, log=directory / "weir.log", db=db, env=env)
    try:
        for a in agents:
            w.cli("agents", "create", a)
        w.key = w.create_key(agents[0])
        _start_weir(w)
        yield w
        status = _stop_weir(w)
        assert status == 0, f"weir exited with status {status} after SIGTERM; log:\n{w.log_text()}"
    finally:
        _stop_weir(w)
        w.admin_http.close()
        db.drop()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def weir(request: pytest.FixtureRequest, fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    backend: str = request.param
    with running_weir(backend, tmp_path_factory.mktemp(f"weir-{backend}"), lambda spool: config_toml(fake_provider, spool)) as w:
        yield w


@pytest.fixture
def openai_client(weir: Weir) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{weir.base}/v1", api_key=weir.key, max_retries=0, timeout=30)
    yield client
    client.close()


@pytest.fixture
def anthropic_client(weir: Weir) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=weir.base, api_key=weir.key, max_retries=0, timeout=30)
    yield client
    client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        w = getattr(item, "funcargs", {}).get("weir")
        if isinstance(w, Weir):
            lines = w.log_text().splitlines()
            report.sections.append((f"weir log ({w.backend}, last 60 lines)", "\n".join(lines[-60:])))
