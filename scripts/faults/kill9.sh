#!/usr/bin/env bash
# kill -9 the server under load, restart it on the same port while the load goes on, then
# check that the chain verifies and that every call the load generator saw answered "record"
# has its durable consent decision and bridge answer in the log.
#
#   scripts/faults/kill9.sh [CALLS=600] [RATE=20] [MIX]
#
# The kill comes once half the calls have started and some have been answered "record", so
# the other half meet the restarted server.
source "$(dirname "$0")/common.sh"
calls="${1:-600}"
rate="${2:-20}"
mix="${3:-consent-inband,consent-event,decline,barge-in,hangup}"
build
start_server server-1.log
ledger="$work/ledger.jsonl"
run_load "$calls" "$rate" "$mix" "$ledger" &
load=$!
ready_to_kill() {
    at_least 'consentline_calls_total{flow="consent"}' $((calls / 2)) \
        && at_least 'consentline_call_outcomes_total{outcome="record"}' 1
}
wait_until 900 ready_to_kill || echo "warning: killing before any call was recorded"
live="$(live_calls)"
recorded_before="$(metric 'consentline_call_outcomes_total{outcome="record"}')"
kill -9 "$server"
wait "$server" 2>/dev/null || true
echo "killed -9 with $live calls live, $recorded_before answered \"record\" so far"
start_server server-2.log
echo "restarted"
wait "$load" || true
stop_server
total=$(wc -l <"$ledger")
recorded=$(count '"bridged_with_recording":true' "$ledger")
cut=$(count '"ok":false' "$ledger")
echo "ledger: $total calls, $recorded bridged with recording, $cut cut by the kill or refused"
check "the ledger lists every call" [ "$total" -eq "$calls" ]
check "calls were in flight at the kill" [ "${live:-0}" -gt 0 ]
audits "$ledger"
missing=$("$bin" audit ledger "$ledger" --data "$data" 2>/dev/null | grep -c '^MISSING' || true)
echo "records lost: $missing of $recorded recorded calls"
check "the restarted server stopped cleanly" [ "$server_status" -eq 0 ]
finish
