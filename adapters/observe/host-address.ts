import { AddressScope, canonicalAddress, inPrefix, scopeOf } from '../../policies/model/address';

/**
 * One address of this host, as the kernel reports it (`ip -j addr`).
 * `temporary` is an RFC 8981 privacy address; `deprecated` means its preferred
 * lifetime ran out (still valid, no longer chosen for new connections).
 */
export interface HostAddress {
  readonly interface: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Canonical form (`canonicalAddress` of the address module). */
  readonly address: string;
  readonly prefixLength: number;
  /** The address module's scope (`gua` for a global IPv6 address, `public` for a global IPv4 one). */
  readonly scope: AddressScope;
  readonly temporary: boolean;
  readonly deprecated: boolean;
  readonly tentative: boolean;
  /** Seconds; `Infinity` for a permanent address. */
  readonly preferredLifetime: number;
  readonly validLifetime: number;
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
      const address = canonicalAddress(info.local);
      if (address === undefined) continue;
      const preferred = lifetime(info.preferred_life_time);
      result.push({
        interface: link.ifname,
        family: info.family === 'inet6' ? 'ipv6' : 'ipv4',
        address,
        prefixLength: Number(info.prefixlen),
        scope: scopeOf(address),
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
