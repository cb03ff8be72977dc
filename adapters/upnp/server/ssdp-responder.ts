/**
 * The SSDP side of the IGD front: answers M-SEARCH for `ssdp:all`, `upnp:rootdevice`, a
 * device UUID, and every device and service type we serve at the version asked or below
 * (an IGD:1 search of an IGD:2 device is answered with ST InternetGatewayDevice:1, as
 * miniupnpd does), with the LOCATION of the interface the search arrived on (IPv4: that
 * interface's address; IPv6: its global or ULA address, the one on the sender's prefix
 * first, bracketed), CACHE-CONTROL, USN, SERVER, BOOTID.UPNP.ORG and CONFIGID.UPNP.ORG.
 * It multicasts NOTIFY ssdp:alive on start and every `notifyIntervalMs`, and ssdp:byebye on
 * stop, per interface to 239.255.255.250, ff02::c and ff05::c. BOOTID increases on every
 * start; CONFIGID follows the served documents (`setConfigId`). Searches from interfaces
 * not served (the WAN) are ignored; replies are rate-limited.
 *
 * @example
 * ```ts
 * const responder = new SsdpResponder({
 *   igd, configId: server.documents.configId, interfaces: ['br-lan'], httpPort: 5000,
 *   transports: [new Ipv4SsdpResponderTransport({ interfaces: ['br-lan'] }), new Ipv6SsdpResponderTransport({ interfaces: ['br-lan'] })],
 * });
 * await responder.start();  // ssdp:alive x N
 * await responder.stop();   // ssdp:byebye x N
 * ```
 */
