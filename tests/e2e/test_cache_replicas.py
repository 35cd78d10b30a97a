"""The response cache shared by two replicas through Redis: a hit at one is a hit at the other
(exact, and a paraphrase through the semantic index each replica keeps in step from Redis),
a purge at one reaches both, each partition keeps its bound and each entry its TTL in Redis,
and Redis cut mid-run (a TCP proxy between the replicas and the shared Redis) means misses,
never failed calls.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
import redis

from conftest import (
    ADMIN_TOKEN,
    AGENT,
    PROVIDER_KEY,
    FakeProvider,
    TestDatabase,
    Weir,
    base_sections,
    eventually,
    running_replicas,
    told_providers,
)
from test_cache import chat, chat_stream, say, upstream_calls

REDIS = ("127.0.0.1", 6379)


class CuttableProxy:
    """A TCP proxy to Redis that can be cut (every connection closed, new ones refused) and
    restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_now = False
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_now:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.cut_now = True
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.conns.clear()

    def restore(self) -> None:
        self.cut_now = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


@dataclass
class Pair:
    a: Weir
    b: Weir
    proxy: CuttableProxy
    prefix: str


def pair_config(fake: FakeProvider, spool: Path, prefix: str) -> str:
    return base_sections(spool) + told_providers(fake) + f"""
[limits]
redis_prefix = "{prefix}"

[[models]]
name = "gpt-c"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 1.0, output_per_mtok = 2.0 }}

[[models]]
name = "gpt-s"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]

[cache]
enabled = true
ttl_secs = 120
partition_max_entries = 3
lookup_timeout_ms = 100

[[cache.models]]
model = "gpt-s"
semantic = true
"""


