#!/usr/bin/env bash
# Performance between lab hosts: a lab of 2 hosts (tests/lab/netlab.sh, with
# a data NIC each), then tools/perf-median.py over gale-perf with its
# --baseline (the same messages as plain kernel UDP datagrams between the
# same hosts, in the same invocation), 64 B, one sender, FIFO by default.
#
# usage: tools/lab/perf.sh BUILD [--pmd af_xdp|af_packet|udp] [--loss PCT]
#                               [--runs N] [-- GALE-PERF-ARGS...]
# e.g.   tools/lab/perf.sh build --pmd af_xdp --loss 5 --runs 5
# Prints every run and the medians; the lab is removed at the end.
set -u
build=${1:?usage: tools/lab/perf.sh BUILD [--pmd af_xdp|af_packet|udp] [--loss PCT] [--runs N]}
shift
pmd=af_xdp loss=0 runs=5 extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --pmd) pmd=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument '$1'"; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../tests/lab/netlab.sh
. "$root/tests/lab/netlab.sh"
case $pmd in
udp) drv=(--driver udp) ;;
af_xdp | af_packet)
    drv=(--driver dpdk --eal "--no-huge -m 128 --no-pci --no-shconf -l %c --vdev net_${pmd}0,iface=eth1") ;;
*) echo "--pmd '$pmd' is invalid: valid: af_xdp, af_packet, udp"; exit 2 ;;
esac
lab_up 2 data || exit 1
lab_loss "$loss" || exit 1
echo "lab: 2 hosts, $pmd, ${loss} % loss on the bridge"
python3 "$root/tools/perf-median.py" --runs "$runs" --perf "$build/bench/gale-perf" -- \
    "${drv[@]}" --members 2 --senders 1 --size 64 --mode fifo --duration 3 --baseline \
    --host "$(lab_host 0)@$(lab_host_ip 0)" --host "$(lab_host 1)@$(lab_host_ip 1)" "${extra[@]}"
rc=$?
echo "bridge: $(lab_dropped) frames dropped by the loss rule"
exit $rc
