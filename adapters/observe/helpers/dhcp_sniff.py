"""DHCPv4 sniffer (homenet-controller, adapters/observe/dhcp-sniffer.ts).

Sees DHCPv4 on an interface in both directions without binding UDP 67/68
(where a router's own DHCP server listens): a packet socket (root), filtered
in the kernel. Prints `ready`, then one line per DHCP packet:
`<source IPv4> <UDP payload hex> <Ethernet source> <in|out>` (`out`: this
host sent it, e.g. the router's own DHCP server).

usage: dhcp_sniff.py INTERFACE
"""
import ctypes, socket, struct, sys
iface = sys.argv[1]
# ETH_P_ALL: protocol-bound packet sockets do not see outgoing frames (the server's offers).
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
# Classic BPF in the kernel: IPv4, UDP, first fragment, source or destination port 67 or 68.
code = [(0x28,0,0,12),(0x15,0,12,0x800),(0x30,0,0,23),(0x15,0,10,17),(0x28,0,0,20),(0x45,8,0,0x1fff),(0xb1,0,0,14),
        (0x48,0,0,14),(0x15,4,0,67),(0x15,3,0,68),(0x48,0,0,16),(0x15,1,0,67),(0x15,0,1,68),(0x06,0,0,0x40000),(0x06,0,0,0)]
try:
    prog = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *c) for c in code))
    s.setsockopt(socket.SOL_SOCKET, 26, struct.pack('HL', len(code), ctypes.addressof(prog)))
except OSError:
    pass
s.bind((iface, 0))
print('ready', flush=True)
while True:
    frame, addr = s.recvfrom(65535)
    direction = 'out' if addr[2] == socket.PACKET_OUTGOING else 'in'
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b'\x08\x00':
        continue
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[0] >> 4 != 4 or ip[9] != 17 or len(ip) < ihl + 8:
        continue
    sport, dport = struct.unpack('!HH', ip[ihl:ihl + 4])
    if not ({sport, dport} & {67, 68}):
        continue
    print('%s %s %s %s' % (socket.inet_ntoa(ip[12:16]), ip[ihl + 8:].hex(), frame[6:12].hex(':'), direction), flush=True)
