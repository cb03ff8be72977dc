/**
 * IPv4 SSDP responder transport. node-ssdp (the chosen library) provides the sockets: one per
 * served interface, bound to 0.0.0.0:1900 with SO_REUSEADDR, each joined to 239.255.255.250
 * on its interface. Its own answering and advertising code is **not** used, because:
 * - its Server answers a search from every interface socket, each with that interface's
 *   LOCATION, so a LAN client would also be told the WAN-side address (and its `_send`
 *   cannot target one interface);
 * - all its sockets are bound to the wildcard address, so it cannot tell which interface a
 *   search arrived on (Node has no IP_PKTINFO): we infer it from the sender's subnet;
 * - its advertisements carry no BOOTID/CONFIGID tied to our description and its ad loop
 *   cannot be stopped per interface; a failing `addMembership` throws from an event handler.
 * So, as the client-side `ssdp-ipv4-transport.ts` does, we take node-ssdp's sockets
 * (`_createSockets`, `start`), make membership failures non-fatal, replace its message
 * handler with ours, and send with the socket of the right interface.
 * Like node-ssdp itself it skips loopback interfaces.
 *
 * @example
 * ```ts
 * const t = new Ipv4SsdpResponderTransport({ interfaces: ['br-lan'] });
 * t.onDatagram((d) => console.log(d.remoteAddress, d.interfaceName)); // '192.168.1.20' 'br-lan'
 * await t.start();
 * ```
 */
import { guardNodeSsdpSocket } from '../node-ssdp-socket-guard';
import type { Socket } from 'node:dgram';
import { Client } from 'node-ssdp';
import { InterfaceTableSource, interfaceOfIpv4Neighbour, ipv4SearchInterfaces, systemInterfaceTable } from '../network-interfaces';
import { SSDP_IPV4_GROUP, SSDP_PORT } from '../ssdp-message';
import { DatagramListeners, SsdpDatagramListener } from '../ssdp-transport';
import { UpnpNetworkError } from '../upnp-errors';
import { SsdpCopyFilter } from './ssdp-copy-filter';
import { SsdpResponderTransport } from './ssdp-responder-transport';

export interface Ipv4SsdpResponderTransportOptions {
  /** Interfaces to serve (names). */
  interfaces: readonly string[];
  interfaceTable?: InterfaceTableSource;
  /** Listening port (default 1900). */
  ssdpPort?: number;
  /** Group (default 239.255.255.250). */
  group?: string;
  /** Multicast TTL (default 2). */
  ttl?: number;
  onError?: (err: Error) => void;
}


export class Ipv4SsdpResponderTransport implements SsdpResponderTransport {
  readonly family = 'ipv4' as const;
  private readonly listeners = new DatagramListeners();
  private client: Client | undefined;
  /** Interface name -> its socket and address. */
  private readonly byInterface = new Map<string, { socket: Socket; address: string }>();
  /** Every socket bound to *:1900 receives every group datagram: drop the copies, keep real retries. */
  private readonly copies = new SsdpCopyFilter();

  constructor(private readonly options: Ipv4SsdpResponderTransportOptions) {
    if (options.interfaces.length === 0) throw new RangeError('interfaces must name at least one interface');
  }

  onDatagram(listener: SsdpDatagramListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<void> {
    if (this.client) return;
    const table = (this.options.interfaceTable ?? systemInterfaceTable)();
    const chosen = ipv4SearchInterfaces(table, this.options.interfaces).filter((c) => !(table[c.name] ?? []).some((i) => i.internal));
    if (chosen.length === 0) throw new UpnpNetworkError(`No IPv4 address on ${this.options.interfaces.join(', ')} (loopback is not served)`);
    const port = this.options.ssdpPort ?? SSDP_PORT;
    const client = new Client({
      interfaces: chosen.map((c) => c.name),
      reuseAddr: true,
      sourcePort: port,
      ssdpIp: this.options.group ?? SSDP_IPV4_GROUP,
      ssdpPort: port,
      ssdpTtl: this.options.ttl ?? 2,
      customLogger: () => undefined,
    });
    try {
      client._createSockets();
    } catch (cause) {
      throw new UpnpNetworkError(`node-ssdp could not create IPv4 sockets: ${String((cause as Error)?.message ?? cause)}`, { cause });
    }
    for (const socket of Object.values(client.sockets ?? {})) guardNodeSsdpSocket(socket, { joinGroup: true, report: (e) => this.report(e) });
    try {
      await client.start();
    } catch (cause) {
      try { client.stop(); } catch { /* already down */ }
      throw new UpnpNetworkError(`IPv4 SSDP responder sockets failed to bind port ${port}: ${String((cause as Error)?.message ?? cause)}`, { cause });
    }
    this.client = client;
    for (const [address, socket] of Object.entries(client.sockets ?? {})) {
      const iface = chosen.find((c) => c.address === address);
      if (!iface) continue;
      try {
        socket.setMulticastInterface(address);
      } catch (e) {
        this.report(e);
      }
      this.byInterface.set(iface.name, { socket, address });
      socket.removeAllListeners('message'); // node-ssdp's own parser/answerer stays out
      socket.on('message', (data: Buffer, rinfo) => this.receive(data, rinfo.address, rinfo.port, iface.name));
    }
  }

  private receive(data: Buffer, address: string, port: number, socketName: string): void {
    if (this.copies.isCopy(`${address}:${port}:${data.toString('latin1')}`, socketName, Date.now())) return;
    const interfaceName = interfaceOfIpv4Neighbour((this.options.interfaceTable ?? systemInterfaceTable)(), address);
    this.listeners.emit({
      data, remoteAddress: address, remotePort: port, family: 'ipv4', via: 'search', ...(interfaceName ? { interfaceName } : {}),
    });
  }

  reply(data: Buffer, address: string, port: number, interfaceName?: string): Promise<void> {
    const entry = (interfaceName ? this.byInterface.get(interfaceName) : undefined) ?? this.byInterface.values().next().value;
    if (!entry) return Promise.reject(new UpnpNetworkError('IPv4 SSDP responder transport is not started'));
    return this.sendOn(entry.socket, data, port, address);
  }

  async announce(make: (group: string) => Buffer, interfaceName: string): Promise<void> {
    const entry = this.byInterface.get(interfaceName);
    if (!entry) throw new UpnpNetworkError(`IPv4 SSDP responder transport does not serve ${interfaceName}`);
    const group = this.options.group ?? SSDP_IPV4_GROUP;
    await this.sendOn(entry.socket, make(group), this.options.ssdpPort ?? SSDP_PORT, group);
  }

  async close(): Promise<void> {
    try {
      this.client?.stop();
    } catch (e) {
      this.report(e);
    }
    this.client = undefined;
    this.byInterface.clear();
    this.listeners.clear();
  }

  private sendOn(socket: Socket, data: Buffer, port: number, address: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(data, port, address, (err) => (err ? reject(err) : resolve()));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private report(e: unknown): void {
    try {
      this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
    } catch {
      /* ignore */
    }
  }
}
