import type { Family } from '../../policies/model/address';
import type { Table } from '../../policies/model/gateway';
import { FirewallEntry } from './firewall-entry';

/**
 * Where the adapter's elements live: one table of its own (family `inet`),
 * with a set per pinhole shape and a DNAT map per port-mapping shape, every
 * one `flags timeout` so the kernel expires a lease even when the daemon is
 * dead. The shapes exist because hash sets match exact keys only: a pinhole
 * for any remote host and one for a single remote host are different keys.
 *
 * ```
 * table inet homenet {
 *   set pinhole_ipv6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }        # daddr . proto . dport
 *   set pinhole_ipv6_rh { type ipv6_addr . ipv6_addr . inet_proto . inet_service; ... }     # saddr . daddr . proto . dport
 *   ...
 *   map portmap_ipv4 { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }
 *   chain prerouting { type nat hook prerouting priority dstnat - 10; ...   # DNAT + ct mark
 *   chain forward { type filter hook forward priority filter - 10; ...       # meta mark on permitted packets
 * }
 * ```
 *
 * **Composition with the host's firewall.** An `accept` in this table does
 * not stop another table's base chain from dropping the packet (every base
 * chain on the hook sees it). So this table never drops anything; it *marks*
 * what it permits: `meta mark |= mark` on every forwarded packet that matches
 * a pinhole, or that belongs to a connection DNATed by one of our port
 * mappings (that connection carries `ct mark |= mark`). The host's default-
 * deny forward chain must accept marked packets, with the one rule
 * {@link hostAcceptRule} returns, placed before its final drop:
 * `meta mark & 0x00000100 == 0x00000100 accept comment "homenet permissions"`.
 */
export interface TableLayoutOptions {
  /** Table name (family `inet`); default `homenet`. */
  readonly table?: string;
  /** WAN interfaces: only packets arriving on them are matched. */
  readonly wanInterfaces: readonly string[];
  /** The mark bit(s) set on permitted packets; default 0x100. */
  readonly mark?: number;
  /** Forward chain priority; default -10 (just before `filter`, 0). */
  readonly forwardPriority?: number;
  /** DNAT chain priority; default -110 (just before `dstnat`, -100). */
  readonly dnatPriority?: number;
}

export interface ResolvedLayout {
  readonly table: string;
  readonly wanInterfaces: readonly string[];
  readonly mark: number;
  readonly forwardPriority: number;
  readonly dnatPriority: number;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/;
const IFNAME = /^[A-Za-z0-9_.:*-]{1,15}$/;

/** Validates layout options (clear errors naming the option) and fills defaults. */
export function resolveLayout(options: TableLayoutOptions): ResolvedLayout {
  const table = options.table ?? 'homenet';
  if (!NAME.test(table)) throw new Error(`nftables table name ${JSON.stringify(table)} is invalid (letters, digits, _ and -, at most 31)`);
  const wanIn: unknown = options.wanInterfaces; // checked as unknown: a JavaScript caller may pass anything
  if (!Array.isArray(wanIn) || wanIn.length === 0) throw new Error('nftables wanInterfaces must name at least one interface');
  for (const i of options.wanInterfaces) if (!IFNAME.test(i)) throw new Error(`nftables wanInterfaces entry ${JSON.stringify(i)} is not an interface name`);
  const mark = options.mark ?? 0x100;
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff) throw new Error(`nftables mark ${mark} must be a non-zero 32-bit integer`);
  const forwardPriority = options.forwardPriority ?? -10;
  const dnatPriority = options.dnatPriority ?? -110;
  for (const [k, v] of [['forwardPriority', forwardPriority], ['dnatPriority', dnatPriority]] as const) {
    if (!Number.isInteger(v) || Math.abs(v) > 1000) throw new Error(`nftables ${k} ${v} must be an integer -1000..1000`);
  }
  return { table, wanInterfaces: [...options.wanInterfaces], mark, forwardPriority, dnatPriority };
}

type Field = 'remoteHost' | 'internalClient' | 'protocol' | 'internalPort' | 'externalPort' | 'remotePort';

/** One set (pinholes) or map (port mappings) of the table. */
export interface ElementSet {
  readonly name: string;
  readonly kind: Table;
  readonly family: Family;
  readonly remoteHost: boolean;
  readonly remotePort: boolean;
  /** Key fields in key order. */
  readonly key: readonly Field[];
  /** Map data (port mappings): internal client . internal port. */
  readonly data?: readonly Field[];
}

function shapes(kind: Table, family: Family): ElementSet[] {
  const base = kind === 'pinhole' ? `pinhole_${family}` : `portmap_${family}`;
  const middle: Field[] = kind === 'pinhole' ? ['internalClient', 'protocol', 'internalPort'] : ['protocol', 'externalPort'];
  const out: ElementSet[] = [];
  for (const rh of [false, true]) {
    for (const rp of [false, true]) {
      const key: Field[] = [...(rh ? (['remoteHost'] as Field[]) : []), ...middle, ...(rp ? (['remotePort'] as Field[]) : [])];
      const suffix = rh && rp ? '_rhp' : rh ? '_rh' : rp ? '_rp' : '';
      out.push({
        name: base + suffix,
        kind,
        family,
        remoteHost: rh,
        remotePort: rp,
        key,
        ...(kind === 'port-mapping' ? { data: ['internalClient', 'internalPort'] as Field[] } : {}),
      });
    }
  }
  return out;
}

