#!/usr/bin/env bash
# `meson install` puts libgale, gale/gale.h and gale.pc in place, and an
# application builds against them with pkg-config alone.
# usage: install.sh BUILD_DIR EXAMPLE_C
set -u
build=$1 example=$2
san=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"][0])')
if [ "$san" != none ]; then
    echo "skipped: a $san-sanitized libgale needs its runtime in every program linked to it; the plain build runs this test"
    exit 77
fi
dest=$(mktemp -d /tmp/gale-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild >/dev/null || { echo "meson install failed"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
pc=$(find "$dest" -name gale.pc | head -1)
[ -n "$pc" ] || { echo "gale.pc not installed"; exit 1; }
[ -f "$dest$prefix/include/gale/gale.h" ] || { echo "gale/gale.h not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs gale) || { echo "pkg-config cannot read gale.pc"; exit 1; }
echo "pkg-config --cflags --libs gale: $flags"
cc -std=c11 -Wall -Werror "$example" $flags -o "$dest/example" || { echo "the example does not build against the installed Gale"; exit 1; }
libdir=$(dirname "$(find "$dest" -name 'libgale.so.*' | head -1)")
LD_LIBRARY_PATH=$libdir "$dest/example" 0 1 | grep -c hello | grep -qx 10 || { echo "the installed example did not deliver its 10 messages"; exit 1; }
echo "installed under $dest$prefix: library, header, gale.pc; the example built and ran"
