"""The console in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
driven through Selenium, against a real `weir serve` on Postgres with traffic from the official
SDKs — OpenAI for LLM calls, `mcp` for held tool calls. A person's steps: sign in, find a trace
and read it, set a budget and see the agent refused, approve and deny held calls and see what
the MCP client gets, create and revoke a key. Every page is also refused to a visitor who is not
signed in, and every form posted without its token.

A screenshot of each page is saved in target/console-screenshots/.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
from mcp.shared.exceptions import MCPError
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from conftest import ADMIN_TOKEN, AGENT, PROVIDER_KEY, REPO_ROOT, FakeProvider, Weir, config_toml, eventually
from test_mcp import FIXTURE, _require_node, connect, text_of
from test_mcp_policy import start, stop
from test_mcp_tools import POISONED, TOOLS_FROM_FILE

SHOTS = REPO_ROOT / "target" / "console-screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def console_config(fake: FakeProvider, spool: Path, tools_file: Path) -> str:
    return config_toml(fake, spool) + f"""
# A provider whose key variable is not set: the models page says so.
[[providers]]
name = "keyless"
kind = "openai"
base_url = "{fake.openai_base}"
api_key_env = "WEIR_CONSOLE_TEST_UNSET_KEY"

[mcp]
request_timeout_secs = 30
approval_timeout_secs = 60

[[mcp.servers]]
name = "fix"
command = ["node", "{FIXTURE}", "stdio"]

[[mcp.servers]]
name = "poison"
command = ["node", "{TOOLS_FROM_FILE}", "{tools_file}"]

[[mcp.rules]]
tools = ["fix__deploy"]
agents = ["{AGENT}"]
require_approval = true

[[mcp.rules]]
tools = ["fix__*", "poison__*"]
agents = ["{AGENT}"]
"""


@pytest.fixture(scope="module")
def weir(fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weir]:
    _require_node()
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.exit("the console tests need Debian's chromium and chromium-driver (scripts/test installs them)", returncode=2)
    directory = tmp_path_factory.mktemp("weir-console")
    tools_file = directory / "tools.json"
    tools_file.write_text(json.dumps([POISONED]))
    w = start(directory, "postgres", console_config(fake_provider, directory / "audit.spool", tools_file), {"FAKE_PROVIDER_KEY": PROVIDER_KEY})
    try:
        yield w
    finally:
        stop(w)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(b: WebDriver, name: str) -> None:
    b.save_screenshot(str(SHOTS / f"{name}.png"))


def sign_in(b: WebDriver, w: Weir) -> None:
    b.delete_all_cookies()
    b.get(f"{w.admin}/sign-in")
    shot(b, "sign-in")
    b.find_element(By.NAME, "token").send_keys(ADMIN_TOKEN)
    b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    eventually(lambda: heading(b) == "Overview", 10, "the console to open on its overview")


def heading(b: WebDriver) -> str | None:
    """The page's heading, or `None` while a page is being replaced."""
    try:
        return b.find_element(By.TAG_NAME, "h1").text
    except WebDriverException:
        return None


def click(b: WebDriver, element: Any) -> None:
    """Clicks a form's button and waits for the page it leads to."""
    old = b.find_element(By.TAG_NAME, "html")
    element.click()
    eventually(lambda: _stale(old), 10, "the next page to load")


def _stale(element: Any) -> bool:
    try:
        element.tag_name
        return False
    except WebDriverException:
        # Stale, or "does not belong to the document": the page was replaced.
        return True


def page_text(b: WebDriver) -> str:
    return b.find_element(By.TAG_NAME, "main").text


