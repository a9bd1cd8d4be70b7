#!/usr/bin/env bash
# SIGKILL one member mid-run: the survivors must report it within 1 s and
# stop cleanly (gale-perf checks both and exits 0 only then), nothing may
# hang, and the delivery logs must still pass the checker.
# usage: kill_member.sh GALE_PERF GALE_CHECK MODE
set -u
perf=$1 check=$2 mode=$3
dir=$(mktemp -d /tmp/gale-kill.XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$(timeout 60 "$perf" --members 3 --senders 3 --mode "$mode" --duration 30 --rate 200000 \
      --kill 1@1 --log-dir "$dir" --json)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "gale-perf exited $rc (expected 0: survivors stopped in time)"; exit 1; }
ms=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stop_detect_ms_max"] if d["survivors_stopped"] == 2 else -1)')
echo "survivors saw the kill after at most $ms ms"
python3 -c "import sys; sys.exit(0 if 0 <= $ms <= 1000 else 1)" || { echo "not reported within 1 s"; exit 1; }
"$check" --mode "$mode" --expect-members 3 "$dir" || exit 1
ls /dev/shm | grep -q "^gale\.perf-" && { echo "shared-memory objects left behind"; ls /dev/shm; exit 1; }
exit 0
