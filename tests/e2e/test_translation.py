"""Protocol translation: every model can be called from either protocol.

The official `openai` SDK calls `claude-test` (an Anthropic-kind provider) through chat
completions and responses, and the official `anthropic` SDK calls `gpt-test` (an OpenAI-kind
provider). Each test checks the request as the fake provider received it (translated into the
provider's protocol), the answer as the SDK parsed it (translated back, whole or streamed), and
the audit event (`operation` is the client's protocol, `upstream_operation` the provider's).
Errors reach the client in its own protocol's shape, what has no counterpart is refused before
anything goes upstream, failover may cross provider kinds, and same-protocol calls are passed
through untouched.

Both Weir backends share one fake provider, so every test finds its own requests in the fake's
log by a unique marker in the conversation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx
import openai
import pytest

from conftest import PROVIDER_KEY, REPLY, REPLY_TOKENS, FakeProvider, Weir

MAX_TOKENS = 64
# The fake's thinking block, when thinking is enabled on an Anthropic request.
THOUGHT = "I should answer briefly."
# A single-target model is tried this many times on 429 and 5xx (`[failover] max_attempts`).
ATTEMPTS = 3
# Fixed usage for the fake to report: prompt tokens, completion tokens, cached prompt tokens.
USAGE = {"usage_in": 40, "usage_out": 7, "cached_in": 12}
USAGE_OUT, CACHED_IN = USAGE["usage_out"], USAGE["cached_in"]

IMAGE_URL = "https://example.com/cat.png"
# A 1x1 PNG.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PNG_DATA_URL = f"data:image/png;base64,{PNG_B64}"

# Tools, with the arguments the fake generates from their schemas (strings "fake" or the first
# enum value, integers 1, numbers 1.5, booleans true) and what the client's tools answer.
TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "get_weather": (
        "The current weather in a city",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city", "unit", "days"],
        },
    ),
    "get_time": (
        "The local time in a timezone",
        {
            "type": "object",
            "properties": {"timezone": {"type": "string"}, "dst": {"type": "boolean"}},
            "required": ["timezone", "dst"],
        },
    ),
}
ARGS: dict[str, dict[str, Any]] = {
    "get_weather": {"city": "fake", "unit": "celsius", "days": 1},
    "get_time": {"timezone": "fake", "dst": True},
}
WEATHER_RESULT = "fake: 21 degrees"
TIME_RESULT = "fake: 12:00"

# A structured-output schema and the JSON the fake generates from it.
CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["city", "town"]},
        "population": {"type": "integer"},
        "area_km2": {"type": "number"},
        "capital": {"type": "boolean"},
        "districts": {"type": "array", "items": {"type": "string"}},
        "mayor": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "kind", "population", "area_km2", "capital", "districts", "mayor"],
    "additionalProperties": False,
}
CITY = {"name": "fake", "kind": "city", "population": 1, "area_km2": 1.5, "capital": True, "districts": [], "mayor": {"name": "fake"}}


# -------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------


def unique(label: str) -> str:
    return f"{label}-{time.time_ns()}"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def sent_with(fake: FakeProvider, marker: str) -> list[dict[str, Any]]:
    """The requests the fake received that carry `marker`, oldest first."""
    return [r for r in fake.requests() if marker in json.dumps(r["body"])]


def last_sent(fake: FakeProvider, marker: str, path: str) -> dict[str, Any]:
    """The body of the last request carrying `marker`, which must have gone to `path`."""
    sent = sent_with(fake, marker)
    assert sent, f"no request carrying {marker!r} reached the fake provider"
    assert sent[-1]["path"] == path, f"the request went to {sent[-1]['path']}, not {path}: {sent[-1]['body']}"
    return sent[-1]["body"]


def conversation(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The role and text of each message of a request body."""
    return [(m["role"], text_of(m["content"])) for m in body["messages"]]


def assert_anthropic_hello(body: dict[str, Any], marker: str) -> None:
    """A "Say hello" request as the Anthropic provider received it: for claude-x, with a max_tokens."""
    assert body["model"] == "claude-x"
    # Anthropic requires max_tokens: Weir sets one when the client did not.
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] >= 1
    assert conversation(body) == [("user", f"Say hello {marker}")]


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of text parts or blocks."""
    if isinstance(content, str):
        return content
    assert isinstance(content, list), f"unexpected content {content!r}"
    return "".join(p.get("text", "") for p in content if p.get("type") in ("text", "input_text", "output_text"))


def script(fake: FakeProvider, *behaviours: dict[str, Any]) -> None:
    """How the fake answers its next requests, one behaviour each."""
    r = httpx.post(f"http://{fake.addr}/_fake/script", json=list(behaviours), timeout=10)
    assert r.status_code == 204, r.text


@contextmanager
def provider_fails(fake: FakeProvider, status: int, marker: str, times: int = 1) -> Iterator[None]:
    """The fake answers its next `times` requests with HTTP `status`. Whatever of that script the
    call carrying `marker` did not use up is spent afterwards, so that it fails no later test."""
    script(fake, *[{"status": status}] * times)
    try:
        yield
    finally:
        for _ in range(times - len(sent_with(fake, marker))):
            httpx.post(
                f"http://{fake.addr}/v1/chat/completions",
                json={"model": "spend-the-script", "messages": [{"role": "user", "content": "spend"}]},
                headers={"Authorization": f"Bearer {PROVIDER_KEY}"},
                timeout=10,
            )


def audited(weir: Weir, request_id: str, operation: str, upstream_operation: str, **expected: Any) -> dict[str, Any]:
    """The call's audit event, which names the client's protocol and the provider's and holds the
    `expected` values (`True` and `False` themselves, not just equal values)."""
    event = weir.audit_event(request_id)
    assert event["operation"] == operation, event
    assert event["upstream_operation"] == upstream_operation, event
    for field, value in expected.items():
        if isinstance(value, bool):
            assert event[field] is value, (field, event)
        else:
            assert event[field] == value, (field, event)
    return event


def cache_usage(prompt: int) -> dict[str, int]:
    """The audited usage of a call the fake answered with USAGE, `prompt` tokens in all."""
    return {"input_tokens": prompt, "output_tokens": USAGE_OUT, "cached_input_tokens": CACHED_IN}


def consume(stream: Any) -> tuple[str, list[Any]]:
    """A stream's request id and all it carried."""
    request_id: str = stream.response.headers["x-request-id"]
    return request_id, list(stream)


def openai_error(err: openai.APIStatusError, status: int) -> dict[str, Any]:
    """The `error` object of an answer in OpenAI's error shape."""
    assert err.status_code == status
    body = err.response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error: dict[str, Any] = body["error"]
    assert {"message", "type", "code", "param"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"], error
    return error


def anthropic_error(err: anthropic.APIStatusError, status: int) -> dict[str, Any]:
    """The `error` object of an answer in Anthropic's error shape."""
    assert err.status_code == status
    body = err.body
    assert isinstance(body, dict) and body.get("type") == "error", body
    error: dict[str, Any] = body["error"]
    assert isinstance(error.get("type"), str) and error["type"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    return error


@contextmanager
def refused_before_upstream(fake: FakeProvider, label: str, field: str, sdk: Any) -> Iterator[str]:
    """Gives the marker for a request that the client of `sdk` (the `openai` or the `anthropic`
    module) must see refused, before it reaches the provider, with a 400 in its protocol's error
    shape that names `field`."""
    marker = unique(f"{label}-refused-{field}")
    with pytest.raises(sdk.BadRequestError) as exc:
        yield marker
    error = openai_error(exc.value, 400) if sdk is openai else anthropic_error(exc.value, 400)
    assert error["type"] == "invalid_request_error"
    assert field in error["message"], error
    assert not sent_with(fake, marker), "the refused request reached the provider"


def assert_provider_failure_passed_on(weir: Weir, err: Any, error: dict[str, Any], operation: str, upstream_operation: str) -> None:
    """The fake's failure reached the client as `error`, the `error` object of the client's shape,
    and the call was audited as an error with the status the client got."""
    assert "told to fail" in error["message"], error
    audited(weir, err.response.headers["x-request-id"], operation, upstream_operation, outcome="error", status_code=err.status_code)


def run_tool(name: str, arguments: dict[str, Any]) -> str:
    """The client's side of a tool call."""
    if name == "get_weather":
        return f"{arguments['city']}: 21 degrees"
    if name == "get_time":
        return f"{arguments['timezone']}: 12:00"
    raise AssertionError(f"the model called an unknown tool {name!r}")


def chat_tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "description": TOOLS[n][0], "parameters": TOOLS[n][1]}} for n in names]


