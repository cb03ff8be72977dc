import ipaddr from 'ipaddr.js';
import { parseAddress as parse } from './address-parse';

/** Address family of an address, a need or a grant. */
export type Family = 'ipv4' | 'ipv6';

/**
 * Where an address is valid. IPv6: `link-local` (fe80::/10), `ula` (fc00::/7),
 * `gua` (global unicast). IPv4: `private` (RFC 1918), `cgnat` (100.64.0.0/10),
 * `public`, `link-local` (169.254/16). `other` covers loopback, multicast and
 * unspecified addresses, which are never valid pinhole or mapping targets.
 */
export type AddressScope = 'link-local' | 'ula' | 'gua' | 'private' | 'cgnat' | 'public' | 'other';

/** One address of a device, as the observers (ND, DHCP, mDNS, Matter) report it. */
export interface DeviceAddress {
  /** Canonical text form (RFC 5952 for IPv6). */
  readonly address: string;
  readonly family: Family;
  readonly scope: AddressScope;
  /** SLAAC stable / DHCP address (true) or an RFC 8981 temporary address (false). */
  readonly stable: boolean;
  /** A deprecated address must not be used for new or existing grants. */
  readonly deprecated: boolean;
  /** Seconds, as advertised; informational. */
  readonly preferredLifetime?: number;
  readonly validLifetime?: number;
}

/** How an event describes an address; family and scope are derived when absent. */
export interface AddressInput {
  address: string;
  scope?: AddressScope;
  temporary?: boolean;
  deprecated?: boolean;
  preferredLifetime?: number;
  validLifetime?: number;
}

/**
 * Canonical form of an IP address literal, or `undefined` when it is not one.
 * Zone ids (`%eth0`) are dropped. Results are memoised (bounded) because the
 * same addresses come back in every event about a device.
 *
 * @example
 * canonicalAddress('2001:DB8:0:0::1') // '2001:db8::1'
 */
export function canonicalAddress(text: string): string | undefined {
  return parse(text)?.address;
}

/** Family of a canonical address. */
export function familyOf(address: string): Family {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** Scope of a canonical address. */
export function scopeOf(address: string): AddressScope {
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  if (parsed.kind() === 'ipv6') {
    switch (range) {
      case 'linkLocal':
        return 'link-local';
      case 'uniqueLocal':
        return 'ula';
      case 'unspecified':
      case 'loopback':
      case 'multicast':
      case 'ipv4Mapped':
        return 'other';
      default:
        return 'gua';
    }
  }
  switch (range) {
    case 'private':
      return 'private';
    case 'carrierGradeNat':
      return 'cgnat';
    case 'linkLocal':
      return 'link-local';
    case 'unspecified':
    case 'loopback':
    case 'multicast':
    case 'broadcast':
      return 'other';
    default:
      return 'public';
  }
}

/** True for the literal "any" addresses a client must never send as InternalClient. */
export function isWildcardAddress(text: string | undefined): boolean {
  return text === undefined || text === '' || text === '*' || text === '::' || text === '0.0.0.0';
}

/** Turns an {@link AddressInput} into a {@link DeviceAddress}; `undefined` if the literal is invalid. */
export function toDeviceAddress(input: AddressInput): DeviceAddress | undefined {
  const parsed = parse(input.address);
  if (parsed === undefined) return undefined;
  return {
    address: parsed.address,
    family: parsed.family,
    scope: input.scope ?? parsed.scope,
    stable: input.temporary !== true,
    deprecated: input.deprecated === true,
    ...(input.preferredLifetime !== undefined ? { preferredLifetime: input.preferredLifetime } : {}),
    ...(input.validLifetime !== undefined ? { validLifetime: input.validLifetime } : {}),
  };
}
