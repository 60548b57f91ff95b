#!/usr/bin/env python3
# A tiny lab observer for bench:failover, run inside a lab namespace
# (`ip netns exec <ns> python3 lab-watch.py MODE`). It prints one JSON line
# per event, stamped on arrival with time.monotonic_ns(): CLOCK_MONOTONIC,
# the clock of Node's process.hrtime.bigint(), so the stamps compare directly
# with the moment the benchmark killed a node (tcpdump stamps are wall clock).
#
#   arp IFNAME   every ARP frame on IFNAME (AF_PACKET, ETH_P_ARP):
#                {"t":"<ns>","src":"<eth source MAC>","op":1|2,"sha":..,"spa":..,"tha":..,"tpa":..}
#   addr         every IPv4/IPv6 address added to / deleted from an interface
#                of this namespace (rtnetlink RTMGRP_IPV4_IFADDR/IPV6_IFADDR):
#                {"t":"<ns>","ev":"add"|"del","addr":"10.99.0.100","prefix":24,"ifindex":2,"label":"eth0"}
#
# The first line is {"ready":"MODE"} once the socket is bound. "t" is a
# string (nanoseconds do not fit a double). Runs at nice -10 when root so its
# stamps do not wait for the nodes' work. SIGTERM/SIGINT: exit 0.

import json
import os
import signal
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
RTM_NEWADDR, RTM_DELADDR = 20, 21
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')
    sys.stdout.flush()


def mac(b):
    return ':'.join('%02x' % x for x in b)


def watch_arp(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    s.bind((ifname, ETH_P_ARP))
    out({'ready': 'arp'})
    while True:
        pkt = s.recv(2048)
        t = time.monotonic_ns()
        if len(pkt) < 42:
            continue
        # Ethernet (14) + ARP for Ethernet/IPv4: htype, ptype, hlen, plen, op, sha, spa, tha, tpa
        op = struct.unpack('!H', pkt[20:22])[0]
        out({
            't': str(t),
            'src': mac(pkt[6:12]),
            'op': op,
            'sha': mac(pkt[22:28]),
            'spa': socket.inet_ntoa(pkt[28:32]),
            'tha': mac(pkt[32:38]),
            'tpa': socket.inet_ntoa(pkt[38:42]),
        })


def watch_addr():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
    out({'ready': 'addr'})
    while True:
        data = s.recv(65536)
        t = time.monotonic_ns()
        off = 0
        while off + 16 <= len(data):
            length, mtype, _flags, _seq, _pid = struct.unpack_from('=IHHII', data, off)
            if length < 16:
                break
            if mtype in (RTM_NEWADDR, RTM_DELADDR):
                family, prefix, _f, _scope, index = struct.unpack_from('=BBBBI', data, off + 16)
                attrs = {}
                a = off + 16 + 8
                end = off + length
                while a + 4 <= end:
                    alen, atype = struct.unpack_from('=HH', data, a)
                    if alen < 4:
                        break
                    attrs[atype] = data[a + 4:a + alen]
                    a += (alen + 3) & ~3
                raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
                addr = None
                if raw is not None:
                    addr = socket.inet_ntop(socket.AF_INET if family == socket.AF_INET else socket.AF_INET6, raw)
                label = attrs.get(IFA_LABEL)
                out({
                    't': str(t),
                    'ev': 'add' if mtype == RTM_NEWADDR else 'del',
                    'addr': addr,
                    'prefix': prefix,
                    'ifindex': index,
                    'label': label.rstrip(b'\0').decode() if label else None,
                })
            off += (length + 3) & ~3


def main():
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(0))
    if os.geteuid() == 0:
        try:
            os.nice(-10)
        except OSError:
            pass
    mode = sys.argv[1] if len(sys.argv) > 1 else ''
    if mode == 'arp' and len(sys.argv) > 2:
        watch_arp(sys.argv[2])
    elif mode == 'addr':
        watch_addr()
    else:
        sys.stderr.write('usage: lab-watch.py arp IFNAME | addr\n')
        sys.exit(2)


if __name__ == '__main__':
    main()
