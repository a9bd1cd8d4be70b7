#!/usr/bin/env bash
# galed over UDP on loopback (127.0.0.1 only): membership among separate
# processes. A SIGKILLed member is excluded; a joiner is admitted; garbage
# datagrams are dropped and counted; SIGTERM leaves; with 2 of 5 hung
# (SIGSTOP), the 3 others go on and the 2, resumed, stop without ever
# installing a view of their own; bad configuration exits 2 naming the value.
# usage: galed.sh GALED
set -u
galed=$1
dir=$(mktemp -d /tmp/gale-galed.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
base=$((20000 + $$ % 20000))
fail() { echo "FAIL: $*"; for f in "$dir"/out*; do echo "== $f"; cat "$f"; done; exit 1; }

start() {  # start NAME ARGS...: runs galed in the background, output in $dir/out.NAME
    local name=$1; shift
    "$galed" "$@" >"$dir/out.$name" 2>"$dir/err.$name" &
    pids+=($!)
    eval "pid_$name=$!"
}
members() {  # members N: --member flags for ids 0..N-1
    for ((k = 0; k < $1; k++)); do printf -- "--member %d@127.0.0.1:%d " $k $((base + k)); done
}
wait_line() {  # wait_line FILE LINE MS: true once FILE has LINE, within MS
    local end=$(( $(date +%s%3N) + $3 ))
    while [ "$(date +%s%3N)" -lt $end ]; do
        grep -qx "$2" "$1" 2>/dev/null && return 0
        sleep 0.005
    done
    return 1
}

# 1. Three members; SIGKILL member 2.
M3=$(members 3)
for i in 0 1 2; do start $i --group it $M3 --id $i; done
for i in 0 1 2; do wait_line "$dir/out.$i" "VIEW 1 0,1,2" 2000 || fail "member $i did not start"; done
sleep 0.3
t0=$(date +%s%3N)
kill -9 "$pid_2"
for i in 0 1; do wait_line "$dir/out.$i" "VIEW 2 0,1" 3000 || fail "member $i did not exclude the killed member"; done
echo "kill -9 of member 2: view 2 (0,1) installed by both survivors after $(( $(date +%s%3N) - t0 )) ms (heartbeat timeout 100 ms)"

# 2. A joiner.
start 5 --group it $M3 --id 5 --join --listen 127.0.0.1:$((base + 5))
for i in 0 1 5; do wait_line "$dir/out.$i" "VIEW 3 0,1,5" 3000 || fail "member $i did not install the join"; done
echo "member 5 joined: view 3 (0,1,5) everywhere"

# 3. Garbage: dropped and counted, nothing changes.
python3 - $((base + 0)) <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in [b"garbage", b"GMBR" + b"\x07\x00" + bytes(80), bytes(64), b"\xff" * 300]:
    s.sendto(p, ("127.0.0.1", int(sys.argv[1])))
PY
sleep 0.3
grep -q "^VIEW 4" "$dir/out.0" && fail "garbage changed the view"

# 4. SIGTERM: member 1 leaves.
kill -TERM "$pid_1"
wait "$pid_1"; rc=$?
[ $rc -eq 0 ] || fail "the leaving galed exited $rc"
grep -qx "STOP left" "$dir/out.1" || fail "member 1 did not report its leave"
for i in 0 5; do wait_line "$dir/out.$i" "VIEW 4 0,5" 3000 || fail "member $i did not install the leave"; done
echo "member 1 left: view 4 (0,5)"
kill -TERM "$pid_0" "$pid_5"; wait "$pid_0" "$pid_5" 2>/dev/null
grep -q "GALE-STATS.*truncated 1, magic 2, version 1" "$dir/err.0" \
    || fail "member 0 did not count the 4 bad datagrams: $(grep GALE-STATS "$dir/err.0")"
echo "bad datagrams dropped and counted: $(grep -o 'dropped: [^;]*' "$dir/err.0")"

# 5. Five members cut 3/2 by hanging 2 (SIGSTOP): the 3 go on; the 2, resumed,
#    never install a view of their own (they stop: excluded or minority).
base=$((base + 10))
M5=$(members 5)
for i in 0 1 2 3 4; do start p$i --group part $M5 --id $i; done
for i in 0 1 2 3 4; do wait_line "$dir/out.p$i" "VIEW 1 0,1,2,3,4" 2000 || fail "p$i did not start"; done
sleep 0.3
kill -STOP "$pid_p0" "$pid_p1"
for i in 2 3 4; do wait_line "$dir/out.p$i" "VIEW 2 2,3,4" 3000 || fail "p$i: the majority side did not go on"; done
kill -CONT "$pid_p0" "$pid_p1"
for i in 0 1; do
    wait_line "$dir/out.p$i" "STOP excluded" 3000 || wait_line "$dir/out.p$i" "STOP minority" 10 \
        || fail "p$i (minority side) did not stop after it was resumed"
    [ "$(grep -c '^VIEW' "$dir/out.p$i")" -eq 1 ] || fail "p$i (minority side) installed a view of its own"
done
echo "2 of 5 hung: the 3 went on with view 2 (2,3,4); the 2, resumed, stopped ($(tail -1 "$dir/out.p0" | cut -d' ' -f2), $(tail -1 "$dir/out.p1" | cut -d' ' -f2)) and installed nothing"
kill -TERM "$pid_p2" "$pid_p3" "$pid_p4" 2>/dev/null

# 6. Bad configuration: exit 2 and a message naming the value.
expect_bad() {  # expect_bad SUBSTRING ARGS...
    local want=$1; shift
    out=$("$galed" "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -qF -- "$want" <<<"$out" || fail "galed $* -> exit $rc: $out (wanted '$want')"
}
expect_bad "member 'x' is invalid" --group g --id 0 --member x
expect_bad "no id" --group g --member 0@127.0.0.1:1
expect_bad "group 'a b' is invalid" --group "a b" --id 0 --member 0@127.0.0.1:1
expect_bad "id 7 is not among the members" --group g --id 7 --member 0@127.0.0.1:1
expect_bad "too short" --group g --id 0 --member 0@127.0.0.1:1 --hb-interval-ms 50 --hb-timeout-ms 60
expect_bad "mode 'causal' is invalid" --group g --id 0 --member 0@127.0.0.1:1 --mode causal
expect_bad "unknown setting 'bogus'" --group g --id 0 --member 0@127.0.0.1:1 --bogus 1
printf 'group g\nid 0\nmember 0@127.0.0.1:1\nfrobnicate yes\n' >"$dir/bad.conf"
expect_bad "bad.conf:4: unknown setting 'frobnicate'" --config "$dir/bad.conf"
echo "bad configuration refused with exit 2 (8 cases)"
echo "galed: all checks passed"
