#!/usr/bin/env bash
# Gale's performance evidence, one command: installs what is needed, builds
# the release build (build/, as tools/run.sh), then runs
#   1. the micro-benchmarks (Google Benchmark), JSON kept: DIR/micro.json
#   2. the peers side by side (bench/peers/peers.py): DIR/peers.{md,csv,jsonl}
#   3. the gale-perf sweeps (bench/sweep.py): DIR/sweep-*.{jsonl,csv}
#   4. the plots (bench/plot.py, gnuplot): DIR/plots/*.{png,svg}
# and writes DIR/summary.md: the machine, the date, the commit, every
# command, the peer table, the highest sustained rates. docs/PERFORMANCE.md
# quotes a run of it. About 10 minutes on a 2-core machine.
#
# usage: bash tools/evidence.sh [--out DIR] [--quick]
#   --out DIR  where the results go (default: evidence/ at the top; it is
#              replaced)
#   --quick    a smoke test of the whole chain: one short run per point,
#              two points per sweep (a minute or so)
set -euo pipefail
cd "$(dirname "$0")/.."
out=evidence quick=()
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "evidence: unknown argument '$1': valid: --out DIR, --quick" >&2; exit 2 ;;
    esac
done
t0=$(date +%s)
bash tools/setup.sh
[ -d build/meson-private ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
rm -rf "$out"
mkdir -p "$out"
step() { echo "=== $(($(date +%s) - t0)) s: $*"; }

{
    echo "# Gale evidence run"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r)"
    echo "- command: bash tools/evidence.sh${quick:+ ${quick[*]}} --out $out"
    echo
} >"$out/summary.md"

micro=build/bench/gale-micro
if [ -x "$micro" ]; then
    step "micro-benchmarks: $micro --benchmark_out=$out/micro.json"
    margs=(--benchmark_out="$out/micro.json" --benchmark_out_format=json)
    [ ${#quick[@]} -gt 0 ] && margs+=(--benchmark_min_time=0.01)
    "$micro" "${margs[@]}" | tee "$out/micro.txt"
else
    echo "evidence: $micro was not built (libbenchmark-dev missing?)" >&2
    exit 1
fi

step "peers: bench/peers/peers.py --build build --out $out ${quick[*]}"
python3 bench/peers/peers.py --build build --out "$out" "${quick[@]}"

step "sweeps: bench/sweep.py --perf build/bench/gale-perf --out $out ${quick[*]}"
python3 bench/sweep.py --perf build/bench/gale-perf --out "$out" "${quick[@]}" | tee "$out/sustained.txt"

step "plots: bench/plot.py $out"
python3 bench/plot.py "$out"

{
    cat "$out/peers.md"
    echo
    echo "### Highest rate sustained (no back-pressure, at least 97 % delivered)"
    echo
    sed 's/^/- /' "$out/sustained.txt"
    echo
    echo "### Micro-benchmarks"
    echo
    python3 bench/micro/table.py "$out/micro.json"
    echo
    echo "Micro-benchmarks: micro.json (Google Benchmark), micro.txt. Sweeps: sweep-*.jsonl"
    echo "(every run) and sweep-*.csv. Plots: plots/*.png, plots/*.svg."
    echo
    echo "Took $(($(date +%s) - t0)) s."
} >>"$out/summary.md"
step "done: $out/summary.md"
