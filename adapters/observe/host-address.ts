import ipaddr from 'ipaddr.js';
import { inPrefix, splitZone, toRfc5952 } from '../upnp/ip-address';

/** Where an address is valid. */
export type AddressScope = 'loopback' | 'link-local' | 'ula' | 'global' | 'private' | 'cgnat' | 'other';

/**
 * One address of this host, as the kernel reports it (`ip -j addr`).
 * `temporary` is an RFC 8981 privacy address; `deprecated` means its preferred
 * lifetime ran out (still valid, no longer chosen for new connections).
 */
export interface HostAddress {
  readonly interface: string;
  readonly family: 'ipv4' | 'ipv6';
  /** RFC 5952 form for IPv6, dotted quad for IPv4. */
  readonly address: string;
  readonly prefixLength: number;
  readonly scope: AddressScope;
  readonly temporary: boolean;
  readonly deprecated: boolean;
  readonly tentative: boolean;
  /** Seconds; `Infinity` for a permanent address. */
  readonly preferredLifetime: number;
  readonly validLifetime: number;
}

/** Classifies an address literal (IPv4 or IPv6) by scope. */
export function addressScope(literal: string): AddressScope {
  const parsed = ipaddr.parse(literal);
  const range = parsed.range();
  if (parsed.kind() === 'ipv6') {
    switch (range) {
      case 'loopback':
        return 'loopback';
      case 'linkLocal':
        return 'link-local';
      case 'uniqueLocal':
        return 'ula';
      case 'unicast':
        return 'global';
      default:
        // 2001:db8::/32 is documentation space; the lab and tests use it as global.
        return (parsed as ipaddr.IPv6).match(ipaddr.parseCIDR('2000::/3')) ? 'global' : 'other';
    }
  }
  switch (range) {
    case 'loopback':
      return 'loopback';
    case 'linkLocal':
      return 'link-local';
    case 'private':
      return 'private';
    case 'carrierGradeNat':
      return 'cgnat';
    case 'unicast':
      return 'global';
    default:
      return 'other';
  }
}

/** RFC 5952 text of an IPv6 literal (lowercase, compressed, zone dropped); IPv4 unchanged. */
export function canonicalAddress(literal: string): string {
  return toRfc5952(splitZone(literal).address);
}

interface IpJsonAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope?: string;
  temporary?: boolean;
  deprecated?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
  valid_life_time?: number;
  preferred_life_time?: number;
}

interface IpJsonLink {
  ifname: string;
  flags?: string[];
  addr_info?: IpJsonAddrInfo[];
}

const FOREVER = 4294967295;

function lifetime(value: number | undefined): number {
  return value === undefined || value >= FOREVER ? Infinity : value;
}

/**
 * Parses the JSON printed by `ip -j addr show`. Unknown families and
 * malformed entries are skipped, never thrown on: the kernel's list is input.
 *
 * @example
 * ```ts
 * const { stdout } = await runCommand('ip', ['-j', 'addr', 'show']);
 * const addresses = parseIpAddrJson(stdout);
 * ```
 */
export function parseIpAddrJson(json: string): HostAddress[] {
  let links: unknown;
  try {
    links = JSON.parse(json);
  } catch (error) {
    throw new Error(`cannot parse 'ip -j addr' output: ${(error as Error).message}`);
  }
  if (!Array.isArray(links)) throw new Error("'ip -j addr' output is not a list of interfaces");
  const result: HostAddress[] = [];
  for (const link of links as IpJsonLink[]) {
    if (!link || typeof link.ifname !== 'string' || !Array.isArray(link.addr_info)) continue;
    for (const info of link.addr_info) {
      if (!info || (info.family !== 'inet' && info.family !== 'inet6') || typeof info.local !== 'string') continue;
      if (!ipaddr.isValid(info.local)) continue;
      const preferred = lifetime(info.preferred_life_time);
      result.push({
        interface: link.ifname,
        family: info.family === 'inet6' ? 'ipv6' : 'ipv4',
        address: canonicalAddress(info.local),
        prefixLength: Number(info.prefixlen),
        scope: addressScope(info.local),
        temporary: info.temporary === true,
        deprecated: info.deprecated === true || preferred === 0,
        tentative: info.tentative === true || info.dadfailed === true,
        preferredLifetime: preferred,
        validLifetime: lifetime(info.valid_life_time),
      });
    }
  }
  return result;
}

/** True when `address` lies in the on-link prefix of `local`. */
export function isOnLink(local: HostAddress, address: string): boolean {
  return inPrefix(address, local.address, local.prefixLength);
}
