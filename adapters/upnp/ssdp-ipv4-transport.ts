/**
 * IPv4 SSDP transport on node-ssdp's Client (node-ssdp binds IPv4 sockets only, one per
 * interface address). The rest of the adapter never sees node-ssdp: it gets raw datagrams
 * through {@link SsdpTransport} and parses them strictly itself.
 *
 * Gaps in node-ssdp 4 that this file fills, and why:
 * - Its response parsing is lax (no size or header caps, any `name: value` line, last
 *   duplicate wins) and it hands out only parsed headers. We listen on its sockets for the
 *   raw bytes instead and parse them with `ssdp-message.ts`.
 * - Its 'response' event does not say which interface/socket a reply arrived on. Each of
 *   its sockets belongs to one interface address, so we listen per socket and tag datagrams
 *   with that interface.
 * - `search()` hard-codes `MX: 3` (devices may wait up to 3 s before answering); we format
 *   our own M-SEARCH (MX 1 by default) and send it with its internal `_send` on all sockets.
 * - It never calls `setMulticastInterface`: with several interfaces, every M-SEARCH could
 *   leave through the default-route interface. We bind each socket to its interface address
 *   (`explicitSocketBind`) and set the outgoing multicast interface explicitly.
 * - A failing `addMembership` inside its 'listening' handler is re-thrown from an event
 *   handler (or from a timer 5 s later): an uncaught exception that would kill the daemon.
 *   We create its sockets first and wrap `addMembership` so a failure is only reported. The
 *   search sockets do not join the group at all (it joins it on every socket, but search
 *   replies are unicast; only the NOTIFY listener needs the membership).
 * - It silently skips interfaces flagged internal (loopback) even when named in `interfaces`,
 *   so this transport cannot search on `lo`; tests use a non-internal address of the host.
 *
 * @example
 * ```ts
 * const t = new Ipv4SsdpTransport({ interfaces: ['eth0'] });
 * t.onDatagram((d) => console.log(d.remoteAddress, d.interfaceName));
 * await t.start();
 * await t.search('urn:schemas-upnp-org:device:InternetGatewayDevice:1', 1);
 * await t.close();
 * ```
 */
import { guardNodeSsdpSocket } from './node-ssdp-socket-guard';
import type { Client } from 'node-ssdp';

/** node-ssdp is loaded when an IPv4 transport starts, not when this file loads (an IPv6-only search never needs it). */
function nodeSsdpClient(): typeof Client {
  return (require('node-ssdp') as { Client: typeof Client }).Client;
}
import { InterfaceTableSource, interfaceOfIpv4Neighbour, ipv4SearchInterfaces, systemInterfaceTable } from './network-interfaces';
import { SSDP_IPV4_GROUP, SSDP_PORT, formatMSearch } from './ssdp-message';
import { DatagramListeners, SsdpDatagramListener, SsdpTransport } from './ssdp-transport';
import { UpnpNetworkError } from './upnp-errors';

export interface Ipv4SsdpTransportOptions {
  /** Interface names; default: every non-internal interface with an IPv4 address. */
  interfaces?: readonly string[];
  interfaceTable?: InterfaceTableSource;
  /** Also listen on port 1900 for NOTIFY (for watchGateways). Default false. */
  listenForNotify?: boolean;
  /** Destination of M-SEARCH; default 239.255.255.250:1900 (tests point it at a loopback fake). */
  ssdpAddress?: string;
  ssdpPort?: number;
  /** Multicast TTL; default 2 (UDA 1.1 recommends 2). */
  ttl?: number;
  /** Non-fatal socket problems (membership failure, send error). */
  onError?: (err: Error) => void;
}

export class Ipv4SsdpTransport implements SsdpTransport {
  readonly family = 'ipv4' as const;
  private readonly listeners = new DatagramListeners();
  private searchClient: Client | undefined;
  private notifyClient: Client | undefined;
  private interfaceByAddress = new Map<string, string>();

  constructor(private readonly options: Ipv4SsdpTransportOptions = {}) {}

