#!/usr/bin/env python3
"""List the project's source files, one per line, relative to the root.

From git where the tree is a git work tree and git is installed (the files
it tracks); otherwise (a release tarball, a copied tree, a machine without
git) by walking the tree, leaving out what .gitignore leaves out of a clone:
build directories, results, evidence and logs, and hidden directories.

usage: source-files.py [SUFFIX...]   only names ending with one of them
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP_SKIP = ("build", "results", "evidence")  # /build*/, /results/, /evidence/
KEEP_LOGS = []  # directories whose .gitignore keeps *.log


def from_git():
    if not shutil.which("git") or not os.path.exists(os.path.join(ROOT, ".git")):
        return None
    r = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True)
    return r.stdout.split("\n") if r.returncode == 0 else None


def from_walk():
    out = []
    logs_kept = False  # a .gitignore with "!*.log" here or above (tests/check/)
    for d, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(d, ROOT)
        gi = os.path.join(d, ".gitignore")
        logs_kept = rel.startswith(tuple(KEEP_LOGS)) if KEEP_LOGS else False
        if os.path.exists(gi) and "!*.log" in open(gi).read().split():
            KEEP_LOGS.append(rel)
            logs_kept = True
        keep = []
        for x in sorted(dirs):
            if x.startswith(".") and x != ".ci":
                continue
            if rel == "." and x.startswith(TOP_SKIP):
                continue
            keep.append(x)
        dirs[:] = keep
        for f in sorted(files):
            if (f.endswith(".log") and not logs_kept) or f.endswith((".pyc", ".o")):
                continue
            p = os.path.normpath(os.path.join(rel, f))
            out.append(p)
    return out


def main():
    files = from_git()
    if files is None:
        files = from_walk()
    suffixes = tuple(sys.argv[1:])
    for f in files:
        if f and (not suffixes or f.endswith(suffixes)):
            print(f)


if __name__ == "__main__":
    main()
