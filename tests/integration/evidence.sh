#!/usr/bin/env bash
# The evidence tools end to end, in their quick mode (tools/evidence.sh
# --quick runs the same chain on the release build): the micro-benchmarks
# write Google Benchmark JSON, the peer table has every system this build
# has, the sweeps write their JSON lines and CSV, gnuplot makes every plot.
# Each output is read back and checked; nothing here judges the figures.
# usage: evidence.sh BUILD_DIR
set -u
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/gale-evidence.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v gnuplot >/dev/null || { echo "skipped: gnuplot is not installed"; exit 77; }

if [ -x "$build/bench/gale-micro" ]; then
    "$build/bench/gale-micro" --benchmark_min_time=0.01 --benchmark_filter='wire|batch|trim|idle' \
        --benchmark_out="$out/micro.json" --benchmark_out_format=json >/dev/null ||
        fail "gale-micro"
    python3 -c "
import json, sys
b = json.load(open('$out/micro.json'))['benchmarks']
names = {x['name'].split('/')[0] for x in b}
want = {'BM_wire_encode', 'BM_wire_decode', 'BM_batch_seal', 'BM_trim_compute', 'BM_idle_poll'}
sys.exit(f'micro.json lacks {want - names}' if want - names else 0)" || fail "micro.json"
    echo "micro-benchmarks: JSON written and read back"
fi

python3 "$root/bench/peers/peers.py" --build "$build" --out "$out" --quick || fail "peers.py"
python3 - "$out" "$build" <<'PY' || fail "peer table"
import csv, os, sys
out, build = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(os.path.join(out, "peers.csv"))))
have = {(r["system"], r["load"].split()[0]) for r in rows}
want = ["gale-shm-safe", "gale-shm-fifo", "ring", "gale-udp-safe", "gale-udp-fifo"]
if os.path.exists(os.path.join(build, "bench/peers/peer-zmq")):
    want += ["zmq-ipc", "zmq-tcp"]
if os.path.exists(os.path.join(build, "bench/peers/peer-cpg")) and os.geteuid() == 0:
    want += ["cpg-agreed"]
missing = [w for w in want if (w, "flood") not in have]
bad = [r["system"] for r in rows if float(r["msgs_per_s_median"]) <= 0]
if missing or bad:
    sys.exit(f"peer table: missing {missing}, no throughput {bad}")
print(f"peer table: {len(rows)} rows, every system there")
PY

python3 "$root/bench/sweep.py" --perf "$build/bench/gale-perf" --out "$out" --quick >/dev/null ||
    fail "sweep.py"
n=$(ls "$out"/sweep-*.jsonl | wc -l)
[ "$n" -ge 8 ] || fail "sweeps: $n series written, 8 expected"
python3 - "$out" <<'PY' || fail "sweep files"
import glob, json, sys
for path in glob.glob(sys.argv[1] + "/sweep-*.jsonl"):
    for line in open(path):
        r = json.loads(line)
        assert r["summary"]["msgs_per_s"]["median"] > 0 and r["runs"], path
    assert open(path.replace(".jsonl", ".csv")).readline().startswith("driver,mode"), path
print("sweeps: every series written as JSON lines and CSV")
PY

python3 "$root/bench/plot.py" "$out" || fail "plot.py"
for p in throughput-size latency-rate latency-peers members; do
    for e in png svg; do
        [ -s "$out/plots/$p.$e" ] || fail "plot $p.$e missing"
    done
done
echo "plots: 4 plots as PNG and SVG"
