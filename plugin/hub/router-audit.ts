/**
 * The hub's audit of what it cannot enforce: on a commodity router any LAN
 * host may open its own IPv4 ports over UPnP or PCP behind the hub's back.
 * Every `periodSeconds` the audit lists the router's IPv4 port mappings
 * (GetListOfPortMappings on an IGD:2 router, else GetGenericPortMappingEntry
 * by index; at most `maxEntries`, however many the router claims) and
 * compares them with what the hub knows:
 *
 * - a mapping whose internal client is a protected (Matter) device →
 *   `mapping-to-matter-device`;
 * - a mapping no need of the hub's and no agent's report accounts for →
 *   `mapping-not-reported`.
 *
 * Each finding is emitted once when it appears and a `cleared` event when it
 * is gone, with the mapping's fields and a sentence a person reads.
 *
 * @example
 * ```ts
 * const audit = new RouterAudit({
 *   source: upnpRouterMappings(wanIpConnection),
 *   protectedDevices: () => [{ address: '192.168.77.20', name: 'plug' }],
 *   accountedMappings: () => hubMappings(),
 *   periodSeconds: 30,
 * });
 * audit.events$.subscribe((e) => console.log(e.type, e.text));
 * audit.start();
 * ```
 */
import { asyncScheduler, Observable, SchedulerLike, Subject, Subscription } from 'rxjs';
import { canonicalAddress } from '../../policies/model/address';
import { isUpnpFault } from '../../adapters/upnp/upnp-fault';
import type { MappingProtocol, PortMappingEntry, WanIpConnectionClient } from '../../adapters/upnp/wan-ip-connection';

/** The router's mappings, bounded. */
export interface RouterMappingListing {
  readonly mappings: readonly PortMappingEntry[];
  /** The router had more than the bound: the rest was not read. */
  readonly truncated: boolean;
  /** How they were read. */
  readonly via: 'GetListOfPortMappings' | 'GetGenericPortMappingEntry';
}

/** Where the audit reads the router's IPv4 port mappings. */
export interface RouterMappingSource {
  listPortMappings(): Promise<RouterMappingListing>;
}

export interface UpnpRouterMappingsOptions {
  /** Most mappings read (default 256). */
  readonly maxEntries?: number;
  /** `list`: GetListOfPortMappings (IGD:2); `index`: GetGenericPortMappingEntry; `auto` (default): list on an IGD:2 service, falling back to index. */
  readonly via?: 'auto' | 'list' | 'index';
}

/**
 * A {@link RouterMappingSource} over a WANIPConnection client.
 *
 * @example
 * ```ts
 * const listing = await upnpRouterMappings(ipc, { maxEntries: 64 }).listPortMappings();
 * ```
 */
export function upnpRouterMappings(ipc: Pick<WanIpConnectionClient, 'serviceType' | 'getListOfPortMappings' | 'getGenericPortMappingEntry'>, options: UpnpRouterMappingsOptions = {}): RouterMappingSource {
  const max = options.maxEntries ?? 256;
  if (!Number.isInteger(max) || max < 1 || max > 0xffff) throw new RangeError(`maxEntries must be 1..65535, got ${max}`);
  const via = options.via ?? 'auto';
  const igd2 = /:2$/.test(ipc.serviceType);

  const byIndex = async (): Promise<RouterMappingListing> => {
    const mappings: PortMappingEntry[] = [];
    for (let index = 0; index < max; index++) {
      try {
        mappings.push(await ipc.getGenericPortMappingEntry(index));
      } catch (error) {
        // 713 SpecifiedArrayIndexInvalid (714 NoSuchEntryInArray on some routers): past the end.
        if (isUpnpFault(error, 713, 714)) return { mappings, truncated: false, via: 'GetGenericPortMappingEntry' };
        throw error;
      }
    }
    // The bound is reached: is there one more?
    try {
      await ipc.getGenericPortMappingEntry(max);
      return { mappings, truncated: true, via: 'GetGenericPortMappingEntry' };
    } catch (error) {
      if (isUpnpFault(error, 713, 714)) return { mappings, truncated: false, via: 'GetGenericPortMappingEntry' };
      throw error;
    }
  };

  const byList = async (): Promise<RouterMappingListing> => {
    const mappings: PortMappingEntry[] = [];
    let truncated = false;
    for (const protocol of ['udp', 'tcp'] as const satisfies readonly MappingProtocol[]) {
      const room = max - mappings.length;
      if (room <= 0) {
        truncated = true;
        break;
      }
      let got: PortMappingEntry[];
      try {
        // Ask for one more than there is room for: that one says whether the listing was cut.
        got = await ipc.getListOfPortMappings({ startPort: 0, endPort: 65535, protocol, manage: true, numberOfPorts: Math.min(0xffff, room + 1) });
      } catch (error) {
        if (isUpnpFault(error, 714)) continue; // NoSuchEntryInArray: none of this protocol
        throw error;
      }
      // A hostile router may answer more than asked, or another protocol: keep only what was asked, up to the bound.
      const mine = got.filter((m) => m.protocol === protocol);
      if (mine.length > room) truncated = true;
      mappings.push(...mine.slice(0, room));
    }
    return { mappings, truncated, via: 'GetListOfPortMappings' };
  };

  return {
    async listPortMappings() {
      if (via === 'index' || (via === 'auto' && !igd2)) return byIndex();
      if (via === 'list') return byList();
      try {
        return await byList();
      } catch (error) {
        // 401 Invalid Action / 602 Not Implemented: the router does not have it after all.
        if (isUpnpFault(error, 401, 602)) return byIndex();
        throw error;
      }
    },
  };
}