def responses_tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "name": n, "description": TOOLS[n][0], "parameters": TOOLS[n][1]} for n in names]


def anthropic_tools(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "description": TOOLS[n][0], "input_schema": TOOLS[n][1]} for n in names]


def assert_anthropic_tools(body: dict[str, Any], *names: str) -> None:
    """The tools reached an Anthropic provider in its shape."""
    assert [(t["name"], t.get("description"), t["input_schema"]) for t in body["tools"]] == [(n, TOOLS[n][0], TOOLS[n][1]) for n in names]
    assert all("parameters" not in t and "function" not in t for t in body["tools"]), body["tools"]


def assert_chat_tools(body: dict[str, Any], *names: str) -> None:
    """The tools reached an OpenAI provider as function tools."""
    assert [(t["type"], t["function"]["name"], t["function"].get("description"), t["function"]["parameters"]) for t in body["tools"]] == [
        ("function", n, TOOLS[n][0], TOOLS[n][1]) for n in names
    ]


def assert_thinking_enabled(body: dict[str, Any]) -> None:
    """An Anthropic request with extended thinking: a budget, below `max_tokens`."""
    thinking = body.get("thinking")
    assert isinstance(thinking, dict) and thinking.get("type") == "enabled", body
    budget = thinking.get("budget_tokens")
    assert isinstance(budget, int) and budget >= 1024, thinking
    assert body["max_tokens"] > budget, f"max_tokens {body['max_tokens']} leaves no room after the thinking budget {budget}"


def assembled_tool_calls(chunks: list[Any]) -> list[dict[str, Any]]:
    """The tool calls of a chat stream, put together from their deltas: the first delta of each
    index carries the call's id and name, the following ones pieces of its arguments."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                function = delta.function
                if delta.index not in calls:
                    assert delta.id and function is not None and function.name, f"the first delta of tool call {delta.index} does not name it: {delta}"
                    calls[delta.index] = {"id": delta.id, "name": function.name, "arguments": ""}
                if function is not None and function.arguments:
                    calls[delta.index]["arguments"] += function.arguments
    assert sorted(calls) == list(range(len(calls))), f"tool call indexes {sorted(calls)}"
    return [calls[i] for i in sorted(calls)]


def finish_reasons(chunks: list[Any]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


def chat_text(chunks: list[Any]) -> str:
    """The answer a chat stream carried, put together from its content deltas."""
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def last_chunk_usage(chunks: list[Any]) -> Any:
    """The usage of a chat stream that asked for it: in its last chunk, which has no choices, and
    in no other chunk."""
    assert len(chunks) >= 2
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None, "the last chunk carries no usage"
    assert all(c.choices for c in chunks[:-1])
    assert all(c.usage is None for c in chunks[:-1])
    return last.usage


def assert_reply_usage(prompt_tokens: int, completion_tokens: int, total_tokens: int) -> None:
    """The usage of the fake's reply: its tokens, some prompt tokens, and the sum of both."""
    assert completion_tokens == REPLY_TOKENS
    assert prompt_tokens > 0
    assert total_tokens == prompt_tokens + REPLY_TOKENS


def streamed_function_call(events: list[Any]) -> tuple[Any, Any]:
    """The one function call a response stream added, and its arguments put together from their
    deltas."""
    added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert len(added) == 1, [e.type for e in events]
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta" and e.output_index == added[0].output_index]
    assert pieces, "no function_call_arguments.delta event"
    return added[0].item, json.loads("".join(pieces))


def streamed_tool_use(events: list[Any]) -> tuple[Any, Any]:
    """The `content_block_start` event of the one tool use a message stream carried, and the tool
    use's input put together from its JSON deltas."""
    starts = [e for e in events if e.type == "content_block_start" and e.content_block.type == "tool_use"]
    assert len(starts) == 1, [e.type for e in events]
    index = starts[0].index
    pieces = [e.delta.partial_json for e in events if e.type == "content_block_delta" and e.index == index and e.delta.type == "input_json_delta"]
    assert pieces, "no input_json_delta event"
    return starts[0], json.loads("".join(pieces))


def chat_tool_turn(content: str | None, calls: list[Any], **extra: Any) -> list[dict[str, Any]]:
    """What a chat client sends back after a turn that called tools: that assistant message (with
    the `extra` fields), then a tool message with the result of each call."""
    assistant = {
        "role": "assistant",
        "content": content,
        "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}} for c in calls],
        **extra,
    }
    return [assistant, *({"role": "tool", "tool_call_id": c.id, "content": run_tool(c.function.name, json.loads(c.function.arguments))} for c in calls)]


def responses_tool_turn(question: str, output: list[Any]) -> list[dict[str, Any]]:
    """The input that goes on from a response that called functions: the question, the response's
    output replayed, and the result of each function call in it."""
    replay = [item.model_dump(mode="json", exclude_none=True) for item in output]
    calls = [item for item in output if item.type == "function_call"]
    results = [{"type": "function_call_output", "call_id": c.call_id, "output": run_tool(c.name, json.loads(c.arguments))} for c in calls]
    return [{"role": "user", "content": question}, *replay, *results]


def anthropic_tool_turn(content: list[Any]) -> list[dict[str, Any]]:
    """What an Anthropic client sends back after a turn that used tools: that assistant turn as it
    came, then one user turn with the result of each tool use."""
    uses = [b for b in content if b.type == "tool_use"]
    return [
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": run_tool(u.name, dict(u.input))} for u in uses]},
    ]


def assert_anthropic_tool_results(message: dict[str, Any], *results: tuple[str, str]) -> None:
    """A user message as an Anthropic provider received it, made of a tool result for each
    (tool use id, result)."""
    assert message["role"] == "user"
    assert [(b["type"], b["tool_use_id"], text_of(b["content"])) for b in message["content"]] == [("tool_result", id_, text) for id_, text in results]


def assert_weather_turn_reached_anthropic(body: dict[str, Any], call_id: str) -> None:
    """A request to an Anthropic provider that ends with the get_weather call `call_id` as the
    assistant's tool use, then its result."""
    assistant, results = body["messages"][-2:]
    assert assistant["role"] == "assistant"
    uses = [b for b in assistant["content"] if b["type"] == "tool_use"]
    assert [(b["id"], b["name"], b["input"]) for b in uses] == [(call_id, "get_weather", ARGS["get_weather"])]
    assert_anthropic_tool_results(results, (call_id, WEATHER_RESULT))


def assert_chat_tool_results(messages: list[dict[str, Any]], *results: tuple[str, str]) -> None:
    """The messages an OpenAI provider received after the tool calls: a tool message for each
    (tool call id, result)."""
    assert [(m["role"], m["tool_call_id"], text_of(m["content"])) for m in messages] == [("tool", id_, text) for id_, text in results]


def assert_anthropic_images(body: dict[str, Any]) -> None:
    """The last message reached an Anthropic provider with IMAGE_URL as a URL source, then the PNG
    as a base64 source."""
    images = [b for b in body["messages"][-1]["content"] if b["type"] == "image"]
    assert [b["source"] for b in images] == [
        {"type": "url", "url": IMAGE_URL},
        {"type": "base64", "media_type": "image/png", "data": PNG_B64},
    ]


def assert_untouched_but_model(body: dict[str, Any], raw: Any) -> None:
    """The provider received what the SDK sent, but for the model's name."""
    sent_by_sdk = json.loads(raw.http_request.content)
    assert {k: v for k, v in body.items() if k != "model"} == {k: v for k, v in sent_by_sdk.items() if k != "model"}


def gpt_message(anthropic_client: anthropic.Anthropic, prompt: str, **params: Any) -> Any:
    """gpt-test's answer to `prompt` through the Anthropic SDK, with up to MAX_TOKENS tokens."""
    return anthropic_client.messages.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=user(prompt), **params)


def anthropic_reported_prompt(fake: FakeProvider, anthropic_client: anthropic.Anthropic) -> int:
    """The prompt tokens the fake reports for USAGE to an Anthropic client, untranslated: fresh
    input, cache reads and cache writes together."""
    script(fake, USAGE)
    usage = anthropic_client.messages.create(model="claude-test", max_tokens=MAX_TOKENS, messages=user(unique("usage-reference"))).usage
    assert usage.cache_read_input_tokens == CACHED_IN
    assert usage.output_tokens == USAGE_OUT
    return usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)


