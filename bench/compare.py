#!/usr/bin/env python3
"""Does a rerun of tools/evidence.sh agree with a recorded one?

usage: bench/compare.py RECORDED_DIR RERUN_DIR

For every row of the peer table (peers-summary.jsonl) and every point of the
sweeps (sweep-*.jsonl) in both, prints the recorded median with its min-max
and the rerun's median, and whether the rerun's median lies within the
recorded min-max, or the two runs' ranges at least overlap. Exit 0 if every
peer-table row overlaps, 1 otherwise (sweep points are reported, not judged:
single points of a noisy machine wander more).
"""
import glob
import json
import os
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def verdict(rec, new):
    inside = rec["min"] <= new["median"] <= rec["max"]
    overlap = new["min"] <= rec["max"] and rec["min"] <= new["max"]
    return inside, overlap


def line(name, rec, new):
    inside, overlap = verdict(rec, new)
    mark = "within" if inside else ("overlaps" if overlap else "OUTSIDE")
    print(f"{name:44s} {rec['median'] / 1e6:8.3f} M ({rec['min'] / 1e6:.3f}-{rec['max'] / 1e6:.3f})"
          f"  rerun {new['median'] / 1e6:8.3f} M ({new['min'] / 1e6:.3f}-{new['max'] / 1e6:.3f})"
          f"  {mark}")
    return overlap


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    a, b = sys.argv[1:]
    ok = True
    print("peer table, delivered msgs/s: recorded median (min-max), rerun")
    ra = {(r["system"], r["load"]): r for r in load(os.path.join(a, "peers-summary.jsonl"))}
    rb = {(r["system"], r["load"]): r for r in load(os.path.join(b, "peers-summary.jsonl"))}
    for key in ra:
        if key in rb and key[1] == "flood":
            ok &= line(f"{key[0]} ({key[1]})", ra[key]["summary"]["msgs_per_s"],
                       rb[key]["summary"]["msgs_per_s"])
    print("\nsweeps, delivered msgs/s (reported, not judged)")
    n = inside = 0
    for path in sorted(glob.glob(os.path.join(a, "sweep-*.jsonl"))):
        other = os.path.join(b, os.path.basename(path))
        if not os.path.exists(other):
            continue
        pb = {(r["size"], r["rate"], r["members"]): r for r in load(other)}
        for r in load(path):
            k = (r["size"], r["rate"], r["members"])
            if k in pb:
                n += 1
                i, _ = verdict(r["summary"]["msgs_per_s"], pb[k]["summary"]["msgs_per_s"])
                inside += i
    print(f"{inside} of {n} sweep points: the rerun's median within the recorded min-max")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
