import { existsSync } from 'node:fs';
import { filter, merge, Observable, Subject } from 'rxjs';
import { canonicalAddress } from '../../policies/model/address';
import type { DeviceSeen, NetworkChanged } from '../../policies/model/event';
import { MatterController, MatterNodeReport } from '../../adapters/matter/matter-controller';
import { watchMatterMdns } from '../../adapters/matter/matter-mdns-watcher';
import { watchMatterNodes } from '../../adapters/matter/matter-node-watcher';
import { MdnsTransport, openMdnsTransport } from '../../adapters/matter/mdns-transport';
import { fuseDevices, FusionSource } from '../../adapters/observe/device-fusion';
import { Ipv6MostlyFacts, watchIpv6Mostly } from '../../adapters/observe/ipv6-mostly-detector';
import { watchNeighbours } from '../../adapters/observe/neighbour-table';
import { ObserverProblem } from '../../adapters/observe/observer-problem';
import { readHostAddresses } from '../../adapters/observe/host-addresses';
import { parseDefaultRoutesJson } from '../../adapters/system/route-interfaces';
import { runCommand } from '../../adapters/system/run-command';

/** First-packet times kept for at most this many mDNS sender addresses. */
export const MAX_FIRST_PACKET_TIMES = 4096;

export interface DeviceObserversOptions {
  /** The LAN interface to observe (e.g. `eth0`). */
  readonly interfaceName: string;
  /** A Matter controller's storage (its fabric); absent or missing: no controller reads. */
  readonly matterStoragePath?: string;
  /** Follow the IPv6-mostly signals (RA capture, DHCP listeners, DNS64): needs root. Default true. */
  readonly ipv6Mostly?: boolean;
  /** Passive mDNS watcher (default true). */
  readonly mdns?: boolean;
  /** Neighbour table (default true). */
  readonly neighbours?: boolean;
  readonly onProblem?: (problem: ObserverProblem) => void;
  /**
   * IPv4 addresses of the DHCP servers whose option 108 offers count.
   * Default: the IPv4 default gateways on `interfaceName` (in a home, the
   * router is the DHCP server). A LAN host's forged offer never counts.
   */
  readonly dhcpServers?: readonly string[];
  /** Link-local addresses of the routers whose RAs count (default: any router on the link, RFC 4861). */
  readonly routers?: readonly string[];
}

/** The IPv4 default gateways reached through `interfaceName` (`ip -j -4 route show default`); none when it cannot be read. */
export async function defaultIpv4Gateways(interfaceName: string): Promise<string[]> {
  try {
    const { stdout } = await runCommand('ip', ['-j', '-4', 'route', 'show', 'default']);
    return parseDefaultRoutesJson(stdout, 'ipv4')
      .filter((r) => r.dev === interfaceName && r.gateway !== undefined)
      .map((r) => r.gateway as string);
  } catch {
    return [];
  }
}

/** Everything the observers emit, with where it came from and when (ms since epoch). */
export interface ObservedEvent {
  readonly at: number;
  readonly event: DeviceSeen | NetworkChanged;
  /** For mDNS-sourced device events: when the first packet from that device arrived. */
  readonly firstPacketAt?: number;
}

export interface DeviceObservers {
  readonly events: Observable<ObservedEvent>;
  /** The latest controller read per Matter node (vendor, product, device types). */
  readonly reports: Map<string, MatterNodeReport>;
  /** The latest IPv6-mostly facts. */
  facts?: Ipv6MostlyFacts;
  close(): Promise<void>;
}

/**
 * The daemon core's LAN wiring, shared by `homenet devices`, the gateway and
 * a future hub: starts the edge observers of one LAN interface and fuses their device
 * events: neighbour table, passive Matter mDNS watcher, the Matter controller
 * (when a fabric is given) and the IPv6-mostly detector. What users run
 * (`homenet devices`) and the lab tests both go through here.
 *
 * @example
 * ```ts
 * const observers = await startDeviceObservers({ interfaceName: 'eth0', matterStoragePath: '/var/lib/homenet/matter' });
 * observers.events.subscribe(({ at, event }) => console.log(at, event.type));
 * ```
 */