def openai_reported_prompt(fake: FakeProvider, openai_client: openai.OpenAI) -> int:
    """The prompt tokens (cached ones included) the fake reports for USAGE to an OpenAI client."""
    script(fake, USAGE)
    usage = openai_client.chat.completions.create(model="gpt-test", messages=user(unique("usage-reference"))).usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == CACHED_IN
    assert usage.completion_tokens == USAGE_OUT
    return usage.prompt_tokens


# -------------------------------------------------------------------------------------------
# OpenAI chat completions → an Anthropic provider
# -------------------------------------------------------------------------------------------


def test_chat_completion_from_an_anthropic_model(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-text")
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-test", messages=user(f"Say hello {marker}"))
    request_id = raw.headers["x-request-id"]
    completion = raw.parse()

    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == REPLY
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert_reply_usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert_anthropic_hello(body, marker)
    assert not body.get("stream")
    assert "max_completion_tokens" not in body and "stream_options" not in body

    event = audited(weir, request_id, "chat", "messages", outcome="ok", status_code=200, streamed=False)
    assert (event["provider"], event["model_requested"], event["model_served"]) == ("fake-anthropic", "claude-test", "claude-x")
    assert (event["input_tokens"], event["output_tokens"]) == (usage.prompt_tokens, REPLY_TOKENS)


def test_chat_stream_from_an_anthropic_model_without_usage(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-stream")
    request_id, chunks = consume(openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"), stream=True))

    assert chunks, "the stream carried no chunk"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    # No usage asked for: no usage chunk.
    assert all(c.choices for c in chunks), [c for c in chunks if not c.choices]
    assert all(c.usage is None for c in chunks)
    assert chat_text(chunks) == REPLY
    assert finish_reasons(chunks) == ["stop"]
    assert chunks[-1].choices[0].finish_reason == "stop"

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["stream"] is True
    assert "stream_options" not in body

    event = audited(weir, request_id, "chat", "messages", outcome="ok", streamed=True, usage_estimated=False, output_tokens=REPLY_TOKENS)
    assert event["input_tokens"] > 0


def test_chat_stream_from_an_anthropic_model_with_usage(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-stream-usage")
    stream = openai_client.chat.completions.create(
        model="claude-test", messages=user(f"Say hello {marker}"), stream=True, stream_options={"include_usage": True}
    )
    request_id, chunks = consume(stream)

    usage = last_chunk_usage(chunks)
    assert_reply_usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    assert chat_text(chunks[:-1]) == REPLY
    assert finish_reasons(chunks) == ["stop"]
    assert last_sent(fake_provider, marker, "/v1/messages")["stream"] is True

    audited(weir, request_id, "chat", "messages", streamed=True, input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens)


def test_chat_stream_from_an_anthropic_model_is_server_sent_chunks_ending_with_done(weir: Weir, fake_provider: FakeProvider) -> None:
    marker = unique("chat-stream-wire")
    with httpx.stream(
        "POST",
        f"{weir.base}/v1/chat/completions",
        headers={"Authorization": f"Bearer {weir.key}"},
        json={"model": "claude-test", "messages": user(f"Say hello {marker}"), "stream": True},
        timeout=30,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        data = [line[len("data:") :].strip() for line in r.iter_lines() if line.startswith("data:")]

    assert data and data[-1] == "[DONE]", data[-3:]
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == REPLY
    last_sent(fake_provider, marker, "/v1/messages")


def test_chat_system_and_developer_messages_become_the_anthropic_system_prompt(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-system")
    messages = [
        {"role": "system", "content": f"You are terse. {marker}"},
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Say hello to the tests"},
    ]
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-test", messages=messages)
    assert raw.parse().choices[0].message.content == REPLY

    body = last_sent(fake_provider, marker, "/v1/messages")
    system = text_of(body["system"])
    assert f"You are terse. {marker}" in system and "Answer in English." in system, system
    assert system.index("You are terse.") < system.index("Answer in English.")
    assert conversation(body) == [
        ("user", "Hi"),
        ("assistant", "Hello! How can I help?"),
        ("user", "Say hello to the tests"),
    ]
    audited(weir, raw.headers["x-request-id"], "chat", "messages")


def test_chat_tool_round_trip_through_an_anthropic_model(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-tools")
    messages: list[dict[str, Any]] = user(f"What is the weather in Paris? {marker}")
    first = openai_client.chat.completions.create(model="claude-test", messages=messages, tools=chat_tools("get_weather"))

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1, calls
    call = calls[0]
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == ARGS["get_weather"]
    assert_anthropic_tools(last_sent(fake_provider, marker, "/v1/messages"), "get_weather")

    # The client runs the tool and sends its result back.
    messages += chat_tool_turn(choice.message.content, [call])
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-test", messages=messages, tools=chat_tools("get_weather"))
    final = raw.parse()
    assert final.choices[0].message.content == f"Tool results: {WEATHER_RESULT}"
    assert final.choices[0].finish_reason == "stop"

    assert_weather_turn_reached_anthropic(last_sent(fake_provider, marker, "/v1/messages"), call.id)
    audited(weir, raw.headers["x-request-id"], "chat", "messages")


def test_chat_streamed_tool_call_from_an_anthropic_model_is_assembled_from_deltas(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-stream-tools")
    stream = openai_client.chat.completions.create(
        model="claude-test", messages=user(f"What is the weather in Paris? {marker}"), tools=chat_tools("get_weather"), stream=True
    )
    request_id, chunks = consume(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    calls = assembled_tool_calls(chunks)
    assert [c["name"] for c in calls] == ["get_weather"]
    assert json.loads(calls[0]["arguments"]) == ARGS["get_weather"]
    assert finish_reasons(chunks) == ["tool_calls"]
    assert last_sent(fake_provider, marker, "/v1/messages")["stream"] is True
    audited(weir, request_id, "chat", "messages", streamed=True)


def test_chat_parallel_tool_calls_from_an_anthropic_model_round_trip(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-parallel")
    tools = chat_tools("get_weather", "get_time")
    messages: list[dict[str, Any]] = user(f"Weather and time in Paris? {marker}")
    first = openai_client.chat.completions.create(model="claude-parallel", messages=messages, tools=tools)

    assert first.choices[0].finish_reason == "tool_calls"
    calls = first.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in calls] == [ARGS["get_weather"], ARGS["get_time"]]
    assert len({c.id for c in calls}) == 2

    messages += chat_tool_turn(first.choices[0].message.content, calls)
    final = openai_client.chat.completions.create(model="claude-parallel", messages=messages, tools=tools)
    assert final.choices[0].message.content == f"Tool results: {WEATHER_RESULT} | {TIME_RESULT}"

    # Both results in the one user message Anthropic expects after the tool uses.
    results = last_sent(fake_provider, marker, "/v1/messages")["messages"][-1]
    assert_anthropic_tool_results(results, (calls[0].id, WEATHER_RESULT), (calls[1].id, TIME_RESULT))


def test_chat_streamed_parallel_tool_calls_from_an_anthropic_model_keep_their_indexes(
    openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-stream-parallel")
    stream = openai_client.chat.completions.create(
        model="claude-parallel", messages=user(f"Weather and time in Paris? {marker}"), tools=chat_tools("get_weather", "get_time"), stream=True
    )
    chunks = list(stream)

    calls = assembled_tool_calls(chunks)
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c["arguments"]) for c in calls] == [ARGS["get_weather"], ARGS["get_time"]]
    assert calls[0]["id"] != calls[1]["id"]
    assert finish_reasons(chunks) == ["tool_calls"]
    last_sent(fake_provider, marker, "/v1/messages")


@pytest.mark.parametrize(
    ("tool_choice", "anthropic_choice", "called"),
    [
        pytest.param("auto", {"type": "auto"}, ["get_weather"], id="auto"),
        pytest.param("required", {"type": "any"}, ["get_weather"], id="required"),
        pytest.param({"type": "function", "function": {"name": "get_time"}}, {"type": "tool", "name": "get_time"}, ["get_time"], id="named"),
        pytest.param("none", {"type": "none"}, [], id="none"),
    ],
)
def test_chat_tool_choice_becomes_the_anthropic_tool_choice(
    openai_client: openai.OpenAI, fake_provider: FakeProvider, tool_choice: Any, anthropic_choice: dict[str, Any], called: list[str]
) -> None:
    marker = unique("chat-tool-choice")
    completion = openai_client.chat.completions.create(
        model="claude-test", messages=user(f"Weather or time? {marker}"), tools=chat_tools("get_weather", "get_time"), tool_choice=tool_choice
    )

    body = last_sent(fake_provider, marker, "/v1/messages")
    # Anthropic's default with tools is auto: leaving it out says the same.
    sent_choice = body.get("tool_choice", {"type": "auto"})
    assert {k: v for k, v in sent_choice.items() if k in ("type", "name")} == anthropic_choice
    message = completion.choices[0].message
    assert [c.function.name for c in message.tool_calls or []] == called
    if called:
        assert completion.choices[0].finish_reason == "tool_calls"
    else:
        assert message.content == REPLY
        assert completion.choices[0].finish_reason == "stop"


def test_chat_parallel_tool_calls_false_disables_anthropic_parallel_tool_use(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-no-parallel")
    completion = openai_client.chat.completions.create(
        model="claude-test", messages=user(f"Weather? {marker}"), tools=chat_tools("get_weather", "get_time"), parallel_tool_calls=False
    )
    assert [c.function.name for c in completion.choices[0].message.tool_calls or []] == ["get_weather"]

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["tool_choice"]["type"] == "auto"
    assert body["tool_choice"]["disable_parallel_tool_use"] is True
    assert "parallel_tool_calls" not in body


def test_chat_images_reach_anthropic_as_url_and_base64_sources(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-images")
    content = [
        {"type": "text", "text": f"What do you see? {marker}"},
        {"type": "image_url", "image_url": {"url": IMAGE_URL}},
        {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
    ]
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-test", messages=[{"role": "user", "content": content}])
    assert raw.parse().choices[0].message.content == f"{REPLY} I see 2 image(s): url {IMAGE_URL}, base64 image/png"

    assert_anthropic_images(last_sent(fake_provider, marker, "/v1/messages"))
    audited(weir, raw.headers["x-request-id"], "chat", "messages")


def test_chat_json_schema_response_format_becomes_the_anthropic_output_format(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-structured")
    completion = openai_client.chat.completions.create(
        model="claude-test",
        messages=user(f"Describe a city {marker}"),
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}},
    )
    assert json.loads(completion.choices[0].message.content or "") == CITY

    body = last_sent(fake_provider, marker, "/v1/messages")
    output_format = body["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert output_format["schema"] == CITY_SCHEMA
    assert "response_format" not in body


def test_chat_reasoning_effort_enables_anthropic_thinking_and_returns_it(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-reasoning")
    completion = openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"), reasoning_effort="low")

    message = completion.choices[0].message
    assert message.content == REPLY
    extra = message.model_extra or {}
    assert extra.get("reasoning_content") == THOUGHT
    blocks = extra.get("thinking_blocks")
    assert isinstance(blocks, list) and len(blocks) == 1, blocks
    assert blocks[0]["type"] == "thinking"
    assert blocks[0]["thinking"] == THOUGHT
    assert isinstance(blocks[0]["signature"], str) and blocks[0]["signature"]

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert_thinking_enabled(body)
    assert "reasoning_effort" not in body


# A chat request for claude-test to think and call get_weather.
THINKING_WITH_TOOLS: dict[str, Any] = {"tools": chat_tools("get_weather"), "reasoning_effort": "low"}


def _thinking_tool_call(openai_client: openai.OpenAI, messages: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """A thinking turn of claude-test that calls get_weather: the call and the thinking blocks."""
    first = openai_client.chat.completions.create(model="claude-test", messages=messages, **THINKING_WITH_TOOLS)
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    calls = message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]
    blocks = (message.model_extra or {}).get("thinking_blocks")
    assert isinstance(blocks, list) and [b["type"] for b in blocks] == ["thinking"], blocks
    assert blocks[0]["thinking"] == THOUGHT and blocks[0]["signature"]
    return calls[0], blocks


def _after_thinking_tool_call(openai_client: openai.OpenAI, marker: str, *, keep_thinking: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The conversation after claude-test thought and called get_weather and the client answered
    the call, sending the thinking blocks back or not; and those blocks."""
    messages: list[dict[str, Any]] = user(f"What is the weather in Paris? {marker}")
    call, blocks = _thinking_tool_call(openai_client, messages)
    extra = {"thinking_blocks": blocks} if keep_thinking else {}
    return messages + chat_tool_turn(None, [call], **extra), blocks


def test_chat_thinking_blocks_sent_back_let_a_thinking_tool_turn_continue(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-thinking-tools")
    messages, blocks = _after_thinking_tool_call(openai_client, marker, keep_thinking=True)
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-test", messages=messages, **THINKING_WITH_TOOLS)
    assert raw.parse().choices[0].message.content == f"Tool results: {WEATHER_RESULT}"

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert_thinking_enabled(body)
    assistant = body["messages"][-2]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "thinking", "thinking": THOUGHT, "signature": blocks[0]["signature"]}
    assert [b["type"] for b in assistant["content"][1:]] == ["tool_use"]
    audited(weir, raw.headers["x-request-id"], "chat", "messages")


def test_chat_thinking_tool_turn_without_its_thinking_blocks_is_refused_by_the_provider_in_openai_shape(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-thinking-dropped")
    messages, _ = _after_thinking_tool_call(openai_client, marker, keep_thinking=False)
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(model="claude-test", messages=messages, **THINKING_WITH_TOOLS)
    error = openai_error(exc.value, 400)
    assert error["type"] == "invalid_request_error"
    assert "thinking" in error["message"], error

    # The provider refused it, not Weir: it went up without the thinking block.
    sent = sent_with(fake_provider, marker)
    assert [r["path"] for r in sent] == ["/v1/messages", "/v1/messages"]
    assistant = sent[-1]["body"]["messages"][-2]
    assert assistant["role"] == "assistant" and assistant["content"][0]["type"] != "thinking"
    audited(weir, exc.value.response.headers["x-request-id"], "chat", "messages", outcome="error", status_code=400)


def test_chat_stop_sequence_cuts_the_anthropic_answer_and_finishes_with_stop(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-stop")
    completion = openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"), stop=["fake"])

    content = completion.choices[0].message.content or ""
    assert content and content != REPLY and REPLY.startswith(content) and "fake" not in content, content
    assert completion.choices[0].finish_reason == "stop"
    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["stop_sequences"] == ["fake"]
    assert "stop" not in body


@pytest.mark.parametrize("field", ["max_completion_tokens", "max_tokens"])
def test_chat_max_tokens_cuts_the_anthropic_answer_and_finishes_with_length(
    openai_client: openai.OpenAI, fake_provider: FakeProvider, field: str
) -> None:
    marker = unique("chat-max-tokens")
    completion = openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"), **{field: 2})

    assert (completion.choices[0].message.content or "").split() == ["Hello", "from"]
    assert completion.choices[0].finish_reason == "length"
    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["max_tokens"] == 2
    assert "max_completion_tokens" not in body


def test_chat_stream_cut_by_max_tokens_finishes_with_length(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-stream-max-tokens")
    stream = openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"), max_completion_tokens=2, stream=True)
    chunks = list(stream)

    assert chat_text(chunks).split() == ["Hello", "from"]
    assert finish_reasons(chunks) == ["length"]
    assert last_sent(fake_provider, marker, "/v1/messages")["max_tokens"] == 2


def test_chat_user_becomes_anthropic_metadata_and_hints_without_counterpart_are_dropped(
    openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-hints")
    completion = openai_client.chat.completions.create(
        model="claude-test", messages=user(f"Say hello {marker}"), user="end-user-7", temperature=0.5, seed=7, service_tier="flex"
    )
    assert completion.choices[0].message.content == REPLY

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["metadata"] == {"user_id": "end-user-7"}
    assert body["temperature"] == 0.5
    for dropped in ("seed", "service_tier", "user"):
        assert dropped not in body, f"{dropped} reached the Anthropic provider: {body}"


def test_chat_usage_counts_anthropic_cache_reads_as_cached_prompt_tokens(
    weir: Weir, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    prompt = anthropic_reported_prompt(fake_provider, anthropic_client)
    script(fake_provider, USAGE)
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-test", messages=user(unique("chat-cached")))
    usage = raw.parse().usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (prompt, USAGE_OUT, prompt + USAGE_OUT)
    assert usage.prompt_tokens_details.cached_tokens == CACHED_IN
    audited(weir, raw.headers["x-request-id"], "chat", "messages", usage_estimated=False, **cache_usage(prompt))

    # Streamed, with the usage chunk asked for.
    script(fake_provider, USAGE)
    stream = openai_client.chat.completions.create(
        model="claude-test", messages=user(unique("chat-stream-cached")), stream=True, stream_options={"include_usage": True}
    )
    request_id, chunks = consume(stream)
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens_details.cached_tokens) == (prompt, USAGE_OUT, CACHED_IN)
    audited(weir, request_id, "chat", "messages", streamed=True, **cache_usage(prompt))


def test_chat_provider_rate_limit_reaches_the_openai_client_in_its_shape(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-429")
    with provider_fails(fake_provider, 429, marker, times=ATTEMPTS), pytest.raises(openai.RateLimitError) as exc:
        openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"))

    assert {r["path"] for r in sent_with(fake_provider, marker)} == {"/v1/messages"}
    assert_provider_failure_passed_on(weir, exc.value, openai_error(exc.value, 429), "chat", "messages")


def test_chat_provider_bad_request_reaches_the_openai_client_in_its_shape(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("chat-400")
    with provider_fails(fake_provider, 400, marker), pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"))

    assert [r["path"] for r in sent_with(fake_provider, marker)] == ["/v1/messages"]
    error = openai_error(exc.value, 400)
    assert error["type"] == "invalid_request_error"
    assert_provider_failure_passed_on(weir, exc.value, error, "chat", "messages")


CHAT_REFUSALS = [
    pytest.param("n", {"n": 2}, id="n"),
    pytest.param("logprobs", {"logprobs": True}, id="logprobs"),
    pytest.param("top_logprobs", {"top_logprobs": 2}, id="top_logprobs"),
    pytest.param("web_search_options", {"web_search_options": {}}, id="web_search_options"),
    pytest.param("audio", {"audio": {"voice": "alloy", "format": "wav"}}, id="audio"),
    pytest.param("functions", {"functions": [{"name": "get_weather", "parameters": TOOLS["get_weather"][1]}]}, id="functions"),
    pytest.param("function_call", {"function_call": "auto"}, id="function_call"),
    pytest.param("logit_bias", {"logit_bias": {"50256": -100}}, id="logit_bias"),
    pytest.param("store", {"store": True}, id="store"),
    pytest.param("response_format", {"response_format": {"type": "json_object"}}, id="json_object"),
]


@pytest.mark.parametrize(("field", "params"), CHAT_REFUSALS)
def test_chat_to_an_anthropic_model_refuses_what_has_no_counterpart(
    openai_client: openai.OpenAI, fake_provider: FakeProvider, field: str, params: dict[str, Any]
) -> None:
    with refused_before_upstream(fake_provider, "chat", field, openai) as marker:
        openai_client.chat.completions.create(model="claude-test", messages=user(f"Say hello {marker}"), **params)


def test_chat_to_an_anthropic_model_accepts_the_harmless_values_of_refused_fields(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("chat-harmless")
    completion = openai_client.chat.completions.create(
        model="claude-test", messages=user(f"Say hello {marker}"), n=1, logprobs=False, logit_bias={}, store=False
    )
    assert completion.choices[0].message.content == REPLY
    body = last_sent(fake_provider, marker, "/v1/messages")
    for field in ("n", "logprobs", "logit_bias", "store"):
        assert field not in body, f"{field} reached the Anthropic provider: {body}"


# -------------------------------------------------------------------------------------------
# OpenAI responses → an Anthropic provider
# -------------------------------------------------------------------------------------------


def test_response_from_an_anthropic_model(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-text")
    raw = openai_client.responses.with_raw_response.create(model="claude-test", input=f"Say hello {marker}")
    request_id = raw.headers["x-request-id"]
    response = raw.parse()

    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == REPLY
    messages = [item for item in response.output if item.type == "message"]
    assert len(messages) == 1 and messages[0].role == "assistant"
    assert [part.type for part in messages[0].content] == ["output_text"]
    usage = response.usage
    assert usage is not None
    assert_reply_usage(usage.input_tokens, usage.output_tokens, usage.total_tokens)

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert_anthropic_hello(body, marker)
    assert "input" not in body

    event = audited(weir, request_id, "responses", "messages", outcome="ok")
    assert (event["provider"], event["model_served"]) == ("fake-anthropic", "claude-x")
    assert (event["input_tokens"], event["output_tokens"]) == (usage.input_tokens, REPLY_TOKENS)


def test_response_stream_from_an_anthropic_model(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-stream")
    request_id, events = consume(openai_client.responses.create(model="claude-test", input=f"Say hello {marker}", stream=True))

    types = [e.type for e in events]
    assert types[0] == "response.created", types
    assert types[-1] == "response.completed", types
    assert "response.output_item.added" in types
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY
    completed = events[-1].response
    assert completed.status == "completed"
    assert completed.output_text == REPLY
    assert completed.usage is not None and completed.usage.output_tokens == REPLY_TOKENS
    assert last_sent(fake_provider, marker, "/v1/messages")["stream"] is True

    audited(weir, request_id, "responses", "messages", streamed=True, input_tokens=completed.usage.input_tokens, output_tokens=REPLY_TOKENS)


def test_response_instructions_and_multi_turn_input_reach_anthropic(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-system")
    raw = openai_client.responses.with_raw_response.create(
        model="claude-test",
        instructions=f"Be terse. {marker}",
        input=[
            {"role": "user", "content": "Hi"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello! How can I help?", "annotations": []}]},
            {"role": "user", "content": "Say hello to the tests"},
        ],
    )
    assert raw.parse().output_text == REPLY

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert text_of(body["system"]) == f"Be terse. {marker}"
    assert conversation(body) == [
        ("user", "Hi"),
        ("assistant", "Hello! How can I help?"),
        ("user", "Say hello to the tests"),
    ]
    audited(weir, raw.headers["x-request-id"], "responses", "messages")


def test_response_function_call_round_trip_through_an_anthropic_model(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("responses-tools")
    question = f"What is the weather in Paris? {marker}"
    first = openai_client.responses.create(model="claude-test", input=question, tools=responses_tools("get_weather"))

    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1, first.output
    call = calls[0]
    assert call.name == "get_weather" and call.call_id
    assert json.loads(call.arguments) == ARGS["get_weather"]
    assert_anthropic_tools(last_sent(fake_provider, marker, "/v1/messages"), "get_weather")

    # The client replays the output and adds the tool's result.
    raw = openai_client.responses.with_raw_response.create(
        model="claude-test", input=responses_tool_turn(question, first.output), tools=responses_tools("get_weather")
    )
    assert raw.parse().output_text == f"Tool results: {WEATHER_RESULT}"

    assert_weather_turn_reached_anthropic(last_sent(fake_provider, marker, "/v1/messages"), call.call_id)
    audited(weir, raw.headers["x-request-id"], "responses", "messages")


def test_response_streamed_function_call_arguments_from_an_anthropic_model(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("responses-stream-tools")
    stream = openai_client.responses.create(
        model="claude-test", input=f"What is the weather in Paris? {marker}", tools=responses_tools("get_weather"), stream=True
    )
    request_id, events = consume(stream)

    item, arguments = streamed_function_call(events)
    assert item.name == "get_weather" and item.call_id
    assert arguments == ARGS["get_weather"]

    assert events[-1].type == "response.completed"
    calls = [i for i in events[-1].response.output if i.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [(item.call_id, "get_weather", ARGS["get_weather"])]
    last_sent(fake_provider, marker, "/v1/messages")
    audited(weir, request_id, "responses", "messages", streamed=True)


def test_response_parallel_function_calls_from_an_anthropic_model_round_trip(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-parallel")
    question = f"Weather and time in Paris? {marker}"
    tools = responses_tools("get_weather", "get_time")
    first = openai_client.responses.create(model="claude-parallel", input=question, tools=tools)

    calls = [item for item in first.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.arguments) for c in calls] == [ARGS["get_weather"], ARGS["get_time"]]
    assert len({c.call_id for c in calls}) == 2

    final = openai_client.responses.create(model="claude-parallel", input=responses_tool_turn(question, first.output), tools=tools)
    assert final.output_text == f"Tool results: {WEATHER_RESULT} | {TIME_RESULT}"

    # Consecutive function call outputs make the one user message Anthropic expects.
    results = last_sent(fake_provider, marker, "/v1/messages")["messages"][-1]
    assert_anthropic_tool_results(results, (calls[0].call_id, WEATHER_RESULT), (calls[1].call_id, TIME_RESULT))


def test_response_images_reach_anthropic_as_url_and_base64_sources(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-images")
    response = openai_client.responses.create(
        model="claude-test",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": f"What do you see? {marker}"},
                    {"type": "input_image", "image_url": IMAGE_URL, "detail": "auto"},
                    {"type": "input_image", "image_url": PNG_DATA_URL, "detail": "auto"},
                ],
            }
        ],
    )
    assert response.output_text == f"{REPLY} I see 2 image(s): url {IMAGE_URL}, base64 image/png"
    assert_anthropic_images(last_sent(fake_provider, marker, "/v1/messages"))


def test_response_json_schema_text_format_becomes_the_anthropic_output_format(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-structured")
    response = openai_client.responses.create(
        model="claude-test",
        input=f"Describe a city {marker}",
        text={"format": {"type": "json_schema", "name": "city", "schema": CITY_SCHEMA, "strict": True}},
    )
    assert json.loads(response.output_text) == CITY

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["output_config"]["format"]["schema"] == CITY_SCHEMA
    assert "text" not in body


def test_response_reasoning_effort_returns_a_reasoning_item(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-reasoning")
    response = openai_client.responses.create(model="claude-test", input=f"Say hello {marker}", reasoning={"effort": "low"})

    assert response.output_text == REPLY
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert [s.text for s in reasoning.summary] == [THOUGHT]
    assert isinstance(reasoning.encrypted_content, str) and reasoning.encrypted_content

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert_thinking_enabled(body)
    assert "reasoning" not in body


def test_response_reasoning_item_sent_back_lets_a_thinking_tool_turn_continue(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("responses-thinking-tools")
    question = f"What is the weather in Paris? {marker}"
    common: dict[str, Any] = {"tools": responses_tools("get_weather"), "reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"]}
    first = openai_client.responses.create(model="claude-test", input=question, **common)

    assert [item.type for item in first.output] == ["reasoning", "function_call"], first.output
    reasoning, call = first.output
    assert reasoning.encrypted_content
    assert call.name == "get_weather"

    raw = openai_client.responses.with_raw_response.create(model="claude-test", input=responses_tool_turn(question, first.output), **common)
    assert raw.parse().output_text == f"Tool results: {WEATHER_RESULT}"

    # The reasoning item became the thinking block the assistant turn must start with.
    body = last_sent(fake_provider, marker, "/v1/messages")
    assert_thinking_enabled(body)
    assistant = body["messages"][-2]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == ["thinking", "tool_use"]
    assert assistant["content"][0]["thinking"] == THOUGHT
    assert assistant["content"][0]["signature"]
    audited(weir, raw.headers["x-request-id"], "responses", "messages")


def test_response_cut_by_max_output_tokens_is_incomplete(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-max-tokens")
    response = openai_client.responses.create(model="claude-test", input=f"Say hello {marker}", max_output_tokens=2)

    assert response.output_text.split() == ["Hello", "from"]
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["max_tokens"] == 2
    assert "max_output_tokens" not in body


def test_response_usage_counts_anthropic_cache_reads_as_cached_input_tokens(
    weir: Weir, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    prompt = anthropic_reported_prompt(fake_provider, anthropic_client)
    script(fake_provider, USAGE)
    raw = openai_client.responses.with_raw_response.create(model="claude-test", input=unique("responses-cached"))
    usage = raw.parse().usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (prompt, USAGE_OUT, prompt + USAGE_OUT)
    assert usage.input_tokens_details.cached_tokens == CACHED_IN
    audited(weir, raw.headers["x-request-id"], "responses", "messages", **cache_usage(prompt))


def test_response_provider_bad_request_reaches_the_openai_client_in_its_shape(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("responses-400")
    with provider_fails(fake_provider, 400, marker), pytest.raises(openai.BadRequestError) as exc:
        openai_client.responses.create(model="claude-test", input=f"Say hello {marker}")

    error = openai_error(exc.value, 400)
    assert error["type"] == "invalid_request_error"
    assert_provider_failure_passed_on(weir, exc.value, error, "responses", "messages")


RESPONSES_REFUSALS = [
    pytest.param("previous_response_id", {"previous_response_id": "resp_0123456789"}, id="previous_response_id"),
    pytest.param("store", {"store": True}, id="store"),
    pytest.param("conversation", {"conversation": "conv_0123456789"}, id="conversation"),
    pytest.param("background", {"background": True}, id="background"),
    pytest.param("web_search", {"tools": [{"type": "web_search"}]}, id="built-in-tool"),
]


@pytest.mark.parametrize(("field", "params"), RESPONSES_REFUSALS)
def test_response_to_an_anthropic_model_refuses_what_has_no_counterpart(
    openai_client: openai.OpenAI, fake_provider: FakeProvider, field: str, params: dict[str, Any]
) -> None:
    with refused_before_upstream(fake_provider, "responses", field, openai) as marker:
        openai_client.responses.create(model="claude-test", input=f"Say hello {marker}", **params)


def test_response_to_an_anthropic_model_accepts_store_and_background_false(openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("responses-harmless")
    response = openai_client.responses.create(model="claude-test", input=f"Say hello {marker}", store=False, background=False)
    assert response.output_text == REPLY
    body = last_sent(fake_provider, marker, "/v1/messages")
    assert "store" not in body and "background" not in body


# -------------------------------------------------------------------------------------------
# Anthropic messages → an OpenAI provider
# -------------------------------------------------------------------------------------------


def test_message_from_an_openai_model(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-text")
    raw = anthropic_client.messages.with_raw_response.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=user(f"Say hello {marker}"))
    request_id = raw.headers["x-request-id"]
    message = raw.parse()

    assert message.type == "message"
    assert message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == REPLY_TOKENS
    assert message.usage.input_tokens > 0

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert body["model"] == "gpt-4o-mini"
    assert body["max_completion_tokens"] == MAX_TOKENS
    assert "max_tokens" not in body
    assert conversation(body) == [("user", f"Say hello {marker}")]
    assert not body.get("stream")

    event = audited(weir, request_id, "messages", "chat", outcome="ok", status_code=200, streamed=False)
    assert (event["provider"], event["model_requested"], event["model_served"]) == ("fake-openai", "gpt-test", "gpt-4o-mini")
    assert (event["input_tokens"], event["output_tokens"]) == (message.usage.input_tokens, REPLY_TOKENS)


def test_message_text_stream_from_an_openai_model(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-stream")
    with anthropic_client.messages.stream(model="gpt-test", max_tokens=MAX_TOKENS, messages=user(f"Say hello {marker}")) as stream:
        request_id = stream.response.headers["x-request-id"]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == REPLY
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == REPLY_TOKENS
    assert final.usage.input_tokens > 0
    assert last_sent(fake_provider, marker, "/v1/chat/completions")["stream"] is True

    event = audited(weir, request_id, "messages", "chat", outcome="ok", streamed=True, usage_estimated=False)
    assert (event["input_tokens"], event["output_tokens"]) == (final.usage.input_tokens, REPLY_TOKENS)


def test_message_stream_from_an_openai_model_is_the_anthropic_event_sequence(
    weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    marker = unique("messages-stream-events")
    request_id, events = consume(
        anthropic_client.messages.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=user(f"Say hello {marker}"), stream=True)
    )

    types = [e.type for e in events]
    assert types[0] == "message_start", types
    assert types[-2:] == ["message_delta", "message_stop"], types
    blocks = types[1:-2]
    assert blocks[0] == "content_block_start" and blocks[-1] == "content_block_stop", types
    assert set(blocks[1:-1]) == {"content_block_delta"}, types
    assert events[0].message.role == "assistant"
    assert events[1].index == 0 and events[1].content_block.type == "text"
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == REPLY
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == REPLY_TOKENS
    last_sent(fake_provider, marker, "/v1/chat/completions")
    audited(weir, request_id, "messages", "chat", streamed=True)


def test_message_system_and_multi_turn_become_chat_messages(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-system")
    raw = anthropic_client.messages.with_raw_response.create(
        model="gpt-test",
        max_tokens=MAX_TOKENS,
        system=f"Be terse. {marker}",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Say hello to the tests"},
        ],
    )
    assert raw.parse().content[0].text == REPLY

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert conversation(body) == [
        ("system", f"Be terse. {marker}"),
        ("user", "Hi"),
        ("assistant", "Hello! How can I help?"),
        ("user", "Say hello to the tests"),
    ]
    assert "system" not in body
    audited(weir, raw.headers["x-request-id"], "messages", "chat")


def test_message_tool_round_trip_through_an_openai_model(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-tools")
    messages: list[Any] = user(f"What is the weather in Paris? {marker}")
    first = anthropic_client.messages.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=messages, tools=anthropic_tools("get_weather"))

    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1, first.content
    use = uses[0]
    assert use.name == "get_weather" and use.id
    assert use.input == ARGS["get_weather"]
    assert_chat_tools(last_sent(fake_provider, marker, "/v1/chat/completions"), "get_weather")

    # The client sends the assistant turn back as it got it, then the tool's result.
    messages += anthropic_tool_turn(first.content)
    raw = anthropic_client.messages.with_raw_response.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=messages, tools=anthropic_tools("get_weather"))
    final = raw.parse()
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == f"Tool results: {WEATHER_RESULT}"
    assert final.stop_reason == "end_turn"

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assistant, tool = body["messages"][-2:]
    assert assistant["role"] == "assistant"
    assert [(c["id"], c["type"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in assistant["tool_calls"]] == [
        (use.id, "function", "get_weather", ARGS["get_weather"])
    ]
    assert_chat_tool_results([tool], (use.id, WEATHER_RESULT))
    audited(weir, raw.headers["x-request-id"], "messages", "chat")


def test_message_streamed_tool_use_input_is_assembled_from_json_deltas(
    weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    marker = unique("messages-stream-tools")
    stream = anthropic_client.messages.create(
        model="gpt-test", max_tokens=MAX_TOKENS, messages=user(f"What is the weather in Paris? {marker}"), tools=anthropic_tools("get_weather"), stream=True
    )
    request_id, events = consume(stream)

    start, tool_input = streamed_tool_use(events)
    assert start.content_block.name == "get_weather" and start.content_block.id
    assert tool_input == ARGS["get_weather"]
    stops = [e for e in events if e.type == "content_block_stop" and e.index == start.index]
    assert len(stops) == 1
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(deltas) == 1 and deltas[0].delta.stop_reason == "tool_use"
    assert events[-1].type == "message_stop"
    last_sent(fake_provider, marker, "/v1/chat/completions")
    audited(weir, request_id, "messages", "chat", streamed=True)


def test_message_parallel_tool_uses_from_an_openai_model_round_trip(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-parallel")
    tools = anthropic_tools("get_weather", "get_time")
    messages: list[Any] = user(f"Weather and time in Paris? {marker}")
    first = anthropic_client.messages.create(model="gpt-parallel", max_tokens=MAX_TOKENS, messages=messages, tools=tools)

    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", ARGS["get_weather"]), ("get_time", ARGS["get_time"])]
    assert len({u.id for u in uses}) == 2

    messages += anthropic_tool_turn(first.content)
    final = anthropic_client.messages.create(model="gpt-parallel", max_tokens=MAX_TOKENS, messages=messages, tools=tools)
    assert final.content[0].text == f"Tool results: {WEATHER_RESULT} | {TIME_RESULT}"

    # One tool message per result, after the assistant message with both calls.
    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assistant, *tool_messages = body["messages"][-3:]
    assert [c["id"] for c in assistant["tool_calls"]] == [u.id for u in uses]
    assert_chat_tool_results(tool_messages, (uses[0].id, WEATHER_RESULT), (uses[1].id, TIME_RESULT))


def test_message_streamed_parallel_tool_uses_from_an_openai_model(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-stream-parallel")
    with anthropic_client.messages.stream(
        model="gpt-parallel", max_tokens=MAX_TOKENS, messages=user(f"Weather and time in Paris? {marker}"), tools=anthropic_tools("get_weather", "get_time")
    ) as stream:
        final = stream.get_final_message()

    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", ARGS["get_weather"]), ("get_time", ARGS["get_time"])]
    assert uses[0].id != uses[1].id
    assert final.stop_reason == "tool_use"
    last_sent(fake_provider, marker, "/v1/chat/completions")


@pytest.mark.parametrize(
    ("tool_choice", "chat_choice", "called"),
    [
        pytest.param({"type": "auto"}, "auto", ["get_weather"], id="auto"),
        pytest.param({"type": "any"}, "required", ["get_weather"], id="any"),
        pytest.param({"type": "tool", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}, ["get_time"], id="tool"),
        pytest.param({"type": "none"}, "none", [], id="none"),
    ],
)
def test_message_tool_choice_becomes_the_chat_tool_choice(
    anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider, tool_choice: dict[str, Any], chat_choice: Any, called: list[str]
) -> None:
    marker = unique("messages-tool-choice")
    message = gpt_message(anthropic_client, f"Weather or time? {marker}", tools=anthropic_tools("get_weather", "get_time"), tool_choice=tool_choice)

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    # Chat's default with tools is auto: leaving it out says the same.
    assert body.get("tool_choice", "auto") == chat_choice
    assert [b.name for b in message.content if b.type == "tool_use"] == called
    if called:
        assert message.stop_reason == "tool_use"
    else:
        assert [b.type for b in message.content] == ["text"] and message.content[0].text == REPLY
        assert message.stop_reason == "end_turn"


def test_message_disable_parallel_tool_use_becomes_parallel_tool_calls_false(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-no-parallel")
    tool_choice: Any = {"type": "auto", "disable_parallel_tool_use": True}
    message = gpt_message(anthropic_client, f"Weather? {marker}", tools=anthropic_tools("get_weather", "get_time"), tool_choice=tool_choice)
    assert [b.name for b in message.content if b.type == "tool_use"] == ["get_weather"]

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert body["parallel_tool_calls"] is False
    assert body.get("tool_choice", "auto") == "auto"


def test_message_images_reach_chat_as_image_urls(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-images")
    content: list[Any] = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        {"type": "image", "source": {"type": "url", "url": IMAGE_URL}},
        {"type": "text", "text": f"What do you see? {marker}"},
    ]
    raw = anthropic_client.messages.with_raw_response.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": content}])
    assert raw.parse().content[0].text == f"{REPLY} I see 2 image(s): base64 image/png, url {IMAGE_URL}"

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    parts = body["messages"][-1]["content"]
    assert [p["image_url"]["url"] for p in parts if p["type"] == "image_url"] == [PNG_DATA_URL, IMAGE_URL]
    audited(weir, raw.headers["x-request-id"], "messages", "chat")


def test_message_output_format_becomes_the_chat_json_schema_response_format(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-structured")
    message = gpt_message(anthropic_client, f"Describe a city {marker}", output_config={"format": {"type": "json_schema", "schema": CITY_SCHEMA}})
    assert [b.type for b in message.content] == ["text"]
    assert json.loads(message.content[0].text) == CITY

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"] == CITY_SCHEMA
    assert isinstance(response_format["json_schema"]["name"], str) and response_format["json_schema"]["name"]
    assert "output_config" not in body


def test_message_thinking_becomes_reasoning_effort(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-thinking")
    raw = anthropic_client.messages.with_raw_response.create(
        model="gpt-test", max_tokens=4096, messages=user(f"Say hello {marker}"), thinking={"type": "enabled", "budget_tokens": 2048}
    )
    message = raw.parse()
    assert [b.text for b in message.content if b.type == "text"] == [REPLY]
    assert message.stop_reason == "end_turn"

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert body["reasoning_effort"] in ("low", "medium", "high")
    assert "thinking" not in body
    event = audited(weir, raw.headers["x-request-id"], "messages", "chat")
    assert event["reasoning_tokens"] == 16


def test_message_stop_sequence_cuts_the_chat_answer(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-stop")
    message = gpt_message(anthropic_client, f"Say hello {marker}", stop_sequences=["fake"])

    text = message.content[0].text
    assert text and text != REPLY and REPLY.startswith(text) and "fake" not in text, text
    # Chat says `stop` for a stop sequence and the end of the answer alike.
    assert message.stop_reason == "end_turn"
    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert body["stop"] == ["fake"]
    assert "stop_sequences" not in body


def test_message_cut_by_max_tokens_stops_with_max_tokens(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-max-tokens")
    message = anthropic_client.messages.create(model="gpt-test", max_tokens=2, messages=user(f"Say hello {marker}"))

    assert message.content[0].text.split() == ["Hello", "from"]
    assert message.stop_reason == "max_tokens"
    assert last_sent(fake_provider, marker, "/v1/chat/completions")["max_completion_tokens"] == 2


def test_message_stream_cut_by_max_tokens_stops_with_max_tokens(anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("messages-stream-max-tokens")
    with anthropic_client.messages.stream(model="gpt-test", max_tokens=2, messages=user(f"Say hello {marker}")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text.split() == ["Hello", "from"]
    assert final.stop_reason == "max_tokens"
    assert last_sent(fake_provider, marker, "/v1/chat/completions")["max_completion_tokens"] == 2


def test_message_metadata_user_becomes_the_chat_user_and_hints_without_counterpart_are_dropped(
    anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    marker = unique("messages-hints")
    message = gpt_message(anthropic_client, f"Say hello {marker}", metadata={"user_id": "end-user-7"}, extra_body={"temperature": 0.5, "top_k": 5})
    assert message.content[0].text == REPLY

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert body["user"] == "end-user-7"
    assert body["temperature"] == 0.5
    assert "top_k" not in body


def test_message_usage_splits_cached_prompt_tokens_into_cache_reads(
    weir: Weir, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    prompt = openai_reported_prompt(fake_provider, openai_client)
    script(fake_provider, USAGE)
    raw = anthropic_client.messages.with_raw_response.create(model="gpt-test", max_tokens=MAX_TOKENS, messages=user(unique("messages-cached")))
    usage = raw.parse().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (prompt - CACHED_IN, CACHED_IN, USAGE_OUT)
    audited(weir, raw.headers["x-request-id"], "messages", "chat", **cache_usage(prompt))

    # Streamed: the usage the chat stream reports last ends up in the message's.
    script(fake_provider, USAGE)
    with anthropic_client.messages.stream(model="gpt-test", max_tokens=MAX_TOKENS, messages=user(unique("messages-stream-cached"))) as stream:
        request_id = stream.response.headers["x-request-id"]
        usage = stream.get_final_message().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (prompt - CACHED_IN, CACHED_IN, USAGE_OUT)
    audited(weir, request_id, "messages", "chat", streamed=True, **cache_usage(prompt))


def test_message_provider_rate_limit_reaches_the_anthropic_client_in_its_shape(
    weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    marker = unique("messages-429")
    with provider_fails(fake_provider, 429, marker, times=ATTEMPTS), pytest.raises(anthropic.RateLimitError) as exc:
        gpt_message(anthropic_client, f"Say hello {marker}")

    assert {r["path"] for r in sent_with(fake_provider, marker)} == {"/v1/chat/completions"}
    assert_provider_failure_passed_on(weir, exc.value, anthropic_error(exc.value, 429), "messages", "chat")


def test_message_provider_bad_request_reaches_the_anthropic_client_in_its_shape(
    weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    marker = unique("messages-400")
    with provider_fails(fake_provider, 400, marker), pytest.raises(anthropic.BadRequestError) as exc:
        gpt_message(anthropic_client, f"Say hello {marker}")

    assert [r["path"] for r in sent_with(fake_provider, marker)] == ["/v1/chat/completions"]
    error = anthropic_error(exc.value, 400)
    assert error["type"] == "invalid_request_error"
    assert_provider_failure_passed_on(weir, exc.value, error, "messages", "chat")


MESSAGES_REFUSALS = [
    pytest.param("web_search", {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]}, id="server-tool"),
    pytest.param("mcp_servers", {"extra_body": {"mcp_servers": [{"type": "url", "url": "https://mcp.example.com/sse", "name": "example"}]}}, id="mcp_servers"),
    pytest.param("container", {"container": "container_0123456789"}, id="container"),
]


@pytest.mark.parametrize(("field", "params"), MESSAGES_REFUSALS)
def test_message_to_an_openai_model_refuses_what_has_no_counterpart(
    anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider, field: str, params: dict[str, Any]
) -> None:
    with refused_before_upstream(fake_provider, "messages", field, anthropic) as marker:
        gpt_message(anthropic_client, f"Say hello {marker}", **params)


# -------------------------------------------------------------------------------------------
# Failover across provider kinds
# -------------------------------------------------------------------------------------------


def _assert_failed_over_to_anthropic(weir: Weir, fake_provider: FakeProvider, marker: str, request_id: str) -> dict[str, Any]:
    sent = sent_with(fake_provider, marker)
    # Untranslated to the OpenAI target, translated to the Anthropic one.
    assert [(r["path"], r["body"]["model"]) for r in sent] == [
        ("/v1/chat/completions", "gpt-4o-mini@status=503"),
        ("/v1/messages", "claude-x"),
    ]
    assert "messages" in sent[1]["body"] and "max_tokens" in sent[1]["body"]

    event = audited(weir, request_id, "chat", "messages", outcome="ok", provider="fake-anthropic", model_served="claude-x")
    assert event["attempts"], event
    attempts = json.loads(event["attempts"])
    assert [(a["provider"], a["model"], a["status"]) for a in attempts] == [
        ("fake-openai", "gpt-4o-mini@status=503", 503),
        ("fake-anthropic", "claude-x", 200),
    ]
    return event


def test_failover_from_an_openai_target_to_an_anthropic_one_translates_the_retry(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("failover")
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-then-claude", messages=user(f"Say hello {marker}"))
    completion = raw.parse()

    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    event = _assert_failed_over_to_anthropic(weir, fake_provider, marker, raw.headers["x-request-id"])
    assert event["streamed"] is False


def test_streamed_failover_from_an_openai_target_to_an_anthropic_one_translates_the_stream(
    weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider
) -> None:
    marker = unique("failover-stream")
    request_id, chunks = consume(openai_client.chat.completions.create(model="gpt-then-claude", messages=user(f"Say hello {marker}"), stream=True))

    assert chat_text(chunks) == REPLY
    assert finish_reasons(chunks) == ["stop"]
    event = _assert_failed_over_to_anthropic(weir, fake_provider, marker, request_id)
    assert event["streamed"] is True


# -------------------------------------------------------------------------------------------
# Same protocol: passed through untouched
# -------------------------------------------------------------------------------------------


def test_chat_to_an_openai_model_is_passed_through_untouched(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("passthrough-chat")
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=user(f"Say hello {marker}"), extra_body={"custom_field": {"x": 1}}
    )
    assert raw.parse().choices[0].message.content == REPLY

    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert body["custom_field"] == {"x": 1}
    assert body["model"] == "gpt-4o-mini"
    assert_untouched_but_model(body, raw)
    audited(weir, raw.headers["x-request-id"], "chat", "chat")


def test_response_to_an_openai_model_is_not_translated(weir: Weir, openai_client: openai.OpenAI, fake_provider: FakeProvider) -> None:
    marker = unique("passthrough-responses")
    raw = openai_client.responses.with_raw_response.create(model="gpt-test", input=f"Say hello {marker}", extra_body={"custom_field": {"x": 1}})
    assert raw.parse().output_text == REPLY

    body = last_sent(fake_provider, marker, "/v1/responses")
    assert body["input"] == f"Say hello {marker}"
    assert body["custom_field"] == {"x": 1}
    audited(weir, raw.headers["x-request-id"], "responses", "responses")


def test_message_to_an_anthropic_model_is_passed_through_untouched(weir: Weir, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider) -> None:
    marker = unique("passthrough-messages")
    system: list[Any] = [{"type": "text", "text": f"You are terse. {marker}", "cache_control": {"type": "ephemeral"}}]
    raw = anthropic_client.messages.with_raw_response.create(
        model="claude-test",
        max_tokens=MAX_TOKENS,
        system=system,
        messages=user("Say hello to the tests"),
        extra_body={"custom_field": {"x": 1}},
    )
    assert raw.parse().content[0].text == REPLY

    body = last_sent(fake_provider, marker, "/v1/messages")
    assert body["system"] == system
    assert body["custom_field"] == {"x": 1}
    assert body["model"] == "claude-x"
    assert_untouched_but_model(body, raw)
    audited(weir, raw.headers["x-request-id"], "messages", "messages")


def test_fields_refused_in_translation_reach_a_provider_of_the_same_kind(
    openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    marker = unique("passthrough-refusable-chat")
    completion = openai_client.chat.completions.create(
        model="gpt-test", messages=user(f"Say hello {marker}"), n=2, logprobs=True, top_logprobs=2, store=True, logit_bias={"50256": -100}
    )
    assert completion.choices[0].message.content == REPLY
    body = last_sent(fake_provider, marker, "/v1/chat/completions")
    assert (body["n"], body["logprobs"], body["top_logprobs"], body["store"], body["logit_bias"]) == (2, True, 2, True, {"50256": -100})

    marker = unique("passthrough-refusable-messages")
    mcp_servers = [{"type": "url", "url": "https://mcp.example.com/sse", "name": "example"}]
    message = anthropic_client.messages.create(
        model="claude-test", max_tokens=MAX_TOKENS, messages=user(f"Say hello {marker}"), extra_body={"mcp_servers": mcp_servers}
    )
    assert message.content[0].text == REPLY
    assert last_sent(fake_provider, marker, "/v1/messages")["mcp_servers"] == mcp_servers
