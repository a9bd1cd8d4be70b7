#!/usr/bin/env python3
"""gale-perf sweeps: message size, open-loop rate, member count, mode and driver.

usage: bench/sweep.py --perf build/bench/gale-perf --out DIR [--runs N]
                      [--duration S] [--quick] [--only size,rate,members]

Each point is gale-perf --json run N times (default 3) after one discarded
warm-up run per series (it faults in the rings and wakes the cores), and is
summarised as median, min and max of delivered msgs/s, MB/s, latency p50,
p99, p99.9 and CPU per message (benchlib.summary). One sender, flood unless
a rate is given. Series, each written to DIR/sweep-<series>.jsonl (one JSON
object per point with its parameters, the summary and every raw run) and
DIR/sweep-<series>.csv (the medians and spreads), the name carrying the
parameters:
  size-<driver>-<mode>-m<members>   32 B to 1 MiB, shm FIFO/TOTAL/SAFE, udp FIFO/SAFE
                                     (udp: on 127.0.0.1 with 8972-byte frames)
  rate-<driver>-<mode>-m2-<size>B    2 members (one per core: latency is
                                     not a third process's wait for a core);
                                     open-loop rates rising by ~2x until the
                                     knee: the first rate not sustained (less
                                     than 97 % delivered, any back-pressure, or
                                     a p90 of 1 ms or more: a growing queue);
                                     the highest sustained one is reported
  members-<driver>-<mode>-<size>B    2, 3, 4 and 6 members
--quick: two points per series, 0.2 s runs, 1 run (a smoke test of the tool).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

SIZES = [32, 128, 512, 2048, 8192, 32768, 131072, 524288, 1048576]
RATES = [100e3, 300e3, 1e6, 2e6, 4e6, 8e6, 16e6, 32e6]
MEMBERS = [2, 3, 4, 6]


def point(a, driver, mode, members, size, rate=0, warmup=False):
    cmd = [a.perf, "--json", "--driver", driver, "--mode", mode, "--members", str(members),
           "--senders", "1", "--size", str(size), "--duration", str(a.duration)]
    if rate:
        cmd += ["--rate", f"{rate:.0f}"]
    if driver == "udp":
        cmd += ["--mtu", "8972"]  # on loopback (MTU 64 KiB): jumbo frames
    runs = bl.repeat(cmd, a.runs, warmup=warmup, timeout=120 + 10 * a.duration)
    return {"driver": driver, "mode": mode, "members": members, "size": size, "senders": 1,
            "rate": rate, "duration_s": a.duration, "command": " ".join(["gale-perf"] + cmd[1:]),
            "summary": bl.summary(runs), "runs": runs}


CSV = [("driver", lambda r: r["driver"]), ("mode", lambda r: r["mode"]),
       ("members", lambda r: r["members"]), ("size", lambda r: r["size"]),
       ("rate", lambda r: int(r["rate"]))]
for key in ("msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "cpu_us_per_msg"):
    for st in ("median", "min", "max"):
        CSV.append((f"{key}_{st}", lambda r, k=key, s=st: round(r["summary"][k][s], 3)))
CSV.append(("backpressure_max", lambda r: r["summary"]["backpressure"]["max"]))


def save(a, name, rows):
    bl.write_jsonl(os.path.join(a.out, f"sweep-{name}.jsonl"), rows)
    bl.write_csv(os.path.join(a.out, f"sweep-{name}.csv"), rows, CSV)


def sweep_size(a):
    series = [("shm", "fifo"), ("shm", "total"), ("shm", "safe"), ("udp", "fifo"), ("udp", "safe")]
    sizes = [64, 65536] if a.quick else SIZES
    for driver, mode in series:
        rows = []
        for i, size in enumerate(sizes):
            r = point(a, driver, mode, 3, size, warmup=i == 0)
            s = r["summary"]
            bl.log(f"size {driver} {mode} {size} B: {bl.fmt_rate(s['msgs_per_s']['median'])} "
                   f"msgs/s, {s['mb_per_s']['median']:.0f} MB/s")
            rows.append(r)
        save(a, f"size-{driver}-{mode}-m3", rows)


def sustained(r):
    """Delivered (97 %), with no back-pressure, and no queue building up: p90
    under 1 ms (a queue that grows moves the bulk of the latencies; the
    machine's own stalls, a few ms at p99-p99.9 at any rate, do not)."""
    s = r["summary"]
    return (s["msgs_per_s"]["median"] >= 0.97 * r["rate"] and s["backpressure"]["max"] == 0
            and s["lost"]["max"] == 0 and s["p90_us"]["median"] < 1000)


def sweep_rate(a):
    out = []
    for driver, mode, size in [("shm", "safe", 64), ("udp", "safe", 64)]:
        rows, best = [], 0
        for i, rate in enumerate(RATES[:2] if a.quick else RATES):
            r = point(a, driver, mode, 2, size, rate=rate, warmup=i == 0)
            r["sustained"] = sustained(r)
            rows.append(r)
            s = r["summary"]
            bl.log(f"rate {driver} {mode} {bl.fmt_rate(rate)}: delivered "
                   f"{bl.fmt_rate(s['msgs_per_s']['median'])}, p50 {s['p50_us']['median']:.1f} us"
                   f", p99 {s['p99_us']['median']:.1f} us"
                   + ("" if r["sustained"] else " (not sustained: the knee)"))
            if not r["sustained"]:
                break
            best = rate
        for r in rows:
            r["max_sustained_rate"] = best
        save(a, f"rate-{driver}-{mode}-m2-{size}B", rows)
        out.append((driver, mode, size, best))
    return out


def sweep_members(a):
    rows = []
    for i, n in enumerate(MEMBERS[:2] if a.quick else MEMBERS):
        r = point(a, "shm", "safe", n, 64, warmup=i == 0)
        bl.log(f"members {n}: {bl.fmt_rate(r['summary']['msgs_per_s']['median'])} msgs/s")
        rows.append(r)
    save(a, "members-shm-safe-64B", rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--perf", default="build/bench/gale-perf")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="size,rate,members")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.duration = 1, 0.2
    os.makedirs(a.out, exist_ok=True)
    only = set(a.only.split(","))
    try:
        if "size" in only:
            sweep_size(a)
        if "rate" in only:
            for driver, mode, size, best in sweep_rate(a):
                print(f"max sustained rate, {driver} {mode} {size} B, 2 members, one sender: "
                      f"{bl.fmt_rate(best)} msgs/s")
        if "members" in only:
            sweep_members(a)
    except bl.RunFailed as e:
        sys.exit(f"sweep: {e}")


if __name__ == "__main__":
    main()
