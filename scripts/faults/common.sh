# Shared by the fault scripts (sourced, not run): build, start and stop the server pinned to
# one core, run `consentline load` pinned to the other, read /metrics, and count checks.
#
# Environment: PORT (default 8091), SERVER_CORE (0), LOAD_CORE (1), PROMPTS (the shipped
# catalog), CARGO_TARGET_DIR (cargo's, default target/), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
bin="${CARGO_TARGET_DIR:-$root/target}/release/consentline"
port="${PORT:-8091}"
url="http://127.0.0.1:$port"
server_core="${SERVER_CORE:-0}"
load_core="${LOAD_CORE:-1}"
prompts="${PROMPTS:-$root/prompts}"
work="$(mktemp -d "${TMPDIR:-/tmp}/consentline-faults.XXXXXX")"
data="$work/data"
server=""
passed=0
failed=0
on_exit=()

cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    local i
    for ((i = ${#on_exit[@]} - 1; i >= 0; i--)); do eval "${on_exit[$i]}" || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

build() {
    echo "building (cargo build --release)"
    cargo build --release --quiet
}

# start_server LOG_NAME [serve flags...]: start on $port with data in $data; wait until it
# answers.
start_server() {
    local log="$work/$1"
    shift
    taskset -c "$server_core" "$bin" serve --listen "127.0.0.1:$port" --data "$data" \
        --prompts "$prompts" --forward-to +14155550100 --privacy-line +18885550100 \
        --log-format json "$@" >>"$log" 2>&1 &
    server=$!
    server_log="$log"
    local i
    for i in $(seq 300); do
        kill -0 "$server" 2>/dev/null || { tail -20 "$log"; echo "server died at start"; exit 1; }
        curl -fs "$url/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "server did not start"; exit 1
}

# stop_server: SIGTERM and wait; sets server_status.
stop_server() {
    kill -TERM "$server"
    server_status=0
    wait "$server" || server_status=$?
    server=""
}

# metric SERIES: its value from /metrics (empty if absent).
metric() {
    curl -fs "$url/metrics" 2>/dev/null | awk -v s="$1" '$1 == s { print $2 }'
}

live_calls() {
    curl -fs "$url/healthz" 2>/dev/null | sed -n 's/.*"live_calls":\([0-9]*\).*/\1/p'
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds.
wait_until() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

at_least() { # at_least SERIES N
    local v
    v="$(metric "$1")"
    [ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN { exit !(v >= n) }'
}

# run_load CALLS RATE MIX LEDGER: `consentline load` pinned to the load core; sets
# load_status.
run_load() {
    load_status=0
    taskset -c "$load_core" "$bin" load --url "$url" --calls "$1" --rate "$2" --mix "$3" \
        --server-pid "$server" --ledger "$4" || load_status=$?
}

rss_mib() { # rss_mib PID FIELD (VmRSS or VmHWM)
    awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# check DESCRIPTION COMMAND...: print PASS or FAIL.
check() {
    local what=$1
    shift
    if "$@"; then
        echo "PASS  $what"
        passed=$((passed + 1))
    else
        echo "FAIL  $what"
        failed=$((failed + 1))
    fi
}

# audits LEDGER [DATA]: audit verify and audit ledger must pass.
audits() {
    local ledger=$1 dir=${2:-$data}
    check "audit verify: chain intact" "$bin" audit verify --data "$dir"
    check "audit ledger: every call answered \"record\" has its durable consent" \
        "$bin" audit ledger "$ledger" --data "$dir"
}

count() { # count PATTERN FILE: lines matching
    grep -c -- "$1" "$2" || true
}

log_has() { grep -q -- "$1" "$server_log"; }

finish() {
    echo "--- $passed passed, $failed failed (work directory $work)"
    [ "$failed" -eq 0 ]
}

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIPPED: $1 needs root (to mount a file system)"
        exit 0
    fi
}
