/**
 * LAN observation in gateway mode (`devices.observe`): the passive Matter
 * mDNS watcher, the kernel's neighbour table and the IPv6-mostly detector
 * run on the router's LAN interface(s) and tell the engine what they learn,
 * so a Matter device is protected without being named in the configuration,
 * and an IPv6-only host's IPv4 needs become IPv6 pinholes.
 *
 * Every `device-seen` the daemon submits — the device directory's
 * (configured devices, neighbour reads for requesters) and the observers' —
 * goes through one {@link DeviceFusion}: parts that share a MAC, a Matter
 * identity, an mDNS host or an address are one device for the engine, with
 * the union of every part's latest addresses, under the id of the part seen
 * first. A neighbour-table read therefore never shrinks a Matter device to
 * the addresses the kernel happens to hold (no protection is lost), and an
 * unknown neighbour that turns out to be Matter keeps its id, so the engine
 * re-checks its grants in that one event.
 *
 * What the router adds to the observers (it sits where a host does not):
 * - DHCPv4 is sniffed from the LAN interface (a packet socket, both
 *   directions) instead of bound on UDP 67/68, where the router's own DHCP
 *   server listens: the client's request for option 108 and the server's
 *   offer with it are both seen, so the client is known IPv6-only (RFC 8925).
 *   Only offers this router sends count (and those of `dhcpServers`): a LAN
 *   host's forged OFFER with option 108 for another host's MAC marks nothing.
 *   Likewise only this router's own RAs (and those of `routers`) set PREF64.
 * - When the router's own LAN address of a prefix is deprecated (a
 *   renumbering: preferred lifetime 0), a device's addresses in that /64 are
 *   submitted as deprecated once the device is seen with a global address in
 *   a preferred prefix, so grants follow it to its new stable address (the
 *   engine's address-churn rule; told first that the old address is
 *   deprecated, with no replacement yet, the engine withdraws the grant and
 *   does not bring it back when the new address appears). A router cannot tell a host's
 *   RFC 8981 temporary address from its stable one; every neighbour address
 *   counts as stable.
 * - A Matter device's advertised addresses are nudged (one UDP datagram to
 *   the discard port), so the kernel resolves their MAC and the device's
 *   other addresses (temporary ones, from which it asks for pinholes) join it
 *   through the neighbour table.
 *
 * A host that rotates its MAC, addresses, mDNS host names or DHCP client
 * ids cannot grow this without bound: the fusion holds at most
 * {@link FUSION_PART_QUOTAS} parts per observer and evicts fairly (its own
 * source's least recently updated unprotected parts; never a configured
 * device or one protected before a flood; see `DeviceFusion`), and what this
 * class remembers per device follows the fusion (`onDrop`, `onMerge`). The
 * engine is told `device-left` only for what nothing backs: a DHCP-only MAC,
 * or a protected claim alone in its device (an mDNS flood's made-up Matter
 * hosts), oldest first, past the quota; never for a configured device or
 * one a neighbour entry (a host that talks to the router) backs.
 *
 * Observer problems (hostile mDNS packets, failed reads) are logged as
 * warnings, at most {@link PROBLEMS_PER_WINDOW} per source every 10 s; they
 * never stop an observer.
 *
 * @example
 * ```ts
 * const observation = new LanObservation({ submit: (e) => engine.submit(e), log });
 * const directory = new DeviceDirectory({ submit: observation.submitter('directory'), known: [], allow: [] });
 * await observation.start({ interfaces: ['lan0'], matter: true, ipv6Mostly: true });
 * await observation.stop();
 * ```
 */
