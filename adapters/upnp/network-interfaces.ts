/**
 * The host's network interfaces as the discovery code needs them: which interfaces to
 * search on (IPv4: any non-internal IPv4 address; IPv6: only interfaces with a non-ULA
 * global address — the IGD:2 search gate), and which IPv6 prefixes are on-link where
 * (for the LOCATION check). The table is injectable so tests can describe any host.
 *
 * @example
 * ```ts
 * const table = systemInterfaceTable();
 * ipv6SearchInterfaces(table);               // [{ name: 'eth0', address: '2001:db8:77::10', ... }]
 * isOnLinkIpv6(table, 'eth0', '2001:db8:77::1'); // true when 2001:db8:77::/64 is on eth0
 * ```
 */
import os from 'node:os';
import { inPrefix, isLinkLocalIpv6, isNonUlaGlobalIpv6, splitZone } from '../../policies/model/address';

/** Same shape as `os.networkInterfaces()`. */
export type InterfaceTable = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/** Reads the table; injectable. */
export type InterfaceTableSource = () => InterfaceTable;

/** The real host's interfaces. */
export const systemInterfaceTable: InterfaceTableSource = () => os.networkInterfaces();

/** One interface chosen for a search. */
export interface SearchInterface {
  name: string;
  /** The address identifying the interface: IPv4 address, or the non-ULA global IPv6 address. */
  address: string;
  /** IPv6 only: the interface's link-local address, if any. */
  linkLocalAddress?: string;
  /** IPv6 only: the interface index (scope id) when known. */
  scopeId?: number;
}

function selected(table: InterfaceTable, names: readonly string[] | undefined): Array<[string, os.NetworkInterfaceInfo[]]> {
  const entries = Object.entries(table).filter((e): e is [string, os.NetworkInterfaceInfo[]] => Array.isArray(e[1]));
  if (!names) return entries.filter(([, infos]) => infos.every((i) => !i.internal));
  return entries.filter(([name]) => names.includes(name));
}

/** Interfaces with an IPv4 address (non-internal unless named explicitly). */
export function ipv4SearchInterfaces(table: InterfaceTable, names?: readonly string[]): SearchInterface[] {
  const out: SearchInterface[] = [];
  for (const [name, infos] of selected(table, names)) {
    const v4 = infos.find((i) => i.family === 'IPv4');
    if (v4) out.push({ name, address: v4.address });
  }
  return out;
}

/**
 * Interfaces allowed to carry an IPv6 IGD search: they must hold a non-ULA global
 * address (2000::/3). A host with only link-local or ULA addresses has no pinhole to open.
 */
export function ipv6SearchInterfaces(table: InterfaceTable, names?: readonly string[]): SearchInterface[] {
  const out: SearchInterface[] = [];
  for (const [name, infos] of selected(table, names)) {
    const global = infos.find((i) => i.family === 'IPv6' && isNonUlaGlobalIpv6(i.address));
    if (!global) continue;
    const ll = infos.find((i) => i.family === 'IPv6' && isLinkLocalIpv6(i.address));
    const entry: SearchInterface = { name, address: global.address };
    if (ll) entry.linkLocalAddress = splitZone(ll.address).address;
    if (global.scopeid !== undefined && global.scopeid !== 0) entry.scopeId = global.scopeid;
    else if (ll?.scopeid) entry.scopeId = ll.scopeid;
    out.push(entry);
  }
  return out;
}

/**
 * True when `address` is on-link for `interfaceName`: fe80::/10 always is; a global or ULA
 * address is when it falls inside the prefix (CIDR) of one of the interface's IPv6 addresses.
 */
export function isOnLinkIpv6(table: InterfaceTable, interfaceName: string, address: string): boolean {
  if (isLinkLocalIpv6(address)) return true;
  const infos = table[interfaceName] ?? [];
  for (const info of infos) {
    if (info.family !== 'IPv6' || !info.cidr) continue;
    const slash = info.cidr.lastIndexOf('/');
    const len = Number(info.cidr.slice(slash + 1));
    if (isLinkLocalIpv6(info.address)) continue;
    if (Number.isInteger(len) && len > 0 && inPrefix(address, info.address, len)) return true;
  }
  return false;
}

/** The interface whose IPv4 subnet contains `address` (the likely arrival interface). */
export function interfaceOfIpv4Neighbour(table: InterfaceTable, address: string): string | undefined {
  for (const [name, infos] of Object.entries(table)) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4' || !info.cidr) continue;
      const len = Number(info.cidr.slice(info.cidr.lastIndexOf('/') + 1));
      if (inPrefix(address, info.address, len)) return name;
    }
  }
  return undefined;
}