def openai_client(w: Weir, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{w.base}/v1", api_key=key or w.key, max_retries=0)


def works(client: openai.OpenAI) -> bool:
    """Whether a call with this client's key gets through (a new key takes a moment to load)."""
    try:
        client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
        return True
    except openai.AuthenticationError:
        return False


def new_agent(w: Weir, prefix: str) -> tuple[str, openai.OpenAI]:
    """A new agent and a client with a key of its, once the key works."""
    agent = f"{prefix}-{secrets.token_hex(3)}"
    w.cli("agents", "create", agent)
    client = openai_client(w, w.create_key(agent))
    eventually(lambda: works(client), 5, "the new key to work")
    return agent, client


def refused_within_two_seconds(client: openai.OpenAI, error: type[Exception], what: str) -> None:
    """Calls until one is refused with `error`: a console change is effective within 2 s."""
    started = time.monotonic()

    def refused() -> bool:
        try:
            client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi again"}])
            return False
        except error:
            return True

    eventually(refused, 5, what)
    assert time.monotonic() - started < 2.0, "effective within 2 seconds"


# -------------------------------------------------------------------------------------------


PAGES = ["/", "/traces", "/sessions", "/sessions/x?agent=y", "/agents", f"/agents/{AGENT}", "/approvals", "/tools", "/models", "/events/x"]
FORMS = ["/agents", f"/agents/{AGENT}/keys", f"/agents/{AGENT}/budgets", "/keys/x/revoke", "/keys/x/models", "/approvals/x/approve", "/approvals/x/deny", "/tools/a/b/approve", "/sign-out"]


def no_csp_violations(b: WebDriver) -> None:
    """Nothing on the page was blocked by the console's Content-Security-Policy."""
    blocked = [e["message"] for e in b.get_log("browser") if "Content Security Policy" in e["message"] or "Content-Security-Policy" in e["message"]]
    assert not blocked, blocked


def drawn_fill(b: WebDriver, svg: Any) -> float:
    """A meter's fill as the browser drew it: its width over its track's."""
    return float(b.execute_script(
        "const s = arguments[0]; const t = s.querySelector('.meter-track').getBoundingClientRect().width;"
        " return s.querySelector('.meter-fill').getBoundingClientRect().width / t;", svg))


def drawn_size(b: WebDriver, element: Any) -> tuple[float, float]:
    r = b.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", element)
    return float(r[0]), float(r[1])


@asynccontextmanager
async def mcp_session(w: Weir, weir_session: str) -> AsyncIterator[ClientSession]:
    """An MCP SDK session through Weir whose requests carry `x-weir-session`."""
    headers = {"Authorization": f"Bearer {w.key}", "x-weir-session": weir_session}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(f"{w.base}/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def test_every_page_and_form_refuses_a_visitor_not_signed_in_or_without_the_form_token(weir: Weir, browser: WebDriver) -> None:
    browser.delete_all_cookies()
    for path in PAGES:
        browser.get(f"{weir.admin}{path}")
        assert browser.current_url.endswith("/sign-in"), (path, browser.current_url)
    with httpx.Client(base_url=weir.admin, follow_redirects=False) as http:
        for path in FORMS:
            r = http.post(path, data={"csrf": "0" * 64, "name": "x", "period": "day", "kind": "tokens", "amount": "1", "hash": "h"})
            assert r.status_code == 403, (path, r.status_code)
        # Signed in, but without the form's token (or with another session's): refused too.
        r = http.post("/sign-in", data={"token": ADMIN_TOKEN})
        assert r.status_code == 303 and "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
        for path in FORMS:
            assert http.post(path, data={"name": "x", "period": "day", "kind": "tokens", "amount": "1", "hash": "h"}).status_code == 403, path
            assert http.post(path, data={"csrf": "f" * 64, "name": "x"}).status_code == 403, path
        # A wrong token does not sign in.
        assert httpx.post(f"{weir.admin}/sign-in", data={"token": "nope"}).status_code == 401
    assert "not-allowed-agent" not in weir.cli("agents", "list").stdout


def test_a_trace_made_by_an_sdk_call_is_found_and_read(weir: Weir, browser: WebDriver) -> None:
    marker = f"console-trace-{secrets.token_hex(4)}"
    openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": marker}], extra_headers={"x-weir-session": f"s-{marker}"})
    sign_in(browser, weir)

    def listed() -> bool:
        browser.get(f"{weir.admin}/traces?session=s-{marker}")
        return "gpt-test" in page_text(browser)

    eventually(listed, 10, "the call to show in the traces")
    browser.get(f"{weir.admin}/")
    shot(browser, "overview")
    llm_row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if r.text.startswith("llm"))
    overview = weir.admin_get("/api/v1/overview").json()
    llm = next(k for k in overview["kinds"] if k["kind"] == "llm")
    assert f"{llm['requests']:,}" in llm_row.text and f"{llm['tokens']:,}" in llm_row.text, llm_row.text
    assert AGENT in page_text(browser), "top agents by tokens"
    browser.get(f"{weir.admin}/traces?session=s-{marker}")
    shot(browser, "traces")
    click(browser, browser.find_element(By.CSS_SELECTOR, "tbody tr td a"))
    text = page_text(browser)
    shot(browser, "trace-detail")
    event = weir.admin_get("/api/v1/audit/events", session=f"s-{marker}").json()["events"][0]
    assert f"{event['input_tokens']} in / {event['output_tokens']} out" in text, text
    assert f"${event['cost_usd']:.6f}" in text, text
    user_turn = browser.find_element(By.CSS_SELECTOR, ".conversation li.conv-user")
    assert marker in user_turn.text, "the request read as the user's message"
    raw = browser.find_element(By.CSS_SELECTOR, "details.raw summary")
    raw.click()
    assert marker in browser.find_element(By.CSS_SELECTOR, "details.raw[open] pre").text, "the request body as recorded, a click away"
    click(browser, browser.find_element(By.CSS_SELECTOR, "a.session"))
    assert heading(browser) == f"Session s-{marker}"
    no_csp_violations(browser)


def test_a_budget_set_in_the_console_refuses_the_agents_next_request(weir: Weir, browser: WebDriver) -> None:
    agent, client = new_agent(weir, "budgeted")
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/agents/{agent}")
    form = browser.find_element(By.CSS_SELECTOR, f"form[action='/agents/{agent}/budgets']")
    form.find_element(By.NAME, "amount").send_keys("1")
    click(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert "Budget set" in page_text(browser)
    assert "day tokens:" in page_text(browser) and "of 1" in page_text(browser)
    shot(browser, "agent-detail")
    refused_within_two_seconds(client, openai.RateLimitError, "the agent's next request to be refused")
    try:
        client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "one more"}])
        raise AssertionError("a spent budget let a call through")
    except openai.RateLimitError as e:
        message = str(e)
    assert "this call needs" in message and "of 1 is left" in message, message

    def blocked_line() -> str | None:
        browser.get(f"{weir.admin}/agents/{agent}")
        found = browser.find_elements(By.CSS_SELECTOR, "p.blocked")
        return found[0].text if found else None

    blocked = eventually(blocked_line, 10, "the agent's page to say it is blocked")
    # A reset more than 20 hours away (a daily budget spent just after midnight) is shown with its date.
    assert re.search(
        r"blocked: budget spent until (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC — \d+ calls? refused so far", blocked
    ), blocked