/** A device the engine protects (a Matter device): no inbound mapping may point at it. */
export interface ProtectedDevice {
  readonly address: string;
  /** How a person knows it (e.g. its Matter node label). */
  readonly name?: string;
}

/** A mapping the hub knows of: one of its own needs, or one an agent reported. */
export interface AccountedMapping {
  readonly protocol: MappingProtocol;
  readonly externalPort: number;
  readonly internalClient: string;
  /** Whose it is (need id, agent), for the finding's text. */
  readonly owner?: string;
}

export type RouterFindingKind = 'mapping-to-matter-device' | 'mapping-not-reported';

export interface RouterFinding {
  readonly kind: RouterFindingKind;
  /** Stable identity: the same mapping with the same problem has the same key. */
  readonly key: string;
  readonly mapping: PortMappingEntry;
  /** The protected device it points at (`mapping-to-matter-device`). */
  readonly device?: ProtectedDevice;
  readonly text: string;
}

export type RouterAuditEvent =
  | { readonly type: 'finding'; readonly finding: RouterFinding; readonly text: string }
  | { readonly type: 'cleared'; readonly finding: RouterFinding; readonly text: string }
  /** The router could not be listed; the findings stand as they were. */
  | { readonly type: 'audit-failed'; readonly error: Error; readonly text: string };

