#!/usr/bin/env bash
# Installs, from Debian's packages, what Gale needs to build and test.
# Run as root on Debian 12. Does nothing when everything is already there.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config python3 clang-format clang libclang-rt-14-dev
      libhwloc-dev hwloc libxxhash-dev iproute2 nftables libdpdk-dev libibverbs-dev librdmacm-dev libbenchmark-dev
      libzmq3-dev libcpg-dev corosync gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "gale setup: missing packages: ${missing[*]}; run as root to install them" >&2
        exit 1
    fi
    echo "gale setup: installing ${missing[*]}"
    apt-get update -q
    # No service may start from what is installed here (corosync's would, on a
    # machine running systemd): the benchmarks start their own, in their own
    # namespaces (bench/peers/cpg.sh). policy-rc.d says so for this install only.
    policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
