"""The semantic cache, through the official SDKs: a question asked again in other words is served
the stored answer (JSON or a stream, both protocols), a near-miss never is, nor another agent's
question, nor one asked in another context (system prompt, parameters, earlier turns); the
outcome, similarity and origin are recorded; it is opt-in per model and agent; a purge removes
the questions too.

Every test makes its own agent (its own partition). The fake provider is told what to answer per
request (`x-fake-behavior: say=…`); a semantic hit is known by answering what the first call was
told to say, with `x-weir-cache: semantic-hit`, and by the provider receiving one request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from conftest import ADMIN_TOKEN, FakeProvider, Weir, base_sections, eventually, running_weir, told_providers
from test_cache import new_agent, oai, say, upstream_calls


def semantic_config(fake: FakeProvider, spool: Path) -> str:
    return base_sections(spool) + told_providers(fake) + f"""
[[models]]
name = "gpt-s"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 1.0, output_per_mtok = 2.0 }}

[[models]]
name = "claude-s"
targets = [{{ provider = "fake-anthropic", model = "claude-x" }}]

[[models]]
name = "gpt-exact"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]

[cache]
enabled = true

[[cache.models]]
model = "gpt-s"
semantic = true

[[cache.models]]
model = "claude-s"
semantic = true
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def sw(request: pytest.FixtureRequest, fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    backend: str = request.param
    with running_weir(backend, tmp_path_factory.mktemp(f"weir-semantic-{backend}"), lambda spool: semantic_config(fake_provider, spool)) as w:
        yield w


def ask(c: openai.OpenAI, prompt: str, answer: str, model: str = "gpt-s", system: str | None = None, **kw: Any) -> tuple[str, httpx.Headers]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    raw = c.chat.completions.with_raw_response.create(model=model, messages=messages, extra_headers=say(answer), **kw)
    return raw.parse().choices[0].message.content or "", raw.headers


def ask_stream(c: openai.OpenAI, prompt: str, answer: str) -> tuple[str, tuple[int, int] | None, str | None]:
    """A streamed call read by the SDK: its text, its usage and the `x-weir-cache` header."""
    text, usage = "", None
    with c.chat.completions.with_streaming_response.create(
        model="gpt-s", messages=[{"role": "user", "content": prompt}], stream=True, stream_options={"include_usage": True}, extra_headers=say(answer)
    ) as r:
        header = r.headers.get("x-weir-cache")
        for chunk in r.parse():
            if chunk.usage:
                usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            for ch in chunk.choices:
                text += ch.delta.content or ""
    return text, usage, header


def test_a_paraphrase_is_served_the_stored_answer_and_recorded_with_its_similarity(sw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(sw)
    first = "How do I reset my password on the billing portal?"
    before = upstream_calls(fake_provider, "billing portal")
    with oai(sw, key) as c:
        a, h1 = ask(c, first, "Open Settings, then Security, then Reset.")
        b, h2 = ask(c, "What are the steps to reset my password on the billing portal?", "a fresh answer the cache must not give")
    assert (a, h1["x-weir-cache"]) == ("Open Settings, then Security, then Reset.", "miss")
    assert (b, h2["x-weir-cache"]) == (a, "semantic-hit")
    similarity = float(h2["x-weir-cache-similarity"])
    assert 0.55 <= similarity < 1.0
    assert upstream_calls(fake_provider, "billing portal") == before + 1
    origin, hit = sw.audit_event(h1["x-request-id"]), sw.audit_event(h2["x-request-id"])
    assert hit["cache"] == "semantic_hit" and hit["cache_origin"] == h1["x-request-id"]
    assert hit["cache_similarity"] == pytest.approx(similarity, abs=0.001)
    assert hit["input_tokens"] is None and hit["cache_saved_tokens"] == origin["input_tokens"] + origin["output_tokens"]
    # The console's event page says so, with the similarity, and links to the origin.
    http = httpx.Client(base_url=sw.admin, headers={"Origin": sw.admin}, follow_redirects=True, timeout=10)
    assert http.post("/sign-in", data={"token": ADMIN_TOKEN}).status_code == 200
    page = http.get(f"/events/{hit['id']}").text
    assert f"semantic hit (similarity {hit['cache_similarity']:.3f})" in page and f'href="/traces?request_id={h1["x-request-id"]}"' in page


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("How do I enable two-factor authentication?", "How do I disable two-factor authentication?"),
        ("Convert 10 miles to km", "Convert 10 km to miles"),
        ("What is 18% of 350?", "What is 18% of 530?"),
        ("Write a Python function that reverses a linked list", "Write a Rust function that reverses a linked list"),
        ("List users who signed up before March", "List users who signed up after March"),
        ("What is the capital of Australia?", "What is the population of Australia?"),
    ],
)
def test_a_near_miss_is_never_served_the_other_questions_answer(sw: Weir, fake_provider: FakeProvider, first: str, second: str) -> None:
    _, key = new_agent(sw)
    with oai(sw, key) as c:
        assert ask(c, first, "answer one")[1]["x-weir-cache"] == "miss"
        text, h = ask(c, second, "answer two")
    assert (text, h["x-weir-cache"]) == ("answer two", "miss")


