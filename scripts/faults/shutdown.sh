#!/usr/bin/env bash
# SIGTERM the server once every call of a load is in flight: each call must still get its
# expected outcome, the log must be flushed, the process must exit 0, and the audits pass.
#
#   scripts/faults/shutdown.sh [CALLS=200] [RATE=20] [MIX]
source "$(dirname "$0")/common.sh"
calls="${1:-200}"
rate="${2:-20}"
mix="${3:-consent-inband,consent-event,decline,barge-in,hangup}"
build
start_server server.log --drain-seconds 300
ledger="$work/ledger.jsonl"
run_load "$calls" "$rate" "$mix" "$ledger" &
load=$!
wait_until 900 at_least 'consentline_calls_total{flow="consent"}' "$calls"
live="$(live_calls)"
echo "SIGTERM with $live calls live (all $calls streams started)"
stop_server
load_status=0
wait "$load" || load_status=$?
recorded=$(count '"bridged_with_recording":true' "$ledger")
echo "ledger: $(wc -l <"$ledger") calls, $recorded bridged with recording"
check "the server exited 0" [ "$server_status" -eq 0 ]
check "the log was flushed" log_has "consent log flushed"
check "every call in flight got its expected outcome" [ "$load_status" -eq 0 ]
check "no call failed" [ "$(count '"ok":false' "$ledger")" -eq 0 ]
audits "$ledger"
finish
