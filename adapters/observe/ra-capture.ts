import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Observable } from 'rxjs';

/** One ICMPv6 router advertisement as it arrived. */
export interface CapturedRa {
  /** Source address (link-local for a valid RA), zone removed. */
  readonly from: string;
  /** IPv6 hop limit it arrived with (255 for a valid RA, RFC 4861 §6.1.2). */
  readonly hopLimit: number;
  /** The ICMPv6 message from its type byte. */
  readonly message: Uint8Array;
  /** Milliseconds since the epoch when the helper got it. */
  readonly at: number;
}

/**
 * The capture helper: Node has no raw sockets, and RAs (with PREF64, which
 * neither `ip monitor`, `rdisc6` nor tcpdump decode) only arrive on a raw
 * ICMPv6 socket. Python's standard library opens one (CAP_NET_RAW), filters
 * ICMPv6 type 134 in the kernel (ICMP6_FILTER), sends one router
 * solicitation so routers answer at once, and prints one line per RA:
 * `<unix ms> <source> <hop limit> <hex>`. All decoding is done in TypeScript.
 */
export const RA_CAPTURE_SCRIPT = String.raw`
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
`;

/** Parses one helper line; `undefined` for anything else (e.g. `ready`). */
export function parseCaptureLine(line: string): CapturedRa | undefined {
  const m = /^(\d+) ([0-9a-fA-F:.]+) (-?\d+) ((?:[0-9a-f]{2})+)$/.exec(line.trim());
  if (!m) return undefined;
  return { at: Number(m[1]), from: m[2].toLowerCase(), hopLimit: Number(m[3]), message: Uint8Array.from(Buffer.from(m[4], 'hex')) };
}

export interface CaptureRasOptions {
  /** Only RAs arriving on this interface (SO_BINDTODEVICE); default: all. */
  readonly interfaceName?: string;
  /** The Python 3 interpreter (default `/usr/bin/python3`, Debian's, then `python3`). */
  readonly python?: string;
}

/**
 * Router advertisements arriving on this host, from a raw ICMPv6 socket
 * (needs CAP_NET_RAW). Errors when the helper cannot start or dies.
 *
 * @example
 * ```ts
 * captureRouterAdvertisements({ interfaceName: 'eth0' }).subscribe((ra) => console.log(ra.from, ra.message.length));
 * ```
 */
export function captureRouterAdvertisements(options: CaptureRasOptions = {}): Observable<CapturedRa> {
  return new Observable<CapturedRa>((subscriber) => {
    const python = options.python ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
    const child = spawn(python, ['-c', RA_CAPTURE_SCRIPT, options.interfaceName ?? ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stopping = false;
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    child.on('error', (error) => subscriber.error(new Error(`cannot start the RA capture helper (${python}): ${error.message}`)));
    child.on('close', (code) => {
      if (!stopping) subscriber.error(new Error(`the RA capture helper exited (${code}): ${stderr.trim()}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const ra = parseCaptureLine(line);
      if (ra) subscriber.next(ra);
    });
    return () => {
      stopping = true;
      child.kill();
    };
  });
}
