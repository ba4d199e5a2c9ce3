#!/usr/bin/env bash
# Floods against the configured limits, with real calls in progress:
# 1. more calls at once than max_calls: the excess streams are refused with 503, every call
#    let in gets its expected outcome;
# 2. idle connections past max_connections: the excess (and a webhook) answered 503, capacity
#    back once they go, calls in progress unaffected;
# 3. slowloris: connections trickling header bytes are closed by the header timeout.
#
#   scripts/faults/flood.sh [MAX_CALLS=100] [MAX_CONNECTIONS=300] [SLOWLORIS=200]
source "$(dirname "$0")/common.sh"
max_calls="${1:-100}"
max_connections="${2:-300}"
slow="${3:-200}"
header_timeout=5
build
start_server server.log --max-calls "$max_calls" --max-connections "$max_connections" \
    --header-timeout-seconds "$header_timeout"
ulimit -n $((max_connections * 2 + slow + 1024)) 2>/dev/null || true
trap '' PIPE
rss0="$(rss_mib "$server" VmRSS)"

echo "--- 1. $((max_calls * 3 / 2)) calls at once against max_calls=$max_calls"
run_load $((max_calls * 3 / 2)) 200 consent-inband "$work/calls.jsonl"
refused=$(count 'HTTP error: 503' "$work/calls.jsonl")
ok=$(count '"ok":true' "$work/calls.jsonl")
echo "$ok calls as expected, $refused refused with 503"
check "the excess streams were refused with 503" [ "$refused" -ge 1 ]
check "every call let in got its expected outcome" [ $((ok + refused)) -eq $((max_calls * 3 / 2)) ]
audits "$work/calls.jsonl"

echo "--- 2. $((max_connections + 100)) idle connections against max_connections=$max_connections"
run_load 20 20 consent-inband "$work/during.jsonl" &
load=$!
wait_until 60 at_least consentline_live_calls 20 || true
fds=()
for _ in $(seq $((max_connections + 100))); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    fds+=("$fd")
done
sleep 1.5 # refused connections are answered after a second without a request
webhook=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz" || true)
flood_rss="$(rss_mib "$server" VmRSS)"
answered=0
for fd in "${fds[@]}"; do
    if IFS= read -r -t 0.01 -u "$fd" line && [[ $line == "HTTP/1.1 503"* ]]; then
        answered=$((answered + 1))
    fi
done
echo "$answered idle connections answered 503; a request meanwhile: $webhook"
echo "server memory with the flood: $flood_rss MiB (from $rss0)"
for fd in "${fds[@]}"; do exec {fd}>&-; done
check "connections past the limit were answered 503" [ "$answered" -ge 100 ]
check "a request during the flood was answered 503" [ "$webhook" = 503 ]
check "capacity came back" wait_until 10 curl -fs -o /dev/null "$url/healthz"
load_status=0
wait "$load" || load_status=$?
check "the calls in progress got their expected outcome" [ "$load_status" -eq 0 ]

echo "--- 3. $slow slowloris connections, header timeout ${header_timeout} s"
fds=()
for _ in $(seq "$slow"); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&"$fd"
    fds+=("$fd")
done
for _ in $(seq $((header_timeout + 3))); do
    for fd in "${fds[@]}"; do printf 'X' >&"$fd" 2>/dev/null || true; done
    sleep 1
done
closed=0
for fd in "${fds[@]}"; do
    rc=0
    IFS= read -r -t 1 -u "$fd" _ 2>/dev/null || rc=$?
    # 1: end of file (the server closed it); over 128: still open when the read timed out.
    if [ "$rc" -eq 1 ]; then closed=$((closed + 1)); fi
    exec {fd}>&-
done
echo "$closed of $slow trickling connections closed by the server"
check "every slowloris connection was cut off" [ "$closed" -eq "$slow" ]
echo "server memory: $(rss_mib "$server" VmRSS) MiB now, peak $(rss_mib "$server" VmHWM) MiB"
stop_server
check "the server exited 0" [ "$server_status" -eq 0 ]
finish
