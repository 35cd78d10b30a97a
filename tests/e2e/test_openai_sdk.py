"""The official `openai` SDK against Weir: chat (whole and streamed), responses, embeddings and
the errors the SDK maps to its exception classes."""

from __future__ import annotations

import json
import time

import openai
import pytest

from conftest import GPT_TEST_PRICE, REPLY, REPLY_TOKENS, FakeProvider, Weir, eventually

MESSAGES = [{"role": "user", "content": "Say hello to the tests"}]
# The fake provider counts one token per word of the request's strings, plus one.
MESSAGES_TOKENS = len(MESSAGES[0]["content"].split()) + 1


def gpt_test_cost(input_tokens: int, output_tokens: int) -> float:
    input_price, output_price = GPT_TEST_PRICE
    return (input_tokens * input_price + output_tokens * output_price) / 1_000_000


def test_chat_completion(weir: Weir, openai_client: openai.OpenAI) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-test", messages=MESSAGES)
    request_id = raw.headers["x-request-id"]
    completion = raw.parse()

    assert completion._request_id == request_id
    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == MESSAGES_TOKENS
    assert completion.usage.completion_tokens == REPLY_TOKENS
    assert completion.usage.total_tokens == MESSAGES_TOKENS + REPLY_TOKENS

    event = weir.audit_event(request_id)
    assert event["outcome"] == "ok"
    assert event["status_code"] == 200
    assert event["operation"] == "chat"
    assert event["agent_name"] == "e2e"
    assert event["model_requested"] == "gpt-test"
    assert event["model_served"] == "gpt-4o-mini"
    assert event["provider"] == "fake-openai"
    assert event["streamed"] is False
    assert event["usage_estimated"] is False
    assert event["input_tokens"] == completion.usage.prompt_tokens
    assert event["output_tokens"] == completion.usage.completion_tokens
    assert event["cost_usd"] == pytest.approx(gpt_test_cost(MESSAGES_TOKENS, REPLY_TOKENS), rel=1e-9)


