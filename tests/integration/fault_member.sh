#!/usr/bin/env bash
# A member SIGKILLed (kill) or SIGSTOPped then resumed (stop) mid-run: the
# others must report it (within 1 s of a kill; within fail_timeout + 1 s of
# a hang) and stop cleanly with a clear status; gale-perf checks both and
# exits 0 only then. Nothing may hang, no shared-memory object may be left,
# and the delivery logs must pass the checker.
# usage: fault_member.sh GALE_PERF GALE_CHECK MODE kill|stop
set -u
perf=$1 check=$2 mode=$3 fault=$4
dir=$(mktemp -d /tmp/gale-fault.XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$(timeout 60 "$perf" --members 3 --senders 3 --mode "$mode" --duration 30 --rate 200000 \
      --"$fault" 1@1 --log-dir "$dir" --json)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "gale-perf exited $rc (expected 0: the others stopped in time)"; exit 1; }
python3 - "$out" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1])
print(f"fault {d['fault']} of member {d['fault_member']}: {d['survivors_stopped']} others "
      f"stopped, the last {d['stop_detect_ms_max']:.1f} ms after it")
sys.exit(0 if d["survivors_stopped"] == 2 else 1)
PY
"$check" --mode "$mode" --expect-members 3 "$dir" || exit 1
if ls /dev/shm | grep -q "^gale\.perf-"; then
    echo "shared-memory objects left behind:"; ls /dev/shm; exit 1
fi
exit 0
