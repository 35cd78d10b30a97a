"""The A2A registry through the admin API and the console, on two replicas sharing Postgres.

An agent registered, a rule set or an agent removed at one replica is in force at the other
within 2 seconds (the change counter both poll); the config file's agents are listed and cannot
be changed through the API; header values (credentials) are stored and sent, never shown back.
The console lists the agents with what their cards say, registers and removes agents, adds and
removes rules, and shows A2A calls on the traces and event pages. The target agent is the
official a2a-sdk 1.x server (tests/a2a/agent_v1.py).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_TOKEN,
    AGENT,
    REPO_ROOT,
    TestDatabase,
    Weir,
    base_sections,
    clear_of_the_minutes_end,
    eventually,
    running_replicas,
)

sys.path.insert(0, str(REPO_ROOT / "tests" / "a2a"))
from agents import spawn_agent  # noqa: E402

OTHER = "a2a-other-caller"


@dataclass
class Pair:
    one: Weir
    two: Weir
    agent_url: str
    other_key: str


def pair_config(spool: Path, agent_url: str) -> str:
    return base_sections(spool) + f"""
[[a2a.agents]]
name = "filed"
url = "{agent_url}"
"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    d = tmp_path_factory.mktemp("a2a-admin")
    proc, agent_url = spawn_agent("v1", name="registry-target")
    db = TestDatabase.create("postgres", d)
    try:
        with running_replicas(d, db, 2, lambda rd: pair_config(rd / "audit.spool", agent_url), {}, (AGENT, OTHER)) as (replicas, keys):
            yield Pair(replicas[0], replicas[1], agent_url, keys[OTHER])
    finally:
        db.drop()
        proc.terminate()
        proc.wait(10)


def send(w: Weir, agent: str, text: str, key: str | None = None, skill: str | None = None) -> httpx.Response:
    """A v1.0 JSON-RPC SendMessage through `w`."""
    message: dict[str, Any] = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": text}]}
    if skill:
        message["metadata"] = {"skill": skill}
    body = {"jsonrpc": "2.0", "id": "1", "method": "SendMessage", "params": {"message": message}}
    headers = {"Authorization": f"Bearer {key or w.key}", "A2A-Version": "1.0"}
    return httpx.post(f"{w.base}/a2a/{agent}", json=body, headers=headers, timeout=20)


def echoed(r: httpx.Response) -> str | None:
    if r.status_code != 200 or "result" not in r.json():
        return None
    return r.json()["result"]["task"]["artifacts"][0]["parts"][0]["text"]


def registry(w: Weir) -> dict[str, Any]:
    r = w.admin_get("/api/v1/a2a")
    assert r.status_code == 200, r.text
    return r.json()


