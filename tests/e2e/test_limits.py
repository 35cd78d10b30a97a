"""Budgets set with the CLI while Weir runs: the official SDKs receive a refused call as their
`RateLimitError`, with Weir's message naming the budget."""

from __future__ import annotations

import anthropic
import openai

from conftest import Weir, eventually


def limited_agent(weir: Weir, name: str) -> str:
    """A new agent with a 20-token daily budget (set through the CLI); returns its key."""
    if name not in weir.cli("agents", "list").stdout:
        weir.cli("agents", "create", name)
    key = weir.create_key(name)
    weir.cli("budgets", "set", name, "--tokens", "20", "--period", "day")
    shown = weir.cli("budgets", "show", name).stdout
    assert "tokens" in shown and "day" in shown and "20" in shown, shown
    return key


def test_openai_sdk_gets_rate_limit_error(weir: Weir) -> None:
    key = limited_agent(weir, "e2e-limited-openai")
    client = openai.OpenAI(base_url=f"{weir.base}/v1", api_key=key, max_retries=0)

    def refused() -> openai.RateLimitError | None:
        try:
            client.chat.completions.create(model="gpt-test", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        except openai.RateLimitError as e:
            return e
        except openai.AuthenticationError:
            return None  # the new key is not yet known to the server (it will be within 2 s)
        return None

    # The budget reaches the running server within 2 seconds.
    err = eventually(refused, timeout=2.5, what="the budget to refuse the call")
    assert err.status_code == 429
    assert "token budget per day exceeded" in err.message, err.message
    assert "resets at" in err.message
    assert err.response.headers["retry-after"].isdigit()
    assert err.response.headers["x-ratelimit-limit-tokens"] == "20"


def test_anthropic_sdk_gets_rate_limit_error(weir: Weir) -> None:
    key = limited_agent(weir, "e2e-limited-anthropic")
    client = anthropic.Anthropic(base_url=weir.base, api_key=key, max_retries=0)

    def refused() -> anthropic.RateLimitError | None:
        try:
            client.messages.create(model="claude-test", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        except anthropic.RateLimitError as e:
            return e
        except anthropic.AuthenticationError:
            return None
        return None

    err = eventually(refused, timeout=2.5, what="the budget to refuse the call")
    assert err.status_code == 429
    assert "token budget per day exceeded" in str(err), str(err)
    assert err.body["error"]["type"] == "rate_limit_error"
