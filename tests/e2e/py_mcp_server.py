"""A small MCP server on the Streamable HTTP transport, written with the official `mcp` Python SDK
(2.3.0), for end-to-end tests that need a backend which asks its client for input mid-call.

    python py_mcp_server.py PORT      (POST/GET/DELETE /mcp on 127.0.0.1:PORT)

It answers both protocol eras on the one path, which is the SDK's default: a request whose
MCP-Protocol-Version header names a modern revision (2026-07-28) is served statelessly (`_meta`
carries the client's capabilities, no session), and anything else takes the 2025-11-25 route
(initialize, then an Mcp-Session-Id session). Any other path, `GET /` included, answers 404, which
is enough to tell that the server is listening.

Tools:
    py_echo(text)    -> the text unchanged
    py_ask_name()    -> asks the client for a form with a `name` string (elicitation), answers
                        "Hello, <name>!"
    py_sample(prompt) -> asks the client for a sampling completion of the prompt, answers
                        "sampled: <text>"

`py_ask_name` and `py_sample` get their input through the SDK's resolvers (`Resolve(...)` returning
an `Elicit` or `Sample` marker), which follow the negotiated revision: on 2026-07-28 the call first
answers `resultType: "input_required"` with the request under `inputRequests` (and a sealed
`requestState`), and the client retries the call with `inputResponses` and that `requestState`; on
2025-11-25 the server sends a real `elicitation/create` or `sampling/createMessage` request on the
call's stream and waits for the answer. Either way the client must declare the `elicitation` (form)
or `sampling` capability (2026-07-28: in `_meta["io.modelcontextprotocol/clientCapabilities"]`;
2025-11-25: in `initialize`), or the call fails with JSON-RPC error -32021
(MISSING_REQUIRED_CLIENT_CAPABILITY). The `inputRequests` keys are the resolvers' names,
`__main__:ask_name` and `__main__:sample_prompt` when the file is run as a script. A declined or
cancelled elicitation makes `py_ask_name` answer `isError: true` ("... elicitation was decline").
"""

from __future__ import annotations

import sys
from typing import Annotated

import uvicorn
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
    Sample,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CreateMessageResult, SamplingMessage, TextContent
from pydantic import BaseModel

server = MCPServer("weir-py-mcp-server")


@server.tool()
async def py_echo(text: str) -> str:
    """Answers with the text unchanged."""
    return text


class NameForm(BaseModel):
    name: str


def ask_name() -> Elicit[NameForm]:
    return Elicit("What is your name?", NameForm)


@server.tool()
async def py_ask_name(answer: Annotated[ElicitationResult[NameForm], Resolve(ask_name)]) -> str:
    """Asks the client for a name (form elicitation) and greets it."""
    if isinstance(answer, AcceptedElicitation):
        return f"Hello, {answer.data.name}!"
    raise ToolError(f"elicitation was {answer.action}")


def sample_prompt(prompt: str) -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=100)


@server.tool()
async def py_sample(prompt: str, completion: Annotated[CreateMessageResult, Resolve(sample_prompt)]) -> str:
    """Asks the client to sample a completion of the prompt and answers with its text."""
    content = completion.content
    blocks = content if isinstance(content, list) else [content]
    text = "".join(block.text for block in blocks if isinstance(block, TextContent))
    return f"sampled: {text}"


if __name__ == "__main__":
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        # A gateway in front may send its own Host or a client's Origin; this is a loopback test
        # backend, so the SDK's DNS-rebinding check (on by default for 127.0.0.1) stays off.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