def test_a_budget_meter_is_drawn_as_full_as_the_share_spent(weir: Weir, browser: WebDriver) -> None:
    agent, client = new_agent(weir, "metered")
    weir.admin_put(f"/api/v1/agents/{agent}/budgets", json={"period": "day", "tokens": 80})
    # A small answer, so that the call's reservation fits the budget and its use is a fair share of it.
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "a few tokens"}], max_tokens=8)

    def budget() -> dict[str, Any] | None:
        b = weir.admin_get(f"/api/v1/agents/{agent}/budgets").json()["budgets"][0]
        return b if b["used"] > 0 else None

    b = eventually(budget, 10, "the call's tokens counted")
    share = b["used"] / b["limit"]
    assert 0.05 < share < 0.95, b
    sign_in(browser, weir)
    for path in ("/agents", f"/agents/{agent}"):
        browser.get(f"{weir.admin}{path}")
        row = browser.find_element(By.CSS_SELECTOR, f"a[href='/agents/{agent}']").find_element(By.XPATH, "ancestor::tr") if path == "/agents" else browser.find_element(By.TAG_NAME, "main")
        meter = row.find_element(By.CSS_SELECTOR, "svg.meter")
        assert abs(drawn_fill(browser, meter) - share) < 0.01, (path, drawn_fill(browser, meter), share)
        assert drawn_size(browser, meter)[0] > 100, "the meter has a width to fill"
    chart = browser.find_element(By.CSS_SELECTOR, ".budget-block .chart svg")
    width, height = drawn_size(browser, chart)
    assert width > 300 and height > 100, (width, height)
    assert "resets" in chart.get_attribute("aria-label")
    shot(browser, "agent-budget")
    no_csp_violations(browser)


