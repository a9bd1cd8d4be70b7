#!/usr/bin/env bash
# The main job: install what is needed, build, run gale-perf with its defaults
# (3 member processes on this host, SAFE order, the shm driver). Extra
# arguments go to gale-perf.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
[ -d build/meson-private ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
exec ./build/bench/gale-perf "$@"
