#!/usr/bin/env python3
"""Bad-frame injection for the lab (tests/lab/lab.sh udp-bad-input).

Crafts Gale datagram frames that must be refused (dataplane/wire.h) and
sends them from a raw socket, for a while, at a modest pace: for the udp
driver, IPv4 and UDP headers written here, to each member's data port; with
--l2 IFACE (the dpdk driver), Ethernet frames to the group's MAC with Gale's
ether type, which every member receives. Kinds and the drop reason each
must be counted under (GALE-DGRAM-STATS "drops by reason"):

  version    a valid frame of wire version 2          -> version
  group      a valid frame for another group          -> group
  epoch      a valid heartbeat of epoch 1000          -> epoch
  sender     a valid heartbeat from member 77         -> sender
  truncated  the first 30 bytes of a frame            -> truncated
  checksum   a valid frame with one body byte flipped -> checksum
  magic      random bytes                             -> magic

usage: inject.py --group NAME --members N --seconds S --out FILE IP:PORT...
       inject.py --group NAME --members N --seconds S --out FILE --l2 IFACE
       inject.py --verify FILE STDERR_LOG
The second form checks, from the members' GALE-DGRAM-STATS lines, that
every member counted each kind under its reason: all of them over UDP (the
kernel queues every datagram to the socket); with --l2, at least half and
never more than were sent, since a DPDK PMD's receive ring (af_xdp on veth)
drops frames it has no room for before Gale sees them, bad and good alike
(good ones are repaired). Exit 0 on success, 1 otherwise.
"""
import argparse
import ctypes
import json
import os
import random
import re
import socket
import struct
import sys
import time

MAGIC = 0x574C4147
VERSION = 1
HEARTBEAT = 5
KINDS = {
    "version": "version",
    "group": "group",
    "epoch": "epoch",
    "sender": "sender",
    "truncated": "truncated",
    "checksum": "checksum",
    "magic": "magic",
}


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


_xxh = ctypes.CDLL("libxxhash.so.0")
_xxh.XXH3_64bits.restype = ctypes.c_uint64
_xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def frame(group_hash, ftype, epoch, sender, seq, body, version=VERSION):
    """A frame with a correct checksum (XXH3-64 of header bytes 0..39 and the body)."""
    hdr = struct.pack("<IBBHQQIIQ", MAGIC, version, ftype, 0, group_hash, epoch, sender,
                      len(body), seq)
    data = hdr + body
    s = _xxh.XXH3_64bits(data, len(data))
    return hdr + struct.pack("<Q", s) + body


def heartbeat(group_hash, sender, epoch=1, version=VERSION):
    body = struct.pack("<QQ", 12345, 0)
    return frame(group_hash, HEARTBEAT, epoch, sender, 1, body, version)


def craft(kind, group_hash, sender):
    """A bad frame of this kind, as if from member `sender` (not the target)."""
    if kind == "version":
        return heartbeat(group_hash, sender, version=2)
    if kind == "group":
        return heartbeat(group_hash ^ 0x5A5A, sender)
    if kind == "epoch":
        return heartbeat(group_hash, sender, epoch=1000)
    if kind == "sender":
        return heartbeat(group_hash, 77)
    if kind == "truncated":
        return heartbeat(group_hash, sender)[:30]
    if kind == "checksum":
        f = bytearray(heartbeat(group_hash, sender))
        f[-1] ^= 0x01
        return bytes(f)
    if kind == "magic":
        return bytes([0xEE]) + os.urandom(60)
    raise ValueError(kind)


