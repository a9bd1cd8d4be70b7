#!/usr/bin/env python3
"""Peers side by side: the same workload over Gale and the systems people
compare it with, in the same run, with ratios to Gale.

usage: bench/peers/peers.py --build BUILD --out DIR [--runs N] [--duration S]
                            [--members N] [--size B] [--latency-rate R] [--quick]

Workload: N members (default 3) on this host, one sender, B-byte messages
(default 64); every other member delivers every message. Systems:
  gale-shm-safe   Gale, shm driver, SAFE (total order + stability)
  gale-shm-fifo   Gale, shm driver, FIFO
  gale-shm-safe-spin  (latency pass) SAFE with --idle spin: the members poll
                  without sleeping (Gale's default backs off to 100 us sleeps)
  ring            the raw shared-memory SPSC ring (gale-perf --baseline: one
                  producer, one consumer, in the same invocation as gale-shm-safe)
  gale-udp-safe   Gale, udp driver on 127.0.0.1 (loss repair, SAFE; --mtu 8972)
  gale-udp-fifo   Gale, udp driver, FIFO
  zmq-ipc         ZeroMQ PUB/SUB over ipc:// (peer-zmq): per-publisher FIFO,
                  no group membership, no agreement, drops on overload unless
                  the high-water mark is off (it is off here)
  zmq-tcp         the same over tcp://127.0.0.1
  cpg-agreed      Corosync CPG, CPG_TYPE_AGREED (peer-cpg, via cpg.sh: its own
                  corosync in its own network and mount namespace)
Two passes: throughput (flood, N runs each, the systems interleaved run by run
so machine noise falls on all alike) and latency at one open-loop rate every
system sustains (--latency-rate, default 20,000 msgs/s) with 2 members
(--latency-members): one process per core, as latency is measured, since on 2
cores a third member shares a core and waits for the scheduler's time slices,
whatever the system. Prints the table
(median and min-max over the runs, ratio of Gale SAFE over shm to each),
and writes DIR/peers.jsonl (every run), DIR/peers.csv and DIR/peers.md.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib as bl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Gale's udp driver on loopback: frames of 8972 bytes (a jumbo frame; lo's MTU
# is 64 KiB), where the default 1472 fits an Ethernet MTU of 1500.
UDP = ["--mtu", "8972"]


def systems(a, members, latency=False):
    perf = os.path.join(a.build, "bench", "gale-perf")
    zmq = os.path.join(a.build, "bench", "peers", "peer-zmq")
    cpg = os.path.join(a.build, "bench", "peers", "peer-cpg")
    common = ["--members", str(members), "--size", str(a.size)]
    gale = [perf, "--json", "--senders", "1"] + common
    s = [
        ("gale-shm-safe", gale + ["--driver", "shm", "--mode", "safe", "--baseline"]),
        ("gale-shm-fifo", gale + ["--driver", "shm", "--mode", "fifo"]),
    ]
    if latency:  # one process per core: spinning costs nobody a core
        s.append(("gale-shm-safe-spin", gale + ["--driver", "shm", "--mode", "safe",
                                                "--idle", "spin"]))
    s += [
        ("gale-udp-safe", gale + ["--driver", "udp", "--mode", "safe"] + UDP),
        ("gale-udp-fifo", gale + ["--driver", "udp", "--mode", "fifo"] + UDP),
    ]
    if os.path.exists(zmq):
        s += [("zmq-ipc", [zmq, "--json", "--transport", "ipc"] + common),
              ("zmq-tcp", [zmq, "--json", "--transport", "tcp"] + common)]
    if os.path.exists(cpg):
        s += [("cpg-agreed", ["bash", os.path.join(HERE, "cpg.sh"), cpg, "--json"] + common)]
    return s


def run_all(a, rate, duration, members):
    """{system: [runs]}; the ring comes from gale-shm-safe's --baseline."""
    out, missing = {}, {}
    plan = systems(a, members, latency=rate > 0)
    for i in range(a.runs):
        for name, cmd in plan:
            if name in missing:
                continue
            c = cmd + ["--duration", str(duration)]
            if rate:
                c = [x for x in c if x != "--baseline"] + ["--rate", str(rate)]
            try:
                d = bl.run_json(c, timeout=120 + 10 * duration)
            except bl.RunFailed as e:
                if name.startswith("gale"):
                    raise
                missing[name] = str(e)
                bl.log(f"{name}: left out: {e}")
                continue
            d["command"] = " ".join(os.path.basename(x) if x.startswith("/") else x for x in c)
            out.setdefault(name, []).append(d)
            if "baseline" in d:
                b = dict(d["baseline"])
                b["command"] = d["command"] + " (its --baseline)"
                out.setdefault("ring", []).append(b)
            bl.log(f"run {i + 1}/{a.runs} {name}: {bl.fmt_rate(d['msgs_per_s'])} msgs/s, "
                   f"p50 {d['lat_us']['p50']:.1f} us")
    return out, missing


