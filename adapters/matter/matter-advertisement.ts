import { DnsRecord, DnsType } from './dns-message';
import { MdnsRecordCache } from './mdns-record-cache';

/** The DNS-SD services that reveal Matter (and Thread) on a link. */
export const MATTER_SERVICES = {
  operational: '_matter._tcp.local',
  commissionable: '_matterc._udp.local',
  threadBorderRouter: '_meshcop._udp.local',
} as const;

export type MatterServiceKind = keyof typeof MATTER_SERVICES;

/** What the commissionable TXT record says (Matter core spec §4.3.1.3); absent keys stay absent. */
export interface CommissionableTxt {
  readonly discriminator?: number;
  readonly vendorId?: number;
  readonly productId?: number;
  readonly deviceType?: number;
  /** 0 not open, 1 passcode, 2 enhanced (ECM). */
  readonly commissioningMode?: number;
  readonly deviceName?: string;
}

/** One service instance a host advertises. */
export interface MatterServiceInstance {
  readonly kind: MatterServiceKind;
  /** Instance label, e.g. `2906C908D115D362-8FC7772401CD0696` or `DD8C1A9B7C3E0F11`. */
  readonly instance: string;
  readonly port?: number;
  readonly txt: Readonly<Record<string, string>>;
  /** Subtype labels, e.g. `_L3840`, `_V65521`, `_CM`. */
  readonly subtypes: readonly string[];
  readonly commissionable?: CommissionableTxt;
  /** From an operational instance: the compressed fabric id and node id (16 hex digits each). */
  readonly operational?: { readonly compressedFabricId: string; readonly nodeId: string };
}

export interface AdvertisedAddress {
  readonly address: string;
  readonly ttl: number;
}

/** A host that advertises at least one Matter or Thread service. */
export interface MatterHost {
  /** The SRV target, e.g. `D2A1B3C4E5F60718.local` (lowercased). */
  readonly host: string;
  readonly services: readonly MatterServiceInstance[];
  readonly addresses: readonly AdvertisedAddress[];
}

const OPERATIONAL_INSTANCE = /^([0-9A-Fa-f]{16})-([0-9A-Fa-f]{16})$/;

function parseUint(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** Splits TXT strings into key/value pairs (first occurrence wins, RFC 6763 §6.4); keys are case-insensitive. */
export function parseTxt(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = (eq < 0 ? entry : entry.slice(0, eq)).toUpperCase();
    if (key.length === 0 || key.length > 64 || key in out) continue;
    out[key] = eq < 0 ? '' : entry.slice(eq + 1);
  }
  return out;
}

/** Reads the commissionable TXT keys; malformed values are left out rather than guessed. */
export function parseCommissionableTxt(txt: Readonly<Record<string, string>>): CommissionableTxt {
  const result: { -readonly [K in keyof CommissionableTxt]: CommissionableTxt[K] } = {};
  const d = parseUint(txt.D, 0xfff);
  if (d !== undefined) result.discriminator = d;
  const vp = /^(\d{1,5})(?:\+(\d{1,5}))?$/.exec(txt.VP ?? '');
  if (vp) {
    const vendor = parseUint(vp[1], 0xffff);
    const product = parseUint(vp[2], 0xffff);
    if (vendor !== undefined) result.vendorId = vendor;
    if (product !== undefined) result.productId = product;
  }
  const dt = parseUint(txt.DT, 0xffffffff);
  if (dt !== undefined) result.deviceType = dt;
  const cm = parseUint(txt.CM, 2);
  if (cm !== undefined) result.commissioningMode = cm;
  if (txt.DN !== undefined && txt.DN.length <= 32) result.deviceName = txt.DN;
  return result;
}

function serviceOf(name: string): { kind: MatterServiceKind; instance: string } | undefined {
  const lower = name.toLowerCase();
  for (const [kind, service] of Object.entries(MATTER_SERVICES) as [MatterServiceKind, string][]) {
    if (lower.endsWith(`.${service}`)) {
      const instance = name.slice(0, name.length - service.length - 1);
      if (instance.length > 0 && !instance.includes('._sub')) return { kind, instance };
    }
  }
  return undefined;
}

const SUBTYPE = /^(_[^.]+)\._sub\./i;

