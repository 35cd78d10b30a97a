"""Access control through the MCP gateway: `[[mcp.rules]]` decide which agent (and end user)
may call which tool with which arguments, read which resources, get which prompts and use which
other methods; lists show each agent only what it may use, and none of the ways around a rule
works — letter case, prefix tricks, the one-server endpoint, unknown servers, hidden tools,
paths and URIs that only leave their prefix once normalised, duplicate JSON keys, batches,
reading through `resources/read` what a tool's argument rule keeps out, made-up methods. Every
denied request is checked at the backend too: the fixture server reports what it served, and a
denied one must not be among them.

Backends: `tests/mcp-node/fixture-server.mjs` (official TypeScript SDK) over stdio, twice, as
`files` and `fix`. Runs on SQLite and on Postgres (audit rows and the anonymous agent live in
the database).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import AGENT, Weir, _start_weir, _stop_weir, base_sections, clean_env, eventually, free_port, TestDatabase, ADMIN_TOKEN
from test_mcp import ACCEPT, FIXTURE, _require_node, answer

INTERN = "intern"

RULES = """
[[mcp.rules]]
tools = ["files__read_file"]
agents = ["e2e", "intern"]
arguments = { path = { path_prefix = "/srv/data" } }

[[mcp.rules]]
tools = ["files__write_file"]
agents = ["e2e"]
arguments = { path = { path_prefix = "/srv/data/out" } }

[[mcp.rules]]
tools = ["fix__deploy"]
agents = ["e2e"]
users = ["alice"]
arguments = { env = { one_of = ["staging", "dev"] } }

[[mcp.rules]]
tools = ["*__served"]
agents = ["*"]

[[mcp.rules]]
resources = ["files+file:///srv/data/*", "files+fixture://item/1*"]
agents = ["e2e", "intern"]

[[mcp.rules]]
prompts = ["files__summarize"]
agents = ["e2e"]
arguments = { path = { path_prefix = "/srv/data" } }

[[mcp.rules]]
methods = ["fix__fixture/custom"]
agents = ["e2e"]
"""

# What rule 1..4 allow, as `tools/list` must show it.
E2E_SEES = {"files__read_file", "files__write_file", "files__served", "fix__served"}
INTERN_SEES = {"files__read_file", "files__served", "fix__served"}


def policy_config(spool: Path, rules: str = RULES, anonymous: str = "") -> str:
    anon = f'anonymous_agent = "{anonymous}"' if anonymous else ""
    return base_sections(spool) + f"""
[mcp]
request_timeout_secs = 30
{anon}