def test_held_calls_are_approved_and_denied_in_the_console(weir: Weir, browser: WebDriver) -> None:
    envs = {"approve": f"console-ok-{secrets.token_hex(3)}", "deny": f"console-no-{secrets.token_hex(3)}"}
    outcome: dict[str, Any] = {}

    async def call(env: str) -> None:
        async with connect(weir) as (s, _):
            try:
                outcome[env] = text_of(await s.call_tool("fix__deploy", {"env": env}))
            except MCPError as e:
                outcome[env] = e.error

    threads = [threading.Thread(target=anyio.run, args=(call, env), daemon=True) for env in envs.values()]
    for t in threads:
        t.start()
    sign_in(browser, weir)

    def both_pending() -> bool:
        browser.get(f"{weir.admin}/approvals")
        return all(env in page_text(browser) for env in envs.values())

    eventually(both_pending, 15, "both calls on the approvals page")
    shot(browser, "approvals")

    def row_of(env: str) -> Any:
        return next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if env in r.text)

    click(browser, row_of(envs["approve"]).find_element(By.CSS_SELECTOR, "form[action$='/approve'] button"))
    assert "Approved" in page_text(browser)
    deny_form = row_of(envs["deny"]).find_element(By.CSS_SELECTOR, "form[action$='/deny']")
    deny_form.find_element(By.NAME, "reason").send_keys("not on a Friday")
    click(browser, deny_form.find_element(By.CSS_SELECTOR, "button"))
    assert "Denied" in page_text(browser)
    for t in threads:
        t.join(timeout=20)
    assert outcome[envs["approve"]] == f"deployed to {envs['approve']}"
    denied = outcome[envs["deny"]]
    assert denied.code == -32003 and "not on a Friday" in denied.message and "console" in denied.message, denied
    browser.get(f"{weir.admin}/approvals")
    history = page_text(browser)
    assert "approved" in history and "denied" in history and "not on a Friday" in history


