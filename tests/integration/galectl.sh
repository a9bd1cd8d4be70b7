#!/usr/bin/env bash
# galectl against a running gale-perf group of 3 (embedded control planes):
# status shows the view, leader and counters of every member; `galectl join`
# starts a node that joins the running group (state received, view 2 with 4
# members, messages delivered); `galectl leave` makes that node leave (view 3
# back to 3 members); every member's delivery log passes the checker, and
# bad commands exit 2. Also galed --dataplane: the same group with one galed
# process per member, one member killed: its galed sees the death within
# 5 ms and the others go on.
# usage: galectl.sh GALECTL GALE_PERF GALE_CHECK GALED
set -u
ctl=$1 perf=$2 check=$3 galed=$4
dir=$(mktemp -d /tmp/gale-galectl.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.out; do echo "== $f"; cat "$f"; done; exit 1; }
wait_for() {  # wait_for FILE PATTERN MS
    local end=$(( $(date +%s%3N) + $3 ))
    while [ "$(date +%s%3N)" -lt $end ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}

"$perf" --members 3 --senders 2 --mode safe --duration 6 --rate 20000 --log-dir "$dir" \
    >"$dir/perf.out" 2>&1 &
perf_pid=$!
pids+=($perf_pid)
group=perf-$perf_pid
for i in 0 1 2; do
    end=$(( $(date +%s%3N) + 5000 ))
    until [ -e "/dev/shm/gale.$group.ctl.$i" ] || [ "$(date +%s%3N)" -gt $end ]; do sleep 0.02; done
done
sleep 0.5
"$ctl" status "$group" >"$dir/status1.out" 2>&1 || fail "galectl status exited $?"
cat "$dir/status1.out"
[ "$(grep -c 'view: epoch 1, 3 members \[0,1,2\], leader 0, running' "$dir/status1.out")" -eq 3 ] ||
    fail "status does not show view 1 (0,1,2) with leader 0 at all 3 members"
grep -Eq '^ +sent_msgs +[1-9]' "$dir/status1.out" || fail "status shows no messages sent"

"$ctl" join "$group" 7 --contact 0,1,2 --mode safe --seconds 30 >"$dir/join.out" 2>&1 &
join_pid=$!
pids+=($join_pid)
wait_for "$dir/join.out" '^view 2: 0 1 2 7$' 5000 || fail "the joiner did not get view 2"
# The view upcall comes first; the state follows it inside gale_group_join().
wait_for "$dir/join.out" '^state received: 512 bytes$' 5000 || fail "the joiner got no state"
sleep 0.5
"$ctl" status "$group" 7 >"$dir/status2.out" 2>&1 || fail "galectl status of the joiner exited $?"
cat "$dir/status2.out"
grep -q 'view: epoch 2, 4 members \[0,1,2,7\], leader 0, running' "$dir/status2.out" ||
    fail "the joiner's status does not show view 2"
grep -Eq '^ +delivered_msgs +[1-9]' "$dir/status2.out" || fail "the joiner delivered nothing"

"$ctl" leave "$group" 7 || fail "galectl leave exited $?"
wait "$join_pid"
rc=$?
cat "$dir/join.out"
[ $rc -eq 0 ] || fail "the joiner exited $rc after leaving"
grep -q 'stopped: left' "$dir/join.out" || fail "the joiner did not stop as left"
wait "$perf_pid"
rc=$?
cat "$dir/perf.out" | grep -v '^gale \(warning\|info\)'
[ $rc -eq 0 ] || fail "gale-perf exited $rc"
for i in 0 1 2; do
    grep -q '^V 3 0,1,2$' "$dir/member-$i.log" || fail "member $i did not install view 3 (0,1,2)"
done
"$check" --mode safe --expect-members 3 "$dir" || fail "checker"
echo "galectl: status, join (view 2 of 4, state received) and leave (view 3 of 3) all work"

# Bad usage: exit 2.
for args in "" "bogus" "status" "leave g x" "join g 1" "join g 1 --contact x"; do
    # shellcheck disable=SC2086
    "$ctl" $args >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "galectl $args exited $rc, wanted 2"
done
"$ctl" status no-such-group >/dev/null 2>&1 && fail "status of a missing group succeeded"
echo "galectl: 6 bad usages exit 2; a missing group exits 1"

# galed --dataplane: one control-plane process per member; kill member 2.
rm -f "$dir"/member-*.log
out=$("$perf" --members 3 --senders 3 --mode safe --duration 3 --rate 20000 --kill 2@1 \
      --galed "$galed" --log-dir "$dir" --json) || fail "gale-perf with --galed exited $?"
echo "$out"
"$check" --mode safe --expect-members 3 "$dir" || fail "checker (galed)"
kill_ns=$(grep -o '"realtime_ns":[0-9]*' <<<"$out" | cut -d: -f2)
seen=$(grep -o 'seen at realtime [0-9.]*' "$dir/galed-2.log" | awk '{print $4}' | tr -d .)
[ -n "$seen" ] || fail "galed of member 2 did not report its dataplane's death"
us=$(( (seen - kill_ns) / 1000 ))
echo "galed of the killed member saw its dataplane's death ${us} us after the kill"
# A timing bound only in the plain build (sanitized builds run slower and
# set GALE_HB_TIMEOUT_MS, see tools/test.sh).
if [ -z "${GALE_HB_TIMEOUT_MS:-}" ]; then
    [ "$us" -le 5000 ] || fail "galed saw the death after more than 5 ms"
fi
grep -q '^STOP dataplane-died$' "$dir/galed-2.log" || fail "galed 2 did not stop"
echo "galectl: all checks passed"
