#!/usr/bin/env python3
"""Check the project's text files (tools/source-files.py) against .editorconfig: LF line ends, a final
newline, no trailing whitespace, and space indentation where .editorconfig
asks for it (meson.build, shell, Markdown, Python). C is left to
clang-format, and so are code blocks in Markdown. Prints each offence as FILE:LINE: what; exits 1 if any."""
import subprocess
import sys

SPACES = (".sh", ".md", ".py", "meson.build", "meson_options.txt", ".ci/run")
SKIP = ("tests/check/",)  # checker cases: logs are data, byte for byte

# The tracked files, from git or (no git: a copied tree) from the tree itself.
files = subprocess.run([sys.executable, "tools/source-files.py"], capture_output=True,
                       text=True, check=True).stdout.split()
bad = 0
for path in files:
    if path.startswith(SKIP):
        continue
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    if b"\0" in data:
        continue  # binary
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        print(f"{path}: CR line ends (want LF)")
        bad += 1
    if text and not text.endswith("\n"):
        print(f"{path}: no newline at the end")
        bad += 1
    fenced = False  # Markdown code blocks keep their language's indentation
    for n, line in enumerate(text.split("\n"), 1):
        if path.endswith(".md") and line.startswith("```"):
            fenced = not fenced
        if line != line.rstrip():
            print(f"{path}:{n}: trailing whitespace")
            bad += 1
        if path.endswith(SPACES) and not fenced and line.startswith("\t"):
            print(f"{path}:{n}: tab indentation (.editorconfig: spaces)")
            bad += 1
sys.exit(1 if bad else 0)