def test_a_key_created_in_the_console_works_and_stops_when_revoked(weir: Weir, browser: WebDriver) -> None:
    agent = f"keyed-{secrets.token_hex(3)}"
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/agents")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/agents']")
    form.find_element(By.NAME, "name").send_keys(agent)
    click(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert browser.current_url.split("?")[0].endswith(f"/agents/{agent}")
    click(browser, browser.find_element(By.CSS_SELECTOR, f"form[action='/agents/{agent}/keys'] button"))
    key = browser.find_element(By.CSS_SELECTOR, "pre.key").text.strip()
    assert re.fullmatch(r"wk_\w+", key), key
    shot(browser, "new-key")
    client = openai_client(weir, key)
    eventually(lambda: works(client), 5, "the console's key to work")
    click(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/revoke'] button"))
    assert "Key revoked" in page_text(browser)
    refused_within_two_seconds(client, openai.AuthenticationError, "the revoked key to stop working")
    browser.get(f"{weir.admin}/agents")
    shot(browser, "agents")
    assert agent in page_text(browser)


def test_the_tools_page_lists_what_clients_listed(weir: Weir, browser: WebDriver) -> None:
    async def list_tools() -> None:
        async with connect(weir) as (s, _):
            await s.list_tools()

    anyio.run(list_tools)
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/tools")
    shot(browser, "tools")
    assert "fix__deploy" in page_text(browser)
    browser.get(f"{weir.admin}/traces?kind=mcp")
    assert "tools/list" in page_text(browser)


def test_models_page_and_an_operators_time_zone(weir: Weir, browser: WebDriver) -> None:
    openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "models page"}])
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/models")
    shot(browser, "models")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if r.text.startswith("gpt-test"))
    assert "fake-openai / gpt-4o-mini — circuit closed" in row.text, row.text
    models = weir.admin_get("/api/v1/models").json()["models"]
    calls = next(m for m in models if m["name"] == "gpt-test")["last_hour"]["requests"]
    assert calls >= 1 and f"{calls:,}" in row.text, row.text
    # Times in UTC until the operator picks another offset; then in that one, on every page.
    browser.get(f"{weir.admin}/traces?model=gpt-test")
    first_utc = browser.find_element(By.CSS_SELECTOR, "tbody tr td a").text
    assert "time (UTC)" in browser.find_element(By.TAG_NAME, "thead").text
    form = browser.find_element(By.CSS_SELECTOR, "form.zone")
    form.find_element(By.CSS_SELECTOR, "option[value='120']").click()
    click(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert browser.current_url.endswith("/traces?model=gpt-test"), browser.current_url
    assert "time (UTC+02:00)" in browser.find_element(By.TAG_NAME, "thead").text
    shifted = browser.find_element(By.CSS_SELECTOR, "tbody tr td a").text
    from datetime import datetime, timedelta

    fmt = "%Y-%m-%d %H:%M:%S"
    assert datetime.strptime(shifted, fmt) - datetime.strptime(first_utc, fmt) == timedelta(hours=2), (first_utc, shifted)
    browser.delete_cookie("weir_tz")


def test_a_streamed_answer_reads_as_the_text_it_assembled_to(weir: Weir, browser: WebDriver) -> None:
    marker = f"streamed-{secrets.token_hex(4)}"
    stream = openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": marker}], stream=True)
    request_id = stream.response.headers["x-request-id"]
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assembled = "".join(pieces)
    assert len([p for p in pieces if p]) > 1 and assembled, "the fake streams its answer in several chunks"
    event = weir.audit_event(request_id)
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/events/{event['id']}")
    shot(browser, "event-streamed")
    answer = browser.find_elements(By.CSS_SELECTOR, "h3.conv-answer + ol.conv-turns li.conv-assistant .conv-text")
    assert [a.text for a in answer] == [assembled], ([a.text for a in answer], assembled)
    raw = browser.find_element(By.CSS_SELECTOR, "details.conv-raw")
    assert not raw.get_attribute("open"), "the raw chunks are one click away, not in the way"
    raw.find_element(By.TAG_NAME, "summary").click()
    assert "data: " in raw.text and "chat.completion.chunk" in raw.text


def test_an_agents_llm_and_mcp_calls_in_one_session_form_one_timeline(weir: Weir, browser: WebDriver) -> None:
    name = f"ticket-{secrets.randbelow(10**6):06d}-long-session-name"
    openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "plan"}], extra_headers={"x-weir-session": name})

    async def tools() -> None:
        async with mcp_session(weir, name) as s:
            await s.call_tool("fix__echo", {"text": "from the session"})

    anyio.run(tools)
    openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "summarise"}], extra_headers={"x-weir-session": name})

    def recorded() -> list[dict[str, Any]] | None:
        events = weir.admin_get("/api/v1/audit/events", session=name).json()["events"]
        kinds = {e["kind"] for e in events}
        return events if {"llm", "mcp"} <= kinds and sum(e["kind"] == "llm" for e in events) == 2 else None

    events = eventually(recorded, 10, "the session's LLM and MCP calls in the audit trail")
    mcp_call = next(e for e in events if e.get("tool_name") == "fix__echo")
    assert mcp_call["mcp_session_id"] and mcp_call["mcp_session_id"] != name, mcp_call
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/sessions")
    shot(browser, "sessions")
    link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "table.sessions a.session") if a.get_attribute("title") == name)
    assert link.text == name, "the whole name, not its first characters"
    row = link.find_element(By.XPATH, "ancestor::tr").text
    assert AGENT in row
    click(browser, link)
    assert heading(browser) == f"Session {name}"
    shot(browser, "session")
    whats = [r.find_elements(By.TAG_NAME, "td")[2].text for r in browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")]
    assert whats[0] == "chat gpt-test" and whats[-1] == "chat gpt-test", whats
    assert "tools/call fix__echo" in whats and whats.index("tools/call fix__echo") < len(whats) - 1, "the tool call between the two LLM calls"
    waterfall = browser.find_element(By.CSS_SELECTOR, ".chart-cell .chart svg")
    width, height = drawn_size(browser, waterfall)
    assert width > 400 and height > 60, (width, height)
    bars = waterfall.find_elements(By.CSS_SELECTOR, "a")
    assert len(bars) == len(whats), (len(bars), whats)
    no_csp_violations(browser)


def test_a_call_waiting_for_a_person_shows_everywhere(weir: Weir, browser: WebDriver) -> None:
    env = f"waiting-{secrets.token_hex(3)}"
    outcome: dict[str, Any] = {}

    async def call() -> None:
        async with connect(weir) as (s, _):
            try:
                outcome["r"] = text_of(await s.call_tool("fix__deploy", {"env": env}))
            except MCPError as e:
                outcome["r"] = e.error

    thread = threading.Thread(target=anyio.run, args=(call,), daemon=True)
    thread.start()

    def pending() -> dict[str, Any] | None:
        rows = weir.admin_get("/api/v1/approvals", status="pending").json()["approvals"]
        return next((a for a in rows if a["arguments"].get("env") == env), None)

    held = eventually(pending, 15, "the call held for approval")
    sign_in(browser, weir)
    try:
        for path in ("/", "/traces", "/agents"):
            browser.get(f"{weir.admin}{path}")
            badge = browser.find_element(By.CSS_SELECTOR, "header nav a[href='/approvals'] .badge")
            assert int(badge.text) >= 1, (path, badge.text)
        browser.get(f"{weir.admin}/")
        assert "waiting for a person" in page_text(browser)
        browser.get(f"{weir.admin}/traces?agent={AGENT.upper()}")
        shot(browser, "traces-held")
        rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.held tr")]
        assert any("fix__deploy" in r and "waiting for approval" in r for r in rows), rows
        browser.get(f"{weir.admin}/traces?kind=llm")
        assert not browser.find_elements(By.CSS_SELECTOR, "table.held"), "an LLM filter leaves held tool calls out"
    finally:
        weir.admin_http.post(f"{weir.admin}/api/v1/approvals/{held['id']}/deny", json={"reason": "closing the test"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        thread.join(timeout=20)
    decision = eventually(lambda: next((e for e in weir.admin_get("/api/v1/audit/events", kind="approval").json()["events"] if e.get("approval_id") == held["id"]), None), 10, "the decision in the audit trail")
    browser.get(f"{weir.admin}/events/{decision['id']}")
    fields = {r.find_element(By.TAG_NAME, "th").text: r.find_element(By.TAG_NAME, "td").text for r in browser.find_elements(By.CSS_SELECTOR, "table.fields tr")}
    assert fields.get("reason") == "closing the test" and "error" not in fields, fields


def test_filters_say_what_they_found_and_mark_what_they_cannot_read(weir: Weir, browser: WebDriver) -> None:
    openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "filters"}])
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/traces?agent=no-such-agent-{secrets.token_hex(2)}")
    text = page_text(browser)
    assert "No calls match these filters." in text and "No traces yet" not in text, text
    browser.get(f"{weir.admin}/traces?model=GPT-TEST&agent={AGENT.upper()}")
    assert browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr"), "names match whatever their case"
    browser.get(f"{weir.admin}/traces?since=last+tuesday&model=gpt-test")
    shot(browser, "traces-bad-since")
    assert heading(browser) == "Traces", "the page stays, with its navigation and filters"
    since = browser.find_element(By.CSS_SELECTOR, "input[name=since]")
    assert since.get_attribute("aria-invalid") == "true" and since.get_attribute("value") == "last tuesday"
    assert "Not a time" in browser.find_element(By.CSS_SELECTOR, ".field-error").text
    assert browser.find_element(By.CSS_SELECTOR, "input[name=model]").get_attribute("value") == "gpt-test"
    browser.get(f"{weir.admin}/traces?since=1h&model=gpt-test")
    assert browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr"), "a while ago (1h) is a time"
    options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "datalist#models option")]
    assert "gpt-test" in options and "claude-test" in options, options
    assert AGENT in [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "datalist#agents option")]