import { createSocket } from 'node:dgram';
import { filter, Subscription } from 'rxjs';
import { DeviceFusion } from '../../adapters/observe/device-fusion';
import { sniffDhcp } from '../../adapters/observe/dhcp-sniffer';
import type { HelperRestart } from '../../adapters/observe/helper-runner';
import { captureRouterAdvertisements } from '../../adapters/observe/ra-capture';
import type { HostAddress } from '../../adapters/observe/host-address';
import type { ObserverProblem } from '../../adapters/observe/observer-problem';
import { reapStaleHelpers, recordHelpers } from '../../adapters/observe/stale-helpers';
import type { MdnsTransport } from '../../adapters/matter/mdns-transport';
import { AddressInput, canonicalAddress, familyOf, prefixOf, scopeOf } from '../../policies/model/address';
import { isIsolatedKind } from '../../policies/model/device';
import type { DeviceSeen, PolicyEvent } from '../../policies/model/event';
import type { Logger } from './structured-log';

export const PROBLEMS_PER_WINDOW = 20;
/** Nudges (one datagram each, see `LanObservation`) sent at most per second. */
export const NUDGES_PER_SECOND = 64;
/** DHCP-learned devices no other observer backs up, at most (see `DeviceFusion`). */
export const MAX_UNCONFIRMED_DHCP_DEVICES = 1024;

/**
 * Fusion parts each observer may hold (`DeviceFusion` quotas): what a host
 * rotating its MAC, addresses, mDNS host names or DHCP client ids can make
 * the daemon remember. Chosen above what a real home produces: the kernel's
 * neighbour table holds at most 1,024 entries per family by default
 * (`gc_thresh3`), the mDNS record cache 8,192 records (a Matter host needs
 * 4-6), and the directory re-reads the same neighbour table for requesters
 * (its own lookups are capped at `MAX_LEARNED_DEVICES`, 4,096).
 */
export const FUSION_PART_QUOTAS: Readonly<Record<string, number>> = {
  neighbours: 4096,
  directory: 4096 + 256,
  'matter-mdns': 1024,
  'ipv6-mostly': 2048,
};
/** Protected claims nothing backs that may replace older ones per second (a home does not gain 20 Matter hosts a second). */
export const CLAIM_TURNOVER_PER_SECOND = 20;
/** Any other source (e.g. a Matter controller's reads). */
export const FUSION_PARTS_PER_SOURCE = 1024;

export interface LanObservationOptions {
  /** Where fused events go (the daemon's submit: the engine and the admin API's `device_seen`). */
  readonly submit: (event: PolicyEvent) => unknown;
  readonly log: Logger;
}

export interface LanObserversConfig {
  readonly interfaces: readonly string[];
  /** The passive Matter mDNS watcher (and the neighbour table with it). */
  readonly matter: boolean;
  /** The IPv6-mostly detector (RAs, DHCPv4 option 108, DNS64) on the first interface. */
  readonly ipv6Mostly: boolean;
  /**
   * Where the observers' helper processes (`ip monitor`, the Python capture
   * helpers) are recorded, so a start after a `kill -9` ends the ones the
   * killed daemon left behind. Absent: not recorded.
   */
  readonly helperPidFile?: string;
  /**
   * IPv4 addresses of other DHCP servers on the LAN whose option 108 offers
   * count (`devices.observe.dhcpServers`). The router's own DHCP server (the
   * packets this host sends) always counts; nothing else does.
   */
  readonly dhcpServers?: readonly string[];
  /**
   * Link-local addresses of other routers whose RAs count
   * (`devices.observe.routers`), besides this router's own link-local
   * addresses on the LAN interface; any other RA is ignored.
   */
  readonly routers?: readonly string[];
}

/** Tallies of what the observation did, for logs and tests. */
export interface LanObservationStats {
  observed: number;
  submitted: number;
  problems: number;
  nudged: number;
  /** Unconfirmed DHCP-learned devices forgotten past the bound. */
  forgotten: number;
  /** Devices the fusion dropped past a source quota (the engine keeps them; see `DeviceFusion`). */
  dropped: number;
}

/** The capture helpers are started again when they die, a few times, with backoff. */
const HELPER_RESTART: HelperRestart = { retries: 5, initialDelayMs: 1000, maxDelayMs: 30_000 };

