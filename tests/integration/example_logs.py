#!/usr/bin/env python3
"""Turn the README example's output into delivery logs for gale-check.

Each process prints "<id>: hello <n> from <sender>" per delivery; message n of
a sender is its n-th send (seq n), and its payload is that text plus a NUL.
usage: example_logs.py OUT_DIR MEMBERS OUTPUT_FILE...  (one output file per id, in id order)
"""
import sys


def fnv1a64(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


out_dir, members, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
view = ",".join(str(i) for i in range(members))
for mid, path in enumerate(files):
    lines = [f"V 1 {view}"]
    for n in range(10):  # what this member sent: "hello n from mid"
        text = f"hello {n} from {mid}".encode() + b"\0"
        lines.append(f"S 1 {n} {len(text)} {fnv1a64(text):016x}")
    for row in open(path):
        who, _, msg = row.rstrip("\n").partition(": ")
        words = msg.split()
        if int(who) != mid or len(words) != 4 or words[0] != "hello":
            sys.exit(f"unexpected line in {path}: {row!r}")
        text = msg.encode() + b"\0"
        lines.append(f"D 1 {words[3]} {words[1]} {len(text)} {fnv1a64(text):016x}")
    with open(f"{out_dir}/member-{mid}.log", "w") as f:
        f.write("\n".join(lines) + "\n")
