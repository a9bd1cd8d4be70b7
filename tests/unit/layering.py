#!/usr/bin/env python3
"""The walls of DESIGN.md §1, as the objects show them.

1. libgale.so exports exactly the functions gale.h declares: every one of
   them, and nothing else (the version script, api/libgale.map).
2. No layer references a symbol that a layer it may not use defines: each
   layer's static library may call only itself and the layers it declares
   (below). A call up (the dataplane into the API, the drivers into the
   dataplane) or across (the control plane into the dataplane's internals)
   fails here, whatever the headers allowed.
3. No source of a layer reaches around its include path with a relative
   #include ("../other/x.h"), which the compiler would accept.

usage: layering.py SOURCE_ROOT BUILD_DIR
"""
import os
import re
import subprocess
import sys

# Layer -> the layers it may use (besides itself). The public API header is
# everyone's; symbols of libc and the system libraries are not Gale's.
USES = {
    "base": [],
    "membership": ["base"],
    "drivers": ["base"],
    "dataplane": ["drivers", "base"],
    "control": ["membership", "base"],
    "api": ["dataplane", "control", "base"],
}
LIBS = {
    "base": "base/libgale-base.a",
    "membership": "membership/libgale-membership.a",
    "drivers": "drivers/libgale-drivers.a",
    "dataplane": "dataplane/libgale-dataplane.a",
    "control": "control/libgale-control.a",
    "api": "api/libgale-api.a",
}
EXTRA = {"drivers": ["drivers/libgale-dpdk.a"]}  # built apart (DPDK's flags), same layer


def nm(args):
    out = subprocess.run(["nm"] + args, capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def symbols(lib):
    """(defined, undefined) global symbols of a static library."""
    defined, undefined = set(), set()
    for line in nm(["--format=posix", lib]):
        parts = line.split()
        if len(parts) < 2 or parts[0].endswith(":") or line.endswith(":"):
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def public_functions(header):
    text = open(header).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return set(re.findall(r"\b(gale_[a-z0-9_]+)\s*\(", text)) - {
        name for name in re.findall(r"typedef[^;]*\(\*\s*(gale_[a-z0-9_]+)\)", text)
    }


def main():
    root, build = sys.argv[1], sys.argv[2]
    bad = 0

    # 1. The exported symbols.
    lib = os.path.join(build, "api", "libgale.so")
    exported = {line.split()[-1] for line in nm(["-D", "--defined-only", lib]) if line.split()}
    declared = public_functions(os.path.join(root, "include", "gale", "gale.h"))
    print(f"libgale.so exports {len(exported)} symbols: {' '.join(sorted(exported))}")
    for s in sorted(exported - declared):
        print(f"not ok: libgale.so exports {s}, which gale.h does not declare")
        bad += 1
    for s in sorted(declared - exported):
        print(f"not ok: gale.h declares {s}, which libgale.so does not export")
        bad += 1

    # 2. Calls between layers.
    defs, undefs = {}, {}
    for layer, path in LIBS.items():
        d, u = symbols(os.path.join(build, path))
        for extra in EXTRA.get(layer, []):
            p = os.path.join(build, extra)
            if os.path.exists(p):
                d2, u2 = symbols(p)
                d |= d2
                u |= u2
        defs[layer], undefs[layer] = d, u - d
    owner = {}
    for layer, d in defs.items():
        for s in d:
            owner.setdefault(s, layer)
    calls = 0
    for layer, u in undefs.items():
        for s in sorted(u):
            o = owner.get(s)
            if o is None:
                continue  # libc, DPDK, hwloc, ...
            calls += 1
            if o != layer and o not in USES[layer]:
                print(f"not ok: {layer} references {s}, defined in {o} "
                      f"({layer} may use: {', '.join(USES[layer]) or 'nothing of Gale'})")
                bad += 1
    print(f"{calls} references between layers checked against the allowed uses")

    # 3. Relative includes.
    pat = re.compile(r'^\s*#\s*include\s*"(\.\./|/)')
    for layer in USES:
        for dirpath, _, files in os.walk(os.path.join(root, layer)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                p = os.path.join(dirpath, f)
                for n, line in enumerate(open(p, errors="replace"), 1):
                    if pat.match(line):
                        print(f"not ok: {os.path.relpath(p, root)}:{n}: a relative include "
                              f"reaches around the layer's include path: {line.strip()}")
                        bad += 1
    print("walls hold" if not bad else f"{bad} breach(es)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