/** The /64 of an IPv6 address (its canonical network address), or undefined for IPv4 and non-addresses. */
export function prefix64(address: string): string | undefined {
  return familyOf(address) === 'ipv6' ? prefixOf(address, 64) : undefined;
}

/**
 * The /64s the router has deprecated on its LAN interfaces: it holds an
 * address there with preferred lifetime 0 and no preferred one in the same /64.
 */
export function deprecatedLanPrefixes(addresses: readonly HostAddress[], interfaces: readonly string[]): Set<string> {
  const deprecated = new Set<string>();
  const preferred = new Set<string>();
  for (const a of addresses) {
    if (!interfaces.includes(a.interface) || a.family !== 'ipv6' || (a.scope !== 'gua' && a.scope !== 'ula')) continue;
    const p = prefix64(a.address);
    if (!p) continue;
    (a.deprecated ? deprecated : preferred).add(p);
  }
  for (const p of preferred) deprecated.delete(p);
  return deprecated;
}

export class LanObservation {
  /**
   * DHCP-learned MACs that no other observer backs up (no neighbour entry,
   * no mDNS, no configured device) are bounded: a host can spoof DISCOVERs
   * for any number of made-up MACs. The oldest are forgotten, engine
   * included (`device-left`): they have no address, kind or need.
   */
  private readonly fusion = new DeviceFusion({
    unconfirmedSources: ['ipv6-mostly'],
    maxUnconfirmed: MAX_UNCONFIRMED_DHCP_DEVICES,
    onForget: (id) => this.forget(id),
    // A host rotating MACs / host names / client ids evicts its own source's parts, never a configured device or one protected before.
    partQuotas: FUSION_PART_QUOTAS,
    partsPerSource: FUSION_PARTS_PER_SOURCE,
    onDrop: (id) => this.drop(id),
    onMerge: (id) => this.drop(id, false),
    // A flood of made-up Matter hosts turns at most this many a second over (engine device-seen + device-left); the rest are not admitted.
    claimTurnoverPerSecond: CLAIM_TURNOVER_PER_SECOND,
    now: () => Date.now(),
  });
  /** The last fused event per device, unmarked, so a prefix deprecation can re-mark and re-submit it. */
  private readonly last = new Map<string, DeviceSeen>();
  private readonly signatures = new Map<string, string>();
  /** Devices the fusion dropped during the current `observe` (forgotten again once its events are out). */
  private readonly droppedNow: string[] = [];
  /** Devices the fusion forgot (engine told `device-left`) during the current `observe`. */
  private readonly forgottenNow: string[] = [];
  private deprecated = new Set<string>();
  private readonly subscriptions = new Subscription();
  private readonly transports: MdnsTransport[] = [];
  private readonly nudged = new Set<string>();
  private nudgeWindow = { start: 0, count: 0 };
  /** The router's own LAN prefixes (undefined until the observers start: then every address may be nudged). */
  private lanPrefixes?: { family: 'ipv4' | 'ipv6'; prefix: string; length: number }[];
  private readonly problemWindows = new Map<string, { start: number; count: number; suppressed: number }>();
  private stopped = false;
  readonly stats: LanObservationStats = { observed: 0, submitted: 0, problems: 0, nudged: 0, forgotten: 0, dropped: 0 };

  constructor(private readonly options: LanObservationOptions) {}

  /** A submit function for one source: `device-seen` events are fused, others pass straight through. */
  submitter(source: string): (event: PolicyEvent) => void {
    return (event) => {
      if (event.type === 'device-seen') this.observe(source, event);
      else this.options.submit(event);
    };
  }

