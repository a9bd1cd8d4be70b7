#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# cpg.sh: run peer-cpg against a corosync daemon this script starts itself,
# touching nothing system-wide.
#
# usage: bench/peers/cpg.sh PEER_CPG [peer-cpg args...]
#   e.g. bench/peers/cpg.sh build/bench/peers/peer-cpg --members 3 --duration 1 --json
#
#   host (untouched)      unshare --net --mount --pid --fork (this script, again, as pid 1)
#   ----------------      -----------------------------------------------------------------
#                         network: lo only, 127.0.0.1
#                         mounts (private): tmpfs on /run /dev/shm /etc/corosync
#                                           /var/lib/corosync /var/log/corosync
#                         corosync -f -c /run/cpg-sh/corosync.conf   one node, knet on lo
#                            ^  libqb IPC (abstract sockets of this netns, rings in /dev/shm)
#                            v
#                         peer-cpg --daemon-pid PID ARGS: N members in one CPG group
#
# The daemon runs without realtime scheduling (sched_rr: no) and stays in its
# cgroup, as the gale-perf members do; it is stopped by its pid (SIGTERM,
# SIGKILL after 5 s) on every way out (end, failure, SIGINT/SIGTERM to the
# process group as Ctrl-C, timeout(1) and meson send), and as the pid
# namespace ends with this script nothing it started can outlive it.
# (unshare itself holds SIGINT/SIGTERM until the inside ends; SIGKILL to it
# sends SIGTERM inside, --kill-child.)
#
# exit: peer-cpg's status (0 ok, 1 failed or lost, 2 bad usage); 1 if corosync
# did not come up (its log is printed); 77 skipped (not root, a tool missing).
set -euo pipefail

skip() {
    echo "skipped: $*"
    exit 77
}

if [[ "${CPG_SH_INSIDE:-}" != 1 ]]; then
    if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
        echo "usage: $0 PEER_CPG [peer-cpg args...]" >&2
        exit 2
    fi
    [[ "$(id -u)" == 0 ]] || skip "cpg.sh needs root (private network and mount namespaces)"
    for tool in unshare corosync corosync-cpgtool ip mount; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
    done
    peer="$(readlink -f -- "$1")"
    [[ -x "$peer" && -f "$peer" ]] || {
        echo "cpg.sh: $1 is not an executable file" >&2
        exit 2
    }
    shift
    # --kill-child: if unshare is killed, its child (this script inside) gets
    # SIGTERM and stops the daemon.
    export CPG_SH_INSIDE=1
    exec unshare --net --mount --pid --fork --mount-proc --kill-child=TERM \
        bash "${BASH_SOURCE[0]}" "$peer" "$@"
fi

# ---- inside the namespaces ----
# Pid 1 of a new pid namespace, or not inside one of ours: refuse to mount anything.
[[ $$ == 1 ]] || {
    echo "cpg.sh: CPG_SH_INSIDE is set but this is not a fresh namespace; not mounting" >&2
    exit 1
}
peer="$1"
shift
unset CPG_SH_INSIDE NOTIFY_SOCKET # no sd_notify to a host systemd

mount -n --make-rprivate /
# /run first: /dev/shm may be a link into it on some hosts.
mount -n -t tmpfs -o mode=0755,size=64m cpg-sh-run /run
for dir in /dev/shm /etc/corosync /var/lib/corosync /var/log/corosync; do
    target="$(readlink -f -- "$dir" 2>/dev/null || true)"
    # A directory that does not exist on the host cannot be written there either;
    # only a target inside the fresh /run may be created.
    if [[ -n "$target" && ! -d "$target" && "$target" == /run/* ]]; then
        mkdir -p -- "$target"
    fi
    [[ -d "$dir" ]] || continue
    case "$dir" in
    /dev/shm) mount -n -t tmpfs -o mode=1777,size=1g cpg-sh-shm /dev/shm ;;
    *) mount -n -t tmpfs -o mode=0755,size=16m cpg-sh-etc "$dir" ;;
    esac
done
ip link set lo up

work=/run/cpg-sh
mkdir -p "$work/state"
log="$work/corosync.log"
conf="$work/corosync.conf"
cat >"$conf" <<EOF
# Written by bench/peers/cpg.sh: one node on loopback, for peer-cpg.
totem {
    version: 2
    cluster_name: gale-bench
    transport: ${CPG_TRANSPORT:-knet}
    crypto_cipher: none
    crypto_hash: none
}
nodelist {
    node {
        nodeid: 1
        name: node1
        ring0_addr: 127.0.0.1
    }
}
# No quorum provider: CPG needs none, and one node is the whole cluster.
logging {
    to_stderr: yes
    to_logfile: no
    to_syslog: no
    timestamp: on
}
system {
    state_dir: $work/state
    sched_rr: no
    move_to_root_cgroup: no
}
resources {
    watchdog_device: off
}
EOF

cpid=""
peer_pid=""
alive() {
    local st
    st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    st="${st##*) }"
    [[ "${st:0:1}" != Z ]]
}
stop_daemon() {
    [[ -n "$cpid" ]] || return 0
    kill -TERM "$cpid" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        alive "$cpid" || break
        sleep 0.1
    done
    if alive "$cpid"; then
        echo "cpg.sh: corosync (pid $cpid) ignored SIGTERM for 5 s: SIGKILL" >&2
        kill -KILL "$cpid" 2>/dev/null || true
    fi
    wait "$cpid" 2>/dev/null || true
    cpid=""
}
# peer-cpg kills its members on SIGTERM; whatever is left dies with this pid namespace.
stop_all() {
    if [[ -n "$peer_pid" ]]; then
        kill -TERM "$peer_pid" 2>/dev/null || true
        wait "$peer_pid" 2>/dev/null || true
        peer_pid=""
    fi
    stop_daemon
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

corosync -f -c "$conf" >"$log" 2>&1 &
cpid=$!
ready=0
for ((i = 0; i < 100; i++)); do
    alive "$cpid" || break
    if corosync-cpgtool >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
if [[ $ready != 1 ]]; then
    echo "cpg.sh: corosync did not serve CPG within 10 s; its log:" >&2
    cat "$log" >&2
    exit 1
fi

# In the background, so that a signal's trap runs at once (bash runs traps
# only after a foreground command ends; wait returns early).
"$peer" --daemon-pid "$cpid" "$@" &
peer_pid=$!
set +e
wait "$peer_pid"
rc=$?
set -e
peer_pid=""
if [[ $rc != 0 && $rc != 2 ]]; then
    echo "cpg.sh: peer-cpg exited with $rc; the end of corosync's log:" >&2
    tail -n 20 "$log" >&2
fi
stop_all
exit "$rc"