export interface RouterAuditInit {
  readonly source: RouterMappingSource;
  readonly protectedDevices: () => Iterable<ProtectedDevice>;
  readonly accountedMappings: () => Iterable<AccountedMapping>;
  /** Seconds between audits (> 0). */
  readonly periodSeconds: number;
  /** Timers (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
}

/** What one audit saw. */
export interface RouterAuditReport {
  readonly listing: RouterMappingListing;
  readonly findings: readonly RouterFinding[];
}

function describeMapping(m: PortMappingEntry): string {
  const from = m.remoteHost === '' ? '' : ` (only from ${m.remoteHost})`;
  const desc = m.description === '' ? '' : ` "${m.description}"`;
  return `${m.protocol.toUpperCase()} external port ${m.externalPort} → ${m.internalClient}:${m.internalPort}${from}${desc}`;
}

/**
 * The findings for one listing, in the listing's order; a mapping to a
 * protected device is that finding only.
 *
 * @example
 * ```ts
 * auditFindings(listing.mappings, [{ address: '192.168.77.20', name: 'plug' }], [])[0].kind; // 'mapping-to-matter-device'
 * ```
 */
export function auditFindings(mappings: readonly PortMappingEntry[], devices: Iterable<ProtectedDevice>, accounted: Iterable<AccountedMapping>): RouterFinding[] {
  const canon = (a: string) => canonicalAddress(a.trim()) ?? a.trim();
  const byAddress = new Map<string, ProtectedDevice>();
  for (const d of devices) byAddress.set(canon(d.address), d);
  const known = new Set<string>();
  for (const a of accounted) known.add(`${a.protocol}|${a.externalPort}|${canon(a.internalClient)}`);
  const out: RouterFinding[] = [];
  for (const m of mappings) {
    const client = canon(m.internalClient);
    const id = `${m.protocol}|${m.externalPort}|${client}|${m.internalPort}|${m.remoteHost}`;
    const device = byAddress.get(client);
    if (device) {
      out.push({
        kind: 'mapping-to-matter-device',
        key: `mapping-to-matter-device|${id}`,
        mapping: m,
        device,
        text: `the router has a port mapping to the Matter device ${device.name ? `${device.name} (${client})` : client}: ${describeMapping(m)}; the hub does not allow inbound ports to it but cannot remove it on this router`,
      });
    } else if (!known.has(`${m.protocol}|${m.externalPort}|${client}`)) {
      out.push({
        kind: 'mapping-not-reported',
        key: `mapping-not-reported|${id}`,
        mapping: m,
        text: `the router has a port mapping no need of the hub's and no agent's report accounts for: ${describeMapping(m)}; some host opened it directly`,
      });
    }
  }
  return out;
}

export class RouterAudit {
  private readonly scheduler: SchedulerLike;
  private readonly subject = new Subject<RouterAuditEvent>();
  private readonly current = new Map<string, RouterFinding>();
  private timer: Subscription | undefined;
  private running: Promise<RouterAuditReport> | undefined;
  private lastFailure: string | undefined;
  private stopped = false;

  /** Findings as they appear and go, and failed audits (once per distinct failure). */
  readonly events$: Observable<RouterAuditEvent> = this.subject.asObservable();

  constructor(private readonly init: RouterAuditInit) {
    if (!(init.periodSeconds > 0) || !Number.isFinite(init.periodSeconds)) throw new RangeError(`periodSeconds must be > 0, got ${init.periodSeconds}`);
    this.scheduler = init.scheduler ?? asyncScheduler;
  }

  /** The findings that stand now. */
  get findings(): readonly RouterFinding[] {
    return [...this.current.values()];
  }

  /** Audits now, then every `periodSeconds` until {@link stop}. */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = (): void => {
      void this.runOnce().catch(() => undefined);
      if (!this.stopped) this.timer = this.scheduler.schedule(tick, this.init.periodSeconds * 1000);
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.subject.complete();
  }

  /**
   * One audit: lists the router and emits what changed. An audit still
   * running is joined, not doubled. Rejects when the router cannot be listed
   * (after emitting `audit-failed`).
   */
  runOnce(): Promise<RouterAuditReport> {
    this.running ??= this.audit().finally(() => (this.running = undefined));
    return this.running;
  }

  private async audit(): Promise<RouterAuditReport> {
    let listing: RouterMappingListing;
    try {
      listing = await this.init.source.listPortMappings();
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      if (this.lastFailure !== error.message && !this.stopped) {
        this.subject.next({ type: 'audit-failed', error, text: `could not list the router's port mappings: ${error.message}` });
      }
      this.lastFailure = error.message;
      throw error;
    }
    this.lastFailure = undefined;
    const findings = auditFindings(listing.mappings, this.init.protectedDevices(), this.init.accountedMappings());
    if (this.stopped) return { listing, findings };
    const seen = new Map(findings.map((f) => [f.key, f]));
    // A truncated listing cannot show that a mapping is gone: clear only on a complete one.
    if (!listing.truncated) {
      for (const [key, finding] of [...this.current]) {
        if (seen.has(key)) continue;
        this.current.delete(key);
        const text =
          finding.kind === 'mapping-to-matter-device'
            ? `resolved: the port mapping to the Matter device is gone or allowed now (${describeMapping(finding.mapping)})`
            : `resolved: the unreported port mapping is gone or accounted for now (${describeMapping(finding.mapping)})`;
        this.subject.next({ type: 'cleared', finding, text });
      }
    }
    for (const [key, finding] of seen) {
      if (this.current.has(key)) continue;
      this.current.set(key, finding);
      this.subject.next({ type: 'finding', finding, text: finding.text });
    }
    return { listing, findings };
  }
}