import { SchedulerAction, SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import { inPrefix, isLinkLocalIpv6, isNonUlaGlobalIpv6, splitZone } from '../../../policies/model/address';
import { InterfaceTableSource, interfaceOfIpv4Neighbour, isOnLinkIpv6, systemInterfaceTable } from '../network-interfaces';
import {
  SSDP_IPV4_GROUP, SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP, SsdpAnnouncement, SsdpNts, formatNotify, formatSearchResponse,
  tryParseSsdpMessage,
} from '../ssdp-message';
import { SsdpDatagram } from '../ssdp-transport';
import { splitUrnVersion } from '../upnp-urns';
import { IgdDevice, allDevices } from './igd-device';
import { SsdpResponderTransport } from './ssdp-responder-transport';

/** Options of {@link SsdpResponder}. */
export interface SsdpResponderOptions {
  igd: IgdDevice;
  /** CONFIGID.UPNP.ORG: the `configId` of the served documents. */
  configId: number;
  transports: readonly SsdpResponderTransport[];
  /** Interfaces served (the LAN side). Searches arriving elsewhere are ignored. */
  interfaces: readonly string[];
  interfaceTable?: InterfaceTableSource;
  /** Port of the HTTP server (one, or per family). */
  httpPort: number | { readonly ipv4: number; readonly ipv6: number };
  /** SERVER header. */
  serverHeader?: string;
  /** CACHE-CONTROL max-age (default 1800 s, the UDA minimum recommendation). */
  maxAgeSeconds?: number;
  /** Re-announce period (default 300000 ms; must be below max-age/2). */
  notifyIntervalMs?: number;
  /** BOOTID of the first start (default: seconds of the scheduler clock); later starts increase it. */
  bootId?: number;
  /** Time source and timers (default asyncScheduler). */
  scheduler?: SchedulerLike;
  /** Search responses per second, all senders together (default 500); the rest are dropped. */
  maxRepliesPerSecond?: number;
  onError?: (err: Error) => void;
}

/** One (NT/ST, USN) pair the device announces. */
export interface SsdpTarget {
  readonly target: string;
  readonly usn: string;
}

/** Every (target, USN) pair of the tree, root first: what ssdp:all and NOTIFY cover. */
export function ssdpTargets(igd: IgdDevice): SsdpTarget[] {
  const out: SsdpTarget[] = [{ target: 'upnp:rootdevice', usn: `${igd.root.udn}::upnp:rootdevice` }];
  for (const d of allDevices(igd)) {
    out.push({ target: d.udn, usn: d.udn }, { target: d.deviceType, usn: `${d.udn}::${d.deviceType}` });
    for (const s of d.services) out.push({ target: s.definition.serviceType, usn: `${d.udn}::${s.definition.serviceType}` });
  }
  return out;
}

/** The (ST, USN) pairs answering a search for `st` (empty when we have nothing for it). */
export function searchMatches(igd: IgdDevice, st: string): SsdpTarget[] {
  const all = ssdpTargets(igd);
  if (st === 'ssdp:all') return all;
  if (st === 'upnp:rootdevice') return all.slice(0, 1);
  if (/^uuid:/i.test(st)) return all.filter((t) => t.target === st && t.usn === st);
  const asked = splitUrnVersion(st);
  if (!asked || !/^urn:[^:]+:(device|service):[^:]+$/.test(asked.name) || asked.version < 1) return [];
  const out: SsdpTarget[] = [];
  for (const t of all) {
    const ours = splitUrnVersion(t.target);
    if (!ours || ours.name !== asked.name || ours.version < asked.version || !t.target.startsWith('urn:')) continue;
    // Same version or lower: answer with the version asked (UDA 1.1 section 1.3.2).
    out.push({ target: st, usn: `${t.usn.slice(0, t.usn.indexOf('::'))}::${st}` });
  }
  return out;
}

const DEFAULT_SERVER = `Node.js/${process.versions.node} UPnP/1.1 homenet-controller/0.1`;

export class SsdpResponder {
  private readonly table: InterfaceTableSource;
  private readonly scheduler: SchedulerLike;
  private readonly maxAge: number;
  private readonly interval: number;
  private readonly unsubscribers: Array<() => void> = [];
  private readonly started: SsdpResponderTransport[] = [];
  private timer: Subscription | undefined;
  private running = false;
  private currentBootId: number | undefined;
  private configIdValue: number;
  private windowStart = 0;
  private windowCount = 0;
  /** Datagrams sent, by kind (for tests and metrics). */
  readonly counters = { searchesAnswered: 0, repliesSent: 0, repliesDropped: 0, alive: 0, byebye: 0, ignored: 0 };

  constructor(private readonly options: SsdpResponderOptions) {
    this.table = options.interfaceTable ?? systemInterfaceTable;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.maxAge = options.maxAgeSeconds ?? 1800;
    this.interval = options.notifyIntervalMs ?? 300000;
    this.configIdValue = options.configId;
    if (!(Number.isInteger(this.maxAge) && this.maxAge >= 60 && this.maxAge <= 86400)) throw new RangeError(`maxAgeSeconds must be in 60..86400, got ${this.maxAge}`);
    if (!(this.interval > 0 && this.interval < (this.maxAge * 1000) / 2)) throw new RangeError('notifyIntervalMs must be positive and below maxAgeSeconds/2');
    if (!(Number.isInteger(options.configId) && options.configId >= 0 && options.configId < 2 ** 24)) throw new RangeError('configId must be in 0..16777215');
    if (options.interfaces.length === 0) throw new RangeError('interfaces must name at least one interface');
  }

  /** BOOTID.UPNP.ORG of the current (or last) run. */
  get bootId(): number | undefined {
    return this.currentBootId;
  }

  get configId(): number {
    return this.configIdValue;
  }

  /** Opens the transports (those that fail are reported and skipped), announces, schedules re-announcements. */
  async start(): Promise<void> {
    if (this.running) return;
    const clockSeconds = Math.floor(this.scheduler.now() / 1000) % 2 ** 31;
    const first = this.options.bootId ?? clockSeconds;
    this.currentBootId = this.currentBootId === undefined ? first : Math.max(this.currentBootId + 1, clockSeconds) % 2 ** 31;
    const failures: string[] = [];
    for (const t of this.options.transports) {
      this.unsubscribers.push(t.onDatagram((d) => this.onDatagram(t, d)));
      try {
        await t.start();
        this.started.push(t);
      } catch (e) {
        failures.push(`${t.family}: ${(e as Error)?.message ?? String(e)}`);
        this.report(e);
      }
    }
    if (this.started.length === 0) {
      this.unsubscribers.splice(0).forEach((u) => u());
      throw new Error(`SSDP responder: no transport could start (${failures.join('; ') || 'none given'})`);
    }
    this.running = true;
    await this.announceAll('ssdp:alive');
    // The responder travels as the action's state: `this` inside is the action.
    this.timer = this.scheduler.schedule(function (this: SchedulerAction<SsdpResponder>, self?: SsdpResponder) {
      if (!self?.running) return;
      void self.announceAll('ssdp:alive');
      this.schedule(self, self.interval);
    }, this.interval, this);
  }

  /** Says ssdp:byebye and closes the transports. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.timer?.unsubscribe();
    this.timer = undefined;
    await this.announceAll('ssdp:byebye');
    this.running = false;
    this.unsubscribers.splice(0).forEach((u) => u());
    await Promise.allSettled(this.started.splice(0).map((t) => t.close()));
  }

  /** New served documents: byebye under the old CONFIGID, alive under the new one. */
  async setConfigId(configId: number): Promise<void> {
    if (!(Number.isInteger(configId) && configId >= 0 && configId < 2 ** 24)) throw new RangeError('configId must be in 0..16777215');
    if (configId === this.configIdValue) return;
    if (this.running) await this.announceAll('ssdp:byebye');
    this.configIdValue = configId;
    if (this.running) await this.announceAll('ssdp:alive');
  }

  private httpPort(family: 'ipv4' | 'ipv6'): number {
    const p = this.options.httpPort;
    return typeof p === 'number' ? p : p[family];
  }

  /** LOCATION for `family` on `interfaceName`, for a search from `sender` (or a NOTIFY when absent). */
  locationFor(family: 'ipv4' | 'ipv6', interfaceName: string, sender?: string): string | undefined {
    const infos = this.table()[interfaceName] ?? [];
    const path = this.options.igd.descriptionPath;
    if (family === 'ipv4') {
      const v4 = infos.filter((i) => i.family === 'IPv4');
      const onLink = sender !== undefined
        ? v4.find((i) => i.cidr && inPrefix(sender, i.address, Number(i.cidr.slice(i.cidr.lastIndexOf('/') + 1)))) : undefined;
      const pick = onLink ?? v4[0];
      return pick ? `http://${pick.address}:${this.httpPort('ipv4')}${path}` : undefined;
    }
    const v6 = infos.filter((i) => i.family === 'IPv6' && !isLinkLocalIpv6(i.address) && splitZone(i.address).address !== '::');
    const senderBare = sender !== undefined ? splitZone(sender).address : undefined;
    const onLink = senderBare !== undefined
      ? v6.find((i) => i.cidr && inPrefix(senderBare, i.address, Number(i.cidr.slice(i.cidr.lastIndexOf('/') + 1)))) : undefined;
    const pick = onLink ?? v6.find((i) => isNonUlaGlobalIpv6(i.address)) ?? v6[0];
    return pick ? `http://[${splitZone(pick.address).address}]:${this.httpPort('ipv6')}${path}` : undefined;
  }

  private arrivalInterface(t: SsdpResponderTransport, d: SsdpDatagram): string | undefined {
    if (d.interfaceName) return d.interfaceName;
    const table = this.table();
    if (t.family === 'ipv4') return interfaceOfIpv4Neighbour(table, d.remoteAddress);
    const { address, zone } = splitZone(d.remoteAddress);
    if (zone) return zone;
    return this.options.interfaces.find((name) => isOnLinkIpv6(table, name, address));
  }

  private onDatagram(t: SsdpResponderTransport, d: SsdpDatagram): void {
    if (!this.running) return;
    const msg = tryParseSsdpMessage(d.data);
    if (msg instanceof Error || msg.kind !== 'm-search') {
      if (msg instanceof Error) this.counters.ignored++;
      return;
    }
    const iface = this.arrivalInterface(t, d);
    if (iface === undefined || !this.options.interfaces.includes(iface)) {
      this.counters.ignored++;
      return;
    }
    const matches = searchMatches(this.options.igd, msg.searchTarget);
    if (matches.length === 0) return;
    const location = this.locationFor(t.family, iface, d.remoteAddress);
    if (!location) {
      this.report(new Error(`SSDP responder: no ${t.family} address on ${iface} for a LOCATION`));
      return;
    }
    this.counters.searchesAnswered++;
    for (const m of matches) {
      if (!this.admitReply()) {
        this.counters.repliesDropped++;
        continue;
      }
      const bytes = formatSearchResponse(this.announcement(m, location));
      this.counters.repliesSent++;
      t.reply(bytes, d.remoteAddress, d.remotePort, iface).catch((e: unknown) => this.report(e));
    }
  }

  private admitReply(): boolean {
    const now = this.scheduler.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount++;
    return this.windowCount <= (this.options.maxRepliesPerSecond ?? 500);
  }

  private announcement(m: SsdpTarget, location: string | undefined): SsdpAnnouncement {
    const a: SsdpAnnouncement = {
      searchTarget: m.target,
      usn: m.usn,
      maxAgeSeconds: this.maxAge,
      server: this.options.serverHeader ?? DEFAULT_SERVER,
      bootId: this.currentBootId,
      configId: this.configIdValue,
    };
    if (location !== undefined) a.location = location;
    return a;
  }

  private async announceAll(nts: SsdpNts): Promise<void> {
    const targets = ssdpTargets(this.options.igd);
    const sends: Array<Promise<void>> = [];
    for (const t of this.started) {
      for (const iface of this.options.interfaces) {
        const location = this.locationFor(t.family, iface);
        if (location === undefined) continue;
        for (const m of targets) {
          const a = this.announcement(m, nts === 'ssdp:byebye' ? undefined : location);
          const make = (group: string): Buffer => {
            const bytes = formatNotify(nts, a, t.family);
            // formatNotify names ff02::c; the site-local copy names its own group.
            return group === SSDP_IPV6_SITE_LOCAL_GROUP
              ? Buffer.from(bytes.toString('utf8').replace('HOST: [FF02::C]:1900', 'HOST: [FF05::C]:1900'), 'utf8') : bytes;
          };
          if (nts === 'ssdp:alive') this.counters.alive++;
          else this.counters.byebye++;
          sends.push(t.announce(make, iface).catch((e: unknown) => this.report(e)));
        }
      }
    }
    await Promise.all(sends);
  }

  private report(e: unknown): void {
    try {
      this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
    } catch {
      /* ignore */
    }
  }
}

/** The groups a family's NOTIFY goes to. */
export function ssdpGroups(family: 'ipv4' | 'ipv6'): string[] {
  return family === 'ipv4' ? [SSDP_IPV4_GROUP] : [SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP];
}
