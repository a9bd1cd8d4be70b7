#!/usr/bin/env bash
# One case of the lab suite (DESIGN.md §7): Gale between separate hosts, each
# a network namespace on one bridge (the picture is in netlab.sh), with one
# galed per host running the membership over the lab network. gale-perf
# starts the members and their galeds in their hosts; the checker then reads
# every member's delivery log. The lab is created for the case and removed
# after it, also on failure.
#
# usage: lab.sh GALE_PERF GALE_CHECK GALED DRIVER-CASE
# DRIVER: udp (kernel UDP sockets), afpacket or afxdp (the dpdk driver over
# net_af_packet or net_af_xdp on each host's data NIC eth1; skipped, exit
# 77, where this build has no dpdk driver). CASE:
#   safe, fifo        4 hosts, 3 senders, 100,002 messages (33,334 each)
#   mcast             (udp) the same, SAFE, over an IP multicast group
#   loss5-safe, loss5-fifo, loss20-safe, loss20-fifo
#                     the same with 5 % or 20 % of the frames the bridge
#                     forwards dropped at random (nftables, bridge family):
#                     nothing may be lost or duplicated
#   cut               4 hosts, SAFE, 3 senders at 20,000 msgs/s each for 3 s;
#                     host 3's links go down after 1 s: the others exclude it
#                     and go on, it stops (minority)
#   bad-input         SAFE at 20,000 msgs/s for 5 s while a fifth host
#                     injects crafted bad frames from a raw socket
#                     (tools/lab/inject.py): udp, IPv4/UDP datagrams at each
#                     member's port; dpdk, Ethernet frames to the group MAC.
#                     Each must be dropped and counted by its reason.
set -u
perf=$1 check=$2 galed=$3 what=$4
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=netlab.sh
. "$here/netlab.sh"
[ "$(id -u)" = 0 ] || { echo "skipped: the lab needs root (network namespaces)"; exit 77; }

driver=${what%%-*} case=${what#*-}
hosts=4 mode=safe loss=0 extra=() traffic=(--count 33334) inject=0 data=
case $driver in
udp) drv=(--driver udp) ;;
afpacket | afxdp)
    "$perf" --drivers | grep -qx dpdk ||
        { echo "skipped: this build has no dpdk driver (DPDK was not found)"; exit 77; }
    pmd=net_af_packet0
    [ "$driver" = afxdp ] && pmd=net_af_xdp0
    # Each member: its own EAL (no shared files), its cpu, the host's data NIC;
    # every message of 48 bytes or more delivered in place from its mbuf
    # (copybreak 1 counts as 48, the smallest record a slot holds alone).
    drv=(--driver dpdk --rx-copybreak 1
        --eal "--no-huge -m 128 --no-pci --no-shconf -l %c --vdev $pmd,iface=eth1")
    data=data ;;
*) echo "unknown driver in '$what': valid: udp, afpacket, afxdp"; exit 2 ;;
esac
case $case in
safe) ;;
fifo) mode=fifo ;;
mcast) [ "$driver" = udp ] || { echo "mcast is for udp"; exit 2; }
    extra=(--mcast 239.255.0.1:46000) ;;
loss5-safe) loss=5 ;;
loss5-fifo) loss=5 mode=fifo ;;
loss20-safe) loss=20 ;;
loss20-fifo) loss=20 mode=fifo ;;
cut) traffic=(--duration 3 --rate 20000) extra=(--cut 3@1) ;;
bad-input) inject=1 hosts=5 traffic=(--duration 5 --rate 20000) ;;
*) echo "unknown case '$what'"; exit 2 ;;
esac
members=4
dir=$(mktemp -d /tmp/gale-lab.XXXXXX)
lab_up "$hosts" $data
rc=$?
[ $rc -eq 0 ] || { rm -rf "$dir"; exit $rc; }
trap 'lab_down; rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*"
    # What the control planes saw (suspicions, views), for a failure in CI.
    for g in "$dir"/galed-*.log; do
        [ -f "$g" ] && { echo "--- ${g##*/}"; grep -v "GALE-PIN" "$g" | tail -8; }
    done
    if [ -n "${GALE_LAB_KEEP:-}" ]; then
        mkdir -p "$GALE_LAB_KEEP" && cp -r "$dir" "$GALE_LAB_KEEP/" &&
            echo "logs kept in $GALE_LAB_KEEP/$(basename "$dir")"
    fi
    exit 1
}
lab_loss "$loss" || fail "cannot set the loss rule"
args=()
for ((i = 0; i < members; i++)); do
    args+=(--host "$(lab_host $i)@$(lab_host_ip $i)")
