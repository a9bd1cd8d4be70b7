#!/usr/bin/env python3
"""Does a rerun of tools/evidence.sh agree with a recorded one?

usage: bench/compare.py RECORDED_DIR RERUN_DIR

For every row of the peer table (peers-summary.jsonl) and every point of the
sweeps (sweep-*.jsonl) in both, prints the recorded median with its min-max
and the rerun's median, and whether the rerun's median lies within the
recorded min-max, or the two runs' ranges at least overlap. On a shared
machine the absolute figures move from one run to the next (docs/PERFORMANCE.md,
"Reruns"), so these are reported, not judged. What is judged are the claims
docs/PERFORMANCE.md makes, ratios within one run: Gale SAFE over shm at least
50x Corosync CPG agreed and 2x ZeroMQ over ipc, Gale over udp (SAFE) at
least 1x ZeroMQ over tcp; each is printed for both runs. Exit 0 if they hold
in the rerun, 1 otherwise.
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


CLAIMS = [("gale-shm-safe", "cpg-agreed", 50), ("gale-shm-safe", "zmq-ipc", 2),
          ("gale-udp-safe", "zmq-tcp", 1)]


def ratios(rows):
    med = {k[0]: r["summary"]["msgs_per_s"]["median"] for k, r in rows.items() if k[1] == "flood"}
    return {(a, b): med[a] / med[b] for a, b, _ in CLAIMS if a in med and med.get(b)}


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
            line(f"{key[0]} ({key[1]})", ra[key]["summary"]["msgs_per_s"],
                 rb[key]["summary"]["msgs_per_s"])
    print("\nclaims (ratios of medians within each run): recorded, rerun")
    qa, qb = ratios(ra), ratios(rb)
    for a_, b_, need in CLAIMS:
        got = qb.get((a_, b_))
        hold = got is not None and got >= need
        ok &= hold
        rec = f"{qa[(a_, b_)]:.2f}x" if (a_, b_) in qa else "-"
        print(f"{a_} / {b_} >= {need}x: {rec}, {got:.2f}x {'holds' if hold else 'FAILS'}"
              if got is not None else f"{a_} / {b_}: not in the rerun: FAILS")
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
