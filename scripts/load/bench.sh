#!/usr/bin/env bash
# Capacity benchmark: the server pinned to one core, the load generator to the other.
#
#   scripts/load/bench.sh [CALLS] [RATE] [MIX]
#
# Builds the release binary, starts `consentline serve` on a fresh data directory with the
# shipped prompts (taskset -c 0), runs `consentline load` against it (taskset -c 1) with
# --server-pid, then checks the log: `audit verify` and `audit ledger` (every call the
# generator saw answered "record" has its durable consent decision).
set -euo pipefail
cd "$(dirname "$0")/../.."
calls="${1:-500}"
rate="${2:-25}"
mix="${3:-consent-inband,consent-event,decline,barge-in,hangup,no-input,privacy}"
port="${PORT:-8090}"
server_core="${SERVER_CORE:-0}"
load_core="${LOAD_CORE:-1}"
cargo build --release --quiet
bin="$PWD/target/release/consentline"
work="$(mktemp -d)"
trap 'kill "${server:-}" 2>/dev/null || true' EXIT
echo "work directory (data, server log, ledger): $work"
taskset -c "$server_core" "$bin" serve --listen "127.0.0.1:$port" --data "$work/data" \
    --prompts prompts --privacy-line +18885550100 --forward-to +15555550123 \
    >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
sleep 1 # let the server settle to its idle memory
status=0
taskset -c "$load_core" "$bin" load --url "http://127.0.0.1:$port" --calls "$calls" --rate "$rate" \
    --mix "$mix" --server-pid "$server" --ledger "$work/ledger.jsonl" || status=$?
kill -TERM "$server"
wait "$server" || true
echo "--- log checks"
"$bin" audit verify --data "$work/data" || status=$?
"$bin" audit ledger "$work/ledger.jsonl" --data "$work/data" || status=$?
grep -c -E "ERROR|WARN" "$work/server.log" | sed 's/^/server warnings and errors: /' || true
exit "$status"