def test_chat_stream_without_usage_hides_the_usage_chunk(weir: Weir, openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    request_id = stream.response.headers["x-request-id"]
    chunks = list(stream)

    assert chunks, "the stream carried no chunk"
    # The client did not ask for usage: the usage-only chunk Weir asked the provider for (no
    # choices) must not reach it.
    empty = [c for c in chunks if not c.choices]
    assert not empty, f"{len(empty)} chunk(s) without choices reached the client: {empty}"
    assert all(c.usage is None for c in chunks), [c.usage for c in chunks]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"

    # Weir still counted the tokens, from the usage chunk it asked for.
    event = weir.audit_event(request_id)
    assert event["outcome"] == "ok"
    assert event["streamed"] is True
    assert event["usage_estimated"] is False
    assert event["input_tokens"] == MESSAGES_TOKENS
    assert event["output_tokens"] == REPLY_TOKENS
    assert event["cost_usd"] == pytest.approx(gpt_test_cost(MESSAGES_TOKENS, REPLY_TOKENS), rel=1e-9)


def test_chat_stream_with_usage(weir: Weir, openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    request_id = stream.response.headers["x-request-id"]
    chunks = list(stream)

    assert len(chunks) >= 2
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None, "the last chunk carries no usage"
    assert last.usage.prompt_tokens == MESSAGES_TOKENS
    assert last.usage.completion_tokens == REPLY_TOKENS
    # Only the last chunk is the usage chunk.
    assert all(c.choices for c in chunks[:-1])
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == REPLY

    event = weir.audit_event(request_id)
    assert event["streamed"] is True
    assert event["input_tokens"] == last.usage.prompt_tokens
    assert event["output_tokens"] == last.usage.completion_tokens


def test_responses_api(weir: Weir, openai_client: openai.OpenAI) -> None:
    raw = openai_client.responses.with_raw_response.create(model="gpt-test", input="Say hello to the tests")
    request_id = raw.headers["x-request-id"]
    response = raw.parse()

    assert response.output_text == REPLY
    assert response.status == "completed"
    assert response.usage is not None
    assert response.usage.output_tokens == REPLY_TOKENS

    event = weir.audit_event(request_id)
    assert event["outcome"] == "ok"
    assert event["operation"] == "responses"
    assert event["model_requested"] == "gpt-test"
    assert event["model_served"] == "gpt-4o-mini"
    assert event["input_tokens"] == response.usage.input_tokens
    assert event["output_tokens"] == response.usage.output_tokens
    assert event["cost_usd"] == pytest.approx(gpt_test_cost(response.usage.input_tokens, response.usage.output_tokens), rel=1e-9)


def test_embeddings(weir: Weir, openai_client: openai.OpenAI) -> None:
    raw = openai_client.embeddings.with_raw_response.create(model="embed-test", input=["first text", "second text"])
    request_id = raw.headers["x-request-id"]
    result = raw.parse()

    assert [d.index for d in result.data] == [0, 1]
    vectors = [d.embedding for d in result.data]
    assert all(len(v) == 8 for v in vectors), [len(v) for v in vectors]
    # The fake's vectors: (i + 1) * 0.1 + j * 0.01; they survive the trip (the SDK asks for base64).
    assert vectors[0][0] == pytest.approx(0.1, abs=1e-6)
    assert vectors[1][0] == pytest.approx(0.2, abs=1e-6)
    assert vectors[1][7] == pytest.approx(0.27, abs=1e-6)

    event = weir.audit_event(request_id)
    assert event["outcome"] == "ok"
    assert event["operation"] == "embeddings"
    assert event["model_served"] == "text-embedding-x"
    assert event["input_tokens"] == result.usage.prompt_tokens


def test_wrong_key_is_refused(weir: Weir) -> None:
    client = openai.OpenAI(base_url=f"{weir.base}/v1", api_key="wk_this_is_not_a_weir_key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert exc.value.status_code == 401
    assert "invalid API key" in exc.value.message
    assert exc.value.code == "invalid_api_key"
    assert exc.value.response.headers.get("x-request-id")


def test_revoked_key_is_refused_within_two_seconds(weir: Weir) -> None:
    secret = weir.create_key()
    key_id = weir.key_id(secret)
    assert key_id.startswith("key_"), key_id
    client = openai.OpenAI(base_url=f"{weir.base}/v1", api_key=secret, max_retries=0)

    def works() -> bool:
        try:
            return client.chat.completions.create(model="gpt-test", messages=MESSAGES).choices[0].message.content == REPLY
        except openai.AuthenticationError:
            return False  # not yet picked up by the running Weir

    # A key made by the CLI while Weir runs reaches it within one refresh.
    eventually(works, 2.0, "the new key to be accepted", interval=0.1)

    weir.cli("keys", "revoke", key_id)
    revoked_at = time.monotonic()

    def refused() -> openai.AuthenticationError | None:
        try:
            client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        except openai.AuthenticationError as e:
            return e
        return None

    error = eventually(refused, 2.0, "the revoked key to be refused", interval=0.1)
    assert time.monotonic() - revoked_at < 2.0
    assert error.status_code == 401
    assert "revoked" in error.message

    listed = weir.cli("keys", "list", "e2e").stdout
    row = next(line for line in listed.splitlines() if line.startswith(key_id))
    assert row.split()[5] != "-", f"the key is not shown as revoked: {row}"
    # The fixture's own key is untouched.
    ok = openai.OpenAI(base_url=f"{weir.base}/v1", api_key=weir.key, max_retries=0)
    assert ok.chat.completions.create(model="gpt-test", messages=MESSAGES).choices[0].message.content == REPLY


def test_unknown_model_names_the_available_ones(weir: Weir, openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as exc:
        openai_client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    err = exc.value
    assert err.status_code == 404
    assert err.code == "model_not_found"
    assert err.param == "model"
    assert "no-such-model" in err.message
    for name in ("gpt-test", "claude-test", "embed-test"):
        assert name in err.message, err.message


def test_only_the_headers_a_provider_needs_reach_it(weir: Weir, fake_provider: FakeProvider) -> None:
    """What the SDK needs passes (`OpenAI-Beta`); what would let an agent choose the account
    that pays (`OpenAI-Organization`, `OpenAI-Project`, Azure's `api-key` and `api-version`)
    does not, and the provider's account headers do not come back."""
    marker = f"allowlist-{time.time_ns()}"
    client = openai.OpenAI(
        base_url=f"{weir.base}/v1",
        api_key=weir.key,
        organization="org-the-agent-picked",
        project="proj-the-agent-picked",
        default_headers={"OpenAI-Beta": "assistants=v2", "api-key": "azure-key-from-agent"},
        default_query={"api-version": "2024-10-21"},
        max_retries=0,
    )
    raw = client.chat.completions.with_raw_response.create(model="gpt-test", messages=[{"role": "user", "content": marker}])
    assert raw.parse().choices[0].message.content == REPLY
    assert "openai-organization" not in raw.headers and raw.headers.get("x-ratelimit-limit-requests") != "10000"
    sent = next(r for r in reversed(fake_provider.requests()) if marker in json.dumps(r["body"]))
    headers = {k.lower(): v for k, v in sent["headers"]}
    assert headers.get("openai-beta") == "assistants=v2"
    for name in ("openai-organization", "openai-project", "api-key"):
        assert name not in headers, f"{name} reached the provider"
    assert sent["query"] is None, sent["query"]