[[mcp.servers]]
name = "files"
command = ["node", "{FIXTURE}", "stdio"]

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]
{rules}
"""


def start(directory: Path, backend: str, config_text: str, extra_env: dict[str, str] | None = None) -> Weir:
    config = directory / "weir.toml"
    config.write_text(config_text)
    db = TestDatabase.create(backend, directory)
    listen, admin_listen = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = clean_env({"WEIR_DATABASE_URL": db.url, "WEIR_LISTEN": listen, "WEIR_ADMIN_LISTEN": admin_listen, "WEIR_ADMIN_TOKEN": ADMIN_TOKEN, "WEIR_LOG": "info", **(extra_env or {})})
    w = Weir(backend=backend, base=f"http://{listen}", admin=f"http://{admin_listen}", key="", config=config, log=directory / "weir.log", db=db, env=env)
    w.cli("agents", "create", AGENT)
    w.key = w.create_key()
    _start_weir(w)
    return w


def stop(w: Weir) -> None:
    try:
        assert _stop_weir(w) == 0, f"weir did not stop cleanly; log:\n{w.log_text()}"
    finally:
        _stop_weir(w)
        w.admin_http.close()
        w.db.drop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def weir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    _require_node()
    directory = tmp_path_factory.mktemp(f"weir-mcp-policy-{request.param}")
    w = start(directory, request.param, policy_config(directory / "audit.spool"))
    try:
        yield w
    finally:
        stop(w)


@pytest.fixture(scope="module")
def intern_key(weir: Weir) -> str:
    weir.cli("agents", "create", INTERN)
    key = weir.create_key(INTERN)
    eventually(lambda: Client(weir, key).status_of_initialize() == 200, 5, "the intern's key to be loaded")
    return key


class Client:
    """One raw Streamable HTTP session, to send exactly the bytes a test needs."""

    def __init__(self, weir: Weir, key: str | None, path: str = "/mcp", user: str | None = None, version: str = "2025-11-25") -> None:
        self.url = f"{weir.base}{path}"
        self.headers = {"Accept": ACCEPT}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        if user:
            self.headers["X-Weir-User"] = user
        self.version = version
        self.next_id = 100

    def status_of_initialize(self) -> int:
        return self._initialize().status_code

    def _initialize(self) -> httpx.Response:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": self.version, "capabilities": {}, "clientInfo": {"name": "policy-test", "version": "1"}}}
        return httpx.post(self.url, json=init, headers=self.headers, timeout=30)

    def open(self) -> Client:
        r = self._initialize()
        assert r.status_code == 200, r.text
        self.headers = {**self.headers, "Mcp-Session-Id": r.headers["mcp-session-id"], "MCP-Protocol-Version": self.version}
        assert httpx.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers).status_code == 202
        return self

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        r = httpx.post(self.url, json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}, headers=self.headers, timeout=30)
        msg = answer(r)
        assert msg["id"] == self.next_id, msg
        return msg

    def raw(self, body: bytes) -> httpx.Response:
        return httpx.post(self.url, content=body, headers={**self.headers, "Content-Type": "application/json"}, timeout=30)

    def call(self, tool: str, arguments: Any) -> dict[str, Any]:
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def tools(self) -> set[str]:
        return {t["name"] for t in self.request("tools/list", {})["result"]["tools"]}


def served(weir: Weir, server: str) -> list[dict[str, Any]]:
    """The file and deploy calls the backend `server` has served so far."""
    result = Client(weir, weir.key).open().call(f"{server}__served", {})["result"]
    return json.loads(result["content"][0]["text"])


def assert_denied(msg: dict[str, Any], rule: int | None) -> str:
    err = msg.get("error")
    assert err is not None, f"not denied: {msg}"
    assert err["code"] == -32003, err
    assert "denied by policy" in err["message"], err
    assert err["data"]["reason"] == "policy" and err["data"]["rule"] == rule, err
    return err["message"]


def assert_refused(msg: dict[str, Any]) -> None:
    """Denied by policy, or refused as unknown: either way an error, and never served."""
    err = msg.get("error")
    assert err is not None, f"not refused: {msg}"
    assert err["code"] in (-32003, -32602), err


def unique(stem: str) -> str:
    return f"/srv/data/out/{stem}-{secrets.token_hex(4)}"


# -------------------------------------------------------------------------------------------
# Lists and plain decisions
# -------------------------------------------------------------------------------------------


def test_tools_list_shows_each_agent_only_what_it_may_call(weir: Weir, intern_key: str) -> None:
    assert Client(weir, weir.key).open().tools() == E2E_SEES
    assert Client(weir, intern_key).open().tools() == INTERN_SEES
    # A rule limited to a user shows its tools to that user only.
    assert Client(weir, weir.key, user="alice").open().tools() == E2E_SEES | {"fix__deploy"}
    # On one server's endpoint, the same rules on the prefixed names; the names stay unprefixed.
    assert Client(weir, intern_key, path="/mcp/files").open().tools() == {"read_file", "served"}


def test_an_allowed_call_reaches_the_backend_with_its_arguments(weir: Weir) -> None:
    path = unique("allowed")
    msg = Client(weir, weir.key).open().call("files__write_file", {"path": path, "content": "x"})
    assert msg["result"]["content"][0]["text"] == f"wrote {path}"
    assert {"tool": "write_file", "args": {"path": path, "content": "x"}} in served(weir, "files")


def test_a_denied_call_names_its_rule_and_no_other_tool(weir: Weir, intern_key: str) -> None:
    path = unique("intern-write")
    message = assert_denied(Client(weir, intern_key).open().call("files__write_file", {"path": path, "content": "x"}), None)
    for other in ("read_file", "deploy", "served", "fix__", "files__read"):
        assert other not in message, message
    # A rule that matched but whose argument constraint failed is named.
    message = assert_denied(Client(weir, weir.key).open().call("files__write_file", {"path": "/etc/cron.d/x", "content": "x"}), 2)
    assert "argument `path` must be a path under /srv/data/out" in message
    assert all(c["args"].get("path") not in (path, "/etc/cron.d/x") for c in served(weir, "files"))


def test_users_and_value_sets(weir: Weir) -> None:
    assert Client(weir, weir.key, user="alice").open().call("fix__deploy", {"env": "staging"})["result"]["content"][0]["text"] == "deployed to staging"
    assert_denied(Client(weir, weir.key, user="alice").open().call("fix__deploy", {"env": "prod"}), 3)
    assert_denied(Client(weir, weir.key, user="bob").open().call("fix__deploy", {"env": "staging"}), None)
    assert_denied(Client(weir, weir.key).open().call("fix__deploy", {"env": "staging"}), None)
    assert_denied(Client(weir, weir.key, user="alice").open().call("fix__deploy", {"env": ["staging"]}), 3)
    envs = [c["args"]["env"] for c in served(weir, "fix") if c["tool"] == "deploy"]
    assert envs.count("staging") >= 1 and "prod" not in envs and ["staging"] not in envs


# -------------------------------------------------------------------------------------------
# No way around a rule
# -------------------------------------------------------------------------------------------


def test_letter_case_is_not_a_way_around(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key).open()
    marker = unique("case")
    for name in ("FILES__write_file", "Files__write_file", "files__WRITE_FILE", "files__Write_File", "FILES__WRITE_FILE"):
        assert_refused(c.call(name, {"path": marker, "content": "x"}))
    # An allowed tool under another spelling is another name: its constraints cannot be dodged.
    e = Client(weir, weir.key).open()
    for name in ("files__Write_File", "FILES__write_file"):
        assert_refused(e.call(name, {"path": "/etc/passwd", "content": "x"}))
    # Endpoint names are exact too.
    assert Client(weir, intern_key, path="/mcp/FILES").status_of_initialize() == 404
    assert all(call["args"].get("path") not in (marker, "/etc/passwd") for call in served(weir, "files"))


def test_prefix_tricks_are_not_a_way_around(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key).open()
    marker = unique("prefix")
    for name in (
        "files____write_file",
        "__files__write_file",
        " files__write_file",
        "files__write_file ",
        "files__write_file\u0000",
        "files__read_file\u0000write_file",
        "fix__files__write_file",
        "files__read_file/../write_file",
        "files__./write_file",
        "files\u200b__write_file",
        "ｆｉｌｅｓ__write_file",
    ):
        assert_refused(c.call(name, {"path": marker, "content": "x"}))
    assert all(call["args"].get("path") != marker for call in served(weir, "files"))


def test_the_one_server_endpoint_applies_the_same_rules(weir: Weir, intern_key: str) -> None:
    files = Client(weir, intern_key, path="/mcp/files").open()
    marker = unique("endpoint")
    assert_denied(files.call("write_file", {"path": marker, "content": "x"}), None)
    # The prefixed form on a one-server endpoint is a name of that server: `files__files__…`.
    assert_denied(files.call("files__write_file", {"path": marker, "content": "x"}), None)
    assert_denied(files.call("read_file", {"path": "/srv/data/../../etc/shadow"}), 1)
    assert files.call("read_file", {"path": "/srv/data/report.txt"})["result"]["content"][0]["text"] == "contents of /srv/data/report.txt"
    fix = Client(weir, intern_key, path="/mcp/fix").open()
    assert_denied(fix.call("deploy", {"env": "staging"}), None)
    # A rule on fix's tools says nothing about the same tool on another server.
    alice_files = Client(weir, weir.key, path="/mcp/files", user="alice").open()
    assert_denied(alice_files.call("deploy", {"env": "staging"}), None)
    assert all(call["args"].get("path") != marker for call in served(weir, "files"))
    assert not any(c["tool"] == "deploy" for c in served(weir, "files"))


def test_unknown_servers_are_refused_without_reaching_anything(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key).open()
    for name in ("nosuch__read_file", "nosuch__write_file", "__read_file", "read_file", ""):
        msg = c.call(name, {"path": "/srv/data/x"})
        assert msg["error"]["code"] == -32602, msg
    assert Client(weir, intern_key, path="/mcp/nosuch").status_of_initialize() == 404


def test_tools_hidden_from_the_list_cannot_be_called(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key).open()
    assert "fix__deploy" not in c.tools()
    assert_denied(c.call("fix__deploy", {"env": "staging"}), None)
    intern_user = Client(weir, intern_key, user="alice").open()
    assert "fix__deploy" not in intern_user.tools()
    assert_denied(intern_user.call("fix__deploy", {"env": "staging"}), None)


@pytest.mark.parametrize(
    "path",
    [
        "/srv/data/../../etc/passwd",
        "/srv/data/./../secret",
        "/srv/data/sub/../../secret",
        "//srv/data/../../etc/passwd",
        "/srv/database/x",
        "/srv/data-other/x",
        "srv/data/x",
        "../srv/data/x",
        "/srv/data/\u0000/../../etc/passwd",
        "/../srv/data/../../etc",
    ],
)
def test_paths_that_leave_their_prefix_once_normalised_are_denied(weir: Weir, intern_key: str, path: str) -> None:
    assert_denied(Client(weir, intern_key).open().call("files__read_file", {"path": path}), 1)
    assert all(call["args"].get("path") != path for call in served(weir, "files"))


def test_paths_that_stay_inside_after_normalisation_are_allowed(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key).open()
    for path in ("/srv/data", "/srv/data/", "/srv/data//a/./b.txt", "/srv/data/a/../b.txt"):
        assert c.call("files__read_file", {"path": path})["result"]["content"][0]["text"] == f"contents of {path}"


def test_arguments_of_the_wrong_shape_are_denied(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key).open()
    for arguments in ({}, {"path": 7}, {"path": ["/srv/data/x"]}, {"path": None}, "path=/srv/data/x", ["/srv/data/x"]):
        assert_denied(c.call("files__read_file", arguments), 1)


def test_duplicate_json_keys_are_checked_as_the_backend_receives_them(weir: Weir) -> None:
    c = Client(weir, weir.key).open()
    inside, outside = unique("dup"), "/etc/cron.d/dup"
    # The last of duplicate keys is the one that counts, for Weir and for what it forwards.
    body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"files__write_file","arguments":{"path":"%s","path":"%s","content":"x"}}}'
    assert_denied(answer(c.raw((body % (inside, outside)).encode())), 2)
    ok = answer(c.raw((body % (outside, inside)).encode()))
    assert ok["result"]["content"][0]["text"] == f"wrote {inside}"
    paths = [call["args"]["path"] for call in served(weir, "files")]
    assert inside in paths and outside not in paths


def test_batched_calls_are_authorised_one_by_one(weir: Weir, intern_key: str) -> None:
    c = Client(weir, intern_key, version="2025-03-26").open()
    marker = unique("batch")
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "files__read_file", "arguments": {"path": "/srv/data/a"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "files__write_file", "arguments": {"path": marker, "content": "x"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "files__read_file", "arguments": {"path": "/srv/data/../etc/passwd"}}},
    ]
    r = c.raw(json.dumps(batch).encode())
    assert r.status_code == 200, r.text
    answers = {a["id"]: a for a in r.json()}
    assert answers[1]["result"]["content"][0]["text"] == "contents of /srv/data/a"
    assert_denied(answers[2], None)
    assert_denied(answers[3], 1)
    assert all(call["args"].get("path") != marker for call in served(weir, "files"))


# -------------------------------------------------------------------------------------------
# Resources, prompts and other methods
# -------------------------------------------------------------------------------------------


def reads(weir: Weir, server: str) -> list[str]:
    return [c["args"]["uri"] for c in served(weir, server) if c["tool"] == "resources/read"]


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "file:///srv/data/../../etc/passwd",
        "file:///srv/data/%2e%2e/%2e%2e/etc/passwd",
        "file:///srv/data/%252e%252e/%252e%252e/etc/passwd",
        "file:///srv/data/sub/%2E%2E/%2E%2E/%2E%2E/etc/shadow",
        "file:///srv/database/x",
        "FILE:///etc/passwd",
        "fixture://item/2",
    ],
)
def test_reading_a_resource_no_rule_allows_is_denied_on_both_endpoints(weir: Weir, intern_key: str, uri: str) -> None:
    # The intern's read_file rule keeps it inside /srv/data; resources/read is no way around it.
    msg = Client(weir, intern_key).open().request("resources/read", {"uri": f"files+{uri}"})
    assert "reading `files+" in assert_denied(msg, None)
    assert_denied(Client(weir, intern_key, path="/mcp/files").open().request("resources/read", {"uri": uri}), None)
    assert_denied(Client(weir, weir.key).open().request("resources/subscribe", {"uri": f"files+{uri}"}), None)
    assert uri not in reads(weir, "files")


def test_reading_an_allowed_resource_reaches_the_backend_as_written(weir: Weir, intern_key: str) -> None:
    uri = f"file:///srv/data/./{secrets.token_hex(4)}.txt"
    msg = Client(weir, intern_key).open().request("resources/read", {"uri": f"files+{uri}"})
    assert msg["result"]["contents"][0]["text"] == f"contents of {uri}", msg
    assert msg["result"]["contents"][0]["uri"] == f"files+{uri}", "the aggregate's own form"
    one = Client(weir, intern_key, path="/mcp/files").open().request("resources/read", {"uri": "fixture://item/12"})
    assert one["result"]["contents"][0]["text"] == "contents of fixture://item/12"
    assert uri in reads(weir, "files")
    # The same URI on a server the rule does not name.
    assert_denied(Client(weir, intern_key).open().request("resources/read", {"uri": f"fix+{uri}"}), None)


def test_an_agent_no_rule_names_reads_nothing(weir: Weir) -> None:
    weir.cli("agents", "create", "stranger")
    key = weir.create_key("stranger")
    eventually(lambda: Client(weir, key).status_of_initialize() == 200, 5, "the stranger's key to be loaded")
    c = Client(weir, key).open()
    assert_denied(c.request("resources/read", {"uri": "files+file:///srv/data/report.txt"}), None)
    assert c.request("resources/list", {})["result"]["resources"] == []
    assert c.request("resources/templates/list", {})["result"]["resourceTemplates"] == []
    assert c.request("prompts/list", {})["result"]["prompts"] == []
    assert c.tools() == {"files__served", "fix__served"}


def test_lists_show_only_the_resources_templates_and_prompts_an_agent_may_use(weir: Weir, intern_key: str) -> None:
    c = Client(weir, weir.key).open()
    uris, cursor = [], None
    while True:
        page = c.request("resources/list", {"cursor": cursor} if cursor else {})["result"]
        uris += [r["uri"] for r in page["resources"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert sorted(uris) == sorted(["files+fixture://item/1"] + [f"files+fixture://item/{i}" for i in range(10, 20)])
    templates = [t["uriTemplate"] for t in c.request("resources/templates/list", {})["result"]["resourceTemplates"]]
    assert templates == ["files+file:///srv/data/{name}"]
    assert [p["name"] for p in c.request("prompts/list", {})["result"]["prompts"]] == ["files__summarize"]
    assert Client(weir, intern_key).open().request("prompts/list", {})["result"]["prompts"] == []
    # One server's endpoint: the same rules, the backend's own names.
    files = Client(weir, weir.key, path="/mcp/files").open()
    assert [p["name"] for p in files.request("prompts/list", {})["result"]["prompts"]] == ["summarize"]
    assert [t["uriTemplate"] for t in files.request("resources/templates/list", {})["result"]["resourceTemplates"]] == ["file:///srv/data/{name}"]


def test_prompts_are_got_only_as_a_rule_allows(weir: Weir, intern_key: str) -> None:
    c = Client(weir, weir.key).open()
    ok = c.request("prompts/get", {"name": "files__summarize", "arguments": {"path": "/srv/data/q3.txt"}})
    assert "/srv/data/q3.txt" in ok["result"]["messages"][0]["content"]["text"]
    assert "argument `path` must be a path under /srv/data" in assert_denied(c.request("prompts/get", {"name": "files__summarize", "arguments": {"path": "/srv/data/../../etc"}}), 6)
    assert_denied(c.request("prompts/get", {"name": "files__exfiltrate", "arguments": {}}), None)
    assert_denied(Client(weir, intern_key).open().request("prompts/get", {"name": "files__summarize", "arguments": {"path": "/srv/data/x"}}), None)
    assert_denied(Client(weir, weir.key, path="/mcp/fix").open().request("prompts/get", {"name": "summarize", "arguments": {"path": "/srv/data/x"}}), None)
    got = [c["args"] for c in served(weir, "files") if c["tool"] == "prompts/get"]
    assert {"name": "summarize", "path": "/srv/data/q3.txt"} in got
    assert all(g.get("path") != "/srv/data/../../etc" and g["name"] != "exfiltrate" for g in got)


def test_completions_follow_the_rule_of_their_prompt_or_template(weir: Weir, intern_key: str) -> None:
    def complete(client: Client, ref: dict[str, str]) -> dict[str, Any]:
        return client.request("completion/complete", {"ref": ref, "argument": {"name": "path", "value": "/srv"}})

    e2e, intern = Client(weir, weir.key).open(), Client(weir, intern_key).open()
    assert complete(e2e, {"type": "ref/prompt", "name": "files__summarize"})["result"]["completion"]["values"]
    assert_denied(complete(intern, {"type": "ref/prompt", "name": "files__summarize"}), None)
    assert_denied(complete(e2e, {"type": "ref/prompt", "name": "files__exfiltrate"}), None)
    assert complete(intern, {"type": "ref/resource", "uri": "files+file:///srv/data/{name}"})["result"]["completion"]["values"]
    assert_denied(complete(intern, {"type": "ref/resource", "uri": "files+file:///etc/{name}"}), None)
    refs = [c["args"]["ref"] for c in served(weir, "files") if c["tool"] == "completion/complete"]
    assert {"type": "ref/resource", "uri": "file:///etc/{name}"} not in refs
    assert {"type": "ref/prompt", "name": "exfiltrate"} not in refs


def test_a_method_weir_does_not_know_needs_a_rule(weir: Weir, intern_key: str) -> None:
    marker = secrets.token_hex(4)
    ok = Client(weir, weir.key, path="/mcp/fix").open().request("fixture/custom", {"marker": marker})
    assert ok["result"] == {"custom": True}, ok
    denied_marker = secrets.token_hex(4)
    assert "the method `fix__fixture/custom`" in assert_denied(Client(weir, intern_key, path="/mcp/fix").open().request("fixture/custom", {"marker": denied_marker}), None)
    assert_denied(Client(weir, weir.key, path="/mcp/files").open().request("fixture/custom", {"marker": denied_marker}), None)
    assert_denied(Client(weir, weir.key, path="/mcp/fix").open().request("made/up", {}), None)
    # The aggregate has no server to pass it to.
    assert Client(weir, weir.key).open().request("fixture/custom", {})["error"]["code"] == -32601
    markers = [c["args"].get("marker") for srv in ("fix", "files") for c in served(weir, srv) if c["tool"] == "fixture/custom"]
    assert marker in markers and denied_marker not in markers


def test_the_protocols_plumbing_needs_no_rule(weir: Weir) -> None:
    weir.cli("agents", "create", "plumber")
    key = weir.create_key("plumber")
    eventually(lambda: Client(weir, key).status_of_initialize() == 200, 5, "the plumber's key to be loaded")
    for path in ("/mcp", "/mcp/files"):
        c = Client(weir, key, path=path).open()
        assert c.request("ping", {})["result"] == {}
        assert c.request("logging/setLevel", {"level": "warning"})["result"] == {}
        r = httpx.post(c.url, json={"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}, headers=c.headers)
        assert r.status_code == 202


# -------------------------------------------------------------------------------------------
# Records and reloads
# -------------------------------------------------------------------------------------------


def test_decisions_are_in_the_audit_trail(weir: Weir, intern_key: str) -> None:
    marker = unique("audit")
    Client(weir, intern_key).open().call("files__write_file", {"path": marker, "content": "x"})
    Client(weir, weir.key).open().call("files__write_file", {"path": marker, "content": "x"})

    def events() -> list[dict[str, Any]] | None:
        got = weir.admin_get("/api/v1/audit/events", tool="files__write_file", limit=200).json()["events"]
        mine = [e for e in got if marker in (e.get("request_body") or "")]
        return mine if len(mine) == 2 else None

    by_agent = {e["agent_name"]: e for e in eventually(events, 10, "both calls' audit events")}
    denied, allowed = by_agent[INTERN], by_agent[AGENT]
    assert (denied["policy_decision"], denied["policy_rule"], denied["status_code"], denied["error_type"]) == ("deny", None, 403, "denied_by_policy")
    assert denied["mcp_server"] == "files"
    assert (allowed["policy_decision"], allowed["policy_rule"], allowed["outcome"]) == ("allow", 2, "ok")


def test_rules_reload_with_the_config_file(weir: Weir, intern_key: str) -> None:
    original = weir.config.read_text()
    grant = '\n[[mcp.rules]]\ntools = ["files__write_file"]\nagents = ["intern"]\narguments = { path = { path_prefix = "/srv/data/intern" } }\n'
    path = f"/srv/data/intern/{secrets.token_hex(4)}"
    try:
        weir.config.write_text(original + grant)

        def allowed() -> bool:
            return "result" in Client(weir, intern_key).open().call("files__write_file", {"path": path, "content": "x"})

        eventually(allowed, 10, "the new rule to be loaded")
        assert "files__write_file" in Client(weir, intern_key).open().tools()
    finally:
        weir.config.write_text(original)
    eventually(lambda: "error" in Client(weir, intern_key).open().call("files__write_file", {"path": path, "content": "x"}), 10, "the rule to be gone again")


# -------------------------------------------------------------------------------------------
# The anonymous agent
# -------------------------------------------------------------------------------------------


def test_the_anonymous_agent_serves_keyless_clients_only_when_configured(weir: Weir, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Off (the module's Weir): no key, 401.
    assert Client(weir, None).status_of_initialize() == 401
    directory = tmp_path_factory.mktemp("weir-mcp-anon")
    rules = '\n[[mcp.rules]]\ntools = ["files__read_file", "*__served"]\nagents = ["local-dev"]\n'
    w = start(directory, weir.backend, policy_config(directory / "audit.spool", rules=rules, anonymous="local-dev"))
    try:
        c = Client(w, None).open()
        assert c.tools() == {"files__read_file", "files__served", "fix__served"}
        marker = f"/anon/{secrets.token_hex(4)}"
        assert c.call("files__read_file", {"path": marker})["result"]["content"][0]["text"] == f"contents of {marker}"
        assert_denied(c.call("files__write_file", {"path": marker, "content": "x"}), None)
        # A key that is presented must be valid: a wrong one is not taken for no key.
        assert Client(w, "wk_not_a_key_0123456789abcdef").status_of_initialize() == 401
        # A valid key acts as its own agent, which no rule here allows.
        assert Client(w, w.key).open().tools() == set()

        def recorded() -> dict[str, Any] | None:
            got = w.admin_get("/api/v1/audit/events", tool="files__read_file", limit=50).json()["events"]
            return next((e for e in got if marker in (e.get("request_body") or "")), None)

        event = eventually(recorded, 10, "the anonymous call's audit event")
        assert event["agent_name"] == "local-dev" and event["outcome"] == "ok"
        listed = w.cli("agents", "list").stdout
        assert "local-dev" in listed, listed
    finally:
        stop(w)
