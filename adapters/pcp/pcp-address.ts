/**
 * The 16-byte address fields of PCP: IPv6 addresses as they are, IPv4
 * addresses as IPv4-mapped IPv6 (`::ffff:a.b.c.d`, RFC 6887 section 5). Text
 * goes in and out in canonical form (`policies/model/address.ts`), IPv4 as
 * dotted quad.
 *
 * @example
 * ```ts
 * decodePcpAddress(encodePcpAddress('192.168.77.10'), 0); // '192.168.77.10'
 * ```
 */
import ipaddr from 'ipaddr.js';
import { canonicalAddress } from '../../policies/model/address';
import { PcpRequestError } from './pcp-errors';

/** The all-zero IPv4 address as PCP writes it: `::ffff:0.0.0.0` (a suggested external IPv4 address of "any"). */
export const PCP_ANY_IPV4 = '0.0.0.0';
/** The all-zero IPv6 address (a suggested external IPv6 address of "any"). */
export const PCP_ANY_IPV6 = '::';

/**
 * The one place IPv4 <-> IPv4-mapped IPv6 conversion happens for PCP (the
 * address module has no such conversion yet): 16 bytes for an address literal.
 * Throws {@link PcpRequestError} for a literal that is not an address.
 */
export function encodePcpAddress(text: string): Buffer {
  const canonical = canonicalAddress(text);
  if (canonical === undefined) throw new PcpRequestError(`'${text}' is not an IP address`);
  const parsed = ipaddr.parse(canonical);
  const v6 = parsed.kind() === 'ipv4' ? (parsed as ipaddr.IPv4).toIPv4MappedAddress() : (parsed as ipaddr.IPv6);
  return Buffer.from(v6.toByteArray());
}

/** The address in 16 bytes at `offset`: dotted quad for IPv4-mapped, canonical IPv6 otherwise. */
export function decodePcpAddress(data: Uint8Array, offset: number): string {
  const bytes = Array.from(data.subarray(offset, offset + 16));
  const v6 = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toString();
}

/** `ipv4` for an IPv4 (or IPv4-mapped) literal, `ipv6` otherwise. */
export function pcpAddressFamily(text: string): 'ipv4' | 'ipv6' {
  return text.includes(':') ? 'ipv6' : 'ipv4';
}
