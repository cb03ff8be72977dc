/**
 * IPv6 SSDP responder transport on `node:dgram` `udp6` (node-ssdp has no IPv6). One socket on
 * `[::]:1900` joins ff02::c and ff05::c on each served interface and receives searches; the
 * arrival interface is the zone of a link-local sender (how Linux reports it) or the
 * interface whose prefix holds the sender. Replies leave from that socket (link-local
 * destinations get their zone). Announcements leave from one socket per interface whose
 * outgoing multicast interface is set, to `ff02::c%IF` and `ff05::c`.
 *
 * @example
 * ```ts
 * const t = new Ipv6SsdpResponderTransport({ interfaces: ['br-lan'] });
 * t.onDatagram((d) => console.log(d.remoteAddress, d.interfaceName)); // 'fe80::10%br-lan' 'br-lan'
 * await t.start();
 * ```
 */
import dgram from 'node:dgram';
import { isLinkLocalIpv6, splitZone } from '../../../policies/model/address';
import { InterfaceTableSource, isOnLinkIpv6, systemInterfaceTable } from '../network-interfaces';
import { SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP, SSDP_PORT } from '../ssdp-message';
import { DatagramListeners, SsdpDatagramListener } from '../ssdp-transport';
import { UpnpNetworkError } from '../upnp-errors';
import { SsdpResponderTransport } from './ssdp-responder-transport';

export interface Ipv6SsdpResponderTransportOptions {
  /** Interfaces to serve (names). */
  interfaces: readonly string[];
  interfaceTable?: InterfaceTableSource;
  /** Listening port (default 1900; tests use another). */
  ssdpPort?: number;
  /** Groups to join and announce to (default ff02::c and ff05::c). */
  groups?: readonly string[];
  /** Multicast hop limit (default 2). */
  hopLimit?: number;
  onError?: (err: Error) => void;
}

export class Ipv6SsdpResponderTransport implements SsdpResponderTransport {
  readonly family = 'ipv6' as const;
  private readonly listeners = new DatagramListeners();
  private listener: dgram.Socket | undefined;
  private readonly senders = new Map<string, dgram.Socket>();

  constructor(private readonly options: Ipv6SsdpResponderTransportOptions) {
    if (options.interfaces.length === 0) throw new RangeError('interfaces must name at least one interface');
  }

  onDatagram(listener: SsdpDatagramListener): () => void {
    return this.listeners.add(listener);
  }

  private get groups(): readonly string[] {
    return this.options.groups ?? [SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP];
  }

  async start(): Promise<void> {
    if (this.listener) return;
    const port = this.options.ssdpPort ?? SSDP_PORT;
    const socket = await this.open(port);
    this.listener = socket;
    for (const name of this.options.interfaces) {
      for (const group of this.groups) {
        try {
          socket.addMembership(group, `::%${name}`);
        } catch (e) {
          this.report(e);
        }
      }
    }
    socket.on('message', (data: Buffer, rinfo) => {
      const interfaceName = this.interfaceOf(rinfo.address);
      this.listeners.emit({
        data, remoteAddress: rinfo.address, remotePort: rinfo.port, family: 'ipv6', via: 'search',
        ...(interfaceName ? { interfaceName } : {}),
      });
    });
    try {
      for (const name of this.options.interfaces) {
        const s = await this.open(0);
        try {
          s.setMulticastInterface(`::%${name}`);
          s.setMulticastTTL(this.options.hopLimit ?? 2);
        } catch (e) {
          this.report(e);
        }
        this.senders.set(name, s);
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private interfaceOf(address: string): string | undefined {
    const { address: bare, zone } = splitZone(address);
    if (zone && this.options.interfaces.includes(zone)) return zone;
    const table = (this.options.interfaceTable ?? systemInterfaceTable)();
    return this.options.interfaces.find((name) => isOnLinkIpv6(table, name, bare) && !isLinkLocalIpv6(bare));
  }

  reply(data: Buffer, address: string, port: number, interfaceName?: string): Promise<void> {
    const socket = this.listener;
    if (!socket) return Promise.reject(new UpnpNetworkError('IPv6 SSDP responder transport is not started'));
    const { address: bare, zone } = splitZone(address);
    const dest = isLinkLocalIpv6(bare) && !zone && interfaceName ? `${bare}%${interfaceName}` : address;
    return this.sendOn(socket, data, port, dest);
  }

  async announce(make: (group: string) => Buffer, interfaceName: string): Promise<void> {
    const socket = this.senders.get(interfaceName);
    if (!socket) throw new UpnpNetworkError(`IPv6 SSDP responder transport does not serve ${interfaceName}`);
    const port = this.options.ssdpPort ?? SSDP_PORT;
    await Promise.all(this.groups.map((group) => this.sendOn(socket, make(group), port,
      group.toLowerCase().startsWith('ff02:') ? `${group}%${interfaceName}` : group)));
  }

  async close(): Promise<void> {
    const all = [...(this.listener ? [this.listener] : []), ...this.senders.values()];
    this.listener = undefined;
    this.senders.clear();
    this.listeners.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    })));
  }

  private sendOn(socket: dgram.Socket, data: Buffer, port: number, address: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(data, port, address, (err) => (err ? reject(err) : resolve()));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private open(port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp6', reuseAddr: port !== 0, ipv6Only: true });
      const onError = (err: Error): void => {
        socket.close();
        reject(new UpnpNetworkError(`Cannot bind IPv6 SSDP responder socket on port ${port}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.bind({ port, address: '::' }, () => {
        socket.off('error', onError);
        socket.on('error', (e) => this.report(e));
        resolve(socket);
      });
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
