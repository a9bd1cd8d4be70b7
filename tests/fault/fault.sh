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
#   kill-leader-mid   5 members, SIGKILL of member 3, then of the leader as
#                     soon as a survivor's send is held by the view change
#                     that the first kill started (--kill 0@wedge)
#   two-kills         5 members, SIGKILL of members 1 and 3 at once
#   stop-cont         3 members, SIGSTOP of member 2 past the timeout, SIGCONT
#                     once the others excluded it: it must stop (excluded)
#   partition-3-2     5 members, members 3 and 4 SIGSTOPped together: only the
#                     3 go on; the 2, resumed, stop and never install a view
#   majority-lost     5 members, 3 SIGKILLed at once: the 2 left stop
#                     (minority) and deliver nothing further
#   join-under-load   4 members, 3 of them flooding; member 4 joins after 1 s,
#                     gets the state, then delivers exactly what the others
#                     deliver in its first view, in the same order
set -u
perf=$1 check=$2 case=$3
members=5 mode=safe
case $case in
kill-member) faults=(--kill 3@1) ;;
kill-leader) faults=(--kill 0@1) mode=fifo ;;
kill-leader-mid) faults=(--kill 3@1 --kill 0@wedge) mode=total ;;
two-kills) faults=(--kill 1@1 --kill 3@1) ;;
stop-cont) faults=(--stop 2@1) members=3 mode=fifo ;;
partition-3-2) faults=(--stop 3@1 --stop 4@1) ;;
majority-lost) faults=(--kill 0@1 --kill 1@1 --kill 2@1) mode=total ;;
join-under-load) faults=(--join-at 1 --rate 0) members=4 ;;
*) echo "unknown case '$case'"; exit 2 ;;
esac
dir=$(mktemp -d /tmp/gale-fault.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# On a failure the logs are kept for a look: GALE_FAULT_KEEP=DIR copies them there.
fail() {
    echo "FAIL: $*"
    if [ -n "${GALE_FAULT_KEEP:-}" ]; then
        mkdir -p "$GALE_FAULT_KEEP" && cp -r "$dir" "$GALE_FAULT_KEEP/" &&
            echo "logs kept in $GALE_FAULT_KEEP/$(basename "$dir")"
    fi
    exit 1
}
out=$(timeout 120 "$perf" --members "$members" --senders 3 --mode "$mode" --duration 3 \
      --rate 50000 "${faults[@]}" --log-dir "$dir" --json)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "gale-perf exited $rc"
logs=$members
[ "$case" = join-under-load ] && logs=$((members + 1))
python3 - "$out" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1])
vc = ", ".join(f"epoch {v['epoch']}: {v['ms']:.1f} ms" for v in d["view_changes"])
print(f"view changes: {vc or 'none'}; median {d['view_change_ms']:.1f} ms; "
      f"{d['msgs']} messages sent")
PY
"$check" --mode "$mode" --expect-members "$logs" "$dir" || fail "checker"
if [ "$case" = join-under-load ]; then
    # The joiner's first view, and what it delivered there, against each other member.
    first=$(grep -m1 '^V ' "$dir/member-4.log" | cut -d' ' -f2)
    mine=$(grep "^D $first " "$dir/member-4.log" | md5sum)
    n=$(grep -c "^D $first " "$dir/member-4.log")
    echo "joiner: first view $first, $n deliveries there"
    [ "$n" -gt 0 ] || { echo "FAIL: the joiner delivered nothing"; exit 1; }
    for m in 0 1 2 3; do
        [ "$(grep "^D $first " "$dir/member-$m.log" | md5sum)" = "$mine" ] ||
            { echo "FAIL: member $m delivered otherwise than the joiner in view $first"; exit 1; }
    done
    echo "the joiner delivered exactly what members 0-3 delivered in view $first, in the same order"
fi
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