function instanceOf(cache: MdnsRecordCache, srv: DnsRecord & { target: string; port: number }): MatterServiceInstance | undefined {
  const service = serviceOf(srv.name);
  if (!service) return undefined;
  const txtRecord = cache.find(srv.name, DnsType.TXT)[0] as (DnsRecord & { entries: readonly string[] }) | undefined;
  const txt = parseTxt(txtRecord?.entries ?? []);
  const subtypes: string[] = [];
  for (const ptr of cache.findByTarget(DnsType.PTR, srv.name)) {
    const match = SUBTYPE.exec(ptr.name);
    if (match && !subtypes.includes(match[1])) subtypes.push(match[1]);
  }
  const op = service.kind === 'operational' ? OPERATIONAL_INSTANCE.exec(service.instance) : null;
  return {
    kind: service.kind,
    instance: service.instance,
    port: srv.port,
    txt,
    subtypes: subtypes.sort(),
    ...(service.kind === 'commissionable' ? { commissionable: parseCommissionableTxt(txt) } : {}),
    ...(op ? { operational: { compressedFabricId: (op[1]).toUpperCase(), nodeId: (op[2]).toUpperCase() } } : {}),
  };
}

/**
 * One host as the cache describes it: its Matter/Thread service instances (SRV records that
 * target it, with their TXT and subtypes) and its live A/AAAA records; undefined when no
 * instance targets it any more. Cost: the host's own records (indexed lookups, no scan).
 *
 * @example
 * ```ts
 * matterHost(cache, 'd2a1b3c4e5f60718.local')?.addresses; // [{ address: '2001:db8:77::20', ttl: 120 }]
 * ```
 */
export function matterHost(cache: MdnsRecordCache, hostName: string): MatterHost | undefined {
  const host = hostName.toLowerCase();
  const services: MatterServiceInstance[] = [];
  for (const srv of cache.findByTarget(DnsType.SRV, host) as (DnsRecord & { target: string; port: number })[]) {
    const instance = instanceOf(cache, srv);
    if (instance) services.push(instance);
  }
  if (services.length === 0) return undefined;
  const addresses = [...cache.find(host, DnsType.AAAA), ...cache.find(host, DnsType.A)].map((r) => ({
    address: (r as DnsRecord & { address: string }).address,
    ttl: r.ttl,
  }));
  services.sort((a, b) => `${a.kind}${a.instance}`.localeCompare(`${b.kind}${b.instance}`));
  return { host, services, addresses };
}

/**
 * The hosts whose description a record changes (added, refreshed or removed): an address's
 * owner, an SRV's target, and the targets of the SRVs of the instance a TXT or subtype PTR
 * names. The watcher recomputes only these.
 *
 * @example
 * ```ts
 * hostsTouchedBy(cache, aaaaRecord); // ['plug.local']
 * ```
 */
export function hostsTouchedBy(cache: MdnsRecordCache, record: DnsRecord): string[] {
  switch (record.type) {
    case DnsType.A:
    case DnsType.AAAA:
      return [record.name.toLowerCase()];
    case DnsType.SRV:
      return [(record as DnsRecord & { target: string }).target.toLowerCase()];
    case DnsType.TXT:
      return cache.find(record.name, DnsType.SRV).map((srv) => (srv as DnsRecord & { target: string }).target.toLowerCase());
    case DnsType.PTR:
      return cache.find((record as DnsRecord & { target: string }).target, DnsType.SRV).map((srv) => (srv as DnsRecord & { target: string }).target.toLowerCase());
    default:
      return [];
  }
}

/**
 * The Matter and Thread hosts a record cache describes: every service instance
 * that has an SRV record, grouped by its target host, with the host's live A
 * and AAAA records. Instances known only from a PTR (no SRV yet) are not hosts
 * yet: the watcher asks for their SRV. (A scan of the SRV records: the watcher
 * uses {@link matterHost} per touched host instead.)
 *
 * @example
 * ```ts
 * for (const host of matterHosts(cache)) console.log(host.host, host.services.map((s) => s.kind));
 * ```
 */
export function matterHosts(cache: MdnsRecordCache): MatterHost[] {
  const names = new Set<string>();
  for (const srv of cache.all(DnsType.SRV)) names.add((srv as DnsRecord & { target: string }).target.toLowerCase());
  const result: MatterHost[] = [];
  for (const name of names) {
    const host = matterHost(cache, name);
    if (host) result.push(host);
  }
  return result.sort((a, b) => a.host.localeCompare(b.host));
}

/** Service names to ask for when the watcher starts. */
export function matterServiceQueries(): string[] {
  return Object.values(MATTER_SERVICES);
}
