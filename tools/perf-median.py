#!/usr/bin/env python3
"""Run gale-perf --json several times and print each run and the medians.

usage: tools/perf-median.py [--runs N] [--perf PATH] -- GALE-PERF-ARGS...
The machine is shared and noisy: quote medians, with the command. With
--kill/--stop, the view changes of every run and their median are printed too.
"""
import argparse
import json
import statistics
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--perf", default="build/bench/gale-perf")
ap.add_argument("args", nargs=argparse.REMAINDER)
a = ap.parse_args()
args = [x for x in a.args if x != "--"]
if "--json" not in args:
    args.append("--json")

rows = []
for i in range(a.runs):
    p = subprocess.run([a.perf] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"run {i + 1}: gale-perf exited {p.returncode}: {p.stderr.strip()}")
    rows.append(json.loads(p.stdout))


def fig(d):
    lat = d["lat_us"]
    return (f"{d['msgs_per_s'] / 1e6:7.2f} M msgs/s  p50 {lat['p50']:7.3f} us  "
            f"p99 {lat['p99']:8.3f} us  cpu {d['cpu_s_per_M']:.3f} s/M")


print("command: " + " ".join(["gale-perf"] + args))
for i, d in enumerate(rows):
    line = f"run {i + 1}: gale {fig(d)}"
    if "baseline" in d:
        line += f" | baseline {fig(d['baseline'])} | ratio_msgs {d['ratio_msgs']:.3f}"
    if "view_changes" in d:
        line += " | view changes: " + (", ".join(
            f"epoch {v['epoch']} {v['ms']:.1f} ms" for v in d["view_changes"]) or "none")
    print(line)
if "view_changes" in rows[0]:
    all_vc = [v["ms"] for d in rows for v in d["view_changes"]]
    if all_vc:
        print(f"view changes: {len(all_vc)} in {len(rows)} runs, median {statistics.median(all_vc):.1f} ms, "
              f"min {min(all_vc):.1f} ms, max {max(all_vc):.1f} ms (fault -> view installed at every survivor)")


def med(key, sub=None, base=False):
    vals = []
    for d in rows:
        src = d["baseline"] if base else d
        vals.append(src[key][sub] if sub else src[key])
    return statistics.median(vals)


print(f"median: gale {med('msgs_per_s') / 1e6:.2f} M msgs/s, lat p50 {med('lat_us', 'p50'):.3f} us, "
      f"p99 {med('lat_us', 'p99'):.3f} us, cpu {med('cpu_s_per_M'):.3f} s/M")
if "baseline" in rows[0]:
    print(f"median: baseline {med('msgs_per_s', base=True) / 1e6:.2f} M msgs/s, "
          f"lat p50 {med('lat_us', 'p50', True):.3f} us, p99 {med('lat_us', 'p99', True):.3f} us; "
          f"ratio_msgs {med('ratio_msgs'):.3f}, ratio_lat_p50 {med('ratio_lat_p50'):.3f}")
