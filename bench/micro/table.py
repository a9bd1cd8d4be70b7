#!/usr/bin/env python3
"""Google Benchmark JSON (gale-micro --benchmark_out=FILE) as a markdown table.

usage: bench/micro/table.py micro.json
"""
import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2])
    d = json.load(open(sys.argv[1]))
    c = d.get("context", {})
    print(f"gale-micro on {c.get('num_cpus', '?')} cpus at {c.get('mhz_per_cpu', '?')} MHz, "
          f"{c.get('date', '')}; real time per iteration, and rates where the benchmark "
          "counts items or bytes.\n")
    print("| benchmark | label | ns per iteration | items/s | bytes/s |")
    print("|---|---|---|---|---|")
    for b in d["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        ips = f"{b['items_per_second'] / 1e6:.2f} M" if "items_per_second" in b else ""
        bps = f"{b['bytes_per_second'] / 1e9:.2f} G" if "bytes_per_second" in b else ""
        name = b["name"].split("/min_time")[0].split("/iterations")[0]
        print(f"| {name} | {b.get('label', '')} | {b['real_time'] * scale:.1f} | {ips} | {bps} |")


if __name__ == "__main__":
    main()
