#!/usr/bin/env bash
# The data directory on a small tmpfs: a load, then the disk filled to the last byte and a
# load (bridged, never recorded, a clear error logged), then space freed and a load (recorded
# again). Needs root.
#
# The server is restarted before the disk is filled: a clean stop checkpoints and removes the
# write-ahead log, so every write after the fill needs new space. (A running server's WAL
# keeps its size after a checkpoint and SQLite reuses it, so a full disk may still take some
# commits, durably: the audits below hold either way.)
#
#   scripts/faults/disk-full.sh [CALLS=60] [RATE=10] [SIZE=64m]
source "$(dirname "$0")/common.sh"
need_root "disk-full.sh"
calls="${1:-60}"
rate="${2:-10}"
size="${3:-64m}"
build
mkdir -p "$work/disk"
mount -t tmpfs -o "size=$size,mode=0700" tmpfs "$work/disk"
on_exit+=("umount -l '$work/disk'")
data="$work/disk/data"
start_server server.log
mix=consent-inband,consent-event

run_load "$calls" "$rate" "$mix" "$work/before.jsonl"
check "with space: every call as expected" [ "$load_status" -eq 0 ]

stop_server
start_server server.log
dd if=/dev/zero of="$work/disk/filler" bs=1M status=none 2>/dev/null || true
echo "disk filled: $(df -h "$work/disk" | tail -1)"
run_load "$calls" "$rate" "$mix" "$work/full.jsonl"
check "disk full: no call bridged with recording" \
    [ "$(count '"bridged_with_recording":true' "$work/full.jsonl")" -eq 0 ]
unbridged="$(grep -v '<Dial' "$work/full.jsonl" || true)"
check "disk full: every call still answered and bridged" [ -z "$unbridged" ]
[ -z "$unbridged" ] || echo "$unbridged" | head -3
check "disk full: the server still answers" curl -fs -o /dev/null "$url/healthz"
check "disk full: the error is logged" log_has "consent log write failed"
check "disk full: the log says why" log_has "disk full"
echo "server memory while failing: $(rss_mib "$server" VmRSS) MiB"

rm -f "$work/disk/filler"
run_load "$calls" "$rate" "$mix" "$work/after.jsonl"
check "space back: every call recorded again" [ "$load_status" -eq 0 ]
check "space back: recovery logged" log_has "consent log writes succeed again"
stop_server
check "the server exited 0" [ "$server_status" -eq 0 ]
cat "$work/before.jsonl" "$work/full.jsonl" "$work/after.jsonl" >"$work/ledger.jsonl"
audits "$work/ledger.jsonl"
finish
