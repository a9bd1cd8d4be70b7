"""What the evidence scripts share (bench/sweep.py, bench/peers/peers.py,
bench/plot.py): running a benchmark that prints one JSON object, repeating
it, and summarising the repeats as median, min and max.

Every benchmark here (gale-perf --json, peer-zmq --json, peer-cpg --json)
prints msgs_per_s, cpu_s_per_M and lat_us (p50, p90, p99, p999, max and the
spectrum) with the same definitions (bench/README.md).
"""
import json
import os
import statistics
import subprocess
import sys
import time


class RunFailed(Exception):
    pass


def run_json(cmd, timeout=300, env=None):
    """Run cmd, return its JSON object; RunFailed with its stderr's tail otherwise."""
    e = dict(os.environ)
    if env:
        e.update(env)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{' '.join(cmd)}: no result in {timeout} s")
    if p.returncode == 77:
        raise RunFailed("skipped: " + (p.stdout + p.stderr).strip().splitlines()[-1])
    out = p.stdout.strip()
    start = out.rfind("\n{")
    text = out[start + 1:] if start >= 0 else out
    try:
        d = json.loads(text)
    except ValueError:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-5:])
        raise RunFailed(f"{' '.join(cmd)}: exit {p.returncode}, no JSON: {tail}")
    if p.returncode != 0:
        tail = "\n".join(p.stderr.strip().splitlines()[-5:])
        raise RunFailed(f"{' '.join(cmd)}: exit {p.returncode}: {tail}")
    return d


def summary(runs):
    """Median, min and max over repeated runs of the figures that matter."""
    def stat(get):
        v = [get(r) for r in runs]
        return {"median": statistics.median(v), "min": min(v), "max": max(v)}
    s = {
        "runs": len(runs),
        "msgs_per_s": stat(lambda r: r["msgs_per_s"]),
        "mb_per_s": stat(lambda r: r.get("mb_per_s", 0.0)),
        "cpu_us_per_msg": stat(lambda r: r["cpu_s_per_M"]),  # s per M = us per message
        "p50_us": stat(lambda r: r["lat_us"]["p50"]),
        "p90_us": stat(lambda r: r["lat_us"]["p90"]),
        "p99_us": stat(lambda r: r["lat_us"]["p99"]),
        "p999_us": stat(lambda r: r["lat_us"]["p999"]),
        "backpressure": stat(lambda r: r.get("backpressure", 0)),
        "lost": stat(lambda r: r.get("lost", 0)),
    }
    # The spectrum of the median run (by msgs/s): one real distribution.
    mid = sorted(runs, key=lambda r: r["msgs_per_s"])[len(runs) // 2]
    s["spectrum"] = mid["lat_us"].get("spectrum", [])
    return s


def repeat(cmd, runs, warmup=False, **kw):
    """Run cmd `runs` times (after one discarded warm-up run if asked)."""
    if warmup:
        run_json(cmd, **kw)
    return [run_json(cmd, **kw) for _ in range(runs)]


def fmt_rate(v):
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} k"


def fmt_spread(s, scale=1.0, unit=""):
    return (f"{s['median'] / scale:.2f}{unit} "
            f"({s['min'] / scale:.2f}-{s['max'] / scale:.2f})")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def write_csv(path, rows, cols):
    """cols: (header, function of a row) pairs."""
    with open(path, "w") as f:
        f.write(",".join(h for h, _ in cols) + "\n")
        for r in rows:
            f.write(",".join(str(g(r)) for _, g in cols) + "\n")
