"""RA capture helper (homenet-controller, adapters/observe/ra-capture.ts).

Node has no raw sockets, and router advertisements (with PREF64, which neither
`ip monitor`, `rdisc6` nor tcpdump decode) only arrive on a raw ICMPv6 socket.
This opens one (CAP_NET_RAW), filters ICMPv6 type 134 in the kernel
(ICMP6_FILTER), sends one router solicitation so routers answer at once, and
prints `ready`, then one line per RA: `<unix ms> <source> <hop limit> <hex>`.
All decoding is done in TypeScript.

usage: ra_capture.py [INTERFACE]
"""
import socket, struct, sys, time
iface = sys.argv[1] if len(sys.argv) > 1 else ''
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
if iface:
    s.setsockopt(socket.SOL_SOCKET, 25, iface.encode())
blocked = [0xffffffff] * 8
blocked[134 >> 5] &= ~(1 << (134 & 31))
s.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack('8I', *blocked))
s.setsockopt(socket.IPPROTO_IPV6, 51, 1)
print('ready', flush=True)
# Ask the routers for an RA now (router solicitation to ff02::2) instead of waiting for the next periodic one.
try:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    if iface:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(iface))
    s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ('ff02::2', 0, 0, socket.if_nametoindex(iface) if iface else 0))
except OSError:
    pass
while True:
    data, anc, flags, addr = s.recvmsg(65535, socket.CMSG_SPACE(4))
    hop = -1
    for level, kind, value in anc:
        if level == socket.IPPROTO_IPV6 and kind == 52 and len(value) >= 4:
            hop = struct.unpack('i', value[:4])[0]
    if len(data) > 0 and data[0] == 134:
        print('%d %s %d %s' % (int(time.time() * 1000), addr[0].split('%')[0], hop, data.hex()), flush=True)
