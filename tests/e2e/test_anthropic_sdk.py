"""The official `anthropic` SDK against Weir: messages, whole and streamed, and errors."""

from __future__ import annotations

import json
import time

import anthropic
import pytest

from conftest import REPLY, REPLY_TOKENS, FakeProvider, Weir

MESSAGES = [{"role": "user", "content": "Say hello to the tests"}]
MAX_TOKENS = 64


def claude_test_cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * 3.0 + output_tokens * 15.0) / 1_000_000


def test_messages_create(weir: Weir, anthropic_client: anthropic.Anthropic) -> None:
    raw = anthropic_client.messages.with_raw_response.create(model="claude-test", max_tokens=MAX_TOKENS, messages=MESSAGES)
    request_id = raw.headers["x-request-id"]
    message = raw.parse()

    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == REPLY_TOKENS
    assert message.usage.input_tokens > 0

    event = weir.audit_event(request_id)
    assert event["outcome"] == "ok"
    assert event["status_code"] == 200
    assert event["operation"] == "messages"
    assert event["model_requested"] == "claude-test"
    assert event["model_served"] == "claude-x"
    assert event["provider"] == "fake-anthropic"
    assert event["streamed"] is False
    assert event["input_tokens"] == message.usage.input_tokens
    assert event["output_tokens"] == REPLY_TOKENS
    assert event["cost_usd"] == pytest.approx(claude_test_cost(message.usage.input_tokens, REPLY_TOKENS), rel=1e-9)


def test_messages_stream(weir: Weir, anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(model="claude-test", max_tokens=MAX_TOKENS, messages=MESSAGES) as stream:
        request_id = stream.response.headers["x-request-id"]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == REPLY
    assert final.content[0].text == REPLY
    assert final.usage.output_tokens == REPLY_TOKENS
    assert final.usage.input_tokens > 0

    event = weir.audit_event(request_id)
    assert event["outcome"] == "ok"
    assert event["streamed"] is True
    assert event["usage_estimated"] is False
    assert event["model_served"] == "claude-x"
    assert event["input_tokens"] == final.usage.input_tokens
    assert event["output_tokens"] == REPLY_TOKENS
    assert event["cost_usd"] == pytest.approx(claude_test_cost(final.usage.input_tokens, REPLY_TOKENS), rel=1e-9)


def test_wrong_key_is_refused(weir: Weir) -> None:
    client = anthropic.Anthropic(base_url=weir.base, api_key="wk_this_is_not_a_weir_key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        client.messages.create(model="claude-test", max_tokens=MAX_TOKENS, messages=MESSAGES)
    assert exc.value.status_code == 401
    assert isinstance(exc.value.body, dict)
    assert exc.value.body["type"] == "error"
    assert exc.value.body["error"]["type"] == "authentication_error"
    assert "invalid API key" in exc.value.body["error"]["message"]


def test_unknown_model_is_not_found(weir: Weir, anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as exc:
        anthropic_client.messages.create(model="no-such-model", max_tokens=MAX_TOKENS, messages=MESSAGES)
    assert exc.value.status_code == 404
    body = exc.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    message = body["error"]["message"]
    assert "no-such-model" in message
    for name in ("gpt-test", "claude-test", "embed-test"):
        assert name in message, message


def test_the_sdks_version_and_beta_headers_reach_the_provider(weir: Weir, fake_provider: FakeProvider) -> None:
    """`anthropic-version` and `anthropic-beta` pass as the SDK sends them; the provider's
    account headers (organisation, its rate limits) do not come back."""
    marker = f"beta-{time.time_ns()}"
    client = anthropic.Anthropic(base_url=weir.base, api_key=weir.key, max_retries=0)
    raw = client.beta.messages.with_raw_response.create(
        model="claude-test", max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": marker}], betas=["prompt-caching-2024-07-31"]
    )
    assert raw.parse().content[0].text == REPLY
    assert "anthropic-organization-id" not in raw.headers and "anthropic-ratelimit-requests-limit" not in raw.headers
    sent = next(r for r in reversed(fake_provider.requests()) if marker in json.dumps(r["body"]))
    headers = {k.lower(): v for k, v in sent["headers"]}
    assert headers.get("anthropic-beta") == "prompt-caching-2024-07-31"
    assert headers.get("anthropic-version") == raw.http_request.headers["anthropic-version"], "the SDK's own version, not Weir's default"
    assert not any(k.startswith("x-stainless") for k in headers), headers
