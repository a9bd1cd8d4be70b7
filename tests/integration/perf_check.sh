#!/usr/bin/env bash
# Runs gale-perf with delivery logs, then the checker over them.
# usage: perf_check.sh GALE_PERF GALE_CHECK [gale-perf args...]
# The checker's mode and member count are taken from the gale-perf args.
# With --rx-copybreak (dpdk), messages must also have been delivered in place.
set -u
perf=$1 check=$2; shift 2
mode=safe members=3 in_place=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --mode) mode=${args[i+1]} ;;
        --members) members=${args[i+1]} ;;
        --rx-copybreak) in_place=1 ;;
    esac
done
dir=$(mktemp -d /tmp/gale-it.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "+ gale-perf $* --log-dir $dir"
"$perf" "$@" --log-dir "$dir" | tee "$dir/out.txt"
rc=${PIPESTATUS[0]}
if [ $rc -ne 0 ]; then
    echo "gale-perf exited $rc"
    exit 1
fi
if [ $in_place = 1 ]; then
    n=$(sed -n 's/.* \([0-9]*\) messages received in place.*/\1/p' "$dir/out.txt")
    [ "${n:-0}" -gt 0 ] || { echo "no message was delivered in place"; exit 1; }
fi
echo "+ gale-check --mode $mode --expect-members $members $dir"
"$check" --mode "$mode" --expect-members "$members" "$dir" || exit 1
