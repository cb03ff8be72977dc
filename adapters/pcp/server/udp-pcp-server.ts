/**
 * The PCP / NAT-PMP server's UDP sockets: one per LAN address (Node's dgram
 * cannot tell which local address a datagram came to, so binding each LAN
 * address is how the server answers from the address it was asked on, and
 * never listens on the WAN). Each datagram goes to `onDatagram`; its answer
 * goes back from the same socket (source port 5351) to the client's port.
 * `refresh()` follows address changes: new LAN addresses get a socket, gone
 * ones lose theirs. `announce()` sends an unsolicited message to the
 * all-hosts groups on port 5350 (PCP ANNOUNCE, NAT-PMP public address).
 *
 * @example
 * ```ts
 * const server = new UdpPcpServer({ addresses: () => [{ address: '192.168.77.1' }], port: 5351,
 *   onDatagram: (data, from) => listener.handle(data, from) });
 * await server.refresh();
 * server.boundAddresses(); // ['192.168.77.1']
 * ```
 */
import { createSocket, Socket } from 'node:dgram';
import { familyOf } from '../../../policies/model/address';
import { PCP_ANNOUNCE_GROUP_IPV4, PCP_ANNOUNCE_GROUP_IPV6, PCP_CLIENT_PORT } from '../pcp-message';

/** A LAN address to listen on; `zone` (the interface) for IPv6 link-local. */
export interface LanAddress {
  readonly address: string;
  readonly zone?: string;
}

export interface UdpPcpServerOptions {
  /** The LAN addresses now (called on every refresh). */
  readonly addresses: () => readonly LanAddress[];
  readonly port: number;
  /** The answer to a datagram (undefined: none). `from` is the source address without zone. */
  readonly onDatagram: (data: Buffer, from: string) => Promise<Buffer | undefined>;
  readonly onError?: (error: Error, address: string) => void;
}

function keyOf(a: LanAddress): string {
  return a.zone ? `${a.address}%${a.zone}` : a.address;
}

export class UdpPcpServer {
  private readonly sockets = new Map<string, { socket: Socket; lan: LanAddress }>();
  private closed = false;

  constructor(private readonly options: UdpPcpServerOptions) {}

  /** The addresses with a socket now. */
  boundAddresses(): string[] {
    return [...this.sockets.keys()];
  }

  /** Binds new LAN addresses, closes gone ones; resolves with the errors of addresses that could not be bound. */
  async refresh(): Promise<Error[]> {
    if (this.closed) return [];
    const wanted = new Map(this.options.addresses().map((a) => [keyOf(a), a] as const));
    for (const [key, entry] of [...this.sockets]) {
      if (!wanted.has(key)) {
        this.sockets.delete(key);
        entry.socket.close();
      }
    }
    const errors: Error[] = [];
    for (const [key, lan] of wanted) {
      if (this.sockets.has(key)) continue;
      try {
        this.sockets.set(key, { socket: await this.bind(lan, key), lan });
      } catch (error) {
        errors.push(new Error(`cannot listen for PCP on ${key}:${this.options.port}: ${(error as Error).message}`));
      }
    }
    return errors;
  }

  private bind(lan: LanAddress, key: string): Promise<Socket> {
    const socket = createSocket({ type: familyOf(lan.address) === 'ipv4' ? 'udp4' : 'udp6', reuseAddr: false });
    socket.on('message', (data, rinfo) => {
      const from = rinfo.address.split('%')[0] ?? rinfo.address;
      this.options
        .onDatagram(data, from)
        .then((answer) => {
          if (answer && !this.closed) socket.send(answer, rinfo.port, rinfo.address);
        })
        .catch((error: unknown) => this.options.onError?.(error as Error, key));
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: this.options.port, address: key, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (error) => this.options.onError?.(error, key));
        resolve(socket);
      });
    });
  }

  /**
   * Sends `ipv4`'s bytes to 224.0.0.1:5350 from every IPv4 socket and `ipv6`'s to
   * ff02::1:5350 from every IPv6 link-local socket (RFC 6887 14.1.3, RFC 6886 3.2.1).
   */
  announce(messages: { readonly ipv4?: Buffer; readonly ipv6?: Buffer }, port = PCP_CLIENT_PORT): number {
    let sent = 0;
    for (const [key, { socket, lan }] of this.sockets) {
      const v4 = familyOf(lan.address) === 'ipv4';
      const bytes = v4 ? messages.ipv4 : messages.ipv6;
      if (!bytes || (!v4 && !lan.zone)) continue;
      const group = v4 ? PCP_ANNOUNCE_GROUP_IPV4 : `${PCP_ANNOUNCE_GROUP_IPV6}%${lan.zone}`;
      socket.send(bytes, port, group, (error) => {
        if (error) this.options.onError?.(error, key);
      });
      sent++;
    }
    return sent;
  }

  close(): Promise<void> {
    this.closed = true;
    const all = [...this.sockets.values()];
    this.sockets.clear();
    return Promise.all(all.map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve())))).then(() => undefined);
  }
}
