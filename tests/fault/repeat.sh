#!/usr/bin/env bash
# Run the whole fault suite N times in a row (default 20); stop at the first
# failure and say which run and case failed.
# usage: tests/fault/repeat.sh BUILD_DIR [N]
set -u
build=$1 n=${2:-20}
here=$(dirname "$0")
cases="kill-member kill-leader kill-leader-mid two-kills stop-cont partition-3-2 majority-lost join-under-load"
t0=$(date +%s)
for i in $(seq 1 "$n"); do
    for c in $cases; do
        if ! log=$(bash "$here/fault.sh" "$build/bench/gale-perf" "$build/tools/gale-check" "$c" 2>&1); then
            echo "$log"
            echo "repeat: run $i of $n: case $c FAILED"
            exit 1
        fi
        echo "run $i: $c ok ($(grep -o 'median [0-9.]* ms' <<<"$log"))"
    done
done
echo "repeat: $n runs of the fault suite ($(wc -w <<<"$cases") cases each) all passed in $(( $(date +%s) - t0 )) s"