  /** Folds one observer's `device-seen` in and submits the fused device when it changed. */
  observe(source: string, event: DeviceSeen): void {
    if (this.stopped) return;
    this.stats.observed++;
    let fused: DeviceSeen[];
    try {
      fused = this.fusion.add(source, event);
    } catch (error) {
      this.problem({ source: 'lan-observation', message: `could not fuse an event from ${source}: ${(error as Error).message}`, subject: event.deviceId, at: Date.now() });
      this.droppedNow.length = 0;
      this.forgottenNow.length = 0;
      return;
    }
    const dropped = this.droppedNow.splice(0);
    const forgotten = new Set(this.forgottenNow.splice(0));
    for (const out of fused) {
      // Forgotten in this very step (the engine was told device-left already): not announced after all.
      if (forgotten.has(out.deviceId)) continue;
      this.last.set(out.deviceId, out);
      this.emit(out);
      if (source === 'matter-mdns' || isIsolatedKind(out.kinds ?? [])) this.nudge(out.addresses ?? []);
    }
    // A device emitted and dropped in the same step (the newest of a flood past its quota): the engine has it, this side forgets it.
    for (const id of dropped) {
      this.last.delete(id);
      this.signatures.delete(id);
    }
  }

  /** A fused device the fusion forgot (an unconfirmed DHCP-learned MAC, or a claim nothing backs): the engine forgets it too. */
  private forget(deviceId: string): void {
    this.forgottenNow.push(deviceId);
    this.last.delete(deviceId);
    this.signatures.delete(deviceId);
    this.stats.forgotten++;
    this.options.submit({ type: 'device-left', deviceId });
  }

  /**
   * A fused device the fusion dropped past a quota: only this side's memory
   * of it goes. The engine is not told (it keeps a protection or a need it
   * was given: a flood never ends another device's grant).
   */
  private drop(deviceId: string, counted = true): void {
    this.droppedNow.push(deviceId);
    this.last.delete(deviceId);
    this.signatures.delete(deviceId);
    if (counted) this.stats.dropped++;
  }

  /** Whether the fused device a source's part belongs to is protected (an isolated kind, or configured). */
  isProtected(source: string, deviceId: string): boolean {
    return this.fusion.isProtected(source, deviceId);
  }

  /** What the fusion holds now: parts per source and devices (for tests, diagnostics and the memory bound). */
  fusionState(): { parts: number; devices: number; bySource: Record<string, number>; remembered: number } {
    const bySource: Record<string, number> = {};
    for (const source of [...Object.keys(FUSION_PART_QUOTAS), 'directory']) bySource[source] = this.fusion.partsOf(source);
    return { parts: this.fusion.size, devices: this.fusion.groups, bySource, remembered: this.last.size };
  }

