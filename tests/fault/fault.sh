#!/usr/bin/env bash
# One case of the fault suite (DESIGN.md §7): a gale-perf run on shm with
# faults injected mid-run, then the checker over every member's delivery log.
# gale-perf itself fails the run unless each member ends as it must (killed;
# a hung member excluded; survivors done, or stopped as a minority when the
# faults took half of the group or more) and unless the faults caused a view
# change. This script adds what gale-perf cannot see: the logs agree with
# the virtual-synchrony properties, the cut-off side installed no view of its
# own, and no shared-memory object is left.
#
# usage: fault.sh GALE_PERF GALE_CHECK CASE
#   kill-member       5 members, SIGKILL of member 3 (not the leader)
#   kill-leader       5 members, SIGKILL of member 0 (the leader)
#   kill-leader-mid   5 members, SIGKILL of member 3, then of the leader 2 ms
#                     later, while the survivors change the view
#   two-kills         5 members, SIGKILL of members 1 and 3 at once
#   stop-cont         3 members, SIGSTOP of member 2 past the timeout, SIGCONT
#                     once the others excluded it: it must stop (excluded)
#   partition-3-2     5 members, members 3 and 4 SIGSTOPped together: only the
#                     3 go on; the 2, resumed, stop and never install a view
#   majority-lost     5 members, 3 SIGKILLed at once: the 2 left stop
#                     (minority) and deliver nothing further
set -u
perf=$1 check=$2 case=$3
members=5 mode=safe
case $case in
kill-member) faults=(--kill 3@1) ;;
kill-leader) faults=(--kill 0@1) mode=fifo ;;
kill-leader-mid) faults=(--kill 3@1 --kill 0@1.002) mode=total ;;
two-kills) faults=(--kill 1@1 --kill 3@1) ;;
stop-cont) faults=(--stop 2@1) members=3 mode=fifo ;;
partition-3-2) faults=(--stop 3@1 --stop 4@1) ;;
majority-lost) faults=(--kill 0@1 --kill 1@1 --kill 2@1) mode=total ;;
*) echo "unknown case '$case'"; exit 2 ;;
esac
dir=$(mktemp -d /tmp/gale-fault.XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$(timeout 120 "$perf" --members "$members" --senders 3 --mode "$mode" --duration 3 \
      --rate 50000 "${faults[@]}" --log-dir "$dir" --json)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: gale-perf exited $rc"; exit 1; }
python3 - "$out" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1])
vc = ", ".join(f"epoch {v['epoch']}: {v['ms']:.1f} ms" for v in d["view_changes"])
print(f"view changes: {vc or 'none'}; median {d['view_change_ms']:.1f} ms")
PY
"$check" --mode "$mode" --expect-members "$members" "$dir" || { echo "FAIL: checker"; exit 1; }
if [ "$case" = partition-3-2 ]; then
    for m in 3 4; do
        views=$(grep -c '^V ' "$dir/member-$m.log")
        last=$(grep -v '^#' "$dir/member-$m.log" | tail -1)
        echo "member $m (cut off): $views view(s) installed, last line: $last"
        [ "$views" -eq 1 ] || { echo "FAIL: the cut-off side installed a view"; exit 1; }
        [[ $last == X* ]] || { echo "FAIL: member $m did not stop"; exit 1; }
    done
fi
if [ "$case" = majority-lost ]; then
    for m in 3 4; do
        last=$(grep -v '^#' "$dir/member-$m.log" | tail -1)
        echo "member $m (minority): last line: $last"
        [[ $last == "X 1 minority" ]] || { echo "FAIL: member $m did not stop as a minority"; exit 1; }
    done
fi
if ls /dev/shm | grep -q "^gale\.perf-"; then
    echo "FAIL: shared-memory objects left behind:"; ls /dev/shm; exit 1
fi
echo "ok: $case"
exit 0