def test_the_overview_charts_the_day_and_the_last_hour(weir: Weir, browser: WebDriver) -> None:
    openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "chart me"}])
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/")
    charts = browser.find_elements(By.CSS_SELECTOR, ".charts .chart svg")
    labels = [c.get_attribute("aria-label") for c in charts]
    assert len(charts) >= 9, labels
    for c in charts:
        width, height = drawn_size(browser, c)
        assert width > 250 and height > 100, (c.get_attribute("aria-label"), width, height)
    for title in ("Requests and errors, by the hour", "Latency p50 / p95, by the minute", "Tokens, by the hour", "Cost, by the minute", "Tokens per agent", "Cost per agent"):
        assert any(l and l.startswith(title) for l in labels), (title, labels)
    no_csp_violations(browser)


def test_keys_show_and_set_their_models_and_models_show_keyless_providers(weir: Weir, browser: WebDriver) -> None:
    agent, client = new_agent(weir, "allow")
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/agents/{agent}")
    row = browser.find_element(By.CSS_SELECTOR, "td.models")
    assert row.text.startswith("every model"), row.text
    row.find_element(By.TAG_NAME, "summary").click()
    row.find_element(By.CSS_SELECTOR, "input[value='claude-test']").click()
    click(browser, row.find_element(By.CSS_SELECTOR, "button"))
    assert "The key's models are set" in page_text(browser)
    assert browser.find_element(By.CSS_SELECTOR, "td.models").text.startswith("claude-test")
    refused_within_two_seconds(client, openai.PermissionDeniedError, "gpt-test refused to a key allowed only claude-test")
    browser.get(f"{weir.admin}/models")
    providers = {r.find_elements(By.TAG_NAME, "td")[0].text: r.text for r in browser.find_elements(By.XPATH, "//h2[.='Providers']/following-sibling::table//tbody/tr")}
    assert "set" in providers["fake-openai"], providers
    keyless = [name for name, text in providers.items() if "not set" in text]
    assert keyless == ["keyless"], providers


