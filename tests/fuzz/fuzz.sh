#!/usr/bin/env bash
# Builds a libFuzzer target with clang (address + undefined sanitizers) and
# runs it on its corpus for a while. Exit 77 where clang's libFuzzer is
# missing. usage: fuzz.sh SOURCE_ROOT TARGET SECONDS
# (locally, for longer: fuzz.sh . control 600)
set -u
root=$1 target=$2 secs=$3
command -v clang >/dev/null || { echo "skipped: clang not installed"; exit 77; }
work=$(mktemp -d /tmp/gale-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
case $target in
    control) srcs=("$root/tests/fuzz/fuzz_control.c" "$root/membership/codec.c" "$root/membership/mbr.c") libs=() ;;
    wire) srcs=("$root/tests/fuzz/fuzz_wire.c" "$root/dataplane/wire.c") libs=(-lxxhash) ;;
    *) echo "unknown fuzz target '$target': valid: control, wire"; exit 2 ;;
esac
if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -I"$root/include" -I"$root/base/include" \
        -I"$root/membership/include" -I"$root/drivers/include" -I"$root/dataplane" "${srcs[@]}" \
        -o "$work/fuzz" "${libs[@]}" 2>"$work/cc.log"; then
    # Skip only where libFuzzer's runtime is missing; any other error fails.
    if grep -q "libclang_rt.fuzzer" "$work/cc.log"; then
        echo "skipped: clang has no libFuzzer here (libclang-rt-dev missing)"; cat "$work/cc.log"; exit 77
    fi
    cat "$work/cc.log"; exit 1
fi
mkdir -p "$work/corpus"
cp "$root/tests/fuzz/corpus/$target/"* "$work/corpus/" 2>/dev/null
# A crash must fail the test: libFuzzer's own exit code for one is 77,
# which meson reads as "skipped".
"$work/fuzz" -max_total_time="$secs" -error_exitcode=1 -print_final_stats=1 "$work/corpus" 2>&1 | tail -12
rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] && echo "fuzz $target: $secs s without a crash"
exit $rc