def put_rules(w: Weir, rules: list[dict[str, Any]]) -> httpx.Response:
    return w.admin_http.put(f"{w.admin}/api/v1/a2a/rules", json={"rules": rules}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


def test_an_agent_registered_at_one_replica_is_served_by_the_other_within_two_seconds(pair: Pair) -> None:
    name = f"reg-{uuid.uuid4().hex[:8]}"
    assert send(pair.two, name, "before").status_code == 404, "not registered yet"
    put = pair.one.admin_put(f"/api/v1/a2a/agents/{name}", {"url": pair.agent_url, "headers": {"Authorization": "Bearer tok-registry-77"}}).json()
    assert put["source"] == "api" and put["path"] == f"/a2a/{name}"
    assert put["header_names"] == ["authorization"], "header names are shown"
    assert "tok-registry-77" not in json.dumps(registry(pair.one)), "a header's value never is"
    assert [s["id"] for s in put["card"]["skills"]] == ["echo", "slow"] and put["card"]["versions"] == ["0.3", "1.0"]
    # The other replica serves it within 2 s: its card and a call.
    eventually(lambda: echoed(send(pair.two, name, "hello there")) == "echo: hello there" or None, 2.5, "the other replica to serve the new agent")
    card = httpx.get(f"{pair.two.base}/a2a/{name}/.well-known/agent-card.json").json()
    assert {i["url"] for i in card["supportedInterfaces"]} == {f"{pair.two.base}/a2a/{name}"}
    # The configured credentials reach the agent in place of the caller's key.
    seen = echoed(send(pair.two, name, "headers"))
    assert seen is not None
    headers = json.loads(seen)
    assert headers.get("authorization") == "Bearer tok-registry-77", headers
    assert pair.two.key not in json.dumps(headers)
    # Removed at one replica: gone at the other within 2 s.
    assert pair.one.admin_http.delete(f"{pair.one.admin}/api/v1/a2a/agents/{name}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
    eventually(lambda: send(pair.two, name, "after").status_code == 404 or None, 2.5, "the other replica to stop serving the removed agent")


def test_a_rule_set_at_one_replica_is_in_force_at_the_other_within_two_seconds(pair: Pair) -> None:
    try:
        assert echoed(send(pair.two, "filed", "open", key=pair.other_key)) == "echo: open", "no rule: everyone may call"
        r = put_rules(pair.one, [{"agents": [AGENT], "targets": ["filed"], "skills": ["echo"]}])
        assert r.status_code == 200 and r.json()[0]["number"] == 1, r.text

        def denied() -> bool | None:
            r = send(pair.two, "filed", "closed", key=pair.other_key)
            return (r.status_code == 200 and r.json().get("error", {}).get("code") == -32050) or None

        eventually(denied, 2.5, "the other replica to deny what the new rule does not allow")
        assert echoed(send(pair.two, "filed", "allowed", skill="echo")) == "echo: allowed"
        refused = send(pair.two, "filed", "slow", skill="slow").json()
        assert refused["error"]["code"] == -32050 and "skill `slow`" in refused["error"]["message"]
        listed = registry(pair.two)["rules"]
        assert listed == [{"number": 1, "source": "api", "agents": [AGENT], "targets": ["filed"], "skills": ["echo"]}]
    finally:
        assert put_rules(pair.one, []).status_code == 200
    eventually(lambda: echoed(send(pair.two, "filed", "open again", key=pair.other_key)) == "echo: open again" or None, 2.5, "the rules' removal to reach the other replica")


def test_the_registry_refuses_what_it_cannot_serve_and_the_config_files_agents(pair: Pair) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    put = lambda name, body: pair.one.admin_http.put(f"{pair.one.admin}/api/v1/a2a/agents/{name}", json=body, headers=auth)  # noqa: E731
    for name, body, status, why in [
        ("filed", {"url": pair.agent_url}, 409, "config file"),
        ("bad/name", {"url": pair.agent_url}, 404, ""),
        ("bad name", {"url": pair.agent_url}, 400, "may hold only"),
        ("nourl", {}, 400, "needs `url`"),
        ("ftp", {"url": "ftp://example.com/agent"}, 400, "http(s)"),
        ("hdr", {"url": pair.agent_url, "headers": {"bad header": "x"}}, 400, "not a valid header name"),
        ("extra", {"url": pair.agent_url, "token": "x"}, 400, "unknown field"),
    ]:
        r = put(name, body)
        assert r.status_code == status, (name, body, r.status_code, r.text)
        if why:
            assert why in r.json()["error"]["message"], (name, r.text)
    r = pair.one.admin_http.delete(f"{pair.one.admin}/api/v1/a2a/agents/filed", headers=auth)
    assert r.status_code == 409
    for rules, why in [
        ([{"agents": [], "targets": ["x"]}], "at least one caller"),
        ([{"agents": ["a"], "targets": ["x"], "skills": []}], "at least one caller"),
        ([{"agents": ["a"]}], "missing field `targets`"),
    ]:
        r = put_rules(pair.one, rules)
        assert r.status_code == 400 and why in r.json()["error"]["message"], (rules, r.text)
    assert registry(pair.one)["rules"] == [], "a refused body stores nothing"
    assert [a["name"] for a in registry(pair.one)["agents"]] == ["filed"]


def test_the_console_lists_registers_and_removes_agents_and_rules_and_shows_a2a_calls(pair: Pair) -> None:
    w = pair.one
    http = httpx.Client(base_url=w.admin, headers={"Origin": w.admin}, follow_redirects=True, timeout=20)
    assert http.post("/sign-in", data={"token": ADMIN_TOKEN}).status_code == 200
    page = http.get("/a2a").text
    assert "Agents callers reach through Weir" in page and "<code>filed</code>" in page and "echo (Echo)" in page
    assert "every agent may call every registered agent" in page
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page)[0]
    name = f"con-{uuid.uuid4().hex[:6]}"
    # Registered by its card's URL.
    r = http.post("/a2a/agents", data={"csrf": csrf, "name": name, "url": f"{pair.agent_url}/.well-known/agent-card.json"})
    assert r.status_code == 200 and "Agent registered" in r.text and f"<code>{name}</code>" in r.text
    assert echoed(send(w, name, "via console")) == "echo: via console"
    # A rule added and removed.
    r = http.post("/a2a/rules", data={"csrf": csrf, "agents": f"{AGENT}, ops-*", "targets": name, "skills": ""})
    assert r.status_code == 200 and "Rules saved" in r.text and f"{AGENT}, ops-* → {name} (any skill)" in r.text
    assert registry(w)["rules"][0]["agents"] == [AGENT, "ops-*"]
    assert send(w, "filed", "denied now").json()["error"]["code"] == -32050, "the console's rule is in force: it names no rule for `filed`"
    r = http.post("/a2a/rules/1/delete", data={"csrf": csrf})
    assert r.status_code == 200 and registry(w)["rules"] == []
    # A call's event: its page names the agent called, the task and its state.
    resp = send(w, name, "traced")
    rid = resp.headers["x-request-id"]
    event = w.audit_event(rid)
    assert event["kind"] == "a2a" and event["a2a_target"] == name and event["a2a_task_state"] == "completed"
    detail = http.get(f"/events/{event['id']}").text
    assert "A2A agent called" in detail and name in detail and f"{event['a2a_task_id']} (completed)" in detail
    listing = http.get("/traces", params={"kind": "a2a", "target": name}).text
    assert f"{name}: SendMessage → completed" in listing
    assert "filed:" not in listing, "the target filter keeps other agents' calls out"
    # The session its answer opened (the A2A context) lists it, and counts it as an A2A call.
    assert event["session_id"] == event["a2a_context_id"]
    session_page = http.get(f"/sessions/{event['a2a_context_id']}", params={"agent": AGENT}).text
    assert f"{name}: SendMessage → completed" in session_page, session_page[:2000]
    sessions_page = http.get("/sessions", params={"agent": AGENT}).text
    assert "A2A calls" in sessions_page and event["a2a_context_id"] in sessions_page
    # Removed; a form without its token is refused.
    assert http.post(f"/a2a/agents/{name}/delete", data={"csrf": "wrong"}).status_code in (400, 403)
    r = http.post(f"/a2a/agents/{name}/delete", data={"csrf": csrf})
    assert r.status_code == 200 and "Agent removed" in r.text and f"<code>{name}</code>" not in r.text
    http.close()


def test_an_a2a_rate_set_through_the_api_applies_at_the_other_replica_within_two_seconds(pair: Pair) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    limits = f"{pair.one.admin}/api/v1/agents/{OTHER}/limits"
    # The rate counts per clock minute: the test must not straddle two.
    clear_of_the_minutes_end(8.0)
    try:
        r = pair.one.admin_http.put(limits, json={"a2a_rpm": 1}, headers=auth)
        assert r.status_code == 200 and r.json()["a2a_rpm"] == 1, r.text
        assert pair.one.admin_http.put(limits, json={"a2a_rpm": 1, "model": "x"}, headers=auth).status_code == 400, "per agent, not per model"

        def limited() -> bool | None:
            statuses = [send(pair.two, "filed", f"rate {i}", key=pair.other_key).status_code for i in range(2)]
            return statuses[-1] == 429 or None

        eventually(limited, 2.5, "the other replica to apply the agent's A2A rate")
        refused = send(pair.two, "filed", "over", key=pair.other_key)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == -32052 and refused.headers.get("retry-after"), refused.text
    finally:
        pair.one.admin_http.put(limits, json={"a2a_rpm": None}, headers=auth)