def checksum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_udp(src, dst, sport, dport, payload):
    """IPv4 + UDP headers by hand (the raw socket sends them as they are)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.randrange(65536), 0, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum16(ip)) + ip[12:]
    return ip + udp


def local_ip(dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, 9))
    ip = s.getsockname()[0]
    s.close()
    return ip


def inject_l2(args, gh):
    """Ethernet frames to the group MAC (drivers/dpdk/dpdk.c), from IFACE."""
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((args.l2, 0))
    src = bytes.fromhex(open(f"/sys/class/net/{args.l2}/address").read().strip().replace(":", ""))
    dst = bytes([0x03, 0x47]) + struct.pack(">I", gh & 0xFFFFFFFF)
    names = [f"member-{i}" for i in range(args.members)]
    sent = {n: {k: 0 for k in KINDS} for n in names}
    total, claim = 0, 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        # Every member receives every frame. A frame claiming to come from the
        # member that receives it is refused as to its sender there: so the
        # claimed sender turns, and each member's expected counts follow it.
        claim = (claim + 1) % args.members
        for kind in KINDS:
            raw.send(dst + src + struct.pack("!H", 0x88B5) + craft(kind, gh, claim))
            total += 1
            for i, n in enumerate(names):
                own = kind in ("epoch",) and i == claim
                sent[n]["sender" if own else kind] += 1
        time.sleep(0.005)
    json.dump({"targets": names, "sent": sent, "l2": True}, open(args.out, "w"))
    print(f"inject: {total} bad Ethernet frames sent to the group MAC {dst.hex(':')} "
          f"from {args.l2}")
    return 0


def inject(args):
    gh = fnv1a64(args.group.encode())
    if args.l2:
        return inject_l2(args, gh)
    targets = []
    for t in args.targets:
        ip, port = t.rsplit(":", 1)
        targets.append((ip, int(port)))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    src = local_ip(targets[0][0])
    sent = {f"{ip}:{port}": {k: 0 for k in KINDS} for ip, port in targets}
    # Targets are members 0..N-1 in order; each frame claims to come from the next one.
    time.sleep(args.delay)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        for i, (ip, port) in enumerate(targets):
            for kind in KINDS:
                frm = (i + 1) % max(args.members, 2)
                raw.sendto(ip_udp(src, ip, 40000, port, craft(kind, gh, frm)), (ip, 0))
                sent[f"{ip}:{port}"][kind] += 1
        time.sleep(0.01)
    json.dump({"targets": [f"{ip}:{port}" for ip, port in targets], "sent": sent},
              open(args.out, "w"))
    total = sum(sum(v.values()) for v in sent.values())
    print(f"inject: {total} bad frames sent to {len(targets)} members from {src}")
    return 0


def verify(path, log):
    info = json.load(open(path))
    # member i is the i-th target (gale-perf gives member i port + 2 i).
    stats = {}
    for line in open(log, errors="replace"):
        m = re.search(r"GALE-DGRAM-STATS: member (\d+): .*drops by reason:(.*)$", line)
        if m:
            stats[int(m.group(1))] = dict(
                (k, int(v)) for k, v in re.findall(r"(\S+)=(\d+)", m.group(2)))
    ok = True
    for i, t in enumerate(info["targets"]):
        got = stats.get(i)
        if got is None:
            print(f"inject: member {i} printed no GALE-DGRAM-STATS line")
            ok = False
            continue
        l2 = info.get("l2", False)
        for kind, reason in KINDS.items():
            want = info["sent"][t][kind]
            have = got.get(reason, 0)
            # (epoch frames may also land under 'sender': see inject_l2)
            if have < want and not (l2 and 2 * have >= want):
                print(f"inject: member {i}: {want} '{kind}' frames sent, {have} counted "
                      f"as '{reason}'")
                ok = False
            if l2 and have > want and reason not in ("sender", "epoch"):
                print(f"inject: member {i}: {have} counted as '{reason}', more than the "
                      f"{want} sent")
                ok = False
        print(f"inject: member {i}: " + ", ".join(
            f"{k} {info['sent'][t][k]} sent / {got.get(r, 0)} counted"
            for k, r in KINDS.items()) + (" (some lost in the PMD's ring)" if l2 and any(
                got.get(r, 0) < info["sent"][t][k] for k, r in KINDS.items()) else ""))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group")
    ap.add_argument("--members", type=int)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--out")
    ap.add_argument("--verify", nargs=2, metavar=("FILE", "LOG"))
    ap.add_argument("--l2", metavar="IFACE")
    ap.add_argument("targets", nargs="*")
    args = ap.parse_args()
    if args.verify:
        return verify(*args.verify)
    if not (args.group and args.out and (args.targets or args.l2)):
        ap.error("--group, --out and targets (or --l2) are needed")
    return inject(args)


if __name__ == "__main__":
    sys.exit(main())
