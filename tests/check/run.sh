#!/bin/sh
# Run gale-check on every case directory next to this script.
#
# Each case holds member-<id>.log files and `expect`: the exit code on the
# first line, then one or more lines that must each appear in the output.
# Optional files: `mode` (the --mode value, default fifo) and `args` (more
# flags, split on blanks).
#
# usage: run.sh PATH-TO-gale-check
set -u

bin=${1:?usage: run.sh PATH-TO-gale-check}
case $bin in /*) ;; *) bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") ;; esac
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0

for dir in "$here"/*/; do
    dir=${dir%/}
    name=$(basename "$dir")
    [ -f "$dir/expect" ] || continue
    mode=fifo
    [ -f "$dir/mode" ] && mode=$(cat "$dir/mode")
    args=
    [ -f "$dir/args" ] && args=$(cat "$dir/args")
    # Run from the tests dir so messages show stable, relative paths.
    # shellcheck disable=SC2086 # args is meant to split
    (cd "$here" && "$bin" --mode "$mode" $args "$name") >"$out" 2>&1
    rc=$?
    want_rc=$(sed -n 1p "$dir/expect")
    ok=1
    if [ "$rc" != "$want_rc" ]; then
        echo "FAIL $name: exit code $rc, expected $want_rc"
        ok=0
    fi
    while IFS= read -r want; do
        [ -n "$want" ] || continue
        if ! grep -qF -- "$want" "$out"; then
            echo "FAIL $name: output lacks: $want"
            ok=0
        fi
    done <<WANT
$(sed 1d "$dir/expect")
WANT
    if [ "$ok" = 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        sed 's/^/    | /' "$out"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