def test_every_page_at_1280_and_400_px_fits_without_sideways_scrolling(weir: Weir, browser: WebDriver) -> None:
    marker = f"shots-{secrets.token_hex(3)}"
    stream = openai_client(weir).chat.completions.create(model="gpt-test", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": marker}], stream=True, extra_headers={"x-weir-session": marker})
    request_id = stream.response.headers["x-request-id"]
    list(stream)
    event = weir.audit_event(request_id)
    pages = [
        ("overview", "/"),
        ("traces", "/traces"),
        ("event", f"/events/{event['id']}"),
        ("sessions", "/sessions"),
        ("session", f"/sessions/{marker}?agent={AGENT}"),
        ("agents", "/agents"),
        ("agent", f"/agents/{AGENT}"),
        ("approvals", "/approvals"),
        ("tools", "/tools"),
        ("models", "/models"),
    ]
    sign_in(browser, weir)
    try:
        for width_px in (1280, 400):
            browser.set_window_size(width_px, 1000)
            for name, path in pages:
                browser.get(f"{weir.admin}{path}")
                assert heading(browser) not in (None, "Refused"), (path, heading(browser))
                width = browser.execute_script("return document.documentElement.scrollWidth")
                viewport = browser.execute_script("return document.documentElement.clientWidth")
                shot(browser, f"{name}-{width_px}px")
                assert width <= viewport + 1, f"{path} scrolls sideways at {width_px} px ({width} > {viewport})"
                for chart in browser.find_elements(By.CSS_SELECTOR, ".chart svg"):
                    w, h = drawn_size(browser, chart)
                    assert w >= 200 and h >= 40, (path, width_px, chart.get_attribute("aria-label"), w, h)
            no_csp_violations(browser)
    finally:
        browser.set_window_size(1280, 1000)


def test_a_session_timeline_shows_tool_calls_with_their_bodies_and_findings(weir: Weir, browser: WebDriver) -> None:
    async def session() -> None:
        async with connect(weir) as (s, _):
            await s.list_tools()
            await s.call_tool("fix__echo", {"text": "timeline echo"})
            await s.call_tool("poison__add", {"a": 1, "b": 2})

    anyio.run(session)

    def call_event() -> dict[str, Any] | None:
        events = weir.admin_get("/api/v1/audit/events", tool="poison__add").json()["events"]
        return events[0] if events else None

    event = eventually(call_event, 10, "the poisoned tool's call in the audit trail")
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/events/{event['id']}")
    shot(browser, "event-mcp")
    text = page_text(browser)
    assert "What scanning found in this tool" in text and "hidden-markup" in text, text
    call = browser.find_element(By.CSS_SELECTOR, ".conversation .conv-call")
    assert "poison__add" in call.text or "add" in call.text, call.text
    click(browser, browser.find_element(By.CSS_SELECTOR, "a.session"))
    shot(browser, "session-timeline")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")
    whats = [r.find_elements(By.TAG_NAME, "td")[2].text for r in rows]
    assert whats[:3] == ["initialize", "tools/list", "tools/call fix__echo"], whats
    assert "tools/call poison__add" in whats
    poison_row = rows[whats.index("tools/call poison__add")]
    assert "tool flagged" in poison_row.text
    click(browser, rows[whats.index("tools/call fix__echo")].find_element(By.CSS_SELECTOR, "td a"))
    assert "timeline echo" in browser.find_element(By.CSS_SELECTOR, ".conversation").text, "the call's arguments and result as a conversation"