done
# A cut takes the host's links down at the switch (both, with a data NIC).
[ "$case" = cut ] && args+=(--cut-cmd "ip -n ${LAB}-sw link set sw%m down; ip -n ${LAB}-sw link set sw%md down 2>/dev/null; true")
port=$((30000 + ($$ % 200) * 128))
# Only the cut case needs the failure detector quick (the default 100 ms):
# elsewhere a member starved of the 2 cores for 100 ms (4 members, 4 galeds,
# a sanitizer) would be excluded for nothing, and the case is not about that.
hb=()
[ "$case" = cut ] || { hb=(--hb-timeout 1000); export GALE_FAIL_TIMEOUT_MS=2000; }
GALE_LOG_LEVEL=6 timeout 300 "$perf" "${drv[@]}" --members "$members" --senders 3 --mode "$mode" \
    "${traffic[@]}" "${args[@]}" "${extra[@]}" "${hb[@]}" --port "$port" --group "lab-$$" \
    --galed "$galed" --log-dir "$dir" --json >"$dir/out.json" 2>"$dir/err.txt" &
perf_pid=$!
if [ $inject = 1 ]; then
    # The attacker, host 4, starts once every member has joined (its log has
    # its first view): before, a frame would find no socket or port to take it.
    targets=()
    for ((i = 0; i < members; i++)); do
        targets+=("$(lab_host_ip $i):$((port + 2 * i))")
        for k in $(seq 300); do
            grep -qs '^V ' "$dir/member-$i.log" && break
            sleep 0.05
        done
    done
    where=("${targets[@]}")
    [ -n "$data" ] && where=(--l2 eth1)
    ip netns exec "$(lab_host 4)" python3 "$here/../../tools/lab/inject.py" \
        --group "lab-$$" --members "$members" --seconds 1 --out "$dir/inject.json" \
        "${where[@]}" || fail "the injector failed"
fi
wait $perf_pid
rc=$?
grep -v "GALE-PIN\|GALE-MINORITY\|GALE-VIEW-INSTALL\|GALE-SUSPECT" "$dir/err.txt" | tail -12
python3 - "$dir/out.json" "$loss" "$(lab_dropped)" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
vc = ", ".join(f"epoch {v['epoch']}: {v['ms']:.1f} ms" for v in d.get("view_changes", []))
print(f"{d['msgs']} messages, {d['msgs_per_s']:.0f} msgs/s; NAKs {d['naks']}, re-sent frames "
      f"{d['retrans']}, frames dropped by the members {d['dropped_frames']}, "
      f"messages received in place {d['in_place']}; "
      f"bridge loss {sys.argv[2]} %: {sys.argv[3] or 0} frames dropped"
      + (f"; view changes: {vc}" if vc else ""))
PY
[ $rc -eq 0 ] || fail "gale-perf exited $rc"
"$check" --mode "$mode" --expect-members "$members" "$dir" || fail "checker"
if [ -n "$data" ]; then
    python3 -c "import json,sys; sys.exit(json.load(open('$dir/out.json'))['in_place'] == 0)" ||
        fail "no message was delivered in place"
fi
if [ "$loss" -gt 0 ]; then
    [ "$(lab_dropped)" -gt 0 ] || fail "the bridge dropped nothing: no loss was injected"
    python3 -c "import json,sys; sys.exit(json.load(open('$dir/out.json'))['retrans'] == 0)" ||
        fail "frames were lost but none was re-sent"
fi
if [ $inject = 1 ]; then
    python3 "$here/../../tools/lab/inject.py" --verify "$dir/inject.json" "$dir/err.txt" ||
        fail "the members did not drop and count every bad frame"
fi
exit 0
