#!/usr/bin/env bash
# Runs gale-perf with delivery logs, then the checker over them.
# usage: perf_check.sh GALE_PERF GALE_CHECK [gale-perf args...]
# The checker's mode and member count are taken from the gale-perf args.
set -u
perf=$1 check=$2; shift 2
mode=safe members=3
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --mode) mode=${args[i+1]} ;;
        --members) members=${args[i+1]} ;;
    esac
done
dir=$(mktemp -d /tmp/gale-it.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "+ gale-perf $* --log-dir $dir"
"$perf" "$@" --log-dir "$dir"
rc=$?
if [ $rc -ne 0 ]; then
    echo "gale-perf exited $rc"
    exit 1
fi
echo "+ gale-check --mode $mode --expect-members $members $dir"
"$check" --mode "$mode" --expect-members "$members" "$dir" || exit 1
