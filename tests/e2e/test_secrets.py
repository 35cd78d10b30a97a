"""No secret leaves Weir in its telemetry: with spans exported over OTLP/HTTP to an in-test
receiver and the log at debug level, real traffic — LLM calls with the agent's key as a bearer
token and as `x-api-key`, MCP calls through a backend that takes its own credential, the admin
API with its token, a refused key — is made, and then every exported span, every log line,
the whole `/metrics` text and every audit row (bodies included) are searched for each secret
used. None may appear. (OTLP carries strings as raw UTF-8 inside the protobuf, so searching the
received bytes finds any string attribute.)
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import anyio
import httpx
import openai
import pytest

from conftest import ADMIN_TOKEN, PROVIDER_KEY, FakeProvider, Weir, _stop_weir, config_toml, eventually
from test_mcp import BACKEND_AUTH, HttpBackend, backends, connect, sent_backend_auth, text_of  # noqa: F401 - `backends` is a fixture
from test_mcp_policy import start, stop


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        n = int(self.headers.get("content-length", "0"))
        Receiver.bodies.append(self.rfile.read(n))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def otlp() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def weir(fake_provider: FakeProvider, backends: dict[str, HttpBackend], otlp: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    directory = tmp_path_factory.mktemp("weir-secrets")
    config = config_toml(fake_provider, directory / "audit.spool") + f"""
[mcp]
[[mcp.servers]]
name = "fixhttp"
url = "{backends['fixhttp'].url}"
headers = {{ "x-backend-auth" = "{BACKEND_AUTH}" }}
"""
    env = {"FAKE_PROVIDER_KEY": PROVIDER_KEY, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "WEIR_LOG": "debug"}
    w = start(directory, "postgres", config, env)
    try:
        yield w
    finally:
        stop(w)


def test_no_secret_appears_in_spans_logs_metrics_or_audit_rows(weir: Weir) -> None:
    marker = "secret-scan-call"
    oai = openai.OpenAI(base_url=f"{weir.base}/v1", api_key=weir.key, max_retries=0)
    oai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": marker}], extra_headers={"x-weir-session": "secret-scan"})
    stream = oai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": marker}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    ant = anthropic.Anthropic(base_url=weir.base, api_key=weir.key, max_retries=0)
    ant.messages.create(model="claude-test", max_tokens=16, messages=[{"role": "user", "content": marker}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{weir.base}/v1", api_key=weir.key[:-4] + "xxxx", max_retries=0).models.list()
    # A provider that echoes the key it was sent: the agent never sees it.
    with pytest.raises(openai.AuthenticationError) as refused:
        openai.OpenAI(base_url=f"{weir.base}/v1", api_key=weir.key, max_retries=0).chat.completions.create(model="gpt-echo", messages=[{"role": "user", "content": "hi"}])
    assert "Incorrect API key provided" in str(refused.value) and PROVIDER_KEY not in str(refused.value.body), refused.value.body
    with pytest.raises(anthropic.AuthenticationError) as refused_a:
        anthropic.Anthropic(base_url=weir.base, api_key=weir.key, max_retries=0).messages.create(model="claude-echo", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert PROVIDER_KEY not in str(refused_a.value.body) and "[REDACTED]" in str(refused_a.value.body), refused_a.value.body
    # The same in a stream's error event: the agent, the span's status and the audit row get
    # the words without the key.
    with pytest.raises(openai.APIError) as broken:
        for _ in oai.chat.completions.create(model="gpt-echo-stream", messages=[{"role": "user", "content": "hi"}], stream=True):
            pass
    assert "error processing the request" in str(broken.value) and PROVIDER_KEY not in str(broken.value), broken.value
    with pytest.raises(anthropic.APIStatusError) as broken_a:
        for _ in ant.messages.create(model="claude-echo-stream", max_tokens=5, messages=[{"role": "user", "content": "hi"}], stream=True):
            pass
    assert "[REDACTED]" in str(broken_a.value.body) and PROVIDER_KEY not in str(broken_a.value.body), broken_a.value.body

    async def mcp() -> None:
        async with connect(weir) as (s, _):
            headers = await s.call_tool("fixhttp__headers", {})
            assert sent_backend_auth(json.loads(text_of(headers))), "the backend got its credential, and its echo was redacted"
            await s.call_tool("fixhttp__echo", {"text": marker})

    anyio.run(mcp)
    assert weir.admin_get("/api/v1/agents").status_code == 200
    metrics = httpx.get(f"{weir.admin}/metrics").text
    assert "gen_ai_client_token_usage" in metrics

    def audited() -> list[dict[str, Any]] | None:
        events = weir.admin_get("/api/v1/audit/events", limit=1000).json()["events"]
        return events if len([e for e in events if e["kind"] == "mcp"]) >= 3 and len([e for e in events if e["kind"] == "llm"]) >= 7 else None

    rows = eventually(audited, 10, "the calls' audit rows")
    # Stopping flushes every span still queued, and ends the log.
    assert _stop_weir(weir) == 0
    stop_log = weir.log_text()
    spans = b"".join(Receiver.bodies)
    assert b"chat gpt-test" in spans and b"tools/call fixhttp__echo" in spans, "the receiver got the spans"
    assert b"error processing the request made with [REDACTED]" in spans, "a stream's error is a span's status, without the key"
    audit_text = str(rows)
    secrets = {"agent key": weir.key, "provider key": PROVIDER_KEY, "admin token": ADMIN_TOKEN, "backend credential": BACKEND_AUTH}
    for what, secret in secrets.items():
        assert secret not in stop_log, f"the {what} is in the log"
        assert secret.encode() not in spans, f"the {what} is in an exported span"
        assert secret not in metrics, f"the {what} is in /metrics"
        assert secret not in audit_text, f"the {what} is in an audit row"
    assert "DEBUG" in stop_log, "the log was at debug level"
