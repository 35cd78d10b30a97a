"""Requests no SDK would send, made with plain httpx."""

from __future__ import annotations

import httpx

from conftest import Weir

# Broken on line 4: an array closed by a brace.
MALFORMED = b'{\n  "model": "gpt-test",\n  "messages": [\n  }\n'


def test_malformed_json_is_a_400_naming_the_line(weir: Weir) -> None:
    resp = httpx.post(
        f"{weir.base}/v1/chat/completions",
        content=MALFORMED,
        headers={"Authorization": f"Bearer {weir.key}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400, resp.text
    assert resp.headers.get("x-request-id")
    body = resp.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_json"
    assert "line 4" in error["message"], error["message"]


def test_malformed_json_on_messages_is_anthropic_shaped(weir: Weir) -> None:
    resp = httpx.post(
        f"{weir.base}/v1/messages",
        content=MALFORMED,
        headers={"x-api-key": weir.key, "anthropic-version": "2023-06-01", "Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "line 4" in body["error"]["message"], body
