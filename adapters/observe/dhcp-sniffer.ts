import { Observable } from 'rxjs';
import { isIpv4Literal } from '../../policies/model/address';
import { HelperRestart, runHelper } from './helper-runner';
import type { DhcpSeen } from './ipv6-mostly-detector';

/**
 * Parses one line of the DHCP sniffer (`helpers/dhcp_sniff.py`:
 * `<source IPv4> <UDP payload hex> <Ethernet source> <in|out>`, or the first
 * two fields alone); `undefined` for anything else (e.g. `ready`).
 *
 * @example
 * ```ts
 * parseSniffLine('192.168.1.1 0201... 02:00:00:00:00:01 out'); // { from: '192.168.1.1', bytes, sourceMac: '02:00:00:00:00:01', outgoing: true }
 * ```
 */
export function parseSniffLine(line: string): DhcpSeen | undefined {
  const parts = line.trim().split(' ');
  if (parts.length !== 2 && parts.length !== 4) return undefined;
  const [from, hex, mac, direction] = parts;
  if (!isIpv4Literal(from) || !/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  const bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (parts.length === 2) return { from, bytes };
  if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/.test(mac) || (direction !== 'in' && direction !== 'out')) return undefined;
  return { from, bytes, sourceMac: mac, outgoing: direction === 'out' };
}

export interface SniffDhcpOptions {
  /** Start the sniffer again when it dies (default: its exit is an error). */
  readonly restart?: HelperRestart;
}

/**
 * DHCPv4 packets on `interfaceName`, both directions, sniffed from a packet
 * socket (root) by `helpers/dhcp_sniff.py` through the helper runner: no UDP
 * port is bound, so it runs beside a DHCP server (a router's own), and it
 * dies with this process. Each packet carries its Ethernet source and whether
 * this host sent it, so the IPv6-mostly detector can tell the router's own
 * DHCP server from a LAN host forging it.
 *
 * @example
 * ```ts
 * sniffDhcp('lan0').subscribe(({ from, bytes }) => console.log(from, decodeDhcpMessage(bytes).type));
 * ```
 */
export function sniffDhcp(interfaceName: string, options: SniffDhcpOptions = {}): Observable<DhcpSeen> {
  return new Observable<DhcpSeen>((subscriber) =>
    runHelper({
      name: `DHCP sniffer on ${interfaceName}`,
      script: 'dhcp_sniff.py',
      args: [interfaceName],
      ...(options.restart !== undefined ? { restart: options.restart } : {}),
    }).subscribe({
      next: (line) => {
        const seen = parseSniffLine(line);
        if (seen) subscriber.next(seen);
      },
      error: (e) => subscriber.error(e),
    }),
  );
}
