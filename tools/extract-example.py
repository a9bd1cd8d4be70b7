#!/usr/bin/env python3
"""Copy the C example out of README.md (the ```c block after '## Example') so the
test suite compiles exactly what the README shows."""
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
start = text.index("## Example")
code_start = text.index("```c\n", start) + len("```c\n")
code_end = text.index("```", code_start)
open(dst, "w").write(text[code_start:code_end])
