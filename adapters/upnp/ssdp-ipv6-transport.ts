/**
 * IPv6 SSDP transport on `node:dgram` `udp6` (node-ssdp cannot do IPv6). Per interface that
 * passes the gate (a non-ULA global IPv6 address: see `network-interfaces.ts`) it opens one
 * socket, sets its outgoing multicast interface, and sends each M-SEARCH to
 * `[ff02::c%IF]:1900` (link-local scope) and `[ff05::c]:1900` (site-local scope). Unicast
 * replies come back to the socket that sent, so each datagram is tagged with that interface.
 * With `listenForNotify`, one socket on port 1900 joins ff02::c and ff05::c on each
 * interface; the arrival interface of a NOTIFY is the zone of its link-local sender.
 *
 * @example
 * ```ts
 * const t = new Ipv6SsdpTransport({ interfaces: ['eth0'] });
 * t.onDatagram((d) => console.log(d.remoteAddress)); // 'fe80::1%eth0'
 * await t.start();
 * await t.search('urn:schemas-upnp-org:device:InternetGatewayDevice:2', 1);
 * await t.close();
 * ```
 */
import dgram from 'node:dgram';
import { splitZone } from '../../policies/model/address';
import { InterfaceTableSource, SearchInterface, ipv6SearchInterfaces, systemInterfaceTable } from './network-interfaces';
import { SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP, SSDP_PORT, formatMSearch } from './ssdp-message';
import { DatagramListeners, SsdpDatagramListener, SsdpTransport } from './ssdp-transport';
import { UpnpNetworkError } from './upnp-errors';

export interface Ipv6SsdpTransportOptions {
  /** Interface names; default: every non-internal interface with a non-ULA global IPv6 address. */
  interfaces?: readonly string[];
  interfaceTable?: InterfaceTableSource;
  /** Also listen on port 1900 for NOTIFY. Default false. */
  listenForNotify?: boolean;
  /** Groups to search; default ff02::c (with the interface zone) and ff05::c. Tests may give a unicast address. */
  destinations?: readonly string[];
  ssdpPort?: number;
  /** Multicast hop limit; default 2 (ff05::c must cross no router but a bridge). */
  hopLimit?: number;
  onError?: (err: Error) => void;
}

interface InterfaceSocket {
  iface: SearchInterface;
  socket: dgram.Socket;
}

export class Ipv6SsdpTransport implements SsdpTransport {
  readonly family = 'ipv6' as const;
  private readonly listeners = new DatagramListeners();
  private sockets: InterfaceSocket[] = [];
  private notifySocket: dgram.Socket | undefined;
  private started = false;

  constructor(private readonly options: Ipv6SsdpTransportOptions = {}) {}

  onDatagram(listener: SsdpDatagramListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<void> {
    if (this.started) return;
    const table = (this.options.interfaceTable ?? systemInterfaceTable)();
    const chosen = ipv6SearchInterfaces(table, this.options.interfaces);
    if (chosen.length === 0) {
      throw new UpnpNetworkError('No interface with a non-ULA global IPv6 address: IPv6 IGD search skipped');
    }
    this.started = true;
    try {
      for (const iface of chosen) {
        const socket = await this.openSocket(0);
        try {
          socket.setMulticastInterface(`::%${iface.name}`);
        } catch (e) {
          this.report(e);
        }
        try {
          socket.setMulticastTTL(this.options.hopLimit ?? 2);
        } catch (e) {
          this.report(e);
        }
        socket.on('message', (data: Buffer, rinfo) => this.listeners.emit({
          data, remoteAddress: rinfo.address, remotePort: rinfo.port, family: 'ipv6', interfaceName: iface.name, via: 'search',
        }));
        this.sockets.push({ iface, socket });
      }
      if (this.options.listenForNotify) {
        const socket = await this.openSocket(this.options.ssdpPort ?? SSDP_PORT);
        for (const iface of chosen) {
          for (const group of [SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP]) {
            try {
              socket.addMembership(group, `::%${iface.name}`);
            } catch (e) {
              this.report(e);
            }
          }
        }
        const names = new Set(chosen.map((c) => c.name));
        socket.on('message', (data: Buffer, rinfo) => {
          const zone = splitZone(rinfo.address).zone;
          this.listeners.emit({
            data, remoteAddress: rinfo.address, remotePort: rinfo.port, family: 'ipv6', via: 'notify',
            ...(zone && names.has(zone) ? { interfaceName: zone } : {}),
          });
        });
        this.notifySocket = socket;
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async search(searchTarget: string, mx: number): Promise<void> {
    if (!this.started) throw new UpnpNetworkError('IPv6 SSDP transport is not started');
    const port = this.options.ssdpPort ?? SSDP_PORT;
    const sends: Array<Promise<void>> = [];
    for (const { iface, socket } of this.sockets) {
      const destinations = this.options.destinations
        ?? [`${SSDP_IPV6_LINK_LOCAL_GROUP}%${iface.name}`, SSDP_IPV6_SITE_LOCAL_GROUP];
      for (const dest of destinations) {
        const group = splitZone(dest).address;
        const msg = formatMSearch({
          searchTarget, mx, family: 'ipv6',
          ipv6Group: group === SSDP_IPV6_SITE_LOCAL_GROUP ? SSDP_IPV6_SITE_LOCAL_GROUP : SSDP_IPV6_LINK_LOCAL_GROUP,
        });
        sends.push(new Promise<void>((resolve) => {
          try {
            socket.send(msg, port, dest, (err) => {
              if (err) this.report(err);
              resolve();
            });
          } catch (e) {
            this.report(e);
            resolve();
          }
        }));
      }
    }
    await Promise.all(sends);
  }

  async close(): Promise<void> {
    const all = [...this.sockets.map((s) => s.socket), ...(this.notifySocket ? [this.notifySocket] : [])];
    this.sockets = [];
    this.notifySocket = undefined;
    this.started = false;
    this.listeners.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    })));
  }

  private openSocket(port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp6', reuseAddr: port !== 0, ipv6Only: true });
      const onError = (err: Error): void => {
        socket.close();
        reject(new UpnpNetworkError(`Cannot bind IPv6 SSDP socket on port ${port}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.bind({ port, address: '::' }, () => {
        socket.off('error', onError);
        socket.on('error', (e) => this.report(e));
        socket.unref();
        resolve(socket);
      });
    });
  }

  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    try {
      this.options.onError?.(err);
    } catch {
      /* ignore */
    }
  }
}
