#!/usr/bin/env bash
# Clients that start a call and then never read a byte: the server must end each call on its
# own (none waits for the client), with bounded memory, while a load of ordinary calls runs
# unaffected.
#
#   scripts/faults/stall.sh [CLIENTS=200] [CALLS=40]
source "$(dirname "$0")/common.sh"
clients="${1:-200}"
calls="${2:-40}"
export LC_ALL=C
build
start_server server.log --max-calls $((clients + calls + 10))
ulimit -n $((clients * 2 + 1024)) 2>/dev/null || true
trap '' PIPE
rss0="$(rss_mib "$server" VmRSS)"

# A client's text frame, masked (as RFC 6455 requires of clients) with a zero key.
frame() {
    local len=${#1}
    if [ "$len" -lt 126 ]; then
        printf "\\x81\\x$(printf %02x $((0x80 | len)))\\x00\\x00\\x00\\x00%s" "$1"
    else
        printf "\\x81\\xfe\\x$(printf %02x $((len >> 8)))\\x$(printf %02x $((len & 255)))\\x00\\x00\\x00\\x00%s" "$1"
    fi
}

run_load "$calls" 10 consent-inband,consent-event,decline "$work/ledger.jsonl" &
load=$!
fds=()
for i in $(seq "$clients"); do
    sid=$(printf 'CA%032d' "$i")
    stream=$(printf 'MZ%032d' "$i")
    curl -fs -o /dev/null -H 'content-type: application/x-www-form-urlencoded' \
        --data "CallSid=$sid&From=%2B15555550123&To=%2B18005550199" "$url/twilio/voice"
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /twilio/media HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' >&"$fd"
    frame '{"event":"connected","protocol":"Call","version":"1.0.0"}' >&"$fd"
    frame "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"start\":{\"accountSid\":\"AC00000000000000000000000000000000\",\"streamSid\":\"$stream\",\"callSid\":\"$sid\",\"tracks\":[\"inbound\"],\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1},\"customParameters\":{}},\"streamSid\":\"$stream\"}" >&"$fd"
    fds+=("$fd")
done
check "the stalled calls started" wait_until 60 at_least 'consentline_calls_total{flow="consent"}' "$clients"
stalled_rss="$(rss_mib "$server" VmRSS)"
echo "server memory with $clients stalled clients: $stalled_rss MiB (from $rss0)"
load_status=0
wait "$load" || load_status=$?
check "ordinary calls alongside got their expected outcome" [ "$load_status" -eq 0 ]
live_is_zero() { [ "$(live_calls)" = 0 ]; }
check "the server ended every stalled call by itself" wait_until 120 live_is_zero
echo "server memory: $(rss_mib "$server" VmRSS) MiB now, peak $(rss_mib "$server" VmHWM) MiB"
grep -o '"reason":"[^"]*"' "$server_log" | sort | uniq -c | sort -rn | head -5
for fd in "${fds[@]}"; do exec {fd}>&-; done
stop_server
audits "$work/ledger.jsonl"
finish
