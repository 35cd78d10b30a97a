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
import openai
import pytest
from mcp.shared.exceptions import MCPError
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import ADMIN_TOKEN, AGENT, PROVIDER_KEY, REPO_ROOT, FakeProvider, Weir, config_toml, eventually
from test_mcp import FIXTURE, _require_node, connect, text_of
from test_mcp_policy import start, stop
from test_mcp_tools import POISONED, TOOLS_FROM_FILE

SHOTS = REPO_ROOT / "target" / "console-screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def console_config(fake: FakeProvider, spool: Path, tools_file: Path) -> str:
    return config_toml(fake, spool) + f"""
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


PAGES = ["/", "/traces", "/agents", f"/agents/{AGENT}", "/approvals", "/tools", "/events/x"]
FORMS = ["/agents", f"/agents/{AGENT}/keys", f"/agents/{AGENT}/budgets", "/keys/x/revoke", "/approvals/x/approve", "/approvals/x/deny", "/tools/a/b/approve", "/sign-out"]


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
    assert marker in browser.find_element(By.CSS_SELECTOR, "section pre").text, "the request body, pretty-printed"
    assert "Session timeline" in text


def test_a_budget_set_in_the_console_refuses_the_agents_next_request(weir: Weir, browser: WebDriver) -> None:
    agent = f"budgeted-{secrets.token_hex(3)}"
    weir.cli("agents", "create", agent)
    key = weir.create_key(agent)
    client = openai_client(weir, key)
    eventually(lambda: works(client), 5, "the new key to work")
    sign_in(browser, weir)
    browser.get(f"{weir.admin}/agents/{agent}")
    form = browser.find_element(By.CSS_SELECTOR, f"form[action='/agents/{agent}/budgets']")
    form.find_element(By.NAME, "amount").send_keys("1")
    click(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert "Budget set" in page_text(browser)
    assert "day tokens:" in page_text(browser) and "of 1" in page_text(browser)
    shot(browser, "agent-detail")
    refused_within_two_seconds(client, openai.RateLimitError, "the agent's next request to be refused")


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


def test_pages_fit_a_narrow_screen(weir: Weir, browser: WebDriver) -> None:
    sign_in(browser, weir)
    try:
        browser.set_window_size(400, 900)
        for name, path in [("overview", "/"), ("traces", "/traces"), ("agents", "/agents"), ("approvals", "/approvals"), ("tools", "/tools"), ("models", "/models")]:
            browser.get(f"{weir.admin}{path}")
            width = browser.execute_script("return document.documentElement.scrollWidth")
            viewport = browser.execute_script("return document.documentElement.clientWidth")
            shot(browser, f"{name}-400px")
            assert width <= viewport + 1, f"{path} scrolls sideways at 400 px ({width} > {viewport})"
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
    shot(browser, "session-timeline")
    text = page_text(browser)
    assert "What scanning found in this tool" in text and "hidden-markup" in text, text
    rows = browser.find_elements(By.CSS_SELECTOR, "section table tbody tr")
    whats = [r.find_elements(By.TAG_NAME, "td")[2].text for r in rows]
    assert whats[:3] == ["initialize", "tools/list", "tools/call fix__echo"], whats
    assert "tools/call poison__add" in whats
    echo_row = rows[whats.index("tools/call fix__echo")]
    echo_row.find_element(By.CSS_SELECTOR, "details summary").click()
    assert "timeline echo" in echo_row.text, "the call's bodies, opened in place"
    poison_row = rows[whats.index("tools/call poison__add")]
    assert "tool flagged" in poison_row.text