@pytest.fixture(scope="module")
def pair(fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    d = tmp_path_factory.mktemp("cache-replicas")
    prefix = f"weir-e2e-{secrets.token_hex(4)}:"
    proxy = CuttableProxy(REDIS)
    db = TestDatabase.create("postgres", d)
    try:
        env = {"WEIR_REDIS_URL": f"redis://127.0.0.1:{proxy.port}", "FAKE_PROVIDER_KEY": PROVIDER_KEY}
        with running_replicas(d, db, 2, lambda rd: pair_config(fake_provider, rd / "audit.spool", prefix), env) as (replicas, _):
            yield Pair(replicas[0], replicas[1], proxy, prefix)
    finally:
        proxy.close()
        db.drop()
        r = redis.Redis(*REDIS)
        for k in r.scan_iter(f"{prefix}*"):
            r.delete(k)


def oai(w: Weir) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{w.base}/v1", api_key=w.key, max_retries=0, timeout=30)


def test_an_answer_stored_at_one_replica_is_a_hit_at_the_other(pair: Pair, fake_provider: FakeProvider) -> None:
    prompt = f"Shared. {uuid.uuid4()}"
    with oai(pair.a) as a, oai(pair.b) as b:
        assert chat(a, prompt, "from replica A")[:2] == ("from replica A", "miss")
        assert chat(b, prompt, "x")[:2] == ("from replica A", "hit")
        # A stream stored at B is replayed at A.
        other = f"Streamed, shared. {uuid.uuid4()}"
        first, h1 = chat_stream(b, other, "streamed at B")
        again, h2 = chat_stream(a, other, "x")
    assert (h1, h2) == ("miss", "hit") and again["text"] == first["text"] == "streamed at B"
    assert upstream_calls(fake_provider, prompt) == 1 and upstream_calls(fake_provider, other) == 1
    # Every key has its TTL.
    r = redis.Redis(*REDIS)
    keys = list(r.scan_iter(f"{pair.prefix}cache:*"))
    assert keys and all(0 < r.pttl(k) <= 120_000 for k in keys)


def ask(c: openai.OpenAI, prompt: str, answer: str, headers: dict[str, str] | None = None) -> tuple[str, str | None]:
    raw = c.chat.completions.with_raw_response.create(model="gpt-s", messages=[{"role": "user", "content": prompt}], extra_headers={**say(answer), **(headers or {})})
    return raw.parse().choices[0].message.content or "", raw.headers.get("x-weir-cache")


def test_a_question_stored_at_one_replica_serves_its_paraphrase_at_the_other(pair: Pair) -> None:
    with oai(pair.a) as a, oai(pair.b) as b:
        assert ask(a, "How do I rotate the API key of my staging project?", "Settings, Keys, Rotate") == ("Settings, Keys, Rotate", "miss")
        # Replica B reads what A stored (at most a second after its last read of the partition).
        time.sleep(1.1)
        paraphrase = "What are the steps to rotate the API key of my staging project?"
        assert ask(b, paraphrase, "x") == ("Settings, Keys, Rotate", "semantic-hit")
        # A near-miss is not served, at either replica.
        assert ask(b, "How do I revoke the API key of my staging project?", "revoked")[0] == "revoked"
        # The questions' streams have their TTL and hold the partition's bound.
        r = redis.Redis(*REDIS)
        for i, topic in enumerate(["invoices", "webhooks", "backups", "dashboards"]):
            assert ask(a if i % 2 else b, f"How do I export the {topic} of my staging project?", topic)[1] == "miss"
        streams = list(r.scan_iter(f"{pair.prefix}cache:*:sem"))
        assert streams and all(0 < r.pttl(k) <= 120_000 for k in streams)
        assert all(r.xlen(k) <= 3 for k in streams), [r.xlen(k) for k in streams]
        # A purge at A: B's index still names the question, but its answer is gone: a miss.
        resp = pair.a.admin_http.delete(f"{pair.a.admin}/api/v1/cache", params={"model": "gpt-s"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert resp.status_code == 200 and resp.json()["purged"] >= 1, resp.text
        assert ask(b, paraphrase, "after the purge") == ("after the purge", "miss")


def test_a_purge_at_one_replica_empties_the_cache_of_both(pair: Pair) -> None:
    prompt = f"Purge me. {uuid.uuid4()}"
    with oai(pair.a) as a, oai(pair.b) as b:
        assert chat(a, prompt, "old")[:2] == ("old", "miss")
        assert chat(b, prompt)[:2] == ("old", "hit")
        r = pair.b.admin_http.delete(f"{pair.b.admin}/api/v1/cache", params={"agent": AGENT}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200 and r.json()["purged"] >= 1, r.text
        assert chat(a, prompt, "new")[:2] == ("new", "miss")
        assert chat(b, prompt)[:2] == ("new", "hit")
        r = pair.a.admin_http.delete(f"{pair.a.admin}/api/v1/cache", params={"model": "gpt-c"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200 and r.json()["purged"] >= 1, r.text
        assert chat(b, prompt, "newer")[:2] == ("newer", "miss")


def test_a_partition_keeps_its_bound_in_redis(pair: Pair) -> None:
    with oai(pair.a) as a, oai(pair.b) as b:
        prompts = [f"Bounded {i} {uuid.uuid4()}" for i in range(5)]
        for i, p in enumerate(prompts):
            assert chat(a if i % 2 else b, p, p)[1] == "miss"
        time.sleep(0.3)
        r = redis.Redis(*REDIS)
        entries = [k for k in r.scan_iter(f"{pair.prefix}cache:*:e:*")]
        assert len(entries) <= 3, entries
        # The oldest went first; the newest are hits at either replica.
        assert chat(a, prompts[0], "again")[:2] == ("again", "miss")
        assert chat(b, prompts[4])[:2] == (prompts[4], "hit")


def test_redis_cut_mid_run_means_misses_never_failures(pair: Pair, fake_provider: FakeProvider) -> None:
    prompt = f"Through an outage. {uuid.uuid4()}"
    with oai(pair.a) as a, oai(pair.b) as b:
        assert chat(a, prompt, "before")[:2] == ("before", "miss")
        assert chat(b, prompt)[:2] == ("before", "hit")
        pair.proxy.cut()
        try:
            for i in range(4):
                started = time.monotonic()
                text, outcome, _ = chat(a if i % 2 else b, prompt, f"during {i}")
                assert (text, outcome) == (f"during {i}", "miss")
                assert time.monotonic() - started < 5, "a lookup Redis cannot answer is bounded"
            # The semantic cache too: its index is this replica's, its answers in Redis.
            started = time.monotonic()
            assert ask(a, "Through an outage, how do I check the status page?", "during") == ("during", "miss")
            assert ask(b, "How do I check the status page through an outage?", "during b") == ("during b", "miss")
            assert time.monotonic() - started < 5
        finally:
            pair.proxy.restore()

        def hit_again() -> bool | None:
            text, outcome, _ = chat(a, prompt, "after")
            return outcome == "hit" or None

        # Once Redis is back, answers are stored and served again.
        eventually(hit_again, 10, "the cache to work again once Redis is back")
    assert upstream_calls(fake_provider, prompt) >= 5


def test_turning_the_cache_off_at_one_replica_reaches_the_other_within_two_seconds(pair: Pair) -> None:
    with oai(pair.a) as a:
        pair.b.admin_put("/api/v1/cache/models/gpt-c", {"enabled": False})
        try:
            started = time.monotonic()
            eventually(lambda: chat(a, f"probe {uuid.uuid4()}")[1] is None or None, 2.5, "replica A to stop using the cache")
            assert time.monotonic() - started < 2.5
        finally:
            pair.b.admin_put("/api/v1/cache/models/gpt-c", {})
        eventually(lambda: chat(a, f"probe {uuid.uuid4()}")[1] == "miss" or None, 2.5, "replica A to use the cache again")
