#!/usr/bin/env bash
# The README's example: alone, then as a group of three processes; every
# process must deliver all 30 messages and exit 0, and gale-check must pass
# on what they printed.
# usage: example.sh EXAMPLE GALE_CHECK
set -u
ex=$1 check=$2
out=$(timeout 30 "$ex" 0 1) || { echo "one member: exit $?"; exit 1; }
[ "$(grep -c hello <<<"$out")" -eq 10 ] || { echo "one member: wrong output: $out"; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
pids=()
for id in 0 1 2; do timeout 30 "$ex" $id 3 >"$dir/$id" & pids+=($!); done
fail=0
for i in 0 1 2; do wait "${pids[i]}" || { echo "member $i: exit status $?"; fail=1; }; done
for id in 0 1 2; do
    n=$(grep -c "^$id: hello" "$dir/$id")
    [ "$n" -eq 30 ] || { echo "member $id delivered $n of 30"; fail=1; }
done
# The checker over what the three processes printed (SAFE: one total order).
mkdir "$dir/logs"
python3 "$(dirname "$0")/example_logs.py" "$dir/logs" 3 "$dir/0" "$dir/1" "$dir/2" || exit 1
"$check" --mode safe --expect-members 3 "$dir/logs" || fail=1
exit $fail
