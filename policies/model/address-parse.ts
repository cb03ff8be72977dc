/**
 * The memoised address parser behind {@link canonicalAddress} and
 * {@link toDeviceAddress}, and the one place that turns an ipaddr.js value
 * into text. Internal (not exported from `policies/index.ts`): the inventory
 * uses it to compare a device's reported addresses with the ones it has
 * without building new records; everything else imports `./address`.
 */
import ipaddr from 'ipaddr.js';
import type { AddressScope, Family } from './address';
import { flat } from '../util/flat';

/** An address literal parsed: canonical text, family and scope. */
export interface Parsed {
  readonly address: string;
  readonly family: Family;
  readonly scope: AddressScope;
}
const cache = new Map<string, Parsed | null>();
const CACHE_LIMIT = 1 << 16;

/**
 * The canonical text of a parsed address: RFC 5952 for IPv6 (lowercase,
 * longest run of two or more zero groups compressed, first one on a tie), an
 * IPv4-mapped IPv6 address in the mixed form RFC 5952 §5 recommends
 * (`::ffff:192.0.2.1`), IPv4 as a dotted quad without leading zeros.
 */
export function formatIp(ip: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (ip.kind() === 'ipv4') return ip.toString();
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return `::ffff:${v6.toIPv4Address().toString()}`;
  return v6.toRFC5952String();
}

/**
 * The ipaddr.js value of an address literal without zone id, or `undefined`
 * when it is not one. Strict: IPv4 only as four decimal parts (ipaddr.js
 * alone also takes `127.1`, `0x7f.0.0.1` and `2130706433`).
 */
export function parseIp(bare: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.isValid(bare)) return undefined;
  if (!bare.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(bare)) return undefined;
  return ipaddr.parse(bare);
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

/** Scope of a parsed address (see {@link AddressScope}, which says what each range is). */
export function scopeOfParsed(ip: ipaddr.IPv4 | ipaddr.IPv6): AddressScope {
  const range = ip.range();
  if (ip.kind() === 'ipv6') {
    switch (range) {
      case 'linkLocal':
        return 'link-local';
      case 'uniqueLocal':
        return 'ula';
      case 'unspecified':
      case 'loopback':
      case 'multicast':
        return range;
      default:
        return (ip as ipaddr.IPv6).match(GLOBAL_UNICAST_V6) ? 'gua' : 'other';
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
      return range;
    case 'broadcast':
      return 'other';
    default:
      // 240/4 is the one 'reserved' block that is no unicast address.
      return (ip as ipaddr.IPv4).octets[0] >= 240 ? 'other' : 'public';
  }
}

/** Parses (memoised, bounded) an address literal into canonical text, family and scope; a zone id is dropped. */
export function parseAddress(text: string): Parsed | undefined {
  // A literal built by concatenation is compared piece by piece on every
  // lookup; flattened once, it compares (and is kept as a key) as one string.
  const hit = cache.get(flat(text));
  if (hit !== undefined) return hit ?? undefined;
  let result: Parsed | null = null;
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  const ip = parseIp(bare);
  if (ip !== undefined) {
    result = { address: formatIp(ip), family: ip.kind() === 'ipv6' ? 'ipv6' : 'ipv4', scope: scopeOfParsed(ip) };
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, result);
  return result ?? undefined;
}
