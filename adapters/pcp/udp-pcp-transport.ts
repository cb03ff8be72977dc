/**
 * The real {@link PcpTransport}: a UDP socket bound to the requesting address
 * (so the router sees the source the PCP header names; a host with RFC 8981
 * temporary addresses would otherwise send from one of those and get
 * ADDRESS_MISMATCH), sending to the server's port 5351, plus, unless turned
 * off, a listener on port 5350 for the server's unsolicited announcements
 * (224.0.0.1 for IPv4, ff02::1 for IPv6), shared with other listeners on the
 * host (SO_REUSEADDR).
 *
 * @example
 * ```ts
 * const transport = await openUdpPcpTransport({ localAddress: '192.168.77.10', serverAddress: '192.168.77.1' });
 * const client = new PcpClient({ transport });
 * ```
 */
import { createSocket, Socket } from 'node:dgram';
import { canonicalAddress, familyOf, splitZone } from '../../policies/model/address';
import { bindUdpShared } from '../system/udp-bind';
import { PcpRequestError } from './pcp-errors';
import { PCP_ANNOUNCE_GROUP_IPV4, PCP_ANNOUNCE_GROUP_IPV6, PCP_CLIENT_PORT, PCP_SERVER_PORT } from './pcp-message';
import { PcpDatagramListener, PcpTransport } from './pcp-transport';

export interface UdpPcpTransportInit {
  /** This host's address to send from (canonicalised); must be one of its own. */
  readonly localAddress: string;
  /** The PCP server, usually the default router (same family as `localAddress`); a link-local one with its zone (`fe80::1%eth0`). */
  readonly serverAddress: string;
  /** Default 5351. */
  readonly serverPort?: number;
  /** Listen for unsolicited announcements (default true). */
  readonly announcements?: boolean;
  /** Default 5350. */
  readonly announcePort?: number;
  /** The interface for joining ff02::1 (IPv6), e.g. `eth0`; without it the kernel's default. */
  readonly interfaceName?: string;
  /**
   * Which groups to hear announcements on (default: the transport's own
   * family). An IPv6 client of a router that announces only over IPv4
   * (miniupnpd 2.3.1 does) adds `ipv4`, and names the router's IPv4 address in
   * the client's `serverAliases`: such an announcement makes the client check
   * the epoch over its own family.
   */
  readonly announceFamilies?: readonly ('ipv4' | 'ipv6')[];
}

class UdpPcpTransport implements PcpTransport {
  private readonly listeners = new Set<PcpDatagramListener>();
  private closed = false;

  constructor(
    readonly localAddress: string,
    readonly serverAddress: string,
    readonly serverPort: number,
    private readonly socket: Socket,
    private readonly announceSockets: readonly Socket[],
    /** Where datagrams go: the server address with its zone when it has one. */
    private readonly sendTo: string = serverAddress,
  ) {
    socket.on('message', (data, rinfo) => this.emit({ data, remoteAddress: rinfo.address, remotePort: rinfo.port, via: 'unicast' }));
    for (const a of announceSockets) a.on('message', (data, rinfo) => this.emit({ data, remoteAddress: rinfo.address, remotePort: rinfo.port, via: 'announce' }));
    // A socket error (e.g. ICMP unreachable surfacing) must not crash the process.
    socket.on('error', () => undefined);
    for (const a of announceSockets) a.on('error', () => undefined);
  }

  private emit(d: Parameters<PcpDatagramListener>[0]): void {
    for (const l of [...this.listeners]) {
      try {
        l(d);
      } catch {
        // a listener's bug must not stop the socket
      }
    }
  }

  send(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the PCP transport is closed'));
    return new Promise((resolve, reject) => this.socket.send(data, this.serverPort, this.sendTo, (error) => (error ? reject(error) : resolve())));
  }

  onDatagram(listener: PcpDatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await Promise.all([this.socket, ...this.announceSockets].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Opens the sockets. Rejects with a clear error when the local address is not
 * this host's (EADDRNOTAVAIL) or the families differ.
 */
export async function openUdpPcpTransport(init: UdpPcpTransportInit): Promise<PcpTransport> {
  const local = canonicalAddress(init.localAddress);
  const server = canonicalAddress(init.serverAddress);
  if (local === undefined) throw new PcpRequestError(`local address '${init.localAddress}' is not an IP address`);
  if (server === undefined) throw new PcpRequestError(`server address '${init.serverAddress}' is not an IP address`);
  const v6 = familyOf(local) === 'ipv6';
  const zone = v6 ? splitZone(init.serverAddress).zone : undefined;
  const interfaceName = init.interfaceName ?? zone;
  if (familyOf(local) !== familyOf(server)) throw new PcpRequestError(`local address ${local} and server ${server} are of different families`);
  const type = v6 ? 'udp6' : 'udp4';
  const socket = createSocket({ type, ipv6Only: v6 });
  try {
    await bindUdpShared(socket, 0, local);
  } catch (error) {
    socket.close();
    throw new PcpRequestError(`cannot send from ${local}: ${(error as Error).message} (is it one of this host's addresses?)`);
  }
  const announceSockets: Socket[] = [];
  const families = init.announcements === false ? [] : (init.announceFamilies ?? [v6 ? 'ipv6' : 'ipv4']);
  const port = init.announcePort ?? PCP_CLIENT_PORT;
  for (const family of new Set(families)) {
    const six = family === 'ipv6';
    const announce = createSocket({ type: six ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: six });
    announceSockets.push(announce);
    try {
      await bindUdpShared(announce, port, six ? '::' : '0.0.0.0');
    } catch (error) {
      for (const s of [socket, ...announceSockets]) s.close();
      throw new Error(`cannot listen for PCP announcements on ${family} port ${port}: ${(error as Error).message}`);
    }
    try {
      if (six) announce.addMembership(PCP_ANNOUNCE_GROUP_IPV6, interfaceName ? `::%${interfaceName}` : undefined);
      else announce.addMembership(PCP_ANNOUNCE_GROUP_IPV4, v6 ? undefined : local);
    } catch {
      // All-hosts groups are joined by the kernel on every interface; an
      // explicit join may fail (EADDRINUSE) and is then not needed.
    }
  }
  return new UdpPcpTransport(local, server, init.serverPort ?? PCP_SERVER_PORT, socket, announceSockets, zone ? `${server}%${zone}` : server);
}