/** Every set and map of the table, most specific first (rule order). */
export const ELEMENT_SETS: readonly ElementSet[] = [...shapes('pinhole', 'ipv6'), ...shapes('pinhole', 'ipv4'), ...shapes('port-mapping', 'ipv4')].sort(
  (a, b) => Number(b.remoteHost) + Number(b.remotePort) - (Number(a.remoteHost) + Number(a.remotePort)),
);

const BY_NAME = new Map(ELEMENT_SETS.map((s) => [s.name, s]));

export function elementSetNamed(name: string): ElementSet | undefined {
  return BY_NAME.get(name);
}

/** The set or map an entry belongs in. */
export function elementSetOf(e: FirewallEntry): ElementSet {
  const rh = e.remoteHost !== '';
  const rp = e.remotePort !== 0;
  const found = ELEMENT_SETS.find((s) => s.kind === e.kind && s.family === e.family && s.remoteHost === rh && s.remotePort === rp);
  if (!found) throw new Error(`no nftables set for a ${e.family} ${e.kind}`);
  return found;
}

function nftType(field: Field, family: Family): string {
  if (field === 'remoteHost' || field === 'internalClient') return family === 'ipv6' ? 'ipv6_addr' : 'ipv4_addr';
  if (field === 'protocol') return 'inet_proto';
  return 'inet_service';
}

function packetExpr(field: Field, family: Family): string {
  const ip = family === 'ipv6' ? 'ip6' : 'ip';
  switch (field) {
    case 'remoteHost':
      return `${ip} saddr`;
    case 'internalClient':
      return `${ip} daddr`;
    case 'protocol':
      return 'meta l4proto';
    case 'internalPort':
    case 'externalPort':
      return 'th dport';
    case 'remotePort':
      return 'th sport';
  }
}

function fieldText(e: FirewallEntry, field: Field): string {
  const v = field === 'externalPort' ? e.externalPort : e[field];
  return String(v);
}

/** `2001:db8::10 . udp . 3074`: the element key as nft text. */
export function elementKeyText(set: ElementSet, e: FirewallEntry): string {
  return set.key.map((f) => fieldText(e, f)).join(' . ');
}

/** `192.168.1.10 . 3074`: the map data of a port mapping. */
export function elementDataText(set: ElementSet, e: FirewallEntry): string | undefined {
  return set.data?.map((f) => fieldText(e, f)).join(' . ');
}

/** The identity of an entry's element: `set:key` (port mappings: the data is not part of it). */
export function elementId(e: FirewallEntry): string {
  const set = elementSetOf(e);
  return `${set.name}:${elementKeyText(set, e)}`;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * The rule the host's default-deny forward chain needs (before its final
 * drop) to let through what this table permits.
 *
 * @example
 * ```ts
 * hostAcceptRule(resolveLayout({ wanInterfaces: ['wan0'] }));
 * // 'meta mark & 0x00000100 == 0x00000100 accept comment "homenet permissions"'
 * ```
 */
export function hostAcceptRule(layout: ResolvedLayout): string {
  return `meta mark & ${hex(layout.mark)} == ${hex(layout.mark)} accept comment "${layout.table} permissions"`;
}

/**
 * The transaction that creates the table, or brings an existing one up to
 * date, without losing a single element: sets are `add`ed (a no-op when they
 * exist with the same type), chains are flushed and their rules rewritten.
 */
export function installScript(layout: ResolvedLayout): string {
  const t = `inet ${layout.table}`;
  const wan = `iifname { ${layout.wanInterfaces.map((i) => `"${i}"`).join(', ')} }`;
  const mark = hex(layout.mark);
  const lines: string[] = [`add table ${t}`];
  for (const s of ELEMENT_SETS) {
    const type = s.key.map((f) => nftType(f, s.family)).join(' . ');
    if (s.data) {
      const data = s.data.map((f) => nftType(f, s.family)).join(' . ');
      lines.push(`add map ${t} ${s.name} { type ${type} : ${data}; flags timeout; }`);
    } else {
      lines.push(`add set ${t} ${s.name} { type ${type}; flags timeout; }`);
    }
  }
  lines.push(`add chain ${t} forward { type filter hook forward priority ${layout.forwardPriority}; policy accept; }`);
  lines.push(`add chain ${t} prerouting { type nat hook prerouting priority ${layout.dnatPriority}; policy accept; }`);
  lines.push(`flush chain ${t} forward`, `flush chain ${t} prerouting`);
  for (const s of ELEMENT_SETS) {
    const expr = s.key.map((f) => packetExpr(f, s.family)).join(' . ');
    const nfproto = s.family === 'ipv6' ? 'ipv6' : 'ipv4';
    if (s.kind === 'pinhole') {
      lines.push(`add rule ${t} forward ${wan} meta nfproto ${nfproto} ${expr} @${s.name} meta mark set meta mark | ${mark} accept`);
    } else {
      lines.push(`add rule ${t} prerouting ${wan} meta nfproto ipv4 ${expr} @${s.name} ct mark set ct mark | ${mark} dnat ip to ${expr} map @${s.name}`);
    }
  }
  lines.push(`add rule ${t} forward ${wan} ct status dnat ct mark & ${mark} == ${mark} meta mark set meta mark | ${mark} accept`);
  return lines.join('\n') + '\n';
}
