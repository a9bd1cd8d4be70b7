#!/usr/bin/env bash
# Installs, from Debian's packages, what Gale needs to build and test.
# Run as root on Debian 12. Does nothing when everything is already there.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config python3 clang-format clang libclang-rt-14-dev
      libhwloc-dev hwloc libxxhash-dev iproute2 nftables libdpdk-dev libibverbs-dev librdmacm-dev libbenchmark-dev)
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
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
