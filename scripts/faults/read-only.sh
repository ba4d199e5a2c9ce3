#!/usr/bin/env bash
# The data directory on an ext4 image mounted errors=remount-ro: a load, then a file-system
# error (ext4's trigger_fs_error) makes the kernel remount it read-only, as after a disk
# failure, and a load (bridged, never recorded, a clear error logged). The log is audited on
# a copy. Needs root and a loop device.
#
#   scripts/faults/read-only.sh [CALLS=60] [RATE=10]
source "$(dirname "$0")/common.sh"
need_root "read-only.sh"
calls="${1:-60}"
rate="${2:-10}"
build
mkdir -p "$work/disk"
truncate -s 128M "$work/disk.img"
mkfs.ext4 -q -F "$work/disk.img"
mount -o loop,errors=remount-ro "$work/disk.img" "$work/disk"
on_exit+=("umount -l '$work/disk'")
device="$(basename "$(findmnt -n -o SOURCE "$work/disk")")"
trigger="/sys/fs/ext4/$device/trigger_fs_error"
[ -e "$trigger" ] || { echo "SKIPPED: no $trigger"; exit 0; }
data="$work/disk/data"
start_server server.log
mix=consent-inband,consent-event

run_load "$calls" "$rate" "$mix" "$work/before.jsonl"
check "writable: every call as expected" [ "$load_status" -eq 0 ]

echo "consentline fault script" >"$trigger"
check "the file system is now read-only" bash -c "! touch '$work/disk/probe' 2>/dev/null"
run_load "$calls" "$rate" "$mix" "$work/ro.jsonl"
check "read-only: no call bridged with recording" \
    [ "$(count '"bridged_with_recording":true' "$work/ro.jsonl")" -eq 0 ]
unbridged="$(grep -v '<Dial' "$work/ro.jsonl" || true)"
check "read-only: every call still answered and bridged" [ -z "$unbridged" ]
[ -z "$unbridged" ] || echo "$unbridged" | head -3
check "read-only: the error is logged" log_has "consent log write failed"
stop_server
check "the server exited 0" [ "$server_status" -eq 0 ]
mkdir "$work/copy"
cp "$data"/consent.db* "$work/copy/"
cat "$work/before.jsonl" "$work/ro.jsonl" >"$work/ledger.jsonl"
audits "$work/ledger.jsonl" "$work/copy"
finish