ORDER = ["gale-shm-safe", "gale-shm-fifo", "gale-shm-safe-spin", "ring", "gale-udp-safe", "gale-udp-fifo",
         "zmq-ipc", "zmq-tcp", "cpg-agreed"]


def table(res, ref, title, latency):
    lines = [f"### {title}", "",
             "| system | msgs/s median (min-max) | Gale SAFE shm / it | p50 us | p99 us | p99.9 us "
             "| CPU us/msg |", "|---|---|---|---|---|---|---|"]
    rows = []
    for name in ORDER:
        if name not in res:
            continue
        s = bl.summary(res[name])
        rows.append({"system": name, "summary": s})
        ratio = ref / s["msgs_per_s"]["median"] if s["msgs_per_s"]["median"] else 0
        lines.append(
            f"| {name} | {bl.fmt_rate(s['msgs_per_s']['median'])} "
            f"({bl.fmt_rate(s['msgs_per_s']['min'])}-{bl.fmt_rate(s['msgs_per_s']['max'])}) "
            f"| {'-' if latency else f'{ratio:.2f}x'} | {s['p50_us']['median']:.1f} "
            f"| {s['p99_us']['median']:.1f} | {s['p999_us']['median']:.1f} "
            f"| {s['cpu_us_per_msg']['median']:.3f} |")
    return lines, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--latency-rate", type=int, default=20000)
    ap.add_argument("--latency-members", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.duration = 1, 0.3
    os.makedirs(a.out, exist_ok=True)
    try:
        flood, missing = run_all(a, 0, a.duration, a.members)
        paced, _ = run_all(a, a.latency_rate, a.duration, a.latency_members)
    except bl.RunFailed as e:
        sys.exit(f"peers: {e}")
    ref = statistics.median(r["msgs_per_s"] for r in flood["gale-shm-safe"])
    w = f"{a.members} members, one sender, {a.size} B"
    md, rows = table(flood, ref, f"Throughput: {w}, flood, {a.runs} runs of {a.duration:g} s",
                     False)
    md2, rows2 = table(paced, ref, f"Latency: {a.latency_members} members, one sender, "
                       f"{a.size} B, open loop at {a.latency_rate} msgs/s, "
                       f"{a.runs} runs of {a.duration:g} s", True)
    md += [""] + md2
    for name, why in missing.items():
        md.append(f"\n{name} left out: {why}")
    text = "\n".join(md) + "\n"
    print(text)
    open(os.path.join(a.out, "peers.md"), "w").write(text)
    allrows = ([dict(r, load="flood") for r in rows] + [dict(r, load=f"rate {a.latency_rate}")
                                                        for r in rows2])
    bl.write_jsonl(os.path.join(a.out, "peers.jsonl"),
                   [{"system": n, "load": "flood", "run": r} for n in flood for r in flood[n]]
                   + [{"system": n, "load": f"rate {a.latency_rate}", "run": r}
                      for n in paced for r in paced[n]])
    cols = [("system", lambda r: r["system"]), ("load", lambda r: r["load"])]
    for key in ("msgs_per_s", "p50_us", "p99_us", "p999_us", "cpu_us_per_msg"):
        for st in ("median", "min", "max"):
            cols.append((f"{key}_{st}", lambda r, k=key, s=st: round(r["summary"][k][s], 3)))
    bl.write_csv(os.path.join(a.out, "peers.csv"), allrows, cols)
    bl.write_jsonl(os.path.join(a.out, "peers-summary.jsonl"), allrows)


if __name__ == "__main__":
    main()