export async function startDeviceObservers(options: DeviceObserversOptions): Promise<DeviceObservers> {
  const problems = options.onProblem ?? (() => undefined);
  const sources: FusionSource[] = [];
  const firstPacket = new Map<string, number>();
  let transport: MdnsTransport | undefined;
  const addresses = await readHostAddresses().catch(() => []);
  const ipv4Address = addresses.find((a) => a.interface === options.interfaceName && a.family === 'ipv4')?.address;
  if (options.mdns !== false) {
    const real = await openMdnsTransport({ interfaceName: options.interfaceName, ipv4: ipv4Address !== undefined, ipv4Address });
    transport = real;
    const recording: MdnsTransport = {
      ...real,
      onPacket(handler) {
        real.onPacket((packet, from) => {
          const address = canonicalAddress(from.address) ?? from.address;
          if (!firstPacket.has(address)) {
            // Keyed by sender address (anyone's): bounded, the oldest forgotten first.
            if (firstPacket.size >= MAX_FIRST_PACKET_TIMES) firstPacket.delete(firstPacket.keys().next().value as string);
            firstPacket.set(address, Date.now());
          }
          handler(packet, from);
        });
      },
    };
    // This host's own Matter node (the controller) advertises too: it is not a LAN device.
    const own = new Set(addresses.map((a) => a.address));
    sources.push({
      name: 'matter-mdns',
      events: watchMatterMdns({ transport: recording, onProblem: problems }).pipe(filter((e) => !(e.addresses ?? []).some((a) => own.has(a.address)))),
    });
  }
  if (options.neighbours !== false) sources.push({ name: 'neighbours', events: watchNeighbours({ interfaceName: options.interfaceName, onProblem: problems }) });
  const reports = new Map<string, MatterNodeReport>();
  let controller: MatterController | undefined;
  const refresh = new Subject<string>();
  if (options.matterStoragePath && existsSync(options.matterStoragePath)) {
    controller = await MatterController.open({ storagePath: options.matterStoragePath, interfaceName: options.interfaceName, ipv4: ipv4Address !== undefined });
    sources.push({
      name: 'matter-controller',
      events: watchMatterNodes({ controller, refresh, onProblem: problems, onReport: (r) => reports.set(r.nodeId, r) }),
    });
  }
  const observers: DeviceObservers = {
    events: new Observable<ObservedEvent>(),
    reports,
    async close() {
      transport?.close();
      await controller?.close();
    },
  };
  // The detector's device facts (IPv6-only hosts) go through the fusion; its network facts straight out.
  const detectorEvents = new Subject<DeviceSeen | NetworkChanged>();
  const detector =
    options.ipv6Mostly !== false
      ? watchIpv6Mostly({
          interfaceName: options.interfaceName,
          onProblem: problems,
          onFacts: (f) => (observers.facts = f),
          dhcpServers: { addresses: options.dhcpServers ?? (await defaultIpv4Gateways(options.interfaceName)) },
          ...(options.routers !== undefined ? { routers: options.routers } : {}),
        })
      : undefined;
  if (detector) {
    sources.push({ name: 'ipv6-mostly', events: detectorEvents.pipe(filter((e): e is DeviceSeen => e.type === 'device-seen')) });
  }
  const networkEvents = detectorEvents.pipe(filter((e): e is NetworkChanged => e.type === 'network-changed'));
  (observers as { events: Observable<ObservedEvent> }).events = new Observable<ObservedEvent>((subscriber) => {
    // DHCP-learned MACs no other observer backs up are bounded (a host can spoof DISCOVERs for made-up MACs).
    const inner = merge(fuseDevices(sources, { unconfirmedSources: ['ipv6-mostly'] }), networkEvents).subscribe((event) => subscriber.next(stamp(event)));
    const feed = detector?.subscribe(detectorEvents);
    return () => {
      inner.unsubscribe();
      feed?.unsubscribe();
    };
  });

  function stamp(event: DeviceSeen | NetworkChanged): ObservedEvent {
    const at = Date.now();
    if (event.type === 'device-seen') {
      // A node the controller knows whose mDNS view changed: read it again now.
      if (event.identities?.matterNodeId) refresh.next(event.identities.matterNodeId.split('-')[1] ?? '');
      const times = (event.addresses ?? []).map((a) => firstPacket.get(a.address)).filter((t): t is number => t !== undefined);
      if (times.length > 0) return { at, event, firstPacketAt: Math.min(...times) };
    }
    return { at, event };
  }
  return observers;
}