  onDatagram(listener: SsdpDatagramListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<void> {
    if (this.searchClient) return;
    const table = (this.options.interfaceTable ?? systemInterfaceTable)();
    const chosen = ipv4SearchInterfaces(table, this.options.interfaces);
    if (chosen.length === 0) throw new UpnpNetworkError('No IPv4 interface to search on');
    this.interfaceByAddress = new Map(chosen.map((c) => [c.address, c.name]));
    const names = chosen.map((c) => c.name);
    const common = {
      interfaces: names,
      reuseAddr: true,
      ssdpIp: this.options.ssdpAddress ?? SSDP_IPV4_GROUP,
      ssdpPort: this.options.ssdpPort ?? SSDP_PORT,
      ssdpTtl: this.options.ttl ?? 2,
      customLogger: () => undefined,
    };
    const SsdpClient = nodeSsdpClient();
    const search = new SsdpClient({ ...common, explicitSocketBind: true, sourcePort: 0 });
    await this.startClient(search, false);
    this.searchClient = search;
    for (const [address, socket] of Object.entries(search.sockets ?? {})) {
      try {
        socket.setMulticastInterface(address);
      } catch (e) {
        this.report(e);
      }
      const interfaceName = this.interfaceByAddress.get(address);
      socket.on('message', (data: Buffer, rinfo) => this.listeners.emit({
        data, remoteAddress: rinfo.address, remotePort: rinfo.port, family: 'ipv4', localAddress: address, via: 'search',
        ...(interfaceName ? { interfaceName } : {}),
      }));
    }
    if (this.options.listenForNotify) {
      const notify = new SsdpClient({ ...common, sourcePort: this.options.ssdpPort ?? SSDP_PORT });
      await this.startClient(notify, true);
      this.notifyClient = notify;
      // All of node-ssdp's notify sockets are bound to 0.0.0.0:1900 and each joins the group on
      // its interface; Linux hands every group datagram to every such socket, so one listener
      // suffices (listening on all would duplicate). The arrival interface is inferred from
      // the sender's subnet, since node-ssdp cannot tell it.
      const first = Object.values(notify.sockets ?? {})[0];
      first?.on('message', (data: Buffer, rinfo) => {
        const interfaceName = interfaceOfIpv4Neighbour((this.options.interfaceTable ?? systemInterfaceTable)(), rinfo.address);
        this.listeners.emit({
          data, remoteAddress: rinfo.address, remotePort: rinfo.port, family: 'ipv4', via: 'notify',
          ...(interfaceName ? { interfaceName } : {}),
        });
      });
    }
  }

  async search(searchTarget: string, mx: number): Promise<void> {
    const client = this.searchClient;
    if (!client) throw new UpnpNetworkError('IPv4 SSDP transport is not started');
    const message = formatMSearch({ searchTarget, mx, family: 'ipv4' });
    await new Promise<void>((resolve) => {
      client._send(message, (err) => {
        if (err) this.report(err);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const c of [this.searchClient, this.notifyClient]) {
      try {
        c?.stop();
      } catch (e) {
        this.report(e);
      }
    }
    this.searchClient = undefined;
    this.notifyClient = undefined;
    this.listeners.clear();
  }

  private async startClient(client: Client, join: boolean): Promise<void> {
    try {
      client._createSockets();
    } catch (cause) {
      throw new UpnpNetworkError(`node-ssdp could not create IPv4 sockets: ${String((cause as Error)?.message ?? cause)}`, { cause });
    }
    for (const socket of Object.values(client.sockets ?? {})) guardNodeSsdpSocket(socket, { joinGroup: join, report: (e) => this.report(e) });
    try {
      await client.start();
    } catch (cause) {
      try { client.stop(); } catch { /* already down */ }
      throw new UpnpNetworkError(`IPv4 SSDP sockets failed to bind: ${String((cause as Error)?.message ?? cause)}`, { cause });
    }
  }

  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    try {
      this.options.onError?.(err);
    } catch {
      /* the reporter must not break the transport */
    }
  }
}