def test_another_agent_or_another_context_is_a_miss(sw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(sw)
    _, other = new_agent(sw)
    q1 = "How can I see the logs of a running Docker container?"
    q2 = "docker: view logs for a container that's currently running"
    with oai(sw, key) as c, oai(sw, other) as d:
        assert ask(c, q1, "docker logs -f NAME")[1]["x-weir-cache"] == "miss"
        assert ask(d, q2, "not yours")[1]["x-weir-cache"] == "miss", "another agent's question"
        assert ask(c, q2, "other system", system="Answer in French.")[1]["x-weir-cache"] == "miss", "another system prompt"
        assert ask(c, q2, "other temperature", temperature=0.9)[1]["x-weir-cache"] == "miss", "other parameters"
        assert ask(c, q2, "other model", model="gpt-exact")[1]["x-weir-cache"] == "miss", "a model without the semantic cache"
        # An earlier turn is part of the context.
        raw = c.chat.completions.with_raw_response.create(
            model="gpt-s",
            messages=[{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}, {"role": "user", "content": q2}],
            extra_headers=say("with history"),
        )
        assert raw.headers["x-weir-cache"] == "miss"
        # The same context: a semantic hit.
        text, h = ask(c, q2, "x")
    assert (text, h["x-weir-cache"]) == ("docker logs -f NAME", "semantic-hit")


def test_a_paraphrase_is_replayed_as_a_stream_both_sdks_read(sw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(sw)
    with oai(sw, key) as c:
        first, _, h1 = ask_stream(c, "How do I undo the last commit in git but keep my changes?", "git reset --soft HEAD~1")
        again, usage, h2 = ask_stream(c, "How can I undo my last commit in git but keep the changes?", "x")
    assert (h1, h2) == ("miss", "semantic-hit")
    assert again == first == "git reset --soft HEAD~1" and usage is not None
    client = anthropic.Anthropic(base_url=sw.base, api_key=key, max_retries=0, timeout=30)
    try:
        q1 = "What is the boiling point of water at sea level in Celsius?"
        q2 = "At sea level, what is the boiling point of water in Celsius?"
        m = client.messages.create(model="claude-s", max_tokens=50, messages=[{"role": "user", "content": q1}], extra_headers=say("100 degrees"))
        assert m.content[0].type == "text" and m.content[0].text == "100 degrees"
        with client.messages.stream(model="claude-s", max_tokens=50, messages=[{"role": "user", "content": q2}], extra_headers=say("x")) as s:
            assert s.response.headers["x-weir-cache"] == "semantic-hit"
            text = "".join(s.text_stream)
            final = s.get_final_message()
        assert text == "100 degrees" and final.stop_reason == m.stop_reason
    finally:
        client.close()


def test_the_semantic_cache_is_opt_in_per_agent_and_purged_with_the_answers(sw: Weir) -> None:
    name, key = new_agent(sw)
    q1 = "Which Linux command shows free disk space?"
    q2 = "What Linux command shows free disk space?"
    with oai(sw, key) as c:
        # Off for this agent (settings reach every replica within 2 s): the exact cache only.
        sw.admin_put(f"/api/v1/cache/agents/{name}", {"semantic": False})
        time.sleep(2.5)
        assert ask(c, q1, "df -h")[1]["x-weir-cache"] == "miss"
        assert ask(c, q2, "not from the cache")[1]["x-weir-cache"] == "miss"
        assert ask(c, q1, "x")[1]["x-weir-cache"] == "hit"
        # On again: questions stored from now on are served to their paraphrases.
        sw.admin_put(f"/api/v1/cache/agents/{name}", {"semantic": True})
        time.sleep(2.5)
        assert ask(c, "How do I list hidden files in bash?", "ls -a")[1]["x-weir-cache"] == "miss"
        assert ask(c, "In bash, how do I list hidden files?", "x")[0] == "ls -a"
        # A purge of the agent removes its questions with its answers.
        r = httpx.delete(f"{sw.admin}/api/v1/cache", params={"agent": name}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
        assert r.status_code == 200 and r.json()["purged"] >= 1, r.text
        text, h = ask(c, "In bash, how do I list hidden files?", "after the purge")
    assert (text, h["x-weir-cache"]) == ("after the purge", "miss")


@pytest.fixture(scope="module")
def routed(fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    def config(spool: Path) -> str:
        return semantic_config(fake_provider, spool) + """
[[models]]
name = "embedder"
targets = [{ provider = "fake-openai", model = "text-embedding-3-small" }]

[cache.semantic]
embeddings_model = "embedder"
"""

    with running_weir("sqlite", tmp_path_factory.mktemp("weir-semantic-routed"), config) as w:
        yield w


def test_questions_can_be_embedded_by_an_embeddings_model_weir_routes(routed: Weir, fake_provider: FakeProvider) -> None:
    # The fake provider gives every text the same vector: the verification step alone tells the
    # questions apart, and the provider's embeddings endpoint is seen to be called.
    _, key = new_agent(routed)
    embedded = lambda: sum(1 for r in fake_provider.requests() if r["path"].endswith("/embeddings") and "rotate the signing key" in str(r["body"]))  # noqa: E731
    before = embedded()
    with oai(routed, key) as c:
        assert ask(c, "How do I rotate the signing key of the billing service?", "kms rotate")[1]["x-weir-cache"] == "miss"
        text, h = ask(c, "What are the steps to rotate the signing key of the billing service?", "x")
        assert (text, h["x-weir-cache"]) == ("kms rotate", "semantic-hit")
        assert ask(c, "How do I revoke the signing key of the billing service?", "revoked")[0] == "revoked", "a near-miss"
        assert ask(c, "What is a good bread recipe?", "bread")[0] == "bread", "another topic at similarity 1.0"
    assert embedded() - before >= 2


def test_a_routed_name_pointed_at_another_model_does_not_compare_its_vectors_with_the_old_ones(routed: Weir, fake_provider: FakeProvider) -> None:
    # Both models give the same vector (the fake's); what tells their groups apart is the model
    # the routed name stands for, not the name.
    _, key = new_agent(routed)
    original = routed.config.read_text()
    embedded_by = lambda model, marker: any(r["path"].endswith("/embeddings") and r["body"].get("model") == model and marker in str(r["body"]) for r in fake_provider.requests())  # noqa: E731
    with oai(routed, key) as c:
        assert ask(c, "How do I renew the TLS certificate of the staging gateway?", "certbot renew")[1]["x-weir-cache"] == "miss"
        assert ask(c, "What are the steps to renew the TLS certificate of the staging gateway?", "x")[1]["x-weir-cache"] == "semantic-hit"
        try:
            routed.config.write_text(original.replace('model = "text-embedding-3-small"', 'model = "text-embedding-3-large"'))
            n = iter(range(1000))
            eventually(lambda: (m := f"probe {next(n)} of the reload") and ask(c, m, "y") and embedded_by("text-embedding-3-large", m), 10, "the new embeddings model")
            text, h = ask(c, "Which steps renew the TLS certificate of the staging gateway?", "from the provider")
            assert (text, h["x-weir-cache"]) == ("from the provider", "miss"), "a question embedded by the old model matched"
        finally:
            routed.config.write_text(original)
            m = iter(range(1000))
            eventually(lambda: (q := f"probe {next(m)} after the restore") and ask(c, q, "z") and embedded_by("text-embedding-3-small", q), 10, "the old embeddings model again")
