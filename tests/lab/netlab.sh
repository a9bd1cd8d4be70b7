#!/usr/bin/env bash
# The lab: N hosts as network namespaces on one Linux bridge (sourced by
# lab.sh and usable by hand). Everything it creates carries the prefix
# $LAB (default gl<pid>) and is removed by lab_down, which lab_up arranges to
# run on exit, also on failure or interruption.
#
#                 namespace ${LAB}-sw ("the switch")
#        +-----------------------------------------------------+
#        |  bridge br0 (mcast_snooping 0: multicast floods)     |
#        |  nftables: table bridge gale, forward chain:         |
#        |            lab_loss PCT drops PCT % of frames        |
#        |   sw0         sw1          sw2          sw3   ...    |
#        +----+-----------+------------+------------+-----------+
#             | veth      | veth       | veth       | veth
#        +----+----+ +----+----+  +----+----+  +----+----+
#        |  eth0   | |  eth0   |  |  eth0   |  |  eth0   |
#        | ${LAB}-h0 | | ${LAB}-h1 |  | ${LAB}-h2 |  | ${LAB}-h3 |
#        |198.18.0.1| |198.18.0.2|  |198.18.0.3|  |198.18.0.4|
#        +---------+ +---------+  +---------+  +---------+
#
# Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking), on 198.18.0.0/24;
# each host has lo and eth0, IPv6 off, a route for 224.0.0.0/4 on eth0.
# With `lab_up N data`, each host also has eth1, without an address, on a
# second bridge br1 (ports sw<I>d): a data NIC for DPDK PMDs that take the
# whole interface (af_xdp), while the control plane keeps eth0. The loss rule
# covers both bridges. No interface of the machine's own namespace is touched
# and no frame can leave the lab.
#
#   lab_up N [data]   create hosts 0..N-1 (lab_host_ip I gives host I's address)
#   lab_loss PCT      drop PCT % of the frames the bridge forwards (0: none)
#   lab_cut I         take host I's links down (at the switch); lab_heal I
#   lab_down          remove all of it (idempotent)

LAB=${LAB:-gl$$}

lab_host() { echo "${LAB}-h$1"; }
lab_host_ip() { echo "198.18.0.$(($1 + 1))"; }

lab_down() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${LAB}-"); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}

lab_up() {
    local n=$1 data=${2:-} i sw="${LAB}-sw"
    command -v ip >/dev/null || { echo "lab: iproute2 is missing"; return 77; }
    command -v nft >/dev/null || { echo "lab: nftables is missing"; return 77; }
    trap 'lab_down' EXIT
    trap 'lab_down; exit 130' INT TERM
    ip netns add "$sw" || { echo "lab: cannot create network namespaces here"; return 77; }
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip -n "$sw" link add br0 type bridge mcast_snooping 0 || return 1
    ip -n "$sw" link set br0 up
    if [ "$data" = data ]; then
        ip -n "$sw" link add br1 type bridge mcast_snooping 0 || return 1
        ip -n "$sw" link set br1 up
    fi
    for ((i = 0; i < n; i++)); do
        local h
        h=$(lab_host "$i")
        ip netns add "$h" || return 1
        ip netns exec "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1
        ip link add "${LAB}v$i" type veth peer name "${LAB}s$i" || return 1
        ip link set "${LAB}v$i" netns "$h" name eth0
        ip link set "${LAB}s$i" netns "$sw" name "sw$i"
        ip -n "$sw" link set "sw$i" master br0 up
        ip -n "$h" addr add "$(lab_host_ip "$i")/24" dev eth0
        ip -n "$h" link set lo up
        ip -n "$h" link set eth0 up
        ip -n "$h" route add 224.0.0.0/4 dev eth0
        if [ "$data" = data ]; then
            ip link add "${LAB}d$i" type veth peer name "${LAB}e$i" || return 1
            ip link set "${LAB}d$i" netns "$h" name eth1
            ip link set "${LAB}e$i" netns "$sw" name "sw${i}d"
            ip -n "$sw" link set "sw${i}d" master br1 up
            ip -n "$h" link set eth1 up
        fi
    done
    ip netns exec "$sw" nft -f - <<'NFT' || return 1
table bridge gale {
    chain forward {
        type filter hook forward priority 0; policy accept;
    }
}
NFT
    # Wait for the links (veth carrier) so the first frames are not lost.
    for ((i = 0; i < n; i++)); do
        local k
        for k in $(seq 50); do
            ip -n "$(lab_host "$i")" link show eth0 | grep -q 'state UP' && break
            sleep 0.1
        done
    done
    return 0
}

lab_loss() {
    local pct=$1 sw="${LAB}-sw"
    ip netns exec "$sw" nft flush chain bridge gale forward || return 1
    if [ "$pct" -gt 0 ]; then
        ip netns exec "$sw" nft add rule bridge gale forward numgen random mod 100 \< "$pct" \
            counter drop || return 1
    fi
}

# Frames the loss rule dropped so far.
lab_dropped() {
    ip netns exec "${LAB}-sw" nft list chain bridge gale forward 2>/dev/null |
        awk '/counter/ {for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1)}'
}

lab_cut() {
    ip -n "${LAB}-sw" link set "sw$1" down
    ip -n "${LAB}-sw" link show "sw$1d" >/dev/null 2>&1 && ip -n "${LAB}-sw" link set "sw$1d" down
    return 0
}
lab_heal() {
    ip -n "${LAB}-sw" link set "sw$1" up
    ip -n "${LAB}-sw" link show "sw$1d" >/dev/null 2>&1 && ip -n "${LAB}-sw" link set "sw$1d" up
    return 0
}
