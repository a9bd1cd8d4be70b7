#!/usr/bin/env python3
"""Two builds of gale-perf side by side: runs them interleaved (old, new,
old, new, ...) with the same arguments and prints every run, the medians of
each, and the new build's medians as ratios of the old one's.

usage: tools/perf-vs.py --old PATH --new PATH [--runs N] -- GALE-PERF-ARGS...
e.g.   tools/perf-vs.py --old /tmp/old/build/bench/gale-perf \\
           --new build/bench/gale-perf -- --members 2 --senders 1 --size 64 \\
           --mode fifo --idle spin --baseline

With --baseline in the arguments each run's own ring (or UDP) baseline and
Gale's ratio to it are printed too: that ratio is measured within one run,
the cross-build ratios across interleaved runs (the machine is shared and
noisy: read the medians).
"""
import argparse
import json
import statistics
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--old", required=True)
ap.add_argument("--new", required=True)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("args", nargs=argparse.REMAINDER)
a = ap.parse_args()
args = [x for x in a.args if x != "--"]
if "--json" not in args:
    args.append("--json")


def run(perf):
    p = subprocess.run([perf] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{perf} exited {p.returncode}: {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout)


def fig(d):
    f = {"msgs": d["msgs_per_s"] / 1e6, "cpu": d["cpu_s_per_M"],
         "p50": d["lat_us"]["p50"], "p99": d["lat_us"]["p99"]}
    if "baseline" in d:
        b = d["baseline"]
        f.update(base=b["msgs_per_s"] / 1e6, base_p50=b["lat_us"]["p50"],
                 base_p99=b["lat_us"]["p99"], ratio=d["ratio_msgs"],
                 ratio_p50=d["ratio_lat_p50"], ratio_p99=d["ratio_lat_p99"])
    return f


def show(name, f):
    s = (f"{name:4} {f['msgs']:8.2f} M msgs/s  cpu {f['cpu']:.3f} s/M  "
         f"p50 {f['p50']:9.3f} us  p99 {f['p99']:9.3f} us")
    if "base" in f:
        s += (f" | ring {f['base']:8.2f} M msgs/s p50 {f['base_p50']:.3f} p99 "
              f"{f['base_p99']:.3f} | ratio msgs {f['ratio']:.3f} p50 {f['ratio_p50']:.2f} "
              f"p99 {f['ratio_p99']:.2f}")
    return s


print("command: gale-perf " + " ".join(args))
res = {"old": [], "new": []}
for i in range(a.runs):
    for name, perf in (("old", a.old), ("new", a.new)):
        f = fig(run(perf))
        res[name].append(f)
        print(f"run {i + 1}: " + show(name, f), flush=True)
med = {}
for name in ("old", "new"):
    med[name] = {k: statistics.median(r[k] for r in res[name]) for k in res[name][0]}
    print("median: " + show(name, med[name]))
o, n = med["old"], med["new"]
print(f"new/old: msgs/s {n['msgs'] / o['msgs']:.2f} x, cpu s/M {n['cpu'] / o['cpu']:.3f} x, "
      f"p50 {n['p50'] / o['p50']:.2f} x, p99 {n['p99'] / o['p99']:.2f} x")