  /** Starts the observers; resolves once their sockets are open. Failures to start one are logged, not thrown. */
  async start(config: LanObserversConfig): Promise<void> {
    const log = this.options.log;
    if (config.helperPidFile) {
      const reaped = reapStaleHelpers(config.helperPidFile);
      if (reaped > 0) log.info('ended observer helpers left by a killed daemon', { count: reaped });
    }
    const onProblem = (p: ObserverProblem) => this.problem(p);
    const { readHostAddresses, watchHostAddresses } = require('../../adapters/observe/host-addresses') as typeof import('../../adapters/observe/host-addresses');
    const initial = await readHostAddresses().catch(() => [] as HostAddress[]);
    const own = new Set(initial.map((a) => a.address));
    this.setLanPrefixes(initial, config.interfaces);
    const sink = (source: string) => ({
      next: (e: DeviceSeen) => this.observe(source, e),
      error: (e: unknown) => this.problem({ source, message: `stopped: ${String(e)}`, at: Date.now() }),
    });
    if (config.matter) {
      const { openMdnsTransport } = require('../../adapters/matter/mdns-transport') as typeof import('../../adapters/matter/mdns-transport');
      const { watchMatterMdns } = require('../../adapters/matter/matter-mdns-watcher') as typeof import('../../adapters/matter/matter-mdns-watcher');
      const { watchNeighbours } = require('../../adapters/observe/neighbour-table') as typeof import('../../adapters/observe/neighbour-table');
      const addresses = await readHostAddresses().catch(() => [] as HostAddress[]);
      for (const interfaceName of config.interfaces) {
        const ipv4Address = addresses.find((a) => a.interface === interfaceName && a.family === 'ipv4')?.address;
        try {
          const transport = await openMdnsTransport({ interfaceName, ipv4: ipv4Address !== undefined, ...(ipv4Address ? { ipv4Address } : {}) });
          this.transports.push(transport);
          // The router's own mDNS (if anything on it advertises Matter) is not a LAN device.
          const events = watchMatterMdns({ transport, onProblem }).pipe(filter((e) => !(e.addresses ?? []).some((a) => own.has(a.address))));
          this.subscriptions.add(events.subscribe(sink('matter-mdns')));
          log.info('matter mdns watcher started', { interface: interfaceName });
        } catch (error) {
          this.problem({ source: 'matter-mdns', message: `not started: ${(error as Error).message}`, subject: interfaceName, at: Date.now() });
        }
        this.subscriptions.add(watchNeighbours({ interfaceName, onProblem }).subscribe(sink('neighbours')));
      }
    }
    if (config.ipv6Mostly && config.interfaces.length > 0) {
      const { watchIpv6Mostly } = require('../../adapters/observe/ipv6-mostly-detector') as typeof import('../../adapters/observe/ipv6-mostly-detector');
      const interfaceName = config.interfaces[0];
      // The router's own RAs and DHCP server are the truth (docs/trust-model.md): a LAN host's RA or OFFER states nothing.
      const ownLinkLocal = (await readHostAddresses().catch(() => [] as HostAddress[])).filter((a) => a.interface === interfaceName && a.scope === 'link-local').map((a) => a.address);
      const routers = [...ownLinkLocal, ...(config.routers ?? [])];
      const dhcpServers = config.dhcpServers ?? [];
      log.info('ipv6-mostly facts trusted from', { routers, dhcpServers: ['this router', ...dhcpServers] });
      const detector = watchIpv6Mostly({
        interfaceName,
        routerAdvertisements: captureRouterAdvertisements({ interfaceName, restart: HELPER_RESTART }),
        dhcp: sniffDhcp(interfaceName, { restart: HELPER_RESTART }),
        dhcpServers: { addresses: dhcpServers, ownOnly: true },
        routers,
        onProblem,
        onFacts: (facts) => log.debug('ipv6-mostly facts', { ...facts }),
      });
      this.subscriptions.add(
        detector.subscribe({
          next: (e) => {
            if (e.type === 'device-seen') this.observe('ipv6-mostly', e);
            else {
              log.info('network facts', { ...e });
              this.options.submit(e);
            }
          },
          error: (e: unknown) => this.problem({ source: 'ipv6-mostly', message: `stopped: ${String(e)}`, at: Date.now() }),
        }),
      );
      log.info('ipv6-mostly detector started', { interface: interfaceName });
    }
    // The router's own LAN prefixes: a deprecated one deprecates every LAN address in it.
    this.subscriptions.add(
      watchHostAddresses({ refreshMs: 10_000 }).subscribe({
        next: (list) => {
          this.setLanPrefixes(list, config.interfaces);
          this.setDeprecated(deprecatedLanPrefixes(list, config.interfaces));
        },
        error: (e: unknown) => this.problem({ source: 'host-addresses', message: String(e), at: Date.now() }),
      }),
    );
    if (config.helperPidFile) {
      const file = config.helperPidFile;
      // The helpers are spawned on subscribe; record them once they exist.
      const timer = setTimeout(() => {
        try {
          recordHelpers(file);
        } catch (error) {
          this.problem({ source: 'lan-observation', message: `cannot record helper processes: ${(error as Error).message}`, at: Date.now() });
        }
      }, 200);
      timer.unref();
      this.subscriptions.add(() => clearTimeout(timer));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscriptions.unsubscribe();
    for (const t of this.transports.splice(0)) {
      try {
        t.close();
      } catch {
        // already closed
      }
    }
    this.options.log.info('lan observation stopped', { ...this.stats });
  }

  private setLanPrefixes(list: readonly HostAddress[], interfaces: readonly string[]): void {
    const prefixes: { family: 'ipv4' | 'ipv6'; prefix: string; length: number }[] = [];
    for (const a of list) {
      if (!interfaces.includes(a.interface) || a.scope === 'link-local') continue;
      const prefix = prefixOf(a.address, a.prefixLength);
      if (prefix !== undefined) prefixes.push({ family: a.family, prefix, length: a.prefixLength });
    }
    this.lanPrefixes = prefixes;
  }

  private setDeprecated(next: Set<string>): void {
    if (next.size === this.deprecated.size && [...next].every((p) => this.deprecated.has(p))) return;
    this.options.log.info('lan prefixes deprecated', { prefixes: [...next].map((p) => `${p}/64`) });
    this.deprecated = next;
    for (const event of this.last.values()) this.emit(event);
  }

  private emit(event: DeviceSeen): void {
    const marked = this.mark(event);
    const signature = JSON.stringify(marked);
    if (this.signatures.get(marked.deviceId) === signature) return;
    this.signatures.set(marked.deviceId, signature);
    this.stats.submitted++;
    this.options.submit(marked);
  }

  /**
   * Marks the device's addresses in a deprecated /64 as deprecated — once it
   * is also seen with a global address in a preferred prefix. Until then its
   * old address is still the one it can be reached at (a deprecated address
   * stays valid), and the engine would drop a grant with no replacement.
   */
  private mark(event: DeviceSeen): DeviceSeen {
    if (this.deprecated.size === 0 || !event.addresses) return event;
    const hasPreferred = event.addresses.some((a) => {
      const p = prefix64(a.address);
      return p !== undefined && scopeOf(a.address) === 'gua' && !a.deprecated && !this.deprecated.has(p);
    });
    if (!hasPreferred) return event;
    let changed = false;
    const addresses: AddressInput[] = event.addresses.map((a) => {
      const p = prefix64(a.address);
      if (p && this.deprecated.has(p) && !a.deprecated) {
        changed = true;
        return { ...a, deprecated: true };
      }
      return a;
    });
    return changed ? { ...event, addresses } : event;
  }

  /**
   * One datagram to the discard port of each new address, so the kernel
   * resolves its MAC (NDP/ARP). Only addresses on the LAN (in a prefix of the
   * router's own LAN addresses, once those are known) and at most
   * {@link NUDGES_PER_SECOND} a second: a host advertising made-up or
   * off-link addresses cannot make the router send packets elsewhere.
   */
  private nudge(addresses: readonly AddressInput[]): void {
    for (const a of addresses) {
      const address = canonicalAddress(a.address);
      if (!address || this.nudged.has(address) || scopeOf(address) === 'link-local') continue;
      if (this.lanPrefixes && !this.lanPrefixes.some((p) => p.family === familyOf(address) && prefixOf(address, p.length) === p.prefix)) continue;
      const now = Date.now();
      if (now - this.nudgeWindow.start >= 1000) this.nudgeWindow = { start: now, count: 0 };
      if (++this.nudgeWindow.count > NUDGES_PER_SECOND) continue;
      if (this.nudged.size > 4096) this.nudged.clear();
      this.nudged.add(address);
      this.stats.nudged++;
      const socket = createSocket(familyOf(address) === 'ipv6' ? 'udp6' : 'udp4');
      socket.on('error', () => socket.close());
      socket.send(Buffer.alloc(0), 9, address, () => socket.close());
    }
  }

  private problem(p: ObserverProblem): void {
    this.stats.problems++;
    const now = Date.now();
    let w = this.problemWindows.get(p.source);
    if (!w || now - w.start >= 10_000) {
      if (w && w.suppressed > 0) this.options.log.warn('observer problems suppressed', { source: p.source, count: w.suppressed });
      w = { start: now, count: 0, suppressed: 0 };
      this.problemWindows.set(p.source, w);
    }
    if (++w.count > PROBLEMS_PER_WINDOW) {
      w.suppressed++;
      return;
    }
    this.options.log.warn('observer problem', { source: p.source, message: p.message, ...(p.subject ? { subject: p.subject } : {}) });
  }
}
