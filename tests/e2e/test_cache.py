"""The response cache, through the official SDKs: what is a hit and what is not, isolation
between agents, the client's Cache-Control, errors never stored, what a hit costs, guardrails
on a hit, TTL and the partition bound.

Every test makes its own agent (its own partition) and its own prompt, so tests do not see one
another's answers. The fake provider is told what to answer per request (`x-fake-behavior:
say=…`, a header Weir forwards but the cache key does not hold): a hit is known by answering
what the first call was told to say, and by the fake receiving one request, not two.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from conftest import ADMIN_TOKEN, AGENT, FakeProvider, Weir, base_sections, eventually, running_weir, told_providers


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def say(text: str) -> dict[str, str]:
    return {"x-fake-behavior": f"say={b64(text)}"}


def cache_config(fake: FakeProvider, spool: Path) -> str:
    return base_sections(spool) + told_providers(fake) + f"""
[[models]]
name = "gpt-c"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]
price = {{ input_per_mtok = 1.0, output_per_mtok = 2.0 }}

[[models]]
name = "gpt-c2"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]

[[models]]
name = "claude-c"
targets = [{{ provider = "fake-anthropic", model = "claude-x" }}]

[[models]]
name = "gpt-short"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]

[[models]]
name = "gpt-uncached"
targets = [{{ provider = "fake-openai", model = "gpt-4o-mini" }}]

[cache]
enabled = true
partition_max_entries = 3

[[cache.models]]
model = "gpt-short"
ttl_secs = 1

[[cache.models]]
model = "gpt-uncached"
enabled = false

[[cache.scopes]]
name = "team"
agents = ["team-a", "team-b"]

[[cache.agents]]
agent = "no-cache-agent"
enabled = false

[guardrails]
enabled = true
pii = {{ action = "mask" }}
secrets = {{ action = "off" }}
injection = {{ action = "off" }}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cw(request: pytest.FixtureRequest, fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    backend: str = request.param
    with running_weir(backend, tmp_path_factory.mktemp(f"weir-cache-{backend}"), lambda spool: cache_config(fake_provider, spool)) as w:
        yield w


def new_agent(w: Weir, name: str | None = None) -> tuple[str, str]:
    """A fresh agent and its key, usable once the running Weir has loaded it."""
    name = name or f"c{uuid.uuid4().hex[:10]}"
    if name not in w.cli("agents", "list").stdout.split():
        w.cli("agents", "create", name)
    key = w.create_key(name)
    # Keys reach the running Weir within its refresh interval.
    client = openai.OpenAI(base_url=f"{w.base}/v1", api_key=key, max_retries=0, timeout=30)
    eventually(lambda: _models_ok(client), 5, f"the key of agent {name} to be loaded")
    client.close()
    return name, key


def _models_ok(client: openai.OpenAI) -> bool | None:
    try:
        client.models.list()
        return True
    except openai.AuthenticationError:
        return None


def oai(w: Weir, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{w.base}/v1", api_key=key, max_retries=0, timeout=30)


def chat(client: openai.OpenAI, prompt: str, answer: str = "first answer", model: str = "gpt-c", headers: dict[str, str] | None = None, **kw: Any) -> tuple[str, str | None, str]:
    """One chat call: the answer's text, the `x-weir-cache` header, the request id."""
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": prompt}], extra_headers={**say(answer), **(headers or {})}, **kw
    )
    c = raw.parse()
    return c.choices[0].message.content or "", raw.headers.get("x-weir-cache"), raw.headers.get("x-request-id") or ""


def upstream_calls(fake: FakeProvider, marker: str) -> int:
    return sum(1 for r in fake.requests() if marker in str(r["body"]))


def test_a_repeated_call_is_answered_from_the_cache_and_recorded_as_a_hit(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"What is the capital of France? {uuid.uuid4()}"
    with oai(cw, key) as c:
        first, h1, rid1 = chat(c, prompt, "Paris, the first time.")
        second, h2, rid2 = chat(c, prompt, "a fresh answer the cache must not give")
    assert (first, h1) == ("Paris, the first time.", "miss")
    assert (second, h2) == ("Paris, the first time.", "hit")
    assert upstream_calls(fake_provider, prompt) == 1
    origin = cw.audit_event(rid1)
    hit = cw.audit_event(rid2)
    assert origin["cache"] == "miss" and origin["input_tokens"] > 0
    assert hit["cache"] == "hit" and hit["cache_origin"] == rid1
    assert hit["input_tokens"] is None and hit["output_tokens"] is None and hit["cost_usd"] is None, "a hit charges no provider tokens"
    assert hit["cache_saved_tokens"] == origin["input_tokens"] + origin["output_tokens"]
    assert hit["cache_saved_cost_usd"] == pytest.approx(origin["cost_usd"])
    assert hit["outcome"] == "ok" and hit["status_code"] == 200
    # Counted by outcome, with what the hit saved.
    agent = hit["agent_name"]

    def counted() -> bool | None:
        text = httpx.get(f"{cw.admin}/metrics", timeout=5).text
        hits = re.search(rf'weir_cache_lookups_total{{[^}}]*weir_agent="{agent}"[^}}]*weir_cache_outcome="hit"[^}}]*}} (\d+)', text) or re.search(
            rf'weir_cache_lookups_total{{[^}}]*weir_cache_outcome="hit"[^}}]*weir_agent="{agent}"[^}}]*}} (\d+)', text
        )
        saved = re.search(rf'weir_cache_saved_tokens_total{{[^}}]*weir_agent="{agent}"[^}}]*}} (\d+)', text)
        return (hits is not None and int(hits.group(1)) == 1 and saved is not None and int(saved.group(1)) == hit["cache_saved_tokens"]) or None

    eventually(counted, 5, "the hit and the tokens it saved counted in /metrics")


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.9},
        {"max_completion_tokens": 7},
        {"response_format": {"type": "json_object"}},
        {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]},
        {"seed": 42},
        {"model": "gpt-c2"},
        {"system": "Answer in French."},
        {"earlier_turn": "Earlier question"},
    ],
)
def test_anything_that_shapes_the_answer_is_a_miss(cw: Weir, fake_provider: FakeProvider, change: dict[str, Any]) -> None:
    _, key = new_agent(cw)
    prompt = f"Tell me a fact. {uuid.uuid4()}"
    with oai(cw, key) as c:
        assert chat(c, prompt)[1] == "miss"
        kw = dict(change)
        model = kw.pop("model", "gpt-c")
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        if "system" in kw:
            messages.insert(0, {"role": "system", "content": kw.pop("system")})
        if "earlier_turn" in kw:
            messages = [{"role": "user", "content": kw.pop("earlier_turn")}, {"role": "assistant", "content": "Earlier answer"}, *messages]
        raw = c.chat.completions.with_raw_response.create(model=model, messages=messages, extra_headers=say("second"), **kw)
        assert raw.headers.get("x-weir-cache") == "miss", change
        # And the same changed call again is a hit of its own.
        again = c.chat.completions.with_raw_response.create(model=model, messages=messages, extra_headers=say("third"), **kw)
        assert again.headers.get("x-weir-cache") == "hit", change
    assert upstream_calls(fake_provider, prompt) == 2


