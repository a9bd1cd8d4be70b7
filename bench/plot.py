#!/usr/bin/env python3
"""Plots of the evidence (bench/sweep.py and bench/peers/peers.py output) with
gnuplot, as PNG and SVG.

usage: bench/plot.py DIR        (reads DIR/*.jsonl, writes DIR/plots/)

  throughput-size.{png,svg}   delivered msgs/s and MB/s against message size,
                              one line per driver and mode (medians, with the
                              min-max of the runs as error bars)
  latency-rate.{png,svg}      latency percentile spectra (HdrHistogram style:
                              p50 to p99.999 on a log scale of 1/(1-p)) of
                              Gale SAFE over shm at each open-loop rate of the
                              rate sweep up to its knee
  latency-peers.{png,svg}     the same for every system of the peer table at
                              its common open-loop rate
  members.{png,svg}           delivered msgs/s against the member count
The .dat files gnuplot reads are left next to the plots.
"""
import glob
import json
import os
import subprocess
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def spectrum_dat(path, spec):
    with open(path, "w") as f:
        for p, us in spec:
            if p < 100:  # the max has no place on a 1/(1-p) axis
                f.write(f"{1 / (1 - p / 100):.6g} {max(us, 0.001):.6g} {p}\n")


TERMS = [("png", "pngcairo size 1000,640 font 'sans,10'"), ("svg", "svg size 1000,640 dynamic")]

PCT_AXIS = """set logscale x
set logscale y
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set xlabel "percentile"
set ylabel "latency (us)"
set grid
set key outside right
"""


def gnuplot(outdir, name, body):
    for ext, term in TERMS:
        script = f"set terminal {term}\nset output '{os.path.join(outdir, name + '.' + ext)}'\n"
        p = subprocess.run(["gnuplot"], input=script + body, text=True, capture_output=True)
        if p.returncode != 0:
            sys.exit(f"plot: gnuplot failed on {name}: {p.stderr.strip()}")
        if ext == "svg":  # gnuplot ends some lines with blanks
            path = os.path.join(outdir, name + ".svg")
            text = "\n".join(line.rstrip() for line in open(path).read().split("\n"))
            open(path, "w").write(text)


def throughput_size(d, outdir):
    files = sorted(glob.glob(os.path.join(d, "sweep-size-*.jsonl")))
    if not files:
        return
    plots_m, plots_b = [], []
    for i, path in enumerate(files):
        rows = load(path)
        label = f"{rows[0]['driver']} {rows[0]['mode']}"
        dat = os.path.join(outdir, os.path.basename(path).replace(".jsonl", ".dat"))
        with open(dat, "w") as f:
            for r in rows:
                s = r["summary"]
                f.write(f"{r['size']} {s['msgs_per_s']['median']} {s['msgs_per_s']['min']} "
                        f"{s['msgs_per_s']['max']} {s['mb_per_s']['median']} "
                        f"{s['mb_per_s']['min']} {s['mb_per_s']['max']}\n")
        plots_m.append(f"'{dat}' using 1:2:3:4 with yerrorlines lw 2 title '{label}'")
        plots_b.append(f"'{dat}' using 1:5:6:7 with yerrorlines lw 2 title '{label}'")
    members = rows[0]["members"]
    body = f"""set multiplot layout 1,2 title "Gale, {members} members, one sender, flood: \
delivered against message size (median, min-max)"
set logscale x 2
set logscale y
set format x "%.0s%cB"
set xlabel "message size"
set grid
set key bottom left
set ylabel "msgs/s"
plot {", ".join(plots_m)}
set ylabel "MB/s"
set key bottom right
plot {", ".join(plots_b)}
unset multiplot
"""
    gnuplot(outdir, "throughput-size", body)


def latency_rate(d, outdir):
    files = sorted(glob.glob(os.path.join(d, "sweep-rate-shm-*.jsonl")))
    if not files:
        return
    rows = load(files[0])
    plots = []
    for r in rows:
        dat = os.path.join(outdir, f"latency-rate-{int(r['rate'])}.dat")
        spectrum_dat(dat, r["summary"]["spectrum"])
        note = "" if r.get("sustained", True) else " (past the knee)"
        plots.append(f"'{dat}' using 1:2 with linespoints lw 2 title "
                     f"'{r['rate'] / 1e3:g}k msgs/s{note}'")
    title = (f"Gale {rows[0]['driver']} {rows[0]['mode']}, {rows[0]['members']} members, "
             f"one sender, {rows[0]['size']} B: latency at open-loop rates")
    gnuplot(outdir, "latency-rate", PCT_AXIS + f'set title "{title}"\nplot '
            + ", ".join(plots) + "\n")


def latency_peers(d, outdir):
    path = os.path.join(d, "peers-summary.jsonl")
    if not os.path.exists(path):
        return
    rows = [r for r in load(path) if r["load"] != "flood"]
    if not rows:
        return
    plots = []
    for r in rows:
        dat = os.path.join(outdir, f"latency-peers-{r['system']}.dat")
        spectrum_dat(dat, r["summary"]["spectrum"])
        plots.append(f"'{dat}' using 1:2 with linespoints lw 2 title '{r['system']}'")
    gnuplot(outdir, "latency-peers", PCT_AXIS + f'set title "Latency side by side, '
            f'open loop at {rows[0]["load"][5:]} msgs/s"\nplot ' + ", ".join(plots) + "\n")


def members(d, outdir):
    files = sorted(glob.glob(os.path.join(d, "sweep-members-*.jsonl")))
    if not files:
        return
    rows = load(files[0])
    dat = os.path.join(outdir, "members.dat")
    with open(dat, "w") as f:
        for r in rows:
            s = r["summary"]["msgs_per_s"]
            f.write(f"{r['members']} {s['median']} {s['min']} {s['max']}\n")
    gnuplot(outdir, "members", f"""set title "Gale {rows[0]['driver']} {rows[0]['mode']}, \
one sender, {rows[0]['size']} B, flood: delivered against members (2 cores)"
set xlabel "members"
set ylabel "msgs/s"
set grid
set yrange [0:*]
plot '{dat}' using 1:2:3:4 with yerrorlines lw 2 title 'median (min-max)'
""")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/plot.py DIR")
    d = sys.argv[1]
    outdir = os.path.join(d, "plots")
    os.makedirs(outdir, exist_ok=True)
    throughput_size(d, outdir)
    latency_rate(d, outdir)
    latency_peers(d, outdir)
    members(d, outdir)
    made = sorted(glob.glob(os.path.join(outdir, "*.png")))
    print("plots: " + ", ".join(os.path.basename(m) for m in made))


if __name__ == "__main__":
    main()
