#!/usr/bin/env bash
# The test command: install what is needed, check formatting, build with
# -Werror and run every suite that can run here, then build with
# address+undefined sanitizers (unit, integration, fault and lab suites again),
# then with the thread sanitizer (unit and integration; without DPDK).
# Ends with one summary line: "summary: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

failed_steps=0
step() { echo; echo "=== $*"; }

step "formatting (clang-format --dry-run)"
# The files: from git, or from the tree where there is no git (tools/source-files.py).
if ! python3 tools/source-files.py .c .h .cc | xargs clang-format --dry-run -Werror; then
    echo "formatting: the files above differ from .clang-format (run: clang-format -i FILE)"
    failed_steps=$((failed_steps + 1))
fi

run_build() {  # run_build DIR SUITES... -- MESON_ARGS...
    local dir=$1; shift
    local suites=()
    while [ "$1" != -- ]; do suites+=(--suite "$1"); shift; done
    shift
    rm -rf "$dir"
    if ! meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1; then
        cat "$dir.setup.log"; return 1
    fi
    grep -A20 "^gale " "$dir.setup.log" | sed -n '/Built/,$p'
    ninja -C "$dir" || return 1
    meson test -C "$dir" --print-errorlogs --num-processes 1 "${suites[@]}"
}

step "editorconfig (line ends, final newline, trailing whitespace, indentation)"
python3 tools/check-editorconfig.py || failed_steps=$((failed_steps + 1))

step "build and test (-Werror): unit, integration, fault, lab, sim, fuzz"
run_build build-test unit integration fault lab sim fuzz -- || failed_steps=$((failed_steps + 1))

# Sanitized builds run 2-15 times slower on 2 shared cores: the failure
# detectors get longer timeouts there (GALE_*_TIMEOUT_MS, include/gale/gale.h),
# so a starved member is not taken for a dead one.
step "sanitizers (address,undefined): unit, integration, fault, lab"
GALE_HB_TIMEOUT_MS=1000 GALE_FAIL_TIMEOUT_MS=3000 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_build build-asan unit integration fault lab -- -Db_sanitize=address,undefined -Db_lundef=false \
    || failed_steps=$((failed_steps + 1))

step "sanitizer (thread): unit, integration"
# DPDK is left out of this build: its own threads (EAL interrupts, the memif
# PMD) are not instrumented and race with each other as TSan sees it; the
# dpdk driver runs in the plain and ASan builds.
GALE_HB_TIMEOUT_MS=1000 GALE_FAIL_TIMEOUT_MS=3000 TSAN_OPTIONS=halt_on_error=1 \
    run_build build-tsan unit integration -- -Db_sanitize=thread -Db_lundef=false -Ddpdk=disabled \
    || failed_steps=$((failed_steps + 1))

python3 tools/test-summary.py build-test/meson-logs/testlog.json \
    build-asan/meson-logs/testlog.json build-tsan/meson-logs/testlog.json
rc=$?
[ $failed_steps -eq 0 ] || { echo "tests: $failed_steps step(s) failed"; rc=1; }
exit $rc