def test_an_api_version_or_beta_header_is_part_of_the_key(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Versioned. {uuid.uuid4()}"
    with oai(cw, key) as c:
        assert chat(c, prompt, "plain")[:2] == ("plain", "miss")
        assert chat(c, prompt, "with a beta", headers={"OpenAI-Beta": "assistants=v2"})[:2] == ("with a beta", "miss")
        assert chat(c, prompt, "x", headers={"OpenAI-Beta": "assistants=v2"})[:2] == ("with a beta", "hit")
        assert chat(c, prompt, "x")[:2] == ("plain", "hit")
    assert upstream_calls(fake_provider, prompt) == 2


def test_agents_never_get_each_others_answers_unless_one_scope_names_both(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key_a = new_agent(cw)
    _, key_b = new_agent(cw)
    prompt = f"Same words from two agents. {uuid.uuid4()}"
    with oai(cw, key_a) as a, oai(cw, key_b) as b:
        assert chat(a, prompt, "for agent A")[:2] == ("for agent A", "miss")
        assert chat(b, prompt, "for agent B")[:2] == ("for agent B", "miss")
        assert chat(a, prompt, "x")[:2] == ("for agent A", "hit")
        assert chat(b, prompt, "x")[:2] == ("for agent B", "hit")
    assert upstream_calls(fake_provider, prompt) == 2
    # Two agents named in one scope share it.
    _, key_ta = new_agent(cw, "team-a")
    _, key_tb = new_agent(cw, "team-b")
    prompt = f"Shared within the team. {uuid.uuid4()}"
    with oai(cw, key_ta) as ta, oai(cw, key_tb) as tb:
        assert chat(ta, prompt, "team answer")[:2] == ("team answer", "miss")
        assert chat(tb, prompt, "other")[:2] == ("team answer", "hit")
    assert upstream_calls(fake_provider, prompt) == 1


def test_cache_control_no_cache_skips_the_lookup_and_no_store_keeps_nothing(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Directives. {uuid.uuid4()}"
    with oai(cw, key) as c:
        assert chat(c, prompt, "one")[:2] == ("one", "miss")
        # no-cache: not answered from the cache, and its answer replaces the stored one.
        assert chat(c, prompt, "two", headers={"Cache-Control": "no-cache"})[:2] == ("two", "bypass")
        assert chat(c, prompt, "three")[:2] == ("two", "hit")
        # no-store: neither looked up nor stored.
        other = f"Never kept. {uuid.uuid4()}"
        assert chat(c, other, "four", headers={"Cache-Control": "no-store"})[:2] == ("four", "bypass")
        assert chat(c, other, "five")[:2] == ("five", "miss")
    assert upstream_calls(fake_provider, prompt) == 2


def test_errors_are_never_stored(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"An error first. {uuid.uuid4()}"
    with oai(cw, key) as c:
        with pytest.raises(openai.BadRequestError):
            c.chat.completions.create(model="gpt-c", messages=[{"role": "user", "content": prompt}], extra_headers={"x-fake-behavior": "status=400"})
        assert chat(c, prompt, "fine now")[:2] == ("fine now", "miss")
        assert chat(c, prompt, "x")[:2] == ("fine now", "hit")
    assert upstream_calls(fake_provider, prompt) == 2


def test_a_hit_costs_no_budget_and_a_spent_budget_refuses_even_a_cached_answer(cw: Weir) -> None:
    name, key = new_agent(cw)
    cw.admin_put(f"/api/v1/agents/{name}/budgets", {"period": "day", "tokens": 10_000})

    def used() -> float:
        return cw.admin_get(f"/api/v1/agents/{name}/budgets").json()["budgets"][0]["used"]

    prompt = f"Budgeted. {uuid.uuid4()}"
    with oai(cw, key) as c:
        _, _, rid = chat(c, prompt, "costly answer")
        spent = cw.audit_event(rid)
        tokens = spent["input_tokens"] + spent["output_tokens"]
        eventually(lambda: used() == tokens or None, 5, "the miss's tokens to be charged")
        for _ in range(3):
            assert chat(c, prompt)[1] == "hit"
        time.sleep(0.3)
        assert used() == tokens, "hits charge nothing"
        # Spend the budget: the cached answer is refused like any other.
        cw.admin_put(f"/api/v1/agents/{name}/budgets", {"period": "day", "tokens": tokens})
        eventually(lambda: _refused(c, prompt), 5, "a spent budget to refuse the cached answer")


def _refused(c: openai.OpenAI, prompt: str) -> bool | None:
    try:
        chat(c, prompt)
        return None
    except openai.RateLimitError:
        return True


def test_a_hit_passes_the_guardrails_in_force_now(cw: Weir) -> None:
    name, key = new_agent(cw)
    email = "dana.whitfield@northwind-mail.com"
    # Stored while the agent's PII guardrail is off: the answer keeps the address.
    cw.admin_put(f"/api/v1/guardrails/agents/{name}", {"overrides": {"pii": "off"}})
    prompt = f"Who do I write to? {uuid.uuid4()}"
    with oai(cw, key) as c:
        eventually(lambda: email in chat(c, f"probe {uuid.uuid4()}", f"Write to {email}.", model="gpt-uncached")[0] or None, 5, "the override to apply")
        assert chat(c, prompt, f"Write to {email}.")[:2] == (f"Write to {email}.", "miss")
        cw.admin_put(f"/api/v1/guardrails/agents/{name}", {"overrides": {}})
        eventually(lambda: "[EMAIL]" in chat(c, f"probe {uuid.uuid4()}", f"Write to {email}.", model="gpt-uncached")[0] or None, 5, "the override to be lifted")
        text, outcome, _ = chat(c, prompt)
    assert outcome == "hit" and text == "Write to [EMAIL]."


def test_models_and_agents_the_cache_is_off_for_are_neither_looked_up_nor_stored(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Uncached model. {uuid.uuid4()}"
    with oai(cw, key) as c:
        assert chat(c, prompt, "a", model="gpt-uncached")[:2] == ("a", None)
        assert chat(c, prompt, "b", model="gpt-uncached")[:2] == ("b", None)
    _, key = new_agent(cw, "no-cache-agent")
    with oai(cw, key) as c:
        other = f"Uncached agent. {uuid.uuid4()}"
        assert chat(c, other, "c")[:2] == ("c", None)
        assert chat(c, other, "d")[:2] == ("d", None)
    assert upstream_calls(fake_provider, prompt) == 2


def test_an_answer_expires_after_its_ttl(cw: Weir) -> None:
    _, key = new_agent(cw)
    prompt = f"Short-lived. {uuid.uuid4()}"
    with oai(cw, key) as c:
        assert chat(c, prompt, "old", model="gpt-short")[:2] == ("old", "miss")
        assert chat(c, prompt, "x", model="gpt-short")[:2] == ("old", "hit")
        time.sleep(1.2)
        assert chat(c, prompt, "new", model="gpt-short")[:2] == ("new", "miss")


def test_a_partition_keeps_at_most_its_bound_the_least_recently_used_going_first(cw: Weir) -> None:
    _, key = new_agent(cw)
    prompts = [f"Prompt {i} {uuid.uuid4()}" for i in range(4)]
    with oai(cw, key) as c:
        for p in prompts[:3]:
            assert chat(c, p, p)[1] == "miss"
        # The first is used again, so the second is now the least recently used.
        assert chat(c, prompts[0])[1] == "hit"
        assert chat(c, prompts[3], prompts[3])[1] == "miss"
        assert chat(c, prompts[1], "again")[:2] == ("again", "miss")
        assert chat(c, prompts[0])[:2] == (prompts[0], "hit")


def test_anthropic_messages_and_embeddings_are_cached_too(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Anthropic words. {uuid.uuid4()}"
    with anthropic.Anthropic(base_url=cw.base, api_key=key, max_retries=0, timeout=30) as a:

        def ask(answer: str) -> tuple[str, str | None]:
            raw = a.messages.with_raw_response.create(model="claude-c", max_tokens=100, messages=[{"role": "user", "content": prompt}], extra_headers=say(answer))
            m = raw.parse()
            return m.content[0].text, raw.headers.get("x-weir-cache")  # type: ignore[union-attr]

        assert ask("claude's answer") == ("claude's answer", "miss")
        assert ask("other") == ("claude's answer", "hit")
    assert upstream_calls(fake_provider, prompt) == 1
    text = f"embed me {uuid.uuid4()}"
    with oai(cw, key) as c:
        r1 = c.embeddings.with_raw_response.create(model="gpt-c", input=text)
        r2 = c.embeddings.with_raw_response.create(model="gpt-c", input=text)
    assert (r1.headers.get("x-weir-cache"), r2.headers.get("x-weir-cache")) == ("miss", "hit")
    assert r1.parse().data[0].embedding == r2.parse().data[0].embedding
    assert upstream_calls(fake_provider, text) == 1


def test_the_default_agent_is_unaffected(cw: Weir) -> None:
    # The module's own agent, made by the fixture, works as any other.
    with oai(cw, cw.key) as c:
        prompt = f"From {AGENT}. {uuid.uuid4()}"
        assert chat(c, prompt, "hi")[1] == "miss"
        assert chat(c, prompt)[1] == "hit"


# -------------------------------------------------------------------------------------------
# Streams
# -------------------------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Look a word up.", "parameters": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}}]


def chat_stream(c: openai.OpenAI, prompt: str, answer: str = "streamed answer", include_usage: bool = True, **kw: Any) -> tuple[dict[str, Any], str | None]:
    """A streamed chat call read by the SDK: its text, tool calls, finish reason and usage; the
    `x-weir-cache` header."""
    out: dict[str, Any] = {"text": "", "calls": {}, "finish": None, "usage": None, "chunks": 0}
    with c.chat.completions.with_streaming_response.create(
        model="gpt-c", messages=[{"role": "user", "content": prompt}], stream=True, stream_options={"include_usage": include_usage}, extra_headers=say(answer), **kw
    ) as r:
        header = r.headers.get("x-weir-cache")
        for chunk in r.parse():
            out["chunks"] += 1
            if chunk.usage:
                out["usage"] = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            for ch in chunk.choices:
                out["text"] += ch.delta.content or ""
                for tc in ch.delta.tool_calls or []:
                    call = out["calls"].setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                    call["id"] = tc.id or call["id"]
                    call["name"] += (tc.function.name or "") if tc.function else ""
                    call["arguments"] += (tc.function.arguments or "") if tc.function else ""
                out["finish"] = ch.finish_reason or out["finish"]
    return out, header


def test_a_stream_is_stored_once_complete_and_replayed_as_a_stream_the_sdk_reads(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Stream me. {uuid.uuid4()}"
    with oai(cw, key) as c:
        first, h1 = chat_stream(c, prompt, "A streamed answer in several words.")
        second, h2 = chat_stream(c, prompt, "must not be seen")
        # Without the usage chunk when not asked for it, and whole to a client that does not stream.
        third, h3 = chat_stream(c, prompt, "must not be seen", include_usage=False)
        whole, h4, rid = chat(c, prompt, "must not be seen")
    assert (h1, h2, h3, h4) == ("miss", "hit", "hit", "hit")
    assert first["text"] == "A streamed answer in several words." and first["finish"] == "stop" and first["usage"]
    for replay in (second, third):
        assert (replay["text"], replay["finish"]) == (first["text"], "stop")
    assert second["usage"] == first["usage"] and third["usage"] is None
    assert whole == first["text"]
    assert upstream_calls(fake_provider, prompt) == 1
    ev = cw.audit_event(rid)
    assert ev["cache"] == "hit" and ev["cache_saved_tokens"] == sum(first["usage"])


def test_tool_calls_survive_storing_and_replay_in_both_directions(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Look up 'weir'. {uuid.uuid4()}"
    with oai(cw, key) as c:
        first, h1 = chat_stream(c, prompt, tools=TOOLS)
        replay, h2 = chat_stream(c, prompt, tools=TOOLS)
        raw = c.chat.completions.with_raw_response.create(model="gpt-c", messages=[{"role": "user", "content": prompt}], tools=TOOLS, extra_headers=say("x"))  # type: ignore[arg-type]
    assert (h1, h2, raw.headers.get("x-weir-cache")) == ("miss", "hit", "hit")
    assert first["finish"] == "tool_calls" and first["calls"][0]["name"] == "lookup"
    assert replay["calls"] == first["calls"] and replay["finish"] == "tool_calls"
    msg = raw.parse().choices[0].message
    assert msg.tool_calls and msg.tool_calls[0].function.name == "lookup"  # type: ignore[union-attr]
    assert msg.tool_calls[0].function.arguments == first["calls"][0]["arguments"] and msg.tool_calls[0].id == first["calls"][0]["id"]  # type: ignore[union-attr]
    # And a whole answer stored first is replayed to a streaming client.
    prompt = f"Whole first. {uuid.uuid4()}"
    with oai(cw, key) as c:
        assert chat(c, prompt, "stored whole")[:2] == ("stored whole", "miss")
        streamed, h = chat_stream(c, prompt)
    assert (streamed["text"], h, streamed["finish"]) == ("stored whole", "hit", "stop") and streamed["usage"]
    assert upstream_calls(fake_provider, prompt) == 1


def test_a_stream_cut_short_or_broken_off_is_never_stored(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Cut me. {uuid.uuid4()}"
    with oai(cw, key) as c:
        with pytest.raises(Exception):
            with c.chat.completions.create(
                model="gpt-c", messages=[{"role": "user", "content": prompt}], stream=True, extra_headers={"x-fake-behavior": "cut_after=2,chunks=5"}
            ) as s:
                for _ in s:
                    pass
        after, h = chat_stream(c, prompt, "whole this time")
    assert (after["text"], h) == ("whole this time", "miss")
    assert upstream_calls(fake_provider, prompt) == 2


def test_anthropic_streams_with_thinking_and_tool_use_replay_for_the_sdk(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Think, then look it up. {uuid.uuid4()}"
    tools = [{"name": "lookup", "description": "Look a word up.", "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}]
    with anthropic.Anthropic(base_url=cw.base, api_key=key, max_retries=0, timeout=30) as a:

        def ask() -> tuple[Any, str | None]:
            with a.messages.stream(
                model="claude-c", max_tokens=2000, messages=[{"role": "user", "content": prompt}], tools=tools,  # type: ignore[arg-type]
                thinking={"type": "enabled", "budget_tokens": 1024}, extra_headers=say("x"),
            ) as s:
                header = s.response.headers.get("x-weir-cache")
                return s.get_final_message(), header

        first, h1 = ask()
        second, h2 = ask()
        whole = a.messages.with_raw_response.create(
            model="claude-c", max_tokens=2000, messages=[{"role": "user", "content": prompt}], tools=tools, thinking={"type": "enabled", "budget_tokens": 1024}  # type: ignore[arg-type]
        )
    assert (h1, h2, whole.headers.get("x-weir-cache")) == ("miss", "hit", "hit")
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    assert second.model_dump()["content"] == first.model_dump()["content"]
    assert (second.stop_reason, second.usage.output_tokens, second.usage.input_tokens) == (first.stop_reason, first.usage.output_tokens, first.usage.input_tokens)
    assert whole.parse().model_dump()["content"] == first.model_dump()["content"]
    assert upstream_calls(fake_provider, prompt) == 1


def test_responses_streams_are_stored_and_replayed(cw: Weir, fake_provider: FakeProvider) -> None:
    _, key = new_agent(cw)
    prompt = f"Responses, streamed. {uuid.uuid4()}"
    with oai(cw, key) as c:

        def ask(answer: str) -> tuple[Any, str | None, list[str]]:
            with c.responses.with_streaming_response.create(model="gpt-c", input=prompt, stream=True, extra_headers=say(answer)) as r:
                header = r.headers.get("x-weir-cache")
                events = list(r.parse())
            done = [e for e in events if e.type == "response.completed"]
            assert len(done) == 1
            return done[0].response, header, ["".join(e.delta for e in events if e.type == "response.output_text.delta")]

        first, h1, text1 = ask("Responses answer.")
        second, h2, text2 = ask("must not be seen")
        whole = c.responses.with_raw_response.create(model="gpt-c", input=prompt, extra_headers=say("x"))
    assert (h1, h2, whole.headers.get("x-weir-cache")) == ("miss", "hit", "hit")
    assert text1 == text2 == ["Responses answer."]
    assert second.output_text == first.output_text == whole.parse().output_text == "Responses answer."
    assert second.usage and first.usage and second.usage.total_tokens == first.usage.total_tokens
    assert upstream_calls(fake_provider, prompt) == 1


def test_the_admin_api_purges_an_agents_or_a_models_answers(cw: Weir) -> None:
    name, key = new_agent(cw)
    _, other_key = new_agent(cw)
    prompt = f"Purge. {uuid.uuid4()}"

    def purge(**params: str) -> Any:
        r = cw.admin_http.delete(f"{cw.admin}/api/v1/cache", params=params, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 200, r.text
        return r.json()["purged"]

    with oai(cw, key) as c, oai(cw, other_key) as o:
        assert chat(c, prompt, "mine")[1] == "miss"
        assert chat(o, prompt, "theirs")[1] == "miss"
        assert purge(agent=name) == 1
        assert chat(c, prompt, "mine again")[:2] == ("mine again", "miss")
        assert chat(o, prompt)[:2] == ("theirs", "hit"), "another agent's answers stay"
        assert purge(model="gpt-c") >= 2
        assert chat(o, prompt, "theirs again")[:2] == ("theirs again", "miss")
    bad = cw.admin_http.delete(f"{cw.admin}/api/v1/cache", params={"agent": "nobody-here"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert bad.status_code == 404
    unauthenticated = cw.admin_http.delete(f"{cw.admin}/api/v1/cache")
    assert unauthenticated.status_code == 401
    misspelt = cw.admin_http.delete(f"{cw.admin}/api/v1/cache", params={"agnet": name}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert misspelt.status_code == 400 and misspelt.json()["error"]["code"] == "invalid_request", misspelt.text


def test_the_admin_api_turns_the_cache_on_and_off_per_agent_and_per_model_within_two_seconds(cw: Weir) -> None:
    name, key = new_agent(cw)
    with oai(cw, key) as c:
        # A model the config leaves uncached, turned on for this agent with its own TTL.
        cw.admin_put(f"/api/v1/cache/agents/{name}", {"enabled": True, "ttl_secs": 60})
        prompt = f"Now cached. {uuid.uuid4()}"
        eventually(lambda: chat(c, f"probe {uuid.uuid4()}", model="gpt-uncached")[1] == "miss" or None, 2.5, "the agent's setting to apply")
        assert chat(c, prompt, "on", model="gpt-uncached")[:2] == ("on", "miss")
        assert chat(c, prompt, "x", model="gpt-uncached")[:2] == ("on", "hit")
        listed = cw.admin_get("/api/v1/cache").json()
        assert listed["agents"][name] == {"enabled": True, "ttl_secs": 60, "semantic": None}
        assert listed["config_models"]["gpt-uncached"] == {"enabled": False, "ttl_secs": None, "semantic": None}
        assert listed["enabled"] is True and listed["shared"] is False
        # The agent's setting removed, the model's turned off: neither looked up nor stored.
        cw.admin_put(f"/api/v1/cache/agents/{name}", {})
        cw.admin_put("/api/v1/cache/models/gpt-c", {"enabled": False})
        try:
            eventually(lambda: chat(c, f"probe {uuid.uuid4()}")[1] is None or None, 2.5, "the model's setting to apply")
            other = f"Off now. {uuid.uuid4()}"
            assert chat(c, other, "a")[:2] == ("a", None)
            assert chat(c, other, "b")[:2] == ("b", None)
        finally:
            cw.admin_put("/api/v1/cache/models/gpt-c", {})
        eventually(lambda: chat(c, f"probe {uuid.uuid4()}")[1] == "miss" or None, 2.5, "the model's setting to be removed")
    for path, body, status in [
        ("/api/v1/cache/agents/nobody-here", {"enabled": True}, 404),
        ("/api/v1/cache/models/no-such-model", {"enabled": True}, 404),
        (f"/api/v1/cache/agents/{name}", {"ttl_secs": 0}, 400),
        (f"/api/v1/cache/agents/{name}", {"ttl_secs": 2_592_001}, 400),
        (f"/api/v1/cache/agents/{name}", {"ttl_secs": 2_592_000}, 200),
        (f"/api/v1/cache/agents/{name}", {"enabled": "yes"}, 400),
        (f"/api/v1/cache/agents/{name}", {"on": True}, 400),
    ]:
        r = cw.admin_http.put(f"{cw.admin}{path}", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == status, (path, body, r.status_code, r.text)


def test_the_admin_api_sets_and_lists_the_semantic_cache_per_agent_and_per_model(cw: Weir) -> None:
    name, _ = new_agent(cw)

    def listed() -> dict[str, Any]:
        r = cw.admin_get("/api/v1/cache")
        assert r.status_code == 200, r.text
        return r.json()

    assert listed()["semantic"] is False, "the config's default: off"
    # An agent's: answered as stored, listed, and changed in place by the next PUT.
    assert cw.admin_put(f"/api/v1/cache/agents/{name}", {"semantic": True}).json() == {"enabled": None, "ttl_secs": None, "semantic": True}
    assert listed()["agents"][name] == {"enabled": None, "ttl_secs": None, "semantic": True}
    cw.admin_put(f"/api/v1/cache/agents/{name}", {"semantic": False, "ttl_secs": 30})
    assert listed()["agents"][name] == {"enabled": None, "ttl_secs": 30, "semantic": False}
    # A model's, with the cache itself.
    try:
        assert cw.admin_put("/api/v1/cache/models/gpt-c2", {"semantic": False, "enabled": True}).json() == {"enabled": True, "ttl_secs": None, "semantic": False}
        assert listed()["models"]["gpt-c2"] == {"enabled": True, "ttl_secs": None, "semantic": False}
    finally:
        cw.admin_put("/api/v1/cache/models/gpt-c2", {})
    assert "gpt-c2" not in listed()["models"]
    # Nothing set removes the agent's own, semantic included.
    cw.admin_put(f"/api/v1/cache/agents/{name}", {})
    assert name not in listed()["agents"]
    for path, body, why in [
        (f"/api/v1/cache/agents/{name}", {"semantic": True, "semantic_threshold": 0.9}, "unknown field `semantic_threshold`"),
        ("/api/v1/cache/models/gpt-c2", {"semantik": True}, "unknown field `semantik`"),
        (f"/api/v1/cache/agents/{name}", {"semantic": "on"}, "invalid type"),
    ]:
        r = cw.admin_http.put(f"{cw.admin}{path}", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request" and why in r.json()["error"]["message"], (path, body, r.status_code, r.text)
    assert name not in listed()["agents"] and "gpt-c2" not in listed()["models"], "a refused body stores nothing"


def test_the_console_shows_hits_links_a_hit_to_its_origin_and_sets_and_purges_the_cache(cw: Weir) -> None:
    name, key = new_agent(cw)
    http = httpx.Client(base_url=cw.admin, headers={"Origin": cw.admin}, follow_redirects=True, timeout=10)
    assert http.post("/sign-in", data={"token": ADMIN_TOKEN}).status_code == 200
    prompt = f"Console. {uuid.uuid4()}"
    with oai(cw, key) as c:
        _, _, origin = chat(c, prompt, "stored")
        _, outcome, rid = chat(c, prompt)
        assert outcome == "hit"
        hit = cw.audit_event(rid)
        cw.audit_event(origin)
        # The event page says it was a hit, what it saved, and links to the call it came from.
        page = http.get(f"/events/{hit['id']}").text
        assert "answered from the cache" in page and f'href="/traces?request_id={origin}"' in page
        assert origin in http.get("/traces", params={"request_id": origin}).text
        # The overview: hits over calls, and per agent.
        overview = http.get("/").text
        assert "Response cache" in overview and f'href="/agents/{name}"' in overview.split('id="cache"')[1]
        # The agent's page turns the cache off for it; every replica applies it within 2 s.
        agent_page = http.get(f"/agents/{name}").text
        csrf = re.findall(r'name="csrf" value="([^"]+)"', agent_page)[0]
        assert 'id="cache"' in agent_page
        assert http.post(f"/agents/{name}/cache", data={"csrf": csrf, "enabled": "off", "ttl_secs": ""}).status_code == 200
        assert cw.admin_get("/api/v1/cache").json()["agents"][name] == {"enabled": False, "ttl_secs": None, "semantic": None}
        eventually(lambda: chat(c, f"probe {uuid.uuid4()}")[1] is None or None, 2.5, "the console's setting to apply")
        assert http.post(f"/agents/{name}/cache", data={"csrf": csrf, "enabled": "", "ttl_secs": ""}).status_code == 200
        assert name not in cw.admin_get("/api/v1/cache").json()["agents"]
        eventually(lambda: chat(c, prompt)[1] == "hit" or None, 2.5, "the agent's setting to be removed")
        # Purged from the agent's page: the next call misses.
        assert http.post(f"/agents/{name}/cache/purge", data={"csrf": csrf}).status_code == 200
        assert chat(c, prompt, "after the purge")[:2] == ("after the purge", "miss")
        # The models page sets a model's TTL and purges a model's answers.
        models_page = http.get("/models").text
        assert "Response cache by model" in models_page
        assert http.post("/models/cache", data={"csrf": csrf, "model": "gpt-c2", "enabled": "", "ttl_secs": "90"}).status_code == 200
        assert cw.admin_get("/api/v1/cache").json()["models"]["gpt-c2"] == {"enabled": None, "ttl_secs": 90, "semantic": None}
        assert http.post("/models/cache", data={"csrf": csrf, "model": "gpt-c2", "enabled": "", "ttl_secs": ""}).status_code == 200
        assert "gpt-c2" not in cw.admin_get("/api/v1/cache").json()["models"]
        assert http.post("/models/cache/purge", data={"csrf": csrf, "model": "gpt-c"}).status_code == 200
        assert chat(c, prompt, "after the model purge")[:2] == ("after the model purge", "miss")
        # A TTL that is not a number is refused, saying why.
        bad = http.post(f"/agents/{name}/cache", data={"csrf": csrf, "enabled": "on", "ttl_secs": "soon"})
        assert bad.status_code == 400 and "whole number of seconds" in bad.text
    http.close()


def test_the_console_sets_the_semantic_cache_for_an_agent_and_a_model_and_shows_it(cw: Weir) -> None:
    name, _ = new_agent(cw)
    http = httpx.Client(base_url=cw.admin, headers={"Origin": cw.admin}, follow_redirects=True, timeout=10)
    assert http.post("/sign-in", data={"token": ADMIN_TOKEN}).status_code == 200

    def cache_section(path: str) -> str:
        page = http.get(path)
        assert page.status_code == 200, page.text
        return page.text.split('id="cache"')[1]

    before = cache_section(f"/agents/{name}")
    assert '<select name="semantic">' in before and "semantic on" not in before
    csrf = re.findall(r'name="csrf" value="([^"]+)"', http.get(f"/agents/{name}").text)[0]
    try:
        assert http.post(f"/agents/{name}/cache", data={"csrf": csrf, "enabled": "", "ttl_secs": "", "semantic": "on"}).status_code == 200
        assert cw.admin_get("/api/v1/cache").json()["agents"][name] == {"enabled": None, "ttl_secs": None, "semantic": True}
        assert "on or off as configured, semantic on" in cache_section(f"/agents/{name}")
        assert http.post(f"/agents/{name}/cache", data={"csrf": csrf, "enabled": "on", "ttl_secs": "60", "semantic": "off"}).status_code == 200
        assert cw.admin_get("/api/v1/cache").json()["agents"][name] == {"enabled": True, "ttl_secs": 60, "semantic": False}
        assert "on, answers kept 60 s, semantic off" in cache_section(f"/agents/{name}")
        # The models page: the default, and a model's own.
        assert "; semantic off." in cache_section("/models"), "the config's default"
        assert http.post("/models/cache", data={"csrf": csrf, "model": "gpt-c2", "enabled": "", "ttl_secs": "", "semantic": "on"}).status_code == 200
        assert cw.admin_get("/api/v1/cache").json()["models"]["gpt-c2"] == {"enabled": None, "ttl_secs": None, "semantic": True}
        assert "<td>gpt-c2</td><td>on or off as configured, semantic on</td>" in cache_section("/models")
    finally:
        http.post(f"/agents/{name}/cache", data={"csrf": csrf, "enabled": "", "ttl_secs": "", "semantic": ""})
        http.post("/models/cache", data={"csrf": csrf, "model": "gpt-c2", "enabled": "", "ttl_secs": "", "semantic": ""})
    # "As configured" everywhere removes the agent's own and the model's own.
    listed = cw.admin_get("/api/v1/cache").json()
    assert name not in listed["agents"] and "gpt-c2" not in listed["models"]
    http.close()
