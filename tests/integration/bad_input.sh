#!/usr/bin/env bash
# Every wrong flag or value of gale-perf exits 2 with a message naming the
# value (and what would be valid); nothing is run.
# usage: bad_input.sh GALE_PERF
set -u
perf=$1
fail=0
expect() {  # expect SUBSTRING ARGS...
    local want=$1; shift
    local out rc
    out=$("$perf" "$@" 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || ! grep -qF -- "$want" <<<"$out"; then
        echo "FAIL: gale-perf $* -> exit $rc, stderr: $out (wanted exit 2 and '$want')"
        fail=1
    else
        echo "ok: gale-perf $* -> $out" | head -1
    fi
}
expect "--members '0'" --members 0
expect "--members '65'" --members 65
expect "--members 'x'" --members x
expect "--senders 4 is invalid with --members 3" --senders 4
expect "--size '0'" --size 0
expect "--size '99999999999'" --size 99999999999
expect "MIN is larger than MAX" --size 10-5
expect "--mode 'causal'" --mode causal
expect "valid: fifo, total, safe" --mode causal
expect "--duration '-1'" --duration -1
expect "--duration 'abc'" --duration abc
expect "exclude each other" --duration 1 --count 10
expect "--count '0'" --count 0
expect "--rate '-5'" --rate -5
expect "--idle 'busy'" --idle busy
expect "--driver 'rdma'" --driver rdma
expect "--ring-bytes '100000'" --ring-bytes 100000
expect "--threading 'many'" --threading many
expect "--kill '3'" --kill 3
expect "--kill member 7" --kill 7@1
expect "--stop 'x'" --stop x
expect "no earlier --stop of member 1" --cont 1@1
expect "at most 8 --kill, --stop, --cont and --cut" --members 9 --kill 0@1 --kill 1@1 --kill 2@1 --kill 3@1 --kill 4@1 --kill 5@1 --kill 6@1 --kill 7@1 --kill 8@1
expect "unknown option '--bogus'" --bogus
expect "--host, --port, --mcast and --mtu are for --driver udp" --port 40000
expect "--host 'x' is invalid" --driver udp --host x
expect "network namespace 'nosuchns' does not exist" --driver udp --host nosuchns@198.18.0.1
expect "--mcast '10.0.0.1:5' is invalid" --driver udp --mcast 10.0.0.1:5
expect "--mtu '100'" --driver udp --mtu 100
expect "--cut and --cut-cmd go together" --driver udp --cut 1@1
expect "--group 'a/b' is invalid" --group a/b
expect "--join-at is not supported with --driver udp" --driver udp --join-at 1
expect "unexpected argument 'extra'" extra
expect "larger than the largest message" --size 5000000
expect "needs a value" --members
exit $fail
